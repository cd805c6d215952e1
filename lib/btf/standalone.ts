/**
 * Is this BTF a base (vmlinux) BTF rather than a module's split BTF? Both have the same header; what
 * differs is what they refer to. A base stands alone: its string section starts with the empty
 * string and every type id and name offset it uses lies inside itself. Split BTF continues a
 * base's numbering: its own types start at the base's type count and its own strings at the base's
 * string length, so read alone it refers past its own end at once (pahole's split BTF does not
 * even start its strings with an empty one). A module's BTF is refused as "not split BTF" when it
 * is a base by this test, instead of being checked as a module on top of another base.
 */
import { Btf } from './btf.js';
import { hasTypeRef } from './kinds.js';

/** The base's shape when `raw` is a complete base BTF, else undefined (split BTF, or unreadable). */
export function standaloneBase(raw: Uint8Array): { types: number; strLen: number } | undefined {
  // The cheap test first, without throwing: a base's strings start with the empty string.
  if (raw.length < 24) return undefined;
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const strAt = v.getUint32(4, true) + v.getUint32(16, true);
  if (v.getUint32(20, true) === 0 || strAt >= raw.length || raw[strAt] !== 0) return undefined;
  let btf: Btf;
  try {
    btf = Btf.parseBase(raw);
  } catch {
    return undefined;
  }
  const types = btf.types;
  if (types.count === 0) return undefined;
  const nrTypes = btf.nrTypes;
  const strLen = btf.strLen;
  const id = (x: number): boolean => x < nrTypes;
  const name = (x: number): boolean => x < strLen;
  for (let i = 0; i < types.count; i++) {
    const t = types.decode(i, i + 1);
    if (!name(t.nameOff)) return undefined;
    if (hasTypeRef(t.kind) && !id(t.sizeOrType)) return undefined;
    if (t.array && !(id(t.array.type) && id(t.array.indexType))) return undefined;
    if (t.members?.some((m) => !name(m.nameOff) || !id(m.type))) return undefined;
    if (t.values?.some((v) => !name(v.nameOff))) return undefined;
    if (t.params?.some((p) => !name(p.nameOff) || !id(p.type))) return undefined;
    if (t.secinfos?.some((s) => !id(s.type))) return undefined;
  }
  return { types: nrTypes, strLen };
}
