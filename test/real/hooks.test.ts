/**
 * Issue 8, acceptance 4: the package hooks of samples/hooks/ on the real Debian packages, 7.x as
 * 6.1. The apt Pre-Install-Pkgs hook gets the real .debs (6.x: linux-image-<abi>; 7.x: the
 * linux-binary/linux-modules/linux-base trio); the postinst.d and kernel-install hooks run on the
 * unpacked builds as installed systems (BTFCHECK_ROOT): nothing given but the release.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from '../helpers/cli.js';
import { ABIS_7, AnyAbi, buildLayout, kernelsRoot, moduleFiles, requireKernels } from '../helpers/kernels.js';

const HOOKS = path.join(repoRoot, 'samples', 'hooks');
const root = requireKernels(['6.1.0-47-cloud-amd64', ...ABIS_7]);
const debsDir = path.join(kernelsRoot(), 'debs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-real-hooks-'));

function hook(script: string, args: string[], env: Record<string, string>, input?: string): { status: number | null; lines: string[]; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(path.join(HOOKS, script), args, {
    encoding: 'utf8', input, cwd: tmp, timeout: 300_000,
    env: { ...process.env, BTFCHECK: `${process.execPath} ${cliPath}`, BTFCHECK_FAIL_ON: '', BTFCHECK_VERBOSE: '1', ...env },
  });
  return { status: r.status, lines: r.stderr.split('\n').filter(Boolean), ms: performance.now() - t0 };
}

/** The .debs of a build: linux-image-<abi>-unsigned for 6.x, linux-binary/-modules/-base-<abi> for 7.x. */
function debsOf(abi: AnyAbi): string[] {
  const names = fs.readdirSync(debsDir).filter((f) => f.endsWith('.deb') && (
    f.startsWith(`linux-image-${abi}-unsigned_`) || ['binary', 'modules', 'base'].some((p) => f.startsWith(`linux-${p}-${abi}_`))));
  expect(names.length, `packages of ${abi} in ${debsDir}`).toBe(abi.startsWith('7.') ? 3 : 1);
  return names.map((f) => path.join(debsDir, f));
}

const escape = (s: string) => s.replace(/[.+]/g, '\\$&');
const emptyRoot = path.join(tmp, 'empty-root');
fs.mkdirSync(emptyRoot, { recursive: true });

describe.each(['6.1.0-47-cloud-amd64', ...ABIS_7] as const)('%s', (abi) => {
  const count = moduleFiles(abi).length;

  it('apt Pre-Install-Pkgs with its packages: every module fits the transaction\'s image, exit 0', () => {
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: emptyRoot }, `${debsOf(abi).join('\n')}\n`);
    expect(r.status).toBe(0);
    const image = abi.startsWith('7.') ? `usr/lib/modules/${abi}/vmlinuz` : `boot/vmlinuz-${abi}`;
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(new RegExp(`^btfcheck: ${escape(abi)}: ${count} modules fit base /.*/${escape(image)}$`));
    console.log(`apt hook, ${abi}: ${count} modules, ${Math.round(r.ms)} ms`);
  });

  it('postinst.d on the installed build (release only): found, every module fits, exit 0', () => {
    const r = hook('zy-btfcheck', [abi], { BTFCHECK_ROOT: path.join(root, abi) });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([`btfcheck: ${abi}: ${count} modules fit base ${path.join(root, abi, buildLayout(abi).vmlinuz)}`]);
    console.log(`postinst.d hook, ${abi}: ${Math.round(r.ms)} ms`);
  });
});

describe('7.2.13 with a 7.2.12 module in updates/', () => {
  const R12 = '7.2.12+deb13-cloud-amd64';
  const R13 = '7.2.13+deb14-cloud-amd64';
  const foreign = moduleFiles(R12).find((f) => f.endsWith('/dm-zero.ko.xz'))!;
  const LINE = new RegExp(`^btfcheck: ${escape(R13)}: dm_zero \\(.*/usr/lib/modules/${escape(R13)}/updates/dkms/dm-zero\\.ko\\.xz\\): BTF rejected, errno -22 \\(the module will not load\\): kernel says ".+"`);

  it('the apt transaction of the three 7.2.13 packages fails on the installed DKMS module with one line', () => {
    const sys = path.join(tmp, 'installed-dkms');
    const updates = path.join(sys, 'usr', 'lib', 'modules', R13, 'updates', 'dkms');
    fs.mkdirSync(updates, { recursive: true });
    fs.copyFileSync(foreign, path.join(updates, 'dm-zero.ko.xz'));
    const r = hook('btfcheck-apt-preinstall', [], { BTFCHECK_ROOT: sys, BTFCHECK_VERBOSE: '' }, `${debsOf(R13).join('\n')}\n`);
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(LINE);
  });

  it('kernel-install on the installed tree fails with the same one line', () => {
    // The installed system: the real 7.2.13 image, config and modules, and the foreign module.
    const sys = path.join(tmp, 'installed-ki');
    const tree = path.join(sys, 'usr', 'lib', 'modules', R13);
    fs.cpSync(path.join(root, R13, buildLayout(R13).modules), tree, { recursive: true });
    fs.mkdirSync(path.join(tree, 'updates', 'dkms'), { recursive: true });
    fs.copyFileSync(foreign, path.join(tree, 'updates', 'dkms', 'dm-zero.ko.xz'));
    const r = hook('50-btfcheck.install', ['add', R13, '/boot/efi/entry', path.join(tree, 'vmlinuz')], { BTFCHECK_ROOT: sys, BTFCHECK_VERBOSE: '' });
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(LINE);
  });
});
