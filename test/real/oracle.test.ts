/**
 * Every public oracle record (520 per 6.x and 7.2 series, 220 for 7.3) replayed against the booted
 * kernel's own base BTF, with the kernel chosen as `check` chooses it when no --kernel is given:
 * the version from the vmlinux banner and CONFIG_MODULE_ALLOW_BTF_MISMATCH from the config in the
 * kernel's own tree. The emulated verdict, BPF: lines and final line must equal what the real kernel
 * printed, and a rejection must fail the load exactly where the kernel has no ALLOW_BTF_MISMATCH.
 * Needs the kernel cache (BTF_KERNELS, default ~/.cache/btf-kernels); fails when it is missing.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBase } from '../../cmd/io/index.js';
import { resolveKernelSettings } from '../../cmd/kernel-settings.js';
import { KERNEL_VERSIONS } from '../../lib/kernel/index.js';
import { ALL_ABIS, requireKernels } from '../helpers/kernels.js';
import { compareWithOracle, loadOracle, loadOracleKernels, rebuildModuleBtf } from '../helpers/oracle.js';

const root = requireKernels(ALL_ABIS);
const kernels = loadOracleKernels();
const EXPECTED_RECORDS: Record<string, number> = { '6.1': 520, '6.12': 520, '7.2': 520, '7.3': 220 };

describe.each(KERNEL_VERSIONS)('oracle %s', (series) => {
  it('reproduces every record exactly, with the kernel read from the booted build\'s own tree', async () => {
    const records = loadOracle(series);
    expect(records.length).toBe(EXPECTED_RECORDS[series]);
    const failures: string[] = [];
    let matched = 0;
    let notValidated = 0;
    let rejectedNotLoading = 0;
    const resolved = new Map<string, { base: Awaited<ReturnType<typeof loadBase>>; settings: ReturnType<typeof resolveKernelSettings> }>();
    for (const rec of records) {
      const kernel = kernels.find((k) => k.abi === rec.booted_kernel);
      if (!kernel) throw new Error(`${rec.case_id}: booted kernel ${rec.booted_kernel} is not in kernels.json`);
      let k = resolved.get(kernel.abi);
      if (!k) {
        const base = await loadBase(path.join(root, kernel.abi, 'vmlinux'));
        expect(base.sha256).toBe(kernel.vmlinux_btf_sha256);
        const settings = resolveKernelSettings({}, base);
        // The exact booted version and the build's own config, no assumption.
        expect(settings.report.version).toBe(kernel.version);
        expect(settings.report.config).not.toBeNull();
        expect(settings.report.allowBtfMismatch).toBe(kernel.config.CONFIG_MODULE_ALLOW_BTF_MISMATCH === 'y');
        expect(settings.report.vmlinux).toBeNull();
        k = { base, settings };
        resolved.set(kernel.abi, k);
      }
      const cmp = compareWithOracle(rec, k.base.btf, rebuildModuleBtf(rec, root), k.settings.settings.allowBtfMismatch, k.settings.settings.version);
      if (cmp.ok && cmp.notValidated) notValidated++;
      else if (cmp.ok) matched++;
      else failures.push(`${rec.booted_kernel} ${rec.case_id}${rec.mutation ? ` (${rec.mutation.description})` : ''}:\n  ${cmp.diffs.join('\n  ')}`);
      if (cmp.ok && !cmp.verdict.accepted && !cmp.verdict.loads) rejectedNotLoading++;
    }
    console.log(`oracle ${series}: ${matched}/${records.length} records reproduced exactly` +
      (notValidated ? `, ${notValidated} whose load failed before BTF validation (no verdict to compare)` : '') +
      `; ${rejectedNotLoading} rejections fail the load`);
    expect(failures.slice(0, 20).join('\n')).toBe('');
    expect(matched + notValidated).toBe(records.length);
    if (series.startsWith('7.')) expect(rejectedNotLoading).toBeGreaterThan(0);
  });
});
