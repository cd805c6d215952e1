/**
 * The bin (dist/bin/main.js) compiles the bundle with the V8 code cache the build made: the cache
 * must fit this node (else every run compiles from source, silently slower), and a missing or
 * damaged cache must only cost speed, never the run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, sample } from './helpers/cli.js';

const bin = path.join(repoRoot, 'dist', 'bin');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-codecache-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const base = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const mod = sample('6.1.0-47-cloud-amd64', 'lib', 'modules', '6.1.0-47-cloud-amd64', 'kernel', 'drivers', 'ata', 'ata_piix.ko');

/** A copy of dist/bin whose cli.js.cache is `cache` (undefined: none); node_modules resolve from the repository. */
function binWith(name: string, cache: Buffer | undefined): string {
  const dir = path.join(repoRoot, 'dist', `bin-test-${name}-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(bin, dir, { recursive: true });
  fs.rmSync(path.join(dir, 'cli.js.cache'), { force: true });
  if (cache) fs.writeFileSync(path.join(dir, 'cli.js.cache'), cache);
  return dir;
}

function run(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(dir, 'main.js'), ...args], { encoding: 'utf8', cwd: scratch, env: { ...process.env, BTFCHECK_CACHE: 'off' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the bin and its code cache', () => {
  it('the cache the build made is accepted by this node', () => {
    const file = path.join(bin, 'cli.js');
    const source = fs.readFileSync(file, 'latin1').replace(/^#!.*/, '');
    const wrapper = `(function (exports, require, module, __filename, __dirname, __btfcheckHostImport, __btfcheckFromBin) {${source}\n})`;
    const cachedData = fs.readFileSync(`${file}.cache`);
    expect(cachedData.length).toBeGreaterThan(100_000);
    const script = new vm.Script(wrapper, { filename: file, cachedData });
    expect(script.cachedDataRejected).toBe(false);
  });

  it('checks the same without a cache and with a damaged one', () => {
    const expected = run(bin, ['check', '--base', base, '--kernel', '6.1', '--format', 'json', mod]);
    expect(expected.status).toBe(0);
    expect(JSON.parse(expected.stdout).summary.accepted).toBe(1);
    const dirs = [binWith('none', undefined), binWith('damaged', Buffer.alloc(4096, 0x5a))];
    try {
      for (const dir of dirs) {
        const r = run(dir, ['check', '--base', base, '--kernel', '6.1', '--format', 'json', mod]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        // The report names the same files and verdicts; only timing-free fields are compared.
        expect(JSON.parse(r.stdout).modules).toEqual(JSON.parse(expected.stdout).modules);
      }
    } finally {
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads packages with import() from the bundle (yargs for --help) without warnings', () => {
    const r = run(bin, ['check', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--fail-on/);
    expect(r.stderr).toBe('');
  });

  it('reports a user error in one line, not a stack trace', () => {
    const r = run(bin, ['check', '--base', path.join(scratch, 'missing.btf'), mod]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/missing\.btf/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
