/** The report of one `check` run: the stable JSON document, and what text/dmesg/junit render. */
import { CheckSummary, ModuleResult } from '../check.js';

export interface BaseInfo {
  file: string;
  /** The kernel's nr_types: types plus void. */
  types: number;
  strLen: number;
  sha256: string;
  release?: string | null;
}

/** What kernel was emulated and how (cmd/kernel-settings.ts fills it; tests may give the first two). */
export interface KernelInfo {
  version: string;
  allowBtfMismatch: boolean;
  /** The version whose rules were applied. */
  rules?: string;
  versionFrom?: string;
  config?: string | null;
  overrides?: Record<string, boolean>;
  /** Every assumption made, one sentence each. */
  notes?: string[];
  validatesModuleBtf?: boolean;
  /** The kernel rejects the base's own BTF: errno and the lines printed once at boot. */
  vmlinux?: { errno: number; log: string[] } | null;
}

export interface CheckReport {
  base: BaseInfo;
  kernel: KernelInfo;
  modules: ModuleResult[];
  summary: CheckSummary;
}

const ERRNO_NAMES: Record<number, string> = {
  [-7]: 'E2BIG', [-12]: 'ENOMEM', [-14]: 'EFAULT', [-22]: 'EINVAL', [-40]: 'ELOOP', [-524]: 'ENOTSUPP',
};

/** `-22 (EINVAL)` */
export function errnoLabel(errno: number): string {
  const name = ERRNO_NAMES[errno];
  return name ? `${errno} (${name})` : String(errno);
}

/**
 * Every JSON document names its kind and version first: `"schema": "btfcheck/<command>/<N>"`. N
 * changes only when a name is removed or changes meaning; added fields keep it.
 */
export const SCHEMA_VERSION = 1;

/** `btfcheck/check/1` */
export function schemaOf(command: string): string {
  return `btfcheck/${command}/${SCHEMA_VERSION}`;
}

/** The schema of the check report (also what `demo` writes). */
export const CHECK_SCHEMA = schemaOf('check');

let documentSchema: string | undefined;

/**
 * The command line names the document the running command writes, so every command's JSON
 * carries its schema (toJson adds it); library callers pass one to toJson themselves.
 */
export function setDocumentSchema(schema: string | undefined): void {
  documentSchema = schema;
}

/**
 * JSON with bigint values as decimal strings, stable key order as built, and for a document (a
 * plain object) its `schema` first. JSON.stringify escapes C0 controls but leaves DEL and C1
 * (U+0080..U+009F, which some terminals obey) raw: they can only stand inside strings here, so
 * they are written as \u escapes too, meaning the same.
 */
export function toJson(value: unknown, schema: string | undefined = documentSchema): string {
  return escapeC1(JSON.stringify(withSchema(value, schema), bigintAsString, 2)) + '\n';
}

function withSchema(value: unknown, schema: string | undefined): unknown {
  if (schema && value !== null && typeof value === 'object' && !Array.isArray(value) && !('schema' in value)) {
    return { schema, ...value };
  }
  return value;
}

const bigintAsString = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

const escapeC1 = (text: string): string =>
  text.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A plain object or array (no toJSON, no class): what toJsonPieces may take apart. */
function plain(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === Array.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** JSON.stringify(v, bigintAsString, 2) of a member or element, its lines indented by `pad`. */
function nested(v: unknown, pad: string): string {
  return JSON.stringify(v, bigintAsString, 2).replace(/\n/g, `\n${pad}`);
}

/** What JSON.stringify leaves out of an object (and writes as null in an array). */
const omitted = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * toJson in pieces whose concatenation is the same text: a document's array members one element at
 * a time, so that a whole tree's report (13 MB of JSON for 1,000 modules) is never one string.
 * Anything but plain data (a toJSON, a class instance) as a member or element: toJson whole.
 */
export function jsonPieces(value: unknown, schema: string | undefined = documentSchema): Iterable<string> {
  const doc = withSchema(value, schema);
  const simple = (v: unknown): boolean => v === null || typeof v !== 'object' || plain(v);
  if (!plain(doc) || Array.isArray(doc)) return [toJson(value, schema)];
  for (const key of Object.keys(doc)) {
    const v = doc[key];
    if (!simple(v) || (Array.isArray(v) && !v.every(simple))) return [toJson(value, schema)];
  }
  return documentPieces(doc);
}

function* documentPieces(doc: Record<string, unknown>): Generator<string> {
  let first = true;
  for (const key of Object.keys(doc)) {
    const v = bigintAsString(key, doc[key]);
    if (omitted(v)) continue;
    yield escapeC1(`${first ? '{\n' : ',\n'}  ${JSON.stringify(key)}: `);
    first = false;
    if (!Array.isArray(v) || v.length === 0) {
      yield escapeC1(nested(v, '  '));
      continue;
    }
    for (let i = 0; i < v.length; i++) {
      const e = bigintAsString(String(i), v[i]);
      yield escapeC1(`${i === 0 ? '[\n' : ',\n'}    ${omitted(e) ? 'null' : nested(e, '    ')}`);
    }
    yield '\n  ]';
  }
  yield first ? '{}\n' : '\n}\n';
}
