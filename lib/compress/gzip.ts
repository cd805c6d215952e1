/**
 * gzip, via fflate's streaming inflater. Deflate cannot be bounded without decoding, but it cannot
 * expand more than 1032:1 either, so the input is pushed in 64 KiB slices and the output counted
 * as it arrives: decoding stops (with an InputError) within one slice (at most ~64 MiB) of the
 * limit. The ISIZE trailer (uncompressed size mod 2^32) refuses an oversized file before any work.
 */
import { Gunzip } from 'fflate';
import { InputError } from '../errors.js';
import { checkOutputSize, DecompressLimits } from './limits.js';

const SLICE = 64 << 10;

/** Joins output chunks into one buffer. */
function concatChunks(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0].length === total) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

export function decompressGzip(input: Uint8Array, limits: DecompressLimits): Uint8Array {
  if (input.length < 18) throw new InputError(`truncated gzip data (${input.length} bytes)`);
  const n = input.length;
  const isize = (input[n - 4] | (input[n - 3] << 8) | (input[n - 2] << 16) | (input[n - 1] << 24)) >>> 0;
  // Mod 2^32, so only a lower bound of the true size; enough to refuse a declared bomb early.
  checkOutputSize('gzip', 'declares', isize, n, limits);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let done = false;
  const gunzip = new Gunzip((chunk, final) => {
    total += chunk.length;
    checkOutputSize('gzip', 'would produce', total, n, limits);
    chunks.push(chunk);
    if (final) done = true;
  });
  try {
    for (let at = 0; at < n && !done; at += SLICE) gunzip.push(input.subarray(at, Math.min(n, at + SLICE)), at + SLICE >= n);
  } catch (e) {
    if (e instanceof InputError) throw e;
    // Bytes after a complete member that do not start another (a payload found by scanning, with
    // the rest of the file behind it) fail fflate's header check: they are not this stream's.
    const trailing = total > 0 && /invalid gzip data/.test((e as Error).message);
    if (!done && !trailing) throw new InputError(`corrupt gzip data: ${(e as Error).message}`);
    done = true;
  }
  if (!done) throw new InputError('truncated gzip data');
  return concatChunks(chunks, total);
}
