/**
 * A BTF object: a base (vmlinux) or a split BTF (a module) chained to its base. Type ids and string
 * offsets of split BTF continue from the base's: ids from the base's nr_types, string offsets from
 * the base's string length.
 */
import { ensure } from '../errors.js';
import { BtfHeader, parseHeader } from './header.js';
import { KIND_NAMES } from './kinds.js';
import { StringTable } from './strings.js';
import { BtfType, TypeTable } from './types.js';

export class Btf {
  readonly header: BtfHeader;
  readonly strings: StringTable;
  readonly types: TypeTable;
  /** Id of this BTF's first own type: 1 for a base (0 is void), the base's nr_types for split. */
  readonly startId: number;

  private constructor(readonly raw: Uint8Array, readonly base: Btf | undefined) {
    this.startId = base ? base.nrTypes : 1;
    this.header = parseHeader(raw);
    const body = raw.subarray(this.header.hdrLen);
    const h = this.header;
    this.strings = new StringTable(body.subarray(h.strOff, h.strOff + h.strLen), base?.strings);
    this.types = new TypeTable(body.subarray(h.typeOff, h.typeOff + h.typeLen), this.startId);
  }

  /** Parses base BTF (vmlinux). */
  static parseBase(raw: Uint8Array): Btf {
    const btf = new Btf(raw, undefined);
    ensure(btf.strings.bytes.length > 0 && btf.strings.bytes[0] === 0, 'base BTF string section does not start with an empty string');
    return btf;
  }

  /** Parses split BTF (a module's .BTF) on top of `base`. */
  static parseSplit(raw: Uint8Array, base: Btf): Btf {
    return new Btf(raw, base);
  }

  /** The kernel's nr_types: for a base, its types plus void; for split, base's plus its own. */
  get nrTypes(): number {
    return this.startId + this.types.count;
  }

  /** Offset of this BTF's first own string (the base's string length; 0 for a base). */
  get startStrOff(): number {
    return this.strings.startOffset;
  }

  /** The kernel's str_len of the base, or this BTF's own for a base. */
  get strLen(): number {
    return this.header.strLen;
  }

  /** The BTF that holds type `id` and its index there, or undefined (void, or out of range). */
  locate(id: number): { btf: Btf; index: number } | undefined {
    const btf = this.holderOf(id);
    return btf && { btf, index: id - btf.startId };
  }

  /** The BTF in the chain that holds type `id`, or undefined (void, or out of range); no allocation. */
  holderOf(id: number): Btf | undefined {
    let btf: Btf | undefined = this;
    while (btf && id < btf.startId) btf = btf.base;
    return btf && id - btf.startId < btf.types.count ? btf : undefined;
  }

  has(id: number): boolean {
    return this.holderOf(id) !== undefined;
  }

  kind(id: number): number | undefined {
    const btf = this.holderOf(id);
    return btf?.types.kind(id - btf.startId);
  }

  /** The raw size_type field of type `id` (a size or a type id, by kind), or undefined. */
  sizeOrType(id: number): number | undefined {
    const btf = this.holderOf(id);
    return btf?.types.sizeOrType(id - btf.startId);
  }

  type(id: number): BtfType | undefined {
    const btf = this.holderOf(id);
    return btf?.types.decode(id - btf.startId, id);
  }

  /** The string at `offset` across base and split, or undefined when out of range. */
  str(offset: number): string | undefined {
    return this.strings.lookup(offset);
  }

  /** A short human label: `[id] KIND 'name'`. */
  describe(id: number): string {
    const btf = this.holderOf(id);
    if (!btf) return id === 0 ? '[0] void' : `[${id}] <missing>`;
    const kind = btf.types.kind(id - btf.startId);
    const name = this.str(btf.types.nameOff(id - btf.startId)) ?? '<bad name offset>';
    return `[${id}] ${KIND_NAMES[kind] ?? kind} '${name || '(anon)'}'`;
  }
}
