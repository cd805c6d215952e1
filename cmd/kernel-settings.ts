/**
 * Which kernel to emulate, and how it is configured: --kernel, else the base's release (vmlinux
 * banner, bzImage header, the running kernel's uname); the kernel .config from --config, else
 * found beside the base (boot/config-<release>, usr/lib/modules/<release>/config, /boot/config-$(uname -r),
 * /proc/config.gz); --rule switches; and whether that kernel accepts the base's own BTF. Every
 * assumption becomes a note in the report.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import nodePath from 'node:path';
import { errorMessage, UsageError } from './common.js';
import { readWholeFile, TEXT_INPUT_MAX } from './io/index.js';
import { cachedBootParse } from './io/verdict-cache.js';
import { KernelSettings } from '../lib/check.js';
import {
  compareVersions, emulateVmlinuxParse, formatVersion, KERNEL_CHANGES, kernelRules, NEWEST_KNOWN_SERIES, parseKernelVersion,
} from '../lib/kernel/index.js';

export interface KernelArgs {
  kernel?: string;
  config?: string;
  allowBtfMismatch?: boolean;
  /** --rule ID=on|off, repeatable. */
  rule?: string[];
}

/** The kernel part of a report (stable JSON: `kernel`). */
export interface KernelReport {
  /** The kernel version emulated ("7.2.13", "6.1" for a series). */
  version: string;
  /** The version whose rules were applied (the newest known series for a newer kernel). */
  rules: string;
  /** Where the version came from: "--kernel", "release 6.1.0-47-cloud-amd64 (banner: Debian 6.1.170-3)"... */
  versionFrom: string;
  allowBtfMismatch: boolean;
  /** The .config read, or null. */
  config: string | null;
  /** --rule switches in force. */
  overrides: Record<string, boolean>;
  /** Every assumption made, one sentence each. */
  notes: string[];
  /** False when this kernel does not validate module BTF (before 5.11, or no DEBUG_INFO_BTF_MODULES). */
  validatesModuleBtf: boolean;
  /** Set when the kernel rejects the base's own BTF: the errno and the lines printed once at boot. */
  vmlinux: { errno: number; log: string[] } | null;
}

export interface BaseForSettings {
  file: string;
  release?: string;
  version?: string;
  raw?: Uint8Array;
  /** SHA-256 of `raw` (lowercase hex) when the caller has it; computed otherwise. */
  sha256?: string;
  /** false: do not look for a .config beside `file` (explain without a base: `file` is the log). */
  configSearch?: boolean;
  /** A .config that came with the base (in its package): used when --config is not given. */
  packagedConfig?: { file: string; data: Uint8Array };
}

export interface ResolvedKernel {
  settings: KernelSettings;
  report: KernelReport;
  /** Kept for older callers: same as report.versionFrom. */
  versionFrom: string;
}

export function resolveKernelSettings(args: KernelArgs, base: BaseForSettings): ResolvedKernel {
  const notes: string[] = [];
  const overrides = parseRuleSwitches(args.rule ?? []);

  // ---- the version ----
  let versionText: string;
  let versionFrom: string;
  let release = base.release;
  if (args.kernel) {
    versionText = args.kernel;
    versionFrom = '--kernel';
  } else {
    if (!release) {
      const beside = releaseBeside(base.file);
      if (beside) {
        release = beside;
        notes.push(`release ${beside} taken from the tree beside ${base.file}`);
      }
    }
    const fromBanner = base.version && !(release && isAbiName(release) && base.version.endsWith('.0')) ? base.version : undefined;
    if (fromBanner) {
      versionText = fromBanner;
      versionFrom = release && release !== fromBanner ? `release ${release}, version ${fromBanner}` : `release ${fromBanner}`;
    } else if (release) {
      versionText = release;
      versionFrom = `release ${release}`;
    } else {
      throw new UsageError(`cannot tell which kernel ${base.file} belongs to (raw BTF carries no release): pass --kernel (e.g. --kernel 7.2, --kernel 6.1.36, --kernel $(uname -r))`);
    }
  }
  const parsed = parseKernelVersion(versionText);
  if (!parsed) {
    throw new UsageError(args.kernel
      ? `--kernel ${args.kernel}: not a kernel version (give a series such as 7.2, a version such as 5.15.119, or a release such as 6.8.0-45-generic)`
      : `the base's kernel release ${versionText} is not a kernel version: pass --kernel`);
  }
  if (parsed.note) notes.push(parsed.note);
  const version = formatVersion(parsed.version);
  let rulesLabel = version;
  if (compareVersions({ ...parsed.version, patch: 0 }, NEWEST_KNOWN_SERIES) > 0) {
    rulesLabel = formatVersion(NEWEST_KNOWN_SERIES);
    notes.push(`kernel ${version} is newer than the newest rule set btfcheck knows (${rulesLabel}): ${rulesLabel}'s rules were applied`);
  }

  // ---- the config ----
  let configFile: string | null = null;
  let config: KernelConfig | undefined;
  if (args.config) {
    configFile = args.config;
    config = readKernelConfig(args.config, `--config ${args.config}`);
  } else if (base.packagedConfig) {
    configFile = base.packagedConfig.file;
    config = parseKernelConfig(base.packagedConfig.data, configFile);
  } else if (base.configSearch !== false) {
    for (const candidate of configCandidates(base.file, release)) {
      try {
        if (!fs.statSync(candidate).isFile()) continue;
      } catch {
        continue;
      }
      try {
        config = readKernelConfig(candidate, candidate);
        configFile = candidate;
        break;
      } catch (e) {
        notes.push(`${candidate} ignored: ${errorMessage(e)}`);
      }
    }
  }
  let allow = config?.value('CONFIG_MODULE_ALLOW_BTF_MISMATCH') === 'y';
  if (args.allowBtfMismatch !== undefined) {
    allow = args.allowBtfMismatch;
    notes.push(`CONFIG_MODULE_ALLOW_BTF_MISMATCH=${allow ? 'y' : 'n'} from --${allow ? '' : 'no-'}allow-btf-mismatch`);
  } else if (!config) {
    notes.push('no kernel config given or found beside the base: CONFIG_MODULE_ALLOW_BTF_MISMATCH assumed n (--config or --allow-btf-mismatch to say otherwise)');
  }
  // A kernel built without module BTF support ignores a module's .BTF entirely.
  if (config && config.value('CONFIG_DEBUG_INFO_BTF_MODULES') !== 'y' && overrides['module-btf'] === undefined) {
    overrides['module-btf'] = false;
    notes.push(`${configFile}: CONFIG_DEBUG_INFO_BTF_MODULES is not set: the kernel ignores module BTF`);
  }

  let rules;
  try {
    rules = kernelRules(version, overrides);
  } catch (e) {
    throw new UsageError(`--rule: ${errorMessage(e)}`);
  }
  for (const [id, on] of Object.entries(overrides)) {
    if (id === 'module-btf' && !on && config) continue;
    notes.push(`rule ${id} switched ${on ? 'on' : 'off'} by --rule`);
  }
  if (!rules.validatesModuleBtf) {
    notes.push(`kernel ${version} does not validate module BTF: the module loads and its BTF is ignored`);
  } else if (!rules.allowMismatchConfig && allow) {
    notes.push(`kernel ${version} has no CONFIG_MODULE_ALLOW_BTF_MISMATCH (5.18+): a rejected BTF fails the load`);
  }

  // ---- the kernel's own BTF, as it parses it at boot ----
  let vmlinux: KernelReport['vmlinux'] = null;
  if (base.raw && rules.validatesModuleBtf) {
    const raw = base.raw;
    // The same verdict for the same bytes and rules: kept between runs (cmd/io/verdict-cache.ts).
    // node:crypto only for a base given without its digest (loadBase gives one).
    const sha256 = base.sha256 ?? (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(raw).digest('hex');
    const parse = cachedBootParse({ sha256, size: raw.length }, version, overrides, () => emulateVmlinuxParse(raw, { version, rules: overrides }));
    if (parse.errno) {
      vmlinux = parse;
      notes.push(`kernel ${rulesLabel}'s rules reject the base's own BTF (${parse.errno}): such a kernel has no usable BTF, and every module's BTF fails with ${parse.errno} without lines of its own`);
    }
  }

  const settings: KernelSettings = { version, allowBtfMismatch: allow };
  if (Object.keys(overrides).length) settings.rules = overrides;
  if (vmlinux) settings.vmlinuxErrno = vmlinux.errno;
  const report: KernelReport = {
    version, rules: rulesLabel, versionFrom, allowBtfMismatch: allow, config: configFile, overrides, notes,
    validatesModuleBtf: rules.validatesModuleBtf, vmlinux,
  };
  return { settings, report, versionFrom };
}

/** "6.1.0-47-cloud-amd64", "6.8.0-45-generic": Debian/Ubuntu ABI names, where ".0" is no patch level. */
function isAbiName(release: string): boolean {
  return /^\d+\.\d+\.0-/.test(release);
}

/** --rule ID=on|off (also ID, ID=off, ID=y/n/true/false/1/0). */
export function parseRuleSwitches(specs: string[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const spec of specs.flatMap((s) => s.split(','))) {
    const m = /^\s*([a-z0-9-]+)\s*(?:=\s*(on|off|y|n|yes|no|true|false|1|0))?\s*$/i.exec(spec);
    if (!m) throw new UsageError(`--rule ${spec}: expected ID=on or ID=off (btfcheck kernels lists the IDs)`);
    const id = m[1].toLowerCase();
    if (!KERNEL_CHANGES.some((c) => c.id === id)) {
      throw new UsageError(`--rule ${spec}: unknown rule ${id}; known: ${KERNEL_CHANGES.map((c) => c.id).join(', ')}`);
    }
    out[id] = m[2] === undefined || /^(on|y|yes|true|1)$/i.test(m[2]);
  }
  return out;
}

/**
 * The one release under lib/modules or usr/lib/modules beside a base file (a package root, a
 * sample tree): a raw BTF carries no release of its own.
 */
function releaseBeside(baseFile: string): string | undefined {
  const dir = nodePath.dirname(baseFile);
  // usr/lib/modules/<release>/vmlinuz (Debian 7.x): the directory names the release.
  if (nodePath.basename(nodePath.dirname(dir)) === 'modules' && parseKernelVersion(nodePath.basename(dir))) return nodePath.basename(dir);
  const found = new Set<string>();
  for (const modules of [nodePath.join(dir, 'lib', 'modules'), nodePath.join(dir, 'usr', 'lib', 'modules')]) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(modules).filter((n) => parseKernelVersion(n));
    } catch { /* none */ }
    for (const n of names) found.add(n);
  }
  if (found.size === 0) {
    // A lone config-<release> beside it (a boot/ directory, a support bundle), or the base's own
    // name: vmlinux-<release>, <release>.vmlinux.btf.
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch { /* none */ }
    for (const n of names) if (n.startsWith('config-') && parseKernelVersion(n.slice(7))) found.add(n.slice(7));
    if (found.size === 0) {
      const own = /^(?:vmlinu[xz]-)?(\d+\.\d+[^\s/]*?)(?:\.vmlinux|\.btf|\.xz|\.zst|\.gz)*$/.exec(nodePath.basename(baseFile));
      if (own && parseKernelVersion(own[1])) found.add(own[1]);
    }
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/** Where a kernel's .config lives relative to its vmlinuz/vmlinux, in the layouts btfcheck reads. */
function configCandidates(baseFile: string, release: string | undefined): string[] {
  if (baseFile === '/sys/kernel/btf/vmlinux' || baseFile === 'running') {
    return release ? [`/boot/config-${release}`, `/usr/lib/modules/${release}/config`, `/lib/modules/${release}/config`, '/proc/config.gz'] : ['/proc/config.gz'];
  }
  const dir = nodePath.dirname(baseFile);
  const out: string[] = [];
  if (release) {
    out.push(
      nodePath.join(dir, `config-${release}`), // boot/vmlinuz-R beside boot/config-R (6.x packages)
      nodePath.join(dir, 'boot', `config-${release}`), // an unpacked package root holding vmlinux
      nodePath.join(dir, 'usr', 'lib', 'modules', release, 'config'),
      nodePath.join(dir, 'lib', 'modules', release, 'config'),
    );
  }
  // usr/lib/modules/R/vmlinuz beside usr/lib/modules/R/config (Debian 7.x), and sample trees.
  out.push(nodePath.join(dir, 'config'));
  return out;
}

export interface KernelConfig {
  /** One option's value ('n' for "is not set"; the last line for it wins, as in Kconfig), or undefined. */
  value(name: string): string | undefined;
  /** Every option, the whole file parsed (a check needs two: value() reads only those). */
  readonly values: Record<string, string>;
}

/** A kernel .config (plain or gzip, as /proc/config.gz); "# CONFIG_X is not set" reads as n. */
export function readKernelConfig(path: string, label: string): KernelConfig {
  let bytes: Uint8Array;
  try {
    bytes = readWholeFile(path, TEXT_INPUT_MAX);
  } catch (e) {
    throw new UsageError(`${label}: ${errorMessage(e)}`);
  }
  return parseKernelConfig(bytes, label);
}

/** A kernel .config's bytes (plain or gzip); `label` names it in errors. */
export function parseKernelConfig(bytes: Uint8Array, label: string): KernelConfig {
  try {
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const zlib = createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');
      bytes = zlib.gunzipSync(bytes, { maxOutputLength: TEXT_INPUT_MAX });
    }
  } catch (e) {
    throw new UsageError(`${label}: ${errorMessage(e)}`);
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (!/^CONFIG_[A-Z0-9_]+=/m.test(text) && !/^# CONFIG_/m.test(text)) {
    throw new UsageError(`${label}: not a kernel .config (no CONFIG_ lines)`);
  }
  let all: Record<string, string> | undefined;
  return {
    value(name) {
      if (!/^CONFIG_[A-Za-z0-9_]+$/.test(name)) throw new Error(`not a config option name: ${name}`);
      // One search for this option's lines, not a parse of all ~10,000: a third of a millisecond instead of three.
      let found: string | undefined;
      for (const m of text.matchAll(new RegExp(`^(?:${name}=(.*)|# ${name} is not set\\s*)$`, 'gm'))) found = m[1] !== undefined ? m[1].trim() : 'n';
      return found;
    },
    get values() {
      if (!all) {
        // In file order, so the last line for an option wins, as in Kconfig.
        all = {};
        for (const m of text.matchAll(/^(?:(CONFIG_[A-Za-z0-9_]+)=(.*)|# (CONFIG_[A-Za-z0-9_]+) is not set\s*)$/gm)) {
          if (m[1]) all[m[1]] = m[2].trim();
          else all[m[3]] = 'n';
        }
      }
      return all;
    },
  };
}

/** CONFIG_MODULE_ALLOW_BTF_MISMATCH from a kernel .config; absent or "is not set" means n. */
export function readAllowBtfMismatch(configPath: string): boolean {
  return readKernelConfig(configPath, `--config ${configPath}`).value('CONFIG_MODULE_ALLOW_BTF_MISMATCH') === 'y';
}
