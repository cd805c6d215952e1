/**
 * A kernel log read as a stream of bytes, in bounded memory: chunks in (as byte strings, one char
 * per byte), lines out. A line longer than `maxLineBytes` is cut there — the rest of it is read
 * and dropped — and noted; a line holding none of the markers explain reads is dropped before it
 * is decoded (most of a dmesg). The lines kept are decoded as UTF-8 the way kernel log text is
 * everywhere in btfcheck: every byte that is not part of a valid sequence shows as `\xNN`.
 */
import { kernelBytesToText } from '../kernel/text.js';

/** The default longest line read whole: far beyond any kernel record (1 KiB), enough for joined pastes. */
export const DEFAULT_MAX_LINE_BYTES = 64 << 10;

/** What a line must hold for explain to look at it (parse.ts reads the exact forms). */
const INTERESTING = /BPF:|failed to validate|BTF mismatch|Linux version|insert|init_module/;

/** A line longer than the limit: its number and full length in bytes. */
export interface CutLine {
  line: number;
  bytes: number;
}

/** Cut lines noted one by one; beyond this, only counted. */
const CUT_NOTES_MAX = 10;

export class LogReader {
  /** Lines read so far, and bytes. */
  lines = 0;
  bytes = 0;
  /** The first cut lines, and how many there were in all. */
  readonly cut: CutLine[] = [];
  cutCount = 0;
  private carry = '';
  private lineBytes = 0;

  constructor(private readonly onLine: (text: string, lineNo: number) => void, readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    if (!(maxLineBytes >= 1)) throw new RangeError(`line limit ${maxLineBytes}: must be at least 1 byte`);
  }

  /** The next bytes of the log, as a byte string (Latin-1: char code = byte). */
  push(chunk: string): void {
    this.bytes += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf('\n', pos);
      const end = nl < 0 ? chunk.length : nl;
      if (this.lineBytes === 0 && nl >= 0 && end - pos <= this.maxLineBytes) {
        // A whole line inside this chunk: the common case, without copying.
        this.lineBytes = end - pos;
        this.emit(chunk.slice(pos, end));
      } else {
        const room = this.maxLineBytes - this.carry.length;
        if (room > 0) this.carry += end - pos <= room ? chunk.slice(pos, end) : chunk.slice(pos, pos + room);
        this.lineBytes += end - pos;
        if (nl < 0) break;
        this.emit(this.carry);
      }
      pos = nl + 1;
    }
  }

  /** The end of the log: a last line without a newline is a line too. */
  end(): void {
    if (this.lineBytes > 0 || this.carry.length > 0) this.emit(this.carry);
  }

  private emit(bytes: string): void {
    this.lines++;
    if (this.lineBytes > this.maxLineBytes) {
      this.cutCount++;
      if (this.cut.length < CUT_NOTES_MAX) this.cut.push({ line: this.lines, bytes: this.lineBytes });
    }
    this.carry = '';
    this.lineBytes = 0;
    if (bytes.endsWith('\r')) bytes = bytes.slice(0, -1);
    if (INTERESTING.test(bytes)) this.onLine(kernelBytesToText(bytes), this.lines);
  }
}
