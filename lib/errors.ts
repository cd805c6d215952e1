/**
 * An error in the user's input (a broken file, a bad option). The CLI prints its message as one
 * line, prefixed with the file name, and exits 2; it never prints a stack trace for these.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Throws an InputError unless `cond` holds; keeps bounds checks one line each. */
export function ensure(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new InputError(typeof message === 'string' ? message : message());
}
