/**
 * The Node edge of btfcheck's input layer: files in, lib/ objects out.
 *
 *   loadBase(path, limits?)      vmlinux ELF | raw BTF | vmlinuz | xz/zstd/gzip/lz4 of ELF or BTF | 'running'
 *   loadModule(path, limits?)    .ko | .ko.xz | .ko.zst | .ko.gz | raw split BTF
 *   loadModules(paths, opts?)    the same for many files, xz decoded in parallel
 *   expandModulePaths(paths)     directories -> sorted module files
 *
 * Every failure is an InputError with a one-line message; the caller prefixes the file name.
 */
export { loadBase, loadModule, loadModules, RUNNING_BTF } from './load.js';
export type { BaseFormat, LoadedBase, LoadedModule, LoadLimits, ModuleFormat } from './load.js';
export { expandModulePaths, MODULE_FILE } from './paths.js';
export { openFileSource, readTextFile, readWholeFile, TEXT_INPUT_MAX } from './files.js';
export type { FileSource } from './files.js';
export { nodeXzDecoder, nodeXzDecoderAsync } from './xz.js';
