/**
 * The ELF header and section header table, enough to find sections by name. Written for hostile
 * input: every offset and count is checked against the file size before it is used.
 * (elfinfo, the general ELF library, reads symbol tables and every string section eagerly; the hot
 * path needs three small tables, so it has this reader and elfinfo serves as the independent
 * cross-check in `stamp` and in the tests.)
 */
import { cString, viewOf } from '../bytes.js';
import { ensure, InputError } from '../errors.js';
import { ByteSource, readChecked } from '../source.js';

export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;
export const SHF_ALLOC = 0x2;
/** Hard cap on section count: real modules have < 100 000; a larger count is a hostile header. */
const MAX_SECTIONS = 1_000_000;

export interface ElfSection {
  index: number;
  name: string;
  nameOffset: number;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ElfFile {
  bits: 32 | 64;
  littleEndian: boolean;
  /** e_type: 1 relocatable (.ko), 2 executable (vmlinux). */
  type: number;
  machine: number;
  shoff: number;
  shentsize: number;
  shstrndx: number;
  sections: ElfSection[];
}

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function isElf(head: Uint8Array): boolean {
  return head.length >= 4 && ELF_MAGIC.every((b, i) => head[i] === b);
}

function toSafe(v: bigint, what: string): number {
  ensure(v <= BigInt(Number.MAX_SAFE_INTEGER), `${what} ${v} is too large`);
  return Number(v);
}

/** Parses the ELF header and the whole section header table (names resolved). */
export function readElf(src: ByteSource): ElfFile {
  ensure(src.size >= 52, `not an ELF file: only ${src.size} bytes`);
  const ident = src.read(0, 16);
  ensure(isElf(ident), 'not an ELF file: bad magic');
  const bits = ident[4] === 1 ? 32 : ident[4] === 2 ? 64 : 0;
  ensure(bits !== 0, `bad ELF class ${ident[4]}`);
  ensure(ident[5] === 1 || ident[5] === 2, `bad ELF data encoding ${ident[5]}`);
  const le = ident[5] === 1;
  const ehsize = bits === 64 ? 64 : 52;
  const hdr = viewOf(readChecked(src, 0, ehsize, 'ELF header'));
  const type = hdr.getUint16(16, le);
  const machine = hdr.getUint16(18, le);
  let shoff: number, shentsize: number, shnum: number, shstrndx: number;
  if (bits === 64) {
    shoff = toSafe(hdr.getBigUint64(0x28, le), 'section header offset');
    shentsize = hdr.getUint16(0x3a, le);
    shnum = hdr.getUint16(0x3c, le);
    shstrndx = hdr.getUint16(0x3e, le);
  } else {
    shoff = hdr.getUint32(0x20, le);
    shentsize = hdr.getUint16(0x2e, le);
    shnum = hdr.getUint16(0x30, le);
    shstrndx = hdr.getUint16(0x32, le);
  }
  const minEnt = bits === 64 ? 64 : 40;
  if (shoff === 0) return { bits, littleEndian: le, type, machine, shoff, shentsize, shstrndx: 0, sections: [] };
  ensure(shentsize >= minEnt, `bad section header size ${shentsize} (want at least ${minEnt})`);

  /** Decodes the section header at byte `at` of `view`. */
  const decodeHeader = (v: DataView, at: number, index: number): ElfSection => {
    if (bits === 64) {
      return {
        index, name: '', nameOffset: v.getUint32(at, le), type: v.getUint32(at + 4, le),
        flags: Number(v.getBigUint64(at + 8, le) & 0xffffffffn),
        offset: toSafe(v.getBigUint64(at + 24, le), `section ${index} offset`),
        size: toSafe(v.getBigUint64(at + 32, le), `section ${index} size`),
        link: v.getUint32(at + 40, le), info: v.getUint32(at + 44, le),
        addralign: toSafe(v.getBigUint64(at + 48, le), `section ${index} alignment`),
        entsize: toSafe(v.getBigUint64(at + 56, le), `section ${index} entry size`),
      };
    }
    return {
      index, name: '', nameOffset: v.getUint32(at, le), type: v.getUint32(at + 4, le), flags: v.getUint32(at + 8, le),
      offset: v.getUint32(at + 16, le), size: v.getUint32(at + 20, le), link: v.getUint32(at + 24, le),
      info: v.getUint32(at + 28, le), addralign: v.getUint32(at + 32, le), entsize: v.getUint32(at + 36, le),
    };
  };

  // Extended numbering: with more than 0xff00 sections the real counts live in section 0.
  const first = decodeHeader(viewOf(readChecked(src, shoff, minEnt, 'section header 0')), 0, 0);
  if (shnum === 0) shnum = first.size;
  if (shstrndx === 0xffff) shstrndx = first.link;
  ensure(shnum <= MAX_SECTIONS, `section count ${shnum} is implausible`);
  ensure(shnum * shentsize <= src.size - shoff,
    () => `section header table (${shnum} x ${shentsize} bytes at ${shoff}) runs past the end of the ${src.size}-byte file`);

  const table = viewOf(readChecked(src, shoff, shnum * shentsize, 'section header table'));
  const sections: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) sections.push(decodeHeader(table, i * shentsize, i));

  if (shstrndx !== 0) {
    ensure(shstrndx < shnum, `section name table index ${shstrndx} is past the ${shnum} sections`);
    const strsec = sections[shstrndx];
    ensure(strsec.type !== SHT_NOBITS, 'section name table has no data');
    const names = readChecked(src, strsec.offset, strsec.size, 'section name table');
    for (const s of sections) {
      if (s.nameOffset < names.length) s.name = cString(names, s.nameOffset, 256);
    }
  }
  return { bits, littleEndian: le, type, machine, shoff, shentsize, shstrndx, sections };
}

export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/** The bytes of a section (empty for NOBITS), bounds-checked against the file. */
export function sectionData(src: ByteSource, sec: ElfSection): Uint8Array {
  if (sec.type === SHT_NOBITS) return new Uint8Array(0);
  // Checked here, not by catching: only a range error gets this message, a read error keeps its own.
  if (!(sec.offset <= src.size && sec.size <= src.size - sec.offset)) {
    throw new InputError(`section ${sec.name || '#' + sec.index} (offset ${sec.offset}, ${sec.size} bytes) runs past the end of the ${src.size}-byte file`);
  }
  return src.read(sec.offset, sec.size);
}
