/**
 * Module.symvers: the symbol CRCs modversions checks at load time. Two builds whose CRCs agree look
 * ABI-compatible to modprobe, yet their BTF may not be — the trap this comparison points out.
 */
import { InputError } from '../errors.js';

/** symbol → CRC (as written, lowercase). */
export type Symvers = Map<string, string>;

/**
 * Parses Module.symvers text: `0xCRC<TAB>symbol<TAB>module<TAB>export type[<TAB>namespace]` per
 * line (older kernels: the same without the namespace column). Throws on a line that is neither.
 */
export function parseSymvers(text: string): Symvers {
  const out: Symvers = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (!line.trim()) continue;
    const cols = line.split('\t');
    if (cols.length < 3 || !/^0x[0-9a-fA-F]+$/.test(cols[0]) || !cols[1]) {
      throw new InputError(`line ${i + 1} is not a Module.symvers entry (0xCRC<TAB>symbol<TAB>module<TAB>export)`);
    }
    out.set(cols[1], cols[0].toLowerCase());
  }
  return out;
}

export interface SymversComparison {
  common: number;
  /** Symbols whose CRC differs. */
  crcChanged: number;
  /** Symbols the old build exports and the new one does not. */
  onlyOld: number;
  onlyNew: number;
  /** Modversions would let modules of either build load on the other's kernel. */
  compatible: boolean;
  examples: string[];
}

/** Compares two builds' symbol CRCs; additions are compatible, removals and changes are not. */
export function compareSymvers(oldSyms: Symvers, newSyms: Symvers, maxExamples = 10): SymversComparison {
  let common = 0;
  let crcChanged = 0;
  let onlyOld = 0;
  const examples: string[] = [];
  for (const [sym, crc] of oldSyms) {
    const other = newSyms.get(sym);
    if (other === undefined) {
      onlyOld++;
      if (examples.length < maxExamples) examples.push(`${sym}: only in the old build`);
      continue;
    }
    common++;
    if (other !== crc) {
      crcChanged++;
      if (examples.length < maxExamples) examples.push(`${sym}: CRC ${crc} → ${other}`);
    }
  }
  const onlyNew = newSyms.size - common;
  return { common, crcChanged, onlyOld, onlyNew, compatible: crcChanged === 0 && onlyOld === 0, examples };
}
