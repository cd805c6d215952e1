/**
 * The Node edge of btfcheck's input layer: files in, lib/ objects out.
 *
 *   loadBase(path, limits?)      vmlinux ELF | raw BTF | vmlinuz | xz/zstd/gzip/lz4 of ELF or BTF | 'running'
 *   loadModule(path, limits?)    .ko | .ko.xz | .ko.zst | .ko.gz | raw split BTF
 *   loadModules(paths, opts?)    the same for many files, xz decoded in parallel
 *   walkModulePaths(paths)       directories -> sorted module files, unreadable entries as errors
 *   expandModulePaths(paths)     the same, throwing the first error
 *
 * Every failure is an InputError with a one-line message; the caller prefixes the file name.
 */
export { loadBase, loadModule, loadModules, RUNNING_BTF } from './load.js';
export type { BaseFormat, LoadedBase, LoadedModule, LoadLimits, ModuleFormat } from './load.js';
export { expandModulePaths, MODULE_FILE, walkModulePaths } from './paths.js';
export type { PathEntry, WalkOptions } from './paths.js';
export { fsPath, openFileSource, readTextFile, readWholeFile, TEXT_INPUT_MAX } from './files.js';
export type { FileSource } from './files.js';
export { nodeXzDecoder, nodeXzDecoderAsync } from './xz.js';
