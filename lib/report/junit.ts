/** JUnit XML: one testcase per module, for CI dashboards. */
import { escapeTerminal } from './escape.js';
import { CheckReport } from './model.js';

/**
 * Text for an attribute or element. XML 1.0 forbids most control characters even as character
 * references, and U+FFFE, U+FFFF and lone surrogates (a file name's non-UTF-8 bytes): the
 * terminal escape writes all of them as `\xNN` / `\uXXXX`, then the markup characters are escaped.
 */
function xml(s: string, keepTab = false): string {
  return escapeTerminal(s, { keepTab }).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export function renderJunit(report: CheckReport): string {
  const s = report.summary;
  const suiteName = `btfcheck kernel ${report.kernel.version} base ${report.base.file}`;
  let out = '<?xml version="1.0" encoding="UTF-8"?>\n';
  // testsuites carries no skipped count: the common JUnit schemas (Jenkins, Ant) allow it on testsuite only.
  out += `<testsuites name="btfcheck" tests="${s.modules}" failures="${s.rejected + s.mismatch}" errors="${s.errors}">\n`;
  out += `  <testsuite name="${xml(suiteName)}" tests="${s.modules}" failures="${s.rejected + s.mismatch}" errors="${s.errors}" skipped="${s.noBtf + s.unchecked}">\n`;
  for (const r of report.modules) {
    out += `    <testcase classname="btfcheck" name="${xml(r.module ?? r.file)}" file="${xml(r.file)}">\n`;
    if (r.status === 'error') {
      out += `      <error message="${xml(r.error ?? 'error')}"/>\n`;
    } else if (r.status === 'no-btf') {
      out += '      <skipped message="module has no .BTF section"/>\n';
    } else if (r.status === 'unchecked') {
      out += `      <skipped message="kernel ${xml(report.kernel.version)} does not validate module BTF"/>\n`;
    } else if (r.status === 'rejected' || r.status === 'mismatch') {
      const first = r.status === 'rejected'
        ? `kernel rejects BTF: errno ${r.kernel?.errno}`
        : `accepted by the kernel but built against another base`;
      // Line by line: a newline inside a line is escaped, the ones between lines are kept.
      const body = [...(r.kernel?.log ?? []).map((l) => xml(l, true)), ...r.findings.map((f) => xml(`${f.severity} ${f.rule}: ${f.message}`))].join('\n');
      out += `      <failure message="${xml(first)}" type="${r.status}">${body}</failure>\n`;
    }
    out += '    </testcase>\n';
  }
  out += '  </testsuite>\n</testsuites>\n';
  return out;
}
