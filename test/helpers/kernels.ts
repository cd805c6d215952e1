/**
 * Where the real Debian kernel builds are (scripts/fetch-kernels.sh puts them there), and which is
 * whose sibling. Real-data suites call requireKernels(): a missing cache fails the suite, it never
 * turns into a silent skip.
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

export function kernelsRoot(): string {
  return process.env.BTF_KERNELS ?? path.join(os.homedir(), '.cache', 'btf-kernels');
}

/** The cache directory of every build, or an error that says how to make it. */
export function requireKernels(): string {
  const root = kernelsRoot();
  for (const abi of ABIS) {
    if (!fs.existsSync(path.join(root, abi, 'vmlinux.btf'))) {
      throw new Error(`real-kernel data missing: ${path.join(root, abi)} (run scripts/fetch-kernels.sh, or set BTF_KERNELS)`);
    }
  }
  return root;
}

/** Every module file of a build, sorted. */
export function moduleFiles(abi: Abi): string[] {
  const dir = path.join(requireKernels(), abi, 'lib', 'modules', abi);
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
