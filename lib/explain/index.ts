/**
 * `explain`: a pasted kernel log in, one explained failure per failing module out — what the
 * kernel's lines mean and which type or member they are about. The root cause from the module file
 * itself (lib/diagnose) is added by the caller when it has the base and the module.
 */
import { Btf } from '../btf/btf.js';
import { Kind } from '../btf/kinds.js';
import { ANON_NAME, INVALID_NAME_OFFSET, interpretFailure, InterpretedFailure, MemberRef, startsFailure } from './meaning.js';
import { FailureGroup, groupFailures, readKernelLog } from './parse.js';

export type { CauseId, FailureKind, InterpretedFailure, MemberRef } from './meaning.js';
export { interpretFailure, startsFailure } from './meaning.js';
export type { FailureGroup, LogEntry } from './parse.js';
export { groupFailures, readKernelLog } from './parse.js';

export interface ExplainedFailure extends InterpretedFailure {
  module: string | null;
  errno: number | null;
  /** The log lines of this failure (1-based line numbers in the pasted text) as pasted. */
  lines: number[];
  log: string[];
}

/** Reads a pasted log and explains every failure in it, in log order. */
export function explainLog(text: string): ExplainedFailure[] {
  return groupFailures(readKernelLog(text), startsFailure).map((g: FailureGroup) => ({
    module: g.module,
    errno: g.errno,
    ...interpretFailure(g),
    lines: g.lines,
    log: g.raw,
  }));
}

/**
 * The struct or union of `moduleBtf` (its own types) holding the member the kernel printed — the
 * kernel names the member but not its type. Null when none matches.
 */
export function findMemberOwner(moduleBtf: Btf, member: MemberRef): number | null {
  for (let id = moduleBtf.startId; id < moduleBtf.nrTypes; id++) {
    const kind = moduleBtf.kind(id);
    if (kind !== Kind.STRUCT && kind !== Kind.UNION) continue;
    const t = moduleBtf.type(id)!;
    for (const m of t.members!) {
      if (m.type !== member.typeId || m.bitsOffset !== member.bitsOffset) continue;
      if (member.bitfieldSize !== null && m.bitfieldSize !== member.bitfieldSize) continue;
      // The kernel prints '(anon)' for offset 0 and '(invalid-name-offset)' past the strings.
      const printed = m.nameOff === 0 ? ANON_NAME : moduleBtf.str(m.nameOff) ?? INVALID_NAME_OFFSET;
      if (printed === member.name) return id;
    }
  }
  return null;
}
