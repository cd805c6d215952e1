/** The human report: a verdict line per module, the kernel's lines indented, causes, a summary. */
import { ModuleResult } from '../check.js';
import { escapeStrings } from './escape.js';
import { CheckReport, errnoLabel } from './model.js';
import { renderSummaryTable, summaryTable } from './summary.js';

export interface TextOptions {
  /** Findings listed per module before "(+N more)". */
  maxFindings?: number;
  /** List only modules with a problem (a tree scan in a hook); by default every module gets a line. */
  problemsOnly?: boolean;
}

const STATUS_LABEL: Record<string, string> = {
  accepted: 'ok', rejected: 'REJECTED', mismatch: 'MISMATCH', 'no-btf': 'no-btf', unchecked: 'unchecked', error: 'ERROR',
};

/** One module's lines; `r` and `report` come escaped from renderText. */
export function renderModule(r: ModuleResult, report: CheckReport, opts: TextOptions = {}): string {
  const lines: string[] = [];
  const name = r.module ?? '?';
  lines.push(`${STATUS_LABEL[r.status].padEnd(8)} ${name}  (${r.file})`);
  const pad = '         ';
  if (r.status === 'error') {
    lines.push(`${pad}error: ${r.error}`);
    return lines.join('\n') + '\n';
  }
  if (r.status === 'no-btf') {
    lines.push(`${pad}no .BTF section: the kernel loads it without BTF`);
    return lines.join('\n') + '\n';
  }
  if (r.status === 'unchecked') {
    lines.push(`${pad}kernel ${report.kernel.version} does not validate module BTF: the module loads and its BTF is ignored`);
    return lines.join('\n') + '\n';
  }
  const k = r.kernel!;
  if (k.accepted) {
    // A clean accepted module is its verdict line alone.
    if (r.status === 'accepted' && r.findings.length === 0 && !r.checksum?.match) return lines.join('\n') + '\n';
    lines.push(`${pad}kernel ${report.kernel.version}: BTF accepted`);
  } else {
    const loads = k.loads ? 'the module still loads, without BTF' : 'the module fails to load';
    lines.push(`${pad}kernel ${report.kernel.version}: BTF rejected, errno ${errnoLabel(k.errno)}; ${loads}`);
  }
  for (const l of k.log) lines.push(`${pad}  ${l}`);
  if (k.fault) lines.push(`${pad}the real kernel would not survive this .BTF.base: ${k.fault}`);
  if (r.checksum?.match === true) lines.push(`${pad}checksum: stored base checksum matches this base`);
  if (r.checksum?.match === false) lines.push(`${pad}checksum: MISMATCH, built for base ${r.checksum.stored?.slice(0, 16)}…, this base is ${r.checksum.base.slice(0, 16)}…`);
  const explained = !!r.explanation && r.status !== 'accepted';
  // The explanation's summary already states the inferred base; say it here only without one.
  if (!explained && r.inferredBase && (r.inferredBase.types !== report.base.types || r.inferredBase.strLen !== report.base.strLen)) {
    lines.push(`${pad}built against a base with ${r.inferredBase.types} types and ${r.inferredBase.strLen} string bytes; this base has ${report.base.types} and ${report.base.strLen}`);
  }
  if (r.builtAgainst) lines.push(`${pad}built against: ${r.builtAgainst.file}`);
  else if (r.builtAgainst === null) lines.push(`${pad}built against: none of the candidate bases`);
  if (explained && r.explanation) {
    lines.push(`${pad}cause: ${r.explanation.summary}`);
    for (const e of r.explanation.evidence) lines.push(`${pad}  evidence: ${e}`);
    lines.push(`${pad}fix: ${r.explanation.fix}`);
  }
  // With an explanation the findings are evidence already summarized: show fewer.
  const max = opts.maxFindings ?? (explained ? 3 : 5);
  const shown = r.findings.filter((f) => f.severity !== 'info' || r.status !== 'accepted').slice(0, max);
  for (const f of shown) lines.push(`${pad}${f.severity} ${f.rule}${f.typeId !== null ? ` [${f.typeId}]` : ''}: ${f.message}`);
  if (r.findings.length > shown.length && shown.length === max) {
    lines.push(`${pad}(+${r.findings.length - shown.length} more findings; --format json lists them all)`);
  }
  return lines.join('\n') + '\n';
}

export function renderSummary(report: CheckReport): string {
  const s = report.summary;
  const parts = [`${s.accepted} accepted`, `${s.rejected} rejected`];
  if (s.mismatch) parts.push(`${s.mismatch} accepted but mismatched`);
  parts.push(`${s.noBtf} without BTF`);
  if (s.unchecked) parts.push(`${s.unchecked} not validated by this kernel`);
  parts.push(`${s.errors} errors`);
  return `summary: ${s.modules} modules: ${parts.join(', ')}\n`;
}

export function renderHeader(report: CheckReport): string {
  const b = report.base;
  const release = b.release ? `, release ${b.release}` : '';
  const k = report.kernel;
  const rules = k.rules && k.rules !== k.version ? `, rules of ${k.rules}` : '';
  const config = k.config ? ` (${k.config})` : '';
  const notes = (k.notes ?? []).map((n) => `  note: ${n}\n`).join('');
  const vmlinux = k.vmlinux ? `  the kernel rejects its own BTF: every module fails with ${k.vmlinux.errno}; at boot it prints:\n${k.vmlinux.log.map((l) => `    ${l}\n`).join('')}` : '';
  return `base: ${b.file}: ${b.types} types, ${b.strLen} string bytes, sha256 ${b.sha256}${release}\n` +
    `kernel: ${k.version}${k.versionFrom ? ` (${k.versionFrom})` : ''}${rules}, CONFIG_MODULE_ALLOW_BTF_MISMATCH=${k.allowBtfMismatch ? 'y' : 'n'}${config}\n${notes}${vmlinux}\n`;
}

/** The text report. Every string in it is escaped for a terminal first (./escape.ts). */
export function renderText(input: CheckReport, opts: TextOptions = {}): string {
  const report = escapeStrings(input);
  let out = renderHeader(report);
  let hidden = 0;
  for (const r of report.modules) {
    if (r.status === 'accepted' && opts.problemsOnly && r.findings.length === 0) {
      hidden++;
      continue;
    }
    out += renderModule(r, report, opts);
  }
  if (hidden) out += `(${hidden} accepted modules not listed)\n`;
  if (report.modules.length > 1) out += '\n' + renderSummaryTable(summaryTable(report.modules));
  return out + '\n' + renderSummary(report);
}
