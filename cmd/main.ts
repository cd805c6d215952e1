#!/usr/bin/env node
/**
 * btfcheck: will this module's BTF be accepted by that kernel, and if not, exactly why?
 *
 * Entry point. Package hooks call `btfcheck check ...` for every module they install, so a plain
 * `check` call is parsed with node's own util.parseArgs from the same option table yargs uses,
 * sparing yargs' load time (more than node's own startup). Anything else — help, other commands,
 * negated flags, anything the fast path does not fully understand — goes to yargs.
 */
import nodeModule from 'node:module';

// Node >= 22.1 can cache compiled code between runs; startup is most of a one-module check.
// (Older nodes have no such call; everything else is imported after it on purpose.)
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { fastCheckArgs } = await import('./fast-path.js');
  const fast = fastCheckArgs(argv);
  if (fast) {
    const { runCheck } = await import('./commands/check.js');
    process.exitCode = await runCheck(fast);
    return;
  }
  const { runYargs } = await import('./btfcheck.js');
  await runYargs(argv);
}

main().catch(async (e) => {
  const { errorMessage, EXIT_ERROR, printError } = await import('./common.js');
  printError(errorMessage(e));
  process.exitCode = EXIT_ERROR;
});
