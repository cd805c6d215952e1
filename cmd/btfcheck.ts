/**
 * The yargs command line: every command, --help with examples, usage errors. cmd/main.ts loads it
 * unless the fast path there already handled the call. Each command lives in cmd/commands/.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { errorLine, errorMessage, EXIT_ERROR, setLogLevel } from './common.js';
import { checkCommand } from './commands/check.js';
import { demoCommand } from './commands/demo.js';

export async function runYargs(argv: string[] = hideBin(process.argv)): Promise<void> {
  const cli = yargs(argv)
    .scriptName('btfcheck')
    .usage('$0 <command> [options]\n\nWill this kernel module\'s BTF be accepted by that kernel, and if not, exactly why?')
    .option('log-level', { type: 'string', describe: 'log level for stderr logs (pino)', default: 'warn', choices: ['debug', 'info', 'warn', 'error', 'silent'] })
    .middleware((argv) => setLogLevel(String(argv['log-level'])))
    .command(checkCommand)
    .command(demoCommand)
    .command((await import('./commands/abi.js')).abiCommand)
    .command((await import('./commands/fingerprint.js')).fingerprintCommand)
    .command((await import('./commands/stamp.js')).stampCommand)
    .command((await import('./commands/explain.js')).explainCommand)
    .command((await import('./commands/kernels.js')).kernelsCommand)
    .demandCommand(1, 'Name a command; see btfcheck --help.')
    .strict()
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Exit status: 0 all accepted, 1 a module would be rejected or is silently mismatched, 2 usage or input error.')
    .fail((msg, err) => {
      // Usage errors: one line and a pointer to --help, never a stack trace. An input error thrown
      // by a command (an unreadable file) is its one line alone, as the README promises.
      process.stderr.write(msg ? `${errorLine(msg)}Try 'btfcheck --help'.\n` : errorLine(errorMessage(err)));
      process.exit(EXIT_ERROR);
    })
    .help()
    .alias('h', 'help')
    .version();
  await cli.parseAsync();
}
