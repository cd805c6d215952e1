/**
 * cpio "newc" archives (magic 070701, or 070702 with checksums), as the kernel's initramfs and RPM
 * payloads use them, read as a stream: chunks are pushed in as they are decoded, and each entry is
 * handed on with its data when the caller wants it, or skipped by count when not. Memory: one
 * wanted entry, never the archive.
 *
 * One archive ends at its `TRAILER!!!` entry; an initramfs may hold several back to back, with
 * NUL padding between them (the kernel skips NUL bytes and wants the next header 4-byte aligned):
 * `multi` reads on through them, as the kernel does.
 */
import { latin1 } from '../bytes.js';
import { InputError } from '../errors.js';
import { formatSize } from '../compress/index.js';

const HEADER = 110;
const TRAILER = 'TRAILER!!!';
/** Longest entry name accepted (PATH_MAX). */
const MAX_NAME = 4096;

export type CpioType = 'file' | 'directory' | 'symlink' | 'other';

export interface CpioEntry {
  name: string;
  type: CpioType;
  mode: number;
  size: number;
  nlink: number;
}

export interface CpioOptions {
  /** Whether to collect an entry's data (it is skipped otherwise). */
  want(entry: CpioEntry): boolean;
  /** Called for every entry, with its data when wanted. */
  onEntry(entry: CpioEntry, data: Uint8Array | undefined): void;
  /** Largest entry collected (default 256 MiB): a bigger wanted entry is an error. */
  maxEntry?: number;
  /** Read on after a trailer, through NUL padding, to the next archive (initramfs). */
  multi?: boolean;
}

const typeOf = (mode: number): CpioType => {
  switch (mode & 0o170000) {
    case 0o100000: return 'file';
    case 0o040000: return 'directory';
    case 0o120000: return 'symlink';
    default: return 'other';
  }
};

const align4 = (n: number): number => (n + 3) & ~3;

/** A push parser; `offset` counts the bytes taken so far (the archive's own offsets). */
export class CpioParser {
  /** Bytes of the current header (and name) gathered across chunks. */
  private pending: Uint8Array[] = [];
  private pendingLen = 0;
  private state: 'header' | 'name' | 'data' | 'pad' | 'between' | 'done' = 'header';
  private entry: CpioEntry | undefined;
  private nameSize = 0;
  private want = false;
  private parts: Uint8Array[] = [];
  private left = 0;
  private padLeft = 0;
  /** Archives completed (trailers seen). */
  archives = 0;
  /** Bytes consumed. */
  offset = 0;
  /** Entry headers read, trailers included. */
  entries = 0;

  constructor(private readonly opts: CpioOptions) {}

  /** True after a trailer when not reading multiple archives. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** Feeds bytes; returns how many were taken (less than the chunk only once done). */
  push(chunk: Uint8Array): number {
    let i = 0;
    while (i < chunk.length && this.state !== 'done') {
      switch (this.state) {
        case 'between': {
          // After a trailer: NUL padding, then the next archive on a 4-byte boundary.
          while (i < chunk.length && chunk[i] === 0) { i++; this.offset++; }
          if (i < chunk.length) {
            if (this.offset & 3) throw new InputError(`cpio: next archive at offset ${this.offset} is not 4-byte aligned (broken padding)`);
            this.state = 'header';
          }
          break;
        }
        case 'header':
        case 'name': {
          const need = (this.state === 'header' ? HEADER : this.nameSize) - this.pendingLen;
          const take = Math.min(need, chunk.length - i);
          this.pending.push(chunk.subarray(i, i + take));
          this.pendingLen += take;
          i += take;
          this.offset += take;
          if (this.pendingLen < (this.state === 'header' ? HEADER : this.nameSize)) break;
          const bytes = this.gathered();
          if (this.state === 'header') this.readHeader(bytes);
          else this.readName(bytes);
          break;
        }
        case 'data': {
          const take = Math.min(this.left, chunk.length - i);
          if (this.want) this.parts.push(chunk.subarray(i, i + take));
          this.left -= take;
          i += take;
          this.offset += take;
          if (this.left === 0) this.finishData();
          break;
        }
        case 'pad': {
          const take = Math.min(this.padLeft, chunk.length - i);
          i += take;
          this.offset += take;
          this.padLeft -= take;
          if (this.padLeft === 0) this.state = 'header';
          break;
        }
      }
    }
    return i;
  }

  /** Call at the end of the input: throws unless it ended between entries after a trailer. */
  end(): void {
    if (this.state === 'done' || this.state === 'between') return;
    if (this.state === 'header' && this.pendingLen === 0 && this.archives > 0) return;
    throw new InputError(this.entries === 0 && this.pendingLen === 0
      ? 'cpio: empty archive'
      : `cpio archive truncated at offset ${this.offset} (${this.state === 'data' ? `in the data of ${this.entry?.name}` : 'in an entry header'})`);
  }

  private gathered(): Uint8Array {
    const out = this.pending.length === 1 ? this.pending[0] : concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    return out;
  }

  private readHeader(h: Uint8Array): void {
    const magic = latin1(h, 0, 6);
    if (magic !== '070701' && magic !== '070702') {
      if (magic === '070707') throw new InputError(`cpio: old portable (odc) archive at offset ${this.offset - HEADER}: only the newc format is read`);
      if (magic === '07070X') throw new InputError(`cpio: RPM's stripped cpio format (07070X, files over 4 GiB) is not supported`);
      throw new InputError(`cpio: bad entry magic at offset ${this.offset - HEADER}`);
    }
    const field = (k: number): number => {
      const text = latin1(h, 6 + 8 * k, 14 + 8 * k);
      if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new InputError(`cpio: bad header field '${text}' at offset ${this.offset - HEADER}`);
      return parseInt(text, 16);
    };
    const mode = field(1);
    const nlink = field(4);
    const size = field(6);
    this.nameSize = field(11);
    if (this.nameSize < 1 || this.nameSize > MAX_NAME) throw new InputError(`cpio: entry name of ${this.nameSize} bytes at offset ${this.offset - HEADER}`);
    this.entry = { name: '', type: typeOf(mode), mode, size, nlink };
    this.entries++;
    // The name is padded so that header + name end on a 4-byte boundary.
    this.nameSize = align4(HEADER + this.nameSize) - HEADER;
    this.state = 'name';
  }

  private readName(bytes: Uint8Array): void {
    const e = this.entry!;
    let end = 0;
    while (end < bytes.length && bytes[end] !== 0) end++;
    e.name = latin1(bytes, 0, end);
    if (e.name === TRAILER) {
      this.entry = undefined;
      this.archives++;
      this.padLeft = 0;
      this.state = this.opts.multi ? 'between' : 'done';
      if (e.size !== 0) throw new InputError('cpio: trailer entry with data');
      return;
    }
    this.want = e.size > 0 && this.opts.want(e);
    if (this.want && e.size > (this.opts.maxEntry ?? 256 << 20)) {
      throw new InputError(`cpio: ${e.name} is ${formatSize(e.size)}, over the ${formatSize(this.opts.maxEntry ?? 256 << 20)} limit`);
    }
    this.left = e.size;
    this.parts = [];
    this.state = 'data';
    if (this.left === 0) this.finishData();
  }

  private finishData(): void {
    const e = this.entry!;
    const data = this.want ? concat(this.parts, e.size) : undefined;
    this.parts = [];
    this.entry = undefined;
    this.padLeft = align4(e.size) - e.size;
    this.state = this.padLeft ? 'pad' : 'header';
    this.opts.onEntry(e, data);
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0].length === total) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Builds a newc archive (for tests and tools): entries in order, then the trailer. */
export function buildCpio(entries: Array<{ name: string; data?: Uint8Array; mode?: number }>): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
  const add = (b: Uint8Array): void => { chunks.push(b); total += b.length; };
  const pad = (): void => { if (total & 3) add(new Uint8Array(4 - (total & 3))); };
  let ino = 1;
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  for (const e of [...entries, { name: TRAILER, data: undefined, mode: 0 }]) {
    const data = e.data ?? new Uint8Array(0);
    const mode = e.mode ?? (e.data ? 0o100644 : 0o040755);
    const name = enc(e.name + '\0');
    const fields = [e.name === TRAILER ? 0 : ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
    add(enc('070701' + fields.map(hex).join('')));
    add(name);
    pad();
    add(data);
    pad();
  }
  return concat(chunks, total);
}
