/**
 * Does a module built against one base stay valid on the other? Its split BTF is read against its
 * own base; it stays valid when the other base has the same number of types and string bytes (its
 * own ids and offsets start right after the base) and every base type id and base string offset it
 * refers to resolves, in the other base, to identical content — for types deeply, by the joint
 * identity of both bases.
 */
import { Btf } from '../btf/btf.js';
import type { BtfType } from '../btf/types.js';
import { collectRefs } from '../diagnose/context.js';
import { JointIdentity } from './identity.js';

export interface ModuleValidity {
  valid: boolean;
  /** Why not, in one line (the first problem found); null when valid. */
  reason: string | null;
  /** Distinct base type ids and base string offsets the module refers to. */
  baseTypeRefs: number;
  baseStrRefs: number;
}

/** Which side the module was built against: its types are read against that base. */
export type BuiltAgainst = 'old' | 'new';

/** Type ids and string offsets a split BTF refers to, in record order (duplicates included). */
export function splitReferences(split: Btf): { typeIds: number[]; strOffs: number[] } {
  const own: BtfType[] = [];
  for (let i = 0; i < split.types.count; i++) own.push(split.types.decode(i, split.startId + i));
  const typeIds = collectRefs(own).map((r) => r.id);
  const strOffs: number[] = [];
  for (const t of own) {
    strOffs.push(t.nameOff);
    for (const m of t.members ?? []) strOffs.push(m.nameOff);
    for (const v of t.values ?? []) strOffs.push(v.nameOff);
    for (const p of t.params ?? []) strOffs.push(p.nameOff);
  }
  return { typeIds, strOffs };
}

const signed = (n: number): string => (n > 0 ? `+${n}` : String(n));

/**
 * Why no module of `own` can stay valid on `other` whatever it refers to: split BTF numbers its own
 * types and strings from the end of the base, so a base of another size shifts all of them. Null
 * when both bases have the same size.
 */
export function shiftReason(own: Btf, other: Btf): string | null {
  if (own.nrTypes !== other.nrTypes) {
    return `its own type ids start at ${own.nrTypes}, the other base has ${other.nrTypes} types: every id it defines is read ${signed(other.nrTypes - own.nrTypes)} off`;
  }
  if (own.strLen !== other.strLen) {
    return `its own strings start at offset ${own.strLen}, the other base has ${other.strLen} string bytes: every name it defines is read ${signed(other.strLen - own.strLen)} bytes off`;
  }
  return null;
}

/**
 * @param moduleBtf the module's raw .BTF
 * @param own the base it was built against, @param other the base it would be loaded on
 * @param builtAgainst which side of `identity` `own` is
 */
export function moduleStaysValid(moduleBtf: Uint8Array, own: Btf, other: Btf, identity: JointIdentity, builtAgainst: BuiltAgainst): ModuleValidity {
  const split = Btf.parseSplit(moduleBtf, own);
  const { typeIds, strOffs } = splitReferences(split);
  const baseTypes = new Set<number>();
  const baseStrs = new Set<number>();
  for (const id of typeIds) if (id > 0 && id < own.nrTypes) baseTypes.add(id);
  for (const off of strOffs) if (off > 0 && off < own.strLen) baseStrs.add(off);
  const result = (reason: string | null): ModuleValidity => ({ valid: reason === null, reason, baseTypeRefs: baseTypes.size, baseStrRefs: baseStrs.size });

  const shift = shiftReason(own, other);
  if (shift) return result(shift);
  const same = (id: number): boolean => {
    const a = builtAgainst === 'old' ? identity.oldClass(id) : identity.newClass(id);
    const b = builtAgainst === 'old' ? identity.newClass(id) : identity.oldClass(id);
    return a === b;
  };
  for (const id of [...baseTypes].sort((x, y) => x - y)) {
    if (!same(id)) return result(`base type ${own.describe(id)} is ${other.describe(id)} (or differs deeper) in the other base`);
  }
  for (const off of [...baseStrs].sort((x, y) => x - y)) {
    const mine = own.str(off);
    const theirs = other.str(off);
    if (mine !== theirs) return result(`base string offset ${off} is '${mine}' here and '${theirs ?? '<out of range>'}' in the other base`);
  }
  return result(null);
}
