/**
 * The package hooks of samples/hooks/, run as their callers run them: the kernel-install plugin
 * with kernel-install's arguments, the /etc/kernel/postinst.d script with the kernel postinst's,
 * the apt Pre-Install-Pkgs hook with .deb paths on stdin (real packages built with dpkg-deb), and
 * the DKMS POST_BUILD script in a build directory. Roots, images and modules come from samples/.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, sample } from './helpers/cli.js';

const HOOKS = path.join(repoRoot, 'samples', 'hooks');
const OLD = '6.1.0-47-cloud-amd64';
const NEW = '6.1.0-56-cloud-amd64';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-hooks-'));

interface Run { status: number | null; stderr: string; stdout: string; lines: string[] }

function hook(script: string, args: string[], env: Record<string, string> = {}, opts: { cwd?: string; input?: string } = {}): Run {
  const r = spawnSync(path.join(HOOKS, script), args, {
    encoding: 'utf8', cwd: opts.cwd ?? tmp, input: opts.input, timeout: 120_000,
    env: { ...process.env, BTFCHECK: `${process.execPath} ${cliPath}`, BTFCHECK_FAIL_ON: '', BTFCHECK_VERBOSE: '', ...env },
  });
  const lines = r.stderr.split('\n').filter(Boolean);
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, lines };
}

/**
 * A system root with kernel `release` installed: its modules are those of build `modulesOf`, its
 * /boot/vmlinuz (an xz raw BTF base: btfcheck reads bases by content, not name) that of `imageOf`.
 */
function systemRoot(name: string, release: string, modulesOf: string, imageOf: string | null, only?: string): string {
  const root = path.join(tmp, name);
  const modules = path.join(root, 'lib', 'modules', release);
  fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
  fs.mkdirSync(modules, { recursive: true });
  const src = sample(modulesOf, 'lib', 'modules', modulesOf, 'kernel');
  if (only) {
    fs.mkdirSync(path.join(modules, 'kernel'), { recursive: true });
    fs.copyFileSync(path.join(src, only), path.join(modules, 'kernel', path.basename(only)));
  } else {
    fs.cpSync(src, path.join(modules, 'kernel'), { recursive: true });
  }
  fs.copyFileSync(sample(modulesOf, 'config'), path.join(root, 'boot', `config-${release}`));
  if (imageOf) fs.copyFileSync(sample(imageOf, 'vmlinux.btf.xz'), path.join(root, 'boot', `vmlinuz-${release}`));
  return root;
}

/** Matches one problem line of a hook: `btfcheck: LABEL: module (file): ...`. */
const PROBLEM = (label: string) => new RegExp(`^btfcheck: ${label.replace(/[.+]/g, '\\$&')}: \\S+ \\(.+\\): (BTF rejected, errno -22|BTF accepted but built against another base)`);

beforeAll(() => {
  expect(fs.existsSync(cliPath)).toBe(true);
});

describe('kernel-install plugin (50-btfcheck.install)', () => {
  it('add: modules that fit the image: silent, exit 0 (verbose: one line)', () => {
    const root = systemRoot('ki-ok', OLD, OLD, OLD);
    const r = hook('50-btfcheck.install', ['add', OLD, '/boot/efi/entry', path.join(root, 'boot', `vmlinuz-${OLD}`)], { BTFCHECK_ROOT: root });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const v = hook('50-btfcheck.install', ['add', OLD, '/boot/efi/entry', path.join(root, 'boot', `vmlinuz-${OLD}`)], { BTFCHECK_ROOT: root, BTFCHECK_VERBOSE: '1' });
    expect(v.status).toBe(0);
    expect(v.lines).toEqual([`btfcheck: ${OLD}: 12 modules fit base ${path.join(root, 'boot', `vmlinuz-${OLD}`)}`]);
  });

  it('add: an image from another build: one line per module, exit 1; BTFCHECK_FAIL_ON=never: exit 0', () => {
    const root = systemRoot('ki-bad', OLD, OLD, NEW);
    const image = path.join(root, 'boot', `vmlinuz-${OLD}`);
    const r = hook('50-btfcheck.install', ['add', OLD, '/boot/efi/entry', image], { BTFCHECK_ROOT: root });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(12);
    for (const l of r.lines) expect(l).toMatch(PROBLEM(OLD));
    expect(r.lines.filter((l) => l.includes('BTF rejected')).length).toBe(10);
    expect(r.lines.some((l) => /ata_piix .*kernel says ".*Invalid name"/.test(l))).toBe(true);
    const never = hook('50-btfcheck.install', ['add', OLD, '/boot/efi/entry', image], { BTFCHECK_ROOT: root, BTFCHECK_FAIL_ON: 'never' });
    expect(never.status).toBe(0);
    expect(never.lines).toEqual(r.lines);
  });

  it('silent mismatches fail only with BTFCHECK_FAIL_ON=mismatch', () => {
    // ctr of 6.1.0-47 is accepted by 6.1.0-56's kernel although built against another base.
    const root = systemRoot('ki-mismatch', OLD, OLD, NEW, 'crypto/ctr.ko');
    const args = ['add', OLD, '/boot/efi/entry', path.join(root, 'boot', `vmlinuz-${OLD}`)];
    const r = hook('50-btfcheck.install', args, { BTFCHECK_ROOT: root });
    expect(r.status).toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^btfcheck: 6\.1\.0-47-cloud-amd64: ctr \(.*ctr\.ko\): BTF accepted but built against another base: /);
    expect(hook('50-btfcheck.install', args, { BTFCHECK_ROOT: root, BTFCHECK_FAIL_ON: 'mismatch' }).status).toBe(1);
  });

  it('remove, and a kernel without modules, are no-ops; a missing btfcheck is reported, not fatal', () => {
    const root = systemRoot('ki-misc', OLD, OLD, NEW);
    expect(hook('50-btfcheck.install', ['remove', OLD, '/boot/efi/entry'], { BTFCHECK_ROOT: root })).toMatchObject({ status: 0, stderr: '' });
    expect(hook('50-btfcheck.install', ['add', '9.9.9-none', '/boot/efi/entry', '/nonexistent'], { BTFCHECK_ROOT: root })).toMatchObject({ status: 0, stderr: '' });
    const missing = hook('50-btfcheck.install', ['add', OLD, '/e', path.join(root, 'boot', `vmlinuz-${OLD}`)], { BTFCHECK_ROOT: root, BTFCHECK: path.join(tmp, 'no-such-btfcheck') });
    expect(missing.status).toBe(0);
    expect(missing.lines[0]).toMatch(new RegExp(`^btfcheck: ${OLD.replace(/\./g, '\\.')}: cannot check: `));
  });
});

describe('kernel postinst.d hook (zy-btfcheck)', () => {
  it('finds the image in /boot when the postinst passes none, and fails on a mismatched image', () => {
    const ok = systemRoot('pi-ok', NEW, NEW, NEW);
    expect(hook('zy-btfcheck', [NEW], { BTFCHECK_ROOT: ok })).toMatchObject({ status: 0, stderr: '' });
    const bad = systemRoot('pi-bad', NEW, NEW, OLD);
    const r = hook('zy-btfcheck', [NEW, path.join(bad, 'boot', `vmlinuz-${NEW}`)], { BTFCHECK_ROOT: bad });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(12);
    for (const l of r.lines) expect(l).toMatch(PROBLEM(NEW));
  });
});

describe('apt Pre-Install-Pkgs hook (btfcheck-apt-preinstall)', () => {
  /** Builds a .deb holding the given files (destination path → source file). */
  function deb(name: string, files: Record<string, string>): string {
    const dir = path.join(tmp, 'debs', name);
    fs.mkdirSync(path.join(dir, 'DEBIAN'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'DEBIAN', 'control'), `Package: ${name}\nVersion: 1\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n`);
    for (const [dest, src] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, dest)), { recursive: true });
      fs.cpSync(src, path.join(dir, dest), { recursive: true });
    }
    const out = path.join(tmp, 'debs', `${name}.deb`);
    const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', dir, out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return out;
  }
  const kernelDeb = (name: string, release: string, imageOf: string, modulesOf: string): string => deb(name, {
    [`boot/vmlinuz-${release}`]: sample(imageOf, 'vmlinux.btf.xz'),
    [`boot/config-${release}`]: sample(imageOf, 'config'),
    [`lib/modules/${release}/kernel`]: sample(modulesOf, 'lib', 'modules', modulesOf, 'kernel'),
  });
  const emptyRoot = path.join(tmp, 'apt-root');
  fs.mkdirSync(emptyRoot, { recursive: true });

  it('a consistent kernel package and unrelated packages pass silently', () => {
    const good = kernelDeb('linux-image-good', OLD, OLD, OLD);
    const other = deb('hello', { 'usr/share/doc/hello/README': path.join(repoRoot, 'package.json') });
    expect(hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, { input: `${other}\n${good}\n` })).toMatchObject({ status: 0, stderr: '' });
  });

  it('a package whose image and modules come from different builds: one line per module, exit 1', () => {
    const bad = kernelDeb('linux-image-bad', NEW, OLD, NEW);
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, { input: `${bad}\n` });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(12);
    for (const l of r.lines) expect(l).toMatch(PROBLEM(NEW));
  });

  it('a modules-only package is checked against the image installed in /boot', () => {
    const mods = deb('linux-modules-extra', { [`lib/modules/${OLD}/kernel`]: sample(NEW, 'lib', 'modules', NEW, 'kernel') });
    const root = path.join(tmp, 'apt-installed');
    fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
    fs.copyFileSync(sample(OLD, 'vmlinux.btf.xz'), path.join(root, 'boot', `vmlinuz-${OLD}`));
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: root }, { input: `${mods}\n` });
    expect(r.status).toBe(1);
    expect(r.lines.length).toBeGreaterThan(5);
    for (const l of r.lines) expect(l).toMatch(PROBLEM(OLD));
    // Without any image for that release there is nothing to check against: said once, not fatal.
    const none = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, { input: `${mods}\n` });
    expect(none.status).toBe(0);
    expect(none.lines).toEqual([`btfcheck: ${OLD}: no kernel image in this transaction or installed (looked for ${emptyRoot}/boot/vmlinuz-${OLD}, ${emptyRoot}/usr/lib/modules/${OLD}/vmlinuz); its modules are not checked`]);
  });
});

describe('DKMS POST_BUILD (btfcheck-dkms-post-build)', () => {
  function buildDir(name: string, ko: string): string {
    const dir = path.join(tmp, name, 'build');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(ko, path.join(dir, path.basename(ko)));
    return dir;
  }
  const root = path.join(tmp, 'dkms-root');
  fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
  fs.copyFileSync(sample(OLD, 'vmlinux.btf.xz'), path.join(root, 'boot', `vmlinuz-${OLD}`));

  it('a module built against the kernel\'s own base passes; one built against another is rejected, exit 1', () => {
    const good = buildDir('dkms-good', sample(OLD, 'lib', 'modules', OLD, 'kernel', 'drivers', 'md', 'dm-verity.ko'));
    expect(hook('btfcheck-dkms-post-build', [OLD], { BTFCHECK_ROOT: root, module: 'dm-verity' }, { cwd: good })).toMatchObject({ status: 0, stderr: '' });
    const bad = buildDir('dkms-bad', sample(NEW, 'lib', 'modules', NEW, 'kernel', 'drivers', 'md', 'dm-verity.ko'));
    const r = hook('btfcheck-dkms-post-build', [OLD], { BTFCHECK_ROOT: root, module: 'dm-verity' }, { cwd: bad });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^btfcheck: dkms dm-verity 6\.1\.0-47-cloud-amd64: dm_verity \(dm-verity\.ko\): BTF rejected, errno -22/);
  });

  it('without a kernel version it explains its usage and does not fail the build', () => {
    const r = hook('btfcheck-dkms-post-build', [], { BTFCHECK_ROOT: root, kernelver: '' });
    expect(r.status).toBe(0);
    expect(r.lines[0]).toMatch(/usage: btfcheck-dkms-post-build KERNEL_VERSION/);
  });
});

/**
 * Debian 7.x splits a kernel into linux-binary-<release> (usr/lib/modules/<release>/vmlinuz),
 * linux-modules-<release> (.../kernel/) and linux-base-<release> (.../config): nothing in /boot.
 * Built from the 7.2 sample trees (their config: CONFIG_MODULE_ALLOW_BTF_MISMATCH not set).
 */
describe('Debian 7.x layout (usr/lib/modules/<release>/vmlinuz, config, kernel/, updates/)', () => {
  const R12 = '7.2.12+deb13-cloud-amd64';
  const R13 = '7.2.13+deb14-cloud-amd64';
  const tree7 = (abi: string) => sample(abi, 'usr', 'lib', 'modules', abi);
  const MODULES_7 = 8;
  const escape = (s: string) => s.replace(/[.+]/g, '\\$&');

  /** An installed 7.x system: `release`'s tree with `imageOf`'s base and config, `modulesOf`'s kernel/, and files in updates/. */
  function systemRoot7(name: string, release: string, modulesOf: string, imageOf: string, updates: string[] = []): { root: string; tree: string } {
    const root = path.join(tmp, name);
    const tree = path.join(root, 'usr', 'lib', 'modules', release);
    fs.mkdirSync(tree, { recursive: true });
    fs.cpSync(path.join(tree7(modulesOf), 'kernel'), path.join(tree, 'kernel'), { recursive: true });
    fs.copyFileSync(path.join(tree7(imageOf), 'config'), path.join(tree, 'config'));
    fs.copyFileSync(sample(imageOf, 'vmlinux.btf.xz'), path.join(tree, 'vmlinuz'));
    for (const f of updates) {
      fs.mkdirSync(path.join(tree, 'updates'), { recursive: true });
      fs.copyFileSync(f, path.join(tree, 'updates', path.basename(f)));
    }
    return { root, tree };
  }
  const dmZero12 = path.join(tree7(R12), 'kernel', 'drivers', 'md', 'dm-zero.ko.xz');
  /** The one line for 7.2.12's dm-zero in 7.2.13's updates/: release, module, file; the 7.x kernel does not load it. */
  const UPDATES_LINE = new RegExp(`^btfcheck: ${escape(R13)}: dm_zero \\(.*/usr/lib/modules/${escape(R13)}/updates/dm-zero\\.ko\\.xz\\): BTF rejected, errno -22 \\(the module will not load\\): kernel says ".+": the module comes from a different build`);

  it('kernel-install: a consistent 7.2.13 tree passes (verbose: one line naming usr/lib/modules/<release>/vmlinuz)', () => {
    const { root, tree } = systemRoot7('7-ki-ok', R13, R13, R13);
    const image = path.join(tree, 'vmlinuz');
    expect(hook('50-btfcheck.install', ['add', R13, '/boot/efi/entry', image], { BTFCHECK_ROOT: root })).toMatchObject({ status: 0, stderr: '' });
    const v = hook('50-btfcheck.install', ['add', R13, '/boot/efi/entry', image], { BTFCHECK_ROOT: root, BTFCHECK_VERBOSE: '1' });
    expect(v.status).toBe(0);
    expect(v.lines).toEqual([`btfcheck: ${R13}: ${MODULES_7} modules fit base ${image}`]);
  });

  it('kernel-install and postinst.d: a 7.2.12 module in updates/ fails with one line naming the release and the module', () => {
    const { root, tree } = systemRoot7('7-updates', R13, R13, R13, [dmZero12]);
    const ki = hook('50-btfcheck.install', ['add', R13, '/boot/efi/entry', path.join(tree, 'vmlinuz')], { BTFCHECK_ROOT: root });
    expect(ki.status).toBe(1);
    expect(ki.lines).toHaveLength(1);
    expect(ki.lines[0]).toMatch(UPDATES_LINE);
    // The postinst passes no image (or /boot/vmlinuz-<release>, absent on 7.x): found in the module tree.
    for (const args of [[R13], [R13, path.join(root, 'boot', `vmlinuz-${R13}`)]]) {
      const pi = hook('zy-btfcheck', args, { BTFCHECK_ROOT: root });
      expect(pi.status).toBe(1);
      expect(pi.lines).toEqual(ki.lines);
    }
  });

  it('the config is read from usr/lib/modules/<release>/config: with ALLOW_BTF_MISMATCH=y the module loads without BTF', () => {
    const { root, tree } = systemRoot7('7-allow', R13, R13, R13, [dmZero12]);
    const config = path.join(tree, 'config');
    fs.writeFileSync(config, fs.readFileSync(config, 'latin1').replace(/^# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set$/m, 'CONFIG_MODULE_ALLOW_BTF_MISMATCH=y'));
    const r = hook('zy-btfcheck', [R13], { BTFCHECK_ROOT: root });
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^btfcheck: 7\.2\.13\+deb14-cloud-amd64: dm_zero \(.*\): BTF rejected, errno -22 \(the module loads without BTF\)/);
  });

  it('an image of another 7.x build: one line per module; never "no kernel image"', () => {
    const { root } = systemRoot7('7-bad', R13, R13, R12);
    const r = hook('zy-btfcheck', [R13], { BTFCHECK_ROOT: root });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(MODULES_7);
    for (const l of r.lines) expect(l).toMatch(PROBLEM(R13));
    expect(r.stderr).not.toMatch(/no kernel image/);
  });

  it('an unreadable image: one line saying what could not be read and why, exit 0', () => {
    const { root, tree } = systemRoot7('7-broken', R13, R13, R13);
    fs.writeFileSync(path.join(tree, 'vmlinuz'), Buffer.alloc(4096, 0x5a));
    const r = hook('zy-btfcheck', [R13], { BTFCHECK_ROOT: root });
    expect(r.status).toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(new RegExp(`^btfcheck: ${escape(R13)}: cannot check: ${escape(path.join(tree, 'vmlinuz'))}: \\S`));
  });

  describe('apt Pre-Install-Pkgs with the three 7.x packages', () => {
    function deb(name: string, files: Record<string, string>): string {
      const dir = path.join(tmp, 'debs7', name);
      fs.mkdirSync(path.join(dir, 'DEBIAN'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'DEBIAN', 'control'), `Package: ${name}\nVersion: 1\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n`);
      for (const [dest, src] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, dest)), { recursive: true });
        fs.cpSync(src, path.join(dir, dest), { recursive: true });
      }
      const out = path.join(tmp, 'debs7', `${name}.deb`);
      const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', dir, out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return out;
    }
    /** linux-binary-, linux-modules- and linux-base-<release>, as Debian 7.x builds them. */
    const trio = (tag: string, release: string, imageOf: string, modulesOf: string): string[] => {
      const dir = `usr/lib/modules/${release}`;
      return [
        deb(`linux-binary-${tag}`, { [`${dir}/vmlinuz`]: sample(imageOf, 'vmlinux.btf.xz') }),
        deb(`linux-modules-${tag}`, { [`${dir}/kernel`]: path.join(tree7(modulesOf), 'kernel') }),
        deb(`linux-base-${tag}`, { [`${dir}/config`]: path.join(tree7(imageOf), 'config') }),
      ];
    };
    const emptyRoot = path.join(tmp, 'apt7-root');
    fs.mkdirSync(emptyRoot, { recursive: true });

    it('a consistent transaction passes silently (verbose: the modules fit the transaction\'s image)', () => {
      const debs = trio('good', R13, R13, R13);
      expect(hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, { input: `${debs.join('\n')}\n` })).toMatchObject({ status: 0, stderr: '' });
      const v = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot, BTFCHECK_VERBOSE: '1' }, { input: `${debs.join('\n')}\n` });
      expect(v.lines).toHaveLength(1);
      expect(v.lines[0]).toMatch(new RegExp(`^btfcheck: ${escape(R13)}: ${MODULES_7} modules fit base .*/usr/lib/modules/${escape(R13)}/vmlinuz$`));
    });

    it('linux-binary of another build: one line per module, exit 1', () => {
      const debs = trio('bad', R13, R12, R13);
      const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, { input: `${debs.join('\n')}\n` });
      expect(r.status).toBe(1);
      expect(r.lines).toHaveLength(MODULES_7);
      for (const l of r.lines) expect(l).toMatch(PROBLEM(R13));
      // ALLOW_BTF_MISMATCH from linux-base's config (not set): the modules do not load.
      for (const l of r.lines) expect(l).toContain('(the module will not load)');
    });

    it('linux-modules alone is checked against the installed usr/lib/modules/<release>/vmlinuz', () => {
      const [, modules] = trio('mods', R13, R13, R12);
      const { root } = systemRoot7('apt7-installed', R13, R13, R13);
      const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: root }, { input: `${modules}\n` });
      expect(r.status).toBe(1);
      expect(r.lines).toHaveLength(MODULES_7);
      for (const l of r.lines) expect(l).toMatch(PROBLEM(R13));
      // Nothing installed and no image in the transaction: said once, naming where it looked, not fatal.
      const none = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, { input: `${modules}\n` });
      expect(none.status).toBe(0);
      expect(none.lines).toEqual([`btfcheck: ${R13}: no kernel image in this transaction or installed (looked for ${emptyRoot}/boot/vmlinuz-${R13}, ${emptyRoot}/usr/lib/modules/${R13}/vmlinuz); its modules are not checked`]);
    });

    it('a new image is checked against the installed modules it keeps: a 7.2.12 module in updates/ fails with one line', () => {
      const { root } = systemRoot7('apt7-dkms', R13, R13, R13, [dmZero12]);
      fs.rmSync(path.join(root, 'usr', 'lib', 'modules', R13, 'kernel'), { recursive: true });
      const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: root }, { input: `${trio('upd', R13, R13, R13).join('\n')}\n` });
      expect(r.status).toBe(1);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(UPDATES_LINE);
    });
  });

  it('DKMS POST_BUILD: the base is usr/lib/modules/<release>/vmlinuz; a module built against 7.2.12 is rejected', () => {
    const { root } = systemRoot7('7-dkms', R13, R13, R13);
    const build = (name: string, ko: string): string => {
      const dir = path.join(tmp, name, 'build');
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(ko, path.join(dir, path.basename(ko)));
      return dir;
    };
    const good = build('7-dkms-good', path.join(tree7(R13), 'kernel', 'drivers', 'md', 'dm-zero.ko.xz'));
    expect(hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: 'dm-zero' }, { cwd: good })).toMatchObject({ status: 0, stderr: '' });
    const r = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: 'dm-zero' }, { cwd: build('7-dkms-bad', dmZero12) });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(new RegExp(`^btfcheck: dkms dm-zero ${escape(R13)}: dm_zero \\(dm-zero\\.ko\\.xz\\): BTF rejected, errno -22 \\(the module will not load\\)`));
  });
});
