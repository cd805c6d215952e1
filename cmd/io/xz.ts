/** The xz decoder lib/compress needs, from @napi-rs/lzma (prebuilt N-API, lzma-rs inside). */
import { xz } from '@napi-rs/lzma';
import type { XzDecoder } from '../../lib/compress/index.js';

export const nodeXzDecoder: XzDecoder = (data) => {
  const out = xz.decompressSync(data);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};
