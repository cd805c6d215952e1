/**
 * The kernel's boot-time parse of a base's own BTF (emulateVmlinuxParse: every type's checks, the
 * largest part of a one-module check) depends only on the base's bytes, the kernel version and
 * --rule switches, and btfcheck's own code. Its verdict is kept in a small file per (base SHA-256,
 * version, switches, build), so the next check against the same base reads it instead of
 * re-walking ~100k types.
 *
 * Where: $BTFCHECK_CACHE_DIR, else $XDG_CACHE_HOME/btfcheck, else ~/.cache/btfcheck;
 * BTFCHECK_CACHE=off turns it off. Only the bundled command line caches (its build carries a
 * fingerprint of the sources, so a changed checker never reads an old verdict); from sources
 * (tsx, tests of lib/) every parse is done.
 *
 * Only bases of 1 MiB or more (parsing a small one costs little); at most 64 entries are kept.
 *
 * The same directory records each base file's SHA-256 by the file's identity (device, inode, size,
 * modification and change times to the nanosecond): a hook checking one module then neither hashes
 * the base (3 ms) nor loads node:crypto to do so (4 ms). The change time cannot be set back by a
 * write, so a file that changed is a new identity; only files unchanged for 2 s are recorded (a
 * write within one timestamp tick of the hash must not go unseen), and the identity is the open
 * file's the bytes were read from, which the path must still name after reading (else: hashed,
 * neither looked up nor recorded).
 *
 * Safe as root in a shared machine: the directory must be ours (owner = our uid, no group/other
 * write, not a symlink) and is created only under a directory of ours (never a root-owned ~/.cache
 * in a user's home under sudo), an entry is opened with O_NOFOLLOW|O_NONBLOCK, must be a regular
 * file owned by us of at most 1 MiB and must name the exact key it answers; new entries are written to
 * an O_CREAT|O_EXCL|O_NOFOLLOW temporary (mode 0600) and renamed into place. Anything unexpected
 * means no cache: the parse is done, nothing is reported.
 */
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { createExclusive, temporaryNameFor } from './safe-write.js';

/** Set by scripts/bundle.mjs: a hash of the sources the verdict depends on. */
declare const __BTFCHECK_BUILD__: string | undefined;

const ENTRY_MAX = 1 << 20;
/** Entries kept: past this, the least recently written go (fuzzing writes one per base). */
const ENTRIES_KEPT = 64;
/** Bases smaller than this are parsed every time (the parse is cheap; real bases are 4-6 MiB). */
export const CACHED_BASE_MIN = 1 << 20;
/** Our entries, past and present names (pruned alike). */
const ENTRY_PATTERN = /^(vmlinux-parse|base-sha256)-[0-9a-f]{16,40}\.json$/;
/** Files changed more recently than this are not recorded by identity. */
const SETTLED_NS = 2_000_000_000n;

export interface BootParseVerdict {
  errno: number;
  log: string[];
}

function buildId(): string | undefined {
  return typeof __BTFCHECK_BUILD__ === 'string' ? __BTFCHECK_BUILD__ : undefined;
}

function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (/^(off|0|no|false)$/i.test(env.BTFCHECK_CACHE ?? '')) return undefined;
  if (env.BTFCHECK_CACHE_DIR) return nodePath.resolve(env.BTFCHECK_CACHE_DIR);
  if (env.XDG_CACHE_HOME && nodePath.isAbsolute(env.XDG_CACHE_HOME)) return nodePath.join(env.XDG_CACHE_HOME, 'btfcheck');
  let home = env.HOME;
  if (!home) {
    try {
      home = os.homedir();
    } catch {
      return undefined;
    }
  }
  return home && nodePath.isAbsolute(home) ? nodePath.join(home, '.cache', 'btfcheck') : undefined;
}

/** Our own directory, not writable by others, not a symlink. */
function dirIsOurs(dir: string): boolean {
  try {
    const st = fs.lstatSync(dir);
    const uid = process.getuid?.();
    return st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Whether the nearest existing ancestor of `dir` belongs to us (where mkdir -p would start). */
function nearestExistingIsOurs(dir: string): boolean {
  const uid = process.getuid?.();
  for (let d = nodePath.dirname(dir); ; d = nodePath.dirname(d)) {
    try {
      const st = fs.statSync(d);
      return uid === undefined || st.uid === uid;
    } catch {
      if (nodePath.dirname(d) === d) return false;
    }
  }
}

function keyOf(build: string, sha256: string, version: string, rules: Readonly<Record<string, boolean>>): string {
  const switches = Object.keys(rules).sort().map((k) => `${k}=${rules[k] ? 'on' : 'off'}`).join(',');
  return `vmlinux-parse 1\n${build}\n${sha256}\n${version}\n${switches}`;
}

/**
 * An entry's file name: `kind-` and 64 bits of FNV-1a (two lanes) of its key. The entry holds its
 * whole key, checked on every read, so a name shared by two keys costs a miss, nothing else, and
 * finding an entry needs no node:crypto.
 */
function entryName(kind: string, key: string): string {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 13);
  }
  return `${kind}-${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}.json`;
}

function readEntry<T>(file: string, key: string, valid: (doc: Record<string, unknown>) => T | undefined): T | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || st.size > ENTRY_MAX) return undefined;
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    const doc = JSON.parse(buf.subarray(0, got).toString('utf8')) as unknown;
    if (!doc || typeof doc !== 'object') return undefined;
    if ((doc as Record<string, unknown>).key !== key) return undefined;
    return valid(doc as Record<string, unknown>);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

function writeEntry(dir: string, file: string, doc: { key: string } & Record<string, unknown>): void {
  const text = JSON.stringify(doc);
  if (Buffer.byteLength(text) > ENTRY_MAX) return;
  // Nothing is created under a directory that is not ours: root run with a user's HOME (sudo
  // without -H) must not leave a root-owned ~/.cache in that user's home.
  if (!fs.existsSync(dir) && !nearestExistingIsOurs(dir)) return;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return;
  }
  if (!dirIsOurs(dir)) return;
  // stamp's temporaries: a random name beside the target, created O_EXCL|O_NOFOLLOW, mode 0600.
  const temp = temporaryNameFor(file);
  let fd: number | undefined;
  try {
    fd = createExclusive(temp);
    fs.writeSync(fd, text);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
    prune(dir);
  } catch {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already closed */ }
    }
    try { fs.unlinkSync(temp); } catch { /* not created, or renamed */ }
  }
}

/** Removes the oldest entries past ENTRIES_KEPT (unlink never follows a symlink). */
function prune(dir: string): void {
  const names = fs.readdirSync(dir).filter((n) => ENTRY_PATTERN.test(n));
  if (names.length <= ENTRIES_KEPT) return;
  const dated = names.map((n) => {
    try {
      return { n, t: fs.lstatSync(nodePath.join(dir, n)).mtimeMs };
    } catch {
      return { n, t: 0 };
    }
  }).sort((a, b) => a.t - b.t);
  for (const { n } of dated.slice(0, dated.length - ENTRIES_KEPT)) {
    try { fs.unlinkSync(nodePath.join(dir, n)); } catch { /* gone already */ }
  }
}

/**
 * The verdict of `parse()` for this base and rule set, from the cache when it holds it, else
 * computed and stored. `sha256` is the SHA-256 of the base's raw BTF.
 */
export function cachedBootParse(
  base: { sha256: string; size: number }, version: string, rules: Readonly<Record<string, boolean>>, parse: () => BootParseVerdict,
): BootParseVerdict {
  const { sha256 } = base;
  const build = buildId();
  const dir = build && base.size >= CACHED_BASE_MIN ? cacheDir() : undefined;
  if (!build || !dir || !/^[0-9a-f]{64}$/.test(sha256)) return parse();
  const key = keyOf(build, sha256, version, rules);
  const file = nodePath.join(dir, entryName('vmlinux-parse', key));
  if (dirIsOurs(dir)) {
    const hit = readEntry(file, key, ({ errno, log }) =>
      Number.isInteger(errno) && Array.isArray(log) && log.every((l) => typeof l === 'string') ? { errno: errno as number, log: log as string[] } : undefined);
    if (hit) return hit;
  }
  const verdict = parse();
  writeEntry(dir, file, { key, errno: verdict.errno, log: verdict.log });
  return verdict;
}

/** A file version: what its SHA-256 is recorded under. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/**
 * The identity of a regular file: open (`fd`, the descriptor its bytes are read through) or at
 * `path` (following symlinks, as opening it does); undefined for anything else.
 */
export function fileIdentity(file: number | string | Buffer): FileIdentity | undefined {
  try {
    const st = typeof file === 'number' ? fs.fstatSync(file, { bigint: true }) : fs.statSync(file, { bigint: true });
    return st.isFile() ? { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs } : undefined;
  } catch {
    return undefined;
  }
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

function identityKey(build: string, id: FileIdentity): string {
  return `base-sha256 1\n${build}\n${id.dev}\n${id.ino}\n${id.size}\n${id.mtimeNs}\n${id.ctimeNs}`;
}

/**
 * The SHA-256 of the base BTF read from the file of identity `id` (taken from the descriptor the
 * bytes were read through, before reading): recorded, else `hash()`, which is recorded when the file
 * has been unchanged for a while. `unchanged` says whether the file at the path still has that
 * identity after reading (else the bytes may be another version's, or another file's if the path
 * was switched meanwhile: hashed, neither looked up nor recorded).
 */
export function baseSha256(id: FileIdentity | undefined, unchanged: boolean, size: number, hash: () => string): string {
  const build = buildId();
  const dir = build && id && unchanged && size >= CACHED_BASE_MIN ? cacheDir() : undefined;
  if (!build || !id || !dir) return hash();
  const key = identityKey(build, id);
  const file = nodePath.join(dir, entryName('base-sha256', key));
  if (dirIsOurs(dir)) {
    const hit = readEntry(file, key, ({ sha256 }) => (typeof sha256 === 'string' && /^[0-9a-f]{64}$/.test(sha256) ? sha256 : undefined));
    if (hit) return hit;
  }
  const sha256 = hash();
  const now = BigInt(Date.now()) * 1_000_000n;
  if (now - id.ctimeNs > SETTLED_NS && now - id.mtimeNs > SETTLED_NS) writeEntry(dir, file, { key, sha256 });
  return sha256;
}
