/**
 * The xz decoder lib/compress needs, from @napi-rs/lzma (prebuilt N-API, lzma-rs inside).
 * Loaded on first use: loading the native addon costs more than node's own startup, and most
 * calls (plain .ko, raw BTF) never decode xz.
 */
import { createRequire } from 'node:module';
import type { AsyncXzDecoder, XzDecoder } from '../../lib/compress/index.js';

type Lzma = typeof import('@napi-rs/lzma');
let lzma: Lzma | undefined;
const load = (): Lzma => (lzma ??= createRequire(import.meta.url)('@napi-rs/lzma') as Lzma);

export const nodeXzDecoder: XzDecoder = (data) => {
  const out = load().xz.decompressSync(data);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

/** The same on libuv's thread pool: loads awaited together decompress in parallel. */
export const nodeXzDecoderAsync: AsyncXzDecoder = async (data) => {
  const out = await load().xz.decompress(data);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};
