/**
 * Kernel emulation: what Linux 6.1 / 6.12 print and decide when a module's split BTF is loaded.
 */
export type { KernelRules, KernelVersion } from '../../rules/kernel/versions.js';
export { KERNEL_RULES, KERNEL_VERSIONS, kernelSeries, MISMATCH_LINE } from '../../rules/kernel/versions.js';
export type { EmulateOptions, KernelVerdict } from './emulate.js';
export { emulateModuleLoad } from './emulate.js';
export { kernelBytesToText } from './text.js';
