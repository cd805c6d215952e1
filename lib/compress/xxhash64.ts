/**
 * XXH64 (xxHash, 64-bit), what a zstd frame's Content_Checksum keeps the low 32 bits of.
 *
 * 64-bit words are pairs of unsigned 32-bit halves: BigInt arithmetic per 8 bytes would take
 * seconds over a kernel image. Helpers return through the module registers H and L to allocate
 * nothing.
 * Reference: https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md
 */

// The five primes, as [high, low] halves.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

let H = 0;
let L = 0;
const TWO_NEG_32 = 2 ** -32;

/**
 * (ah:al) * (bh:bl) mod 2^64 into H:L. The low word is Math.imul's; the high word of al*bl is
 * (al*bl - low) / 2^32 rounded: the double product is off by at most 2^12, far below 2^31.
 */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const lo = Math.imul(al, bl) >>> 0;
  L = lo;
  H = (Math.round((al * bl - lo) * TWO_NEG_32) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 into H:L. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  L = lo >>> 0;
  H = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate (h:l) left by r (0 < r < 32) into H:L. */
function rotl(h: number, l: number, r: number): void {
  H = ((h << r) | (l >>> (32 - r))) >>> 0;
  L = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, input) = rotl(acc + input * P2, 31) * P1, into H:L. */
function round(ah: number, al: number, ih: number, il: number): void {
  mul(ih, il, P2H, P2L);
  add(ah, al, H, L);
  rotl(H, L, 31);
  mul(H, L, P1H, P1L);
}

/** mergeRound(acc, val) = (acc ^ round(0, val)) * P1 + P4, into H:L. */
function mergeRound(ah: number, al: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul((ah ^ H) >>> 0, (al ^ L) >>> 0, P1H, P1L);
  add(H, L, P4H, P4L);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** XXH64 of bytes [start, end) with seed 0, as [high, low] 32-bit halves. */
export function xxh64(bytes: Uint8Array, start = 0, end = bytes.length): [number, number] {
  let p = start;
  const len = end - start;
  let hh: number, hl: number;
  if (len >= 32) {
    // Seed 0: v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1.
    add(P1H, P1L, P2H, P2L);
    let v1h = H, v1l = L;
    let v2h = P2H, v2l = P2L;
    let v3h = 0, v3l = 0;
    add(~P1H >>> 0, ~P1L >>> 0, 0, 1);
    let v4h = H, v4l = L;
    const limit = end - 32;
    // The hot loop, written out: round() through the H/L registers runs at a third of the speed.
    let il: number, ih: number, tl: number, th: number, sl: number, sh: number, rl: number, rh: number;
    while (p <= limit) {
      // lane 1: v = rotl(v + input * P2, 31) * P1
      il = u32(bytes, p + 0); ih = u32(bytes, p + 4);
      tl = Math.imul(il, P2L) >>> 0;
      th = Math.round((il * P2L - tl) * TWO_NEG_32) + Math.imul(ih, P2L) + Math.imul(il, P2H);
      sl = v1l + tl;
      sh = (v1h + th + (sl > 0xffffffff ? 1 : 0)) >>> 0;
      sl >>>= 0;
      rh = ((sh << 31) | (sl >>> 1)) >>> 0; rl = ((sl << 31) | (sh >>> 1)) >>> 0;
      v1l = Math.imul(rl, P1L) >>> 0;
      v1h = (Math.round((rl * P1L - v1l) * TWO_NEG_32) + Math.imul(rh, P1L) + Math.imul(rl, P1H)) >>> 0;
      // lane 2: v = rotl(v + input * P2, 31) * P1
      il = u32(bytes, p + 8); ih = u32(bytes, p + 12);
      tl = Math.imul(il, P2L) >>> 0;
      th = Math.round((il * P2L - tl) * TWO_NEG_32) + Math.imul(ih, P2L) + Math.imul(il, P2H);
      sl = v2l + tl;
      sh = (v2h + th + (sl > 0xffffffff ? 1 : 0)) >>> 0;
      sl >>>= 0;
      rh = ((sh << 31) | (sl >>> 1)) >>> 0; rl = ((sl << 31) | (sh >>> 1)) >>> 0;
      v2l = Math.imul(rl, P1L) >>> 0;
      v2h = (Math.round((rl * P1L - v2l) * TWO_NEG_32) + Math.imul(rh, P1L) + Math.imul(rl, P1H)) >>> 0;
      // lane 3: v = rotl(v + input * P2, 31) * P1
      il = u32(bytes, p + 16); ih = u32(bytes, p + 20);
      tl = Math.imul(il, P2L) >>> 0;
      th = Math.round((il * P2L - tl) * TWO_NEG_32) + Math.imul(ih, P2L) + Math.imul(il, P2H);
      sl = v3l + tl;
      sh = (v3h + th + (sl > 0xffffffff ? 1 : 0)) >>> 0;
      sl >>>= 0;
      rh = ((sh << 31) | (sl >>> 1)) >>> 0; rl = ((sl << 31) | (sh >>> 1)) >>> 0;
      v3l = Math.imul(rl, P1L) >>> 0;
      v3h = (Math.round((rl * P1L - v3l) * TWO_NEG_32) + Math.imul(rh, P1L) + Math.imul(rl, P1H)) >>> 0;
      // lane 4: v = rotl(v + input * P2, 31) * P1
      il = u32(bytes, p + 24); ih = u32(bytes, p + 28);
      tl = Math.imul(il, P2L) >>> 0;
      th = Math.round((il * P2L - tl) * TWO_NEG_32) + Math.imul(ih, P2L) + Math.imul(il, P2H);
      sl = v4l + tl;
      sh = (v4h + th + (sl > 0xffffffff ? 1 : 0)) >>> 0;
      sl >>>= 0;
      rh = ((sh << 31) | (sl >>> 1)) >>> 0; rl = ((sl << 31) | (sh >>> 1)) >>> 0;
      v4l = Math.imul(rl, P1L) >>> 0;
      v4h = (Math.round((rl * P1L - v4l) * TWO_NEG_32) + Math.imul(rh, P1L) + Math.imul(rl, P1H)) >>> 0;
      p += 32;
    }
    rotl(v1h, v1l, 1); hh = H; hl = L;
    rotl(v2h, v2l, 7); add(hh, hl, H, L); hh = H; hl = L;
    rotl(v3h, v3l, 12); add(hh, hl, H, L); hh = H; hl = L;
    rotl(v4h, v4l, 18); add(hh, hl, H, L); hh = H; hl = L;
    mergeRound(hh, hl, v1h, v1l); hh = H; hl = L;
    mergeRound(hh, hl, v2h, v2l); hh = H; hl = L;
    mergeRound(hh, hl, v3h, v3l); hh = H; hl = L;
    mergeRound(hh, hl, v4h, v4l); hh = H; hl = L;
  } else {
    hh = P5H; hl = P5L;
  }
  // + total length (a Number below 2^53).
  add(hh, hl, Math.floor(len / 0x100000000) >>> 0, len >>> 0); hh = H; hl = L;
  while (end - p >= 8) {
    round(0, 0, u32(bytes, p + 4), u32(bytes, p));
    rotl((hh ^ H) >>> 0, (hl ^ L) >>> 0, 27);
    mul(H, L, P1H, P1L);
    add(H, L, P4H, P4L); hh = H; hl = L;
    p += 8;
  }
  if (end - p >= 4) {
    mul(0, u32(bytes, p), P1H, P1L);
    rotl((hh ^ H) >>> 0, (hl ^ L) >>> 0, 23);
    mul(H, L, P2H, P2L);
    add(H, L, P3H, P3L); hh = H; hl = L;
    p += 4;
  }
  while (p < end) {
    mul(0, bytes[p], P5H, P5L);
    rotl((hh ^ H) >>> 0, (hl ^ L) >>> 0, 11);
    mul(H, L, P1H, P1L); hh = H; hl = L;
    p++;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul(hh, hl, P2H, P2L); hh = H; hl = L;
  const lo29 = ((hh << 3) | (hl >>> 29)) >>> 0;
  hh = (hh ^ (hh >>> 29)) >>> 0;
  hl = (hl ^ lo29) >>> 0;
  mul(hh, hl, P3H, P3L); hh = H; hl = L;
  hl = (hl ^ hh) >>> 0;
  return [hh, hl];
}
