/**
 * Module trees as an attacker plants them (issue 12, item 2): an unreadable directory, a nesting
 * deeper than PATH_MAX, a file name that is not UTF-8. Each bad entry is one error line, every
 * other module of the tree is still checked, and the run exits 2, never 0.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkModulePaths } from '../cmd/io/paths.js';
import { decodeFileName, encodeFileName } from '../lib/fsname.js';
import { cliPath, repoRoot, sample } from './helpers/cli.js';

const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const good47 = sample('6.1.0-47-cloud-amd64', 'lib/modules/6.1.0-47-cloud-amd64/kernel/net/netfilter/ipvs/ip_vs_ftp.ko');
const lpss56 = sample('6.1.0-56-cloud-amd64', 'lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/tty/serial/8250/8250_lpss.ko');

/**
 * Runs the CLI as a user that permissions apply to: root reads a mode-000 directory anyway, so
 * under root the run drops to nobody (setpriv, util-linux).
 */
function runAsUser(args: string[], timeout = 10_000): { status: number | null; stdout: string; stderr: string; ms: number } {
  const root = process.getuid?.() === 0;
  const argv = root ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliPath, ...args] : [cliPath, ...args];
  const started = Date.now();
  const r = spawnSync(root ? 'setpriv' : process.execPath, argv, { encoding: 'latin1', cwd: repoRoot, timeout });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - started };
}

/** Raw bytes of a path (latin1 strings from the child's output are bytes). */
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

let dir: string;
let tree: string;
let locked: string;
let deepPrefix: string;
const BAD_NAME = Buffer.concat([Buffer.from('bad'), Buffer.from([0xff]), Buffer.from('.ko')]);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-trees-'));
  fs.chmodSync(dir, 0o755);
  tree = path.join(dir, 'tree');
  fs.mkdirSync(path.join(tree, 'ok'), { recursive: true });
  fs.copyFileSync(good47, path.join(tree, 'ok', 'good.ko'));
  // A rejected module under a name that is not UTF-8: it must be checked, not skipped.
  fs.copyFileSync(lpss56, Buffer.concat([Buffer.from(path.join(tree, 'ok') + '/'), BAD_NAME]));
  locked = path.join(tree, 'locked');
  fs.mkdirSync(locked);
  fs.copyFileSync(lpss56, path.join(locked, 'hidden.ko'));
  fs.chmodSync(locked, 0o000);
  // 3000 nested directories: deeper than PATH_MAX lets a path name (made with relative chdirs).
  const r = spawnSync('bash', ['-c', 'cd "$1" && for i in 1 2 3; do mkdir -p "$2" && cd "$2"; done && cp "$3" deep.ko', '_', tree, Array(1000).fill('d').join('/'), good47]);
  expect(r.status, String(r.stderr)).toBe(0);
  deepPrefix = path.join(tree, 'd', 'd', 'd');
});

afterAll(() => {
  fs.chmodSync(locked, 0o755);
  spawnSync('rm', ['-rf', dir]); // GNU rm walks any depth; fs.rmSync stops at PATH_MAX
});

describe('a tree with an unreadable directory, a 3000-deep nesting and a non-UTF-8 name', () => {
  it('check: one line per bad entry, every other module checked, exit 2', () => {
    const r = runAsUser(['check', '-b', base47, '-k', '6.1', '-f', 'json', tree]);
    expect(r.status).toBe(2);
    expect(r.ms).toBeLessThan(5000);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.startsWith(`btfcheck: ${deepPrefix}`) && l.endsWith(': file name too long'))).toBe(true);
    expect(lines).toContain(`btfcheck: ${locked}: cannot read directory: permission denied`);
    const doc = JSON.parse(Buffer.from(r.stdout, 'latin1').toString('utf8'));
    const byFile = new Map<string, string>(doc.modules.map((m: { file: string; status: string }) => [m.file, m.status]));
    expect(byFile.get(path.join(tree, 'ok', 'good.ko'))).toBe('accepted');
    // JSON carries the undecodable byte as \udcff (lib/fsname.ts), and the module was read.
    expect(byFile.get(path.join(tree, 'ok', 'bad\udcff.ko'))).toBe('rejected');
    expect(doc.summary).toMatchObject({ modules: 4, accepted: 1, rejected: 1, errors: 2 });
  });

  it('check text: the non-UTF-8 byte is printed escaped, the module is counted', () => {
    const r = runAsUser(['check', '-b', base47, '-k', '6.1', tree]);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain(`REJECTED 8250_lpss  (${path.join(tree, 'ok')}/bad\\xff.ko)`);
    expect(bytes(r.stdout).includes(0xff)).toBe(false);
    expect(r.stdout).toMatch(/summary: 4 modules: 1 accepted, 1 rejected, 0 without BTF, 2 errors/);
  });

  it('explain: the bad entries are error lines, the modules found are still diagnosed, exit 2', () => {
    const log = path.join(dir, 'boot.log');
    fs.writeFileSync(log, 'BPF: [94979] Invalid name_offset:1694074\nfailed to validate module [8250_lpss] BTF: -22\n');
    fs.chmodSync(log, 0o644);
    const r = runAsUser(['explain', log, '--base', base47, tree]);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(2);
    expect(r.stderr).toContain(`btfcheck: ${locked}: cannot read directory: permission denied`);
    expect(r.stdout).toContain(`module:  ${path.join(tree, 'ok')}/bad\\xff.ko`);
    expect(r.stdout).toMatch(/cause: {3}base-mismatch/);
  });

  it('abi: the module trees are walked per entry too', () => {
    const r = runAsUser(['abi', '--old', base47, '--new', sample('6.1.0-56-cloud-amd64', 'vmlinux.btf.xz'), '-k', '6.1', '--old-modules', tree]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`btfcheck: ${locked}: cannot read directory: permission denied`);
    expect(r.stdout).toMatch(/OLD's modules on NEW's kernel .*: 4 modules/);
  });

  it('stamp --manifest: records the readable modules (the non-UTF-8 one too), one line per bad entry, exit 2', () => {
    const manifest = path.join(dir, 'out');
    fs.mkdirSync(manifest, { recursive: true });
    fs.chmodSync(manifest, 0o777);
    const file = path.join(manifest, 'm.json');
    const r = runAsUser(['stamp', '--base', base47, '--force', '--manifest', file, tree]);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(2);
    expect(r.stderr).toContain(`btfcheck: ${locked}: cannot read directory: permission denied`);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(Object.keys(doc.modules).sort()).toEqual([path.join(tree, 'ok', 'bad\udcff.ko'), path.join(tree, 'ok', 'good.ko')].sort());
    expect(r.stdout).toContain(`recorded: ${path.join(tree, 'ok')}/bad\\xff.ko`);
  });
});

describe('--candidates directories are walked per entry too', () => {
  it('an unreadable subdirectory is one line and exit 2; the readable candidates are still used', () => {
    const cands = path.join(dir, 'cands');
    fs.mkdirSync(path.join(cands, 'sealed'), { recursive: true });
    fs.copyFileSync(base47, path.join(cands, 'vmlinux-47.btf.xz'));
    fs.copyFileSync(base47, path.join(cands, 'sealed', 'vmlinux-x.btf.xz'));
    fs.chmodSync(path.join(cands, 'sealed'), 0o000);
    try {
      const r = runAsUser(['check', '-b', sample('6.1.0-56-cloud-amd64', 'vmlinux.btf.xz'), '-k', '6.1', '--candidates', cands, '-f', 'json', good47]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`btfcheck: candidate ${path.join(cands, 'sealed')}: cannot read directory: permission denied\n`);
      expect(JSON.parse(r.stdout).modules[0].builtAgainst).toMatchObject({ file: path.join(cands, 'vmlinux-47.btf.xz') });
    } finally {
      fs.chmodSync(path.join(cands, 'sealed'), 0o755);
    }
  });
});

describe('walkModulePaths', () => {
  it('lists a non-UTF-8 name so that it opens again, and keeps byte order', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-walk-'));
    try {
      for (const name of [BAD_NAME, Buffer.from('a.ko'), Buffer.from('é.ko'), Buffer.from('z.ko')]) {
        fs.writeFileSync(Buffer.concat([Buffer.from(d + '/'), name]), 'x');
      }
      const entries = walkModulePaths([d]);
      expect(entries.map((e) => path.basename(e.file))).toEqual(['a.ko', 'bad\udcff.ko', 'z.ko', 'é.ko']);
      for (const e of entries) expect(e.error).toBeUndefined();
      expect(walkModulePaths([path.join(d, 'missing')])).toEqual([{ file: path.join(d, 'missing'), error: 'no such file or directory' }]);
    } finally {
      fs.rmSync(d, { recursive: true });
    }
  });
});

describe('file names as bytes (lib/fsname.ts)', () => {
  it('decoding then encoding gives back every byte string', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      expect(Buffer.from(encodeFileName(decodeFileName(b)))).toEqual(Buffer.from(b));
    }), { numRuns: 2000 });
  });
  it('valid UTF-8 decodes as usual, invalid bytes as U+DC80+byte', () => {
    expect(decodeFileName(Buffer.from('héllo 😀.ko'))).toBe('héllo 😀.ko');
    expect(decodeFileName(Uint8Array.from([0x61, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]))).toBe('a\udcff\udcc3(\udced\udca0\udc80');
  });
});
