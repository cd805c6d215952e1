/**
 * FIFOs and devices through every command (issue 12, item 4). Opening a FIFO blocks until a writer
 * comes, reading /dev/zero never ends: each must be refused in one line, `not a regular file (...)`,
 * with exit 2, well within 5 s. The running kernel's BTF (a sysfs file) must still be read.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, sample } from './helpers/cli.js';

const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const base56 = sample('6.1.0-56-cloud-amd64', 'vmlinux.btf.xz');
const mod47 = sample('6.1.0-47-cloud-amd64', 'lib/modules/6.1.0-47-cloud-amd64/kernel/net/netfilter/ipvs/ip_vs_ftp.ko');
const config47 = sample('6.1.0-47-cloud-amd64', 'config');

let dir: string;
let fifo: string;
let fifoKo: string;

/** A run that must end by itself within 5 s (a hang is killed and fails the test). */
function run(args: string[], timeout = 5000): { status: number | null; stdout: string; stderr: string; signal: string | null } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: repoRoot, timeout });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), signal: r.signal };
}

function expectRefused(args: string[], file: string, what: RegExp | string = 'not a regular file (a FIFO)', timeout = 5000): void {
  const r = run(args, timeout);
  expect(r.signal, `${args.join(' ')} hung`).toBeNull();
  expect(r.status).toBe(2);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0].startsWith('btfcheck: ') && lines[0].includes(file), lines[0]).toBe(true);
  if (typeof what === 'string') expect(lines[0]).toContain(what);
  else expect(lines[0]).toMatch(what);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-fifo-'));
  fifo = path.join(dir, 'fifo');
  fifoKo = path.join(dir, 'fifo.ko');
  for (const f of [fifo, fifoKo]) expect(spawnSync('mkfifo', [f]).status).toBe(0);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a FIFO is refused in one line, never waited on', () => {
  it('check: as a module and as --base', () => {
    expectRefused(['check', '-b', base47, '-k', '6.1', fifoKo], fifoKo);
    expectRefused(['check', '-b', fifo, '-k', '6.1', mod47], fifo);
  });
  it('check: as --config and as --manifest', () => {
    expectRefused(['check', '-b', base47, '-k', '6.1', '--config', fifo, mod47], fifo);
    expectRefused(['check', '-b', base47, '-k', '6.1', '--manifest', fifo, mod47], fifo);
  });
  it('check: as a --candidates base (the module is still checked)', () => {
    const r = run(['check', '-b', base47, '-k', '6.1', '--candidates', fifo, '-f', 'json', mod47]);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`btfcheck: candidate ${fifo}: not a regular file (a FIFO)\n`);
    expect(JSON.parse(r.stdout).modules[0].status).toBe('accepted');
  });
  it('explain: as the log and as a module named in it', () => {
    expectRefused(['explain', fifo], fifo);
    const log = path.join(dir, 'boot.log');
    fs.writeFileSync(log, 'BPF: [94979] Invalid name_offset:1694074\nfailed to validate module [fifo] BTF: -22\n');
    expectRefused(['explain', log, '--base', base47, fifoKo], fifoKo);
  });
  it('abi: as --old, as --old-symvers, and as boot/vmlinuz-* in a package root', () => {
    expectRefused(['abi', '--old', fifo, '--new', base56, '-k', '6.1'], fifo);
    expectRefused(['abi', '--old', base47, '--new', base56, '-k', '6.1', '--old-symvers', fifo, '--new-symvers', fifo], fifo);
    const root = path.join(dir, 'pkg');
    fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
    fs.mkdirSync(path.join(root, 'lib', 'modules', '6.1.0-99-amd64'), { recursive: true });
    const image = path.join(root, 'boot', 'vmlinuz-6.1.0-99-amd64');
    expect(spawnSync('mkfifo', [image]).status).toBe(0);
    // Refused when read, or not taken for an image at all: either way one line naming it, at once.
    expectRefused(['abi', '--old', root, '--new', base56, '-k', '6.1'], root, /not a regular file \(a FIFO\)|no kernel image/);
  });
  it('fingerprint', () => {
    expectRefused(['fingerprint', fifo], fifo);
  });
  it('stamp: as a module, as --base, and as --manifest', () => {
    expectRefused(['stamp', '-b', base47, fifoKo], fifoKo);
    expectRefused(['stamp', '-b', fifo, mod47], fifo);
    const copy = path.join(dir, 'm.ko');
    fs.copyFileSync(mod47, copy);
    // Writing: the manifest's name holds a FIFO, which is never opened nor replaced. The module is
    // diagnosed before the manifest is written: more time on a loaded machine.
    expectRefused(['stamp', '-b', base47, '--manifest', fifo, copy], fifo, /a FIFO/, 15_000);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  });
  it('a FIFO inside a tree is not a module: the tree is checked without waiting on it', () => {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    fs.copyFileSync(mod47, path.join(tree, 'a.ko'));
    expect(spawnSync('mkfifo', [path.join(tree, 'b.ko')]).status).toBe(0);
    const r = run(['check', '-b', base47, '-k', '6.1', tree]);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/summary: 1 module: 1 accepted/);
  });
});

describe('devices', () => {
  it('/dev/zero as base or module: not a regular file (a character device)', () => {
    expectRefused(['check', '-b', '/dev/zero', '-k', '6.1', mod47], '/dev/zero', 'not a regular file (a character device)');
    expectRefused(['check', '-b', base47, '-k', '6.1', '/dev/zero'], '/dev/zero', 'not a regular file (a character device)');
    expectRefused(['fingerprint', '/dev/zero'], '/dev/zero', 'not a regular file (a character device)');
    expectRefused(['check', '-b', base47, '-k', '6.1', '--config', '/dev/zero', mod47], '/dev/zero', 'not a regular file (a character device)');
  });
});

describe('pseudo-files that are regular files keep working', () => {
  const hasBtf = fs.existsSync('/sys/kernel/btf/vmlinux');
  it(hasBtf ? "'running' and /sys/kernel/btf/vmlinux are read" : "without kernel BTF, 'running' says so in one line", () => {
    for (const b of ['running', '/sys/kernel/btf/vmlinux']) {
      const r = run(['fingerprint', b]);
      expect(r.signal).toBeNull();
      if (hasBtf) {
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^[0-9a-f]{64} {2}[\d,]+ types/);
      } else {
        expect(r.status).toBe(2);
        expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      }
    }
  });
  it('/proc/version (size 0 in stat) is read to its end as a --config file', () => {
    const r = run(['check', '-b', base47, '-k', '6.1', '--config', '/proc/version', mod47]);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a kernel \.config/);
  });
  it('explain reads a log from a pipe on stdin ("-")', () => {
    const r = spawnSync(process.execPath, [cliPath, 'explain', '-'], { input: `BPF: [1] STRUCT x\nfailed to validate module [m] BTF: -22\n`, encoding: 'utf8', cwd: repoRoot, timeout: 5000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^m: BTF rejected, errno -22/);
  });
  it('the config sample as a control', () => {
    expect(run(['check', '-b', base47, '-k', '6.1', '--config', config47, mod47]).status).toBe(0);
  });
});
