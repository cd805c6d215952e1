/**
 * Byte-level mutations as plain data. A mutation is a list of ops applied in order to a copy of a
 * seed; ops name positions as raw numbers reduced modulo the length they apply to, so the same op
 * list means something on any seed, fast-check can generate and shrink it, and a failing case is
 * its seed name plus the ops (printable, replayable).
 *
 * Structure-aware ops aim where the decoders look: the ELF header's table fields, section headers,
 * the .BTF header and type records (found by walking the seed, leniently, at apply time).
 */
import fc from 'fast-check';

/** Values that sit on boundaries of u32 and u64 fields: counts, lengths, offsets, ids. */
export const EDGE_U32 = [
  0, 1, 2, 3, 4, 7, 8, 12, 16, 23, 24, 25, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xfffff, 0x100000,
  0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xfffffffe, 0xffffffff,
] as const;

export type Op =
  /** Flip one bit. */
  | { op: 'flip'; at: number; bit: number }
  /** Set one byte. */
  | { op: 'byte'; at: number; value: number }
  /** Write a u32 (little-endian) at any byte offset. */
  | { op: 'u32'; at: number; value: number }
  /** Keep only the first `len` bytes (`len` modulo length + 1). */
  | { op: 'truncate'; len: number }
  /** Copy `len` bytes from `from` to `to` (inside the same buffer). */
  | { op: 'splice'; from: number; to: number; len: number }
  /** Insert `count` copies of `value` at `at`. */
  | { op: 'insert'; at: number; count: number; value: number }
  /** Delete `len` bytes at `at`. */
  | { op: 'delete'; at: number; len: number }
  /** Overwrite a field of the ELF header: e_type, e_shoff, e_shentsize, e_shnum, e_shstrndx, e_ident class/data. */
  | { op: 'elfHeader'; field: number; value: number }
  /** Overwrite a field of a section header: name, type, offset, size, link, entsize (64-bit ELF). */
  | { op: 'shdr'; section: number; field: number; value: number }
  /** Overwrite a u32 of the .BTF header (magic+version+flags word, hdr_len, type_off, type_len, str_off, str_len). */
  | { op: 'btfHeader'; field: number; value: number }
  /** Overwrite a u32 word of one .BTF type record (0 name_off, 1 info, 2 size/type, 3.. extra). */
  | { op: 'btfType'; type: number; word: number; value: number }
  /** Set a .BTF type's info word: kind, vlen and kflag as given. */
  | { op: 'btfInfo'; type: number; kind: number; vlen: number; kflag: boolean }
  /** Overwrite the .BTF string section's bytes at `at` with non-NUL bytes (strings without NUL). */
  | { op: 'btfStrings'; at: number; len: number; value: number };

const u32Value = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_U32) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffff }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const pos = fc.nat({ max: 0x7fffffff });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.nat({ max: 7 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('byte' as const), at: pos, value: fc.oneof(fc.constantFrom(0, 0xff, 0x7f, 0x80), fc.nat({ max: 255 })) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('u32' as const), at: pos, value: u32Value }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), len: pos }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('splice' as const), from: pos, to: pos, len: fc.nat({ max: 4096 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: pos, count: fc.nat({ max: 64 }), value: fc.nat({ max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos, len: fc.nat({ max: 256 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('elfHeader' as const), field: fc.nat({ max: 7 }), value: u32Value }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('shdr' as const), section: pos, field: fc.nat({ max: 5 }), value: u32Value }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('btfHeader' as const), field: fc.nat({ max: 5 }), value: u32Value }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('btfType' as const), type: pos, word: fc.nat({ max: 8 }), value: u32Value }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('btfInfo' as const), type: pos, kind: fc.nat({ max: 31 }), vlen: fc.oneof(fc.constantFrom(0, 1, 2, 0xffff), fc.nat({ max: 0xffff })), kflag: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('btfStrings' as const), at: pos, len: fc.nat({ max: 300 }), value: fc.integer({ min: 1, max: 255 }) }) },
);

export const opsArb = (maxLength = 6): fc.Arbitrary<Op[]> => fc.array(opArb, { minLength: 1, maxLength });

/** Where things are in an ELF (64-bit little-endian) holding a .BTF section, read leniently. */
interface Layout {
  shoff: number;
  shnum: number;
  shentsize: number;
  /** Offset of .BTF's bytes in the buffer (0 for raw BTF), or -1. */
  btf: number;
  btfSize: number;
}

const rd32 = (b: Uint8Array, at: number): number => (at >= 0 && at + 4 <= b.length ? (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0 : 0);
const rd16 = (b: Uint8Array, at: number): number => (at >= 0 && at + 2 <= b.length ? b[at] | (b[at + 1] << 8) : 0);
const wr32 = (b: Uint8Array, at: number, v: number): void => {
  for (let i = 0; i < 4; i++) if (at + i >= 0 && at + i < b.length) b[at + i] = (v >>> (8 * i)) & 0xff;
};
const wr16 = (b: Uint8Array, at: number, v: number): void => {
  for (let i = 0; i < 2; i++) if (at + i >= 0 && at + i < b.length) b[at + i] = (v >>> (8 * i)) & 0xff;
};

function layout(b: Uint8Array): Layout {
  const none: Layout = { shoff: 0, shnum: 0, shentsize: 64, btf: -1, btfSize: 0 };
  if (b.length >= 24 && b[0] === 0x9f && b[1] === 0xeb) return { ...none, btf: 0, btfSize: b.length };
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[4] !== 2) return none;
  const shoff = rd32(b, 0x28) + rd32(b, 0x2c) * 2 ** 32;
  const shentsize = rd16(b, 0x3a) || 64;
  const shnum = Math.min(rd16(b, 0x3c), 4096);
  const shstrndx = rd16(b, 0x3e);
  const sh = (i: number) => shoff + i * shentsize;
  const strOff = rd32(b, sh(shstrndx) + 24);
  let btf = -1;
  let btfSize = 0;
  for (let i = 0; i < shnum && sh(i) + 64 <= b.length; i++) {
    const name = strOff + rd32(b, sh(i));
    if (name + 5 <= b.length && b[name] === 0x2e && b[name + 1] === 0x42 && b[name + 2] === 0x54 && b[name + 3] === 0x46 && b[name + 4] === 0) {
      btf = rd32(b, sh(i) + 24);
      btfSize = rd32(b, sh(i) + 32);
    }
  }
  return { shoff, shnum, shentsize, btf: btf < b.length ? btf : -1, btfSize };
}

/** Byte offsets (in the buffer) of the first `limit` type records of the .BTF at `btf`. */
function typeOffsets(b: Uint8Array, btf: number, limit: number): number[] {
  const hdrLen = rd32(b, btf + 4);
  const start = btf + hdrLen + rd32(b, btf + 8);
  const end = Math.min(b.length, start + rd32(b, btf + 12));
  const extra: Record<number, (v: number) => number> = {
    1: () => 4, 3: () => 12, 4: (v) => v * 12, 5: (v) => v * 12, 6: (v) => v * 8, 13: (v) => v * 8, 14: () => 4,
    15: (v) => v * 12, 17: () => 4, 19: (v) => v * 12,
  };
  const out: number[] = [];
  for (let off = start; off + 12 <= end && out.length < limit;) {
    out.push(off);
    const info = rd32(b, off + 4);
    off += 12 + (extra[(info >>> 24) & 0x1f]?.(info & 0xffff) ?? 0);
  }
  return out;
}

const ELF_HEADER_FIELDS: Array<[number, 2 | 4 | 8]> = [[16, 2], [0x28, 8], [0x3a, 2], [0x3c, 2], [0x3e, 2], [4, 1], [5, 1], [0x34, 2]];
const SHDR_FIELDS: Array<[number, 4 | 8]> = [[0, 4], [4, 4], [24, 8], [32, 8], [40, 4], [56, 8]];

/** Applies `ops` to a copy of `seed`. Never throws; an op that finds nothing to act on does nothing. */
export function applyOps(seed: Uint8Array, ops: readonly Op[]): Uint8Array {
  let b = seed.slice();
  for (const o of ops) {
    const n = b.length;
    switch (o.op) {
      case 'flip': if (n) b[o.at % n] ^= 1 << o.bit; break;
      case 'byte': if (n) b[o.at % n] = o.value; break;
      case 'u32': if (n) wr32(b, o.at % n, o.value); break;
      case 'truncate': b = b.slice(0, o.len % (n + 1)); break;
      case 'splice': if (n) { const from = o.from % n; const len = Math.min(o.len, n - from); b.copyWithin(o.to % n, from, from + len); } break;
      case 'insert': {
        const at = n ? o.at % (n + 1) : 0;
        const out = new Uint8Array(n + o.count);
        out.set(b.subarray(0, at));
        out.fill(o.value, at, at + o.count);
        out.set(b.subarray(at), at + o.count);
        b = out;
        break;
      }
      case 'delete': {
        if (!n) break;
        const at = o.at % n;
        const rest = b.subarray(Math.min(n, at + o.len));
        const out = new Uint8Array(at + rest.length);
        out.set(b.subarray(0, at));
        out.set(rest, at);
        b = out;
        break;
      }
      case 'elfHeader': {
        const [at, size] = ELF_HEADER_FIELDS[o.field % ELF_HEADER_FIELDS.length];
        if (size === 1) { if (at < n) b[at] = o.value & 0xff; } else if (size === 2) wr16(b, at, o.value);
        else { wr32(b, at, o.value); wr32(b, at + 4, 0); }
        break;
      }
      case 'shdr': {
        const l = layout(b);
        if (!l.shnum) break;
        const [at, size] = SHDR_FIELDS[o.field % SHDR_FIELDS.length];
        const h = l.shoff + (o.section % l.shnum) * l.shentsize + at;
        wr32(b, h, o.value);
        if (size === 8) wr32(b, h + 4, 0);
        break;
      }
      case 'btfHeader': {
        const l = layout(b);
        if (l.btf >= 0) wr32(b, l.btf + 4 * o.field, o.value);
        break;
      }
      case 'btfType': case 'btfInfo': {
        const l = layout(b);
        if (l.btf < 0) break;
        const offs = typeOffsets(b, l.btf, 4096);
        if (!offs.length) break;
        const t = offs[o.type % offs.length];
        if (o.op === 'btfType') wr32(b, t + 4 * o.word, o.value);
        else wr32(b, t + 4, (((o.kflag ? 1 : 0) << 31) | ((o.kind & 0x1f) << 24) | (o.vlen & 0xffff)) >>> 0);
        break;
      }
      case 'btfStrings': {
        const l = layout(b);
        if (l.btf < 0) break;
        const strStart = l.btf + rd32(b, l.btf + 4) + rd32(b, l.btf + 16);
        const strLen = rd32(b, l.btf + 20);
        if (!strLen || strStart >= b.length) break;
        const at = strStart + (o.at % strLen);
        b.fill(o.value, at, Math.min(b.length, at + o.len, strStart + strLen));
        break;
      }
    }
  }
  return b;
}

/** A short, stable text form of ops for logs and fixture names. */
export function describeOps(ops: readonly Op[]): string {
  return ops.map((o) => Object.values(o).join(':')).join(',');
}
