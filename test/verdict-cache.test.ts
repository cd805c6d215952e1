/**
 * The kept verdict of a base's boot-time parse (cmd/io/verdict-cache.ts): the same report with and
 * without it, entries only in a directory of ours, never read through a symlink or from a
 * directory others can write, and a kept verdict is what the next run uses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, sample } from './helpers/cli.js';

const base = sample('7.2.13+deb14-cloud-amd64', 'vmlinux.btf.xz');
const mod = sample('7.2.13+deb14-cloud-amd64', 'usr', 'lib', 'modules', '7.2.13+deb14-cloud-amd64', 'kernel', 'drivers', 'md', 'dm-switch.ko.xz');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-cache-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function check(env: Record<string, string>) {
  const r = runCli(['check', '--base', base, '--kernel', '7.2.13', '--format', 'json', mod], { env: { ...process.env, ...env } });
  expect(r.stderr).toBe('');
  return { status: r.status, doc: JSON.parse(r.stdout) as { kernel: { vmlinux: unknown } } };
}

const entries = (dir: string, kind = 'vmlinux-parse-'): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith(kind) && n.endsWith('.json')) : []);

describe('the boot-time parse verdict kept between runs', () => {
  const dir = path.join(scratch, 'c');
  const env = { BTFCHECK_CACHE_DIR: dir };
  const plain = check({ BTFCHECK_CACHE: 'off', BTFCHECK_CACHE_DIR: dir });

  it('is off with BTFCHECK_CACHE=off; otherwise one entry, in a directory only we can use, and the same report', () => {
    expect(entries(dir)).toEqual([]);
    expect(plain.doc.kernel.vmlinux).toBeNull();
    const first = check(env);
    expect(first).toEqual(plain);
    expect(entries(dir)).toHaveLength(1);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, entries(dir)[0])).mode & 0o777).toBe(0o600);
    expect(check(env)).toEqual(plain);
    // The verdict and the base file's digest; no temporaries left.
    expect(fs.readdirSync(dir).sort()).toEqual([...entries(dir, 'base-sha256-'), ...entries(dir)].sort());
    expect(entries(dir, 'base-sha256-')).toHaveLength(1);
  });

  it('a kept verdict is used; one behind a symlink, naming another key, or in a directory others can write is not', () => {
    const entry = path.join(dir, entries(dir)[0]);
    const kept = JSON.parse(fs.readFileSync(entry, 'utf8')) as { key: string };
    const rejecting = JSON.stringify({ key: kept.key, errno: -22, log: ['BPF: planted'] });
    fs.writeFileSync(entry, rejecting);
    expect(check(env).doc.kernel.vmlinux).toEqual({ errno: -22, log: ['BPF: planted'] });

    fs.writeFileSync(entry, JSON.stringify({ key: `${kept.key}x`, errno: -22, log: [] }));
    expect(check(env)).toEqual(plain); // and rewritten with the right verdict
    expect(JSON.parse(fs.readFileSync(entry, 'utf8'))).toEqual({ key: kept.key, errno: 0, log: [] });

    const elsewhere = path.join(scratch, 'planted.json');
    fs.writeFileSync(elsewhere, rejecting);
    fs.rmSync(entry);
    fs.symlinkSync(elsewhere, entry);
    expect(check(env)).toEqual(plain);
    expect(fs.lstatSync(entry).isSymbolicLink()).toBe(false); // replaced by rename, not written through
    expect(fs.readFileSync(elsewhere, 'utf8')).toBe(rejecting);

    fs.writeFileSync(entry, rejecting);
    fs.chmodSync(dir, 0o777);
    try {
      expect(check(env)).toEqual(plain);
      expect(fs.readFileSync(entry, 'utf8')).toBe(rejecting); // nothing written there either
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  });

  it('creates nothing under a directory that is not ours (root with a user\'s HOME)', (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip(); // needs chown
    const home = path.join(scratch, 'home-of-someone');
    fs.mkdirSync(home);
    fs.chownSync(home, 65534, 65534);
    expect(check({ BTFCHECK_CACHE_DIR: '', XDG_CACHE_HOME: '', HOME: home })).toEqual(plain);
    expect(fs.readdirSync(home)).toEqual([]);
  });
});

describe('the base file\'s digest recorded by its identity', () => {
  const dir = path.join(scratch, 'id');
  const env = { BTFCHECK_CACHE_DIR: dir };
  const copy = path.join(scratch, 'base-copy.btf.xz');
  const sha = (r: { doc: unknown }) => (r.doc as { base: { sha256: string } }).base.sha256;
  const checkCopy = () => {
    const r = runCli(['check', '--base', copy, '--kernel', '7.2.13', '--format', 'json', mod], { env: { ...process.env, ...env } });
    expect(r.stderr).toBe('');
    return { doc: JSON.parse(r.stdout) as unknown };
  };
  const settle = (file: string) => {
    // As if written a minute ago: recorded only once unchanged for a while.
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(file, past, past);
  };

  it('is not recorded for a file changed just now; is recorded and used once it has settled', async () => {
    fs.copyFileSync(base, copy);
    const real = sha(checkCopy());
    expect(entries(dir, 'base-sha256-')).toEqual([]); // ctime is now: not settled
    await new Promise((r) => setTimeout(r, 2100));
    expect(sha(checkCopy())).toBe(real);
    const [entry] = entries(dir, 'base-sha256-');
    expect(entry).toBeDefined();
    const kept = JSON.parse(fs.readFileSync(path.join(dir, entry), 'utf8')) as { key: string; sha256: string };
    expect(kept.sha256).toBe(real);
    // Used: a planted digest under the same identity is what the next run reports.
    const planted = 'f'.repeat(64);
    fs.writeFileSync(path.join(dir, entry), JSON.stringify({ key: kept.key, sha256: planted }));
    expect(sha(checkCopy())).toBe(planted);
    // Not a digest, or another key: ignored (and the entry written again).
    for (const doc of [{ key: kept.key, sha256: 'not hex' }, { key: `${kept.key}x`, sha256: planted }]) {
      fs.writeFileSync(path.join(dir, entry), JSON.stringify(doc));
      expect(sha(checkCopy())).toBe(real);
      expect(JSON.parse(fs.readFileSync(path.join(dir, entry), 'utf8'))).toEqual(kept);
    }
    // Any change of the file (here its times, which also sets its change time) is a new identity: hashed again.
    fs.writeFileSync(path.join(dir, entry), JSON.stringify({ key: kept.key, sha256: planted }));
    settle(copy);
    expect(sha(checkCopy())).toBe(real);
  }, 20_000);
});
