/**
 * Packages and initramfs images as fuzz input (cmd/io/archives.ts, lib/archive): a .deb (ar,
 * control.tar with md5sums or without, data.tar as xz, zstd, gzip or none), an RPM (cpio payload)
 * or an initramfs (an early uncompressed cpio, then a compressed one), holding modules from the
 * corpus under hostile names (bytes) and now and then a kernel image (boot/vmlinuz-<release>), the
 * whole archive mutated or not. Built synchronously (a ustar writer of our own), so a case is data.
 *
 * The contract (archive-target in targets.ts): `check` on the archive gives a result for every
 * module inside, in order, each loading to the very bytes it was built from (an archive that is
 * not mutated), or one `btfcheck: ARCHIVE: ...` line; `check --base` on a package with an image
 * loads that image; the reports keep the terminal and XML contract; nothing throws.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { buildCpio } from '../../lib/archive/index.js';
import { buildAr, buildRpmPackage, compress } from '../helpers/archive-builder.js';
import { Container, CONTAINER_EXT, Corpus, wrap } from './corpus.js';
import { KernelPick, kernelPickArb } from './kernels.js';
import { applyOps, Op, opsArb } from './mutate.js';

export const ARCHIVE_RELEASE = '6.1.0-99-fuzz-amd64';

export interface ArchiveCase {
  t: 'archive';
  kind: 'deb' | 'rpm' | 'initramfs';
  compression: 'xz' | 'zstd' | 'gzip' | 'none';
  members: Array<{ seed: number; name: number[]; container: Container }>;
  /** A kernel image (the corpus' small bzImage) at boot/vmlinuz-<release>. */
  image: boolean;
  md5sums: boolean;
  /** Mutations of the whole archive (mostly none: then every module must come out as it went in). */
  ops: Op[];
  k: KernelPick;
}

export function archiveArb(corpus: Corpus, nameBytes: fc.Arbitrary<number[]>): fc.Arbitrary<ArchiveCase> {
  const elfSeeds = corpus.modules.map((m, i) => (m.bytes[0] === 0x7f && m.bytes.length < (2 << 20) ? i : -1)).filter((i) => i >= 0);
  return fc.record({
    t: fc.constant('archive' as const),
    kind: fc.constantFrom('deb' as const, 'deb' as const, 'rpm' as const, 'initramfs' as const),
    compression: fc.constantFrom('xz' as const, 'zstd' as const, 'gzip' as const, 'none' as const),
    members: fc.array(fc.record({
      seed: fc.constantFrom(...elfSeeds),
      name: fc.oneof({ weight: 2, arbitrary: fc.constantFrom<number[]>([...Buffer.from('dm-zero')], [...Buffer.from('ctr')]) }, { weight: 1, arbitrary: nameBytes.map((b) => b.slice(0, 60)) }),
      container: fc.constantFrom<Container>('xz', 'none', 'zstd', 'gzip'),
    }), { minLength: 0, maxLength: 3 }),
    image: fc.boolean(),
    md5sums: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    ops: fc.oneof({ weight: 3, arbitrary: fc.constant([] as Op[]) }, { weight: 1, arbitrary: opsArb(3) }),
    k: kernelPickArb,
  });
}

const enc = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s));
const cat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** A ustar archive (dpkg-deb's `./path` names; long paths split into prefix and name). */
function ustar(files: Array<{ name: Uint8Array; data?: Uint8Array }>): Uint8Array {
  const parts: Uint8Array[] = [];
  const octal = (n: number, width: number): Uint8Array => enc(n.toString(8).padStart(width - 1, '0') + '\0');
  for (const f of files) {
    const h = new Uint8Array(512);
    let name: Uint8Array = f.name;
    let prefix: Uint8Array = new Uint8Array(0);
    if (name.length > 100) {
      // Split at a '/' so that the name fits 100 bytes and the prefix 155.
      let cut = -1;
      for (let i = name.length - 1; i >= 0; i--) if (name[i] === 0x2f && name.length - i - 1 <= 100 && i <= 155) { cut = i; break; }
      if (cut < 0) { cut = Math.min(155, name.length - 100); }
      prefix = name.subarray(0, cut);
      name = name.subarray(name[cut] === 0x2f ? cut + 1 : cut);
    }
    h.set(name.subarray(0, 100), 0);
    h.set(octal(f.data ? 0o644 : 0o755, 8), 100);
    h.set(octal(0, 8), 108);
    h.set(octal(0, 8), 116);
    h.set(octal(f.data?.length ?? 0, 12), 124);
    h.set(octal(0, 12), 136);
    h.fill(0x20, 148, 156);
    h[156] = f.data ? 0x30 : 0x35;
    h.set(enc('ustar\0'), 257);
    h.set(enc('00'), 263);
    h.set(prefix.subarray(0, 155), 345);
    let sum = 0;
    for (const b of h) sum += b;
    h.set(enc(sum.toString(8).padStart(6, '0') + '\0 '), 148);
    parts.push(h);
    if (f.data) {
      parts.push(f.data);
      if (f.data.length % 512) parts.push(new Uint8Array(512 - (f.data.length % 512)));
    }
  }
  parts.push(new Uint8Array(1024));
  return cat(parts);
}

export interface ArchiveMaterial {
  bytes: Uint8Array;
  fileName: string;
  /** The modules inside, in archive order: path inside (normalized, as a latin1/UTF-8 string is not promised) and the module bytes. */
  members: Array<{ bytes: Uint8Array }>;
  image: Uint8Array | null;
  mutated: boolean;
}

/** The bytes of an archive case. */
export function buildArchive(c: ArchiveCase, corpus: Corpus): ArchiveMaterial {
  const dir = `lib/modules/${ARCHIVE_RELEASE}/kernel/drivers/`;
  const members = c.members.map((m, i) => {
    const seed = corpus.modules[m.seed % corpus.modules.length];
    const path = Uint8Array.from([...Buffer.from(dir), ...m.name, ...Buffer.from(`-${i}.ko${CONTAINER_EXT[m.container]}`)]);
    return { path, bytes: wrap(seed.bytes, m.container === 'xz' ? 'xz-nock' : m.container) };
  });
  const vmlinuz = c.image ? corpus.files.find((f) => f.name === 'small-vmlinuz')?.bytes ?? null : null;
  const files: Array<{ path: Uint8Array; bytes: Uint8Array }> = [
    ...(vmlinuz ? [{ path: enc(`boot/vmlinuz-${ARCHIVE_RELEASE}`), bytes: vmlinuz }] : []),
    ...members,
  ];
  const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
  let bytes: Uint8Array;
  let fileName: string;
  if (c.kind === 'deb') {
    const dirs = new Set<string>();
    const entries: Array<{ name: Uint8Array; data?: Uint8Array }> = [];
    for (const f of files) {
      const parts = latin1(f.path).split('/');
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (!dirs.has(d)) { dirs.add(d); entries.push({ name: Buffer.from(`./${d}/`, 'latin1') }); }
      }
      entries.push({ name: cat([enc('./'), f.path]), data: f.bytes });
    }
    const control: Array<{ name: Uint8Array; data?: Uint8Array }> = [{ name: enc('./control'), data: enc(`Package: linux-modules-${ARCHIVE_RELEASE}\nVersion: 1\nArchitecture: amd64\n`) }];
    if (c.md5sums) {
      const lines = files.map((f) => cat([enc(createHash('md5').update(f.bytes).digest('hex') + '  '), f.path, enc('\n')]));
      control.push({ name: enc('./md5sums'), data: cat(lines) });
    }
    const suffix = c.compression === 'none' ? '' : c.compression === 'gzip' ? '.gz' : c.compression === 'zstd' ? '.zst' : '.xz';
    bytes = buildAr([
      { name: 'debian-binary', data: enc('2.0\n') },
      { name: 'control.tar.xz', data: compress(ustar(control), 'xz') },
      { name: `data.tar${suffix}`, data: compress(ustar(entries), c.compression) },
    ]);
    fileName = `linux-modules-${ARCHIVE_RELEASE}_1_amd64.deb`;
  } else if (c.kind === 'rpm') {
    bytes = buildRpmPackage({
      name: 'kernel-modules', version: '6.1.0', release: '99.fuzz', compression: c.compression === 'none' ? 'gzip' : c.compression,
      files: files.map((f) => ({ name: latin1(f.path), data: f.bytes })),
    });
    fileName = `kernel-modules-6.1.0-99.fuzz.x86_64.rpm`;
  } else {
    const early = buildCpio([{ name: 'kernel', mode: 0o040755 }, { name: 'kernel/x86/microcode/GenuineIntel.bin', data: new Uint8Array(600).fill(0x5a) }]);
    const padded = new Uint8Array((early.length + 511) & ~511);
    padded.set(early);
    const main = buildCpio(files.map((f) => ({ name: latin1(f.path), data: f.bytes })));
    bytes = cat([padded, c.compression === 'none' ? main : compress(main, c.compression)]);
    fileName = `initrd.img-${ARCHIVE_RELEASE}`;
  }
  const mutated = c.ops.length > 0;
  return { bytes: mutated ? applyOps(bytes, c.ops) : bytes, fileName, members: members.map((m) => ({ bytes: m.bytes })), image: vmlinuz, mutated };
}
