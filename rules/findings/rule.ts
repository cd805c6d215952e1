/**
 * The shape of a finding rule: one plain object per rule (id, severity, description, check), like
 * the kernel checks in rules/kernel/. A rule reads the split BTF through a FindingContext and reports
 * problems with `report(typeId, message)`; it never throws on its own account (the runner catches
 * anything unexpected and turns it into a finding).
 */
import type { FindingContext } from '../../lib/diagnose/context.js';

export type Severity = 'error' | 'warning' | 'info';

export interface FindingRule {
  /** Stable id, printed in reports and JSON; never renamed. */
  id: string;
  severity: Severity;
  /** One sentence: what the rule checks and why it matters. */
  description: string;
  /** True when a hit is evidence that the module was built against a different base. */
  provesMismatch: boolean;
  /** `message` may be a function: the runner formats only the findings it lists. */
  check(ctx: FindingContext, report: (typeId: number | null, message: string | (() => string)) => void): void;
}
