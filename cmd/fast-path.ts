/**
 * The fast path for `btfcheck check`: node's util.parseArgs over the same option table yargs uses.
 * It returns undefined, handing the call to yargs, whenever it is not sure: help, version, negated
 * flags, unknown options, a missing base or module, a value outside its choices.
 */
import { parseArgs, ParseArgsConfig } from 'node:util';
import { CHECK_OPTIONS, CheckArgs } from './commands/check.js';

type OptionSpec = { alias?: string; type: string; array?: boolean; default?: unknown; choices?: readonly string[] };

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export function fastCheckArgs(argv: string[]): CheckArgs | undefined {
  if (argv[0] !== 'check') return undefined;
  if (argv.some((a) => a === '--help' || a === '-h' || a === '--version' || a.startsWith('--no-'))) return undefined;
  const specs = CHECK_OPTIONS as unknown as Record<string, OptionSpec>;
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = {
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      ...(spec.alias ? { short: spec.alias } : {}),
      ...(spec.array ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(1), options, allowPositionals: true, strict: true });
  } catch {
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    let value: unknown = parsed.values[name] ?? spec.default;
    if (value === undefined) continue;
    if (spec.type === 'number') {
      value = Number(value);
      if (!Number.isFinite(value)) return undefined;
    }
    if (spec.choices && !spec.choices.includes(value as string)) return undefined;
    out[camel(name)] = value;
  }
  if (typeof out.base !== 'string' || parsed.positionals.length === 0) return undefined;
  out.modules = parsed.positionals;
  return out as unknown as CheckArgs;
}
