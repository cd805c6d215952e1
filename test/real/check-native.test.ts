/**
 * Issue 2, acceptance 2: every native module of the four Debian builds is accepted by its own
 * kernel with no lines; every module of each 6.1/6.12 build is checked against its sibling's base
 * without an exception.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBase, loadModule } from '../../cmd/io/index.js';
import { checkModule } from '../../lib/check.js';
import { ABIS, moduleFiles, requireKernels, SERIES, SIBLING } from '../helpers/kernels.js';

const root = requireKernels();

describe.each(ABIS)('build %s', (abi) => {
  it('accepts every native module with no kernel lines and no findings', async () => {
    const base = await loadBase(path.join(root, abi, 'vmlinux.btf'));
    const files = moduleFiles(abi);
    expect(files.length).toBeGreaterThan(1000);
    const bad: string[] = [];
    for (const file of files) {
      const m = await loadModule(file);
      const r = checkModule(base.btf, file, m.name, m.btf, {
        kernel: { version: SERIES[abi], allowBtfMismatch: true }, baseSha256: base.sha256,
      });
      if (r.status !== 'accepted' && r.status !== 'no-btf') bad.push(`${file}: ${r.status} ${r.kernel?.log.join(' | ')}`);
      else if (r.kernel!.log.length || r.findings.some((f) => f.severity !== 'info')) bad.push(`${file}: lines or findings`);
    }
    expect(bad).toEqual([]);
  });

  it(`checks every module of ${SIBLING[abi]} against this base without an exception`, async () => {
    const base = await loadBase(path.join(root, abi, 'vmlinux.btf'));
    const files = moduleFiles(SIBLING[abi]);
    const statuses: Record<string, number> = {};
    for (const file of files) {
      const m = await loadModule(file);
      for (const allowBtfMismatch of [true, false]) {
        const r = checkModule(base.btf, file, m.name, m.btf, { kernel: { version: SERIES[abi], allowBtfMismatch }, baseSha256: base.sha256 });
        expect(r.status).not.toBe('error');
        if (allowBtfMismatch) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 'rejected') expect(r.kernel!.loads).toBe(allowBtfMismatch);
      }
    }
    // A sibling build never matches: every module is either rejected or flagged.
    expect(statuses.accepted ?? 0).toBe(0);
    expect((statuses.rejected ?? 0) + (statuses.mismatch ?? 0)).toBe(files.length - (statuses['no-btf'] ?? 0));
  });
});
