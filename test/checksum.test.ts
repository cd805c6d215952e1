/**
 * The .BTF.base_checksum section: format round trip, adding it to a generated ELF (checked with our
 * reader and with elfinfo, the independent parser), manifests, signature stripping, stored-zstd.
 */
import { open as elfinfoOpen } from 'elfinfo';
import { describe, expect, it } from 'vitest';
import {
  addSectionToElf, CHECKSUM_SECTION, CHECKSUM_SECTION_SIZE, createManifest, decodeChecksumSection, encodeChecksumSection,
  isSignedModule, lookupManifest, parseManifest, readStoredChecksum, stampModuleElf, stripModuleSignature,
} from '../lib/checksum/index.js';
import { findSection, readElf, sectionData } from '../lib/elf/sections.js';
import { memorySource } from '../lib/source.js';
import { decompressAs } from '../lib/compress/index.js';
import { verifyStamped, zstdStored } from '../cmd/commands/stamp.js';
import { buildElf, latin1Bytes } from './helpers/elf-builder.js';
import { smallBase } from './helpers/btf-builder.js';

const SHA = '0123456789abcdef'.repeat(4);
const identity = { sha256: SHA, types: 94976, strLen: 1689866 };

function moduleElf(): Uint8Array {
  return buildElf({
    sections: [
      { name: '.text', data: Uint8Array.from([0xc3, 0x90, 0x90, 0x90]) },
      { name: '.BTF', data: smallBase().builder.build() },
      { name: '.modinfo', data: latin1Bytes('license=GPL\0name=demo\0') },
    ],
  });
}

describe('section format', () => {
  it('encodes the documented layout and decodes it back', () => {
    const data = encodeChecksumSection(identity);
    expect(data.length).toBe(CHECKSUM_SECTION_SIZE);
    expect(String.fromCharCode(...data.subarray(0, 8))).toBe('BTFBASE\0');
    const v = new DataView(data.buffer);
    expect(v.getUint16(8, true)).toBe(1);
    expect(data[10]).toBe(1);
    expect(data[11]).toBe(32);
    expect(v.getUint32(12, true)).toBe(94976);
    expect(v.getUint32(16, true)).toBe(1689866);
    expect(decodeChecksumSection(data)).toEqual({ ...identity, source: 'section' });
  });

  it('rejects bad magic, version, algorithm and truncation with a clear message', () => {
    const good = encodeChecksumSection(identity);
    const bad = (f: (b: Uint8Array) => void): Uint8Array => { const b = good.slice(); f(b); return b; };
    expect(() => decodeChecksumSection(bad((b) => { b[0] = 0; }))).toThrow(/bad magic/);
    expect(() => decodeChecksumSection(bad((b) => { b[8] = 2; }))).toThrow(/version 2/);
    expect(() => decodeChecksumSection(bad((b) => { b[10] = 7; }))).toThrow(/algorithm 7/);
    expect(() => decodeChecksumSection(good.subarray(0, 30))).toThrow(/truncated/);
    expect(() => encodeChecksumSection({ ...identity, sha256: 'abc' })).toThrow();
  });
});

describe('adding the section to an ELF', () => {
  it('keeps every section in place, .BTF unchanged, and both parsers see the new section', async () => {
    const elf = moduleElf();
    const stamped = stampModuleElf(elf, identity);
    const before = readElf(memorySource(elf));
    const after = readElf(memorySource(stamped));
    expect(after.sections.length).toBe(before.sections.length + 1);
    for (const s of before.sections) {
      const t = after.sections[s.index];
      expect(t.name).toBe(s.name);
      if (s.index !== before.shstrndx) {
        expect([t.offset, t.size]).toEqual([s.offset, s.size]);
        expect(sectionData(memorySource(stamped), t)).toEqual(sectionData(memorySource(elf), s));
      }
    }
    const sec = findSection(after, CHECKSUM_SECTION)!;
    expect(sec.flags).toBe(0); // not SHF_ALLOC: the kernel never loads it
    expect(readStoredChecksum(after, memorySource(stamped))).toEqual({ ...identity, source: 'section' });
    expect(readStoredChecksum(before, memorySource(elf))).toBeUndefined();

    const parsed = await elfinfoOpen(stamped);
    expect(parsed.success).toBe(true);
    expect(parsed.elf!.sections.map((s) => s.name)).toContain(CHECKSUM_SECTION);
    await expect(verifyStamped(elf, stamped)).resolves.toBeUndefined();
  });

  it('stamping again replaces the section in place (same bytes for the same base)', async () => {
    const once = stampModuleElf(moduleElf(), identity);
    expect(stampModuleElf(once, identity)).toEqual(once);
    const other = stampModuleElf(once, { ...identity, sha256: 'f'.repeat(64), types: 1 });
    expect(other.length).toBe(once.length);
    const elf = readElf(memorySource(other));
    expect(readStoredChecksum(elf, memorySource(other))?.sha256).toBe('f'.repeat(64));
    await expect(verifyStamped(once, other)).resolves.toBeUndefined();
  });

  it('verifyStamped notices a changed .BTF', async () => {
    const elf = moduleElf();
    const stamped = stampModuleElf(elf, identity);
    const btf = findSection(readElf(memorySource(stamped)), '.BTF')!;
    const broken = stamped.slice();
    broken[btf.offset + 30] ^= 0xff;
    await expect(verifyStamped(elf, broken)).rejects.toThrow(/\.BTF changed/);
  });

  it('refuses signed modules, and strips a signature when asked', () => {
    const elf = moduleElf();
    const sig = new Uint8Array(40).fill(0x5a);
    const info = new Uint8Array(12);
    new DataView(info.buffer).setUint32(8, sig.length, false);
    const signed = new Uint8Array([...elf, ...sig, ...info, ...latin1Bytes('~Module signature appended~\n')]);
    expect(isSignedModule(signed)).toBe(true);
    expect(() => addSectionToElf(signed, CHECKSUM_SECTION, encodeChecksumSection(identity))).toThrow(/signed/);
    expect(stripModuleSignature(signed)).toEqual(elf);
    expect(stripModuleSignature(elf)).toBe(elf);
  });

  it('rejects input that is not ELF with an InputError', () => {
    expect(() => addSectionToElf(new Uint8Array(100), 'x', new Uint8Array(1))).toThrow(/not an ELF/);
  });
});

describe('manifests', () => {
  const manifest = createManifest({ file: 'vmlinux', sha256: SHA, types: 1, strLen: 2, release: null }, {
    'lib/modules/6.1/kernel/fs/overlay.ko': { sha256: SHA, types: 1, strLen: 2 },
    'lib/modules/6.1/kernel/net/foo.ko': { sha256: 'e'.repeat(64), types: 3, strLen: 4 },
  });

  it('round-trips through JSON and finds modules by exact or trailing path', () => {
    const m = parseManifest(JSON.stringify(manifest));
    expect(lookupManifest(m, 'lib/modules/6.1/kernel/fs/overlay.ko')).toEqual({ sha256: SHA, types: 1, strLen: 2, source: 'manifest' });
    expect(lookupManifest(m, '/srv/pkg/lib/modules/6.1/kernel/net/foo.ko')?.types).toBe(3);
    expect(lookupManifest(m, './kernel/net//foo.ko')?.types).toBe(3);
    expect(lookupManifest(m, 'bar.ko')).toBeUndefined();
  });

  it('rejects what is not a manifest', () => {
    expect(() => parseManifest('{')).toThrow(/not JSON/);
    expect(() => parseManifest('{"format":"x"}')).toThrow(/not a btfcheck manifest/);
    expect(() => parseManifest(JSON.stringify({ ...manifest, version: 9 }))).toThrow(/version 9/);
    expect(() => parseManifest(JSON.stringify({ ...manifest, modules: { a: { sha256: 'zz' } } }))).toThrow(/entry for a/);
  });
});

describe('stored zstd frames', () => {
  it('decode to the same bytes (empty, small, several blocks)', () => {
    for (const n of [0, 5, 300_000]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
      expect(decompressAs(zstdStored(data), 'zstd')).toEqual(data);
    }
  });
});
