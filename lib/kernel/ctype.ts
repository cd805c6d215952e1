/**
 * The kernel's <linux/ctype.h> over lib/ctype.c's _ctype[] table (identical in 6.1 and 6.12).
 * Unlike the C locale, it is Latin-1: 0xC0-0xFF (but 0xD7 and 0xF7) are letters and 0xA0-0xBF are
 * printable, so isalpha(0xE9) is true in btf_name_valid_identifier(). The byte is looked up as an
 * unsigned char, so the signedness of `char` does not matter.
 */
const U = 0x01, L = 0x02, D = 0x04, C = 0x08, P = 0x10, S = 0x20, X = 0x40, SP = 0x80;

const CTYPE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 32; c++) t[c] = C;
  for (const c of [9, 10, 11, 12, 13]) t[c] = C | S;
  t[32] = S | SP;
  for (let c = 33; c < 127; c++) t[c] = P;
  for (let c = 48; c <= 57; c++) t[c] = D;
  for (let c = 65; c <= 90; c++) t[c] = c <= 70 ? U | X : U;
  for (let c = 97; c <= 122; c++) t[c] = c <= 102 ? L | X : L;
  t[127] = C;
  // 128-159: 0
  t[160] = S | SP;
  for (let c = 161; c <= 191; c++) t[c] = P;
  for (let c = 192; c <= 222; c++) t[c] = U;
  t[215] = P;
  for (let c = 223; c <= 255; c++) t[c] = L;
  t[247] = P;
  return t;
})();

export const isAlpha = (c: number): boolean => (CTYPE[c & 0xff] & (U | L)) !== 0;
export const isAlnum = (c: number): boolean => (CTYPE[c & 0xff] & (U | L | D)) !== 0;
export const isPrint = (c: number): boolean => (CTYPE[c & 0xff] & (P | U | L | D | SP)) !== 0;
