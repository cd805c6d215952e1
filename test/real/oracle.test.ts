/**
 * Every public oracle record (520 per series) replayed against the booted kernel's own base BTF:
 * the emulated verdict, BPF: lines and final line must equal what the real kernel printed.
 * Needs the kernel cache (BTF_KERNELS, default ~/.cache/btf-kernels); fails when it is missing.
 */
import { describe, expect, it } from 'vitest';
import { KERNEL_VERSIONS } from '../../lib/kernel/index.js';
import { requireKernels } from '../helpers/kernels.js';
import { compareWithOracle, loadOracle, loadOracleKernels, oracleBase, rebuildModuleBtf } from '../helpers/oracle.js';

const root = requireKernels();
const kernels = loadOracleKernels();

describe.each(KERNEL_VERSIONS)('oracle %s', (series) => {
  it('reproduces every record exactly', () => {
    const records = loadOracle(series);
    expect(records.length).toBe(520);
    const failures: string[] = [];
    let matched = 0;
    let notValidated = 0;
    for (const rec of records) {
      const kernel = kernels.find((k) => k.abi === rec.booted_kernel);
      if (!kernel) throw new Error(`${rec.case_id}: booted kernel ${rec.booted_kernel} is not in kernels.json`);
      const allow = kernel.config.CONFIG_MODULE_ALLOW_BTF_MISMATCH === 'y';
      const cmp = compareWithOracle(rec, oracleBase(kernel, root), rebuildModuleBtf(rec, root), allow);
      if (cmp.ok && cmp.notValidated) notValidated++;
      else if (cmp.ok) matched++;
      else failures.push(`${rec.booted_kernel} ${rec.case_id}${rec.mutation ? ` (${rec.mutation.description})` : ''}:\n  ${cmp.diffs.join('\n  ')}`);
    }
    console.log(`oracle ${series}: ${matched}/${records.length} records reproduced exactly` +
      (notValidated ? `, ${notValidated} whose load failed before BTF validation (no verdict to compare)` : ''));
    expect(failures.slice(0, 20).join('\n')).toBe('');
    expect(matched + notValidated).toBe(records.length);
  });
});
