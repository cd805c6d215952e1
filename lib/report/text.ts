/** The human report: a verdict line per module, the kernel's lines indented, causes, a summary. */
import { ModuleResult } from '../check.js';
import { escapeStrings } from './escape.js';
import { CheckReport, errnoLabel } from './model.js';
import { noun, plural } from './plural.js';
import { renderSummaryTable, summaryTable } from './summary.js';
import { paragraph, styleFor } from './style.js';

export interface TextOptions {
  /**
   * --max-findings: when given, each module lists the findings JSON lists (up to this many per rule,
   * then the rule's "... and N more" line). When not, a digest: the first 3 (5 without a cause).
   */
  maxFindings?: number;
  /** List only modules with a problem (a tree scan in a hook); by default every module gets a line. */
  problemsOnly?: boolean;
  /** Colour (SGR sequences) for a terminal. */
  color?: boolean;
  /** The terminal's width: prose lines wrap to fit it. The kernel's own lines never wrap. */
  width?: number;
}

const STATUS_LABEL: Record<string, string> = {
  accepted: 'ok', rejected: 'REJECTED', mismatch: 'MISMATCH', 'no-btf': 'no-btf', unchecked: 'unchecked', error: 'ERROR',
};

/** One module's lines; `r` and `report` come escaped from renderText. */
export function renderModule(r: ModuleResult, report: CheckReport, opts: TextOptions = {}): string {
  const st = styleFor(opts.color);
  const lines: string[] = [];
  const name = r.module ?? '?';
  const pad = '         ';
  const say = (text: string, label = '', labelStyle: (s: string) => string = (s) => s, indent = pad): void => {
    lines.push(...paragraph(indent, label, text, opts.width, labelStyle));
  };
  lines.push(`${st.status(r.status, STATUS_LABEL[r.status].padEnd(8))} ${st.bold(name)}  (${r.file})`);
  if (r.status === 'error') {
    say(r.error ?? 'error', 'error: ', st.red);
    return lines.join('\n') + '\n';
  }
  if (r.status === 'no-btf') {
    say('no .BTF section: the kernel loads it without BTF');
    return lines.join('\n') + '\n';
  }
  if (r.status === 'unchecked') {
    say(`kernel ${report.kernel.version} does not validate module BTF: the module loads and its BTF is ignored`);
    return lines.join('\n') + '\n';
  }
  const k = r.kernel!;
  if (k.accepted) {
    // A clean accepted module is its verdict line alone.
    if (r.status === 'accepted' && r.findings.length === 0 && !r.checksum?.match) return lines.join('\n') + '\n';
    say(`kernel ${report.kernel.version}: BTF accepted`);
  } else {
    const loads = k.loads ? 'the module still loads, without BTF' : 'the module fails to load';
    say(`BTF rejected, errno ${errnoLabel(k.errno)}; ${loads}`, `kernel ${report.kernel.version}: `);
  }
  // The kernel's lines exactly as it prints them: never wrapped, never coloured.
  for (const l of k.log) lines.push(`${pad}  ${l}`);
  if (k.fault) say(k.fault, 'the real kernel would not survive this .BTF.base: ');
  if (r.checksum?.match === true) say('stored base checksum matches this base', 'checksum: ');
  if (r.checksum?.match === false) say(`MISMATCH, built for base ${r.checksum.stored?.slice(0, 16)}…, this base is ${r.checksum.base.slice(0, 16)}…`, 'checksum: ', st.red);
  const explained = !!r.explanation && r.status !== 'accepted';
  // The explanation's summary already states the inferred base; say it here only without one.
  if (!explained && r.inferredBase && (r.inferredBase.types !== report.base.types || r.inferredBase.strLen !== report.base.strLen)) {
    say(`built against a base with ${plural(r.inferredBase.types, 'type')} and ${plural(r.inferredBase.strLen, 'string byte')}; this base has ${report.base.types} and ${report.base.strLen}`);
  }
  if (r.builtAgainst) say(r.builtAgainst.file, 'built against: ');
  else if (r.builtAgainst === null) say('none of the candidate bases', 'built against: ');
  if (explained && r.explanation) {
    say(r.explanation.summary, 'cause: ', st.bold);
    for (const e of r.explanation.evidence) say(e, 'evidence: ', st.dim, `${pad}  `);
    say(r.explanation.fix, 'fix: ', st.green);
  }
  const visible = r.findings.filter((f) => f.severity !== 'info' || r.status !== 'accepted');
  // --max-findings N: what JSON lists (N per rule, each rule's "... and N more" line). Else a digest,
  // shorter with an explanation (its findings are evidence already summarized).
  const shown = opts.maxFindings !== undefined ? visible : visible.slice(0, explained ? 3 : 5);
  for (const f of shown) {
    const label = `${f.severity} ${f.rule}${f.typeId !== null ? ` [${f.typeId}]` : ''}: `;
    say(f.message, label, (s) => st.severity(f.severity, s));
  }
  const more = visible.length - shown.length;
  if (more > 0) lines.push(`${pad}${st.dim(`(+${more} more ${noun(more, 'finding')}; --max-findings N lists up to N per rule)`)}`);
  return lines.join('\n') + '\n';
}

export function renderSummary(report: CheckReport, opts: TextOptions = {}): string {
  const st = styleFor(opts.color);
  const s = report.summary;
  const parts = [st.count(s.accepted, 'green', `${s.accepted} accepted`), st.count(s.rejected, 'red', `${s.rejected} rejected`)];
  if (s.mismatch) parts.push(st.count(s.mismatch, 'yellow', `${s.mismatch} accepted but mismatched`));
  parts.push(`${s.noBtf} without BTF`);
  if (s.unchecked) parts.push(`${s.unchecked} not validated by this kernel`);
  parts.push(st.count(s.errors, 'red', plural(s.errors, 'error')));
  return paragraph('', `summary: ${plural(s.modules, 'module')}: `, parts.join(', '), opts.width).join('\n') + '\n';
}

export function renderHeader(report: CheckReport, opts: TextOptions = {}): string {
  const b = report.base;
  const release = b.release ? `, release ${b.release}` : '';
  const k = report.kernel;
  const rules = k.rules && k.rules !== k.version ? `, rules of ${k.rules}` : '';
  const config = k.config ? ` (${k.config})` : '';
  const out: string[] = [
    ...paragraph('', 'base: ', `${b.file}: ${plural(b.types, 'type')}, ${plural(b.strLen, 'string byte')}, sha256 ${b.sha256}${release}`, opts.width),
    ...paragraph('', 'kernel: ', `${k.version}${k.versionFrom ? ` (${k.versionFrom})` : ''}${rules}, CONFIG_MODULE_ALLOW_BTF_MISMATCH=${k.allowBtfMismatch ? 'y' : 'n'}${config}`, opts.width),
  ];
  for (const n of k.notes ?? []) out.push(...paragraph('  ', 'note: ', n, opts.width));
  if (k.vmlinux) {
    out.push(...paragraph('  ', '', `the kernel rejects its own BTF: every module fails with ${k.vmlinux.errno}; at boot it prints:`, opts.width));
    for (const l of k.vmlinux.log) out.push(`    ${l}`);
  }
  return out.join('\n') + '\n\n';
}

/** The text report. Every string in it is escaped for a terminal first (./escape.ts). */
export function renderText(input: CheckReport, opts: TextOptions = {}): string {
  const report = escapeStrings(input);
  let out = renderHeader(report, opts);
  let hidden = 0;
  for (const r of report.modules) {
    if (r.status === 'accepted' && opts.problemsOnly && r.findings.length === 0) {
      hidden++;
      continue;
    }
    out += renderModule(r, report, opts);
  }
  if (hidden) out += `(${plural(hidden, 'accepted module')} not listed)\n`;
  if (report.modules.length > 1) out += '\n' + renderSummaryTable(summaryTable(report.modules), 5, 8, opts);
  return out + '\n' + renderSummary(report, opts);
}
