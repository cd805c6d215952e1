/**
 * x86 bzImage (vmlinuz): find the compressed kernel, decompress it to the vmlinux ELF, and tell the
 * kernel release. Pure: bytes in, bytes out.
 */
import { cString, viewOf } from './bytes.js';
import { COMPRESSION_MAGICS, Compression, decompressAs, DecompressOptions, detectCompression, formatSize, withDefaults } from './compress/index.js';
import { startsWith } from './compress/detect.js';
import { ElfFile, findSection, isElf, SHT_NOBITS } from './elf/sections.js';
import { InputError } from './errors.js';
import { ByteSource } from './source.js';

/** Offsets in the real-mode setup header (Documentation/arch/x86/boot.rst). */
const SETUP_SECTS = 0x1f1;
const BOOT_FLAG = 0x1fe;
const HEADER_MAGIC = 0x202; // "HdrS"
const PROTOCOL_VERSION = 0x206;
const KERNEL_VERSION_PTR = 0x20e;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;

export interface BzImageHeader {
  /** Boot protocol version, e.g. 0x20f. */
  protocol: number;
  /** Size of the real-mode setup code; the protected-mode kernel starts here. */
  setupSize: number;
  /** The compressed payload's place in the file (boot protocol >= 2.08). */
  payload?: { offset: number; length: number };
  /** The kernel_version string: "<release> (<builder>) #<version>". */
  kernelVersion?: string;
}

/** True when `bytes` carry an x86 boot sector signature and the "HdrS" setup header magic. */
export function isBzImage(bytes: Uint8Array): boolean {
  return bytes.length >= 0x250 && bytes[BOOT_FLAG] === 0x55 && bytes[BOOT_FLAG + 1] === 0xaa
    && startsWith(bytes, [0x48, 0x64, 0x72, 0x53], HEADER_MAGIC);
}

export function readBzImageHeader(bytes: Uint8Array): BzImageHeader {
  if (!isBzImage(bytes)) throw new InputError('not a bzImage: no x86 setup header');
  const v = viewOf(bytes);
  const protocol = v.getUint16(PROTOCOL_VERSION, true);
  const setupSize = ((bytes[SETUP_SECTS] || 4) + 1) * 512;
  const header: BzImageHeader = { protocol, setupSize };
  const ptr = v.getUint16(KERNEL_VERSION_PTR, true);
  if (protocol >= 0x200 && ptr !== 0 && ptr + 0x200 < bytes.length) {
    const s = cString(bytes, ptr + 0x200, 512);
    if (/^\d+\.\d+/.test(s)) header.kernelVersion = s;
  }
  if (protocol >= 0x208) {
    const offset = setupSize + v.getUint32(PAYLOAD_OFFSET, true);
    const length = v.getUint32(PAYLOAD_LENGTH, true);
    if (length > 0 && offset <= bytes.length && length <= bytes.length - offset) header.payload = { offset, length };
  }
  return header;
}

export interface Vmlinux {
  /** The vmlinux ELF bytes. */
  elf: Uint8Array;
  compression: Compression;
  header: BzImageHeader;
}

/**
 * Decompresses the kernel inside a bzImage. Uses the setup header's payload fields when present;
 * otherwise scans for compression magics and takes the first candidate that yields an ELF.
 * `options.xz` is needed for xz payloads.
 */
export function vmlinuxFromBzImage(bytes: Uint8Array, options: DecompressOptions = {}): Vmlinux {
  const header = readBzImageHeader(bytes);
  if (header.payload) {
    const payload = bytes.subarray(header.payload.offset, header.payload.offset + header.payload.length);
    const compression = detectCompression(payload);
    if (compression === 'bzip2' || compression === 'lzo' || compression === undefined) {
      throw new InputError(compression
        ? `bzImage payload is ${compression}-compressed; only lz4, zstd, xz and gzip are supported`
        : 'bzImage payload starts with no known compression magic (lzma and lzo kernels are not supported)');
    }
    // The build appends the uncompressed size (le32) to every payload but gzip's, whose own
    // trailer (ISIZE) holds the same; mkpiggy reads it from the last four bytes either way.
    const n = payload.length;
    const trailer = (payload[n - 4] | (payload[n - 3] << 8) | (payload[n - 2] << 16) | (payload[n - 1] << 24)) >>> 0;
    const data = compression === 'gzip' ? payload : payload.subarray(0, n - 4);
    const elf = decompressAs(data, compression, { ...options, sizeHint: trailer });
    if (!isElf(elf)) throw new InputError(`bzImage payload (${compression}) does not decompress to an ELF file`);
    return { elf, compression, header };
  }
  // Old boot protocol: no payload fields. Try every magic occurrence after the setup code, one at
  // a time, within one output limit: what a candidate that is no ELF decoded to is spent.
  let lastError: unknown;
  const start = Math.min(header.setupSize, bytes.length);
  let remaining = withDefaults(options.limits).maxOutput;
  for (const [compression, magic] of COMPRESSION_MAGICS) {
    for (let at = indexOf(bytes, magic, start); at >= 0; at = indexOf(bytes, magic, at + 1)) {
      try {
        const elf = decompressAs(bytes.subarray(at), compression, { ...options, limits: { ...options.limits, maxOutput: remaining } });
        if (isElf(elf)) return { elf, compression, header };
        remaining -= elf.length;
        if (remaining <= 0) throw new InputError(`bzImage payload candidates decoded to over ${formatSize(withDefaults(options.limits).maxOutput)} without an ELF file, the limit on decompressed size`);
      } catch (e) {
        if (remaining <= 0) throw e;
        lastError = e;
      }
    }
  }
  if (lastError instanceof InputError && /limit/.test(lastError.message)) throw lastError;
  throw new InputError('bzImage holds no compressed payload that decompresses to an ELF file');
}

/** First index of `needle` in `hay` at or after `from`, or -1. */
export function indexOf(hay: Uint8Array, needle: ArrayLike<number>, from = 0): number {
  const first = needle[0];
  for (let i = hay.indexOf(first, from); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(first, i + 1)) {
    if (startsWith(hay, needle, i)) return i;
  }
  return -1;
}

export interface KernelRelease {
  /** uname -r, e.g. "6.1.0-47-cloud-amd64". */
  release: string;
  /** The upstream version the build is of, e.g. "6.1.170", when the banner tells it. */
  version?: string;
  /** The string it came from: the bzImage kernel_version, or the vmlinux "Linux version" banner. */
  banner: string;
}

export const LINUX_VERSION = Array.from('Linux version ', (c) => c.charCodeAt(0));

/**
 * Parses "<release> (<builder>) ... #<uts version>", with or without a leading "Linux version ".
 * The version is the last x.y.z in the UTS version ("#1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3
 * (2026-04-04)", "#40-Ubuntu SMP ... (Ubuntu 6.8.0-40.40-generic 6.8.12)"), else the release's.
 */
export function parseBanner(banner: string): KernelRelease | undefined {
  const text = banner.replace(/^Linux version /, '').trim();
  const release = text.split(/\s/, 1)[0];
  if (!/^\d+\.\d+/.test(release)) return undefined;
  const hash = text.indexOf('#');
  const uts = hash >= 0 ? text.slice(hash) : '';
  const versions = uts.match(/\b\d+\.\d+\.\d+\b/g);
  const version = versions?.[versions.length - 1] ?? release.match(/^\d+\.\d+(\.\d+)?/)?.[0];
  return { release, version, banner: banner.trim() };
}

/** The first "Linux version <digit>..." banner in `bytes`, up to its NUL or newline. */
export function findBanner(bytes: Uint8Array, from = 0): string | undefined {
  for (let at = indexOf(bytes, LINUX_VERSION, from); at >= 0; at = indexOf(bytes, LINUX_VERSION, at + 1)) {
    const d = bytes[at + LINUX_VERSION.length];
    if (d >= 0x30 && d <= 0x39) return cString(bytes, at, 1024).split('\n', 1)[0];
  }
  return undefined;
}

/**
 * The kernel release of a bzImage (its kernel_version string) or of a vmlinux ELF or any image
 * holding the banner (e.g. the decompressed kernel). Undefined when neither is found.
 */
export function detectRelease(bytes: Uint8Array): KernelRelease | undefined {
  if (isBzImage(bytes)) {
    const kv = readBzImageHeader(bytes).kernelVersion;
    const r = kv ? parseBanner(kv) : undefined;
    if (r) return r;
  }
  const banner = findBanner(bytes);
  return banner ? parseBanner(banner) : undefined;
}

/**
 * The release of a vmlinux ELF from its "Linux version" banner (linux_banner, in .rodata), read
 * in 1 MiB pieces from the start of .rodata so a file-backed vmlinux is not read whole.
 */
export function releaseFromVmlinux(src: ByteSource, elf: ElfFile): KernelRelease | undefined {
  const rodata = findSection(elf, '.rodata');
  if (!rodata || rodata.type === SHT_NOBITS || rodata.offset > src.size) return undefined;
  const end = Math.min(src.size, rodata.offset + rodata.size);
  const piece = 1 << 20;
  const overlap = 1024;
  for (let at = rodata.offset; at < end; at += piece) {
    const bytes = src.read(at, Math.min(piece + overlap, end - at));
    const banner = findBanner(bytes);
    if (banner) return parseBanner(banner);
  }
  return undefined;
}
