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

/**
 * Limits on reading one base (vmlinux BTF), sized to what a base can be rather than to what a file
 * claims. Each is checked against sizes known before memory is spent (a file's size from stat, a
 * section's size from the ELF section table, a BTF header's section lengths, a bzImage's size
 * trailer, the output bound of the compressed structure), and again while decoding.
 */
export interface BaseLimits {
  /**
   * Largest raw BTF of a base: a raw file, a vmlinux .BTF section or decompressed raw BTF.
   * Debian's 7.x kernels have 5 MiB; the default, 64 MiB, leaves room for far larger builds.
   */
  maxBtf: number;
  /**
   * Bytes decoders may produce for one base, over every bzImage payload candidate tried: a
   * stripped vmlinux in a bzImage is 50-100 MiB. Default 256 MiB. Also the largest compressed
   * base file read.
   */
  maxPayload: number;
  /** Milliseconds one base may spend decoding, over every candidate. Default 20 s. */
  maxTimeMs: number;
  /** As in DecompressLimits: expansion ratio, checked past `ratioFloor`. */
  maxRatio: number;
  ratioFloor: number;
}

export const DEFAULT_BASE_LIMITS: BaseLimits = {
  maxBtf: 64 << 20,
  maxPayload: 256 << 20,
  maxTimeMs: 20_000,
  maxRatio: DEFAULT_LIMITS.maxRatio,
  ratioFloor: DEFAULT_LIMITS.ratioFloor,
};

/**
 * Base limits from defaults and overrides; `maxOutput` (the general decompression limit) caps both
 * sizes, so callers of the older option keep its meaning.
 */
export function withBaseDefaults(limits: Partial<BaseLimits & DecompressLimits> = {}): BaseLimits {
  const l = { ...DEFAULT_BASE_LIMITS, ...limits };
  if (limits.maxOutput !== undefined) {
    l.maxBtf = Math.min(l.maxBtf, limits.maxOutput);
    l.maxPayload = Math.min(l.maxPayload, limits.maxOutput);
  }
  return { maxBtf: l.maxBtf, maxPayload: l.maxPayload, maxTimeMs: l.maxTimeMs, maxRatio: l.maxRatio, ratioFloor: l.ratioFloor };
}

/** Human duration: ms below 10 s, else seconds with one decimal. */
export function formatTime(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A DecodeBudget ran out: no further candidate may be tried. */
export class BudgetError extends InputError {}

/**
 * What one base may still spend: decoded bytes and time, shared by every payload candidate of a
 * bzImage so that trying many cannot multiply the cost. `now` is injectable for tests.
 */
export class DecodeBudget {
  private spent = 0;
  private readonly deadline: number;
  constructor(readonly maxBytes: number, readonly maxTimeMs: number, private readonly now: () => number = Date.now) {
    this.deadline = now() + maxTimeMs;
  }

  get used(): number { return this.spent; }
  get remaining(): number { return Math.max(0, this.maxBytes - this.spent); }

  /** Throws unless `n` more bytes fit (without spending them): a size known before decoding. */
  fits(what: string, how: string, n: number): void {
    if (n > this.maxBytes - this.spent) {
      const left = this.spent ? ` (${formatSize(this.maxBytes - this.spent)} left of it)` : '';
      throw new InputError(`${what} ${how} ${formatSize(n)}, over the ${formatSize(this.maxBytes)} limit on decompressed size${left}`);
    }
  }

  /** Counts `n` decoded bytes; throws once the bytes or the time run out. */
  spend(format: string, n: number): void {
    this.spent += n;
    if (this.spent > this.maxBytes) {
      throw new BudgetError(`${format} data would produce over ${formatSize(this.maxBytes)}, the limit on decompressed size`);
    }
    this.checkTime(format);
  }

  checkTime(format: string): void {
    if (this.now() > this.deadline) {
      throw new BudgetError(`${format} data: decoding took over ${formatTime(this.maxTimeMs)}, the time limit`);
    }
  }
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
