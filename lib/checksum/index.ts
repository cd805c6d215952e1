/**
 * Base-BTF checksums: the `.BTF.base_checksum` section (format.ts), adding it to a module ELF
 * (elf-write.ts), and manifests for signed modules that must not change (manifest.ts).
 * Uint8Array in, Uint8Array or plain objects out; hashing and file I/O happen in cmd/.
 */
export * from './format.js';
export { addSectionToElf, isSignedModule, readStoredChecksum, stripModuleSignature } from './elf-write.js';
export * from './manifest.js';

import { CHECKSUM_SECTION, encodeChecksumSection, BaseIdentity } from './format.js';
import { addSectionToElf } from './elf-write.js';

/** The module ELF with `.BTF.base_checksum` recording `base` (replaced if already there). */
export function stampModuleElf(elfBytes: Uint8Array, base: BaseIdentity): Uint8Array {
  return addSectionToElf(elfBytes, CHECKSUM_SECTION, encodeChecksumSection(base));
}
