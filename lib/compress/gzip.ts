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
  if (input.length < 18) throw new InputError(`truncated gzip data (${input.length} bytes)`);
  const n = input.length;
  const isize = (input[n - 4] | (input[n - 3] << 8) | (input[n - 2] << 16) | (input[n - 1] << 24)) >>> 0;
  // Mod 2^32, so only a lower bound of the true size; enough to refuse a declared bomb early.
  checkOutputSize('gzip', 'declares', isize, n, limits);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let done = false;
  // Where each member starts, in the input and in the output: fflate has handed over all of a
  // member's output before it reports the next member's start.
  const members = [{ at: 0, out: 0 }];
  const gunzip = new Gunzip((chunk, final) => {
    total += chunk.length;
    checkOutputSize('gzip', 'would produce', total, n, limits);
    chunks.push(chunk);
    if (final) done = true;
  });
  gunzip.onmember = (offset) => members.push({ at: offset, out: total });
  let trailing = false;
  try {
    for (let at = 0; at < n && !done; at += SLICE) gunzip.push(input.subarray(at, Math.min(n, at + SLICE)), at + SLICE >= n);
  } catch (e) {
    if (e instanceof InputError) throw e;
    // Bytes after a complete member that do not start another (a payload found by scanning, with
    // the rest of the file behind it) fail fflate's header check: they are not this stream's.
    trailing = total > 0 && /invalid gzip data/.test((e as Error).message);
    if (!done && !trailing) throw new InputError(`corrupt gzip data: ${(e as Error).message}`);
    done = true;
  }
  if (!done) throw new InputError('truncated gzip data');
  const out = concatChunks(chunks, total);
  verifyMembers(input, out, members, trailing);
  return out;
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
function verifyMembers(input: Uint8Array, out: Uint8Array, members: { at: number; out: number }[], trailing: boolean): void {
  for (let k = 0; k < members.length; k++) {
    const last = k === members.length - 1;
    const outEnd = last ? out.length : members[k + 1].out;
    const crc = crc32(out, members[k].out, outEnd);
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
