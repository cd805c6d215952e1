/**
 * `stamp` run as root in directories an attacker can write: planted temporaries (symlinks to a
 * victim, FIFOs), directory and file symlinks, a manifest named like its input, hard links, FIFOs
 * as modules, and kills at random moments. Nothing outside the intended file may change, the
 * module is always either the original or completely stamped, and owner, mode and xattrs stay.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExclusive, replaceFile } from '../cmd/io/safe-write.js';
import { readStoredChecksum } from '../lib/checksum/index.js';
import { readElf } from '../lib/elf/sections.js';
import { memorySource } from '../lib/source.js';
import { cliPath, repoRoot, runCli, sample } from './helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-stamp-safety-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const moduleSrc = sample('6.1.0-47-cloud-amd64', 'lib/modules/6.1.0-47-cloud-amd64/kernel/lib/math/cordic.ko');
const isRoot = process.getuid?.() === 0;

let n = 0;
function freshDir(): string {
  const d = path.join(tmp, `case-${n++}`);
  fs.mkdirSync(d);
  return d;
}

function stamped(file: string): boolean {
  const bytes = new Uint8Array(fs.readFileSync(file));
  return readStoredChecksum(readElf(memorySource(bytes)), memorySource(bytes))?.types === 94976;
}

function mkfifo(p: string): void {
  execFileSync('mkfifo', [p]);
}

describe('safe-write primitives', () => {
  it('createExclusive refuses a planted symlink (even dangling) and a FIFO, without touching or waiting on them', () => {
    const d = freshDir();
    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(d, 'to-victim'));
    fs.symlinkSync(path.join(d, 'nowhere'), path.join(d, 'dangling'));
    mkfifo(path.join(d, 'fifo'));
    for (const name of ['to-victim', 'dangling', 'fifo']) {
      const started = Date.now();
      expect(() => createExclusive(path.join(d, name))).toThrow(/exists already/);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.existsSync(path.join(d, 'nowhere'))).toBe(false);
  });

  it('replaceFile refuses a target that is a symlink or not a regular file, and leaves no temporary', async () => {
    const d = freshDir();
    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(d, 'manifest.json'));
    await expect(replaceFile(path.join(d, 'manifest.json'), new TextEncoder().encode('{}'))).rejects.toThrow(/symbolic link/);
    mkfifo(path.join(d, 'fifo.json'));
    await expect(replaceFile(path.join(d, 'fifo.json'), new TextEncoder().encode('{}'))).rejects.toThrow(/FIFO/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.readdirSync(d).sort()).toEqual(['fifo.json', 'manifest.json', 'victim']);
  });

  it('replaceFile keeps owner, mode and extended attributes, and removes stale temporaries of dead processes', async () => {
    const d = freshDir();
    const f = path.join(d, 'file');
    fs.writeFileSync(f, 'old');
    fs.chmodSync(f, 0o2640);
    if (isRoot) fs.chownSync(f, 1234, 2345);
    setXattr(f, 'user.btfcheck', 'kept');
    // A temporary of ours from a killed run (pid 2^22+1 is above Linux's pid_max default).
    const stale = path.join(d, `.file.btfcheck-4194305-0123456789ab.tmp`);
    fs.writeFileSync(stale, 'half');
    const before = fs.statSync(f);
    await replaceFile(f, new TextEncoder().encode('new'), { original: before });
    const after = fs.statSync(f);
    expect(fs.readFileSync(f, 'utf8')).toBe('new');
    expect(after.mode & 0o7777).toBe(0o2640);
    expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
    expect(getXattr(f, 'user.btfcheck')).toBe('kept');
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readdirSync(d)).toEqual(['file']);
  });
});

function setXattr(file: string, name: string, value: string): void {
  // setfattr may be missing; the library under test is the same one stamp uses.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const x = requireXattr();
  x.setAttributeSync(file, name, Buffer.from(value));
}
function getXattr(file: string, name: string): string | null {
  const v = requireXattr().getAttributeSync(file, name);
  return v === null ? null : v.toString();
}
function requireXattr(): { setAttributeSync(p: string, n: string, v: Uint8Array): void; getAttributeSync(p: string, n: string): Buffer | null } {
  return xattrModule;
}
const xattrModule = await import('@napi-rs/xattr');

describe('btfcheck stamp on hostile trees', () => {
  it('planted symlinks and FIFOs at the old temporary names change nothing outside the module, and it does not hang', () => {
    const d = freshDir();
    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, 'precious');
    const file = path.join(d, 'm.ko');
    fs.copyFileSync(moduleSrc, file);
    // Names of the earlier releases (.<name>.btfcheck-<pid>) for the next pids, and a FIFO.
    const nextPid = Number(fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8')) + 1;
    for (let pid = nextPid; pid < nextPid + 64; pid++) fs.symlinkSync(victim, path.join(d, `.m.ko.btfcheck-${pid}`));
    mkfifo(path.join(d, `.m.ko.btfcheck-${nextPid + 64}`));
    const started = Date.now();
    const r = runCli(['stamp', '--strip-signature', '--base', base, file], { timeout: 20_000 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(stamped(file)).toBe(true);
    expect(fs.lstatSync(file).isFile()).toBe(true);
  });

  it('does not follow directory or file symlinks out of the given tree; an explicit symlink is refused', () => {
    const d = freshDir();
    const outside = path.join(d, 'outside');
    fs.mkdirSync(outside);
    fs.copyFileSync(moduleSrc, path.join(outside, 'far.ko'));
    const tree = path.join(d, 'tree');
    fs.mkdirSync(tree);
    fs.copyFileSync(moduleSrc, path.join(tree, 'own.ko'));
    fs.symlinkSync(outside, path.join(tree, 'linked-dir'));
    fs.symlinkSync(path.join(outside, 'far.ko'), path.join(tree, 'linked.ko'));
    const original = fs.readFileSync(moduleSrc);
    const r = runCli(['stamp', '--strip-signature', '--base', base, tree]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`skipped: ${path.join(tree, 'linked-dir')}: symbolic link: not followed`);
    expect(r.stdout).toContain(`skipped: ${path.join(tree, 'linked.ko')}: symbolic link: not followed`);
    expect(stamped(path.join(tree, 'own.ko'))).toBe(true);
    expect(fs.readFileSync(path.join(outside, 'far.ko'))).toEqual(original);
    expect(fs.lstatSync(path.join(tree, 'linked.ko')).isSymbolicLink()).toBe(true);

    const explicit = runCli(['stamp', '--strip-signature', '--base', base, path.join(tree, 'linked.ko')]);
    expect(explicit.status).toBe(2);
    expect(explicit.stderr.trim().split('\n')).toEqual([`btfcheck: ${path.join(tree, 'linked.ko')}: is a symbolic link: refusing to write through it (name the file it points to)`]);
    expect(fs.readFileSync(path.join(outside, 'far.ko'))).toEqual(original);
  });

  it('refuses a manifest that is one of its modules, or a symlink, and writes a new one whole', () => {
    const d = freshDir();
    const file = path.join(d, 'm.ko');
    fs.copyFileSync(moduleSrc, file);
    const original = fs.readFileSync(file);
    const same = runCli(['stamp', '--base', base, '--manifest', file, file]);
    expect(same.status).toBe(2);
    expect(same.stderr).toContain('the manifest would replace it');
    expect(fs.readFileSync(file)).toEqual(original);

    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(d, 'm.json'));
    const linked = runCli(['stamp', '--base', base, '--manifest', path.join(d, 'm.json'), file]);
    expect(linked.status).toBe(2);
    expect(linked.stderr).toMatch(/m\.json: .*symbolic link/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');

    const good = runCli(['stamp', '--base', base, '--manifest', path.join(d, 'new.json'), file]);
    expect(good.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(d, 'new.json'), 'utf8')).modules[file].types).toBe(94976);
  });

  it('refuses hard-linked modules unless --break-hardlinks, and a FIFO module is one line while the next file is stamped', () => {
    const d = freshDir();
    const file = path.join(d, 'a.ko');
    fs.copyFileSync(moduleSrc, file);
    fs.linkSync(file, path.join(d, 'b-link.ko.keep'));
    mkfifo(path.join(d, 'fifo.ko'));
    const other = path.join(d, 'z.ko');
    fs.copyFileSync(moduleSrc, other);
    const started = Date.now();
    const r = runCli(['stamp', '--strip-signature', '--base', base, file, path.join(d, 'fifo.ko'), other], { timeout: 20_000 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/a\.ko: has 2 hard links: .*--break-hardlinks/),
      `btfcheck: ${path.join(d, 'fifo.ko')}: not a regular file (a FIFO)`,
    ]);
    expect(stamped(other)).toBe(true);
    expect(stamped(file)).toBe(false);
    const forced = runCli(['stamp', '--strip-signature', '--break-hardlinks', '--base', base, file]);
    expect(forced.status).toBe(0);
    expect(stamped(file)).toBe(true);
    expect(stamped(path.join(d, 'b-link.ko.keep'))).toBe(false);
  });

  it('killed at 30 random moments: the module is the original or completely stamped, with owner, mode and xattrs', async () => {
    const d = freshDir();
    const file = path.join(d, 'm.ko');
    const original = fs.readFileSync(moduleSrc);
    // The fully stamped bytes, from an uninterrupted run on a copy.
    const ref = path.join(freshDir(), 'm.ko');
    fs.copyFileSync(moduleSrc, ref);
    expect(runCli(['stamp', '--strip-signature', '--base', base, ref]).status).toBe(0);
    const full = fs.readFileSync(ref);
    const seen = { original: 0, stamped: 0 };
    for (let i = 0; i < 30; i++) {
      fs.rmSync(file, { force: true });
      fs.writeFileSync(file, original);
      fs.chmodSync(file, 0o640);
      if (isRoot) fs.chownSync(file, 4321, 5432);
      setXattr(file, 'user.btfcheck', `run-${i}`);
      const before = fs.statSync(file);
      const child = spawn(process.execPath, [cliPath, 'stamp', '--strip-signature', '--base', base, file], { cwd: repoRoot, stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      // Most of a run is loading the base; the write happens near its end.
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.random() * 400));
      child.kill('SIGKILL');
      await exited;
      const now = fs.readFileSync(file);
      const isOriginal = now.equals(original);
      expect(isOriginal || now.equals(full)).toBe(true);
      seen[isOriginal ? 'original' : 'stamped']++;
      const st = fs.statSync(file);
      expect(st.mode & 0o7777).toBe(0o640);
      expect([st.uid, st.gid]).toEqual([before.uid, before.gid]);
      expect(getXattr(file, 'user.btfcheck')).toBe(`run-${i}`);
      // Stale temporaries may remain after a kill; the next run removes them.
    }
    // The next run cleans what the killed ones left.
    fs.rmSync(file);
    fs.writeFileSync(file, original);
    expect(runCli(['stamp', '--strip-signature', '--base', base, file]).status).toBe(0);
    expect(fs.readdirSync(d)).toEqual(['m.ko']);
    expect(seen.original + seen.stamped).toBe(30);
  }, 120_000);
});
