/**
 * Loading a base (vmlinux BTF) and modules from whatever files people have. Each loader tells the
 * format by magic bytes, not by file name, and throws InputError with one line saying what is wrong
 * (the caller prefixes the file name).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Btf } from '../../lib/btf/btf.js';
import { isBtf } from '../../lib/btf/header.js';
import { checkBtfExtent } from '../../lib/btf-extent.js';
import { BaseLimits, Compression, DecodeBudget, DecompressLimits, detectCompression, formatSize, maybeDecompressAsync, withBaseDefaults, withDefaults } from '../../lib/compress/index.js';
import { ElfFile, findSection, isElf, readElf, sectionData } from '../../lib/elf/sections.js';
import { InputError } from '../../lib/errors.js';
import { readStoredChecksum, StoredChecksum } from '../../lib/checksum/index.js';
import { nameFromPath, readModule } from '../../lib/module.js';
import { ByteSource, memorySource } from '../../lib/source.js';
import { isBzImage, KernelRelease, parseBanner, releaseFromVmlinux } from '../../lib/vmlinuz.js';
import type { BaseStreamOptions, StreamedBase } from '../../lib/vmlinuz-stream.js';
import { FileSource, fsPath, openFileSource, readWholeFile } from './files.js';
import { takePrefetched } from './prefetch.js';
import { baseSha256, fileIdentity, FileIdentity, sameIdentity } from './verdict-cache.js';
import { nodeXzDecoder, nodeXzDecoderAsync } from './xz.js';

const ET_REL = 1;
/** Reads up to this size (format detection, tables) are never refused by a small limit. */
const HEAD_BYTES = 64 << 10;
/** The sections loadModule reads from a module ELF. */
const MODULE_SECTIONS = ['.BTF', '.modinfo', '.gnu.linkonce.this_module'];
/** The running kernel's BTF. */
export const RUNNING_BTF = '/sys/kernel/btf/vmlinux';

/**
 * Largest module (decompressed) or module section btfcheck reads. Real modules are far smaller
 * (the largest in Debian's cloud kernels, xfs.ko, is 4 MiB); the limit bounds memory on hostile
 * files. Bases keep the general limit: a vmlinux with debug info can pass 256 MiB.
 */
export const MODULE_MAX_OUTPUT = 256 << 20;

/** Outer format of a base file; a compressed file is named by its compression. */
export type BaseFormat = 'elf' | 'raw' | 'vmlinuz' | 'xz' | 'zstd' | 'gzip' | 'lz4';

export interface LoadedBase {
  /** The path as given ('running' is resolved to /sys/kernel/btf/vmlinux). */
  file: string;
  /** The raw BTF bytes (what /sys/kernel/btf/vmlinux holds). */
  raw: Uint8Array;
  btf: Btf;
  /** sha256 of `raw`, lowercase hex. */
  sha256: string;
  /** uname -r of the kernel, when the file tells it (bzImage, vmlinux banner, running kernel). */
  release?: string;
  /** Upstream version, e.g. '6.1.170', when the banner tells it. */
  version?: string;
  format: BaseFormat;
  /** The kernel .config found in the same package as the base (`check --base PKG`), named PKG!path. */
  packagedConfig?: { file: string; data: Uint8Array };
}

/** Format of a module file. */
export type ModuleFormat = 'ko' | 'ko.xz' | 'ko.zst' | 'ko.gz' | 'ko.lz4' | 'raw';

export interface LoadedModule {
  file: string;
  /** The kernel's name for the module: struct module's name, else .modinfo, else the file name. */
  name: string;
  /** The module's split BTF; undefined when the module has no .BTF section. */
  btf?: Uint8Array;
  format: ModuleFormat;
  /** The module carries .BTF.base (a 6.12 distilled base). */
  hasDistilledBase: boolean;
  /** Section table of the module ELF (absent for raw split BTF). */
  elf?: ElfFile;
  /** The .BTF.base section's bytes (6.12 distilled base), when present. */
  btfBase?: Uint8Array;
  /** A base checksum stamped into the module (.BTF.base_checksum), when present. */
  storedChecksum?: StoredChecksum;
  /** Why a .BTF.base_checksum section could not be read (the module is still checked). */
  storedChecksumError?: string;
}

export type LoadLimits = Partial<DecompressLimits & BaseLimits>;

/** Environment variables that set the base limits (README, "Limits"), by BaseLimits field. */
export const BASE_LIMIT_ENV: Record<'maxBtf' | 'maxPayload' | 'maxTimeMs', string> = {
  maxBtf: 'BTFCHECK_MAX_BASE_BTF',
  maxPayload: 'BTFCHECK_MAX_BASE_PAYLOAD',
  maxTimeMs: 'BTFCHECK_BASE_TIME_LIMIT',
};

/** "64M", "256MiB", "1G", "4096" (bytes); for the time limit "20", "20s", "1500ms". */
function parseLimit(name: string, value: string, time: boolean): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const units: Record<string, number> = time
    ? { '': 1000, s: 1000, ms: 1 }
    : { '': 1, b: 1, k: 1 << 10, kb: 1 << 10, kib: 1 << 10, m: 1 << 20, mb: 1 << 20, mib: 1 << 20, g: 1 << 30, gb: 1 << 30, gib: 1 << 30 };
  const unit = m ? units[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) {
    throw new InputError(`${name}=${value} is not a ${time ? 'time (20, 20s, 1500ms)' : 'size (64M, 256MiB, 1G)'}`);
  }
  return Math.round(Number(m[1]) * unit);
}

/** Base limits set in the environment (each overrides one default). */
export function baseLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<BaseLimits> {
  const out: Partial<BaseLimits> = {};
  for (const [key, name] of Object.entries(BASE_LIMIT_ENV) as Array<[keyof typeof BASE_LIMIT_ENV, string]>) {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = parseLimit(name, v, key === 'maxTimeMs');
  }
  return out;
}

const COMPRESSION_FORMAT: Record<Compression, BaseFormat> = { xz: 'xz', zstd: 'zstd', gzip: 'gzip', 'lz4-legacy': 'lz4', lz4: 'lz4' };
const MODULE_FORMAT: Record<Compression, ModuleFormat> = { xz: 'ko.xz', zstd: 'ko.zst', gzip: 'ko.gz', 'lz4-legacy': 'ko.lz4', lz4: 'ko.lz4' };

function sha256(bytes: Uint8Array): string {
  // Loaded here, not with this module: a base whose digest is recorded (verdict-cache.ts) needs none.
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The .BTF of a vmlinux ELF, copied out so a decompressed image can be freed; not copied again
 * when it already is all of its buffer (what a decompressed stream kept of it).
 */
function vmlinuxBtf(src: ByteSource, elf: ElfFile): Uint8Array {
  if (elf.type === ET_REL) throw new InputError('is a kernel module (relocatable ELF), not a vmlinux');
  const sec = findSection(elf, '.BTF');
  if (!sec) throw new InputError('vmlinux has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)');
  const data = sectionData(src, sec);
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
}

/**
 * `read`: the identity of the descriptor the bytes of `file` were read through, taken before
 * reading; the digest of `raw` is the one recorded for that identity when the path still names a
 * file of that identity after reading (verdict-cache.ts).
 */
function finishBase(file: string, raw: Uint8Array, format: BaseFormat, release?: Partial<KernelRelease>, read?: FileIdentity): LoadedBase {
  const btf = Btf.parseBase(raw);
  checkBtfExtent(raw);
  const now = read && fileIdentity(fsPath(file));
  const digest = baseSha256(read, !!now && sameIdentity(read!, now), raw.length, () => sha256(raw));
  return { file, raw, btf, sha256: digest, release: release?.release, version: release?.version, format };
}

function head(src: FileSource, n: number): Uint8Array {
  return src.read(0, Math.min(n, src.size));
}

/**
 * Loads base BTF from a vmlinux ELF, raw BTF (/sys/kernel/btf/vmlinux), either compressed with
 * xz/zstd/gzip/lz4, or a vmlinuz/bzImage; 'running' means /sys/kernel/btf/vmlinux, with the
 * release from uname.
 *
 * Limits come first (BaseLimits: defaults, then the environment, then `limits`): a raw base or a
 * .BTF section over `maxBtf` is refused from its size, a compressed file over `maxPayload` from
 * stat; compressed data is bounded from its structure, then streamed (lib/compress/stream.ts)
 * within one budget of bytes and time, keeping only the BTF.
 */
export async function loadBase(path: string, limits?: LoadLimits): Promise<LoadedBase> {
  const lim = withBaseDefaults({ ...baseLimitsFromEnv(), ...limits });
  if (path === 'running') {
    const raw = readWholeFile(RUNNING_BTF, lim.maxBtf);
    if (!isBtf(raw)) throw new InputError(`${RUNNING_BTF} does not hold raw BTF`);
    let banner: KernelRelease | undefined;
    try { banner = parseBanner(fs.readFileSync('/proc/version', 'latin1')); } catch { /* not Linux */ }
    return finishBase(RUNNING_BTF, raw, 'raw', { release: os.release(), version: banner?.version });
  }
  const src = openFileSource(path, Math.max(lim.maxBtf, HEAD_BYTES));
  // Bytes come with the identity of the descriptor they are read through (finishBase compares it
  // with the path's after reading): read ahead by prefetch.ts, else through this one.
  const srcId = fileIdentity(src.fd);
  const whole = async (max: number): Promise<{ bytes: Uint8Array; id?: FileIdentity }> =>
    (await takePrefetched(path, max)) ?? { bytes: readWholeFile(path, max, src.fd), id: srcId };
  try {
    const start = head(src, 0x250);
    if (isElf(start)) {
      const elf = readElf(src);
      const btfSec = findSection(elf, '.BTF');
      if (btfSec && btfSec.size > lim.maxBtf) throw new InputError(`section .BTF is ${formatSize(btfSec.size)}, over the ${formatSize(lim.maxBtf)} limit`);
      const raw = vmlinuxBtf(src, elf);
      return finishBase(path, raw, 'elf', releaseFromVmlinux(src, elf), srcId);
    }
    if (isBtf(start)) {
      const { bytes, id } = await whole(lim.maxBtf);
      return finishBase(path, bytes, 'raw', undefined, id);
    }
    // Compressed: the streaming code and the zstd decoder load only now (a raw or ELF base, the
    // common case for a one-module check, does not pay for them).
    const { baseFromBzImage, baseFromCompressed } = await import('../../lib/vmlinuz-stream.js');
    const { lazyZstdDecoder } = await import('./zstd.js');
    const stream: BaseStreamOptions = {
      budget: new DecodeBudget(lim.maxPayload, lim.maxTimeMs),
      limits: lim,
      maxBtf: lim.maxBtf,
      xzAsync: nodeXzDecoderAsync,
      xz: nodeXzDecoder,
      zstd: lazyZstdDecoder,
      wantRelease: true,
    };
    if (isBzImage(start)) {
      const { bytes: image, id } = await whole(lim.maxPayload);
      const got = await baseFromBzImage(image, stream);
      // The setup header's kernel_version names release and version as the banner does; the
      // banner inside the image is the fallback for headers without one.
      const release = (got.header.kernelVersion ? parseBanner(got.header.kernelVersion) : undefined) ?? (got.kind === 'elf' ? got.release : undefined);
      return finishStreamed(path, got, 'vmlinuz', release, id);
    }
    const compression = detectCompression(start);
    if (compression === 'bzip2' || compression === 'lzo') throw new InputError(`${compression}-compressed data is not supported (use xz, zstd, gzip or lz4)`);
    if (!compression) throw new InputError('not a vmlinux ELF, raw BTF, vmlinuz/bzImage or xz/zstd/gzip/lz4-compressed file');
    const { bytes: data, id } = await whole(lim.maxPayload);
    const got = await baseFromCompressed(data, compression, { ...stream, allowRaw: true, wholeFile: true });
    return finishStreamed(path, got, COMPRESSION_FORMAT[compression], got.kind === 'elf' ? got.release : undefined, id);
  } finally {
    src.close();
  }
}

function finishStreamed(path: string, got: StreamedBase, format: BaseFormat, release?: KernelRelease, read?: FileIdentity): LoadedBase {
  if (got.kind === 'btf') return finishBase(path, got.raw, format, undefined, read);
  return finishBase(path, vmlinuxBtf(got.src, got.elf), format, release, read);
}

/**
 * Loads a module's split BTF from a .ko, .ko.xz, .ko.zst, .ko.gz or a raw split BTF file
 * (/sys/kernel/btf/<module>, whose name is the file name).
 */
export async function loadModule(path: string, limits?: LoadLimits): Promise<LoadedModule> {
  const lim = withDefaults({ maxOutput: MODULE_MAX_OUTPUT, ...limits });
  const src = openFileSource(path, Math.max(lim.maxOutput, HEAD_BYTES));
  try {
    const start = head(src, 16);
    if (isElf(start)) {
      // A section header can claim a section of any size (a sparse file makes it real): refuse
      // before reading rather than allocate it.
      const elf = readElf(src);
      for (const sec of elf.sections) {
        if (MODULE_SECTIONS.includes(sec.name) && sec.size > lim.maxOutput) {
          throw new InputError(`section ${sec.name} is ${formatSize(sec.size)}, over the ${formatSize(lim.maxOutput)} limit`);
        }
      }
      return fromModuleElf(path, src, 'ko', elf);
    }
    if (isBtf(start)) return { file: path, name: nameFromPath(path), btf: readWholeFile(path, lim.maxOutput), format: 'raw', hasDistilledBase: false };
    const { data, compression } = await maybeDecompressAsync(readWholeFile(path, lim.maxOutput), { xz: nodeXzDecoder, xzAsync: nodeXzDecoderAsync, limits: lim });
    if (!compression) throw new InputError('not a kernel module: neither ELF, raw BTF nor xz/zstd/gzip-compressed');
    if (isElf(data)) return fromModuleElf(path, memorySource(data), MODULE_FORMAT[compression]);
    if (isBtf(data)) return { file: path, name: nameFromPath(path), btf: data, format: 'raw', hasDistilledBase: false };
    throw new InputError(`${compression} data holds neither a kernel module nor raw BTF`);
  } finally {
    src.close();
  }
}

function fromModuleElf(path: string, src: ByteSource, format: ModuleFormat, elf?: ElfFile): LoadedModule {
  const m = readModule(src, elf);
  if (m.elf.type !== ET_REL) throw new InputError(`is not a kernel module (ELF type ${m.elf.type}, a module is relocatable)`);
  // Copy .BTF out of a decompressed image so the image can be freed.
  const btf = format === 'ko' ? m.btf : m.btf?.slice();
  const btfBase = format === 'ko' ? m.btfBase : m.btfBase?.slice();
  let storedChecksum: StoredChecksum | undefined;
  let storedChecksumError: string | undefined;
  try {
    storedChecksum = readStoredChecksum(m.elf, src);
  } catch (e) {
    storedChecksumError = e instanceof InputError ? e.message : String(e);
  }
  return {
    file: path, name: m.name ?? nameFromPath(path), btf, format, hasDistilledBase: m.hasDistilledBase, elf: m.elf,
    btfBase, storedChecksum, storedChecksumError,
  };
}

/**
 * loadModule over many files with `concurrency` loads in flight, results in input order (an Error
 * in place of a module that failed). xz files then decompress in parallel on libuv's thread pool:
 * a tree of .ko.xz loads ~2x faster on two cores than one file at a time.
 */
export async function loadModules(paths: string[], options: { limits?: LoadLimits; concurrency?: number } = {}): Promise<Array<LoadedModule | Error>> {
  const results: Array<LoadedModule | Error> = new Array(paths.length);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      try {
        results[i] = await loadModule(paths[i], options.limits);
      } catch (e) {
        results[i] = e instanceof Error ? e : new Error(String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return results;
}
