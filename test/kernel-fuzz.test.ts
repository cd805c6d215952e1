/**
 * A kernel rejects; it doesn't crash: whatever the bytes, emulateModuleLoad returns a verdict
 * (never throws), and the verdict is self-consistent, on the oracle series and on any other
 * kernel version with any --rule switches (test/fuzz/kernels.ts: a kernel that does not validate
 * module BTF leaves it unchecked, loads, no log). Also 7.x byte shapes (32-byte headers with a
 * layout section in any order, 7-bit kinds, 24-bit vlen), and bases mutated and parsed as the
 * kernel parses its own BTF at boot (emulateVmlinuxParse): a rejected base fails every module
 * with its errno.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Btf } from '../lib/btf/btf.js';
import { emulateModuleLoad, emulateVmlinuxParse, KERNEL_VERSIONS, kernelRules, KernelVerdict } from '../lib/kernel/index.js';
import { addEveryKind, BtfBuilder, smallBase } from './helpers/btf-builder.js';
import { KernelPick, kernelPickArb, kernelVerdictProblems, overridesOf, rulesOf } from './fuzz/kernels.js';
import { HDR_LENS, infoWord, relayoutBtf } from './fuzz/mutate.js';

const { builder: baseBuilder, ids } = smallBase();
const base = Btf.parseBase(baseBuilder.build());

/** A valid module using every kind, to mutate. */
function validModule(): Uint8Array {
  const b = BtfBuilder.splitOf(baseBuilder);
  addEveryKind(b, ids);
  return b.build();
}

/** The verdict of kernel `k` (emulateModuleLoad alone: a kernel before 5.11 is 'unchecked' in checkModule). */
function checkVerdict(v: KernelVerdict, k: KernelPick, vmlinuxErrno = 0, empty = false): void {
  const rules = rulesOf(k);
  // An empty .BTF is skipped by btf_module_notify, as no BTF at all.
  const status = empty ? 'no-btf' : !rules.validatesModuleBtf ? 'unchecked' : v.accepted ? 'accepted' : 'rejected';
  if (empty) expect(v).toEqual({ accepted: false, errno: 0, loads: true, log: [] });
  expect(kernelVerdictProblems(v, status, rules, k.allow, vmlinuxErrno), `${JSON.stringify(k)}: ${JSON.stringify(v).slice(0, 800)}`).toEqual([]);
}

const load = (bytes: Uint8Array, k: KernelPick, distilledBase?: Uint8Array, vmlinuxErrno?: number): KernelVerdict =>
  emulateModuleLoad(base, bytes, 'fuzz', { version: k.version, rules: overridesOf(k), allowBtfMismatch: k.allow, distilledBase, vmlinuxErrno });

/** The oracle series with both ALLOW_BTF_MISMATCH settings, and one picked kernel. */
const runAll = (bytes: Uint8Array, distilledBase?: Uint8Array, pick?: KernelPick): void => {
  for (const version of KERNEL_VERSIONS) {
    for (const allow of [true, false]) checkVerdict(load(bytes, { version, rules: [], allow }, distilledBase), { version, rules: [], allow }, 0, bytes.length === 0);
  }
  if (pick) checkVerdict(load(bytes, pick, distilledBase), pick, 0, bytes.length === 0);
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
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), kernelPickArb,
      (edits, pick) => {
        const bytes = valid.slice();
        for (const [at, value] of edits) bytes[at] = value;
        runAll(bytes, undefined, pick);
      },
    ), { numRuns: 2000 });
  });

  it('survives u32 mutations (lengths, offsets, ids) of a valid module', () => {
    const special = fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0xfffff, 0x100000, 0xffffff, 0x1000000, valid.length, valid.length - 24);
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(Math.floor(valid.length / 4) - 1), fc.oneof(special, fc.nat())), { minLength: 1, maxLength: 4 }), kernelPickArb,
      (edits, pick) => {
        const bytes = valid.slice();
        const view = new DataView(bytes.buffer);
        for (const [word, value] of edits) view.setUint32(word * 4, value >>> 0, true);
        runAll(bytes, undefined, pick);
      },
    ), { numRuns: 2000 });
  });

  it('survives mutations of a distilled base and its module (6.12 btf_relocate)', () => {
    const pair = distilledPair();
    expect(emulateModuleLoad(base, pair.mod, 'fuzz', { version: '6.12', allowBtfMismatch: true, distilledBase: pair.dist }).accepted).toBe(true);
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), kernelPickArb,
      (edits, pick) => {
        const dist = pair.dist.slice();
        const mod = pair.mod.slice();
        for (const [inDist, at, value] of edits) {
          const target = inDist ? dist : mod;
          target[at % target.length] = value;
        }
        runAll(mod, dist, pick);
      },
    ), { numRuns: 2000 });
  });

  it('7.x shapes: 32-byte headers with a layout section in any order, 7-bit kinds and 24-bit vlen, tag kind_flag', () => {
    const typeOffsets = (raw: Uint8Array): number[] => {
      // The valid module's own records, walked with the builder's layout (24-byte header).
      const v = new DataView(raw.buffer, raw.byteOffset);
      const out: number[] = [];
      for (let off = 24, end = 24 + v.getUint32(12, true); off + 12 <= end;) {
        out.push(off);
        const info = v.getUint32(off + 4, true);
        const kind = (info >>> 24) & 0x1f;
        const vlen = info & 0xffff;
        off += 12 + (({ 1: 4, 3: 12, 4: vlen * 12, 5: vlen * 12, 6: vlen * 8, 13: vlen * 8, 14: 4, 15: vlen * 12, 17: 4, 19: vlen * 12 } as Record<number, number>)[kind] ?? 0);
      }
      return out;
    };
    const records = typeOffsets(valid);
    expect(records.length).toBeGreaterThan(10);
    // Untouched and tiled exactly: accepted from 7.1 on.
    const tiled = relayoutBtf(valid, { order: 0, len: 16, hdrLen: 0, skew: 0 });
    for (const version of ['7.1', '7.2', '7.3']) expect(load(tiled, { version, rules: [], allow: false }).accepted, version).toBe(true);
    expect(load(tiled, { version: '7.0', rules: [], allow: false }).errno).toBe(-7);
    fc.assert(fc.property(
      fc.record({ order: fc.nat({ max: 5 }), len: fc.oneof(fc.constantFrom(0, 8, 16), fc.nat({ max: 64 })), hdrLen: fc.nat({ max: HDR_LENS.length - 1 }), skew: fc.oneof(fc.constant(0), fc.integer({ min: -8, max: 8 })) }),
      fc.array(fc.record({ type: fc.nat(), kind: fc.nat({ max: 127 }), vlen: fc.oneof(fc.nat({ max: 4 }), fc.constantFrom(0xffff, 0x10000, 0xffffff)), kflag: fc.boolean() }), { maxLength: 2 }),
      kernelPickArb,
      (layout, infos, pick) => {
        const bytes = valid.slice();
        const v = new DataView(bytes.buffer);
        for (const i of infos) v.setUint32(records[i.type % records.length] + 4, infoWord(i.kind, i.vlen, i.kflag), true);
        runAll(relayoutBtf(bytes, layout), undefined, pick);
      },
    ), { numRuns: 800 });
  });

  it('a mutated base as the kernel parses it at boot: a rejected base fails every module with its errno, and no line of its own', () => {
    const raw = baseBuilder.build();
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(raw.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), kernelPickArb,
      (edits, pick) => {
        const b = raw.slice();
        for (const [at, value] of edits) b[at] = value;
        const parse = emulateVmlinuxParse(b, { version: pick.version, rules: overridesOf(pick) });
        expect([0, -22, -7, -40, -524]).toContain(parse.errno);
        // Every line is one verifier record (a name's newline stays inside it), or the empty line
        // a "\n" fragment leaves before 5.17.
        for (const line of parse.log) expect(line === '' || line.startsWith('BPF:')).toBe(true);
        if (!kernelRules(pick.version, overridesOf(pick)).validatesModuleBtf || !parse.errno) return;
        checkVerdict(load(valid, pick, undefined, parse.errno), pick, parse.errno);
      },
    ), { numRuns: 1500 });
  });

  it('survives truncation and arbitrary bytes', () => {
    fc.assert(fc.property(fc.nat(valid.length), (len) => runAll(valid.slice(0, len))), { numRuns: 500 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => runAll(bytes)), { numRuns: 1500 });
    fc.assert(fc.property(fc.uint8Array({ minLength: 24, maxLength: 200 }), kernelPickArb, (bytes, pick) => {
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
      runAll(b, undefined, pick);
    }), { numRuns: 2000 });
  });
});
