/**
 * Reading a pasted kernel log: whatever a user copies out of dmesg, journalctl, syslog, a forum or a
 * mail. Every kernel record of interest starts with a marker — `BPF:` (one printk per verifier log
 * fragment; before 5.17 without the space after the colon), `failed to validate module [M] BTF: E`,
 * or the once-per-boot mismatch line (6.3+) — so anything before the first marker on a line is a
 * prefix (timestamps of any format, syslog or journal fields, `> ` quoting, indentation) and a line
 * holding several markers is several records that a mail client or forum joined into one.
 *
 * Besides those: the `Linux version` banner (which kernel printed the log), and the lines of the
 * tools that load modules (`modprobe: ERROR: could not insert 'x': Invalid argument`), which name
 * the module whose load failed.
 *
 * Everything here works line by line and keeps a bounded amount per failure, so a log of any size
 * is read in bounded memory (lib/explain/stream.ts feeds it; lib/explain/index.ts collects).
 */
import { parseBanner } from '../vmlinuz.js';

export type LogEntry =
  /** One `BPF:` record: its text after the marker (one separating space removed, if present). */
  | { type: 'bpf'; text: string; line: number; raw: string; ts: number | null }
  /** `failed to validate module [M] BTF: E`: closes the failure of module M. */
  | { type: 'failed'; module: string; errno: number; line: number; raw: string; ts: number | null }
  /** 6.3+ with ALLOW_BTF_MISMATCH: printed once per boot, without the module's name. */
  | { type: 'mismatch-once'; line: number; raw: string; ts: number | null };

/** A line of a module-loading tool saying that loading a module failed. */
export interface LoadFailure {
  /** The module's kernel name (file names and dashes mapped as the kernel does: `foo-bar.ko` → foo_bar). */
  module: string;
  /** The errno the tool reported, when its text is one a BTF rejection returns; null otherwise. */
  errno: number | null;
  /** What the tool said after the module name ("Invalid argument"). */
  reason: string;
  tool: string;
  line: number;
  raw: string;
}

/** The `Linux version` banner: which kernel printed the log. */
export interface LogBanner {
  release: string;
  version?: string;
  banner: string;
  line: number;
}

export const MISMATCH_ONCE_TEXT = 'Kernel module BTF mismatch detected';

const MARKER = /BPF:|failed to validate module \[|Kernel module BTF mismatch detected/g;
const FAILED = /^failed to validate module \[([^\]]*)\] BTF: (-?\d+)/;
/** dmesg's monotonic timestamp `[   12.345678]` (not `[  +0,003082]`, which is relative). */
const MONOTONIC = /\[\s*(\d+)\.(\d+)\]/;
const BANNER = /Linux version (\d+\.\d+[^\s]*.*)$/;

/** A stored raw log line is cut here: a kernel record is at most 1024 bytes, plus its prefix. */
export const RAW_LINE_MAX = 1024;

/** The text a pasted line is shown with: cut to RAW_LINE_MAX characters, saying how many were left out. */
export function clipRaw(raw: string): string {
  return raw.length <= RAW_LINE_MAX ? raw : `${raw.slice(0, RAW_LINE_MAX)}…(+${raw.length - RAW_LINE_MAX} characters)`;
}

/** A module name as printed, cut where no kernel module name reaches (MODULE_NAME_LEN is 56). */
function clipName(name: string): string {
  return name.length <= 255 ? name : `${name.slice(0, 255)}…`;
}

/** What a tool's error text means as an errno, for the errnos a module's BTF check returns. */
const ERRNO_TEXTS: Record<string, number> = {
  'invalid argument': -22,
  'too many levels of symbolic links': -40,
  'argument list too long': -7,
  'cannot allocate memory': -12,
  'unknown error 524': -524,
};

/** Module-loading tools' failure lines: [pattern, tool]; group 1 the module (name or file), group 2 the reason. */
const LOAD_FAILURES: Array<[RegExp, string]> = [
  [/\bmodprobe: ERROR: could not insert '([^']+)': (.*)$/, 'modprobe'],
  [/\binsmod: ERROR: could not insert module (\S+?):? (.*)$/, 'insmod'],
  [/\binsmod: can't insert '([^']+)': (.*)$/, 'insmod'],
  [/\bFailed to insert module '([^']+)': (.*)$/, 'systemd-modules-load'],
  [/\bFailed to insert '([^']+)': (.*)$/, 'systemd-modules-load'],
  [/\bf?init_module\b[^']*'([^']+)'[^:]*: (.*)$/, 'init_module'],
];

/** The kernel's name of a module from what a tool printed: a path, `foo-bar.ko.zst`, or a name. */
export function moduleNameOf(token: string): string {
  const base = token.replace(/^.*\//, '').replace(/\.ko(\.(xz|zst|gz|lz4|bz2))?$/, '');
  return base.replace(/-/g, '_');
}

/** The errno a tool's error text stands for, when it is one a module's BTF check returns. */
export function errnoOfReason(reason: string): number | null {
  const r = reason.trim().replace(/[.\s]+$/, '').toLowerCase();
  for (const [text, errno] of Object.entries(ERRNO_TEXTS)) if (r.startsWith(text) || r.endsWith(`(${text})`)) return errno;
  return null;
}

/** The monotonic timestamp of a line's prefix, in seconds; null when it has none. */
function timestampOf(prefix: string): number | null {
  const m = MONOTONIC.exec(prefix);
  return m ? Number(`${m[1]}.${m[2]}`) : null;
}

/** What one line of a log holds for explain. */
export interface LineRecords {
  entries: LogEntry[];
  banner?: LogBanner;
  load?: LoadFailure;
  /**
   * The `BPF:` prefix style seen: 'fragment-line' (`BPF:` directly followed by text: kernels before
   * 5.17), 'prefix-space' (`BPF: ` and text: 5.17+); null when the line tells neither.
   */
  style: { fragmentLine: number; prefixSpace: number };
}

/** Splits one line of a log into the records btfcheck reads. */
export function readLine(line: string, lineNo: number): LineRecords {
  const out: LineRecords = { entries: [], style: { fragmentLine: 0, prefixSpace: 0 } };
  MARKER.lastIndex = 0;
  let m = MARKER.exec(line);
  if (!m) {
    const b = BANNER.exec(line);
    if (b) {
      const parsed = parseBanner(`Linux version ${b[1]}`);
      if (parsed) out.banner = { release: parsed.release, version: parsed.version, banner: clipRaw(parsed.banner), line: lineNo };
      return out;
    }
    for (const [re, tool] of LOAD_FAILURES) {
      const l = re.exec(line);
      if (!l) continue;
      const module = moduleNameOf(l[1]);
      if (!/^[\w.]+$/.test(module)) break;
      out.load = { module: clipName(module), errno: errnoOfReason(l[2]), reason: clipRaw(l[2].trim()), tool, line: lineNo, raw: clipRaw(line) };
      break;
    }
    return out;
  }
  const starts: number[] = [];
  for (; m; m = MARKER.exec(line)) starts.push(m.index);
  const ts = timestampOf(line.slice(0, starts[0]));
  // A joined line (several records): each record shows as its own text, the first with the
  // line's prefix — so a joined line's size is stored once, not once per record.
  const joined = starts.length > 1;
  for (let k = 0; k < starts.length; k++) {
    const end = k + 1 < starts.length ? starts[k + 1] : line.length;
    const segment = line.slice(starts[k], end);
    const raw = clipRaw(joined ? line.slice(k === 0 ? 0 : starts[k], end).trimEnd() : line);
    if (segment.startsWith('BPF:')) {
      let body = segment.slice(4);
      const c = body.charCodeAt(0);
      if (body.length > 0 && c !== 0x20 && c !== 0x09 && c !== 0x0d) out.style.fragmentLine++;
      else if (c === 0x20 && body.length > 1 && !/\s/.test(body[1])) out.style.prefixSpace++;
      if (body.startsWith(' ')) body = body.slice(1);
      if (joined) body = body.trimEnd();
      // A kernel record holds at most 1024 bytes: a longer one is not the kernel's, keep its start.
      out.entries.push({ type: 'bpf', text: body.length > RAW_LINE_MAX ? clipRaw(body) : body, line: lineNo, raw, ts });
    } else if (segment.startsWith('failed')) {
      const f = FAILED.exec(segment);
      if (f) out.entries.push({ type: 'failed', module: clipName(f[1]), errno: Number(f[2]), line: lineNo, raw, ts });
    } else {
      out.entries.push({ type: 'mismatch-once', line: lineNo, raw, ts });
    }
  }
  return out;
}

/** Splits a log into the records btfcheck reads; other lines are skipped. */
export function readKernelLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) out.push(...readLine(lines[n], n + 1).entries);
  return out;
}

/** The records of one failing module load, in order. */
export interface FailureGroup {
  /** The module's name from the closing line; null when the log does not say (no closing line). */
  module: string | null;
  errno: number | null;
  /**
   * The `BPF:` texts of this failure, blank ones (separators, lost trailing spaces) removed. At
   * most GROUP_TEXTS_MAX: the first and the last ones, `omittedTexts` in between left out.
   */
  bpf: string[];
  omittedTexts: number;
  /** The log lines (1-based) and their text as pasted: the first LOG_LINES_KEPT of them. */
  lines: number[];
  raw: string[];
  /** How many log lines the failure spans, and the last one. */
  lineCount: number;
  lastLine: number;
  /** Closed by 6.3+'s once-per-boot mismatch line rather than a per-module line. */
  closedByMismatchLine: boolean;
  /** Monotonic timestamps (seconds) of its first and last line, when the log has them. */
  firstTs: number | null;
  lastTs: number | null;
  /** The closing line (`failed to validate module`, the once-per-boot line) and its text. */
  closeLine: number | null;
  closeRaw: string | null;
  /** Its monotonic timestamp, when the log has one. */
  closeTs: number | null;
}

/** Log lines kept per failure, as pasted (the text report shows 12). */
export const LOG_LINES_KEPT = 12;
/** BPF: texts kept per failure: a real failure prints at most a handful. */
export const GROUP_TEXTS_MAX = 16;
/**
 * Seconds between a failure's last `BPF:` line and a `failed to validate module` line beyond which
 * they are not one failure: the kernel prints the closing line right after the lines (microseconds).
 */
export const CLOSE_GAP_SECONDS = 1;

function freshGroup(): FailureGroup {
  return {
    module: null, errno: null, bpf: [], omittedTexts: 0, lines: [], raw: [], lineCount: 0, lastLine: 0,
    closedByMismatchLine: false, firstTs: null, lastTs: null, closeLine: null, closeRaw: null, closeTs: null,
  };
}

/**
 * Groups records per failing module as they come: a `failed to validate module` line (or the
 * once-per-boot line) closes the group of `BPF:` lines before it; lines with no closing line form a
 * group whose module is unknown. A module's validation stops at its first error, so a second
 * failure start (`startsFailure`: a type, member or plain-message line) inside one group begins a
 * new failure — pastes that cut the closing line of one module and go on with the next. A closing
 * line more than CLOSE_GAP_SECONDS after the lines before it does not belong to them (a block
 * printed once at boot, then a module failing seconds later without lines of its own).
 */
export class FailureGrouper {
  private open = freshGroup();
  private started = false;
  private tail: string[] = [];

  constructor(private readonly emit: (g: FailureGroup) => void, private readonly startsFailure: (text: string) => boolean = () => false) {}

  private note(g: FailureGroup, e: LogEntry): void {
    if (g.lastLine === e.line) return;
    g.lineCount++;
    g.lastLine = e.line;
    if (g.lines.length < LOG_LINES_KEPT) {
      g.lines.push(e.line);
      g.raw.push(e.raw);
    }
    if (e.ts !== null) {
      if (g.firstTs === null) g.firstTs = e.ts;
      g.lastTs = e.ts;
    }
  }

  private addText(text: string): void {
    const g = this.open;
    if (g.bpf.length < GROUP_TEXTS_MAX / 2) {
      g.bpf.push(text);
      return;
    }
    this.tail.push(text);
    if (this.tail.length > GROUP_TEXTS_MAX / 2) {
      this.tail.shift();
      g.omittedTexts++;
    }
  }

  private flush(): void {
    const g = this.open;
    if (this.tail.length) g.bpf.push(...this.tail);
    this.tail = [];
    this.emit(g);
    this.open = freshGroup();
    this.started = false;
  }

  push(e: LogEntry): void {
    if (e.type === 'bpf') {
      const text = e.text.trim();
      if (this.startsFailure(text)) {
        if (this.started) this.flush();
        this.started = true;
      }
      this.note(this.open, e);
      if (text !== '') this.addText(e.text);
      return;
    }
    const g = this.open;
    const hasLines = g.lineCount > 0;
    if (hasLines && g.lastTs !== null && e.ts !== null && e.ts - g.lastTs > CLOSE_GAP_SECONDS) {
      // The lines before were printed long before this closing line: not this module's.
      if (g.bpf.length + this.tail.length > 0) this.flush();
      else this.open = freshGroup();
    }
    this.note(this.open, e);
    this.open.closeLine = e.line;
    this.open.closeRaw = e.raw;
    this.open.closeTs = e.ts;
    if (e.type === 'failed') {
      this.open.module = e.module;
      this.open.errno = e.errno;
    } else {
      this.open.closedByMismatchLine = true;
    }
    this.flush();
  }

  /** Ends the log: an open group with `BPF:` texts is a failure whose module the log does not name. */
  finish(): void {
    if (this.open.bpf.length + this.tail.length > 0) this.flush();
  }
}

/** Groups a whole list of records (see FailureGrouper). */
export function groupFailures(entries: LogEntry[], startsFailure: (text: string) => boolean = () => false): FailureGroup[] {
  const groups: FailureGroup[] = [];
  const g = new FailureGrouper((x) => groups.push(x), startsFailure);
  for (const e of entries) g.push(e);
  g.finish();
  return groups;
}
