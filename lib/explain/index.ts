/**
 * `explain`: a pasted kernel log in, one explained failure per failing module out — what the
 * kernel's lines mean and which type or member they are about, whether the module loaded, and
 * the classes only a whole log shows: the kernel's own BTF failing (a block of `BPF:` lines once,
 * then every module failing without lines of its own), and one module failing again and again
 * (one entry with a count). The root cause from the module file itself (lib/diagnose) is added
 * by the caller when it has the base and the module.
 *
 * Bounded: lines come one at a time (LogReader for bytes, or explainLog for a string), each
 * failure keeps a bounded part of its lines, and at most `maxFailures` distinct failures are
 * kept — repeats of one are counted into it, the rest only counted — so memory and output stay
 * within a fixed budget whatever the log's size.
 */
import { Btf } from '../btf/btf.js';
import { Kind } from '../btf/kinds.js';
import { KernelContext, kernelFromLog, kernelView, loadOutcome, PrefixStyle } from './kernel.js';
import { ANON_NAME, INVALID_NAME_OFFSET, interpretFailure, InterpretedFailure, KernelView, MemberRef, startsFailure } from './meaning.js';
import { clipRaw, FailureGroup, FailureGrouper, LoadFailure, LogBanner, readLine } from './parse.js';
import { DEFAULT_MAX_LINE_BYTES } from './stream.js';

export type { CauseId, FailureKind, InterpretedFailure, KernelView, MemberRef } from './meaning.js';
export { interpretFailure, startsFailure, UNKNOWN_KERNEL, VMLINUX_LOW_ID } from './meaning.js';
export type { FailureGroup, LoadFailure, LogBanner, LogEntry } from './parse.js';
export { FailureGrouper, groupFailures, readKernelLog, readLine } from './parse.js';
export type { KernelContext, LoadOutcome, PrefixStyle } from './kernel.js';
export { kernelFromLog, kernelView, loadOutcome, NO_KERNEL } from './kernel.js';
export type { CutLine } from './stream.js';
export { DEFAULT_MAX_LINE_BYTES, LogReader } from './stream.js';

/** The default number of distinct failures listed; repeats are counted into their entry. */
export const DEFAULT_MAX_FAILURES = 1000;
/** Line numbers of repeats kept per failure. */
const OCCURRENCES_KEPT = 20;
/** Module-loading tools' lines kept per failure, and in all. */
const TOOL_LINES_KEPT = 5;
const TOOL_LINES_MAX = 1000;
/** Distinct banners kept (one per boot in the log). */
const BANNERS_MAX = 5;

export interface ExplainedFailure extends InterpretedFailure {
  module: string | null;
  errno: number | null;
  /** The log lines (1-based line numbers in the pasted text) as pasted: the first 12 of the failure. */
  lines: number[];
  log: string[];
  /** How many log lines the failure spans (its first occurrence), and the last one. */
  lineCount: number;
  lastLine: number;
  /** How often the log shows this same failure: the same module failing the same way. */
  count: number;
  /** The first line of each occurrence (the first 20). */
  occurrences: number[];
  /** What failed: a module, or the kernel's own BTF (vmlinux); 'unknown' when the log names neither. */
  subject: 'module' | 'vmlinux' | 'unknown';
  /** A module failing only because the kernel's own BTF is invalid (see the vmlinux entry). */
  underVmlinux: boolean;
  /** For a module failure: it still loaded (without BTF), it did not, or the log does not tell (null). */
  loaded: boolean | null;
  loadedWhy: string;
  /** Module-loading tools' lines about this module (`modprobe: ERROR: could not insert ...`). */
  toolLines: string[];
  /** Where the module's name comes from: the kernel's closing line, or a tool's line. */
  moduleFrom: 'kernel' | 'tool' | null;
  /** What to do, when the log alone tells (vmlinux-btf, toolchain-newer); null otherwise. */
  fix: string | null;
  /**
   * How the log ends the failure: the kernel's `failed to validate module` line, the once-per-boot
   * mismatch line (6.3+, no module named), or nothing (cut from the paste, or a tool's line only).
   */
  closing: 'failed' | 'mismatch-once' | 'none';
}

export interface ExplainResult {
  failures: ExplainedFailure[];
  /** Failures of the log (occurrences) not listed: over `maxFailures` distinct ones. */
  unlisted: number;
  /** Failure occurrences in the whole log, listed or not. */
  occurrences: number;
  /** The banners of the log (one per boot), the `BPF:` prefix style it shows. */
  banners: LogBanner[];
  prefixStyle: PrefixStyle | null;
  /** The kernel the failures were read for. */
  kernel: KernelContext;
  /** Every assumption and discrepancy, one sentence each. */
  notes: string[];
}

export interface ExplainOptions {
  /** Distinct failures kept (default DEFAULT_MAX_FAILURES). */
  maxFailures?: number;
}

interface Item {
  key: string;
  group: FailureGroup;
  count: number;
  occurrences: number[];
  tools: LoadFailure[];
  moduleFrom: 'kernel' | 'tool' | null;
  /** Created from a tool's line alone. */
  toolOnly: boolean;
  /** Set by the vmlinux pass. */
  vmlinux?: { evidence: string[] };
  underVmlinux?: boolean;
}

function groupKey(g: FailureGroup): string {
  return `${g.module ?? ''}\u0000${g.errno ?? ''}\u0000${g.closedByMismatchLine ? 1 : 0}\u0000${g.bpf.map((t) => t.trim()).join('\u0001')}`;
}

const firstLineOf = (g: FailureGroup): number => g.lines[0] ?? g.closeLine ?? 0;
const isBare = (g: FailureGroup): boolean => g.bpf.length === 0;
const isOrphan = (g: FailureGroup): boolean => g.module === null && !g.closedByMismatchLine && g.bpf.length > 0;

/** The fix when the kernel's own BTF is invalid. */
const VMLINUX_FIX = 'rebuild the kernel (vmlinux) with a pahole and compiler that produce valid BTF for it — the pahole version the kernel supports, no Rust/C++ types in its BTF — or boot a kernel build whose BTF is valid; modules cannot fix this';
const TOOLCHAIN_FIX = 'generate the BTF with the pahole (and compiler) the kernel was made for, or with pahole options that leave out what this kernel does not know (--skip_encoding_btf_enum64, --btf_features without it); or run a newer kernel';

/**
 * Reads a log line by line and explains it at the end. Feed it decoded lines (`line`), or a
 * LogReader's output; then `finish` with what is known about the kernel.
 */
export class LogExplainer {
  private readonly items: Item[] = [];
  private readonly byKey = new Map<string, Item>();
  private readonly grouper: FailureGrouper;
  private readonly maxFailures: number;
  private unlisted = 0;
  private occurrences = 0;
  private readonly tools: LoadFailure[] = [];
  private toolsDropped = 0;
  private readonly banners: LogBanner[] = [];
  private fragmentLine = 0;
  private prefixSpace = 0;

  constructor(opts: ExplainOptions = {}) {
    this.maxFailures = Math.max(1, opts.maxFailures ?? DEFAULT_MAX_FAILURES);
    this.grouper = new FailureGrouper((g) => this.add(g), startsFailure);
  }

  private add(g: FailureGroup): void {
    this.occurrences++;
    const key = groupKey(g);
    const known = this.byKey.get(key);
    if (known) {
      known.count++;
      const at = firstLineOf(g);
      // Repeats on one line (a joined paste) are one line number.
      if (known.occurrences.length < OCCURRENCES_KEPT && known.occurrences[known.occurrences.length - 1] !== at) known.occurrences.push(at);
      return;
    }
    if (this.items.length >= this.maxFailures) {
      this.unlisted++;
      return;
    }
    const item: Item = { key, group: g, count: 1, occurrences: [firstLineOf(g)], tools: [], moduleFrom: g.module !== null ? 'kernel' : null, toolOnly: false };
    this.items.push(item);
    this.byKey.set(key, item);
  }

  /** One line of the log (decoded text, without its newline), with its 1-based number. */
  line(text: string, lineNo: number): void {
    const r = readLine(text, lineNo);
    this.fragmentLine += r.style.fragmentLine;
    this.prefixSpace += r.style.prefixSpace;
    for (const e of r.entries) this.grouper.push(e);
    if (r.banner && this.banners.length < BANNERS_MAX && !this.banners.some((b) => b.banner === r.banner!.banner)) this.banners.push(r.banner);
    if (r.load) {
      if (this.tools.length < TOOL_LINES_MAX) this.tools.push(r.load);
      else this.toolsDropped++;
    }
  }

  /** What the log itself says about its kernel: its banners and `BPF:` prefix style. */
  logEvidence(): { banners: LogBanner[]; prefixStyle: PrefixStyle | null } {
    const style: PrefixStyle | null = this.fragmentLine && this.prefixSpace ? 'mixed' : this.fragmentLine ? 'fragment-line' : this.prefixSpace ? 'prefix-space' : null;
    return { banners: [...this.banners], prefixStyle: style };
  }

  /**
   * Ends the log and explains it on kernel `ctx` (default: what the log itself tells: its
   * banner's version, else its prefix style).
   */
  finish(ctx?: KernelContext): ExplainResult {
    this.grouper.finish();
    const evidence = this.logEvidence();
    const notes: string[] = [];
    const kernel: KernelContext = ctx ?? kernelFromLog(evidence.banners[0] ?? null, evidence.prefixStyle === 'mixed' ? null : evidence.prefixStyle);
    if (kernel.prefixStyle === undefined) kernel.prefixStyle = evidence.prefixStyle === 'mixed' ? null : evidence.prefixStyle;
    if (evidence.prefixStyle === 'mixed') notes.push('the log has BPF: lines both with and without a space after the colon (kernels before 5.17 print none): several kernels\' logs pasted together?');
    if (evidence.banners.length > 1) notes.push(`the log holds ${evidence.banners.length} boots' banners (${evidence.banners.map((b) => `${b.release} at line ${b.line}`).join(', ')}): ${kernel.version ? `read for ${kernel.version}` : 'the kernel is not told'}`);
    let view = kernelView(kernel);
    this.checkStyle(kernel, evidence.prefixStyle, view, notes);
    const wrongBase = this.wrongBase(view);
    if (wrongBase) {
      // The base given is not the kernel's: what it tells about vmlinux does not apply.
      notes.push(wrongBase);
      kernel.baseTypes = null;
      kernel.vmlinuxRejected = null;
      view = kernelView(kernel);
    }
    if (this.toolsDropped) notes.push(`${this.toolsDropped} more module-loading tool lines not read (over ${TOOL_LINES_MAX})`);

    this.attachTools();
    this.mergeAdjacent();
    this.findVmlinux(view, kernel);
    const failures = this.items.map((it) => this.explainItem(it, view, kernel));
    return { failures, unlisted: this.unlisted, occurrences: this.occurrences, banners: evidence.banners, prefixStyle: evidence.prefixStyle, kernel, notes };
  }

  /**
   * The kernel numbers a module's types from its own base's count, so with the base of the kernel
   * that printed the log, no module's failing type is below the base's count. If one is (beyond a
   * first failure that may carry vmlinux's lines), the base given is another kernel's.
   */
  private wrongBase(view: KernelView): string | null {
    if (view.baseTypes === null) return null;
    const withLines = this.items.filter((it) => it.group.module !== null && !isBare(it.group));
    const low: number[] = [];
    withLines.forEach((it, k) => {
      const f = interpretFailure(it.group, { ...view, baseTypes: null });
      if (f.typeId !== null && f.typeId < view.baseTypes! && !(k === 0 && withLines.length === 1)) low.push(f.typeId);
    });
    if (!low.length) return null;
    return `the log's module failures name type ids from ${Math.min(...low)}, below the given base's ${view.baseTypes} types, where the kernel numbers a module's own types from: the base is not the one of the kernel that printed the log (its type count and its own BTF's verdict are not used)`;
  }

  /** A version given or read elsewhere that the log's prefix style contradicts is worth saying. */
  private checkStyle(kernel: KernelContext, style: PrefixStyle | null, view: KernelView, notes: string[]): void {
    if (!kernel.version || !style || style === 'mixed') return;
    const spaced = view.has('log-prefix');
    if (style === 'fragment-line' && spaced === true) notes.push(`the log's BPF: lines have no space after the colon, which only kernels before 5.17 print, but the kernel is taken to be ${kernel.version}${kernel.versionFrom ? ` (${kernel.versionFrom})` : ''}: is the log from another kernel?`);
    if (style === 'prefix-space' && spaced === false) notes.push(`the log's BPF: lines have a space after the colon, which only kernels from 5.17 on print, but the kernel is taken to be ${kernel.version}${kernel.versionFrom ? ` (${kernel.versionFrom})` : ''}: is the log from another kernel?`);
  }

  /**
   * Module-loading tools' lines: attached to the failure of their module; a failure the log does
   * not name, right before the tool's line, is that module's; otherwise, when the tool reports an
   * errno a BTF rejection returns, a failure of its own (the kernel's lines are not in the paste).
   */
  private attachTools(): void {
    const added: Item[] = [];
    for (const t of this.tools) {
      const own = this.items.find((it) => it.group.module === t.module) ?? added.find((it) => it.group.module === t.module);
      if (own) {
        if (own.tools.length < TOOL_LINES_KEPT) own.tools.push(t);
        continue;
      }
      let before: Item | undefined;
      for (const it of this.items) if (it.group.lastLine < t.line && (!before || it.group.lastLine > before.group.lastLine)) before = it;
      if (before && isOrphan(before.group) && t.line - before.group.lastLine <= 3) {
        before.group.module = t.module;
        before.group.errno = t.errno;
        before.moduleFrom = 'tool';
        before.tools.push(t);
        continue;
      }
      if (t.errno === null || this.items.length + added.length >= this.maxFailures) continue;
      const g: FailureGroup = {
        module: t.module, errno: t.errno, bpf: [], omittedTexts: 0, lines: [t.line], raw: [t.raw], lineCount: 1, lastLine: t.line,
        closedByMismatchLine: false, firstTs: null, lastTs: null, closeLine: null, closeRaw: null, closeTs: null,
      };
      added.push({ key: `tool\u0000${t.module}`, group: g, count: 1, occurrences: [t.line], tools: [t], moduleFrom: 'tool', toolOnly: true });
    }
    if (added.length) {
      this.items.push(...added);
      this.items.sort((a, b) => firstLineOf(a.group) - firstLineOf(b.group));
    }
  }

  /**
   * A bare `failed to validate module` line directly followed by `BPF:` lines no closing line
   * claims, in a paste without timestamps: the reporter put the module's line first (retold, or
   * sorted); the lines are that module's.
   */
  private mergeAdjacent(): void {
    for (let i = 0; i + 1 < this.items.length; i++) {
      const a = this.items[i];
      const b = this.items[i + 1];
      const ga = a.group;
      const gb = b.group;
      if (a.count !== 1 || b.count !== 1 || ga.module === null || !isBare(ga) || ga.closedByMismatchLine || !isOrphan(gb)) continue;
      if (ga.firstTs !== null || gb.firstTs !== null || firstLineOf(gb) !== ga.lastLine + 1) continue;
      ga.bpf = gb.bpf;
      ga.omittedTexts = gb.omittedTexts;
      for (let k = 0; k < gb.lines.length && ga.lines.length < 12; k++) {
        ga.lines.push(gb.lines[k]);
        ga.raw.push(gb.raw[k]);
      }
      ga.lineCount += gb.lineCount;
      ga.lastLine = gb.lastLine;
      this.items.splice(i + 1, 1);
    }
  }

  /**
   * The kernel's own BTF failing: the kernel validates vmlinux's BTF once (at boot, or at the first
   * module load), prints its lines, and from then on every module fails with a bare `failed to
   * validate module [x] BTF: -22`. Recognised by: a block of lines before the first module failure
   * followed only by bare failures; a closing line long after the lines before it (split already
   * by the grouper); ids only vmlinux has (a DATASEC entry with type_id=0 or a low id, a type below
   * the base's count); or, with --base, the kernel rejecting the base's own BTF.
   */
  private findVmlinux(view: KernelView, kernel: KernelContext): void {
    const items = this.items;
    const firstModule = items.findIndex((it) => it.group.module !== null || it.group.closedByMismatchLine);
    const end = firstModule < 0 ? items.length : firstModule;
    const rejected = kernel.vmlinuxRejected ?? null;
    const rejectedNote = rejected ? `kernel ${kernel.version ?? ''} rejects the given base's own BTF (${rejected.errno}), as btfcheck emulates it`.replace('kernel  ', 'the kernel ') : null;
    /** Module failures (each repeat counted) from `from` on, when none has lines of its own; else -1. */
    const laterAllBare = (from: number): number => {
      let bare = 0;
      for (let i = from; i < items.length; i++) {
        const g = items[i].group;
        if (g.module === null && !g.closedByMismatchLine) continue;
        if (!isBare(g)) return -1;
        bare += items[i].count;
      }
      return bare;
    };
    let block: Item | null = null;
    let blockIndex = -1;
    const bareAfterFirst = firstModule < 0 ? 0 : laterAllBare(firstModule);
    for (let i = 0; i < end && !block; i++) {
      const it = items[i];
      if (!isOrphan(it.group)) continue;
      const ev: string[] = [];
      const interp = interpretFailure(it.group, view);
      if (interp.vmlinuxEvidence) ev.push(interp.vmlinuxEvidence);
      if (rejectedNote) ev.push(rejectedNote);
      if (bareAfterFirst > 0) ev.push(`it comes before every module failure, and each of the ${bareAfterFirst} module failure${bareAfterFirst === 1 ? '' : 's'} after it has no lines of its own`);
      if (ev.length) {
        block = it;
        blockIndex = i;
        it.vmlinux = { evidence: ev };
      }
    }
    if (!block && firstModule >= 0) {
      // The block printed right before the first module's closing line (vmlinux parsed at the
      // first module load, or a paste without timestamps).
      const g = items[firstModule];
      const gg = g.group;
      if (gg.module !== null && !isBare(gg) && g.count === 1) {
        const interp = interpretFailure(gg, view);
        const ev: string[] = [];
        if (interp.vmlinuxEvidence) ev.push(interp.vmlinuxEvidence);
        if (rejectedNote) ev.push(rejectedNote);
        const bare = laterAllBare(firstModule + 1);
        if (bare >= 2 || (bare >= 1 && ev.length)) ev.push(`every one of the ${bare} module failures after it has no lines of its own: the lines are printed once, for the kernel's own BTF`);
        if (ev.length && (bare >= 1 || interp.vmlinuxEvidence)) {
          // Split: the lines become the vmlinux block, the module's closing line a bare failure.
          const blockGroup: FailureGroup = {
            ...gg, module: null, errno: null, closedByMismatchLine: false, closeLine: null, closeRaw: null, closeTs: null,
            lines: gg.lines.filter((l) => l !== gg.closeLine), raw: gg.raw.filter((_r, k) => gg.lines[k] !== gg.closeLine),
            lineCount: Math.max(1, gg.lineCount - 1),
          };
          blockGroup.lastLine = blockGroup.lines[blockGroup.lines.length - 1] ?? gg.lastLine;
          const bareGroup: FailureGroup = {
            ...gg, bpf: [], omittedTexts: 0, lines: gg.closeLine !== null ? [gg.closeLine] : [], raw: gg.closeRaw !== null ? [gg.closeRaw] : [],
            lineCount: 1, lastLine: gg.closeLine ?? gg.lastLine, firstTs: gg.closeTs, lastTs: gg.closeTs,
          };
          block = { key: groupKey(blockGroup), group: blockGroup, count: 1, occurrences: [firstLineOf(blockGroup)], tools: [], moduleFrom: null, toolOnly: false, vmlinux: { evidence: ev } };
          g.group = bareGroup;
          g.key = groupKey(bareGroup);
          g.occurrences = [firstLineOf(bareGroup)];
          items.splice(firstModule, 0, block);
          blockIndex = firstModule;
          // The module's bare failure may repeat later: one entry.
          const twin = items.findIndex((x, k) => k > firstModule + 1 && x.key === g.key);
          if (twin >= 0) {
            g.count += items[twin].count;
            g.occurrences = [...g.occurrences, ...items[twin].occurrences].slice(0, OCCURRENCES_KEPT);
            g.tools = [...g.tools, ...items[twin].tools].slice(0, TOOL_LINES_KEPT);
            items.splice(twin, 1);
          }
        }
      }
    }
    if (!block && rejected) {
      // No block in the paste, but the base says it: every bare failure is the kernel's own BTF's.
      for (const it of items) if (it.group.module !== null && isBare(it.group)) it.underVmlinux = true;
      return;
    }
    if (!block) return;
    for (let i = blockIndex + 1; i < items.length; i++) {
      const g = items[i].group;
      if ((g.module !== null || g.closedByMismatchLine) && isBare(g)) items[i].underVmlinux = true;
    }
  }

  private explainItem(it: Item, view: KernelView, kernel: KernelContext): ExplainedFailure {
    const g = it.group;
    const interp = interpretFailure(g, view);
    const toolLine = it.tools.find((t) => t.errno !== null || t.reason !== '') ?? null;
    const closing = g.closedByMismatchLine ? 'mismatch-once' : g.closeLine !== null ? 'failed' : 'none';
    const load = loadOutcome(closing, view, kernel, toolLine ? `${toolLine.tool}: ${toolLine.reason} (line ${toolLine.line})` : null);
    const out: ExplainedFailure = {
      module: g.module,
      errno: g.errno,
      ...interp,
      lines: g.lines,
      log: g.raw.map(clipRaw),
      lineCount: g.lineCount,
      lastLine: g.lastLine,
      count: it.count,
      occurrences: it.occurrences,
      subject: g.module !== null || g.closedByMismatchLine ? 'module' : 'unknown',
      underVmlinux: it.underVmlinux === true,
      loaded: load.loaded,
      loadedWhy: load.why,
      toolLines: it.tools.map((t) => t.raw),
      moduleFrom: it.moduleFrom,
      fix: interp.likelyCause === 'toolchain-newer' ? TOOLCHAIN_FIX : null,
      closing,
    };
    if (it.toolOnly) {
      out.meaning = `${toolLine ? `${toolLine.tool} could not load ${g.module}: ${toolLine.reason}` : `loading ${g.module} failed`}. ${g.errno === -22 ? 'EINVAL is what a rejected module BTF returns (without CONFIG_MODULE_ALLOW_BTF_MISMATCH), among other reasons' : 'This errno is one a rejected module BTF returns, among other reasons'}; the kernel's lines for this load (BPF: ..., failed to validate module [${g.module}] ...) are not in the paste — dmesg shows them`;
    }
    if (it.vmlinux) {
      out.subject = 'vmlinux';
      out.module = null;
      out.loaded = null;
      out.loadedWhy = 'the kernel itself: it keeps running without usable BTF, and every module\'s BTF fails';
      const what = interp.likelyCause === 'toolchain-newer' || interp.likelyCause === 'non-c-names'
        ? interp.meaning.replace("build the module's BTF without them", "build the kernel's BTF without them")
        : `${interp.check ? `${interp.check}: ` : ''}${interp.message ? `'${interp.message}'` : 'a check failed'}${interp.typeId !== null ? ` on type [${interp.typeId}]${interp.typeKind ? ` ${interp.typeKind}` : ''}${interp.typeName ? ` '${interp.typeName}'` : ''}` : interp.member ? ` on ${interp.member.name ? `member '${interp.member.name}'` : 'an entry'} (type_id=${interp.member.typeId})` : ''} — BTF as pahole or the compiler wrote it for vmlinux, which this kernel's checks reject`;
      out.meaning = `the kernel's own BTF (vmlinux) is invalid: every module will fail. The kernel checks it once, at boot or at the first module load, and prints these lines; from then on each module's BTF is checked on top of it and fails with a bare 'failed to validate module [x] BTF: -22' and no lines of its own. Why these lines are vmlinux's: ${it.vmlinux.evidence.join('; ')}. What failed: ${what}`;
      out.likelyCause = 'vmlinux-btf';
      out.fix = interp.likelyCause === 'toolchain-newer' ? `${VMLINUX_FIX}; here: ${TOOLCHAIN_FIX}` : VMLINUX_FIX;
    } else if (it.underVmlinux) {
      out.meaning = `failed because the kernel's own BTF is invalid${kernel.vmlinuxRejected ? ` (kernel ${kernel.version ?? ''} rejects the base's own BTF with ${kernel.vmlinuxRejected.errno})`.replace('kernel  ', 'the kernel ') : ' (see the vmlinux entry)'}: a module's BTF is checked on top of vmlinux's, so every module fails like this, without lines of its own; the log shows nothing wrong with this module's own BTF`;
      out.likelyCause = 'vmlinux-btf';
      out.fix = VMLINUX_FIX;
    }
    return out;
  }
}

/** Reads a pasted log (a string) and explains every failure in it, in log order. */
export function explainLog(text: string, ctx?: KernelContext, opts: ExplainOptions & { maxLineChars?: number } = {}): ExplainedFailure[] {
  return explainLogResult(text, ctx, opts).failures;
}

/** explainLog with everything the explanation found (kernel, notes, unlisted counts). */
export function explainLogResult(text: string, ctx?: KernelContext, opts: ExplainOptions & { maxLineChars?: number } = {}): ExplainResult {
  const x = new LogExplainer(opts);
  const max = opts.maxLineChars ?? DEFAULT_MAX_LINE_BYTES;
  let n = 0;
  for (let start = 0; start <= text.length;) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    let line = text.slice(start, Math.min(nl, start + max));
    if (line.endsWith('\r')) line = line.slice(0, -1);
    x.line(line, ++n);
    start = nl + 1;
  }
  return x.finish(ctx);
}

/**
 * The struct or union of `moduleBtf` (its own types) holding the member the kernel printed — the
 * kernel names the member but not its type. Null when none matches.
 */
export function findMemberOwner(moduleBtf: Btf, member: MemberRef): number | null {
  for (let id = moduleBtf.startId; id < moduleBtf.nrTypes; id++) {
    const kind = moduleBtf.kind(id);
    if (kind !== Kind.STRUCT && kind !== Kind.UNION) continue;
    const t = moduleBtf.type(id)!;
    for (const m of t.members!) {
      if (m.type !== member.typeId || m.bitsOffset !== member.bitsOffset) continue;
      if (member.bitfieldSize !== null && m.bitfieldSize !== member.bitfieldSize) continue;
      // The kernel prints '(anon)' for offset 0 and '(invalid-name-offset)' past the strings.
      const printed = m.nameOff === 0 ? ANON_NAME : moduleBtf.str(m.nameOff) ?? INVALID_NAME_OFFSET;
      if (printed === member.name) return id;
    }
  }
  return null;
}
