/**
 * Packages and images read in-process (lib/archive, cmd/io/archives.ts): the pure readers on
 * hand-made and chunked input, then .deb (xz, zstd, gzip), RPM and initramfs images built here from
 * the samples' real modules, checked through the CLI with the same results as the loose files, and
 * named ARCHIVE!path.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xz } from '@napi-rs/lzma';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCpio, classifyPath, CpioParser, readArMembers, readRpm, xzBlocks, zstdFrameRanges } from '../lib/archive/index.js';
import { memorySource } from '../lib/source.js';
import { buildAr, buildDeb, buildInitramfs, buildRpmPackage, concat, filesUnder, zstdRawFrame } from './helpers/archive-builder.js';
import { runCli, sample } from './helpers/cli.js';

const R13 = '7.2.13+deb14-cloud-amd64';
const R12 = '7.2.12+deb13-cloud-amd64';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-archives-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const enc = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s));

describe('lib/archive readers', () => {
  it('cpio: the same entries whether fed whole or a byte at a time; several archives back to back with NUL padding', () => {
    const a = buildCpio([{ name: 'dir', mode: 0o040755 }, { name: 'dir/a.ko', data: enc('hello') }, { name: 'b', data: enc('x'.repeat(1001)) }]);
    const b = buildCpio([{ name: 'c.ko.xz', data: enc('second') }]);
    const image = concat([a, new Uint8Array(12), b]);
    const read = (chunk: number): Array<[string, string | undefined]> => {
      const out: Array<[string, string | undefined]> = [];
      const p = new CpioParser({ multi: true, want: (e) => e.name.endsWith('.ko') || e.name.endsWith('.xz'), onEntry: (e, d) => out.push([e.name, d && Buffer.from(d).toString()]) });
      for (let at = 0; at < image.length; at += chunk) p.push(image.subarray(at, at + chunk));
      p.end();
      expect(p.archives).toBe(2);
      return out;
    };
    const whole = read(image.length);
    expect(whole).toEqual([['dir', undefined], ['dir/a.ko', 'hello'], ['b', undefined], ['c.ko.xz', 'second']]);
    expect(read(1)).toEqual(whole);
    expect(read(7)).toEqual(whole);
  });

  it('cpio: truncation, a bad magic and a huge wanted entry are one-line errors', () => {
    const a = buildCpio([{ name: 'a.ko', data: enc('hello') }]);
    const parse = (bytes: Uint8Array, max?: number): void => {
      const p = new CpioParser({ want: () => true, onEntry: () => undefined, maxEntry: max });
      p.push(bytes);
      p.end();
    };
    expect(() => parse(a.subarray(0, 120))).toThrow(/truncated/);
    expect(() => parse(concat([enc('070707'), a.subarray(6)]))).toThrow(/odc/);
    expect(() => parse(concat([enc('123456'), a.subarray(6)]))).toThrow(/bad entry magic/);
    expect(() => parse(a, 2)).toThrow(/over the .* limit/);
  });

  it('ar: GNU and BSD member names; a truncated member is an error', () => {
    const ar = buildAr([{ name: 'debian-binary', data: enc('2.0\n') }, { name: 'data.tar.xz/', data: enc('abc') }]);
    expect(readArMembers(memorySource(ar)).map((m) => [m.name, m.size])).toEqual([['debian-binary', 4], ['data.tar.xz', 3]]);
    const bsd = concat([enc('!<arch>\n'), enc(`${'#1/12'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'644'.padEnd(8)}${'15'.padEnd(10)}\`\n`), enc('long-name.tarXYZ')]);
    expect(readArMembers(memorySource(bsd))).toEqual([{ name: 'long-name.ta', offset: 8 + 60 + 12, size: 3 }]);
    expect(() => readArMembers(memorySource(ar.subarray(0, ar.length - 2)))).toThrow(/past the end/);
  });

  it('rpm: name, version, the file list and where the payload starts', () => {
    const payload = enc('payload');
    const rpm = buildRpmPackage({ name: 'kernel-core', version: '6.14.2', release: '300.fc42', files: [{ name: 'lib/modules/6.14.2/vmlinuz', data: payload }], compression: 'xz' });
    const info = readRpm(memorySource(rpm));
    expect(info).toMatchObject({ name: 'kernel-core', version: '6.14.2', release: '300.fc42', payloadFormat: 'cpio', payloadCompressor: 'xz', files: ['lib/modules/6.14.2/vmlinuz'] });
    expect(rpm[info.payloadOffset]).toBe(0xfd); // the xz magic
    expect(() => readRpm(memorySource(rpm.subarray(0, 120)))).toThrow(/truncated/);
  });

  it('xz: blocks from each stream\'s index (two streams back to back); zstd: frame ranges', () => {
    const one = new Uint8Array(xz.compressSync(Buffer.from('a'.repeat(5000))));
    const two = new Uint8Array(xz.compressSync(Buffer.from('b'.repeat(7000))));
    const both = concat([one, two]);
    const blocks = xzBlocks(memorySource(both), 0, both.length);
    expect(blocks.map((b) => b.uncompressedSize)).toEqual([5000, 7000]);
    expect(() => xzBlocks(memorySource(both), 0, both.length - 1)).toThrow(/corrupt xz/);
    const f1 = zstdRawFrame(enc('x'.repeat(300000)));
    const f2 = zstdRawFrame(enc('y'));
    const z = concat([f1, f2, new Uint8Array(8)]);
    expect(zstdFrameRanges(memorySource(z), 0, z.length)).toEqual([[0, f1.length], [f1.length, f1.length + f2.length]]);
    expect(() => zstdFrameRanges(memorySource(f1), 0, f1.length - 3)).toThrow(/truncated zstd/);
  });

  it('layouts: modules, images, the headers\' vmlinux, configs and symvers', () => {
    expect(classifyPath('./usr/lib/modules/7.2.13+deb14-cloud-amd64/kernel/fs/xfs/xfs.ko.xz')).toEqual({ role: 'module', release: '7.2.13+deb14-cloud-amd64' });
    expect(classifyPath('boot/vmlinuz-6.1.0-47-cloud-amd64')).toEqual({ role: 'image', release: '6.1.0-47-cloud-amd64' });
    expect(classifyPath('lib/modules/6.14.2-300.fc42.x86_64/vmlinuz')).toEqual({ role: 'image', release: '6.14.2-300.fc42.x86_64' });
    expect(classifyPath('usr/src/linux-headers-7.2.13+deb14-cloud-amd64/vmlinux')).toEqual({ role: 'headers-vmlinux', release: '7.2.13+deb14-cloud-amd64' });
    expect(classifyPath('usr/lib/modules/7.2.13+deb14-cloud-amd64/config')?.role).toBe('config');
    expect(classifyPath('boot/symvers-6.14.2.gz')?.role).toBe('symvers');
    expect(classifyPath('boot/vmlinuz-6.1.0-47-cloud-amd64.sig')).toBeNull();
    expect(classifyPath('usr/share/doc/README')).toBeNull();
  });
});

/** The 7.x sample of `abi` as package files: its base as the image, its config, its modules. */
function kernelFiles(abi: string): { image: ReturnType<typeof filesUnder>; modules: ReturnType<typeof filesUnder>; base: ReturnType<typeof filesUnder> } {
  const tree = `usr/lib/modules/${abi}`;
  const image = [{ name: `${tree}/vmlinuz`, data: new Uint8Array(fs.readFileSync(sample(abi, 'vmlinux.btf.xz'))) }];
  const modules = filesUnder(sample(abi, 'usr', 'lib', 'modules', abi, 'kernel'), `${tree}/kernel`);
  const base = [{ name: `${tree}/config`, data: new Uint8Array(fs.readFileSync(sample(abi, 'usr', 'lib', 'modules', abi, 'config'))) }];
  return { image, modules, base };
}

async function writeTrio(abi: string, compression: 'xz' | 'zstd' | 'gzip'): Promise<string[]> {
  const k = kernelFiles(abi);
  const out: string[] = [];
  for (const [name, files] of [['linux-binary', k.image], ['linux-modules', k.modules], ['linux-base', k.base]] as const) {
    const p = path.join(tmp, `${name}-${abi}-${compression}.deb`);
    fs.writeFileSync(p, await buildDeb({ name: `${name}-${abi}`, version: '1', files, compression }));
    out.push(p);
  }
  return out;
}

/** status per module name from a check JSON report. */
const statuses = (json: string): Record<string, string> =>
  Object.fromEntries((JSON.parse(json).modules as Array<{ module: string; status: string }>).map((m) => [m.module, m.status]));

describe('check and abi on packages and images built from the samples', () => {
  const looseTree = sample(R13, 'usr', 'lib', 'modules', R13, 'kernel');
  const loose = runCli(['check', '-b', sample(R12, 'vmlinux.btf.xz'), '--kernel', '7.2', looseTree, '--format', 'json']);
  const expected = statuses(loose.stdout);

  it.each(['xz', 'zstd', 'gzip'] as const)('a .deb trio with data.tar.%s: check takes the base from linux-binary and the modules from linux-modules, named PKG!path', async (c) => {
    const [binary, modules] = await writeTrio(R13, c);
    const own = runCli(['check', '-b', binary, modules, '--format', 'json']);
    expect(own.stderr).toBe('');
    const j = JSON.parse(own.stdout);
    expect(j.base.file).toBe(`${binary}!usr/lib/modules/${R13}/vmlinuz`);
    expect(Object.values(statuses(own.stdout)).every((s) => s === 'accepted')).toBe(true);
    expect(j.modules[0].file.startsWith(`${modules}!usr/lib/modules/${R13}/kernel/`)).toBe(true);
    const other = runCli(['check', '-b', sample(R12, 'vmlinux.btf.xz'), '--kernel', '7.2', modules, '--format', 'json']);
    expect(statuses(other.stdout)).toEqual(expected);
    expect(other.status).toBe(loose.status);
  });

  it('check --base PKG reads the kernel .config in that package (6.x linux-image: boot/config-R beside boot/vmlinuz-R)', async () => {
    const image = new Uint8Array(fs.readFileSync(sample(R13, 'vmlinux.btf.xz')));
    const enc = (t: string): Uint8Array => Uint8Array.from(Buffer.from(t));
    const modules = sample(R12, 'usr', 'lib', 'modules', R12, 'kernel');
    for (const allow of [true, false]) {
      const config = allow ? 'CONFIG_DEBUG_INFO_BTF_MODULES=y\nCONFIG_MODULE_ALLOW_BTF_MISMATCH=y\n' : 'CONFIG_DEBUG_INFO_BTF_MODULES=y\n# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set\n';
      const deb = path.join(tmp, `linux-image-${R13}-allow-${allow}.deb`);
      fs.writeFileSync(deb, await buildDeb({ name: `linux-image-${R13}`, version: '1', compression: 'xz', files: [
        { name: `boot/vmlinuz-${R13}`, data: image }, { name: `boot/config-${R13}`, data: enc(config) },
      ] }));
      const r = runCli(['check', '-b', deb, modules, '--format', 'json']);
      const j = JSON.parse(r.stdout);
      expect(j.kernel.config).toBe(`${deb}!boot/config-${R13}`);
      expect(j.kernel.allowBtfMismatch).toBe(allow);
      expect(j.kernel.notes.join(' ')).not.toMatch(/no kernel config/);
      const rejected = j.modules.filter((m: { status: string }) => m.status === 'rejected');
      expect(rejected.length).toBeGreaterThan(0);
      expect(rejected.every((m: { kernel: { loads: boolean } }) => m.kernel.loads === allow)).toBe(true);
    }
  });

  it('fingerprint of a kernel package is its image\'s base, named PKG!path', async () => {
    const [binary, modules] = await writeTrio(R13, 'xz');
    const fromPkg = JSON.parse(runCli(['fingerprint', '-f', 'json', binary]).stdout).bases[0];
    const loose = JSON.parse(runCli(['fingerprint', '-f', 'json', sample(R13, 'vmlinux.btf.xz')]).stdout).bases[0];
    expect(fromPkg.sha256).toBe(loose.sha256);
    expect(fromPkg.file).toBe(`${binary}!usr/lib/modules/${R13}/vmlinuz`);
    const none = runCli(['fingerprint', modules]);
    expect(none.status).toBe(2);
    expect(none.stderr).toBe(`btfcheck: ${modules}: no kernel image (boot/vmlinuz-*, lib/modules/*/vmlinuz) or headers vmlinux (usr/src/linux-headers-*/vmlinux) in this package\n`);
  });

  it('an RPM (kernel-modules layout, xz and zstd payloads) is checked as the loose files', () => {
    const k = kernelFiles(R13);
    for (const compression of ['xz', 'zstd'] as const) {
      const files = k.modules.map((f) => ({ ...f, name: f.name.replace(/^usr\//, '') }));
      const rpm = path.join(tmp, `kernel-modules-${compression}.rpm`);
      fs.writeFileSync(rpm, buildRpmPackage({ name: 'kernel-modules', version: '7.2.13', release: '1', files, compression }));
      const r = runCli(['check', '-b', sample(R12, 'vmlinux.btf.xz'), '--kernel', '7.2', rpm, '--format', 'json']);
      expect(statuses(r.stdout)).toEqual(expected);
      expect(JSON.parse(r.stdout).modules[0].file.startsWith(`${rpm}!lib/modules/${R13}/kernel/`)).toBe(true);
    }
  });

  it.each(['zstd', 'xz', 'gzip'] as const)('an initramfs (uncompressed early cpio, then %s) is checked as the loose files, modules named IMAGE!path', (c) => {
    const image = path.join(tmp, `initrd.img-${R13}-${c}`);
    fs.writeFileSync(image, buildInitramfs(kernelFiles(R13).modules, c));
    const r = runCli(['check', '-b', sample(R12, 'vmlinux.btf.xz'), '--kernel', '7.2', image, '--format', 'json']);
    expect(statuses(r.stdout)).toEqual(expected);
    expect(r.status).toBe(loose.status);
    const text = runCli(['check', '-b', sample(R12, 'vmlinux.btf.xz'), '--kernel', '7.2', image]);
    expect(text.stdout).toContain(`${image}!usr/lib/modules/${R13}/kernel/`);
  });

  it('abi on two .deb trios gives the verdict and counts of the unpacked sample roots', async () => {
    const oldDebs = await writeTrio(R12, 'xz');
    const newDebs = await writeTrio(R13, 'zstd');
    const pk = runCli(['abi', '--old', ...oldDebs, '--new', ...newDebs, '--format', 'json']);
    const tree = runCli(['abi', '--old', sample(R12), '--new', sample(R13), '--format', 'json']);
    expect(pk.status).toBe(tree.status);
    const a = JSON.parse(pk.stdout);
    const b = JSON.parse(tree.stdout);
    expect(a.verdict).toBe(b.verdict);
    expect(a.newOnOld).toEqual(b.newOnOld);
    expect(a.oldOnNew).toEqual(b.oldOnNew);
    expect(a.old.base).toBe(`${oldDebs[0]}!usr/lib/modules/${R12}/vmlinuz`);
    expect(a.old.kernel.config).toBe(`${oldDebs[2]}!usr/lib/modules/${R12}/config`);
    // A directory of packages is one side too.
    const dir = path.join(tmp, 'debs-new');
    fs.mkdirSync(dir);
    for (const d of newDebs) fs.copyFileSync(d, path.join(dir, path.basename(d)));
    const viaDir = JSON.parse(runCli(['abi', '--old', ...oldDebs, '--new', dir, '--format', 'json']).stdout);
    expect(viaDir.verdict).toBe(b.verdict);
  });

  it('a package without a kernel: one line saying what to add, exit 2', async () => {
    const [, modules] = await writeTrio(R13, 'gzip');
    const r = runCli(['abi', '--old', modules, '--new', sample(R13)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no kernel image .* linux-binary/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('broken packages are one line naming the file, exit 2', () => {
    const bad = path.join(tmp, 'broken.deb');
    const deb = buildAr([{ name: 'debian-binary', data: enc('2.0\n') }, { name: 'data.tar.xz', data: enc('not xz at all, truncated') }]);
    fs.writeFileSync(bad, deb);
    const r = runCli(['check', '-b', sample(R12, 'vmlinux.btf.xz'), '--kernel', '7.2', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`btfcheck: ${bad}: `);
    // As a base: the one line names the package once.
    const b = runCli(['check', '-b', bad, '--kernel', '7.2', sample(R12, 'usr')]);
    expect(b.status).toBe(2);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    expect(b.stderr).toMatch(new RegExp(`^btfcheck: ${bad}: (?!${bad})`));
  });

  it('check on a .deb reads every module, also one its md5sums cannot list (a newline in its name)', async () => {
    const k = kernelFiles(R13);
    const one = k.modules[0];
    const files = [{ ...one, name: one.name.replace(/\.ko(\.xz)?$/, '\nx.ko$1') }];
    const deb = path.join(tmp, 'newline-module.deb');
    fs.writeFileSync(deb, await buildDeb({ name: 'linux-modules-x', version: '1', files, compression: 'xz' }));
    const r = runCli(['check', '-b', sample(R13, 'vmlinux.btf.xz'), '--kernel', '7.2', deb, '--format', 'json'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    expect(j.modules).toHaveLength(1);
    expect(j.modules[0].status).toBe('accepted');
    expect(j.modules[0].file).toBe(`${deb}!${files[0].name}`);
  });
});

describe('hostile packages and images (in-process)', () => {
  it('mutated .deb, RPM and initramfs bytes end in entries or one InputError, never another exception or a hang', async () => {
    const fc = (await import('fast-check')).default;
    const { openArchive, archiveKindOf, loadModuleBytes } = await import('../cmd/io/archives.js');
    const { InputError } = await import('../lib/errors.js');
    const mods = filesUnder(sample(R13, 'usr', 'lib', 'modules', R13, 'kernel'), `usr/lib/modules/${R13}/kernel`).slice(0, 2);
    const seeds: Array<[string, Uint8Array]> = [
      ['seed.deb', await buildDeb({ name: 'm', version: '1', files: mods, compression: 'xz' })],
      ['seed-gz.deb', await buildDeb({ name: 'm', version: '1', files: mods, compression: 'gzip', md5sums: false })],
      ['seed.rpm', buildRpmPackage({ name: 'k', version: '1', release: '1', files: mods, compression: 'zstd' })],
      ['initrd.img-seed', buildInitramfs(mods, 'zstd')],
    ];
    const file = path.join(tmp, 'fuzz');
    let runs = 0;
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: seeds.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      async (which, flips, cut) => {
        runs++;
        const [name, seed] = seeds[which];
        const bytes = seed.slice(0, cut === undefined ? seed.length : 1 + (cut % seed.length));
        for (const [at, v] of flips) bytes[at % bytes.length] = v;
        const p = `${file}-${name}`;
        fs.writeFileSync(p, bytes);
        const kind = archiveKindOf(p);
        if (!kind) return;
        try {
          const a = await openArchive(p, kind);
          try {
            for await (const e of a.entries(() => true)) {
              if (/\.ko/.test(e.path)) await loadModuleBytes(`${p}!${e.path}`, e.data).catch((err) => { if (!(err instanceof InputError)) throw err; });
            }
          } finally {
            a.close();
          }
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
        }
      },
    ), { numRuns: Number(process.env.ARCHIVE_FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? 42) });
    expect(runs).toBe(Number(process.env.ARCHIVE_FUZZ_RUNS ?? 300));
  }, 120_000);
});
