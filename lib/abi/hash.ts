/**
 * A small streaming hash with two independent 32-bit lanes. Structural identities over 100k+ types
 * are compared as 53-bit numbers built from both lanes: a collision needs both lanes to collide,
 * which at a few hundred thousand distinct values is vanishingly unlikely.
 */

export class Hash2 {
  a: number;
  b: number;

  constructor(seed = 0) {
    this.a = 0;
    this.b = 0;
    this.reset(seed);
  }

  /** Starts over (one object serves a whole loop without allocating). */
  reset(seed = 0): this {
    this.a = (0x9e3779b9 ^ seed) >>> 0;
    this.b = (0x85ebca6b ^ Math.imul(seed, 0x27d4eb2f)) >>> 0;
    return this;
  }

  /** Feeds one 32-bit word. */
  word(v: number): this {
    let a = Math.imul(this.a ^ v, 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
    this.a = (Math.imul(a, 0x1b873593) + 0xe6546b64) >>> 0;
    let b = Math.imul(this.b + v, 0x85ebca77);
    b ^= b >>> 13;
    this.b = Math.imul(b, 0xc2b2ae3d) >>> 0;
    return this;
  }

  /** Feeds two words (another hash's lanes, a 64-bit value). */
  pair(x: number, y: number): this {
    return this.word(x).word(y);
  }

  /** Feeds the bytes [start, end) of `bytes`, then the length. */
  bytes(bytes: Uint8Array, start: number, end: number): this {
    for (let i = start; i < end; i++) this.word(bytes[i]);
    return this.word(end - start);
  }

  /** Both lanes as one exact JS number (32 + 21 bits). */
  get key(): number {
    return key(this.a, this.b);
  }
}

export function key(a: number, b: number): number {
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}
