/**
 * What differs at the first divergent type id of two bases, said so a person can act on it:
 * `old PTR '(anon)', new PTR '(anon)'` says nothing; `PTR -> STRUCT 'sk_buff' (232 bytes)` against
 * `PTR -> STRUCT 'sock' (776 bytes)` does. Each side is described by its kind, name, size and
 * member count, anonymous modifiers and pointers followed to the type they lead to, then the first
 * thing that differs: the kind, the name, the size, the number of members, or the first member
 * (name, offset, type) or enum value or parameter that differs.
 */
import { Btf } from '../btf/btf.js';
import { Kind, kindName } from '../btf/kinds.js';
import type { BtfType } from '../btf/types.js';

/** One side's type, as plain data. */
export interface TypeSummary {
  id: number;
  kind: string;
  name: string;
  /** Byte size for sized kinds (INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC), else null. */
  size: number | null;
  /** Members, enum values, parameters or variables (vlen). */
  vlen: number;
  /** `PTR -> CONST -> STRUCT 'foo' (24 bytes)`: anonymous links followed to a named or sized type. */
  chain: string;
}

export interface TypeDifference {
  old: TypeSummary;
  new: TypeSummary;
  /** The first difference, one line (`size 232 -> 240`, `member 3 'len': offset 64 -> 96 bits`, ...). */
  differs: string;
}

/** Kinds whose size_type word is a type id. */
const REF_KINDS = new Set<number>([Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG, Kind.FUNC, Kind.VAR, Kind.DECL_TAG]);
const SIZED_KINDS = new Set<number>([Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FLOAT, Kind.DATASEC]);
/** Links followed when describing a chain (a modifier loop ends there). */
const MAX_CHAIN = 8;

const nameOf = (btf: Btf, off: number): string => btf.str(off) ?? `<bad name offset ${off}>`;

function label(btf: Btf, t: BtfType): string {
  const name = nameOf(btf, t.nameOff);
  const size = SIZED_KINDS.has(t.kind) ? ` (${t.sizeOrType} bytes)` : '';
  const count = t.kind === Kind.STRUCT || t.kind === Kind.UNION ? `, ${t.vlen} members` : t.kind === Kind.FUNC_PROTO ? `, ${t.vlen} params` : '';
  return `${kindName(t.kind)} '${name || '(anon)'}'${size}${count}`;
}

/** `PTR -> CONST -> STRUCT 'foo' (24 bytes)`. */
export function describeChain(btf: Btf, id: number): string {
  const parts: string[] = [];
  let cur = id;
  for (let i = 0; i < MAX_CHAIN; i++) {
    if (cur === 0) { parts.push('void'); break; }
    const t = btf.type(cur);
    if (!t) { parts.push(`[${cur}] <missing>`); break; }
    const named = nameOf(btf, t.nameOff) !== '';
    if (t.kind === Kind.ARRAY && t.array) {
      parts.push(`ARRAY[${t.array.nelems}]`);
      cur = t.array.type;
      continue;
    }
    if (REF_KINDS.has(t.kind) && !named && t.kind !== Kind.FUNC && t.kind !== Kind.VAR) {
      parts.push(kindName(t.kind));
      cur = t.sizeOrType;
      continue;
    }
    parts.push(label(btf, t));
    break;
  }
  return parts.join(' -> ');
}

function summary(btf: Btf, id: number): TypeSummary | null {
  const t = btf.type(id);
  if (!t) return null;
  return {
    id, kind: kindName(t.kind), name: nameOf(btf, t.nameOff), size: SIZED_KINDS.has(t.kind) ? t.sizeOrType : null, vlen: t.vlen,
    chain: describeChain(btf, id),
  };
}

const bitOffset = (m: { bitsOffset: number }, kflag: boolean): number => (kflag ? m.bitsOffset & 0xffffff : m.bitsOffset);

/** The first difference between type `id` of `a` (old) and of `b` (new), in one line. */
function firstDifference(a: Btf, b: Btf, ta: BtfType, tb: BtfType): string {
  if (ta.kind !== tb.kind) return `kind ${kindName(ta.kind)} -> ${kindName(tb.kind)}`;
  const na = nameOf(a, ta.nameOff);
  const nb = nameOf(b, tb.nameOff);
  if (na !== nb) return `name '${na || '(anon)'}' -> '${nb || '(anon)'}'`;
  if (SIZED_KINDS.has(ta.kind) && ta.sizeOrType !== tb.sizeOrType) return `size ${ta.sizeOrType} -> ${tb.sizeOrType} bytes`;
  if (ta.vlen !== tb.vlen) {
    const what = ta.kind === Kind.ENUM || ta.kind === Kind.ENUM64 ? 'values' : ta.kind === Kind.FUNC_PROTO ? 'parameters' : ta.kind === Kind.DATASEC ? 'variables' : 'members';
    // Still name the first member that differs, when there is one within the shorter list.
    const first = ta.members && tb.members ? firstMember(a, b, ta, tb) : null;
    return `${what} ${ta.vlen} -> ${tb.vlen}${first ? `; first differing: ${first}` : ''}`;
  }
  if (ta.members && tb.members) {
    const m = firstMember(a, b, ta, tb);
    if (m) return m;
  }
  if (ta.values && tb.values) {
    for (let i = 0; i < ta.values.length; i++) {
      const va = ta.values[i];
      const vb = tb.values[i];
      const sa = nameOf(a, va.nameOff);
      const sb = nameOf(b, vb.nameOff);
      if (sa !== sb || va.value !== vb.value) return `value ${i}: ${sa} = ${va.value} -> ${sb} = ${vb.value}`;
    }
  }
  if (ta.params && tb.params) {
    for (let i = 0; i < ta.params.length; i++) {
      const pa = ta.params[i];
      const pb = tb.params[i];
      const ca = describeChain(a, pa.type);
      const cb = describeChain(b, pb.type);
      const sa = nameOf(a, pa.nameOff);
      const sb = nameOf(b, pb.nameOff);
      if (sa !== sb || ca !== cb) return `parameter ${i} '${sa}': ${ca} -> '${sb}': ${cb}`;
    }
    const ra = describeChain(a, ta.sizeOrType);
    const rb = describeChain(b, tb.sizeOrType);
    if (ra !== rb) return `return type ${ra} -> ${rb}`;
  }
  if (ta.array && tb.array) {
    if (ta.array.nelems !== tb.array.nelems) return `elements ${ta.array.nelems} -> ${tb.array.nelems}`;
    const ea = describeChain(a, ta.array.type);
    const eb = describeChain(b, tb.array.type);
    if (ea !== eb) return `element type ${ea} -> ${eb}`;
  }
  if (ta.int && tb.int && (ta.int.bits !== tb.int.bits || ta.int.encoding !== tb.int.encoding || ta.int.offset !== tb.int.offset)) {
    return `int bits ${ta.int.bits} -> ${tb.int.bits}, encoding ${ta.int.encoding} -> ${tb.int.encoding}`;
  }
  if (ta.kflag !== tb.kflag) return `kind_flag ${ta.kflag ? 1 : 0} -> ${tb.kflag ? 1 : 0}`;
  if (REF_KINDS.has(ta.kind)) {
    const ca = describeChain(a, ta.sizeOrType);
    const cb = describeChain(b, tb.sizeOrType);
    if (ca !== cb) return `refers to ${ca} -> ${cb}`;
    return `refers to type [${ta.sizeOrType}] -> [${tb.sizeOrType}] (${ca}; the same by name, different ids)`;
  }
  if (ta.linkage !== tb.linkage) return `linkage ${ta.linkage} -> ${tb.linkage}`;
  // Same text everywhere: the records differ only in the type ids they refer to.
  return 'the same declaration referring to other type ids (the types around it were renumbered)';
}

function firstMember(a: Btf, b: Btf, ta: BtfType, tb: BtfType): string | null {
  const n = Math.min(ta.members!.length, tb.members!.length);
  for (let i = 0; i < n; i++) {
    const ma = ta.members![i];
    const mb = tb.members![i];
    const sa = nameOf(a, ma.nameOff);
    const sb = nameOf(b, mb.nameOff);
    const oa = bitOffset(ma, ta.kflag);
    const ob = bitOffset(mb, tb.kflag);
    if (sa !== sb) return `member ${i} '${sa || '(anon)'}' -> '${sb || '(anon)'}' (at bit ${oa} -> ${ob})`;
    if (oa !== ob) return `member ${i} '${sa || '(anon)'}': offset ${oa} -> ${ob} bits`;
    const ca = describeChain(a, ma.type);
    const cb = describeChain(b, mb.type);
    if (ca !== cb) return `member ${i} '${sa || '(anon)'}': type ${ca} -> ${cb}`;
  }
  return null;
}

/** What differs at type `id` of the two bases; null when either side has no such type. */
export function typeDifference(oldBase: Btf, newBase: Btf, id: number): TypeDifference | null {
  const so = summary(oldBase, id);
  const sn = summary(newBase, id);
  if (!so || !sn) {
    if (!so && !sn) return null;
    const one = (so ?? sn)!;
    const missing: TypeSummary = { id, kind: 'none', name: '', size: null, vlen: 0, chain: '(no such type)' };
    return { old: so ?? missing, new: sn ?? missing, differs: so ? `only the old base has type [${id}] (${one.chain})` : `only the new base has type [${id}] (${one.chain})` };
  }
  return { old: so, new: sn, differs: firstDifference(oldBase, newBase, oldBase.type(id)!, newBase.type(id)!) };
}
