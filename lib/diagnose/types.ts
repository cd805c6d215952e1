/** The diagnosis' data types, shared by index.ts (which makes them) and explain.ts (which reads them). */
import type { Btf } from '../btf/btf.js';
import type { StrStartInference, TypeStartInference } from './infer.js';

export interface Finding { rule: string; severity: 'error' | 'warning' | 'info'; typeId: number | null; message: string }
export interface InferredBase { types: number; strLen: number }
export interface Explanation {
  cause: 'base-mismatch' | 'non-reproducible' | 'non-c-names' | 'corrupt' | 'checksum-mismatch' | 'unknown';
  summary: string;
  evidence: string[];
  fix: string;
}
export interface CandidateBase { file: string; sha256: string; btf: Btf }
export interface Diagnosis {
  findings: Finding[];
  inferredBase: InferredBase | null;
  /** The findings prove that the module was built against a different base. */
  baseMismatch: boolean;
  /** Only when candidates were given: the candidate the module was built against, or null. */
  builtAgainst?: { file: string; sha256: string } | null;
  explanation: Explanation | null;
}

/** Everything the explanation draws on, also handy for tests. */
export interface Analysis {
  findings: Finding[];
  /** Error findings per rule, before capping. */
  counts: Map<string, number>;
  /** Module type ids that carry an error finding (before capping). */
  errorTypeIds: number[];
  types: TypeStartInference;
  strs: StrStartInference;
  inferred: { types?: number; strLen?: number };
  base: { types: number; strLen: number };
  ownTypes: number;
  structural?: string;
}
