/** JUnit XML: one testcase per module, for CI dashboards. */
import { CheckReport } from './model.js';

function xml(s: string): string {
  // XML 1.0 forbids most control characters even when escaped; show them as \xNN instead.
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
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
      const body = [...(r.kernel?.log ?? []), ...r.findings.map((f) => `${f.severity} ${f.rule}: ${f.message}`)].join('\n');
      out += `      <failure message="${xml(first)}" type="${r.status}">${xml(body)}</failure>\n`;
    }
    out += '    </testcase>\n';
  }
  out += '  </testsuite>\n</testsuites>\n';
  return out;
}
