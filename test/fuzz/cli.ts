/**
 * The contract seen from outside: the built CLI spawned on hostile files, with its exit code,
 * stderr shape, wall time and peak RSS (GNU time's %M when /usr/bin/time exists).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { cliPath, repoRoot } from '../helpers/cli.js';

export const HAS_GNU_TIME = fs.existsSync('/usr/bin/time');

export interface CliCase {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS of the child in KiB, when measured. */
  rssKb: number | null;
  /** User + system CPU time of the child in ms, when measured (a busy machine stretches wall time, not this). */
  cpuMs: number | null;
}

const RSS_MARK = '@@btfcheck-fuzz-rss ';

/** Runs the CLI; `timeoutMs` kills a hung child (status null, signal set). */
export function runCliCase(args: string[], timeoutMs = 20_000): CliCase {
  const t0 = performance.now();
  const cmd = HAS_GNU_TIME ? '/usr/bin/time' : process.execPath;
  const argv = HAS_GNU_TIME ? ['-f', `${RSS_MARK}%M %U %S`, process.execPath, cliPath, ...args] : [cliPath, ...args];
  const r = spawnSync(cmd, argv, { encoding: 'latin1', cwd: repoRoot, timeout: timeoutMs, maxBuffer: 256 << 20, env: { ...process.env, NO_COLOR: '1' } });
  let stderr = String(r.stderr ?? '');
  let rssKb: number | null = null;
  let cpuMs: number | null = null;
  const at = stderr.lastIndexOf(RSS_MARK);
  if (at >= 0) {
    const [rss, user, sys] = stderr.slice(at + RSS_MARK.length).trim().split(/\s+/).map(Number);
    rssKb = rss;
    if (Number.isFinite(user) && Number.isFinite(sys)) cpuMs = (user + sys) * 1000;
    stderr = stderr.slice(0, at);
  }
  // GNU time reports a killed or failing child on its own line: not ours.
  stderr = stderr.replace(/^Command (exited with non-zero status|terminated by signal) .*\n/m, '');
  return { status: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr, ms: performance.now() - t0, rssKb, cpuMs };
}

/**
 * The problems with one run, empty when it keeps the contract: exit 0/1/2 (not killed), every
 * stderr line `btfcheck: ...` (plus the help pointer of a usage error), no stack trace or crash text.
 */
export function cliProblems(run: CliCase, maxMs = Infinity, limits: { cpuMs?: number; rssKb?: number } = {}): string[] {
  const problems: string[] = [];
  if (run.status === null) problems.push(`killed by ${run.signal ?? 'timeout'} after ${run.ms.toFixed(0)} ms`);
  else if (![0, 1, 2].includes(run.status)) problems.push(`exit status ${run.status}`);
  if (run.ms > maxMs) problems.push(`took ${run.ms.toFixed(0)} ms`);
  if (limits.cpuMs !== undefined && run.cpuMs !== null && run.cpuMs > limits.cpuMs) problems.push(`took ${run.cpuMs.toFixed(0)} ms of CPU (limit ${limits.cpuMs})`);
  if (limits.rssKb !== undefined && run.rssKb !== null && run.rssKb > limits.rssKb) problems.push(`peak RSS ${(run.rssKb / 1024).toFixed(0)} MiB (limit ${(limits.rssKb / 1024).toFixed(0)} MiB)`);
  for (const line of run.stderr.split('\n')) {
    if (!line) continue;
    if (!line.startsWith('btfcheck: ') && !/^Try 'btfcheck( [a-z]+)? --help'\.$/.test(line)) problems.push(`stray stderr line: ${line.slice(0, 200)}`);
    if (/internal error|RangeError|TypeError|ReferenceError|Maximum call stack|malformed data \(|^\s+at /.test(line)) problems.push(`crash text: ${line.slice(0, 200)}`);
    const named = /^btfcheck: (.+?): (.*)$/.exec(line);
    if (named && named[2].startsWith(`${named[1]}: `)) problems.push(`the file named twice: ${line.slice(0, 200)}`);
  }
  return problems;
}

/** Error lines of a `check` run per file: `btfcheck: FILE: message`. */
export function errorLines(stderr: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of stderr.split('\n')) {
    const m = /^btfcheck: (.*?): (.*)$/.exec(line);
    if (!m) continue;
    out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Output read as latin1 (runCliCase) decoded as the UTF-8 it must be, or null when it is not. */
export function decodeOutput(latin1: string): string | null {
  try {
    return utf8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    return null;
  }
}
