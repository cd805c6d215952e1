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
  if (schema && value !== null && typeof value === 'object' && !Array.isArray(value) && !('schema' in value)) {
    value = { schema, ...value };
  }
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)
    .replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}
