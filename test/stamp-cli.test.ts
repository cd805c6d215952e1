/**
 * `btfcheck fingerprint` and `btfcheck stamp` as a user runs them, on the bundled samples: JSON
 * shape, one-line errors, stamping a copy (readelf-clean when binutils is there, .BTF unchanged),
 * refusing a module of another build, manifests, and `check` reading the stamp back.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeXzDecoder } from '../cmd/io/index.js';
import { maybeDecompress } from '../lib/compress/index.js';
import { readStoredChecksum } from '../lib/checksum/index.js';
import { findSection, readElf, sectionData } from '../lib/elf/sections.js';
import { memorySource } from '../lib/source.js';
import zlib from 'node:zlib';
import { zstdStored } from '../cmd/commands/stamp.js';
import { runCli, sample } from './helpers/cli.js';
import { BtfBuilder, smallBase } from './helpers/btf-builder.js';
import { buildElf, thisModule } from './helpers/elf-builder.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-stamp-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const base56 = sample('6.1.0-56-cloud-amd64', 'vmlinux.btf.xz');

function firstModule(abi: string, ext: RegExp): string {
  const stack = [sample(abi, 'lib')];
  const found: string[] = [];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (ext.test(e.name)) found.push(p);
    }
  }
  found.sort();
  if (!found.length) throw new Error(`no ${ext} module in samples/${abi}`);
  return found[0];
}

function elfOf(file: string): Uint8Array {
  return maybeDecompress(new Uint8Array(fs.readFileSync(file)), { xz: nodeXzDecoder }).data;
}

function btfOf(elf: Uint8Array): Uint8Array {
  const e = readElf(memorySource(elf));
  return sectionData(memorySource(elf), findSection(e, '.BTF')!);
}

describe('btfcheck fingerprint', () => {
  it('prints {file, sha256, types, strLen, release} per base as JSON, and one line per bad file', () => {
    const r = runCli(['fingerprint', '--format', 'json', base47, base56, path.join(tmp, 'missing')]);
    expect(r.status).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('btfcheck/fingerprint/1');
    const list = doc.bases;
    expect(list).toHaveLength(2);
    expect(Object.keys(list[0]).sort()).toEqual(['file', 'release', 'sha256', 'strLen', 'types']);
    expect(list[0]).toMatchObject({ types: 94976, strLen: 1689866, sha256: 'd489dad3d6cda487d74bcc59e991b0472adae3e18408b8a21550d2a0a398252b' });
    expect(list[1].types).toBe(95247);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('missing');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('text output has the checksum and the shape', () => {
    const r = runCli(['fingerprint', base47]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^d489dad3\S+ {2}94,976 types {2}1,689,866 string bytes/);
  });
});

describe('btfcheck stamp', () => {
  it('stamps a copy of a module: the section reads back, .BTF unchanged, check says the checksum matches', () => {
    const src = firstModule('6.1.0-47-cloud-amd64', /\.ko$/);
    const file = path.join(tmp, 'own.ko');
    fs.copyFileSync(src, file);
    const r = runCli(['stamp', '--strip-signature', '--base', base47, file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^stamped: /);
    const after = elfOf(file);
    expect(btfOf(after)).toEqual(btfOf(elfOf(src)));
    expect(readStoredChecksum(readElf(memorySource(after)), memorySource(after))?.types).toBe(94976);
    const readelf = spawnSync('readelf', ['-a', '-W', file], { encoding: 'latin1', maxBuffer: 1 << 26 });
    if (!readelf.error) {
      expect(readelf.stderr).toBe('');
      expect(readelf.stdout).toContain('.BTF.base_checksum');
    }
    const same = JSON.parse(runCli(['check', '--kernel', '6.1', '--format', 'json', '--base', base47, file]).stdout);
    expect(same.modules[0].checksum.match).toBe(true);
    const other = JSON.parse(runCli(['check', '--kernel', '6.1', '--format', 'json', '--base', base56, file]).stdout);
    expect(other.modules[0].checksum.match).toBe(false);
    expect(other.modules[0].findings[0].rule).toBe('base-checksum-mismatch');
  });

  it('refuses a module of another build (exit 1, one line), and signed modules without --strip-signature', () => {
    const src = firstModule('6.1.0-56-cloud-amd64', /\.ko$/);
    const file = path.join(tmp, 'other.ko');
    fs.copyFileSync(src, file);
    const before = fs.readFileSync(file);
    const r = runCli(['stamp', '--strip-signature', '--base', base47, file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('not built against this base');
    expect(fs.readFileSync(file)).toEqual(before);
    const signed = runCli(['stamp', '--base', base56, file]);
    if (signed.status !== 0) expect(signed.stderr).toContain('signed');
  });

  it('refuses a damaged module in one line, leaving it alone: a section name table without its final NUL', () => {
    const { builder } = smallBase();
    const baseFile = path.join(tmp, 'small-base.btf');
    fs.writeFileSync(baseFile, builder.build());
    const split = BtfBuilder.splitOf(builder);
    split.struct('s', 4, []);
    const elf = buildElf({ sections: [{ name: '.BTF', data: split.build() }, { name: '.gnu.linkonce.this_module', data: thisModule('m') }] });
    const good = path.join(tmp, 'good-names.ko');
    fs.writeFileSync(good, elf);
    expect(runCli(['stamp', '--base', baseFile, good]).status).toBe(0);
    const e = readElf(memorySource(elf));
    const names = e.sections[e.shstrndx];
    expect(elf[names.offset + names.size - 1]).toBe(0);
    elf[names.offset + names.size - 1] = 0x41; // the last name (.shstrtab) runs on past the table
    const file = path.join(tmp, 'no-nul.ko');
    fs.writeFileSync(file, elf);
    const r = runCli(['stamp', '--base', baseFile, file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`btfcheck: ${file}: damaged ELF (the section name table does not end in NUL, which the kernel refuses); not stamped\n`);
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(elf);
  });

  it('--manifest records checksums and leaves the modules untouched', () => {
    const src = firstModule('6.1.0-56-cloud-amd64', /\.ko$/);
    const file = path.join(tmp, 'manifested.ko');
    fs.copyFileSync(src, file);
    const before = fs.readFileSync(file);
    const manifest = path.join(tmp, 'btf.json');
    const r = runCli(['stamp', '--base', base56, '--manifest', manifest, file]);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(file)).toEqual(before);
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    expect(m.format).toBe('btfcheck-base-checksums');
    expect(m.modules[file]).toEqual({ sha256: 'edc3c348e9e9e1cd54346eb5da82d284a0073c751e5792ee32aea70f6f986f65', types: 95247, strLen: 1694074 });
    const checked = JSON.parse(runCli(['check', '--kernel', '6.1', '--format', 'json', '--manifest', manifest, '--base', base47, file]).stdout);
    expect(checked.modules[0].findings[0].rule).toBe('base-checksum-mismatch');
  });

  it.each([
    ['gz', (b: Uint8Array) => zlib.gzipSync(b), [0x1f, 0x8b]],
    ['zst', (b: Uint8Array) => zstdStored(b), [0x28, 0xb5, 0x2f, 0xfd]],
  ] as const)('keeps .ko.%s in its compression', (ext, compress, magic) => {
    const src = firstModule('6.1.0-47-cloud-amd64', /\.ko$/);
    const file = path.join(tmp, `m.ko.${ext}`);
    fs.writeFileSync(file, compress(new Uint8Array(fs.readFileSync(src))));
    const r = runCli(['stamp', '--strip-signature', '--base', base47, file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const raw = new Uint8Array(fs.readFileSync(file));
    expect(Array.from(raw.subarray(0, magic.length))).toEqual([...magic]);
    const elf = elfOf(file);
    expect(btfOf(elf)).toEqual(btfOf(elfOf(src)));
    expect(readStoredChecksum(readElf(memorySource(elf)), memorySource(elf))?.strLen).toBe(1689866);
  });

  it('keeps .ko.xz as .ko.xz', () => {
    const src = firstModule('6.12.117+deb12-cloud-amd64', /\.ko\.xz$/);
    const file = path.join(tmp, 'm.ko.xz');
    fs.copyFileSync(src, file);
    const r = runCli(['stamp', '--strip-signature', '--base', sample('6.12.117+deb12-cloud-amd64', 'vmlinux.btf.xz'), file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const raw = new Uint8Array(fs.readFileSync(file));
    expect(Array.from(raw.subarray(0, 6))).toEqual([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
    expect(btfOf(elfOf(file))).toEqual(btfOf(elfOf(src)));
  });
});
