/**
 * TypeTable's index: the word-at-a-time scan (aligned sections on little-endian hosts) and the
 * checked byte loop (anything else) must agree on every offset and on every error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { xz } from '@napi-rs/lzma';
import { describe, expect, it } from 'vitest';
import { TypeTable } from '../lib/btf/types.js';
import { samplesDir } from './helpers/kernels.js';

/** The type section of the 6.1.0-47 sample base (header: 24 bytes, types at type_off). */
function sampleTypes(): Uint8Array {
  const raw = new Uint8Array(xz.decompressSync(fs.readFileSync(path.join(samplesDir(), '6.1.0-47-cloud-amd64', 'vmlinux.btf.xz'))));
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const hdrLen = v.getUint32(4, true);
  return raw.slice(hdrLen + v.getUint32(8, true), hdrLen + v.getUint32(8, true) + v.getUint32(12, true));
}

/** `bytes` copied to an odd byte offset, which the word scan cannot read. */
function unaligned(bytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes, 1);
  return buf.subarray(1);
}

const errorOf = (bytes: Uint8Array): string => {
  try {
    new TypeTable(bytes, 1);
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
};

describe('TypeTable index', () => {
  const types = sampleTypes();

  it('indexes a real base the same aligned and unaligned', () => {
    const fast = new TypeTable(types, 1);
    const slow = new TypeTable(unaligned(types), 1);
    expect(fast.count).toBeGreaterThan(90_000);
    expect(Array.from(fast.offsets)).toEqual(Array.from(slow.offsets));
  });

  it('names the same error either way for a cut section and an unknown kind', () => {
    const table = new TypeTable(types, 1);
    const at = table.offsets[5000];
    const cuts = [at + 5, at + 13, table.offsets[5001] - 1, types.length - 3];
    for (const cut of cuts) {
      const cutAligned = types.slice(0, cut);
      const message = errorOf(cutAligned);
      expect(message).toMatch(/type \[\d+\] (is truncated|.* needs \d+ bytes)/);
      expect(errorOf(unaligned(cutAligned))).toBe(message);
    }
    const bad = types.slice();
    new DataView(bad.buffer).setUint32(at + 4, (31 << 24) >>> 0, true);
    expect(errorOf(bad)).toBe('type [5001] has unknown kind 31');
    expect(errorOf(unaligned(bad))).toBe('type [5001] has unknown kind 31');
  });
});

describe('pointer size of a base', () => {
  it('is the size of its long, found by name in sorted and unsorted bases alike', async () => {
    const { BtfBuilder } = await import('./helpers/btf-builder.js');
    const { Btf } = await import('../lib/btf/btf.js');
    const { pointerSizeOf } = await import('../lib/diagnose/context.js');
    for (const longSize of [4, 8]) {
      // Unsorted (6.x: long early), sorted by name (7.x: anonymous first, then a..z), and long last.
      const names = ['char', 'int', 'long int', 'long unsigned int', 'short', 'unsigned int', 'zz_last'];
      const orders = [names, [...names].reverse(), [...names.filter((n) => !n.startsWith('long')), 'long int']];
      for (const order of orders) {
        const b = new BtfBuilder();
        b.ptr(0);
        for (const n of order) b.int(n, n.startsWith('long') ? longSize : 4, n.startsWith('long') ? longSize * 8 : 32);
        const base = Btf.parseBase(b.build());
        expect(pointerSizeOf(base), `${longSize} ${order.join(',')}`).toBe(longSize);
      }
    }
  });
});
