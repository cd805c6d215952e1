/**
 * File names are bytes; btfcheck's paths are strings. A name that is not valid UTF-8 (`bad\xff.ko`)
 * would lose its bytes in a plain decode (each becomes U+FFFD, and opening the result finds
 * nothing), so names read from directories are decoded as Python's "surrogateescape" does (PEP 383):
 * each byte that is not part of a valid UTF-8 sequence becomes the lone surrogate U+DC80+byte.
 * The result round-trips to the same bytes, JSON.stringify writes such a character as `\udcff`,
 * and lib/report/escape.ts prints it as `\xff`.
 */

/** First and last code unit standing for an undecodable byte (0x80..0xff). */
export const ESCAPED_BYTE_FIRST = 0xdc80;
export const ESCAPED_BYTE_LAST = 0xdcff;

/** Decodes a file name: UTF-8, with each invalid byte as U+DC80+byte. */
export function decodeFileName(bytes: Uint8Array): string {
  let out = '';
  const n = bytes.length;
  for (let i = 0; i < n;) {
    const b0 = bytes[i];
    if (b0 < 0x80) { out += String.fromCharCode(b0); i++; continue; }
    // Well-formed sequences only (Unicode Table 3-7): no overlongs, no surrogates, nothing above
    // U+10FFFF; anything else is escaped byte by byte, so encoding gives back the same bytes.
    let len = 0, lo = 0x80, hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
    else if (b0 === 0xe0) { len = 3; lo = 0xa0; }
    else if (b0 === 0xed) { len = 3; hi = 0x9f; }
    else if (b0 >= 0xe1 && b0 <= 0xef) len = 3;
    else if (b0 === 0xf0) { len = 4; lo = 0x90; }
    else if (b0 >= 0xf1 && b0 <= 0xf3) len = 4;
    else if (b0 === 0xf4) { len = 4; hi = 0x8f; }
    let ok = len > 0 && i + len <= n && bytes[i + 1] >= lo && bytes[i + 1] <= hi;
    for (let k = 2; ok && k < len; k++) ok = bytes[i + k] >= 0x80 && bytes[i + k] <= 0xbf;
    if (!ok) {
      out += String.fromCharCode(ESCAPED_BYTE_FIRST + (b0 - 0x80));
      i++;
      continue;
    }
    let cp = len === 2 ? b0 & 0x1f : len === 3 ? b0 & 0x0f : b0 & 0x07;
    for (let k = 1; k < len; k++) cp = (cp << 6) | (bytes[i + k] & 0x3f);
    out += String.fromCodePoint(cp);
    i += len;
  }
  return out;
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
