/**
 * `btfcheck check --base BASE MODULE...`: replays the chosen kernel's module-BTF validation for
 * each module and adds our own findings (silent mismatches, root cause).
 */
import type { ArgumentsCamelCase, Argv, CommandModule, Options } from 'yargs';
import { EXIT_ERROR, EXIT_FAIL, EXIT_OK, log, UsageError, writeOut } from '../common.js';
import { CheckReport } from '../../lib/report/model.js';
import { renderOutputPieces, OutputFormat, OUTPUT_FORMATS, terminalStyle } from '../output.js';
import { resolveKernelSettings } from '../kernel-settings.js';
import { loadBaseOrExit, prefetchModules, runChecks } from '../run-checks.js';

/**
 * When `check` exits 1, by consequence (the same words as the hooks' BTFCHECK_FAIL_ON):
 * `unloadable` a module the kernel would refuse to load (BTF rejected without
 * CONFIG_MODULE_ALLOW_BTF_MISMATCH, or before 5.18), `rejected` any BTF rejection, `mismatch` also
 * BTF accepted but built against another base, `never` no verdict fails (errors still exit 2).
 */
export const FAIL_ON = ['unloadable', 'rejected', 'mismatch', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface CheckArgs {
  base: string;
  modules: string[];
  kernel?: string;
  config?: string;
  allowBtfMismatch?: boolean;
  rule?: string[];
  format: OutputFormat;
  candidates?: string[];
  manifest?: string;
  problemsOnly: boolean;
  diagnose: boolean;
  failOn: FailOn;
  jobs?: number;
  maxFindings?: number;
}

/**
 * The options of `check`, as data: yargs builds --help and validation from it, and the fast path
 * (cmd/fast-path.ts) builds its util.parseArgs table from it.
 */
export const CHECK_OPTIONS = {
  base: { alias: 'b', type: 'string', demandOption: true, describe: 'base BTF: vmlinux, vmlinuz, raw BTF (/sys/kernel/btf/vmlinux), compressed raw BTF, or "running"' },
  kernel: { alias: 'k', type: 'string', describe: 'kernel whose checks to replay: a series (7.2), a version (5.15.119) or a release (6.8.0-45-generic); default: the base\'s release. `btfcheck kernels` lists what changed when' },
  config: { type: 'string', describe: 'kernel .config (or config.gz) to read CONFIG_MODULE_ALLOW_BTF_MISMATCH from (default: found beside the base: boot/config-<release>, usr/lib/modules/<release>/config; for "running", /boot/config-$(uname -r) or /proc/config.gz)' },
  'allow-btf-mismatch': { type: 'boolean', describe: 'CONFIG_MODULE_ALLOW_BTF_MISMATCH=y (overrides the config; assumed n when no config is found)' },
  rule: { type: 'string', array: true, describe: 'switch one kernel change on or off for a backporting distro kernel: ID=on|off (IDs: btfcheck kernels); several: --rule A=on B=off' },
  format: { alias: 'f', type: 'string', choices: OUTPUT_FORMATS, default: 'text', describe: 'report format' },
  candidates: { type: 'string', array: true, describe: 'bases (files or directories) to find the one each module was built against; takes every argument after it up to the next option, -- or a module file (*.ko*)' },
  manifest: { type: 'string', describe: 'JSON manifest of stored base checksums (from btfcheck stamp --manifest)' },
  'problems-only': { type: 'boolean', default: false, describe: 'text: list only modules with a problem (accepted ones are counted in the summary)' },
  diagnose: { type: 'boolean', default: true, describe: 'run btfcheck\'s own checks beyond the kernel\'s (--no-diagnose: kernel verdict only)' },
  'fail-on': { type: 'string', choices: FAIL_ON, default: 'mismatch', describe: 'when to exit 1: unloadable (a module the kernel would refuse to load), rejected (any BTF rejection, also one the module loads without), mismatch (also BTF accepted but built against another base), never' },
  jobs: { alias: 'j', type: 'number', min: 1, describe: 'threads for large module sets, 1 or more (default: one per CPU on more than two CPUs, else 1)' },
  'max-findings': { type: 'number', min: 0, describe: 'findings listed per rule and module before one "... and N more" line, in text as in JSON (default: 5 in JSON; text shows the first 3-5 of a module)' },
} as const;

export const CHECK_COMMAND = 'check <modules..>';

export const checkCommand: CommandModule<object, CheckArgs> = {
  command: CHECK_COMMAND,
  describe: 'Check modules\' BTF against a base, as the chosen kernel would at load time',
  builder: (y: Argv) =>
    y
      .positional('modules', { type: 'string', array: true, describe: 'module files (.ko, .ko.xz, .ko.zst, .ko.gz, raw split BTF) or directories', demandOption: true })
      .options(CHECK_OPTIONS as unknown as Record<string, Options>)
      .example('$0 check --base /sys/kernel/btf/vmlinux --kernel 6.12 ./foo.ko', 'will foo.ko\'s BTF be accepted by the running 6.12 kernel?')
      .example('$0 check --base boot/vmlinuz-6.1.0-47-cloud-amd64 lib/modules/6.1.0-56-cloud-amd64', 'a whole tree of one build against another build\'s kernel')
      .example('$0 check -b vmlinux --format dmesg bad.ko', 'print exactly what the kernel would print')
      .example('$0 check -b running --config /boot/config-$(uname -r) --format json m.ko', 'JSON for scripts')
      .example('$0 check -b usr/lib/modules/7.2.13+deb14-cloud-amd64/vmlinuz updates/foo.ko.xz', 'a Debian 7.x kernel: version and config read from its tree')
      .example('$0 check -b /sys/kernel/btf/vmlinux --kernel 5.15.0-91-generic --rule dots-in-names=on m.ko', 'a distro kernel with a backported change')
      .epilogue('The kernel version decides which checks run and what they print (5.11 first validated module BTF; `btfcheck kernels` lists every change). ' +
        'The report says which rules were applied and every assumption made. Exit status: 0 nothing --fail-on names, 1 a module as --fail-on says (default mismatch: a module rejected or silently mismatched; unloadable: only one the kernel would refuse to load; rejected: any BTF rejection; never: none), 2 unreadable input or usage error.') as unknown as Argv<CheckArgs>,
  handler: async (args: ArgumentsCamelCase<CheckArgs>) => {
    process.exitCode = await runCheck(args);
  },
};

export async function runCheck(args: CheckArgs): Promise<number> {
  // Date.now(): the global performance object loads perf_hooks, ~1 ms of a one-module check.
  const started = Date.now();
  const loadingBase = loadBaseOrExit(args.base);
  // The modules start loading once the base's decoding is under way (its first wait), so that
  // neither waits for the other; with a raw base this costs one turn of the event loop.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const prefetched = prefetchModules(args.modules);
  const base = await loadingBase;
  if (!base) return EXIT_ERROR;
  await log('info', { file: base.file, format: base.format, types: base.btf.nrTypes, strLen: base.btf.strLen, sha256: base.sha256, release: base.release ?? null, ms: Date.now() - started }, 'base loaded');
  const kernel = resolveKernelSettings(args, base);
  const { results, candidateErrors } = await runChecks(base, args.modules, kernel.settings, {
    diagnose: args.diagnose, candidates: args.candidates, manifest: args.manifest, jobs: args.jobs, maxFindings: args.maxFindings, prefetched,
  });
  const report: CheckReport = {
    base: { file: base.file, types: base.btf.nrTypes, strLen: base.btf.strLen, sha256: base.sha256, release: base.release ?? null },
    kernel: kernel.report,
    modules: results.results,
    summary: results.summary,
  };
  if (results.results.length === 0) throw new UsageError('no modules found in the given paths');
  await log('info', { ...report.summary, kernel: report.kernel, ms: Date.now() - started }, 'checked');
  await writeOut(renderOutputPieces(report, args.format, { problemsOnly: args.problemsOnly, maxFindings: args.maxFindings, ...terminalStyle() }));
  const s = report.summary;
  if (s.errors > 0 || candidateErrors > 0) return EXIT_ERROR;
  const fails = (m: CheckReport['modules'][number]): boolean =>
    args.failOn === 'unloadable' ? m.status === 'rejected' && m.kernel?.loads === false
      : args.failOn === 'rejected' ? m.status === 'rejected'
        : args.failOn === 'mismatch' ? m.status === 'rejected' || m.status === 'mismatch'
          : false;
  if (report.modules.some(fails)) return EXIT_FAIL;
  return EXIT_OK;
}
