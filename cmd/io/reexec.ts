/**
 * glibc's malloc keeps what the native decoders free. @napi-rs/lzma decodes a package's 24 MiB xz
 * blocks on libuv's threads, and the freed blocks stay behind as fragmented heap: `check` on a 6.1
 * linux-image package peaked at 350 MiB, of which ~110 MiB were such holes. With large blocks always
 * mmapped (MALLOC_MMAP_THRESHOLD_) each goes back to the system when freed (241 MiB). glibc reads
 * that setting only when the process starts, so a run that reads packages runs again, once, as a
 * child with it set: same node, flags, arguments, stdio; its exit status and its death by a signal
 * are ours, and the signals a caller sends (a hook's timeout, Ctrl-C) are passed on to it.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { archiveKindOf } from './archives.js';

/** Blocks from this size up are mmapped (and unmapped when freed): 256 KiB, well below a 24 MiB xz block. */
const MMAP_THRESHOLD = String(256 << 10);
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** Whether this run reads packages or images: abi always may; other commands when an argument is one. */
export function readsPackages(command: string | undefined, args: string[]): boolean {
  if (args.some((a) => a === '--help' || a === '-h' || a === '--version')) return false;
  if (command === 'abi') return true;
  for (const arg of args) {
    const value = arg.startsWith('--') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
    if (value === '' || value.startsWith('-')) continue;
    if (archiveKindOf(value)) return true;
  }
  return false;
}

/**
 * Runs this command again as a child with the malloc setting, when it reads packages on glibc and
 * is not that child already; resolves to its exit code (a signal that killed it is raised on this
 * process instead), or to undefined when this process should go on itself.
 */
export async function rerunForPackages(command: string | undefined, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  if (process.platform !== 'linux' || env.MALLOC_MMAP_THRESHOLD_ !== undefined || !process.argv[1]) return undefined;
  if (!readsPackages(command, args)) return undefined;
  // musl and other libcs ignore the variable: re-running there would cost a start for nothing.
  // (The report takes a few milliseconds; a run that reads packages takes seconds.)
  const glibc = (process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
  if (!glibc) return undefined;
  // node:child_process only now: most runs read no package and never load it.
  const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...env, MALLOC_MMAP_THRESHOLD_: MMAP_THRESHOLD },
  });
  const forward = (signal: NodeJS.Signals) => {
    child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('error', () => resolve([null, null]));
    child.once('exit', (c, s) => resolve([c, s]));
  });
  for (const s of FORWARDED) process.off(s, forward);
  if (signal) {
    process.kill(process.pid, signal);
    // A signal we cannot die of here (ignored by our parent): its conventional status.
    return 128 + (os.constants.signals[signal] ?? 1);
  }
  // Could not be started (no such executable any more): go on in this process.
  if (code === null) return undefined;
  return code;
}
