/**
 * The kernel side of btf_verifier_log*: how one fragment becomes dmesg text.
 *
 * For in-kernel BTF (log level BPF_LOG_KERNEL) bpf_verifier_vlog() formats each fragment with
 * vscnprintf() into a 1024-byte buffer (at most 1023 bytes kept) and immediately prints it with
 * pr_err("BPF: %s%s", kbuf, newline ? "" : "\n"). So every fragment is its own printk record: the
 * type line, each log_details piece, the lone " " separator and the final "\n" all show up as
 * separate `BPF: ...` lines. printk then keeps at most printkRecordMax - 3 bytes of the record
 * (the level prefix counts) and strips one trailing newline. A record with an embedded newline (a
 * name holding byte 0x0a) stays one line: /dev/kmsg hands it out as one record with `\x0a`, and
 * our text formats print it so (lib/report/escape.ts), so a name cannot forge a line of output.
 */
import type { KernelRules } from '../../rules/kernel/versions.js';

/** KERN_ERR / KERN_WARNING: SOH and the level digit, counted in the record size, then stripped. */
const LEVEL_PREFIX = 2;

export class KernelLog {
  /** The lines so far, as byte strings (see text.ts). */
  readonly lines: string[] = [];

  constructor(private readonly rules: KernelRules) {}

  /** bpf_verifier_vlog() for one already-formatted fragment (a byte string). */
  vlog(formatted: string): void {
    const kbuf = formatted.length > this.rules.verifierTmpLogSize - 1
      ? formatted.slice(0, this.rules.verifierTmpLogSize - 1)
      : formatted;
    // Before 5.17: pr_err("BPF:%s\n"), so a "\n" fragment is "BPF:" and an empty line.
    if (this.rules.logStyle === 'fragment-line') { this.printk('BPF:' + kbuf + '\n'); return; }
    const newline = kbuf.length > 0 && kbuf.charCodeAt(kbuf.length - 1) === 0x0a;
    this.printk('BPF: ' + kbuf + (newline ? '' : '\n'));
  }

  /** One printk() record: length limit, trailing newline stripped. */
  printk(text: string): void {
    // vprintk_store: reserve_size = min(len + 1, max) counts the 2-byte level prefix of pr_err /
    // pr_warn ("\0013"); vscnprintf keeps reserve_size - 1 bytes, and printk_sprint strips the
    // prefix afterwards. So a record shows at most max - 3 bytes.
    const keep = Math.min(text.length + LEVEL_PREFIX + 1, this.rules.printkRecordMax) - 1 - LEVEL_PREFIX;
    let record = text.length > keep ? text.slice(0, keep) : text;
    if (record.length > 0 && record.charCodeAt(record.length - 1) === 0x0a) record = record.slice(0, -1);
    // Newlines left at the end (before 5.17 a "\n" fragment printed as "BPF:\n\n") show as empty lines.
    let trailing = 0;
    while (record.length > 0 && record.charCodeAt(record.length - 1) === 0x0a) { record = record.slice(0, -1); trailing++; }
    this.lines.push(record);
    for (let i = 0; i < trailing; i++) this.lines.push('');
  }
}

/** printf %u of a u32. */
export const fmtU = (v: number): string => String(v >>> 0);
/** printf %d of an s32. */
export const fmtD = (v: number): string => String(v | 0);
/** printf %x of a u32. */
export const fmtX = (v: number): string => (v >>> 0).toString(16);
