/**
 * RPM packages: the lead, the signature header and the main header, read from a ByteSource to find
 * the payload (a cpio archive, compressed as PAYLOADCOMPRESSOR says) and the package's file list.
 * Nothing of the payload is read here.
 */
import { latin1 } from '../bytes.js';
import { InputError } from '../errors.js';
import { ByteSource } from '../source.js';

const LEAD = 96;
const HEADER_MAGIC = [0x8e, 0xad, 0xe8, 0x01];
/** Index entries and store bytes accepted per header (real kernel packages: ~100 KB). */
const MAX_INDEX = 1 << 16;
const MAX_STORE = 64 << 20;

const TAG = {
  NAME: 1000, VERSION: 1001, RELEASE: 1002, ARCH: 1022,
  DIRINDEXES: 1116, BASENAMES: 1117, DIRNAMES: 1118,
  PAYLOADFORMAT: 1124, PAYLOADCOMPRESSOR: 1125,
} as const;
const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

export interface RpmInfo {
  name: string | null;
  version: string | null;
  release: string | null;
  arch: string | null;
  /** Offset of the payload in the file. */
  payloadOffset: number;
  payloadFormat: string;
  /** As the header names it (gzip, xz, zstd, lzma, bzip2); null when absent (gzip by default). */
  payloadCompressor: string | null;
  /** Every file of the package, without a leading slash (`lib/modules/R/vmlinuz`). */
  files: string[];
}

export function isRpm(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0xed && head[1] === 0xab && head[2] === 0xee && head[3] === 0xdb;
}

const u32be = (b: Uint8Array, at: number): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

interface Header {
  entries: Array<{ tag: number; type: number; offset: number; count: number }>;
  store: Uint8Array;
  /** Offset just after the header. */
  end: number;
}

function readHeader(src: ByteSource, at: number, what: string): Header {
  if (src.size - at < 16) throw new InputError(`rpm: ${what} header truncated`);
  const h = src.read(at, 16);
  for (let i = 0; i < 4; i++) if (h[i] !== HEADER_MAGIC[i]) throw new InputError(`rpm: bad ${what} header magic at offset ${at}`);
  const nindex = u32be(h, 8);
  const hsize = u32be(h, 12);
  if (nindex > MAX_INDEX || hsize > MAX_STORE) throw new InputError(`rpm: ${what} header claims ${nindex} entries and ${hsize} bytes: too large`);
  const indexAt = at + 16;
  const storeAt = indexAt + nindex * 16;
  if (storeAt + hsize > src.size) throw new InputError(`rpm: ${what} header truncated`);
  const index = src.read(indexAt, nindex * 16);
  const store = src.read(storeAt, hsize);
  const entries = [];
  for (let i = 0; i < nindex; i++) {
    const e = { tag: u32be(index, i * 16), type: u32be(index, i * 16 + 4), offset: u32be(index, i * 16 + 8), count: u32be(index, i * 16 + 12) };
    if (e.offset > hsize) throw new InputError(`rpm: ${what} header entry ${e.tag} points outside its store`);
    entries.push(e);
  }
  return { entries, store, end: storeAt + hsize };
}

function strings(h: Header, tag: number): string[] | null {
  const e = h.entries.find((x) => x.tag === tag);
  if (!e || (e.type !== TYPE_STRING && e.type !== TYPE_STRING_ARRAY && e.type !== TYPE_I18NSTRING)) return null;
  const out: string[] = [];
  let at = e.offset;
  const n = e.type === TYPE_STRING ? 1 : e.count;
  for (let k = 0; k < n; k++) {
    let end = at;
    while (end < h.store.length && h.store[end] !== 0) end++;
    if (end >= h.store.length) throw new InputError(`rpm: header string of tag ${tag} runs past its store`);
    out.push(latin1(h.store, at, end));
    at = end + 1;
  }
  return out;
}

function int32s(h: Header, tag: number): number[] | null {
  const e = h.entries.find((x) => x.tag === tag);
  if (!e || e.type !== TYPE_INT32) return null;
  if (e.offset + e.count * 4 > h.store.length) throw new InputError(`rpm: header integers of tag ${tag} run past its store`);
  const out: number[] = [];
  for (let k = 0; k < e.count; k++) out.push(u32be(h.store, e.offset + 4 * k));
  return out;
}

/** Reads an RPM's headers. */
export function readRpm(src: ByteSource): RpmInfo {
  if (src.size < LEAD + 16 || !isRpm(src.read(0, 4))) throw new InputError('not an RPM package (no lead magic)');
  const sig = readHeader(src, LEAD, 'signature');
  // The signature header is padded to an 8-byte boundary.
  const mainAt = (sig.end + 7) & ~7;
  const main = readHeader(src, mainAt, 'main');
  const one = (tag: number): string | null => strings(main, tag)?.[0] ?? null;
  const dirs = strings(main, TAG.DIRNAMES) ?? [];
  const bases = strings(main, TAG.BASENAMES) ?? [];
  const idx = int32s(main, TAG.DIRINDEXES) ?? [];
  const files: string[] = [];
  for (let i = 0; i < bases.length; i++) {
    const d = dirs[idx[i]];
    if (d === undefined) throw new InputError('rpm: file list refers to a directory it does not hold');
    files.push((d + bases[i]).replace(/^\/+/, ''));
  }
  return {
    name: one(TAG.NAME), version: one(TAG.VERSION), release: one(TAG.RELEASE), arch: one(TAG.ARCH),
    payloadOffset: main.end, payloadFormat: one(TAG.PAYLOADFORMAT) ?? 'cpio', payloadCompressor: one(TAG.PAYLOADCOMPRESSOR), files,
  };
}

/** Builds a minimal RPM (v3 lead, empty signature, a header with name and file list) around a payload: for tests. */
export function buildRpm(opts: { name: string; version: string; release: string; arch?: string; files: string[]; compressor: string; payload: Uint8Array }): Uint8Array {
  const enc = (s: string): number[] => [...s].map((c) => c.charCodeAt(0) & 0xff);
  const header = (tags: Array<{ tag: number; type: number; values: string[] | number[] }>): Uint8Array => {
    const store: number[] = [];
    const index: number[] = [];
    const be = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    for (const t of tags.sort((a, b) => a.tag - b.tag)) {
      if (t.type === TYPE_INT32) while (store.length & 3) store.push(0);
      const offset = store.length;
      if (t.type === TYPE_INT32) for (const v of t.values as number[]) store.push(...be(v));
      else for (const v of t.values as string[]) store.push(...enc(v), 0);
      index.push(...be(t.tag), ...be(t.type), ...be(offset), ...be(t.values.length));
    }
    return Uint8Array.from([...HEADER_MAGIC, 0, 0, 0, 0, ...be(tags.length), ...be(store.length), ...index, ...store]);
  };
  const lead = new Uint8Array(LEAD);
  lead.set([0xed, 0xab, 0xee, 0xdb, 3, 0]);
  lead.set(enc(`${opts.name}-${opts.version}-${opts.release}`).slice(0, 65), 10);
  lead[79] = 5; // signature type: header-style
  const sig = header([]);
  const dirList: string[] = [];
  const dirIdx: number[] = [];
  const baseList: string[] = [];
  for (const f of opts.files) {
    const slash = f.lastIndexOf('/');
    const dir = '/' + f.slice(0, slash + 1);
    let i = dirList.indexOf(dir);
    if (i < 0) { i = dirList.length; dirList.push(dir); }
    dirIdx.push(i);
    baseList.push(f.slice(slash + 1));
  }
  const main = header([
    { tag: TAG.NAME, type: TYPE_STRING, values: [opts.name] },
    { tag: TAG.VERSION, type: TYPE_STRING, values: [opts.version] },
    { tag: TAG.RELEASE, type: TYPE_STRING, values: [opts.release] },
    { tag: TAG.ARCH, type: TYPE_STRING, values: [opts.arch ?? 'x86_64'] },
    { tag: TAG.DIRINDEXES, type: TYPE_INT32, values: dirIdx },
    { tag: TAG.BASENAMES, type: TYPE_STRING_ARRAY, values: baseList },
    { tag: TAG.DIRNAMES, type: TYPE_STRING_ARRAY, values: dirList },
    { tag: TAG.PAYLOADFORMAT, type: TYPE_STRING, values: ['cpio'] },
    { tag: TAG.PAYLOADCOMPRESSOR, type: TYPE_STRING, values: [opts.compressor] },
  ]);
  const sigPadded = (LEAD + sig.length + 7) & ~7;
  const out = new Uint8Array(sigPadded + main.length + opts.payload.length);
  out.set(lead, 0);
  out.set(sig, LEAD);
  out.set(main, sigPadded);
  out.set(opts.payload, sigPadded + main.length);
  return out;
}
