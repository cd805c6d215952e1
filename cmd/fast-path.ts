/**
 * The fast path for `btfcheck check`: the call read by cmd/argv.ts from CHECK_OPTIONS, the table
 * yargs builds its `check` from, without loading yargs (whose load time is more than node's own
 * startup). A usage error is thrown here exactly as the yargs path throws it (same reader, same
 * table). --help and --version go to yargs, which prints them.
 */
import { COMMANDS, positionalsOf, readArgs, specsFromRecord, splitCommand } from './argv.js';
import { setLogLevel } from './common.js';
import { CHECK_COMMAND, CHECK_OPTIONS, CheckArgs } from './commands/check.js';

// What cmd/main.ts needs before and on the fast path, from this one module (see there).
export { documentOf, formatAsked, splitCommand } from './argv.js';
export { setJsonErrors } from './common.js';
export { schemaOf, setDocumentSchema } from '../lib/report/model.js';
export { runCheck } from './commands/check.js';

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

type OptionSpec = { type: string; default?: unknown };

/** `check`'s arguments, or undefined when yargs is to take the call (not `check`, or --help/--version). */
export function fastCheckArgs(argv: string[]): CheckArgs | undefined {
  const { command, before, rest } = splitCommand(argv, COMMANDS);
  if (command !== 'check') return undefined;
  const read = readArgs([...before, ...rest], {
    command, options: specsFromRecord(CHECK_OPTIONS), positionals: positionalsOf(CHECK_COMMAND),
  });
  if (read.helpOrVersion) return undefined;
  const level = read.values['log-level'];
  if (typeof level === 'string') setLogLevel(level);
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CHECK_OPTIONS as unknown as Record<string, OptionSpec>)) {
    let value: unknown = read.values[name] ?? spec.default;
    if (value === undefined) continue;
    if (spec.type === 'number') value = Number(value);
    out[camel(name)] = value;
  }
  out.modules = read.positionals;
  return out as unknown as CheckArgs;
}
