/**
 * `check`'s base file read on libuv's pool while the checking code loads: a hook checking one
 * module against a vmlinuz reads 13 MB (~8 ms) that would otherwise wait for ~10 ms of module
 * initialization. Only files loadBase reads whole (raw BTF, a bzImage, compressed data), of at
 * most the default payload limit; anything else, or anything that fails here, is left to
 * loadBase, which opens, checks and reads the file itself and says what is wrong.
 */
import fs from 'node:fs';
import { isBtf } from '../../lib/btf/header.js';
import { detectCompression } from '../../lib/compress/detect.js';
import { isBzImage } from '../../lib/vmlinuz.js';
import { archiveKindOf } from './archives.js';
import { openRegular } from './files.js';
import { fileIdentity, FileIdentity } from './verdict-cache.js';

/** The default limit on a compressed base (DEFAULT_BASE_LIMITS.maxPayload); larger files are not read ahead. */
const PREFETCH_MAX = 256 << 20;
const HEAD = 0x250;

/** Bytes read ahead, with the identity of the descriptor they were read through (taken before reading). */
export interface Prefetched {
  bytes: Uint8Array;
  id: FileIdentity | undefined;
}

const pending = new Map<string, Promise<Prefetched | undefined>>();

/** The --base of a `check` command line, if it names one. */
export function checkBaseArgument(argv: string[]): string | undefined {
  const command = argv.find((a) => !a.startsWith('-'));
  if (command !== 'check') return undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return undefined;
    if ((a === '--base' || a === '-b') && i + 1 < argv.length) return argv[i + 1];
    if (a.startsWith('--base=')) return a.slice('--base='.length);
  }
  return undefined;
}

/** Starts reading `path` whole in the background, when loadBase will read it whole. */
export function prefetchBase(path: string | undefined): void {
  // A package or an initramfs image (a compressed cpio) is read by the archive code, not loadBase.
  if (!path || path === 'running' || pending.has(path) || archiveKindOf(path)) return;
  let fd: number | undefined;
  try {
    fd = openRegular(path);
    const size = fs.fstatSync(fd).size;
    if (size < HEAD || size > PREFETCH_MAX) return;
    const head = new Uint8Array(HEAD);
    if (fs.readSync(fd, head, 0, HEAD, 0) !== HEAD || !(isBzImage(head) || detectCompression(head) || isBtf(head))) return;
    const bytes = new Uint8Array(size);
    const id = fileIdentity(fd);
    const file = fd;
    fd = undefined; // closed by the reads' end
    pending.set(path, readAll(file, bytes).then((read) => read && { bytes: read, id }));
  } catch {
    // loadBase meets the same problem and names it.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function readAll(fd: number, bytes: Uint8Array): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const step = (done: number): void => {
      if (done === bytes.length) {
        // A file that grew meanwhile is read again by loadBase, whole.
        fs.read(fd, new Uint8Array(1), 0, 1, done, (err, more) => finish(err || more ? undefined : bytes));
        return;
      }
      fs.read(fd, bytes, done, bytes.length - done, done, (err, n) => {
        if (err || n === 0) finish(undefined);
        else step(done + n);
      });
    };
    const finish = (result: Uint8Array | undefined): void => {
      fs.close(fd, () => resolve(result));
    };
    step(0);
  });
}

/** What prefetchBase read of `path`, if it read it and it fits `max`; each read is taken once. */
export async function takePrefetched(path: string, max: number): Promise<Prefetched | undefined> {
  const read = pending.get(path);
  if (!read) return undefined;
  pending.delete(path);
  const got = await read;
  return got && got.bytes.length <= max ? got : undefined;
}
