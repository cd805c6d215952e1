/**
 * The package hooks of samples/hooks/ on the real Debian packages (issue 8 acceptance 4, issue 9
 * acceptance 1). The apt Pre-Install-Pkgs hook gets the real .debs (6.x: linux-image-<abi>; 7.x:
 * the linux-binary/linux-modules/linux-base trio); the postinst.d, kernel-install and DKMS hooks run
 * on installed systems made from the unpacked builds (BTFCHECK_ROOT: a scratch root of hard links
 * to the cache), each as its README says.
 *
 * Issue 9, acceptance 1, for 7.2.13, 6.1.0-47 and 6.12.117: a tree with a sibling build's module in
 * updates/ (7.2.12's for 7.2.13; for DKMS the real 7.2.12-built DKMS modules) gives one line naming
 * the release (or package file) and the module; the consistent tree passes; a kernel the hook cannot
 * check (no image, a truncated image) is one line saying why. Debian 7.x kernels are built without
 * CONFIG_MODULE_ALLOW_BTF_MISMATCH: the module will not load, so the default policy (unloadable)
 * fails. Debian 6.1 and 6.12 are built with it: the module loads without BTF, the line is printed
 * and the hook fails with BTFCHECK_FAIL_ON=rejected (the default passes).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from '../helpers/cli.js';
import { ABIS_7, AnyAbi, buildLayout, isAbi7, kernelsRoot, moduleFiles, requireKernels } from '../helpers/kernels.js';

const HOOKS = path.join(repoRoot, 'samples', 'hooks');
const R12 = '7.2.12+deb13-cloud-amd64';
const R13 = '7.2.13+deb14-cloud-amd64';
const root = requireKernels(['6.1.0-47-cloud-amd64', '6.1.0-56-cloud-amd64', '6.12.115+deb12-cloud-amd64', '6.12.117+deb12-cloud-amd64', ...ABIS_7]);
const debsDir = path.join(kernelsRoot(), 'debs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-real-hooks-'));
const DKMS_DIR = path.join(repoRoot, 'test', 'fixtures', 'oracle', 'dkms-modules');
const DKMS = ['acpi_call', 'btfbase_probe', 'dkms_test', 'gost28147_generic', 'kuznyechik_generic', 'vhba'];

let runs = 0;
function hook(script: string, args: string[], env: Record<string, string>, opts: { input?: string; cwd?: string } = {}): { status: number | null; lines: string[]; ms: number } {
  const scratch = path.join(tmp, 'TMPDIR', String(runs++));
  fs.mkdirSync(scratch, { recursive: true });
  const t0 = performance.now();
  const r = spawnSync(path.join(HOOKS, script), args, {
    encoding: 'utf8', input: opts.input, cwd: opts.cwd ?? tmp, timeout: 300_000,
    env: { ...process.env, BTFCHECK: `${process.execPath} ${cliPath}`, BTFCHECK_FAIL_ON: '', BTFCHECK_VERBOSE: '1', BTFCHECK_TIMEOUT: '', TMPDIR: scratch, module: '', ...env },
  });
  // No scratch directory left, none named.
  expect(fs.readdirSync(scratch)).toEqual([]);
  expect(r.stderr).not.toContain(scratch);
  return { status: r.status, lines: r.stderr.split('\n').filter(Boolean), ms: performance.now() - t0 };
}

/** The .debs of a build: linux-image-<abi>-unsigned for 6.x, linux-binary/-modules/-base-<abi> for 7.x. */
function debsOf(abi: AnyAbi): string[] {
  const names = fs.readdirSync(debsDir).filter((f) => f.endsWith('.deb') && (
    f.startsWith(`linux-image-${abi}-unsigned_`) || ['binary', 'modules', 'base'].some((p) => f.startsWith(`linux-${p}-${abi}_`))));
  expect(names.length, `packages of ${abi} in ${debsDir}`).toBe(isAbi7(abi) ? 3 : 1);
  return names.sort().map((f) => path.join(debsDir, f));
}

/** A .deb holding the given files (destination path → source file). */
function deb(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, 'debs', name);
  fs.mkdirSync(path.join(dir, 'DEBIAN'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'DEBIAN', 'control'), `Package: ${name}\nVersion: 1\nArchitecture: amd64\nMaintainer: t <t@example.org>\nDescription: test\n`);
  for (const [dest, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, dest)), { recursive: true });
    fs.copyFileSync(src, path.join(dir, dest));
  }
  const out = path.join(tmp, 'debs', `${name}_1_amd64.deb`);
  const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', dir, out], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return out;
}

/** An installed system: the unpacked build as hard links (nothing in the cache is ever written). */
function installed(name: string, abi: AnyAbi): string {
  const sys = path.join(tmp, name);
  const r = spawnSync('cp', ['-al', path.join(root, abi), sys], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return sys;
}

/** Replaces a (hard-linked) file by a new one: unlink first, so the cache keeps its bytes. */
function replaceFile(file: string, data: Uint8Array): void {
  fs.rmSync(file);
  fs.writeFileSync(file, data);
}

const escape = (s: string) => s.replace(/[.+]/g, '\\$&');
const emptyRoot = path.join(tmp, 'empty-root');
fs.mkdirSync(emptyRoot, { recursive: true });

describe.each(['6.1.0-47-cloud-amd64', '6.12.117+deb12-cloud-amd64', ...ABIS_7] as const)('%s: the consistent build passes', (abi) => {
  const count = moduleFiles(abi).length;

  it('apt Pre-Install-Pkgs with its packages: every module fits the transaction\'s image, named as the package file, exit 0', () => {
    const debs = debsOf(abi);
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, { input: `${debs.join('\n')}\n` });
    expect(r.status).toBe(0);
    const image = `/${buildLayout(abi).vmlinuz}`;
    const imageDeb = path.basename(debs.find((d) => /linux-(image|binary)-/.test(path.basename(d)))!);
    expect(r.lines).toEqual([`btfcheck: ${abi}: ${count} modules fit base ${imageDeb}:${image}`]);
    console.log(`apt hook, ${abi}: ${count} modules, ${Math.round(r.ms)} ms`);
  });

  it('postinst.d on the installed build (release only): found, every module fits, exit 0', () => {
    const r = hook('zy-btfcheck', [abi], { BTFCHECK_ROOT: path.join(root, abi) });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([`btfcheck: ${abi}: ${count} modules fit base ${path.join(root, abi, buildLayout(abi).vmlinuz)}`]);
    console.log(`postinst.d hook, ${abi}: ${Math.round(r.ms)} ms`);
  });
});

/** Each target with a sibling build's module that its kernel rejects. */
const TARGETS = [
  { abi: R13, sibling: R12, loads: false },
  { abi: '6.1.0-47-cloud-amd64', sibling: '6.1.0-56-cloud-amd64', loads: true },
  { abi: '6.12.117+deb12-cloud-amd64', sibling: '6.12.115+deb12-cloud-amd64', loads: true },
] as const;

describe.each(TARGETS)('issue 9 acceptance 1: $abi with a $sibling module in updates/', ({ abi, sibling, loads }) => {
  const layout = buildLayout(abi);
  const modulesDir = `/${layout.modules}`; // /lib/modules/<abi> or /usr/lib/modules/<abi>
  const foreign = moduleFiles(sibling).find((f) => /\/dm-zero\.ko(\.xz)?$/.test(f))!;
  const foreignName = path.basename(foreign);
  const consequence = loads ? '\\(the module loads without BTF\\)' : '\\(the module will not load\\)';
  // A failing hook: exit 1 under the default policy when the module will not load (7.x); on 6.x
  // under BTFCHECK_FAIL_ON=rejected.
  const failEnv: Record<string, string> = loads ? { BTFCHECK_FAIL_ON: 'rejected' } : {};
  const line = (where: string) => new RegExp(`^btfcheck: ${escape(abi)}: dm_zero \\(${escape(where)}\\): BTF rejected, errno -22 ${consequence}: kernel says ".+"`);
  let sys: string;

  beforeAll(() => {
    sys = installed(`installed-${abi}`, abi);
    fs.mkdirSync(path.join(sys, modulesDir, 'updates', 'dkms'), { recursive: true });
    fs.copyFileSync(foreign, path.join(sys, modulesDir, 'updates', 'dkms', foreignName));
  });

  it('apt: the build\'s packages, with the DKMS module installed: one line naming the release and the installed module', () => {
    const only = path.join(tmp, `apt-installed-${abi}`);
    fs.mkdirSync(path.join(only, modulesDir, 'updates', 'dkms'), { recursive: true });
    fs.copyFileSync(foreign, path.join(only, modulesDir, 'updates', 'dkms', foreignName));
    const input = `${debsOf(abi).join('\n')}\n`;
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: only, BTFCHECK_VERBOSE: '', ...failEnv }, { input });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(line(`${only}${modulesDir}/updates/dkms/${foreignName}`));
    if (loads) {
      const dflt = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: only, BTFCHECK_VERBOSE: '' }, { input });
      expect(dflt.status).toBe(0);
      expect(dflt.lines).toEqual(r.lines);
    }
  });

  it('apt: a package bringing the module with the kernel\'s packages: one line naming the package file and the path it installs', () => {
    const pkg = deb(`foreign-dkms-${abi}`, { [`${modulesDir}/updates/dkms/${foreignName}`]: foreign });
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot, BTFCHECK_VERBOSE: '', ...failEnv }, { input: `${[...debsOf(abi), pkg].join('\n')}\n` });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(line(`${path.basename(pkg)}:${modulesDir}/updates/dkms/${foreignName}`));
  });

  it('apt: that package alone, no kernel installed: one line saying where the image was looked for, exit 0', () => {
    const pkg = deb(`foreign-dkms-alone-${abi}`, { [`${modulesDir}/updates/dkms/${foreignName}`]: foreign });
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot, ...failEnv }, { input: `${pkg}\n` });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([`btfcheck: ${abi}: no kernel image in this transaction or installed (looked for ${emptyRoot}/boot/vmlinuz-${abi}, ${emptyRoot}/usr/lib/modules/${abi}/vmlinuz); its modules are not checked`]);
  });

  it('postinst.d and kernel-install on the installed tree: the same one line', () => {
    const want = line(`${sys}${modulesDir}/updates/dkms/${foreignName}`);
    const pi = hook('zy-btfcheck', [abi], { BTFCHECK_ROOT: sys, BTFCHECK_VERBOSE: '', ...failEnv });
    expect(pi.status).toBe(1);
    expect(pi.lines).toHaveLength(1);
    expect(pi.lines[0]).toMatch(want);
    const ki = hook('50-btfcheck.install', ['add', abi, '/boot/efi/entry', path.join(sys, layout.vmlinuz)], { BTFCHECK_ROOT: sys, BTFCHECK_VERBOSE: '', ...failEnv });
    expect(ki.status).toBe(1);
    expect(ki.lines).toEqual(pi.lines);
    console.log(`postinst.d + kernel-install, ${abi} with ${foreignName} from ${sibling}: ${Math.round(pi.ms)} + ${Math.round(ki.ms)} ms`);
  });

  it('postinst.d, kernel-install and DKMS on a truncated image: one line saying why, exit 0', () => {
    const broken = installed(`truncated-${abi}`, abi);
    const image = path.join(broken, layout.vmlinuz);
    replaceFile(image, fs.readFileSync(image).subarray(0, 1 << 20));
    const why = new RegExp(`^btfcheck: ${escape(abi)}: cannot check: ${escape(image)}: \\S.*$`);
    for (const [script, args] of [['zy-btfcheck', [abi]], ['50-btfcheck.install', ['add', abi, '/boot/efi/entry', image]]] as const) {
      const r = hook(script, [...args], { BTFCHECK_ROOT: broken, ...failEnv });
      expect(r.status, script).toBe(0);
      expect(r.lines, script).toHaveLength(1);
      expect(r.lines[0]).toMatch(why);
    }
    const build = path.join(tmp, `dkms-truncated-${abi}`, 'build');
    fs.mkdirSync(build, { recursive: true });
    fs.copyFileSync(foreign, path.join(build, foreignName));
    const d = hook('btfcheck-dkms-post-build', [abi], { BTFCHECK_ROOT: broken, module: 'dm-zero', ...failEnv }, { cwd: build });
    expect(d.status).toBe(0);
    expect(d.lines).toHaveLength(1);
    expect(d.lines[0]).toMatch(new RegExp(`^btfcheck: dkms dm-zero ${escape(abi)}: cannot check: ${escape(image)}: \\S`));
  });

  it('DKMS: the sibling\'s module built for this kernel: one line naming it; the kernel\'s own module passes', () => {
    // linux-headers-<abi>'s BTF-only vmlinux: this build's BTF.
    const hdr = path.join(sys, 'usr', 'src', `linux-headers-${abi}`);
    fs.mkdirSync(hdr, { recursive: true });
    if (!fs.existsSync(path.join(hdr, 'vmlinux'))) fs.copyFileSync(path.join(root, abi, 'vmlinux.btf'), path.join(hdr, 'vmlinux'));
    const bad = path.join(tmp, `dkms-bad-${abi}`, 'build');
    fs.mkdirSync(bad, { recursive: true });
    fs.copyFileSync(foreign, path.join(bad, foreignName));
    const r = hook('btfcheck-dkms-post-build', [abi], { BTFCHECK_ROOT: sys, module: 'dm-zero', BTFCHECK_VERBOSE: '', ...failEnv }, { cwd: bad });
    expect(r.status).toBe(1);
    expect(r.lines, r.lines.join('\n')).toHaveLength(1);
    expect(r.lines[0]).toMatch(new RegExp(`^btfcheck: dkms dm-zero ${escape(abi)}: dm_zero \\(${escape(foreignName)}\\): BTF rejected, errno -22 ${consequence}`));
    const good = path.join(tmp, `dkms-good-${abi}`, 'build');
    fs.mkdirSync(good, { recursive: true });
    const own = moduleFiles(abi).find((f) => /\/dm-zero\.ko(\.xz)?$/.test(f))!;
    fs.copyFileSync(own, path.join(good, path.basename(own)));
    const ok = hook('btfcheck-dkms-post-build', [abi], { BTFCHECK_ROOT: sys, module: 'dm-zero', BTFCHECK_VERBOSE: '', ...failEnv }, { cwd: good });
    expect(ok).toMatchObject({ status: 0, lines: [] });
  });
});

/**
 * Issue 9: DKMS on Debian 7.x. The real DKMS modules (with .BTF.base, built with Debian's own
 * headers) for a 7.2.13 target. linux-headers-<abi>'s BTF-only vmlinux is made from the build's
 * vmlinux with objcopy --only-section=.BTF when objcopy is there (its raw .BTF otherwise).
 */
describe('DKMS POST_BUILD for 7.2.13 with the real DKMS modules', () => {
  let sys: string;
  const headersOf = (abi: string): string => {
    const out = path.join(tmp, `headers-vmlinux-${abi}`);
    if (fs.existsSync(out)) return out;
    const r = spawnSync('objcopy', ['--only-section=.BTF', path.join(root, abi, 'vmlinux'), out], { encoding: 'utf8' });
    if (r.status !== 0) fs.copyFileSync(path.join(root, abi, 'vmlinux.btf'), out);
    return out;
  };
  const withHeaders = (abi: string) => {
    const hdr = path.join(sys, 'usr', 'src', `linux-headers-${R13}`, 'vmlinux');
    fs.mkdirSync(path.dirname(hdr), { recursive: true });
    fs.rmSync(hdr, { force: true });
    fs.copyFileSync(headersOf(abi), hdr);
    return hdr;
  };
  const build = (name: string, kos: string[]): string => {
    const dir = path.join(tmp, 'var-lib-dkms', name, '1.0', 'build');
    fs.mkdirSync(dir, { recursive: true });
    for (const ko of kos) fs.copyFileSync(ko, path.join(dir, path.basename(ko)));
    return dir;
  };
  beforeAll(() => {
    sys = installed('dkms-7', R13);
  });

  it('built with 7.2.13\'s headers: the six modules pass, silently', () => {
    withHeaders(R13);
    const r = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: sys, BTFCHECK_VERBOSE: '' }, { cwd: build('all-13', DKMS.map((m) => path.join(DKMS_DIR, R13, `${m}.ko`))) });
    expect(r).toMatchObject({ status: 0, lines: [] });
    console.log(`dkms hook, six 7.2.13-built modules for 7.2.13: ${Math.round(r.ms)} ms`);
  });

  it.each(DKMS)('built with 7.2.12\'s headers, %s for 7.2.13: the headers line and the kernel\'s futex_mm_data line; the module will not load, exit 1', (m) => {
    const hdr = withHeaders(R12);
    const r = hook('btfcheck-dkms-post-build', [R13], { BTFCHECK_ROOT: sys, BTFCHECK_VERBOSE: '' }, { cwd: build(m, [path.join(DKMS_DIR, R12, `${m}.ko`)]) });
    expect(r.status).toBe(1);
    expect(r.lines).toEqual([
      `btfcheck: dkms ${m}/1.0 ${R13}: the headers' BTF (${hdr}: sha256 d17e5eb3ccb4bd1b, 119551 types) is not the kernel's (${sys}/usr/lib/modules/${R13}/vmlinuz: sha256 66d40f12f4a29865, 118488 types): modules built with these headers are built against another base; install the headers of this very kernel build`,
      expect.stringMatching(new RegExp(`^btfcheck: dkms ${m}/1\\.0 ${escape(R13)}: ${m} \\(${m}\\.ko\\): BTF rejected, errno -22 \\(the module will not load\\): kernel says "distilled base BTF type 'futex_mm_data' \\[\\d+\\] is not mapped to base BTF id"`)),
    ]);
  });
});
