/**
 * isSortedBase (rules/findings/order.ts) compares a base's names in place, without a lookup per
 * type: the same answer as strcmp over each type's name as the string table resolves it (a name
 * offset out of range reading as ""), on Debian's sorted 7.2 and unsorted 6.12 bases and on bases
 * with offsets out of range.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Btf } from '../lib/btf/btf.js';
import { xz } from '@napi-rs/lzma';
import { isSortedBase } from '../rules/findings/order.js';
import { BtfBuilder } from './helpers/btf-builder.js';
import { sample } from './helpers/cli.js';

/** The name of type i as the string table resolves it, "" when out of range. */
function nameBytes(btf: Btf, i: number): Uint8Array {
  const at = btf.strings.locate(btf.types.nameOff(i));
  if (!at) return new Uint8Array(0);
  const b = at.table.bytes;
  let end = at.local;
  while (end < b.length && b[end] !== 0) end++;
  return b.subarray(at.local, end);
}

function referenceSorted(btf: Btf): boolean {
  if (btf.types.count < 2) return false;
  for (let i = 1; i < btf.types.count; i++) {
    if (Buffer.compare(Buffer.from(nameBytes(btf, i - 1)), Buffer.from(nameBytes(btf, i))) > 0) return false;
  }
  return true;
}

/** A base whose type `k`'s name offset is replaced by `nameOff` (k = 0: the first type). */
function withNameOff(b: BtfBuilder, k: number, nameOff: number): Btf {
  const raw = b.build();
  const parsed = Btf.parseBase(raw);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const hdrLen = view.getUint32(4, true);
  const typeOff = view.getUint32(8, true);
  // Type k's offset from the parsed table: its name_off is its first word.
  const at = hdrLen + typeOff + (parsed.types as unknown as { offsets: ArrayLike<number> }).offsets[k] - (parsed.types as unknown as { offsets: ArrayLike<number> }).offsets[0];
  view.setUint32(at, nameOff, true);
  return Btf.parseBase(raw);
}

describe('isSortedBase', () => {
  it('agrees with strcmp over the resolved names on Debian bases', () => {
    for (const [release, sorted] of [['7.2.13+deb14-cloud-amd64', true], ['6.12.115+deb12-cloud-amd64', false]] as const) {
      const btf = Btf.parseBase(new Uint8Array(xz.decompressSync(fs.readFileSync(sample(release, 'vmlinux.btf.xz')))));
      expect(isSortedBase(btf)).toBe(sorted);
      expect(referenceSorted(btf)).toBe(sorted);
    }
  });

  it('agrees on hand-built bases, names out of range reading as ""', () => {
    const build = (): BtfBuilder => {
      const b = new BtfBuilder();
      b.int('a_int', 4);
      b.int('int', 4);
      b.int('long', 8);
      b.int('z_int', 4);
      return b;
    };
    const cases: Btf[] = [Btf.parseBase(build().build())];
    for (const k of [0, 1, 3]) for (const off of [0, 1, 0xffffff, 0xffffffff]) cases.push(withNameOff(build(), k, off));
    for (const btf of cases) expect(isSortedBase(btf)).toBe(referenceSorted(btf));
    expect(cases.map((btf) => isSortedBase(btf))).toContain(true);
    expect(cases.map((btf) => isSortedBase(btf))).toContain(false);
  });
});
