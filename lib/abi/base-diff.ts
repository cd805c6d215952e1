/**
 * How two vmlinux bases differ, from the point of view of a module built against one of them:
 * module BTF refers to base types by id and to base strings by offset, so what matters is whether
 * ids and offsets still mean the same.
 *
 * - identical: the same bytes.
 * - permuted: the same types (deeply, by content) in a different order — a non-reproducible build
 *   (pahole -j); every id may mean something else.
 * - appended: the old types and strings are a prefix of the new ones; old ids and offsets keep their
 *   meaning, but split BTF starts after the base, so a module's own ids and offsets still shift.
 * - changed: anything else; the first type id and string offset that differ say from where on a
 *   module's references may be misread.
 */
import { Btf } from '../btf/btf.js';
import { buildTypeGraph, TypeGraph } from './graph.js';
import { JointIdentity, jointIdentity } from './identity.js';
import { NamedTypeChanges, namedTypeChanges } from './named.js';
import { TypeDifference, typeDifference } from './type-diff.js';

export type BaseDiffKind = 'identical' | 'permuted' | 'appended' | 'changed';

export interface BaseSummary {
  /** The kernel's nr_types (types plus void). */
  types: number;
  strLen: number;
}

export interface BaseDiff {
  kind: BaseDiffKind;
  /** First type id whose record differs (or exists on one side only); null when none does. */
  firstTypeId: number | null;
  /** What the first divergent id holds on each side (`[37] STRUCT 'foo'`); null when no id diverges. */
  firstType: { old: string; new: string } | null;
  /** What differs there: each side's kind, name, size, members and chain, and the first difference. */
  firstTypeDetail: TypeDifference | null;
  /** First string-section byte offset that differs; null when the sections are equal. */
  firstStrOff: number | null;
  /** Named types (by kind and name) only in the new base, only in the old, and with a changed declaration. */
  added: number;
  removed: number;
  changed: number;
  examples: NamedTypeChanges['examples'];
  old: BaseSummary;
  new: BaseSummary;
}

/** A base diff plus what per-module questions need (the joint identity of both bases' types). */
export interface BaseComparison {
  oldBase: Btf;
  newBase: Btf;
  diff: BaseDiff;
  identity: JointIdentity;
}

/** Identical bases need no refinement: each id is its own class on both sides. */
function identicalIdentity(nrTypes: number): JointIdentity {
  const cls = (id: number): number => (id >= 0 && id < nrTypes ? id : NaN);
  return { rounds: 0, classes: nrTypes, oldClass: cls, newClass: cls, sameAt: (id) => id >= 0 && id < nrTypes };
}

/** Length of the common prefix of `a` and `b`. */
function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The first type id whose raw record differs between the bases, or null. */
function firstDifferentType(a: Btf, b: Btf): number | null {
  const ta = a.types;
  const tb = b.types;
  const n = Math.min(ta.count, tb.count);
  for (let i = 0; i < n; i++) {
    const offA = ta.offsets[i];
    const offB = tb.offsets[i];
    const endA = i + 1 < ta.count ? ta.offsets[i + 1] : ta.bytes.length;
    const endB = i + 1 < tb.count ? tb.offsets[i + 1] : tb.bytes.length;
    if (endA - offA !== endB - offB) return a.startId + i;
    for (let k = 0; k < endA - offA; k++) if (ta.bytes[offA + k] !== tb.bytes[offB + k]) return a.startId + i;
  }
  return ta.count === tb.count ? null : a.startId + n;
}

/** Same multiset of deep classes on both sides: the same types, whatever their order. */
function sameTypesAnyOrder(identity: JointIdentity, a: Btf, b: Btf): boolean {
  if (a.nrTypes !== b.nrTypes) return false;
  const counts = new Map<number, number>();
  for (let id = 1; id < a.nrTypes; id++) {
    const c = identity.oldClass(id);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  for (let id = 1; id < b.nrTypes; id++) {
    const c = identity.newClass(id);
    const n = counts.get(c);
    if (!n) return false;
    counts.set(c, n - 1);
  }
  return true;
}

/** Compares two parsed bases. */
export function compareBases(oldBase: Btf, newBase: Btf): BaseComparison {
  const summary = (b: Btf): BaseSummary => ({ types: b.nrTypes, strLen: b.strLen });

  const oldStrs = oldBase.strings.bytes;
  const newStrs = newBase.strings.bytes;
  const strPrefix = commonPrefix(oldStrs, newStrs);
  const firstStrOff = strPrefix === oldStrs.length && strPrefix === newStrs.length ? null : strPrefix;
  const firstTypeId = firstDifferentType(oldBase, newBase);

  if (firstTypeId === null && firstStrOff === null) {
    // Same sections (the header may differ in padding): every id and offset means the same.
    return {
      oldBase, newBase, identity: identicalIdentity(oldBase.nrTypes),
      diff: {
        kind: 'identical', firstTypeId, firstType: null, firstTypeDetail: null, firstStrOff, added: 0, removed: 0, changed: 0,
        examples: { added: [], removed: [], changed: [] }, old: summary(oldBase), new: summary(newBase),
      },
    };
  }
  const oldGraph: TypeGraph = buildTypeGraph(oldBase);
  const newGraph: TypeGraph = buildTypeGraph(newBase);
  const identity = jointIdentity(oldGraph, newGraph);
  let kind: BaseDiffKind;
  if ((firstTypeId === null || firstTypeId === oldBase.nrTypes) && (firstStrOff === null || firstStrOff === oldStrs.length)) kind = 'appended';
  else if (sameTypesAnyOrder(identity, oldBase, newBase)) kind = 'permuted';
  else kind = 'changed';

  const named = namedTypeChanges(oldGraph, newGraph);
  return {
    oldBase,
    newBase,
    identity,
    diff: {
      kind, firstTypeId, firstStrOff,
      firstType: firstTypeId === null ? null : { old: oldBase.describe(firstTypeId), new: newBase.describe(firstTypeId) },
      firstTypeDetail: firstTypeId === null ? null : typeDifference(oldBase, newBase, firstTypeId),
      added: named.added, removed: named.removed, changed: named.changed, examples: named.examples,
      old: summary(oldBase), new: summary(newBase),
    },
  };
}
