/**
 * Issue 8, acceptance 2, through the command line as a user runs it on Debian 7.x (no --kernel, no
 * --config): every native module of 7.2.12, 7.2.13 and 7.3.4 is accepted with no findings against
 * its own vmlinuz, the report shows CONFIG_MODULE_ALLOW_BTF_MISMATCH=n read from the tree's config;
 * 7.2.12's modules on 7.2.13's kernel and back are all rejected, do not load, are blamed on a base
 * mismatch, and the inferred build-time base is exact for at least 99 %.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ABIS_7, buildLayout, requireKernels, SIBLING_7 } from '../helpers/kernels.js';
import { loadOracleKernels } from '../helpers/oracle.js';
import { runCli } from '../helpers/cli.js';

const root = requireKernels(ABIS_7);
const inBuild = (abi: string, rel: string): string => path.join(root, abi, rel);
const kernels = loadOracleKernels();

interface Doc {
  kernel: { version: string; allowBtfMismatch: boolean; config: string | null; notes: string[] };
  summary: Record<string, number>;
  modules: { module: string; status: string; findings: unknown[]; kernel: { loads: boolean; log: string[] } | null; explanation: { cause: string } | null; inferredBase: { types: number; strLen: number } | null }[];
}

function check(baseAbi: (typeof ABIS_7)[number], modulesAbi: (typeof ABIS_7)[number]): { status: number | null; doc: Doc } {
  const r = runCli(['check', '--format', 'json', '--base', inBuild(baseAbi, buildLayout(baseAbi).vmlinuz), inBuild(modulesAbi, buildLayout(modulesAbi).modules)], { maxBuffer: 1 << 30, timeout: 300_000 });
  expect(r.stderr).toBe('');
  return { status: r.status, doc: JSON.parse(r.stdout) as Doc };
}

describe.each(ABIS_7)('Debian %s', (abi) => {
  it('accepts every native module with no lines and no findings; ALLOW_BTF_MISMATCH=n from the tree', () => {
    const { status, doc } = check(abi, abi);
    const own = kernels.find((k) => k.abi === abi)!;
    expect(doc.kernel).toMatchObject({ version: own.version, allowBtfMismatch: false, config: inBuild(abi, buildLayout(abi).config) });
    expect(doc.kernel.notes).toEqual([]);
    expect(doc.modules.length).toBeGreaterThan(1000);
    const bad = doc.modules.filter((m) => m.status !== 'accepted' || m.findings.length || m.kernel?.log.length).map((m) => `${m.module}: ${m.status}`);
    expect(bad).toEqual([]);
    expect(status).toBe(0);
  });
});

describe.each(ABIS_7.filter((a) => SIBLING_7[a]))('modules of the other 7.2 build on %s', (abi) => {
  it('are all rejected, do not load, are blamed on the base, and the inferred base is exact for >= 99 %', () => {
    const other = SIBLING_7[abi]!;
    const { status, doc } = check(abi, other);
    const built = kernels.find((k) => k.abi === other)!;
    const n = doc.modules.length;
    expect(n).toBeGreaterThan(1000);
    expect(doc.summary.rejected).toBe(n);
    expect(doc.modules.filter((m) => m.kernel?.loads !== false)).toEqual([]);
    expect(doc.modules.filter((m) => m.explanation?.cause !== 'base-mismatch').map((m) => m.module)).toEqual([]);
    const exact = doc.modules.filter((m) => m.inferredBase?.types === built.vmlinux_btf_nr_types && m.inferredBase?.strLen === built.vmlinux_btf_str_len).length;
    // An inference is never wrong: a module either names its build-time base exactly or names none.
    expect(doc.modules.filter((m) => m.inferredBase && !(m.inferredBase.types === built.vmlinux_btf_nr_types && m.inferredBase.strLen === built.vmlinux_btf_str_len))).toEqual([]);
    console.log(`${other} on ${abi}: ${n} rejected, inferred base exact for ${exact} (${(100 * exact / n).toFixed(1)} %)`);
    expect(exact / n).toBeGreaterThanOrEqual(0.99);
    expect(status).toBe(1);
  });
});
