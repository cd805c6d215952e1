/**
 * A base's BTF from a decompressed stream (a bzImage payload, a compressed vmlinux or raw BTF),
 * keeping only what is needed: the .BTF of a 60-80 MB vmlinux, never the whole image. Apart from
 * lib/vmlinuz.ts so that a call with a raw or ELF base does not load it. Pure: bytes in, bytes out.
 */
import { cString, viewOf } from './bytes.js';
import { BudgetError, COMPRESSION_MAGICS, Compression, detectCompression, formatSize } from './compress/index.js';
import { startsWith } from './compress/detect.js';
import { decodeStream, Sink, StreamOptions } from './compress/stream.js';
import { ElfFile, findSection, isElf, readElf, SHT_NOBITS } from './elf/sections.js';
import { InputError } from './errors.js';
import { ByteSource } from './source.js';
import { BzImageHeader, indexOf, KernelRelease, LINUX_VERSION, parseBanner, readBzImageHeader } from './vmlinuz.js';

/** What a base's decompressed stream held: raw BTF, or a vmlinux ELF of which only parts were kept. */
export type StreamedBase =
  | { kind: 'btf'; raw: Uint8Array; compression: Compression }
  | {
    kind: 'elf';
    /** The section table, read from the kept parts. */
    elf: ElfFile;
    /** The kept parts of the ELF (header, section table, names, .BTF); reads elsewhere throw. */
    src: ByteSource;
    /** From the "Linux version" banner in .rodata, when asked for and found. */
    release?: KernelRelease;
    compression: Compression;
  };

export interface BaseStreamOptions extends Omit<StreamOptions, 'sizeHint'> {
  /** Largest raw BTF accepted (BaseLimits.maxBtf). */
  maxBtf: number;
  /** Look for the banner (the release), for inputs that do not tell it otherwise. */
  wantRelease?: boolean;
}

/** Bytes before the section table kept on the way (.shstrtab sits just before it). */
const LOOKBEHIND = 1 << 20;
/** Largest section header table accepted: 16 MiB (a vmlinux has fewer than a hundred sections). */
const MAX_SECTION_TABLE = 16 << 20;
/** BTF-magic candidates followed at once, and banner candidates kept. */
const MAX_BTF_CANDIDATES = 4;
const MAX_BANNERS = 16;
const BANNER_MAX = 1024;
/** Trailing bytes after raw BTF counted before giving up on counting. */
const TRAILING_COUNT_MAX = 1 << 20;
const BTF_HEAD = [0x9f, 0xeb, 0x01, 0x00];
/** BTF_HEAD read as a u32 in this machine's byte order (as Uint32Array reads it). */
const BTF_WORD = new Uint32Array(Uint8Array.from(BTF_HEAD).buffer)[0];
const SEAM = 32;

interface Capture {
  start: number;
  end: number;
  buf?: Uint8Array;
  /** Bytes filled from `start` (captures fill in stream order). */
  got: number;
  kind: 'head' | 'table' | 'behind' | 'names' | 'btf' | 'btf-head' | 'banner';
}

interface SectionEntry { nameOffset: number; type: number; offset: number; size: number }

/**
 * Follows a decompressed base stream and keeps: for raw BTF, the BTF (its header says how long it
 * is, so it is refused at once when over the limit, and the stream stops at the first byte past
 * its end); for an ELF, the ELF header, the section table (its place is in the header), the 1 MiB
 * before it (where .shstrtab is), every stretch that starts with a BTF header (the .BTF section,
 * found before the table that names it, which comes last) and "Linux version" banners. At the end
 * the table names the parts: if a needed one was not kept (an unusual layout), `missing` lists
 * them for a second pass.
 */
class BaseCapture {
  private pos = 0;
  private mode?: 'btf' | 'elf';
  private readonly head: Capture = { start: 0, end: 64, got: 0, kind: 'head', buf: new Uint8Array(64) };
  private btfEnd = 0;
  private btfBuf?: Uint8Array;
  private trailing = 0;
  private captures: Capture[] = [this.head];
  private done: Capture[] = [];
  private table?: { bits: 32 | 64; le: boolean; shoff: number; shentsize: number; shnum: number; shstrndx: number; capture: Capture };
  private last = new Uint8Array(0);
  private candidates = 0;
  private candidateBytes = 0;

  constructor(private readonly opts: { maxBtf: number; maxPayload: number; wantRelease: boolean; allowRaw: boolean; what: string }) {}

  /** Bytes seen before the kind of data was known (fewer than 4). */
  private pending = new Uint8Array(0);

  push(chunk: Uint8Array): boolean {
    if (this.mode === undefined) {
      const seen = new Uint8Array(this.pending.length + chunk.length);
      seen.set(this.pending);
      seen.set(chunk, this.pending.length);
      if (seen.length < 4) { this.pending = seen; return true; }
      this.pending = new Uint8Array(0);
      this.head.got = Math.min(seen.length, 4);
      this.head.buf!.set(seen.subarray(0, this.head.got));
      this.classify();
      this.head.got = 0;
      chunk = seen;
    }
    if (this.mode === 'btf') return this.pushBtf(chunk);
    const at = this.pos;
    this.scan(chunk, at);
    this.fill(chunk, at);
    this.pos += chunk.length;
    this.keepLast(chunk);
    return true;
  }

  /**
   * All of the output at once (from a decoder that holds it whole): an ELF's parts are taken
   * where its own header and section table place them (.BTF is a section starting with a BTF
   * header) instead of looking for BTF headers in every word of 60 MB. Anything else (raw BTF, a
   * stream already begun) goes through push(); what the table does not place is left to end(),
   * as for a stream, and so are all the checks.
   */
  whole(all: Uint8Array): boolean {
    if (this.pos !== 0 || this.mode !== undefined || all.length < 64 || !isElf(all.subarray(0, 4))) return this.push(all);
    this.mode = 'elf';
    this.wholeOutput = true;
    // The header, and from it the section table.
    this.fill(all, 0);
    const t = this.table;
    if (t && t.capture.got === t.capture.end - t.capture.start && t.capture.buf) {
      const entries = sectionEntries(t.capture.buf, t);
      const names = entries[t.shstrndx];
      if (names && names.type !== SHT_NOBITS && names.offset < all.length) {
        this.want({ start: names.offset, end: Math.min(all.length, names.offset + names.size), got: 0, kind: 'names' });
      }
      for (const e of entries) {
        if (this.candidates >= MAX_BTF_CANDIDATES) break;
        if (e.type === SHT_NOBITS || e.offset % 4 !== 0 || e.size < 32 || e.offset > all.length - 32 || !startsWith(all, BTF_HEAD, e.offset)) continue;
        this.candidates++;
        this.want({ start: e.offset, end: e.offset + 32, got: 0, kind: 'btf-head' });
      }
    }
    this.scanBanners(all, 0);
    // The captures just started (and a BTF candidate's body once its header is in).
    this.fill(all, 0);
    this.pos = all.length;
    this.keepLast(all);
    return true;
  }

  private classify(): void {
    const h = this.head.buf!;
    if (isElf(h.subarray(0, this.head.got))) { this.mode = 'elf'; return; }
    if (this.opts.allowRaw && ((h[0] === 0x9f && h[1] === 0xeb) || (h[0] === 0xeb && h[1] === 0x9f))) { this.mode = 'btf'; return; }
    throw new InputError(`${this.opts.what} ${this.opts.allowRaw ? 'holds neither a vmlinux ELF nor raw BTF' : 'does not decompress to an ELF file'}`);
  }

  // Raw BTF ------------------------------------------------------------------------------------

  private pushBtf(chunk: Uint8Array): boolean {
    this.pos += chunk.length;
    if (!this.btfBuf) {
      // Collect the header (up to 32 bytes: the 7.1+ layout section's place is in bytes 24-31).
      const need = 32;
      if (!this.btfHead) this.btfHead = new Uint8Array(need);
      const n = Math.min(need - this.btfHeadGot, chunk.length);
      this.btfHead.set(chunk.subarray(0, n), this.btfHeadGot);
      this.btfHeadGot += n;
      if (this.btfHeadGot < need) return true;
      const end = btfExtent(this.btfHead);
      if (end > this.opts.maxBtf) {
        throw new InputError(`raw BTF declares ${formatSize(end)} (header and sections), over the ${formatSize(this.opts.maxBtf)} limit on a base's BTF`);
      }
      this.btfEnd = Math.max(end, need);
      this.btfBuf = new Uint8Array(this.btfEnd);
      this.btfBuf.set(this.btfHead);
      this.btfFill = need;
      chunk = chunk.subarray(n);
    }
    const room = this.btfEnd - this.btfFill;
    const n = Math.min(room, chunk.length);
    this.btfBuf.set(chunk.subarray(0, n), this.btfFill);
    this.btfFill += n;
    this.trailing += chunk.length - n;
    if (this.trailing > TRAILING_COUNT_MAX) {
      throw new InputError(`raw BTF is followed by over ${formatSize(TRAILING_COUNT_MAX)} of trailing bytes (the header says its sections end at ${this.btfEnd})`);
    }
    return true;
  }

  private btfHead?: Uint8Array;
  private btfHeadGot = 0;
  private btfFill = 0;

  // ELF ----------------------------------------------------------------------------------------

  private readHeader(): void {
    const h = this.head.buf!;
    const v = viewOf(h);
    const bits = h[4] === 1 ? 32 : h[4] === 2 ? 64 : 0;
    if (!bits) throw new InputError(`bad ELF class ${h[4]}`);
    if (h[5] !== 1 && h[5] !== 2) throw new InputError(`bad ELF data encoding ${h[5]}`);
    const le = h[5] === 1;
    let shoff: number, shentsize: number, shnum: number, shstrndx: number;
    if (bits === 64) {
      const big = v.getBigUint64(0x28, le);
      shoff = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
      shentsize = v.getUint16(0x3a, le); shnum = v.getUint16(0x3c, le); shstrndx = v.getUint16(0x3e, le);
    } else {
      shoff = v.getUint32(0x20, le); shentsize = v.getUint16(0x2e, le); shnum = v.getUint16(0x30, le); shstrndx = v.getUint16(0x32, le);
    }
    if (shoff === 0) return; // no sections: readElf and the caller say what is missing
    const minEnt = bits === 64 ? 64 : 40;
    if (shentsize < minEnt) throw new InputError(`bad section header size ${shentsize} (want at least ${minEnt})`);
    // Extended numbering keeps the count in section 0: take that entry first, then the rest.
    const size = Math.max(1, shnum) * shentsize;
    if (size > MAX_SECTION_TABLE) throw new InputError(`section header table of ${formatSize(size)} (${shnum} x ${shentsize} bytes) is implausible for a vmlinux`);
    if (shoff + size > this.opts.maxPayload) {
      throw new InputError(`ELF section header table (at ${shoff}) lies past the ${formatSize(this.opts.maxPayload)} limit on decompressed size`);
    }
    const capture: Capture = { start: shoff, end: shoff + size, got: 0, kind: 'table' };
    this.table = { bits, le, shoff, shentsize, shnum, shstrndx, capture };
    this.want(capture);
    // A whole output keeps the section names where the table puts them (whole()), not on spec.
    if (!this.wholeOutput) this.want({ start: Math.max(64, shoff - LOOKBEHIND), end: shoff, got: 0, kind: 'behind' });
  }

  /** Starts a capture; one whose start has passed gets what `last` still holds, else is dropped. */
  private want(c: Capture): boolean {
    if (c.end <= c.start) return true;
    if (c.start < this.pos) {
      if (c.start < this.pos - this.last.length) return false;
      c.buf = new Uint8Array(c.end - c.start);
      const from = this.last.subarray(c.start - (this.pos - this.last.length), Math.min(this.last.length, c.end - (this.pos - this.last.length)));
      c.buf.set(from);
      c.got = from.length;
    }
    if (c.got === c.end - c.start) this.finished(c);
    else this.captures.push(c);
    return true;
  }

  /** Copies what the open captures want from this chunk; captures they start get it too. */
  private fill(chunk: Uint8Array, at: number): void {
    const end = at + chunk.length;
    for (let round = 0; round < 8; round++) {
      let completed = false;
      for (const c of this.captures) {
        const from = c.start + c.got;
        if (from >= end || from < at || c.got === c.end - c.start) continue;
        const n = Math.min(c.end, end) - from;
        c.buf ??= new Uint8Array(c.end - c.start);
        c.buf.set(chunk.subarray(from - at, from - at + n), c.got);
        c.got += n;
        if (c.got === c.end - c.start) completed = true;
      }
      if (!completed) return;
      const open: Capture[] = [];
      const closed: Capture[] = [];
      for (const c of this.captures) (c.got === c.end - c.start ? closed : open).push(c);
      this.captures = open;
      // May start captures (the section table, a BTF candidate's body) that this chunk feeds.
      for (const c of closed) this.finished(c);
    }
  }

  private finished(c: Capture): void {
    if (c.kind === 'head') {
      this.done.push(c);
      this.readHeader();
      return;
    }
    if (c.kind === 'btf-head') {
      this.candidates--;
      const end = btfExtent(c.buf!);
      if (end <= c.end - c.start || end > this.opts.maxBtf || this.candidates >= MAX_BTF_CANDIDATES) return;
      // Candidates together keep at most twice the BTF limit; past it, one that turns out to be
      // .BTF is read by the second pass.
      if (this.candidateBytes + end > 2 * this.opts.maxBtf) return;
      this.candidateBytes += end;
      // Follow it to its declared end; the bytes so far are in this capture.
      const full: Capture = { start: c.start, end: c.start + end, got: c.got, kind: 'btf', buf: new Uint8Array(end) };
      full.buf!.set(c.buf!);
      this.candidates++;
      this.captures.push(full);
      return;
    }
    if (c.kind === 'btf') this.candidates--;
    if (c.kind === 'table' && this.table && this.table.shnum === 0) {
      // Extended numbering: section 0's size is the count.
      const v = viewOf(c.buf!);
      const count = this.table.bits === 64 ? Number(v.getBigUint64(32, this.table.le) & 0xffffffffn) : v.getUint32(20, this.table.le);
      if (this.table.shstrndx === 0xffff) this.table.shstrndx = v.getUint32(this.table.bits === 64 ? 40 : 24, this.table.le);
      const size = count * this.table.shentsize;
      if (count === 0 || size > MAX_SECTION_TABLE) throw new InputError(`section count ${count} is implausible`);
      this.table.shnum = count;
      const whole: Capture = { start: c.start, end: c.start + size, got: 0, kind: 'table' };
      this.table.capture = whole;
      this.want(whole);
      return;
    }
    this.done.push(c);
  }

  /**
   * Looks for BTF headers and banners starting in this chunk, or straddling the seam with the
   * previous one. BTF headers are looked for at 4-aligned stream offsets only (BTF is read as u32
   * words; a vmlinux's .BTF is page-aligned), as u32 values with the native indexOf: a JS loop
   * over every 0x9f byte of a 60 MB vmlinux costs more than the rest of the scan. One at an odd
   * offset is missed here and found by the second pass.
   */
  private scan(chunk: Uint8Array, at: number): void {
    if (this.last.length) {
      const k = Math.min(SEAM, this.last.length);
      const seam = new Uint8Array(k + Math.min(SEAM, chunk.length));
      seam.set(this.last.subarray(this.last.length - k));
      seam.set(chunk.subarray(0, seam.length - k), k);
      this.scanSeam(seam, at - k, k);
    }
    const skip = (4 - (at & 3)) & 3;
    const n = Math.max(0, Math.floor((chunk.length - skip) / 4));
    if (n > 0) {
      let words: Uint32Array;
      if (((chunk.byteOffset + skip) & 3) === 0) words = new Uint32Array(chunk.buffer, chunk.byteOffset + skip, n);
      else words = new Uint32Array(chunk.slice(skip, skip + 4 * n).buffer);
      for (let i = words.indexOf(BTF_WORD); i >= 0 && this.candidates < MAX_BTF_CANDIDATES; i = words.indexOf(BTF_WORD, i + 1)) {
        this.candidates++;
        this.want({ start: at + skip + 4 * i, end: at + skip + 4 * i + 32, got: 0, kind: 'btf-head' });
      }
    }
    this.scanBanners(chunk, at);
  }

  /** "Linux version" banners that start in `bytes` (at stream offset `at`), when the release is wanted. */
  private scanBanners(bytes: Uint8Array, at: number): void {
    if (!this.opts.wantRelease) return;
    for (let i = indexOf(bytes, LINUX_VERSION); i >= 0 && this.banners < MAX_BANNERS; i = indexOf(bytes, LINUX_VERSION, i + 1)) this.banner(bytes, at, i);
  }

  /** Matches that start in the previous chunk (the first `k` bytes of `seam`) and end in this one. */
  private scanSeam(seam: Uint8Array, at: number, k: number): void {
    for (let i = Math.max(0, k - 3); i < k; i++) {
      if (((at + i) & 3) === 0 && startsWith(seam, BTF_HEAD, i) && this.candidates < MAX_BTF_CANDIDATES) {
        this.candidates++;
        this.want({ start: at + i, end: at + i + 32, got: 0, kind: 'btf-head' });
      }
    }
    if (!this.opts.wantRelease) return;
    for (let i = Math.max(0, k - LINUX_VERSION.length); i < k; i++) if (startsWith(seam, LINUX_VERSION, i)) this.banner(seam, at, i);
  }

  private banner(bytes: Uint8Array, at: number, i: number): void {
    const d = bytes[i + LINUX_VERSION.length];
    if (d >= 0x30 && d <= 0x39 && this.banners < MAX_BANNERS) {
      this.banners++;
      this.want({ start: at + i, end: at + i + BANNER_MAX, got: 0, kind: 'banner' });
    }
  }

  private banners = 0;
  /** The output came whole (whole()): parts are taken by the section table. */
  private wholeOutput = false;

  /** Keeps the last bytes seen (the seam, and captures that start just behind). */
  private keepLast(chunk: Uint8Array): void {
    // A fresh copy: chunks are only valid during the call.
    const keep = Math.max(SEAM, 64);
    if (chunk.length >= keep) this.last = chunk.slice(chunk.length - keep);
    else {
      const joined = new Uint8Array(Math.min(keep, this.last.length + chunk.length));
      const fromLast = joined.length - chunk.length;
      joined.set(this.last.subarray(this.last.length - fromLast));
      joined.set(chunk, fromLast);
      this.last = joined;
    }
  }

  /** Ends the stream of `total` bytes: the base, or the ranges a second pass must keep. */
  end(total: number): { base?: StreamedBase; missing?: Array<[number, number]> } {
    if (this.mode === undefined) {
      if (total === 0) throw new InputError(`${this.opts.what} is empty`);
      this.head.buf!.set(this.pending);
      this.head.got = this.pending.length;
      this.classify();
      if (this.mode === 'btf') throw new InputError(`raw BTF is ${total} bytes, shorter than its header`);
      throw new InputError(`not an ELF file: only ${total} bytes`);
    }
    if (this.mode === 'btf') {
      if (!this.btfBuf) {
        // Shorter than 32 bytes: a 24-byte header and what follows it, as it is.
        if (this.btfHeadGot < 24) throw new InputError(`raw BTF is ${this.btfHeadGot} bytes, shorter than its header`);
        const raw = this.btfHead!.subarray(0, this.btfHeadGot);
        const end = btfExtent(raw);
        if (raw.length > end) throw new InputError(`raw BTF has ${raw.length - end} trailing byte${raw.length - end === 1 ? '' : 's'} after its sections (the header says they end at ${end} of ${total})`);
        return { base: { kind: 'btf', raw, compression: 'zstd' } };
      }
      if (this.trailing) {
        throw new InputError(`raw BTF has ${this.trailing} trailing byte${this.trailing === 1 ? '' : 's'} after its sections (the header says they end at ${this.btfEnd} of ${total})`);
      }
      return { base: { kind: 'btf', raw: this.btfFill === this.btfEnd ? this.btfBuf : this.btfBuf.subarray(0, this.btfFill), compression: 'zstd' } };
    }
    if (this.head.got < this.head.end && !this.done.includes(this.head)) {
      // A stream shorter than 64 bytes: what there is of the header.
      this.head.end = this.head.start + this.head.got;
      this.done.push(this.head);
    }
    // Parts still open when the stream ended (a banner near the end) count for what they hold.
    const kept = [...this.done, ...this.captures.filter((c) => c.got > 0 && c.kind !== 'btf-head')];
    const source = sparseSource(kept, total);
    const missing: Array<[number, number]> = [];
    const need = (start: number, size: number): boolean => {
      // A range past the end is left to readElf's and sectionData's own checks to name.
      if (size === 0 || start > total || size > total - start) return true;
      const end = start + size;
      if (kept.some((c) => c.start <= start && c.start + c.got >= end)) return true;
      missing.push([start, end]);
      return false;
    };
    if (total < 52 || !this.table) {
      // Too short, or no section table: readElf says which.
      return { base: { kind: 'elf', elf: readElf(source), src: source, compression: 'zstd' } };
    }
    const t = this.table;
    if (t.shnum * t.shentsize > total - t.shoff) {
      throw new InputError(`section header table (${t.shnum} x ${t.shentsize} bytes at ${t.shoff}) runs past the end of the ${total}-byte decompressed file`);
    }
    if (!need(t.shoff, t.shnum * t.shentsize)) return { missing };
    const entries = sectionEntries(source.read(t.shoff, t.shnum * t.shentsize), t);
    const names = t.shstrndx < entries.length ? entries[t.shstrndx] : undefined;
    if (names && names.type !== SHT_NOBITS && !need(names.offset, names.size)) return { missing };
    const elf = readElf(source);
    const btf = findSection(elf, '.BTF');
    if (btf && btf.type !== SHT_NOBITS) {
      if (btf.size > this.opts.maxBtf) throw new InputError(`section .BTF is ${formatSize(btf.size)}, over the ${formatSize(this.opts.maxBtf)} limit`);
      if (!need(btf.offset, btf.size)) return { missing };
    }
    let release: KernelRelease | undefined;
    const rodata = findSection(elf, '.rodata');
    if (this.opts.wantRelease && rodata && rodata.type !== SHT_NOBITS) {
      const end = rodata.offset + rodata.size;
      const hit = kept.filter((c) => c.kind === 'banner' && c.start >= rodata.offset && c.start < end).sort((a, b) => a.start - b.start)[0];
      if (hit) release = parseBanner(cString(hit.buf!.subarray(0, Math.min(hit.got, end - hit.start)), 0).split('\n', 1)[0]);
    }
    return { base: { kind: 'elf', elf, src: source, release, compression: 'zstd' } };
  }

  /** For a second pass: keep exactly these ranges (the stream can stop once they are in). */
  static ranges(ranges: Array<[number, number]>): { push: (chunk: Uint8Array) => boolean; kept: Capture[] } {
    const open: Capture[] = ranges.map(([start, end]) => ({ start, end, got: 0, kind: 'btf' as const, buf: new Uint8Array(end - start) }));
    const kept: Capture[] = [];
    let pos = 0;
    return {
      kept,
      push(chunk) {
        const at = pos;
        pos += chunk.length;
        for (const c of open) {
          const from = c.start + c.got;
          if (from >= pos || from < at || c.got === c.end - c.start) continue;
          const n = Math.min(c.end, pos) - from;
          c.buf!.set(chunk.subarray(from - at, from - at + n), c.got);
          c.got += n;
          if (c.got === c.end - c.start) kept.push(c);
        }
        return kept.length < open.length;
      },
    };
  }

  /** Adds the parts a second pass kept. */
  add(parts: Capture[]): void { this.done.push(...parts); }
}

/** Where raw BTF ends by its header: the header and the furthest section (types, strings, 7.1+ layout). */
function btfExtent(h: Uint8Array): number {
  const v = viewOf(h);
  const le = h[0] === 0x9f;
  const hdrLen = v.getUint32(4, le);
  const typeEnd = v.getUint32(8, le) + v.getUint32(12, le);
  const strEnd = v.getUint32(16, le) + v.getUint32(20, le);
  const layoutEnd = hdrLen >= 32 && h.length >= 32 ? v.getUint32(24, le) + v.getUint32(28, le) : 0;
  return hdrLen + Math.max(typeEnd, strEnd, layoutEnd);
}

function sectionEntries(table: Uint8Array, t: { bits: 32 | 64; le: boolean; shentsize: number; shnum: number }): SectionEntry[] {
  const v = viewOf(table);
  const out: SectionEntry[] = [];
  for (let i = 0; i < t.shnum; i++) {
    const at = i * t.shentsize;
    if (t.bits === 64) {
      const off = v.getBigUint64(at + 24, t.le), size = v.getBigUint64(at + 32, t.le);
      const safe = (x: bigint) => (x > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(x));
      out.push({ nameOffset: v.getUint32(at, t.le), type: v.getUint32(at + 4, t.le), offset: safe(off), size: safe(size) });
    } else {
      out.push({ nameOffset: v.getUint32(at, t.le), type: v.getUint32(at + 4, t.le), offset: v.getUint32(at + 16, t.le), size: v.getUint32(at + 20, t.le) });
    }
  }
  return out;
}

/** A ByteSource over the kept parts of a stream of `size` bytes; reads elsewhere throw. */
function sparseSource(parts: Capture[], size: number): ByteSource {
  return {
    size,
    read(offset, length) {
      const c = parts.find((p) => p.buf && p.start <= offset && p.start + p.got >= offset + length);
      if (!c) throw new InputError(`bytes ${offset}-${offset + length} of the decompressed data were not kept (internal error)`);
      return c.buf!.subarray(offset - c.start, offset - c.start + length);
    },
  };
}

/**
 * The base inside compressed data (a compressed vmlinux or raw BTF, or a bzImage payload with
 * `allowRaw` false), streamed: only the parts needed are kept. A second decoding pass runs only
 * when the ELF's layout put a needed part where the first pass did not keep it.
 */
export async function baseFromCompressed(data: Uint8Array, compression: Compression, options: BaseStreamOptions & { allowRaw: boolean; what?: string; sizeHint?: number }): Promise<StreamedBase> {
  const what = options.what ?? `${compression} data`;
  const capture = new BaseCapture({ maxBtf: options.maxBtf, maxPayload: options.budget.maxBytes, wantRelease: !!options.wantRelease, allowRaw: options.allowRaw, what });
  const sink: Sink = (chunk) => capture.push(chunk);
  sink.whole = (all) => capture.whole(all);
  const { total } = await decodeStream(data, compression, options, sink);
  const r = capture.end(total);
  if (r.base) return { ...r.base, compression };
  // Second pass: the ranges named by the section table (names first, then .BTF), at most twice.
  let r2 = r;
  for (let pass = 0; pass < 3 && r2.missing; pass++) {
    const second = BaseCapture.ranges(r2.missing);
    await decodeStream(data, compression, { ...options, sizeHint: undefined }, second.push);
    capture.add(second.kept);
    r2 = capture.end(total);
  }
  if (!r2.base) throw new InputError(`${what}: the vmlinux's sections could not be read in three passes`);
  return { ...r2.base, compression };
}

/** Payload candidates tried in an old-protocol bzImage before it is called noise. */
export const MAX_PAYLOAD_CANDIDATES = 64;

/**
 * The base inside a bzImage, streamed from its payload: the setup header's payload fields when
 * present; otherwise (old boot protocol) each compression magic after the setup code is tried as a
 * candidate, one at a time, at most MAX_PAYLOAD_CANDIDATES, all within the one budget of
 * `options.budget` (bytes and time), so that many candidates cannot multiply the cost.
 */
export async function baseFromBzImage(bytes: Uint8Array, options: BaseStreamOptions): Promise<StreamedBase & { header: BzImageHeader }> {
  const header = readBzImageHeader(bytes);
  // The setup header names the release; the banner is looked for only when it does not.
  const opts = { ...options, wantRelease: options.wantRelease && !header.kernelVersion, allowRaw: false };
  if (header.payload) {
    const payload = bytes.subarray(header.payload.offset, header.payload.offset + header.payload.length);
    const compression = detectCompression(payload);
    if (compression === 'bzip2' || compression === 'lzo' || compression === undefined) {
      throw new InputError(compression
        ? `bzImage payload is ${compression}-compressed; only lz4, zstd, xz and gzip are supported`
        : 'bzImage payload starts with no known compression magic (lzma and lzo kernels are not supported)');
    }
    const n = payload.length;
    const trailer = n < 4 ? 0 : (payload[n - 4] | (payload[n - 3] << 8) | (payload[n - 2] << 16) | (payload[n - 1] << 24)) >>> 0;
    options.budget.fits(`bzImage payload (${compression})`, 'declares', trailer);
    const data = compression === 'gzip' ? payload : payload.subarray(0, Math.max(0, n - 4));
    const base = await baseFromCompressed(data, compression, { ...opts, what: `bzImage payload (${compression})`, sizeHint: trailer });
    return { ...base, header };
  }
  let tried = 0;
  let limited = 0;
  let limitError: InputError | undefined;
  const start = Math.min(header.setupSize, bytes.length);
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  for (const [compression, magic] of COMPRESSION_MAGICS) {
    for (let at = indexOf(bytes, magic, start); at >= 0; at = indexOf(bytes, magic, at + 1)) {
      // A kernel has one payload, right after the setup code: a file with this many magics is noise
      // (each refusal costs milliseconds; a thousand of them is seconds of nothing).
      if (tried === MAX_PAYLOAD_CANDIDATES) {
        throw new InputError(`bzImage (old boot protocol, no payload fields): more than ${MAX_PAYLOAD_CANDIDATES} compression magics after the setup code, none of them an ELF file${limitError ? ` (the first refused: ${limitError.message})` : ''}; not a kernel image`);
      }
      tried++;
      try {
        const base = await baseFromCompressed(bytes.subarray(at), compression, { ...opts, what: `bzImage payload candidate (${compression} at ${at})` });
        return { ...base, header };
      } catch (e) {
        if (e instanceof BudgetError) throw new InputError(`bzImage (old boot protocol, no payload fields): ${e.message}, after trying ${plural(tried, 'payload candidate')}`);
        if (!(e instanceof InputError)) throw e;
        if (/limit/.test(e.message)) { limited++; limitError ??= e; }
      }
    }
  }
  if (limitError) {
    throw new InputError(`bzImage holds no compressed payload that decompresses to an ELF file within the limits (${plural(tried, 'candidate')} tried, ${limited} refused; the first: ${limitError.message})`);
  }
  throw new InputError(`bzImage holds no compressed payload that decompresses to an ELF file (${plural(tried, 'candidate')} tried)`);
}
