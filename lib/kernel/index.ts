/**
 * Kernel emulation: what Linux 6.1 / 6.12 print and decide when a module's split BTF is loaded.
 */
export type { KernelRules, KernelVersion } from '../../rules/kernel/versions.js';
export { KERNEL_RULES, KERNEL_VERSIONS, kernelRules, kernelSeries, MISMATCH_LINE, parseKernelVersion, formatVersion, compareVersions, NEWEST_KNOWN_SERIES, UnknownRuleError } from '../../rules/kernel/versions.js';
export { KERNEL_CHANGES, ORACLE_EVIDENCE } from '../../rules/kernel/changes.js';
export type { KernelChange } from '../../rules/kernel/changes.js';
export type { EmulateOptions, KernelVerdict } from './emulate.js';
export { emulateModuleLoad, emulateVmlinuxParse } from './emulate.js';
export { kernelBytesToText } from './text.js';
