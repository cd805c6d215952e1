/**
 * A small builder of raw BTF bytes for tests: base BTF, or split BTF on top of a base (ids continue
 * from the base's nr_types, string offsets from its string length). It writes exactly what you give
 * it, so tests can also build invalid BTF (bad kinds, dangling ids, odd headers).
 */
import { extraSize, hasTypeRef, Kind } from '../../lib/btf/kinds.js';

export interface RawType {
  /** Name offset; use b.str('name') to get one. */
  nameOff?: number;
  kind: number;
  vlen?: number;
  kflag?: boolean;
  /** The size/type field. */
  sizeOrType?: number;
  /** Extra u32 words after the 12-byte header (members, params, ...), written as given. */
  extra?: number[];
  /** Overrides the info word entirely (for invalid-kind tests). */
  info?: number;
}

export interface HeaderOverrides {
  magic?: number; version?: number; flags?: number; hdrLen?: number;
  typeOff?: number; typeLen?: number; strOff?: number; strLen?: number;
}

export class BtfBuilder {
  private readonly types: RawType[] = [];
  private readonly strBytes: number[];
  private readonly strIndex = new Map<string, number>();

  /**
   * @param startId id of the first type added (1 for a base; base nr_types for split)
   * @param startStrOff string offset of this BTF's first string (0 for a base; base str_len for split)
   */
  constructor(readonly startId = 1, readonly startStrOff = 0) {
    // A base's string section starts with the empty string; split BTF starts right away.
    this.strBytes = startStrOff === 0 ? [0] : [];
    if (startStrOff === 0) this.strIndex.set('', 0);
  }

  /** For split BTF on top of the base `base` built by another builder. */
  static splitOf(base: BtfBuilder): BtfBuilder {
    return new BtfBuilder(base.nextId, base.strLen);
  }

  /** Adds a string (deduplicated) and returns its offset. Latin1 chars become single bytes. */
  str(s: string): number {
    const known = this.strIndex.get(s);
    if (known !== undefined) return known;
    const off = this.startStrOff + this.strBytes.length;
    for (let i = 0; i < s.length; i++) this.strBytes.push(s.charCodeAt(i) & 0xff);
    this.strBytes.push(0);
    this.strIndex.set(s, off);
    return off;
  }

  /** Appends raw string bytes (no NUL added) and returns the offset of the first. */
  rawStr(bytes: number[]): number {
    const off = this.startStrOff + this.strBytes.length;
    this.strBytes.push(...bytes);
    return off;
  }

  /** Adds a type and returns its id. */
  add(t: RawType): number {
    this.types.push(t);
    return this.startId + this.types.length - 1;
  }

  get nextId(): number { return this.startId + this.types.length; }
  /** Total string length as the header will say (own bytes), plus the start offset. */
  get strLen(): number { return this.startStrOff + this.strBytes.length; }

  // Convenience constructors for valid types.
  int(name: string, size = 4, bits = size * 8, encoding = 0, offset = 0): number {
    return this.add({ nameOff: this.str(name), kind: Kind.INT, sizeOrType: size, extra: [((encoding & 0xf) << 24) | ((offset & 0xff) << 16) | (bits & 0xff)] });
  }
  ptr(type: number): number { return this.add({ kind: Kind.PTR, sizeOrType: type }); }
  modifier(kind: number, type: number, name = ''): number {
    return this.add({ nameOff: name ? this.str(name) : 0, kind, sizeOrType: type });
  }
  typedef(name: string, type: number): number { return this.modifier(Kind.TYPEDEF, type, name); }
  array(elemType: number, indexType: number, nelems: number): number {
    return this.add({ kind: Kind.ARRAY, extra: [elemType, indexType, nelems] });
  }
  struct(name: string, size: number, members: { name: string; type: number; bitsOffset: number; bitfieldSize?: number }[], union = false): number {
    const kflag = members.some((m) => (m.bitfieldSize ?? 0) > 0);
    const extra: number[] = [];
    for (const m of members) {
      extra.push(m.name ? this.str(m.name) : 0, m.type, kflag ? (((m.bitfieldSize ?? 0) << 24) | m.bitsOffset) >>> 0 : m.bitsOffset);
    }
    return this.add({ nameOff: name ? this.str(name) : 0, kind: union ? Kind.UNION : Kind.STRUCT, vlen: members.length, kflag, sizeOrType: size, extra });
  }
  enum(name: string, size: number, values: [string, number][], signed = false): number {
    const extra: number[] = [];
    for (const [n, v] of values) extra.push(this.str(n), v >>> 0);
    return this.add({ nameOff: name ? this.str(name) : 0, kind: Kind.ENUM, vlen: values.length, kflag: signed, sizeOrType: size, extra });
  }
  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    const extra: number[] = [];
    for (const [n, v] of values) {
      const u = BigInt.asUintN(64, v);
      extra.push(this.str(n), Number(u & 0xffffffffn), Number(u >> 32n));
    }
    return this.add({ nameOff: name ? this.str(name) : 0, kind: Kind.ENUM64, vlen: values.length, kflag: signed, sizeOrType: size, extra });
  }
  fwd(name: string, union = false): number { return this.add({ nameOff: this.str(name), kind: Kind.FWD, kflag: union }); }
  funcProto(ret: number, params: { name?: string; type: number }[]): number {
    const extra: number[] = [];
    for (const p of params) extra.push(p.name ? this.str(p.name) : 0, p.type);
    return this.add({ kind: Kind.FUNC_PROTO, vlen: params.length, sizeOrType: ret, extra });
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.add({ nameOff: this.str(name), kind: Kind.FUNC, vlen: linkage, sizeOrType: proto });
  }
  variable(name: string, type: number, linkage = 1): number {
    return this.add({ nameOff: this.str(name), kind: Kind.VAR, sizeOrType: type, extra: [linkage] });
  }
  datasec(name: string, size: number, vars: { type: number; offset: number; size: number }[]): number {
    const extra: number[] = [];
    for (const v of vars) extra.push(v.type, v.offset, v.size);
    return this.add({ nameOff: this.str(name), kind: Kind.DATASEC, vlen: vars.length, sizeOrType: size, extra });
  }
  float(name: string, size: number): number { return this.add({ nameOff: this.str(name), kind: Kind.FLOAT, sizeOrType: size }); }
  declTag(name: string, type: number, componentIdx = -1): number {
    return this.add({ nameOff: this.str(name), kind: Kind.DECL_TAG, sizeOrType: type, extra: [componentIdx >>> 0] });
  }
  typeTag(name: string, type: number): number { return this.modifier(Kind.TYPE_TAG, type, name); }

  /** Serializes to raw BTF bytes (24-byte header, types, strings), with optional header overrides. */
  build(h: HeaderOverrides = {}): Uint8Array {
    const words: number[] = [];
    for (const t of this.types) {
      const info = t.info ?? ((((t.kflag ? 1 : 0) << 31) | ((t.kind & 0x1f) << 24) | ((t.vlen ?? 0) & 0xffff)) >>> 0);
      words.push(t.nameOff ?? 0, info, t.sizeOrType ?? 0);
      // Not spread: a type with 0xffff records would overflow the call stack.
      for (const w of t.extra ?? []) words.push(w);
    }
    const typeLen = words.length * 4;
    const strLen = this.strBytes.length;
    const hdrLen = h.hdrLen ?? 24;
    const out = new Uint8Array(Math.max(hdrLen, 24) + typeLen + strLen);
    const v = new DataView(out.buffer);
    v.setUint16(0, h.magic ?? 0xeb9f, true);
    v.setUint8(2, h.version ?? 1);
    v.setUint8(3, h.flags ?? 0);
    v.setUint32(4, hdrLen, true);
    v.setUint32(8, h.typeOff ?? 0, true);
    v.setUint32(12, h.typeLen ?? typeLen, true);
    v.setUint32(16, h.strOff ?? typeLen, true);
    v.setUint32(20, h.strLen ?? strLen, true);
    const body = Math.max(hdrLen, 24);
    words.forEach((w, i) => v.setUint32(body + i * 4, w >>> 0, true));
    out.set(this.strBytes, body + typeLen);
    return out;
  }
}

/** A ready-made small base: int, long, char, a struct and a few pointers, like a tiny vmlinux. */
export function smallBase(): { builder: BtfBuilder; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const int = b.int('int', 4, 32, 1);
  const uint = b.int('unsigned int', 4, 32);
  const long = b.int('long', 8, 64, 1);
  const char = b.int('char', 1, 8, 1);
  const listHead = b.struct('list_head', 16, []);
  const pListHead = b.ptr(listHead);
  b.struct('primary_device', 8, [{ name: 'id', type: int, bitsOffset: 0 }, { name: 'flags', type: uint, bitsOffset: 32 }]);
  const device = b.nextId - 1;
  return { builder: b, ids: { int, uint, long, char, listHead, pListHead, device } };
}

/**
 * Re-orders a base's types (ids renumbered consistently: every reference follows its type) and
 * returns the new raw BTF; strings stay as they are. `order[k]` is the old id of new id k+1; by
 * default a seeded shuffle. Models a non-reproducible build: same types, other ids.
 */
export function permuteTypes(raw: Uint8Array, seed = 1, order?: number[]): Uint8Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const hdrLen = view.getUint32(4, true);
  const typeOff = hdrLen + view.getUint32(8, true);
  const typeLen = view.getUint32(12, true);
  // Record offsets by old id.
  const starts: number[] = [0];
  for (let off = typeOff; off < typeOff + typeLen;) {
    starts.push(off);
    const info = view.getUint32(off + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    off += 12 + Math.max(0, extraSize(kind, vlen));
  }
  const n = starts.length - 1;
  if (!order) {
    order = Array.from({ length: n }, (_, i) => i + 1);
    let s = seed >>> 0 || 1;
    for (let i = n - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  const newIdOf = new Uint32Array(n + 1);
  order.forEach((oldId, k) => { newIdOf[oldId] = k + 1; });
  const remap = (id: number): number => (id === 0 || id > n ? id : newIdOf[id]);
  const out = new Uint8Array(raw.length);
  out.set(raw.subarray(0, typeOff));
  const ov = new DataView(out.buffer);
  let w = typeOff;
  for (const oldId of order) {
    const off = starts[oldId];
    const end = oldId < n ? starts[oldId + 1] : typeOff + typeLen;
    out.set(raw.subarray(off, end), w);
    const info = view.getUint32(off + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const fix = (at: number): void => ov.setUint32(w + at, remap(view.getUint32(off + at, true)), true);
    if (hasTypeRef(kind)) fix(8);
    if (kind === Kind.ARRAY) { fix(12); fix(16); }
    if (kind === Kind.STRUCT || kind === Kind.UNION) for (let k = 0; k < vlen; k++) fix(12 + k * 12 + 4);
    if (kind === Kind.FUNC_PROTO) for (let k = 0; k < vlen; k++) fix(12 + k * 8 + 4);
    if (kind === Kind.DATASEC) for (let k = 0; k < vlen; k++) fix(12 + k * 12);
    w += end - off;
  }
  // The rest (the string section) as it was.
  out.set(raw.subarray(typeOff + typeLen), w);
  return out;
}

/**
 * Adds one valid type of every kind to split builder `b`, some referring into the base built by
 * smallBase() (`baseIds`): the module that kernel and fuzz tests start from.
 */
export function addEveryKind(b: BtfBuilder, baseIds: Record<string, number>): void {
  const int = b.int('myint', 4, 32, 1);
  const s = b.struct('mystruct', 16, [{ name: 'a', type: int, bitsOffset: 0 }, { name: 'f', type: int, bitsOffset: 32, bitfieldSize: 3 }]);
  const ptr = b.ptr(s);
  b.typedef('mystruct_t', s);
  b.modifier(Kind.CONST, ptr);
  b.modifier(Kind.VOLATILE, int);
  b.modifier(Kind.RESTRICT, ptr);
  b.typeTag('user', int);
  b.array(int, baseIds.int, 4);
  b.struct('', 4, [{ name: 'x', type: int, bitsOffset: 0 }], true);
  b.enum('e', 4, [['E_A', 0], ['E_B', -1]], true);
  b.enum64('e64', 8, [['E64_A', 1n << 40n]]);
  b.fwd('later');
  const proto = b.funcProto(int, [{ name: 'p', type: ptr }, { type: 0 }]);
  b.func('myfunc', proto, 1);
  const v = b.variable('myvar', int, 1);
  b.datasec('.data', 8, [{ type: v, offset: 0, size: 4 }]);
  b.float('double', 8);
  b.declTag('tag', v, -1);
  b.struct('uses_base', 24, [{ name: 'l', type: baseIds.listHead, bitsOffset: 0 }, { name: 'd', type: baseIds.pListHead, bitsOffset: 128 }]);
}
