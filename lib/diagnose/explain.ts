/**
 * Chooses the likely root cause from what the analysis shows, with the evidence it rests on and the
 * fix. Order of precedence: a stored checksum that disagrees (decisive), undecodable BTF, a
 * different base shape, non-C names in the module's own strings, then errors with an equal shape:
 * confined to a couple of types (a damaged file) or spread out (same shape, different content: a
 * non-reproducible base).
 */
import type { StoredChecksum } from '../checksum/format.js';
import { formatCount as fmt } from './format.js';
import type { Analysis, CandidateBase, Explanation } from './types.js';

/** Error findings on at most this many types, in a module with several times more, count as local damage. */
const LOCAL_DAMAGE_TYPES = 2;

export interface ExplainInput {
  checksumMismatch: boolean;
  stored?: StoredChecksum;
  baseSha256?: string;
  pick?: { chosen: CandidateBase | null; sameShape: CandidateBase[]; clean: CandidateBase[] };
}

function inferenceEvidence(a: Analysis): string[] {
  const out: string[] = [];
  if (a.inferred.types !== undefined) {
    out.push(`type count ${fmt(a.inferred.types)}: ${fmt(a.types.fitting)} ${a.types.fitting === 1 ? 'reference between the module\'s own types fits' : 'references between the module\'s own types fit'} only if its first type id was ${fmt(a.inferred.types)} (this base makes it ${fmt(a.base.types)})`);
  }
  if (a.inferred.strLen !== undefined) {
    out.push(`string length ${fmt(a.inferred.strLen)}: the module's ${fmt(a.strs.ownStrings)} own ${a.strs.ownStrings === 1 ? 'string lines' : 'strings line'} up with its name offsets only if they start at ${fmt(a.inferred.strLen)} (this base makes it ${fmt(a.base.strLen)})`);
  }
  return out;
}

function ruleCounts(a: Analysis, skip: string[] = []): string | undefined {
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const f of a.findings) {
    if (f.severity !== 'error' || skip.includes(f.rule) || seen.has(f.rule)) continue;
    seen.add(f.rule);
    parts.push(`${f.rule} ×${fmt(a.counts.get(f.rule) ?? 1)}`);
  }
  return parts.length ? `findings against this base: ${parts.join(', ')}` : undefined;
}

/** The first message of a rule, preferring one that mentions the base (the telling example). */
function firstMessage(a: Analysis, rule: string): string | undefined {
  const hits = a.findings.filter((f) => f.rule === rule && f.typeId !== null);
  return (hits.find((f) => f.message.includes('in the base strings')) ?? hits[0])?.message;
}

export function explain(a: Analysis, input: ExplainInput): Explanation | null {
  const errors = a.findings.filter((f) => f.severity === 'error');
  const warnings = a.findings.filter((f) => f.severity === 'warning');
  const chosen = input.pick?.chosen ?? null;
  const candidateLine = chosen ? `built against candidate ${chosen.file} (same shape, no findings against it)` : undefined;

  if (input.checksumMismatch && input.stored) {
    return {
      cause: 'checksum-mismatch',
      summary: 'the module records that it was built against another base BTF',
      evidence: [
        `stored ${input.stored.source === 'manifest' ? 'manifest entry' : '.BTF.base_checksum'} ${input.stored.sha256} (${fmt(input.stored.types)} types, ${fmt(input.stored.strLen)} string bytes)`,
        `this base ${input.baseSha256 ?? '?'} (${fmt(a.base.types)} types, ${fmt(a.base.strLen)} string bytes)`,
        ...inferenceEvidence(a),
        ...(candidateLine ? [candidateLine] : []),
      ],
      fix: 'install the kernel build the module was stamped for, or rebuild the module against this kernel\'s vmlinux and stamp it again',
    };
  }

  if (a.structural !== undefined) {
    return {
      cause: 'corrupt',
      summary: 'the module\'s .BTF section cannot be decoded: the file is damaged or was not written by pahole',
      evidence: [a.structural],
      fix: 'reinstall the module from its package (compare its checksum), or rebuild it',
    };
  }

  if (errors.length === 0 && warnings.length === 0) return null;

  const shape = a.findings.find((f) => f.rule === 'base-shape-mismatch');
  if (shape) {
    const evidence = [...inferenceEvidence(a)];
    const counts = ruleCounts(a, ['base-shape-mismatch']);
    if (counts) evidence.push(counts);
    const mid = firstMessage(a, 'name-mid-string');
    if (mid) evidence.push(`e.g. ${mid}`);
    if (candidateLine) evidence.push(candidateLine);
    else if (input.pick) evidence.push('none of the candidate bases has this shape and leaves the module clean');
    return {
      cause: 'base-mismatch',
      summary: `the module comes from a different build: ${shape.message}`,
      evidence,
      fix: chosen
        ? `install the kernel build of ${chosen.file}, or rebuild the module against this kernel's vmlinux`
        : 'rebuild the module against this kernel\'s vmlinux (the same build), or install the kernel build it was made for',
    };
  }

  // Names from rustc carry paths, generics, closures and impl blocks; one odd character in an
  // otherwise C module is more likely a damaged string (judged below with the other errors).
  const nonC = a.findings.filter((f) => f.rule === 'non-c-name' && f.typeId !== null);
  const rustLike = nonC.filter((f) => /::|[{}<>#&]|closure/.test(f.message));
  if (rustLike.length > 0 || nonC.length >= 3) {
    const nonCCount = a.counts.get('non-c-name') ?? nonC.length;
    return {
      cause: 'non-c-names',
      summary: 'the module\'s own BTF has type names that are not C identifiers: Rust (or other non-C) types leaked into BTF',
      evidence: [
        `${fmt(nonCCount)} ${nonCCount === 1 ? 'name in the module\'s own strings is not a C identifier' : 'names in the module\'s own strings are not C identifiers'}, e.g. ${nonC[0].message}`,
        ...inferenceEvidence(a).slice(0, 2),
      ],
      fix: 'keep non-C compilation units out of BTF: pahole --lang_exclude=rust (avoid cross-language LTO), or build the module without BTF',
    };
  }

  if (errors.length === 0 && nonC.length === 0) return null;

  // Equal (or unknown) shape and errors: local damage or a different base of the same shape.
  const damagedTypes = new Set([...a.errorTypeIds, ...nonC.map((f) => f.typeId!)]).size;
  const selfInconsistent = a.types.misfits > 0 || a.strs.strays > 0;
  const local = errors.length === 0 || damagedTypes > 0 && damagedTypes <= LOCAL_DAMAGE_TYPES && a.ownTypes >= 8 * damagedTypes;
  // A candidate of the same shape that leaves the module clean settles it: same shape, other content.
  // An intact module from another build is consistent in itself; damage shows as misfits or strays.
  if ((local && !chosen) || (selfInconsistent && !chosen)) {
    const evidence: string[] = [];
    const ids = [...new Set([...a.errorTypeIds, ...nonC.map((f) => f.typeId!)])].sort((x, y) => x - y);
    if (damagedTypes > 0) evidence.push(`errors confined to ${damagedTypes === 1 ? 'type' : 'types'} ${ids.map((id) => `[${id}]`).join(', ')} of the module's ${fmt(a.ownTypes)}`);
    if (nonC.length > 0) evidence.push(`e.g. ${nonC[0].message}`);
    if (a.types.misfits > 0) evidence.push(`${fmt(a.types.misfits)} of the module's references to its own types ${a.types.misfits === 1 ? 'fits' : 'fit'} no consistent numbering`);
    if (a.strs.strays > 0) evidence.push(`${fmt(a.strs.strays)} name ${a.strs.strays === 1 ? 'offset points' : 'offsets point'} into the module's own strings but at no string start`);
    evidence.push(...inferenceEvidence(a));
    const counts = ruleCounts(a);
    if (counts) evidence.push(counts);
    return {
      cause: 'corrupt',
      summary: 'the module\'s BTF is damaged in place: the base shape matches, the errors are local',
      evidence,
      fix: 'reinstall the module from its package (compare its checksum), or rebuild it',
    };
  }

  const shapeKnown = a.inferred.types !== undefined || a.inferred.strLen !== undefined;
  if (shapeKnown || chosen) {
    const evidence = [
      `the module was built against a base of exactly this shape (${fmt(a.base.types)} types, ${fmt(a.base.strLen)} string bytes)`,
      ...inferenceEvidence(a),
    ];
    const counts = ruleCounts(a);
    if (counts) evidence.push(counts);
    const mid = firstMessage(a, 'name-mid-string');
    if (mid) evidence.push(`e.g. ${mid}`);
    if (candidateLine) evidence.push(candidateLine);
    return {
      cause: 'non-reproducible',
      summary: 'same base shape but different content: the kernel and the module come from two builds whose BTF is not reproducible',
      evidence,
      fix: 'install the kernel and modules from the same build; make BTF reproducible (pahole -j needs --btf_features=reproducible_build, pahole ≥ 1.27, KBUILD_BUILD_TIMESTAMP set), or rebuild the module against this vmlinux',
    };
  }

  const counts = ruleCounts(a);
  return {
    cause: 'unknown',
    summary: 'the module\'s BTF does not fit this base, and its own shape cannot be inferred',
    evidence: counts ? [counts] : [],
    fix: 'check that the module and the kernel come from the same build; rebuild the module against this kernel\'s vmlinux',
  };
}
