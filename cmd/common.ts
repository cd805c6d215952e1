/**
 * What every command shares: the logger (pino, to stderr), user-error handling and exit codes.
 * Reports go to stdout; logs and progress go to stderr.
 */
import fs from 'node:fs';
import { InputError } from '../lib/errors.js';

/** Exit codes, the same for every command. */
export const EXIT_OK = 0;
/** A module would be rejected (or, for abi, the builds are not BTF-compatible). */
export const EXIT_FAIL = 1;
/** Usage error, unreadable or broken input. */
export const EXIT_ERROR = 2;

/** A usage error: printed as one line, exit 2. */
export class UsageError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The message of an error caught while handling one file, without a stack for user errors. */
export function errorMessage(e: unknown): string {
  if (e instanceof InputError) return e.message;
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    const err = e as NodeJS.ErrnoException;
    // fs errors: keep the errno name and the human text, drop the path (the caller names the file).
    return `${err.code}: ${(err.message ?? '').replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}`;
  }
  if (e instanceof RangeError) return `malformed data (${e.message})`;
  return e instanceof Error ? `internal error: ${e.message}` : String(e);
}

type Logger = {
  debug: (obj: object | string, msg?: string) => void;
  info: (obj: object | string, msg?: string) => void;
  warn: (obj: object | string, msg?: string) => void;
  error: (obj: object | string, msg?: string) => void;
};

let logger: Logger | undefined;
let logLevel = process.env.BTFCHECK_LOG ?? 'warn';

export function setLogLevel(level: string): void {
  logLevel = level;
  logger = undefined;
}

/**
 * The pino logger, created on first use: most runs log nothing, and loading pino costs startup time
 * that a package hook pays for every call.
 */
export async function log(): Promise<Logger> {
  if (!logger) {
    const { pino } = await import('pino');
    logger = pino({ name: 'btfcheck', level: logLevel, base: undefined }, pino.destination(2)) as unknown as Logger;
  }
  return logger;
}

/**
 * Writes a report to stdout with fs.writeSync: creating process.stdout costs ~20 ms of startup
 * (more than the rest of a one-module check), and a report is written once, whole. EAGAIN (a
 * non-blocking pipe that is full) is retried; EPIPE (the reader went away, `| head`) ends quietly.
 */
export async function writeOut(text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) {
    try {
      off += fs.writeSync(1, bytes, off, Math.min(bytes.length - off, 1 << 20));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      if (code === 'EPIPE') return;
      throw e;
    }
  }
}
