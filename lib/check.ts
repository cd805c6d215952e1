/**
 * One module checked against one base: the kernel's verdict (replayed) plus our own findings.
 * Pure: bytes and parsed bases in, a plain result object out. File handling lives in cmd/.
 */
import { Btf } from './btf/btf.js';
import { CandidateBase, Diagnosis, diagnoseModule, Explanation, Finding, InferredBase } from './diagnose/index.js';
import { StoredChecksum } from './checksum/index.js';
import { emulateModuleLoad, kernelBytesToText, kernelRules, KernelVerdict, KernelVersion } from './kernel/index.js';

export const DEFAULT_FINDINGS_PER_RULE = 5;

/** 'unchecked': the kernel does not validate module BTF (before 5.11): the module loads, its BTF ignored. */
export type ModuleStatus = 'accepted' | 'rejected' | 'mismatch' | 'no-btf' | 'unchecked' | 'error';

/** Plain data (it crosses to worker threads): the rule set is computed from it where it is used. */
export interface KernelSettings {
  version: KernelVersion;
  allowBtfMismatch: boolean;
  /** --rule switches: change id → on/off. */
  rules?: Record<string, boolean>;
  /** Non-zero when this kernel rejects the base's own BTF (every module then fails with it). */
  vmlinuxErrno?: number;
}

export interface ChecksumResult {
  stored: string | null;
  base: string;
  match: boolean | null;
}

/** One module's result; the field names are the stable JSON output. */
export interface ModuleResult {
  file: string;
  module: string | null;
  status: ModuleStatus;
  kernel: KernelVerdict | null;
  error: string | null;
  findings: Finding[];
  inferredBase: InferredBase | null;
  builtAgainst?: { file: string; sha256: string } | null;
  checksum: ChecksumResult | null;
  explanation: Explanation | null;
}

export interface CheckOptions {
  kernel: KernelSettings;
  /** Run our own checks beyond the kernel's (default on). */
  diagnose?: boolean;
  candidates?: CandidateBase[];
  baseSha256?: string;
  /** Findings kept per rule before one "and N more" line (default 5: a tree scan stays readable). */
  maxFindingsPerRule?: number;
  /** Print once-per-boot kernel lines for this module (the first rejection of a boot). */
  firstRejectionInBoot?: boolean;
}

/** What a module file carries besides its .BTF. */
export interface ModuleExtras {
  /** .BTF.base (6.12 distilled base). */
  distilledBase?: Uint8Array;
  /** A stored base checksum (stamped section or manifest). */
  stored?: StoredChecksum;
  /** Why a stamped checksum section could not be read. */
  storedError?: string;
}

/** Checks one module's .BTF (or its absence) against `base`. */
export function checkModule(
  base: Btf,
  file: string,
  moduleName: string,
  moduleBtf: Uint8Array | undefined,
  options: CheckOptions,
  extras: ModuleExtras = {},
): ModuleResult {
  const result: ModuleResult = {
    // The name as text (the kernel's bytes as UTF-8, other bytes as \xNN), as its log lines show it.
    file, module: kernelBytesToText(moduleName), status: 'accepted', kernel: null, error: null, findings: [], inferredBase: null,
    checksum: null, explanation: null,
  };
  // The kernel skips a missing or empty .BTF (mod->btf_data_size == 0): the module loads, with no BTF.
  if (!moduleBtf || moduleBtf.length === 0) {
    result.status = 'no-btf';
    result.kernel = { accepted: false, errno: 0, loads: true, log: [] };
    return result;
  }
  const stored = extras.stored;
  const rules = kernelRules(options.kernel.version, options.kernel.rules);
  if (!rules.validatesModuleBtf) {
    result.status = 'unchecked';
    result.kernel = { accepted: false, errno: 0, loads: true, log: [] };
    return result;
  }
  result.kernel = emulateModuleLoad(base, moduleBtf, moduleName, {
    version: options.kernel.version,
    rules: options.kernel.rules,
    vmlinuxErrno: options.kernel.vmlinuxErrno,
    allowBtfMismatch: options.kernel.allowBtfMismatch,
    firstRejectionInBoot: options.firstRejectionInBoot ?? true,
    distilledBase: extras.distilledBase,
  });
  result.status = result.kernel.accepted ? 'accepted' : 'rejected';
  if (extras.storedError) {
    result.findings.push({ rule: 'base-checksum-unreadable', severity: 'warning', typeId: null, message: `.BTF.base_checksum section is unreadable: ${extras.storedError}` });
  }
  if (options.diagnose !== false) {
    // Only a kernel that reads .BTF.base relocates the module onto its base first.
    const distilledBase = rules.readsDistilledBase ? extras.distilledBase : undefined;
    const diagnosis: Diagnosis = diagnoseModule(base, moduleBtf, {
      candidates: options.candidates, stored, baseSha256: options.baseSha256, distilledBase,
      maxFindingsPerRule: options.maxFindingsPerRule ?? DEFAULT_FINDINGS_PER_RULE,
    });
    result.findings.push(...diagnosis.findings);
    result.inferredBase = diagnosis.inferredBase;
    result.explanation = diagnosis.explanation;
    if (options.candidates) result.builtAgainst = diagnosis.builtAgainst ?? null;
    if (result.status === 'accepted' && diagnosis.baseMismatch) result.status = 'mismatch';
  }
  if (options.baseSha256) {
    const storedHex = stored?.sha256 ?? null;
    result.checksum = { stored: storedHex, base: options.baseSha256, match: storedHex === null ? null : storedHex === options.baseSha256 };
  }
  return result;
}

export interface CheckSummary {
  modules: number;
  accepted: number;
  rejected: number;
  mismatch: number;
  noBtf: number;
  unchecked: number;
  errors: number;
}

export function summarize(results: ModuleResult[]): CheckSummary {
  const s: CheckSummary = { modules: results.length, accepted: 0, rejected: 0, mismatch: 0, noBtf: 0, unchecked: 0, errors: 0 };
  for (const r of results) {
    if (r.status === 'accepted') s.accepted++;
    else if (r.status === 'rejected') s.rejected++;
    else if (r.status === 'mismatch') s.mismatch++;
    else if (r.status === 'no-btf') s.noBtf++;
    else if (r.status === 'unchecked') s.unchecked++;
    else s.errors++;
  }
  return s;
}

/** A result for a file that could not be read or decoded. */
export function errorResult(file: string, message: string, moduleName: string | null = null): ModuleResult {
  return {
    file, module: moduleName, status: 'error', kernel: null, error: message, findings: [], inferredBase: null,
    checksum: null, explanation: null,
  };
}
