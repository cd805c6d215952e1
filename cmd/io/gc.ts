/**
 * A full garbage collection on request. V8 would rather grow the heap than collect between phases
 * of a long command, and memory a process has grown to is rarely given back; a collection of a
 * small heap costs a few milliseconds. `--expose-gc` is set at run time, so no flag is needed.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gcFn: (() => void) | null | undefined;

/** Runs a full collection where this node lets us ask for one; false where it does not. */
export function collectGarbage(): boolean {
  if (gcFn === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
  return !!gcFn;
}
