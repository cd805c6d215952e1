/**
 * `abi --format junit`: for CI dashboards, one testsuite for the base diff (one testcase) and one
 * per direction with a testcase per module: failed when the other build's kernel rejects its BTF
 * or accepts it silently mismatched, an error when it could not be read, skipped without BTF.
 */
import { escapeTerminal } from '../report/escape.js';
import type { BaseDiff } from './base-diff.js';
import type { AbiModule, DirectionSummary } from './verdict.js';

/** What the renderer reads of the abi report. */
export interface AbiJunitInput {
  old: { base: string; kernel: { version: string } };
  new: { base: string; kernel: { version: string } };
  baseDiff: BaseDiff;
  newOnOld: DirectionSummary | null;
  oldOnNew: DirectionSummary | null;
  compatible: boolean;
  verdict: string;
  modules: { newOnOld: AbiModule[]; oldOnNew: AbiModule[] };
}

/** Text for an attribute or element (see lib/report/junit.ts: XML 1.0 forbids most control characters). */
function xml(s: string, keepTab = false): string {
  return escapeTerminal(s, { keepTab }).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

type Outcome = 'pass' | 'failure' | 'error' | 'skipped';

function outcome(m: AbiModule): Outcome {
  if (m.status === 'error') return 'error';
  if (m.status === 'no-btf' || m.status === 'unchecked') return 'skipped';
  if (m.kernelAccepted === false || m.staysValid === false) return 'failure';
  return 'pass';
}

function baseDiffLines(d: BaseDiff): string[] {
  if (d.kind === 'identical') return ['bases identical'];
  const lines = [`${d.kind}: first divergent type [${d.firstTypeId ?? '-'}], string offset ${d.firstStrOff ?? '-'}`];
  if (d.firstTypeDetail) {
    lines.push(`old [${d.firstTypeId}] ${d.firstTypeDetail.old.chain}`, `new [${d.firstTypeId}] ${d.firstTypeDetail.new.chain}`, `differs: ${d.firstTypeDetail.differs}`);
  }
  lines.push(`named types: ${d.added} added, ${d.removed} removed, ${d.changed} changed`);
  lines.push(`old: ${d.old.types} types, ${d.old.strLen} string bytes; new: ${d.new.types} types, ${d.new.strLen} string bytes`);
  return lines;
}

export function renderAbiJunit(r: AbiJunitInput): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;

  // The base diff: failed when it alone decides that the builds are incompatible (no modules to weigh).
  {
    const d = r.baseDiff;
    const decisive = d.kind !== 'identical' && !r.compatible && !r.newOnOld && !r.oldOnNew;
    const body = baseDiffLines(d).map((l) => xml(l)).join('\n');
    tests++;
    if (decisive) failures++;
    let out = `  <testsuite name="${xml(`btfcheck abi base diff: ${r.old.base} -> ${r.new.base}`)}" tests="1" failures="${decisive ? 1 : 0}" errors="0" skipped="0">\n`;
    out += `    <testcase classname="btfcheck.abi.base" name="base diff" file="${xml(r.new.base)}">\n`;
    out += decisive
      ? `      <failure message="${xml(`bases ${d.kind}: ${r.verdict}`)}" type="${d.kind}">${body}</failure>\n`
      : `      <system-out>${body}</system-out>\n`;
    out += '    </testcase>\n  </testsuite>\n';
    suites.push(out);
  }

  const direction = (key: 'newOnOld' | 'oldOnNew', title: string, kernel: string): void => {
    const s = r[key];
    if (!s) return;
    const modules = r.modules[key];
    const counts = { failure: 0, error: 0, skipped: 0, pass: 0 };
    let cases = '';
    for (const m of modules) {
      const o = outcome(m);
      counts[o]++;
      cases += `    <testcase classname="btfcheck.abi.${key}" name="${xml(m.module ?? m.file)}" file="${xml(m.file)}">\n`;
      if (o === 'error') cases += `      <error message="${xml(m.error ?? 'error')}"/>\n`;
      else if (o === 'skipped') cases += `      <skipped message="${m.status === 'no-btf' ? 'module has no .BTF section' : `kernel ${xml(kernel)} does not validate module BTF`}"/>\n`;
      else if (o === 'failure') {
        const rejected = m.kernelAccepted === false;
        const message = rejected
          ? `kernel ${kernel} rejects its BTF: errno ${m.errno}${m.loads === false ? '; the module does not load' : m.loads ? '; the module loads without BTF' : ''}`
          : 'accepted by the kernel but silently mismatched: its BTF describes other types on this base';
        const body = [...(m.log ?? []).map((l) => xml(l, true)), ...(m.reason ? [xml(m.reason)] : [])].join('\n');
        cases += `      <failure message="${xml(message)}" type="${rejected ? 'rejected' : 'mismatch'}">${body}</failure>\n`;
      }
      cases += '    </testcase>\n';
    }
    tests += modules.length;
    failures += counts.failure;
    errors += counts.error;
    suites.push(`  <testsuite name="${xml(`btfcheck abi: ${title} (kernel ${kernel})`)}" tests="${modules.length}" failures="${counts.failure}" errors="${counts.error}" skipped="${counts.skipped}">\n${cases}  </testsuite>\n`);
  };
  direction('newOnOld', "NEW's modules on OLD's kernel", r.old.kernel.version);
  direction('oldOnNew', "OLD's modules on NEW's kernel", r.new.kernel.version);

  return '<?xml version="1.0" encoding="UTF-8"?>\n'
    + `<testsuites name="${xml(`btfcheck abi: ${r.verdict}`)}" tests="${tests}" failures="${failures}" errors="${errors}">\n`
    + suites.join('')
    + '</testsuites>\n';
}
