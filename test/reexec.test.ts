/**
 * A run that reads packages runs again as a child with MALLOC_MMAP_THRESHOLD_ set (cmd/io/reexec.ts):
 * the child must really have it, its output and exit status must be the run's, and a signal sent
 * to the command (a hook's timeout) must reach the child and end both the same way.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readsPackages } from '../cmd/io/reexec.js';
import { buildDeb, filesUnder } from './helpers/archive-builder.js';
import { cliPath, sample } from './helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-reexec-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Loaded into both processes with --require (node passes its flags on): the child reports itself. */
const probe = path.join(dir, 'probe.cjs');
fs.writeFileSync(probe, `
const fs = require('fs');
if (process.env.MALLOC_MMAP_THRESHOLD_ !== undefined && process.env.PROBE_OUT) {
  fs.writeFileSync(process.env.PROBE_OUT, JSON.stringify({ pid: process.pid, threshold: process.env.MALLOC_MMAP_THRESHOLD_ }));
  if (process.env.PROBE_EXIT) process.exit(Number(process.env.PROBE_EXIT));
  if (process.env.PROBE_HANG) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);
}
`);
const junk = path.join(dir, 'broken.deb');
fs.writeFileSync(junk, '!<arch>\nnot really a package\n');
const ko = sample('6.1.0-47-cloud-amd64', 'lib', 'modules', '6.1.0-47-cloud-amd64', 'kernel', 'drivers', 'ata', 'ata_piix.ko');
const base = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const env = (extra: Record<string, string>) => {
  const e: NodeJS.ProcessEnv = { ...process.env, BTFCHECK_CACHE: 'off', ...extra };
  delete e.MALLOC_MMAP_THRESHOLD_;
  return e;
};

describe('packages are read by a child with large blocks mmapped', () => {
  it('knows which runs read packages', () => {
    expect(readsPackages('abi', ['abi', '--old', 'a', '--new', 'b'])).toBe(true);
    expect(readsPackages('abi', ['abi', '--help'])).toBe(false);
    expect(readsPackages('check', ['check', '--base', base, ko])).toBe(false);
    expect(readsPackages('check', ['check', '--base', base, junk])).toBe(true);
    expect(readsPackages('check', ['check', `--base=${junk}`, ko])).toBe(true);
  });

  it('the child has the setting; its output and status are the run\'s', async () => {
    const deb = path.join(dir, 'modules.deb');
    fs.writeFileSync(deb, await buildDeb({ name: 'linux-modules-x', version: '1', compression: 'xz', files: filesUnder(sample('6.1.0-47-cloud-amd64', 'lib'), 'lib') }));
    const out = path.join(dir, 'probe.json');
    const args = ['--require', probe, cliPath, 'check', '--base', base, '--kernel', '6.1', '--format', 'json', deb];
    const viaChild = spawnSync(process.execPath, args, { encoding: 'utf8', env: env({ PROBE_OUT: out }) });
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).threshold).toBe('262144');
    // The same run with the setting already there runs in one process: same report, same status.
    const direct = spawnSync(process.execPath, [cliPath, ...args.slice(3)], { encoding: 'utf8', env: { ...env({}), MALLOC_MMAP_THRESHOLD_: '262144' } });
    expect(viaChild.status).toBe(direct.status);
    expect(JSON.parse(viaChild.stdout).modules).toEqual(JSON.parse(direct.stdout).modules);
    expect(JSON.parse(viaChild.stdout).modules.length).toBeGreaterThan(5);
    const broken = spawnSync(process.execPath, [cliPath, 'check', '--base', base, '--kernel', '6.1', junk], { encoding: 'utf8', env: env({}) });
    expect(broken.status).toBe(2);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    const exit7 = spawnSync(process.execPath, args, { encoding: 'utf8', env: env({ PROBE_OUT: out, PROBE_EXIT: '7' }) });
    expect(exit7.status).toBe(7);
  });

  it('a SIGTERM to the command ends the child and then the command, by that signal', async () => {
    const out = path.join(dir, 'hang.json');
    fs.rmSync(out, { force: true });
    const parent = spawn(process.execPath, ['--require', probe, cliPath, 'check', '--base', base, junk], { env: env({ PROBE_OUT: out, PROBE_HANG: '1' }), stdio: 'ignore' });
    const exited = new Promise<[number | null, string | null]>((resolve) => parent.once('exit', (c, s) => resolve([c, s])));
    for (let i = 0; i < 200 && !fs.existsSync(out); i++) await new Promise((r) => setTimeout(r, 25));
    const child = JSON.parse(fs.readFileSync(out, 'utf8')).pid as number;
    parent.kill('SIGTERM');
    const [code, signal] = await exited;
    expect([code, signal]).toEqual([null, 'SIGTERM']);
    // The child is gone (signal 0 probes for a process).
    expect(() => process.kill(child, 0)).toThrow();
  });
});
