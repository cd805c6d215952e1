/**
 * Replacing files safely when run as root in directories other users can write (a DKMS build
 * tree, a user's checkout): the new content goes to a temporary created with O_CREAT|O_EXCL|
 * O_NOFOLLOW beside the target (so no planted name, symlink or FIFO is ever opened), gets the
 * original's owner, mode and extended attributes, is synced and read back, and only then renamed
 * over the target, after checking that the target is still the regular file that was read.
 * rename(2) replaces a name, never writes through a symlink planted there meanwhile.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import nodePath from 'node:path';
import { InputError } from '../../lib/errors.js';
import { hasEscapedBytes } from '../../lib/fsname.js';
import { fsError, fsPath } from './files.js';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDWR, O_RDONLY, O_NONBLOCK, O_DIRECTORY } = fs.constants;

/** Our temporaries: `.<target name>.btfcheck-<pid>-<random>.tmp`, so stale ones can be told apart. */
const TEMP_PATTERN = /^\.(.+)\.btfcheck-(\d+)-[0-9a-f]{12}\.tmp$/;

export function temporaryNameFor(target: string): string {
  return nodePath.join(nodePath.dirname(target), `.${nodePath.basename(target)}.btfcheck-${process.pid}-${(createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).randomBytes(6).toString('hex')}.tmp`);
}

/** What a file is, for a one-line refusal ("not a regular file (a FIFO)"). */
export function describeFileType(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Opens a file that is about to be rewritten: no symlink (O_NOFOLLOW), no FIFO or device
 * (O_NONBLOCK, so opening a FIFO cannot block, then fstat). Returns the descriptor and its stat;
 * the caller reads through the descriptor, so what is read is what was checked.
 */
export function openForRewrite(path: string): { fd: number; stat: fs.Stats } {
  let fd: number;
  try {
    fd = fs.openSync(fsPath(path), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new InputError('is a symbolic link: refusing to write through it (name the file it points to)');
    throw fsError(e);
  }
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    fs.closeSync(fd);
    throw new InputError(`not a regular file (${describeFileType(stat)})`);
  }
  return { fd, stat };
}

/** Removes temporaries of ours for `target` left by processes that no longer run (killed stamps). */
export function removeStaleTemporaries(target: string): void {
  const dir = nodePath.dirname(target);
  const name = nodePath.basename(target);
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = TEMP_PATTERN.exec(entry);
    if (!m || m[1] !== name) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    // unlink never follows a symlink: a planted link of our naming is removed, not its target.
    try { fs.unlinkSync(nodePath.join(dir, entry)); } catch { /* gone already, or not ours to remove */ }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Extended attributes (security.ima, security.selinux, user.*), loaded only when a file is replaced. */
interface XattrApi {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
  setAttributeSync(path: string, name: string, value: Uint8Array): void;
}
let xattrApi: XattrApi | null | undefined;
async function loadXattr(): Promise<XattrApi | null> {
  if (xattrApi === undefined) {
    try {
      xattrApi = (await import('@napi-rs/xattr')) as unknown as XattrApi;
    } catch {
      xattrApi = null;
    }
  }
  return xattrApi;
}

/** Copies every extended attribute; @napi-rs/xattr uses the l*xattr calls, so links are not followed. */
function copyXattrs(api: XattrApi | null, from: string, to: string): void {
  // The xattr binding takes paths as UTF-8 strings only: it would look at another name.
  if (api && (hasEscapedBytes(from) || hasEscapedBytes(to))) throw new InputError('cannot keep its extended attributes: the file name is not UTF-8 (rename it to stamp it)');
  let names: string[];
  try {
    names = api ? api.listAttributesSync(from) : [];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (/ENOTSUP|EOPNOTSUPP/.test(code) || /not supported/i.test(String((e as Error).message))) return;
    throw new InputError(`cannot read the extended attributes: ${(e as Error).message}`);
  }
  if (!api && names.length) throw new InputError('cannot copy extended attributes here');
  for (const n of names) {
    const value = api!.getAttributeSync(from, n);
    if (value === null) continue;
    try {
      api!.setAttributeSync(to, n, value);
    } catch (e) {
      throw new InputError(`cannot keep extended attribute ${n}: ${(e as Error).message}`);
    }
  }
}

export interface ReplaceOptions {
  /**
   * The target's stat as read (from openForRewrite): its owner, mode and xattrs are kept, and the
   * rename happens only if the name still holds that same file. Omitted: the target is new or a
   * file of our own (a manifest); it must then not exist or be a regular file, and the new file
   * gets `mode` (default 0644 less the umask).
   */
  original?: fs.Stats;
  mode?: number;
  /** Allow replacing a file with more than one hard link (the other names keep the old content). */
  breakHardLinks?: boolean;
  /** Called with what was read back from the synced temporary; throws if it is not right. */
  verify?(written: Uint8Array): void;
}

/** Writes `data` to `target` by temporary + fsync + rename; nothing is left behind on failure. */
export async function replaceFile(target: string, data: Uint8Array, opts: ReplaceOptions = {}): Promise<void> {
  const { original } = opts;
  if (original && original.nlink > 1 && !opts.breakHardLinks) {
    throw new InputError(`has ${original.nlink} hard links: replacing it would leave the other names with the old content (--break-hardlinks to do so anyway)`);
  }
  let existing: fs.Stats | undefined;
  if (!original) {
    try {
      existing = fs.lstatSync(fsPath(target));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e);
    }
    if (existing && !existing.isFile()) throw new InputError(`exists and is ${describeFileType(existing)}: refusing to replace it`);
  }
  const keep = original ?? existing;
  const xattr = keep ? await loadXattr() : null;
  removeStaleTemporaries(target);
  const tmp = temporaryNameFor(target);
  const fd = createExclusive(tmp);
  let renamed = false;
  try {
    writeAll(fd, data);
    if (keep) {
      try {
        fs.fchownSync(fd, keep.uid, keep.gid);
      } catch (e) {
        throw fsError(e, `cannot keep the owner ${keep.uid}:${keep.gid}`);
      }
      // After chown, which clears set-id bits.
      fs.fchmodSync(fd, keep.mode & 0o7777);
      copyXattrs(xattr, target, tmp);
    } else {
      fs.fchmodSync(fd, (opts.mode ?? 0o644) & ~process.umask());
    }
    fs.fsyncSync(fd);
    if (opts.verify) opts.verify(readBack(fd, data.length));
    // The name must still hold the file that was read (or nothing, or a regular file, for a new one).
    let now: fs.Stats | undefined;
    try {
      now = fs.lstatSync(fsPath(target));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || original) throw fsError(e, 'changed while being stamped');
    }
    if (original && (!now || !now.isFile() || now.ino !== original.ino || now.dev !== original.dev)) {
      throw new InputError('was replaced by another file while being stamped: left alone');
    }
    if (!original && now && !now.isFile()) throw new InputError(`became ${describeFileType(now)} meanwhile: refusing to replace it`);
    fs.renameSync(fsPath(tmp), fsPath(target));
    renamed = true;
    syncDirectory(nodePath.dirname(target));
  } finally {
    fs.closeSync(fd);
    if (!renamed) {
      try { fs.unlinkSync(fsPath(tmp)); } catch { /* already gone */ }
    }
  }
}

/**
 * Creates `path` as a new file for writing: O_EXCL makes open fail on any existing name (a file,
 * a FIFO, a symlink, dangling or not), so nothing planted there is opened or written through.
 */
export function createExclusive(path: string): number {
  try {
    return fs.openSync(fsPath(path), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(`cannot create ${nodePath.basename(path)}: the name exists already`);
    throw fsError(e, `cannot create a temporary file in ${nodePath.dirname(path)}`);
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, done);
}

function readBack(fd: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, length - done, done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(fsPath(dir), O_RDONLY | O_DIRECTORY);
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
