/**
 * Reading a pasted kernel log: whatever a user copies out of dmesg, journalctl, syslog, a forum or a
 * mail. Every kernel record of interest starts with a marker — `BPF:` (one printk per verifier log
 * fragment; before 5.17 without the space after the colon), `failed to validate module [M] BTF: E`,
 * or 6.12's once-per-boot mismatch line — so anything before the first marker on a line is a
 * prefix (timestamps of any format, syslog or journal fields, `> ` quoting, indentation) and a line
 * holding several markers is several records that a mail client or forum joined into one.
 */

export type LogEntry =
  /** One `BPF:` record: its text after the marker (one separating space removed, if present). */
  | { type: 'bpf'; text: string; line: number; raw: string }
  /** `failed to validate module [M] BTF: E`: closes the failure of module M. */
  | { type: 'failed'; module: string; errno: number; line: number; raw: string }
  /** 6.12 with ALLOW_BTF_MISMATCH: printed once per boot, without the module's name. */
  | { type: 'mismatch-once'; line: number; raw: string };

export const MISMATCH_ONCE_TEXT = 'Kernel module BTF mismatch detected';

const MARKER = /BPF:|failed to validate module \[|Kernel module BTF mismatch detected/g;
const FAILED = /^failed to validate module \[([^\]]*)\] BTF: (-?\d+)/;

/** Splits a log into the records btfcheck reads; other lines are skipped. */
export function readKernelLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const starts: number[] = [];
    MARKER.lastIndex = 0;
    for (let m = MARKER.exec(line); m; m = MARKER.exec(line)) starts.push(m.index);
    for (let k = 0; k < starts.length; k++) {
      const segment = line.slice(starts[k], k + 1 < starts.length ? starts[k + 1] : line.length);
      const lineNo = n + 1;
      if (segment.startsWith('BPF:')) {
        let body = segment.slice(4);
        if (body.startsWith(' ')) body = body.slice(1);
        out.push({ type: 'bpf', text: body, line: lineNo, raw: line });
      } else if (segment.startsWith('failed')) {
        const f = FAILED.exec(segment);
        if (f) out.push({ type: 'failed', module: f[1], errno: Number(f[2]), line: lineNo, raw: line });
      } else {
        out.push({ type: 'mismatch-once', line: lineNo, raw: line });
      }
    }
  }
  return out;
}

/** The records of one failing module load, in order. */
export interface FailureGroup {
  /** The module's name from the closing line; null when the log does not say (no closing line). */
  module: string | null;
  errno: number | null;
  /** The `BPF:` texts of this failure, blank ones (separators, lost trailing spaces) removed. */
  bpf: string[];
  /** The log lines (1-based) and their text as pasted. */
  lines: number[];
  raw: string[];
  /** Closed by 6.12's once-per-boot mismatch line rather than a per-module line. */
  closedByMismatchLine: boolean;
}

/**
 * Groups records per failing module: a `failed to validate module` line (or 6.12's once-per-boot
 * line) closes the group of `BPF:` lines before it; lines with no closing line form a group whose
 * module is unknown. A module's validation stops at its first error, so a second failure start
 * (`startsFailure`: a type, member or plain-message line) inside one group begins a new failure —
 * pastes that cut the closing line of one module and go on with the next.
 */
export function groupFailures(entries: LogEntry[], startsFailure: (text: string) => boolean = () => false): FailureGroup[] {
  const groups: FailureGroup[] = [];
  let open: FailureGroup = fresh();
  function fresh(): FailureGroup {
    return { module: null, errno: null, bpf: [], lines: [], raw: [], closedByMismatchLine: false };
  }
  const note = (g: FailureGroup, e: LogEntry): void => {
    if (g.lines[g.lines.length - 1] !== e.line) {
      g.lines.push(e.line);
      g.raw.push(e.raw);
    }
  };
  let started = false;
  for (const e of entries) {
    if (e.type === 'bpf' && startsFailure(e.text.trim())) {
      if (started) {
        groups.push(open);
        open = fresh();
      }
      started = true;
    }
    note(open, e);
    if (e.type === 'bpf') {
      if (e.text.trim() !== '') open.bpf.push(e.text);
      continue;
    }
    started = false;
    if (e.type === 'failed') {
      open.module = e.module;
      open.errno = e.errno;
    } else {
      open.closedByMismatchLine = true;
    }
    groups.push(open);
    open = fresh();
  }
  if (open.bpf.length > 0) groups.push(open);
  return groups;
}
