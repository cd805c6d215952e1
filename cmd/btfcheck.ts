/**
 * The yargs command line: every command, --help with examples, usage errors. cmd/main.ts loads it
 * unless the fast path there already handled the call. Each command lives in cmd/commands/.
 *
 * Before yargs sees the arguments, cmd/argv.ts reads them against the command's options as yargs
 * itself lists them (its builder run on a fresh instance): unknown options, values, array lists,
 * the same way for every command and for the fast path. yargs then gets them rewritten so it
 * cannot read them otherwise (`--name=value`, one per array element, its greedy arrays off).
 */
import type { Argv, CommandModule } from 'yargs';
import { CommandSpec, GLOBAL_OPTIONS, positionalsOf, readArgs, specsFromYargs, splitCommand, YargsOptions } from './argv.js';
import { errorMessage, EXIT_ERROR, printError, printUsageError, setLogLevel, writeJsonError } from './common.js';
import { checkCommand } from './commands/check.js';
import { demoCommand } from './commands/demo.js';

/**
 * yargs, loaded by import() (it is an ES module only; the bundle is CommonJS, whose require() of an
 * ES module node 20 only has from 20.19).
 */
type Yargs = (args: string[]) => Argv;
let yargs: Yargs;
async function loadYargs(): Promise<Yargs> {
  return (yargs ??= (await import('yargs')).default as unknown as Yargs);
}

/** The options of one command as yargs knows them, with its positionals (after loadYargs). */
export function commandSpec(module: CommandModule<object, never>): CommandSpec {
  const commandString = String(module.command);
  const positionals = positionalsOf(commandString);
  const probe = yargs([]);
  if (typeof module.builder === 'function') (module.builder as (y: Argv) => unknown)(probe);
  else if (module.builder) probe.options(module.builder);
  const options = (probe as unknown as { getOptions(): YargsOptions }).getOptions();
  return { command: commandString.split(' ')[0], options: specsFromYargs(options, positionals), positionals };
}

export async function runYargs(argv?: string[]): Promise<void> {
  await loadYargs();
  argv ??= (await import('yargs/helpers')).hideBin(process.argv);
  const modules = [
    checkCommand, demoCommand,
    (await import('./commands/abi.js')).abiCommand,
    (await import('./commands/fingerprint.js')).fingerprintCommand,
    (await import('./commands/stamp.js')).stampCommand,
    (await import('./commands/explain.js')).explainCommand,
    (await import('./commands/kernels.js')).kernelsCommand,
  ] as unknown as CommandModule<object, never>[];
  const names = modules.map((m) => String(m.command).split(' ')[0]);
  const { command, before, rest } = splitCommand(argv, names);
  let args = argv;
  if (command) {
    args = readArgs([...before, ...rest], commandSpec(modules[names.indexOf(command)])).argv;
  } else if (!argv.some((a) => !a.startsWith('-'))) {
    // No command word: only the global options (--help, --version); a misspelled command is yargs' to name.
    args = readArgs(argv, { options: [], positionals: [] }).argv;
  }
  const cli = yargs(args)
    .scriptName('btfcheck')
    .usage('$0 <command> [options]\n\nWill this kernel module\'s BTF be accepted by that kernel, and if not, exactly why?')
    // Array options take one value each here: cmd/argv.ts has already split `--candidates A B C`.
    .parserConfiguration({ 'greedy-arrays': false })
    .option('log-level', {
      type: 'string', choices: GLOBAL_OPTIONS.find((o) => o.name === 'log-level')!.choices,
      describe: 'pino JSON log records on stderr from this level up (info: base loaded, run plan, totals, timings). Default: $BTFCHECK_LOG, else warn, and btfcheck writes no warn or error records: by default nothing is logged',
    })
    .middleware((a) => {
      if (typeof a['log-level'] === 'string') setLogLevel(a['log-level']);
    });
  for (const m of modules) cli.command(m);
  cli
    .demandCommand(1, 'Name a command; see btfcheck --help.')
    .strict()
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Exit status: 0 all accepted, 1 a module would be rejected or is silently mismatched, 2 usage or input error.')
    .fail((msg, err) => {
      // Usage errors: one line and a pointer to --help, never a stack trace. An input error thrown
      // by a command (an unreadable file) is its one line alone, as the README promises.
      if (msg) printUsageError(msg, command);
      else printError(errorMessage(err));
      process.exitCode = EXIT_ERROR;
      writeJsonError();
      process.exit(EXIT_ERROR);
    })
    .help()
    .alias('h', 'help')
    .version();
  await cli.parseAsync();
}
