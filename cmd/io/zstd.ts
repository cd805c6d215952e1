/**
 * The streaming zstd decoder lib/compress/stream.ts takes (lib/ stays free of Node APIs): node's
 * own zlib where it has zstd (node >= 22.15 / 23.8: native, as fast as `zstd -dc`); else the
 * reference decoder prebuilt as a Node-API addon (@mongodb-js/zstd's per-platform packages,
 * optional dependencies installed from the npm registry without compiling), for inputs whose
 * blocks hold at most 256 MiB and 32 times the input, with zstddec as its fallback; else zstddec's WebAssembly build of
 * the reference decoder (zstd 1.5.7; ~2.5x slower than native, ~10x faster than the pure-JS fzstd).
 * node:zlib and zstddec stream: output goes to the sink 128 KiB to 1 MiB at a time, so a 60 MB
 * vmlinux is never held whole; the addon decodes a whole input at once (off the main thread) and
 * its output is handed over in 1 MiB slices. All verify the content checksums. Loaded on first use:
 * only zstd bases pay for it.
 */
import { createRequire } from 'node:module';
import type zlib from 'node:zlib';
import { Sink, ZstdStreamDecoder, ZstdStreamError } from '../../lib/compress/stream.js';
import { zstdFrames } from '../../lib/compress/zstd-frames.js';
import { collectGarbage } from './gc.js';
import { isMainThread } from './thread.js';

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
  // zstd came to zlib in node 22.15 and 23.8: an older node need not load zlib to find out (a
  // millisecond of a one-module check).
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (!(process.versions as Record<string, string | undefined>).zstd && major * 100 + minor < 2215) return undefined;
  const nodeZlib = createRequire(import.meta.url)('node:zlib') as typeof zlib;
  const create = (nodeZlib as unknown as { createZstdDecompress?: CreateZstd }).createZstdDecompress;
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
  _init(result: { instance: { exports: unknown }; module?: unknown }): void;
  decodeStreaming(arrays: Iterable<Uint8Array>): Generator<Uint8Array>;
}

/** What zstddec's WebAssembly module exports (the reference decoder's streaming API). */
interface ZstdExports {
  memory: { buffer: ArrayBuffer };
  malloc(n: number): number;
  free(p: number): void;
  ZSTD_createDCtx(): number;
  ZSTD_freeDCtx(dctx: number): number;
  ZSTD_decompressStream(dctx: number, output: number, input: number): number;
}

/** zstd's error codes (zstd_errors.h) that corrupt or unusual data can give, as words. */
const ZSTD_ERRORS: Record<number, string> = {
  10: 'unknown frame magic', 12: 'unsupported frame version', 14: 'unsupported frame parameters',
  16: 'the frame needs a window larger than 128 MiB', 20: 'corrupted data', 22: 'checksum mismatch',
  24: 'bad literals header', 30: 'corrupted dictionary', 32: 'wrong dictionary', 44: 'table log too large',
  46: 'max symbol value too large', 48: 'max symbol value too small', 64: 'out of memory',
  72: 'wrong source size', 80: 'no progress (output full)', 82: 'no progress (input empty)',
};

/** In and out buffers in WebAssembly memory: 1 MiB each, reused for the whole stream. */
const IO = 1 << 20;

/**
 * Drives zstddec's WebAssembly module directly: one decoder context per stream, freed however the
 * stream ends; output handed to the sink as a view of the module's memory (no copy, no garbage);
 * zstd's own error codes (a checksum mismatch is named as one). `instance` gives the exports for
 * one stream: a fresh instance of the compiled module each time (about 1 ms), so that the memory a
 * stream touched (its window: 59 MiB for a 7.2 vmlinuz) goes with it instead of staying for the
 * rest of the run (a WebAssembly memory never shrinks).
 */
function directDecoder(instance: () => ZstdExports): ZstdStreamDecoder {
  return {
    name: 'zstddec (WebAssembly)',
    async decode(pieces: Uint8Array[], sink: Sink) {
      const ex = instance();
      const dctx = ex.ZSTD_createDCtx();
      const inBuf = ex.malloc(IO);
      const outBuf = ex.malloc(IO);
      const inStruct = ex.malloc(12); // ZSTD_inBuffer / ZSTD_outBuffer: pointer, size, pos (wasm32)
      const outStruct = ex.malloc(12);
      try {
        if (!dctx || !inBuf || !outBuf || !inStruct || !outStruct) throw new ZstdStreamError('out of memory', 0);
        let pending = 0; // zstd's hint: non-zero while a frame is not complete
        for (let k = 0; k < pieces.length; k++) {
          const piece = pieces[k];
          for (let at = 0; at < piece.length; at += IO) {
            const n = Math.min(IO, piece.length - at);
            new Uint8Array(ex.memory.buffer, inBuf, n).set(piece.subarray(at, at + n));
            let v = new DataView(ex.memory.buffer);
            v.setUint32(inStruct, inBuf, true); v.setUint32(inStruct + 4, n, true); v.setUint32(inStruct + 8, 0, true);
            let read = 0;
            for (let idle = 0; ;) {
              v.setUint32(outStruct, outBuf, true); v.setUint32(outStruct + 4, IO, true); v.setUint32(outStruct + 8, 0, true);
              const r = ex.ZSTD_decompressStream(dctx, outStruct, inStruct) >>> 0;
              v = new DataView(ex.memory.buffer); // the call may have grown the memory
              if (r > 0xffffffff - 120) {
                const code = 0x100000000 - r;
                throw new ZstdStreamError(ZSTD_ERRORS[code] ?? `zstd error ${code}`, k);
              }
              const produced = v.getUint32(outStruct + 8, true);
              const consumed = v.getUint32(inStruct + 8, true);
              // A call that neither read nor wrote (the output was full exactly at a frame's end)
              // answers for the next frame, which has not begun: the frame's own answer stands.
              if (produced > 0 || consumed > read) pending = r;
              read = consumed;
              if (produced && sink(new Uint8Array(ex.memory.buffer, outBuf, produced)) === false) return;
              // Done with this input once it is used up and the output was not full (all flushed).
              if (consumed >= n && produced < IO) break;
              if (produced === 0 && ++idle > STALL) throw new ZstdStreamError('the decoder made no progress', k);
            }
          }
        }
        if (pending !== 0) throw new ZstdStreamError('truncated data (the last frame is not complete)', pieces.length - 1);
      } finally {
        if (dctx) ex.ZSTD_freeDCtx(dctx);
        for (const p of [inBuf, outBuf, inStruct, outStruct]) if (p) ex.free(p);
      }
    },
  };
}

/**
 * zstddec's streaming decoder: its WebAssembly module driven directly (directDecoder), the module
 * taken from zstddec's public `_init` hook. Should a later zstddec not hand it over, its own
 * generator serves (see generatorDecoder).
 */
async function wasmDecoder(): Promise<ZstdStreamDecoder> {
  const { ZSTDDecoder } = (await import('zstddec/stream')) as { ZSTDDecoder: new () => ZstddecStream };
  const decoder = new ZSTDDecoder();
  let exports: Partial<ZstdExports> | undefined;
  let compiled: unknown;
  const init = decoder._init;
  decoder._init = (result) => {
    exports = result.instance.exports as Partial<ZstdExports>;
    compiled = result.module;
    init.call(decoder, result);
  };
  // Without fetch, zstddec instantiates from its bytes directly instead of through a data: URL
  // (which loads node's fetch implementation, ~15 ms); fetch is put back before anything else runs.
  const g = globalThis as { fetch?: unknown };
  const fetchWas = Object.getOwnPropertyDescriptor(g, 'fetch');
  let ready: Promise<void>;
  try {
    if (fetchWas?.configurable) Object.defineProperty(g, 'fetch', { value: undefined, configurable: true, writable: true });
    ready = decoder.init();
  } finally {
    if (fetchWas?.configurable) Object.defineProperty(g, 'fetch', fetchWas);
  }
  await ready;
  const ex = exports;
  if (!(ex?.memory && ex.malloc && ex.free && ex.ZSTD_createDCtx && ex.ZSTD_freeDCtx && ex.ZSTD_decompressStream)) return generatorDecoder(decoder);
  // The module's one import tells zstddec that the memory grew; these instances re-read it instead.
  const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (m: unknown, i: object) => { exports: ZstdExports }; Module: new (b: unknown) => unknown } }).WebAssembly;
  const fresh = compiled instanceof (wasm.Module as unknown as new () => object)
    ? () => new wasm.Instance(compiled, { env: { emscripten_notify_memory_growth: () => {} } }).exports
    : () => ex as ZstdExports;
  return directDecoder(fresh);
}

/**
 * zstddec's own generator. It has no way to report a decoding error: on one, the decoder makes no
 * more progress and the generator yields empty outputs forever. Pieces are fed one at a time (the
 * frames split before their checksums, by lib/), so a run of empty outputs names the piece that
 * failed.
 */
function generatorDecoder(decoder: ZstddecStream): ZstdStreamDecoder {
  return {
    name: 'zstddec (WebAssembly, generator)',
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
            if (++idle >= STALL) throw new ZstdStreamError('the decoder stopped on corrupt data', piece);
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

/** For tests: the generator-driven decoder, as used when zstddec does not hand over its module. */
export async function zstddecGeneratorDecoder(): Promise<ZstdStreamDecoder> {
  const { ZSTDDecoder } = (await import('zstddec/stream')) as { ZSTDDecoder: new () => ZstddecStream };
  const decoder = new ZSTDDecoder();
  await decoder.init();
  return generatorDecoder(decoder);
}

/** The Node-API addon's one call used here: decodes every frame of `data` (on libuv's pool). */
interface NativeZstd {
  decompress(data: Buffer): Promise<Buffer>;
}

/**
 * Inputs whose blocks may hold more than this go to the streaming decoder: the addon holds its
 * whole output (a 7.x vmlinux: 59 MiB, whose blocks may hold 160 MiB) until it is handed over. The
 * same as the default payload budget (BTFCHECK_MAX_BASE_PAYLOAD), which is checked first.
 */
export const NATIVE_ZSTD_MAX = 256 << 20;
/**
 * ... and whose blocks may hold at most this many times the input: a kernel's may hold ~12x its
 * payload (7.2.13: 160 MiB from 13 MiB), while near-empty data that only passes the 1000:1 ratio
 * limit is streamed, so that the base loader can stop it at its first bytes without the addon
 * having decoded all of it into memory.
 */
export const NATIVE_ZSTD_RATIO = 32;
/** Output handed to the sink this much at a time. */
const NATIVE_SLICE = 1 << 20;

/**
 * @mongodb-js/zstd's prebuilt addon for this platform, when installed (optional dependencies: npm
 * installs the one for this platform; none needs a compiler). Loaded directly, not through its
 * wrapper package, whose libc detection builds a whole process report. BTFCHECK_ZSTD=wasm turns it off;
 * worker threads do without it.
 */
function loadNativeZstd(): NativeZstd | undefined {
  // Worker threads (abi loads its two sides' bases on two at once) stream: the addon needs its
  // window and its whole output at once, about twice what zstddec holds.
  if (process.env.BTFCHECK_ZSTD === 'wasm') return undefined;
  const require = createRequire(import.meta.url);
  if (!isMainThread()) return undefined;
  const names = process.platform === 'linux'
    ? [`linux-${process.arch}-gnu`, `linux-${process.arch}-musl`] // a musl system fails to open the glibc build, and the reverse
    : [`${process.platform}-${process.arch}`];
  for (const name of names) {
    try {
      const addon = require(`@mongodb-js/zstd-${name}`) as Partial<NativeZstd>;
      if (typeof addon.decompress === 'function') return addon as NativeZstd;
    } catch { /* not installed here, or not for this libc */ }
  }
  return undefined;
}

/** The pieces as one array: a view when they are consecutive in one buffer (as lib/ walks them). */
function joined(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const first = pieces[0];
  let end = first.byteOffset;
  let contiguous = true;
  for (const p of pieces) {
    if (p.buffer !== first.buffer || p.byteOffset !== end) contiguous = false;
    end = p.byteOffset + p.byteLength;
  }
  if (contiguous) return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) { out.set(p, at); at += p.length; }
  return out;
}

/**
 * The addon, with `fallback` (zstddec) for whatever it does not take: an input whose blocks may
 * hold more than NATIVE_ZSTD_MAX, and any input the addon fails on — decoded again by the fallback,
 * so corrupt data is reported exactly as before (zstd's own error, the piece it is in, a checksum
 * mismatch as one), and output is only handed over once the addon has decoded all of it.
 */
function nativeDecoder(addon: NativeZstd, fallback: () => Promise<ZstdStreamDecoder>): ZstdStreamDecoder {
  return {
    name: 'zstd (native, @mongodb-js/zstd)',
    async decode(pieces: Uint8Array[], sink: Sink) {
      if (pieces.length === 0) return;
      const input = joined(pieces);
      let bound = 0;
      try {
        bound = zstdFrames(input).frames.reduce((n, f) => n + f.bound, 0);
      } catch {
        bound = Infinity;
      }
      if (!(bound <= NATIVE_ZSTD_MAX && bound <= NATIVE_ZSTD_RATIO * input.length)) return (await fallback()).decode(pieces, sink);
      // One at a time: each holds its whole output until the collector frees it.
      const release = await nativeTurn();
      try {
        // The previous output, if still held, is freed before this one is made.
        await collectNativeOutput();
        const size = await handOver(addon, input, bound, sink);
        if (size === undefined) return await (await fallback()).decode(pieces, sink);
        if (size >= NATIVE_COLLECT) outputHeld = true;
      } finally {
        release();
      }
    },
  };
}

/**
 * Decodes `input` with the addon and hands its output to `sink` (whole when it takes that, else in slices); the bytes decoded, or
 * undefined when the addon failed (nothing was handed over then).
 */
async function handOver(addon: NativeZstd, input: Uint8Array, bound: number, sink: Sink): Promise<number | undefined> {
  let out: Uint8Array;
  try {
    out = await addon.decompress(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  } catch {
    return undefined;
  }
  if (out.length > bound) return undefined;
  if (sink.whole) {
    sink.whole(out);
    return out.length;
  }
  for (let at = 0; at < out.length; at += NATIVE_SLICE) {
    if (sink(out.subarray(at, Math.min(out.length, at + NATIVE_SLICE))) === false) break;
  }
  return out.length;
}

/** Outputs at least this large are freed by collectNativeOutput. */
const NATIVE_COLLECT = 8 << 20;
/** An output of NATIVE_COLLECT or more was handed over and may still be held. */
let outputHeld = false;

/**
 * Frees the addon's last large output (a 7.x vmlinux: 59 MiB) now: its memory goes back when its
 * buffer is collected and the addon's finalizer has run, a turn of the event loop later. A full
 * collection costs ~9 ms, a sixth of a one-module check against a vmlinuz, so it is not done when
 * the output is handed over but by whoever goes on to use much more memory: the next native
 * decode, a check of a whole tree, abi's phases.
 */
export async function collectNativeOutput(): Promise<void> {
  if (!outputHeld) return;
  outputHeld = false;
  if (collectGarbage()) await new Promise<void>((r) => setImmediate(r));
}
let queue: Promise<void> = Promise.resolve();

/** Waits for the previous native decode to end; resolves to the function that ends this one. */
function nativeTurn(): Promise<() => void> {
  let release!: () => void;
  const done = new Promise<void>((r) => { release = r; });
  const turn = queue.then(() => release);
  queue = queue.then(() => done);
  return turn;
}

let cachedWasm: Promise<ZstdStreamDecoder> | undefined;

/** zstddec's WebAssembly decoder (the fallback of the addon, and the decoder where it is missing). */
export function wasmZstdDecoder(): Promise<ZstdStreamDecoder> {
  return (cachedWasm ??= wasmDecoder());
}

/**
 * The addon's decoder, or undefined where the addon is not installed. `fallback` (default zstddec)
 * takes what the addon does not (tests pass one that records it).
 */
export function nativeZstdDecoder(fallback: () => Promise<ZstdStreamDecoder> = wasmZstdDecoder): ZstdStreamDecoder | undefined {
  const addon = loadNativeZstd();
  return addon ? nativeDecoder(addon, fallback) : undefined;
}

let cached: Promise<ZstdStreamDecoder> | undefined;

/** The fastest zstd decoder here: node's zlib, else the prebuilt addon, else WebAssembly. */
export function zstdStreamDecoder(): Promise<ZstdStreamDecoder> {
  return (cached ??= Promise.resolve(nodeZstdDecoder() ?? nativeZstdDecoder() ?? wasmZstdDecoder()));
}

/** A decoder that loads the real one when first used (most bases are not zstd). */
export const lazyZstdDecoder: ZstdStreamDecoder = {
  name: 'zstd (loaded on first use)',
  decode: async (pieces, sink) => (await zstdStreamDecoder()).decode(pieces, sink),
};
