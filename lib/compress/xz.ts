/**
 * xz: a structural walk in pure JS, then an injected decoder for the LZMA2 work (lib/ stays free of
 * Node APIs; cmd/io passes @napi-rs/lzma).
 *
 * The guarantee against bombs does not rest on the xz index, which a hostile file can fake. LZMA2
 * data is a sequence of chunks whose 3-6 byte headers state each chunk's exact uncompressed size
 * (at most 2 MiB) and compressed size, and a conforming decoder produces exactly that many bytes
 * per chunk. (lzma-rs, behind @napi-rs/lzma, stops a chunk at its stated size, overshooting by at
 * most one match of 273 bytes, and fails: "Expected unpacked size of 100 but decompressed to 274";
 * test/inputs.test.ts checks this.) Walking the chunk headers, without decoding, yields the exact output size
 * of every block. It is checked against the limits before the decoder runs, checked against the
 * index and any sizes in the block headers (a mismatch is refused as corrupt), and the decoder's
 * output length is checked against it afterwards. So the decoder is only ever handed a stream
 * whose output we know and accept; a lying index is refused, not trusted.
 *
 * Blocks filtered with BCJ x86 (as the kernel compresses xz bzImage payloads) are rewritten into
 * a plain-LZMA2 stream for the decoder (which may not know BCJ), then unfiltered here, and their
 * CRC32/CRC64 check is verified here since the decoder never saw the original check.
 */
import { InputError } from '../errors.js';
import { crc32, crc64 } from './crc.js';
import { checkOutputSize, DecompressLimits, formatSize } from './limits.js';

/** Decodes one complete xz stream (possibly several concatenated) to its bytes. */
export type XzDecoder = (xz: Uint8Array) => Uint8Array;

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FILTER_LZMA2 = 0x21;
const FILTER_X86 = 0x04;
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

export interface XzBlock {
  /** Offset of the block header in the input. */
  headerAt: number;
  headerSize: number;
  /** Offset and length of the LZMA2 data. */
  dataAt: number;
  dataSize: number;
  /** Exact uncompressed size, from the LZMA2 chunk headers. */
  uncompressedSize: number;
  /** LZMA2 dictionary-size property byte. */
  dictProp: number;
  /** BCJ x86 start offset, when the block is BCJ-filtered. */
  x86Start?: number;
  checkType: number;
  /** Offset of the check field (after the block padding). */
  checkAt: number;
}

export interface XzInfo {
  blocks: XzBlock[];
  /** Sum of the blocks' uncompressed sizes. */
  uncompressedSize: number;
  /** End of the last stream (and its padding) in the input. */
  end: number;
  /** [start, end) of each stream: decoders may not take concatenated streams (lzma-rs does not). */
  streams: Array<[number, number]>;
}

const corrupt = (what: string): never => { throw new InputError(`corrupt xz data: ${what}`); };

/** Reads a multibyte integer (xz VLI) at `at`; returns [value, next offset]. */
function vli(b: Uint8Array, at: number, end: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    if (at >= end) corrupt('truncated integer');
    const byte = b[at++];
    v += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) return [v, at];
  }
  return corrupt('integer too long');
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** Walks LZMA2 chunk headers from `at`; returns the end of the data and its uncompressed size. */
function walkLzma2(b: Uint8Array, at: number): { end: number; size: number } {
  let size = 0;
  for (;;) {
    if (at >= b.length) corrupt('LZMA2 data runs past the end of the input');
    const c = b[at];
    if (c === 0x00) return { end: at + 1, size };
    if (c === 0x01 || c === 0x02) {
      if (b.length - at < 3) corrupt('truncated LZMA2 chunk header');
      const n = ((b[at + 1] << 8) | b[at + 2]) + 1;
      at += 3 + n;
      size += n;
    } else if (c >= 0x80) {
      const headerLen = c >= 0xc0 ? 6 : 5;
      if (b.length - at < headerLen) corrupt('truncated LZMA2 chunk header');
      const unpacked = ((c & 0x1f) << 16) + ((b[at + 1] << 8) | b[at + 2]) + 1;
      const packed = ((b[at + 3] << 8) | b[at + 4]) + 1;
      at += headerLen + packed;
      size += unpacked;
    } else {
      corrupt(`bad LZMA2 chunk control byte 0x${c.toString(16)} at offset ${at}`);
    }
  }
}

/** Walks the whole input: stream headers, every block (down to LZMA2 chunks), indexes, footers. */
export function xzInfo(b: Uint8Array): XzInfo {
  const blocks: XzBlock[] = [];
  let total = 0;
  let at = 0;
  let streams = 0;
  let end = 0;
  const spans: Array<[number, number]> = [];
  while (at < b.length) {
    if (streams > 0) { // stream padding: zero bytes in multiples of four
      while (at + 4 <= b.length && u32(b, at) === 0) at += 4;
      end = at;
      if (at === b.length) break;
    }
    if (b.length - at < 12 || !XZ_MAGIC.every((m, i) => b[at + i] === m)) {
      if (streams === 0) throw new InputError('not xz data: bad magic');
      break; // trailing data after the last stream (as when a payload was found by scanning)
    }
    const streamStart = at;
    if (crc32(b, at + 6, at + 8) !== u32(b, at + 8)) corrupt('stream header CRC32 mismatch');
    const flags = b[at + 7];
    if (b[at + 6] !== 0 || flags > 0x0f) corrupt('unsupported stream flags');
    const checkType = flags;
    const checkSize = CHECK_SIZES[checkType];
    at += 12;
    const streamBlocks: XzBlock[] = [];
    // Blocks, until the index indicator (a zero header-size byte).
    for (;;) {
      if (at >= b.length) corrupt('truncated stream');
      if (b[at] === 0) break;
      const headerAt = at;
      const headerSize = (b[at] + 1) * 4;
      if (b.length - at < headerSize) corrupt('truncated block header');
      if (crc32(b, at, at + headerSize - 4) !== u32(b, at + headerSize - 4)) corrupt('block header CRC32 mismatch');
      const hEnd = at + headerSize - 4;
      const bflags = b[at + 1];
      if (bflags & 0x3c) corrupt('reserved block flags set');
      let p = at + 2;
      let declaredCompressed: number | undefined, declaredUncompressed: number | undefined;
      if (bflags & 0x40) [declaredCompressed, p] = vli(b, p, hEnd);
      if (bflags & 0x80) [declaredUncompressed, p] = vli(b, p, hEnd);
      const nFilters = (bflags & 3) + 1;
      let dictProp = -1;
      let x86Start: number | undefined;
      for (let i = 0; i < nFilters; i++) {
        let id: number, propSize: number;
        [id, p] = vli(b, p, hEnd);
        [propSize, p] = vli(b, p, hEnd);
        if (propSize > hEnd - p) corrupt('filter properties run past the block header');
        const last = i === nFilters - 1;
        if (id === FILTER_LZMA2 && last && propSize === 1) {
          dictProp = b[p];
          if (dictProp > 40) corrupt(`bad LZMA2 dictionary size ${dictProp}`);
        } else if (id === FILTER_X86 && !last && x86Start === undefined && (propSize === 0 || propSize === 4)) {
          x86Start = propSize === 4 ? u32(b, p) : 0;
        } else {
          throw new InputError(`unsupported xz filter chain (filter 0x${id.toString(16)}): only LZMA2, optionally after BCJ x86, is supported`);
        }
        p += propSize;
      }
      if (dictProp < 0) corrupt('block has no LZMA2 filter');
      for (; p < hEnd; p++) if (b[p] !== 0) corrupt('non-zero block header padding');
      const dataAt = headerAt + headerSize;
      const { end, size } = walkLzma2(b, dataAt);
      const dataSize = end - dataAt;
      if (declaredCompressed !== undefined && declaredCompressed !== dataSize) corrupt(`block header says ${declaredCompressed} compressed bytes, its data holds ${dataSize}`);
      if (declaredUncompressed !== undefined && declaredUncompressed !== size) corrupt(`block header says ${declaredUncompressed} uncompressed bytes, its data holds ${size}`);
      const checkAt = dataAt + ((dataSize + 3) & ~3);
      if (checkAt + checkSize > b.length) corrupt('truncated block');
      streamBlocks.push({ headerAt, headerSize, dataAt, dataSize, uncompressedSize: size, dictProp, x86Start, checkType, checkAt });
      total += size;
      at = checkAt + checkSize;
    }
    // The index must list exactly the blocks just walked.
    const indexAt = at;
    let count: number;
    [count, at] = vli(b, at + 1, b.length);
    if (count !== streamBlocks.length) corrupt(`index lists ${count} blocks, the stream holds ${streamBlocks.length}`);
    for (const blk of streamBlocks) {
      let unpadded: number, uncompressed: number;
      [unpadded, at] = vli(b, at, b.length);
      [uncompressed, at] = vli(b, at, b.length);
      const actualUnpadded = blk.headerSize + blk.dataSize + checkSize;
      if (unpadded !== actualUnpadded) corrupt(`index says a block holds ${unpadded} bytes, it holds ${actualUnpadded}`);
      if (uncompressed !== blk.uncompressedSize) {
        corrupt(`index says a block decompresses to ${formatSize(uncompressed)}, its LZMA2 chunks hold ${formatSize(blk.uncompressedSize)}`);
      }
    }
    at = (at + 3) & ~3;
    if (at + 4 + 12 > b.length) corrupt('truncated index or stream footer');
    if (crc32(b, indexAt, at) !== u32(b, at)) corrupt('index CRC32 mismatch');
    at += 4;
    // Stream footer: CRC32, backward size, flags, 'YZ'.
    if (b[at + 10] !== 0x59 || b[at + 11] !== 0x5a) corrupt('bad stream footer magic');
    if (b[at + 9] !== checkType) corrupt('stream footer flags differ from the header');
    at += 12;
    blocks.push(...streamBlocks);
    streams++;
    end = at;
    spans.push([streamStart, at]);
  }
  return { blocks, uncompressedSize: total, end, streams: spans };
}

/** The BCJ x86 decoder (xz's simple/x86.c), in place over one block's output. */
export function unfilterX86(buf: Uint8Array, startOffset: number): void {
  const allowed = [true, true, true, false, true, false, false, false];
  const bitNumber = [0, 1, 2, 2, 3, 3, 3, 3];
  const msb = (x: number) => x === 0 || x === 0xff;
  let prevMask = 0;
  const nowPos = startOffset >>> 0;
  let prevPos = (nowPos - 5) >>> 0;
  if (buf.length < 5) return;
  const limit = buf.length - 5;
  let pos = 0;
  while (pos <= limit) {
    let b = buf[pos];
    if (b !== 0xe8 && b !== 0xe9) { pos++; continue; }
    const offset = ((nowPos + pos) - prevPos) >>> 0;
    prevPos = (nowPos + pos) >>> 0;
    if (offset > 5) prevMask = 0;
    else for (let i = 0; i < offset; i++) { prevMask &= 0x77; prevMask <<= 1; }
    b = buf[pos + 4];
    if (msb(b) && allowed[(prevMask >>> 1) & 7] && (prevMask >>> 1) < 0x10) {
      let src = ((b << 24) | (buf[pos + 3] << 16) | (buf[pos + 2] << 8) | buf[pos + 1]) >>> 0;
      let dest: number;
      for (;;) {
        dest = (src - ((nowPos + pos + 5) >>> 0)) >>> 0;
        if (prevMask === 0) break;
        const i = bitNumber[prevMask >>> 1];
        b = (dest >>> (24 - i * 8)) & 0xff;
        if (!msb(b)) break;
        src = (dest ^ (2 ** (32 - i * 8) - 1)) >>> 0;
      }
      buf[pos + 4] = ((dest >>> 24) & 1) ? 0xff : 0;
      buf[pos + 3] = (dest >>> 16) & 0xff;
      buf[pos + 2] = (dest >>> 8) & 0xff;
      buf[pos + 1] = dest & 0xff;
      pos += 5;
      prevMask = 0;
    } else {
      pos++;
      prevMask |= 1;
      if (msb(b)) prevMask |= 0x10;
    }
  }
}

function writeVli(out: number[], v: number): void {
  while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
  out.push(v);
}

function pushU32(out: number[], v: number): void {
  out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

/** One single-stream, check-less, plain-LZMA2 xz stream holding the given blocks' data. */
function plainLzma2Stream(input: Uint8Array, blocks: XzBlock[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const header = [...XZ_MAGIC, 0, 0];
  pushU32(header, crc32(Uint8Array.from(header.slice(6, 8))));
  parts.push(Uint8Array.from(header));
  const records: number[] = [];
  for (const blk of blocks) {
    // Header: size byte, flags (one filter), LZMA2 filter (id, props size 1, dict), padding, CRC32.
    const h = [0, 0x00, FILTER_LZMA2, 1, blk.dictProp];
    while ((h.length + 4) % 4) h.push(0);
    h[0] = (h.length + 4) / 4 - 1;
    pushU32(h, crc32(Uint8Array.from(h)));
    parts.push(Uint8Array.from(h));
    parts.push(input.subarray(blk.dataAt, blk.dataAt + blk.dataSize));
    parts.push(new Uint8Array(((blk.dataSize + 3) & ~3) - blk.dataSize));
    writeVli(records, h.length + blk.dataSize);
    writeVli(records, blk.uncompressedSize);
  }
  const index = [0];
  writeVli(index, blocks.length);
  index.push(...records);
  while (index.length % 4) index.push(0);
  pushU32(index, crc32(Uint8Array.from(index)));
  parts.push(Uint8Array.from(index));
  const footer: number[] = [];
  const tail = [0, 0, 0, 0, 0, 0]; // backward size + flags, CRC'd together
  const backward = index.length / 4 - 1;
  tail[0] = backward & 0xff; tail[1] = (backward >>> 8) & 0xff; tail[2] = (backward >>> 16) & 0xff; tail[3] = (backward >>> 24) & 0xff;
  pushU32(footer, crc32(Uint8Array.from(tail)));
  footer.push(...tail, 0x59, 0x5a);
  parts.push(Uint8Array.from(footer));
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function verifyCheck(input: Uint8Array, blk: XzBlock, data: Uint8Array): void {
  if (blk.checkType === 1) {
    if (crc32(data) !== u32(input, blk.checkAt)) corrupt('CRC32 of decompressed data does not match');
  } else if (blk.checkType === 4) {
    const stored = (BigInt(u32(input, blk.checkAt + 4)) << 32n) | BigInt(u32(input, blk.checkAt));
    if (crc64(data) !== stored) corrupt('CRC64 of decompressed data does not match');
  }
  // None: nothing to verify; SHA-256 and reserved types: BTF's own structure checks still apply.
}

/**
 * The first LZMA2 chunk of the first block as a standalone stream (a block's first chunk resets
 * the dictionary and state, so it decodes alone), with its exact size: a look at the first bytes
 * (up to 2 MiB) of data that may hold hundreds of MiB, before deciding to decode it all. Undefined
 * when the block is a single chunk (nothing to save). The BCJ filter, if any, is the caller's.
 */
export function xzFirstChunk(input: Uint8Array, info: XzInfo): { stream: Uint8Array; size: number; x86Start?: number } | undefined {
  const blk = info.blocks[0];
  if (!blk) return undefined;
  const at = blk.dataAt;
  const c = input[at];
  let end: number, size: number;
  if (c === 0x01) {
    size = ((input[at + 1] << 8) | input[at + 2]) + 1;
    end = at + 3 + size;
  } else if (c >= 0xe0) {
    size = ((c & 0x1f) << 16) + ((input[at + 1] << 8) | input[at + 2]) + 1;
    end = at + 6 + ((input[at + 3] << 8) | input[at + 4]) + 1;
  } else {
    return undefined;
  }
  if (end >= blk.dataAt + blk.dataSize - 1) return undefined;
  const data = new Uint8Array(end - at + 1); // the chunk, then the end marker (0x00)
  data.set(input.subarray(at, end));
  const stream = plainLzma2Stream(data, [{ ...blk, dataAt: 0, dataSize: data.length, uncompressedSize: size }]);
  return { stream, size, x86Start: blk.x86Start };
}

/**
 * The first of several concatenated streams, when it has no filter: what a whole-stream decoder can
 * decode first when xzFirstChunk cannot cut a chunk (a block of one chunk), so that data of many
 * small streams is classified from the first (a bzImage candidate of noise) before the rest decodes.
 */
export function xzFirstStream(input: Uint8Array, info: XzInfo): { stream: Uint8Array; size: number } | undefined {
  if (info.streams.length < 2) return undefined;
  const [start, end] = info.streams[0];
  const blocks = info.blocks.filter((b) => b.headerAt >= start && b.headerAt < end);
  if (blocks.some((b) => b.x86Start !== undefined)) return undefined;
  return { stream: input.subarray(start, end), size: blocks.reduce((n, b) => n + b.uncompressedSize, 0) };
}

/** Decodes one complete xz stream off the calling thread (e.g. a native thread pool). */
export type AsyncXzDecoder = (xz: Uint8Array) => Promise<Uint8Array>;

/** The walk and the limit check: what the decoder is handed, and what it must give back. */
function prepareXz(input: Uint8Array, limits: DecompressLimits): { info: XzInfo; filtered: boolean; streams: Uint8Array[] } {
  const info = xzInfo(input);
  checkOutputSize('xz', 'holds', info.uncompressedSize, input.length, limits);
  const filtered = info.blocks.some((blk) => blk.x86Start !== undefined);
  const streams = filtered ? [plainLzma2Stream(input, info.blocks)] : info.streams.map(([a, z]) => input.subarray(a, z));
  return { info, filtered, streams };
}

function joined(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function decoderError(e: unknown): InputError {
  return e instanceof InputError ? e : new InputError(`corrupt xz data: ${(e as Error).message}`);
}

function finishXz(input: Uint8Array, info: XzInfo, filtered: boolean, out: Uint8Array): Uint8Array {
  if (out.length !== info.uncompressedSize) {
    corrupt(`decoded to ${formatSize(out.length)}, its LZMA2 chunks hold ${formatSize(info.uncompressedSize)}`);
  }
  if (filtered) {
    let at = 0;
    for (const blk of info.blocks) {
      const data = out.subarray(at, at + blk.uncompressedSize);
      if (blk.x86Start !== undefined) unfilterX86(data, blk.x86Start);
      verifyCheck(input, blk, data);
      at += blk.uncompressedSize;
    }
  }
  return out;
}

/** Decompresses xz data with `decoder` after proving its exact output size within `limits`. */
export function decompressXz(input: Uint8Array, decoder: XzDecoder, limits: DecompressLimits): Uint8Array {
  const { info, filtered, streams } = prepareXz(input, limits);
  let out: Uint8Array;
  try {
    out = joined(streams.map((s) => decoder(s)));
  } catch (e) {
    throw decoderError(e);
  }
  return finishXz(input, info, filtered, out);
}

/** As decompressXz, with a decoder that runs off the main thread (callers may then overlap files). */
export async function decompressXzAsync(input: Uint8Array, decoder: AsyncXzDecoder, limits: DecompressLimits): Promise<Uint8Array> {
  const { info, filtered, streams } = prepareXz(input, limits);
  let out: Uint8Array;
  try {
    const parts: Uint8Array[] = [];
    for (const s of streams) parts.push(await decoder(s));
    out = joined(parts);
  } catch (e) {
    throw decoderError(e);
  }
  return finishXz(input, info, filtered, out);
}
