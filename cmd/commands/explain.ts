/**
 * `btfcheck explain DMESG_FILE [--base B] [MODULE_FILE_OR_DIR...]`: reads a pasted kernel log, groups
 * the BTF lines per failing module, says what each line means and which type or member it is
 * about, and — given the base and the module files — the root cause from the module itself.
 */
import fs from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule, Options } from 'yargs';
import { Btf } from '../../lib/btf/btf.js';
import { diagnoseModule, Explanation } from '../../lib/diagnose/index.js';
import { CauseId, ExplainedFailure, explainLog, findMemberOwner } from '../../lib/explain/index.js';
import { nameFromPath } from '../../lib/module.js';
import { escapeStrings } from '../../lib/report/escape.js';
import { errnoLabel, toJson } from '../../lib/report/model.js';
import { errorMessage, EXIT_ERROR, EXIT_FAIL, EXIT_OK, printError, UsageError, writeOut } from '../common.js';
import { LoadedBase, LoadedModule, loadModule, readTextFile, walkModulePaths } from '../io/index.js';
import { loadBaseOrExit } from '../run-checks.js';

export interface ExplainArgs {
  log: string;
  modules?: string[];
  base?: string;
  format: 'text' | 'json';
}

export const EXPLAIN_OPTIONS = {
  base: { alias: 'b', type: 'string', describe: 'the base of the kernel that printed the log (vmlinux, vmlinuz, raw BTF, "running"); needed to diagnose module files' },
  format: { alias: 'f', type: 'string', choices: ['text', 'json'], default: 'text', describe: 'report format' },
} as const;

export const explainCommand: CommandModule<object, ExplainArgs> = {
  command: 'explain <log> [modules..]',
  describe: 'Explain the BTF lines of a pasted kernel log: per failing module, what the kernel checked and why it failed',
  builder: (y: Argv) =>
    y
      .positional('log', { type: 'string', describe: 'the kernel log (dmesg, journalctl -k, syslog, a forum paste); "-" reads stdin' })
      .positional('modules', { type: 'string', array: true, describe: 'module files or directories, matched to the log by kernel module name (needs --base)' })
      .options(EXPLAIN_OPTIONS as unknown as Record<string, Options>)
      .example('dmesg | $0 explain -', 'what do these BPF: lines mean?')
      .example('$0 explain boot.log --base /boot/vmlinuz-$(uname -r) /lib/modules/$(uname -r)', 'and why: each failing module diagnosed against the running kernel\'s base')
      .example('$0 explain paste.txt --base vmlinux ./vboxdrv.ko --format json', 'JSON: {failures: [{module, errno, kind, typeId, message, meaning, moduleFile, cause}]}')
      .epilogue('Exit status: 0 failures explained, 1 the log holds no module-BTF failure, 2 usage or input error.') as unknown as Argv<ExplainArgs>,
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
}

export interface ExplainReport {
  log: string;
  base: { file: string; types: number; strLen: number; release: string | null } | null;
  failures: ExplainReportFailure[];
}

function readLog(path: string): string {
  // yargs hands a lone "-" over as the empty string; neither names a file.
  const stdin = path === '-' || path === '';
  try {
    return stdin ? fs.readFileSync(0, 'utf8') : readTextFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${path}: ${errorMessage(e)}`);
  }
}

/** Finds module files by the kernel's module name: by file name first, then by reading the rest. */
class ModuleFinder {
  private readonly byPathName = new Map<string, string[]>();
  private readonly loaded = new Map<string, LoadedModule | null>();
  errors = 0;

  constructor(private readonly files: string[]) {
    for (const f of files) {
      const n = nameFromPath(f);
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
      if (m?.name === name) return m;
    }
    // Renamed files: the name inside the module decides.
    for (const f of this.files) {
      const m = await this.load(f);
      if (m?.name === name) return m;
    }
    return null;
  }
}

export async function explainFailures(text: string, base: LoadedBase | undefined, moduleFiles: string[]): Promise<{ failures: ExplainReportFailure[]; moduleErrors: number }> {
  const finder = new ModuleFinder(moduleFiles);
  const failures: ExplainReportFailure[] = [];
  // Once per module file: a log can hold thousands of failures of one module (a pasted flood).
  const diagnoses = new Map<LoadedModule, ReturnType<typeof diagnoseModule>>();
  const splits = new Map<LoadedModule, Btf | null>();
  for (const f of explainLog(text)) {
    const out: ExplainReportFailure = { ...f, moduleFile: null, cause: f.likelyCause, causeFrom: 'log', diagnosis: null, moduleFitsBase: null, memberOf: null };
    const m = base && f.module ? await finder.find(f.module) : null;
    if (m && base) {
      out.moduleFile = m.file;
      if (m.btf) {
        let d = diagnoses.get(m);
        if (!d) diagnoses.set(m, (d = diagnoseModule(base.btf, m.btf, { baseSha256: base.sha256 })));
        out.moduleFitsBase = !d.baseMismatch && d.explanation === null;
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

export async function runExplain(args: ExplainArgs): Promise<number> {
  const modules = args.modules ?? [];
  if (modules.length && !args.base) throw new UsageError('module files need --base (the base of the kernel that printed the log) to be diagnosed');
  const text = readLog(args.log);
  if (args.log === '') args.log = '-';
  let base: LoadedBase | undefined;
  if (args.base) {
    base = await loadBaseOrExit(args.base);
    if (!base) return EXIT_ERROR;
  }
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
  const { failures, moduleErrors } = await explainFailures(text, base, files);
  const report: ExplainReport = {
    log: args.log,
    base: base ? { file: base.file, types: base.btf.nrTypes, strLen: base.btf.strLen, release: base.release ?? null } : null,
    failures,
  };
  await writeOut(args.format === 'json' ? toJson(report) : renderExplainText(report, modules.length > 0));
  if (moduleErrors + listErrors > 0) return EXIT_ERROR;
  return failures.length ? EXIT_OK : EXIT_FAIL;
}

/** The text report; every string in it is escaped for a terminal first (lib/report/escape.ts). */
export function renderExplainText(report: ExplainReport, modulesGiven: boolean): string {
  const r = escapeStrings(report);
  if (!r.failures.length) return `${r.log}: no module BTF failures found (no "BPF:" or "failed to validate module" lines)\n`;
  const out: string[] = [];
  for (const f of r.failures) {
    const who = f.module ?? '(module not named in the log)';
    const errno = f.errno !== null ? `errno ${errnoLabel(f.errno)}` : 'no errno in the log';
    out.push(`${who}: BTF rejected, ${errno}  [log line${f.lines.length > 1 ? 's' : ''} ${f.lines[0]}${f.lines.length > 1 ? `-${f.lines[f.lines.length - 1]}` : ''}]`);
    for (const l of f.log.slice(0, 12)) out.push(`    | ${l}`);
    if (f.log.length > 12) out.push(`    | (+${f.log.length - 12} more lines)`);
    const subject = f.kind === 'member' && f.member
      ? `member ${f.member.name ? `'${f.member.name}'` : '(empty name)'}${f.memberOf ? ` of ${f.memberOf}` : ''}`
      : f.typeId !== null ? `type [${f.typeId}]${f.typeKind ? ` ${f.typeKind}` : ''}${f.typeName ? ` '${f.typeName}'` : f.typeKind ? ' (empty name)' : ''}` : null;
    out.push(`  check:   ${f.kind}${f.check ? ` (${f.check})` : ''}${f.message ? `: '${f.message}'` : ''}${subject ? ` on ${subject}` : ''}`);
    out.push(`  means:   ${f.meaning}`);
    if (f.moduleFile) out.push(`  module:  ${f.moduleFile}${f.moduleFitsBase ? ' (its BTF fits this base: the log is probably from another kernel or another build of the module)' : ''}`);
    else if (modulesGiven && f.module) out.push(`  module:  no file for '${f.module}' among the given modules`);
    if (f.diagnosis) {
      out.push(`  cause:   ${f.cause}: ${f.diagnosis.summary}`);
      for (const e of f.diagnosis.evidence.slice(0, 4)) out.push(`           evidence: ${e}`);
      out.push(`  fix:     ${f.diagnosis.fix}`);
    } else {
      const hint = modulesGiven ? '' : '; give --base and the module files to diagnose';
      out.push(f.cause === 'unknown'
        ? `  cause:   not told by the log alone${hint}`
        : `  cause:   ${f.cause} (likely, from the log alone${hint})`);
    }
    out.push('');
  }
  const byCause = new Map<string, number>();
  for (const f of r.failures) byCause.set(f.cause, (byCause.get(f.cause) ?? 0) + 1);
  out.push(`${r.failures.length} failure${r.failures.length === 1 ? '' : 's'}: ${[...byCause].map(([c, n]) => `${n} ${c}`).join(', ')}`);
  return out.join('\n') + '\n';
}
