/**
 * The command line as users meet it, on the bundled samples: verdicts, formats, exit codes, and
 * one-line errors for bad input that never stop the other files from being checked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, sample } from './helpers/cli.js';

const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const base56 = sample('6.1.0-56-cloud-amd64', 'vmlinux.btf.xz');
const mods56 = sample('6.1.0-56-cloud-amd64', 'lib');
const mods47 = sample('6.1.0-47-cloud-amd64', 'lib');
const lpss56 = sample('6.1.0-56-cloud-amd64', 'lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/tty/serial/8250/8250_lpss.ko');
const config47 = sample('6.1.0-47-cloud-amd64', 'config');

describe('check on the samples', () => {
  it('accepts a build\'s own modules against its own base: exit 0', () => {
    const r = runCli(['check', '--base', base47, '--kernel', '6.1', mods47]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/summary: 12 modules: 12 accepted, 0 rejected, 0 without BTF, 0 errors/);
    expect(r.status).toBe(0);
  });

  it('rejects a sibling build\'s module exactly as 6.1 prints it: exit 1', () => {
    const r = runCli(['check', '--base', base47, '--kernel', '6.1', '--config', config47, '--format', 'dmesg', lpss56]);
    // Recorded from the real 6.1.0-47 kernel booted in qemu (oracle record cross-8250_lpss).
    expect(r.stdout).toBe('BPF: [94979] Invalid name_offset:1694074\nfailed to validate module [8250_lpss] BTF: -22\n');
    expect(r.status).toBe(1);
  });

  it('json has the stable shape', () => {
    const r = runCli(['check', '-b', base47, '-k', '6.1', '--allow-btf-mismatch', '-f', 'json', mods56]);
    const doc = JSON.parse(r.stdout);
    expect(doc.base).toMatchObject({ types: 94976, strLen: 1689866 });
    expect(doc.base.sha256).toBe('d489dad3d6cda487d74bcc59e991b0472adae3e18408b8a21550d2a0a398252b');
    expect(doc.kernel).toMatchObject({ version: '6.1', allowBtfMismatch: true });
    expect(doc.modules).toHaveLength(12);
    expect(doc.summary.modules).toBe(12);
    expect(doc.summary.accepted).toBe(0);
    const lpss = doc.modules.find((m: { module: string }) => m.module === '8250_lpss');
    expect(lpss).toMatchObject({ status: 'rejected', kernel: { accepted: false, errno: -22, loads: true } });
    expect(r.status).toBe(1);
  });

  it('without ALLOW_BTF_MISMATCH the module itself fails to load', () => {
    const r = runCli(['check', '-b', base47, '-k', '6.1', '--no-allow-btf-mismatch', '-f', 'json', lpss56]);
    expect(JSON.parse(r.stdout).modules[0].kernel).toMatchObject({ accepted: false, loads: false });
  });

  it('reads the config beside the base and says which kernel rules were applied', () => {
    const r = runCli(['check', '-b', base47, '-f', 'json', lpss56]);
    const doc = JSON.parse(r.stdout);
    expect(doc.kernel).toMatchObject({ version: '6.1', rules: '6.1', allowBtfMismatch: true, config: path.join(path.dirname(base47), 'config') });
    expect(doc.kernel.notes).toEqual([
      'release 6.1.0-47-cloud-amd64 taken from the tree beside ' + base47,
      'release 6.1.0-47-cloud-amd64 names an ABI, not a patch level: the newest 6.1 rules were applied',
    ]);
    expect(doc.modules[0].kernel).toMatchObject({ accepted: false, loads: true });
  });

  it('names the file and the problem in one line for broken input, and checks the rest: exit 2', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-cli-'));
    const broken = path.join(dir, 'broken.ko');
    fs.writeFileSync(broken, fs.readFileSync(lpss56).subarray(0, 200));
    const missing = path.join(dir, 'missing.ko');
    const r = runCli(['check', '-b', base47, '-k', '6.1', '-f', 'json', broken, missing, lpss56]);
    expect(r.status).toBe(2);
    const errLines = r.stderr.trim().split('\n');
    expect(errLines).toHaveLength(2);
    expect(errLines[0]).toMatch(new RegExp(`^btfcheck: ${broken}: .+`));
    expect(errLines[1]).toMatch(new RegExp(`^btfcheck: ${missing}: no such file or directory`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const doc = JSON.parse(r.stdout);
    expect(doc.modules.map((m: { status: string }) => m.status)).toEqual(['error', 'error', 'rejected']);
  });

  it('asks for --kernel when a raw base carries no release and has no tree beside it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-cli-'));
    const lone = path.join(dir, 'vmlinux.btf.xz');
    fs.copyFileSync(base47, lone);
    const r = runCli(['check', '-b', lone, lpss56]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/carries no release\): pass --kernel \(e\.g\. --kernel 7\.2/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reports an unreadable base in one line: exit 2', () => {
    const r = runCli(['check', '-b', '/nonexistent/vmlinux', '-k', '6.1', lpss56]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^btfcheck: \/nonexistent\/vmlinux: no such file or directory\n$/);
  });
});

describe('worker threads', () => {
  it('a large set (the samples six times over, 72 files) gives the same report on workers as alone', () => {
    const args = ['check', '-b', base47, '-k', '6.1', '-f', 'json', ...Array(6).fill(mods56)];
    const alone = runCli([...args, '--jobs', '1']);
    const shared = runCli([...args, '--jobs', '2']);
    expect(alone.status).toBe(1);
    expect(shared.status).toBe(1);
    const a = JSON.parse(alone.stdout);
    const b = JSON.parse(shared.stdout);
    expect(a.modules).toHaveLength(72);
    expect(b).toEqual(a);
  });
});

describe('logs', () => {
  it('go to stderr as pino JSON lines at --log-level info (BTFCHECK_LOG too); the report stays alone on stdout', () => {
    for (const r of [
      runCli(['check', '--log-level', 'info', '-b', base47, '-k', '6.1', '-f', 'json', mods47]),
      runCli(['check', '-b', base47, '-k', '6.1', '-f', 'json', mods47], { env: { ...process.env, BTFCHECK_LOG: 'info' } }),
    ]) {
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).summary.accepted).toBe(12);
      const records = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
      expect(records.map((x) => x.msg)).toEqual(['base loaded', 'checking', 'checked']);
      expect(records[0]).toMatchObject({ level: 30, name: 'btfcheck', types: 94976 });
    }
  });
  it('are silent by default', () => {
    expect(runCli(['check', '-b', base47, '-k', '6.1', mods47]).stderr).toBe('');
  });
});

describe('usage', () => {
  it('--help lists the commands; check --help shows examples', () => {
    const top = runCli(['--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/btfcheck check <modules\.\.>/);
    const check = runCli(['check', '--help']);
    expect(check.stdout).toMatch(/Examples:/);
    expect(check.stdout).toMatch(/--allow-btf-mismatch/);
  });
  it('unknown options and missing arguments are usage errors: exit 2, no stack', () => {
    for (const args of [['check', '--base', base47], ['check', '--bogus', '-b', base47, lpss56], ['frobnicate'], ['check', '-b', base47, '-k', 'banana', lpss56], ['check', '-b', base47, '--rule', 'no-such-rule=on', lpss56]]) {
      const r = runCli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^btfcheck: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('demo (npm start)', () => {
  it('shows the mismatch on the samples and exits 0', () => {
    const r = runCli(['demo']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/REJECTED 8250_lpss/);
    expect(r.stdout).toMatch(/failed to validate module \[8250_lpss\] BTF: -22/);
    expect(r.stdout).toMatch(/built against a base with 95,247 types and 1,694,074 string bytes; this base has 94,976 types and 1,689,866/);
  });
});

it('base sha256 of the other sample is the real 6.1.0-56 one', () => {
  const r = runCli(['check', '-b', base56, '-k', '6.1', '-f', 'json', mods56]);
  expect(JSON.parse(r.stdout).base.sha256).toBe('edc3c348e9e9e1cd54346eb5da82d284a0073c751e5792ee32aea70f6f986f65');
  expect(r.status).toBe(0);
});
