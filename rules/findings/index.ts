/**
 * The finding rules, in the order their findings are listed. Each is a plain object (see rule.ts);
 * adding a rule means adding an object here and a test in test/diagnose-rules.test.ts.
 */
import { nameMidString, nameOffsetOutOfRange, nonCName } from './names.js';
import {
  arrayType, datasecEntry, declTagTarget, funcProtoType, funcType, memberType, modifierTarget, pointerTarget,
  typeIdOutOfRange, varType,
} from './references.js';
import { unsortedSplitBtf } from './order.js';
import { FindingRule } from './rule.js';
import { arraySize, datasecEntrySize, memberSize, typeCycle } from './sizes.js';

export type { FindingRule, Severity } from './rule.js';

export const FINDING_RULES: readonly FindingRule[] = [
  nameOffsetOutOfRange,
  nameMidString,
  typeIdOutOfRange,
  funcType,
  memberType,
  arrayType,
  pointerTarget,
  modifierTarget,
  funcProtoType,
  varType,
  datasecEntry,
  declTagTarget,
  typeCycle,
  memberSize,
  arraySize,
  datasecEntrySize,
  nonCName,
  unsortedSplitBtf,
];
