/**
 * The streaming zstd decoder lib/compress/stream.ts takes (lib/ stays free of Node APIs): node's
 * own zlib where it has zstd (node >= 22.15 / 23.8: native, as fast as `zstd -dc`), else zstddec's
 * WebAssembly build of the reference decoder (zstd 1.5.7; no compiling at install, ~3x slower than
 * native, 20x faster than the pure-JS fzstd). Both stream: output goes to the sink 128 KiB at a
 * time, so a 60 MB vmlinux is never held whole; both verify the frames' content checksums.
 * Loaded on first use: only zstd bases pay for it.
 */
import zlib from 'node:zlib';
import { Sink, ZstdStreamDecoder, ZstdStreamError } from '../../lib/compress/stream.js';

/** Consecutive empty outputs after which zstddec's stream is taken as stopped (see wasmDecoder). */
const STALL = 16;
/**
 * zstddec copies each array it is given into WebAssembly memory: feeding 1 MiB at a time keeps
 * that copy small (the heap reuses it) instead of a second copy of the whole payload.
 */
const FEED = 1 << 20;

type CreateZstd = (options?: zlib.ZlibOptions) => NodeJS.ReadWriteStream & { destroy(): void };

/** node:zlib's zstd decompressor, where this node has one (detected at run time). */
export function nodeZstdDecoder(): ZstdStreamDecoder | undefined {
  const create = (zlib as unknown as { createZstdDecompress?: CreateZstd }).createZstdDecompress;
  if (typeof create !== 'function') return undefined;
  return {
    name: 'node:zlib',
    decode: (pieces, sink) => new Promise<void>((resolve, reject) => {
      const d = create({ chunkSize: 128 << 10 });
      let piece = 0;
      let settled = false;
      const settle = (e?: unknown) => {
        if (settled) return;
        settled = true;
        d.destroy();
        if (e === undefined) resolve(); else reject(e);
      };
      d.on('data', (chunk: Uint8Array) => {
        if (settled) return;
        try {
          if (sink(chunk) === false) settle();
        } catch (e) {
          settle(e);
        }
      });
      d.on('error', (e: Error) => settle(new ZstdStreamError(e.message, piece)));
      d.on('end', () => settle());
      // One piece at a time: an error then belongs to the piece being decoded.
      const next = () => {
        if (settled) return;
        if (piece >= pieces.length) { d.end(); return; }
        d.write(pieces[piece], (e?: Error | null) => {
          if (e) return settle(new ZstdStreamError(e.message, piece));
          piece++;
          next();
        });
      };
      next();
    }),
  };
}

interface ZstddecStream {
  init(): Promise<void>;
  decodeStreaming(arrays: Iterable<Uint8Array>): Generator<Uint8Array>;
}

/**
 * zstddec's streaming decoder (ZSTD_decompressStream in WebAssembly). Its generator has no way to
 * report a decoding error: on one, the decoder makes no more progress and the generator yields
 * empty outputs forever. Pieces are fed one at a time (the frames split before their checksums,
 * by lib/), so a run of empty outputs names the piece that failed.
 */
async function wasmDecoder(): Promise<ZstdStreamDecoder> {
  const { ZSTDDecoder } = (await import('zstddec/stream')) as { ZSTDDecoder: new () => ZstddecStream };
  const decoder = new ZSTDDecoder();
  await decoder.init();
  return {
    name: 'zstddec (WebAssembly)',
    async decode(pieces: Uint8Array[], sink: Sink) {
      let piece = -1;
      function* feed() {
        for (piece = 0; piece < pieces.length; piece++) {
          const p = pieces[piece];
          for (let at = 0; at < p.length; at += FEED) yield p.subarray(at, Math.min(p.length, at + FEED));
        }
      }
      const gen = decoder.decodeStreaming(feed());
      let idle = 0;
      // zstddec frees its decoder only when a stream runs to its end: stopping early (the sink
      // refused the data, or threw) leaves it to the WebAssembly heap, bounded by the budget.
      try {
        for (;;) {
        let r: IteratorResult<Uint8Array>;
        try {
          r = gen.next();
        } catch (e) {
          throw new ZstdStreamError((e as Error).message, Math.min(piece, pieces.length - 1));
        }
        if (r.done) return;
        if (r.value.length === 0) {
          if (++idle >= STALL) {
            throw new ZstdStreamError('the decoder stopped on corrupt data', piece);
          }
          continue;
        }
        idle = 0;
        if (sink(r.value) === false) return;
        }
      } finally {
        gen.return(undefined);
      }
    },
  };
}

let cached: Promise<ZstdStreamDecoder> | undefined;

/** The fastest streaming zstd decoder here: node's zlib, else WebAssembly. */
export function zstdStreamDecoder(): Promise<ZstdStreamDecoder> {
  return (cached ??= Promise.resolve(nodeZstdDecoder() ?? wasmDecoder()));
}

/** A decoder that loads the real one when first used (most bases are not zstd). */
export const lazyZstdDecoder: ZstdStreamDecoder = {
  name: 'zstd (loaded on first use)',
  decode: async (pieces, sink) => (await zstdStreamDecoder()).decode(pieces, sink),
};
