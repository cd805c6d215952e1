/**
 * UTF-8 decoding that keeps every byte: well-formed sequences only (Unicode Table 3-7, which is
 * what Python's decoder accepts: no overlongs, no surrogates, nothing above U+10FFFF), and each
 * byte that is not part of one handed to `escape`. Escaping one byte and resuming at the next gives
 * the same text as Python's maximal-subpart rule: the bytes it would swallow are continuation
 * bytes, which can never start a valid sequence themselves. Kernel log text (`\xNN`) and file
 * names (surrogateescape) both use it.
 */
export function decodeUtf8Keeping(n: number, byteAt: (i: number) => number, escape: (byte: number) => string): string {
  let out = '';
  for (let i = 0; i < n;) {
    const b0 = byteAt(i);
    if (b0 < 0x80) { out += String.fromCharCode(b0); i++; continue; }
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
    let ok = len > 0 && i + len <= n && byteAt(i + 1) >= lo && byteAt(i + 1) <= hi;
    for (let k = 2; ok && k < len; k++) ok = byteAt(i + k) >= 0x80 && byteAt(i + k) <= 0xbf;
    if (!ok) {
      out += escape(b0);
      i++;
      continue;
    }
    let cp = len === 2 ? b0 & 0x1f : len === 3 ? b0 & 0x0f : b0 & 0x07;
    for (let k = 1; k < len; k++) cp = (cp << 6) | (byteAt(i + k) & 0x3f);
    out += String.fromCodePoint(cp);
    i += len;
  }
  return out;
}
