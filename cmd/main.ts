#!/usr/bin/env node
/**
 * btfcheck: will this module's BTF be accepted by that kernel, and if not, exactly why?
 *
 * Entry point. Package hooks call `btfcheck check ...` for every module they install, so a plain
 * `check` call is read by cmd/argv.ts from the same option table yargs uses and run without
 * loading yargs (more than node's own startup). Anything else — help, other commands — goes to
 * yargs, after the same reader has checked its options.
 */
import nodeModule from 'node:module';
import { isMainThread, markMainThread } from './io/thread.js';

/**
 * Set by the bin (dist/bin/main.js), which always runs on the main thread: asking worker_threads
 * instead loads it, ~2 ms of a one-module check. Anything else running this file asks.
 */
declare const __btfcheckFromBin: boolean | undefined;
if (typeof __btfcheckFromBin !== 'undefined' && __btfcheckFromBin === true) markMainThread();

// Node >= 22.1 can cache compiled code between runs: the bundle comes compiled from its own code
// cache (the bin), but the packages it imports later (yargs, pino, zstddec) do not.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // check's base file is read on libuv's pool while the checking code loads (cmd/io/prefetch.ts).
  const { checkBaseArgument, prefetchBase } = await import('./io/prefetch.js');
  prefetchBase(checkBaseArgument(argv));
  // The fast path's modules in one import: the bundle puts them in as few files as it can, and
  // every file node loads costs a resolution and a compile (most of a one-module check on node 20).
  const { documentOf, formatAsked, splitCommand, setJsonErrors, schemaOf, setDocumentSchema, fastCheckArgs, runCheck } = await import('./fast-path.js');
  // Every JSON document names its schema; in JSON mode a failure is a JSON document too.
  const { command } = splitCommand(argv);
  // A run that reads packages runs again, once, with glibc told to unmap large freed blocks
  // (cmd/io/reexec.ts); the child's status is ours, and it wrote whatever there was to write.
  const rerun = await (await import('./io/reexec.js')).rerunForPackages(command, argv);
  if (rerun !== undefined) {
    process.exitCode = rerun;
    return;
  }
  if (command) {
    const schema = schemaOf(documentOf(command));
    setDocumentSchema(schema);
    if (formatAsked(argv) === 'json') setJsonErrors(schema);
  }
  // BTFCHECK_PARSER=yargs sends `check` through yargs too (the tests run both paths).
  const fast = process.env.BTFCHECK_PARSER === 'yargs' ? undefined : fastCheckArgs(argv);
  if (fast) {
    process.exitCode = await runCheck(fast);
  } else {
    const { runYargs } = await import('./btfcheck.js');
    await runYargs(argv);
  }
  if (process.exitCode) (await import('./common.js')).writeJsonError();
}

// The bundle is one file: a worker thread cmd/io/archives.ts starts on "itself" runs this file,
// and is served by that module (loading it starts its task), not by the command line.
if (isMainThread()) void main().catch(async (e) => {
  const { errorMessage, EXIT_ERROR, printError, printUsageError, writeJsonError } = await import('./common.js');
  const { ArgvError } = await import('./argv.js');
  if (e instanceof ArgvError) printUsageError(e.message, e.command);
  else printError(errorMessage(e));
  process.exitCode = EXIT_ERROR;
  writeJsonError();
});
else void import('./io/archives.js');
