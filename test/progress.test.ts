/**
 * The progress bar is for people: it appears on stderr under a terminal and never in pipes or CI
 * logs. The terminal is a real pseudo-terminal, made by util-linux's `script`.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot, runCli, sample } from './helpers/cli.js';

const base = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const modules = sample('6.1.0-56-cloud-amd64', 'lib');
const args = ['check', '-b', base, '-k', '6.1', '-f', 'json', modules];

describe('progress bar', () => {
  it('is drawn on a terminal', () => {
    // stdout goes to /dev/null inside the pty, so what the pty shows is stderr alone.
    const cmd = [process.execPath, cliPath, ...args].map((a) => `'${a}'`).join(' ') + ' >/dev/null';
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: repoRoot, encoding: 'latin1', timeout: 60_000 });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toMatch(/\[#+\.*\] \d+\/12 modules/);
    expect(r.stdout).toMatch(/12\/12 modules/);
  });

  it('is not drawn into a pipe', () => {
    const r = runCli(args);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).summary.modules).toBe(12);
  });
});
