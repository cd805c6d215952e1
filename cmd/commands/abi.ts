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
  parseSymvers, renderAbiJunit, shiftReason, summarizeDirection, Symvers, SymversComparison,
} from '../../lib/abi/index.js';
import { memberName } from '../../lib/archive/index.js';
import type { BaseDiff } from '../../lib/abi/index.js';
import { errorResult } from '../../lib/check.js';
import type { KernelSettings, ModuleResult } from '../../lib/check.js';
import { escapeStrings } from '../../lib/report/escape.js';
import { toJson } from '../../lib/report/model.js';
import { errorMessage, EXIT_ERROR, EXIT_FAIL, EXIT_OK, printError, UsageError, writeOut } from '../common.js';
import { loadBase, LoadedBase, LoadedModule, loadModule, nodeXzDecoder, readWholeFile, TEXT_INPUT_MAX, walkModulePaths } from '../io/index.js';
import {
  Archive, archiveKindOf, archiveModules, ExtractedKernelFiles, extractKernelFilesIsolated, loadBasesIsolated, makeScratch, openArchive,
  openArchiveChecked, packagesInDirectory,
} from '../io/archives.js';
import { maybeDecompress, loadDecoders } from '../../lib/compress/index.js';
import { KernelReport, resolveKernelSettings } from '../kernel-settings.js';
import { checkLoaded, prepareContext, runChecks } from '../run-checks.js';
import { collectGarbage } from '../io/gc.js';

export interface AbiArgs {
  /** One build: a base file, an unpacked root, 'running', or packages / an initramfs / a directory of packages. */
  old: string | string[];
  new: string | string[];
  oldModules?: string[];
  newModules?: string[];
  oldSymvers?: string;
  newSymvers?: string;
  kernel?: string;
  config?: string;
  allowBtfMismatch?: boolean;
  format: 'text' | 'json' | 'junit';
  jobs?: number;
}

export const ABI_OPTIONS = {
  old: { type: 'string', array: true, demandOption: true, describe: 'the old build: a base file (vmlinux, vmlinuz, raw BTF), an unpacked kernel package root (boot/vmlinuz-* + lib/modules/*; Debian 7.x: usr/lib/modules/<release>/vmlinuz), "running", or packages read in place: .deb / .rpm files (several: one kernel, e.g. Debian 7.x\'s linux-binary, linux-modules and linux-base), a directory of them, an initramfs image (its modules)' },
  new: { type: 'string', array: true, demandOption: true, describe: 'the new build, as --old' },
  'old-modules': { type: 'string', array: true, describe: 'the old build\'s modules (files, directories, packages or initramfs images; default: lib/modules/<release> or usr/lib/modules/<release> of the package root or packages: kernel/, updates/, extra/)' },
  'new-modules': { type: 'string', array: true, describe: 'the new build\'s modules, as --old-modules' },
  'old-symvers': { type: 'string', describe: 'the old build\'s Module.symvers (plain or .gz/.xz), to compare symbol CRCs' },
  'new-symvers': { type: 'string', describe: 'the new build\'s Module.symvers' },
  kernel: { alias: 'k', type: 'string', describe: 'kernel whose checks to replay on both sides: a series (7.2), a version (5.15.119) or a release (6.8.0-45-generic) (default: each base\'s own release, as its vmlinuz or package names it; a raw BTF without one takes the other side\'s)' },
  config: { type: 'string', describe: 'kernel .config for CONFIG_MODULE_ALLOW_BTF_MISMATCH on both sides (default: each side\'s boot/config-<release> or usr/lib/modules/<release>/config, in its root or packages, else n)' },
  'allow-btf-mismatch': { type: 'boolean', describe: 'CONFIG_MODULE_ALLOW_BTF_MISMATCH=y on both sides (overrides --config)' },
  format: { alias: 'f', type: 'string', choices: ['text', 'json', 'junit'], default: 'text', describe: 'report format (junit: one testcase per module and direction, plus the base diff)' },
  jobs: { alias: 'j', type: 'number', min: 1, describe: 'threads for module trees, 1 or more (default: one per CPU on more than two CPUs, else 1)' },
} as const;

export const abiCommand: CommandModule<object, AbiArgs> = {
  command: 'abi',
  describe: 'Are two kernel builds BTF-compatible? Base diff, each build\'s modules on the other\'s kernel, one verdict line',
  builder: (y: Argv) =>
    y
      .options(ABI_OPTIONS as unknown as Record<string, Options>)
      .example('$0 abi --old pkg-6.1.0-47/ --new pkg-6.1.0-56/', 'two unpacked linux-image packages (dpkg -x): bases and module trees found inside')
      .example('$0 abi --old linux-image-6.1.0-47-cloud-amd64-unsigned_6.1.170-3_amd64.deb --new linux-image-6.1.0-56-cloud-amd64-unsigned_6.1.192-2_amd64.deb', 'the packages themselves, read in place (no dpkg)')
      .example('$0 abi --old linux-{binary,modules,base}-7.2.12+deb13-cloud-amd64_*.deb --new debs-7.2.13/', 'Debian 7.x: a kernel is three packages; or a directory holding them')
      .example('$0 abi --old 7.2.12/ --new 7.2.13/', 'Debian 7.x: linux-binary, linux-modules and linux-base of each build unpacked into one directory (usr/lib/modules/<release>/{vmlinuz,config,kernel/})')
      .example('$0 abi --old kernel-core-6.14.rpm kernel-modules-6.14.rpm --new /boot/initramfs-6.15.img linux-6.15/', 'RPMs, and an initramfs\'s modules (reported as IMAGE!path) with the kernel of an unpacked root')
      .example('$0 abi --old old/vmlinux --new new/boot/vmlinuz-6.12.117 --new-modules new/lib/modules/6.12.117', 'base files, with module trees given explicitly')
      .example('$0 abi --old A/ --new B/ --old-symvers A/Module.symvers --new-symvers B/Module.symvers', 'also compare symbol CRCs: catches "CRC-compatible but BTF-incompatible"')
      .example('$0 abi --old running --new ./linux-image-unpacked/', 'will the update\'s modules fit the running kernel, and the running modules the update?')
      .example('$0 abi --old A/ --new B/ --format junit > abi.xml', 'JUnit for CI: the base diff and one testcase per module and direction')
      .example('$0 abi --old A/ --new B/ --format json | jq .verdict', 'JSON for an ABI-tracking job; exit 0 compatible, 1 not, 2 input error')
      .epilogue('Exit status: 0 BTF-compatible, 1 not (a module of one build would be rejected or silently mismatched on the other\'s kernel), 2 usage or input error.') as unknown as Argv<AbiArgs>,
  handler: async (args: ArgumentsCamelCase<AbiArgs>) => {
    process.exitCode = await runAbi(args);
  },
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


/** One build as found on the command line. */
interface Side {
  label: 'old' | 'new';
  /** The file loadBase reads (a scratch copy for a package's image). */
  basePath: string;
  /** Module trees and files (walked) and archives (streamed). */
  modulePaths: string[];
  archives: Archive[];
  /** Only modules of this release are read from the archives (null: all). */
  archiveRelease: string | null;
  symvers?: string;
  config?: string;
  /** The release a package root names its kernel with (boot/vmlinuz-<release>, usr/lib/modules/<release>/). */
  release?: string;
  /** What the report lists as this side's modules: trees as given, packages and images. */
  moduleSources: string[];
  /** Module entries of other releases' trees skipped in the packages. */
  skipped: { count: number };
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

/**
 * Scratch paths (a package's image, config and symvers written out for the loaders) and the names
 * reports show for them (`PKG!path/inside`).
 */
class Names {
  private readonly map = new Map<string, string>();
  set(scratch: string, shown: string): void {
    this.map.set(scratch, shown);
  }
  /** A path or a sentence with scratch paths in it, as the user should read it. */
  show(text: string): string;
  show(text: string | null): string | null;
  show(text: string | null): string | null {
    if (text === null) return null;
    let out = text;
    for (const [scratch, shown] of this.map) if (out.includes(scratch)) out = out.split(scratch).join(shown);
    return out;
  }
}

/** A directory that is not a kernel root but holds packages (`--old debs-7.2.12/`). */
function packageDirectory(p: string): string[] | null {
  if (!isDir(p)) return null;
  const pkgs = packagesInDirectory(p);
  if (!pkgs.length) return null;
  const layout = ['boot', 'lib', 'usr', ...TOP_BASES].some((n) => fs.existsSync(nodePath.join(p, n)));
  return layout ? null : pkgs;
}

/**
 * One side from its arguments: 'running', an unpacked root or base file, and/or packages and
 * images (read in place). A package side's kernel files (image, config, symvers; a headers
 * package's vmlinux) are written to a private scratch root in their package layout and found there
 * as in an unpacked root; its modules are streamed from the packages later, one at a time.
 */
async function resolveSide(label: 'old' | 'new', given: string[], modules: string[] | undefined, symvers: string | undefined, scratch: string, names: Names, opened: Archive[]): Promise<Side> {
  const items: string[] = [];
  for (const arg of given) items.push(...(arg === 'running' ? [arg] : packageDirectory(arg) ?? [arg]));
  const archivePaths: string[] = [];
  const others: string[] = [];
  for (const p of items) {
    if (p !== 'running' && !fs.existsSync(p)) throw new UsageError(`--${label} ${p}: no such file or directory`);
    if (p !== 'running' && !isDir(p) && archiveKindOf(p)) archivePaths.push(p);
    else others.push(p);
  }
  if (others.length > 1) {
    throw new UsageError(`--${label}: ${others.join(', ')}: give one base file or unpacked root per build (packages and images may be added: .deb, .rpm, initramfs)`);
  }
  const archives: Archive[] = [];
  for (const p of archivePaths) {
    try {
      const a = await openArchive(p, archiveKindOf(p)!);
      archives.push(a);
      opened.push(a);
    } catch (e) {
      throw new UsageError(`${p}: ${errorMessage(e)}`);
    }
  }
  const explicit = modules !== undefined;
  const side: Side = {
    label, basePath: '', modulePaths: modules ?? [], archives: [], archiveRelease: null, symvers, moduleSources: modules ? [...modules] : [],
    skipped: { count: 0 },
  };
  // --old-modules / --new-modules may name packages and images too.
  if (explicit) {
    side.modulePaths = [];
    for (const m of modules!) {
      const kind = !isDir(m) && fs.existsSync(m) ? archiveKindOf(m) : undefined;
      if (!kind) {
        side.modulePaths.push(...(packageDirectory(m) ? [] : [m]));
        for (const pkg of packageDirectory(m) ?? []) side.archives.push(await openModulesArchive(pkg, opened));
        continue;
      }
      side.archives.push(await openModulesArchive(m, opened));
    }
  }

  if (others.length === 1) {
    const arg = others[0];
    if (arg === 'running') {
      // The running system: its BTF and, unless given, its installed module tree (the .config is
      // found by the kernel settings: /boot/config-$(uname -r), usr/lib/modules/$(uname -r)/config, /proc/config.gz).
      const tree = [`/lib/modules/${os.release()}`, `/usr/lib/modules/${os.release()}`].find(isDir);
      Object.assign(side, { basePath: arg, release: os.release() });
      if (!explicit && tree) { side.modulePaths.push(tree); side.moduleSources.push(tree); }
    } else if (isDir(arg)) {
      const root = resolvePackageRoot(arg);
      Object.assign(side, { basePath: root.basePath, config: root.config, release: root.release ?? undefined });
      side.symvers ??= root.symvers;
      if (!explicit) { side.modulePaths.push(...root.modules); side.moduleSources.push(...root.modules); }
    } else {
      side.basePath = arg;
    }
    if (!explicit) {
      side.archives.push(...archives);
      side.moduleSources.push(...archives.map((a) => a.file));
    }
    return side;
  }
  if (!archives.length) throw new UsageError(`--${label}: nothing given`);

  // Packages only: their kernel files into a scratch root, found there as in an unpacked root.
  const root = nodePath.join(scratch, label);
  fs.mkdirSync(root, { mode: 0o700 });
  let files: ExtractedKernelFiles;
  try {
    files = await extractKernelFilesIsolated(archives.map((a) => a.file), root);
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
  let headersVmlinux: string | undefined;
  for (const f of files.files) {
    names.set(f.written, memberName(f.archive, f.path));
    if (f.role === 'headers-vmlinux' && !headersVmlinux) headersVmlinux = f.written;
  }
  for (const release of files.moduleReleases) {
    if (release) fs.mkdirSync(nodePath.join(root, 'usr', 'lib', 'modules', release), { recursive: true, mode: 0o700 });
  }
  if (headersVmlinux && !fs.existsSync(nodePath.join(root, 'vmlinux'))) {
    fs.symlinkSync(headersVmlinux, nodePath.join(root, 'vmlinux'));
    names.set(nodePath.join(root, 'vmlinux'), names.show(headersVmlinux));
  }
  names.set(root + nodePath.sep, `${archives.map((a) => a.file).join(' + ')}: `);
  let pkgRoot: PackageRoot;
  try {
    pkgRoot = resolvePackageRoot(root);
  } catch (e) {
    const what = archives.map((a) => a.file).join(', ');
    throw new UsageError(`--${label} ${what}: ${files.files.length || files.moduleReleases.length
      ? 'no kernel image (boot/vmlinuz-*, usr/lib/modules/*/vmlinuz) or headers vmlinux (usr/src/linux-headers-*/vmlinux) in these packages; add the package that holds it (Debian 7.x: linux-binary-<release>) or pass a base file'
      : names.show(errorMessage(e))}`);
  }
  Object.assign(side, { basePath: pkgRoot.basePath, config: pkgRoot.config, release: pkgRoot.release ?? undefined, archiveRelease: pkgRoot.release });
  side.symvers ??= pkgRoot.symvers;
  if (!explicit) {
    side.archives.push(...archives);
    side.moduleSources.push(...archives.map((a) => a.file));
  }
  return side;
}

async function openModulesArchive(p: string, opened: Archive[]): Promise<Archive> {
  try {
    const a = await openArchiveChecked(p);
    opened.push(a);
    return a;
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
}

/** Reads Module.symvers, plain or compressed (distros ship symvers-<release>.gz / .xz). */
function readSymvers(path: string, shown: string): Symvers {
  try {
    const { data } = maybeDecompress(readWholeFile(path, TEXT_INPUT_MAX), { xz: nodeXzDecoder, limits: { maxOutput: 4 * TEXT_INPUT_MAX } });
    return parseSymvers(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'));
  } catch (e) {
    throw new UsageError(`${shown}: ${errorMessage(e)}`);
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
  /** Module trees, packages and images read for this build. */
  modules: string[];
  symvers: string | null;
}

/** Module loads kept in flight while checking: xz modules decode on libuv's pool meanwhile. */
const IN_FLIGHT = 16;
/** Files per runChecks call when checking a tree on worker threads (-j 2 or more). */
const WORKER_CHUNK = 512;
/** Kernel log lines kept per module (for JUnit and JSON); the full log is `check`'s job. */
const LOG_LINES = 4;

function defaultJobs(): number {
  const cores = os.availableParallelism();
  return cores > 2 ? cores : 1;
}

/** A module to check: its report name and its load, started. */
interface Item {
  file: string;
  loaded: Promise<LoadedModule> | null;
  /** Set instead of `loaded` for an entry that could not be listed. */
  error?: string;
}

/** The modules of a side as one stream: trees walked, packages and images read, each load started. */
async function* sideModules(side: Side): AsyncGenerator<Item> {
  for (const entry of walkModulePaths(side.modulePaths)) {
    if (entry.error !== undefined) yield { file: entry.file, loaded: null, error: entry.error };
    else {
      const loaded = loadModule(entry.file);
      loaded.catch(() => undefined);
      yield { file: entry.file, loaded };
    }
  }
  for (const a of side.archives) {
    try {
      yield* archiveModules(a, { release: side.archiveRelease, skipped: side.skipped });
    } catch (e) {
      yield { file: a.file, loaded: null, error: errorMessage(e) };
    }
  }
}

/**
 * One direction: the modules built against `own`, checked on `other`'s kernel, and whether each
 * stays valid (its references mean the same in `other`). Streamed: each module is loaded, checked
 * and reduced to its line of the report before the next ones, so memory holds a window of modules,
 * never a tree's results.
 */
async function direction(side: Side, own: LoadedBase, other: LoadedBase, cmp: BaseComparison, settings: KernelSettings, jobs: number): Promise<{ summary: DirectionSummary; modules: AbiModule[] }> {
  const shift = cmp.diff.kind === 'identical' ? null : shiftReason(own.btf, other.btf);
  const modules: AbiModule[] = [];
  let loadsWithoutBtf = 0;
  const reduce = async (r: ModuleResult, btf: () => Promise<Uint8Array | undefined>): Promise<void> => {
    const verdict = r.kernel && r.status !== 'no-btf' && r.status !== 'unchecked' ? r.kernel : null;
    const m: AbiModule = {
      file: r.file, module: r.module, status: r.status, kernelAccepted: verdict ? verdict.accepted : null,
      errno: verdict ? verdict.errno : null, staysValid: null, reason: null, error: r.error,
      loads: r.kernel ? r.kernel.loads : null, log: verdict ? verdict.log.slice(0, LOG_LINES) : [],
    };
    if (r.kernel && !r.kernel.accepted && r.kernel.loads && r.status === 'rejected') loadsWithoutBtf++;
    if (r.status !== 'no-btf' && r.status !== 'unchecked' && r.status !== 'error') {
      if (cmp.diff.kind === 'identical') m.staysValid = true;
      else if (shift) {
        // A base of another size shifts every module alike: no need to look at its references.
        m.staysValid = false;
        m.reason = shift;
      } else {
        try {
          const v = moduleStaysValid((await btf())!, own.btf, other.btf, cmp.identity, side.label);
          m.staysValid = v.valid;
          m.reason = v.reason;
        } catch (e) {
          m.staysValid = false;
          m.reason = `cannot read its BTF against its own base: ${errorMessage(e)}`;
        }
      }
    }
    modules.push(m);
    if (modules.length % GC_EVERY === 0) collectGarbage();
  };

  if (jobs > 1 && side.modulePaths.length) {
    // Worker threads for the trees (more than two CPUs): runChecks a chunk at a time, reduced as it comes.
    const files: string[] = [];
    for (const entry of walkModulePaths(side.modulePaths)) {
      if (entry.error !== undefined) {
        printError(entry.file, entry.error);
        await reduce(errorResult(entry.file, entry.error), async () => undefined);
      } else files.push(entry.file);
    }
    for (let i = 0; i < files.length; i += WORKER_CHUNK) {
      const { results } = await runChecks(other, files.slice(i, i + WORKER_CHUNK), settings, { diagnose: true, jobs, progress: false });
      for (const r of results.results) await reduce(r, async () => (await loadModule(r.file)).btf);
    }
  }
  // The kernel's verdict first; btfcheck's own diagnosis only for a module the kernel accepts (it
  // tells 'accepted' from a silent 'mismatch'): a rejected module's diagnosis would be thrown away.
  const verdictOnly = await prepareContext({ basePath: other.file, kernel: settings, diagnose: false, candidatePaths: [] }, other);
  const full = await prepareContext({ basePath: other.file, kernel: settings, diagnose: true, candidatePaths: [] }, other);
  const window: Item[] = [];
  const settle = async (item: Item): Promise<void> => {
    if (!item.loaded) {
      printError(item.file, item.error ?? 'error');
      await reduce(errorResult(item.file, item.error ?? 'error'), async () => undefined);
      return;
    }
    let r = await checkLoaded(item.file, item.loaded, verdictOnly);
    if (r.status === 'accepted') r = await checkLoaded(item.file, item.loaded, full);
    if (r.status === 'error') printError(r.file, r.error ?? 'error');
    await reduce(r, async () => (await item.loaded!).btf);
  };
  const stream = jobs > 1 ? archiveItems(side) : sideModules(side);
  for await (const item of stream) {
    window.push(item);
    if (window.length >= IN_FLIGHT) await settle(window.shift()!);
  }
  while (window.length) await settle(window.shift()!);
  return { summary: summarizeDirection({ version: settings.version, allowBtfMismatch: settings.allowBtfMismatch }, modules, loadsWithoutBtf), modules };
}

/** Only the packages' and images' modules (the trees went to worker threads). */
async function* archiveItems(side: Side): AsyncGenerator<Item> {
  yield* sideModules({ ...side, modulePaths: [] });
}

/** Modules checked between full collections (see collectGarbage). */
const GC_EVERY = 128;

// collectGarbage (cmd/io/gc.ts) runs between the phases (bases loaded, bases compared, one
// direction done) and every GC_EVERY modules: on the 7.2 pair the peak was ~290 MiB without, ~245
// MiB with (live data stays under 60 MiB).

export async function runAbi(args: AbiArgs): Promise<number> {
  await loadDecoders(); // reading modules and symvers below is synchronous
  const scratch = makeScratch();
  const opened: Archive[] = [];
  try {
    return await abi(args, scratch.dir, opened);
  } finally {
    for (const a of opened) a.close();
    scratch.remove();
  }
}

const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

async function abi(args: AbiArgs, scratch: string, opened: Archive[]): Promise<number> {
  const names = new Names();
  const oldSide = await resolveSide('old', list(args.old), args.oldModules, args.oldSymvers, scratch, names, opened);
  const newSide = await resolveSide('new', list(args.new), args.newModules, args.newSymvers, scratch, names, opened);
  if (!!oldSide.symvers !== !!newSide.symvers && (args.oldSymvers || args.newSymvers)) {
    throw new UsageError('give Module.symvers of both builds (--old-symvers and --new-symvers), or of neither');
  }
  // Symbol files first: a bad one is a usage error before any slow work.
  const symvers = oldSide.symvers && newSide.symvers
    ? compareSymvers(readSymvers(oldSide.symvers, names.show(oldSide.symvers)), readSymvers(newSide.symvers, names.show(newSide.symvers)))
    : null;
  collectGarbage(); // what reading the packages' kernel files left
  // Both bases on a worker thread that ends before the comparison: what decoding a vmlinuz leaves
  // behind goes with it (cmd/io/archives.ts, loadBasesIsolated).
  const loaded = await loadBasesIsolated([oldSide.basePath, newSide.basePath]);
  const bases: LoadedBase[] = [];
  for (const [i, side] of [oldSide, newSide].entries()) {
    const b = loaded[i];
    if (b instanceof Error) {
      printError(names.show(side.basePath), errorMessage(b));
      return EXIT_ERROR;
    }
    bases.push({ ...b, file: names.show(b.file) });
  }
  const [oldBase, newBase] = bases;
  collectGarbage();
  // Each direction replays the kernel the modules would be loaded into.
  const settingsFor = (side: Side, base: LoadedBase, other: { side: Side; base: LoadedBase }) => {
    const kernelArgs = { kernel: args.kernel, config: args.config ?? side.config, allowBtfMismatch: args.allowBtfMismatch };
    // A raw-BTF image tells no release; the package's file name does. The search for a .config beside
    // the base looks at the real file (a package's scratch copy), not at the name shown.
    const file = side.basePath === 'running' ? base.file : side.basePath;
    let resolved;
    try {
      resolved = resolveKernelSettings(kernelArgs, { file, release: base.release ?? side.release, version: base.version, raw: base.raw });
    } catch (e) {
      // A raw BTF with no release anywhere near it: the other build's kernel, said so.
      const release = other.base.release ?? other.side.release;
      if (!(e instanceof UsageError) || args.kernel || (!release && !other.base.version)) throw e;
      resolved = resolveKernelSettings(kernelArgs, { file, release, version: other.base.version, raw: base.raw });
      resolved.report.notes.unshift(`${base.file} is raw BTF and tells no release: assumed the ${other.side.label} build's kernel, ${release ?? other.base.version} (--kernel to say otherwise)`);
    }
    resolved.report.config = names.show(resolved.report.config);
    resolved.report.versionFrom = names.show(resolved.report.versionFrom);
    resolved.report.notes = resolved.report.notes.map((n) => names.show(n));
    if (!resolved.report.config && args.config === undefined && args.allowBtfMismatch === undefined) {
      const where = side.archives.length && !side.modulePaths.length ? 'in its packages' : 'beside its base';
      const note = `${side.label} build: no kernel .config ${where}: CONFIG_MODULE_ALLOW_BTF_MISMATCH assumed n (--config or --allow-btf-mismatch to say otherwise)`;
      resolved.report.notes = [note, ...resolved.report.notes.filter((n) => !n.startsWith('no kernel config given or found beside the base'))];
    }
    return resolved;
  };
  const oldResolved = settingsFor(oldSide, oldBase, { side: newSide, base: newBase });
  const newResolved = settingsFor(newSide, newBase, { side: oldSide, base: oldBase });
  const oldKernel: KernelSettings = oldResolved.settings;
  const newKernel: KernelSettings = newResolved.settings;

  const cmp = compareBases(oldBase.btf, newBase.btf);
  collectGarbage();
  const jobs = Math.max(1, args.jobs ?? defaultJobs());
  const hasModules = (s: Side): boolean => s.modulePaths.length > 0 || s.archives.length > 0;
  const newOnOld = hasModules(newSide) ? await direction(newSide, newBase, oldBase, cmp, oldKernel, jobs) : null;
  collectGarbage();
  const oldOnNew = hasModules(oldSide) ? await direction(oldSide, oldBase, newBase, cmp, newKernel, jobs) : null;
  for (const [side, resolved] of [[oldSide, oldResolved], [newSide, newResolved]] as const) {
    if (side.skipped.count) resolved.report.notes.push(`${side.skipped.count} modules of other releases' trees in the ${side.label} packages were not read (this build is ${side.archiveRelease})`);
  }
  const verdict = abiVerdict(cmp.diff, newOnOld?.summary ?? null, oldOnNew?.summary ?? null, symvers);

  const sideReport = (side: Side, base: LoadedBase, kernel: KernelReport): SideReport => ({
    base: base.file, release: base.release ?? side.release ?? null, kernel, types: base.btf.nrTypes, strLen: base.btf.strLen, sha256: base.sha256,
    modules: side.moduleSources, symvers: side.symvers ? names.show(side.symvers) : null,
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
  await writeOut(args.format === 'json' ? toJson(report) : args.format === 'junit' ? renderAbiJunit(report) : renderAbiText(report));
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
  if (d.firstTypeDetail) {
    const t = d.firstTypeDetail;
    lines.push(`  type [${d.firstTypeId}]: old ${t.old.chain}`, `  ${' '.repeat(String(d.firstTypeId).length + 7)}new ${t.new.chain}`, `  differs: ${t.differs}`);
  } else if (d.firstType) lines.push(`  type [${d.firstTypeId}]: old ${d.firstType.old.replace(/^\[\d+\] /, '')}, new ${d.firstType.new.replace(/^\[\d+\] /, '')}`);
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
