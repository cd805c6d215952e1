/**
 * The streaming zstd decoders cmd/io/zstd.ts injects into lib/compress/stream.ts: zstddec's
 * WebAssembly build (node 20) and node's own zlib (node >= 22.15, detected at run time; its cases
 * run where it exists). Same bytes as the pure-JS decoder, checksums verified (a flip is named a
 * checksum mismatch), corrupt data an InputError, early stops, limits before decoding.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeZstdDecoder, nodeZstdDecoder, wasmZstdDecoder, zstddecGeneratorDecoder, zstdStreamDecoder } from '../cmd/io/zstd.js';
import { decompressAs, loadDecoders } from '../lib/compress/index.js';
import { DecodeBudget, DEFAULT_LIMITS } from '../lib/compress/limits.js';
import { decodeStream, ZstdStreamDecoder } from '../lib/compress/stream.js';
import { InputError } from '../lib/errors.js';
import { repoRoot } from './helpers/cli.js';

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'inputs');
const ctr = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'ctr.ko.zst')));
const ctrStdin = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'ctr-stdin.ko.zst')));

const flip = (b: Uint8Array, at: number, bit = 1): Uint8Array => {
  const c = b.slice();
  c[at < 0 ? c.length + at : at] ^= bit;
  return c;
};

async function decode(zstd: ZstdStreamDecoder, input: Uint8Array, stopAfter = Infinity): Promise<{ out: Uint8Array; complete: boolean }> {
  const parts: Uint8Array[] = [];
  let n = 0;
  const r = await decodeStream(input, 'zstd', { zstd, budget: new DecodeBudget(1 << 30, 20_000), limits: DEFAULT_LIMITS }, (chunk) => {
    parts.push(chunk.slice());
    n += chunk.length;
    return n < stopAfter;
  });
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return { out, complete: r.complete };
}

const decoders: Array<[string, () => Promise<ZstdStreamDecoder | undefined>]> = [
  ['the default (node:zlib where it has zstd, else the prebuilt addon, else WebAssembly)', zstdStreamDecoder],
  ['node:zlib', async () => nodeZstdDecoder()],
  ['the prebuilt addon (@mongodb-js/zstd), zstddec behind it', async () => nativeZstdDecoder()],
  ['zstddec\'s module driven directly', wasmZstdDecoder],
  ['zstddec\'s own generator (the fallback should zstddec not hand over its module)', zstddecGeneratorDecoder],
];

describe.each(decoders)('%s', (_name, get) => {
  it('decodes frames with and without a content size as the pure-JS decoder does', async (ctx) => {
    const zstd = await get();
    if (!zstd) return ctx.skip(); // this node has no zstd in zlib
    await loadDecoders();
    for (const f of [ctr, ctrStdin]) {
      const { out, complete } = await decode(zstd, f);
      expect(complete).toBe(true);
      expect(Buffer.compare(Buffer.from(out), Buffer.from(decompressAs(f, 'zstd')))).toBe(0);
    }
  });

  it('a flipped checksum is a checksum mismatch; damage elsewhere an InputError', async (ctx) => {
    const zstd = await get();
    if (!zstd) return ctx.skip();
    await expect(decode(zstd, flip(ctr, -1))).rejects.toThrow(/^corrupt zstd data: checksum mismatch \(XXH64 0x[0-9a-f]{8} stored, the content's differs\)$/);
    await expect(decode(zstd, flip(ctrStdin, -3, 0x80))).rejects.toThrow(/checksum mismatch/);
    for (const at of [200, 1000, 3000]) {
      try {
        await decode(zstd, flip(ctr, at, 0x10));
        throw new Error(`a flip at ${at} decoded`);
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        expect((e as Error).message).toMatch(/^corrupt zstd data: /);
      }
    }
  });

  it('stops when the sink has enough', async (ctx) => {
    const zstd = await get();
    if (!zstd) return ctx.skip();
    const { out, complete } = await decode(zstd, ctr, 1);
    expect(complete).toBe(false);
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThan(15745 + 1);
  });

  it('a limit is checked from the block headers before the decoder runs', async (ctx) => {
    const zstd = await get();
    if (!zstd) return ctx.skip();
    let called = false;
    const spy: ZstdStreamDecoder = { name: 'spy', decode: (p, s) => { called = true; return zstd.decode(p, s); } };
    await expect(decodeStream(ctr, 'zstd', { zstd: spy, budget: new DecodeBudget(1000, 20_000), limits: DEFAULT_LIMITS }, () => true))
      .rejects.toThrow(/^zstd data declares 15\.4 KiB, over the 1000 bytes limit on decompressed size$/);
    expect(called).toBe(false);
  });
});

it('node:zlib is used exactly where this node has zstd, else the prebuilt addon where installed, else zstddec\'s module driven directly', async () => {
  const has = typeof (await import('node:zlib') as unknown as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
  const native = nativeZstdDecoder();
  expect((await zstdStreamDecoder()).name).toBe(has ? 'node:zlib' : native ? native.name : 'zstddec (WebAssembly)');
  // On Linux x64 and arm64 (glibc or musl) npm installs the addon from the registry, no compiler needed.
  if (process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch) && process.env.BTFCHECK_ZSTD !== 'wasm') expect(native).toBeDefined();
  expect(typeof globalThis.fetch).toBe('function'); // put back after zstddec's init
});

it('the addon decodes a kernel-like input itself; corrupt data, and data whose blocks may hold over 32x the input, go to zstddec', async (ctx) => {
  const taken: string[] = [];
  const zstd = nativeZstdDecoder(async () => {
    const wasm = await wasmZstdDecoder();
    return { name: wasm.name, decode: (p, s) => { taken.push('fallback'); return wasm.decode(p, s); } };
  });
  if (!zstd) return ctx.skip();
  await loadDecoders();
  const { zstdFrames } = await import('../lib/compress/zstd-frames.js');
  for (const f of [ctr, ctrStdin]) {
    expect(zstdFrames(f).frames.reduce((n, fr) => n + fr.bound, 0)).toBeLessThanOrEqual(32 * f.length);
    const { out } = await decode(zstd, f);
    expect(Buffer.compare(Buffer.from(out), Buffer.from(decompressAs(f, 'zstd')))).toBe(0);
  }
  expect(taken).toEqual([]);
  await expect(decode(zstd, flip(ctr, -1))).rejects.toThrow(/^corrupt zstd data: checksum mismatch/);
  expect(taken).toEqual(['fallback']);
  // 8 MiB of zeros: a few hundred bytes whose blocks may hold 8 MiB — streamed, not decoded whole.
  const require = createRequire(import.meta.url);
  const addon = [`linux-${process.arch}-gnu`, `linux-${process.arch}-musl`, `${process.platform}-${process.arch}`]
    .map((n) => { try { return require(`@mongodb-js/zstd-${n}`) as { compress(b: Buffer, level: number): Promise<Buffer> }; } catch { return undefined; } })
    .find((a) => a);
  const zeros = new Uint8Array(await addon!.compress(Buffer.alloc(8 << 20), 3));
  taken.length = 0;
  const { out } = await decode(zstd, zeros);
  expect(out.length).toBe(8 << 20);
  expect(out.every((b) => b === 0)).toBe(true);
  expect(taken).toEqual(['fallback']);
});

it('zstddec driven directly: a frame whose output ends exactly at the end of its 1 MiB buffer is complete (was "truncated data")', async (ctx) => {
  const require = createRequire(import.meta.url);
  const addon = [`linux-${process.arch}-gnu`, `linux-${process.arch}-musl`, `${process.platform}-${process.arch}`]
    .map((n) => { try { return require(`@mongodb-js/zstd-${n}`) as { compress(b: Buffer, level: number): Promise<Buffer> }; } catch { return undefined; } })
    .find((a) => a);
  if (!addon) return ctx.skip(); // its compressor makes the frames
  const wasm = await wasmZstdDecoder();
  for (const size of [1 << 20, 3 << 20, (3 << 20) + 1]) {
    const { out, complete } = await decode(wasm, new Uint8Array(await addon.compress(Buffer.alloc(size, 7), 3)));
    expect(complete).toBe(true);
    expect(out.length).toBe(size);
  }
});

function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

it('the direct decoder frees its context however a stream ends: memory stays flat over many streams', async (ctx) => {
  const zstd = await wasmZstdDecoder();
  if (zstd.name !== 'zstddec (WebAssembly)') return ctx.skip();
  // What earlier tests left is collected first, so the baseline is what stays.
  collectGarbage();
  const before = process.memoryUsage().external;
  for (let i = 0; i < 200; i++) {
    await decode(zstd, ctr, 1).catch(() => undefined); // stopped early
    await decode(zstd, flip(ctr, 1000, 0x10)).catch(() => undefined); // failed
  }
  // A stream's WebAssembly memory is released by the garbage collector, not at once (its backing
  // store is swept after the collection, off the main thread on a busy machine): collect, give the
  // sweeper a turn, collect again, so what is measured is what stays.
  collectGarbage();
  await new Promise((r) => setTimeout(r, 50));
  collectGarbage();
  expect(process.memoryUsage().external - before).toBeLessThan(64 << 20);
});
