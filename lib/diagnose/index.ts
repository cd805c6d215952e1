/**
 * Beyond the kernel: does this module's split BTF really belong to this base, and if not, why?
 * Runs the finding rules (rules/findings/), infers the base the module was built against, picks it
 * among candidate bases, and chooses an explanation from what the data shows. Never throws: any
 * byte string gives a Diagnosis (broken BTF becomes a finding).
 */
import { Btf } from '../btf/btf.js';
import { StoredChecksum } from '../checksum/format.js';
import { FINDING_RULES } from '../../rules/findings/index.js';
import { FindingContext } from './context.js';
import { explain } from './explain.js';
import { formatCount as fmt } from './format.js';
import { inferStrStart, inferTypeStart } from './infer.js';
import type { Analysis, CandidateBase, Diagnosis, Finding } from './types.js';

export type { Analysis, CandidateBase, Diagnosis, Explanation, Finding, InferredBase } from './types.js';
export interface DiagnoseOptions {
  candidates?: CandidateBase[];
  stored?: StoredChecksum;
  /** Hex SHA-256 of `base`'s raw bytes, to compare with a stored checksum. */
  baseSha256?: string;
  /** Findings listed per rule before the rest are summed up in one line (default 20). */
  maxFindingsPerRule?: number;
  /**
   * The module's `.BTF.base` (a distilled base, 6.12+): its split BTF was built on that, and the
   * kernel relocates it onto vmlinux by name, so it is diagnosed against the distilled base.
   */
  distilledBase?: Uint8Array;
}

export type { StoredChecksum };

/** Rule ids of findings made here rather than in rules/findings/ (they need more than one base). */
export const RULE_STRUCTURE = 'btf-structure';
export const RULE_SHAPE = 'base-shape-mismatch';
export const RULE_CHECKSUM_MISMATCH = 'base-checksum-mismatch';
export const RULE_CHECKSUM_MATCH = 'base-checksum-match';
export const RULE_INTERNAL = 'internal-error';

const PROVES_MISMATCH = new Set([...FINDING_RULES.filter((r) => r.provesMismatch).map((r) => r.id), RULE_SHAPE, RULE_CHECKSUM_MISMATCH]);


/** Runs every rule and the inference against one base. */
export function analyze(base: Btf, moduleBtf: Uint8Array, maxPerRule = 20): Analysis {
  const a: Analysis = {
    findings: [], counts: new Map(), errorTypeIds: [], types: { fitting: 0, misfits: 0 },
    strs: { matched: 0, strays: 0, ownStrings: 0 }, inferred: {}, base: { types: base.nrTypes, strLen: base.strLen }, ownTypes: 0,
  };
  let split: Btf;
  let ctx: FindingContext;
  try {
    split = Btf.parseSplit(moduleBtf, base);
    ctx = new FindingContext(split, base);
  } catch (e) {
    a.structural = e instanceof Error ? e.message : String(e);
    a.findings.push({ rule: RULE_STRUCTURE, severity: 'error', typeId: null, message: `the split BTF cannot be decoded: ${a.structural}` });
    a.counts.set(RULE_STRUCTURE, 1);
    return a;
  }
  a.ownTypes = ctx.count;

  // Inference first: the non-C-name rule reads the module's strings from the inferred start.
  a.types = inferTypeStart(ctx);
  a.strs = inferStrStart(ctx.ownStrings(), ctx.nameOffsets());
  // A couple of misfits among many fits is local damage, not a different numbering.
  if (a.types.start !== undefined && tolerable(a.types.misfits, a.types.fitting)) a.inferred.types = a.types.start;
  if (a.strs.start !== undefined && a.strs.matched > 0 && tolerable(a.strs.strays, a.strs.matched)) a.inferred.strLen = a.strs.start;
  if (a.inferred.strLen !== undefined) ctx.ownStringsFrom = a.inferred.strLen;

  // Proof needs a module that is consistent in itself: a damaged one may be misread.
  const shapeDiffers = (a.inferred.types !== undefined && a.types.misfits === 0 && a.inferred.types !== base.nrTypes) ||
    (a.inferred.strLen !== undefined && a.strs.strays === 0 && a.inferred.strLen !== base.strLen);
  if (shapeDiffers) {
    const proven = { types: a.types.misfits === 0 ? a.inferred.types : undefined, strLen: a.strs.strays === 0 ? a.inferred.strLen : undefined };
    a.findings.push({ rule: RULE_SHAPE, severity: 'error', typeId: null, message: shapeMessage(proven, a.base) });
    a.counts.set(RULE_SHAPE, 1);
  }

  const errorIds = new Set<number>();
  for (const rule of FINDING_RULES) {
    let n = 0;
    const report = (typeId: number | null, message: string | (() => string)): void => {
      n++;
      if (rule.severity === 'error' && typeId !== null) errorIds.add(typeId);
      if (n <= maxPerRule) a.findings.push({ rule: rule.id, severity: rule.severity, typeId, message: typeof message === 'string' ? message : message() });
    };
    try {
      rule.check(ctx, report);
    } catch (e) {
      a.findings.push({ rule: RULE_INTERNAL, severity: 'warning', typeId: null, message: `rule ${rule.id} stopped: ${e instanceof Error ? e.message : String(e)}` });
    }
    if (n > maxPerRule) {
      a.findings.push({ rule: rule.id, severity: rule.severity, typeId: null, message: `... and ${fmt(n - maxPerRule)} more (${fmt(n)} in all)` });
    }
    if (n > 0) a.counts.set(rule.id, n);
  }
  a.errorTypeIds = [...errorIds].sort((x, y) => x - y);
  // Names read against another base are noise, so their order says nothing there.
  if (a.counts.has('unsorted-split-btf') && [...a.counts.keys()].some((id) => PROVES_MISMATCH.has(id))) {
    a.findings = a.findings.filter((f) => f.rule !== 'unsorted-split-btf');
    a.counts.delete('unsorted-split-btf');
  }
  return a;
}

function tolerable(bad: number, good: number): boolean {
  return bad === 0 || (bad <= 2 && good >= 5 * bad);
}

function shapeMessage(inferred: { types?: number; strLen?: number }, base: { types: number; strLen: number }): string {
  const parts: string[] = [];
  if (inferred.types !== undefined) parts.push(`${fmt(inferred.types)} types`);
  if (inferred.strLen !== undefined) parts.push(`${fmt(inferred.strLen)} string bytes`);
  const known = inferred.types !== undefined && inferred.strLen !== undefined ? '' :
    inferred.types === undefined ? ' (type count not inferable)' : ' (string length not inferable)';
  return `built against a base with ${parts.join(' and ')}${known}; this base has ${fmt(base.types)} types and ${fmt(base.strLen)} string bytes`;
}

/** Whether the module is clean against a base: no error findings at all. */
function hasErrors(a: Analysis): boolean {
  return a.findings.some((f) => f.severity === 'error');
}

/** The candidate the module was built against: shape equal to the inferred one and no error findings. */
export function pickCandidate(moduleBtf: Uint8Array, candidates: CandidateBase[], inferred: { types?: number; strLen?: number }, stored?: StoredChecksum):
  { chosen: CandidateBase | null; sameShape: CandidateBase[]; clean: CandidateBase[] } {
  if (stored) {
    const bySum = candidates.find((c) => c.sha256 === stored.sha256);
    if (bySum) return { chosen: bySum, sameShape: [bySum], clean: [bySum] };
  }
  const sameShape = candidates.filter((c) =>
    (inferred.types === undefined || c.btf.nrTypes === inferred.types) && (inferred.strLen === undefined || c.btf.strLen === inferred.strLen));
  const clean = sameShape.filter((c) => !hasErrors(analyze(c.btf, moduleBtf, 1)));
  // Several clean candidates with the same bytes are one base; different bytes cannot be told apart.
  const distinct = new Set(clean.map((c) => c.sha256));
  return { chosen: distinct.size === 1 ? clean[0] : null, sameShape, clean };
}

export function diagnoseModule(base: Btf, moduleBtf: Uint8Array, opts: DiagnoseOptions = {}): Diagnosis {
  try {
    return diagnoseUnsafe(base, moduleBtf, opts);
  } catch (e) {
    // Last line of defence: a diagnosis, never an exception.
    const message = e instanceof Error ? e.message : String(e);
    return {
      findings: [{ rule: RULE_INTERNAL, severity: 'warning', typeId: null, message: `diagnosis stopped: ${message}` }],
      inferredBase: null, baseMismatch: false, ...(opts.candidates ? { builtAgainst: null } : {}),
      explanation: { cause: 'unknown', summary: 'the module could not be diagnosed', evidence: [message], fix: 'report this as a btfcheck bug, with the module file' },
    };
  }
}

function diagnoseUnsafe(vmlinux: Btf, moduleBtf: Uint8Array, opts: DiagnoseOptions): Diagnosis {
  let base = vmlinux;
  let distilledError: string | undefined;
  if (opts.distilledBase) {
    try {
      base = Btf.parseBase(opts.distilledBase);
    } catch (e) {
      distilledError = e instanceof Error ? e.message : String(e);
    }
  }
  const a = analyze(base, moduleBtf, opts.maxFindingsPerRule ?? 20);
  if (distilledError !== undefined) {
    a.structural = `.BTF.base: ${distilledError}`;
    a.findings.unshift({ rule: RULE_STRUCTURE, severity: 'error', typeId: null, message: `the module's distilled base (.BTF.base) cannot be decoded: ${distilledError}` });
  }
  const findings = a.findings;
  const head: Finding[] = [];
  let checksumMismatch = false;
  if (opts.stored && opts.baseSha256) {
    if (opts.stored.sha256 === opts.baseSha256) {
      head.push({ rule: RULE_CHECKSUM_MATCH, severity: 'info', typeId: null, message: `the stored base checksum ${opts.stored.sha256.slice(0, 16)}… matches this base: the module was built against it` });
    } else {
      checksumMismatch = true;
      head.push({
        rule: RULE_CHECKSUM_MISMATCH, severity: 'error', typeId: null,
        message: `the module was built against base ${opts.stored.sha256.slice(0, 16)}… (${fmt(opts.stored.types)} types, ${fmt(opts.stored.strLen)} string bytes), not this base ${opts.baseSha256.slice(0, 16)}… (${fmt(base.nrTypes)} types, ${fmt(base.strLen)} string bytes)`,
      });
    }
  }
  let builtAgainst: { file: string; sha256: string } | null | undefined;
  let pick: ReturnType<typeof pickCandidate> | undefined;
  // A module with a distilled base was not built against any of the candidates' numbering.
  if (opts.candidates && opts.distilledBase) {
    const bySum = opts.stored ? opts.candidates.find((c) => c.sha256 === opts.stored!.sha256) : undefined;
    builtAgainst = bySum ? { file: bySum.file, sha256: bySum.sha256 } : null;
  } else if (opts.candidates) {
    pick = pickCandidate(moduleBtf, opts.candidates, a.inferred, opts.stored);
    builtAgainst = pick.chosen ? { file: pick.chosen.file, sha256: pick.chosen.sha256 } : null;
  }
  const explanation = explain(a, { checksumMismatch, stored: opts.stored, pick, baseSha256: opts.baseSha256 });
  const inferredBase = a.inferred.types !== undefined && a.inferred.strLen !== undefined ? { types: a.inferred.types, strLen: a.inferred.strLen } : null;
  const mismatchCause = explanation !== null && (explanation.cause === 'base-mismatch' || explanation.cause === 'non-reproducible' || explanation.cause === 'checksum-mismatch');
  const proof = checksumMismatch || [...a.counts.keys()].some((r) => PROVES_MISMATCH.has(r));
  return {
    findings: [...head, ...findings],
    inferredBase,
    baseMismatch: checksumMismatch || (proof && mismatchCause),
    ...(opts.candidates ? { builtAgainst } : {}),
    explanation,
  };
}
