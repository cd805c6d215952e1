/**
 * In-process fuzz targets: what the CLI does with one module file, one base file, or one pasted
 * log, with the contract checked at every step. A target returns the outcome the user would see;
 * a contract violation throws FuzzBug (anything else escaping a target is a bug as well).
 *
 * The contract (issue 5): any bytes give a verdict or one `btfcheck: FILE: what is wrong` line
 * (an InputError with a one-line message); never another exception, an "internal error" or a
 * RangeError/TypeError text, a finding from a crashed rule, or a report that does not render.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderExplainText, explainFailures } from '../../cmd/commands/explain.js';
import { errorMessage } from '../../cmd/common.js';
import { loadBase, LoadedBase, loadModule } from '../../cmd/io/index.js';
import { renderOutput, OUTPUT_FORMATS } from '../../cmd/output.js';
import { compareBases, moduleStaysValid, shiftReason } from '../../lib/abi/index.js';
import { Btf } from '../../lib/btf/btf.js';
import { checkModule, errorResult, ModuleResult, summarize } from '../../lib/check.js';
import { CandidateBase } from '../../lib/diagnose/index.js';
import { InputError } from '../../lib/errors.js';
import { explainLog } from '../../lib/explain/index.js';
import { KERNEL_VERSIONS, KernelVerdict } from '../../lib/kernel/index.js';
import { CheckReport } from '../../lib/report/model.js';

/** A broken contract. `signature` groups failures of one cause (for minimizing and counting). */
export class FuzzBug extends Error {
  constructor(readonly signature: string, detail: string) {
    super(`${signature}: ${detail}`);
    this.name = 'FuzzBug';
  }
}

export type Outcome = 'accepted' | 'rejected' | 'mismatch' | 'no-btf' | 'error';

/** Text the user must never see: our own crash reports or a JS engine's. */
const CRASH_TEXT = /internal error|RangeError|TypeError|ReferenceError|SyntaxError|Maximum call stack|malformed data \(|\n\s+at |\bundefined\b is not|Cannot read prop|Invalid array length|Invalid typed array length|Array buffer allocation failed/;

/** The message of a caught error, checked: an InputError with one clean line. */
export function checkedErrorMessage(e: unknown, where: string): string {
  if (!(e instanceof InputError)) {
    const name = e instanceof Error ? e.constructor.name : typeof e;
    throw new FuzzBug(`${where}: uncaught ${name}`, e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e));
  }
  const msg = errorMessage(e);
  checkLine(msg, where);
  return msg;
}

/** A user-facing line: one line, not empty, no crash text, not absurdly long. */
export function checkLine(msg: string, where: string): void {
  if (!msg || msg.includes('\n') || msg.includes('\r')) throw new FuzzBug(`${where}: message not one line`, JSON.stringify(msg));
  if (CRASH_TEXT.test(msg)) throw new FuzzBug(`${where}: crash text in message`, msg);
  if (msg.length > 2000) throw new FuzzBug(`${where}: message over 2000 chars`, msg.slice(0, 200));
}

function checkVerdict(v: KernelVerdict, allow: boolean, where: string): void {
  const bad = (what: string): never => { throw new FuzzBug(`${where}: inconsistent verdict`, `${what}: ${JSON.stringify(v)}`); };
  if (typeof v.accepted !== 'boolean') bad('accepted');
  if (v.fault !== undefined) {
    if (v.accepted || v.errno !== 0 || v.loads) bad('fault');
  } else if (v.accepted) {
    if (v.errno !== 0 || !v.loads) bad('accepted');
  } else {
    if (![-22, -7, -40, -524, -2, 0].includes(v.errno)) bad('errno');
    if (v.loads !== (allow || v.errno === 0)) bad('loads');
  }
  for (const line of v.log) if (typeof line !== 'string' || line.includes('\n')) bad('log line');
}

function checkResult(r: ModuleResult, where: string): void {
  if (r.status === 'error') {
    if (typeof r.error !== 'string') throw new FuzzBug(`${where}: error result without message`, JSON.stringify(r));
    checkLine(r.error, where);
  }
  for (const f of r.findings) {
    if (f.rule === 'internal-error') throw new FuzzBug(`${where}: internal-error finding`, f.message);
    if (typeof f.message !== 'string' || f.message.length > 4000) throw new FuzzBug(`${where}: bad finding message`, String(f.message).slice(0, 200));
    if (/\[object Object\]|\bNaN\b/.test(f.message)) throw new FuzzBug(`${where}: garbage in finding`, f.message);
  }
}

/** Renders the report in every format, as the CLI would print it; JSON must parse back. */
function renderAll(report: CheckReport, where: string): number {
  let chars = 0;
  for (const format of OUTPUT_FORMATS) {
    let out: string;
    try {
      out = renderOutput(report, format);
    } catch (e) {
      throw new FuzzBug(`${where}: render ${format} threw`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
    }
    if (/\[object Object\]|\bNaN\b/.test(out)) throw new FuzzBug(`${where}: garbage in ${format} output`, out.slice(0, 500));
    if (format === 'json') {
      const parsed = JSON.parse(out) as { modules: unknown[] };
      if (!Array.isArray(parsed.modules)) throw new FuzzBug(`${where}: json without modules`, out.slice(0, 200));
    }
    chars += out.length;
  }
  return chars;
}

function reportOf(base: LoadedBase, results: ModuleResult[], version: string, allow: boolean): CheckReport {
  return {
    base: { file: base.file, types: base.btf.nrTypes, strLen: base.btf.strLen, sha256: base.sha256, release: base.release ?? null },
    kernel: { version, allowBtfMismatch: allow, versionFrom: '--kernel' },
    modules: results,
    summary: summarize(results),
  };
}

/** A scratch directory for the files the targets read back through the real loaders. */
export class Scratch {
  readonly dir: string;
  private n = 0;
  constructor() {
    const root = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    this.dir = fs.mkdtempSync(path.join(root, 'btfcheck-fuzz-'));
  }
  /** Writes `bytes` to a fresh file (the name is what the kernel would fall back to). */
  file(name: string, bytes: Uint8Array | string): string {
    const p = path.join(this.dir, `${this.n++ % 4}-${name}`);
    fs.writeFileSync(p, bytes);
    return p;
  }
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface TargetContext {
  scratch: Scratch;
  /** Loaded (trusted) bases by corpus key. */
  bases: Map<string, LoadedBase>;
  /** Candidate bases for diagnosis. */
  candidates: CandidateBase[];
}

export interface TargetResult {
  outcome: Outcome;
  /** Characters rendered (keeps the work observable, and big outputs visible in stats). */
  rendered: number;
}

/**
 * A module file: loadModule, then the kernel's verdict for both versions and both ALLOW_BTF_MISMATCH
 * settings, the diagnosis (once, with candidates), every report format, and explain on the
 * emulated kernel log.
 */
export async function runModuleTarget(bytes: Uint8Array, fileName: string, base: LoadedBase, ctx: TargetContext): Promise<TargetResult> {
  const file = ctx.scratch.file(fileName, bytes);
  let loaded;
  try {
    loaded = await loadModule(file);
  } catch (e) {
    const msg = checkedErrorMessage(e, 'loadModule');
    const r = errorResult(file, msg);
    return { outcome: 'error', rendered: renderAll(reportOf(base, [r], '6.12', false), 'error report') };
  }
  let outcome: Outcome | undefined;
  let rendered = 0;
  let first = true;
  for (const version of KERNEL_VERSIONS) {
    for (const allow of [false, true]) {
      const where = `check ${version} allow=${allow}`;
      let r: ModuleResult;
      try {
        // As cmd/run-checks.ts calls it: the distilled base (6.12 relocates onto vmlinux) and any stored checksum.
        r = checkModule(base.btf, file, loaded.name, loaded.btf, {
          kernel: { version, allowBtfMismatch: allow }, diagnose: first, candidates: first ? ctx.candidates : undefined, baseSha256: base.sha256,
        }, { distilledBase: loaded.btfBase, stored: loaded.storedChecksum, storedError: loaded.storedChecksumError });
      } catch (e) {
        throw new FuzzBug(`${where}: checkModule threw ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
      }
      if (r.kernel) checkVerdict(r.kernel, allow, where);
      checkResult(r, where);
      outcome ??= r.status;
      first = false;
      rendered += renderAll(reportOf(base, [r], version, allow), where);
      if (r.kernel?.log.length) {
        try { rendered += explainLog(r.kernel.log.join('\n')).length; } catch (e) {
          throw new FuzzBug('explainLog on emulated log threw', e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
        }
      }
    }
  }
  return { outcome: outcome!, rendered };
}

/**
 * A base file: loadBase; when it loads, modules checked against it (kernel and diagnosis), and the
 * abi comparison with the base it was mutated from, both ways.
 */
export async function runBaseTarget(bytes: Uint8Array, original: LoadedBase, modules: Uint8Array[], ctx: TargetContext, abi = true): Promise<TargetResult> {
  const file = ctx.scratch.file('base.bin', bytes);
  let base: LoadedBase;
  try {
    base = await loadBase(file);
  } catch (e) {
    checkedErrorMessage(e, 'loadBase');
    return { outcome: 'error', rendered: 0 };
  }
  let rendered = 0;
  for (const m of modules) {
    const r = checkModule(base.btf, file, 'fuzz_mod', m, { kernel: { version: '6.12', allowBtfMismatch: false }, baseSha256: base.sha256 });
    checkResult(r, 'module on mutated base');
    if (r.kernel) checkVerdict(r.kernel, false, 'module on mutated base');
    rendered += renderAll(reportOf(base, [r], '6.12', false), 'module on mutated base');
  }
  if (!abi) return { outcome: 'accepted', rendered };
  try {
    // As `btfcheck abi --old ORIGINAL --new MUTATED`: one comparison, then each side's modules.
    const cmp = compareBases(original.btf, base.btf);
    rendered += JSON.stringify(cmp.diff).length;
    for (const [own, other, label] of [[original.btf, base.btf, 'old'], [base.btf, original.btf, 'new']] as Array<[Btf, Btf, 'old' | 'new']>) {
      const shift = shiftReason(own, other);
      if (!shift && modules.length && cmp.diff.kind !== 'identical') {
        const v = moduleStaysValid(modules[0], own, other, cmp.identity, label);
        rendered += String(v.reason).length;
      }
    }
  } catch (e) {
    // The abi command lets InputErrors from module BTF through as one line; nothing else may escape.
    if (!(e instanceof InputError)) throw new FuzzBug(`abi: ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
    checkLine(e.message, 'abi');
  }
  return { outcome: 'accepted', rendered };
}

/** A pasted log: explain alone, and with a base and module files to diagnose. */
export async function runExplainTarget(text: string, base: LoadedBase | undefined, moduleFiles: string[]): Promise<TargetResult> {
  let rendered = 0;
  try {
    const alone = explainLog(text);
    rendered += alone.length;
    const { failures } = await explainFailures(text, base, moduleFiles);
    const report = { log: 'fuzz.log', base: null, failures };
    const out = renderExplainText(report, moduleFiles.length > 0);
    if (/\[object Object\]|\bNaN\b/.test(out)) throw new FuzzBug('explain: garbage in text', out.slice(0, 500));
    rendered += out.length + JSON.stringify(report).length;
  } catch (e) {
    if (e instanceof FuzzBug) throw e;
    throw new FuzzBug(`explain: ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
  }
  return { outcome: 'accepted', rendered };
}
