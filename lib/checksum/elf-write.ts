/**
 * Adds a non-allocated section to an ELF file without changing the meaning of any existing byte:
 * existing sections keep their index, offset and contents (so symbols, relocations and section
 * links stay valid); the section name table is copied to the end with the new name appended, the
 * new data follows, then a new section header table one entry longer. When the old header table
 * was the last thing in the file it is replaced in place instead of left behind.
 */
import { viewOf } from '../bytes.js';
import { InputError } from '../errors.js';
import { ElfFile, findSection, readElf, sectionData, SHT_NOBITS } from '../elf/sections.js';
import { ByteSource, memorySource } from '../source.js';
import { CHECKSUM_SECTION, decodeChecksumSection, StoredChecksum } from './format.js';

const SHT_PROGBITS = 1;
/** Section indexes from here up are reserved (extended numbering keeps the count in section 0). */
const SHN_LORESERVE = 0xff00;
/** What scripts/sign-file appends after a module's signature. */
const MODULE_SIG_MAGIC = '~Module signature appended~\n';

export function isSignedModule(bytes: Uint8Array): boolean {
  if (bytes.length < MODULE_SIG_MAGIC.length) return false;
  const tail = bytes.subarray(bytes.length - MODULE_SIG_MAGIC.length);
  for (let i = 0; i < tail.length; i++) if (tail[i] !== MODULE_SIG_MAGIC.charCodeAt(i)) return false;
  return true;
}

/**
 * The module without its appended signature (struct module_signature and the magic, after the
 * PKCS#7 blob), as before sign-file ran; the bytes unchanged when it is not signed.
 */
export function stripModuleSignature(bytes: Uint8Array): Uint8Array {
  if (!isSignedModule(bytes)) return bytes;
  const infoAt = bytes.length - MODULE_SIG_MAGIC.length - 12;
  if (infoAt < 0) throw new InputError('the module signature trailer is truncated');
  const v = viewOf(bytes);
  const sigLen = v.getUint32(infoAt + 8, false); // big-endian, like the kernel's struct module_signature
  if (sigLen > infoAt) throw new InputError(`the module signature claims ${sigLen} bytes, more than the file holds`);
  return bytes.subarray(0, infoAt - sigLen);
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Reads the stored base checksum of a module; undefined when it has none (InputError when malformed). */
export function readStoredChecksum(elf: ElfFile, src: ByteSource): StoredChecksum | undefined {
  const sec = findSection(elf, CHECKSUM_SECTION);
  if (!sec) return undefined;
  return decodeChecksumSection(sectionData(src, sec));
}

/**
 * Returns a copy of `elfBytes` with section `name` holding `data`: replaced in place when a section
 * of that name and size exists, else added as a new non-allocated PROGBITS section.
 */
export function addSectionToElf(elfBytes: Uint8Array, name: string, data: Uint8Array): Uint8Array {
  if (isSignedModule(elfBytes)) {
    throw new InputError('the module is signed: adding a section would invalidate its signature (stamp before signing, use --manifest, or --strip-signature and sign again)');
  }
  const elf = readElf(memorySource(elfBytes));
  if (elf.shoff === 0 || elf.sections.length === 0) throw new InputError('the ELF file has no section header table');
  if (elf.shstrndx === 0) throw new InputError('the ELF file has no section name table');
  const le = elf.littleEndian;
  const is64 = elf.bits === 64;
  const entSize = elf.shentsize;
  const existing = findSection(elf, name);

  if (existing && existing.type !== SHT_NOBITS && existing.size === data.length) {
    const out = elfBytes.slice();
    out.set(data, existing.offset);
    return out;
  }

  const shnum = elf.sections.length;
  const oldTableEnd = elf.shoff + shnum * entSize;
  // Drop the old header table only when nothing but it lies at the end of the file.
  const tableIsLast = oldTableEnd === elfBytes.length &&
    elf.sections.every((s) => s.type === SHT_NOBITS || s.offset + s.size <= elf.shoff);
  const keep = tableIsLast ? elf.shoff : elfBytes.length;

  const strtab = elf.sections[elf.shstrndx];
  const oldNames = sectionData(memorySource(elfBytes), strtab);
  let nameOffset = -1;
  let names = oldNames;
  if (!existing) {
    nameOffset = oldNames.length;
    names = new Uint8Array(oldNames.length + name.length + 1);
    names.set(oldNames);
    for (let i = 0; i < name.length; i++) names[nameOffset + i] = name.charCodeAt(i) & 0xff;
  }

  const namesAt = existing ? -1 : keep;
  const dataAt = align(existing ? keep : keep + names.length, 8);
  const tableAt = align(dataAt + data.length, 8);
  const newCount = existing ? shnum : shnum + 1;
  const out = new Uint8Array(tableAt + newCount * entSize);
  out.set(elfBytes.subarray(0, keep));
  if (!existing) out.set(names, namesAt);
  out.set(data, dataAt);
  out.set(elfBytes.subarray(elf.shoff, oldTableEnd), tableAt);

  const v = viewOf(out);
  /** Writes a section header's offset and size fields. */
  const setPlace = (index: number, offset: number, size: number): void => {
    const h = tableAt + index * entSize;
    if (is64) {
      v.setBigUint64(h + 24, BigInt(offset), le);
      v.setBigUint64(h + 32, BigInt(size), le);
    } else {
      v.setUint32(h + 16, offset, le);
      v.setUint32(h + 20, size, le);
    }
  };
  if (existing) {
    setPlace(existing.index, dataAt, data.length);
  } else {
    setPlace(elf.shstrndx, namesAt, names.length);
    const h = tableAt + shnum * entSize;
    out.fill(0, h, h + entSize);
    v.setUint32(h, nameOffset, le);
    v.setUint32(h + 4, SHT_PROGBITS, le);
    // sh_flags 0 (not SHF_ALLOC: the kernel never loads it), sh_addr 0, link 0, info 0.
    if (is64) v.setBigUint64(h + 48, 8n, le);
    else v.setUint32(h + 32, 8, le);
    setPlace(shnum, dataAt, data.length);
  }
  // e_shoff and the section count.
  if (is64) v.setBigUint64(0x28, BigInt(tableAt), le);
  else v.setUint32(0x20, tableAt, le);
  const countField = is64 ? 0x3c : 0x30;
  if (newCount >= SHN_LORESERVE) {
    v.setUint16(countField, 0, le);
    if (is64) v.setBigUint64(tableAt + 32, BigInt(newCount), le);
    else v.setUint32(tableAt + 20, newCount, le);
  } else {
    v.setUint16(countField, newCount, le);
  }
  return out;
}
