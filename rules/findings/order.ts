/**
 * Type order. From 7.0 kbuild sorts vmlinux and module BTF by name, anonymous types first
 * (resolve_btfids; the kernel's btf_check_sorted notes it and never rejects). A module whose own
 * types are not in that order, checked against a base that is, was not made by that kernel's
 * kbuild: an older pahole, another build system, or BTF edited afterwards. Evidence, not a defect:
 * such a module loads as well as a sorted one.
 */
import { Btf } from '../../lib/btf/btf.js';
import { StringTable } from '../../lib/btf/strings.js';
import { FindingRule } from './rule.js';

/** strcmp of the NUL-terminated strings at a[ai] and b[bi]; a string past its table's end is "". */
function strcmpAt(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  for (;;) {
    const x = ai < a.length ? a[ai] : 0;
    const y = bi < b.length ? b[bi] : 0;
    if (x !== y || x === 0) return x - y;
    ai++;
    bi++;
  }
}

const EMPTY = new Uint8Array(1);

/** The bytes and position of the string at `offset` in a (possibly split) string table chain. */
function locate(strings: StringTable, offset: number): [Uint8Array, number] {
  const at = strings.locate(offset);
  return at ? [at.table.bytes, at.local] : [EMPTY, 0];
}

/** Whether types [from, to) of `btf` are in non-decreasing name order. */
function namesSorted(btf: Btf, from: number, to: number): boolean {
  const types = btf.types;
  if (!btf.strings.base) {
    // A base: one table, whose offsets compare in place (one past its end reads as "", as locate
    // makes an offset out of range): no lookup or allocation per type, ~118k of them in a 7.x base.
    const bytes = btf.strings.bytes;
    let prev = types.nameOff(from);
    for (let i = from + 1; i < to; i++) {
      const off = types.nameOff(i);
      if (strcmpAt(bytes, prev, bytes, off) > 0) return false;
      prev = off;
    }
    return true;
  }
  let [pb, pp] = locate(btf.strings, types.nameOff(from));
  for (let i = from + 1; i < to; i++) {
    const [b, p] = locate(btf.strings, types.nameOff(i));
    if (strcmpAt(pb, pp, b, p) > 0) return false;
    pb = b;
    pp = p;
  }
  return true;
}

const baseSorted = new WeakMap<Btf, boolean>();

/** Whether a base's types are sorted by name (a 7.0+ kbuild made it); computed once per base. */
export function isSortedBase(base: Btf): boolean {
  let sorted = baseSorted.get(base);
  if (sorted === undefined) {
    sorted = base.types.count >= 2 && namesSorted(base, 0, base.types.count);
    baseSorted.set(base, sorted);
  }
  return sorted;
}

export const unsortedSplitBtf: FindingRule = {
  id: 'unsorted-split-btf',
  severity: 'info',
  provesMismatch: false,
  description: 'The base\'s types are sorted by name (7.0+ kbuild) but the module\'s own are not: another toolchain made the module\'s BTF.',
  check(ctx, report) {
    const split = ctx.split;
    // The module's few types first: when they are sorted the base's ~100k need not be walked.
    if (split.types.count < 2 || namesSorted(split, 0, split.types.count)) return;
    if (!isSortedBase(ctx.base)) return;
    report(null, 'the module\'s own types are not sorted by name, while this base\'s are (a 7.0+ kbuild sorts both): its BTF was made by another toolchain (an older pahole or kbuild, another build system, or edited afterwards)');
  },
};
