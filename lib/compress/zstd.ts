/**
 * Zstandard, via fzstd (pure JS), behind a structural walk that bounds the output first.
 *
 * Why a walk: a zstd frame need not declare its content size (the kernel's bzImage payloads and
 * anything compressed from a pipe do not), and fzstd then allocates the whole declared window
 * (up to 2 GiB) and grows its output as it goes. But every block header states what the block can
 * produce: a raw block its size, an RLE block its regenerated size, a compressed block at most
 * min(128 KiB, window). Walking the 3-byte block headers costs nothing next to decoding and gives a
 * bound no hostile header can exceed. The limits are checked against it before fzstd runs, and
 * fzstd then decodes into a buffer of the declared size or of the bound, or (no size known) with
 * its window shrunk to the bound: never more than the data can fill.
 *
 * fzstd skips the frame's content checksum; it is verified here (the low 32 bits of the XXH64 of
 * the frame's content), so a corrupted file is an error, as for `zstd -t`, not another module.
 */
import { decompress as fzstdDecompress } from 'fzstd';
import { InputError } from '../errors.js';
import { checkOutputSize, DecompressLimits, formatSize } from './limits.js';
import { xxh64 } from './xxhash64.js';
import { checkEndsWithLastFrame, FrameInfo, zstdFrames } from './zstd-frames.js';

export { zstdFrames };
export type { FrameInfo };

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** Smallest window descriptor (mantissa 0) whose window is at least `size` bytes. */
function windowDescriptorFor(size: number): number {
  let e = 0;
  while (2 ** (10 + e) < size) e++;
  return e << 3;
}

function runFzstd(data: Uint8Array, buf?: Uint8Array): Uint8Array {
  try {
    return buf ? fzstdDecompress(data, buf) : fzstdDecompress(data);
  } catch (e) {
    throw new InputError(`corrupt zstd data: ${(e as Error).message}`);
  }
}

/**
 * Decompresses zstd data within `limits`. `sizeHint` is the exact output size when the caller
 * knows it from elsewhere (a bzImage's size trailer); it saves a second pass over frames that do
 * not declare their size.
 */
export function decompressZstd(input: Uint8Array, limits: DecompressLimits, sizeHint?: number): Uint8Array {
  const { frames, end } = zstdFrames(input);
  // A whole file ends with its last frame; a bzImage payload (sizeHint) with the 4-byte size trailer.
  if (sizeHint === undefined) checkEndsWithLastFrame(input, end);
  const bound = frames.reduce((n, f) => n + f.bound, 0);
  const declared = frames.every((f) => f.contentSize !== undefined);
  checkOutputSize('zstd', declared ? 'declares' : 'may produce', bound, input.length, limits);
  if (frames.length > 1 && !declared && frames.some((f) => f.checksumAt !== undefined)) {
    // Where one frame's output ends is known only from its declared size: decode frame by frame
    // so that each checksum covers its own frame's content.
    const parts = frames.map((f) => decompressZstd(input.subarray(f.start, f.end), limits));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  const out = decodeFrames(input.subarray(0, end), frames, bound, declared, sizeHint);
  verifyChecksums(input, out, frames);
  return out;
}

/**
 * Checks each frame's content checksum against its content in `out`: the frames' contents lie one
 * after another, each as long as it declares (a single frame: the whole output).
 */
function verifyChecksums(input: Uint8Array, out: Uint8Array, frames: FrameInfo[]): void {
  let at = 0;
  for (let k = 0; k < frames.length; k++) {
    const f = frames[k];
    const length = frames.length === 1 ? out.length : f.contentSize!;
    if (f.checksumAt !== undefined) {
      const stored = u32(input, f.checksumAt);
      const computed = xxh64(out, at, at + length)[1];
      if (stored !== computed) {
        const which = frames.length > 1 ? ` of frame ${k + 1}` : '';
        throw new InputError(`corrupt zstd data: checksum mismatch (XXH64${which} ${hex(stored)} stored, ${hex(computed)} computed)`);
      }
    }
    at += length;
  }
}

const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

function decodeFrames(data: Uint8Array, frames: FrameInfo[], bound: number, declared: boolean, sizeHint?: number): Uint8Array {
  if (declared && frames.every((f) => f.contentSize! > 0)) {
    // Every frame declares its size: fzstd allocates exactly that and decodes in place.
    const out = runFzstd(data);
    if (out.length !== bound) throw new InputError(`corrupt zstd data: declares ${formatSize(bound)} but decodes to ${formatSize(out.length)}`);
    return out;
  }
  if (sizeHint !== undefined) {
    // With an output buffer fzstd decodes in place, fast, but does not say how much it wrote (and
    // uses the buffer's tail as scratch), so this path needs the size from the caller.
    if (sizeHint > bound) throw new InputError(`corrupt zstd data: expected ${formatSize(sizeHint)}, its blocks hold at most ${formatSize(bound)}`);
    return runFzstd(data, new Uint8Array(bound)).subarray(0, sizeHint);
  }
  // Without a buffer fzstd allocates each frame's declared window (up to 2 GiB) and moves it after
  // every block. A window larger than the frame's bound is useless (no match reaches further back
  // than the output so far), so shrink it in a copy of the header: memory stays within the bound.
  let patched = data;
  for (const f of frames) {
    if (f.windowDescriptorAt !== undefined && f.contentSize === undefined && f.window > Math.max(f.bound, 1024)) {
      if (patched === data) patched = data.slice();
      patched[f.windowDescriptorAt] = windowDescriptorFor(f.bound);
    }
  }
  const out = runFzstd(patched);
  if (out.length > bound) throw new InputError(`corrupt zstd data: decodes to ${formatSize(out.length)}, more than its blocks hold`);
  return out;
}
