/**
 * Where the real Debian kernel builds are (scripts/fetch-kernels.sh puts them there), and which is
 * whose sibling. Real-data suites call requireKernels(): a missing cache fails the suite, it never
 * turns into a silent skip.
 *
 * ABIS are the four 6.x builds (one linux-image package: boot/, lib/modules/<abi>/); ABIS_7 the
 * three Debian 7.x builds (linux-binary + linux-modules + linux-base unpacked into one root:
 * usr/lib/modules/<abi>/{vmlinuz,config,kernel/...}). The path helpers take either.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ABIS = [
  '6.1.0-47-cloud-amd64',
  '6.1.0-56-cloud-amd64',
  '6.12.115+deb12-cloud-amd64',
  '6.12.117+deb12-cloud-amd64',
] as const;
export type Abi = (typeof ABIS)[number];

export const SIBLING: Record<Abi, Abi> = {
  '6.1.0-47-cloud-amd64': '6.1.0-56-cloud-amd64',
  '6.1.0-56-cloud-amd64': '6.1.0-47-cloud-amd64',
  '6.12.115+deb12-cloud-amd64': '6.12.117+deb12-cloud-amd64',
  '6.12.117+deb12-cloud-amd64': '6.12.115+deb12-cloud-amd64',
};

export const SERIES: Record<Abi, '6.1' | '6.12'> = {
  '6.1.0-47-cloud-amd64': '6.1',
  '6.1.0-56-cloud-amd64': '6.1',
  '6.12.115+deb12-cloud-amd64': '6.12',
  '6.12.117+deb12-cloud-amd64': '6.12',
};

/** The Debian 7.x builds: 7.2.12+deb13 and 7.3.4+deb13 from trixie-backports, 7.2.13+deb14 from sid. */
export const ABIS_7 = [
  '7.2.12+deb13-cloud-amd64',
  '7.2.13+deb14-cloud-amd64',
  '7.3.4+deb13-cloud-amd64',
] as const;
export type Abi7 = (typeof ABIS_7)[number];

/** Every build that scripts/fetch-kernels.sh fetches. */
export const ALL_ABIS = [...ABIS, ...ABIS_7] as const;
export type AnyAbi = Abi | Abi7;

/** 7.3.4 is the only 7.3 build: it has no sibling. */
export const SIBLING_7: Record<Abi7, Abi7 | undefined> = {
  '7.2.12+deb13-cloud-amd64': '7.2.13+deb14-cloud-amd64',
  '7.2.13+deb14-cloud-amd64': '7.2.12+deb13-cloud-amd64',
  '7.3.4+deb13-cloud-amd64': undefined,
};

export const SERIES_7: Record<Abi7, '7.2' | '7.3'> = {
  '7.2.12+deb13-cloud-amd64': '7.2',
  '7.2.13+deb14-cloud-amd64': '7.2',
  '7.3.4+deb13-cloud-amd64': '7.3',
};

export function isAbi7(abi: string): abi is Abi7 {
  return (ABIS_7 as readonly string[]).includes(abi);
}

/**
 * Where a build's packaged files are, relative to its root DEST/<abi>/ (also the root that oracle
 * records' module_file is relative to): 6.x boot/ + lib/modules/<abi>, 7.x usr/lib/modules/<abi>.
 */
export function buildLayout(abi: AnyAbi): { vmlinuz: string; config: string; modules: string } {
  if (isAbi7(abi)) {
    const dir = path.join('usr', 'lib', 'modules', abi);
    return { vmlinuz: path.join(dir, 'vmlinuz'), config: path.join(dir, 'config'), modules: dir };
  }
  return { vmlinuz: path.join('boot', `vmlinuz-${abi}`), config: path.join('boot', `config-${abi}`), modules: path.join('lib', 'modules', abi) };
}

export function kernelsRoot(): string {
  return process.env.BTF_KERNELS ?? path.join(os.homedir(), '.cache', 'btf-kernels');
}

/**
 * The cache directory, or an error that says how to make it. Checks the given builds, by default
 * the four 6.x ones (pass ABIS_7 or ALL_ABIS for the 7.x builds).
 */
export function requireKernels(abis: readonly AnyAbi[] = ABIS): string {
  const root = kernelsRoot();
  for (const abi of abis) {
    if (!fs.existsSync(path.join(root, abi, 'vmlinux.btf'))) {
      throw new Error(`real-kernel data missing: ${path.join(root, abi)} (run scripts/fetch-kernels.sh, or set BTF_KERNELS)`);
    }
  }
  return root;
}

/** Every module file of a build, sorted. */
export function moduleFiles(abi: AnyAbi): string[] {
  const dir = path.join(requireKernels([abi]), abi, buildLayout(abi).modules);
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko(\.xz|\.zst|\.gz)?$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The samples/ directory of this checkout. */
export function samplesDir(): string {
  return path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..', '..', 'samples');
}
