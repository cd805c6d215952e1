/**
 * check's base read ahead (cmd/io/prefetch.ts): only a check's --base, only files loadBase reads
 * whole, and what loadBase then makes of it is what it makes of the file read by itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBase } from '../cmd/io/load.js';
import { checkBaseArgument, prefetchBase, takePrefetched } from '../cmd/io/prefetch.js';
import { sample } from './helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-prefetch-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('base read ahead', () => {
  it('finds the base of a check command line only', () => {
    expect(checkBaseArgument(['check', '--base', 'b', 'm.ko'])).toBe('b');
    expect(checkBaseArgument(['check', '-b', 'b', 'm.ko'])).toBe('b');
    expect(checkBaseArgument(['check', '--base=b', 'm.ko'])).toBe('b');
    expect(checkBaseArgument(['check', '--', '--base', 'b'])).toBeUndefined();
    expect(checkBaseArgument(['fingerprint', '--base', 'b'])).toBeUndefined();
    expect(checkBaseArgument(['check', 'm.ko'])).toBeUndefined();
  });

  it('reads a compressed base ahead, and loadBase makes the same of it', async () => {
    const file = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
    const direct = await loadBase(file);
    prefetchBase(file);
    const ahead = await takePrefetched(file, 1 << 30);
    expect(ahead && Buffer.compare(Buffer.from(ahead.bytes), fs.readFileSync(file))).toBe(0);
    // With the identity of the file it was read from.
    expect(ahead?.id?.ino).toBe(fs.statSync(file, { bigint: true }).ino);
    // Taken once: loadBase reads the file itself now.
    expect(await takePrefetched(file, 1 << 30)).toBeUndefined();
    prefetchBase(file);
    const viaPrefetch = await loadBase(file);
    expect(viaPrefetch.sha256).toBe(direct.sha256);
    expect(viaPrefetch.btf.nrTypes).toBe(direct.btf.nrTypes);
    expect(await takePrefetched(file, 1 << 30)).toBeUndefined();
  });

  it('leaves ELF files, directories, FIFOs and files over the limit to loadBase', async () => {
    const elf = path.join(dir, 'vmlinux');
    fs.writeFileSync(elf, Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(4096)]));
    const fifo = path.join(dir, 'fifo');
    fs.rmSync(fifo, { force: true });
    const made = (await import('node:child_process')).spawnSync('mkfifo', [fifo]).status === 0;
    for (const p of [elf, dir, ...(made ? [fifo] : []), path.join(dir, 'missing')]) {
      prefetchBase(p);
      expect(await takePrefetched(p, 1 << 30), p).toBeUndefined();
    }
    // An initramfs image (compressed cpio, by its name) is the archive code's: not read ahead.
    const initrd = path.join(dir, 'initrd.img-7.2.13');
    fs.copyFileSync(sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz'), initrd);
    prefetchBase(initrd);
    expect(await takePrefetched(initrd, 1 << 30)).toBeUndefined();
    const small = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
    prefetchBase(small);
    expect(await takePrefetched(small, 16)).toBeUndefined();
  });
});
