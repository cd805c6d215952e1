/**
 * Streaming decompression for large inputs (a bzImage payload, a compressed vmlinux or base BTF):
 * output goes to a sink piece by piece instead of into one buffer, so the caller keeps only what it
 * needs (the .BTF of a 60-80 MB vmlinux). Every format is first bounded from its own structure
 * (zstd block headers, xz LZMA2 chunk headers, lz4 block sizes, gzip's ISIZE) against the shared
 * DecodeBudget, then decoded with the bytes and the time counted as they come.
 *
 * Pure: no Node APIs. The fast zstd decoder is injected (cmd/io/zstd.ts: node's zlib where it has
 * zstd, else WebAssembly); without one, the pure-JS decoder runs and its output is handed over in
 * slices.
 */
import { InputError } from '../errors.js';
import { Compression } from './detect.js';
import { checkOutputSize, DecodeBudget, DecompressLimits, formatSize } from './limits.js';
import { decompressLz4Frame, lz4LegacyBound, streamLz4Legacy } from './lz4.js';
import { AsyncXzDecoder, decompressXz, decompressXzAsync, unfilterX86, xzFirstChunk, xzFirstStream, xzInfo, XzDecoder } from './xz.js';
import { checkEndsWithLastFrame, zstdFrames } from './zstd-frames.js';

/**
 * Receives decoded output in order. A piece is valid only during the call (decoders may reuse
 * their buffers): copy what you keep. Return false to stop decoding.
 */
export type Sink = ((chunk: Uint8Array) => boolean | void) & {
  /**
   * Optional: all of the output in one call, from decoders that hold it whole anyway (the zstd
   * addon, xz, lz4 frames) — instead of slices, so a sink can read what it needs where the data
   * says it is rather than watch every byte go by. Called at most once, in place of every slice.
   */
  whole?: (all: Uint8Array) => boolean | void;
};

/**
 * A streaming zstd decoder. `pieces` are consecutive parts of whole zstd frames (the frames as
 * walked, each split before its content checksum): decode them as one stream, handing output to
 * `sink` in order, and resolve when all is decoded or `sink` returned false. On corrupt data,
 * reject with a ZstdStreamError naming the piece being decoded. An exception thrown by `sink` must
 * reach the caller unchanged. The decoder verifies content checksums itself.
 */
export interface ZstdStreamDecoder {
  readonly name: string;
  decode(pieces: Uint8Array[], sink: Sink): Promise<void>;
}

export class ZstdStreamError extends Error {
  constructor(message: string, readonly piece: number) {
    super(message);
    this.name = 'ZstdStreamError';
  }
}

export interface StreamOptions {
  /** Whole-stream xz decoders (lib/ has no LZMA2 decoder of its own); xzAsync is preferred. */
  xz?: XzDecoder;
  xzAsync?: AsyncXzDecoder;
  /** Streaming zstd decoder; without it, the pure-JS decoder (slow on large inputs). */
  zstd?: ZstdStreamDecoder;
  /** Bytes and time for this base, shared by every candidate tried. */
  budget: DecodeBudget;
  /** Expansion-ratio limit (maxOutput is taken from the budget). */
  limits: Pick<DecompressLimits, 'maxRatio' | 'ratioFloor'>;
  /** The exact output size when known from outside the data (a bzImage's size trailer). */
  sizeHint?: number;
  /** The input is a whole file: nothing may follow its last zstd frame (see zstd.ts). */
  wholeFile?: boolean;
}

export interface StreamResult {
  /** Bytes decoded (and handed to the sink). */
  total: number;
  /** False when the sink stopped the decoding early. */
  complete: boolean;
}

/** Slices handed to the sink by the decoders that produce one buffer (xz, lz4 frames, fallback zstd). */
const SLICE = 1 << 20;

/**
 * Decodes `input` as `compression`, handing the output to `sink`. Throws InputError on corrupt
 * data, on a limit, or when the output length differs from `sizeHint`.
 */
export async function decodeStream(input: Uint8Array, compression: Compression, options: StreamOptions, sink: Sink): Promise<StreamResult> {
  const { budget } = options;
  const limits: DecompressLimits = { ...options.limits, maxOutput: budget.remaining };
  let total = 0;
  let complete = true;
  /** Counts output against the ratio and the budget, then hands it to `to` (the sink, or its whole()). */
  const handOn = (to: (bytes: Uint8Array) => boolean | void, bytes: Uint8Array): boolean => {
    total += bytes.length;
    checkOutputSize(compression === 'lz4-legacy' ? 'lz4' : compression, 'would produce', total, input.length, { ...limits, maxOutput: Infinity });
    budget.spend(compression === 'lz4-legacy' ? 'lz4' : compression, bytes.length);
    if (to(bytes) === false) { complete = false; return false; }
    return true;
  };
  const counted: Sink & ((chunk: Uint8Array) => boolean) = (chunk) => handOn(sink, chunk);
  const whole = sink.whole;
  if (whole) counted.whole = (all) => handOn(whole, all);
  const sliced = (out: Uint8Array): void => {
    // Output that follows a first look (xz's peek) goes in slices: `whole` is all of it or nothing.
    if (counted.whole && total === 0 && out.length > 0) { counted.whole(out); return; }
    if (out.length === 0) counted(out);
    for (let at = 0; at < out.length; at += SLICE) if (!counted(out.subarray(at, Math.min(out.length, at + SLICE)))) break;
  };
  budget.checkTime(compression);
  switch (compression) {
    case 'zstd': await streamZstd(input, options, limits, counted, sliced); break;
    case 'xz': {
      // The exact output size, from the LZMA2 chunk headers, before the decoder runs.
      const info = xzInfo(input);
      budget.fits('xz data', 'holds', info.uncompressedSize);
      checkOutputSize('xz', 'holds', info.uncompressedSize, input.length, limits);
      if (!options.xzAsync && !options.xz) throw new InputError('xz data, but no xz decoder is available here');
      // The decoder takes whole streams: first decode only the first chunk and show its first
      // bytes to the sink, which refuses data that is not what it wants (no ELF, no BTF) at the
      // cost of 2 MiB instead of the whole stream.
      let delivered = 0;
      const peek: { stream: Uint8Array; size: number; x86Start?: number } | undefined = xzFirstChunk(input, info) ?? xzFirstStream(input, info);
      if (peek) {
        let head: Uint8Array;
        try {
          head = options.xzAsync ? await options.xzAsync(peek.stream) : options.xz!(peek.stream);
        } catch (e) {
          throw new InputError(`corrupt xz data: ${(e as Error).message}`);
        }
        if (head.length !== peek.size) throw new InputError(`corrupt xz data: the first chunk decodes to ${head.length} bytes, its header says ${peek.size}`);
        if (peek.x86Start !== undefined) unfilterX86(head, peek.x86Start);
        // BCJ looks up to 4 bytes ahead: the last bytes of the chunk wait for the whole.
        delivered = Math.max(0, Math.min(head.length - 8, 64 << 10));
        if (delivered && !counted(head.subarray(0, delivered))) break;
      }
      const out = options.xzAsync ? await decompressXzAsync(input, options.xzAsync, limits) : decompressXz(input, options.xz!, limits);
      sliced(out.subarray(delivered));
      break;
    }
    case 'gzip':
      // Loaded on demand, as in index.ts: fflate costs more to load than a one-module check.
      (await import('./gzip.js')).streamGzip(input, limits, (chunk) => counted(chunk));
      break;
    case 'lz4-legacy': {
      budget.fits('lz4 data', 'may produce', lz4LegacyBound(input));
      streamLz4Legacy(input, limits, (chunk) => counted(chunk));
      break;
    }
    case 'lz4': sliced(decompressLz4Frame(input, limits)); break;
  }
  if (complete && options.sizeHint !== undefined && total !== options.sizeHint) {
    throw new InputError(`${compression} data decodes to ${formatSize(total)}, expected ${formatSize(options.sizeHint)}`);
  }
  return { total, complete };
}

const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

async function streamZstd(input: Uint8Array, options: StreamOptions, limits: DecompressLimits, counted: Sink, sliced: (out: Uint8Array) => void): Promise<void> {
  const { frames, end } = zstdFrames(input);
  if (options.wholeFile) checkEndsWithLastFrame(input, end);
  const bound = frames.reduce((n, f) => n + f.bound, 0);
  const declared = frames.every((f) => f.contentSize !== undefined);
  options.budget.fits('zstd data', declared ? 'declares' : 'may produce', bound);
  checkOutputSize('zstd', declared ? 'declares' : 'may produce', bound, input.length, limits);
  if (options.sizeHint !== undefined && options.sizeHint > bound) {
    throw new InputError(`corrupt zstd data: expected ${formatSize(options.sizeHint)}, its blocks hold at most ${formatSize(bound)}`);
  }
  if (!options.zstd) {
    sliced((await import('./zstd.js')).decompressZstd(input.subarray(0, end), limits, options.sizeHint));
    return;
  }
  // Each frame in two pieces, the content checksum apart: a decoder that fails on the last piece
  // of a frame failed on its checksum (all the content decoded), so it is named as a mismatch.
  const pieces: Uint8Array[] = [];
  const checksumOf: Array<number | undefined> = [];
  frames.forEach((f, k) => {
    if (f.checksumAt === undefined) {
      pieces.push(input.subarray(f.start, f.end));
      checksumOf.push(undefined);
    } else {
      pieces.push(input.subarray(f.start, f.checksumAt), input.subarray(f.checksumAt, f.end));
      checksumOf.push(undefined, k);
    }
  });
  try {
    await options.zstd.decode(pieces, counted);
  } catch (e) {
    if (!(e instanceof ZstdStreamError)) throw e; // ours (a limit), or the sink's
    const k = checksumOf[e.piece];
    if (k !== undefined) {
      const stored = (input[frames[k].checksumAt!] | (input[frames[k].checksumAt! + 1] << 8) | (input[frames[k].checksumAt! + 2] << 16) | (input[frames[k].checksumAt! + 3] << 24)) >>> 0;
      const which = frames.length > 1 ? ` of frame ${k + 1}` : '';
      throw new InputError(`corrupt zstd data: checksum mismatch (XXH64${which} ${hex(stored)} stored, the content's differs)`);
    }
    throw new InputError(`corrupt zstd data: ${e.message}`);
  }
}
