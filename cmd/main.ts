#!/usr/bin/env node
/**
 * btfcheck: will this module's BTF be accepted by that kernel, and if not, exactly why?
 *
 * Entry point. Package hooks call `btfcheck check ...` for every module they install, so a plain
 * `check` call is parsed here with node's own util.parseArgs from the same option table yargs
 * uses, sparing yargs' load time (more than node's own startup). Anything else — help, other
 * commands, negated flags, anything the fast path does not fully understand — goes to yargs.
 */
import { errorMessage, EXIT_ERROR } from './common.js';
import { fastCheckArgs } from './fast-path.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const fast = fastCheckArgs(argv);
  if (fast) {
    const { runCheck } = await import('./commands/check.js');
    process.exitCode = await runCheck(fast);
    return;
  }
  const { runYargs } = await import('./btfcheck.js');
  await runYargs(argv);
}

main().catch((e) => {
  process.stderr.write(`btfcheck: ${errorMessage(e)}\n`);
  process.exitCode = EXIT_ERROR;
});
