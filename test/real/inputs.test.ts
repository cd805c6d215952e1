/**
 * The input layer on the four Debian builds: each vmlinuz, read directly, gives the same raw BTF
 * as the fetched vmlinux.btf; every module of each tree loads. Fails (never skips) without the
 * cache: run scripts/fetch-kernels.sh or set BTF_KERNELS.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandModulePaths, loadBase, loadModule, openFileSource } from '../../cmd/io/index.js';
import { readModule } from '../../lib/module.js';
import { ABIS, moduleFiles, requireKernels } from '../helpers/kernels.js';

const root = requireKernels();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Upstream version of each build, as its banner says ("Debian 6.1.170-3"). */
const VERSION: Record<string, string> = {
  '6.1.0-47-cloud-amd64': '6.1.170',
  '6.1.0-56-cloud-amd64': '6.1.192',
  '6.12.115+deb12-cloud-amd64': '6.12.115',
  '6.12.117+deb12-cloud-amd64': '6.12.117',
};

describe.each(ABIS)('build %s', (abi) => {
  const dir = path.join(root, abi);
  const want = sha(fs.readFileSync(path.join(dir, 'vmlinux.btf')));

  it('vmlinuz read directly gives the raw BTF of vmlinux.btf, and the release', async () => {
    const b = await loadBase(path.join(dir, 'boot', `vmlinuz-${abi}`));
    expect(b).toMatchObject({ format: 'vmlinuz', sha256: want, release: abi, version: VERSION[abi] });
  });

  it('vmlinux ELF and raw vmlinux.btf agree, with the release from the banner', async () => {
    const elf = await loadBase(path.join(dir, 'vmlinux'));
    expect(elf).toMatchObject({ format: 'elf', sha256: want, release: abi, version: VERSION[abi] });
    const raw = await loadBase(path.join(dir, 'vmlinux.btf'));
    expect(raw).toMatchObject({ format: 'raw', sha256: want });
  });

  it('every module of the tree loads', async () => {
    const files = moduleFiles(abi);
    expect(files.length).toBeGreaterThan(1000);
    // The directory walk finds the same files in the same order.
    expect(expandModulePaths([path.join(dir, 'lib', 'modules', abi)])).toEqual(files);
    const failed: string[] = [];
    let withBtf = 0;
    for (const f of files) {
      try {
        const m = await loadModule(f);
        expect(m.format).toBe(f.endsWith('.xz') ? 'ko.xz' : 'ko');
        expect(m.name).toMatch(/^[\w]+$/);
        if (m.btf) withBtf++;
      } catch (e) {
        failed.push(`${f}: ${(e as Error).message}`);
      }
    }
    expect(failed).toEqual([]);
    expect(withBtf).toBe(files.length);
  });
});

it('a plain .ko is read piecemeal: tables and the needed sections, not the whole file', () => {
  const ko = moduleFiles('6.1.0-47-cloud-amd64').find((f) => f.endsWith('/kernel/fs/btrfs/btrfs.ko'))!;
  const src = openFileSource(ko);
  try {
    const m = readModule(src);
    expect(m.name).toBe('btrfs');
    expect(src.bytesRead).toBeLessThan(src.size / 4);
  } finally {
    src.close();
  }
});
