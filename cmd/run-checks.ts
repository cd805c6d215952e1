/**
 * Runs `check` over files: expands directories, loads each module, checks it against the base.
 * Large sets go to worker threads (each parses the base once); small ones run inline, because a
 * package hook checking one module must not pay for starting workers.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { checkModule, CheckOptions, errorResult, KernelSettings, ModuleResult, summarize, CheckSummary } from '../lib/check.js';
import { CandidateBase } from '../lib/diagnose/index.js';
import { ChecksumManifest, lookupManifest, parseManifest } from '../lib/checksum/index.js';
import { errorMessage, log, printError, UsageError } from './common.js';
import fs from 'node:fs';
import { fsPath, loadBase, loadModule, LoadedBase, LoadedModule, readTextFile, walkModulePaths } from './io/index.js';
import { Progress } from './progress.js';
import { archiveKindOf, checkArchiveModules, loadBaseFromArchives } from './io/archives.js';
import { standaloneBase } from '../lib/btf/standalone.js';

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * Threads to check with by default. On two cores a worker thread does not pay for itself: V8's own
 * helper threads (GC, compilation) and libuv's pool (xz decompression) already keep the second
 * core busy, and a worker must load the code and the base again (measured: 1,121 modules, 0.75 s
 * alone, 0.93 s with a worker). With more cores, one thread per core.
 */
function defaultJobs(): number {
  const cores = os.availableParallelism();
  return cores > 2 ? cores : 1;
}

/** Below this many modules, workers cost more than they save. */
const WORKER_THRESHOLD = 64;
/** Modules per worker task: amortizes messaging without starving the other worker at the end. */
const BATCH = 16;

export async function loadBaseOrExit(path: string): Promise<LoadedBase | undefined> {
  try {
    // A package (.deb, .rpm) holding a kernel image or a headers package's vmlinux: that base.
    return await (archiveKindOf(path) ? loadBaseFromArchives([path]) : loadBase(path));
  } catch (e) {
    printError(path, errorMessage(e));
    return undefined;
  }
}

export interface RunOptions {
  diagnose?: boolean;
  candidates?: string[];
  manifest?: string;
  jobs?: number;
  /** Findings kept per rule and module. */
  maxFindings?: number;
  /** Set false to hide the progress bar even on a TTY. */
  progress?: boolean;
  /** Modules already loading (prefetchModules), by path. */
  prefetched?: Map<string, Promise<LoadedModule>>;
}

/**
 * Starts loading the modules named as files (reading them; a .ko.xz decompresses on libuv's
 * pool) before the base is loaded, so that a hook checking one module against a vmlinuz waits
 * for both at once: the base's decode (~100 ms for a 7.x zstd vmlinuz) leaves this thread idle.
 * Only a few plain files: directories and packages are listed later, in order.
 */
export function prefetchModules(paths: string[]): Map<string, Promise<LoadedModule>> | undefined {
  if (paths.length === 0 || paths.length > BATCH) return undefined;
  for (const p of paths) {
    if (archiveKindOf(p)) return undefined;
    try {
      if (!fs.statSync(fsPath(p)).isFile()) return undefined;
    } catch {
      return undefined; // reported in its place, by the walk
    }
  }
  const loads = new Map<string, Promise<LoadedModule>>();
  for (const p of paths) {
    if (loads.has(p)) continue;
    const load = loadModule(p);
    // Its rejection is reported in checkLoaded, in order; mark it handled now.
    load.catch(() => undefined);
    loads.set(p, load);
  }
  return loads;
}

export interface RunResult {
  results: { results: ModuleResult[]; summary: CheckSummary };
  candidateErrors: number;
}

/** What a worker needs to rebuild the check context. */
export interface WorkerContext {
  basePath: string;
  kernel: KernelSettings;
  diagnose: boolean;
  candidatePaths: string[];
  manifestPath?: string;
  maxFindings?: number;
}

/** The once-per-boot line 6.12 prints for the first rejected module only. */
const ONCE_PER_BOOT = 'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules';

export async function runChecks(base: LoadedBase, paths: string[], kernel: KernelSettings, opts: RunOptions): Promise<RunResult> {
  let candidateErrors = 0;
  // Results keep the order of the arguments and trees: a path or entry that cannot be listed is
  // an error in its place, and the rest of its tree is still checked.
  const files: string[] = [];
  const unlisted = new Map<number, ModuleResult>();
  // Packages and initramfs images: their modules, checked on this thread as they are read, in their place.
  const archives: Array<[number, string]> = [];
  for (const p of paths) {
    if (archiveKindOf(p)) {
      archives.push([files.length + unlisted.size, p]);
      continue;
    }
    for (const entry of walkModulePaths([p])) {
      if (entry.error !== undefined) unlisted.set(files.length + unlisted.size, errorResult(entry.file, entry.error));
      else files.push(entry.file);
    }
  }
  const candidatePaths = opts.candidates ? expandCandidatePaths(opts.candidates) : { files: [], errors: 0 };
  const ctx: WorkerContext = { basePath: base.file, kernel, diagnose: opts.diagnose !== false, candidatePaths: candidatePaths.files, manifestPath: opts.manifest, maxFindings: opts.maxFindings };
  const jobs = Math.max(1, opts.jobs ?? defaultJobs());
  const progress = new Progress(files.length, opts.progress !== false);
  const state = await prepareContext(ctx, base, true);
  state.prefetched = opts.prefetched;
  // A whole tree allocates far more than one module: free the decoded vmlinuz first.
  if (files.length > BATCH || archives.length) await (await import('./io/zstd.js')).collectNativeOutput();
  const threads = files.length < WORKER_THRESHOLD ? 1 : jobs;
  await log('info', { files: files.length, unlisted: unlisted.size, threads, candidates: candidatePaths.files.length, manifest: opts.manifest ?? null }, 'checking');
  candidateErrors = state.candidateErrors + candidatePaths.errors;
  let checked: ModuleResult[];
  if (threads === 1) {
    checked = [];
    for (let i = 0; i < files.length; i += BATCH) {
      const batch = await checkFiles(files.slice(i, i + BATCH), state);
      checked.push(...batch);
      for (let k = 0; k < batch.length; k++) progress.tick();
    }
  } else {
    checked = await checkShared(files, ctx, state, jobs - 1, progress);
  }
  progress.done();
  const fromArchives = new Map<number, ModuleResult[]>();
  for (const [at, p] of archives) {
    const rs = await checkArchiveModules(p, (f, loaded) => checkLoaded(f, loaded, state), (f, message) => errorResult(f, message));
    fromArchives.set(at, [...(fromArchives.get(at) ?? []), ...rs]);
  }
  // One boot: the once-per-boot line belongs to the first rejected module only.
  let seenOnce = false;
  for (const r of [...checked, ...[...fromArchives.values()].flat()]) {
    if (!r.kernel) continue;
    if (r.kernel.log.includes(ONCE_PER_BOOT)) {
      if (seenOnce) r.kernel.log = r.kernel.log.filter((l) => l !== ONCE_PER_BOOT);
      seenOnce = true;
    }
  }
  const results: ModuleResult[] = [];
  for (let i = 0, next = 0; i <= checked.length + unlisted.size; i++) {
    results.push(...(fromArchives.get(i) ?? []));
    if (i < checked.length + unlisted.size) results.push(unlisted.get(i) ?? checked[next++]);
  }
  for (const r of results) if (r.status === 'error') printError(r.file, r.error ?? 'error');
  return { results: { results, summary: summarize(results) }, candidateErrors };
}

/** Base-looking file names inside a candidate directory: vmlinux*, vmlinuz*, *.btf (maybe compressed). */
const CANDIDATE_FILE = /^(vmlinux|vmlinuz)|\.btf(\.(xz|zst|gz))?$/;

/**
 * Candidate bases: files as given, directories searched (recursively) for base-looking files. An
 * unreadable entry inside a directory is one line (and exit 2); the other candidates still count.
 */
export function expandCandidatePaths(paths: string[]): { files: string[]; errors: number } {
  const files: string[] = [];
  let errors = 0;
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = fs.statSync(fsPath(p)).isDirectory();
    } catch {
      // Reported when loading it, as for any unreadable candidate.
    }
    if (!isDir) {
      files.push(p);
      continue;
    }
    const before = files.length;
    for (const entry of walkModulePaths([p], { match: CANDIDATE_FILE })) {
      if (entry.error === undefined) files.push(entry.file);
      else {
        printError(`candidate ${entry.file}`, entry.error);
        errors++;
      }
    }
    if (files.length === before && errors === 0) throw new UsageError(`--candidates ${p}: no vmlinux, vmlinuz or *.btf files in this directory`);
  }
  return { files, errors };
}

export interface PreparedContext {
  base: LoadedBase;
  /** Modules loaded ahead (prefetchModules); each is taken once. */
  prefetched?: Map<string, Promise<LoadedModule>>;
  options: CheckOptions;
  candidateErrors: number;
  manifest?: ChecksumManifest;
}

/**
 * Loads what checking needs: the base (unless given), candidate bases, the manifest. Candidate
 * errors are printed once, by the main thread (`reportErrors`); workers load the same files quietly.
 */
export async function prepareContext(ctx: WorkerContext, base?: LoadedBase, reportErrors = false): Promise<PreparedContext> {
  const loaded = base ?? (await loadBase(ctx.basePath));
  let candidates: CandidateBase[] | undefined;
  let candidateErrors = 0;
  if (ctx.candidatePaths.length) {
    candidates = [];
    for (const p of ctx.candidatePaths) {
      try {
        const c = await loadBase(p);
        candidates.push({ file: c.file, sha256: c.sha256, btf: c.btf });
      } catch (e) {
        candidateErrors++;
        if (reportErrors) printError(`candidate ${p}`, errorMessage(e));
        await log('debug', { candidate: p, error: errorMessage(e) }, 'candidate base unreadable');
      }
    }
  }
  // A manifest that cannot be read is a usage error of the whole run, not of one module.
  const manifest = ctx.manifestPath ? readManifest(ctx.manifestPath) : undefined;
  return {
    base: loaded,
    manifest,
    candidateErrors,
    options: { kernel: ctx.kernel, diagnose: ctx.diagnose, candidates, baseSha256: loaded.sha256, maxFindingsPerRule: ctx.maxFindings },
  };
}

/**
 * Checks files in order while all of them load at once: compressed modules then decompress on
 * libuv's thread pool while this thread checks the ones already loaded.
 */
export async function checkFiles(files: string[], state: PreparedContext): Promise<ModuleResult[]> {
  const loads = files.map((f) => takePrefetchedModule(state, f) ?? loadModule(f));
  // Rejections are handled in checkLoaded, in order; mark them handled now so none is reported early.
  for (const l of loads) l.catch(() => undefined);
  const out: ModuleResult[] = [];
  for (let i = 0; i < files.length; i++) out.push(await checkLoaded(files[i], loads[i], state));
  return out;
}

/** A module prefetchModules started loading, taken once (cmd/io/prefetch.ts's takePrefetched is the base's). */
function takePrefetchedModule(state: PreparedContext, file: string): Promise<LoadedModule> | undefined {
  const load = state.prefetched?.get(file);
  state.prefetched?.delete(file);
  return load;
}

export async function checkLoaded(file: string, loading: Promise<LoadedModule>, state: PreparedContext): Promise<ModuleResult> {
  try {
    const m = await loading;
    const base = m.btf && standaloneBase(m.btf);
    if (base) {
      return errorResult(file, `not split BTF: a base (vmlinux) BTF of ${fmt(base.types)} types and ${fmt(base.strLen)} string bytes, not a module's; give it as --base or --candidates`);
    }
    const stored = m.storedChecksum ?? (state.manifest ? lookupManifest(state.manifest, file) : undefined);
    return checkModule(state.base.btf, file, m.name, m.btf, state.options, {
      distilledBase: m.btfBase, stored, storedError: m.storedChecksumError,
    });
  } catch (e) {
    return errorResult(file, errorMessage(e));
  }
}

function readManifest(path: string): ChecksumManifest {
  try {
    return parseManifest(readTextFile(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--manifest ${path}: ${errorMessage(e)}`);
  }
}

/**
 * Checks batches of files on the main thread and `workers` worker threads at once, each taking the
 * next batch when it is free. The main thread starts at once while the workers load, so using
 * workers never makes a run slower than checking alone.
 */
async function checkShared(files: string[], ctx: WorkerContext, state: PreparedContext, workers: number, progress: Progress): Promise<ModuleResult[]> {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({
    filename: fileURLToPath(new URL('./check-worker.js', import.meta.url)),
    workerData: ctx,
    maxThreads: workers,
    minThreads: workers,
  });
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH));
  const done: ModuleResult[][] = new Array(batches.length);
  let next = 0;
  const tick = (n: number) => {
    for (let i = 0; i < n; i++) progress.tick();
  };
  const workerLoop = async () => {
    while (next < batches.length) {
      const i = next++;
      done[i] = (await pool.run(batches[i])) as ModuleResult[];
      tick(batches[i].length);
    }
  };
  const mainLoop = async () => {
    while (next < batches.length) {
      const i = next++;
      const out = await checkFiles(batches[i], state);
      done[i] = out;
      tick(out.length);
      // Let the workers' results and requests through between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  try {
    await Promise.all([mainLoop(), ...Array.from({ length: workers }, workerLoop)]);
    return done.flat();
  } finally {
    await pool.destroy();
  }
}
