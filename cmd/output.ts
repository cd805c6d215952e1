/** Picks the renderer for --format, and how text meets the terminal (colour, width). */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { CHECK_SCHEMA, CheckReport, jsonPieces, toJson } from '../lib/report/model.js';
import { renderDmesg } from '../lib/report/dmesg.js';
import { renderJunit } from '../lib/report/junit.js';
import { renderText, TextOptions } from '../lib/report/text.js';

export const OUTPUT_FORMATS = ['text', 'dmesg', 'json', 'junit'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function renderOutput(report: CheckReport, format: OutputFormat, opts: TextOptions = {}): string {
  switch (format) {
    case 'json': return toJson(report, CHECK_SCHEMA);
    case 'dmesg': return renderDmesg(report);
    case 'junit': return renderJunit(report);
    default: return renderText(report, opts);
  }
}

/** renderOutput as pieces for writeOut: JSON a module at a time (a whole tree's report is 13 MB). */
export function renderOutputPieces(report: CheckReport, format: OutputFormat, opts: TextOptions = {}): Iterable<string> {
  return format === 'json' ? jsonPieces(report, CHECK_SCHEMA) : [renderOutput(report, format, opts)];
}

/**
 * Colour: FORCE_COLOR forces it (FORCE_COLOR=0 or false forbids it), else NO_COLOR (set and not
 * empty, no-color.org) or TERM=dumb turn it off, else stdout being a terminal turns it on: never
 * in pipes, files or CI logs.
 */
export function colourWanted(env: NodeJS.ProcessEnv, isTty: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR) return false;
  if (env.TERM === 'dumb') return false;
  return isTty;
}

/**
 * How text output meets stdout: colour (colourWanted) and, on a terminal, its width, so prose lines
 * wrap to fit. The width is read only when stdout is a terminal: creating process.stdout costs more
 * than a one-module check, and a pipe has no width (its lines are never wrapped).
 */
export function terminalStyle(): { color: boolean; width?: number } {
  const isTty = stdoutIsTty();
  return { color: colourWanted(process.env, isTty), width: isTty ? process.stdout.columns || undefined : undefined };
}

/**
 * Whether stdout is a terminal, without loading node:tty (~2 ms of a one-module check) when it
 * plainly is not: a file, a pipe, /dev/null (a character device, and never a terminal).
 */
function stdoutIsTty(): boolean {
  try {
    const out = fs.fstatSync(1);
    if (!out.isCharacterDevice() || out.rdev === fs.statSync('/dev/null').rdev) return false;
  } catch {
    return false; // fd 1 closed
  }
  return (createRequire(import.meta.url)('node:tty') as typeof import('node:tty')).isatty(1);
}
