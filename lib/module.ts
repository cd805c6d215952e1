/**
 * What btfcheck needs from a kernel module ELF: its split BTF and its name as the kernel knows it.
 */
import { cString, latin1 } from './bytes.js';
import { encodeFileName } from './fsname.js';
import { ElfFile, findSection, readElf, sectionData } from './elf/sections.js';
import { ByteSource } from './source.js';

/** Offset of `char name[]` in struct module on 64-bit kernels: state (4) + pad (4) + list_head (16). */
const THIS_MODULE_NAME_OFFSET_64 = 24;
const MODULE_NAME_LEN = 56;

export interface ModuleImage {
  elf: ElfFile;
  /** The .BTF section's bytes, or undefined when the module has none. */
  btf?: Uint8Array;
  /** The name the kernel prints: struct module's name, else .modinfo name=, else undefined. */
  name?: string;
  /** .BTF.base (6.12 distilled base), when present. */
  hasDistilledBase: boolean;
  /** The .BTF.base section's bytes (possibly empty), when present. */
  btfBase?: Uint8Array;
}

/** Reads a module; `elf` is its section table when the caller has already parsed it. */
export function readModule(src: ByteSource, elf: ElfFile = readElf(src)): ModuleImage {
  const btfSec = findSection(elf, '.BTF');
  const btf = btfSec ? sectionData(src, btfSec) : undefined;
  const baseSec = findSection(elf, '.BTF.base');
  const btfBase = baseSec ? sectionData(src, baseSec) : undefined;
  return { elf, btf, name: moduleName(src, elf), hasDistilledBase: !!baseSec, btfBase };
}

/** The module name the kernel uses (mod->name comes from .gnu.linkonce.this_module, set by modpost). */
export function moduleName(src: ByteSource, elf: ElfFile): string | undefined {
  const thisModule = findSection(elf, '.gnu.linkonce.this_module');
  if (thisModule && elf.bits === 64 && thisModule.size >= THIS_MODULE_NAME_OFFSET_64 + MODULE_NAME_LEN) {
    const data = sectionData(src, thisModule);
    const name = cString(data, THIS_MODULE_NAME_OFFSET_64, MODULE_NAME_LEN);
    if (name) return name;
  }
  const modinfo = findSection(elf, '.modinfo');
  if (modinfo) {
    const data = sectionData(src, modinfo);
    let i = 0;
    while (i < data.length) {
      const entry = cString(data, i);
      if (entry.startsWith('name=')) return entry.slice(5);
      i += entry.length + 1;
    }
  }
  return undefined;
}

/**
 * The kernel's fallback: the file name without extensions, `-` turned into `_`. A byte string
 * like the ELF's own name (the kernel prints bytes): the file name's bytes, not its UTF-16 units.
 */
export function nameFromPath(path: string): string {
  const base = path.split('/').pop() ?? path;
  const bytes = encodeFileName(base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_'));
  return latin1(bytes, 0, bytes.length);
}
