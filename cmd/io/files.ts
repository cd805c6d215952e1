/**
 * Files as ByteSources: a plain .ko or vmlinux is read piecemeal (ELF header, section table,
 * the few sections btfcheck needs), never whole; compressed files are read whole, after a size check.
 */
import fs from 'node:fs';
import { InputError } from '../../lib/errors.js';
import { ByteSource } from '../../lib/source.js';
import { formatSize } from '../../lib/compress/index.js';
import { encodeFileName, hasEscapedBytes } from '../../lib/fsname.js';

/**
 * The path to hand to fs: the string itself, or its bytes when it holds a file name that is not
 * UTF-8 (read from a directory by cmd/io/paths.ts, decoded by lib/fsname.ts).
 */
export function fsPath(p: string): string | Buffer {
  if (!hasEscapedBytes(p)) return p;
  const bytes = encodeFileName(p);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Opens a file for reading, refusing anything but a regular file (sysfs and procfs files such as
 * /sys/kernel/btf/vmlinux are regular). O_NONBLOCK: opening a FIFO must not wait for a writer.
 */
export function openRegular(path: string): number {
  let fd: number;
  try {
    fd = fs.openSync(fsPath(path), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw fsError(e);
  }
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    throw fsError(e);
  }
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new InputError(st.isDirectory() ? 'is a directory' : `not a regular file (${fileKind(st)})`);
  }
  return fd;
}

function fileKind(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a file';
}

/** Limits for the small text inputs (a kernel .config, a manifest, Module.symvers, a log). */
export const TEXT_INPUT_MAX = 64 << 20;

/** A small text file read whole within `max` (default TEXT_INPUT_MAX), as Latin-1 or UTF-8. */
export function readTextFile(path: string, encoding: 'latin1' | 'utf8', max = TEXT_INPUT_MAX): string {
  const bytes = readWholeFile(path, max);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding);
}

/** A file opened for random access. Close it when done (loaders do so in `finally`). */
export interface FileSource extends ByteSource {
  readonly path: string;
  /** The open descriptor (reads of the whole file, and its identity, come from this one file). */
  readonly fd: number;
  /** Bytes read so far: lets tests prove that a .ko is not read whole. */
  readonly bytesRead: number;
  close(): void;
}

/** An fs error as a one-line InputError ("no such file or directory", "permission denied", ...). */
export function fsError(e: unknown, doing = ''): InputError {
  const err = e as NodeJS.ErrnoException;
  const messages: Record<string, string> = {
    ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'permission denied',
    EISDIR: 'is a directory', ENOTDIR: 'a path component is not a directory', ELOOP: 'too many levels of symbolic links',
    EMFILE: 'too many open files', EIO: 'input/output error', ENAMETOOLONG: 'file name too long',
  };
  const what = (err && err.code && messages[err.code]) ?? (err instanceof Error ? err.message : String(e));
  return new InputError(doing ? `${doing}: ${what}` : what);
}

/**
 * Opens `path` for piecemeal reads. `maxRead` caps a single read: a section header may claim a
 * huge section inside a sparse file, and each read allocates its length.
 */
export function openFileSource(path: string, maxRead = Number.MAX_SAFE_INTEGER): FileSource {
  const fd = openRegular(path);
  const size = fs.fstatSync(fd).size;
  let bytesRead = 0;
  let open = true;
  return {
    path,
    fd,
    size,
    get bytesRead() { return bytesRead; },
    read(offset: number, length: number): Uint8Array {
      if (length > maxRead) throw new InputError(`refusing to read ${formatSize(length)} at offset ${offset}: over the ${formatSize(maxRead)} limit`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        let n: number;
        try {
          n = fs.readSync(fd, out, done, length - done, offset + done);
        } catch (e) {
          throw fsError(e, 'read failed');
        }
        if (n === 0) throw new InputError(`file ended at ${offset + done} bytes while reading (it shrank while being read?)`);
        done += n;
      }
      bytesRead += length;
      return out;
    },
    close() {
      if (open) { open = false; fs.closeSync(fd); }
    },
  };
}

/**
 * Reads a whole file, refusing one larger than `max` bytes before reading it. Files that report
 * size 0 (some pseudo-files) are read to their end, still within `max`.
 */
export function readWholeFile(path: string, max: number, fd?: number): Uint8Array {
  const own = fd === undefined;
  try {
    if (own) fd = openRegular(path);
    const size = fs.fstatSync(fd!).size;
    if (size > max) throw new InputError(`file is ${formatSize(size)}, over the ${formatSize(max)} limit`);
    if (size > 0) {
      const out = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const n = fs.readSync(fd!, out, done, size - done, done);
        if (n === 0) break;
        done += n;
      }
      return done === size ? out : out.subarray(0, done);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(1 << 20);
      const n = fs.readSync(fd!, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > max) throw new InputError(`file is over the ${formatSize(max)} limit`);
      chunks.push(chunk.subarray(0, n));
    }
    return new Uint8Array(Buffer.concat(chunks, total));
  } catch (e) {
    throw e instanceof InputError ? e : fsError(e);
  } finally {
    if (own && fd !== undefined) fs.closeSync(fd);
  }
}
