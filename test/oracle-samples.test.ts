/**
 * The kernel-oracle records (what real Debian 6.1 and 6.12 kernels printed in qemu) whose modules
 * ship in samples/: native, cross-build and mutated modules, replayed against the bundled bases.
 * The full set of 1040 records runs in the real-kernel suite (test/real/oracle.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { samplesDir } from './helpers/kernels.js';
import { compareWithOracle, loadOracle, loadOracleKernels, oracleBase, rebuildModuleBtf } from './helpers/oracle.js';

const samples = samplesDir();
const kernels = loadOracleKernels();

// 7.3 has one build only (no cross records) and no modules in samples/: the real-kernel suite covers it.
const MIN_RECORDS: Record<string, number> = { '6.1': 150, '6.12': 100, '7.2': 250 };

describe.each(Object.keys(MIN_RECORDS))('oracle %s on samples/', (series) => {
  const records = loadOracle(series).filter((r) => fs.existsSync(path.join(samples, r.module_from, r.module_file)));

  it('covers native, cross-build and mutated records', () => {
    const cases = new Set(records.map((r) => r.case));
    expect([...cases].sort()).toEqual(['cross', 'mutant', 'native']);
    expect(records.length).toBeGreaterThan(MIN_RECORDS[series]);
    expect(records.some((r) => r.btf_accepted)).toBe(true);
    expect(records.some((r) => !r.btf_accepted)).toBe(true);
  });

  it('reproduces each verdict, BPF: line and final line exactly', () => {
    const failures: string[] = [];
    for (const rec of records) {
      const kernel = kernels.find((k) => k.abi === rec.booted_kernel)!;
      const base = oracleBase(kernel, samples, 'vmlinux.btf.xz');
      // The rules of the exact booted version, as a release read from the kernel would give.
      const cmp = compareWithOracle(rec, base, rebuildModuleBtf(rec, samples), kernel.config.CONFIG_MODULE_ALLOW_BTF_MISMATCH === 'y');
      if (!cmp.ok) failures.push(`${rec.booted_kernel} ${rec.case_id}: ${cmp.diffs.join('; ')}`);
    }
    expect(failures).toEqual([]);
  });
});
