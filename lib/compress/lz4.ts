/**
 * LZ4: the legacy frame (`lz4 -l`, magic 0x184C2102) that the kernel uses for bzImage payloads,
 * and the standard frame (magic 0x184D2204).
 *
 * The block decoder is our own rather than lz4js.decompressBlock: lz4js writes through unchecked
 * indices (writes past the buffer are silently dropped, a match offset before the start reads as
 * 0), so a corrupt block decodes to wrong bytes without an error, and a hostile block can spin for
 * up to 255 output bytes per input byte. Here every literal run and match is checked against the
 * input, the window and the block's output capacity, and copies use TypedArray.set/copyWithin.
 */
import { InputError } from '../errors.js';
import { checkOutputSize, DecompressLimits, formatSize } from './limits.js';

/** Uncompressed size of every legacy block but the last (LZ4_LEGACY_BLOCKSIZE). */
const LEGACY_BLOCK_SIZE = 8 << 20;
const LEGACY_MAGIC = 0x184c2102;
const FRAME_MAGIC = 0x184d2204;
/** Largest compressed size of one legacy block (LZ4_compressBound of 8 MiB). */
const LEGACY_MAX_COMPRESSED = LEGACY_BLOCK_SIZE + Math.floor(LEGACY_BLOCK_SIZE / 255) + 16;

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/**
 * Decodes one LZ4 block `src[start, end)` into `dst` at `dstStart`, writing at most up to
 * `dstLimit`; the window (for match offsets) starts at `windowStart`. Returns the new output end.
 */
export function decodeLz4Block(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstStart: number, dstLimit: number, windowStart = 0): number {
  let s = start;
  let d = dstStart;
  const corrupt = (what: string): never => { throw new InputError(`corrupt lz4 block: ${what}`); };
  while (s < end) {
    const token = src[s++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do { if (s >= end) corrupt('literal length runs past the block'); b = src[s++]; literals += b; } while (b === 255);
    }
    if (literals > end - s) corrupt('literals run past the block');
    if (literals > dstLimit - d) corrupt(`output exceeds the block's ${formatSize(dstLimit - dstStart)}`);
    dst.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s >= end) break; // the last sequence has literals only
    if (end - s < 2) corrupt('match offset runs past the block');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    if (offset === 0 || offset > d - windowStart) corrupt(`match offset ${offset} points before the start of the data`);
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do { if (s >= end) corrupt('match length runs past the block'); b = src[s++]; length += b; } while (b === 255);
    }
    length += 4;
    if (length > dstLimit - d) corrupt(`output exceeds the block's ${formatSize(dstLimit - dstStart)}`);
    if (offset >= length) {
      dst.copyWithin(d, d - offset, d - offset + length);
      d += length;
    } else {
      // Overlapping match (a run): byte by byte, as the format defines.
      for (let i = 0; i < length; i++, d++) dst[d] = dst[d - offset];
    }
  }
  return d;
}

/**
 * Decodes a legacy LZ4 stream: the magic, then blocks of (u32 compressed size, data), each at most
 * 8 MiB uncompressed. The stream has no end marker: it ends at the end of the input, at a 4-byte
 * tail (the kernel appends the uncompressed size to bzImage payloads), or where a block size is
 * implausible (trailing data when the payload was found by scanning). Memory grows one checked
 * 8 MiB block at a time.
 */
export function decompressLz4Legacy(input: Uint8Array, limits: DecompressLimits): Uint8Array {
  let out = new Uint8Array(0);
  let total = 0;
  streamLz4Legacy(input, limits, (block) => {
    if (out.length - total < block.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, total + LEGACY_BLOCK_SIZE, 4 * LEGACY_BLOCK_SIZE));
      grown.set(out.subarray(0, total));
      out = grown;
    }
    out.set(block, total);
    total += block.length;
  });
  // Doubling can leave up to half the buffer unused; hand back a tight copy when it is much larger.
  return out.length - total > total / 4 ? out.slice(0, total) : out.subarray(0, total);
}

/** The legacy stream's blocks: [offset, size] of each block's data, without decoding. */
function legacyBlocks(input: Uint8Array): Array<[number, number]> {
  if (input.length < 4 || u32(input, 0) !== LEGACY_MAGIC) throw new InputError('not lz4 legacy data: bad magic');
  const blocks: Array<[number, number]> = [];
  let at = 4;
  while (input.length - at >= 4) {
    const size = u32(input, at);
    if (size === LEGACY_MAGIC) { at += 4; continue; } // concatenated legacy streams
    if (size === 0 || size > LEGACY_MAX_COMPRESSED || size > input.length - at - 4) {
      if (blocks.length === 0) throw new InputError(`corrupt lz4 legacy data: first block size ${size} does not fit the ${input.length}-byte input`);
      break;
    }
    blocks.push([at + 4, size]);
    at += 4 + size;
  }
  if (blocks.length === 0) throw new InputError('lz4 legacy data holds no blocks');
  return blocks;
}

/** Most a legacy stream can produce: each block at most 8 MiB, and at most 255 bytes per input byte. */
export function lz4LegacyBound(input: Uint8Array): number {
  return legacyBlocks(input).reduce((n, [, size]) => n + Math.min(LEGACY_BLOCK_SIZE, size * 255 + 255), 0);
}

/**
 * Decodes a legacy LZ4 stream block by block into one reused 8 MiB buffer, handing each decoded
 * block to `sink` (valid only during the call; return false to stop). `onOutput` sees the running
 * total after each block and may throw. Returns the number of bytes produced.
 */
export function streamLz4Legacy(input: Uint8Array, limits: DecompressLimits, sink: (chunk: Uint8Array) => boolean | void, onOutput?: (total: number, added: number) => void): number {
  const blocks = legacyBlocks(input);
  let buf: Uint8Array | undefined;
  let total = 0;
  for (const [at, size] of blocks) {
    // Check before decoding: the next block can add at most LEGACY_BLOCK_SIZE bytes.
    checkOutputSize('lz4', 'would produce', total + Math.min(LEGACY_BLOCK_SIZE, size * 255 + 255), input.length, limits);
    buf ??= new Uint8Array(LEGACY_BLOCK_SIZE);
    // Legacy blocks are independent: matches may not reach into the previous block.
    const n = decodeLz4Block(input, at, at + size, buf, 0, LEGACY_BLOCK_SIZE, 0);
    total += n;
    onOutput?.(total, n);
    if (sink(buf.subarray(0, n)) === false) break;
  }
  return total;
}

const FRAME_BLOCK_SIZES: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };

/**
 * Decodes LZ4 frames (lz4 CLI default format). Checksums are not verified: the BTF inside carries
 * its own structure checks. Blocks are decoded into one buffer so that linked blocks can refer
 * back into earlier output.
 */
export function decompressLz4Frame(input: Uint8Array, limits: DecompressLimits): Uint8Array {
  // First pass: walk the frame structure to bound the output before allocating it.
  const frames: Array<{ blocksAt: number; blockMax: number; blockSum: boolean; contentSum: boolean }> = [];
  let bound = 0;
  let at = 0;
  const truncated = (): never => { throw new InputError('truncated lz4 frame'); };
  while (at < input.length) {
    if (input.length - at < 4) truncated();
    const magic = u32(input, at);
    if ((magic & 0xfffffff0) === 0x184d2a50) { // skippable frame
      if (input.length - at < 8) truncated();
      at += 8 + u32(input, at + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) {
      if (frames.length) break; // trailing data after the last frame
      throw new InputError('not an lz4 frame: bad magic');
    }
    if (input.length - at < 7) truncated();
    const flg = input[at + 4];
    const bd = input[at + 5];
    if ((flg >> 6) !== 1) throw new InputError(`unsupported lz4 frame version ${flg >> 6}`);
    if (flg & 1) throw new InputError('lz4 frames with a dictionary are not supported');
    const blockMax = FRAME_BLOCK_SIZES[(bd >> 4) & 7];
    if (!blockMax) throw new InputError(`bad lz4 block size code ${(bd >> 4) & 7}`);
    const blockSum = (flg & 0x10) !== 0;
    const contentSum = (flg & 0x04) !== 0;
    at += 6 + ((flg & 0x08) ? 8 : 0) + 1;
    frames.push({ blocksAt: at, blockMax, blockSum, contentSum });
    for (;;) {
      if (input.length - at < 4) truncated();
      const word = u32(input, at);
      at += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > input.length - at) truncated();
      bound += (word & 0x80000000) ? size : blockMax;
      at += size + (blockSum ? 4 : 0);
      checkOutputSize('lz4', 'may produce', bound, input.length, limits);
    }
    if (contentSum) at += 4;
  }
  const out = new Uint8Array(bound);
  let d = 0;
  for (const f of frames) {
    const frameStart = d;
    at = f.blocksAt;
    for (;;) {
      const word = u32(input, at);
      at += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (word & 0x80000000) {
        out.set(input.subarray(at, at + size), d);
        d += size;
      } else {
        d = decodeLz4Block(input, at, at + size, out, d, d + f.blockMax, frameStart);
      }
      at += size + (f.blockSum ? 4 : 0);
    }
  }
  return out.subarray(0, d);
}
