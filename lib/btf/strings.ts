/**
 * A BTF string section, chained to its base like libbpf's split BTF: offsets below `startOffset`
 * belong to the base, the rest to this table.
 */
import { latin1 } from '../bytes.js';

export class StringTable {
  /** First offset that belongs to this table: the base's total length, 0 for a base. */
  readonly startOffset: number;

  constructor(
    /** The raw string section bytes of this BTF only. */
    readonly bytes: Uint8Array,
    /** The base's table (split BTF), or undefined for a base. */
    readonly base?: StringTable,
  ) {
    this.startOffset = base ? base.totalLength : 0;
  }

  /** Base length plus own length: the first offset past the end. */
  get totalLength(): number {
    return this.startOffset + this.bytes.length;
  }

  /** The table holding `offset` and the offset inside it, or undefined when out of range. */
  locate(offset: number): { table: StringTable; local: number } | undefined {
    const table = this.tableOf(offset);
    return table && { table, local: offset - table.startOffset };
  }

  /** The table in the chain that holds `offset`, or undefined when out of range (no allocation). */
  tableOf(offset: number): StringTable | undefined {
    let table: StringTable | undefined = this;
    while (table && offset < table.startOffset) table = table.base;
    return table && offset - table.startOffset < table.bytes.length ? table : undefined;
  }

  /** The string at `offset` (up to its NUL or the end of its table), or undefined when out of range. */
  lookup(offset: number): string | undefined {
    const table = this.tableOf(offset);
    if (!table) return undefined;
    const b = table.bytes;
    const local = offset - table.startOffset;
    let end = local;
    while (end < b.length && b[end] !== 0) end++;
    return latin1(b, local, end);
  }

  /** True when `offset` is the start of a string (offset 0 of a table, or just after a NUL). */
  isStringStart(offset: number): boolean {
    const table = this.tableOf(offset);
    if (!table) return false;
    const local = offset - table.startOffset;
    return local === 0 || table.bytes[local - 1] === 0;
  }

  /** The start offset of the string that contains `offset` (walks back to the previous NUL). */
  stringStartOf(offset: number): number | undefined {
    const table = this.tableOf(offset);
    if (!table) return undefined;
    const local = offset - table.startOffset;
    let i = local;
    while (i > 0 && table.bytes[i - 1] !== 0) i--;
    return offset - (local - i);
  }
}
