/**
 * Base-BTF checksums: the `.BTF.base_checksum` section (format.ts), adding it to a module ELF
 * (elf-write.ts), and manifests for signed modules that must not change (manifest.ts).
 * Uint8Array in, Uint8Array or plain objects out; hashing and file I/O happen in cmd/.
 */
export * from './format.js';
