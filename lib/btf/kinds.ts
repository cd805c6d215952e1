/** BTF kinds and record layouts (include/uapi/linux/btf.h). */
export const enum Kind {
  UNKN = 0, INT = 1, PTR = 2, ARRAY = 3, STRUCT = 4, UNION = 5, ENUM = 6, FWD = 7, TYPEDEF = 8,
  VOLATILE = 9, CONST = 10, RESTRICT = 11, FUNC = 12, FUNC_PROTO = 13, VAR = 14, DATASEC = 15,
  FLOAT = 16, DECL_TAG = 17, TYPE_TAG = 18, ENUM64 = 19,
}
export const KIND_MAX = 19;

/** The names the kernel prints (btf_kind_str[]). */
export const KIND_NAMES = [
  'UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST',
  'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64',
] as const;

export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? `KIND_${kind}`;
}

/** sizeof(struct btf_type): name_off, info, size/type. */
export const TYPE_HEADER_SIZE = 12;
export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** sizeof(struct btf_header) as the kernels we emulate know it. */
export const BTF_HEADER_SIZE = 24;
export const BTF_MAX_TYPE = 0x000fffff;
export const BTF_MAX_NAME_OFFSET = 0x00ffffff;
export const BTF_MAX_VLEN = 0xffff;

export const infoKind = (info: number): number => (info >>> 24) & 0x1f;
export const infoVlen = (info: number): number => info & 0xffff;
export const infoKflag = (info: number): boolean => (info >>> 31) === 1;

/**
 * Bytes that follow the 12-byte btf_type for a kind with `vlen` entries, or -1 for a kind this
 * decoder does not know (the caller decides whether that is an error).
 */
export function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.INT: return 4;
    case Kind.ARRAY: return 12;
    case Kind.STRUCT: case Kind.UNION: return vlen * 12;
    case Kind.ENUM: return vlen * 8;
    case Kind.FUNC_PROTO: return vlen * 8;
    case Kind.VAR: return 4;
    case Kind.DATASEC: return vlen * 12;
    case Kind.DECL_TAG: return 4;
    case Kind.ENUM64: return vlen * 12;
    case Kind.PTR: case Kind.FWD: case Kind.TYPEDEF: case Kind.VOLATILE: case Kind.CONST:
    case Kind.RESTRICT: case Kind.FUNC: case Kind.FLOAT: case Kind.TYPE_TAG:
      return 0;
    default: return -1;
  }
}

/** Kinds whose size_type field is a type id (the rest hold a size). */
export function hasTypeRef(kind: number): boolean {
  return kind === Kind.PTR || kind === Kind.TYPEDEF || kind === Kind.VOLATILE || kind === Kind.CONST ||
    kind === Kind.RESTRICT || kind === Kind.FUNC || kind === Kind.FUNC_PROTO || kind === Kind.VAR ||
    kind === Kind.DECL_TAG || kind === Kind.TYPE_TAG;
}

export function isModifier(kind: number): boolean {
  return kind === Kind.TYPEDEF || kind === Kind.VOLATILE || kind === Kind.CONST || kind === Kind.RESTRICT ||
    kind === Kind.TYPE_TAG;
}
