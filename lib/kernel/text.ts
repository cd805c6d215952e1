/**
 * Kernel log text is bytes. Inside the emulator a line is a "byte string": a JS string whose
 * char codes are the bytes (0-255), which keeps formatting and length limits byte-exact.
 *
 * What we return to callers follows the oracle's convention (how the recorded dmesg lines were
 * decoded, i.e. Python's bytes.decode('utf-8', 'backslashreplace')): valid UTF-8 sequences become
 * their characters (control bytes such as TAB or 0x01 stay raw), and every byte that is not part
 * of a valid UTF-8 sequence becomes the four characters `\xNN` (lowercase hex). So a name holding
 * the byte 0x82 prints as `relea\x82ed`, exactly as the oracle's bpf_lines hold it.
 */

import { decodeUtf8Keeping } from '../utf8.js';

/** Decodes a byte string as UTF-8, escaping each invalid byte as `\xNN`. */
export function kernelBytesToText(bytes: string): string {
  // Fast path: plain ASCII needs no work.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes.charCodeAt(i) >= 0x80) { ascii = false; break; }
  }
  if (ascii) return bytes;

  return decodeUtf8Keeping(bytes.length, (i) => bytes.charCodeAt(i), (b) => '\\x' + b.toString(16).padStart(2, '0'));
}
