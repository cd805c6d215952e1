/**
 * Base limits (issue 12, item 5, bases): a hostile base (gzip/xz/zstd of ~1 GiB of zeros, or of a
 * raw BTF or ELF header followed by zeros; a bzImage with such a payload; an old-protocol bzImage
 * with several xz candidates) ends within 5 s with one line `btfcheck: FILE: ...`, exit 2, and a
 * child peak RSS of at most 512 MiB (GNU time). The limits are checked before memory is spent and
 * are shared by every bzImage candidate; they are options (BTFCHECK_MAX_BASE_BTF, _PAYLOAD,
 * BTFCHECK_BASE_TIME_LIMIT). Also: a vmlinux whose layout defeats the one-pass capture (section
 * table first, names last, .BTF at an odd offset) still loads, through the second pass.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseLimitsFromEnv, loadBase } from '../cmd/io/load.js';
import { DecodeBudget } from '../lib/compress/limits.js';
import { baseFromBzImage } from '../lib/vmlinuz-stream.js';
import { smallBase } from './helpers/btf-builder.js';
import { cliPath, repoRoot } from './helpers/cli.js';
import { buildElf, ET_EXEC, latin1Bytes } from './helpers/elf-builder.js';

const HAS_GNU_TIME = fs.existsSync('/usr/bin/time');
const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'inputs');
const MODULE = path.join(FIXTURES, 'ctr.ko.zst');
const MiB = 1 << 20;
/** The acceptance bounds: each hostile base within 5 s and 512 MiB. */
const MAX_MS = 5000;
const MAX_RSS_KB = 512 * 1024;

let dir: string;
const tmp = (name: string, bytes: Uint8Array): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};

interface Run { status: number | null; stderr: string; stdout: string; ms: number; rssKb: number | null }

/** The built CLI under GNU time (peak RSS), with extra environment variables. */
function run(args: string[], env: Record<string, string> = {}): Run {
  const mark = '@@rss ';
  const t0 = performance.now();
  const [cmd, argv] = HAS_GNU_TIME
    ? ['/usr/bin/time', ['-f', `${mark}%M`, process.execPath, cliPath, ...args]]
    : [process.execPath, [cliPath, ...args]];
  const r = spawnSync(cmd, argv, { encoding: 'latin1', cwd: repoRoot, timeout: 60_000, env: { ...process.env, NO_COLOR: '1', ...env } });
  const ms = performance.now() - t0;
  let stderr = String(r.stderr ?? '');
  let rssKb: number | null = null;
  const at = stderr.lastIndexOf(mark);
  if (at >= 0) {
    rssKb = Number(stderr.slice(at + mark.length).trim());
    stderr = stderr.slice(0, at).replace(/^Command (exited with non-zero status|terminated by signal) .*\n/m, '');
  }
  return { status: r.status, stderr, stdout: String(r.stdout ?? ''), ms, rssKb };
}

/** One line naming the file, exit 2, in time and memory; returns the message. */
function expectRefused(file: string, env: Record<string, string> = {}, args = ['check', '--base', file, '--kernel', '6.1', MODULE]): string {
  const r = run(args, env);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0].startsWith(`btfcheck: ${file}: `), lines[0]).toBe(true);
  expect(r.status, lines[0]).toBe(2);
  expect(r.ms, lines[0]).toBeLessThan(MAX_MS);
  if (HAS_GNU_TIME) expect(r.rssKb!, lines[0]).toBeLessThanOrEqual(MAX_RSS_KB);
  // BASE_LIMITS_REPORT=1 prints each run's time and peak RSS (the README's figures).
  if (process.env.BASE_LIMITS_REPORT) console.log(`${(r.ms / 1000).toFixed(2)} s ${r.rssKb === null ? '?' : (r.rssKb / 1024).toFixed(0)} MiB ${path.basename(file)}: ${lines[0].slice(0, 120)}`);
  return lines[0].slice(`btfcheck: ${file}: `.length);
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const repeat = (part: Uint8Array, n: number): Uint8Array => concat(...Array.from({ length: n }, () => part));

/** A raw BTF header (24 bytes) declaring a type section and a string section of the given sizes. */
function btfHeader(typeLen: number, strLen: number): Uint8Array {
  const h = new Uint8Array(24);
  const v = new DataView(h.buffer);
  v.setUint16(0, 0xeb9f, true);
  h[2] = 1;
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true);
  v.setUint32(20, strLen, true);
  return h;
}

/** An ELF64 header of a vmlinux whose section table is said to be at `shoff`, 46 entries. */
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

/**
 * One zstd frame (no content size, 128 MiB window, checksum-less): `prefix` in a raw block, then
 * `rleBlocks` RLE blocks of 128 KiB zeros. Valid zstd that `zstd -d` decodes.
 */
function zstdZeros(prefix: Uint8Array, rleBlocks: number): Uint8Array {
  const out = new Uint8Array(6 + 3 + prefix.length + rleBlocks * 4);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x88]); // window descriptor: 2^(10+17) = 128 MiB
  let at = 6;
  const raw = (prefix.length << 3) | (rleBlocks === 0 ? 1 : 0);
  out.set([raw & 0xff, (raw >>> 8) & 0xff, (raw >>> 16) & 0xff], at);
  out.set(prefix, at + 3);
  at += 3 + prefix.length;
  for (let i = 0; i < rleBlocks; i++, at += 4) {
    const h = ((128 << 10) << 3) | (1 << 1) | (i === rleBlocks - 1 ? 1 : 0);
    out.set([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, 0], at);
  }
  return out;
}

/** A bzImage: setup header, then `payload` (with fields, protocol 2.15), or after the setup code (2.04). */
function bzImage(payload: Uint8Array, kernelVersion: string, withPayloadFields = true, trailer?: number): Uint8Array {
  const setupSize = 2 * 512;
  const body = withPayloadFields && trailer !== undefined ? concat(payload, new Uint8Array(new Uint32Array([trailer]).buffer)) : payload;
  const out = new Uint8Array(setupSize + 64 + body.length + 64);
  const v = new DataView(out.buffer);
  out[0x1f1] = 1;
  out[0x1fe] = 0x55; out[0x1ff] = 0xaa;
  out.set(latin1Bytes('HdrS'), 0x202);
  v.setUint16(0x206, withPayloadFields ? 0x20f : 0x204, true);
  v.setUint16(0x20e, 0x100, true); // kernel_version string at 0x300
  out.set(latin1Bytes(kernelVersion + '\0'), 0x300);
  v.setUint32(0x248, 64, true);
  v.setUint32(0x24c, body.length, true);
  out.set(body, setupSize + 64);
  return out;
}

/** 1 MiB of zeros with 2 KiB of noise: compresses about 500:1, under the 1000:1 ratio limit. */
function noisyMiB(seed: number): Uint8Array {
  const b = new Uint8Array(MiB);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < 2048; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i * 512] = x & 0xff; b[i * 512 + 1] = (x >>> 8) & 0xff; }
  return b;
}

const files: Record<string, string> = {};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-base-limits-'));
  const zeros64 = new Uint8Array(64 * MiB);
  const gz64 = new Uint8Array(gzipSync(zeros64, { level: 1 }));
  const xz64 = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'zeros-64MiB.xz')));
  files.gzipZeros = tmp('zeros-1GiB.btf.gz', repeat(gz64, 16));
  files.gzipBtfZeros = tmp('btf-then-zeros.btf.gz', concat(new Uint8Array(gzipSync(btfHeader(2048, 2048))), repeat(gz64, 16)));
  files.gzipBtfHuge = tmp('btf-900MiB.btf.gz', concat(new Uint8Array(gzipSync(btfHeader(900 * MiB, 16))), repeat(gz64, 16)));
  // An ELF header whose section table lies at 160 MiB, then zeros with noise (passes the ratio).
  const noisyGz = new Uint8Array(gzipSync(noisyMiB(7), { level: 1 }));
  files.gzipElfZeros = tmp('elf-then-zeros.gz', concat(new Uint8Array(gzipSync(elfHeader(160 * MiB))), repeat(noisyGz, 160)));
  // The same, with eight BTF headers (each declaring 60 MiB) after the ELF header: the capture of
  // .BTF candidates is bounded too.
  files.gzipElfBtfs = tmp('elf-btf-headers-then-zeros.gz', concat(new Uint8Array(gzipSync(concat(elfHeader(160 * MiB), repeat(concat(btfHeader(30 * MiB, 30 * MiB), new Uint8Array(40)), 8)))), repeat(noisyGz, 160)));
  files.xzZeros = tmp('zeros-1GiB.btf.xz', repeat(xz64, 16));
  files.xzBtfZeros = tmp('btf-then-zeros.btf.xz', concat(new Uint8Array(xz.compressSync(concat(btfHeader(2048, 2048), new Uint8Array(4096)))), repeat(xz64, 16)));
  files.zstdZeros = tmp('zeros-1GiB.btf.zst', zstdZeros(new Uint8Array(0), 8192));
  files.zstdBtfZeros = tmp('btf-then-zeros.btf.zst', zstdZeros(btfHeader(2048, 2048), 8192));
  files.zstdBtfUnder = tmp('btf-then-200MiB.btf.zst', zstdZeros(btfHeader(2048, 2048), 1600));
  files.bzZstdZeros = tmp('vmlinuz-zstd-1GiB', bzImage(zstdZeros(elfHeader(1 << 30), 8192), '6.1.0-99-test-amd64 (b@e) #1', true, 1 << 30));
  files.bzGzipZeros = tmp('vmlinuz-gzip-zeros', bzImage(repeat(gz64, 16), '6.1.0-99-test-amd64 (b@e) #1', true, 0));
  // Old boot protocol, several xz candidates. Zeros: each is refused from its first chunk (no
  // ELF). ELF-headed (the section table said to lie past the data, so each is decoded to its end
  // before it fails): 128 MiB each, about 600:1 (under the ratio limit), each under the budget
  // alone, together far over it.
  const noise = new Uint8Array(100_000);
  for (let i = 0, x = 12345; i < noise.length; i++) { x = (x * 1103515245 + 12345) >>> 0; noise[i] = x >>> 24; }
  const noiseXz = new Uint8Array(xz.compressSync(noise));
  const elfXz = new Uint8Array(xz.compressSync(concat(elfHeader(200 * MiB), noise)));
  // Not zeros between them: zeros would be xz stream padding, joining them into one stream.
  const gap = new Uint8Array(64).fill(0x55);
  const zerosCandidate = concat(xz64, noiseXz, xz64, noiseXz);
  const elfCandidate = concat(elfXz, xz64, xz64);
  const old = (c: Uint8Array, n: number) => bzImage(concat(...Array.from({ length: n }, (_, i) => (i ? concat(gap, c) : c))), '6.1.0-99-test-amd64 (b@e) #1', false);
  files.bzOldXz = tmp('vmlinuz-old-4-xz-zeros', old(zerosCandidate, 4));
  files.bzOldXzElf = tmp('vmlinuz-old-4-xz-elf', old(elfCandidate, 4));
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('hostile bases: one line, exit 2, within 5 s and 512 MiB', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['gzip of 1 GiB of zeros', 'gzipZeros', /limit|holds neither a vmlinux ELF nor raw BTF/],
    ['gzip of a raw BTF header (4 KiB) followed by 1 GiB of zeros', 'gzipBtfZeros', /raw BTF is followed by over 1\.0 MiB of trailing bytes|limit/],
    ['gzip of a raw BTF header declaring 900 MiB', 'gzipBtfHuge', /raw BTF declares 900\.0 MiB .*over the 64\.0 MiB limit/],
    ['gzip of an ELF header (section table at 160 MiB) and 160 MiB of near-zeros', 'gzipElfZeros', /no \.BTF section|section|limit/],
    ['gzip of an ELF header, eight BTF headers declaring 60 MiB each, and 160 MiB of near-zeros', 'gzipElfBtfs', /section header table .* runs past the end/],
    ['xz of 1 GiB of zeros', 'xzZeros', /xz data holds 1\.0 GiB, over the 256\.0 MiB limit/],
    ['xz of a raw BTF header followed by 1 GiB of zeros', 'xzBtfZeros', /xz data holds 1\.0 GiB, over the 256\.0 MiB limit/],
    ['zstd of 1 GiB of zeros', 'zstdZeros', /zstd data may produce 1\.0 GiB, over the 256\.0 MiB limit/],
    ['zstd of a raw BTF header followed by 1 GiB of zeros', 'zstdBtfZeros', /zstd data may produce 1\.0 GiB, over the 256\.0 MiB limit/],
    ['zstd of a raw BTF header followed by 200 MiB of zeros (under the size limit)', 'zstdBtfUnder', /over the 1000:1 limit|trailing bytes/],
    ['bzImage whose zstd payload is 1 GiB of zeros', 'bzZstdZeros', /bzImage payload \(zstd\) declares 1\.0 GiB, over the 256\.0 MiB limit/],
    ['bzImage whose gzip payload is 1 GiB of zeros (size trailer 0)', 'bzGzipZeros', /limit|does not decompress to an ELF file/],
    // Every xz stream start is a candidate (16 here), walked, and decoded only if it fits.
    ['old-protocol bzImage with four 128 MiB xz candidates of zeros', 'bzOldXz', /^bzImage holds no compressed payload that decompresses to an ELF file \(16 candidates tried\)$/],
    ['old-protocol bzImage with four 128 MiB ELF-headed xz candidates: one at a time, in one budget', 'bzOldXzElf',
      /^bzImage holds no compressed payload that decompresses to an ELF file within the limits \(12 candidates tried, \d+ refused; the first: xz data holds 128\.\d MiB, over the 256\.0 MiB limit on decompressed size \(127\.9 MiB left of it\)\)$/],
  ];
  it.each(cases)('%s', (_what, key, message) => {
    expect(expectRefused(files[key])).toMatch(message);
  }, 30_000);

  it('fingerprint and abi give the same one line', () => {
    expect(expectRefused(files.zstdZeros, {}, ['fingerprint', files.zstdZeros])).toMatch(/limit/);
    expect(expectRefused(files.gzipBtfHuge, {}, ['fingerprint', files.gzipBtfHuge])).toMatch(/900\.0 MiB/);
  }, 30_000);
});

describe('the limits are options', () => {
  const raw = smallBase().builder.build();
  it('BTFCHECK_MAX_BASE_BTF: a raw base over it is refused from its size', () => {
    const f = tmp('small.btf', raw);
    expect(run(['fingerprint', f]).status).toBe(0);
    expect(expectRefused(f, { BTFCHECK_MAX_BASE_BTF: '100' }, ['fingerprint', f])).toMatch(/^file is .* over the 100 bytes limit$/);
  });

  it('BTFCHECK_MAX_BASE_PAYLOAD: the budget of decoded bytes', () => {
    expect(expectRefused(files.zstdBtfUnder, { BTFCHECK_MAX_BASE_PAYLOAD: '64M' })).toMatch(/zstd data may produce 200\.0 MiB, over the 64\.0 MiB limit/);
  });

  it('BTFCHECK_BASE_TIME_LIMIT: decoding stops when the time is out', () => {
    expect(expectRefused(files.gzipElfZeros, { BTFCHECK_BASE_TIME_LIMIT: '50ms' })).toMatch(/decoding took over 50 ms, the time limit/);
  });

  it('a value that is not a size or a time is one line', () => {
    expect(() => baseLimitsFromEnv({ BTFCHECK_MAX_BASE_BTF: 'lots' })).toThrow('BTFCHECK_MAX_BASE_BTF=lots is not a size (64M, 256MiB, 1G)');
    expect(baseLimitsFromEnv({ BTFCHECK_MAX_BASE_BTF: '64M', BTFCHECK_MAX_BASE_PAYLOAD: '1GiB', BTFCHECK_BASE_TIME_LIMIT: '2.5s' }))
      .toEqual({ maxBtf: 64 * MiB, maxPayload: 1 << 30, maxTimeMs: 2500 });
    const f = tmp('small2.btf', raw);
    expect(expectRefused(f, { BTFCHECK_BASE_TIME_LIMIT: 'soon' }, ['fingerprint', f])).toBe('BTFCHECK_BASE_TIME_LIMIT=soon is not a time (20, 20s, 1500ms)');
  });
});

it('a raw BTF shorter than 32 bytes (a header and an empty string section) still loads compressed', async () => {
  const tiny = concat(btfHeader(0, 1), new Uint8Array(1));
  const b = await loadBase(tmp('tiny.btf.gz', new Uint8Array(gzipSync(tiny))));
  expect(b).toMatchObject({ format: 'gzip', sha256: createHash('sha256').update(tiny).digest('hex') });
});

describe('old-protocol candidates share one budget', () => {
  it('the bytes one candidate decoded are not available to the next', async () => {
    const image = new Uint8Array(fs.readFileSync(files.bzOldXzElf));
    const budget = new DecodeBudget(300 * MiB, 60_000);
    await expect(baseFromBzImage(image, { budget, limits: { maxRatio: 1000, ratioFloor: 16 * MiB }, maxBtf: 64 * MiB, xz: (b) => new Uint8Array(xz.decompressSync(b)) }))
      .rejects.toThrow(/within the limits \(12 candidates tried, \d+ refused; the first: xz data holds 128\.\d MiB, over the 300\.0 MiB limit on decompressed size \(43\.\d MiB left of it\)\)/);
    // Two ELF-headed candidates decoded whole (the zeros inside them were refused from their
    // first chunk, 64 KiB each); none after them fitted.
    expect(budget.used).toBeGreaterThan(256 * MiB);
    expect(budget.used).toBeLessThan(257 * MiB);
  }, 60_000);

  it('the time budget is shared too', async () => {
    const image = new Uint8Array(fs.readFileSync(files.bzOldXzElf));
    let now = 0;
    const budget = new DecodeBudget(1 << 30, 1000, () => (now += 400));
    await expect(baseFromBzImage(image, { budget, limits: { maxRatio: 1000, ratioFloor: 16 * MiB }, maxBtf: 64 * MiB, xz: (b) => new Uint8Array(xz.decompressSync(b)) }))
      .rejects.toThrow(/^bzImage \(old boot protocol, no payload fields\): xz data: decoding took over 1000 ms, the time limit, after trying \d+ payload candidates?$/);
  }, 30_000);
});

describe('old-protocol candidates are counted', () => {
  it('an image of noise full of gzip magics is refused after 64 candidates, quickly (fuzz case 82752: 1,025 candidates, 3-8 s)', async () => {
    // 4 MiB of noise with a gzip magic (1f 8b 08) every 4 KiB: a thousand candidates, each refused.
    const noise = new Uint8Array(4 * MiB);
    for (let i = 0, x = 99; i < noise.length; i++) { x = (x * 1103515245 + 12345) >>> 0; noise[i] = x >>> 24; }
    for (let at = 0; at + 3 < noise.length; at += 4096) noise.set([0x1f, 0x8b, 0x08], at);
    const image = bzImage(noise, '6.1.0-99-test-amd64 (b@e) #1', false);
    const budget = new DecodeBudget(256 * MiB, 20_000);
    const t0 = performance.now();
    await expect(baseFromBzImage(image, { budget, limits: { maxRatio: 1000, ratioFloor: 16 * MiB }, maxBtf: 64 * MiB }))
      .rejects.toThrow(/^bzImage \(old boot protocol, no payload fields\): more than 64 compression magics after the setup code, none of them an ELF file.*; not a kernel image$/);
    expect(performance.now() - t0).toBeLessThan(5000);
  }, 30_000);
});

describe('xz of many small streams', () => {
  it('each candidate is classified from its first stream, not decoded whole (fuzz case 29750: 18 s, 611 MiB)', async () => {
    // 1,300 xz streams of 6 KiB of noise, back to back, in an old-protocol bzImage: every stream
    // is a candidate, and each one's "rest of the data" is megabytes.
    const noise = new Uint8Array(6144);
    for (let i = 0, x = 7; i < noise.length; i++) { x = (x * 1103515245 + 12345) >>> 0; noise[i] = x >>> 24; }
    const one = new Uint8Array(xz.compressSync(noise));
    const image = bzImage(repeat(one, 1300), '6.1.0-99-test-amd64 (b@e) #1', false);
    const budget = new DecodeBudget(256 * MiB, 20_000);
    const t0 = performance.now();
    await expect(baseFromBzImage(image, { budget, limits: { maxRatio: 1000, ratioFloor: 16 * MiB }, maxBtf: 64 * MiB, xz: (b) => new Uint8Array(xz.decompressSync(b)) }))
      .rejects.toThrow(/more than 64 compression magics/);
    expect(performance.now() - t0).toBeLessThan(3000);
    // 64 first streams of 6 KiB each, not 64 times the rest.
    expect(budget.used).toBeLessThan(4 * MiB);
  }, 30_000);
});

describe('a vmlinux laid out against the one-pass capture loads through a second pass', () => {
  const { builder } = smallBase();
  const btf = builder.build();
  /** Header, section table (right after it), .rodata, .BTF at an odd offset, 2 MiB of filler, .shstrtab last. */
  function oddVmlinux(): Uint8Array {
    const names = latin1Bytes('\0.rodata\0.BTF\0.filler\0.shstrtab\0');
    const banner = latin1Bytes('\0Linux version 6.1.0-98-odd-amd64 (b@e) (gcc) #1 SMP Debian 6.1.198-1 (2026-01-01)\n\0');
    const shoff = 64, shnum = 5;
    const rodataAt = shoff + shnum * 64;
    const btfAt = rodataAt + banner.length + 1 + ((rodataAt + banner.length + 1) % 4 === 0 ? 1 : 0); // not 4-aligned
    const fillerAt = btfAt + btf.length;
    const fillerLen = 2 * MiB;
    const namesAt = fillerAt + fillerLen;
    const out = new Uint8Array(namesAt + names.length);
    const v = new DataView(out.buffer);
    out.set(elfHeader(shoff));
    v.setUint16(0x3c, shnum, true);
    v.setUint16(0x3e, 4, true);
    const sec = (i: number, name: number, type: number, offset: number, size: number) => {
      const h = shoff + i * 64;
      v.setUint32(h, name, true); v.setUint32(h + 4, type, true);
      v.setBigUint64(h + 24, BigInt(offset), true); v.setBigUint64(h + 32, BigInt(size), true);
    };
    sec(1, 1, 1, rodataAt, banner.length);
    sec(2, 9, 1, btfAt, btf.length);
    sec(3, 14, 1, fillerAt, fillerLen);
    sec(4, 22, 3, namesAt, names.length);
    out.set(banner, rodataAt);
    out.set(btf, btfAt);
    out.fill(0x90, fillerAt, fillerAt + fillerLen);
    out.set(names, namesAt);
    expect(btfAt % 4).not.toBe(0);
    return out;
  }
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it.each([
    ['gzip', (b: Uint8Array) => new Uint8Array(gzipSync(b))],
    ['xz', (b: Uint8Array) => new Uint8Array(xz.compressSync(b))],
  ] as const)('%s: .BTF, its checksum and the banner release', async (name, pack) => {
    const b = await loadBase(tmp(`odd-vmlinux.${name}`, pack(oddVmlinux())));
    expect(b).toMatchObject({ sha256: sha(btf), release: '6.1.0-98-odd-amd64', version: '6.1.198' });
  });

  it('the usual layout (the samples\' vmlinux ELF, compressed) needs one pass', async () => {
    const elf = buildElf({ type: ET_EXEC, sections: [{ name: '.rodata', data: latin1Bytes('\0Linux version 6.1.0-97-x (b@e) #1\n\0') }, { name: '.BTF', data: btf }] });
    const b = await loadBase(tmp('usual.gz', new Uint8Array(gzipSync(elf))));
    expect(b).toMatchObject({ sha256: sha(btf), release: '6.1.0-97-x' });
  });
});
