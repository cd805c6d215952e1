/**
 * The version model as a user meets it: `btfcheck kernels`, --kernel forms, a kernel before 5.11
 * (unchecked, exit 0), a kernel newer than the newest known rule set (its rules, with a note),
 * --rule switches, and a base whose own BTF the chosen kernel would reject.
 */
import { describe, expect, it } from 'vitest';
import { KERNEL_CHANGES } from '../lib/kernel/index.js';
import { runCli, sample } from './helpers/cli.js';

const base47 = sample('6.1.0-47-cloud-amd64', 'vmlinux.btf.xz');
const ctr56 = sample('6.1.0-56-cloud-amd64', 'lib/modules/6.1.0-56-cloud-amd64/kernel/crypto/ctr.ko');
const base72 = sample('7.2.13+deb14-cloud-amd64', 'vmlinux.btf.xz');

describe('btfcheck kernels', () => {
  it('lists every change with its release, evidence and source; JSON has them all', () => {
    const text = runCli(['kernels']);
    expect(text.status).toBe(0);
    for (const c of KERNEL_CHANGES) expect(text.stdout).toContain(`${c.since.padEnd(5)} ${c.id}`);
    const doc = JSON.parse(runCli(['kernels', '-f', 'json']).stdout);
    expect(doc.changes.map((c: { id: string }) => c.id)).toEqual(KERNEL_CHANGES.map((c) => c.id));
    expect(doc.newestKnown).toBe('7.3');
    expect(doc.oracle.map((o: { series: string }) => o.series)).toEqual(['6.1', '6.12', '7.2', '7.3']);
  });

  it('shows one kernel\'s rule set, with backports by patch level and --rule switches', () => {
    const at = (args: string[]): Record<string, boolean> =>
      Object.fromEntries(JSON.parse(runCli(['kernels', ...args, '-f', 'json']).stdout).changes.map((c: { id: string; inForce: boolean }) => [c.id, c.inForce]));
    expect(at(['6.1.0'])['dots-in-names']).toBe(false);
    expect(at(['6.1.36'])['dots-in-names']).toBe(true);
    expect(at(['6.1'])['dots-in-names']).toBe(true);
    expect(at(['6.1.0', '--rule', 'dots-in-names=on'])['dots-in-names']).toBe(true);
    expect(at(['7.2.13+deb14-cloud-amd64'])['no-tag-order']).toBe(true);
    expect(at(['7.1'])['no-tag-order']).toBe(false);
    const r = runCli(['kernels', 'nonsense']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^btfcheck: nonsense: not a kernel version/);
  });
});

describe('check across kernel versions', () => {
  it('a kernel before 5.11 does not validate module BTF: status unchecked, loads, exit 0', () => {
    const r = runCli(['check', '-b', base47, '-k', '5.10.0-30-amd64', '-f', 'json', ctr56]);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.modules[0]).toMatchObject({ status: 'unchecked', kernel: { accepted: false, errno: 0, loads: true, log: [] } });
    expect(doc.kernel.validatesModuleBtf).toBe(false);
    expect(doc.kernel.notes).toContain('kernel 5.10 does not validate module BTF: the module loads and its BTF is ignored');
    expect(doc.summary.unchecked).toBe(1);
  });

  it('a kernel newer than the newest known rule set gets 7.3\'s rules and says so', () => {
    const newer = JSON.parse(runCli(['check', '-b', base72, '-k', '7.9.1', '-f', 'json', ctr56]).stdout);
    const known = JSON.parse(runCli(['check', '-b', base72, '-k', '7.3', '-f', 'json', ctr56]).stdout);
    expect(newer.kernel.rules).toBe('7.3');
    expect(newer.kernel.notes).toContain("kernel 7.9.1 is newer than the newest rule set btfcheck knows (7.3): 7.3's rules were applied");
    expect(newer.modules[0].kernel).toEqual(known.modules[0].kernel);
  });

  it('a kernel whose rules reject the base\'s own BTF says so once and fails every module without lines of its own', () => {
    // Debian 7.2's vmlinux has TYPE_TAGs with kind_flag, which kernels before 6.15 refuse.
    const r = runCli(['check', '-b', base72, '-k', '6.12', '--no-allow-btf-mismatch', '-f', 'json', ctr56]);
    const doc = JSON.parse(r.stdout);
    expect(doc.kernel.vmlinux.errno).toBe(-22);
    expect(doc.kernel.vmlinux.log.join('\n')).toMatch(/TYPE_TAG .*\n.*\n.*\nBPF: Invalid btf_info kind_flag/);
    expect(doc.modules[0].kernel).toEqual({ accepted: false, errno: -22, loads: false, log: ['failed to validate module [ctr] BTF: -22'] });
    const text = runCli(['check', '-b', base72, '-k', '6.12', ctr56]);
    expect(text.stdout.match(/rejects its own BTF/g)).toHaveLength(1);
  });

  it('--rule switches a change and the report says so; an unknown rule is a usage error', () => {
    const doc = JSON.parse(runCli(['check', '-b', base47, '-k', '6.1.0', '--rule', 'dots-in-names=on', '-f', 'json', ctr56]).stdout);
    expect(doc.kernel.overrides).toEqual({ 'dots-in-names': true });
    expect(doc.kernel.notes).toContain('rule dots-in-names switched on by --rule');
    const bad = runCli(['check', '-b', base47, '--rule', 'frob=on', ctr56]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^btfcheck: --rule frob=on: unknown rule frob; known: module-btf, /);
  });
});

describe('kernel config and release from a tree', () => {
  it('takes the last line for an option, as Kconfig does, and a raw vmlinuz\'s release from usr/lib/modules/<release>', async () => {
    const { readKernelConfig } = await import('../cmd/kernel-settings.js');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-config-'));
    const cfg = path.join(dir, 'config');
    fs.writeFileSync(cfg, '# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set\nCONFIG_MODULE_ALLOW_BTF_MISMATCH=y\nCONFIG_A=y\n# CONFIG_A is not set\n');
    fs.appendFileSync(cfg, 'CONFIG_A_LONGER=m\n# CONFIG_B is not set  \nCONFIG_B=\"x y\" \n');
    const config = readKernelConfig(cfg, cfg);
    expect(config.values).toMatchObject({ CONFIG_MODULE_ALLOW_BTF_MISMATCH: 'y', CONFIG_A: 'n', CONFIG_A_LONGER: 'm', CONFIG_B: '"x y"' });
    // The one-option search a check uses reads the same as the whole parse.
    for (const name of ['CONFIG_MODULE_ALLOW_BTF_MISMATCH', 'CONFIG_A', 'CONFIG_A_LONGER', 'CONFIG_B']) expect(config.value(name)).toBe(config.values[name]);
    expect(config.value('CONFIG_ABSENT')).toBeUndefined();
    const rel = path.join(dir, 'usr', 'lib', 'modules', '7.2.13+deb14-cloud-amd64');
    fs.mkdirSync(rel, { recursive: true });
    fs.copyFileSync(base72, path.join(rel, 'vmlinuz'));
    fs.copyFileSync(sample('7.2.13+deb14-cloud-amd64', 'usr/lib/modules/7.2.13+deb14-cloud-amd64/config'), path.join(rel, 'config'));
    const doc = JSON.parse(runCli(['check', '-b', path.join(rel, 'vmlinuz'), '-f', 'json', ctr56]).stdout);
    expect(doc.kernel).toMatchObject({ version: '7.2.13', allowBtfMismatch: false, config: path.join(rel, 'config') });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
