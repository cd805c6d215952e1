/**
 * scripts/bench-diagnose.ts [--runs N] [--only warm|cold]   (tsx; needs the real-kernel cache)
 *
 * The diagnosis alone (lib/diagnose + rules/findings), without ELF reading or decompression:
 * - warm: diagnoseModule over every module of a tree against a base, in one process; the first
 *   pass pays whatever is cached per base, the median is over the N passes after it;
 * - cold: the first diagnoseModule call in a fresh node process (a hook checking one module),
 *   median of at least 9 processes (the machine is shared: medians, and the minimum as the floor).
 * Garbage collection time is summed from the gc performance entries of each pass.
 * The library is bundled from source with esbuild first, as the command line ships it: run as tsx
 * transforms it, each `Kind.X` of a const enum becomes a getter call, which alone costs a quarter
 * of the time and is not what users run. BENCH_DIAGNOSE_LIB=file.mjs measures a bundle made
 * elsewhere instead (e.g. of an older commit, for before/after numbers).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { xz } from '@napi-rs/lzma';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Lib = typeof import('../lib/btf/btf.js') & typeof import('../lib/diagnose/index.js') &
  typeof import('../lib/module.js') & typeof import('../lib/source.js');

/**
 * The parts of lib/ this bench uses, bundled from source into a temporary module (made once by the
 * parent and handed to the cold-run children in BENCH_DIAGNOSE_LIB).
 */
async function libBundle(): Promise<string> {
  const given = process.env.BENCH_DIAGNOSE_LIB;
  if (given) return given;
  const out = path.join(os.tmpdir(), `bench-diagnose-${process.pid}.mjs`);
  await build({
    stdin: {
      contents: `export { Btf } from './lib/btf/btf.ts';
export { diagnoseModule } from './lib/diagnose/index.ts';
export { readModule } from './lib/module.ts';
export { memorySource } from './lib/source.ts';`,
      resolveDir: repo, loader: 'ts',
    },
    bundle: true, format: 'esm', platform: 'neutral', target: 'node20', outfile: out, logLevel: 'warning',
  });
  process.env.BENCH_DIAGNOSE_LIB = out;
  process.on('exit', () => fs.rmSync(out, { force: true }));
  return out;
}
const { Btf, diagnoseModule, readModule, memorySource }: Lib = await import(await libBundle());

const root = process.env.BTF_KERNELS ?? path.join(os.homedir(), '.cache', 'btf-kernels');
const args = process.argv.slice(2);
const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 5;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

interface Mod { file: string; btf: Uint8Array; distilled?: Uint8Array }

const modulesDir = (abi: string) => path.join(root, abi, 'lib', 'modules', abi);

function moduleFiles(abi: string): string[] {
  const out: string[] = [];
  const pending = [modulesDir(abi)];
  while (pending.length) {
    const dir = pending.pop()!;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) pending.push(p);
      else if (/\.ko(\.xz)?$/.test(e.name)) out.push(p);
    }
  }
  return out.sort();
}

function readMod(file: string): Mod | undefined {
  let raw = new Uint8Array(fs.readFileSync(file));
  if (file.endsWith('.xz')) raw = new Uint8Array(xz.decompressSync(raw));
  const m = readModule(memorySource(raw));
  if (!m.btf) return undefined;
  // Copies: a module's BTF should not keep the whole file alive.
  return { file, btf: m.btf.slice(), distilled: m.btfBase?.slice() };
}

const loadBase = (abi: string) => Btf.parseBase(new Uint8Array(fs.readFileSync(path.join(root, abi, 'vmlinux.btf'))));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * One module, one call, in a fresh plain node process (no tsx: its loader would share the
 * process): prints the call's milliseconds. The module's .BTF (and .BTF.base) are handed over as
 * files, already out of their ELF and compression.
 */
const COLD_CHILD = `
import fs from 'node:fs';
const [lib, base, btf, distilled] = process.argv.slice(1);
const { Btf, diagnoseModule } = await import(lib);
const b = Btf.parseBase(new Uint8Array(fs.readFileSync(base)));
const m = new Uint8Array(fs.readFileSync(btf));
const d = distilled ? new Uint8Array(fs.readFileSync(distilled)) : undefined;
const t = performance.now();
diagnoseModule(b, m, { distilledBase: d });
console.log((performance.now() - t).toFixed(3));
`;

function coldRuns(baseAbi: string, moduleFile: string, n: number): number[] {
  const m = readMod(moduleFile)!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-diagnose-'));
  try {
    const btf = path.join(dir, 'btf');
    fs.writeFileSync(btf, m.btf);
    const distilled = m.distilled ? path.join(dir, 'btf-base') : '';
    if (m.distilled) fs.writeFileSync(distilled, m.distilled);
    const childArgs = ['--input-type=module', '-e', COLD_CHILD, process.env.BENCH_DIAGNOSE_LIB!,
      path.join(root, baseAbi, 'vmlinux.btf'), btf, distilled];
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = spawnSync(process.execPath, childArgs, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cold run failed: ${r.stderr}`);
      times.push(Number(r.stdout.trim()));
    }
    return times;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (only !== 'cold') await warm();
  if (only !== 'warm') cold();
}

async function warm(): Promise<void> {
  let gcMs = 0;
  new PerformanceObserver((list) => { for (const e of list.getEntries()) gcMs += e.duration; }).observe({ entryTypes: ['gc'] });
  const trees = new Map<string, Mod[]>();
  const tree = (abi: string) => {
    let t = trees.get(abi);
    if (!t) { t = moduleFiles(abi).map(readMod).filter((m): m is Mod => m !== undefined); trees.set(abi, t); }
    return t;
  };
  const sets: [string, string][] = [
    ['6.1.0-56-cloud-amd64', '6.1.0-47-cloud-amd64'],
    ['6.1.0-47-cloud-amd64', '6.1.0-47-cloud-amd64'],
    ['6.12.117+deb12-cloud-amd64', '6.12.115+deb12-cloud-amd64'],
    ['6.12.117+deb12-cloud-amd64', '6.12.117+deb12-cloud-amd64'],
  ];
  console.log(`warm: diagnoseModule over a whole tree, first pass and median of ${runs} more (gc time in brackets)`);
  for (const [modAbi, baseAbi] of sets) {
    const mods = tree(modAbi);
    const base = loadBase(baseAbi);
    const pass = async () => {
      // gc entries arrive asynchronously: let the previous pass's land before counting.
      await new Promise((resolve) => setTimeout(resolve, 10));
      gcMs = 0;
      const t = performance.now();
      let findings = 0;
      for (const m of mods) findings += diagnoseModule(base, m.btf, { distilledBase: m.distilled }).findings.length;
      const ms = performance.now() - t;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { ms, gc: gcMs, findings };
    };
    const first = await pass();
    const rest = [];
    for (let i = 0; i < runs; i++) rest.push(await pass());
    const med = median(rest.map((r) => r.ms));
    console.log(`  ${mods.length} modules of ${modAbi} vs ${baseAbi} base: first ${first.ms.toFixed(0)} ms [${first.gc.toFixed(0)}], ` +
      `median ${med.toFixed(0)} ms [${median(rest.map((r) => r.gc)).toFixed(0)}], ${first.findings} findings`);
  }
}

function cold(): void {
  const singles: [string, string, string][] = [
    ['6.1.0-47-cloud-amd64', '6.1.0-47-cloud-amd64', 'kernel/drivers/ata/ata_piix.ko'],
    ['6.1.0-56-cloud-amd64', '6.1.0-47-cloud-amd64', 'kernel/drivers/tty/serial/8250/8250_lpss.ko'],
    ['6.12.117+deb12-cloud-amd64', '6.12.117+deb12-cloud-amd64', 'kernel/drivers/ata/ata_piix.ko.xz'],
  ];
  const coldN = Math.max(runs, 9);
  console.log(`cold: the first diagnoseModule call in a fresh node process, median (min) of ${coldN} processes`);
  for (const [modAbi, baseAbi, rel] of singles) {
    const file = path.join(modulesDir(modAbi), rel);
    const times = coldRuns(baseAbi, file, coldN);
    console.log(`  ${path.basename(file)} of ${modAbi} vs ${baseAbi} base: ${median(times).toFixed(2)} ms (${Math.min(...times).toFixed(2)})`);
  }
}

await main();
