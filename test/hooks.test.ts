/**
 * The package hooks of samples/hooks/, run as their callers run them: the kernel-install plugin
 * with kernel-install's arguments, the /etc/kernel/postinst.d script with the kernel postinst's,
 * the apt Pre-Install-Pkgs hook with .deb paths on stdin (real packages built with dpkg-deb), and
 * the DKMS POST_BUILD script in a build directory. Roots, images and modules come from samples/.
 *
 * The hooks fail by consequence (BTFCHECK_FAIL_ON, default unloadable): Debian 6.1 is built with
 * CONFIG_MODULE_ALLOW_BTF_MISMATCH=y, so a rejected module still loads (without BTF) and is one
 * line, not a failure, unless BTFCHECK_FAIL_ON=rejected; Debian 7.x is not, so it fails.
 * Every hook runs with its own TMPDIR, which must be empty again afterwards (no scratch left).
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

let runs = 0;
function hook(script: string, args: string[], env: Record<string, string> = {}, opts: { cwd?: string; input?: string } = {}): Run {
  const scratch = path.join(tmp, 'TMPDIR', String(runs++));
  fs.mkdirSync(scratch, { recursive: true });
  const r = spawnSync(path.join(HOOKS, script), args, {
    encoding: 'utf8', cwd: opts.cwd ?? tmp, input: opts.input, timeout: 120_000,
    env: { ...process.env, BTFCHECK: `${process.execPath} ${cliPath}`, BTFCHECK_FAIL_ON: '', BTFCHECK_VERBOSE: '', BTFCHECK_TIMEOUT: '', TMPDIR: scratch, ...env },
  });
  const lines = r.stderr.split('\n').filter(Boolean);
  // The hook's scratch directory is gone, and no message names it.
  expect(fs.readdirSync(scratch)).toEqual([]);
  expect(r.stderr).not.toContain(scratch);
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

  it('add: an image from another build: one line per module; 6.1 loads them without BTF, so exit 0 unless BTFCHECK_FAIL_ON=rejected', () => {
    const root = systemRoot('ki-bad', OLD, OLD, NEW);
    const image = path.join(root, 'boot', `vmlinuz-${OLD}`);
    const r = hook('50-btfcheck.install', ['add', OLD, '/boot/efi/entry', image], { BTFCHECK_ROOT: root });
    expect(r.status).toBe(0);
    expect(r.lines).toHaveLength(12);
    for (const l of r.lines) expect(l).toMatch(PROBLEM(OLD));
    expect(r.lines.filter((l) => l.includes('BTF rejected, errno -22 (the module loads without BTF)')).length).toBe(10);
    expect(r.lines.some((l) => /ata_piix .*kernel says ".*Invalid name"/.test(l))).toBe(true);
    const rejected = hook('50-btfcheck.install', ['add', OLD, '/boot/efi/entry', image], { BTFCHECK_ROOT: root, BTFCHECK_FAIL_ON: 'rejected' });
    expect(rejected.status).toBe(1);
    expect(rejected.lines).toEqual(r.lines);
    const never = hook('50-btfcheck.install', ['add', OLD, '/boot/efi/entry', image], { BTFCHECK_ROOT: root, BTFCHECK_FAIL_ON: 'never' });
    expect(never.status).toBe(0);
    expect(never.lines).toEqual(r.lines);
    // The kernel without ALLOW_BTF_MISMATCH refuses the modules: the default fails.
    fs.writeFileSync(path.join(root, 'boot', `config-${OLD}`), 'CONFIG_DEBUG_INFO_BTF_MODULES=y\n# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set\n');
    const strict = hook('50-btfcheck.install', ['add', OLD, '/boot/efi/entry', image], { BTFCHECK_ROOT: root });
    expect(strict.status).toBe(1);
    expect(strict.lines.filter((l) => l.includes('(the module will not load)')).length).toBe(10);
  });

  it('an unknown BTFCHECK_FAIL_ON is said once and the default used', () => {
    const root = systemRoot('ki-policy', OLD, OLD, NEW);
    const r = hook('50-btfcheck.install', ['add', OLD, '/e', path.join(root, 'boot', `vmlinuz-${OLD}`)], { BTFCHECK_ROOT: root, BTFCHECK_FAIL_ON: 'always' });
    expect(r.status).toBe(0);
    expect(r.lines[0]).toBe('btfcheck: BTFCHECK_FAIL_ON=always is not one of unloadable, rejected, mismatch, never; using unloadable');
    expect(r.lines).toHaveLength(13);
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
    const r = hook('zy-btfcheck', [NEW, path.join(bad, 'boot', `vmlinuz-${NEW}`)], { BTFCHECK_ROOT: bad, BTFCHECK_FAIL_ON: 'rejected' });
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

  it('a package whose image and modules come from different builds: one line per module naming the package file and the path it installs', () => {
    const bad = kernelDeb('linux-image-bad', NEW, OLD, NEW);
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot, BTFCHECK_FAIL_ON: 'rejected' }, { input: `${bad}\n` });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(12);
    for (const l of r.lines) expect(l).toMatch(PROBLEM(NEW));
    expect(r.lines).toContainEqual(expect.stringMatching(new RegExp(`^btfcheck: ${NEW}: ata_piix \\(linux-image-bad\\.deb:/lib/modules/${NEW}/kernel/drivers/ata/ata_piix\\.ko\\): BTF rejected, errno -22 \\(the module loads without BTF\\)`)));
    // 6.1 loads them without BTF: the default policy reports and passes.
    const dflt = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, { input: `${bad}\n` });
    expect(dflt.status).toBe(0);
    expect(dflt.lines).toEqual(r.lines);
  });

  it('a .deb dpkg-deb cannot read: one line naming it, the other packages still checked, exit 0', () => {
    const broken = path.join(tmp, 'debs', 'broken_1_all.deb');
    fs.mkdirSync(path.dirname(broken), { recursive: true });
    fs.writeFileSync(broken, 'not a debian package');
    const good = kernelDeb('linux-image-good2', OLD, OLD, OLD);
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot, BTFCHECK_VERBOSE: '1' }, { input: `${broken}\n${good}\n` });
    expect(r.status).toBe(0);
    expect(r.lines).toHaveLength(2);
    expect(r.lines[0]).toMatch(/^btfcheck: broken_1_all\.deb: cannot read it \(.+\); not checked$/);
    expect(r.lines[1]).toBe(`btfcheck: ${OLD}: 12 modules fit base linux-image-good2.deb:/boot/vmlinuz-${OLD}`);
  });

  it('a modules-only package is checked against the image installed in /boot', () => {
    const mods = deb('linux-modules-extra', { [`lib/modules/${OLD}/kernel`]: sample(NEW, 'lib', 'modules', NEW, 'kernel') });
    const root = path.join(tmp, 'apt-installed');
    fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
    fs.copyFileSync(sample(OLD, 'vmlinux.btf.xz'), path.join(root, 'boot', `vmlinuz-${OLD}`));
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: root, BTFCHECK_FAIL_ON: 'rejected' }, { input: `${mods}\n` });
    expect(r.status).toBe(1);
    expect(r.lines.length).toBeGreaterThan(5);
    for (const l of r.lines) expect(l).toMatch(PROBLEM(OLD));
    for (const l of r.lines) expect(l).toMatch(new RegExp(`\\(linux-modules-extra\\.deb:/lib/modules/${OLD}/kernel/`));
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
  fs.copyFileSync(sample(OLD, 'config'), path.join(root, 'boot', `config-${OLD}`));
  // The headers' vmlinux, reached as kbuild does through lib/modules/<release>/build (an absolute
  // link, followed inside the root).
  fs.mkdirSync(path.join(root, 'usr', 'src', `linux-headers-${OLD}`), { recursive: true });
  fs.copyFileSync(sample(OLD, 'vmlinux.btf.xz'), path.join(root, 'usr', 'src', `linux-headers-${OLD}`, 'vmlinux'));
  fs.mkdirSync(path.join(root, 'lib', 'modules', OLD), { recursive: true });
  fs.symlinkSync(`/usr/src/linux-headers-${OLD}`, path.join(root, 'lib', 'modules', OLD, 'build'));

  it('a module built against the kernel\'s own base passes; one built against another is rejected (6.1 loads it without BTF: exit 1 only with BTFCHECK_FAIL_ON=rejected)', () => {
    const good = buildDir('dkms-good', sample(OLD, 'lib', 'modules', OLD, 'kernel', 'drivers', 'md', 'dm-verity.ko'));
    expect(hook('btfcheck-dkms-post-build', [OLD], { BTFCHECK_ROOT: root, module: 'dm-verity' }, { cwd: good })).toMatchObject({ status: 0, stderr: '' });
    const bad = buildDir('dkms-bad', sample(NEW, 'lib', 'modules', NEW, 'kernel', 'drivers', 'md', 'dm-verity.ko'));
    const r = hook('btfcheck-dkms-post-build', [OLD], { BTFCHECK_ROOT: root, module: 'dm-verity', BTFCHECK_FAIL_ON: 'rejected' }, { cwd: bad });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^btfcheck: dkms dm-verity 6\.1\.0-47-cloud-amd64: dm_verity \(dm-verity\.ko\): BTF rejected, errno -22 \(the module loads without BTF\)/);
    const dflt = hook('btfcheck-dkms-post-build', [OLD], { BTFCHECK_ROOT: root, module: 'dm-verity' }, { cwd: bad });
    expect(dflt.status).toBe(0);
    expect(dflt.lines).toEqual(r.lines);
  });

  it('without $module the label is <module>/<version> from DKMS\'s build directory', () => {
    const dir = path.join(tmp, 'var-lib-dkms', 'dm-verity', '1.0', 'build');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(sample(NEW, 'lib', 'modules', NEW, 'kernel', 'drivers', 'md', 'dm-verity.ko'), path.join(dir, 'dm-verity.ko'));
    const r = hook('btfcheck-dkms-post-build', [OLD], { BTFCHECK_ROOT: root, module: '' }, { cwd: dir });
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^btfcheck: dkms dm-verity\/1\.0 6\.1\.0-47-cloud-amd64: dm_verity \(dm-verity\.ko\): BTF rejected/);
  });

  it('no headers vmlinux to compare: one line saying where it was looked for; a module without BTF needs none', () => {
    const bare = path.join(tmp, 'dkms-root-bare');
    fs.mkdirSync(path.join(bare, 'boot'), { recursive: true });
    fs.copyFileSync(sample(OLD, 'vmlinux.btf.xz'), path.join(bare, 'boot', `vmlinuz-${OLD}`));
    const good = buildDir('dkms-good-bare', sample(OLD, 'lib', 'modules', OLD, 'kernel', 'drivers', 'md', 'dm-verity.ko'));
    const r = hook('btfcheck-dkms-post-build', [OLD], { BTFCHECK_ROOT: bare, module: 'dm-verity' }, { cwd: good });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([`btfcheck: dkms dm-verity ${OLD}: the headers' BTF is not compared with the kernel's: no vmlinux at ${bare}/lib/modules/${OLD}/build/vmlinux or ${bare}/usr/src/linux-headers-${OLD}/vmlinux`]);
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

  describe('DKMS POST_BUILD on 7.x: the headers\' BTF-only vmlinux and .BTF.base relocation', { timeout: 60_000 }, () => {
    const R12_DKMS = path.join(repoRoot, 'test', 'fixtures', 'oracle', 'dkms-modules', R12);
    const R13_DKMS = path.join(repoRoot, 'test', 'fixtures', 'oracle', 'dkms-modules', R13);
    // Three of the six (test/real/hooks.test.ts runs all six on the real images).
    const DKMS = ['acpi_call', 'dkms_test', 'vhba'];
    const build = (name: string, ...kos: string[]): string => {
      const dir = path.join(tmp, name, 'build');
      fs.mkdirSync(dir, { recursive: true });
      for (const ko of kos) fs.copyFileSync(ko, path.join(dir, path.basename(ko)));
      return dir;
    };
    /** 7.2.13 installed, with linux-headers-<release>'s vmlinux simulated by `headersOf`'s raw BTF. */
    const rootWithHeaders = (name: string, headersOf: string | null): string => {
      const { root } = systemRoot7(name, R13, R13, R13);
      if (headersOf) {
        const dir = path.join(root, 'usr', 'src', `linux-headers-${R13}`);
        fs.mkdirSync(dir, { recursive: true });
        fs.copyFileSync(sample(headersOf, 'vmlinux.btf.xz'), path.join(dir, 'vmlinux'));
      }
      return root;
    };
    const FUTEX = (m: string) => new RegExp(`^btfcheck: dkms ${m} ${escape(R13)}: ${m} \\(${m}\\.ko\\): BTF rejected, errno -22 \\(the module will not load\\): kernel says "distilled base BTF type 'futex_mm_data' \\[\\d+\\] is not mapped to base BTF id"`);

    it('the real DKMS modules built with 7.2.13\'s headers pass for 7.2.13, silently', () => {
      const root = rootWithHeaders('7-dkms-ok', R13);
      for (const m of DKMS) {
        const r = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: m }, { cwd: build(`7-dkms-ok-${m}`, path.join(R13_DKMS, `${m}.ko`)) });
        expect(r, m).toMatchObject({ status: 0, stderr: '' });
      }
    });

    it('built with 7.2.12\'s headers for a 7.2.13 target: the headers line, then the module with the kernel\'s futex_mm_data line; exit 1', () => {
      const root = rootWithHeaders('7-dkms-12', R12);
      for (const m of DKMS) {
        const r = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: m }, { cwd: build(`7-dkms-12-${m}`, path.join(R12_DKMS, `${m}.ko`)) });
        expect(r.status, m).toBe(1);
        expect(r.lines, m).toHaveLength(2);
        expect(r.lines[0]).toBe(`btfcheck: dkms ${m} ${R13}: the headers' BTF (${root}/usr/src/linux-headers-${R13}/vmlinux: sha256 d17e5eb3ccb4bd1b, 119551 types) is not the kernel's (${root}/usr/lib/modules/${R13}/vmlinuz: sha256 66d40f12f4a29865, 118488 types): modules built with these headers are built against another base; install the headers of this very kernel build`);
        expect(r.lines[1]).toMatch(FUTEX(m));
      }
    });

    it('right headers, a module left from 7.2.12: the futex_mm_data line alone; BTFCHECK_FAIL_ON=never reports and passes', () => {
      const root = rootWithHeaders('7-dkms-stale', R13);
      const dir = build('7-dkms-stale', path.join(R12_DKMS, 'vhba.ko'));
      const r = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: 'vhba' }, { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(FUTEX('vhba'));
      const never = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: 'vhba', BTFCHECK_FAIL_ON: 'never' }, { cwd: dir });
      expect(never.status).toBe(0);
      expect(never.lines).toEqual(r.lines);
    });

    it('headers of another build alone (the module relocates) fail only with BTFCHECK_FAIL_ON=mismatch', () => {
      const root = rootWithHeaders('7-dkms-hdr', R12);
      const dir = build('7-dkms-hdr', path.join(R13_DKMS, 'vhba.ko'));
      const r = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: 'vhba' }, { cwd: dir });
      expect(r.status).toBe(0);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(/: the headers' BTF \(.*\) is not the kernel's \(/);
      expect(hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: 'vhba', BTFCHECK_FAIL_ON: 'mismatch' }, { cwd: dir }).status).toBe(1);
    });

    it('a native module (no .BTF.base) built against 7.2.12 is rejected with the kernel\'s BPF: line', () => {
      const root = rootWithHeaders('7-dkms-native', R13);
      const good = build('7-dkms-good', path.join(tree7(R13), 'kernel', 'drivers', 'md', 'dm-zero.ko.xz'));
      expect(hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: 'dm-zero' }, { cwd: good })).toMatchObject({ status: 0, stderr: '' });
      const r = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: root, module: 'dm-zero' }, { cwd: build('7-dkms-bad', dmZero12) });
      expect(r.status).toBe(1);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(new RegExp(`^btfcheck: dkms dm-zero ${escape(R13)}: dm_zero \\(dm-zero\\.ko\\.xz\\): BTF rejected, errno -22 \\(the module will not load\\): kernel says "`));
    });
  });
});
