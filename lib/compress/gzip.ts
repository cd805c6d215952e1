/**
 * gzip, via fflate's streaming inflater. Deflate cannot be bounded without decoding, but it cannot
 * expand more than 1032:1 either, so the input is pushed in 64 KiB slices and the output counted
 * as it arrives: decoding stops (with an InputError) within one slice (at most ~64 MiB) of the
 * limit. The ISIZE trailer (uncompressed size mod 2^32) refuses an oversized file before any work.
 * fflate does not check the trailers; every member's CRC32 and ISIZE are verified here, so a
 * corrupted file is an error, not another module (`gzip -t` rejects the same files).
 */
import { Gunzip } from 'fflate';
import { InputError } from '../errors.js';
import { crc32 } from './crc.js';
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
  const chunks: Uint8Array[] = [];
  const total = streamGzip(input, limits, (chunk) => { chunks.push(chunk); });
  return concatChunks(chunks, total);
}

/** ISIZE of the last member: the declared size mod 2^32 (a lower bound of the true size). */
export function gzipDeclaredSize(input: Uint8Array): number {
  const n = input.length;
  return n < 18 ? 0 : u32(input, n - 4);
}

/**
 * Decodes gzip data, handing each piece of output to `sink` in order (pieces stay valid after the
 * call); `sink` returns false to stop early (the trailers are then not checked). `limits` bound
 * the output as it grows; `onOutput` sees the running total first and may throw (a shared
 * budget). Returns the number of bytes produced.
 */
export function streamGzip(input: Uint8Array, limits: DecompressLimits, sink: (chunk: Uint8Array) => boolean | void, onOutput?: (total: number, added: number) => void): number {
  if (input.length < 18) throw new InputError(`truncated gzip data (${input.length} bytes)`);
  const n = input.length;
  // Mod 2^32, so only a lower bound of the true size; enough to refuse a declared bomb early.
  checkOutputSize('gzip', 'declares', gzipDeclaredSize(input), n, limits);
  let total = 0;
  let done = false;
  let stopped = false;
  // Per member: where it starts in the input and in the output, and the CRC32 of its output.
  const members = [{ at: 0, out: 0, crc: 0 }];
  const gunzip = new Gunzip((chunk, final) => {
    if (stopped) return;
    total += chunk.length;
    checkOutputSize('gzip', 'would produce', total, n, limits);
    onOutput?.(total, chunk.length);
    const m = members[members.length - 1];
    m.crc = crc32(chunk, 0, chunk.length, m.crc);
    if (sink(chunk) === false) stopped = true;
    if (final) done = true;
  });
  // fflate has handed over all of a member's output before it reports the next member's start.
  gunzip.onmember = (offset) => members.push({ at: offset, out: total, crc: 0 });
  let trailing = false;
  try {
    for (let at = 0; at < n && !done && !stopped; at += SLICE) gunzip.push(input.subarray(at, Math.min(n, at + SLICE)), at + SLICE >= n);
  } catch (e) {
    if (e instanceof InputError) throw e;
    // Bytes after a complete member that do not start another (a payload found by scanning, with
    // the rest of the file behind it) fail fflate's header check: they are not this stream's.
    trailing = total > 0 && /invalid gzip data/.test((e as Error).message);
    if (!done && !trailing) throw new InputError(`corrupt gzip data: ${(e as Error).message}`);
    done = true;
  }
  if (stopped) return total;
  if (!done) throw new InputError('truncated gzip data');
  verifyMembers(input, total, members, trailing);
  return total;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

const hex = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

/**
 * Checks each member's trailer (CRC32, then ISIZE = length mod 2^32, both little-endian): a
 * member's trailer ends where the next member starts, the last one's at the end of the input.
 * When bytes that are not gzip follow the last member (`trailing`: a payload found by scanning,
 * with the rest of the file behind it), its end is not known, and its trailer is looked for
 * after it instead: 8 bytes that match both values.
 */
function verifyMembers(input: Uint8Array, total: number, members: { at: number; out: number; crc: number }[], trailing: boolean): void {
  for (let k = 0; k < members.length; k++) {
    const last = k === members.length - 1;
    const outEnd = last ? total : members[k + 1].out;
    const crc = members[k].crc >>> 0;
    const isize = (outEnd - members[k].out) % 0x100000000;
    const which = members.length > 1 ? ` of member ${k + 1}` : '';
    if (last && trailing) {
      // Header (10 bytes) and an empty deflate block (2) come first: the trailer is no earlier.
      for (let t = members[k].at + 12; t + 8 <= input.length; t++) {
        if (u32(input, t) === crc && u32(input, t + 4) === isize) return;
      }
      throw new InputError(`corrupt gzip data: checksum mismatch (no trailer with the CRC32 ${hex(crc)} of the ${outEnd - members[k].out} bytes${which} follows it)`);
    }
    const end = last ? input.length : members[k + 1].at;
    const storedCrc = u32(input, end - 8);
    const storedSize = u32(input, end - 4);
    if (storedCrc !== crc) throw new InputError(`corrupt gzip data: checksum mismatch (CRC32${which} ${hex(storedCrc)} stored, ${hex(crc)} computed)`);
    if (storedSize !== isize) throw new InputError(`corrupt gzip data: length mismatch (${storedSize} bytes${which} stored, ${isize} decoded, mod 2^32)`);
  }
}
