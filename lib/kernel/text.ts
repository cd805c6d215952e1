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

/** Decodes a byte string as UTF-8, escaping each invalid byte as `\xNN`. */
export function kernelBytesToText(bytes: string): string {
  // Fast path: plain ASCII needs no work.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes.charCodeAt(i) >= 0x80) { ascii = false; break; }
  }
  if (ascii) return bytes;

  let out = '';
  const n = bytes.length;
  const at = (i: number): number => (i < n ? bytes.charCodeAt(i) : -1);
  const cont = (b: number): boolean => b >= 0x80 && b <= 0xbf;
  for (let i = 0; i < n;) {
    const b0 = bytes.charCodeAt(i);
    if (b0 < 0x80) { out += bytes[i]; i++; continue; }
    // Lengths and second-byte ranges of well-formed sequences (Unicode Table 3-7), which is what
    // Python's decoder accepts: no overlongs, no surrogates, nothing above U+10FFFF.
    let len = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
    else if (b0 === 0xe0) { len = 3; lo = 0xa0; }
    else if (b0 === 0xed) { len = 3; hi = 0x9f; }
    else if (b0 >= 0xe1 && b0 <= 0xef) len = 3;
    else if (b0 === 0xf0) { len = 4; lo = 0x90; }
    else if (b0 >= 0xf1 && b0 <= 0xf3) len = 4;
    else if (b0 === 0xf4) { len = 4; hi = 0x8f; }
    let ok = len > 0;
    if (ok) {
      const b1 = at(i + 1);
      ok = b1 >= lo && b1 <= hi;
      for (let k = 2; ok && k < len; k++) ok = cont(at(i + k));
    }
    if (!ok) {
      // Escaping one byte and resuming at the next gives the same text as Python's
      // maximal-subpart rule: the bytes it would swallow are continuation bytes, which can never
      // start a valid sequence themselves.
      out += '\\x' + b0.toString(16).padStart(2, '0');
      i++;
      continue;
    }
    let cp = len === 2 ? b0 & 0x1f : len === 3 ? b0 & 0x0f : b0 & 0x07;
    for (let k = 1; k < len; k++) cp = (cp << 6) | (bytes.charCodeAt(i + k) & 0x3f);
    out += String.fromCodePoint(cp);
    i += len;
  }
  return out;
}
