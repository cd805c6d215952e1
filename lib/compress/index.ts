/**
 * Decompression for btfcheck's inputs (.ko.xz/.zst/.gz, compressed BTF, bzImage payloads), with
 * limits checked before memory grows. Pure: no Node APIs; the xz decoder is injected by the caller.
 */
import { InputError } from '../errors.js';
import { Compression, detectCompression } from './detect.js';
import { DecompressLimits, formatSize, withDefaults } from './limits.js';
import { decompressLz4Frame, decompressLz4Legacy } from './lz4.js';
import { AsyncXzDecoder, decompressXz, decompressXzAsync, XzDecoder } from './xz.js';

export { COMPRESSION_MAGICS, detectCompression } from './detect.js';
export type { Compression, UnsupportedCompression } from './detect.js';
export { BudgetError, DecodeBudget, DEFAULT_BASE_LIMITS, DEFAULT_LIMITS, formatSize, formatTime, withBaseDefaults, withDefaults } from './limits.js';
export type { BaseLimits, DecompressLimits } from './limits.js';
// Streaming (lib/compress/stream.ts) is imported from its own module, not re-exported here.
export { xzInfo } from './xz.js';
export type { AsyncXzDecoder, XzDecoder } from './xz.js';

type Decoder = (bytes: Uint8Array, limits: DecompressLimits, sizeHint?: number) => Uint8Array;
const loaded: { gzip?: Decoder; zstd?: Decoder } = {};

/**
 * Loads the pure-JS gzip and zstd decoders. They are imported on demand because loading fflate
 * alone takes longer than the rest of a one-module check: the async functions here load them
 * when they meet gzip or zstd; a caller of the sync functions awaits this once first.
 */
export async function loadDecoders(): Promise<void> {
  loaded.gzip ??= (await import('./gzip.js')).decompressGzip;
  loaded.zstd ??= (await import('./zstd.js')).decompressZstd;
}

function decoder(name: 'gzip' | 'zstd'): Decoder {
  const d = loaded[name];
  // A programming error, not the user's: the sync API needs loadDecoders() awaited first.
  if (!d) throw new Error(`${name} decoder not loaded: await loadDecoders() before decompressing synchronously`);
  return d;
}

export interface DecompressOptions {
  /** Decodes a whole xz stream; required for xz input (lib/ has no LZMA decoder of its own). */
  xz?: XzDecoder;
  /** Off-thread xz decoder, preferred by the async functions when given. */
  xzAsync?: AsyncXzDecoder;
  limits?: Partial<DecompressLimits>;
  /**
   * The exact decompressed size when known from outside the data (a bzImage's size trailer).
   * The output must match it; zstd uses it to avoid a second pass over frames without a size.
   */
  sizeHint?: number;
}

/** Decompresses `bytes` as `compression`, within the limits. */
export function decompressAs(bytes: Uint8Array, compression: Compression, options: DecompressOptions = {}): Uint8Array {
  const limits = withDefaults(options.limits);
  const out = decode(bytes, compression, options, limits);
  if (options.sizeHint !== undefined && out.length !== options.sizeHint) {
    throw new InputError(`${compression} data decodes to ${formatSize(out.length)}, expected ${formatSize(options.sizeHint)}`);
  }
  return out;
}

function decode(bytes: Uint8Array, compression: Compression, options: DecompressOptions, limits: DecompressLimits): Uint8Array {
  switch (compression) {
    case 'xz':
      if (!options.xz) throw new InputError('xz data, but no xz decoder is available here');
      return decompressXz(bytes, options.xz, limits);
    case 'zstd': return decoder('zstd')(bytes, limits, options.sizeHint);
    case 'gzip': return decoder('gzip')(bytes, limits);
    case 'lz4-legacy': return decompressLz4Legacy(bytes, limits);
    case 'lz4': return decompressLz4Frame(bytes, limits);
  }
}

/**
 * Decompresses `bytes` if they start with a known compression magic. Returns the compression
 * (undefined: the bytes were not compressed and are returned as they are).
 */
export function maybeDecompress(bytes: Uint8Array, options: DecompressOptions = {}): { data: Uint8Array; compression?: Compression } {
  const c = detectCompression(bytes);
  if (c === undefined) return { data: bytes };
  if (c === 'bzip2' || c === 'lzo') throw new InputError(`${c}-compressed data is not supported (use xz, zstd, gzip or lz4)`);
  return { data: decompressAs(bytes, c, options), compression: c };
}

/** As maybeDecompress; xz goes to `options.xzAsync` when given, so several files can overlap. */
export async function maybeDecompressAsync(bytes: Uint8Array, options: DecompressOptions = {}): Promise<{ data: Uint8Array; compression?: Compression }> {
  const c = detectCompression(bytes);
  if (c === 'gzip' || c === 'zstd') await loadDecoders();
  if (c !== 'xz' || !options.xzAsync) return maybeDecompress(bytes, options);
  const data = await decompressXzAsync(bytes, options.xzAsync, withDefaults(options.limits));
  if (options.sizeHint !== undefined && data.length !== options.sizeHint) {
    throw new InputError(`xz data decodes to ${formatSize(data.length)}, expected ${formatSize(options.sizeHint)}`);
  }
  return { data, compression: 'xz' };
}
