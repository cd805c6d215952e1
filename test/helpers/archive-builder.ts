/**
 * Packages and images built in-process for the tests, from real files: .deb (ar + tar, xz, zstd or
 * gzip), RPM (lib/archive's buildRpm around a cpio payload) and initramfs images (an uncompressed
 * early cpio, then a compressed one). No dpkg, rpm, cpio or zstd binary is needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { pack } from 'tar-stream';
import { buildCpio, buildRpm } from '../../lib/archive/index.js';

export interface FileEntry {
  /** Path inside (no leading slash). */
  name: string;
  data: Uint8Array;
}

/** Every file under `dir`, named `prefix/relative-path`. */
export function filesUnder(dir: string, prefix: string): FileEntry[] {
  const out: FileEntry[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ name: path.posix.join(prefix, path.relative(dir, p).split(path.sep).join('/')), data: new Uint8Array(fs.readFileSync(p)) });
    }
  };
  walk(dir);
  return out;
}

/**
 * A zstd frame that any decoder reads: raw (stored) blocks of up to 128 KiB, no checksum. Real
 * zstd compression is not needed to test the container handling.
 */
export function zstdRawFrame(data: Uint8Array): Uint8Array {
  const parts: number[] = [0x28, 0xb5, 0x2f, 0xfd];
  // Frame header: FCS 8 bytes (flag 3), not single segment, no checksum, no dict; window 128 KiB.
  parts.push(0xc0, (17 - 10) << 3);
  const size = BigInt(data.length);
  for (let i = 0n; i < 8n; i++) parts.push(Number((size >> (8n * i)) & 0xffn));
  const head = Uint8Array.from(parts);
  const chunks: Uint8Array[] = [head];
  const MAX = 128 << 10;
  for (let at = 0; at < data.length || at === 0; at += MAX) {
    const n = Math.min(MAX, data.length - at);
    const last = at + n >= data.length ? 1 : 0;
    const bh = (n << 3) | (0 << 1) | last;
    chunks.push(Uint8Array.from([bh & 255, (bh >> 8) & 255, (bh >> 16) & 255]), data.subarray(at, at + n));
    if (data.length === 0) break;
  }
  return concat(chunks);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export type Compressor = 'xz' | 'zstd' | 'gzip' | 'none';

export function compress(data: Uint8Array, how: Compressor): Uint8Array {
  switch (how) {
    case 'xz': return new Uint8Array(xz.compressSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
    case 'zstd': return zstdRawFrame(data);
    case 'gzip': return new Uint8Array(zlib.gzipSync(data));
    default: return data;
  }
}

/** A tar archive of `files` (directories implied), as dpkg-deb writes paths: `./usr/...`. */
export async function buildTar(files: FileEntry[]): Promise<Uint8Array> {
  const p = pack();
  const chunks: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: Uint8Array) => chunks.push(c));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      dirs.add(d);
      p.entry({ name: `./${d}/`, type: 'directory', mode: 0o755 });
    }
    p.entry({ name: `./${f.name}`, mode: 0o644 }, Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength));
  }
  p.finalize();
  await done;
  return concat(chunks);
}

/** An ar archive (GNU style names), as a .deb is. */
export function buildAr(members: Array<{ name: string; data: Uint8Array }>): Uint8Array {
  const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const parts: Uint8Array[] = [enc('!<arch>\n')];
  for (const m of members) {
    const h = `${m.name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(m.data.length).padEnd(10)}\`\n`;
    parts.push(enc(h), m.data);
    if (m.data.length & 1) parts.push(enc('\n'));
  }
  return concat(parts);
}

const md5 = async (d: Uint8Array): Promise<string> => (await import('node:crypto')).createHash('md5').update(d).digest('hex');

/** A .deb: control.tar.xz (control, md5sums) and data.tar compressed as asked. */
export async function buildDeb(opts: { name: string; version: string; files: FileEntry[]; compression: Compressor; md5sums?: boolean }): Promise<Uint8Array> {
  const enc = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s));
  const control: FileEntry[] = [{ name: 'control', data: enc(`Package: ${opts.name}\nVersion: ${opts.version}\nArchitecture: amd64\n`) }];
  if (opts.md5sums !== false) {
    const lines: string[] = [];
    for (const f of opts.files) lines.push(`${await md5(f.data)}  ${f.name}`);
    control.push({ name: 'md5sums', data: enc(lines.join('\n') + '\n') });
  }
  const data = compress(await buildTar(opts.files), opts.compression);
  const suffix = opts.compression === 'none' ? '' : opts.compression === 'gzip' ? '.gz' : opts.compression === 'zstd' ? '.zst' : '.xz';
  return buildAr([
    { name: 'debian-binary', data: enc('2.0\n') },
    { name: 'control.tar.xz', data: compress(await buildTar(control), 'xz') },
    { name: `data.tar${suffix}`, data },
  ]);
}

/** An RPM with a cpio payload (paths `./lib/...`, as rpmbuild writes them). */
export function buildRpmPackage(opts: { name: string; version: string; release: string; files: FileEntry[]; compression: Exclude<Compressor, 'none'> }): Uint8Array {
  const cpio = buildCpio(opts.files.map((f) => ({ name: `./${f.name}`, data: f.data })));
  return buildRpm({ name: opts.name, version: opts.version, release: opts.release, files: opts.files.map((f) => f.name), compressor: opts.compression, payload: compress(cpio, opts.compression) });
}

/**
 * An initramfs as dracut and mkinitramfs write it: an uncompressed early archive (microcode),
 * padding, then the main archive compressed.
 */
export function buildInitramfs(files: FileEntry[], compression: Exclude<Compressor, 'none'>): Uint8Array {
  const early = buildCpio([
    { name: 'kernel', mode: 0o040755 }, { name: 'kernel/x86', mode: 0o040755 }, { name: 'kernel/x86/microcode', mode: 0o040755 },
    { name: 'kernel/x86/microcode/GenuineIntel.bin', data: new Uint8Array(1000).fill(0x5a) },
  ]);
  const padded = new Uint8Array((early.length + 511) & ~511);
  padded.set(early);
  const main = buildCpio(files.map((f) => ({ name: f.name, data: f.data })));
  return concat([padded, compress(main, compression)]);
}
