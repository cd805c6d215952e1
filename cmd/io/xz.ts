/** The xz decoder lib/compress needs, from @napi-rs/lzma (prebuilt N-API, lzma-rs inside). */
import { xz } from '@napi-rs/lzma';
import type { AsyncXzDecoder, XzDecoder } from '../../lib/compress/index.js';

export const nodeXzDecoder: XzDecoder = (data) => {
  const out = xz.decompressSync(data);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

/** The same on libuv's thread pool: loads awaited together decompress in parallel. */
export const nodeXzDecoderAsync: AsyncXzDecoder = async (data) => {
  const out = await xz.decompress(data);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};
