/**
 * Bounds-checked access to a byte buffer. Every decoder in lib/ reads through these so that a
 * truncated or hostile file yields an InputError naming what was out of range, never a RangeError
 * from deep inside a DataView.
 */
import { InputError } from './errors.js';

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Throws unless [offset, offset+length) lies inside a buffer of `size` bytes. */
export function checkRange(size: number, offset: number, length: number, what: string): void {
  if (!(offset >= 0 && length >= 0 && offset <= size && length <= size - offset)) {
    throw new InputError(`${what} (offset ${offset}, ${length} bytes) lies outside the ${size}-byte data`);
  }
}

/** A sub-array after a bounds check (no copy). */
export function slice(bytes: Uint8Array, offset: number, length: number, what: string): Uint8Array {
  checkRange(bytes.length, offset, length, what);
  return bytes.subarray(offset, offset + length);
}

/** A NUL-terminated string at `offset`, decoded as latin1 so every byte maps to one char. */
export function cString(bytes: Uint8Array, offset: number, maxLen = bytes.length - offset): string {
  const end = Math.min(bytes.length, offset + maxLen);
  let i = offset;
  while (i < end && bytes[i] !== 0) i++;
  return latin1(bytes, offset, i);
}

/** Decodes bytes [start, end) as latin1; kernel strings are byte strings, not UTF-8. */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  // Chunked to stay clear of argument-count limits on long strings.
  for (let i = start; i < end; i += 4096) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return out;
}

/** Lowercase hex of a byte array. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
