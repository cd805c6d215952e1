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
  /** Set a .BTF type's info word: kind (7 bits, as 7.2+ reads it), vlen (24 bits) and kflag as given. */
  | { op: 'btfInfo'; type: number; kind: number; vlen: number; kflag: boolean }
  /**
   * Rewrite the .BTF with 7.1's 32-byte header and a layout section of `len` bytes, the type,
   * string and layout sections in `order` (one of the six), `hdrLen` one of HDR_LENS, and
   * layout_off moved by `skew` (0: exact tiling). In an ELF the new .BTF is appended to the file
   * and the section header pointed at it.
   */
  | { op: 'btfLayout'; order: number; len: number; hdrLen: number; skew: number }
  /** Overwrite the .BTF string section's bytes at `at` with non-NUL bytes (strings without NUL). */
  | { op: 'btfStrings'; at: number; len: number; value: number };

const u32Value = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_U32) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffff }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const pos = fc.nat({ max: 0x7fffffff });
/** hdr_len values for btfLayout: 32 mostly; 28 (layout_off only), 24 (none), 40 (a zero or junk tail). */
export const HDR_LENS = [32, 32, 32, 28, 24, 40] as const;
export const layoutLen = fc.oneof(fc.constantFrom(0, 4, 8, 12, 16, 64), fc.nat({ max: 300 }));
export const layoutSkew = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-8, -4, -1, 1, 4, 0x7fffffff, 0xfffffff0) });

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
  { weight: 3, arbitrary: fc.record({ op: fc.constant('btfInfo' as const), type: pos, kind: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 31 }) }, { weight: 1, arbitrary: fc.nat({ max: 127 }) }), vlen: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(0, 1, 2, 0xffff) }, { weight: 2, arbitrary: fc.nat({ max: 0xffff }) }, { weight: 1, arbitrary: fc.constantFrom(0x10000, 0x10001, 0x7fffff, 0xffffff) }), kflag: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('btfLayout' as const), order: fc.nat({ max: 5 }), len: layoutLen, hdrLen: fc.nat({ max: HDR_LENS.length - 1 }), skew: layoutSkew }) },
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
  /** Offset of .BTF's section header, or -1 (raw BTF). */
  btfShdr: number;
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
  const none: Layout = { shoff: 0, shnum: 0, shentsize: 64, btf: -1, btfSize: 0, btfShdr: -1 };
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
  let btfShdr = -1;
  for (let i = 0; i < shnum && sh(i) + 64 <= b.length; i++) {
    const name = strOff + rd32(b, sh(i));
    if (name + 5 <= b.length && b[name] === 0x2e && b[name + 1] === 0x42 && b[name + 2] === 0x54 && b[name + 3] === 0x46 && b[name + 4] === 0) {
      btf = rd32(b, sh(i) + 24);
      btfSize = rd32(b, sh(i) + 32);
      btfShdr = sh(i);
    }
  }
  return { shoff, shnum, shentsize, btf: btf < b.length ? btf : -1, btfSize, btfShdr };
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

const ELF_HEADER_FIELDS: Array<[number, 1 | 2 | 4 | 8]> = [[16, 2], [0x28, 8], [0x3a, 2], [0x3c, 2], [0x3e, 2], [4, 1], [5, 1], [0x34, 2]];
const SHDR_FIELDS: Array<[number, 4 | 8]> = [[0, 4], [4, 4], [24, 8], [32, 8], [40, 4], [56, 8]];

/** Applies `ops` to a copy of `seed`. Never throws; an op that finds nothing to act on does nothing. */
export function applyOps(seed: Uint8Array, ops: readonly Op[]): Uint8Array {
  let b: Uint8Array = seed.slice();
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
        else wr32(b, t + 4, infoWord(o.kind, o.vlen, o.kflag));
        break;
      }
      case 'btfLayout': {
        const l = layout(b);
        if (l.btf < 0) break;
        const size = l.btfShdr < 0 ? b.length : Math.min(l.btfSize, b.length - l.btf);
        const re = relayoutBtf(b.subarray(l.btf, l.btf + size), o);
        if (l.btfShdr < 0) { b = re; break; }
        // Appended (8-aligned) after everything; the section header now points there.
        const at = (b.length + 7) & ~7;
        const out = new Uint8Array(at + re.length);
        out.set(b);
        out.set(re, at);
        wr32(out, l.btfShdr + 24, at); wr32(out, l.btfShdr + 28, 0);
        wr32(out, l.btfShdr + 32, re.length); wr32(out, l.btfShdr + 36, 0);
        b = out;
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

/** An info word as 7.2+ reads it: kind_flag bit 31, kind bits 24-30, vlen bits 0-23. */
export const infoWord = (kind: number, vlen: number, kflag: boolean): number => (((kflag ? 1 : 0) << 31) | ((kind & 0x7f) << 24) | (vlen & 0xffffff)) >>> 0;

const ORDERS = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] as const;

/**
 * Raw BTF rewritten with a 7.1+ header: the type and string sections as found (read leniently,
 * clamped to the data), a layout section of `len` bytes, in one of six orders; hdr_len from
 * HDR_LENS (header bytes past 32 are zero, except with a skew, where they hold junk).
 */
export function relayoutBtf(btf: Uint8Array, o: { order: number; len: number; hdrLen: number; skew: number }): Uint8Array {
  const oldHdr = Math.min(Math.max(rd32(btf, 4), 24), btf.length);
  const sec = (off: number, len: number): Uint8Array => {
    const start = Math.min(oldHdr + off, btf.length);
    return btf.subarray(start, Math.min(btf.length, start + len));
  };
  const types = sec(rd32(btf, 8), rd32(btf, 12));
  const strs = sec(rd32(btf, 16), rd32(btf, 20));
  const layoutBytes = Uint8Array.from({ length: o.len }, (_, i) => (i * 7 + 1) & 0xff);
  const parts = [types, strs, layoutBytes];
  const order = ORDERS[o.order % ORDERS.length];
  const hdrLen = HDR_LENS[o.hdrLen % HDR_LENS.length];
  const offs = [0, 0, 0];
  let total = 0;
  for (const i of order) { offs[i] = total; total += parts[i].length; }
  const out = new Uint8Array(hdrLen + total);
  out.set(btf.subarray(0, 4));
  if (out[0] !== 0x9f) { out[0] = 0x9f; out[1] = 0xeb; out[2] = 1; }
  wr32(out, 4, hdrLen);
  wr32(out, 8, offs[0]); wr32(out, 12, types.length);
  wr32(out, 16, offs[1]); wr32(out, 20, strs.length);
  if (hdrLen >= 28) wr32(out, 24, (offs[2] + o.skew) >>> 0);
  if (hdrLen >= 32) wr32(out, 28, layoutBytes.length);
  if (hdrLen > 32 && o.skew !== 0) out[hdrLen - 1] = 1;
  for (const i of order) out.set(parts[i], hdrLen + offs[i]);
  return out;
}

/** A short, stable text form of ops for logs and fixture names. */
export function describeOps(ops: readonly Op[]): string {
  return ops.map((o) => Object.values(o).join(':')).join(',');
}
