/**
 * Random access to the bytes of one input. lib/ decodes from a ByteSource so that the edge can hand
 * it either a whole buffer or a file it reads piecemeal (a plain .ko: ELF header, section headers
 * and .BTF only, never the whole file).
 */
import { checkRange } from './bytes.js';

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes at `offset`; callers check the range first (see readChecked). */
  read(offset: number, length: number): Uint8Array;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** Reads a range after checking it against the source's size. */
export function readChecked(src: ByteSource, offset: number, length: number, what: string): Uint8Array {
  checkRange(src.size, offset, length, what);
  return src.read(offset, length);
}
