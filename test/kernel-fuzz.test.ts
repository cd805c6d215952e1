/**
 * A kernel rejects; it doesn't crash: whatever the bytes, emulateModuleLoad returns a verdict
 * (never throws), and the verdict is self-consistent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Btf } from '../lib/btf/btf.js';
import { emulateModuleLoad, KERNEL_VERSIONS, KernelVerdict } from '../lib/kernel/index.js';
import { addEveryKind, BtfBuilder, smallBase } from './helpers/btf-builder.js';

const { builder: baseBuilder, ids } = smallBase();
const base = Btf.parseBase(baseBuilder.build());

/** A valid module using every kind, to mutate. */
function validModule(): Uint8Array {
  const b = BtfBuilder.splitOf(baseBuilder);
  addEveryKind(b, ids);
  return b.build();
}

function checkVerdict(v: KernelVerdict, allow: boolean): void {
  expect(typeof v.accepted).toBe('boolean');
  if (v.fault !== undefined) {
    // the real kernel oopses or hangs (6.12 btf_relocate only)
    expect(v).toMatchObject({ accepted: false, errno: 0, loads: false });
  } else if (v.accepted) {
    expect(v.errno).toBe(0);
    expect(v.loads).toBe(true);
  } else {
    expect([-22, -7, -40, -524, -2, 0]).toContain(v.errno);
    expect(v.loads).toBe(allow || v.errno === 0);
  }
  for (const line of v.log) expect(typeof line).toBe('string');
}

const runAll = (bytes: Uint8Array, distilledBase?: Uint8Array): void => {
  for (const version of KERNEL_VERSIONS) {
    for (const allow of [true, false]) checkVerdict(emulateModuleLoad(base, bytes, 'fuzz', { version, allowBtfMismatch: allow, distilledBase }), allow);
  }
};

/** A distilled base (named int, struct, fwd) and a module on top of it, to mutate. */
function distilledPair(): { dist: Uint8Array; mod: Uint8Array } {
  const d = new BtfBuilder();
  const int = d.int('int', 4, 32, 1);
  const lh = d.struct('list_head', 16, []);
  const dev = d.fwd('primary_device');
  const m = BtfBuilder.splitOf(d);
  const p = m.ptr(dev);
  const arr = m.array(lh, int, 2);
  m.struct('s', 48, [{ name: 'a', type: int, bitsOffset: 0 }, { name: 'p', type: p, bitsOffset: 64 }, { name: 'l', type: arr, bitsOffset: 128 }]);
  m.typedef('s_t', m.nextId - 1);
  return { dist: d.build(), mod: m.build() };
}

describe('hostile input', () => {
  const valid = validModule();

  it('the unmutated module is accepted', () => {
    for (const version of KERNEL_VERSIONS) expect(emulateModuleLoad(base, valid, 'fuzz', { version, allowBtfMismatch: true }).accepted).toBe(true);
  });

  it('survives byte mutations of a valid module', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      (edits) => {
        const bytes = valid.slice();
        for (const [at, value] of edits) bytes[at] = value;
        runAll(bytes);
      },
    ), { numRuns: 3000 });
  });

  it('survives u32 mutations (lengths, offsets, ids) of a valid module', () => {
    const special = fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0xfffff, 0x100000, 0xffffff, 0x1000000, valid.length, valid.length - 24);
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(Math.floor(valid.length / 4) - 1), fc.oneof(special, fc.nat())), { minLength: 1, maxLength: 4 }),
      (edits) => {
        const bytes = valid.slice();
        const view = new DataView(bytes.buffer);
        for (const [word, value] of edits) view.setUint32(word * 4, value >>> 0, true);
        runAll(bytes);
      },
    ), { numRuns: 3000 });
  });

  it('survives mutations of a distilled base and its module (6.12 btf_relocate)', () => {
    const pair = distilledPair();
    expect(emulateModuleLoad(base, pair.mod, 'fuzz', { version: '6.12', allowBtfMismatch: true, distilledBase: pair.dist }).accepted).toBe(true);
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      (edits) => {
        const dist = pair.dist.slice();
        const mod = pair.mod.slice();
        for (const [inDist, at, value] of edits) {
          const target = inDist ? dist : mod;
          target[at % target.length] = value;
        }
        runAll(mod, dist);
      },
    ), { numRuns: 3000 });
  });

  it('survives truncation and arbitrary bytes', () => {
    fc.assert(fc.property(fc.nat(valid.length), (len) => runAll(valid.slice(0, len))), { numRuns: 500 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => runAll(bytes)), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ minLength: 24, maxLength: 200 }), (bytes) => {
      // a plausible header over random bytes reaches the type walk more often
      const b = bytes.slice();
      const v = new DataView(b.buffer);
      v.setUint16(0, 0xeb9f, true);
      b[2] = 1;
      b[3] = 0;
      v.setUint32(4, 24, true);
      const body = b.length - 24;
      const strLen = Math.min(body, b[8] % 16);
      v.setUint32(8, 0, true);
      v.setUint32(12, body - strLen, true);
      v.setUint32(16, body - strLen, true);
      v.setUint32(20, strLen, true);
      if (strLen) b[b.length - 1] = 0;
      runAll(b);
    }), { numRuns: 3000 });
  });
});
