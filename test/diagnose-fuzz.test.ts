/**
 * diagnoseModule never throws and stays fast on hostile input: byte mutations of a real bundled
 * module (samples/) and of a hand-built one, arbitrary bytes, and adversarial shapes (long chains,
 * many dangling references, a huge name).
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeXzDecoder } from '../cmd/io/index.js';
import { Btf } from '../lib/btf/btf.js';
import { Kind } from '../lib/btf/kinds.js';
import { maybeDecompress } from '../lib/compress/index.js';
import { diagnoseModule } from '../lib/diagnose/index.js';
import { readModule } from '../lib/module.js';
import { memorySource } from '../lib/source.js';
import { BtfBuilder, smallBase } from './helpers/btf-builder.js';

const samples = path.join(import.meta.dirname, '..', 'samples', '6.1.0-47-cloud-amd64');

function firstSampleModule(): Uint8Array {
  const stack = [path.join(samples, 'lib')];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (/\.ko(\.xz)?$/.test(e.name)) {
        const { data } = maybeDecompress(new Uint8Array(fs.readFileSync(p)), { xz: nodeXzDecoder });
        const btf = readModule(memorySource(data)).btf;
        if (btf) return btf.slice();
      }
    }
  }
  throw new Error(`no module with .BTF under ${samples}`);
}

const realBase = Btf.parseBase(maybeDecompress(new Uint8Array(fs.readFileSync(path.join(samples, 'vmlinux.btf.xz'))), { xz: nodeXzDecoder }).data);
const realModule = firstSampleModule();

function checkSane(base: Btf, bytes: Uint8Array): void {
  const t0 = performance.now();
  const d = diagnoseModule(base, bytes, { candidates: [{ file: 'self', sha256: 'a'.repeat(64), btf: base }] });
  expect(performance.now() - t0).toBeLessThan(2000);
  expect(Array.isArray(d.findings)).toBe(true);
  for (const f of d.findings) {
    expect(typeof f.rule).toBe('string');
    expect(['error', 'warning', 'info']).toContain(f.severity);
    expect(f.message.length).toBeLessThan(2000);
  }
  expect(d.findings.some((f) => f.rule === 'internal-error')).toBe(false);
}

describe('diagnoseModule on hostile input', () => {
  it('the unmutated real module is clean against its own base', () => {
    const d = diagnoseModule(realBase, realModule);
    expect(d.findings).toEqual([]);
    expect(d.inferredBase).toEqual({ types: realBase.nrTypes, strLen: realBase.strLen });
  });

  it('byte mutations of a real module never throw', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(realModule.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      (edits) => {
        const m = realModule.slice();
        for (const [at, b] of edits) m[at] = b;
        checkSane(realBase, m);
      },
    ), { numRuns: 150 });
  });

  it('arbitrary bytes and truncations never throw', () => {
    const small = Btf.parseBase(smallBase().builder.build());
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => checkSane(small, bytes)), { numRuns: 200 });
    fc.assert(fc.property(fc.nat(realModule.length), (n) => checkSane(realBase, realModule.subarray(0, n))), { numRuns: 50 });
  });

  it('a 100k chain of qualifiers, 50k dangling pointers and a 1 MB name stay fast and bounded', () => {
    const { builder } = smallBase();
    const base = Btf.parseBase(builder.build());
    const split = BtfBuilder.splitOf(builder);
    let prev = 1;
    for (let i = 0; i < 100_000; i++) prev = split.modifier(i % 2 ? Kind.CONST : Kind.VOLATILE, prev);
    for (let i = 0; i < 50_000; i++) split.ptr(0x7ffff - i);
    split.struct('x'.repeat(1 << 20), 4, [{ name: 'a', type: prev, bitsOffset: 0 }]);
    checkSane(base, split.build());
  });
});
