/**
 * Limits on decompression, so that a small hostile file cannot make btfcheck allocate gigabytes.
 * Every decoder in lib/compress/ works out how much output it may produce *before* producing it
 * (from the format's own structure, not only from a size field that may lie) and refuses with an
 * InputError naming the format, the size and the limit.
 */
import { InputError } from '../errors.js';

export interface DecompressLimits {
  /** Largest decompressed size accepted, in bytes. */
  maxOutput: number;
  /**
   * Largest accepted ratio of decompressed to compressed size. Applied only once the output exceeds
   * `ratioFloor`, so that a tiny file of zeros is not refused for compressing well.
   */
  maxRatio: number;
  /** Output size below which the ratio is not checked. */
  ratioFloor: number;
}

/**
 * Defaults: a vmlinux is ~60 MB and a module's .ko at most a few tens of MB; real kernel payloads
 * compress 3-10x. 1 GiB and 1000x leave ample room for unusual builds while refusing bombs.
 */
export const DEFAULT_LIMITS: DecompressLimits = {
  maxOutput: 1 << 30,
  maxRatio: 1000,
  ratioFloor: 16 << 20,
};

export function withDefaults(limits?: Partial<DecompressLimits>): DecompressLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}

/** Human size: bytes up to 10 KiB, then KiB/MiB/GiB with one decimal. */
export function formatSize(n: number): string {
  if (n < 10 * 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * Throws unless `output` bytes from `input` compressed bytes are within the limits. `how` says
 * where the number comes from ('declares', 'would produce', 'produced') for the message.
 */
export function checkOutputSize(format: string, how: string, output: number, input: number, limits: DecompressLimits): void {
  if (output > limits.maxOutput) {
    throw new InputError(`${format} data ${how} ${formatSize(output)}, over the ${formatSize(limits.maxOutput)} limit on decompressed size`);
  }
  if (output > limits.ratioFloor && output > input * limits.maxRatio) {
    const ratio = Math.round(output / Math.max(1, input));
    throw new InputError(`${format} data ${how} ${formatSize(output)} from ${formatSize(input)} (${ratio}:1), over the ${limits.maxRatio}:1 limit on expansion`);
  }
}
