/**
 * One reading of the command line for both parse paths. cmd/main.ts's fast path (a plain `check`,
 * without loading yargs) and yargs (every command) see the same options only after this has read
 * them: an unknown option is an error naming it and the close one (`--bsae`: did you mean
 * --base?) instead of taking the next argument as its value; a value is checked against its
 * choices and, for numbers, as a whole number in range; an array option (`--candidates A B C`)
 * takes every following argument that fits it. The arguments handed on are rewritten so neither
 * parser can read them differently: `--name=value` for every value, one per array element, long
 * names for short ones, and yargs' own greedy arrays turned off (cmd/btfcheck.ts).
 */
import { UsageError } from './common.js';

export type OptionType = 'string' | 'boolean' | 'number';

export interface OptionSpec {
  /** The long name (`max-findings`). */
  name: string;
  /** Other names (`b` for base, `f` for format). */
  aliases: string[];
  type: OptionType;
  array: boolean;
  choices?: readonly string[];
  /** Smallest value a number option takes (default 0; `jobs` 1). */
  min?: number;
  required: boolean;
}

export interface PositionalSpec {
  name: string;
  required: boolean;
  variadic: boolean;
}

export interface CommandSpec {
  /** The command word (`check`); undefined for the top level (`btfcheck --help`). */
  command?: string;
  options: OptionSpec[];
  positionals: PositionalSpec[];
}

/** What a reading yields: values by long name, positionals in order, and the rewritten arguments. */
export interface ReadArgs {
  command?: string;
  values: Record<string, string | boolean | string[]>;
  positionals: string[];
  /** The arguments to hand to yargs: the command, positionals, then every option as `--name=value`. */
  argv: string[];
  /** --help or --version was asked for: required arguments are not demanded. */
  helpOrVersion: boolean;
}

/** The command words (cmd/btfcheck.ts registers one module for each). */
export const COMMANDS = ['check', 'demo', 'abi', 'fingerprint', 'stamp', 'explain', 'kernels'] as const;

/** The JSON document a command writes: demo writes a check report. */
export function documentOf(command: string): string {
  return command === 'demo' ? 'check' : command;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'help', aliases: ['h'], type: 'boolean', array: false, required: false },
  { name: 'version', aliases: [], type: 'boolean', array: false, required: false },
  { name: 'log-level', aliases: [], type: 'string', array: false, required: false, choices: ['debug', 'info', 'warn', 'error', 'silent'] },
];

/**
 * Which following arguments an array option takes, past its first value. `--rule` takes only
 * `ID=on|off`, `--candidates` never a module file (`*.ko`, `*.ko.xz`, ...): the modules that follow
 * the list stay modules. Any option, or `--`, ends every list.
 */
const ARRAY_TAKES: Record<string, (value: string) => boolean> = {
  rule: (v) => /^[^=\s]+=/.test(v),
  candidates: (v) => !/\.ko(\.(xz|zst|gz|lz4))?$/i.test(v),
};

/** A usage error of one command: printed with a pointer to that command's --help. */
export class ArgvError extends UsageError {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'ArgvError';
  }
}

/** An option table as the commands write it (CHECK_OPTIONS): yargs' option keys. */
export type OptionRecord = Record<string, {
  alias?: string | readonly string[];
  type?: string;
  array?: boolean;
  choices?: readonly string[];
  demandOption?: boolean | string;
  min?: number;
}>;

export function specsFromRecord(record: OptionRecord): OptionSpec[] {
  return Object.entries(record).map(([name, o]) => ({
    name,
    aliases: o.alias === undefined ? [] : typeof o.alias === 'string' ? [o.alias] : [...o.alias],
    type: o.type === 'boolean' ? 'boolean' : o.type === 'number' ? 'number' : 'string',
    array: o.array === true,
    choices: o.choices,
    min: o.min ?? (name === 'jobs' ? 1 : undefined),
    required: !!o.demandOption,
  }));
}

/** What yargs' getOptions() says about a command (its builder run on a fresh instance). */
export interface YargsOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
  number: string[];
  array: string[];
  choices: Record<string, readonly string[]>;
  demandedOptions: Record<string, unknown>;
}

/**
 * A command's options from yargs' own view of its builder, so every command is covered whatever
 * way its builder declares them. Positionals (named in the command string) are not options.
 */
export function specsFromYargs(o: YargsOptions, positionals: PositionalSpec[]): OptionSpec[] {
  const aliasOf = new Set(Object.values(o.alias).flat());
  const skip = new Set(positionals.map((p) => p.name));
  const specs: OptionSpec[] = [];
  for (const name of Object.keys(o.key)) {
    if (aliasOf.has(name) || skip.has(name)) continue;
    specs.push({
      name,
      aliases: o.alias[name] ?? [],
      type: o.boolean.includes(name) ? 'boolean' : o.number.includes(name) ? 'number' : 'string',
      array: o.array.includes(name),
      choices: o.choices[name],
      min: name === 'jobs' ? 1 : undefined,
      required: name in o.demandedOptions,
    });
  }
  return specs;
}

/** `check <modules..>` → [{modules, required, variadic}]. */
export function positionalsOf(commandString: string): PositionalSpec[] {
  const out: PositionalSpec[] = [];
  for (const m of commandString.matchAll(/([<[])([\w-]+)(\.\.)?[>\]]/g)) {
    out.push({ name: m[2], required: m[1] === '<', variadic: m[3] === '..' });
  }
  return out;
}

const NEGATIVE_NUMBER = /^-\d+(\.\d+)?$/;

/** Reads `args` (without the command word) against `spec`. Throws ArgvError on any usage error. */
export function readArgs(args: string[], spec: CommandSpec): ReadArgs {
  const options = [...spec.options, ...GLOBAL_OPTIONS.filter((g) => !spec.options.some((o) => o.name === g.name))];
  const byName = new Map<string, OptionSpec>();
  for (const o of options) {
    byName.set(o.name, o);
    for (const a of o.aliases) byName.set(a, o);
  }
  const fail = (message: string): never => {
    throw new ArgvError(message, spec.command);
  };
  const values: Record<string, string | boolean | string[]> = {};
  const order: string[] = [];
  const positionals: string[] = [];
  /** Values an array option took from the arguments after it (for the "no modules" hint). */
  const tookFollowing: { option: string; values: string[] }[] = [];
  const set = (o: OptionSpec, value: string | boolean): void => {
    if (!order.includes(o.name)) order.push(o.name);
    if (o.array) {
      const list = (values[o.name] as string[] | undefined) ?? [];
      list.push(String(value));
      values[o.name] = list;
    } else {
      // The last one counts, as in most command lines.
      values[o.name] = value;
    }
  };
  const takesValue = (next: string | undefined): next is string =>
    next !== undefined && (!next.startsWith('-') || next === '-' || NEGATIVE_NUMBER.test(next));

  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const inline = eq < 0 ? undefined : a.slice(eq + 1);
      let o = byName.get(name);
      let negated = false;
      if (!o && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
        o = byName.get(name.slice(3));
        negated = true;
      }
      if (!o) fail(unknownOption(`--${name}`, options));
      const opt = o as OptionSpec;
      if (opt.type === 'boolean') {
        if (inline !== undefined && !negated && /^(true|false)$/.test(inline)) set(opt, inline === 'true');
        else if (inline !== undefined) fail(`--${name} takes no value (given ${JSON.stringify(inline)})`);
        else set(opt, !negated);
        continue;
      }
      if (negated) fail(unknownOption(`--${name}`, options));
      if (inline !== undefined) {
        set(opt, inline);
        continue;
      }
      if (!takesValue(args[i + 1])) fail(`--${opt.name} needs a value`);
      set(opt, args[++i]);
      if (opt.array) i = takeFollowing(args, i, opt, set, tookFollowing);
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && !NEGATIVE_NUMBER.test(a)) {
      // Short options, maybe clustered (-hf json is -h -f json); a value may follow in the same word (-fjson).
      for (let j = 1; j < a.length; j++) {
        const o = byName.get(a[j]);
        if (!o) fail(unknownOption(`-${a[j]}`, options));
        const opt = o as OptionSpec;
        if (opt.type === 'boolean') {
          set(opt, true);
          continue;
        }
        const rest = a.slice(j + 1).replace(/^=/, '');
        if (rest) {
          set(opt, rest);
        } else {
          if (!takesValue(args[i + 1])) fail(`-${a[j]} (--${opt.name}) needs a value`);
          set(opt, args[++i]);
          if (opt.array) i = takeFollowing(args, i, opt, set, tookFollowing);
        }
        break;
      }
      continue;
    }
    positionals.push(a);
  }

  const helpOrVersion = values.help === true || values.version === true;
  for (const name of order) checkValue(byName.get(name)!, values[name], fail);
  if (!helpOrVersion) {
    for (const o of spec.options) if (o.required && values[o.name] === undefined) fail(`missing option --${o.name}`);
    const required = spec.positionals.filter((p) => p.required).length;
    if (positionals.length < required) {
      const missing = spec.positionals.filter((p) => p.required)[positionals.length].name;
      const took = tookFollowing.filter((t) => t.values.length > 1).pop();
      const hint = took ? `: --${took.option} took every argument after it (${took.values.join(' ')}); put the ${missing} before --${took.option}, or end its list with --` : '';
      fail(`missing ${missing}${hint}`);
    }
    const max = spec.positionals.some((p) => p.variadic) ? Infinity : spec.positionals.length;
    if (spec.command && positionals.length > max) fail(`unexpected argument ${positionals[max]}`);
  }

  const argv: string[] = spec.command ? [spec.command] : [];
  // A positional that looks like an option (given after --) is handed on as a path yargs cannot misread.
  argv.push(...positionals.map((p) => (p.startsWith('-') && p !== '-' && !NEGATIVE_NUMBER.test(p) ? `./${p}` : p)));
  for (const name of order) {
    const v = values[name];
    if (typeof v === 'boolean') argv.push(v ? `--${name}` : `--no-${name}`);
    else for (const x of Array.isArray(v) ? v : [v]) argv.push(`--${name}=${x}`);
  }
  return { command: spec.command, values, positionals, argv, helpOrVersion };
}

/** Takes the arguments after an array option's first value while they fit it; returns the last index used. */
function takeFollowing(args: string[], i: number, o: OptionSpec, set: (o: OptionSpec, v: string) => void,
  took: { option: string; values: string[] }[]): number {
  const fits = ARRAY_TAKES[o.name] ?? (() => true);
  const entry = { option: o.name, values: [args[i]] };
  took.push(entry);
  while (i + 1 < args.length && !args[i + 1].startsWith('-') && fits(args[i + 1])) {
    set(o, args[++i]);
    entry.values.push(args[i]);
  }
  return i;
}

function checkValue(o: OptionSpec, value: string | boolean | string[], fail: (m: string) => never): void {
  for (const v of Array.isArray(value) ? value : [value]) {
    if (typeof v !== 'string') continue;
    if (o.choices && !o.choices.includes(v)) {
      const close = closest(v, o.choices);
      fail(`--${o.name} ${v}: not one of ${o.choices.join(', ')}${close ? ` (did you mean ${close}?)` : ''}`);
    }
    if (o.type === 'number') {
      const min = o.min ?? 0;
      const range = min === 0 ? 'a whole number, 0 or more' : `a whole number, ${min} or more`;
      if (!/^[+-]?\d+$/.test(v.trim())) fail(`--${o.name} ${v}: not a number (give ${range})`);
      if (Number(v) < min) fail(`--${o.name} ${v}: out of range (give ${range})`);
    }
  }
}

/** `unknown option --bsae (did you mean --base?)` */
export function unknownOption(given: string, options: OptionSpec[]): string {
  const long = given.startsWith('--');
  const bare = given.replace(/^-+/, '');
  // Every way to name an option: long names, their --no- forms, and short letters.
  const names: string[] = [];
  for (const o of options) {
    names.push(`--${o.name}`);
    if (o.type === 'boolean' && o.name !== 'help' && o.name !== 'version') names.push(`--no-${o.name}`);
    for (const a of o.aliases) names.push(a.length === 1 ? `-${a}` : `--${a}`);
  }
  let suggestion: string | undefined;
  if (long) {
    // camelCase (--maxFindings) and underscores (--max_findings) are the kebab-case name misspelled.
    const kebab = bare.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase();
    const longNames = names.filter((n) => n.startsWith('--')).map((n) => n.slice(2));
    const prefixed = longNames.filter((n) => n.startsWith(kebab));
    suggestion = longNames.includes(kebab) ? kebab : closest(kebab, longNames) ?? (prefixed.length === 1 ? prefixed[0] : undefined);
    if (suggestion) suggestion = `--${suggestion}`;
  } else {
    const short = names.filter((n) => /^-[^-]$/.test(n));
    const same = short.find((n) => n.toLowerCase() === given.toLowerCase());
    const starting = options.filter((o) => o.name.startsWith(bare));
    suggestion = same ?? (starting.length === 1 ? `--${starting[0].name}` : undefined);
  }
  return `unknown option ${given}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`;
}

/** The candidate closest to `s` by edit distance (a swap of two letters counts one), if close enough. */
export function closest(s: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(s.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = s.length <= 3 ? 1 : s.length <= 6 ? 2 : 3;
  return bestDistance <= allowed && bestDistance < s.length ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Splits the arguments into the global options before the command, the command word and the rest
 * (`btfcheck --log-level info check ...`). No command: everything is "rest".
 */
export function splitCommand(argv: string[], commands: readonly string[] = COMMANDS): { command?: string; before: string[]; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--log-level') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    if (commands.includes(a)) return { command: a, before: argv.slice(0, i), rest: argv.slice(i + 1) };
    return { before: [], rest: argv };
  }
  return { before: [], rest: argv };
}

/**
 * The --format asked for, read from the raw arguments (for an error found before or while they are
 * read: in JSON mode it is written as a JSON document too).
 */
export function formatAsked(argv: string[]): string | undefined {
  let format: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '--format' || a === '-f') format = argv[i + 1];
    else if (a.startsWith('--format=')) format = a.slice('--format='.length);
    else if (/^-f./.test(a)) format = a.slice(2).replace(/^=/, '');
  }
  return format;
}
