/**
 * The type section: one linear scan builds an offset index (4 bytes a type), and each type is
 * decoded from the raw bytes only when asked for (cilium/ebpf's lazy decoding, in miniature).
 */
import { viewOf } from '../bytes.js';
import { InputError } from '../errors.js';
import { extraSize, infoKflag, infoKind, infoVlen, Kind, kindName, TYPE_HEADER_SIZE } from './kinds.js';

export interface Member { nameOff: number; type: number; /** bit offset (kflag: low 24 bits) */ bitsOffset: number; bitfieldSize: number }
export interface EnumValue { nameOff: number; value: bigint }
export interface Param { nameOff: number; type: number }
export interface VarSecInfo { type: number; offset: number; size: number }

/** One decoded type, as plain data. Fields beyond the common ones are present per kind. */
export interface BtfType {
  id: number;
  kind: number;
  kindName: string;
  nameOff: number;
  info: number;
  vlen: number;
  kflag: boolean;
  /** The size_type field: a size for INT, STRUCT, UNION, ENUM, ENUM64, DATASEC and FLOAT, else a type id. */
  sizeOrType: number;
  /** Byte offset of the record inside the type section, and its full length. */
  offset: number;
  length: number;
  int?: { encoding: number; offset: number; bits: number };
  array?: { type: number; indexType: number; nelems: number };
  members?: Member[];
  values?: EnumValue[];
  params?: Param[];
  linkage?: number;
  secinfos?: VarSecInfo[];
  componentIdx?: number;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** extraSize() in words, split into a fixed part (-1: no such kind) and a part per vlen item. */
const FIXED_EXTRA_WORDS = new Int8Array(32).fill(-1);
const PER_VLEN_WORDS = new Uint8Array(32);
for (let kind = 0; kind < 32; kind++) {
  const none = extraSize(kind, 0);
  if (none < 0) continue;
  FIXED_EXTRA_WORDS[kind] = none / 4;
  PER_VLEN_WORDS[kind] = (extraSize(kind, 1) - none) / 4;
}

export class TypeTable {
  /** Byte offset of each type in `bytes`, in id order. */
  readonly offsets: Uint32Array;
  private readonly view: DataView;
  private wordsCache: Uint32Array | undefined;
  /** The type section (on a little-endian host, 4-byte aligned: copied when it was not). */
  readonly bytes: Uint8Array;

  /**
   * @param bytes the type section alone
   * @param firstId the id of its first type (1 for a base, the base's nr_types for split BTF),
   *   used only to name types in error messages
   */
  constructor(bytes: Uint8Array, readonly firstId: number) {
    // A module's .BTF often sits at an odd offset of its ELF file: a copy (a module's is ~100 KB)
    // is aligned, so the index and `words` read it in whole words instead of a call per field.
    if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
    this.bytes = bytes;
    this.view = viewOf(bytes);
    // Every type takes at least 12 bytes, so this bounds the index without a first pass.
    const index = new Uint32Array(Math.floor(bytes.length / TYPE_HEADER_SIZE));
    let count = 0;
    let off = 0;
    // On a little-endian host (the section aligned above) in whole words with a table per kind: a
    // hook checking one module scans the base's ~100k types in a cold process, where a call per
    // type costs. It stops at anything unusual and leaves that to the checked loop below.
    if (LITTLE_ENDIAN_HOST) {
      const words = this.words;
      const end = words.length;
      let w = 0;
      while (end - w >= 3) {
        const info = words[w + 1];
        const kind = (info >>> 24) & 0x1f;
        const fixed = FIXED_EXTRA_WORDS[kind];
        if (fixed < 0) break;
        const len = 3 + fixed + PER_VLEN_WORDS[kind] * (info & 0xffff);
        if (len > end - w) break;
        index[count++] = w << 2;
        w += len;
      }
      off = w << 2;
    }
    while (off < bytes.length) {
      if (bytes.length - off < TYPE_HEADER_SIZE) {
        throw new InputError(`type [${firstId + count}] is truncated: ${bytes.length - off} bytes left in the type section`);
      }
      const info = this.view.getUint32(off + 4, true);
      const extra = extraSize(infoKind(info), infoVlen(info));
      if (extra < 0) throw new InputError(`type [${firstId + count}] has unknown kind ${infoKind(info)}`);
      const len = TYPE_HEADER_SIZE + extra;
      if (len > bytes.length - off) {
        throw new InputError(`type [${firstId + count}] ${kindName(infoKind(info))} needs ${len} bytes, ${bytes.length - off} left in the type section`);
      }
      index[count++] = off;
      off += len;
    }
    this.offsets = index.subarray(0, count);
  }

  get count(): number {
    return this.offsets.length;
  }

  /** Raw fields of the type at local index `i` (0-based inside this table). */
  nameOff(i: number): number { return this.view.getUint32(this.offsets[i], true); }
  info(i: number): number { return this.view.getUint32(this.offsets[i] + 4, true); }
  sizeOrType(i: number): number { return this.view.getUint32(this.offsets[i] + 8, true); }
  kind(i: number): number { return infoKind(this.info(i)); }
  vlen(i: number): number { return infoVlen(this.info(i)); }
  /** Word `k` of local type `i`'s record: 0 name_off, 1 info, 2 size_type, then the kind's data. */
  word(i: number, k: number): number { return this.view.getUint32(this.offsets[i] + 4 * k, true); }

  /**
   * The section as 32-bit words (every record is a whole number of them, so type `i` starts at word
   * `offsets[i] / 4`), for reading many fields without a call each: a view of the bytes when the
   * host is little-endian and they are aligned, else a copy. Made on first use.
   */
  get words(): Uint32Array {
    if (!this.wordsCache) {
      const b = this.bytes;
      const n = b.length >>> 2;
      if (LITTLE_ENDIAN_HOST && b.byteOffset % 4 === 0) {
        this.wordsCache = new Uint32Array(b.buffer, b.byteOffset, n);
      } else {
        const w = new Uint32Array(n);
        for (let k = 0; k < n; k++) w[k] = this.view.getUint32(4 * k, true);
        this.wordsCache = w;
      }
    }
    return this.wordsCache;
  }

  /** Fully decodes local type `i` whose id is `id`. */
  decode(i: number, id: number): BtfType {
    const v = this.view;
    const off = this.offsets[i];
    const info = v.getUint32(off + 4, true);
    const kind = infoKind(info);
    const vlen = infoVlen(info);
    const kflag = infoKflag(info);
    const t: BtfType = {
      id, kind, kindName: kindName(kind), nameOff: v.getUint32(off, true), info, vlen, kflag,
      sizeOrType: v.getUint32(off + 8, true), offset: off, length: TYPE_HEADER_SIZE + extraSize(kind, vlen),
    };
    const x = off + TYPE_HEADER_SIZE;
    switch (kind) {
      case Kind.INT: {
        const data = v.getUint32(x, true);
        t.int = { encoding: (data >>> 24) & 0x0f, offset: (data >>> 16) & 0xff, bits: data & 0xff };
        break;
      }
      case Kind.ARRAY:
        t.array = { type: v.getUint32(x, true), indexType: v.getUint32(x + 4, true), nelems: v.getUint32(x + 8, true) };
        break;
      case Kind.STRUCT: case Kind.UNION:
        t.members = [];
        for (let k = 0; k < vlen; k++) {
          const m = x + k * 12;
          const raw = v.getUint32(m + 8, true);
          t.members.push({
            nameOff: v.getUint32(m, true), type: v.getUint32(m + 4, true),
            bitsOffset: kflag ? raw & 0xffffff : raw, bitfieldSize: kflag ? raw >>> 24 : 0,
          });
        }
        break;
      case Kind.ENUM:
        t.values = [];
        for (let k = 0; k < vlen; k++) {
          const e = x + k * 8;
          const raw = v.getUint32(e + 4, true);
          // kflag marks a signed enum; the value is stored as 32 bits either way.
          t.values.push({ nameOff: v.getUint32(e, true), value: kflag ? BigInt(raw | 0) : BigInt(raw) });
        }
        break;
      case Kind.ENUM64:
        t.values = [];
        for (let k = 0; k < vlen; k++) {
          const e = x + k * 12;
          const lo = BigInt(v.getUint32(e + 4, true));
          const hi = BigInt(v.getUint32(e + 8, true));
          const u = (hi << 32n) | lo;
          t.values.push({ nameOff: v.getUint32(e, true), value: kflag ? BigInt.asIntN(64, u) : u });
        }
        break;
      case Kind.FUNC_PROTO:
        t.params = [];
        for (let k = 0; k < vlen; k++) {
          const p = x + k * 8;
          t.params.push({ nameOff: v.getUint32(p, true), type: v.getUint32(p + 4, true) });
        }
        break;
      case Kind.FUNC:
        t.linkage = vlen;
        break;
      case Kind.VAR:
        t.linkage = v.getUint32(x, true);
        break;
      case Kind.DATASEC:
        t.secinfos = [];
        for (let k = 0; k < vlen; k++) {
          const s = x + k * 12;
          t.secinfos.push({ type: v.getUint32(s, true), offset: v.getUint32(s + 4, true), size: v.getUint32(s + 8, true) });
        }
        break;
      case Kind.DECL_TAG:
        t.componentIdx = v.getInt32(x, true);
        break;
    }
    return t;
  }
}
