/**
 * The structure of zstd data, walked without decoding: frame headers and every block header, which
 * bound what each frame can produce (see zstd.ts). Kept apart from the decoder so that callers that
 * only need the bound do not load fzstd.
 */
import { InputError } from '../errors.js';
import { formatSize } from './limits.js';

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_BLOCK = 128 << 10;

export interface FrameInfo {
  /** Offsets of the frame in the input: its magic, and the byte after it. */
  start: number;
  end: number;
  /** Offset of the 4-byte content checksum, when the frame has one (Content_Checksum_flag). */
  checksumAt?: number;
  /** Offset of the window descriptor byte, when the frame has one. */
  windowDescriptorAt?: number;
  window: number;
  /** Declared content size, when the frame declares it. */
  contentSize?: number;
  /** Most the frame's blocks can produce. */
  bound: number;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function readLE(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + b[at + i];
  return v;
}

/** Walks every frame's header and block headers; throws on truncation or malformed headers. */
export function zstdFrames(input: Uint8Array): { frames: FrameInfo[]; end: number } {
  const frames: FrameInfo[] = [];
  let at = 0;
  const truncated = (): never => { throw new InputError(`truncated zstd data (${input.length} bytes)`); };
  while (at < input.length) {
    if (input.length - at < 8) {
      if (frames.length) break; // padding or trailing bytes
      truncated();
    }
    const magic = u32(input, at);
    if ((magic & 0xfffffff0) === 0x184d2a50) { // skippable frame
      at += 8 + u32(input, at + 4);
      if (at > input.length) truncated();
      continue;
    }
    if (magic !== ZSTD_MAGIC) {
      if (frames.length === 0) throw new InputError('not zstd data: bad magic');
      break; // trailing data after the last frame (as when a payload was found by scanning)
    }
    const fhd = input[at + 4];
    if (fhd & 0x08) throw new InputError('bad zstd frame header: reserved bit set');
    const singleSegment = (fhd >> 5) & 1;
    const hasChecksum = (fhd >> 2) & 1;
    const dictBytes = [0, 1, 2, 4][fhd & 3];
    const fcsCode = fhd >> 6;
    const fcsBytes = fcsCode === 0 ? singleSegment : 1 << fcsCode;
    let p = at + 5;
    let windowDescriptorAt: number | undefined;
    let window = 0;
    if (!singleSegment) {
      windowDescriptorAt = p;
      const wd = input[p++];
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    if (dictBytes && readLE(input, p, dictBytes) !== 0) throw new InputError('zstd frames that need a dictionary are not supported');
    p += dictBytes;
    if (p + fcsBytes > input.length) truncated();
    let contentSize: number | undefined;
    if (fcsBytes) contentSize = readLE(input, p, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
    p += fcsBytes;
    if (singleSegment) window = contentSize ?? 0;
    const blockMax = Math.min(MAX_BLOCK, window);
    let bound = 0;
    for (;;) {
      if (input.length - p < 3) truncated();
      const bh = input[p] | (input[p + 1] << 8) | (input[p + 2] << 16);
      p += 3;
      const last = bh & 1;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) throw new InputError(`bad zstd block type at offset ${p - 3}`);
      // Block_Maximum_Size bounds every block type, the regenerated size of RLE blocks included.
      if (size > blockMax) throw new InputError(`bad zstd block of ${size} bytes at offset ${p - 3} (blocks hold at most ${blockMax})`);
      const stored = type === 1 ? 1 : size;
      if (stored > input.length - p) truncated();
      bound += type === 2 ? blockMax : size;
      p += stored;
      if (last) break;
    }
    const checksumAt = hasChecksum ? p : undefined;
    if (hasChecksum) p += 4;
    if (p > input.length) truncated();
    if (contentSize !== undefined && contentSize > bound) {
      throw new InputError(`corrupt zstd frame: declares ${formatSize(contentSize)} but its blocks hold at most ${formatSize(bound)}`);
    }
    frames.push({ start: at, end: p, checksumAt, windowDescriptorAt, window, contentSize, bound: contentSize ?? bound });
    at = p;
  }
  if (frames.length === 0) throw new InputError('zstd data holds no frames');
  return { frames, end: Math.min(at, input.length) };
}

/**
 * A whole file (a .ko.zst, a compressed base) ends with its last frame, as zstd -t and kmod's
 * decoder require: bytes after it would hide a frame whose checksum flag was cleared (its 4
 * checksum bytes then look like trailing bytes). `end` is zstdFrames' end.
 */
export function checkEndsWithLastFrame(input: Uint8Array, end: number): void {
  const extra = input.length - end;
  if (extra > 0) throw new InputError(`corrupt zstd data: ${extra} byte${extra === 1 ? '' : 's'} after the last frame`);
}
