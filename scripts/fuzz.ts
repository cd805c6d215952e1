/**
 * The long fuzz run (issue 5, acceptance 1): `npm run fuzz -- --runs 100000 [--seed S] [--jobs J]
 * [--real M] [--cli-every K] [--no-save] [--report FILE] [--only module|file|base|btf|explain]`.
 *
 * Cases come from test/fuzz (fast-check generators over real modules and bases from samples/ and,
 * with --real, M modules from the real-kernel cache). Worker threads run them in-process; a
 * watchdog on the main thread kills a worker whose case runs past --hang-ms and records that case,
 * and a worker that runs out of its heap limit is recorded the same way. Every failing case is
 * minimized and saved to test/fixtures/fuzz-regressions/ (replayed by test/fuzz-regressions.test.ts).
 * Every K-th case is also run through the built CLI (exit status, stderr, peak RSS of the child).
 * Exits 1 when anything failed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { caseArb, FuzzCase } from '../test/fuzz/cases.js';
import { cliRunCase } from '../test/fuzz/cli-cases.js';
import { Corpus, loadCorpus } from '../test/fuzz/corpus.js';
import { alreadySaved, CASE_BUDGET_MS, createContext, minimize, runCase, saveRegression, threadCpuMs } from '../test/fuzz/harness.js';
import { FuzzBug } from '../test/fuzz/targets.js';

const TSX_API = import.meta.resolve('tsx/esm/api');

interface Options {
  runs: number;
  seed: number;
  jobs: number;
  real: number;
  cliEvery: number;
  save: boolean;
  only?: FuzzCase['t'];
  chunk: number;
  hangMs: number;
  heapMb: number;
  /** Writes every number and failure (whole cases) as JSON here. */
  report?: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { runs: 10_000, seed: 1, jobs: Math.min(2, os.availableParallelism()), real: 200, cliEvery: 250, save: true, chunk: 250, hangMs: 30_000, heapMb: 1536 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      return v;
    };
    if (a === '--runs') o.runs = next();
    else if (a === '--seed') o.seed = next();
    else if (a === '--jobs' || a === '-j') o.jobs = Math.max(1, next());
    else if (a === '--real') o.real = next();
    else if (a === '--cli-every') o.cliEvery = next();
    else if (a === '--chunk') o.chunk = Math.max(1, next());
    else if (a === '--hang-ms') o.hangMs = next();
    else if (a === '--heap-mb') o.heapMb = next();
    else if (a === '--no-save') o.save = false;
    else if (a === '--report') o.report = argv[++i];
    else if (a === '--only') o.only = argv[++i] as FuzzCase['t'];
    else throw new Error(`unknown option ${a} (see the comment at the top of scripts/fuzz.ts)`);
  }
  return o;
}

/** Cases [start, start+count) of chunk `chunk`: one fast-check sample per chunk, seeded from the run seed. */
function chunkCases(corpus: Corpus, o: Options, chunk: number): FuzzCase[] {
  const count = Math.min(o.chunk, o.runs - chunk * o.chunk);
  return fc.sample(caseArb(corpus, o.only), { seed: (o.seed * 1_000_003 + chunk) | 0, numRuns: count });
}

interface BugReport { index: number; signature: string; message: string; fuzzCase: string; saved?: string }
interface ChunkResult {
  chunk: number;
  cases: number;
  totalMs: number;
  maxMs: number;
  maxCase: string;
  /** Module cases: the slowest single CLI-equivalent (loading and one kernel's check). */
  maxCliMs: number;
  maxWallMs: number;
  maxHeapGrowth: number;
  /** Cases over the budget on a first run and under it on a second (a busy machine). */
  retimed: number;
  outcomes: Record<string, number>;
  exitCodes: Record<string, number>;
  bugs: BugReport[];
  cli: { runs: number; maxMs: number; maxRssKb: number; exitCodes: Record<string, number>; problems: string[] };
}

const EXIT_OF: Record<string, number> = { accepted: 0, 'no-btf': 0, unchecked: 0, stamped: 0, skipped: 0, rejected: 1, mismatch: 1, error: 2 };

async function workerMain(): Promise<void> {
  const { options: o, slots, epoch } = workerData as { options: Options; slots: SharedArrayBuffer; epoch: number };
  const current = new Int32Array(slots);
  const corpus = loadCorpus({ realModules: o.real });
  const ctx = await createContext(corpus);
  const cliDir = fs.mkdtempSync(path.join(ctx.scratch.dir, 'cli-'));
  /** Marks the start of a unit of work on case `index` (a run, a minimizing attempt, a CLI run), in ms since the run's epoch. */
  const beat = (index: number): void => {
    Atomics.store(current, 1, Date.now() - epoch);
    Atomics.store(current, 2, threadCpuMs() ?? -1);
    Atomics.store(current, 0, index);
  };
  parentPort!.on('message', async (msg: { chunk: number; from: number } | 'stop') => {
    if (msg === 'stop') { ctx.scratch.remove(); process.exit(0); }
    const cases = chunkCases(corpus, o, msg.chunk);
    const r: ChunkResult = {
      chunk: msg.chunk, cases: 0, totalMs: 0, maxMs: 0, maxCase: '', maxCliMs: 0, maxWallMs: 0, maxHeapGrowth: 0, retimed: 0, outcomes: {}, exitCodes: {}, bugs: [],
      cli: { runs: 0, maxMs: 0, maxRssKb: 0, exitCodes: {}, problems: [] },
    };
    for (let k = msg.from; k < cases.length; k++) {
      const index = msg.chunk * o.chunk + k;
      beat(index);
      const c = cases[k];
      r.cases++;
      try {
        const run = await runCase(c, ctx);
        r.totalMs += run.ms;
        if (run.ms > r.maxMs) { r.maxMs = run.ms; r.maxCase = JSON.stringify(c).slice(0, 400); }
        r.maxWallMs = Math.max(r.maxWallMs, run.wallMs);
        r.maxCliMs = Math.max(r.maxCliMs, run.cliMs ?? run.ms);
        r.maxHeapGrowth = Math.max(r.maxHeapGrowth, run.heapGrowth);
        if (run.retimed) r.retimed++;
        const key = `${run.target}:${run.outcome}`;
        r.outcomes[key] = (r.outcomes[key] ?? 0) + 1;
        const code = String(EXIT_OF[run.outcome]);
        r.exitCodes[code] = (r.exitCodes[code] ?? 0) + 1;
      } catch (e) {
        const bug = e instanceof FuzzBug ? e : new FuzzBug('harness', String(e));
        const report: BugReport = { index, signature: bug.signature, message: bug.message.slice(0, 2000), fuzzCase: JSON.stringify(c) };
        // One saved (minimized) case per signature: a known cause found again is counted, not saved again.
        if (o.save && !r.bugs.some((b) => b.signature === bug.signature) && !alreadySaved(bug.signature)) {
          const small = await minimize(c, bug.signature, ctx, 200, () => beat(index));
          report.fuzzCase = JSON.stringify(small);
          report.saved = saveRegression(small, bug, corpus, o.seed).file;
        }
        r.bugs.push(report);
      }
      if (o.cliEvery > 0 && index % o.cliEvery === 0) {
        beat(index);
        let out: ReturnType<typeof cliRunCase> | undefined;
        try {
          out = cliRunCase(c, ctx, cliDir, index / o.cliEvery);
        } catch (e) {
          r.cli.problems.push(`case ${index}: the CLI run could not be set up: ${String(e).slice(0, 300)}`);
        }
        if (out) {
          const { run, problems } = out;
          r.cli.runs++;
          r.cli.maxMs = Math.max(r.cli.maxMs, run.ms);
          r.cli.maxRssKb = Math.max(r.cli.maxRssKb, run.rssKb ?? 0);
          const code = String(run.status ?? run.signal);
          r.cli.exitCodes[code] = (r.cli.exitCodes[code] ?? 0) + 1;
          for (const p of problems) r.cli.problems.push(`case ${index} (${out.command}): ${p}`);
        }
      }
    }
    Atomics.store(current, 0, -1);
    parentPort!.postMessage(r);
  });
  // This thread's id, so the watchdog can read its CPU time from /proc while it is busy.
  let tid = 0;
  try { tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop()); } catch { /* not Linux */ }
  parentPort!.postMessage({ ready: tid, scratch: ctx.scratch.dir });
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const chunks = Math.ceil(o.runs / o.chunk);
  console.log(`btfcheck fuzz: ${o.runs} cases, seed ${o.seed}, ${o.jobs} workers, ${o.real} real modules, CLI every ${o.cliEvery}, budget ${CASE_BUDGET_MS} ms/case`);
  const t0 = Date.now();
  const total = {
    cases: 0, totalMs: 0, maxMs: 0, maxCase: '', maxCliMs: 0, maxWallMs: 0, maxHeapGrowth: 0, retimed: 0, outcomes: {} as Record<string, number>, exitCodes: {} as Record<string, number>,
    bugs: [] as BugReport[], cli: { runs: 0, maxMs: 0, maxRssKb: 0, exitCodes: {} as Record<string, number>, problems: [] as string[] },
    peakRss: 0,
  };
  const add = (into: Record<string, number>, from: Record<string, number>) => { for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v; };
  let nextChunk = 0;
  let corpusForReplay: Corpus | undefined;

  await new Promise<void>((resolveAll) => {
    let running = 0;
    /** Starts a worker; `resume` first finishes a chunk whose worker was lost, after the lost case. */
    const start = (resume?: { chunk: number; from: number }): void => {
      const slots = new SharedArrayBuffer(12);
      const current = new Int32Array(slots);
      Atomics.store(current, 0, -1);
      // The worker is this file, loaded through tsx's loader (a worker does not inherit it).
      const boot = `import(${JSON.stringify(TSX_API)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const worker = new Worker(boot, {
        // epoch: the run's start, so the watchdog can tell how long the current case has run.
        eval: true, workerData: { options: o, slots, epoch: t0 },
        resourceLimits: { maxOldGenerationSizeMb: o.heapMb },
      });
      running++;
      let assigned: number | null = null;
      let stopping = false;
      let done = false;
      const give = (chunk: number, from = 0): void => { assigned = chunk; worker.postMessage({ chunk, from }); };
      const next = (): void => {
        if (nextChunk < chunks) give(nextChunk++);
        else { assigned = null; stopping = true; worker.postMessage('stop'); }
      };
      const finish = (): void => {
        if (done) return;
        done = true;
        clearInterval(watch);
        running--;
        if (running === 0) resolveAll();
      };
      // A case that hangs or exhausts the heap: record it; a fresh worker resumes after it.
      const lost = (why: string): void => {
        const index = Atomics.load(current, 0);
        const chunk = assigned;
        if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
        if (chunk === null || index < 0) {
          console.error(`worker lost outside a case: ${why}`);
          process.exitCode = 2;
          finish();
          return;
        }
        corpusForReplay ??= loadCorpus({ realModules: o.real });
        const c = chunkCases(corpusForReplay, o, chunk)[index - chunk * o.chunk];
        const report: BugReport = { index, signature: why, message: why, fuzzCase: JSON.stringify(c) };
        try {
          if (o.save && !alreadySaved(why)) report.saved = saveRegression(c, new FuzzBug(why, ''), corpusForReplay, o.seed).file;
        } catch (e) {
          // Saving must not end the run (the case itself may be what cannot be built).
          report.message += ` (not saved: ${String(e).slice(0, 200)})`;
        }
        total.bugs.push(report);
        total.cases += 1;
        console.log(`BUG case ${index}: ${why}: ${JSON.stringify(c).slice(0, 300)}`);
        const from = index - chunk * o.chunk + 1;
        // The replacement starts before this one counts as finished, so the run does not end early.
        start(from < Math.min(o.chunk, o.runs - chunk * o.chunk) ? { chunk, from } : undefined);
        finish();
      };
      // A hang is --hang-ms of the worker thread's own CPU time on one case (a niced fuzzer on a
      // busy machine can wait long for a core), or 20x that in wall time where /proc is missing.
      let tid = 0;
      /** The worker's scratch directory (in /dev/shm: memory), removed here when the worker is killed. */
      let scratch = '';
      const watch = setInterval(() => {
        const index = Atomics.load(current, 0);
        if (index < 0) return;
        const wall = Date.now() - t0 - Atomics.load(current, 1);
        const cpuStart = Atomics.load(current, 2);
        const cpuNow = tid && cpuStart >= 0 ? threadCpuMs(`/proc/self/task/${tid}/stat`) : null;
        // Wall time as well: a decoder waiting on a thread pool uses no CPU of this thread.
        if ((cpuNow !== null && cpuNow - cpuStart > o.hangMs) || wall > 20 * o.hangMs) {
          void worker.terminate();
          lost(cpuNow !== null && cpuNow - cpuStart > o.hangMs ? `hang: case still running after ${o.hangMs} ms of CPU time` : `hang: case still running after ${20 * o.hangMs} ms of wall time`);
        }
      }, 500);
      worker.on('message', (msg: { ready: number; scratch: string } | ChunkResult) => {
        if ('ready' in msg) {
          tid = msg.ready;
          scratch = msg.scratch;
          if (resume) give(resume.chunk, resume.from);
          else next();
          return;
        }
        total.cases += msg.cases;
        total.totalMs += msg.totalMs;
        if (msg.maxMs > total.maxMs) { total.maxMs = msg.maxMs; total.maxCase = msg.maxCase; }
        total.maxHeapGrowth = Math.max(total.maxHeapGrowth, msg.maxHeapGrowth);
        total.retimed += msg.retimed;
        total.maxWallMs = Math.max(total.maxWallMs, msg.maxWallMs);
        total.maxCliMs = Math.max(total.maxCliMs, msg.maxCliMs);
        add(total.outcomes, msg.outcomes);
        add(total.exitCodes, msg.exitCodes);
        total.bugs.push(...msg.bugs);
        total.cli.runs += msg.cli.runs;
        total.cli.maxMs = Math.max(total.cli.maxMs, msg.cli.maxMs);
        total.cli.maxRssKb = Math.max(total.cli.maxRssKb, msg.cli.maxRssKb);
        add(total.cli.exitCodes, msg.cli.exitCodes);
        total.cli.problems.push(...msg.cli.problems);
        for (const b of msg.bugs) console.log(`BUG case ${b.index}: ${b.message.split('\n')[0].slice(0, 300)}${b.saved ? ` (saved ${b.saved})` : ''}`);
        const rate = total.cases / ((Date.now() - t0) / 1000);
        console.log(`${total.cases}/${o.runs} cases, ${rate.toFixed(0)}/s, max ${total.maxMs.toFixed(0)} ms, rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB, failures ${total.bugs.length}`);
        next();
      });
      worker.on('error', (e) => { if (!done && !stopping) lost(`worker died: ${(e as Error).message.split('\n')[0]}`); });
      worker.on('exit', () => finish());
    };
    for (let j = 0; j < Math.min(o.jobs, chunks); j++) start();
  });

  const secs = (Date.now() - t0) / 1000;
  total.peakRss = process.resourceUsage().maxRSS * 1024;
  const mib = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;
  console.log('');
  console.log(`cases            ${total.cases} in ${secs.toFixed(0)} s (${(total.cases / secs).toFixed(0)} cases/s, ${o.jobs} workers)`);
  console.log(`per case         CPU time of the thread: mean ${(total.totalMs / Math.max(1, total.cases)).toFixed(1)} ms, max ${total.maxMs.toFixed(0)} ms; max wall time ${total.maxWallMs.toFixed(0)} ms (budget ${CASE_BUDGET_MS} ms; ${total.retimed} over it once and under it when run again)`);
  console.log(`one CLI run      max ${total.maxCliMs.toFixed(0)} ms CPU (loading and one kernel's check; a module case runs the four oracle series twice and a picked kernel)`);
  console.log(`slowest case     ${total.maxCase}`);
  console.log(`memory           peak RSS ${mib(total.peakRss)} (all workers, one process); max heap growth in one case ${mib(total.maxHeapGrowth)}`);
  console.log(`outcomes         ${JSON.stringify(total.outcomes)}`);
  console.log(`exit codes       ${JSON.stringify(total.exitCodes)} (as the CLI would exit for that one file)`);
  console.log(`CLI              ${total.cli.runs} runs, exit codes ${JSON.stringify(total.cli.exitCodes)}, max ${total.cli.maxMs.toFixed(0)} ms, peak child RSS ${(total.cli.maxRssKb / 1024).toFixed(0)} MiB`);
  const bySig = new Map<string, number>();
  for (const b of total.bugs) bySig.set(b.signature, (bySig.get(b.signature) ?? 0) + 1);
  console.log(`failures         ${total.bugs.length}${bySig.size ? ': ' + JSON.stringify(Object.fromEntries(bySig)) : ''}`);
  for (const p of total.cli.problems.slice(0, 20)) console.log(`CLI problem      ${p}`);
  for (const b of total.bugs.slice(0, 20)) console.log(`failure          case ${b.index} (seed ${o.seed}): ${b.signature}\n                 ${b.fuzzCase.slice(0, 300)}`);
  if (o.report) fs.writeFileSync(o.report, JSON.stringify({ options: o, seconds: secs, ...total }, null, 1) + '\n');
  process.exitCode = total.bugs.length || total.cli.problems.length ? 1 : 0;
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 2;
  });
} else {
  void workerMain();
}
