/**
 * `btfcheck kernels [VERSION]`: the kernel changes btfcheck knows (rules/kernel/changes.ts), with
 * their release, backports, evidence and source, which series real boots confirmed (the oracle),
 * and, given a version, the rule set computed for it.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { EXIT_OK, UsageError, writeOut } from '../common.js';
import { parseRuleSwitches } from '../kernel-settings.js';
import {
  formatVersion, KERNEL_CHANGES, kernelRules, NEWEST_KNOWN_SERIES, ORACLE_EVIDENCE, parseKernelVersion,
} from '../../lib/kernel/index.js';
import { toJson } from '../../lib/report/model.js';

interface KernelsArgs {
  kernel?: string;
  rule?: string[];
  format: 'text' | 'json';
}

export const kernelsCommand: CommandModule<object, KernelsArgs> = {
  command: 'kernels [kernel]',
  describe: 'List the kernel changes btfcheck replays (which version checks what), or the rule set of one kernel',
  builder: (y: Argv) =>
    y
      .positional('kernel', { type: 'string', describe: 'a series (7.2), version (5.15.119) or release (6.8.0-45-generic): show the changes in force there' })
      .option('rule', { type: 'string', array: true, describe: 'switch a change on or off, as in check: ID=on|off' })
      .option('format', { alias: 'f', type: 'string', choices: ['text', 'json'], default: 'text', describe: 'report format' })
      .example('$0 kernels', 'every change, its first release, backports and evidence')
      .example('$0 kernels 6.1.0', 'the rule set of 6.1.0 (before the dots-in-names backport of 6.1.36)')
      .example('$0 kernels 5.15.0-91-generic --rule dots-in-names=on', 'a distro kernel with a known backport') as unknown as Argv<KernelsArgs>,
  handler: async (args: ArgumentsCamelCase<KernelsArgs>) => {
    process.exitCode = await runKernels(args);
  },
};

export async function runKernels(args: KernelsArgs): Promise<number> {
  const changes = KERNEL_CHANGES.map((c) => ({
    id: c.id, since: c.since, backports: c.backports ?? [], summary: c.summary, source: c.source, evidence: c.evidence,
  }));
  const newest = formatVersion(NEWEST_KNOWN_SERIES);
  if (!args.kernel) {
    if (args.format === 'json') {
      await writeOut(toJson({ newestKnown: newest, oracle: ORACLE_EVIDENCE, changes }));
      return EXIT_OK;
    }
    let out = `Kernel changes to module BTF validation (first release; stable backports; evidence: src = read in a Debian linux-source, oracle = seen on a booted Debian kernel, commit = placed by the upstream commit):\n\n`;
    for (const c of changes) {
      const backports = c.backports.length ? ` (also ${c.backports.join(', ')})` : '';
      out += `${c.since.padEnd(5)} ${c.id}${backports} [${c.evidence.join(', ')}]\n      ${c.summary}\n      source: ${c.source}\n`;
    }
    out += `\nBefore 5.11 no module BTF is validated. Kernels newer than ${newest} get ${newest}'s rules, and the report says so.\n`;
    out += 'Real boots (the oracle) confirm: ' + ORACLE_EVIDENCE.map((o) => `${o.series} (${o.kernels.join(', ')})`).join('; ') + '.\n';
    await writeOut(out);
    return EXIT_OK;
  }
  const parsed = parseKernelVersion(args.kernel);
  if (!parsed) throw new UsageError(`${args.kernel}: not a kernel version (give a series such as 7.2, a version such as 5.15.119, or a release)`);
  const version = formatVersion(parsed.version);
  const overrides = parseRuleSwitches(args.rule ?? []);
  const rules = kernelRules(version, overrides);
  const inForce = new Set(rules.changes);
  const notes = parsed.note ? [parsed.note] : [];
  if (args.format === 'json') {
    await writeOut(toJson({
      version, validatesModuleBtf: rules.validatesModuleBtf, overrides, notes,
      changes: changes.map((c) => ({ ...c, inForce: inForce.has(c.id) })),
    }));
    return EXIT_OK;
  }
  let out = `kernel ${version}: ${rules.validatesModuleBtf ? 'validates module BTF' : 'does not validate module BTF (the module loads, its BTF is ignored)'}\n`;
  for (const n of notes) out += `note: ${n}\n`;
  for (const c of changes) {
    const switched = overrides[c.id] !== undefined ? ' (--rule)' : '';
    out += `  ${inForce.has(c.id) ? '+' : '-'} ${c.id.padEnd(26)} ${c.since.padEnd(5)}${switched}\n`;
  }
  await writeOut(out);
  return EXIT_OK;
}
