/**
 * Issue 4, acceptance 1: each Debian build's whole module tree scanned by one `btfcheck check`
 * command (worker threads), against its own base and its sibling's, with JUnit output that
 * validates against the JUnit schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { validateXML } from 'xmllint-wasm';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ABIS, moduleFiles, requireKernels, SERIES, SIBLING } from '../helpers/kernels.js';

const root = requireKernels();
const schema = fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'junit.xsd'), 'utf8');

async function validJunit(xml: string): Promise<void> {
  const res = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: schema }] });
  expect(res.errors).toEqual([]);
}

describe.each(ABIS)('tree of %s', (abi) => {
  const tree = path.join(root, abi, 'lib', 'modules', abi);
  const count = moduleFiles(abi).length;

  it('own base: one command, every module a passing testcase, valid JUnit, exit 0', async () => {
    const r = runCli(['check', '-b', path.join(root, abi, 'vmlinux.btf'), '-k', SERIES[abi], '--format', 'junit', tree], { maxBuffer: 1 << 28 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.match(/<testcase /g)).toHaveLength(count);
    expect(r.stdout).not.toMatch(/<failure|<error/);
    await validJunit(r.stdout);
  });

  it('sibling base: every module fails, valid JUnit, exit 1', async () => {
    const r = runCli(['check', '-b', path.join(root, SIBLING[abi], 'vmlinux.btf'), '-k', SERIES[abi], '--allow-btf-mismatch', '--format', 'junit', tree], { maxBuffer: 1 << 28 });
    expect(r.status).toBe(1);
    expect(r.stdout.match(/<testcase /g)).toHaveLength(count);
    expect(r.stdout.match(/<failure /g)).toHaveLength(count - (r.stdout.match(/<skipped /g)?.length ?? 0));
    await validJunit(r.stdout);
  });
});
