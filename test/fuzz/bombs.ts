/**
 * Decompression bombs and hostile kernel images under the base and module limits (issue 12):
 * gzip (members joined), xz (streams joined) and zstd (RLE blocks) of zeros or of noisy zeros (under
 * the 1000:1 ratio), up to 1 GiB, behind a raw BTF header declaring any sizes, an ELF header whose
 * section table lies far away, or a real small base; as a compressed file, in a bzImage of the
 * current boot protocol (with a size trailer that is right, zero or huge) or of the old one with
 * several candidates back to back; checked as a base or as a module. Built from a few cached
 * pieces, so a case costs kilobytes, not the gigabyte it claims.
 *
 * The contract: one `btfcheck: FILE: ...` line or a base/module that loads, within 5 s of CPU
 * (the bound; the base time limit is 20 s of wall time by default) and bounded memory.
 */
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { xz } from '@napi-rs/lzma';
import { latin1Bytes } from '../helpers/elf-builder.js';
import { Corpus, vmlinuxElf } from './corpus.js';

const MiB = 1 << 20;

export interface BombPart {
  codec: 'gzip' | 'xz' | 'zstd';
  head: 'none' | 'btf' | 'elf' | 'small-btf' | 'small-elf';
  /** For 'btf': the type and string section lengths the header declares. */
  typeLen: number;
  strLen: number;
  /** For 'elf': where the section table is said to be. */
  shoff: number;
  fill: 'zeros' | 'noise';
  mib: number;
}

export interface BombCase {
  t: 'bomb';
  parts: BombPart[];
  wrap: 'file' | 'bz-new' | 'bz-old';
  trailer: 'right' | 'zero' | 'huge';
  as: 'base' | 'module';
}

const sizeArb = fc.oneof(fc.constantFrom(0, 16, 2048, 64 * MiB, 900 * MiB, 0x7fffffff, 0xffffffff), fc.nat({ max: 1 << 20 }));
export const bombArb: fc.Arbitrary<BombCase> = fc.record({
  t: fc.constant('bomb' as const),
  parts: fc.array(fc.record({
    codec: fc.constantFrom('gzip' as const, 'xz' as const, 'zstd' as const),
    head: fc.constantFrom('none' as const, 'btf' as const, 'elf' as const, 'small-btf' as const, 'small-elf' as const),
    typeLen: sizeArb, strLen: sizeArb,
    shoff: fc.constantFrom(1 << 20, 160 * MiB, 1 << 30, 2 ** 40),
    fill: fc.constantFrom('zeros' as const, 'noise' as const),
    mib: fc.constantFrom(0, 1, 16, 64, 300, 1024),
  }), { minLength: 1, maxLength: 4 }),
  wrap: fc.constantFrom('file' as const, 'bz-new' as const, 'bz-old' as const),
  trailer: fc.constantFrom('right' as const, 'zero' as const, 'huge' as const),
  as: fc.oneof({ weight: 3, arbitrary: fc.constant('base' as const) }, { weight: 1, arbitrary: fc.constant('module' as const) }),
});

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const repeat = (b: Uint8Array, n: number): Uint8Array => concat(...Array.from({ length: n }, () => b));

function btfHeader(typeLen: number, strLen: number): Uint8Array {
  const h = new Uint8Array(24);
  const v = new DataView(h.buffer);
  v.setUint16(0, 0xeb9f, true);
  h[2] = 1;
  v.setUint32(4, 24, true);
  v.setUint32(12, typeLen >>> 0, true);
  v.setUint32(16, typeLen >>> 0, true);
  v.setUint32(20, strLen >>> 0, true);
  return h;
}

function elfHeader(shoff: number): Uint8Array {
  const h = new Uint8Array(64);
  const v = new DataView(h.buffer);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true);
  v.setUint16(18, 62, true);
  v.setBigUint64(0x28, BigInt(shoff), true);
  v.setUint16(0x34, 64, true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, 46, true);
  v.setUint16(0x3e, 45, true);
  return h;
}

/** 1 MiB of zeros with 2 KiB of noise: about 500:1, under the ratio limit. */
function noisyMiB(): Uint8Array {
  const b = new Uint8Array(MiB);
  let x = 7;
  for (let i = 0; i < 2048; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i * 512] = x & 0xff; b[i * 512 + 1] = (x >>> 8) & 0xff; }
  return b;
}

const HAS_XZ_TOOL = spawnSync('xz', ['--version']).status === 0;

/** xz as the tool writes it (@napi-rs/lzma stores noisy data nearly uncompressed: 1 MiB in, 1 MiB out). */
function xzCompress(data: Uint8Array): Uint8Array {
  if (HAS_XZ_TOOL) {
    const r = spawnSync('xz', ['--check=crc32', '-1', '-c', '-q'], { input: data, maxBuffer: 1 << 30 });
    if (r.status === 0) return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
  }
  return new Uint8Array(xz.compressSync(data));
}

/** Compressed 1 MiB and 64 MiB pieces, made once per process: a few KiB each (checked). */
const pieces = new Map<string, Uint8Array>();
function piece(codec: 'gzip' | 'xz', fill: 'zeros' | 'noise', mib: 1 | 64): Uint8Array {
  const key = `${codec}-${fill}-${mib}`;
  let p = pieces.get(key);
  if (!p) {
    const data = fill === 'zeros' ? new Uint8Array(mib * MiB) : repeat(noisyMiB(), mib);
    p = codec === 'gzip' ? new Uint8Array(gzipSync(data, { level: 1 })) : xzCompress(data);
    pieces.set(key, p);
  }
  return p;
}

/** A bomb is kilobytes to a few megabytes of input; more would be the generator's fault. */
export const BOMB_MAX_BYTES = 64 << 20;

/** zstd: `prefix` in a raw block, then RLE blocks of 128 KiB zeros (noise: raw blocks, at most 4 MiB). */
function zstdPart(prefix: Uint8Array, fill: 'zeros' | 'noise', mib: number): Uint8Array {
  const blocks: Uint8Array[] = [Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x88])];
  const n = fill === 'zeros' ? mib * 8 : Math.min(mib, 4) * 8;
  const raw = (prefix.length << 3) | (n === 0 ? 1 : 0);
  blocks.push(Uint8Array.from([raw & 0xff, (raw >>> 8) & 0xff, (raw >>> 16) & 0xff]), prefix);
  const noisy = fill === 'noise' ? noisyMiB().subarray(0, 128 << 10) : undefined;
  for (let i = 0; i < n; i++) {
    const last = i === n - 1 ? 1 : 0;
    if (noisy) {
      const h = ((128 << 10) << 3) | last;
      blocks.push(Uint8Array.from([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff]), noisy);
    } else {
      const h = ((128 << 10) << 3) | (1 << 1) | last;
      blocks.push(Uint8Array.from([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, 0]));
    }
  }
  return concat(...blocks);
}

function partBytes(p: BombPart, corpus: Corpus): { bytes: Uint8Array; size: number } {
  const small = corpus.bases.get('small')!.raw;
  const head = p.head === 'btf' ? btfHeader(p.typeLen, p.strLen) : p.head === 'elf' ? elfHeader(p.shoff)
    : p.head === 'small-btf' ? small : p.head === 'small-elf' ? vmlinuxElf(small) : new Uint8Array(0);
  const size = head.length + p.mib * MiB;
  if (p.codec === 'zstd') return { bytes: zstdPart(head, p.fill, p.mib), size };
  const compress = (b: Uint8Array): Uint8Array => (p.codec === 'gzip' ? new Uint8Array(gzipSync(b, { level: 1 })) : xzCompress(b));
  const out: Uint8Array[] = [];
  if (head.length) out.push(compress(head));
  // Noise in 1 MiB pieces (a 64 MiB one would be a 64 MiB input for xz's window); zeros in 64 MiB ones.
  if (p.mib) out.push(p.mib >= 64 && p.fill === 'zeros' ? repeat(piece(p.codec, p.fill, 64), Math.ceil(p.mib / 64)) : repeat(piece(p.codec, p.fill, 1), p.mib));
  if (!out.length) out.push(compress(new Uint8Array(0)));
  return { bytes: concat(...out), size };
}

/** A bzImage around `payload`: protocol 2.15 with payload fields and a size trailer, or 2.04 without. */
function bzImage(payload: Uint8Array, withFields: boolean, trailer?: number): Uint8Array {
  const setupSize = 2 * 512;
  const body = withFields && trailer !== undefined ? concat(payload, new Uint8Array(new Uint32Array([trailer >>> 0]).buffer)) : payload;
  const out = new Uint8Array(setupSize + 64 + body.length + 64);
  const v = new DataView(out.buffer);
  out[0x1f1] = 1;
  out[0x1fe] = 0x55; out[0x1ff] = 0xaa;
  out.set(latin1Bytes('HdrS'), 0x202);
  v.setUint16(0x206, withFields ? 0x20f : 0x204, true);
  v.setUint16(0x20e, 0x100, true);
  out.set(latin1Bytes('6.1.0-99-fuzz-amd64 (builder@example.org) #1 SMP Debian 6.1.199-1\0'), 0x300);
  v.setUint32(0x248, 64, true);
  v.setUint32(0x24c, body.length, true);
  out.set(body, setupSize + 64);
  return out;
}

/** The bytes of a bomb case. */
export function buildBomb(c: BombCase, corpus: Corpus): Uint8Array {
  const bytes = buildBombBytes(c, corpus);
  if (bytes.length > BOMB_MAX_BYTES) throw new Error(`bomb generator: ${bytes.length} bytes of input for ${JSON.stringify(c).slice(0, 200)}`);
  return bytes;
}

function buildBombBytes(c: BombCase, corpus: Corpus): Uint8Array {
  const parts = c.parts.map((p) => partBytes(p, corpus));
  if (c.wrap === 'file') return concat(...parts.map((p) => p.bytes));
  if (c.wrap === 'bz-old') {
    // Candidates back to back, a non-zero gap between (zeros would be xz stream padding).
    const gap = new Uint8Array(64).fill(0x55);
    return bzImage(concat(...parts.flatMap((p, i) => (i ? [gap, p.bytes] : [p.bytes]))), false);
  }
  const size = parts.reduce((n, p) => n + p.size, 0);
  return bzImage(concat(...parts.map((p) => p.bytes)), true, c.trailer === 'right' ? size : c.trailer === 'zero' ? 0 : 0xffffffff);
}
