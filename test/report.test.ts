import fs from 'node:fs';
import path from 'node:path';
import { validateXML } from 'xmllint-wasm';
import { describe, expect, it } from 'vitest';
import { errorResult, ModuleResult, summarize } from '../lib/check.js';
import { renderDmesg } from '../lib/report/dmesg.js';
import { renderJunit } from '../lib/report/junit.js';
import { CheckReport, errnoLabel, toJson } from '../lib/report/model.js';
import { maskNumbers, summaryTable } from '../lib/report/summary.js';
import { renderText } from '../lib/report/text.js';

function result(over: Partial<ModuleResult>): ModuleResult {
  return {
    file: 'm.ko', module: 'm', status: 'accepted', kernel: { accepted: true, errno: 0, loads: true, log: [] }, error: null,
    findings: [], inferredBase: null, checksum: null, explanation: null, ...over,
  };
}

const rejected = result({
  file: 'lib/8250_lpss.ko', module: '8250_lpss', status: 'rejected',
  kernel: { accepted: false, errno: -22, loads: true, log: ['BPF: [94979] Invalid name_offset:1694074', 'failed to validate module [8250_lpss] BTF: -22'] },
  inferredBase: { types: 95247, strLen: 1694074 },
  explanation: { cause: 'base-mismatch', summary: 'built against another build', evidence: ['shape differs'], fix: 'rebuild it' },
});
const rejected2 = result({
  file: 'lib/ctr.ko', module: 'ctr', status: 'rejected',
  kernel: { accepted: false, errno: -22, loads: true, log: ['BPF: [95012] Invalid name_offset:1694101', 'failed to validate module [ctr] BTF: -22'] },
  explanation: { cause: 'base-mismatch', summary: 's', evidence: [], fix: 'f' },
});
const mismatch = result({
  file: 'lib/cordic.ko', module: 'cordic', status: 'mismatch',
  findings: [{ rule: 'name-mid-string', severity: 'error', typeId: 94977, message: "name 'rimary_device' starts mid-string" }],
  inferredBase: { types: 95247, strLen: 1694074 },
});
const broken = errorResult('lib/broken.ko', 'section .BTF (offset 9999, 10 bytes) runs past the end of the 100-byte file');
const noBtf = result({ file: 'lib/nobtf.ko', module: 'nobtf', status: 'no-btf', kernel: { accepted: false, errno: 0, loads: true, log: [] } });
const ok = result({ file: 'lib/ok.ko', module: 'ok' });

const modules = [rejected, rejected2, mismatch, broken, noBtf, ok];
const report: CheckReport = {
  base: { file: 'vmlinux', types: 94976, strLen: 1689866, sha256: 'ab'.repeat(32), release: '6.1.0-47-cloud-amd64' },
  kernel: { version: '6.1', allowBtfMismatch: true },
  modules,
  summary: summarize(modules),
};

describe('summary', () => {
  it('counts each status', () => {
    expect(report.summary).toEqual({ modules: 6, accepted: 1, rejected: 2, mismatch: 1, noBtf: 1, unchecked: 0, errors: 1 });
  });
  it('groups the kernel messages with numbers masked, and modules by cause', () => {
    const t = summaryTable(modules);
    expect(maskNumbers('BPF: [94979] Invalid name_offset:1694074')).toBe('BPF: [N] Invalid name_offset:N');
    expect(t.firstMessages).toEqual([{ message: 'type: Invalid name_offset:N', count: 2, example: '8250_lpss: BPF: [94979] Invalid name_offset:1694074' }]);
    expect(t.byCause[0]).toEqual({ cause: 'base-mismatch', count: 2, modules: ['8250_lpss', 'ctr'] });
    expect(t.byStatus).toEqual({ rejected: 2, mismatch: 1, error: 1, 'no-btf': 1, accepted: 1 });
  });
  it('names what failed, not the type header printed before it', () => {
    const member = result({ module: 'igbvf', status: 'rejected', kernel: { accepted: false, errno: -22, loads: true, log: ['BPF: \t type_id=55 bits_offset=128', 'BPF:  ', 'BPF: Invalid name', 'BPF: ', 'failed to validate module [igbvf] BTF: -22'] } });
    const silent = result({ module: 'q', status: 'rejected', kernel: { accepted: false, errno: -22, loads: true, log: ['failed to validate module [q] BTF: -22'] } });
    const t = summaryTable([member, silent]);
    expect(t.firstMessages.map((m) => m.message)).toEqual(['member: Invalid name', 'none: rejected without a BPF: line']);
  });
});

describe('text', () => {
  const text = renderText(report);
  it('gives each problem module a verdict line with the kernel lines indented', () => {
    expect(text).toContain('REJECTED 8250_lpss  (lib/8250_lpss.ko)');
    expect(text).toContain('BTF rejected, errno -22 (EINVAL); the module still loads, without BTF');
    expect(text).toContain('           BPF: [94979] Invalid name_offset:1694074\n');
    expect(text).toContain('cause: built against another build\n');
    expect(text).toContain('fix: rebuild it\n');
    // Stated once: by the explanation when there is one, else from the inferred base.
    expect(text.match(/built against a base with 95247 types/g)).toHaveLength(1);
    expect(text).toContain('MISMATCH cordic  (lib/cordic.ko)\n         kernel 6.1: BTF accepted\n         built against a base with 95247 types and 1694074 string bytes; this base has 94976 and 1689866');
    expect(text).toContain("error name-mid-string [94977]: name 'rimary_device' starts mid-string");
    expect(text).toContain('ERROR    ?  (lib/broken.ko)');
  });
  it('gives a clean accepted module its verdict line alone (none with --problems-only), and ends with the summary', () => {
    expect(text).toContain('ok       ok  (lib/ok.ko)\n\n');
    const problems = renderText(report, { problemsOnly: true });
    expect(problems).not.toContain('(lib/ok.ko)');
    expect(problems).toContain('(1 accepted module not listed)');
    expect(text.trimEnd().split('\n').pop()).toBe('summary: 6 modules: 1 accepted, 2 rejected, 1 accepted but mismatched, 1 without BTF, 1 error');
  });
});

describe('dmesg', () => {
  it('prints only the kernel lines, in order', () => {
    expect(renderDmesg(report)).toBe(
      'BPF: [94979] Invalid name_offset:1694074\nfailed to validate module [8250_lpss] BTF: -22\n' +
      'BPF: [95012] Invalid name_offset:1694101\nfailed to validate module [ctr] BTF: -22\n');
  });
});

describe('json', () => {
  it('keeps the stable field names', () => {
    const doc = JSON.parse(toJson(report));
    expect(Object.keys(doc)).toEqual(['base', 'kernel', 'modules', 'summary']);
    expect(Object.keys(doc.base)).toEqual(expect.arrayContaining(['file', 'types', 'strLen', 'sha256']));
    expect(doc.modules[0]).toMatchObject({ file: 'lib/8250_lpss.ko', module: '8250_lpss', status: 'rejected', kernel: { accepted: false, errno: -22, loads: true } });
    expect(doc.modules[3]).toMatchObject({ status: 'error', kernel: null, error: expect.stringContaining('runs past the end') });
  });
  it('writes bigint values as strings', () => {
    expect(toJson({ v: 1n << 63n })).toContain('"9223372036854775808"');
  });
  it('labels errnos', () => {
    expect(errnoLabel(-524)).toBe('-524 (ENOTSUPP)');
    expect(errnoLabel(-99)).toBe('-99');
  });
});

describe('junit', () => {
  const schema = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'junit.xsd'), 'utf8');
  it('validates against the JUnit schema, one testcase per module', async () => {
    const xml = renderJunit(report);
    const res = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
    expect(res.errors).toEqual([]);
    expect(res.valid).toBe(true);
    expect(xml.match(/<testcase /g)).toHaveLength(6);
    expect(xml).toContain('<failure message="kernel rejects BTF: errno -22" type="rejected">');
  });
  it('the schema rejects a malformed report (the check can fail)', async () => {
    const bad = renderJunit(report).replace('<testcase classname', '<testcase-x classname');
    const res = await validateXML({ xml: [{ fileName: 'bad.xml', contents: bad }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
    expect(res.valid).toBe(false);
  });
  it('escapes control characters the kernel can print (a name with \\x01)', async () => {
    const odd = result({ module: 'odd', status: 'rejected', kernel: { accepted: false, errno: -22, loads: true, log: ['BPF: [1] STRUCT \x01csi & <x> '] } });
    const xml = renderJunit({ ...report, modules: [odd], summary: summarize([odd]) });
    expect(xml).toContain('BPF: [1] STRUCT \\x01csi &amp; &lt;x&gt; ');
    const res = await validateXML({ xml: [{ fileName: 'o.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
    expect(res.valid).toBe(true);
  });
});
