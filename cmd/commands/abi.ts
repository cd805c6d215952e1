/**
 * `btfcheck abi --old OLD --new NEW`: are two kernel builds BTF-compatible? Compares the bases, then
 * checks NEW's modules on OLD's kernel (the "ABI-compatible update" a distro ships under one ABI
 * name) and OLD's modules on NEW's kernel, and ends with one verdict line a job can gate on.
 */
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule, Options } from 'yargs';
import {
  AbiModule, abiVerdict, BaseComparison, compareBases, compareSymvers, DirectionSummary, moduleStaysValid,
  parseSymvers, shiftReason, summarizeDirection, Symvers, SymversComparison,
} from '../../lib/abi/index.js';
import type { BaseDiff } from '../../lib/abi/index.js';
import type { KernelSettings } from '../../lib/check.js';
import { escapeStrings } from '../../lib/report/escape.js';
import { toJson } from '../../lib/report/model.js';
import { errorMessage, EXIT_ERROR, EXIT_FAIL, EXIT_OK, UsageError, writeOut } from '../common.js';
import { LoadedBase, loadModule, nodeXzDecoder, readWholeFile, TEXT_INPUT_MAX } from '../io/index.js';
import { maybeDecompress, loadDecoders } from '../../lib/compress/index.js';
import { KernelReport, resolveKernelSettings } from '../kernel-settings.js';
import { loadBaseOrExit, runChecks } from '../run-checks.js';

export interface AbiArgs {
  old: string;
  new: string;
  oldModules?: string[];
  newModules?: string[];
  oldSymvers?: string;
  newSymvers?: string;
  kernel?: string;
  config?: string;
  allowBtfMismatch?: boolean;
  format: 'text' | 'json';
  jobs?: number;
}

export const ABI_OPTIONS = {
  old: { type: 'string', demandOption: true, describe: 'the old build: a base file (vmlinux, vmlinuz, raw BTF), an unpacked kernel package root (boot/vmlinuz-* + lib/modules/*; Debian 7.x: usr/lib/modules/<release>/vmlinuz), or "running"' },
  new: { type: 'string', demandOption: true, describe: 'the new build, as --old' },
  'old-modules': { type: 'string', array: true, describe: 'the old build\'s modules (files or directories; default: lib/modules/<release> or usr/lib/modules/<release> of the package root: kernel/, updates/, extra/)' },
  'new-modules': { type: 'string', array: true, describe: 'the new build\'s modules, as --old-modules' },
  'old-symvers': { type: 'string', describe: 'the old build\'s Module.symvers (plain or .gz/.xz), to compare symbol CRCs' },
  'new-symvers': { type: 'string', describe: 'the new build\'s Module.symvers' },
  kernel: { alias: 'k', type: 'string', describe: 'kernel whose checks to replay on both sides: a series (7.2), a version (5.15.119) or a release (6.8.0-45-generic) (default: each base\'s own release, as its vmlinuz or package names it)' },
  config: { type: 'string', describe: 'kernel .config for CONFIG_MODULE_ALLOW_BTF_MISMATCH on both sides (default: each package root\'s boot/config-<release> or usr/lib/modules/<release>/config, else n)' },
  'allow-btf-mismatch': { type: 'boolean', describe: 'CONFIG_MODULE_ALLOW_BTF_MISMATCH=y on both sides (overrides --config)' },
  format: { alias: 'f', type: 'string', choices: ['text', 'json'], default: 'text', describe: 'report format' },
  jobs: { alias: 'j', type: 'number', describe: 'worker threads for large module trees (default: CPU count)' },
} as const;

export const abiCommand: CommandModule<object, AbiArgs> = {
  command: 'abi',
  describe: 'Are two kernel builds BTF-compatible? Base diff, each build\'s modules on the other\'s kernel, one verdict line',
  builder: (y: Argv) =>
    y
      .options(ABI_OPTIONS as unknown as Record<string, Options>)
      .example('$0 abi --old pkg-6.1.0-47/ --new pkg-6.1.0-56/', 'two unpacked linux-image packages (dpkg -x): bases and module trees found inside')
      .example('$0 abi --old 7.2.12/ --new 7.2.13/', 'Debian 7.x: linux-binary, linux-modules and linux-base of each build unpacked into one directory (usr/lib/modules/<release>/{vmlinuz,config,kernel/})')
      .example('$0 abi --old old/vmlinux --new new/boot/vmlinuz-6.12.117 --new-modules new/lib/modules/6.12.117', 'base files, with module trees given explicitly')
      .example('$0 abi --old A/ --new B/ --old-symvers A/Module.symvers --new-symvers B/Module.symvers', 'also compare symbol CRCs: catches "CRC-compatible but BTF-incompatible"')
      .example('$0 abi --old running --new ./linux-image-unpacked/', 'will the update\'s modules fit the running kernel, and the running modules the update?')
      .example('$0 abi --old A/ --new B/ --format json | jq .verdict', 'JSON for an ABI-tracking job; exit 0 compatible, 1 not, 2 input error')
      .epilogue('Exit status: 0 BTF-compatible, 1 not (a module of one build would be rejected or silently mismatched on the other\'s kernel), 2 usage or input error.') as unknown as Argv<AbiArgs>,
  handler: async (args: ArgumentsCamelCase<AbiArgs>) => {
    process.exitCode = await runAbi(args);
  },
};

/** One build as found on the command line. */
interface Side {
  label: 'old' | 'new';
  basePath: string;
  modulePaths: string[];
  symvers?: string;
  config?: string;
  /** The release a package root names its kernel with (boot/vmlinuz-<release>, usr/lib/modules/<release>/). */
  release?: string;
}

const isDir = (p: string): boolean => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * A file that is there and not a directory. Not only regular files: a FIFO or device named like an
 * image is taken, and the loader refuses it in one line naming it.
 */
const isFile = (p: string): boolean => {
  try {
    return !fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

const listDir = (p: string): string[] => {
  try {
    return fs.readdirSync(p).sort();
  } catch {
    return [];
  }
};

const realPath = (p: string): string => {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
};

/** A kernel found in a package root: base, module trees, .config and symvers. */
export interface PackageRoot {
  basePath: string;
  release: string | null;
  /** The release's module trees (lib/modules/<release>, usr/lib/modules/<release>): kernel/, updates/, extra/. */
  modules: string[];
  config?: string;
  symvers?: string;
}

/** Base files a tree may hold at its top (btfcheck's samples/, the fetch cache): ELF first, it names its release. */
const TOP_BASES = ['vmlinux', 'vmlinux.btf', 'vmlinux.btf.xz', 'vmlinux.btf.zst', 'vmlinux.btf.gz'];

/**
 * Finds the kernel of an unpacked kernel package root (or an installed system's root) in the
 * layouts distributions use:
 * - boot/vmlinuz-<release>, boot/config-<release>, lib/modules/<release>/ (Debian 6.x linux-image-<release>);
 * - usr/lib/modules/<release>/{vmlinuz,config,kernel/,updates/} (Debian 7.x, which splits a kernel into
 *   linux-binary-<release>, linux-modules-<release> and linux-base-<release>, unpacked into one root;
 *   Fedora and Arch also keep the image in the module tree);
 * - a base file at the top (vmlinux, vmlinux.btf[.xz]) beside one release's module tree (samples/).
 */
export function resolvePackageRoot(root: string): PackageRoot {
  const boot = nodePath.join(root, 'boot');
  // Module trees by release; lib/modules and usr/lib/modules once when one links to the other (merged /usr).
  const trees = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const modulesDir of [nodePath.join(root, 'lib', 'modules'), nodePath.join(root, 'usr', 'lib', 'modules')]) {
    for (const release of listDir(modulesDir)) {
      const dir = nodePath.join(modulesDir, release);
      if (!isDir(dir) || seen.has(realPath(dir))) continue;
      seen.add(realPath(dir));
      trees.set(release, [...(trees.get(release) ?? []), dir]);
    }
  }
  // Kernel images by release: boot/ first, then the module tree's own vmlinuz.
  const images = new Map<string, string>();
  for (const f of listDir(boot).filter((n) => /^vmlinu[xz]-/.test(n) && !/\.(old|sig)$/.test(n)).sort((a, b) => (a < b ? 1 : -1))) {
    const release = f.replace(/^vmlinu[xz]-/, '');
    if (!images.has(release) && isFile(nodePath.join(boot, f))) images.set(release, nodePath.join(boot, f));
  }
  for (const [release, dirs] of trees) {
    if (images.has(release)) continue;
    const image = dirs.flatMap((d) => ['vmlinuz', 'vmlinux'].map((n) => nodePath.join(d, n))).find(isFile);
    if (image) images.set(release, image);
  }

  const configOf = (release: string, extra: string[] = []): string | undefined =>
    [nodePath.join(boot, `config-${release}`), ...(trees.get(release) ?? []).map((d) => nodePath.join(d, 'config')), ...extra].find(isFile);
  const symversOf = (release: string): string | undefined =>
    [
      ...[`symvers-${release}.gz`, `symvers-${release}.xz`, `symvers-${release}`].map((f) => nodePath.join(boot, f)),
      ...(trees.get(release) ?? []).flatMap((d) => ['symvers.gz', 'symvers.xz', nodePath.join('build', 'Module.symvers')].map((f) => nodePath.join(d, f))),
    ].find(isFile);

  if (images.size) {
    let release: string;
    if (images.size === 1) release = [...images.keys()][0];
    else {
      // Several kernels in one root: the one that also has a module tree, if that is unambiguous.
      const withModules = [...images.keys()].filter((r) => trees.has(r));
      if (withModules.length !== 1) {
        throw new UsageError(`${root}: several kernels in this directory (${[...images.values()].map((f) => nodePath.relative(root, f)).join(', ')}); pass the base file itself, with --old-modules/--new-modules`);
      }
      release = withModules[0];
    }
    // An image whose name differs from the only module tree's (a renamed image): that tree.
    const modules = trees.get(release) ?? (trees.size === 1 ? [...trees.values()][0] : []);
    return { basePath: images.get(release)!, release, modules, config: configOf(release), symvers: symversOf(release) };
  }

  const top = TOP_BASES.map((n) => nodePath.join(root, n)).find(isFile);
  if (top && trees.size <= 1) {
    const release = trees.size ? [...trees.keys()][0] : null;
    const rootConfig = nodePath.join(root, 'config');
    return {
      basePath: top, release, modules: release ? trees.get(release)! : [],
      config: release ? configOf(release, [rootConfig]) : (isFile(rootConfig) ? rootConfig : undefined),
      symvers: release ? symversOf(release) : undefined,
    };
  }
  if (trees.size) {
    // Modules without their kernel: Debian 7.x's linux-modules-<release> unpacked without linux-binary-<release>.
    const where = [...trees.values()].flat().map((d) => nodePath.relative(root, d)).join(', ');
    throw new UsageError(`${root}: no kernel image for the module tree${trees.size > 1 ? 's' : ''} ${where} (no boot/vmlinuz-<release> or <release>/vmlinuz; Debian 7.x ships it in linux-binary-<release>: unpack that package into the same directory), or pass a base file`);
  }
  throw new UsageError(`${root}: no boot/vmlinuz-*, usr/lib/modules/*/vmlinuz or lib/modules/*/vmlinuz in this directory (not an unpacked kernel package?); pass a base file`);
}

function resolveSide(label: 'old' | 'new', arg: string, modules: string[] | undefined, symvers: string | undefined): Side {
  if (arg === 'running') {
    // The running system: its BTF and, unless given, its installed module tree (the .config is
    // found by the kernel settings: /boot/config-$(uname -r), usr/lib/modules/$(uname -r)/config, /proc/config.gz).
    const tree = [`/lib/modules/${os.release()}`, `/usr/lib/modules/${os.release()}`].find(isDir);
    return { label, basePath: arg, modulePaths: modules ?? (tree ? [tree] : []), symvers, release: os.release() };
  }
  if (!fs.existsSync(arg)) throw new UsageError(`--${label} ${arg}: no such file or directory`);
  if (isDir(arg)) {
    const root = resolvePackageRoot(arg);
    return {
      label, basePath: root.basePath, modulePaths: modules ?? root.modules, symvers: symvers ?? root.symvers,
      config: root.config, release: root.release ?? undefined,
    };
  }
  return { label, basePath: arg, modulePaths: modules ?? [], symvers };
}

/** Reads Module.symvers, plain or compressed (distros ship symvers-<release>.gz / .xz). */
function readSymvers(path: string): Symvers {
  try {
    const { data } = maybeDecompress(readWholeFile(path, TEXT_INPUT_MAX), { xz: nodeXzDecoder, limits: { maxOutput: 4 * TEXT_INPUT_MAX } });
    return parseSymvers(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'));
  } catch (e) {
    throw new UsageError(`${path}: ${errorMessage(e)}`);
  }
}

export interface AbiReport {
  old: SideReport;
  new: SideReport;
  baseDiff: BaseDiff;
  newOnOld: DirectionSummary | null;
  oldOnNew: DirectionSummary | null;
  symvers: SymversComparison | null;
  compatible: boolean;
  verdict: string;
  modules: { newOnOld: AbiModule[]; oldOnNew: AbiModule[] };
}

interface SideReport {
  base: string;
  release: string | null;
  /** This build's kernel as replayed for the other build's modules: version, rules, config read, notes. */
  kernel: KernelReport;
  types: number;
  strLen: number;
  sha256: string;
  modules: string[];
  symvers: string | null;
}

/**
 * One direction: the modules built against `own`, checked on `other`'s kernel, and whether each
 * stays valid (its references mean the same in `other`).
 */
async function direction(side: Side, own: LoadedBase, other: LoadedBase, cmp: BaseComparison, settings: KernelSettings, jobs?: number): Promise<{ summary: DirectionSummary; modules: AbiModule[] }> {
  const { results } = await runChecks(other, side.modulePaths, settings, { diagnose: true, jobs });
  const shift = cmp.diff.kind === 'identical' ? null : shiftReason(own.btf, other.btf);
  const modules: AbiModule[] = [];
  let loadsWithoutBtf = 0;
  for (const r of results.results) {
    const m: AbiModule = {
      file: r.file, module: r.module, status: r.status, kernelAccepted: r.kernel && r.status !== 'no-btf' && r.status !== 'unchecked' ? r.kernel.accepted : null,
      errno: r.kernel && r.status !== 'no-btf' && r.status !== 'unchecked' ? r.kernel.errno : null, staysValid: null, reason: null, error: r.error,
    };
    if (r.kernel && !r.kernel.accepted && r.kernel.loads && r.status === 'rejected') loadsWithoutBtf++;
    if (r.status !== 'no-btf' && r.status !== 'unchecked' && r.status !== 'error') {
      if (cmp.diff.kind === 'identical') m.staysValid = true;
      else if (shift) {
        // A base of another size shifts every module alike: no need to read them again.
        m.staysValid = false;
        m.reason = shift;
      } else {
        try {
          const loaded = await loadModule(r.file);
          const v = moduleStaysValid(loaded.btf!, own.btf, other.btf, cmp.identity, side.label);
          m.staysValid = v.valid;
          m.reason = v.reason;
        } catch (e) {
          m.staysValid = false;
          m.reason = `cannot read its BTF against its own base: ${errorMessage(e)}`;
        }
      }
    }
    modules.push(m);
  }
  return { summary: summarizeDirection({ version: settings.version, allowBtfMismatch: settings.allowBtfMismatch }, modules, loadsWithoutBtf), modules };
}

export async function runAbi(args: AbiArgs): Promise<number> {
  await loadDecoders(); // reading modules and symvers below is synchronous
  const oldSide = resolveSide('old', args.old, args.oldModules, args.oldSymvers);
  const newSide = resolveSide('new', args.new, args.newModules, args.newSymvers);
  if (!!oldSide.symvers !== !!newSide.symvers && (args.oldSymvers || args.newSymvers)) {
    throw new UsageError('give Module.symvers of both builds (--old-symvers and --new-symvers), or of neither');
  }
  // Symbol files first: a bad one is a usage error before any slow work.
  const symvers = oldSide.symvers && newSide.symvers
    ? compareSymvers(readSymvers(oldSide.symvers), readSymvers(newSide.symvers))
    : null;
  const oldBase = await loadBaseOrExit(oldSide.basePath);
  const newBase = await loadBaseOrExit(newSide.basePath);
  if (!oldBase || !newBase) return EXIT_ERROR;
  // Each direction replays the kernel the modules would be loaded into.
  const settingsFor = (side: Side, base: LoadedBase) =>
    resolveKernelSettings(
      { kernel: args.kernel, config: args.config ?? side.config, allowBtfMismatch: args.allowBtfMismatch },
      // A raw-BTF image tells no release; the package's file name does.
      { file: base.file, release: base.release ?? side.release, version: base.version, raw: base.raw },
    );
  const oldResolved = settingsFor(oldSide, oldBase);
  const newResolved = settingsFor(newSide, newBase);
  const oldKernel: KernelSettings = oldResolved.settings;
  const newKernel: KernelSettings = newResolved.settings;

  const cmp = compareBases(oldBase.btf, newBase.btf);
  const newOnOld = newSide.modulePaths.length ? await direction(newSide, newBase, oldBase, cmp, oldKernel, args.jobs) : null;
  const oldOnNew = oldSide.modulePaths.length ? await direction(oldSide, oldBase, newBase, cmp, newKernel, args.jobs) : null;
  const verdict = abiVerdict(cmp.diff, newOnOld?.summary ?? null, oldOnNew?.summary ?? null, symvers);

  const sideReport = (side: Side, base: LoadedBase, kernel: KernelReport): SideReport => ({
    base: base.file, release: base.release ?? side.release ?? null, kernel, types: base.btf.nrTypes, strLen: base.btf.strLen, sha256: base.sha256,
    modules: side.modulePaths, symvers: side.symvers ?? null,
  });
  const report: AbiReport = {
    old: sideReport(oldSide, oldBase, oldResolved.report),
    new: sideReport(newSide, newBase, newResolved.report),
    baseDiff: cmp.diff,
    newOnOld: newOnOld?.summary ?? null,
    oldOnNew: oldOnNew?.summary ?? null,
    symvers,
    compatible: verdict.compatible,
    verdict: verdict.line,
    modules: { newOnOld: newOnOld?.modules ?? [], oldOnNew: oldOnNew?.modules ?? [] },
  };
  await writeOut(args.format === 'json' ? toJson(report) : renderAbiText(report));
  const errors = (report.newOnOld?.errors ?? 0) + (report.oldOnNew?.errors ?? 0);
  if (errors > 0) return EXIT_ERROR;
  return verdict.compatible ? EXIT_OK : EXIT_FAIL;
}

/** Problem modules listed per direction in text before "(+N more)". */
const MAX_LISTED = 10;

/** The text report; every string in it is escaped for a terminal first (lib/report/escape.ts). */
export function renderAbiText(report: AbiReport): string {
  const r = escapeStrings(report);
  const lines: string[] = [];
  const side = (label: string, s: SideReport): string =>
    `${label}: ${s.base}${s.release ? ` (${s.release})` : ''}: ${s.types} types, ${s.strLen} string bytes` +
    (s.modules.length ? `; modules: ${s.modules.join(', ')}` : '; no module tree');
  // Which kernel each side is, and where its CONFIG_MODULE_ALLOW_BTF_MISMATCH came from.
  const kernel = (s: SideReport): string[] => {
    const k = s.kernel;
    const allow = `CONFIG_MODULE_ALLOW_BTF_MISMATCH=${k.allowBtfMismatch ? 'y' : 'n'}`;
    return [
      `  kernel ${k.version}${k.rules !== k.version ? ` (rules of ${k.rules})` : ''} from ${k.versionFrom}; ${k.config ? `${allow} read from ${k.config}` : allow}`,
      ...k.notes.map((n) => `  note: ${n}`),
    ];
  };
  lines.push(side('old', r.old), ...kernel(r.old), side('new', r.new), ...kernel(r.new), '');
  const d = r.baseDiff;
  const where = d.kind === 'identical' ? '' : ` — first divergent type [${d.firstTypeId ?? '-'}], string offset ${d.firstStrOff ?? '-'}`;
  lines.push(`base diff: ${d.kind}${where}`);
  if (d.firstType) lines.push(`  type [${d.firstTypeId}]: old ${d.firstType.old.replace(/^\[\d+\] /, '')}, new ${d.firstType.new.replace(/^\[\d+\] /, '')}`);
  if (d.kind !== 'identical') {
    lines.push(`  named types: ${d.added} added, ${d.removed} removed, ${d.changed} changed`);
    for (const [what, names] of Object.entries(d.examples)) if (names.length) lines.push(`  e.g. ${what}: ${names.slice(0, 6).join(', ')}${names.length > 6 ? ', ...' : ''}`);
  }
  const dir = (label: string, s: DirectionSummary | null, modules: AbiModule[]): void => {
    lines.push('');
    if (!s) {
      lines.push(`${label}: no modules given`);
      return;
    }
    lines.push(`${label} (kernel ${s.kernel.version}, CONFIG_MODULE_ALLOW_BTF_MISMATCH=${s.kernel.allowBtfMismatch ? 'y' : 'n'}): ${s.modules} modules`);
    lines.push(`  kernel: ${s.accepted} BTF accepted, ${s.rejected} rejected${s.loadsWithoutBtf ? ` (${s.loadsWithoutBtf} still load, without BTF)` : ''}, ${s.noBtf} without BTF, ${s.errors} unreadable`);
    lines.push(`  ${s.staysValid} stay valid on the other base; ${s.silentMismatch} accepted but silently mismatched`);
    const bad = modules.filter((m) => m.status === 'error' || m.kernelAccepted === false || m.staysValid === false);
    // A base of another size gives every module the same reason: say it once.
    const shared = bad.length > 1 && bad.every((m) => m.reason === bad[0].reason) ? bad[0].reason : null;
    if (shared) lines.push(`  every module listed: ${shared}`);
    for (const m of bad.slice(0, MAX_LISTED)) {
      const what = m.status === 'error' ? `ERROR ${m.error}` : m.kernelAccepted === false ? `REJECTED errno ${m.errno}` : 'MISMATCH (accepted)';
      lines.push(`  ${what.padEnd(19)} ${m.module ?? '?'}${m.reason && !shared ? `: ${m.reason}` : ''}`);
    }
    if (bad.length > MAX_LISTED) lines.push(`  (+${bad.length - MAX_LISTED} more; --format json lists every module)`);
  };
  dir("NEW's modules on OLD's kernel", r.newOnOld, r.modules.newOnOld);
  dir("OLD's modules on NEW's kernel", r.oldOnNew, r.modules.oldOnNew);
  if (r.symvers) {
    const s = r.symvers;
    lines.push('', `symbol CRCs (Module.symvers): ${s.common} common, ${s.crcChanged} changed, ${s.onlyOld} only old, ${s.onlyNew} only new: ${s.compatible ? 'compatible' : 'incompatible'}`);
    for (const e of s.examples.slice(0, 5)) lines.push(`  ${e}`);
  }
  lines.push('', r.verdict);
  return lines.join('\n') + '\n';
}
