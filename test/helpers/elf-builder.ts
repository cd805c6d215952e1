/**
 * A minimal ELF64 little-endian writer for tests: a section header table, a section name table and
 * the sections given, laid out one after another. Enough for lib/elf and lib/module to read.
 */
export interface SectionSpec {
  name: string;
  data: Uint8Array;
  /** sh_type; PROGBITS by default. */
  type?: number;
}

export interface ElfSpec {
  /** e_type: 1 relocatable (.ko), 2 executable (vmlinux). */
  type?: number;
  sections: SectionSpec[];
}

export const ET_REL = 1;
export const ET_EXEC = 2;

export function buildElf(spec: ElfSpec): Uint8Array {
  const names: number[] = [0];
  const nameOff = (n: string) => {
    const off = names.length;
    for (const c of n) names.push(c.charCodeAt(0));
    names.push(0);
    return off;
  };
  const secs = spec.sections.map((s) => ({ ...s, nameOff: nameOff(s.name), offset: 0 }));
  const shstrtab = { name: '.shstrtab', nameOff: nameOff('.shstrtab'), data: Uint8Array.from(names), type: 3, offset: 0 };
  const all = [...secs, shstrtab];
  let at = 64;
  for (const s of all) { at = (at + 7) & ~7; s.offset = at; at += s.data.length; }
  const shoff = (at + 7) & ~7;
  const shnum = all.length + 1;
  const out = new Uint8Array(shoff + shnum * 64);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  v.setUint16(16, spec.type ?? ET_REL, true);
  v.setUint16(18, 62, true); // x86-64
  v.setUint32(20, 1, true);
  v.setBigUint64(0x28, BigInt(shoff), true);
  v.setUint16(0x34, 64, true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, shnum, true);
  v.setUint16(0x3e, shnum - 1, true);
  all.forEach((s, i) => {
    out.set(s.data, s.offset);
    const h = shoff + (i + 1) * 64;
    v.setUint32(h, s.nameOff, true);
    v.setUint32(h + 4, s.type ?? 1, true);
    v.setBigUint64(h + 24, BigInt(s.offset), true);
    v.setBigUint64(h + 32, BigInt(s.data.length), true);
    v.setBigUint64(h + 48, 1n, true);
  });
  return out;
}

/** struct module's first bytes as modpost writes them: the name at offset 24 of a 64-bit module. */
export function thisModule(name: string): Uint8Array {
  const out = new Uint8Array(24 + 56 + 64);
  for (let i = 0; i < name.length; i++) out[24 + i] = name.charCodeAt(i);
  return out;
}

export function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}
