/**
 * A BTF string section, chained to its base like libbpf's split BTF: offsets below `startOffset`
 * belong to the base, the rest to this table.
 */
import { latin1 } from '../bytes.js';

export class StringTable {
  constructor(
    /** The raw string section bytes of this BTF only. */
    readonly bytes: Uint8Array,
    /** The base's table (split BTF), or undefined for a base. */
    readonly base?: StringTable,
  ) {}

  /** First offset that belongs to this table: the base's total length, 0 for a base. */
  get startOffset(): number {
    return this.base ? this.base.totalLength : 0;
  }

  /** Base length plus own length: the first offset past the end. */
  get totalLength(): number {
    return this.startOffset + this.bytes.length;
  }

  /** The table holding `offset` and the offset inside it, or undefined when out of range. */
  locate(offset: number): { table: StringTable; local: number } | undefined {
    const start = this.startOffset;
    if (offset < start) return this.base?.locate(offset);
    const local = offset - start;
    return local < this.bytes.length ? { table: this, local } : undefined;
  }

  /** The string at `offset` (up to its NUL or the end of its table), or undefined when out of range. */
  lookup(offset: number): string | undefined {
    const at = this.locate(offset);
    if (!at) return undefined;
    const b = at.table.bytes;
    let end = at.local;
    while (end < b.length && b[end] !== 0) end++;
    return latin1(b, at.local, end);
  }

  /** True when `offset` is the start of a string (offset 0 of a table, or just after a NUL). */
  isStringStart(offset: number): boolean {
    const at = this.locate(offset);
    if (!at) return false;
    return at.local === 0 || at.table.bytes[at.local - 1] === 0;
  }

  /** The start offset of the string that contains `offset` (walks back to the previous NUL). */
  stringStartOf(offset: number): number | undefined {
    const at = this.locate(offset);
    if (!at) return undefined;
    let i = at.local;
    while (i > 0 && at.table.bytes[i - 1] !== 0) i--;
    return offset - (at.local - i);
  }
}
