/**
 * What the finding rules read: the module's split BTF read in place (its type section as 32-bit
 * words, no object per type), every type reference and every name offset it carries as flat typed
 * arrays, and type resolution across base and split (kinds, sizes) without recursion, memoized per
 * base so that a thousand modules checked against one base share the work. Nothing here walks the
 * base as a whole: a module pays for the base types it refers to, not for the ~100k there are.
 */
import { Btf } from '../btf/btf.js';
import { latin1 } from '../bytes.js';
import { isModifier, Kind, kindName } from '../btf/kinds.js';
import { BtfType, TypeTable } from '../btf/types.js';

/** Where a type id is used; decides which kinds make sense as its target. */
export const enum RefUse {
  Member = 0, ArrayElem = 1, ArrayIndex = 2, Pointer = 3, Modifier = 4, Func = 5, Return = 6,
  Param = 7, Var = 8, DatasecEntry = 9, DeclTag = 10,
}
export const REF_USES = 11;

/** A type reference made by a module type: `fromIndex` is the module-local index of the referrer. */
export interface TypeRef {
  fromIndex: number;
  id: number;
  use: RefUse;
  /** Member, parameter or DATASEC entry index; -1 for the type's own size_type field. */
  slot: number;
}

/** Which name of a type a name offset is: the type's own, or that of a member, enumerator or parameter. */
export const enum NameSlot { Type = 0, Member = 1, Enumerator = 2, Param = 3 }

/** How messages call a name: `name`, `member 3 name`, ... */
export function nameSlotLabel(slot: NameSlot, index: number): string {
  switch (slot) {
    case NameSlot.Type: return 'name';
    case NameSlot.Member: return `member ${index} name`;
    case NameSlot.Enumerator: return `enumerator ${index} name`;
    case NameSlot.Param: return `parameter ${index} name`;
  }
}

/** Sentinels stored in the size memo (real sizes are >= 0). */
const SIZE_UNKNOWN = -1; // not computed yet
export const SIZE_NONE = -2; // the type has no size: void, FWD, FUNC, FUNC_PROTO, VAR, DATASEC, DECL_TAG
export const SIZE_BROKEN = -3; // a dangling id or a cycle on the way
const SIZE_IN_PROGRESS = -4;

/**
 * Why sizeOf() found no size, as a code and a type id, so that a message is only formatted for
 * findings that are listed (see sizeFailureText).
 */
export const enum SizeFailure {
  Void = 0, Cycle = 1, BrokenBelow = 2, Missing = 3, NoSizeKnown = 4, KindHasNoSize = 5, Broken = 6,
}

/** A pointer's size when the base does not tell (BTF does not record it): 64-bit kernels. */
export const POINTER_SIZE = 8;

const baseSizeMemo = new WeakMap<Btf, Float64Array>();
const pointerSizeMemo = new WeakMap<Btf, number>();

/** The names `long` goes by in BTF. */
const LONG_NAMES = ['long int', 'long unsigned int', 'long', 'unsigned long'];

/** The size of local type `i` when it is an INT named as `long` is and 4 or 8 bytes, else undefined. */
function longSizeAt(base: Btf, i: number): number | undefined {
  const types = base.types;
  if (types.kind(i) !== Kind.INT || !LONG_NAMES.includes(base.str(types.nameOff(i)) ?? '')) return undefined;
  const s = types.sizeOrType(i);
  return s === 4 || s === 8 ? s : undefined;
}

/**
 * `long` found by binary search on names: 7.x bases are sorted by name (anonymous types first),
 * where a scan would walk ~90k types to reach "long int". On any other base the search lands on
 * something else and finds nothing; an INT that bears one of the names is the answer wherever it is.
 */
function longSizeBySortedName(base: Btf): number | undefined {
  const types = base.types;
  for (const want of LONG_NAMES) {
    let lo = 0;
    let hi = types.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((base.str(types.nameOff(mid)) ?? '') < want) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < types.count && i < lo + 8 && base.str(types.nameOff(i)) === want; i++) {
      const s = longSizeAt(base, i);
      if (s !== undefined) return s;
    }
  }
  return undefined;
}

/** `long` found by a scan in id order: an unsorted base has it among its first types. */
function longSizeByScan(base: Btf): number | undefined {
  for (let i = 0; i < base.types.count; i++) {
    const s = longSizeAt(base, i);
    if (s !== undefined) return s;
  }
  return undefined;
}

/**
 * The pointer size of the base's architecture: the size of its `long` (as libbpf guesses it), so
 * that 32-bit kernels' structs are not misjudged; POINTER_SIZE when the base has no `long`.
 * Memoized per base.
 */
export function pointerSizeOf(base: Btf): number {
  let size = pointerSizeMemo.get(base);
  if (size === undefined) {
    size = longSizeBySortedName(base) ?? longSizeByScan(base) ?? POINTER_SIZE;
    pointerSizeMemo.set(base, size);
  }
  return size;
}

/** Kinds that are data types with a size of their own or through their target. */
export function isDataKind(kind: number): boolean {
  return kind === Kind.INT || kind === Kind.PTR || kind === Kind.ARRAY || kind === Kind.STRUCT ||
    kind === Kind.UNION || kind === Kind.ENUM || kind === Kind.ENUM64 || kind === Kind.FLOAT || isModifier(kind);
}

/** The kinds each use accepts (void is id 0 and is handled by the caller). */
export function useAccepts(use: RefUse, kind: number): boolean {
  switch (use) {
    case RefUse.Member: case RefUse.ArrayElem: case RefUse.Var:
      return isDataKind(kind);
    case RefUse.ArrayIndex:
      return kind === Kind.INT || isModifier(kind);
    case RefUse.Pointer: case RefUse.Modifier:
      return isDataKind(kind) || kind === Kind.FWD || kind === Kind.FUNC_PROTO;
    case RefUse.Return: case RefUse.Param:
      return isDataKind(kind) || kind === Kind.FWD;
    case RefUse.Func:
      return kind === Kind.FUNC_PROTO;
    case RefUse.DatasecEntry:
      return kind === Kind.VAR;
    case RefUse.DeclTag:
      return kind === Kind.STRUCT || kind === Kind.UNION || kind === Kind.TYPEDEF || kind === Kind.VAR || kind === Kind.FUNC;
  }
}

/** Whether void (id 0) is a valid target for a use (pointer to void, void return, typedef void). */
export function useAcceptsVoid(use: RefUse): boolean {
  return use === RefUse.Pointer || use === RefUse.Modifier || use === RefUse.Return;
}

export function useName(use: RefUse): string {
  return ['member type', 'array element type', 'array index type', 'pointer target', 'modifier target',
    'FUNC type', 'return type', 'parameter type', 'VAR type', 'DATASEC entry', 'DECL_TAG target'][use];
}

/** One pass over the module's own string bytes (see FindingContext.ownStrings). */
export interface OwnStrings {
  /**
   * Per byte: 0 inside a string, STRING_START where a string starts, ODD_STRING_START where a
   * string starts that is not a C identifier (dots allowed: GCC emits `name.part.0`).
   */
  marks: Uint8Array;
  /** Strings in the table (empty ones included), and how many are not C identifiers. */
  count: number;
  odd: number;
  /** Where the last (up to) LAST_STARTS strings start, last first. */
  lastStarts: Uint32Array;
}
export const LAST_STARTS = 256;
const lastStartsRing = new Uint32Array(LAST_STARTS);
export const STRING_START = 1;
export const ODD_STRING_START = 2;

/**
 * A character that makes its string no C identifier: one outside [A-Za-z0-9_.] anywhere (NUL
 * separates strings), or a digit or dot first. Dots are allowed: GCC emits `name.part.0`.
 */
const NOT_IDENTIFIER = /[^A-Za-z0-9_.\0]|(?:^|\0)[0-9.]/g;

/**
 * Decodes bytes one character each. 'latin1' is windows-1252 to TextDecoder, which differs from
 * latin1 only in which characters 0x80-0x9f become, none of them identifier characters; lib's
 * latin1() stands in where an engine has no such decoder.
 */
const latin1Decoder = ((): { decode(bytes: Uint8Array): string } | undefined => {
  try {
    return new TextDecoder('latin1');
  } catch {
    return undefined;
  }
})();

export class FindingContext {
  /** The module's own types: local index i is type id startId + i. */
  readonly count: number;
  readonly startId: number;
  readonly nrTypes: number;
  /** The kind of each own type. */
  readonly kinds: Uint8Array;
  /** The module's type section as words, and the word where each own type's record starts. */
  private readonly words: Uint32Array;
  private readonly at: Uint32Array;

  /**
   * Every type reference the own types make, in type order, one entry per index k: made by own
   * type refFrom[k], to refId[k], used as refUse[k], in member/parameter/entry refSlot[k] (-1: the
   * type's own size_type field).
   */
  readonly refCount: number;
  readonly refFrom: Uint32Array;
  readonly refId: Uint32Array;
  readonly refUse: Uint8Array;
  readonly refSlot: Int32Array;
  /** Reference indexes grouped by use (type order within a use): use u has byUse[useStart[u]] up to byUse[useStart[u + 1]]. */
  readonly byUse: Uint32Array;
  readonly useStart: Uint32Array;

  /**
   * Every name offset the own types carry (type, member, enumerator, parameter names), in type
   * order: nameOffs[k], carried by own type nameOwner[k] as its nameSlot[k] number nameIndex[k].
   */
  readonly nameCount: number;
  readonly nameOffs: Uint32Array;
  readonly nameOwner: Uint32Array;
  readonly nameSlot: Uint8Array;
  readonly nameIndex: Uint16Array;

  /**
   * Where the module's own strings start in its offsets: the inferred build-time base string length
   * when known, else the given base's. Names are read from the module's own table with it, so a
   * wrong base does not garble them.
   */
  ownStringsFrom: number;
  /** Bytes in a pointer, from the base's `long`. */
  readonly pointerSize: number;
  /** Why the last sizeOf() call found no size (see SizeFailure), and at which type. */
  failure: SizeFailure = SizeFailure.Broken;
  failureId = 0;
  private readonly splitSizes: Float64Array;
  private baseSizes: Float64Array | undefined;
  /**
   * The base's type table when the split sits right on a base (as analyze makes it): base type id
   * is its index + 1, no chain to walk.
   */
  private readonly baseTypes: TypeTable | undefined;
  private ownStringsMemo: OwnStrings | undefined;
  /** sizeOf()'s walk, reused between calls. */
  private readonly walkIds: number[] = [];
  private readonly walkMult: number[] = [];

  constructor(readonly split: Btf, readonly base: Btf) {
    const types = split.types;
    const count = types.count;
    const words = types.words;
    const offsets = types.offsets;
    this.count = count;
    this.startId = split.startId;
    this.nrTypes = split.nrTypes;
    this.words = words;
    // First pass: how many references and names there are, to size the arrays.
    let nRefs = 0;
    let nNames = 0;
    for (let i = 0; i < count; i++) {
      const info = words[(offsets[i] >>> 2) + 1];
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      nNames += 1 + (kind === Kind.STRUCT || kind === Kind.UNION || kind === Kind.ENUM || kind === Kind.ENUM64 || kind === Kind.FUNC_PROTO ? vlen : 0);
      nRefs += refsMade(kind, vlen);
    }
    // Every array in one buffer: each typed array above 64 bytes is an allocation of its own
    // (see scratch.ts). Widest elements first, so that each view is aligned.
    const arena = new ArrayBuffer(8 * count + 4 * (count + 4 * nRefs + 2 * nNames + REF_USES + 1) + 2 * nNames + count + nRefs + nNames);
    let used = 0;
    const carve = <T>(make: (buffer: ArrayBuffer, offset: number, length: number) => T, bytes: number, length: number): T => {
      const view = make(arena, used, length);
      used += bytes * length;
      return view;
    };
    this.splitSizes = carve((b, o, n) => new Float64Array(b, o, n), 8, count).fill(SIZE_UNKNOWN);
    const at = carve((b, o, n) => new Uint32Array(b, o, n), 4, count);
    const refFrom = carve((b, o, n) => new Uint32Array(b, o, n), 4, nRefs);
    const refId = carve((b, o, n) => new Uint32Array(b, o, n), 4, nRefs);
    const refSlot = carve((b, o, n) => new Int32Array(b, o, n), 4, nRefs);
    const byUse = carve((b, o, n) => new Uint32Array(b, o, n), 4, nRefs);
    const nameOffs = carve((b, o, n) => new Uint32Array(b, o, n), 4, nNames);
    const nameOwner = carve((b, o, n) => new Uint32Array(b, o, n), 4, nNames);
    const useStart = carve((b, o, n) => new Uint32Array(b, o, n), 4, REF_USES + 1);
    const nameIndex = carve((b, o, n) => new Uint16Array(b, o, n), 2, nNames);
    const kinds = carve((b, o, n) => new Uint8Array(b, o, n), 1, count);
    const refUse = carve((b, o, n) => new Uint8Array(b, o, n), 1, nRefs);
    const nameSlot = carve((b, o, n) => new Uint8Array(b, o, n), 1, nNames);
    for (let i = 0; i < count; i++) {
      const w = offsets[i] >>> 2;
      at[i] = w;
      kinds[i] = (words[w + 1] >>> 24) & 0x1f;
    }
    this.at = at;
    this.kinds = kinds;

    let r = 0;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const w = at[i];
      const kind = kinds[i];
      const vlen = words[w + 1] & 0xffff;
      nameOffs[n] = words[w]; nameOwner[n] = i; n++;
      // One reference through the size_type field, or the kind's own list.
      let use = -1;
      switch (kind) {
        case Kind.PTR: use = RefUse.Pointer; break;
        case Kind.TYPEDEF: case Kind.CONST: case Kind.VOLATILE: case Kind.RESTRICT: case Kind.TYPE_TAG: use = RefUse.Modifier; break;
        case Kind.FUNC: use = RefUse.Func; break;
        case Kind.VAR: use = RefUse.Var; break;
        case Kind.DECL_TAG: use = RefUse.DeclTag; break;
        case Kind.ARRAY:
          refFrom[r] = i; refId[r] = words[w + 3]; refUse[r] = RefUse.ArrayElem; refSlot[r] = -1; r++;
          refFrom[r] = i; refId[r] = words[w + 4]; refUse[r] = RefUse.ArrayIndex; refSlot[r] = -1; r++;
          break;
        case Kind.STRUCT: case Kind.UNION:
          for (let k = 0; k < vlen; k++) {
            refFrom[r] = i; refId[r] = words[w + 4 + 3 * k]; refUse[r] = RefUse.Member; refSlot[r] = k; r++;
            nameOffs[n] = words[w + 3 + 3 * k]; nameOwner[n] = i; nameSlot[n] = NameSlot.Member; nameIndex[n] = k; n++;
          }
          break;
        case Kind.ENUM: case Kind.ENUM64: {
          const stride = kind === Kind.ENUM ? 2 : 3;
          for (let k = 0; k < vlen; k++) {
            nameOffs[n] = words[w + 3 + stride * k]; nameOwner[n] = i; nameSlot[n] = NameSlot.Enumerator; nameIndex[n] = k; n++;
          }
          break;
        }
        case Kind.FUNC_PROTO:
          refFrom[r] = i; refId[r] = words[w + 2]; refUse[r] = RefUse.Return; refSlot[r] = -1; r++;
          for (let k = 0; k < vlen; k++) {
            refFrom[r] = i; refId[r] = words[w + 4 + 2 * k]; refUse[r] = RefUse.Param; refSlot[r] = k; r++;
            nameOffs[n] = words[w + 3 + 2 * k]; nameOwner[n] = i; nameSlot[n] = NameSlot.Param; nameIndex[n] = k; n++;
          }
          break;
        case Kind.DATASEC:
          for (let k = 0; k < vlen; k++) {
            refFrom[r] = i; refId[r] = words[w + 3 + 3 * k]; refUse[r] = RefUse.DatasecEntry; refSlot[r] = k; r++;
          }
          break;
      }
      if (use >= 0) {
        refFrom[r] = i; refId[r] = words[w + 2]; refUse[r] = use; refSlot[r] = -1; r++;
      }
    }
    this.refCount = nRefs;
    this.refFrom = refFrom;
    this.refId = refId;
    this.refUse = refUse;
    this.refSlot = refSlot;
    this.nameCount = nNames;
    this.nameOffs = nameOffs;
    this.nameOwner = nameOwner;
    this.nameSlot = nameSlot;
    this.nameIndex = nameIndex;

    // Group by use with a counting sort, which keeps type order within each use.
    for (let k = 0; k < nRefs; k++) useStart[refUse[k] + 1]++;
    for (let u = 0; u < REF_USES; u++) useStart[u + 1] += useStart[u];
    const fill = useStart.slice(0, REF_USES);
    for (let k = 0; k < nRefs; k++) byUse[fill[refUse[k]]++] = k;
    this.byUse = byUse;
    this.useStart = useStart;

    this.ownStringsFrom = split.startStrOff;
    this.pointerSize = pointerSizeOf(base);
    // Undefined until some module sizes a base type (memoSet makes it then).
    this.baseSizes = baseSizeMemo.get(base);
    this.baseTypes = split.base === base && base.base === undefined && base.startId === 1 ? base.types : undefined;
  }

  // Fields of own type i (a local index), read from its record.
  ownNameOff(i: number): number { return this.words[this.at[i]]; }
  ownVlen(i: number): number { return this.words[this.at[i] + 1] & 0xffff; }
  /** The size_type field: a size or a type id, by kind. */
  ownSizeOrType(i: number): number { return this.words[this.at[i] + 2]; }
  memberNameOff(i: number, k: number): number { return this.words[this.at[i] + 3 + 3 * k]; }
  memberType(i: number, k: number): number { return this.words[this.at[i] + 4 + 3 * k]; }
  /** A member's bit offset (with kflag, the low 24 bits of the field). */
  memberBitsOffset(i: number, k: number): number {
    const raw = this.words[this.at[i] + 5 + 3 * k];
    return this.words[this.at[i] + 1] >>> 31 ? raw & 0xffffff : raw;
  }
  /** A member's bitfield size (kflag only, else 0). */
  memberBitfieldSize(i: number, k: number): number {
    return this.words[this.at[i] + 1] >>> 31 ? this.words[this.at[i] + 5 + 3 * k] >>> 24 : 0;
  }
  paramNameOff(i: number, k: number): number { return this.words[this.at[i] + 3 + 2 * k]; }
  arrayElemType(i: number): number { return this.words[this.at[i] + 3]; }
  arrayNelems(i: number): number { return this.words[this.at[i] + 5]; }
  secinfoOffset(i: number, k: number): number { return this.words[this.at[i] + 4 + 3 * k]; }
  secinfoSize(i: number, k: number): number { return this.words[this.at[i] + 5 + 3 * k]; }
  declTagComponent(i: number): number { return this.words[this.at[i] + 3] | 0; }

  /** The kind of type `id`: Kind.UNKN (0) for void, undefined when the id does not exist. */
  kindOf(id: number): number | undefined {
    if (id === 0) return Kind.UNKN;
    if (id >= this.startId) return id - this.startId < this.count ? this.kinds[id - this.startId] : undefined;
    return this.baseTypes ? this.baseTypes.kind(id - 1) : this.split.kind(id);
  }

  has(id: number): boolean {
    if (id >= this.startId) return id - this.startId < this.count;
    return this.baseTypes ? id !== 0 : this.split.has(id);
  }

  /** The raw size_type field of an existing type (own or base). */
  sizeOrTypeOf(id: number): number {
    if (id >= this.startId) return this.ownSizeOrType(id - this.startId);
    return this.baseTypes ? this.baseTypes.sizeOrType(id - 1) : this.split.sizeOrType(id)!;
  }

  /** vlen of an existing type (own or base). */
  vlenOf(id: number): number {
    if (id >= this.startId) return this.ownVlen(id - this.startId);
    const btf = this.split.holderOf(id)!;
    return btf.types.vlen(id - btf.startId);
  }

  /** The data word after an existing INT's header (encoding, bit offset, bits). */
  intDataOf(id: number): number {
    if (id >= this.startId) return this.words[this.at[id - this.startId] + 3];
    const btf = this.split.holderOf(id)!;
    return btf.types.word(id - btf.startId, 3);
  }

  /** Every name offset the module's own types carry (type, member, enumerator, parameter names). */
  nameOffsets(): Uint32Array {
    return this.nameOffs;
  }

  /**
   * Where the module's own strings start and which are not C identifiers, from one pass over its
   * string bytes (inference and the non-C-name rule both need it).
   */
  ownStrings(): OwnStrings {
    if (this.ownStringsMemo) return this.ownStringsMemo;
    const bytes = this.split.strings.bytes;
    const len = bytes.length;
    // Marks and the last starts in one buffer (one allocation, see scratch.ts).
    const marksBytes = (len + 3) & ~3;
    const buffer = new ArrayBuffer(marksBytes + 4 * LAST_STARTS);
    const marks = new Uint8Array(buffer, 0, len);
    // String starts: from NUL to NUL by indexOf, which the engine does natively (a byte loop in
    // JavaScript costs a module checked alone, still interpreted, a few milliseconds).
    let count = 0;
    const ring = lastStartsRing; // the latest starts (LAST_STARTS is a power of two)
    for (let at = 0; at < len;) {
      marks[at] = STRING_START;
      ring[count & (LAST_STARTS - 1)] = at;
      count++;
      const nul = bytes.indexOf(0, at);
      if (nul < 0) break;
      at = nul + 1;
    }
    // Strings that are not C identifiers, by a regular expression over the bytes as latin1 text
    // (one character per byte, so positions carry over).
    let odd = 0;
    const text = latin1Decoder ? latin1Decoder.decode(bytes) : latin1(bytes, 0, len);
    NOT_IDENTIFIER.lastIndex = 0;
    for (let found = NOT_IDENTIFIER.exec(text); found; found = NOT_IDENTIFIER.exec(text)) {
      // The offending character (a match may begin with the NUL before it), and its string.
      const at = found.index + found[0].length - 1;
      const start = text.lastIndexOf('\0', at - 1) + 1;
      if (marks[start] !== ODD_STRING_START) {
        marks[start] = ODD_STRING_START;
        odd++;
      }
    }
    const lastStarts = new Uint32Array(buffer, marksBytes, Math.min(count, LAST_STARTS));
    for (let k = 0; k < lastStarts.length; k++) lastStarts[k] = ring[(count - 1 - k) & (LAST_STARTS - 1)];
    this.ownStringsMemo = { marks, count, odd, lastStarts };
    return this.ownStringsMemo;
  }

  /** The module's own string at `offset` (counted from ownStringsFrom) if it starts a string there. */
  ownStringAt(offset: number): string | undefined {
    const bytes = this.split.strings.bytes;
    const local = offset - this.ownStringsFrom;
    if (local < 0 || local >= bytes.length || (local > 0 && bytes[local - 1] !== 0)) return undefined;
    let end = local;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return latin1(bytes, local, end);
  }

  /** `[id] KIND 'name'` for messages, the name cut short when a hostile file makes it huge. */
  describe(id: number): string {
    const d = this.split.describe(id);
    return d.length > 120 ? `${d.slice(0, 116)}...'` : d;
  }

  /** The type `id` leads to through typedefs and qualifiers: its id, or undefined (dangling or a cycle). */
  resolveModifiers(id: number): number | undefined {
    // Every id walked through is remembered with the result (-1: none), so members pointing
    // anywhere into one 100k-long chain cost the chain once, not once each (hostile modules:
    // 65k members x 100k links was a minute).
    const memo = (this.resolvedMemo ??= new Map<number, number>());
    const path: number[] = [];
    let cur = id;
    let result: number | undefined;
    // A chain longer than the number of types must contain a cycle.
    for (let steps = 0; ; steps++) {
      const known = memo.get(cur);
      if (known !== undefined) { result = known < 0 ? undefined : known; break; }
      if (steps > this.nrTypes) { result = undefined; break; }
      if (cur === 0) { result = 0; break; }
      const kind = this.kindOf(cur);
      if (kind === undefined) { result = undefined; break; }
      if (!isModifier(kind)) { result = cur; break; }
      path.push(cur);
      cur = this.sizeOrTypeOf(cur);
    }
    for (const p of path) memo.set(p, result ?? -1);
    return result;
  }

  private resolvedMemo?: Map<number, number>;

  private memoGet(id: number): number {
    if (id >= this.startId) return this.splitSizes[id - this.startId];
    return this.baseSizes ? this.baseSizes[id] : SIZE_UNKNOWN;
  }

  private memoSet(id: number, v: number): void {
    if (id >= this.startId) {
      this.splitSizes[id - this.startId] = v;
      return;
    }
    if (!this.baseSizes) {
      // Made on the first base type sized, shared by every module checked against this base.
      let memo = baseSizeMemo.get(this.base);
      if (!memo) {
        memo = new Float64Array(this.base.nrTypes).fill(SIZE_UNKNOWN);
        baseSizeMemo.set(this.base, memo);
      }
      this.baseSizes = memo;
    }
    // The shared memo keeps sizes only: why a base type has none depends on the walk that found
    // it (sizeFailureText), so a remembered failure would make one module's message depend on
    // which modules were checked before it. Failures are rare and re-walked.
    this.baseSizes[id] = v < 0 && v !== SIZE_IN_PROGRESS ? SIZE_UNKNOWN : v;
  }

  /**
   * The byte size of type `id` as the kernel's btf_type_id_size() resolves it (through modifiers
   * and arrays), iteratively: a 100k-long modifier chain costs a loop, not a stack. A negative
   * result (or NaN, from a product of huge arrays) means no size: `failure` and `failureId` then
   * say why, for sizeFailureText.
   */
  sizeOf(id: number): number {
    if (id === 0) return this.fail(SIZE_NONE, SizeFailure.Void, 0);
    // Most calls ask for a size already known: answer those without the walk.
    const memo = id >= this.startId ? (id - this.startId < this.count ? this.splitSizes[id - this.startId] : SIZE_BROKEN)
      : this.baseTypes && this.baseSizes ? this.baseSizes[id] : SIZE_UNKNOWN;
    if (memo >= 0) return memo;
    const walkIds = this.walkIds;
    const walkMult = this.walkMult;
    let depth = 0;
    let cur = id;
    let result: number;
    let failure = SizeFailure.Broken;
    for (;;) {
      const known = cur === 0 ? SIZE_NONE : this.has(cur) ? this.memoGet(cur) : SIZE_BROKEN;
      if (known === SIZE_IN_PROGRESS) { result = SIZE_BROKEN; failure = SizeFailure.Cycle; break; }
      if (known !== SIZE_UNKNOWN) {
        result = known;
        if (known === SIZE_BROKEN) failure = cur === 0 || this.has(cur) ? SizeFailure.BrokenBelow : SizeFailure.Missing;
        if (known === SIZE_NONE) failure = cur === 0 ? SizeFailure.Void : SizeFailure.NoSizeKnown;
        break;
      }
      const kind = this.kindOf(cur)!;
      if (isModifier(kind) || kind === Kind.ARRAY) {
        this.memoSet(cur, SIZE_IN_PROGRESS);
        walkIds[depth] = cur;
        if (kind === Kind.ARRAY) {
          walkMult[depth++] = this.arrayNelemsOf(cur);
          cur = this.arrayElemTypeOf(cur);
        } else {
          walkMult[depth++] = 1;
          cur = this.sizeOrTypeOf(cur);
        }
        continue;
      }
      switch (kind) {
        case Kind.INT: case Kind.STRUCT: case Kind.UNION: case Kind.ENUM: case Kind.ENUM64: case Kind.FLOAT:
          result = this.sizeOrTypeOf(cur); break;
        case Kind.PTR:
          result = this.pointerSize; break;
        default:
          result = SIZE_NONE; failure = SizeFailure.KindHasNoSize;
      }
      this.memoSet(cur, result);
      break;
    }
    for (let k = depth - 1; k >= 0; k--) {
      if (result >= 0) result *= walkMult[k];
      this.memoSet(walkIds[k], result);
    }
    return result >= 0 ? result : this.fail(result === SIZE_NONE ? SIZE_NONE : SIZE_BROKEN, failure, cur);
  }

  private fail(result: number, failure: SizeFailure, id: number): number {
    this.failure = failure;
    this.failureId = id;
    return result;
  }

  /** An existing ARRAY's element type and count (own or base). */
  private arrayElemTypeOf(id: number): number {
    if (id >= this.startId) return this.arrayElemType(id - this.startId);
    const btf = this.split.holderOf(id)!;
    return btf.types.word(id - btf.startId, 3);
  }

  private arrayNelemsOf(id: number): number {
    if (id >= this.startId) return this.arrayNelems(id - this.startId);
    const btf = this.split.holderOf(id)!;
    return btf.types.word(id - btf.startId, 5);
  }

  /** What a failed sizeOf() ran into, as words: from `failure` and `failureId` saved at the call. */
  sizeFailureText(failure: SizeFailure, id: number): string {
    switch (failure) {
      case SizeFailure.Void: return 'void';
      case SizeFailure.Cycle: return `a reference cycle through ${this.describe(id)}`;
      case SizeFailure.BrokenBelow: return `a broken reference below ${this.describe(id)}`;
      case SizeFailure.Missing: return `missing type [${id}]`;
      case SizeFailure.NoSizeKnown: return `${this.describe(id)}, which has no size`;
      case SizeFailure.KindHasNoSize: return `${this.describe(id)} (${kindName(this.kindOf(id)!)} has no size)`;
      case SizeFailure.Broken: return 'broken reference';
    }
  }
}

/** How many type references a type of this kind with `vlen` entries makes. */
function refsMade(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.PTR: case Kind.TYPEDEF: case Kind.CONST: case Kind.VOLATILE: case Kind.RESTRICT: case Kind.TYPE_TAG:
    case Kind.FUNC: case Kind.VAR: case Kind.DECL_TAG:
      return 1;
    case Kind.ARRAY: return 2;
    case Kind.STRUCT: case Kind.UNION: case Kind.DATASEC: return vlen;
    case Kind.FUNC_PROTO: return 1 + vlen;
    default: return 0;
  }
}

/** Lists every type id referenced by decoded types (lib/abi's use; the rules read FindingContext's arrays). */
export function collectRefs(own: BtfType[]): TypeRef[] {
  const refs: TypeRef[] = [];
  for (let i = 0; i < own.length; i++) {
    const t = own[i];
    switch (t.kind) {
      case Kind.PTR: refs.push({ fromIndex: i, id: t.sizeOrType, use: RefUse.Pointer, slot: -1 }); break;
      case Kind.TYPEDEF: case Kind.CONST: case Kind.VOLATILE: case Kind.RESTRICT: case Kind.TYPE_TAG:
        refs.push({ fromIndex: i, id: t.sizeOrType, use: RefUse.Modifier, slot: -1 }); break;
      case Kind.ARRAY:
        refs.push({ fromIndex: i, id: t.array!.type, use: RefUse.ArrayElem, slot: -1 });
        refs.push({ fromIndex: i, id: t.array!.indexType, use: RefUse.ArrayIndex, slot: -1 });
        break;
      case Kind.STRUCT: case Kind.UNION:
        t.members!.forEach((m, k) => refs.push({ fromIndex: i, id: m.type, use: RefUse.Member, slot: k }));
        break;
      case Kind.FUNC: refs.push({ fromIndex: i, id: t.sizeOrType, use: RefUse.Func, slot: -1 }); break;
      case Kind.FUNC_PROTO:
        refs.push({ fromIndex: i, id: t.sizeOrType, use: RefUse.Return, slot: -1 });
        t.params!.forEach((p, k) => refs.push({ fromIndex: i, id: p.type, use: RefUse.Param, slot: k }));
        break;
      case Kind.VAR: refs.push({ fromIndex: i, id: t.sizeOrType, use: RefUse.Var, slot: -1 }); break;
      case Kind.DATASEC:
        t.secinfos!.forEach((s, k) => refs.push({ fromIndex: i, id: s.type, use: RefUse.DatasecEntry, slot: k }));
        break;
      case Kind.DECL_TAG: refs.push({ fromIndex: i, id: t.sizeOrType, use: RefUse.DeclTag, slot: -1 }); break;
    }
  }
  return refs;
}
