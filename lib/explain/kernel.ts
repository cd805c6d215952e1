/**
 * What explain knows about the kernel that printed a log, and what follows from it: which kernel
 * changes (rules/kernel/changes.ts) it has — true, false, or null when neither the options nor the
 * log tell — and whether a module whose BTF it rejected still loaded.
 *
 * The version comes from --kernel, the log's `Linux version` banner or the base's release (the
 * command decides); without one, the log's `BPF:` prefix style dates the kernel: `BPF:` directly
 * followed by text is printed by kernels before 5.17, `BPF: ` and text by 5.17 and later.
 */
import { KERNEL_CHANGES, kernelRules, parseKernelVersion, compareVersions } from '../kernel/index.js';
import type { KernelVersionNumber } from '../../rules/kernel/versions.js';
import { KernelView } from './meaning.js';
import type { LogBanner } from './parse.js';

/** The `BPF:` prefix style a log shows ('mixed': both, e.g. two kernels' logs pasted together). */
export type PrefixStyle = 'fragment-line' | 'prefix-space' | 'mixed';

export interface KernelContext {
  /** The kernel version whose rules apply ("6.1", "5.15.119"); null when not known. */
  version: string | null;
  /** --rule switches. */
  overrides?: Record<string, boolean>;
  /** Where the version came from ("--kernel", "the log's Linux version banner (line 1)"). */
  versionFrom?: string | null;
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH when the config or an option tells; null when not known. */
  allowBtfMismatch: boolean | null;
  /** Where allowBtfMismatch came from. */
  allowFrom?: string | null;
  /** The base's type count, when --base was given. */
  baseTypes?: number | null;
  /** The kernel, as emulated, rejects the base's own BTF: every module fails. */
  vmlinuxRejected?: { errno: number; log: string[] } | null;
  /** The log's prefix style, used when the version is not known. */
  prefixStyle?: PrefixStyle | null;
}

export const NO_KERNEL: KernelContext = { version: null, allowBtfMismatch: null };

function since(change: { since: string }): KernelVersionNumber {
  return { ...parseKernelVersion(change.since)!.version, patch: 0 };
}

const V5_11: KernelVersionNumber = { major: 5, minor: 11, patch: 0 };
const V5_17: KernelVersionNumber = { major: 5, minor: 17, patch: 0 };

/** Whether a kernel in [lo, hi) has `change`: true/false when every such kernel agrees, else null. */
function inRange(id: string, lo: KernelVersionNumber, hi: KernelVersionNumber | null): boolean | null {
  const change = KERNEL_CHANGES.find((c) => c.id === id);
  if (!change) return null;
  const s = since(change);
  if (compareVersions(s, lo) <= 0) return true;
  const backportInRange = (change.backports ?? []).some((b) => {
    const v = parseKernelVersion(b)!.version;
    return compareVersions(v, lo) >= 0 && (hi === null || compareVersions(v, hi) < 0);
  });
  if (hi !== null && compareVersions(s, hi) >= 0 && !backportInRange) return false;
  return null;
}

/** The kernel as far as it is known: `has(changeId)` true/false/null. */
export function kernelView(ctx: KernelContext): KernelView {
  const baseTypes = ctx.baseTypes ?? null;
  if (ctx.version !== null && parseKernelVersion(ctx.version)) {
    let changes: readonly string[];
    try {
      changes = kernelRules(ctx.version, ctx.overrides ?? {}).changes;
    } catch {
      changes = kernelRules(ctx.version).changes;
    }
    return { has: (id) => (KERNEL_CHANGES.some((c) => c.id === id) ? changes.includes(id) : null), label: ctx.version, baseTypes };
  }
  const override = (id: string): boolean | undefined => ctx.overrides?.[id];
  if (ctx.prefixStyle === 'fragment-line') {
    return { has: (id) => override(id) ?? inRange(id, V5_11, V5_17), label: 'before 5.17', baseTypes };
  }
  if (ctx.prefixStyle === 'prefix-space') {
    return { has: (id) => override(id) ?? inRange(id, V5_17, null), label: '5.17 or later', baseTypes };
  }
  return { has: (id) => override(id) ?? null, label: null, baseTypes };
}

/** A kernel context from what the log alone shows: its banner's version, else its prefix style. */
export function kernelFromLog(banner: LogBanner | null, prefixStyle: PrefixStyle | null): KernelContext {
  if (banner) {
    // The banner's upstream version (Debian's "6.1.0-47-cloud-amd64 ... Debian 6.1.170-3": 6.1.170),
    // unless it is only an ABI name's ".0" again.
    const abi = /^\d+\.\d+\.0-/.test(banner.release);
    const text = banner.version && !(abi && banner.version.endsWith('.0')) ? banner.version : banner.release;
    const lead = /^(\d+\.\d+(?:\.\d+)?)/.exec(text);
    const parsed = parseKernelVersion(text) ?? (lead ? parseKernelVersion(lead[1]) : undefined);
    if (parsed) {
      const v = parsed.version;
      const version = v.patch === null ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.patch}`;
      return { version, versionFrom: `the log's Linux version banner (line ${banner.line})`, allowBtfMismatch: null, prefixStyle };
    }
  }
  return { version: null, allowBtfMismatch: null, prefixStyle };
}

/** Whether a module whose BTF was rejected still loaded, and why that follows. */
export interface LoadOutcome {
  loaded: boolean | null;
  why: string;
}

/**
 * What the log and the kernel say about a module's load after its BTF was rejected:
 * `closing` is how the log closed the failure.
 */
export function loadOutcome(closing: 'failed' | 'mismatch-once' | 'none', k: KernelView, ctx: KernelContext, toolLine: string | null): LoadOutcome {
  if (toolLine) return { loaded: false, why: `the load failed: ${toolLine}` };
  if (closing === 'mismatch-once') {
    return { loaded: true, why: 'this line is printed only with CONFIG_MODULE_ALLOW_BTF_MISMATCH=y (6.3+): the module loaded, without BTF' };
  }
  if (closing === 'none') return { loaded: null, why: 'the log does not show how this load ended (no closing line)' };
  const label = k.label ? `kernel ${k.label}` : 'the kernel';
  const from = ctx.allowFrom ? ` (${ctx.allowFrom})` : '';
  if (k.has('quiet-mismatch') === true) {
    if (ctx.allowBtfMismatch === true) {
      return { loaded: false, why: `with CONFIG_MODULE_ALLOW_BTF_MISMATCH=y${from}, ${label} (6.3+) would print one 'Kernel module BTF mismatch detected' line instead of this one: that config is not the running kernel's; as printed, the module did not load` };
    }
    return ctx.allowBtfMismatch === false
      ? { loaded: false, why: `CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set${from}: a rejected BTF fails the load, the module did not load` }
      : { loaded: false, why: `${label} (6.3+) prints 'failed to validate module' only without CONFIG_MODULE_ALLOW_BTF_MISMATCH (with it, one 'Kernel module BTF mismatch detected' line instead): the module did not load` };
  }
  if (k.has('allow-btf-mismatch') === false) {
    return { loaded: false, why: `${label} has no CONFIG_MODULE_ALLOW_BTF_MISMATCH (5.18+): a rejected BTF fails the load, the module did not load` };
  }
  if (ctx.allowBtfMismatch === true) {
    return k.has('allow-btf-mismatch') === true
      ? { loaded: true, why: `CONFIG_MODULE_ALLOW_BTF_MISMATCH=y${from}: ${label} prints the line and loads the module anyway, without BTF` }
      : { loaded: null, why: `CONFIG_MODULE_ALLOW_BTF_MISMATCH=y${from}: the module loaded without BTF if the kernel is 5.18 or later, else it did not load` };
  }
  if (ctx.allowBtfMismatch === false) {
    return { loaded: false, why: `CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set${from}: a rejected BTF fails the load, the module did not load` };
  }
  return {
    loaded: null,
    why: 'the module did not load, unless the kernel is 5.18-6.2 with CONFIG_MODULE_ALLOW_BTF_MISMATCH=y (then it loaded without BTF); --kernel and --config tell',
  };
}
