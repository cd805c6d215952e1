/** A worker thread of `check`: parses the base once, then checks batches of module files. */
import { workerData } from 'node:worker_threads';
import { ModuleResult } from '../lib/check.js';
import { checkFiles, prepareContext, PreparedContext, WorkerContext } from './run-checks.js';

let state: Promise<PreparedContext> | undefined;

export default async function checkBatch(files: string[]): Promise<ModuleResult[]> {
  state ??= prepareContext(workerData as WorkerContext);
  const ready = await state;
  return checkFiles(files, ready);
}
