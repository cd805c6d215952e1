/**
 * A base's types as a flat graph for structural comparison: per type id a hash of its own shape
 * (kind, name text, sizes, member names and offsets, enum values, ... — everything except the ids
 * it refers to) and the ordered list of ids it refers to. Names are hashed by their text, never by
 * their string offset, so two bases whose string tables differ still compare by content.
 */
import { viewOf } from '../bytes.js';
import { Btf } from '../btf/btf.js';
import { Kind } from '../btf/kinds.js';
import { StringTable } from '../btf/strings.js';
import { Hash2 } from './hash.js';

export interface TypeGraph {
  btf: Btf;
  /** nr_types: ids 0 (void) .. count-1. */
  count: number;
  /** Shape hash lanes per id (id 0, void, has a fixed shape). */
  shapeA: Uint32Array;
  shapeB: Uint32Array;
  /** Name-text hash lanes per id (0/0 for anonymous). */
  nameA: Uint32Array;
  nameB: Uint32Array;
  /** 1 when the type has a non-empty name. */
  named: Uint8Array;
  kinds: Uint8Array;
  /** refs[refStart[id] .. refStart[id+1]) are the ids type `id` refers to, in record order. */
  refStart: Uint32Array;
  refs: Uint32Array;
}

const VOID_SEED = 0x766f6964;
const NAME_SEED = 0x6e616d65;

/**
 * Hash lanes of the string at every offset of a string table, computed right to left in one pass,
 * so every suffix of a string shares the work. (Hashing each name where it is met cost records x
 * name length: hostile BTF points 65k records at one 1 MB name.)
 */
function suffixHashes(bytes: Uint8Array): { a: Uint32Array; b: Uint32Array } {
  const a = new Uint32Array(bytes.length);
  const b = new Uint32Array(bytes.length);
  const h = new Hash2(NAME_SEED);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] === 0) h.reset(NAME_SEED);
    else h.word(bytes[i]);
    a[i] = h.a;
    b[i] = h.b;
  }
  return { a, b };
}

/** Hashes the string at `offset` by its text (an offset outside the table hashes as such). */
function hashName(h: Hash2, btf: Btf, offset: number, tables: Map<StringTable, { a: Uint32Array; b: Uint32Array }>): void {
  const at = btf.strings.locate(offset);
  if (!at) {
    h.word(0xffffffff).word(offset);
    return;
  }
  let lanes = tables.get(at.table);
  if (!lanes) tables.set(at.table, (lanes = suffixHashes(at.table.bytes)));
  h.pair(lanes.a[at.local], lanes.b[at.local]);
}

/** Builds the graph of a base BTF (ids 1 .. nrTypes-1). */
export function buildTypeGraph(btf: Btf): TypeGraph {
  const count = btf.nrTypes;
  const table = btf.types;
  const view = viewOf(table.bytes);
  const shapeA = new Uint32Array(count);
  const shapeB = new Uint32Array(count);
  const nameA = new Uint32Array(count);
  const nameB = new Uint32Array(count);
  const named = new Uint8Array(count);
  const kinds = new Uint8Array(count);
  const refStart = new Uint32Array(count + 1);
  let refs = new Uint32Array(Math.max(16, count * 4));
  let nrefs = 0;
  const addRef = (id: number): void => {
    if (nrefs === refs.length) {
      const grown = new Uint32Array(refs.length * 2);
      grown.set(refs);
      refs = grown;
    }
    refs[nrefs++] = id;
  };
  const h = new Hash2();
  const nh = new Hash2();
  const tables = new Map<StringTable, { a: Uint32Array; b: Uint32Array }>();
  h.reset(VOID_SEED);
  shapeA[0] = h.a;
  shapeB[0] = h.b;

  for (let id = btf.startId; id < count; id++) {
    refStart[id] = nrefs;
    const i = id - btf.startId;
    const off = table.offsets[i];
    const nameOff = view.getUint32(off, true);
    const info = view.getUint32(off + 4, true);
    const sizeOrType = view.getUint32(off + 8, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const x = off + 12;
    kinds[id] = kind;
    if (nameOff !== 0) {
      nh.reset(1);
      hashName(nh, btf, nameOff, tables);
      nameA[id] = nh.a;
      nameB[id] = nh.b;
      const s = btf.strings.locate(nameOff);
      named[id] = s && s.local < s.table.bytes.length && s.table.bytes[s.local] !== 0 ? 1 : 0;
    }
    // The kind bits, kflag and vlen; the name by text.
    h.reset(kind).word(info & 0x8000ffff).pair(nameA[id], nameB[id]);
    switch (kind) {
      case Kind.INT:
        h.word(sizeOrType).word(view.getUint32(x, true));
        break;
      case Kind.PTR: case Kind.TYPEDEF: case Kind.VOLATILE: case Kind.CONST: case Kind.RESTRICT:
      case Kind.TYPE_TAG: case Kind.FUNC:
        addRef(sizeOrType);
        break;
      case Kind.ARRAY:
        h.word(view.getUint32(x + 8, true));
        addRef(view.getUint32(x, true));
        addRef(view.getUint32(x + 4, true));
        break;
      case Kind.STRUCT: case Kind.UNION:
        h.word(sizeOrType);
        for (let k = 0, m = x; k < vlen; k++, m += 12) {
          hashName(h, btf, view.getUint32(m, true), tables);
          h.word(view.getUint32(m + 8, true));
          addRef(view.getUint32(m + 4, true));
        }
        break;
      case Kind.ENUM:
        h.word(sizeOrType);
        for (let k = 0, e = x; k < vlen; k++, e += 8) {
          hashName(h, btf, view.getUint32(e, true), tables);
          h.word(view.getUint32(e + 4, true));
        }
        break;
      case Kind.ENUM64:
        h.word(sizeOrType);
        for (let k = 0, e = x; k < vlen; k++, e += 12) {
          hashName(h, btf, view.getUint32(e, true), tables);
          h.pair(view.getUint32(e + 4, true), view.getUint32(e + 8, true));
        }
        break;
      case Kind.FUNC_PROTO:
        addRef(sizeOrType);
        for (let k = 0, p = x; k < vlen; k++, p += 8) {
          hashName(h, btf, view.getUint32(p, true), tables);
          addRef(view.getUint32(p + 4, true));
        }
        break;
      case Kind.VAR:
        h.word(view.getUint32(x, true));
        addRef(sizeOrType);
        break;
      case Kind.DATASEC:
        h.word(sizeOrType);
        for (let k = 0, s = x; k < vlen; k++, s += 12) {
          h.pair(view.getUint32(s + 4, true), view.getUint32(s + 8, true));
          addRef(view.getUint32(s, true));
        }
        break;
      case Kind.DECL_TAG:
        h.word(view.getUint32(x, true));
        addRef(sizeOrType);
        break;
      default:
        // FWD (kflag is in the info word), FLOAT and anything else: the size/type word as data.
        h.word(sizeOrType);
    }
    shapeA[id] = h.a;
    shapeB[id] = h.b;
  }
  refStart[count] = nrefs;
  return { btf, count, shapeA, shapeB, nameA, nameB, named, kinds, refStart, refs: refs.subarray(0, nrefs) };
}
