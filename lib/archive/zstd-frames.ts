/**
 * Where each zstd frame of a file starts and ends, from the frame and block headers alone (3 bytes
 * per block of up to 128 KiB), so a multi-frame member can be decoded a frame at a time through
 * lib/compress. Skippable frames are stepped over.
 */
import { InputError } from '../errors.js';
import { ByteSource } from '../source.js';

const MAGIC = 0xfd2fb528;

const u32le = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** [start, end) of every zstd frame in [start, end) of `src`; NUL padding after the last frame is allowed. */
export function zstdFrameRanges(src: ByteSource, start: number, end: number, opts: { stopAtOther?: boolean } = {}): Array<[number, number]> {
  const frames: Array<[number, number]> = [];
  let at = start;
  const truncated = (): never => { throw new InputError(`truncated zstd data at offset ${at - start}`); };
  while (at < end) {
    if (end - at < 8) {
      if (frames.length && src.read(at, end - at).every((b) => b === 0)) break;
      truncated();
    }
    const head = src.read(at, Math.min(18, end - at));
    const magic = u32le(head, 0);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      at += 8 + u32le(head, 4);
      if (at > end) truncated();
      continue;
    }
    if (magic !== MAGIC) {
      if (frames.length && (opts.stopAtOther || src.read(at, Math.min(4096, end - at)).every((b) => b === 0))) break;
      throw new InputError(`zstd: no frame magic at offset ${at - start}`);
    }
    const fhd = head[4];
    const singleSegment = (fhd >> 5) & 1;
    const checksum = (fhd >> 2) & 1;
    const dictSize = [0, 1, 2, 4][fhd & 3];
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6];
    const frameStart = at;
    at += 5 + (singleSegment ? 0 : 1) + dictSize + fcsSize;
    for (;;) {
      if (end - at < 3) truncated();
      const b = src.read(at, 3);
      const bh = b[0] | (b[1] << 8) | (b[2] << 16);
      const last = bh & 1;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) throw new InputError(`zstd: reserved block type at offset ${at - start}`);
      at += 3 + (type === 1 ? 1 : size);
      if (at > end) truncated();
      if (last) break;
    }
    if (checksum) at += 4;
    if (at > end) truncated();
    frames.push([frameStart, at]);
  }
  return frames;
}
