/** Which kernel to emulate: --kernel, else the base's release; ALLOW_BTF_MISMATCH from flags or .config. */
import fs from 'node:fs';
import { errorMessage, UsageError } from './common.js';
import { readTextFile } from './io/index.js';
import { KERNEL_VERSIONS, kernelSeries, KernelVersion } from '../lib/kernel/index.js';
import { KernelSettings } from '../lib/check.js';

export interface KernelArgs {
  kernel?: string;
  config?: string;
  allowBtfMismatch?: boolean;
}

export function resolveKernelSettings(args: KernelArgs, base: { file: string; release?: string; version?: string }): { settings: KernelSettings; versionFrom: string } {
  let version: KernelVersion | undefined;
  let versionFrom: string;
  if (args.kernel) {
    version = kernelSeries(args.kernel);
    if (!version) throw new UsageError(`--kernel ${args.kernel}: supported kernels are ${KERNEL_VERSIONS.join(', ')}`);
    versionFrom = '--kernel';
  } else {
    const release = base.version ?? base.release;
    if (!release) {
      throw new UsageError(`cannot tell which kernel ${base.file} belongs to (raw BTF has no release); pass --kernel ${KERNEL_VERSIONS.join(' or ')}`);
    }
    version = kernelSeries(release);
    if (!version) throw new UsageError(`the base's kernel ${release} is not one btfcheck emulates (${KERNEL_VERSIONS.join(', ')}); pass --kernel to choose the closest`);
    versionFrom = `release ${base.release ?? release}`;
  }
  let allow = false;
  if (args.config) allow = readAllowBtfMismatch(args.config);
  if (args.allowBtfMismatch !== undefined) allow = args.allowBtfMismatch;
  return { settings: { version, allowBtfMismatch: allow }, versionFrom };
}

/** CONFIG_MODULE_ALLOW_BTF_MISMATCH from a kernel .config; absent or "is not set" means n. */
export function readAllowBtfMismatch(configPath: string): boolean {
  let text: string;
  try {
    text = readTextFile(configPath, 'latin1');
  } catch (e) {
    throw new UsageError(`--config ${configPath}: ${errorMessage(e)}`);
  }
  if (!/^CONFIG_[A-Z0-9_]+=/m.test(text) && !/^# CONFIG_/m.test(text)) {
    throw new UsageError(`--config ${configPath}: not a kernel .config (no CONFIG_ lines)`);
  }
  return /^CONFIG_MODULE_ALLOW_BTF_MISMATCH=y\s*$/m.test(text);
}
