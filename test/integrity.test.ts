/**
 * Integrity (issue 12, item 7): a corrupted .ko.zst / .ko.gz / compressed base is an error naming
 * the file and "checksum mismatch" (zstd's XXH64 content checksum, gzip's CRC32 and ISIZE per
 * member), never a verdict on other bytes; a raw base with bytes after its sections is refused
 * instead of passing as another base with another fingerprint.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBase } from '../cmd/io/index.js';
import { checkBtfExtent } from '../lib/btf-extent.js';
import { decompressAs } from '../lib/compress/index.js';
import { xxh64 } from '../lib/compress/xxhash64.js';
import { InputError } from '../lib/errors.js';
import { runCli, sample } from './helpers/cli.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'inputs');
const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');

/** Bytes (i*31+7) & 255, i < n: the inputs the vectors below were computed for. */
const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
const hex = ([h, l]: [number, number]): string => h.toString(16).padStart(8, '0') + l.toString(16).padStart(8, '0');

/** A straightforward BigInt XXH64 (the spec, line by line), to compare the fast one with. */
function xxh64Reference(b: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n, P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n;
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
  const u64 = (at: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(at, true);
  const u32 = (at: number) => BigInt(new DataView(b.buffer, b.byteOffset).getUint32(at, true));
  const round = (acc: bigint, x: bigint) => (rotl((acc + x * P2) & M, 31n) * P1) & M;
  const merge = (acc: bigint, v: bigint) => (((acc ^ round(0n, v)) * P1) + P4) & M;
  let p = 0;
  let h: bigint;
  if (b.length >= 32) {
    let v1 = (P1 + P2) & M, v2 = P2, v3 = 0n, v4 = (M + 1n - P1) & M;
    for (; p + 32 <= b.length; p += 32) {
      v1 = round(v1, u64(p)); v2 = round(v2, u64(p + 8)); v3 = round(v3, u64(p + 16)); v4 = round(v4, u64(p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else h = P5;
  h = (h + BigInt(b.length)) & M;
  for (; p + 8 <= b.length; p += 8) h = ((rotl(h ^ round(0n, u64(p)), 27n) * P1) + P4) & M;
  if (p + 4 <= b.length) { h = ((rotl(h ^ ((u32(p) * P1) & M), 23n) * P2) + P3) & M; p += 4; }
  for (; p < b.length; p++) h = (rotl(h ^ ((BigInt(b[p]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n; h = (h * P2) & M; h ^= h >> 29n; h = (h * P3) & M; h ^= h >> 32n;
  return h;
}

describe('XXH64', () => {
  it('matches xxhsum -H64 (xxHash 0.8)', () => {
    const vectors: Record<number, string> = {
      0: 'ef46db3751d8e999', 1: 'a96c7f0ce858bbb7', 3: '56e6957632a487f9', 4: 'c60d15b1e3ff8f04', 7: 'afbefc3d6c6f9a8e',
      8: '3da5c7aa269683e0', 9: '4b17a9ba9e215c09', 31: '4a74f3a1a39ad4a1', 32: '8d57d6a4671cc43d', 33: '62c9fd21ed857664',
      63: '5c320a0d2707057f', 64: '7bbabbc45729d17e', 65: 'f3980c34bae65dc1', 1000: '99594f4828043d35', 4099: '98531e44aa4f969d',
    };
    for (const [n, want] of Object.entries(vectors)) expect(hex(xxh64(pattern(Number(n)))), `length ${n}`).toBe(want);
  });
  it('matches the BigInt reference on random data, at any offset', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (b, skip) => {
      const padded = new Uint8Array(skip + b.length);
      padded.set(b, skip);
      expect(hex(xxh64(padded, skip))).toBe(xxh64Reference(b).toString(16).padStart(16, '0'));
    }), { numRuns: 500 });
    // Words whose halves carry at every position: all 0xff.
    const ff = new Uint8Array(1024).fill(0xff);
    expect(hex(xxh64(ff))).toBe(xxh64Reference(ff).toString(16).padStart(16, '0'));
  });
});

let dir: string;
let raw47: Uint8Array;
const tmp = (name: string, data: Uint8Array): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
};
const flip = (data: Uint8Array, at: number, bit = 1): Uint8Array => {
  const out = Uint8Array.from(data);
  out[at < 0 ? out.length + at : at] ^= bit;
  return out;
};
/** True when the system tool also rejects the file (`zstd -t`, `gzip -t`), where it is installed. */
const toolRejects = (tool: string, file: string): boolean => spawnSync(tool, ['-t', '-q', file]).status !== 0;

/**
 * A zstd frame of raw blocks with a content checksum: a flip in it lands in plain content, which
 * decodes fine, so only the checksum can tell. Content byte i is at 12 + i + 3 * floor(i / 128 KiB).
 */
function zstdRawWithChecksum(data: Uint8Array): Uint8Array {
  const BLOCK = 128 << 10;
  const blocks = Math.max(1, Math.ceil(data.length / BLOCK));
  const out = new Uint8Array(4 + 1 + 4 + blocks * 3 + data.length + 4);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xfd2fb528, true);
  out[4] = 0xa4; // 4-byte content size, single segment, content checksum
  v.setUint32(5, data.length, true);
  let at = 9;
  for (let b = 0; b < blocks; b++) {
    const chunk = data.subarray(b * BLOCK, Math.min(data.length, (b + 1) * BLOCK));
    const header = (chunk.length << 3) | (b === blocks - 1 ? 1 : 0); // raw block
    out[at] = header & 0xff; out[at + 1] = (header >>> 8) & 0xff; out[at + 2] = (header >>> 16) & 0xff;
    out.set(chunk, at + 3);
    at += 3 + chunk.length;
  }
  v.setUint32(at, xxh64(data)[1], true);
  return out;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-integrity-'));
  raw47 = (await loadBase(base47)).raw;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('zstd content checksum', () => {
  const ctr = fs.readFileSync(path.join(FIXTURES, 'ctr.ko.zst'));
  const ctrStdin = fs.readFileSync(path.join(FIXTURES, 'ctr-stdin.ko.zst'));
  it('real zstd frames (with and without a content size) verify', () => {
    expect(decompressAs(ctr, 'zstd')).toHaveLength(15745);
    expect(decompressAs(ctrStdin, 'zstd')).toHaveLength(15745);
    expect(decompressAs(zstdRawWithChecksum(pattern(5000)), 'zstd')).toEqual(pattern(5000));
  });
  it('a flipped checksum or content bit is "checksum mismatch"', () => {
    for (const bad of [flip(ctr, -1), flip(ctrStdin, -3, 0x80), flip(zstdRawWithChecksum(pattern(5000)), 2000, 4)]) {
      expect(() => decompressAs(bad, 'zstd')).toThrow(/^corrupt zstd data: checksum mismatch \(XXH64 0x[0-9a-f]{8} stored, 0x[0-9a-f]{8} computed\)$/);
    }
  });
  it('several frames: each checksum covers its own frame, declared sizes or not', () => {
    const a = zstdRawWithChecksum(pattern(3000));
    const both = new Uint8Array([...a, ...ctrStdin]);
    expect(decompressAs(both, 'zstd')).toHaveLength(3000 + 15745);
    expect(() => decompressAs(flip(both, 100), 'zstd')).toThrow(/checksum mismatch/);
    expect(() => decompressAs(flip(both, -1), 'zstd')).toThrow(/checksum mismatch/);
  });
  it('check: a bit-flipped .ko.zst that zstd -t rejects is one error line, exit 2, not a verdict', () => {
    const bad = tmp('ctr.ko.zst', flip(ctr, -2, 0x10));
    if (fs.existsSync('/usr/bin/zstd')) expect(toolRejects('zstd', bad)).toBe(true);
    const r = runCli(['check', '-b', base47, '-k', '6.1', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^btfcheck: ${bad}: corrupt zstd data: checksum mismatch .*\\n$`));
    expect(r.stdout).not.toMatch(/accepted\b.*\n.*summary: 1 module: 1 accepted/);
    expect(r.stdout).toMatch(/summary: 1 module: 0 accepted, 0 rejected, 0 without BTF, 1 error/);
  });
  it('a cleared Content_Checksum_flag leaves 4 bytes after the frame: refused, as zstd -t does, module and base', () => {
    // Frame header descriptor: byte 4; bit 2 is the checksum flag. With it cleared the decoder
    // reads no checksum, so a changed content byte would load: the 4 stray bytes must refuse it.
    const unflagged = (b: Uint8Array): Uint8Array => { const c = Uint8Array.from(b); c[4] &= ~0x04; return c; };
    expect(ctr[4] & 0x04).toBe(0x04);
    expect(() => decompressAs(unflagged(ctr), 'zstd')).toThrow(/^corrupt zstd data: 4 bytes after the last frame$/);
    const bad = tmp('unflagged.ko.zst', unflagged(ctr));
    if (fs.existsSync('/usr/bin/zstd')) expect(toolRejects('zstd', bad)).toBe(true);
    const r = runCli(['check', '-b', base47, '-k', '6.1', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`btfcheck: ${bad}: corrupt zstd data: 4 bytes after the last frame\n`);
    const base = tmp('unflagged.btf.zst', unflagged(zstdRawWithChecksum(raw47)));
    const f = runCli(['fingerprint', base]);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/4 bytes after the last frame/);
  });
  it('a zstd-compressed base with a flipped content bit is refused, not fingerprinted', () => {
    const good = tmp('good.btf.zst', zstdRawWithChecksum(raw47));
    expect(runCli(['fingerprint', good]).status).toBe(0);
    const f = tmp('vmlinux.btf.zst', flip(zstdRawWithChecksum(raw47), 3_000_000, 2));
    const r = runCli(['fingerprint', f]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/checksum mismatch/);
  });
});

describe('gzip CRC32 and ISIZE', () => {
  const ctr = fs.readFileSync(path.join(FIXTURES, 'ctr.ko.gz'));
  const stored = new Uint8Array(zlib.gzipSync(pattern(70000), { level: 0 }));
  it('real gzip members verify, one or several, and bytes that are not gzip may follow', () => {
    expect(decompressAs(ctr, 'gzip')).toHaveLength(15745);
    const many = Buffer.concat([zlib.gzipSync(pattern(100000)), zlib.gzipSync(new Uint8Array(0)), zlib.gzipSync(pattern(7))]);
    expect(decompressAs(many, 'gzip')).toHaveLength(100007);
    expect(decompressAs(Buffer.concat([ctr, Buffer.from('not gzip\0\0\0\0')]), 'gzip')).toHaveLength(15745);
  });
  it('a flipped CRC, content bit or ISIZE is refused', () => {
    expect(() => decompressAs(flip(ctr, -8), 'gzip')).toThrow(/^corrupt gzip data: checksum mismatch \(CRC32 0x[0-9a-f]{8} stored, 0x[0-9a-f]{8} computed\)$/);
    expect(() => decompressAs(flip(stored, 40000, 8), 'gzip')).toThrow(/checksum mismatch/);
    expect(() => decompressAs(flip(ctr, -3), 'gzip')).toThrow(/^corrupt gzip data: length mismatch/);
  });
  it('each member is checked: a corrupt first member of two is refused', () => {
    const first = zlib.gzipSync(pattern(5000), { level: 0 });
    const two = Buffer.concat([first, zlib.gzipSync(pattern(9000))]);
    expect(decompressAs(two, 'gzip')).toHaveLength(14000);
    expect(() => decompressAs(flip(two, first.length - 6), 'gzip')).toThrow(/checksum mismatch \(CRC32 of member 1 /);
    expect(() => decompressAs(flip(two, 2000), 'gzip')).toThrow(/checksum mismatch \(CRC32 of member 1 /);
    // The last member when other bytes follow: its trailer must still be found.
    expect(() => decompressAs(Buffer.concat([flip(ctr, -7), Buffer.from('junk\0\0\0\0')]), 'gzip')).toThrow(/checksum mismatch/);
  });
  it('check: a bit-flipped .ko.gz that gzip -t rejects is one error line, exit 2', () => {
    const bad = tmp('ctr.ko.gz', flip(ctr, -6, 0x40));
    expect(toolRejects('gzip', bad)).toBe(true);
    const r = runCli(['check', '-b', base47, '-k', '6.1', '-f', 'json', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^btfcheck: ${bad}: corrupt gzip data: checksum mismatch .*\\n$`));
    expect(JSON.parse(r.stdout).modules[0]).toMatchObject({ status: 'error', error: expect.stringContaining('checksum mismatch') });
  });
  it('a gzip-compressed base with a flipped content bit is refused, not fingerprinted', () => {
    const gz = new Uint8Array(zlib.gzipSync(raw47, { level: 0 }));
    const f = tmp('vmlinux.btf.gz', flip(gz, 3_000_000, 1));
    const r = runCli(['fingerprint', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/checksum mismatch/);
  });
});

describe('raw BTF ends where its header says', () => {
  it('trailing bytes after the sections: one line, exit 2, no fingerprint', () => {
    const f = tmp('vmlinux.btf', new Uint8Array([...raw47, 0, 0, 0, 0]));
    const r = runCli(['fingerprint', f]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`btfcheck: ${f}: raw BTF has 4 trailing bytes after its sections (the header says they end at ${raw47.length} of ${raw47.length + 4})\n`);
    const c = runCli(['check', '-b', f, '-k', '6.1', sample('6.1.0-47-cloud-amd64', 'lib')]);
    expect(c.status).toBe(2);
    expect(c.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
  it('the same bytes compressed are refused too; the exact raw BTF is accepted', () => {
    const f = tmp('junk.btf.gz', zlib.gzipSync(new Uint8Array([...raw47, 1])));
    expect(runCli(['fingerprint', f]).stderr).toMatch(/raw BTF has 1 trailing byte after its sections/);
    expect(runCli(['fingerprint', tmp('exact.btf', raw47)]).status).toBe(0);
  });
  it('checkBtfExtent: the layout section of 7.1+ headers counts as a section', () => {
    const h = new Uint8Array(32 + 16);
    const v = new DataView(h.buffer);
    v.setUint16(0, 0xeb9f, true);
    v.setUint32(4, 32, true);
    v.setUint32(16, 0, true); v.setUint32(20, 8, true); // strings [0, 8)
    v.setUint32(24, 8, true); v.setUint32(28, 8, true); // layout [8, 16)
    expect(() => checkBtfExtent(h)).not.toThrow();
    expect(() => checkBtfExtent(new Uint8Array([...h, 9]))).toThrow(InputError);
  });
});
