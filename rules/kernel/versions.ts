/**
 * A kernel's rule set for module BTF, computed from the list of kernel changes (changes.ts): a
 * baseline (5.10: no module BTF at all) with every change applied whose release, or stable
 * backport, the kernel has, and the user's --rule switches on top. Per-kind checks live in
 * rules/kernel/kinds.ts and read the flags here.
 *
 * Versions: "7.2" (a series: its newest patch level, so every backport to it applies),
 * "5.15.119", "6.1.0" (exact), or a release string ("6.8.0-45-generic", "7.2.13+deb14-cloud-amd64").
 * Debian and Ubuntu ABI names ("6.1.0-47-cloud-amd64") carry ".0" where the real patch level is
 * unknown: they count as the series, and the note says so.
 */
import { KERNEL_CHANGES } from './changes.js';
import type { MutableRules } from './rule-set.js';

export type { InfoLayout, MutableRules, SectionNameRule } from './rule-set.js';

/** A kernel version; patch null = the newest patch level of the series. */
export interface KernelVersionNumber { major: number; minor: number; patch: number | null }

/** Kept as a name for what `--kernel` and the settings carry: any version string parseKernelVersion takes. */
export type KernelVersion = string;

export interface KernelRules extends Readonly<MutableRules> {
  /** The version the rules were computed for, as given ("7.2", "6.1.36"). */
  readonly version: string;
  /** "7.2" */
  readonly series: string;
  /** The change ids in force, in release order (after --rule switches). */
  readonly changes: readonly string[];
  /** --rule switches applied: id → on/off. */
  readonly overrides: Readonly<Record<string, boolean>>;
  /** Kept for the per-kind checks and the log: 6.3+ suppression, read with ALLOW_BTF_MISMATCH. */
  readonly silenceTypeLogsWhenMismatchAllowed: boolean;
  /**
   * What btf_module_notify prints after btf_parse_module fails, and whether the module still
   * loads. `oncePerBoot` lines are pr_warn_once: printed only for the first rejection of a boot.
   */
  rejection(allowBtfMismatch: boolean, moduleName: string, errno: number): { line: string; oncePerBoot: boolean; moduleLoads: boolean };
}

export const MISMATCH_LINE = 'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules';

const failedToValidate = (moduleName: string, errno: number): string =>
  `failed to validate module [${moduleName}] BTF: ${errno}`;

/** 5.10: before module BTF. Every later behaviour is a change applied on top. */
function baseline(): MutableRules {
  return {
    validatesModuleBtf: false, kindMax: 15, infoLayout: 'kind4', logStyle: 'fragment-line',
    allowMismatchConfig: false, typeTagPass: false, tagOrderCheck: false, enumKflag: false,
    ksymNameLen: 128, verifierTmpLogSize: 1024, printkRecordMax: 1024 - 32, quietMismatch: false,
    dotsInNames: false, sectionNameRule: 'identifier', sectionNameEmptyRejected: false,
    readsDistilledBase: false, tagKflag: false, sortedBtf: false, headerSize: 24,
    relocateStringNewline: false, relocateUnsignedIds: false, emptyDatasec: false,
  };
}

// ---- versions ---------------------------------------------------------------------------------

/**
 * Parses what users have: "7.2", "5.15.119", "6.1.0", "6.8.0-45-generic", "7.2.13+deb14-cloud-amd64",
 * "6.11.4-301.fc41.x86_64". An "X.Y.0-N..." release (Debian/Ubuntu ABI naming) does not tell the
 * patch level: it counts as the series, with a note.
 */
export function parseKernelVersion(text: string): { version: KernelVersionNumber; note?: string } | undefined {
  const m = /^\s*v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,5}))?([-+~_][^\s]*)?\s*$/.exec(text);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  let patch: number | null = m[3] === undefined ? null : Number(m[3]);
  let note: string | undefined;
  const suffix = m[4] ?? '';
  if (patch === 0 && suffix.startsWith('-')) {
    patch = null;
    note = `release ${text.trim()} names an ABI, not a patch level: the newest ${major}.${minor} rules were applied`;
  }
  return { version: { major, minor, patch }, note };
}

export function formatVersion(v: KernelVersionNumber): string {
  return v.patch === null ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.patch}`;
}

/** Orders versions; a null patch (newest of the series) sorts after every patch of its series. */
export function compareVersions(a: KernelVersionNumber, b: KernelVersionNumber): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  const pa = a.patch ?? Number.POSITIVE_INFINITY;
  const pb = b.patch ?? Number.POSITIVE_INFINITY;
  return pa === pb ? 0 : pa < pb ? -1 : 1;
}

function mustParse(text: string): KernelVersionNumber {
  const p = parseKernelVersion(text);
  if (!p) throw new Error(`bad kernel version in the rules: ${text}`);
  return p.version;
}

/** Whether a change is in `v`: from its release on, or from a stable backport in that series on. */
export function hasChange(v: KernelVersionNumber, change: { since: string; backports?: string[] }): boolean {
  if (compareVersions(v, { ...mustParse(change.since), patch: 0 }) >= 0) return true;
  for (const b of change.backports ?? []) {
    const bv = mustParse(b);
    if (bv.major === v.major && bv.minor === v.minor && compareVersions(v, bv) >= 0) return true;
  }
  return false;
}

/** The newest release a change entry names: kernels after its series get that rule set and a note. */
export const NEWEST_KNOWN_SERIES: KernelVersionNumber = KERNEL_CHANGES
  .map((c) => ({ ...mustParse(c.since), patch: null }))
  .reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));

/** Series whose rules were checked against real boots (test/fixtures/oracle). */
export const KERNEL_VERSIONS: readonly string[] = ['6.1', '6.12', '7.2', '7.3'];

// ---- rule sets --------------------------------------------------------------------------------

export class UnknownRuleError extends Error {}

const cache = new Map<string, KernelRules>();

/**
 * The rule set of kernel `version` (a string parseKernelVersion takes), with `overrides`
 * (change id → on/off) switched. Throws UnknownRuleError for an unknown change id and Error for
 * a version that does not parse.
 */
export function kernelRules(version: string, overrides: Readonly<Record<string, boolean>> = {}): KernelRules {
  const key = `${version}|${Object.entries(overrides).sort().map(([k, v]) => `${k}=${v}`).join(',')}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const parsed = parseKernelVersion(version);
  if (!parsed) throw new Error(`not a kernel version: ${version}`);
  for (const id of Object.keys(overrides)) {
    if (!KERNEL_CHANGES.some((c) => c.id === id)) throw new UnknownRuleError(`unknown rule ${id} (btfcheck kernels lists them)`);
  }
  const r = baseline();
  const applied: string[] = [];
  for (const change of KERNEL_CHANGES) {
    const on = overrides[change.id] ?? hasChange(parsed.version, change);
    if (!on) continue;
    change.apply(r);
    applied.push(change.id);
  }
  const rules: KernelRules = {
    ...r,
    version,
    series: `${parsed.version.major}.${parsed.version.minor}`,
    changes: applied,
    overrides: { ...overrides },
    silenceTypeLogsWhenMismatchAllowed: r.quietMismatch,
    rejection(allow, name, errno) {
      // Before 5.18 there is no such config: a rejected BTF fails the load.
      const allowed = allow && r.allowMismatchConfig;
      if (allowed && r.quietMismatch) return { line: MISMATCH_LINE, oncePerBoot: true, moduleLoads: true };
      return { line: failedToValidate(name, errno), oncePerBoot: false, moduleLoads: allowed };
    },
  };
  cache.set(key, rules);
  return rules;
}

/** The rule sets of the oracle series, by series (tests and the kernels listing). */
export const KERNEL_RULES: Readonly<Record<string, KernelRules>> = Object.fromEntries(KERNEL_VERSIONS.map((v) => [v, kernelRules(v)]));

/**
 * The series of a kernel release string: '6.1.0-47-cloud-amd64' → '6.1'; undefined when it does
 * not parse as a kernel version.
 */
export function kernelSeries(release: string): string | undefined {
  const p = parseKernelVersion(release);
  return p ? `${p.version.major}.${p.version.minor}` : undefined;
}
