/**
 * A full garbage collection on request. V8 would rather grow the heap than collect between phases
 * of a long command, and memory a process has grown to is rarely given back; a collection of a
 * small heap costs a few milliseconds. `--expose-gc` is set at run time, so no flag is needed.
 */
import { createRequire } from 'node:module';

let gcFn: (() => void) | null | undefined;

/** Runs a full collection where this node lets us ask for one; false where it does not. */
export function collectGarbage(): boolean {
  if (gcFn === undefined) {
    try {
      // node:v8 and node:vm load only when a collection is asked for (~2 ms of a one-module check).
      const load = createRequire(import.meta.url);
      (load('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
      gcFn = (load('node:vm') as typeof import('node:vm')).runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
  return !!gcFn;
}
