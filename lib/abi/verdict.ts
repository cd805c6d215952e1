/**
 * The two-build verdict: the base diff, the two directions of the module matrix (NEW's modules on
 * OLD's kernel — the "ABI-compatible update" case — and OLD's modules on NEW's kernel), and one
 * line a job can gate on.
 */
import type { ModuleStatus } from '../check.js';
import type { BaseDiff } from './base-diff.js';
import type { SymversComparison } from './symvers.js';

/** One module of one direction. */
export interface AbiModule {
  file: string;
  module: string | null;
  /** btfcheck's check status against the other build's base. */
  status: ModuleStatus;
  /** The emulated kernel's verdict on its BTF (null: no BTF or unreadable). */
  kernelAccepted: boolean | null;
  errno: number | null;
  /** Whether every base id and offset it uses means the same in the other base (null: no BTF). */
  staysValid: boolean | null;
  reason: string | null;
  error: string | null;
  /** Whether the module itself loads on that kernel (with or without its BTF); null when unreadable. */
  loads?: boolean | null;
  /** The first lines the kernel prints for it (what `check` shows in full). */
  log?: string[];
}

export interface DirectionSummary {
  /** The kernel emulated for this direction. */
  kernel: { version: string; allowBtfMismatch: boolean };
  modules: number;
  /** Kernel verdicts: BTF accepted, BTF rejected (of those, how many still load), no .BTF, unreadable. */
  accepted: number;
  rejected: number;
  loadsWithoutBtf: number;
  noBtf: number;
  errors: number;
  /** Modules whose references all mean the same in the other base. */
  staysValid: number;
  /** Accepted by the kernel but not valid: BTF that silently describes the wrong types. */
  silentMismatch: number;
}

export function summarizeDirection(kernel: DirectionSummary['kernel'], modules: AbiModule[], loadsWithoutBtf: number): DirectionSummary {
  const s: DirectionSummary = {
    kernel, modules: modules.length, accepted: 0, rejected: 0, loadsWithoutBtf, noBtf: 0, errors: 0, staysValid: 0, silentMismatch: 0,
  };
  for (const m of modules) {
    if (m.status === 'error') s.errors++;
    else if (m.status === 'no-btf' || m.status === 'unchecked') s.noBtf++;
    else if (m.kernelAccepted) s.accepted++;
    else s.rejected++;
    if (m.staysValid) s.staysValid++;
    if (m.kernelAccepted && m.staysValid === false) s.silentMismatch++;
  }
  return s;
}

export interface AbiVerdict {
  compatible: boolean;
  /** One line: `BTF-COMPATIBLE: ...` or `BTF-INCOMPATIBLE: ...`. */
  line: string;
}

function describeDiff(d: BaseDiff): string {
  switch (d.kind) {
    case 'identical': return 'bases identical';
    case 'permuted': return 'bases hold the same types in a different order (non-reproducible build)';
    case 'appended': return `new base appends ${d.new.types - d.old.types} types and ${d.new.strLen - d.old.strLen} string bytes`;
    default: return `bases changed from type [${d.firstTypeId}] and string offset ${d.firstStrOff} (named types: +${d.added} -${d.removed} ~${d.changed})`;
  }
}

function describeDirection(label: string, s: DirectionSummary): string {
  const parts = [`${s.rejected} rejected`];
  if (s.silentMismatch) parts.push(`${s.silentMismatch} silently mismatched`);
  parts.push(`${s.accepted - s.silentMismatch} valid of ${s.modules}`);
  if (s.errors) parts.push(`${s.errors} unreadable`);
  return `${label}: ${parts.join(', ')}`;
}

const directionOk = (s: DirectionSummary | null): boolean => !s || (s.rejected === 0 && s.silentMismatch === 0);

/**
 * Compatible when no module of either build would be rejected or silently mismatched on the other
 * build's kernel. Without module trees only identical bases are known to be compatible: every module
 * defines types after the base, so any other change can shift it.
 */
export function abiVerdict(diff: BaseDiff, newOnOld: DirectionSummary | null, oldOnNew: DirectionSummary | null, symvers: SymversComparison | null): AbiVerdict {
  const haveModules = !!(newOnOld || oldOnNew);
  const compatible = diff.kind === 'identical' || (haveModules && directionOk(newOnOld) && directionOk(oldOnNew));
  const parts = [describeDiff(diff)];
  if (newOnOld) parts.push(describeDirection("NEW's modules on OLD's kernel", newOnOld));
  if (oldOnNew) parts.push(describeDirection("OLD's modules on NEW's kernel", oldOnNew));
  if (!haveModules && diff.kind !== 'identical') parts.push('no module trees given');
  if (symvers) {
    if (symvers.compatible && !compatible) parts.push('symbol-CRC compatible but BTF incompatible');
    else parts.push(symvers.compatible ? 'symbol CRCs compatible' : `symbol CRCs differ (${symvers.crcChanged} changed, ${symvers.onlyOld} removed)`);
  }
  return { compatible, line: `${compatible ? 'BTF-COMPATIBLE' : 'BTF-INCOMPATIBLE'}: ${parts.join('; ')}` };
}
