/**
 * Reusable buffers for one synchronous pass. A typed array above 64 bytes is an off-heap allocation
 * (~0.7 µs here), and a module's diagnosis would make a couple of dozen: over a thousand modules
 * that is a tenth of the time. A holder hands out a view of its buffer, valid until its next take;
 * buffers above KEEP elements (hostile sizes; real modules stay far below) are not kept.
 */
const KEEP = 1 << 18;

function grown(length: number, n: number): number {
  return Math.min(KEEP, Math.max(n, 2 * length));
}

export class WordScratch {
  private buf = new Uint32Array(0);
  /** `n` words, contents undefined. */
  take(n: number): Uint32Array {
    if (n > this.buf.length) {
      if (n > KEEP) return new Uint32Array(n);
      this.buf = new Uint32Array(grown(this.buf.length, n));
    }
    return this.buf.subarray(0, n);
  }
}

export class ByteScratch {
  private buf = new Uint8Array(0);
  /** `n` bytes, zeroed. */
  take(n: number): Uint8Array {
    if (n > this.buf.length) {
      if (n > KEEP) return new Uint8Array(n);
      this.buf = new Uint8Array(grown(this.buf.length, n));
    }
    return this.buf.subarray(0, n).fill(0);
  }
}

export class FloatScratch {
  private buf = new Float64Array(0);
  /** `n` doubles, contents undefined. */
  take(n: number): Float64Array {
    if (n > this.buf.length) {
      if (n > KEEP) return new Float64Array(n);
      this.buf = new Float64Array(grown(this.buf.length, n));
    }
    return this.buf.subarray(0, n);
  }
}
