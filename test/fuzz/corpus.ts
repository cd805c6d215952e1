/**
 * Seeds for the fuzzer: real modules and bases (samples/, and the real-kernel cache when asked),
 * hand-built hostile BTF, compressed fixtures, and real kernel log lines. Loaded once per process.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { nodeXzDecoder } from '../../cmd/io/index.js';
import { maybeDecompress } from '../../lib/compress/index.js';
import { xxh64 } from '../../lib/compress/xxhash64.js';
import { addEveryKind, BtfBuilder, smallBase } from '../helpers/btf-builder.js';
import { buildElf, ET_EXEC, latin1Bytes, thisModule } from '../helpers/elf-builder.js';
import { ABIS, ABIS_7, buildLayout, kernelsRoot } from '../helpers/kernels.js';

export const REPO = path.resolve(import.meta.dirname, '..', '..');
const SAMPLES = path.join(REPO, 'samples');
const FIXTURE_INPUTS = path.join(REPO, 'test', 'fixtures', 'inputs');

/** A base the module seeds are checked against, identified by key. */
export interface BaseSeed {
  key: string;
  /** Raw BTF bytes (what /sys/kernel/btf/vmlinux holds). */
  raw: Uint8Array;
}

export interface ModuleSeed {
  name: string;
  /** The decompressed bytes: a .ko ELF or raw split BTF. */
  bytes: Uint8Array;
  /** Key of the base it was built against. */
  base: string;
}

/** A file as found (compressed or not), mutated as it is. */
export interface FileSeed {
  name: string;
  bytes: Uint8Array;
  kind: 'module' | 'base';
  /** For modules: the base to check against. */
  base: string;
}

export interface Corpus {
  bases: Map<string, BaseSeed>;
  modules: ModuleSeed[];
  /** Whole files (compressed fixtures, vmlinux ELF, bzImage), mutated as bytes. */
  files: FileSeed[];
  /** Real kernel log lines (test/fixtures/cases), to build explain input from. */
  logLines: string[];
  /** Base seeds mutated as bases: raw BTF by key. */
  baseKeys: string[];
}

const BANNER = 'Linux version 6.1.0-99-fuzz-amd64 (builder@example.org) (gcc 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.199-1 (2026-01-01)';

function walk(dir: string, re: RegExp, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, re, out);
    else if (re.test(e.name)) out.push(p);
  }
  return out;
}

const decompress = (bytes: Uint8Array): Uint8Array => maybeDecompress(bytes, { xz: nodeXzDecoder }).data;

/** A module using every kind, split on the small base. */
function builtModule(base: BtfBuilder, baseIds: Record<string, number>): Uint8Array {
  const b = BtfBuilder.splitOf(base);
  addEveryKind(b, baseIds);
  return b.build();
}

export function moduleElf(name: string, btf: Uint8Array, extra: { name: string; data: Uint8Array }[] = []): Uint8Array {
  return buildElf({
    sections: [
      { name: '.text', data: new Uint8Array(32).fill(0xc3) },
      { name: '.modinfo', data: latin1Bytes(`license=GPL\0name=${name}\0`) },
      { name: '.gnu.linkonce.this_module', data: thisModule(name) },
      { name: '.BTF', data: btf },
      ...extra,
    ],
  });
}

export function vmlinuxElf(btf: Uint8Array): Uint8Array {
  return buildElf({
    type: ET_EXEC,
    sections: [
      { name: '.text', data: new Uint8Array(64).fill(0x90) },
      { name: '.rodata', data: latin1Bytes(`\0${BANNER}\n\0`) },
      { name: '.BTF', data: btf },
    ],
  });
}

/** A minimal bzImage (boot protocol 2.15) around a compressed payload, with the size trailer. */
export function bzImage(payload: Uint8Array, kernelVersion: string): Uint8Array {
  const setupSize = 2 * 512;
  const out = new Uint8Array(setupSize + 64 + payload.length + 64);
  const v = new DataView(out.buffer);
  out[0x1f1] = 1;
  out[0x1fe] = 0x55; out[0x1ff] = 0xaa;
  out.set(latin1Bytes('HdrS'), 0x202);
  v.setUint16(0x206, 0x20f, true);
  v.setUint16(0x20e, 0x100, true);
  out.set(latin1Bytes(kernelVersion + '\0'), 0x300);
  v.setUint32(0x248, 64, true);
  v.setUint32(0x24c, payload.length, true);
  out.set(payload, setupSize + 64);
  return out;
}

/**
 * A zstd frame of raw (stored) blocks: reaches the zstd walker and decoder without a zstd encoder.
 * With `checksum` (as the zstd tool writes by default) the frame ends with the low 32 bits of the
 * content's XXH64, so any changed byte is caught.
 */
export function zstdStored(data: Uint8Array, checksum = true): Uint8Array {
  const parts: number[] = [0x28, 0xb5, 0x2f, 0xfd, checksum ? 0xa4 : 0xa0]; // FHD: single segment, 4-byte content size, checksum flag
  const size = data.length;
  parts.push(size & 0xff, (size >>> 8) & 0xff, (size >>> 16) & 0xff, (size >>> 24) & 0xff);
  const out: Uint8Array[] = [Uint8Array.from(parts)];
  let at = 0;
  do {
    const n = Math.min(128 << 10, size - at);
    const last = at + n >= size ? 1 : 0;
    const h = (n << 3) | last; // block type 0: raw
    out.push(Uint8Array.from([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff]), data.subarray(at, at + n));
    at += n;
  } while (at < size);
  if (checksum) {
    const low = xxh64(data)[1];
    out.push(Uint8Array.from([low & 0xff, (low >>> 8) & 0xff, (low >>> 16) & 0xff, low >>> 24]));
  }
  const total = out.reduce((s, p) => s + p.length, 0);
  const joined = new Uint8Array(total);
  let w = 0;
  for (const p of out) { joined.set(p, w); w += p.length; }
  return joined;
}

/**
 * 'xz' is what kbuild writes (the xz tool, --check=crc32), 'zstd' has a content checksum (as the
 * zstd tool writes by default); 'xz-nock' (@napi-rs/lzma: check type None) and 'zstd-nock' have
 * no check, so nothing can catch a changed byte of their content.
 */
export type Container = 'none' | 'gzip' | 'xz' | 'zstd' | 'xz-nock' | 'zstd-nock';
export const CONTAINERS: Container[] = ['none', 'gzip', 'xz', 'zstd', 'xz-nock', 'zstd-nock'];
/** Containers whose integrity check covers every byte of the content (CRC32, XXH64, xz's check). */
export const CHECKED_CONTAINERS: Container[] = ['gzip', 'xz', 'zstd'];
export const CONTAINER_EXT: Record<Container, string> = { none: '', gzip: '.gz', xz: '.xz', zstd: '.zst', 'xz-nock': '.xz', 'zstd-nock': '.zst' };

const HAS_XZ_TOOL = spawnSync('xz', ['--version']).status === 0;

export function wrap(bytes: Uint8Array, c: Container): Uint8Array {
  switch (c) {
    case 'none': return bytes;
    case 'gzip': return new Uint8Array(gzipSync(bytes, { level: 1 }));
    case 'xz': {
      if (HAS_XZ_TOOL) {
        const r = spawnSync('xz', ['--check=crc32', '--lzma2=dict=1MiB', '-1', '-c', '-q'], { input: bytes, maxBuffer: 1 << 30 });
        if (r.status === 0) return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
      }
      const o = xz.compressSync(bytes);
      return new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
    }
    case 'xz-nock': { const o = xz.compressSync(bytes); return new Uint8Array(o.buffer, o.byteOffset, o.byteLength); }
    case 'zstd': return zstdStored(bytes);
    case 'zstd-nock': return zstdStored(bytes, false);
  }
}

let cached: Corpus | undefined;

/**
 * The corpus. `realModules` > 0 adds that many modules (spread evenly) and the four raw bases from
 * the real-kernel cache, when it exists.
 */
export function loadCorpus(options: { realModules?: number } = {}): Corpus {
  if (cached && !options.realModules) return cached;
  const bases = new Map<string, BaseSeed>();
  const modules: ModuleSeed[] = [];
  const files: FileSeed[] = [];

  const { builder: small, ids } = smallBase();
  const smallRaw = small.build();
  bases.set('small', { key: 'small', raw: smallRaw });
  const built = builtModule(small, ids);
  modules.push({ name: 'built.btf', bytes: built, base: 'small' });
  modules.push({ name: 'built.ko', bytes: moduleElf('built_mod', built), base: 'small' });
  // A 6.12-style module with a (tiny) distilled base section.
  modules.push({ name: 'built-distilled.ko', bytes: moduleElf('dist_mod', built, [{ name: '.BTF.base', data: smallRaw }]), base: 'small' });

  // The 6.x samples (lib/modules/<abi>) and the 7.x ones (usr/lib/modules/<abi>).
  for (const abi of [...ABIS, ...ABIS_7]) {
    const xzBase = path.join(SAMPLES, abi, 'vmlinux.btf.xz');
    if (!fs.existsSync(xzBase)) continue;
    bases.set(abi, { key: abi, raw: decompress(new Uint8Array(fs.readFileSync(xzBase))) });
    for (const f of walk(path.join(SAMPLES, abi, path.dirname(buildLayout(abi).modules)), /\.ko(\.xz)?$/)) {
      const raw = new Uint8Array(fs.readFileSync(f));
      modules.push({ name: path.basename(f).replace(/\.xz$/, ''), bytes: decompress(raw), base: abi });
      if (f.endsWith('.xz') && files.filter((x) => x.name.endsWith('.xz')).length < 4) files.push({ name: path.basename(f), bytes: raw, kind: 'module', base: abi });
    }
  }
  if (options.realModules && fs.existsSync(kernelsRoot())) {
    // Real modules of every cached build (6.x lib/modules, 7.x usr/lib/modules); a build without
    // a base in samples/ (7.3.4) gets the cache's raw BTF.
    const abis = [...ABIS, ...ABIS_7];
    for (const abi of abis) {
      const cachedBase = path.join(kernelsRoot(), abi, 'vmlinux.btf');
      if (!bases.has(abi) && fs.existsSync(cachedBase)) bases.set(abi, { key: abi, raw: new Uint8Array(fs.readFileSync(cachedBase)) });
      if (!bases.has(abi)) continue;
      const list = walk(path.join(kernelsRoot(), abi, buildLayout(abi).modules), /\.ko(\.xz)?$/);
      const n = Math.min(list.length, Math.ceil(options.realModules / abis.length));
      for (let i = 0; i < n; i++) {
        const f = list[Math.floor((i * list.length) / n)];
        modules.push({ name: path.basename(f).replace(/\.xz$/, ''), bytes: decompress(new Uint8Array(fs.readFileSync(f))), base: abi });
      }
    }
  }

  // Whole files: compressed fixtures made by the real tools, and base containers.
  const firstAbi = ABIS.find((a) => bases.has(a)) ?? 'small';
  for (const f of fs.existsSync(FIXTURE_INPUTS) ? fs.readdirSync(FIXTURE_INPUTS).sort() : []) {
    if (!/^ctr/.test(f)) continue;
    files.push({ name: f, bytes: new Uint8Array(fs.readFileSync(path.join(FIXTURE_INPUTS, f))), kind: 'module', base: bases.has('6.1.0-47-cloud-amd64') ? '6.1.0-47-cloud-amd64' : firstAbi });
  }
  const smallElf = vmlinuxElf(smallRaw);
  files.push({ name: 'small-vmlinux', bytes: smallElf, kind: 'base', base: 'small' });
  files.push({ name: 'small-vmlinux.gz', bytes: wrap(smallElf, 'gzip'), kind: 'base', base: 'small' });
  files.push({ name: 'small-btf.xz', bytes: wrap(smallRaw, 'xz'), kind: 'base', base: 'small' });
  files.push({ name: 'small-btf.zst', bytes: wrap(smallRaw, 'zstd'), kind: 'base', base: 'small' });
  files.push({ name: 'small-vmlinuz', bytes: bzImage(wrap(smallElf, 'gzip'), '6.1.0-99-fuzz-amd64 (builder@example.org) #1 SMP Debian 6.1.199-1'), kind: 'base', base: 'small' });
  files.push({ name: 'small-vmlinuz-xz', bytes: bzImage(wrap(smallElf, 'xz'), '6.12.0-99-fuzz-amd64 (builder@example.org) #1 SMP Debian 6.12.199-1'), kind: 'base', base: 'small' });

  const logLines: string[] = [];
  const casesDir = path.join(REPO, 'test', 'fixtures', 'cases');
  for (const f of fs.existsSync(casesDir) ? fs.readdirSync(casesDir).sort() : []) {
    if (!f.endsWith('.json')) continue;
    const c = JSON.parse(fs.readFileSync(path.join(casesDir, f), 'utf8')) as { logs?: unknown };
    const collect = (x: unknown): void => {
      if (typeof x === 'string') logLines.push(...x.split('\n'));
      else if (Array.isArray(x)) x.forEach(collect);
      else if (x && typeof x === 'object') Object.values(x).forEach(collect);
    };
    collect(c.logs);
  }
  const corpus: Corpus = { bases, modules, files, logLines, baseKeys: [...bases.keys()] };
  if (!options.realModules) cached = corpus;
  return corpus;
}
