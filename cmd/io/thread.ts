/**
 * Whether this is the main thread, without loading node:worker_threads (~2 ms of a one-module
 * check) when the bin has said so already (cmd/main.ts).
 */
import { createRequire } from 'node:module';

let known = false;

/** Called by the command line when it knows it runs on the main thread. */
export function markMainThread(): void {
  known = true;
}

export function isMainThread(): boolean {
  return known || (createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
}
