/** Runs the built command line (dist/, made by `npm test`'s pretest build) as a user would. */
import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'bin', 'main.js');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: SpawnSyncOptions = {}): CliRun {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'latin1', cwd: repoRoot, timeout: 120_000, ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A path inside samples/. */
export function sample(...parts: string[]): string {
  return path.join(repoRoot, 'samples', ...parts);
}
