/**
 * What every command shares: the logger (pino, to stderr), user-error handling and exit codes.
 * Reports go to stdout; logs and progress go to stderr.
 */
import fs from 'node:fs';
import { InputError } from '../lib/errors.js';
import { escapeTerminal } from '../lib/report/escape.js';
import { toJson } from '../lib/report/model.js';

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

/**
 * Writes `btfcheck: PART: PART...` as one line on stderr. Every part is escaped for the terminal
 * (lib/report/escape.ts): a file name cannot add a line of its own or send escape sequences.
 * With two parts or more the first names the file; the first error of a run is kept for the JSON
 * error document (writeJsonError).
 */
export function printError(...parts: string[]): void {
  firstError ??= parts.length > 1 ? { file: parts[0], message: parts.slice(1).join(': ') } : { file: null, message: parts[0] ?? 'error' };
  process.stderr.write(errorLine(...parts));
}

/** A usage error: its line, then where to read the usage (`btfcheck check --help`). */
export function printUsageError(message: string, command?: string): void {
  printError(message);
  process.stderr.write(`Try 'btfcheck${command ? ` ${command}` : ''} --help'.\n`);
}

let firstError: { file: string | null; message: string } | undefined;
let reportWritten = false;
let jsonErrorSchema: string | undefined;

/**
 * JSON mode (--format json): a run that fails without writing its report writes, besides its
 * line on stderr, `{"schema": SCHEMA, "error": {"file": FILE|null, "message": ...}}` on stdout, so
 * a script reading stdout always gets a document. Same exit status.
 */
export function setJsonErrors(schema: string | undefined): void {
  jsonErrorSchema = schema;
}

/** In JSON mode, after a failed run that wrote no report: the error document (see setJsonErrors). */
export function writeJsonError(): void {
  if (!jsonErrorSchema || reportWritten) return;
  const error = firstError ?? { file: null, message: 'failed' };
  reportWritten = true;
  try {
    fs.writeSync(1, toJson({ schema: jsonErrorSchema, error }));
  } catch {
    // stdout is gone (EPIPE): the line on stderr stands alone.
  }
}

/** The line printError writes. */
export function errorLine(...parts: string[]): string {
  return `btfcheck: ${parts.map((p) => escapeTerminal(p)).join(': ')}\n`;
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

type Level = 'debug' | 'info' | 'warn' | 'error';
type Logger = Record<Level, (obj: object, msg?: string) => void>;

const LEVEL_RANK: Record<string, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };
let logger: Logger | undefined;
let logLevel = process.env.BTFCHECK_LOG || 'warn';

/** --log-level (or BTFCHECK_LOG): what goes to stderr as pino JSON lines; reports never do. */
export function setLogLevel(level: string): void {
  logLevel = level;
  logger = undefined;
}

/**
 * Logs to stderr through pino (JSON lines, for people debugging a run and for log collectors).
 * pino is loaded only when a record passes the level: most runs log nothing, and a package hook
 * checking one module should not pay pino's load time.
 */
export async function log(level: Level, obj: object, msg: string): Promise<void> {
  if ((LEVEL_RANK[level] ?? 0) < (LEVEL_RANK[logLevel] ?? LEVEL_RANK.warn)) return;
  if (!logger) {
    const { pino } = await import('pino');
    logger = pino({ name: 'btfcheck', level: logLevel, base: undefined }, pino.destination(2)) as unknown as Logger;
  }
  logger[level](obj, msg);
}

/**
 * Writes a report to stdout with fs.writeSync: creating process.stdout costs ~20 ms of startup
 * (more than the rest of a one-module check), and a report is written once, whole. EAGAIN (a
 * non-blocking pipe that is full) is retried; EPIPE (the reader went away, `| head`) ends quietly.
 */
export async function writeOut(text: string | Iterable<string>): Promise<void> {
  reportWritten = true;
  if (typeof text === 'string') {
    await writeText(text);
    return;
  }
  // Pieces (a JSON report a module at a time) gathered up to 1 MiB, then written.
  let pending: string[] = [];
  let size = 0;
  for (const piece of text) {
    pending.push(piece);
    size += piece.length;
    if (size >= OUT_PIECE) {
      if (!(await writeText(pending.join('')))) return;
      pending = [];
      size = 0;
    }
  }
  await writeText(pending.join(''));
}

/** Writes text to stdout, 1 MiB at a time (never ending inside a surrogate pair); false on EPIPE. */
async function writeText(text: string): Promise<boolean> {
  for (let from = 0; from < text.length;) {
    let to = Math.min(text.length, from + OUT_PIECE);
    if (to < text.length && (text.charCodeAt(to - 1) & 0xfc00) === 0xd800) to--;
    const bytes = Buffer.from(text.slice(from, to), 'utf8');
    from = to;
    let off = 0;
    while (off < bytes.length) {
      try {
        off += fs.writeSync(1, bytes, off, bytes.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        if (code === 'EPIPE') return false;
        throw e;
      }
    }
  }
  return true;
}

/** Characters of text encoded and written at a time. */
const OUT_PIECE = 1 << 20;
