/**
 * Runs fuzz cases against the in-process targets, shared by the vitest suite (test/fuzz.test.ts)
 * and the long runner (scripts/fuzz.ts): a time budget per case, heap growth per case, outcome
 * counts, minimizing a failure, and saving it to test/fixtures/fuzz-regressions/.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadBase, LoadedBase } from '../../cmd/io/index.js';
import { readModule } from '../../lib/module.js';
import { memorySource } from '../../lib/source.js';
import { FuzzCase, Materialized, materialize, shrinkCandidates } from './cases.js';
import { Corpus, REPO } from './corpus.js';
import { FuzzBug, Outcome, runBaseTarget, runExplainTarget, runModuleTarget, Scratch, TargetContext } from './targets.js';

export const REGRESSIONS_DIR = path.join(REPO, 'test', 'fixtures', 'fuzz-regressions');
/** The acceptance bound on one case. */
export const CASE_BUDGET_MS = 2000;

export interface FuzzContext extends TargetContext {
  corpus: Corpus;
  /** A module's .BTF per base key, checked against mutated bases. */
  moduleBtfByBase: Map<string, Uint8Array>;
  /** Module files (written once) for explain to find and diagnose. */
  explainModules: string[];
}

export async function createContext(corpus: Corpus): Promise<FuzzContext> {
  const scratch = new Scratch();
  const bases = new Map<string, LoadedBase>();
  for (const [key, seed] of corpus.bases) {
    const p = path.join(scratch.dir, `base-${key}.btf`);
    fs.writeFileSync(p, seed.raw);
    bases.set(key, await loadBase(p));
  }
  const moduleBtfByBase = new Map<string, Uint8Array>();
  const explainModules: string[] = [];
  for (const m of corpus.modules) {
    if (moduleBtfByBase.has(m.base)) continue;
    const btf = m.bytes[0] === 0x7f ? readModule(memorySource(m.bytes)).btf : m.bytes;
    if (!btf) continue;
    moduleBtfByBase.set(m.base, btf);
    if (m.bytes[0] === 0x7f && explainModules.length < 2) {
      const p = path.join(scratch.dir, `explain-${m.name}`);
      fs.writeFileSync(p, m.bytes);
      explainModules.push(p);
    }
  }
  // Candidates: every real base, so diagnosis runs its inference and candidate choice.
  const candidates = [...bases.entries()].filter(([k]) => k !== 'small').slice(0, 2).map(([, b]) => ({ file: b.file, sha256: b.sha256, btf: b.btf }));
  return { corpus, scratch, bases, candidates, moduleBtfByBase, explainModules };
}

export interface CaseRun {
  outcome: Outcome;
  /** CPU time of the running thread (wall time where that cannot be read). */
  ms: number;
  wallMs: number;
  /** Heap and array-buffer growth over the case, in bytes (at its end, without forcing GC). */
  heapGrowth: number;
  target: Materialized['target'];
  /** The first run went over the budget and this is the time of a second run. */
  retimed: boolean;
}

const heapNow = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

/**
 * CPU time of the calling thread in ms (Linux: /proc/thread-self/stat, 10 ms ticks), or null.
 * Cases are timed by it: on two shared cores a niced fuzzer can wait seconds for a core, and
 * waiting is not the input's doing.
 */
export function threadCpuMs(stat = '/proc/thread-self/stat'): number | null {
  try {
    const text = fs.readFileSync(stat, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

export async function runMaterialized(m: Materialized, ctx: FuzzContext): Promise<{ outcome: Outcome }> {
  const base = ctx.bases.get(m.base) ?? ctx.bases.get('small')!;
  if (m.target === 'module') return runModuleTarget(m.bytes, m.fileName, base, ctx);
  if (m.target === 'base') {
    const mod = ctx.moduleBtfByBase.get(m.base);
    return runBaseTarget(m.bytes, base, mod ? [mod] : [], ctx, m.abi);
  }
  return runExplainTarget(m.text, base, ctx.explainModules);
}

/** Runs one case; throws FuzzBug on any contract violation, including going over the time budget. */
export async function runCase(c: FuzzCase, ctx: FuzzContext, retry = false): Promise<CaseRun> {
  const m = materialize(c, ctx.corpus);
  const heap0 = heapNow();
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    ({ outcome } = await runMaterialized(m, ctx));
  } catch (e) {
    if (e instanceof FuzzBug) throw e;
    throw new FuzzBug(`${m.target}: uncaught ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
  }
  const wallMs = performance.now() - t0;
  const cpu1 = threadCpuMs();
  let ms = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : wallMs;
  const heapGrowth = heapNow() - heap0;
  let retimed = false;
  if (ms > CASE_BUDGET_MS && !retry) {
    // Once more, to tell a slow input from a busy machine (two shared cores, other jobs running):
    // an input that is really slow is slow again.
    const again = await runCase(c, ctx, true);
    retimed = true;
    ms = again.ms;
  }
  if (ms > CASE_BUDGET_MS) throw new FuzzBug(`${m.target}: over ${CASE_BUDGET_MS} ms`, `${ms.toFixed(0)} ms`);
  return { outcome, ms, wallMs, heapGrowth, target: m.target, retimed };
}

/** The signature of the failure of `c`, or null when it passes. */
export async function failureOf(c: FuzzCase, ctx: FuzzContext): Promise<FuzzBug | null> {
  try {
    await runCase(c, ctx);
    return null;
  } catch (e) {
    return e instanceof FuzzBug ? e : new FuzzBug('harness', String(e));
  }
}

/** Greedy minimization: keeps any smaller variant that fails with the same signature. */
export async function minimize(c: FuzzCase, signature: string, ctx: FuzzContext, maxSteps = 200, onAttempt?: () => void): Promise<FuzzCase> {
  let best = c;
  for (let step = 0, improved = true; improved && step < maxSteps; step++) {
    improved = false;
    for (const smaller of shrinkCandidates(best)) {
      onAttempt?.();
      if ((await failureOf(smaller, ctx))?.signature === signature) {
        best = smaller;
        improved = true;
        break;
      }
    }
  }
  return best;
}

export interface SavedRegression {
  /** The input file, relative to the repository. */
  file: string;
  target: Materialized['target'];
  base: string;
  signature: string;
  fuzzCase: FuzzCase;
  seed?: number;
}

/**
 * Saves a failing case as an input file plus a .json sidecar (target, base key, case, signature);
 * test/fuzz-regressions.test.ts runs every saved file through the CLI.
 */
export function saveRegression(c: FuzzCase, bug: FuzzBug, corpus: Corpus, seed?: number, dir = REGRESSIONS_DIR): SavedRegression {
  const m = materialize(c, corpus);
  const bytes = m.target === 'explain' ? Buffer.from(m.text, 'utf8') : m.bytes;
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const ext = m.target === 'explain' ? 'log' : m.target === 'base' ? 'base' : 'ko';
  fs.mkdirSync(dir, { recursive: true });
  const name = `${m.target}-${hash}.${ext}`;
  fs.writeFileSync(path.join(dir, name), bytes);
  const meta: SavedRegression = { file: path.relative(REPO, path.join(dir, name)), target: m.target, base: m.base, signature: bug.signature, fuzzCase: c, seed };
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(meta, null, 1) + '\n');
  return meta;
}

/** Running statistics of a fuzz run. */
export class FuzzStats {
  cases = 0;
  totalMs = 0;
  maxMs = 0;
  maxCase = '';
  maxHeapGrowth = 0;
  outcomes = new Map<string, number>();
  bugs = new Map<string, number>();

  record(run: CaseRun, c: FuzzCase): void {
    this.cases++;
    this.totalMs += run.ms;
    if (run.ms > this.maxMs) { this.maxMs = run.ms; this.maxCase = JSON.stringify(c).slice(0, 300); }
    this.maxHeapGrowth = Math.max(this.maxHeapGrowth, run.heapGrowth);
    const key = `${run.target}:${run.outcome}`;
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
  }

  bug(signature: string): void {
    this.cases++;
    this.bugs.set(signature, (this.bugs.get(signature) ?? 0) + 1);
  }
}
