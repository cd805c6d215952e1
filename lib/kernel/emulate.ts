/**
 * Replays btf_module_notify(MODULE_STATE_COMING) → btf_parse_module() of Linux 6.1 / 6.12 on a
 * module's raw .BTF bytes, on top of the running kernel's vmlinux BTF, and returns what the kernel
 * decides and prints.
 *
 * btf_parse_module() runs, in order: btf_parse_hdr (with btf_check_sec_info), btf_parse_str_sec,
 * btf_check_all_metas (btf_check_meta + kind_ops[kind]->check_meta for every type) and
 * btf_check_type_tags. It does not run the resolve phase (btf_check_all_types) nor
 * btf_parse_type_sec's alignment check. The module's bytes are walked here directly, like the
 * kernel does; Btf.parseSplit is never used for them (it rejects what the kernel may accept and
 * vice versa). The base is the kernel's own, already validated BTF, so the Btf object is trusted.
 *
 * Any byte string yields a verdict; nothing here throws for hostile input.
 */
import { viewOf } from '../bytes.js';
import { Btf } from '../btf/btf.js';
import { KIND_NAMES, Kind } from '../btf/kinds.js';
import { InputError } from '../errors.js';
import { E2BIG, EINVAL, ELOOP, ENOTSUPP, isModifierKind, KIND_OPS } from '../../rules/kernel/kinds.js';
import { KERNEL_RULES, KernelRules, KernelVersion } from '../../rules/kernel/versions.js';
import { isAlnum, isAlpha, isPrint } from './ctype.js';
import type { MetaEnv, TypeCursor } from './env.js';
import { fmtU, fmtX, KernelLog } from './log.js';
import { kernelBytesToText } from './text.js';

export interface EmulateOptions {
  version: KernelVersion;
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH of the running kernel (Debian: y). */
  allowBtfMismatch: boolean;
  /** Default true: print once-per-boot lines (pr_warn_once), as for the first rejection of a boot. */
  firstRejectionInBoot?: boolean;
  /**
   * The module's .BTF.base section (distilled base), if it has one. 6.1 ignores it (it validates
   * .BTF against vmlinux as always); for 6.12 relocation is not emulated yet and this throws.
   */
  distilledBase?: Uint8Array;
}

export interface KernelVerdict {
  /** The kernel kept the module's BTF (/sys/kernel/btf/<module> appears). */
  accepted: boolean;
  /** 0 when accepted (or when there is no BTF to validate), else the negative errno, e.g. -22. */
  errno: number;
  /** Whether the module itself still loads (always with ALLOW_BTF_MISMATCH=y). */
  loads: boolean;
  /**
   * Every kernel line of the BTF validation, in order, as dmesg shows the text without timestamp:
   * the `BPF: ...` lines, then `failed to validate module [NAME] BTF: -22` or (6.12 with
   * ALLOW_BTF_MISMATCH, first rejection of a boot only) the mismatch line. Bytes that are not
   * valid UTF-8 appear as `\xNN` (see text.ts).
   */
  log: string[];
}

const BTF_MAGIC = 0xeb9f;
const BTF_VERSION = 1;
/** sizeof(struct btf_header) in both kernels. */
const HEADER_SIZE = 24;
/** offsetofend(struct btf_header, hdr_len). */
const HDR_LEN_END = 8;
const BTF_MAX_TYPE = 0x000fffff;
const BTF_MAX_NAME_OFFSET = 0x00ffffff;
const BTF_INFO_MASK = 0x9f00ffff;
const TYPE_SIZE = 12;
/** btf_check_type_tags' chain_limit. */
const MAX_MODIFIER_CHAIN = 32;
/** Longest name we ever need to print: vscnprintf keeps 1023 bytes of a fragment. */
const NAME_PRINT_CAP = 1024;

export function emulateModuleLoad(base: Btf, moduleBtf: Uint8Array, moduleName: string, opts: EmulateOptions): KernelVerdict {
  const rules = KERNEL_RULES[opts.version];
  if (!rules) throw new InputError(`unknown kernel version ${String(opts.version)}`);
  if (opts.distilledBase && rules.readsDistilledBase) {
    throw new InputError('module has .BTF.base (distilled base): not supported yet');
  }
  // btf_module_notify: a module without BTF (btf_data_size == 0) is not validated at all.
  if (moduleBtf.length === 0) return { accepted: false, errno: 0, loads: true, log: [] };

  const check = new ModuleBtfCheck(rules, base, moduleBtf, rules.silenceTypeLogsWhenMismatchAllowed && opts.allowBtfMismatch);
  const err = check.run();
  if (err === 0) return { accepted: true, errno: 0, loads: true, log: check.out.lines.map(kernelBytesToText) };

  const rejection = rules.rejection(opts.allowBtfMismatch, moduleName, err);
  if (!rejection.oncePerBoot || opts.firstRejectionInBoot !== false) check.out.printk(rejection.line + '\n');
  return { accepted: false, errno: err, loads: rejection.moduleLoads, log: check.out.lines.map(kernelBytesToText) };
}

/** One btf_parse_module() run: the env the kind checks see, plus the steps around them. */
class ModuleBtfCheck implements MetaEnv {
  /** The kernel log lines so far. */
  readonly out: KernelLog;
  private readonly view: DataView;
  private readonly baseStrings: Uint8Array;
  private readonly baseStrLen: number;
  private readonly baseNrTypes: number;
  /** env->log_type_id. */
  private logTypeId = 0;
  /** Where the module's string section starts in `data`, and its length (header str_len). */
  private modStrStart = 0;
  private modStrLen = 0;
  /** btf->types of the module: byte offset of each added type; modCount = btf->nr_types. */
  private modOffsets: Uint32Array = new Uint32Array(0);
  private modCount = 0;
  /** btf->types_size: the capacity btf_add_type() grows by its own rule. */
  private typesSize = 0;
  private readonly cursor: TypeCursor = { off: 0, nameOff: 0, info: 0, kind: 0, vlen: 0, kflag: false, sizeType: 0 };
  /** Set by resolveStr(): the bytes and position a string offset points at. */
  private sBytes: Uint8Array = new Uint8Array(0);
  private sPos = 0;

  constructor(readonly rules: KernelRules, private readonly base: Btf, private readonly data: Uint8Array, private readonly silenceTypeLogs: boolean) {
    this.out = new KernelLog(rules);
    this.view = viewOf(data);
    this.baseStrings = base.strings.bytes;
    this.baseStrLen = base.header.strLen;
    this.baseNrTypes = base.nrTypes;
  }

  /** btf_parse_module's steps; 0 or a negative errno. */
  run(): number {
    const hdr = this.parseHdr();
    if (typeof hdr === 'number') return hdr;
    // btf->nohdr_data = btf->data + btf->hdr.hdr_len (the copied header's value)
    const nohdr = hdr.hdrLen;
    let err = this.parseStrSec(nohdr, hdr.strOff, hdr.strLen);
    if (err) return err;
    err = this.checkAllMetas(nohdr + hdr.typeOff, hdr.typeLen);
    if (err) return err;
    return this.checkTypeTags();
  }

  // ---- btf_parse_hdr / btf_check_sec_info / btf_parse_str_sec -------------------------------

  private parseHdr(): number | { hdrLen: number; typeOff: number; typeLen: number; strOff: number; strLen: number } {
    const size = this.data.length;
    if (size < HDR_LEN_END) { this.out.vlog('hdr_len not found'); return -EINVAL; }
    const hdrLen = this.view.getUint32(4, true);
    if (size < hdrLen) { this.out.vlog('btf_header not found'); return -EINVAL; }
    // Header bytes beyond the known struct must be zero.
    for (let i = HEADER_SIZE; i < hdrLen; i++) {
      if (this.data[i] !== 0) { this.out.vlog('Unsupported btf_header'); return -E2BIG; }
    }
    // memcpy(&btf->hdr, data, min(hdr_len, sizeof hdr)) into a zeroed struct: a short hdr_len
    // leaves the later fields (even hdr_len itself) zero.
    const copy = new Uint8Array(HEADER_SIZE);
    copy.set(this.data.subarray(0, Math.min(hdrLen, HEADER_SIZE)));
    const h = viewOf(copy);
    const fields = {
      hdrLen: h.getUint32(4, true), typeOff: h.getUint32(8, true), typeLen: h.getUint32(12, true),
      strOff: h.getUint32(16, true), strLen: h.getUint32(20, true),
    };
    if (h.getUint16(0, true) !== BTF_MAGIC) { this.out.vlog('Invalid magic'); return -EINVAL; }
    if (copy[2] !== BTF_VERSION) { this.out.vlog('Unsupported version'); return -ENOTSUPP; }
    if (copy[3] !== 0) { this.out.vlog('Unsupported flags'); return -ENOTSUPP; }
    // ("No data" applies to base BTF only.)
    const err = this.checkSecInfo(size, fields);
    return err || fields;
  }

  private checkSecInfo(size: number, hdr: { hdrLen: number; typeOff: number; typeLen: number; strOff: number; strLen: number }): number {
    let secs = [{ off: hdr.typeOff, len: hdr.typeLen }, { off: hdr.strOff, len: hdr.strLen }];
    // sort() with btf_sec_info_cmp, which compares (int)(x->off - y->off): a u32 difference read
    // as signed, so offsets 2 GiB apart compare "backwards". The kernel's heapsort on two entries
    // keeps them in order iff cmp(first, second) < 0.
    const cmp = (x: { off: number; len: number }, y: { off: number; len: number }): number =>
      ((x.off - y.off) | 0) || ((x.len - y.len) | 0);
    if (cmp(secs[0], secs[1]) >= 0) secs = [secs[1], secs[0]];
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

  private parseStrSec(nohdr: number, strOff: number, strLen: number): number {
    const start = nohdr + strOff;
    const end = start + strLen;
    if (end !== this.data.length) { this.out.vlog('String section is not at the end'); return -EINVAL; }
    this.modStrStart = start;
    this.modStrLen = strLen;
    // split BTF may have no strings of its own
    if (!strLen) return 0;
    if (strLen - 1 > BTF_MAX_NAME_OFFSET || this.data[end - 1] !== 0) { this.out.vlog('Invalid string section'); return -EINVAL; }
    return 0;
  }

  // ---- btf_check_all_metas / btf_check_meta / btf_add_type ----------------------------------

  private checkAllMetas(start: number, typeLen: number): number {
    const end = start + typeLen;
    this.modOffsets = new Uint32Array(Math.floor(typeLen / TYPE_SIZE) + 1);
    this.logTypeId = this.baseNrTypes;
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
    if ((info & ~BTF_INFO_MASK) !== 0) { this.out.vlog(`[${id}] Invalid btf_info:${fmtX(info)}`); return -EINVAL; }
    const kind = (info >>> 24) & 0x1f;
    const ops = kind <= this.rules.kindMax ? KIND_OPS[kind] : undefined;
    if (!ops) { this.out.vlog(`[${id}] Invalid kind:${kind}`); return -EINVAL; }
    const nameOff = this.view.getUint32(off, true);
    if (!this.nameOffsetValid(nameOff)) { this.out.vlog(`[${id}] Invalid name_offset:${fmtU(nameOff)}`); return -EINVAL; }
    const t = this.cursor;
    t.off = off;
    t.nameOff = nameOff;
    t.info = info;
    t.kind = kind;
    t.vlen = info & 0xffff;
    t.kflag = (info >>> 31) === 1;
    t.sizeType = this.view.getUint32(off + 8, true);
    const varMetaSize = ops.checkMeta(this, t, metaLeft - TYPE_SIZE);
    return varMetaSize < 0 ? varMetaSize : TYPE_SIZE + varMetaSize;
  }

  /** btf_add_type(): its return value is ignored by btf_check_all_metas(). */
  private addType(off: number): void {
    if (this.modCount === this.typesSize) {
      if (this.baseNrTypes + this.typesSize === BTF_MAX_TYPE) {
        // -E2BIG, ignored: the type is not added but the walk goes on.
        this.out.vlog('Exceeded max num of types');
        return;
      }
      const expandBy = Math.max(this.typesSize >>> 2, 16);
      // Past ~1M types the kernel's capacity stops growing and it writes out of bounds; we just
      // keep counting (undefined behaviour we cannot reproduce).
      this.typesSize = Math.min(BTF_MAX_TYPE, this.typesSize + expandBy);
    }
    if (this.modCount >= this.modOffsets.length) {
      const grown = new Uint32Array(this.modOffsets.length * 2 + 16);
      grown.set(this.modOffsets);
      this.modOffsets = grown;
    }
    this.modOffsets[this.modCount++] = off;
  }

  // ---- btf_check_type_tags ------------------------------------------------------------------

  private kindOf(id: number): number {
    if (id < this.baseNrTypes) return id === 0 ? Kind.UNKN : this.base.types.kind(id - 1);
    return (this.view.getUint32(this.modOffsets[id - this.baseNrTypes] + 4, true) >>> 24) & 0x1f;
  }

  private checkTypeTags(): number {
    const startId = this.baseNrTypes;
    const n = startId + this.modCount;
    let goodId = startId - 1;
    for (let i = startId; i < n; i++) {
      let kind = this.kindOf(i);
      if (!isModifierKind(kind)) continue;
      let chainLimit = MAX_MODIFIER_CHAIN;
      let curId = i;
      let inTags = kind === Kind.TYPE_TAG;
      while (isModifierKind(kind)) {
        if (chainLimit-- === 0) { this.out.vlog('Max chain length or cycle detected'); return -ELOOP; }
        if (kind === Kind.TYPE_TAG) {
          if (!inTags) { this.out.vlog("Type tags don't precede modifiers"); return -EINVAL; }
        } else if (inTags) {
          inTags = false;
        }
        // Everything up to good_id (all of the base too) was checked already.
        if (curId <= goodId) break;
        curId = this.view.getUint32(this.modOffsets[curId - startId] + 8, true);
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
    if (off < this.baseStrLen) {
      this.sBytes = this.baseStrings;
      this.sPos = off;
      return off < this.baseStrings.length;
    }
    const local = off - this.baseStrLen;
    if (local >= this.modStrLen) return false;
    this.sBytes = this.data;
    this.sPos = this.modStrStart + local;
    return true;
  }

  /** The byte at `pos` of the resolved string's buffer, 0 past its end (strings are NUL-terminated). */
  private sByte(pos: number): number {
    return pos < this.sBytes.length ? this.sBytes[pos] : 0;
  }

  nameOffsetValid(nameOff: number): boolean {
    const off = nameOff >>> 0;
    if (off > BTF_MAX_NAME_OFFSET) return false;
    if (off < this.baseStrLen) return true;
    return off - this.baseStrLen < this.modStrLen;
  }

  strFirstByte(nameOff: number): number {
    return this.resolveStr(nameOff) ? this.sByte(this.sPos) : -1;
  }

  nameValidIdentifier(nameOff: number): boolean {
    if (!this.resolveStr(nameOff)) return false;
    let p = this.sPos;
    const first = this.sByte(p);
    if (!isAlpha(first) && first !== 0x5f && first !== 0x2e) return false;
    const limit = p + this.rules.ksymNameLen;
    p++;
    for (let c = this.sByte(p); c && p < limit; c = this.sByte(++p)) {
      if (!isAlnum(c) && c !== 0x5f && c !== 0x2e) return false;
    }
    return this.sByte(p) === 0;
  }

  nameValidSection(nameOff: number): boolean {
    if (this.rules.sectionNameRule === 'identifier') return this.nameValidIdentifier(nameOff);
    if (!this.resolveStr(nameOff)) return false;
    let p = this.sPos;
    if (!this.sByte(p)) return false;
    const limit = p + this.rules.ksymNameLen;
    for (let c = this.sByte(p); c && p < limit; c = this.sByte(++p)) {
      if (!isPrint(c)) return false;
    }
    return this.sByte(p) === 0;
  }

  nameByOffset(nameOff: number): string {
    if (!nameOff) return '(anon)';
    if (!this.resolveStr(nameOff)) return '(invalid-name-offset)';
    const b = this.sBytes;
    const start = this.sPos;
    const stop = Math.min(b.length, start + NAME_PRINT_CAP);
    let end = start;
    while (end < stop && b[end] !== 0) end++;
    let s = '';
    for (let i = start; i < end; i += 4096) {
      s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
    }
    return s;
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
}
