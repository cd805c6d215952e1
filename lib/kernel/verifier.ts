/**
 * The kernel's parse of one raw BTF blob as btf_parse_module() (split BTF on a base) or
 * btf_parse_base() (a base of its own: 6.12's distilled .BTF.base) does it:
 * btf_parse_hdr (with btf_check_sec_info), btf_parse_str_sec, btf_check_all_metas
 * (btf_check_meta + kind_ops[kind]->check_meta for every type) and btf_check_type_tags.
 * Neither runs the resolve phase (btf_check_all_types) nor btf_parse_type_sec's checks.
 *
 * The bytes are walked here directly with a DataView, as the kernel walks them; no per-type
 * objects are allocated. Any byte string gives a result; nothing here throws for hostile input.
 */
import { viewOf } from '../bytes.js';
import { Btf } from '../btf/btf.js';
import { BTF_MAX_NAME_OFFSET, BTF_MAX_TYPE, KIND_NAMES, Kind, TYPE_HEADER_SIZE } from '../btf/kinds.js';
import { E2BIG, EINVAL, ELOOP, ENOTSUPP, isModifierKind, KIND_OPS } from '../../rules/kernel/kinds.js';
import type { KernelRules } from '../../rules/kernel/versions.js';
import { isAlnum, isAlpha, isPrint } from './ctype.js';
import type { MetaEnv, TypeCursor } from './env.js';
import { fmtU, fmtX, KernelLog } from './log.js';
import { kernelSort } from './sort.js';

/** The header fields btf_parse_hdr copies (layout_off / layout_len: 7.1+, else 0). */
interface BtfHeaderFields { hdrLen: number; typeOff: number; typeLen: number; strOff: number; strLen: number; layoutOff: number; layoutLen: number }

const BTF_MAGIC = 0xeb9f;
const BTF_VERSION = 1;
/** offsetofend(struct btf_header, hdr_len). */
const HDR_LEN_END = 8;
/**
 * How each kernel decodes the info word (rules.infoLayout): the bits that must be zero (none from
 * 7.2 on), and the kind and vlen masks.
 */
const INFO_LAYOUTS = {
  kind4: { mustBeZero: ~0x8f00ffff, kindMask: 0x0f, vlenMask: 0xffff },
  kind5: { mustBeZero: ~0x9f00ffff, kindMask: 0x1f, vlenMask: 0xffff },
  kind7: { mustBeZero: 0, kindMask: 0x7f, vlenMask: 0xffffff },
} as const;
/** sizeof(struct btf_type). */
export const TYPE_SIZE = TYPE_HEADER_SIZE;
/** btf_check_type_tags' chain_limit. */
const MAX_MODIFIER_CHAIN = 32;
/** Longest name we ever need to print: vscnprintf keeps 1023 bytes of a fragment. */
const NAME_PRINT_CAP = 1024;

/**
 * What a split BTF's checks need of its base (struct btf *base_btf): the running kernel's vmlinux,
 * or a distilled base that passed btf_parse_base().
 */
export interface BaseView {
  /** btf_nr_types(base): its types plus void (0 for a base BTF that has no types at all). */
  nrTypes: number;
  /** hdr.str_len: the split BTF's string offsets start here. */
  strLen: number;
  /** The base's string section (offset 0 = the base's string offset 0). */
  strings: Uint8Array;
  /** Raw fields of type `id` (1 <= id < nrTypes). */
  nameOff(id: number): number;
  info(id: number): number;
  sizeType(id: number): number;
  /** The u32 after the 12-byte btf_type (INT data), for INT types. */
  intData(id: number): number;
}

/** The trusted vmlinux BTF as a BaseView (indexed once by Btf.parseBase). */
export function vmlinuxBase(btf: Btf): BaseView {
  const types = btf.types;
  const view = viewOf(types.bytes);
  return {
    nrTypes: btf.nrTypes,
    strLen: btf.header.strLen,
    strings: btf.strings.bytes,
    nameOff: (id) => types.nameOff(id - 1),
    info: (id) => types.info(id - 1),
    sizeType: (id) => types.sizeOrType(id - 1),
    intData: (id) => view.getUint32(types.offsets[id - 1] + TYPE_SIZE, true),
  };
}

export interface VerifyOptions {
  /** The base for split BTF; undefined parses a base BTF (btf_parse_base). */
  base?: BaseView;
  /** 6.12, ALLOW_BTF_MISMATCH=y, module BTF: __btf_verifier_log_type / _member print nothing. */
  silenceTypeLogs: boolean;
}

export class BtfVerifier implements MetaEnv {
  private readonly view: DataView;
  private readonly base: BaseView | undefined;
  /** btf->start_id: the base's nr_types for split BTF, 0 (kzalloc) for a base. */
  private readonly startIdK: number;
  /** Id of this BTF's first own type: start_id for split BTF, 1 for a base (0 is void). */
  readonly firstOwnId: number;
  /** btf->start_str_off. */
  readonly startStrOff: number;
  /** env->log_type_id. */
  private logTypeId = 0;
  /** Where this BTF's string section starts in `data`, and its length (header str_len). */
  strStart = 0;
  strLen = 0;
  /** Byte offset of each own type, in id order (index = id - firstOwnId). */
  offsets: Uint32Array = new Uint32Array(0);
  /** btf->nr_types as the kernel counts it (a base counts void once it has a type). */
  nrTypesK = 0;
  /** btf->types_size: the capacity btf_add_type() grows by its own rule. */
  private typesSize = 0;
  private readonly cursor: TypeCursor = { off: 0, nameOff: 0, info: 0, kind: 0, vlen: 0, kflag: false, sizeType: 0 };
  /** Set by resolveStr(): the bytes and position a string offset points at. */
  private sBytes: Uint8Array = new Uint8Array(0);
  private sPos = 0;
  private readonly silenceTypeLogs: boolean;
  private readonly infoLayout: (typeof INFO_LAYOUTS)[keyof typeof INFO_LAYOUTS];

  constructor(readonly rules: KernelRules, readonly data: Uint8Array, readonly out: KernelLog, opts: VerifyOptions) {
    this.view = viewOf(data);
    this.base = opts.base;
    this.silenceTypeLogs = opts.silenceTypeLogs;
    this.infoLayout = INFO_LAYOUTS[rules.infoLayout];
    this.startIdK = opts.base ? opts.base.nrTypes : 0;
    this.firstOwnId = opts.base ? opts.base.nrTypes : 1;
    this.startStrOff = opts.base ? opts.base.strLen : 0;
  }

  /** Number of own types (excluding void). */
  get ownCount(): number {
    return this.base ? this.nrTypesK : Math.max(0, this.nrTypesK - 1);
  }

  /** btf_nr_types(btf): base types plus own (for a base, its nr_types). */
  get totalTypes(): number {
    return this.startIdK + this.nrTypesK;
  }

  /** The parse; 0 or a negative errno. */
  run(): number {
    const hdr = this.parseHdr();
    if (typeof hdr === 'number') return hdr;
    // btf->nohdr_data = btf->data + btf->hdr.hdr_len (the copied header's value)
    const nohdr = hdr.hdrLen;
    let err = this.parseStrSec(nohdr, hdr.hdrLen, hdr.strOff, hdr.strLen);
    if (err) return err;
    err = this.checkAllMetas(nohdr + hdr.typeOff, hdr.typeLen);
    if (err) return err;
    return this.rules.typeTagPass ? this.checkTypeTags() : 0;
  }

  // ---- btf_parse_hdr / btf_check_sec_info / btf_parse_str_sec -------------------------------

  private parseHdr(): number | BtfHeaderFields {
    const size = this.data.length;
    // sizeof(struct btf_header): 24, or 32 from 7.1 (layout_off, layout_len).
    const headerSize = this.rules.headerSize;
    if (size < HDR_LEN_END) { this.out.vlog('hdr_len not found'); return -EINVAL; }
    const hdrLen = this.view.getUint32(4, true);
    if (size < hdrLen) { this.out.vlog('btf_header not found'); return -EINVAL; }
    // Header bytes beyond the known struct must be zero.
    for (let i = headerSize; i < hdrLen; i++) {
      if (this.data[i] !== 0) { this.out.vlog('Unsupported btf_header'); return -E2BIG; }
    }
    // memcpy(&btf->hdr, data, min(hdr_len, sizeof hdr)) into a zeroed struct: a short hdr_len
    // leaves the later fields (even hdr_len itself) zero.
    const copy = new Uint8Array(headerSize);
    copy.set(this.data.subarray(0, Math.min(hdrLen, headerSize)));
    const h = viewOf(copy);
    const fields: BtfHeaderFields = {
      hdrLen: h.getUint32(4, true), typeOff: h.getUint32(8, true), typeLen: h.getUint32(12, true),
      strOff: h.getUint32(16, true), strLen: h.getUint32(20, true),
      layoutOff: headerSize >= 32 ? h.getUint32(24, true) : 0, layoutLen: headerSize >= 32 ? h.getUint32(28, true) : 0,
    };
    if (h.getUint16(0, true) !== BTF_MAGIC) { this.out.vlog('Invalid magic'); return -EINVAL; }
    if (copy[2] !== BTF_VERSION) { this.out.vlog('Unsupported version'); return -ENOTSUPP; }
    if (copy[3] !== 0) { this.out.vlog('Unsupported flags'); return -ENOTSUPP; }
    if (!this.base && size === fields.hdrLen) { this.out.vlog('No data'); return -EINVAL; }
    const err = this.checkSecInfo(size, fields);
    return err || fields;
  }

  private checkSecInfo(size: number, hdr: BtfHeaderFields): number {
    let secs = [{ off: hdr.typeOff, len: hdr.typeLen }, { off: hdr.strOff, len: hdr.strLen }];
    // sort() with btf_sec_info_cmp, which compares (int)(x->off - y->off): a u32 difference read
    // as signed, so offsets 2 GiB apart compare "backwards". The kernel's heapsort (6.1's and
    // 6.12's alike) on two entries keeps them in order iff cmp(first, second) < 0.
    const cmp = (x: { off: number; len: number }, y: { off: number; len: number }): number =>
      ((x.off - y.off) | 0) || ((x.len - y.len) | 0);
    // 7.1+: the layout section tiles with the others when the header has it and it is not empty.
    if (this.rules.headerSize >= 32 && hdr.hdrLen >= 32 && hdr.layoutLen !== 0) {
      secs.push({ off: hdr.layoutOff, len: hdr.layoutLen });
      kernelSort(secs, cmp);
    } else if (cmp(secs[0], secs[1]) >= 0) {
      secs = [secs[1], secs[0]];
    }
    let total = 0;
    const expectedTotal = (size - hdr.hdrLen) >>> 0;
    for (const sec of secs) {
      if (expectedTotal < sec.off) { this.out.vlog('Invalid section offset'); return -EINVAL; }
      if (total < sec.off) { this.out.vlog('Unsupported section found'); return -EINVAL; }
      if (total > sec.off) { this.out.vlog('Section overlap found'); return -EINVAL; }
      if (expectedTotal - total < sec.len) { this.out.vlog('Total section length too long'); return -EINVAL; }
      total += sec.len;
    }
    // data other than the header and known sections
    if (expectedTotal !== total) { this.out.vlog('Unsupported section found'); return -EINVAL; }
    return 0;
  }

  private parseStrSec(nohdr: number, hdrLen: number, strOff: number, strLen: number): number {
    const start = nohdr + strOff;
    const end = start + strLen;
    // 7.1+: with a full 32-byte header the strings may come before the layout section.
    const mustBeLast = this.rules.headerSize < 32 || hdrLen < this.rules.headerSize;
    if (mustBeLast && end !== this.data.length) { this.out.vlog('String section is not at the end'); return -EINVAL; }
    this.strStart = start;
    this.strLen = strLen;
    // split BTF may have no strings of its own
    if (this.base && !strLen) return 0;
    if (!strLen || strLen - 1 > BTF_MAX_NAME_OFFSET || this.data[end - 1] !== 0) { this.out.vlog('Invalid string section'); return -EINVAL; }
    // a base's first string is the empty one
    if (!this.base && this.data[start] !== 0) { this.out.vlog('Invalid string section'); return -EINVAL; }
    return 0;
  }

  // ---- btf_check_all_metas / btf_check_meta / btf_add_type ----------------------------------

  private checkAllMetas(start: number, typeLen: number): number {
    const end = start + typeLen;
    this.offsets = new Uint32Array(Math.floor(typeLen / TYPE_SIZE) + 1);
    this.logTypeId = this.base ? this.startIdK : 1;
    let cur = start;
    while (cur < end) {
      const metaSize = this.checkMeta(cur, end - cur);
      if (metaSize < 0) return metaSize;
      this.addType(cur);
      cur += metaSize;
      this.logTypeId++;
    }
    return 0;
  }

  private checkMeta(off: number, metaLeft: number): number {
    const id = fmtU(this.logTypeId);
    if (metaLeft < TYPE_SIZE) { this.out.vlog(`[${id}] meta_left:${metaLeft} meta_needed:${TYPE_SIZE}`); return -EINVAL; }
    const info = this.view.getUint32(off + 4, true);
    const layout = this.infoLayout;
    if ((info & layout.mustBeZero) !== 0) { this.out.vlog(`[${id}] Invalid btf_info:${fmtX(info)}`); return -EINVAL; }
    const kind = (info >>> 24) & layout.kindMask;
    const ops = kind <= this.rules.kindMax ? KIND_OPS[kind] : undefined;
    if (!ops) { this.out.vlog(`[${id}] Invalid kind:${kind}`); return -EINVAL; }
    const nameOff = this.view.getUint32(off, true);
    if (!this.nameOffsetValid(nameOff)) { this.out.vlog(`[${id}] Invalid name_offset:${fmtU(nameOff)}`); return -EINVAL; }
    const t = this.cursor;
    t.off = off;
    t.nameOff = nameOff;
    t.info = info;
    t.kind = kind;
    t.vlen = info & layout.vlenMask;
    t.kflag = (info >>> 31) === 1;
    t.sizeType = this.view.getUint32(off + 8, true);
    const varMetaSize = ops.checkMeta(this, t, metaLeft - TYPE_SIZE);
    return varMetaSize < 0 ? varMetaSize : TYPE_SIZE + varMetaSize;
  }

  /** btf_add_type(): its return value is ignored by btf_check_all_metas(). */
  private addType(off: number): void {
    if (this.nrTypesK === this.typesSize) {
      if (this.startIdK + this.typesSize === BTF_MAX_TYPE) {
        // -E2BIG, ignored: the type is not added but the walk goes on.
        this.out.vlog('Exceeded max num of types');
        return;
      }
      const expandBy = Math.max(this.typesSize >>> 2, 16);
      // Past ~1M types the kernel's capacity stops growing and it writes out of bounds; we just
      // keep counting (undefined behaviour we cannot reproduce).
      this.typesSize = Math.min(BTF_MAX_TYPE, this.typesSize + expandBy);
      // a base lazily gets void as its type 0
      if (this.nrTypesK === 0 && !this.base) this.nrTypesK = 1;
    }
    const index = this.ownCount;
    if (index >= this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2 + 16);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[index] = off;
    this.nrTypesK++;
  }

  // ---- btf_check_type_tags ------------------------------------------------------------------

  /** BTF_INFO_KIND of type `id` (< totalTypes); void is kind 0. */
  kindOf(id: number): number {
    if (id < this.firstOwnId) {
      if (id === 0 && !this.base) return Kind.UNKN;
      return this.base && id > 0 ? (this.base.info(id) >>> 24) & this.infoLayout.kindMask : Kind.UNKN;
    }
    return (this.view.getUint32(this.offsets[id - this.firstOwnId] + 4, true) >>> 24) & this.infoLayout.kindMask;
  }

  /** Byte offset of own type `id` in `data`. */
  offsetOf(id: number): number {
    return this.offsets[id - this.firstOwnId];
  }

  private checkTypeTags(): number {
    // btf_parse_module passes btf_nr_types(base); btf_parse_base passes 1.
    const startId = this.base ? this.startIdK : 1;
    const n = this.totalTypes;
    let goodId = startId - 1;
    for (let i = startId; i < n; i++) {
      let kind = this.kindOf(i);
      if (!isModifierKind(kind)) continue;
      let chainLimit = MAX_MODIFIER_CHAIN;
      let curId = i;
      let inTags = kind === Kind.TYPE_TAG;
      while (isModifierKind(kind)) {
        if (chainLimit-- === 0) { this.out.vlog('Max chain length or cycle detected'); return -ELOOP; }
        // 5.19-7.1 only: btf_check_modifier_chain_length (7.2) dropped the order check.
        if (this.rules.tagOrderCheck) {
          if (kind === Kind.TYPE_TAG) {
            if (!inTags) { this.out.vlog("Type tags don't precede modifiers"); return -EINVAL; }
          } else if (inTags) {
            inTags = false;
          }
        }
        // Everything up to good_id (all of the base too) was checked already.
        if (curId <= goodId) break;
        curId = this.view.getUint32(this.offsetOf(curId) + 8, true);
        // A dangling id: -EINVAL without a word.
        if (curId >= n) return -EINVAL;
        kind = this.kindOf(curId);
      }
      goodId = i;
    }
    return 0;
  }

  // ---- strings (MetaEnv) --------------------------------------------------------------------

  /** btf_str_by_offset(): false for NULL, else sets sBytes/sPos. */
  private resolveStr(nameOff: number): boolean {
    const off = nameOff >>> 0;
    if (this.base && off < this.startStrOff) {
      this.sBytes = this.base.strings;
      this.sPos = off;
      return off < this.base.strings.length;
    }
    const local = off - this.startStrOff;
    if (local >= this.strLen) return false;
    this.sBytes = this.data;
    this.sPos = this.strStart + local;
    return true;
  }

  /** The byte at `pos` of the resolved string's buffer, 0 past its end (strings are NUL-terminated). */
  private sByte(pos: number): number {
    return pos < this.sBytes.length ? this.sBytes[pos] : 0;
  }

  nameOffsetValid(nameOff: number): boolean {
    const off = nameOff >>> 0;
    if (off > BTF_MAX_NAME_OFFSET) return false;
    if (off < this.startStrOff) return true;
    return off - this.startStrOff < this.strLen;
  }

  strFirstByte(nameOff: number): number {
    return this.resolveStr(nameOff) ? this.sByte(this.sPos) : -1;
  }

  nameValidIdentifier(nameOff: number, dotOk = false): boolean {
    if (!this.resolveStr(nameOff)) return false;
    // __btf_name_char_ok: '.' everywhere since "Allow dots in BTF names" (6.4 and stable);
    // before, only where the caller passes dot_ok (VAR and DATASEC names).
    const dot = this.rules.dotsInNames || dotOk ? 0x2e : -1;
    let p = this.sPos;
    const first = this.sByte(p);
    if (!isAlpha(first) && first !== 0x5f && first !== dot) return false;
    const limit = p + this.rules.ksymNameLen;
    p++;
    for (let c = this.sByte(p); c && p < limit; c = this.sByte(++p)) {
      if (!isAlnum(c) && c !== 0x5f && c !== dot) return false;
    }
    return this.sByte(p) === 0;
  }

  nameValidSection(nameOff: number): boolean {
    if (this.rules.sectionNameRule === 'identifier') return this.nameValidIdentifier(nameOff, true);
    if (!this.resolveStr(nameOff)) return false;
    let p = this.sPos;
    const limit = p + this.rules.ksymNameLen;
    if (this.rules.sectionNameEmptyRejected) {
      if (!this.sByte(p)) return false;
    } else {
      // 6.9-6.10 skip the first byte unchecked (src++ before the loop): an empty name reads on into
      // the next string. Fixed by "bpf: add check for invalid name in btf_name_valid_section()".
      p++;
    }
    for (let c = this.sByte(p); c && p < limit; c = this.sByte(++p)) {
      if (!isPrint(c)) return false;
    }
    return this.sByte(p) === 0;
  }

  /** btf_str_by_offset() as a byte string (capped), or undefined for NULL. */
  strByOffset(nameOff: number): string | undefined {
    if (!this.resolveStr(nameOff)) return undefined;
    return cStringAt(this.sBytes, this.sPos);
  }

  nameByOffset(nameOff: number): string {
    if (!nameOff) return '(anon)';
    return this.strByOffset(nameOff) ?? '(invalid-name-offset)';
  }

  // ---- data access and logging (MetaEnv) ----------------------------------------------------

  u32(off: number): number { return this.view.getUint32(off, true); }
  i32(off: number): number { return this.view.getInt32(off, true); }

  log(text: string): void { this.out.vlog(text); }

  logType(t: TypeCursor, details: boolean, msg: string | null): void {
    // fmt == NULL is the verifier's per-type trace, skipped for in-kernel BTF.
    if (msg === null || this.silenceTypeLogs) return;
    this.out.vlog(`[${fmtU(this.logTypeId)}] ${KIND_NAMES[t.kind]} ${this.nameByOffset(t.nameOff)}${details ? ' ' : ''}`);
    if (details) KIND_OPS[t.kind]?.logDetails(this, t);
    this.tail(msg);
  }

  logMember(t: TypeCursor, memberOff: number, msg: string | null): void {
    if (msg === null || this.silenceTypeLogs) return;
    // In CHECK_META the struct itself is not re-logged first.
    const name = this.nameByOffset(this.u32(memberOff));
    const type = fmtU(this.u32(memberOff + 4));
    const raw = this.u32(memberOff + 8);
    this.out.vlog(t.kflag
      ? `\t${name} type_id=${type} bitfield_size=${raw >>> 24} bits_offset=${raw & 0xffffff}`
      : `\t${name} type_id=${type} bits_offset=${fmtU(raw)}`);
    this.tail(msg);
  }

  logVsi(t: TypeCursor, vsiOff: number, msg: string | null): void {
    // Not silenced in 6.12 (the kernel only patched the type and member loggers).
    if (msg === null) return;
    this.out.vlog(`\t type_id=${fmtU(this.u32(vsiOff))} offset=${fmtU(this.u32(vsiOff + 4))} size=${fmtU(this.u32(vsiOff + 8))}`);
    this.tail(msg);
  }

  /** The end of every __btf_verifier_log_type-style call: " " and the message if any, then "\n". */
  private tail(msg: string): void {
    if (msg) {
      this.out.vlog(' ');
      this.out.vlog(msg);
    }
    this.out.vlog('\n');
  }

  /** This BTF, once run() returned 0 for a base, as the base of a split BTF. */
  asBase(): BaseView {
    const view = this.view;
    const offsets = this.offsets;
    return {
      nrTypes: this.nrTypesK,
      strLen: this.strLen,
      strings: this.data.subarray(this.strStart, this.strStart + this.strLen),
      nameOff: (id) => view.getUint32(offsets[id - 1], true),
      info: (id) => view.getUint32(offsets[id - 1] + 4, true),
      sizeType: (id) => view.getUint32(offsets[id - 1] + 8, true),
      intData: (id) => view.getUint32(offsets[id - 1] + TYPE_SIZE, true),
    };
  }
}

/** The NUL-terminated byte string at `pos` (capped at what a log fragment can hold). */
export function cStringAt(bytes: Uint8Array, pos: number): string {
  const stop = Math.min(bytes.length, pos + NAME_PRINT_CAP);
  let end = pos;
  while (end < stop && bytes[end] !== 0) end++;
  let s = '';
  for (let i = pos; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s;
}
