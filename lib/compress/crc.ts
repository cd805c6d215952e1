/** CRC-32 (IEEE, as in xz and gzip) and CRC-64 (ECMA-182, as in xz), table-driven. */

const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of bytes[start, end); `prev` continues a CRC over earlier bytes (0 to start anew). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, prev = 0): number {
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) c = CRC32_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// CRC-64 in two 32-bit halves: BigInt per byte would be far too slow for a vmlinux.
const CRC64_LO = new Uint32Array(256);
const CRC64_HI = new Uint32Array(256);
(() => {
  const polyLo = 0xd7870f42, polyHi = 0xc96c5795; // 0xC96C5795D7870F42 reflected
  for (let n = 0; n < 256; n++) {
    let lo = n, hi = 0;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) { lo = (lo ^ polyLo) >>> 0; hi = (hi ^ polyHi) >>> 0; }
    }
    CRC64_LO[n] = lo; CRC64_HI[n] = hi;
  }
})();

/** CRC-64 value (xz stores it little-endian). */
export function crc64(bytes: Uint8Array, start = 0, end = bytes.length): bigint {
  let lo = 0xffffffff, hi = 0xffffffff;
  for (let i = start; i < end; i++) {
    const idx = (lo ^ bytes[i]) & 0xff;
    lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ CRC64_LO[idx]) >>> 0;
    hi = ((hi >>> 8) ^ CRC64_HI[idx]) >>> 0;
  }
  return (BigInt((hi ^ 0xffffffff) >>> 0) << 32n) | BigInt((lo ^ 0xffffffff) >>> 0);
}
