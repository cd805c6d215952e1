/**
 * Packages and images read in-process, streaming only what is needed: Debian packages (.deb: ar,
 * then data.tar compressed with xz, zstd or gzip, read with tar-stream), RPMs (lead, headers, a
 * cpio payload compressed with zstd, xz or gzip) and initramfs images (cpio archives back to back:
 * an uncompressed early one, then compressed ones: zstd, xz, gzip, lz4). No dpkg, rpm or cpio
 * binary is run.
 *
 * Decoding goes a piece at a time: an xz member one block at a time (a .deb's data.tar.xz has
 * 24 MiB blocks), zstd one frame at a time, gzip as a zlib stream; each piece through the public
 * decoders of lib/compress (bounded, checked). Entries nobody asked for are skipped by count, so
 * memory holds one decoded piece and the entry being read, never the package.
 *
 * Members are named `ARCHIVE!path/inside` (lib/archive/layout.ts) wherever a file name is shown.
 */
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { createRequire } from 'node:module';
import {
  classifyPath, CpioParser, isAr, isRpm, memberName, normalizeMemberPath, readArMembers, readRpm, singleBlockStream,
  xzBlocks, zstdFrameRanges,
} from '../../lib/archive/index.js';
import type { CpioEntry, Role } from '../../lib/archive/index.js';
import { isBtf } from '../../lib/btf/header.js';
import { readStoredChecksum } from '../../lib/checksum/index.js';
import type { StoredChecksum } from '../../lib/checksum/index.js';
import { Compression, detectCompression, formatSize, maybeDecompressAsync } from '../../lib/compress/index.js';
import { isElf } from '../../lib/elf/sections.js';
import { InputError } from '../../lib/errors.js';
import { nameFromPath, readModule } from '../../lib/module.js';
import { ByteSource, memorySource } from '../../lib/source.js';
import { fsError, fsPath, openRegular } from './files.js';
import { loadBase, LoadedBase, LoadedModule, MODULE_MAX_OUTPUT, ModuleFormat } from './load.js';
import { isMainThread } from './thread.js';
import { nodeXzDecoder, nodeXzDecoderAsync } from './xz.js';

export type ArchiveKind = 'deb' | 'rpm' | 'initramfs';

/**
 * node:stream and node:zlib load only when a package is read: every check loads this module (to
 * tell a package from a module), and most read none.
 */
const nodeRequire = createRequire(import.meta.url);

/** Largest decoded output of one archive member (a data.tar, a payload, an initramfs segment). */
const MEMBER_MAX_OUTPUT = 8 * 2 ** 30;
/** Largest single entry collected: a kernel image or vmlinux (modules: MODULE_MAX_OUTPUT). */
const ENTRY_MAX = 1 << 30;
/** Limits for one decoded piece (an xz block, a zstd frame). */
const PIECE_LIMITS = { maxOutput: 2 ** 31 - 1, maxRatio: 1000 };
/** Raw reads of uncompressed data. */
const READ_CHUNK = 1 << 20;
const XZ_OPTS = { xz: nodeXzDecoder, xzAsync: nodeXzDecoderAsync };

const CPIO_MAGIC = /^07070[12]/;

function head(path: string, n: number): Uint8Array {
  let fd: number | undefined;
  try {
    fd = fs.openSync(fsPath(path), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile()) return new Uint8Array(0);
    const buf = new Uint8Array(n);
    const got = fs.readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } catch {
    return new Uint8Array(0);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const ascii = (b: Uint8Array, start: number, end: number): string => String.fromCharCode(...b.subarray(start, end));

/**
 * What kind of archive `path` is, by its first bytes: a .deb (ar with debian-binary first), an RPM
 * (lead magic), an initramfs (an uncompressed cpio archive first, or compressed data in a file
 * named like one: initrd*, initramfs*, *.cpio*). Undefined for anything else (a module, a base).
 */
export function archiveKindOf(path: string): ArchiveKind | undefined {
  const h = head(path, 72);
  if (h.length >= 8 && isAr(h)) return 'deb';
  if (isRpm(h)) return 'rpm';
  if (h.length >= 6 && CPIO_MAGIC.test(ascii(h, 0, 6))) return 'initramfs';
  const c = detectCompression(h);
  if (c && /(^|\/)(initrd|initramfs)[^/]*$|\.cpio(\.[a-z0-9]+)?$/i.test(path)) return 'initramfs';
  return undefined;
}

/** Names that look like packages, for directories of them (`--old DIR/`). */
export const PACKAGE_FILE = /\.(deb|ddeb|udeb|rpm)$/;

/** One wanted entry, its bytes read. */
export interface ArchiveEntry {
  /** Path inside, normalized (`usr/lib/modules/R/kernel/x.ko.xz`). */
  path: string;
  size: number;
  data: Uint8Array;
}

/** Decides per entry (regular files only) whether its bytes are wanted. */
export type Want = (path: string, size: number) => boolean;

export interface Archive {
  /** The path as given. */
  file: string;
  kind: ArchiveKind;
  /** `name version` from the package's control data or header, when it has one. */
  package: string | null;
  /** Every regular file, when the archive lists them up front (a .deb's md5sums, an RPM's header); else null. */
  files: string[] | null;
  /** The wanted regular files, in archive order, each with its bytes. Breaking out stops decoding. */
  entries(want: Want): AsyncGenerator<ArchiveEntry>;
  close(): void;
}

/** Opens an archive of `kind` (archiveKindOf). Throws InputError with one line when it is malformed. */
export async function openArchive(path: string, kind: ArchiveKind): Promise<Archive> {
  const src = openSource(path);
  try {
    if (kind === 'deb') return await openDeb(path, src);
    if (kind === 'rpm') return openRpm(path, src);
    return openInitramfs(path, src);
  } catch (e) {
    src.close();
    throw e;
  }
}

// ---- the file ----

/** Random access to an archive file, with reads straight into a caller's buffer. */
interface ArchiveSource extends ByteSource {
  readInto(offset: number, into: Uint8Array): void;
  close(): void;
}

function openSource(path: string): ArchiveSource {
  const fd = openRegular(path);
  const size = fs.fstatSync(fd).size;
  let open = true;
  const readInto = (offset: number, into: Uint8Array): void => {
    let done = 0;
    while (done < into.length) {
      let n: number;
      try {
        n = fs.readSync(fd, into, done, into.length - done, offset + done);
      } catch (e) {
        throw fsError(e, 'read failed');
      }
      if (n === 0) throw new InputError(`file ended at ${offset + done} bytes while reading (it shrank while being read?)`);
      done += n;
    }
  };
  return {
    size,
    readInto,
    read(offset: number, length: number): Uint8Array {
      if (offset < 0 || length < 0 || offset + length > size) throw new InputError(`read of ${length} bytes at offset ${offset} lies outside the ${size}-byte file`);
      if (length > ENTRY_MAX) throw new InputError(`refusing to read ${formatSize(length)} at offset ${offset}: over the ${formatSize(ENTRY_MAX)} limit`);
      const out = new Uint8Array(length);
      readInto(offset, out);
      return out;
    },
    close() {
      if (open) { open = false; fs.closeSync(fd); }
    },
  };
}

// ---- decoding a range of the file a piece at a time ----

async function* rawChunks(src: ByteSource, start: number, end: number): AsyncGenerator<Uint8Array> {
  for (let at = start; at < end; at += READ_CHUNK) yield src.read(at, Math.min(READ_CHUNK, end - at));
}

/** xz: one block at a time (decoded on libuv's pool). */
async function* xzChunks(src: ArchiveSource, start: number, end: number): AsyncGenerator<Uint8Array> {
  const blocks = xzBlocks(src, start, end);
  const decode = async (i: number): Promise<Uint8Array> => {
    const b = blocks[i];
    const stream = singleBlockStream(b, (into) => src.readInto(b.offset, into));
    const { data } = await maybeDecompressAsync(stream, { ...XZ_OPTS, limits: PIECE_LIMITS });
    return data;
  };
  let total = 0;
  // One block at a time: decoding the next one ahead (while this one is read) was no faster on two
  // CPUs and held two blocks and their decoders' buffers at once.
  for (let i = 0; i < blocks.length; i++) {
    const data = await decode(i);
    total += data.length;
    if (total > MEMBER_MAX_OUTPUT) throw new InputError(`xz data decodes to over ${formatSize(MEMBER_MAX_OUTPUT)}`);
    yield data;
  }
}

/** zstd: one frame at a time. */
async function* zstdChunks(src: ByteSource, start: number, end: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for (const [a, z] of zstdFrameRanges(src, start, end)) {
    const { data } = await maybeDecompressAsync(src.read(a, z - a), { limits: PIECE_LIMITS });
    total += data.length;
    if (total > MEMBER_MAX_OUTPUT) throw new InputError(`zstd data decodes to over ${formatSize(MEMBER_MAX_OUTPUT)}`);
    yield data;
  }
}

/** gzip: node's zlib stream (CRC and size checked per member), output counted against the limit. */
async function* gzipChunks(path: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  const input = fs.createReadStream(fsPath(path), { start, end: end - 1, highWaterMark: READ_CHUNK });
  const gunzip = (nodeRequire('node:zlib') as typeof import('node:zlib')).createGunzip({ chunkSize: 256 << 10 });
  input.on('error', (e) => gunzip.destroy(e));
  input.pipe(gunzip);
  let total = 0;
  try {
    for await (const c of gunzip as AsyncIterable<Buffer>) {
      total += c.length;
      if (total > MEMBER_MAX_OUTPUT) throw new InputError(`gzip data decodes to over ${formatSize(MEMBER_MAX_OUTPUT)}`);
      yield new Uint8Array(c.buffer, c.byteOffset, c.length);
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`corrupt gzip data: ${(e as Error).message}`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

/** Anything else lib/compress knows (lz4): decoded whole, within its limits. */
async function* wholeChunks(src: ByteSource, start: number, end: number): AsyncGenerator<Uint8Array> {
  if (end - start > ENTRY_MAX) throw new InputError(`compressed data of ${formatSize(end - start)} is over the ${formatSize(ENTRY_MAX)} limit`);
  const { data } = await maybeDecompressAsync(src.read(start, end - start), { ...XZ_OPTS, limits: { maxOutput: ENTRY_MAX } });
  yield data;
}

/** The bytes of [start, end) of the file, decoded as their magic says (or as they are). */
function decoded(path: string, src: ArchiveSource, start: number, end: number, compression: Compression | undefined): AsyncGenerator<Uint8Array> {
  switch (compression) {
    case undefined: return rawChunks(src, start, end);
    case 'xz': return xzChunks(src, start, end);
    case 'zstd': return zstdChunks(src, start, end);
    case 'gzip': return gzipChunks(path, start, end);
    default: return wholeChunks(src, start, end);
  }
}

function compressionAt(src: ByteSource, at: number, end: number, what: string): Compression | undefined {
  const c = detectCompression(src.read(at, Math.min(8, end - at)));
  if (c === 'bzip2' || c === 'lzo') throw new InputError(`${what} is ${c}-compressed: not supported (xz, zstd, gzip or lz4)`);
  return c;
}

/**
 * An entry's bytes as its own buffer. A single part is tar-stream's view into a decoded piece
 * (an xz block: 24 MiB), which a module kept in a window of checks would keep alive whole: copied.
 */
function joinParts(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0].byteLength === parts[0].buffer.byteLength ? parts[0] : parts[0].slice();
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

// ---- tar (tar-stream) and cpio over decoded chunks ----

/** Wanted regular files of a tar stream, with their bytes. */
async function* tarEntries(chunks: AsyncGenerator<Uint8Array>, want: Want, what: string): AsyncGenerator<ArchiveEntry> {
  const { extract } = await import('tar-stream');
  const ex = extract();
  const { Readable } = nodeRequire('node:stream') as typeof import('node:stream');
  const input = Readable.from(chunks, { objectMode: false, highWaterMark: 1 });
  input.on('error', (e) => ex.destroy(e));
  input.pipe(ex as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const path = normalizeMemberPath(h.name);
      if ((h.type !== 'file' && h.type !== 'contiguous-file') || !want(path, h.size)) {
        entry.resume();
        continue;
      }
      const max = classifyPath(path)?.role === 'module' ? MODULE_MAX_OUTPUT : ENTRY_MAX;
      if (h.size > max) throw new InputError(`${path}: ${formatSize(h.size)}, over the ${formatSize(max)} limit`);
      const parts: Uint8Array[] = [];
      let total = 0;
      for await (const c of entry as AsyncIterable<Uint8Array>) {
        parts.push(c);
        total += c.length;
      }
      yield { path, size: total, data: joinParts(parts, total) };
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${what}: ${(e as Error).message}`);
  } finally {
    input.destroy();
    ex.destroy();
  }
}

/** Wanted regular files of a cpio stream (one archive, or several back to back with `multi`). */
async function* cpioEntries(chunks: AsyncIterable<Uint8Array>, want: Want, multi: boolean): AsyncGenerator<ArchiveEntry> {
  const ready: ArchiveEntry[] = [];
  const wanted = (e: CpioEntry): boolean => e.type === 'file' && want(normalizeMemberPath(e.name), e.size);
  const parser = new CpioParser({
    multi,
    want: wanted,
    maxEntry: ENTRY_MAX,
    onEntry: (e, data) => {
      if (data) ready.push({ path: normalizeMemberPath(e.name), size: e.size, data });
    },
  });
  for await (const c of chunks) {
    parser.push(c);
    while (ready.length) yield ready.shift()!;
    if (parser.done) return;
  }
  parser.end();
}

// ---- .deb ----

async function openDeb(path: string, src: ArchiveSource): Promise<Archive> {
  const members = readArMembers(src);
  if (members[0]?.name !== 'debian-binary') throw new InputError('an ar archive, but not a Debian package (no debian-binary first)');
  const control = members.find((m) => /^control\.tar(\.|$)/.test(m.name));
  const data = members.find((m) => /^data\.tar(\.|$)/.test(m.name));
  if (!data) throw new InputError('Debian package without a data.tar member');
  let pkg: string | null = null;
  let files: string[] | null = null;
  if (control) {
    const end = control.offset + control.size;
    const c = compressionAt(src, control.offset, end, control.name);
    for await (const e of tarEntries(decoded(path, src, control.offset, end, c), (p) => p === 'control' || p === 'md5sums', control.name)) {
      const text = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('latin1');
      if (e.path === 'control') {
        const name = /^Package:\s*(\S+)/m.exec(text)?.[1];
        const version = /^Version:\s*(\S+)/m.exec(text)?.[1];
        if (name) pkg = version ? `${name} ${version}` : name;
      } else {
        files = text.split('\n').map((l) => /^[0-9a-f]{32}\s+(.+)$/.exec(l)?.[1]).filter((f): f is string => !!f).map(normalizeMemberPath);
      }
    }
  }
  const dataEnd = data.offset + data.size;
  const compression = compressionAt(src, data.offset, dataEnd, data.name);
  return {
    file: path, kind: 'deb', package: pkg, files,
    entries: (want) => tarEntries(decoded(path, src, data.offset, dataEnd, compression), want, data.name),
    close: () => src.close(),
  };
}

// ---- .rpm ----

function openRpm(path: string, src: ArchiveSource): Archive {
  const info = readRpm(src);
  if (info.payloadFormat !== 'cpio') throw new InputError(`RPM payload format ${info.payloadFormat}: only cpio is read`);
  if (info.payloadOffset >= src.size) throw new InputError('RPM without a payload');
  const compression = compressionAt(src, info.payloadOffset, src.size, 'RPM payload');
  const pkg = info.name ? [info.name, [info.version, info.release].filter(Boolean).join('-')].filter(Boolean).join(' ') : null;
  return {
    file: path, kind: 'rpm', package: pkg, files: info.files,
    entries: (want) => cpioEntries(decoded(path, src, info.payloadOffset, src.size, compression), want, false),
    close: () => src.close(),
  };
}

// ---- initramfs ----

function openInitramfs(path: string, src: ArchiveSource): Archive {
  return { file: path, kind: 'initramfs', package: null, files: null, entries: (want) => initramfsEntries(path, src, want), close: () => src.close() };
}

/**
 * As the kernel unpacks it (init/initramfs.c): NUL padding is skipped; a cpio header starts an
 * uncompressed archive, read to its trailer; anything else must be compressed data, decoded and
 * read as cpio archives back to back. A zstd segment ends after its last frame, so more may follow;
 * an xz, gzip or lz4 segment runs to the end of the image.
 */
async function* initramfsEntries(path: string, src: ArchiveSource, want: Want): AsyncGenerator<ArchiveEntry> {
  let at = 0;
  let segments = 0;
  while (at < src.size) {
    const peek = src.read(at, Math.min(4096, src.size - at));
    let zeros = 0;
    while (zeros < peek.length && peek[zeros] === 0) zeros++;
    if (zeros) {
      at += zeros;
      continue;
    }
    segments++;
    if (peek.length >= 6 && CPIO_MAGIC.test(ascii(peek, 0, 6))) {
      const start = at;
      const ready: ArchiveEntry[] = [];
      const parser = new CpioParser({
        want: (e) => e.type === 'file' && want(normalizeMemberPath(e.name), e.size),
        maxEntry: ENTRY_MAX,
        onEntry: (e, data) => { if (data) ready.push({ path: normalizeMemberPath(e.name), size: e.size, data }); },
      });
      for (let p = start; p < src.size && !parser.done; p += READ_CHUNK) {
        parser.push(src.read(p, Math.min(READ_CHUNK, src.size - p)));
        while (ready.length) yield ready.shift()!;
      }
      parser.end();
      at = start + parser.offset;
      continue;
    }
    const c = compressionAt(src, at, src.size, `initramfs segment at offset ${at}`);
    if (!c) throw new InputError(`initramfs: neither a cpio archive nor compressed data at offset ${at}`);
    let end = src.size;
    if (c === 'zstd') end = zstdFrameRanges(src, at, src.size, { stopAtOther: true }).at(-1)![1];
    yield* cpioEntries(decoded(path, src, at, end, c), want, true);
    at = end;
  }
  if (segments === 0) throw new InputError('initramfs: empty image');
}

// ---- modules and bases from bytes ----

const MODULE_FORMAT: Record<Compression, ModuleFormat> = { xz: 'ko.xz', zstd: 'ko.zst', gzip: 'ko.gz', 'lz4-legacy': 'ko.lz4', lz4: 'ko.lz4' };

/** A module read from bytes (an archive member), as loadModule reads one from a file. `file` names it in reports. */
export async function loadModuleBytes(file: string, bytes: Uint8Array): Promise<LoadedModule> {
  let data = bytes;
  let format: ModuleFormat = 'ko';
  if (!isElf(bytes) && !isBtf(bytes)) {
    const r = await maybeDecompressAsync(bytes, { ...XZ_OPTS, limits: { maxOutput: MODULE_MAX_OUTPUT } });
    if (!r.compression) throw new InputError('not a kernel module: neither ELF, raw BTF nor xz/zstd/gzip-compressed');
    data = r.data;
    format = MODULE_FORMAT[r.compression];
  }
  if (isBtf(data)) return { file, name: nameFromPath(file), btf: data.slice(), format: 'raw', hasDistilledBase: false };
  if (!isElf(data)) throw new InputError('not a kernel module: decoded data is neither ELF nor raw BTF');
  const src = memorySource(data);
  const m = readModule(src);
  if (m.elf.type !== 1) throw new InputError(`is not a kernel module (ELF type ${m.elf.type}, a module is relocatable)`);
  let storedChecksum: StoredChecksum | undefined;
  let storedChecksumError: string | undefined;
  try {
    storedChecksum = readStoredChecksum(m.elf, src);
  } catch (e) {
    storedChecksumError = e instanceof InputError ? e.message : String(e);
  }
  // Copies: the archive's decoded piece the bytes sit in can then be freed.
  return {
    file, name: m.name ?? nameFromPath(file), btf: m.btf?.slice(), format, hasDistilledBase: m.hasDistilledBase, elf: m.elf,
    btfBase: m.btfBase?.slice(), storedChecksum, storedChecksumError,
  };
}

/** A private scratch directory (mode 0700), removed by the returned function. */
export function makeScratch(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'btfcheck-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `data` at `rel` (a normalized member path) under `root`; refuses paths that leave it. */
export function writeUnder(root: string, rel: string, data: Uint8Array): string {
  const parts = rel.split('/');
  if (!rel || parts.some((p) => p === '..' || p === '' || p === '.')) throw new InputError(`refusing member path ${rel}`);
  const out = nodePath.join(root, ...parts);
  fs.mkdirSync(nodePath.dirname(out), { recursive: true, mode: 0o700 });
  fs.writeFileSync(out, data, { mode: 0o600, flag: 'wx' });
  return out;
}

/** The kernel files of a package (images, the headers' vmlinux, configs, symvers), and its module releases. */
export interface KernelFiles {
  /** Member path → its role and release. */
  found: Array<{ archive: string; path: string; role: Role; release: string | null; data: Uint8Array }>;
  /** Releases whose modules the archives hold (null: modules outside lib/modules/<release>). */
  moduleReleases: Set<string | null>;
  /** Modules counted in the archives' file lists (when listed). */
  moduleCount: number | null;
}

const KERNEL_ROLES: Role[] = ['image', 'headers-vmlinux', 'config', 'symvers'];

/**
 * Reads the kernel files (not the modules) of some archives. A .deb (md5sums) or RPM (header) lists
 * its files, so decoding stops once the last listed kernel file is read (a linux-image .deb holds
 * boot/ first: one xz block) and a package with none is not decoded at all; an archive without a
 * list is read through. An initramfs holds no kernel: it is not read here.
 */
export async function readKernelFiles(archives: Archive[]): Promise<KernelFiles> {
  const out: KernelFiles = { found: [], moduleReleases: new Set(), moduleCount: 0 };
  for (const a of archives) {
    if (a.kind === 'initramfs') {
      out.moduleCount = null;
      continue;
    }
    let expected: Set<string> | null = null;
    if (a.files) {
      expected = new Set();
      for (const f of a.files) {
        const c = classifyPath(f);
        if (!c) continue;
        if (c.role === 'module') {
          out.moduleReleases.add(c.release);
          if (out.moduleCount !== null) out.moduleCount++;
        } else expected.add(f);
      }
      if (!expected.size) continue;
    } else out.moduleCount = null;
    const want: Want = (p) => {
      const c = classifyPath(p);
      if (!c) return false;
      if (c.role === 'module') {
        if (!expected) out.moduleReleases.add(c.release);
        return false;
      }
      return KERNEL_ROLES.includes(c.role);
    };
    for await (const e of a.entries(want)) {
      const c = classifyPath(e.path)!;
      out.found.push({ archive: a.file, path: e.path, role: c.role, release: c.release, data: e.data });
      if (expected) {
        expected.delete(e.path);
        if (!expected.size) break;
      }
    }
  }
  return out;
}

/**
 * A base from archives (`check --base PKG`): the kernel image of the package(s), else a headers
 * package's BTF-only vmlinux, loaded through loadBase from a private scratch copy and named
 * `PKG!path`.
 */
export async function loadBaseFromArchives(paths: string[]): Promise<LoadedBase> {
  const archives: Archive[] = [];
  try {
    // With one package the caller names it (`btfcheck: PKG: ...`): not twice.
    for (const p of paths) archives.push(await openArchiveChecked(p, paths.length > 1));
    const files = await readKernelFiles(archives);
    const images = files.found.filter((f) => f.role === 'image');
    const pick = images.length ? images : files.found.filter((f) => f.role === 'headers-vmlinux');
    const releases = new Set(pick.map((f) => f.release));
    // One package: the caller's `btfcheck: PKG:` names it.
    const where = paths.length === 1 ? 'this package' : paths.join(', ');
    if (!pick.length) throw new InputError(`no kernel image (boot/vmlinuz-*, lib/modules/*/vmlinuz) or headers vmlinux (usr/src/linux-headers-*/vmlinux) in ${where}`);
    if (releases.size > 1) throw new InputError(`several kernels in ${where} (${pick.map((f) => f.path).join(', ')}): give one`);
    const base = await loadBaseMember(pick[0]);
    // Its .config from the same packages (6.x: boot/config-R beside boot/vmlinuz-R; 7.x: linux-base's usr/lib/modules/R/config).
    const config = files.found.find((f) => f.role === 'config' && (f.release === pick[0].release || !f.release || !pick[0].release));
    return config ? { ...base, packagedConfig: { file: memberName(config.archive, config.path), data: config.data } } : base;
  } finally {
    for (const a of archives) a.close();
  }
}

/** Loads a base from an archive member's bytes (written to a private scratch file for loadBase). */
export async function loadBaseMember(member: { archive: string; path: string; release: string | null; data: Uint8Array }): Promise<LoadedBase> {
  const scratch = makeScratch();
  try {
    const file = writeUnder(scratch.dir, member.path, member.data);
    const base = await loadBase(file);
    return { ...base, file: memberName(member.archive, member.path), release: base.release ?? member.release ?? undefined };
  } finally {
    scratch.remove();
  }
}

/**
 * openArchive with the kind sniffed; a file that is no archive is an InputError. Its message names
 * the file unless `named` is false (the caller prints `btfcheck: FILE: ...` itself).
 */
export async function openArchiveChecked(path: string, named = true): Promise<Archive> {
  const prefix = named ? `${path}: ` : '';
  const kind = archiveKindOf(path);
  if (!kind) throw new InputError(`${prefix}not a .deb, .rpm or initramfs image`);
  try {
    return await openArchive(path, kind);
  } catch (e) {
    throw e instanceof InputError ? new InputError(`${prefix}${e.message}`) : e;
  }
}

/** A module found in an archive: its name for reports and its load, started. */
export interface ArchiveModule {
  file: string;
  loaded: Promise<LoadedModule>;
}

/**
 * The modules of an archive, loading as they are read (xz modules decode on libuv's pool while the
 * caller checks earlier ones). `release`, when given, skips modules of other releases' trees
 * (counted in `skipped`).
 */
export async function* archiveModules(archive: Archive, opts: { release?: string | null; skipped?: { count: number }; trustListing?: boolean } = {}): AsyncGenerator<ArchiveModule> {
  // A package that lists its files and holds no module is not decoded at all (abi over a suite's
  // packages). `check` on one package reads it whole: a listing can miss a file (md5sums cannot
  // hold a name with a newline), and a module must never go unchecked.
  if ((opts.trustListing ?? true) && archive.files && !archive.files.some((f) => classifyPath(f)?.role === 'module')) return;
  const want: Want = (p) => {
    const c = classifyPath(p);
    if (c?.role !== 'module') return false;
    if (opts.release && c.release && c.release !== opts.release) {
      if (opts.skipped) opts.skipped.count++;
      return false;
    }
    return true;
  };
  for await (const e of archive.entries(want)) {
    const file = memberName(archive.file, e.path);
    const loaded = loadModuleBytes(file, e.data).catch((err: unknown) => {
      throw err instanceof InputError ? err : new InputError(String((err as Error)?.message ?? err));
    });
    loaded.catch(() => undefined);
    yield { file, loaded };
  }
}

/** Archives inside a directory of packages (`--old DIR/`): *.deb, *.rpm at its top, sorted. */
export function packagesInDirectory(dir: string): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => PACKAGE_FILE.test(n)).sort().map((n) => nodePath.join(dir, n));
}

/**
 * `check` on a package or image: each module inside checked by `check` (run-checks' checkLoaded)
 * as it is read, with a window of loads in flight; results in archive order. An archive that cannot
 * be read is one error result naming it.
 */
export async function checkArchiveModules<R>(path: string, check: (file: string, loaded: Promise<LoadedModule>) => Promise<R>, onError: (file: string, message: string) => R): Promise<R[]> {
  const out: R[] = [];
  let archive: Archive | undefined;
  try {
    archive = await openArchiveChecked(path, false);
    const window: ArchiveModule[] = [];
    for await (const m of archiveModules(archive, { trustListing: false })) {
      window.push(m);
      if (window.length >= 16) { const w = window.shift()!; out.push(await check(w.file, w.loaded)); }
    }
    for (const w of window) out.push(await check(w.file, w.loaded));
    if (!out.length) out.push(onError(path, `no kernel modules (*.ko, *.ko.xz, *.ko.zst, *.ko.gz) in this ${archive.kind === 'initramfs' ? 'image' : 'package'}`));
  } catch (e) {
    const message = e instanceof InputError ? e.message : String((e as Error)?.message ?? e);
    out.push(onError(path, message));
  } finally {
    archive?.close();
  }
  return out;
}

// ---- bases loaded on a worker thread ----

interface IsolatedBase {
  file: string;
  raw: Uint8Array;
  sha256: string;
  release?: string;
  version?: string;
  format: LoadedBase['format'];
}

/** The kernel files of some packages written under a scratch root, as extractKernelFiles reports them. */
export interface ExtractedKernelFiles {
  files: Array<{ archive: string; path: string; role: Role; release: string | null; written: string }>;
  moduleReleases: Array<string | null>;
}

/**
 * Reads the kernel files of packages (readKernelFiles) and writes each under `root` at its path
 * inside; a path two packages both hold is written once (the first). Throws InputError naming the
 * package.
 */
export async function extractKernelFiles(paths: string[], root: string): Promise<ExtractedKernelFiles> {
  const archives: Archive[] = [];
  try {
    for (const p of paths) archives.push(await openArchiveChecked(p));
    const found = await readKernelFiles(archives);
    const out: ExtractedKernelFiles = { files: [], moduleReleases: [...found.moduleReleases] };
    for (const f of found.found) {
      try {
        out.files.push({ archive: f.archive, path: f.path, role: f.role, release: f.release, written: writeUnder(root, f.path, f.data) });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e instanceof InputError ? new InputError(`${memberName(f.archive, f.path)}: ${e.message}`) : e;
      }
    }
    return out;
  } finally {
    for (const a of archives) a.close();
  }
}

// ---- work on a short-lived worker thread ----

/**
 * Decoding a vmlinuz or a package's xz blocks leaves memory behind that the process cannot give
 * back while it runs (the WebAssembly zstd decoder's heap only grows; freed decoder buffers stay
 * with the allocator). On a worker, all of it goes when the thread ends, before `abi` compares the
 * bases and checks two trees. Only from the built bundle (a worker runs JavaScript); elsewhere, and
 * if the worker cannot start, in this thread.
 */
type Task = { task: 'bases'; paths: string[] } | { task: 'kernel-files'; paths: string[]; root: string };
type Reply = { ok: unknown } | { error: string; input: boolean };

async function runTask(t: Task): Promise<unknown> {
  if (t.task === 'kernel-files') return extractKernelFiles(t.paths, t.root);
  const out: Array<IsolatedBase | { error: string }> = [];
  for (const p of t.paths) {
    try {
      const b = await loadBase(p);
      out.push({ file: b.file, raw: b.raw.slice(), sha256: b.sha256, release: b.release, version: b.version, format: b.format });
    } catch (e) {
      out.push({ error: e instanceof InputError ? e.message : `internal error: ${(e as Error)?.message ?? e}` });
    }
  }
  return out;
}

async function isolated(t: Task): Promise<unknown> {
  const self = import.meta.url;
  if (!self.endsWith('.js') || process.env.BTFCHECK_NO_WORKER) return runTask(t);
  const { Worker } = await import('node:worker_threads');
  let worker;
  try {
    // A small young generation: the worker's garbage (decoded pieces) is collected as it goes.
    worker = new Worker(new URL(self), { workerData: { btfcheckTask: t }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  } catch {
    return runTask(t);
  }
  const reply = await new Promise<Reply>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker thread exited with ${code}`)));
  }).finally(() => worker.terminate());
  if ('error' in reply) throw reply.input ? new InputError(reply.error) : new Error(reply.error);
  return reply.ok;
}

interface IsolatedBase {
  file: string;
  raw: Uint8Array;
  sha256: string;
  release?: string;
  version?: string;
  format: LoadedBase['format'];
}

/** Loads bases on a short-lived worker thread (see isolated) and hands back only their BTF. */
export async function loadBasesIsolated(paths: string[]): Promise<Array<LoadedBase | Error>> {
  const got = (await isolated({ task: 'bases', paths })) as Array<IsolatedBase | { error: string }>;
  const { Btf } = await import('../../lib/btf/btf.js');
  return got.map((b) => ('error' in b ? new InputError(b.error) : { ...b, btf: Btf.parseBase(b.raw) }));
}

/** extractKernelFiles on a short-lived worker thread (see isolated). */
export async function extractKernelFilesIsolated(paths: string[], root: string): Promise<ExtractedKernelFiles> {
  return (await isolated({ task: 'kernel-files', paths, root })) as ExtractedKernelFiles;
}

/** The worker's side: run the task, post its result (base BTF transferred, not copied) or its error. */
async function serveTask(t: Task): Promise<void> {
  const { parentPort } = await import('node:worker_threads');
  try {
    const ok = await runTask(t);
    const transfer = t.task === 'bases' ? (ok as Array<IsolatedBase | { error: string }>).flatMap((b) => ('raw' in b ? [b.raw.buffer as ArrayBuffer] : [])) : [];
    parentPort!.postMessage({ ok } satisfies Reply, transfer);
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e), input: e instanceof InputError } satisfies Reply);
  }
}

void (async () => {
  // The command line's main thread (known without loading worker_threads, cmd/io/thread.ts) serves nothing.
  if (isMainThread()) return;
  const { workerData } = await import('node:worker_threads');
  const task = (workerData as { btfcheckTask?: Task } | null)?.btfcheckTask;
  if (task) await serveTask(task);
})();
