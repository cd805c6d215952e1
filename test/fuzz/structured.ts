/**
 * Structured BTF from fast-check, built with test/helpers/btf-builder: random kinds (valid and
 * not), vlen that does or does not match the records, references that dangle, point forward, to
 * themselves or near 2^32, cycles, modifier chains up to 100k long, strings without their NUL,
 * and header fields at the edges. Generated as a small spec (shrinkable, printable), built on use.
 */
import fc from 'fast-check';
import { extraSize } from '../../lib/btf/kinds.js';
import { BtfBuilder, HeaderOverrides } from '../helpers/btf-builder.js';
import { EDGE_U32, HDR_LENS, infoWord, layoutLen, layoutSkew, relayoutBtf } from './mutate.js';

/** A reference: relative to the first own id (wrapped into a small range), or an absolute value. */
export type Ref = { rel: number } | { abs: number };

export interface TypeSpec {
  kind: number;
  vlen: number;
  kflag: boolean;
  /** Index into the spec's strings, or an absolute name offset. */
  name: { str: number } | { abs: number };
  sizeOrType: Ref | { size: number };
  /** Extra words; `exact` writes as many as the kind and vlen need (records from `words`, cycled). */
  extra: { exact: boolean; words: Array<Ref | { size: number }> };
}

export interface ChainSpec {
  length: number;
  /** Kinds cycled along the chain (modifiers, pointers, typedefs). */
  kinds: number[];
  /** The last link points back to the first. */
  cyclic: boolean;
}

export interface BtfSpec {
  /** Split on the small base (a module) or a base of its own. */
  split: boolean;
  strings: string[];
  types: TypeSpec[];
  chain: ChainSpec | null;
  /** Bytes appended to the string section after the last NUL (a string without its NUL). */
  unterminated: number[];
  header: HeaderOverrides;
  /** 7.1+: rewritten with a 32-byte header and a layout section (mutate.ts relayoutBtf); absent in old cases. */
  layout?: { order: number; len: number; hdrLen: number; skew: number } | null;
}

const edge = fc.constantFrom(...EDGE_U32);
const ref: fc.Arbitrary<Ref> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ rel: fc.integer({ min: -8, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ abs: fc.oneof(edge, fc.nat({ max: 200 })) }) },
);
const size = fc.record({ size: fc.oneof(fc.constantFrom(0, 1, 2, 4, 8, 16, 24, 64), edge, fc.nat({ max: 4096 })) });
const word = fc.oneof(ref, size);

const typeSpec: fc.Arbitrary<TypeSpec> = fc.record({
  // 7.2+ reads 7-bit kinds and 24-bit vlen: kinds past 31 and vlen past 0xffff are new shapes.
  kind: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 1, max: 19 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 31 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 127 }) }),
  vlen: fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 6 }) }, { weight: 1, arbitrary: fc.constantFrom(0xffff, 0x8000, 255, 256) }, { weight: 1, arbitrary: fc.constantFrom(0x10000, 0x10001, 0x800000, 0xffffff) }),
  kflag: fc.boolean(),
  name: fc.oneof({ weight: 6, arbitrary: fc.record({ str: fc.nat({ max: 20 }) }) }, { weight: 1, arbitrary: fc.record({ abs: fc.oneof(edge, fc.nat({ max: 64 })) }) }),
  sizeOrType: word,
  extra: fc.record({
    exact: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    words: fc.array(word, { maxLength: 12 }),
  }),
});

const identifier = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('int', 'long', 'char', 'list_head', 'primary_device', 'x', '.data', 'task_struct', '') },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'abcxyz_019.'.split('')), maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map((s) => s.replace(/\0/g, '')) },
  { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((n) => 'n'.repeat(n)) },
);

export const btfSpecArb: fc.Arbitrary<BtfSpec> = fc.record({
  split: fc.boolean(),
  strings: fc.array(identifier, { maxLength: 20 }),
  types: fc.array(typeSpec, { maxLength: 40 }),
  chain: fc.option(fc.record({
    length: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom(1000, 100_000)),
    kinds: fc.array(fc.constantFrom(2, 8, 9, 10, 11, 18), { minLength: 1, maxLength: 3 }),
    cyclic: fc.boolean(),
  }), { freq: 4 }),
  unterminated: fc.oneof({ weight: 5, arbitrary: fc.constant([] as number[]) }, { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 16 }) }),
  header: fc.oneof(
    { weight: 6, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.record({ hdrLen: edge, typeOff: edge, typeLen: edge, strOff: edge, strLen: edge, flags: fc.nat({ max: 255 }), version: fc.nat({ max: 255 }) }, { requiredKeys: [] }) },
  ),
  layout: fc.option(fc.record({ order: fc.nat({ max: 5 }), len: layoutLen, hdrLen: fc.nat({ max: HDR_LENS.length - 1 }), skew: layoutSkew }), { freq: 4 }),
});

/** Records past this many bytes are not written out for a huge (24-bit) vlen: only the words given. */
const MAX_EXACT_EXTRA = 1 << 20;

/** Builds the spec's raw BTF; `baseBuilder` is the base a split spec continues from. */
export function buildBtf(spec: BtfSpec, baseBuilder: BtfBuilder): Uint8Array {
  const b = spec.split ? BtfBuilder.splitOf(baseBuilder) : new BtfBuilder();
  const strOffs = spec.strings.map((s) => b.str(s));
  const first = b.startId;
  const span = spec.types.length + (spec.chain ? Math.min(spec.chain.length, 64) : 0) + 4;
  const resolve = (r: Ref | { size: number }): number => {
    if ('size' in r) return r.size >>> 0;
    if ('abs' in r) return r.abs >>> 0;
    // Relative references land on own types, the base's last few, or just past the end.
    return Math.max(0, first + (((r.rel % span) + span) % span) - 4) >>> 0;
  };
  for (const t of spec.types) {
    const nameOff = 'str' in t.name ? (strOffs.length ? strOffs[t.name.str % strOffs.length] : 0) : t.name.abs;
    const need = extraSize(t.kind, t.vlen);
    const words = t.extra.words.map(resolve);
    let extra: number[];
    if (t.extra.exact && need >= 0 && need <= MAX_EXACT_EXTRA) {
      extra = [];
      for (let i = 0; i < need / 4; i++) extra.push(words.length ? words[i % words.length] : 0);
    } else {
      extra = words;
    }
    // The builder writes 5-bit kinds and 16-bit vlen: the whole info word for the wider ones.
    const info = t.kind > 31 || t.vlen > 0xffff ? infoWord(t.kind, t.vlen, t.kflag) : undefined;
    b.add({ nameOff, kind: t.kind, vlen: t.vlen, kflag: t.kflag, sizeOrType: resolve(t.sizeOrType), extra, info });
  }
  if (spec.chain) {
    const start = b.nextId;
    for (let i = 0; i < spec.chain.length; i++) {
      const kind = spec.chain.kinds[i % spec.chain.kinds.length];
      const last = i === spec.chain.length - 1;
      const target = last ? (spec.chain.cyclic ? start : 0) : b.nextId + 1;
      b.add({ nameOff: kind === 8 || kind === 18 ? b.str('t') : 0, kind, sizeOrType: target });
    }
  }
  if (spec.unterminated.length) b.rawStr(spec.unterminated);
  const raw = b.build();
  // Header fields written over the built header (the builder would allocate hdr_len bytes).
  const v = new DataView(raw.buffer);
  const h = spec.header;
  if (h.version !== undefined) raw[2] = h.version & 0xff;
  if (h.flags !== undefined) raw[3] = h.flags & 0xff;
  const fields: Array<[number | undefined, number]> = [[h.hdrLen, 4], [h.typeOff, 8], [h.typeLen, 12], [h.strOff, 16], [h.strLen, 20]];
  for (const [value, at] of fields) if (value !== undefined) v.setUint32(at, value >>> 0, true);
  return spec.layout ? relayoutBtf(raw, spec.layout) : raw;
}
