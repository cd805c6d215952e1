/**
 * An xz file's blocks, found from its index at the end (as `xz --list` does), so a large xz member
 * (a .deb's data.tar.xz: 24 MiB blocks) can be decoded one block at a time: each block is wrapped
 * in a stream of its own and handed to lib/compress, which checks its structure, sizes and check
 * again before decoding. Memory: one block, never the whole output.
 */
import { InputError } from '../errors.js';
import { ByteSource } from '../source.js';
import { crc32 } from '../compress/crc.js';

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FOOTER_MAGIC = [0x59, 0x5a];
/** Records accepted in one index (a 1 GiB payload in 24 MiB blocks has 43). */
const MAX_RECORDS = 1 << 20;

export interface XzBlockRef {
  /** Offset of the block in the source, and its unpadded size (header + data + check). */
  offset: number;
  unpaddedSize: number;
  uncompressedSize: number;
  /** Stream flags byte 2 (the check type) of the stream holding it. */
  checkType: number;
}

const corrupt = (what: string): never => { throw new InputError(`corrupt xz data: ${what}`); };
const u32le = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

function vli(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    if (at >= b.length) corrupt('index truncated');
    const byte = b[at++];
    v += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) return [v, at];
  }
  return corrupt('index integer too long');
}

const pad4 = (n: number): number => (n + 3) & ~3;

/**
 * The blocks of the xz data in [start, end) of `src`, in order, from each stream's index (streams
 * walked from the end backwards, through stream padding).
 */
export function xzBlocks(src: ByteSource, start: number, end: number): XzBlockRef[] {
  const streams: XzBlockRef[][] = [];
  let at = end;
  while (at > start) {
    // Stream padding: NUL bytes in multiples of four.
    while (at - 4 >= start) {
      const w = src.read(at - 4, 4);
      if (w[0] || w[1] || w[2] || w[3]) break;
      at -= 4;
    }
    if (at === start) break;
    if (at - start < 24) corrupt('truncated stream');
    const footer = src.read(at - 12, 12);
    if (footer[10] !== FOOTER_MAGIC[0] || footer[11] !== FOOTER_MAGIC[1]) corrupt('no stream footer at the end (truncated file?)');
    if (crc32(footer, 4, 10) !== u32le(footer, 0)) corrupt('stream footer CRC32 does not match');
    const checkType = footer[9] & 0x0f;
    const indexSize = (u32le(footer, 4) + 1) * 4;
    const indexAt = at - 12 - indexSize;
    if (indexAt < start + 12) corrupt('index size points before the stream');
    const index = src.read(indexAt, indexSize);
    if (index[0] !== 0) corrupt('bad index indicator');
    if (crc32(index, 0, indexSize - 4) !== u32le(index, indexSize - 4)) corrupt('index CRC32 does not match');
    let p = 1;
    let count: number;
    [count, p] = vli(index, p);
    if (count > MAX_RECORDS) corrupt(`index lists ${count} blocks`);
    const records: Array<[number, number]> = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      let unpadded: number;
      let uncompressed: number;
      [unpadded, p] = vli(index, p);
      [uncompressed, p] = vli(index, p);
      if (unpadded < 5) corrupt('index record with an impossible block size');
      records.push([unpadded, uncompressed]);
      total += pad4(unpadded);
    }
    if (pad4(p) + 4 !== indexSize) corrupt('index size does not match its records');
    const streamAt = indexAt - total - 12;
    if (streamAt < start) corrupt('index lists more block bytes than the stream holds');
    const header = src.read(streamAt, 12);
    for (let i = 0; i < 6; i++) if (header[i] !== MAGIC[i]) corrupt('no stream header where the index says the stream starts');
    if (header[7] !== footer[9] || header[6] !== footer[8]) corrupt('stream header and footer flags differ');
    const blocks: XzBlockRef[] = [];
    let b = streamAt + 12;
    for (const [unpaddedSize, uncompressedSize] of records) {
      blocks.push({ offset: b, unpaddedSize, uncompressedSize, checkType });
      b += pad4(unpaddedSize);
    }
    streams.unshift(blocks);
    at = streamAt;
  }
  return streams.flat();
}

function encodeVli(n: number, out: number[]): void {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
}

/**
 * A complete one-block xz stream around block `ref`: `fill` writes the block's bytes (padding
 * included, `(unpaddedSize + 3) & ~3` of them) into the buffer it is given, so they are read once,
 * straight into place.
 */
export function singleBlockStream(ref: XzBlockRef, fill: (into: Uint8Array) => void): Uint8Array {
  const blockLen = (ref.unpaddedSize + 3) & ~3;
  const flags = [0, ref.checkType];
  const header = new Uint8Array(12);
  header.set(MAGIC);
  header.set(flags, 6);
  const hcrc = crc32(header, 6, 8);
  header.set([hcrc & 255, (hcrc >>> 8) & 255, (hcrc >>> 16) & 255, hcrc >>> 24], 8);
  const idx: number[] = [0];
  encodeVli(1, idx);
  encodeVli(ref.unpaddedSize, idx);
  encodeVli(ref.uncompressedSize, idx);
  while (idx.length & 3) idx.push(0);
  const index = new Uint8Array(idx.length + 4);
  index.set(idx);
  const icrc = crc32(index, 0, idx.length);
  index.set([icrc & 255, (icrc >>> 8) & 255, (icrc >>> 16) & 255, icrc >>> 24], idx.length);
  const footer = new Uint8Array(12);
  const backward = index.length / 4 - 1;
  footer.set([backward & 255, (backward >>> 8) & 255, (backward >>> 16) & 255, backward >>> 24], 4);
  footer.set(flags, 8);
  footer.set(FOOTER_MAGIC, 10);
  const fcrc = crc32(footer, 4, 10);
  footer.set([fcrc & 255, (fcrc >>> 8) & 255, (fcrc >>> 16) & 255, fcrc >>> 24], 0);
  const out = new Uint8Array(12 + blockLen + index.length + 12);
  out.set(header, 0);
  fill(out.subarray(12, 12 + blockLen));
  out.set(index, 12 + blockLen);
  out.set(footer, 12 + blockLen + index.length);
  return out;
}
