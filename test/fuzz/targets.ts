/**
 * In-process fuzz targets: what the CLI does with one module file, one base file, or one pasted
 * log, with the contract checked at every step. A target returns the outcome the user would see;
 * a contract violation throws FuzzBug (anything else escaping a target is a bug as well).
 *
 * The contract (issue 5): any bytes give a verdict or one `btfcheck: FILE: what is wrong` line
 * (an InputError with a one-line message); never another exception, an "internal error" or a
 * RangeError/TypeError text, a finding from a crashed rule, or a report that does not render.
 * Issue 12 adds: a verdict is consistent on any kernel version and --rule switches (kernels.ts);
 * a base the chosen kernel rejects (emulateVmlinuxParse) fails every module with its errno;
 * text, dmesg and explain output hold no raw C0 (but TAB and newline), DEL, C1, U+FFFE/U+FFFF or
 * lone surrogate, a hostile file name never appears raw, JSON gives the name back exactly, JUnit
 * is well-formed XML 1.0; a changed byte in a checksummed container (gzip, xz, zstd with its
 * checksum) is an error line or decodes to exactly the bytes that went in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExplainReport, renderExplainText, explainFailures } from '../../cmd/commands/explain.js';
import { errorLine, errorMessage } from '../../cmd/common.js';
import { checkArchiveModules, loadBaseFromArchives, loadModuleBytes } from '../../cmd/io/archives.js';
import { loadBase, LoadedBase, loadModule } from '../../cmd/io/index.js';
import { renderOutput, OUTPUT_FORMATS } from '../../cmd/output.js';
import { compareBases, moduleStaysValid, shiftReason } from '../../lib/abi/index.js';
import { Btf } from '../../lib/btf/btf.js';
import { checkModule, errorResult, KernelSettings, ModuleResult, summarize } from '../../lib/check.js';
import { CandidateBase } from '../../lib/diagnose/index.js';
import { InputError } from '../../lib/errors.js';
import { DEFAULT_MAX_LINE_BYTES, explainLog, ExplainResult, KernelContext, LogExplainer, LogReader } from '../../lib/explain/index.js';
import { encodeFileName } from '../../lib/fsname.js';
import { emulateVmlinuxParse, KERNEL_VERSIONS, kernelBytesToText, kernelRules } from '../../lib/kernel/index.js';
import { nameFromPath } from '../../lib/module.js';
import { CheckReport, KernelInfo } from '../../lib/report/model.js';
import { Materialized } from './cases.js';
import { KernelPick, kernelVerdictProblems, NAME_PROBLEM, overridesOf, rulesOf } from './kernels.js';

/** A broken contract. `signature` groups failures of one cause (for minimizing and counting). */
export class FuzzBug extends Error {
  constructor(readonly signature: string, detail: string) {
    super(`${signature}: ${detail}`);
    this.name = 'FuzzBug';
  }
}

/**
 * Where a check runs names its signature without the kernel it ran on ('check 7.9 --rule x=on
 * allow=true' is 'check'): one cause, one signature, one saved case. The detail keeps it.
 */
export function site(where: string): string {
  return where.replace(/^check \S+.*?(?=:|$)/, 'check').replace(/^module on mutated base,.*?(?=:|$)/, 'module on mutated base');
}
const bug = (where: string, what: string, detail: string): FuzzBug => new FuzzBug(`${site(where)}: ${what}`, `${where}: ${detail}`);

export type Outcome = 'accepted' | 'rejected' | 'mismatch' | 'no-btf' | 'unchecked' | 'error' | 'stamped' | 'skipped';

/** Text the user must never see: our own crash reports or a JS engine's. */
const CRASH_TEXT = /internal error|RangeError|TypeError|ReferenceError|SyntaxError|Maximum call stack|malformed data \(|\n\s+at |\bundefined\b is not|Cannot read prop|Invalid array length|Invalid typed array length|Array buffer allocation failed/;

/** The message of a caught error, checked: an InputError with one clean line. */
export function checkedErrorMessage(e: unknown, where: string): string {
  if (!(e instanceof InputError)) {
    const name = e instanceof Error ? e.constructor.name : typeof e;
    throw bug(where, `uncaught ${name}`, e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e));
  }
  const msg = errorMessage(e);
  checkLine(msg, where);
  return msg;
}

/** A user-facing line: one line, not empty, no crash text, not absurdly long. */
export function checkLine(msg: string, where: string): void {
  if (!msg || msg.includes('\n') || msg.includes('\r')) throw bug(where, `message not one line`, JSON.stringify(msg));
  if (CRASH_TEXT.test(msg)) throw bug(where, `crash text in message`, msg);
  if (msg.length > 2000) throw bug(where, `message over 2000 chars`, msg.slice(0, 200));
}

function checkVerdict(r: ModuleResult, version: string, overrides: Record<string, boolean>, allow: boolean, vmlinuxErrno: number, where: string, nameText?: string): void {
  if (!r.kernel) return;
  const problems = kernelVerdictProblems(r.kernel, r.status, kernelRules(version, overrides), allow, vmlinuxErrno, nameText);
  if (r.status === 'unchecked' && r.findings.length) problems.push('findings on an unchecked module');
  if (!problems.length) return;
  // Signatures without the kernel (`where` goes in the detail): one cause, one signature.
  const signature = problems.every((p) => p.startsWith(NAME_PROBLEM)) ? 'check: the kernel line names the module wrong' : 'check: inconsistent verdict';
  throw new FuzzBug(signature, `${where}: ${problems.join('; ')}: ${JSON.stringify(r.kernel).slice(0, 1500)}`);
}

/** Raw characters a terminal would act on (TAB and newline are the reports' own structure). */
/** JSON: C0 inside strings is escaped by JSON.stringify, DEL and C1 by toJson; lone surrogates as \u too. */
const JSON_UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TERMINAL_UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Controls that make a name hostile (TAB is allowed raw: kernel lines keep theirs, a name's TAB is the same TAB). */
const hasControl = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

/**
 * Text for a terminal: no raw control character but TAB and newline, and none of `hostile`
 * (names holding control characters) raw: a newline in a name must not start a line of its own.
 */
export function checkTerminal(out: string, where: string, hostile: readonly string[] = [], unsafe = TERMINAL_UNSAFE): void {
  const m = unsafe.exec(out);
  if (m) throw bug(where, 'raw control character in output', `U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${m.index}: ${JSON.stringify(out.slice(Math.max(0, m.index - 80), m.index + 40))}`);
  for (const h of hostile) if (h && hasControl.test(h) && out.includes(h)) throw bug(where, 'hostile name printed raw', JSON.stringify(h));
}

const XML_FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isXmlChar = (c: number): boolean => c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);

/** Why `xml` is not a well-formed XML 1.0 document (characters, references, tags), or null. */
export function xmlProblem(xml: string): string | null {
  const bad = XML_FORBIDDEN.exec(xml);
  if (bad) return `character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${bad.index}`;
  for (const m of xml.matchAll(/&([^;&<\s]{0,12})(;?)/g)) {
    if (!m[2]) return `bare & at ${m.index}`;
    const ref = m[1];
    if (['amp', 'lt', 'gt', 'quot', 'apos'].includes(ref)) continue;
    const hex = /^#x([0-9a-fA-F]{1,6})$/.exec(ref);
    const dec = /^#([0-9]{1,7})$/.exec(ref);
    const cp = hex ? parseInt(hex[1], 16) : dec ? Number(dec[1]) : NaN;
    if (!isXmlChar(cp)) return `reference &${ref}; at ${m.index}`;
  }
  let body = xml.replace(/^<\?xml[^>]*\?>/, '');
  body = body.replace(/<!--[\s\S]*?-->/g, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/y;
  for (let i = 0; i < body.length;) {
    const lt = body.indexOf('<', i);
    if (lt < 0) break;
    if (stack.length === 0 && body.slice(i, lt).trim()) return `text outside the root at ${i}`;
    tag.lastIndex = lt;
    const t = tag.exec(body);
    if (!t) return `malformed tag at ${lt}: ${JSON.stringify(body.slice(lt, lt + 80))}`;
    const [, close, name, attrs, empty] = t;
    // Names only, not what stands inside a value (a file name may hold "x=").
    const names = [...attrs.matchAll(/\s+([A-Za-z_][\w.:-]*)\s*=\s*"[^"<]*"/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) return `repeated attribute in <${name}>`;
    if (close) {
      if (stack.pop() !== name) return `</${name}> closes another element`;
    } else if (!empty) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
    i = tag.lastIndex;
  }
  if (stack.length) return `<${stack[stack.length - 1]}> not closed`;
  if (roots !== 1) return `${roots} root elements`;
  return null;
}

function checkResult(r: ModuleResult, where: string): void {
  if (r.status === 'error') {
    if (typeof r.error !== 'string') throw bug(where, `error result without message`, JSON.stringify(r));
    checkLine(r.error, where);
  }
  for (const f of r.findings) {
    if (f.rule === 'internal-error') throw bug(where, `internal-error finding`, f.message);
    if (typeof f.message !== 'string' || f.message.length > 4000) throw bug(where, `bad finding message`, String(f.message).slice(0, 200));
    if (/\[object Object\]|\bNaN\b/.test(f.message)) throw bug(where, `garbage in finding`, f.message);
  }
}

/**
 * Renders the report in every format, as the CLI would print it: JSON parses back and gives every
 * file name back exactly; text and dmesg are safe for a terminal; JUnit is well-formed XML.
 */
function renderAll(report: CheckReport, where: string, hostile: readonly string[] = []): number {
  let chars = 0;
  for (const format of OUTPUT_FORMATS) {
    let out: string;
    try {
      out = renderOutput(report, format);
    } catch (e) {
      throw bug(where, `render ${format} threw`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
    }
    if (/\[object Object\]|\bNaN\b/.test(out)) throw bug(where, `garbage in ${format} output`, out.slice(0, 500));
    if (format === 'json') {
      const parsed = JSON.parse(out) as { modules: Array<{ file: string }> };
      if (!Array.isArray(parsed.modules)) throw bug(where, `json without modules`, out.slice(0, 200));
      parsed.modules.forEach((m, i) => {
        if (m.file !== report.modules[i].file) throw bug(where, `json changed a file name`, `${JSON.stringify(report.modules[i].file)} → ${JSON.stringify(m.file)}`);
      });
      checkTerminal(out, `${where}: json`, [], JSON_UNSAFE);
    } else if (format === 'junit') {
      const problem = xmlProblem(out);
      if (problem) throw bug(where, `junit not well-formed`, `${problem}\n${out.slice(0, 1500)}`);
    } else {
      checkTerminal(out, `${where}: ${format}`, hostile);
    }
    chars += out.length;
  }
  return chars;
}

function reportOf(base: LoadedBase, results: ModuleResult[], version: string, allow: boolean, extra: Partial<KernelInfo> = {}): CheckReport {
  return {
    base: { file: base.file, types: base.btf.nrTypes, strLen: base.btf.strLen, sha256: base.sha256, release: base.release ?? null },
    kernel: { version, allowBtfMismatch: allow, versionFrom: '--kernel', ...extra },
    modules: results,
    summary: summarize(results),
  };
}

/** The kernel part of a report for a pick, as cmd/kernel-settings.ts fills it. */
function kernelInfoOf(k: KernelPick, vmlinux: { errno: number; log: string[] } | null): Partial<KernelInfo> {
  const rules = rulesOf(k);
  return { rules: rules.series, overrides: overridesOf(k), notes: k.rules.map(([id, on]) => `rule ${id} switched ${on ? 'on' : 'off'} by --rule`), validatesModuleBtf: rules.validatesModuleBtf, vmlinux };
}

/**
 * emulateVmlinuxParse of a base under a pick's rules, as the CLI runs it before checking modules;
 * its shape checked. Cached per base and rule set (bases are reused across cases).
 */
export function vmlinuxParse(base: LoadedBase, k: KernelPick, cache?: Map<string, { errno: number; log: string[] }>): { errno: number; log: string[] } {
  const key = `${base.sha256}|${k.version}|${k.rules.map(([id, on]) => `${id}=${on}`).join(',')}`;
  const hit = cache?.get(key);
  if (hit) return hit;
  let r: { errno: number; log: string[] };
  try {
    r = emulateVmlinuxParse(base.raw, { version: k.version, rules: overridesOf(k) });
  } catch (e) {
    throw new FuzzBug(`emulateVmlinuxParse threw ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
  }
  if (![0, -22, -7, -40, -524].includes(r.errno)) throw new FuzzBug('emulateVmlinuxParse: errno', String(r.errno));
  // One verifier record per line (a name's newline stays inside it), or the empty line a "\n"
  // fragment leaves before 5.17.
  for (const line of r.log) if (typeof line !== 'string' || !(line === '' || line.startsWith('BPF:'))) throw new FuzzBug('emulateVmlinuxParse: log line', JSON.stringify(line));
  if (r.errno === 0 && r.log.length) throw new FuzzBug('emulateVmlinuxParse: log of an accepted base', r.log.slice(0, 3).join(' | '));
  if (cache) {
    if (cache.size > 5000) cache.clear();
    cache.set(key, r);
  }
  return r;
}

/** A scratch directory for the files the targets read back through the real loaders. */
export class Scratch {
  readonly dir: string;
  private n = 0;
  constructor() {
    const root = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    this.dir = fs.mkdtempSync(path.join(root, 'btfcheck-fuzz-'));
  }
  /**
   * Writes `bytes` to a fresh file (the name is what the kernel would fall back to). With
   * `nameBytes`, the name is those bytes (`name` their decoded form, as a directory walk reads it).
   */
  file(name: string, bytes: Uint8Array | string, nameBytes?: Uint8Array): string {
    const slot = `${this.n++ % 4}-`;
    const p = path.join(this.dir, slot + name);
    if (nameBytes) {
      const dir = Buffer.from(this.dir + '/' + slot);
      const raw = Buffer.concat([dir, nameBytes]);
      // One file per slot: an earlier hostile name in this slot would stay behind otherwise.
      for (const old of fs.readdirSync(this.dir, { encoding: 'buffer' })) if (old.subarray(0, slot.length).equals(Buffer.from(slot))) fs.rmSync(Buffer.concat([Buffer.from(this.dir + '/'), old]), { force: true, recursive: true });
      fs.writeFileSync(raw, bytes);
    } else {
      fs.writeFileSync(p, bytes);
    }
    return p;
  }
  /** A fresh subdirectory (for stamps and trees), removed by the caller. */
  subdir(what: string): string {
    return fs.mkdtempSync(path.join(this.dir, `${what}-`));
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
  /** emulateVmlinuxParse results by base and rule set. */
  vmlinuxCache?: Map<string, { errno: number; log: string[] }>;
}

/**
 * CPU time of the calling thread in ms (Linux: /proc/thread-self/stat, 10 ms ticks), or null.
 * Cases are timed by it: on two shared cores a niced fuzzer can wait seconds for a core, and
 * waiting is not the input's doing.
 */
export function threadCpuMs(stat = '/proc/thread-self/stat'): number | null {
  try {
    const text = fs.readFileSync(stat, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}
const cpuNow = (): number => threadCpuMs() ?? performance.now();

export interface TargetResult {
  outcome: Outcome;
  /** CPU time of what one CLI run would do (loading and one kernel), when the target runs several. */
  cliMs?: number;
  /** Characters rendered (keeps the work observable, and big outputs visible in stats). */
  rendered: number;
}

/**
 * A module file: loadModule (for a mutated checksummed container: nothing but an error or the
 * bytes that went in), then the kernel's verdict for the oracle series with both
 * ALLOW_BTF_MISMATCH settings and for the case's picked kernel (any version, --rule switches,
 * the base as that kernel parses it), the diagnosis (once, with candidates), every report format,
 * and explain on the emulated kernel log.
 */
export async function runModuleTarget(m: Extract<Materialized, { target: 'module' }>, base: LoadedBase, ctx: TargetContext): Promise<TargetResult> {
  const cpu0 = cpuNow();
  const file = ctx.scratch.file(m.fileName, m.bytes, m.nameBytes);
  const hostile = [file, ...(m.moduleName ? [m.moduleName] : [])];
  let loaded;
  try {
    loaded = await loadModule(file);
  } catch (e) {
    const msg = checkedErrorMessage(e, 'loadModule');
    if (/no such file|ENOENT/.test(msg)) throw new FuzzBug('loadModule: the file is not found by its own name', `${JSON.stringify(file)}: ${msg}`);
    const line = errorLine(file, msg);
    if (line.indexOf('\n') !== line.length - 1) throw new FuzzBug('error line: not one line', JSON.stringify(line));
    checkTerminal(line, 'error line', hostile);
    const r = errorResult(file, msg);
    return { outcome: 'error', rendered: renderAll(reportOf(base, [r], '6.12', false), 'error report', hostile) };
  }
  const loadMs = cpuNow() - cpu0;
  let maxRunMs = 0;
  if (m.inner) await sameAsInner(loaded, m.inner, m.container ?? 'compressed', ctx);
  // How the kernel line prints the module's name: an ELF name is bytes; a name from the file name
  // (raw split BTF, no name in the ELF) is the file name's bytes, as the kernel would print them.
  const fromPath = nameFromPath(file);
  const nameText = kernelBytesToText(loaded.name === fromPath ? latin1Of(encodeFileName(fileStem(file))) : loaded.name);
  let outcome: Outcome | undefined;
  let rendered = 0;
  let first = true;
  const run = (kernel: KernelSettings, where: string, diagnose: boolean, info: Partial<KernelInfo> = {}): ModuleResult => {
    const t0 = cpuNow();
    let r: ModuleResult;
    try {
      // As cmd/run-checks.ts calls it: the distilled base (6.12 relocates onto vmlinux) and any stored checksum.
      r = checkModule(base.btf, file, loaded.name, loaded.btf, {
        kernel, diagnose, candidates: diagnose ? ctx.candidates : undefined, baseSha256: base.sha256,
      }, { distilledBase: loaded.btfBase, stored: loaded.storedChecksum, storedError: loaded.storedChecksumError });
    } catch (e) {
      throw bug(where, `checkModule threw ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
    }
    checkVerdict(r, kernel.version, kernel.rules ?? {}, kernel.allowBtfMismatch, kernel.vmlinuxErrno ?? 0, where, nameText);
    checkResult(r, where);
    rendered += renderAll(reportOf(base, [r], kernel.version, kernel.allowBtfMismatch, info), where, hostile);
    if (r.kernel?.log.length) {
      try { rendered += explainLog(r.kernel.log.join('\n')).length; } catch (e) {
        throw new FuzzBug('explainLog on emulated log threw', e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
      }
    }
    maxRunMs = Math.max(maxRunMs, cpuNow() - t0);
    return r;
  };
  for (const version of KERNEL_VERSIONS) {
    for (const allow of [false, true]) {
      const r = run({ version, allowBtfMismatch: allow }, `check ${version} allow=${allow}`, first);
      outcome ??= r.status;
      first = false;
    }
  }
  if (m.kernel) {
    const k = m.kernel;
    const vm = vmlinuxParse(base, k, ctx.vmlinuxCache);
    const settings: KernelSettings = { version: k.version, allowBtfMismatch: k.allow, ...(k.rules.length ? { rules: overridesOf(k) } : {}), ...(vm.errno ? { vmlinuxErrno: vm.errno } : {}) };
    run(settings, `check ${k.version}${k.rules.map(([id, on]) => ` --rule ${id}=${on ? 'on' : 'off'}`).join('')} allow=${k.allow}`, false, kernelInfoOf(k, vm.errno ? vm : null));
  }
  return { outcome: outcome!, rendered, cliMs: loadMs + maxRunMs };
}

const latin1Of = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
/** The file's name without its module extensions, `-` as `_` (the kernel's rule), as a string. */
const fileStem = (file: string): string => (file.split('/').pop() ?? file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => (a === undefined || b === undefined ? a === b : Buffer.compare(a, b) === 0);

/**
 * A changed byte in a checksummed container loaded: it must be what went in (a changed byte no
 * check covers, such as gzip's MTIME), never other bytes.
 */
async function sameAsInner(loaded: { btf?: Uint8Array; btfBase?: Uint8Array; name: string }, inner: Uint8Array, container: string, ctx: TargetContext): Promise<void> {
  const innerFile = ctx.scratch.file('inner.ko', inner);
  let expected;
  try {
    expected = await loadModule(innerFile);
  } catch (e) {
    throw new FuzzBug(`container: a changed ${container} file loaded as other bytes`, `the mutated container loaded, what it held does not: ${errorMessage(e)}`);
  }
  if (!sameBytes(loaded.btf, expected.btf) || !sameBytes(loaded.btfBase, expected.btfBase)) {
    throw new FuzzBug(`container: a changed ${container} file loaded as other bytes`, `.BTF ${loaded.btf?.length} vs ${expected.btf?.length} bytes`);
  }
}

/**
 * A base file: loadBase (a mutated checksummed container: an error or the raw BTF that went in);
 * when it loads, the base as the kernel parses it at boot (emulateVmlinuxParse: 6.12 and the
 * case's pick), modules checked against it with that errno (kernel and diagnosis), and the abi
 * comparison with the base it was mutated from, both ways.
 */
export async function runBaseTarget(m: Extract<Materialized, { target: 'base' }>, original: LoadedBase, modules: Uint8Array[], ctx: TargetContext): Promise<TargetResult> {
  const file = ctx.scratch.file('base.bin', m.bytes);
  let base: LoadedBase;
  try {
    base = await loadBase(file);
  } catch (e) {
    checkedErrorMessage(e, 'loadBase');
    return { outcome: 'error', rendered: 0 };
  }
  if (m.inner && !sameBytes(base.raw, m.inner)) throw new FuzzBug(`container: a changed ${m.container ?? 'compressed'} base loaded as other bytes`, `${base.raw.length} vs ${m.inner.length} bytes`);
  let rendered = 0;
  const picks: KernelPick[] = [{ version: '6.12', rules: [], allow: false }, ...(m.kernel ? [m.kernel] : [])];
  for (const k of picks) {
    // Not cached: a mutated base is seen once.
    const vm = vmlinuxParse(base, k);
    const where = `module on mutated base, ${k.version}${k.rules.map(([id, on]) => ` --rule ${id}=${on ? 'on' : 'off'}`).join('')} allow=${k.allow}`;
    const kernel: KernelSettings = { version: k.version, allowBtfMismatch: k.allow, ...(k.rules.length ? { rules: overridesOf(k) } : {}), ...(vm.errno ? { vmlinuxErrno: vm.errno } : {}) };
    for (const mod of modules) {
      const r = checkModule(base.btf, file, 'fuzz_mod', mod, { kernel, baseSha256: base.sha256 });
      checkResult(r, where);
      checkVerdict(r, k.version, overridesOf(k), k.allow, vm.errno, where);
      rendered += renderAll(reportOf(base, [r], k.version, k.allow, kernelInfoOf(k, vm.errno ? vm : null)), where);
    }
  }
  if (!m.abi) return { outcome: 'accepted', rendered };
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

/**
 * A pasted log: explain alone; read as a stream (LogReader) in the case's chunk size and line
 * limit, which must give what one chunk gives (chunk boundaries are not the log's doing); with a
 * base and module files to diagnose; for the picked kernel; the text report safe for a terminal.
 */
export async function runExplainTarget(m: Extract<Materialized, { target: 'explain' }>, base: LoadedBase | undefined, moduleFiles: string[]): Promise<TargetResult> {
  const text = m.text;
  let rendered = 0;
  try {
    const alone = explainLog(text);
    rendered += alone.length;
    const bytes = Buffer.from(text, 'utf8').toString('latin1');
    const streamed = (chunk: number): { result: ExplainResult; cut: number; lines: number } => {
      const x = new LogExplainer();
      const reader = new LogReader((line, n) => x.line(line, n), m.maxLine ?? DEFAULT_MAX_LINE_BYTES);
      for (let at = 0; at < bytes.length; at += chunk) reader.push(bytes.slice(at, at + chunk));
      reader.end();
      return { result: x.finish(m.kernel ? kernelContextOf(m.kernel) : undefined), cut: reader.cutCount, lines: reader.lines };
    };
    const whole = streamed(Math.max(1, bytes.length));
    // Tiny chunks over megabytes: a push per few bytes is the test's cost, not the input's.
    const chunk = Math.max(m.chunk ?? 4096, Math.ceil(bytes.length / 200_000));
    const pieces = streamed(chunk);
    const a = JSON.stringify(whole);
    const b = JSON.stringify(pieces);
    if (a !== b) {
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      throw new FuzzBug('explain: the log read in chunks explains otherwise than read whole', `chunk ${chunk}, max line ${m.maxLine}: at ${i}: ${JSON.stringify(a.slice(Math.max(0, i - 100), i + 100))} vs ${JSON.stringify(b.slice(Math.max(0, i - 100), i + 100))}`);
    }
    const { failures } = await explainFailures(text, base, moduleFiles);
    for (const [label, report] of [
      ['explain text', { log: 'fuzz.log', base: null, failures }],
      ['explain text (kernel)', { log: 'fuzz.log', base: null, failures: whole.result.failures.map((f) => ({ ...f, moduleFile: null, cause: f.likelyCause, causeFrom: 'log' as const, diagnosis: null, moduleFitsBase: null, memberOf: null })) }],
    ] as const) {
      const out = renderExplainText(report as unknown as ExplainReport, moduleFiles.length > 0);
      if (/\[object Object\]|\bNaN\b/.test(out)) throw new FuzzBug('explain: garbage in text', out.slice(0, 500));
      checkTerminal(out, label);
      if (out.length > 64 * 1024 + 200 * bytes.length) throw new FuzzBug('explain: output not proportional to the log', `${out.length} chars for ${bytes.length} bytes`);
      rendered += out.length + JSON.stringify(report).length;
    }
  } catch (e) {
    if (e instanceof FuzzBug) throw e;
    throw new FuzzBug(`explain: ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
  }
  return { outcome: 'accepted', rendered };
}

/** explain's view of a picked kernel (what --kernel, --rule and --[no-]allow-btf-mismatch give it). */
function kernelContextOf(k: KernelPick): KernelContext {
  return { version: k.version, overrides: overridesOf(k), versionFrom: '--kernel', allowBtfMismatch: k.allow, allowFrom: '--allow-btf-mismatch' };
}

/**
 * A package or initramfs (archives.ts): `check` on it (checkArchiveModules, as run-checks does) on
 * the picked kernel, every module inside giving a result in order and, in an archive that was not
 * mutated, loading to the bytes it was built from; `check --base` on it when it holds an image
 * (loadBaseFromArchives: the image that went in); the reports keep the output contract.
 */
export async function runArchiveTarget(m: Extract<Materialized, { target: 'archive' }>, base: LoadedBase, ctx: TargetContext): Promise<TargetResult> {
  const file = ctx.scratch.file(m.fileName, m.bytes);
  const expected = await Promise.all(m.members.map(async (x) => {
    try { return (await loadModuleBytes('member.ko', x.bytes)).btf ?? null; } catch { return null; }
  }));
  const k = m.kernel;
  const vm = vmlinuxParse(base, k, ctx.vmlinuxCache);
  const kernel: KernelSettings = { version: k.version, allowBtfMismatch: k.allow, ...(k.rules.length ? { rules: overridesOf(k) } : {}), ...(vm.errno ? { vmlinuxErrno: vm.errno } : {}) };
  let index = 0;
  let results: ModuleResult[];
  try {
    results = await checkArchiveModules(file, async (f, loading) => {
      const at = index++;
      let loaded;
      try {
        loaded = await loading;
      } catch (e) {
        const msg = checkedErrorMessage(e, 'archive member');
        if (!m.mutated) throw new FuzzBug('archive: a module inside does not load', `${f}: ${msg}`);
        return errorResult(f, msg);
      }
      if (!m.mutated && (at >= expected.length || !sameBytes(loaded.btf, expected[at] ?? undefined))) throw new FuzzBug('archive: a module inside is not the one that went in', `${f} (#${at} of ${expected.length})`);
      const r = checkModule(base.btf, f, loaded.name, loaded.btf, { kernel, diagnose: false, baseSha256: base.sha256 }, { distilledBase: loaded.btfBase });
      checkVerdict(r, k.version, overridesOf(k), k.allow, vm.errno, 'archive check');
      checkResult(r, 'archive check');
      return r;
    }, (f, message) => {
      checkLine(message, 'archive error');
      if (message.startsWith(`${f}: `)) throw new FuzzBug('archive: the message repeats the file name', message.slice(0, 300));
      return errorResult(f, message);
    });
  } catch (e) {
    if (e instanceof FuzzBug) throw e;
    throw new FuzzBug(`archive: checkArchiveModules threw ${e instanceof Error ? e.constructor.name : typeof e}`, e instanceof Error ? `${e.message}\n${e.stack}` : String(e));
  }
  if (!m.mutated) {
    const modules = results.filter((r) => r.status !== 'error');
    if (m.members.length && (modules.length !== m.members.length || results.length !== m.members.length)) {
      const none = results.length === 1 && /^no kernel modules/.test(results[0].error ?? '');
      throw new FuzzBug(none ? 'archive: a package with modules reported as holding none' : 'archive: modules missing from the check of a package', `${modules.length} of ${m.members.length} checked: ${JSON.stringify(results.map((r) => [r.file, r.status, r.error]).slice(0, 4))}`);
    }
  }
  let rendered = renderAll(reportOf(base, results, k.version, k.allow, kernelInfoOf(k, vm.errno ? vm : null)), 'archive report', results.map((r) => r.file));
  if (m.image && m.kind !== 'initramfs') {
    try {
      const b = await loadBaseFromArchives([file]);
      if (!m.mutated && !sameBytes(b.raw, base.raw)) throw new FuzzBug('archive: the image in the package loads as another base', `${b.raw.length} vs ${base.raw.length} bytes`);
      rendered += b.btf.nrTypes;
    } catch (e) {
      if (e instanceof FuzzBug) throw e;
      const msg = checkedErrorMessage(e, 'archive base');
      if (!m.mutated) throw new FuzzBug('archive: the image in the package does not load', msg);
      // The caller prints `btfcheck: FILE: message`: the message must not name the file again.
      if (msg.startsWith(`${file}: `)) throw new FuzzBug('archive base: the message repeats the file name', msg.slice(0, 300));
    }
  }
  return { outcome: results.some((r) => r.status === 'error') ? 'error' : results[0]?.status ?? 'accepted', rendered };
}
