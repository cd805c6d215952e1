/**
 * The kernel's per-kind operations (kernel/bpf/btf.c kind_ops[]: int_ops, ptr_ops, ...), the two
 * members that matter for module BTF: check_meta (run by btf_check_meta for every type, in the
 * order written here, with the same messages) and log_details (what btf_verifier_log_type prints
 * after "[id] KIND name "). Module BTF never reaches the resolve / check_member phases:
 * btf_parse_module() only runs btf_check_all_metas() and btf_check_type_tags().
 *
 * checkMeta returns the bytes of kind data after the 12-byte btf_type it consumed, or a negative
 * errno. All arithmetic is the kernel's u32 arithmetic (hence the >>> 0).
 *
 * Identical in 6.1 and 6.12 but for DATASEC names (env.nameValidSection follows
 * rules.sectionNameRule); 6.12's log suppression happens in env.logType / env.logMember, as in the
 * kernel.
 */
import { Kind, KIND_NAMES } from '../../lib/btf/kinds.js';
import type { MetaEnv, TypeCursor } from '../../lib/kernel/env.js';
import { fmtD, fmtU, fmtX } from '../../lib/kernel/log.js';

export const EINVAL = 22;
export const E2BIG = 7;
export const ELOOP = 40;
/** The kernel-internal ENOTSUPP (524), not EOPNOTSUPP. */
export const ENOTSUPP = 524;

const BTF_MAX_TYPE = 0x000fffff;
const BTF_INT_MASK = 0x0fffffff;
const BITS_PER_U128 = 128;
const BTF_INT_SIGNED = 1;
const BTF_INT_CHAR = 2;
const BTF_INT_BOOL = 4;
const BTF_FUNC_GLOBAL = 1;
const BTF_VAR_STATIC = 0;
const BTF_VAR_GLOBAL_ALLOCATED = 1;

/** Sizes of the records that follow a btf_type. */
const INT_DATA = 4;
const ARRAY_DATA = 12;
const MEMBER = 12;
const ENUM_VALUE = 8;
const ENUM64_VALUE = 12;
const PARAM = 8;
const VAR_DATA = 4;
const VAR_SECINFO = 12;
const DECL_TAG_DATA = 4;

export interface KindOps {
  kind: Kind;
  /** btf_kind_str[kind], as printed in "[id] KIND name". */
  name: string;
  /** The kernel functions this models, for readers. */
  kernelCheckMeta: string;
  kernelLogDetails: string;
  checkMeta(env: MetaEnv, t: TypeCursor, metaLeft: number): number;
  logDetails(env: MetaEnv, t: TypeCursor): void;
}

const typeIdValid = (id: number): boolean => (id >>> 0) <= BTF_MAX_TYPE;
const bitsRoundupBytes = (bits: number): number => (bits >>> 3) + ((bits & 7) !== 0 ? 1 : 0);
const isPowerOf2 = (n: number): boolean => n !== 0 && (n & (n - 1)) === 0;
const metaLeftMsg = (metaLeft: number, needed: number): string => `meta_left:${fmtU(metaLeft)} meta_needed:${fmtU(needed)}`;

function noVlen(env: MetaEnv, t: TypeCursor): number {
  if (t.vlen) { env.logType(t, true, 'vlen != 0'); return -EINVAL; }
  return 0;
}

/** The common prefix of most checks: "vlen != 0" then "Invalid btf_info kind_flag". */
function noVlenNoKflag(env: MetaEnv, t: TypeCursor): number {
  if (t.vlen) { env.logType(t, true, 'vlen != 0'); return -EINVAL; }
  if (t.kflag) { env.logType(t, true, 'Invalid btf_info kind_flag'); return -EINVAL; }
  return 0;
}

function intEncodingStr(encoding: number): string {
  if (encoding === 0) return '(none)';
  if (encoding === BTF_INT_SIGNED) return 'SIGNED';
  if (encoding === BTF_INT_CHAR) return 'CHAR';
  if (encoding === BTF_INT_BOOL) return 'BOOL';
  return 'UNKN';
}

const intOps: KindOps = {
  kind: Kind.INT, name: 'INT', kernelCheckMeta: 'btf_int_check_meta', kernelLogDetails: 'btf_int_log',
  checkMeta(env, t, metaLeft) {
    if (metaLeft < INT_DATA) { env.logType(t, false, metaLeftMsg(metaLeft, INT_DATA)); return -EINVAL; }
    const e = noVlenNoKflag(env, t);
    if (e) return e;
    const intData = env.u32(t.off + 12);
    if ((intData & ~BTF_INT_MASK) !== 0) { env.logType(t, false, `Invalid int_data:${fmtX(intData)}`); return -EINVAL; }
    const nrBits = (intData & 0xff) + ((intData >>> 16) & 0xff);
    if (nrBits > BITS_PER_U128) { env.logType(t, true, `nr_bits exceeds ${BITS_PER_U128}`); return -EINVAL; }
    if (bitsRoundupBytes(nrBits) > t.sizeType) { env.logType(t, true, 'nr_bits exceeds type_size'); return -EINVAL; }
    const encoding = (intData >>> 24) & 0x0f;
    if (encoding && encoding !== BTF_INT_SIGNED && encoding !== BTF_INT_CHAR && encoding !== BTF_INT_BOOL) {
      env.logType(t, true, 'Unsupported encoding');
      return -ENOTSUPP;
    }
    env.logType(t, true, null);
    return INT_DATA;
  },
  logDetails(env, t) {
    const intData = env.u32(t.off + 12);
    env.log(`size=${fmtU(t.sizeType)} bits_offset=${(intData >>> 16) & 0xff} nr_bits=${intData & 0xff} encoding=${intEncodingStr((intData >>> 24) & 0x0f)}`);
  },
};

/** btf_ref_type_check_meta: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG. */
function refTypeCheckMeta(env: MetaEnv, t: TypeCursor): number {
  // 6.15+: a TYPE_TAG may carry kind_flag (an attribute tag).
  const e = t.kind === Kind.TYPE_TAG && env.rules.tagKflag ? noVlen(env, t) : noVlenNoKflag(env, t);
  if (e) return e;
  if (!typeIdValid(t.sizeType)) { env.logType(t, true, 'Invalid type_id'); return -EINVAL; }
  if (t.kind === Kind.TYPEDEF) {
    // typedef must have a valid identifier name
    if (!t.nameOff || !env.nameValidIdentifier(t.nameOff)) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
  } else if (t.kind === Kind.TYPE_TAG) {
    // type tag value: any non-empty string
    if (env.strFirstByte(t.nameOff) <= 0) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
  } else if (t.nameOff) {
    // ptr, volatile, const, restrict are anonymous
    env.logType(t, true, 'Invalid name');
    return -EINVAL;
  }
  env.logType(t, true, null);
  return 0;
}

const refTypeLog = (env: MetaEnv, t: TypeCursor): void => env.log(`type_id=${fmtU(t.sizeType)}`);

function refOps(kind: Kind): KindOps {
  return { kind, name: KIND_NAMES[kind], kernelCheckMeta: 'btf_ref_type_check_meta', kernelLogDetails: 'btf_ref_type_log', checkMeta: refTypeCheckMeta, logDetails: refTypeLog };
}

const fwdOps: KindOps = {
  kind: Kind.FWD, name: 'FWD', kernelCheckMeta: 'btf_fwd_check_meta', kernelLogDetails: 'btf_fwd_type_log',
  checkMeta(env, t) {
    if (t.vlen) { env.logType(t, true, 'vlen != 0'); return -EINVAL; }
    if (t.sizeType) { env.logType(t, true, 'type != 0'); return -EINVAL; }
    if (!t.nameOff || !env.nameValidIdentifier(t.nameOff)) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
    env.logType(t, true, null);
    return 0;
  },
  logDetails(env, t) { env.log(t.kflag ? 'union' : 'struct'); },
};

const arrayOps: KindOps = {
  kind: Kind.ARRAY, name: 'ARRAY', kernelCheckMeta: 'btf_array_check_meta', kernelLogDetails: 'btf_array_log',
  checkMeta(env, t, metaLeft) {
    if (metaLeft < ARRAY_DATA) { env.logType(t, false, metaLeftMsg(metaLeft, ARRAY_DATA)); return -EINVAL; }
    if (t.nameOff) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
    const e = noVlenNoKflag(env, t);
    if (e) return e;
    if (t.sizeType) { env.logType(t, true, 'size != 0'); return -EINVAL; }
    const elemType = env.u32(t.off + 12);
    const indexType = env.u32(t.off + 16);
    // element and index cannot be void
    if (!elemType || !typeIdValid(elemType)) { env.logType(t, true, 'Invalid elem'); return -EINVAL; }
    if (!indexType || !typeIdValid(indexType)) { env.logType(t, true, 'Invalid index'); return -EINVAL; }
    env.logType(t, true, null);
    return ARRAY_DATA;
  },
  logDetails(env, t) {
    env.log(`type_id=${fmtU(env.u32(t.off + 12))} index_type_id=${fmtU(env.u32(t.off + 16))} nr_elems=${fmtU(env.u32(t.off + 20))}`);
  },
};

function structCheckMeta(env: MetaEnv, t: TypeCursor, metaLeft: number): number {
  const isUnion = t.kind === Kind.UNION;
  const metaNeeded = t.vlen * MEMBER;
  if (metaLeft < metaNeeded) { env.logType(t, false, metaLeftMsg(metaLeft, metaNeeded)); return -EINVAL; }
  if (t.nameOff && !env.nameValidIdentifier(t.nameOff)) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
  env.logType(t, true, null);
  const structSize = t.sizeType;
  let lastOffset = 0;
  for (let i = 0, m = t.off + 12; i < t.vlen; i++, m += MEMBER) {
    const nameOff = env.u32(m);
    const type = env.u32(m + 4);
    if (!env.nameOffsetValid(nameOff)) { env.logMember(t, m, `Invalid member name_offset:${fmtU(nameOff)}`); return -EINVAL; }
    if (nameOff && !env.nameValidIdentifier(nameOff)) { env.logMember(t, m, 'Invalid name'); return -EINVAL; }
    // a member cannot be void
    if (!type || !typeIdValid(type)) { env.logMember(t, m, 'Invalid type_id'); return -EINVAL; }
    const raw = env.u32(m + 8);
    const offset = t.kflag ? raw & 0xffffff : raw;
    if (isUnion && offset) { env.logMember(t, m, 'Invalid member bits_offset'); return -EINVAL; }
    // ">" not ">=": the last member may be a zero-size array
    if (lastOffset > offset) { env.logMember(t, m, 'Invalid member bits_offset'); return -EINVAL; }
    if (bitsRoundupBytes(offset) > structSize) { env.logMember(t, m, 'Member bits_offset exceeds its struct size'); return -EINVAL; }
    env.logMember(t, m, null);
    lastOffset = offset;
  }
  return metaNeeded;
}

const sizeVlenLog = (env: MetaEnv, t: TypeCursor): void => env.log(`size=${fmtU(t.sizeType)} vlen=${t.vlen}`);

function structOps(kind: Kind): KindOps {
  return { kind, name: KIND_NAMES[kind], kernelCheckMeta: 'btf_struct_check_meta', kernelLogDetails: 'btf_struct_log', checkMeta: structCheckMeta, logDetails: sizeVlenLog };
}

/** btf_enum_check_meta / btf_enum64_check_meta: the same checks over 8- or 12-byte entries. */
function enumCheckMeta(entrySize: number) {
  return (env: MetaEnv, t: TypeCursor, metaLeft: number): number => {
    const metaNeeded = t.vlen * entrySize;
    if (metaLeft < metaNeeded) { env.logType(t, false, metaLeftMsg(metaLeft, metaNeeded)); return -EINVAL; }
    // Before 6.0 (ENUM64) an ENUM's kind_flag meant nothing and was refused; since, it is signedness.
    if (t.kflag && !env.rules.enumKflag) { env.logType(t, true, 'Invalid btf_info kind_flag'); return -EINVAL; }
    if (t.sizeType > 8 || !isPowerOf2(t.sizeType)) { env.logType(t, true, 'Unexpected size'); return -EINVAL; }
    if (t.nameOff && !env.nameValidIdentifier(t.nameOff)) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
    env.logType(t, true, null);
    for (let i = 0, e = t.off + 12; i < t.vlen; i++, e += entrySize) {
      const nameOff = env.u32(e);
      // a plain btf_verifier_log: printed even where type lines are silenced
      if (!env.nameOffsetValid(nameOff)) { env.log(`\tInvalid name_offset:${fmtU(nameOff)}`); return -EINVAL; }
      if (!nameOff || !env.nameValidIdentifier(nameOff)) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
      // the "\t%s val=%d" trace is skipped for BPF_LOG_KERNEL
    }
    return metaNeeded;
  };
}

const funcProtoOps: KindOps = {
  kind: Kind.FUNC_PROTO, name: 'FUNC_PROTO', kernelCheckMeta: 'btf_func_proto_check_meta', kernelLogDetails: 'btf_func_proto_log',
  checkMeta(env, t, metaLeft) {
    const metaNeeded = t.vlen * PARAM;
    if (metaLeft < metaNeeded) { env.logType(t, false, metaLeftMsg(metaLeft, metaNeeded)); return -EINVAL; }
    if (t.nameOff) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
    if (t.kflag) { env.logType(t, true, 'Invalid btf_info kind_flag'); return -EINVAL; }
    env.logType(t, true, null);
    return metaNeeded;
  },
  // btf_func_proto_log: every btf_verifier_log call is its own fragment (its own dmesg line).
  logDetails(env, t) {
    const nrArgs = t.vlen;
    const args = t.off + 12;
    const argType = (i: number): number => env.u32(args + i * PARAM + 4);
    const argName = (i: number): string => env.nameByOffset(env.u32(args + i * PARAM));
    env.log(`return=${fmtU(t.sizeType)} args=(`);
    if (!nrArgs) env.log('void');
    else if (nrArgs === 1 && !argType(0)) env.log('vararg');
    else {
      env.log(`${fmtU(argType(0))} ${argName(0)}`);
      for (let i = 1; i < nrArgs - 1; i++) env.log(`, ${fmtU(argType(i))} ${argName(i)}`);
      if (nrArgs > 1) {
        const last = nrArgs - 1;
        if (argType(last)) env.log(`, ${fmtU(argType(last))} ${argName(last)}`);
        else env.log(', vararg');
      }
    }
    env.log(')');
  },
};

const funcOps: KindOps = {
  kind: Kind.FUNC, name: 'FUNC', kernelCheckMeta: 'btf_func_check_meta', kernelLogDetails: 'btf_ref_type_log',
  checkMeta(env, t) {
    if (!t.nameOff || !env.nameValidIdentifier(t.nameOff)) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
    if (t.vlen > BTF_FUNC_GLOBAL) { env.logType(t, true, 'Invalid func linkage'); return -EINVAL; }
    if (t.kflag) { env.logType(t, true, 'Invalid btf_info kind_flag'); return -EINVAL; }
    env.logType(t, true, null);
    return 0;
  },
  logDetails: refTypeLog,
};

const varOps: KindOps = {
  kind: Kind.VAR, name: 'VAR', kernelCheckMeta: 'btf_var_check_meta', kernelLogDetails: 'btf_var_log',
  checkMeta(env, t, metaLeft) {
    if (metaLeft < VAR_DATA) { env.logType(t, false, metaLeftMsg(metaLeft, VAR_DATA)); return -EINVAL; }
    const e = noVlenNoKflag(env, t);
    if (e) return e;
    // 6.1 calls __btf_name_valid, 6.12 btf_name_valid_identifier: the same identifier rule; before
    // "Allow dots in BTF names" VAR passed dot_ok, so '.' was allowed here already.
    if (!t.nameOff || !env.nameValidIdentifier(t.nameOff, true)) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
    // a var cannot be void
    if (!t.sizeType || !typeIdValid(t.sizeType)) { env.logType(t, true, 'Invalid type_id'); return -EINVAL; }
    const linkage = env.u32(t.off + 12);
    if (linkage !== BTF_VAR_STATIC && linkage !== BTF_VAR_GLOBAL_ALLOCATED) { env.logType(t, true, 'Linkage not supported'); return -EINVAL; }
    env.logType(t, true, null);
    return VAR_DATA;
  },
  logDetails(env, t) { env.log(`type_id=${fmtU(t.sizeType)} linkage=${fmtU(env.u32(t.off + 12))}`); },
};

const datasecOps: KindOps = {
  kind: Kind.DATASEC, name: 'DATASEC', kernelCheckMeta: 'btf_datasec_check_meta', kernelLogDetails: 'btf_datasec_log',
  checkMeta(env, t, metaLeft) {
    const metaNeeded = t.vlen * VAR_SECINFO;
    if (metaLeft < metaNeeded) { env.logType(t, false, metaLeftMsg(metaLeft, metaNeeded)); return -EINVAL; }
    // Until 5.12 ("bpf: Permit size-0 datasec") a DATASEC needed at least one variable.
    if (!t.vlen && !env.rules.emptyDatasec) { env.logType(t, true, 'vlen == 0'); return -EINVAL; }
    if (!t.sizeType) { env.logType(t, true, 'size == 0'); return -EINVAL; }
    if (t.kflag) { env.logType(t, true, 'Invalid btf_info kind_flag'); return -EINVAL; }
    if (!t.nameOff || !env.nameValidSection(t.nameOff)) { env.logType(t, true, 'Invalid name'); return -EINVAL; }
    env.logType(t, true, null);
    const size = t.sizeType;
    // u64 in the kernel; last end is assigned from a u32 sum (wraps), the total never nears 2^53
    let lastVsiEndOff = 0;
    let sum = 0;
    for (let i = 0, v = t.off + 12; i < t.vlen; i++, v += VAR_SECINFO) {
      const type = env.u32(v);
      const offset = env.u32(v + 4);
      const vsiSize = env.u32(v + 8);
      if (!type || !typeIdValid(type)) { env.logVsi(t, v, 'Invalid type_id'); return -EINVAL; }
      if (offset < lastVsiEndOff || offset >= size) { env.logVsi(t, v, 'Invalid offset'); return -EINVAL; }
      if (!vsiSize || vsiSize > size) { env.logVsi(t, v, 'Invalid size'); return -EINVAL; }
      lastVsiEndOff = (offset + vsiSize) >>> 0;
      if (lastVsiEndOff > size) { env.logVsi(t, v, 'Invalid offset+size'); return -EINVAL; }
      env.logVsi(t, v, null);
      sum += vsiSize;
    }
    if (size < sum) { env.logType(t, true, 'Invalid btf_info size'); return -EINVAL; }
    return metaNeeded;
  },
  logDetails: sizeVlenLog,
};

const floatOps: KindOps = {
  kind: Kind.FLOAT, name: 'FLOAT', kernelCheckMeta: 'btf_float_check_meta', kernelLogDetails: 'btf_float_log',
  checkMeta(env, t) {
    const e = noVlenNoKflag(env, t);
    if (e) return e;
    const s = t.sizeType;
    if (s !== 2 && s !== 4 && s !== 8 && s !== 12 && s !== 16) { env.logType(t, true, 'Invalid type_size'); return -EINVAL; }
    env.logType(t, true, null);
    return 0;
  },
  logDetails(env, t) { env.log(`size=${fmtU(t.sizeType)}`); },
};

const declTagOps: KindOps = {
  kind: Kind.DECL_TAG, name: 'DECL_TAG', kernelCheckMeta: 'btf_decl_tag_check_meta', kernelLogDetails: 'btf_decl_tag_log',
  checkMeta(env, t, metaLeft) {
    if (metaLeft < DECL_TAG_DATA) { env.logType(t, false, metaLeftMsg(metaLeft, DECL_TAG_DATA)); return -EINVAL; }
    if (env.strFirstByte(t.nameOff) <= 0) { env.logType(t, true, 'Invalid value'); return -EINVAL; }
    // 6.15+: kind_flag allowed (an attribute tag).
    const e = env.rules.tagKflag ? noVlen(env, t) : noVlenNoKflag(env, t);
    if (e) return e;
    if (env.i32(t.off + 12) < -1) { env.logType(t, true, 'Invalid component_idx'); return -EINVAL; }
    env.logType(t, true, null);
    return DECL_TAG_DATA;
  },
  logDetails(env, t) { env.log(`type=${fmtU(t.sizeType)} component_idx=${fmtD(env.i32(t.off + 12))}`); },
};

/** kind_ops[], indexed by kind; index 0 (UNKN) has none. */
export const KIND_OPS: readonly (KindOps | undefined)[] = [
  undefined,
  intOps,
  refOps(Kind.PTR),
  arrayOps,
  structOps(Kind.STRUCT),
  structOps(Kind.UNION),
  { kind: Kind.ENUM, name: 'ENUM', kernelCheckMeta: 'btf_enum_check_meta', kernelLogDetails: 'btf_enum_log', checkMeta: enumCheckMeta(ENUM_VALUE), logDetails: sizeVlenLog },
  fwdOps,
  refOps(Kind.TYPEDEF),
  refOps(Kind.VOLATILE),
  refOps(Kind.CONST),
  refOps(Kind.RESTRICT),
  funcOps,
  funcProtoOps,
  varOps,
  datasecOps,
  floatOps,
  declTagOps,
  refOps(Kind.TYPE_TAG),
  { kind: Kind.ENUM64, name: 'ENUM64', kernelCheckMeta: 'btf_enum64_check_meta', kernelLogDetails: 'btf_enum_log', checkMeta: enumCheckMeta(ENUM64_VALUE), logDetails: sizeVlenLog },
];

/** btf_type_is_modifier(): the kinds btf_check_type_tags() follows. */
export function isModifierKind(kind: number): boolean {
  return kind === Kind.TYPEDEF || kind === Kind.VOLATILE || kind === Kind.CONST || kind === Kind.RESTRICT || kind === Kind.TYPE_TAG;
}
