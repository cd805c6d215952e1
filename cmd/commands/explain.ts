/**
 * `btfcheck explain LOG [--base B] [MODULE_FILE_OR_DIR...]`: reads a pasted kernel log, groups
 * the BTF lines per failing module, says what each line means and which type or member it is
 * about, whether the module loaded, and — given the base and the module files — the root cause
 * from the module itself.
 *
 * The log is read as a stream (a file or stdin) in bounded memory: lines longer than
 * --max-line-length are cut (and said so), at most --max-failures distinct failures are listed
 * (repeats counted into their entry, the rest counted in the summary), so the report stays
 * proportional to — and far smaller than — a large log.
 */
import fs from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule, Options } from 'yargs';
import { Btf } from '../../lib/btf/btf.js';
import { CandidateBase, diagnoseModule, Explanation } from '../../lib/diagnose/index.js';
import {
  CauseId, CutLine, DEFAULT_MAX_FAILURES, DEFAULT_MAX_LINE_BYTES, ExplainedFailure, ExplainResult, findMemberOwner, KernelContext,
  kernelFromLog, kernelView, LogExplainer, LogReader, PrefixStyle,
} from '../../lib/explain/index.js';
import type { LogBanner } from '../../lib/explain/index.js';
import { kernelBytesToText } from '../../lib/kernel/text.js';
import { nameFromPath } from '../../lib/module.js';
import { escapeStrings } from '../../lib/report/escape.js';
import { errnoLabel, toJson } from '../../lib/report/model.js';
import { errorMessage, EXIT_ERROR, EXIT_FAIL, EXIT_OK, printError, UsageError, writeOut } from '../common.js';
import { openRegular } from '../io/files.js';
import { LoadedBase, LoadedModule, loadModule, walkModulePaths } from '../io/index.js';
import { parseRuleSwitches, readAllowBtfMismatch, resolveKernelSettings } from '../kernel-settings.js';
import { expandCandidatePaths, loadBaseOrExit, prepareContext } from '../run-checks.js';

export interface ExplainArgs {
  log: string;
  modules?: string[];
  base?: string;
  format: 'text' | 'json';
  kernel?: string;
  config?: string;
  allowBtfMismatch?: boolean;
  rule?: string[];
  candidates?: string[];
  maxLineLength?: number;
  maxFailures?: number;
}

export const EXPLAIN_OPTIONS = {
  base: { alias: 'b', type: 'string', describe: 'the base of the kernel that printed the log (vmlinux, vmlinuz, raw BTF, "running"); needed to diagnose module files' },
  kernel: { alias: 'k', type: 'string', describe: 'the kernel that printed the log: a series (7.2), a version (5.15.119) or a release (6.8.0-45-generic); default: the log\'s "Linux version" banner, else the base\'s release, else dated by the log\'s "BPF:" style (no space after the colon: before 5.17)' },
  config: { type: 'string', describe: 'that kernel\'s .config (or config.gz), for CONFIG_MODULE_ALLOW_BTF_MISMATCH (default: found beside the base, as in check)' },
  'allow-btf-mismatch': { type: 'boolean', describe: 'CONFIG_MODULE_ALLOW_BTF_MISMATCH=y (overrides the config; unknown when neither says)' },
  rule: { type: 'string', array: true, describe: 'switch one kernel change on or off for a backporting distro kernel: ID=on|off (IDs: btfcheck kernels)' },
  candidates: { type: 'string', array: true, describe: 'bases (files or directories) to find the one each module file was built against (needs --base and module files)' },
  format: { alias: 'f', type: 'string', choices: ['text', 'json'], default: 'text', describe: 'report format' },
  'max-line-length': { type: 'number', default: DEFAULT_MAX_LINE_BYTES, describe: 'bytes of a log line read; a longer line (a whole log joined into one) is cut there, and the report says so' },
  'max-failures': { type: 'number', default: DEFAULT_MAX_FAILURES, describe: 'distinct failures listed (repeats of one are counted into it); the rest are counted in the summary' },
} as const;

export const explainCommand: CommandModule<object, ExplainArgs> = {
  command: 'explain <log> [modules..]',
  describe: 'Explain the BTF lines of a pasted kernel log: per failing module, what the kernel checked, why it failed, and whether the module loaded',
  builder: (y: Argv) =>
    y
      .positional('log', { type: 'string', describe: 'the kernel log (dmesg, journalctl -k, syslog, a forum paste); "-" reads stdin' })
      .positional('modules', { type: 'string', array: true, describe: 'module files or directories, matched to the log by kernel module name (needs --base)' })
      .options(EXPLAIN_OPTIONS as unknown as Record<string, Options>)
      .example('dmesg | $0 explain -', 'what do these BPF: lines mean?')
      .example('$0 explain boot.log --base /boot/vmlinuz-$(uname -r) /lib/modules/$(uname -r)', 'and why: each failing module diagnosed against the running kernel\'s base')
      .example('$0 explain paste.txt --kernel 5.15 --config config-5.15.0-91-generic', 'read for a given kernel: did the modules load?')
      .example('$0 explain paste.txt --base vmlinux --candidates old-builds/ ./vboxdrv.ko --format json', 'JSON: {kernel, failures: [{module, count, kind, message, meaning, loaded, cause, builtAgainst}], summary}')
      .epilogue('Repeated failures of one module are one entry with a count; when the kernel\'s own BTF is invalid (a block of BPF: lines, then every module failing without lines of its own), that is one "vmlinux" entry with the modules under it (cause vmlinux-btf). ' +
        'The log is read as a stream: any size, in bounded memory. Exit status: 0 failures explained, 1 the log holds no module-BTF failure, 2 usage or input error.') as unknown as Argv<ExplainArgs>,
  handler: async (args: ArgumentsCamelCase<ExplainArgs>) => {
    process.exitCode = await runExplain(args);
  },
};

/** One failure as reported: the log's meaning plus what the module file says. */
export interface ExplainReportFailure extends ExplainedFailure {
  moduleFile: string | null;
  /** The root cause: from the diagnosis when the module was found and diagnosed, else from the log. */
  cause: CauseId;
  causeFrom: 'diagnosis' | 'log';
  diagnosis: Explanation | null;
  /**
   * The found module's BTF fits the given base (no diagnosis, no mismatch): then the log comes from
   * another kernel or another build of the module. Null when no module file was found.
   */
  moduleFitsBase: boolean | null;
  /** For a member failure whose module was found: the struct or union holding the member. */
  memberOf: string | null;
  /** With --candidates: the candidate base the module file was built against, null when none fits. */
  builtAgainst?: { file: string; sha256: string } | null;
}

/** The kernel the log was read for (stable JSON: `kernel`). */
export interface ExplainKernelReport {
  /** The version whose rules were applied; null when neither the options nor the log tell. */
  version: string | null;
  versionFrom: string | null;
  /** When the version is not known: what the log's BPF: prefix style tells ("before 5.17"). */
  dated: string | null;
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH; null when not known. */
  allowBtfMismatch: boolean | null;
  config: string | null;
  overrides: Record<string, boolean>;
  /** Set when that kernel rejects the base's own BTF (as btfcheck emulates it). */
  vmlinux: { errno: number; log: string[] } | null;
  notes: string[];
}

export interface ExplainReport {
  log: string;
  base: { file: string; types: number; strLen: number; release: string | null } | null;
  kernel?: ExplainKernelReport;
  failures: ExplainReportFailure[];
  summary?: {
    /** Entries listed (a repeated failure is one entry). */
    listed: number;
    /** Failures in the log (each repeat counted). */
    occurrences: number;
    /** Failures in the log not listed (over --max-failures). */
    unlisted: number;
    byCause: Record<string, number>;
  };
  /** What was read: bytes, lines, lines cut at --max-line-length. */
  input?: { bytes: number; lines: number; maxLineLength: number; cutLines: number; cut: CutLine[]; maxFailures: number };
  notes?: string[];
}

/**
 * Reads the log as a stream into `reader`: a regular file (FIFOs and devices refused, as for every
 * input), or stdin for "-". Chunks go in as byte strings; memory stays at a chunk plus a line.
 */
async function readLogInto(path: string, reader: LogReader): Promise<void> {
  // yargs hands a lone "-" over as the empty string; neither names a file.
  const stdin = path === '-' || path === '';
  try {
    const stream: AsyncIterable<Buffer | string> = stdin
      ? process.stdin
      : fs.createReadStream('', { fd: openRegular(path), highWaterMark: 1 << 20 });
    for await (const chunk of stream) reader.push(typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
    reader.end();
  } catch (e) {
    throw new UsageError(`${path === '' ? '-' : path}: ${errorMessage(e)}`);
  }
}

/** Finds module files by the kernel's module name: by file name first, then by reading the rest. */
class ModuleFinder {
  private readonly byPathName = new Map<string, string[]>();
  private readonly loaded = new Map<string, LoadedModule | null>();
  errors = 0;

  constructor(private readonly files: string[]) {
    for (const f of files) {
      // Log names are text (kernelBytesToText); module names are the kernel's bytes.
      const n = kernelBytesToText(nameFromPath(f));
      this.byPathName.set(n, [...(this.byPathName.get(n) ?? []), f]);
    }
  }

  private async load(file: string): Promise<LoadedModule | null> {
    if (!this.loaded.has(file)) {
      try {
        this.loaded.set(file, await loadModule(file));
      } catch (e) {
        printError(file, errorMessage(e));
        this.errors++;
        this.loaded.set(file, null);
      }
    }
    return this.loaded.get(file)!;
  }

  async find(name: string): Promise<LoadedModule | null> {
    for (const f of this.byPathName.get(name) ?? []) {
      const m = await this.load(f);
      if (m?.name !== undefined && kernelBytesToText(m.name) === name) return m;
    }
    // Renamed files: the name inside the module decides.
    for (const f of this.files) {
      const m = await this.load(f);
      if (m?.name !== undefined && kernelBytesToText(m.name) === name) return m;
    }
    return null;
  }
}

export interface DiagnoseContext {
  candidates?: CandidateBase[];
  /** The kernel reads a module's .BTF.base (6.11+): diagnose against it. */
  readsDistilledBase?: boolean;
}

/** Adds what the module files say to the log's failures. */
export async function diagnoseFailures(explained: ExplainedFailure[], base: LoadedBase | undefined, moduleFiles: string[], ctx: DiagnoseContext = {}): Promise<{ failures: ExplainReportFailure[]; moduleErrors: number }> {
  const finder = new ModuleFinder(moduleFiles);
  const failures: ExplainReportFailure[] = [];
  // Once per module file: a log can hold many failures of one module.
  const diagnoses = new Map<LoadedModule, ReturnType<typeof diagnoseModule>>();
  for (const f of explained) {
    const out: ExplainReportFailure = { ...f, moduleFile: null, cause: f.likelyCause, causeFrom: 'log', diagnosis: null, moduleFitsBase: null, memberOf: null };
    if (ctx.candidates) out.builtAgainst = null;
    const m = base && f.module && f.subject === 'module' ? await finder.find(f.module) : null;
    if (m && base) {
      out.moduleFile = m.file;
      // A module failing because vmlinux's BTF is invalid: its own BTF is not the question.
      if (m.btf && !f.underVmlinux) {
        let d = diagnoses.get(m);
        if (!d) {
          d = diagnoseModule(base.btf, m.btf, {
            baseSha256: base.sha256, candidates: ctx.candidates, stored: m.storedChecksum,
            distilledBase: ctx.readsDistilledBase ? m.btfBase : undefined,
          });
          diagnoses.set(m, d);
        }
        out.moduleFitsBase = !d.baseMismatch && d.explanation === null;
        if (ctx.candidates) out.builtAgainst = d.builtAgainst ?? null;
        if (d.explanation) {
          out.diagnosis = d.explanation;
          out.cause = d.explanation.cause;
          out.causeFrom = 'diagnosis';
        }
        if (f.kind === 'member' && f.member) {
          try {
            const split = Btf.parseSplit(m.btf, base.btf);
            const owner = findMemberOwner(split, f.member);
            if (owner !== null) {
              out.memberOf = split.describe(owner);
              out.typeId = owner;
            }
          } catch {
            // Unparsable BTF: the diagnosis above already says so.
          }
        }
      }
    }
    failures.push(out);
  }
  return { failures, moduleErrors: finder.errors };
}

/** The failures of a log given as a string, diagnosed with the module files (tests, fuzzing). */
export async function explainFailures(text: string, base: LoadedBase | undefined, moduleFiles: string[]): Promise<{ failures: ExplainReportFailure[]; moduleErrors: number }> {
  const x = new LogExplainer();
  const reader = new LogReader((line, n) => x.line(line, n));
  // The string's UTF-16 units as bytes would mangle non-Latin-1 text: feed its UTF-8 bytes.
  reader.push(Buffer.from(text, 'utf8').toString('latin1'));
  reader.end();
  return diagnoseFailures(x.finish().failures, base, moduleFiles);
}

/** The version text a banner stands for ("6.1.170" for Debian's "6.1.0-47-cloud-amd64 ... Debian 6.1.170-3"). */
function bannerVersion(banner: LogBanner): string | undefined {
  return kernelFromLog(banner, null).version ?? undefined;
}

const ASSUMED_N = /^no kernel config given or found beside the base/;

/**
 * The kernel that printed the log: --kernel, else the log's banner, else the base's release
 * (resolveKernelSettings, as check does, with --config and --rule); without any, the log's
 * prefix style dates it. CONFIG_MODULE_ALLOW_BTF_MISMATCH stays unknown unless a config or
 * --allow-btf-mismatch says it (the log itself often tells whether a module loaded).
 */
function explainKernel(args: ExplainArgs, base: LoadedBase | undefined, banners: LogBanner[], prefixStyle: PrefixStyle | null): { ctx: KernelContext; report: ExplainKernelReport } {
  const banner = banners[0];
  const fromBanner = !args.kernel && banner ? bannerVersion(banner) : undefined;
  const style = prefixStyle === 'mixed' ? null : prefixStyle;
  const dated = style === 'fragment-line' ? 'before 5.17 (BPF: lines without a space after the colon)' : style === 'prefix-space' ? '5.17 or later (BPF: lines with a space after the colon)' : null;
  const kernelText = args.kernel ?? fromBanner;
  if (base || kernelText) {
    let resolved: ReturnType<typeof resolveKernelSettings> | undefined;
    try {
      resolved = resolveKernelSettings(
        { kernel: kernelText, config: args.config, allowBtfMismatch: args.allowBtfMismatch, rule: args.rule },
        base ? { file: base.file, release: base.release, version: base.version, raw: base.raw } : { file: args.log, configSearch: false },
      );
    } catch (e) {
      // A raw base carries no release: without --kernel or a banner the kernel stays unknown.
      if (!(e instanceof UsageError) || kernelText || !/cannot tell which kernel/.test(e.message)) throw e;
    }
    if (resolved) {
      const r = resolved.report;
      const notes = r.notes.filter((n) => !ASSUMED_N.test(n));
      const allowKnown = r.config !== null || args.allowBtfMismatch !== undefined;
      if (!allowKnown) notes.push('CONFIG_MODULE_ALLOW_BTF_MISMATCH is not known (no --config, none found beside the base): whether a module loaded is told by the log and the kernel version where they can');
      let versionFrom = r.versionFrom;
      if (fromBanner) versionFrom = `the log's Linux version banner (line ${banner!.line}: ${banner!.release})`;
      if (banner && base?.release && banner.release !== base.release) {
        notes.push(`the log's kernel (release ${banner.release}, line ${banner.line}) is not the base's (${base.release}): the base given may not be the one of the kernel that printed the log`);
      }
      const report: ExplainKernelReport = {
        version: r.version, versionFrom, dated: null, allowBtfMismatch: allowKnown ? r.allowBtfMismatch : null, config: r.config,
        overrides: r.overrides, vmlinux: r.vmlinux, notes,
      };
      const ctx: KernelContext = {
        version: r.version, versionFrom, overrides: r.overrides, allowBtfMismatch: report.allowBtfMismatch,
        allowFrom: args.allowBtfMismatch !== undefined ? '--allow-btf-mismatch' : r.config, baseTypes: base?.btf.nrTypes ?? null,
        vmlinuxRejected: r.vmlinux, prefixStyle: style,
      };
      return { ctx, report };
    }
  }
  // The version is not known: the log's prefix style dates the kernel.
  const overrides = parseRuleSwitches(args.rule ?? []);
  let allow: boolean | null = args.allowBtfMismatch ?? null;
  let allowFrom: string | null = args.allowBtfMismatch !== undefined ? '--allow-btf-mismatch' : null;
  if (allow === null && args.config) {
    try {
      allow = readAllowBtfMismatch(args.config);
      allowFrom = args.config;
    } catch (e) {
      throw e instanceof UsageError ? e : new UsageError(`--config ${args.config}: ${errorMessage(e)}`);
    }
  }
  const notes: string[] = [];
  const report: ExplainKernelReport = { version: null, versionFrom: null, dated, allowBtfMismatch: allow, config: allowFrom !== '--allow-btf-mismatch' ? allowFrom : null, overrides, vmlinux: null, notes };
  return { ctx: { version: null, overrides, allowBtfMismatch: allow, allowFrom, baseTypes: base?.btf.nrTypes ?? null, prefixStyle: style }, report };
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${name} ${v}: expected a whole number of at least 1`);
  return v;
}

export async function runExplain(args: ExplainArgs): Promise<number> {
  const modules = args.modules ?? [];
  if (modules.length && !args.base) throw new UsageError('module files need --base (the base of the kernel that printed the log) to be diagnosed');
  if (args.candidates?.length && (!args.base || !modules.length)) throw new UsageError('--candidates needs --base and module files: it names the base each module file was built against');
  const maxLine = positiveInt('max-line-length', args.maxLineLength, DEFAULT_MAX_LINE_BYTES);
  const maxFailures = positiveInt('max-failures', args.maxFailures, DEFAULT_MAX_FAILURES);
  const explainer = new LogExplainer({ maxFailures });
  const reader = new LogReader((line, n) => explainer.line(line, n), maxLine);
  await readLogInto(args.log, reader);
  if (args.log === '') args.log = '-';
  let base: LoadedBase | undefined;
  if (args.base) {
    base = await loadBaseOrExit(args.base);
    if (!base) return EXIT_ERROR;
  }
  const evidence = explainer.logEvidence();
  const kernel = explainKernel(args, base, evidence.banners, evidence.prefixStyle);
  const result: ExplainResult = explainer.finish(kernel.ctx);

  // An unreadable path or tree entry is one line; the other modules are still used.
  const files: string[] = [];
  let listErrors = 0;
  for (const entry of walkModulePaths(modules)) {
    if (entry.error === undefined) files.push(entry.file);
    else {
      printError(entry.file, entry.error);
      listErrors++;
    }
  }
  let candidates: CandidateBase[] | undefined;
  let candidateErrors = 0;
  if (args.candidates?.length && base) {
    const expanded = expandCandidatePaths(args.candidates);
    const prepared = await prepareContext({ basePath: base.file, kernel: { version: kernel.ctx.version ?? '6.12', allowBtfMismatch: false }, diagnose: true, candidatePaths: expanded.files }, base, true);
    candidates = prepared.options.candidates ?? [];
    candidateErrors = expanded.errors + prepared.candidateErrors;
  }
  // Diagnose against a module's .BTF.base only where the kernel reads it (or may: version unknown).
  const readsDistilledBase = kernelView(kernel.ctx).has('distilled-base') !== false;
  const { failures, moduleErrors } = await diagnoseFailures(result.failures, base, files, { candidates, readsDistilledBase });

  const byCause: Record<string, number> = {};
  for (const f of failures) byCause[f.cause] = (byCause[f.cause] ?? 0) + 1;
  const notes = [...result.notes];
  if (reader.cutCount) {
    notes.push(`${reader.cutCount} line${reader.cutCount === 1 ? '' : 's'} longer than --max-line-length ${maxLine} bytes cut there (${reader.cut.map((c) => `line ${c.line}: ${c.bytes} bytes`).join(', ')}${reader.cutCount > reader.cut.length ? ', ...' : ''}): what follows the cut on such a line is not read`);
  }
  if (result.unlisted) notes.push(`${result.unlisted} more failure${result.unlisted === 1 ? '' : 's'} in the log not listed: over --max-failures ${maxFailures} distinct ones`);
  const report: ExplainReport = {
    log: args.log,
    base: base ? { file: base.file, types: base.btf.nrTypes, strLen: base.btf.strLen, release: base.release ?? null } : null,
    kernel: kernel.report,
    failures,
    summary: { listed: failures.length, occurrences: result.occurrences, unlisted: result.unlisted, byCause },
    input: { bytes: reader.bytes, lines: reader.lines, maxLineLength: maxLine, cutLines: reader.cutCount, cut: reader.cut, maxFailures },
    notes,
  };
  await writeOut(args.format === 'json' ? toJson(report) : renderExplainText(report, modules.length > 0));
  if (moduleErrors + listErrors + candidateErrors > 0) return EXIT_ERROR;
  return failures.length + result.unlisted > 0 ? EXIT_OK : EXIT_FAIL;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function lineSpan(f: ExplainedFailure): string {
  const first = f.lines[0];
  const last = f.lastLine;
  const span = first === undefined ? '' : first === last || last === 0 ? `log line ${first}` : `log lines ${first}-${last}`;
  if (f.count <= 1) return span ? `  [${span}]` : '';
  const again = f.occurrences.slice(1);
  const more = f.occurrences.length < 20 ? '' : ', ...';
  return `  [${span}${again.length ? `; again at line${again.length === 1 ? '' : 's'} ${again.join(', ')}${more}` : ''}]`;
}

/** The text report; every string in it is escaped for a terminal first (lib/report/escape.ts). */
export function renderExplainText(report: ExplainReport, modulesGiven: boolean): string {
  const r = escapeStrings(report);
  const out: string[] = [];
  // The kernel read for and the notes close the report, before the summary line.
  const footer: string[] = [];
  const k = r.kernel;
  if (k) {
    const version = k.version ? `${k.version}${k.versionFrom ? ` (${k.versionFrom})` : ''}` : k.dated ? `not given; dated ${k.dated}` : 'not known (--kernel, or a log with its Linux version banner, tells)';
    const allow = k.allowBtfMismatch === null ? 'not known' : k.allowBtfMismatch ? 'y' : 'n';
    footer.push(`kernel: ${version}; CONFIG_MODULE_ALLOW_BTF_MISMATCH ${allow}${k.config ? ` (${k.config})` : ''}`);
  }
  for (const n of [...(k?.notes ?? []), ...(r.notes ?? [])]) footer.push(`note: ${n}`);
  if (!r.failures.length && !(r.summary?.unlisted)) {
    out.push(`${r.log}: no module BTF failures found (no "BPF:" or "failed to validate module" lines)`);
    return [...out, ...footer].join('\n') + '\n';
  }
  const under = r.failures.filter((f) => f.underVmlinux);
  const shownMeanings = new Map<string, string>();
  const moduleList = (fs: ExplainReportFailure[]): string =>
    fs.map((f) => `${f.module ?? '(once-per-boot line)'}${f.count > 1 ? ` (×${f.count})` : ''}`).join(', ');
  let vmlinuxShown = false;
  for (const f of r.failures) {
    if (f.underVmlinux && (vmlinuxShown || r.failures.some((x) => x.subject === 'vmlinux'))) continue;
    if (f.underVmlinux && !vmlinuxShown) {
      // The base says the kernel rejects its own BTF, but the paste holds no block of lines.
      vmlinuxShown = true;
      out.push('vmlinux (the kernel\'s own BTF): invalid, as the given base shows');
      out.push(`  means:   ${f.meaning}`);
      out.push(`  cause:   vmlinux-btf`);
      out.push(`  fix:     ${f.fix ?? ''}`);
      out.push(`  modules: ${plural(under.length, 'module')} failed because of it: ${moduleList(under)}`);
      out.push('');
      continue;
    }
    const who = f.subject === 'vmlinux' ? 'vmlinux (the kernel\'s own BTF)' : f.module ?? (f.closing === 'mismatch-once' ? '(modules not named: once-per-boot line)' : '(module not named in the log)');
    const errno = f.errno !== null ? `errno ${errnoLabel(f.errno)}` : 'no errno in the log';
    const times = f.count > 1 ? `, ${f.count} times` : '';
    out.push(`${who}: ${f.subject === 'vmlinux' ? 'invalid' : `BTF rejected, ${errno}`}${times}${lineSpan(f)}`);
    for (const l of f.log.slice(0, 12)) out.push(`    | ${l}`);
    if (f.lineCount > f.log.length) out.push(`    | (+${f.lineCount - f.log.length} more lines)`);
    for (const t of f.toolLines.filter((t) => !f.log.includes(t))) out.push(`    | ${t}`);
    const subject = f.kind === 'member' && f.member
      ? `member ${f.member.name ? `'${f.member.name}'` : '(empty name)'}${f.memberOf ? ` of ${f.memberOf}` : ''}`
      : f.typeKind ? `type ${f.typeId !== null ? `[${f.typeId}] ` : ''}${f.typeKind}${f.typeName ? ` '${f.typeName}'` : ' (empty name)'}` : f.typeId !== null ? `type [${f.typeId}]` : null;
    if (f.kind !== 'none') out.push(`  check:   ${f.kind}${f.check ? ` (${f.check})` : ''}${f.message ? `: '${f.message}'` : ''}${subject ? ` on ${subject}` : ''}`);
    const seen = shownMeanings.get(f.meaning);
    out.push(`  means:   ${seen ? `as for ${seen} above` : f.meaning}`);
    if (!seen) shownMeanings.set(f.meaning, f.module ?? who);
    if (f.subject === 'module') out.push(`  loaded:  ${f.loaded === true ? 'yes, without BTF' : f.loaded === false ? 'no' : 'not told'} — ${f.loadedWhy}`);
    if (f.moduleFrom === 'tool' && f.module) out.push(`  named:   by the module-loading tool's line after it (the kernel's closing line is not in the paste)`);
    if (f.moduleFile) out.push(`  module:  ${f.moduleFile}${f.moduleFitsBase ? ' (its BTF fits this base: the log is probably from another kernel or another build of the module)' : ''}`);
    else if (modulesGiven && f.module && f.subject === 'module') out.push(`  module:  no file for '${f.module}' among the given modules`);
    if (f.builtAgainst !== undefined) out.push(`  built against: ${f.builtAgainst ? f.builtAgainst.file : 'none of the candidates'}`);
    if (f.diagnosis) {
      out.push(`  cause:   ${f.cause}: ${f.diagnosis.summary}`);
      for (const e of f.diagnosis.evidence.slice(0, 4)) out.push(`           evidence: ${e}`);
      out.push(`  fix:     ${f.diagnosis.fix}`);
    } else {
      const hint = modulesGiven || f.subject === 'vmlinux' || f.cause === 'vmlinux-btf' ? '' : '; give --base and the module files to diagnose';
      out.push(f.cause === 'unknown'
        ? `  cause:   not told by the log alone${hint}`
        : `  cause:   ${f.cause} (${f.subject === 'vmlinux' ? 'from the log' : `likely, from the log alone${hint}`})`);
      if (f.fix) out.push(`  fix:     ${f.fix}`);
    }
    if (f.subject === 'vmlinux' && under.length) out.push(`  modules: ${plural(under.length, 'module')} failed because of it (no lines of their own): ${moduleList(under)}`);
    out.push('');
  }
  const byCause = new Map<string, number>();
  let occurrences = 0;
  for (const f of r.failures) {
    byCause.set(f.cause, (byCause.get(f.cause) ?? 0) + 1);
    occurrences += f.count;
  }
  const unlisted = r.summary?.unlisted ?? 0;
  const total = occurrences + unlisted;
  const modules = r.failures.filter((f) => f.subject === 'module').length;
  out.push(...footer);
  out.push(`${plural(r.failures.length, 'failure')} (${plural(modules, 'module')}${total !== r.failures.length ? `, ${total} in the log` : ''}${unlisted ? `, ${unlisted} not listed` : ''}): ${[...byCause].map(([c, n]) => `${n} ${c}`).join(', ')}`);
  return out.join('\n') + '\n';
}
