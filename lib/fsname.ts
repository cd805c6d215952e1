/**
 * File names are bytes; btfcheck's paths are strings. A name that is not valid UTF-8 (`bad\xff.ko`)
 * would lose its bytes in a plain decode (each becomes U+FFFD, and opening the result finds
 * nothing), so names read from directories are decoded as Python's "surrogateescape" does (PEP 383):
 * each byte that is not part of a valid UTF-8 sequence becomes the lone surrogate U+DC80+byte.
 * The result round-trips to the same bytes, JSON.stringify writes such a character as `\udcff`,
 * and lib/report/escape.ts prints it as `\xff`.
 */

import { decodeUtf8Keeping } from './utf8.js';

/** First and last code unit standing for an undecodable byte (0x80..0xff). */
export const ESCAPED_BYTE_FIRST = 0xdc80;
export const ESCAPED_BYTE_LAST = 0xdcff;

/** Decodes a file name: UTF-8, with each invalid byte as U+DC80+byte. */
export function decodeFileName(bytes: Uint8Array): string {
  return decodeUtf8Keeping(bytes.length, (i) => bytes[i], (b) => String.fromCharCode(ESCAPED_BYTE_FIRST + (b - 0x80)));
}

/** True when `name` holds an escaped byte, i.e. it needs encodeFileName to reach the file. */
export function hasEscapedBytes(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= ESCAPED_BYTE_FIRST && c <= ESCAPED_BYTE_LAST && !(i > 0 && isHigh(name.charCodeAt(i - 1)))) return true;
  }
  return false;
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** The bytes of a name from decodeFileName (or any string: other lone surrogates become U+FFFD). */
export function encodeFileName(name: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < name.length; i++) {
    let cp = name.charCodeAt(i);
    if (isHigh(cp) && i + 1 < name.length && isLow(name.charCodeAt(i + 1))) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (name.charCodeAt(i + 1) - 0xdc00);
      i++;
    } else if (cp >= ESCAPED_BYTE_FIRST && cp <= ESCAPED_BYTE_LAST) {
      out.push(cp - ESCAPED_BYTE_FIRST + 0x80);
      continue;
    } else if (isHigh(cp) || isLow(cp)) {
      cp = 0xfffd;
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}
