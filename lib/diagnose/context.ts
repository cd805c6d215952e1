/**
 * What the finding rules read: the module's split BTF decoded once, every type reference it makes
 * (with where it is used), and type resolution across base and split (kinds, sizes) without
 * recursion, memoized per base so that a thousand modules checked against one base share the work.
 */
import { Btf } from '../btf/btf.js';
import { latin1 } from '../bytes.js';
import { isModifier, Kind, kindName } from '../btf/kinds.js';
import { BtfType } from '../btf/types.js';

/** Where a type id is used; decides which kinds make sense as its target. */
export const enum RefUse {
  Member = 0, ArrayElem = 1, ArrayIndex = 2, Pointer = 3, Modifier = 4, Func = 5, Return = 6,
  Param = 7, Var = 8, DatasecEntry = 9, DeclTag = 10,
}

/** A type reference made by a module type: `fromIndex` is the module-local index of the referrer. */
export interface TypeRef {
  fromIndex: number;
  id: number;
  use: RefUse;
  /** Member, parameter or DATASEC entry index; -1 for the type's own size_type field. */
  slot: number;
}

/** Sentinels stored in the size memo (real sizes are >= 0). */
const SIZE_UNKNOWN = -1; // not computed yet
const SIZE_NONE = -2; // the type has no size: void, FWD, FUNC, FUNC_PROTO, VAR, DATASEC, DECL_TAG
const SIZE_BROKEN = -3; // a dangling id or a cycle on the way
const SIZE_IN_PROGRESS = -4;

export type SizeResult = { size: number } | { none: string } | { broken: string };

/** A pointer's size when the base does not tell (BTF does not record it): 64-bit kernels. */
export const POINTER_SIZE = 8;

const baseSizeMemo = new WeakMap<Btf, Float64Array>();
const pointerSizeMemo = new WeakMap<Btf, number>();

/**
 * The pointer size of the base's architecture: the size of its `long` (as libbpf guesses it), so
 * that 32-bit kernels' structs are not misjudged; POINTER_SIZE when the base has no `long`.
 */
export function pointerSizeOf(base: Btf): number {
  const known = pointerSizeMemo.get(base);
  if (known !== undefined) return known;
  let size = POINTER_SIZE;
  const types = base.types;
  for (let i = 0; i < types.count; i++) {
    if (types.kind(i) !== Kind.INT) continue;
    const name = base.str(types.nameOff(i));
    if (name === 'long int' || name === 'long unsigned int' || name === 'unsigned long' || name === 'long') {
      const s = types.sizeOrType(i);
      if (s === 4 || s === 8) { size = s; break; }
    }
  }
  pointerSizeMemo.set(base, size);
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

export class FindingContext {
  /** The module's own types, decoded, in id order (id = split.startId + index). */
  readonly own: BtfType[];
  /** Every type reference the module's own types make, in type order. */
  readonly refs: TypeRef[];
  /** The same references grouped by use (indexed by RefUse), so each rule walks only its own. */
  readonly refsByUse: TypeRef[][];
  /**
   * Where the module's own strings start in its offsets: the inferred build-time base string length
   * when known, else the given base's. Names are read from the module's own table with it, so a
   * wrong base does not garble them.
   */
  ownStringsFrom: number;
  /** Bytes in a pointer, from the base's `long`. */
  readonly pointerSize: number;
  private readonly splitSizes: Float64Array;
  private readonly baseSizes: Float64Array;

  constructor(readonly split: Btf, readonly base: Btf) {
    const count = split.types.count;
    this.own = new Array<BtfType>(count);
    for (let i = 0; i < count; i++) this.own[i] = split.types.decode(i, split.startId + i);
    this.refs = collectRefs(this.own);
    this.refsByUse = Array.from({ length: 11 }, () => [] as TypeRef[]);
    for (const r of this.refs) this.refsByUse[r.use].push(r);
    this.ownStringsFrom = split.startStrOff;
    this.pointerSize = pointerSizeOf(base);
    this.splitSizes = new Float64Array(count).fill(SIZE_UNKNOWN);
    let memo = baseSizeMemo.get(base);
    if (!memo) {
      memo = new Float64Array(base.nrTypes).fill(SIZE_UNKNOWN);
      baseSizeMemo.set(base, memo);
    }
    this.baseSizes = memo;
  }

  get startId(): number { return this.split.startId; }
  get nrTypes(): number { return this.split.nrTypes; }

  /** The kind of type `id`: Kind.UNKN (0) for void, undefined when the id does not exist. */
  kindOf(id: number): number | undefined {
    if (id === 0) return Kind.UNKN;
    return this.split.kind(id);
  }

  /** Decoded type `id` (module types from the cache, base types on demand). */
  typeOf(id: number): BtfType | undefined {
    if (id >= this.startId) return this.own[id - this.startId];
    return this.split.type(id);
  }

  /** Every name offset the module's own types carry (type, member, enumerator, parameter names). */
  nameOffsets(): Uint32Array {
    let n = 0;
    for (const t of this.own) n += 1 + (t.members?.length ?? 0) + (t.values?.length ?? 0) + (t.params?.length ?? 0);
    const out = new Uint32Array(n);
    let k = 0;
    for (const t of this.own) {
      out[k++] = t.nameOff;
      if (t.members) for (const m of t.members) out[k++] = m.nameOff;
      if (t.values) for (const v of t.values) out[k++] = v.nameOff;
      if (t.params) for (const p of t.params) out[k++] = p.nameOff;
    }
    return out;
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
    let cur = id;
    // A chain longer than the number of types must contain a cycle.
    for (let steps = 0; steps <= this.nrTypes; steps++) {
      if (cur === 0) return 0;
      const kind = this.split.kind(cur);
      if (kind === undefined) return undefined;
      if (!isModifier(kind)) return cur;
      cur = this.sizeOrType(cur);
    }
    return undefined;
  }

  /** The raw size_type field of an existing type. */
  private sizeOrType(id: number): number {
    const at = this.split.locate(id)!;
    return at.btf.types.sizeOrType(at.index);
  }

  private memoGet(id: number): number {
    return id >= this.startId ? this.splitSizes[id - this.startId] : this.baseSizes[id];
  }

  private memoSet(id: number, v: number): void {
    if (id >= this.startId) this.splitSizes[id - this.startId] = v;
    else this.baseSizes[id] = v;
  }

  /**
   * The byte size of type `id` as the kernel's btf_type_id_size() resolves it (through modifiers
   * and arrays), iteratively: a 100k-long modifier chain costs a loop, not a stack.
   */
  sizeOf(id: number): SizeResult {
    if (id === 0) return { none: 'void' };
    const path: number[] = [];
    const mult: number[] = [];
    let cur = id;
    let result: number;
    let why = '';
    for (;;) {
      const known = cur === 0 ? SIZE_NONE : this.split.has(cur) ? this.memoGet(cur) : SIZE_BROKEN;
      if (known === SIZE_IN_PROGRESS) { result = SIZE_BROKEN; why = `a reference cycle through ${this.describe(cur)}`; break; }
      if (known !== SIZE_UNKNOWN) {
        result = known;
        if (known === SIZE_BROKEN) why = cur === 0 || this.split.has(cur) ? `a broken reference below ${this.describe(cur)}` : `missing type [${cur}]`;
        if (known === SIZE_NONE) why = cur === 0 ? 'void' : `${this.describe(cur)}, which has no size`;
        break;
      }
      const kind = this.split.kind(cur)!;
      if (isModifier(kind)) {
        this.memoSet(cur, SIZE_IN_PROGRESS);
        path.push(cur); mult.push(1);
        cur = this.sizeOrType(cur);
        continue;
      }
      if (kind === Kind.ARRAY) {
        const t = this.typeOf(cur)!;
        this.memoSet(cur, SIZE_IN_PROGRESS);
        path.push(cur); mult.push(t.array!.nelems);
        cur = t.array!.type;
        continue;
      }
      switch (kind) {
        case Kind.INT: case Kind.STRUCT: case Kind.UNION: case Kind.ENUM: case Kind.ENUM64: case Kind.FLOAT:
          result = this.sizeOrType(cur); break;
        case Kind.PTR:
          result = this.pointerSize; break;
        default:
          result = SIZE_NONE; why = `${this.describe(cur)} (${kindName(kind)} has no size)`;
      }
      this.memoSet(cur, result);
      break;
    }
    for (let k = path.length - 1; k >= 0; k--) {
      if (result >= 0) result *= mult[k];
      this.memoSet(path[k], result);
    }
    if (result >= 0) return { size: result };
    if (result === SIZE_NONE) return { none: why || 'no size' };
    return { broken: why || 'broken reference' };
  }
}

/** Lists every type id referenced by the module's own types. */
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
