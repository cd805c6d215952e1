/** Two-build ABI comparison: base diff, per-module validity across bases, symbol CRCs, verdict. */
export { compareBases } from './base-diff.js';
export type { BaseComparison, BaseDiff, BaseDiffKind, BaseSummary } from './base-diff.js';
export { buildTypeGraph } from './graph.js';
export type { TypeGraph } from './graph.js';
export { jointIdentity } from './identity.js';
export type { JointIdentity } from './identity.js';
export { declarationSignature, namedTypeChanges } from './named.js';
export type { NamedTypeChanges } from './named.js';
export { moduleStaysValid, shiftReason, splitReferences } from './module-validity.js';
export type { BuiltAgainst, ModuleValidity } from './module-validity.js';
export { compareSymvers, parseSymvers } from './symvers.js';
export type { Symvers, SymversComparison } from './symvers.js';
export { abiVerdict, summarizeDirection } from './verdict.js';
export type { AbiModule, AbiVerdict, DirectionSummary } from './verdict.js';
export { describeChain, typeDifference } from './type-diff.js';
export type { TypeDifference, TypeSummary } from './type-diff.js';
export { renderAbiJunit } from './junit.js';
export type { AbiJunitInput } from './junit.js';
