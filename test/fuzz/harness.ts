/**
 * Runs fuzz cases against the in-process targets, shared by the vitest suite (test/fuzz.test.ts)
 * and the long runner (scripts/fuzz.ts): a time budget per case, heap growth per case, outcome
 * counts, minimizing a failure, and saving it to test/fixtures/fuzz-regressions/.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadBase, LoadedBase } from '../../cmd/io/index.js';
import { loadDecoders } from '../../lib/compress/index.js';
import { readModule } from '../../lib/module.js';
import { memorySource } from '../../lib/source.js';
import { decodeFileName } from '../../lib/fsname.js';
import { FuzzCase, Materialized, materialize, shrinkCandidates } from './cases.js';
import { Container, Corpus, REPO } from './corpus.js';
import { runStampTarget, runTreeTarget } from './fs-targets.js';
import { FuzzBug, Outcome, runArchiveTarget, runBaseTarget, runExplainTarget, runModuleTarget, Scratch, TargetContext, TargetResult, threadCpuMs } from './targets.js';

export const REGRESSIONS_DIR = path.join(REPO, 'test', 'fixtures', 'fuzz-regressions');
/** The acceptance bound on one case (for a module: on what one CLI run of it does). */
export const CASE_BUDGET_MS = 2000;
/** The bound on a whole module case: the oracle series with both settings and a picked kernel. */
export const CASE_WHOLE_MS = 6000;

export interface FuzzContext extends TargetContext {
  corpus: Corpus;
  /** A module's .BTF per base key, checked against mutated bases. */
  moduleBtfByBase: Map<string, Uint8Array>;
  /** Module files (written once) for explain to find and diagnose. */
  explainModules: string[];
}

export async function createContext(corpus: Corpus): Promise<FuzzContext> {
  // stamp reads modules synchronously: the gzip and zstd decoders must be there.
  await loadDecoders();
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
  return { corpus, scratch, bases, candidates, moduleBtfByBase, explainModules, vmlinuxCache: new Map() };
}

export interface CaseRun {
  outcome: Outcome;
  /** CPU time of the running thread (wall time where that cannot be read). */
  ms: number;
  /** For a module: CPU time of loading plus the slowest single kernel's check (one CLI run). */
  cliMs?: number;
  wallMs: number;
  /** Heap and array-buffer growth over the case, in bytes (at its end, without forcing GC). */
  heapGrowth: number;
  target: Materialized['target'];
  /** The first run went over the budget and this is the time of a second run. */
  retimed: boolean;
}

const heapNow = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

export { threadCpuMs } from './targets.js';

export async function runMaterialized(m: Materialized, ctx: FuzzContext): Promise<TargetResult> {
  const base = ctx.bases.get(m.base) ?? ctx.bases.get('small')!;
  switch (m.target) {
    case 'module': return runModuleTarget(m, base, ctx);
    case 'base': {
      const mod = ctx.moduleBtfByBase.get(m.base);
      return runBaseTarget(m, base, mod ? [mod] : [], ctx);
    }
    case 'stamp': return runStampTarget(m, base, ctx);
    case 'tree': return runTreeTarget(m, base, ctx);
    case 'archive': return runArchiveTarget(m, base, ctx);
    case 'explain': return runExplainTarget(m, base, ctx.explainModules);
  }
}

/**
 * A saved regression as its target's input again: the saved file's bytes with the case's name,
 * kernel and scene (so a change to the corpus does not change the case); a tree from its case.
 */
export function materializeSaved(r: SavedRegression, corpus: Corpus): Materialized | null {
  const bytes = new Uint8Array(fs.readFileSync(path.join(REPO, r.file)));
  const c = r.fuzzCase;
  const nameBytes = r.nameBytes ? Uint8Array.from(r.nameBytes) : undefined;
  const k = c && 'k' in c ? c.k : undefined;
  const inner = r.inner ? { inner: new Uint8Array(fs.readFileSync(path.join(REPO, r.inner))), container: r.container as Container } : {};
  switch (r.target) {
    case 'module': {
      // The module's own hostile name (struct module's), which the output checks look for.
      const moduleName = c?.t === 'btf' && c.as === 'ko' && c.mname ? String.fromCharCode(...c.mname) : undefined;
      return { target: 'module', bytes, fileName: nameBytes ? decodeFileName(nameBytes) : path.basename(r.file), base: r.base, kernel: k, nameBytes, moduleName, ...inner };
    }
    case 'base': return { target: 'base', bytes, base: r.base, abi: true, kernel: k, ...inner };
    case 'explain': return { target: 'explain', text: Buffer.from(bytes).toString('utf8'), base: r.base };
    case 'stamp': return c?.t === 'stamp' ? { target: 'stamp', bytes, nameBytes: nameBytes ?? Buffer.from('fuzz.ko'), base: r.base, c } : null;
    case 'tree': case 'archive': return c ? materialize(c, corpus) : null;
  }
}

/** Runs one case; throws FuzzBug on any contract violation, including going over the time budget. */
export async function runCase(c: FuzzCase | Materialized, ctx: FuzzContext, retry = false): Promise<CaseRun> {
  const m = 'target' in c ? c : materialize(c, ctx.corpus);
  const heap0 = heapNow();
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  let outcome: Outcome;
  let cliMs: number | undefined;
  try {
    ({ outcome, cliMs } = await runMaterialized(m, ctx));
  } catch (e) {
    if (e instanceof FuzzBug) throw e;
    throw new FuzzBug(`${m.target}: uncaught ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
  }
  const wallMs = performance.now() - t0;
  const cpu1 = threadCpuMs();
  let ms = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : wallMs;
  const heapGrowth = heapNow() - heap0;
  let retimed = false;
  // A module case runs several kernels; the bound is on what one CLI run does (cliMs: loading plus
  // one kernel's check), and the whole case gets CASE_WHOLE_MS.
  const budget = 'budgetMs' in m && m.budgetMs ? m.budgetMs : CASE_BUDGET_MS;
  const over = (t: number, cli: number | undefined): boolean => (cli ?? t) > budget || t > Math.max(CASE_WHOLE_MS, budget);
  if (over(ms, cliMs) && !retry) {
    // Once more, to tell a slow input from a busy machine (two shared cores, other jobs running):
    // an input that is really slow is slow again.
    const again = await runCase(c, ctx, true);
    retimed = true;
    ms = again.ms;
    cliMs = again.cliMs;
  }
  // Decoding off the thread (zlib's thread pool, the xz binding) is not in its CPU time: wall time too.
  if ('budgetMs' in m && m.budgetMs && wallMs > 6 * m.budgetMs) throw new FuzzBug(`${m.target}: over ${6 * m.budgetMs} ms of wall time`, `${wallMs.toFixed(0)} ms`);
  if (over(ms, cliMs)) throw new FuzzBug(`${m.target}: over ${budget} ms`, `${(cliMs ?? ms).toFixed(0)} ms for one CLI run, ${ms.toFixed(0)} ms for the case`);
  return { outcome, ms, cliMs, wallMs, heapGrowth, target: m.target, retimed };
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
  fuzzCase: FuzzCase | null;
  seed?: number;
  /** A module's or stamp's file name as bytes, when it was not plain (the saved file has another name). */
  nameBytes?: number[];
  /** For a changed checksummed container: what it held (a file of its own) and which container it was. */
  inner?: string;
  container?: string;
}

/** Whether a saved regression (this run's or an earlier one's) has this signature already. */
export function alreadySaved(signature: string, dir = REGRESSIONS_DIR): boolean {
  if (!fs.existsSync(dir)) return false;
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as SavedRegression).signature === signature) return true;
    } catch { /* being written by another worker */ }
  }
  return false;
}

/**
 * Saves a failing case as an input file plus a .json sidecar (target, base key, case, signature);
 * test/fuzz-regressions.test.ts runs every saved file through the CLI.
 */
export function saveRegression(c: FuzzCase, bug: FuzzBug, corpus: Corpus, seed?: number, dir = REGRESSIONS_DIR): SavedRegression {
  const m = materialize(c, corpus);
  // A stamp or tree case keeps a module file (the case itself, in the sidecar, rebuilds the rest).
  const bytes = m.target === 'explain' ? Buffer.from(m.text, 'utf8') : m.target === 'tree' ? (m.entries[0]?.bytes ?? new Uint8Array(0)) : m.bytes;
  const ext0 = m.target === 'archive' ? (m.kind === 'deb' ? 'deb' : m.kind === 'rpm' ? 'rpm' : 'img') : undefined;
  // (A generator gone wrong can make gigabytes: hashed in part, not written.)
  const tooBig = bytes.length > 256 << 20;
  const hash = createHash('sha256').update(bytes.subarray(0, 256 << 20)).update(m.target === 'stamp' || m.target === 'tree' || tooBig ? JSON.stringify(c) : '').digest('hex').slice(0, 12);
  const ext = ext0 ?? (m.target === 'explain' ? 'log' : m.target === 'base' ? 'base' : 'ko');
  fs.mkdirSync(dir, { recursive: true });
  const name = `${m.target}-${hash}.${ext}`;
  fs.writeFileSync(path.join(dir, name), tooBig ? new Uint8Array(0) : bytes);
  const meta: SavedRegression = { file: path.relative(REPO, path.join(dir, name)), target: m.target, base: m.base, signature: bug.signature, fuzzCase: c, seed };
  if ((m.target === 'module' || m.target === 'stamp') && m.nameBytes) meta.nameBytes = [...m.nameBytes];
  if ((m.target === 'module' || m.target === 'base') && m.inner) {
    fs.writeFileSync(path.join(dir, `${name}.inner`), m.inner);
    meta.inner = path.relative(REPO, path.join(dir, `${name}.inner`));
    meta.container = m.container;
  }
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
