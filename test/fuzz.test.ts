/**
 * Whole-pipeline fuzzing, short budget (the long run is `npm run fuzz`): fast-check cases over
 * mutated real modules and bases from samples/, hand-built hostile BTF (7.x headers and info words
 * too), pasted logs, stamps among planted names, hostile trees and packages, each run through what the CLI
 * does (test/fuzz/targets.ts, test/fuzz/fs-targets.ts) on the oracle series and a picked kernel
 * (any version, --rule switches), with the contract checked and a 2 s budget.
 * Fixed seed (FUZZ_SEED overrides); a failure names the seed and is saved, shrunk, to
 * test/fixtures/fuzz-regressions/. Below: the bugs fuzzing found, each as a direct test.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareBases } from '../lib/abi/index.js';
import { Btf } from '../lib/btf/btf.js';
import { Kind } from '../lib/btf/kinds.js';
import { diagnoseModule } from '../lib/diagnose/index.js';
import { BtfBuilder, smallBase } from './helpers/btf-builder.js';
import { caseArb, FuzzCase } from './fuzz/cases.js';
import { loadCorpus } from './fuzz/corpus.js';
import { createContext, FuzzContext, runCase, saveRegression } from './fuzz/harness.js';
import { KNOWN_BUGS } from './fuzz/known.js';
import { FuzzBug } from './fuzz/targets.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

describe(`fuzz: the whole pipeline keeps the contract (seed ${SEED})`, () => {
  const corpus = loadCorpus();
  let ctx: FuzzContext;
  beforeAll(async () => { ctx = await createContext(corpus); });
  afterAll(() => ctx?.scratch.remove());

  const budgets: Array<[FuzzCase['t'], number]> = [['module', 200], ['file', 80], ['btf', 60], ['explain', 40], ['base', 8], ['stamp', 12], ['tree', 8], ['archive', 30]];
  /** Reported bugs not fixed yet (test/fuzz/known.ts): counted, not failed on. */
  const known = new Map<string, number>();
  for (const [target, numRuns] of budgets) {
    it(`${target}: ${numRuns} cases`, async () => {
      const out = await fc.check(fc.asyncProperty(caseArb(corpus, target), async (c) => {
        try {
          await runCase(c, ctx);
        } catch (e) {
          if (!(e instanceof FuzzBug) || !KNOWN_BUGS[e.signature]) throw e;
          known.set(e.signature, (known.get(e.signature) ?? 0) + 1);
        }
      }), { seed: SEED, numRuns });
      if (out.failed) {
        const c = out.counterexample![0];
        const bug = out.errorInstance instanceof FuzzBug ? out.errorInstance : new FuzzBug('harness', String(out.errorInstance));
        const saved = saveRegression(c, bug, corpus, SEED);
        expect.fail(`seed ${SEED}, path ${out.counterexamplePath}: ${bug.message.slice(0, 1500)}\ncase: ${JSON.stringify(c).slice(0, 1500)}\nsaved: ${saved.file}`);
      }
    }, 120_000);
  }
  afterAll(() => {
    for (const [sig, n] of known) console.warn(`fuzz: ${n} cases hit a known, reported bug: ${sig}`);
  });
});

describe('found by fuzzing', () => {
  const { builder: small } = smallBase();

  it('abi: named declarations over a huge anonymous cluster stay linear (was 4 s for 8000 typedefs, 14 s on a real base)', () => {
    const hostile = (variant: number): Btf => {
      const b = new BtfBuilder();
      const int = b.int('int', 4, 32, 1);
      const first = b.nextId;
      // 5000 anonymous pointers in a row, reached from every named type.
      for (let i = 0; i < 5000; i++) b.ptr(i === 4999 ? int : b.nextId + 1);
      for (let i = 0; i < 8000; i++) b.typedef(`t${i}_${variant}`, first);
      return Btf.parseBase(b.build());
    };
    const [a, c] = [hostile(0), hostile(1)];
    const t0 = performance.now();
    const cmp = compareBases(a, c);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(cmp.diff.kind).toBe('changed');
  });

  it('abi: joint identity of a 100k chain of pointers is linear (was quadratic: minutes)', () => {
    const b = new BtfBuilder();
    b.int('int', 4, 32, 1);
    for (let i = 0; i < 100_000; i++) b.ptr(i === 99_999 ? 0 : b.nextId + 1);
    const chain = Btf.parseBase(b.build());
    const t0 = performance.now();
    const cmp = compareBases(Btf.parseBase(small.build()), chain);
    expect(performance.now() - t0).toBeLessThan(1500);
    // Every link is a different type (its distance to void differs): nothing pairs up with the small base.
    expect(cmp.identity.classes).toBeGreaterThan(100_000);
  });

  it('diagnose: a 1 MB member name is cut short in findings (was a 1 MB message)', () => {
    const split = BtfBuilder.splitOf(small);
    const int = split.int('myint', 4, 32, 1);
    // Member past the struct's end (size finding) and member referring to a missing type (reference finding).
    split.struct('s', 4, [{ name: 'm'.repeat(1 << 20), type: int, bitsOffset: 64 }, { name: 'n'.repeat(1 << 20), type: 0x7ffff, bitsOffset: 0 }]);
    const d = diagnoseModule(Btf.parseBase(small.build()), split.build());
    expect(d.findings.length).toBeGreaterThan(0);
    for (const f of d.findings) expect(f.message.length).toBeLessThan(2000);
  });

  it('diagnose: 65k members pointing into a 100k modifier chain resolve it once (was a minute)', () => {
    const split = BtfBuilder.splitOf(small);
    const first = split.nextId;
    for (let i = 0; i < 100_000; i++) split.modifier(Kind.VOLATILE, i === 99_999 ? 1 : split.nextId + 1);
    split.add({ kind: Kind.UNION, vlen: 0xffff, sizeOrType: 4, extra: Array.from({ length: 0xffff * 3 }, (_, k) => (k % 3 === 1 ? first + ((k * 7) % 100_000) : 0)) });
    const t0 = performance.now();
    diagnoseModule(Btf.parseBase(small.build()), split.build());
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('diagnose: 32k members pointing into a 100k cyclic typedef chain: inference walks it once per start (was minutes)', () => {
    const split = BtfBuilder.splitOf(small);
    const first = split.nextId;
    for (let i = 0; i < 100_000; i++) split.typedef('t', i === 99_999 ? first : split.nextId + 1);
    split.add({ kind: Kind.UNION, vlen: 32768, sizeOrType: 4, extra: Array.from({ length: 32768 * 3 }, (_, k) => (k % 3 === 1 ? first + ((k * 13) % 100_000) : 0)) });
    const t0 = performance.now();
    diagnoseModule(Btf.parseBase(small.build()), split.build());
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('the builder writes 0xffff records without overflowing the stack', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, 32, 1);
    b.add({ kind: Kind.STRUCT, vlen: 0xffff, sizeOrType: 4, extra: new Array(0xffff * 3).fill(int) });
    expect(Btf.parseBase(b.build()).nrTypes).toBe(3);
  });
});
