/**
 * Issue 9: fail policy by consequence, the same four words in `check --fail-on` and the hooks'
 * BTFCHECK_FAIL_ON: unloadable (a module the kernel would refuse to load), rejected (any BTF
 * rejection), mismatch (also BTF accepted but built against another base), never. On the same
 * installed trees, `check`'s exit status (0 or 1) and the postinst.d hook's agree for every word.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot, runCli, sample } from './helpers/cli.js';

const HOOKS = path.join(repoRoot, 'samples', 'hooks');
const OLD = '6.1.0-47-cloud-amd64';
const NEW = '6.1.0-56-cloud-amd64';
const R12 = '7.2.12+deb13-cloud-amd64';
const R13 = '7.2.13+deb14-cloud-amd64';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'btfcheck-policy-'));
const tree7 = (abi: string) => sample(abi, 'usr', 'lib', 'modules', abi);

interface Scenario { root: string; release: string; image: string; config: string; modules: string }

/** An installed system: `release`'s modules (from `files`), the image and config of `imageOf`. */
function system(name: string, release: string, imageOf: string, config: string, files: Record<string, string>): Scenario {
  const root = path.join(tmp, name);
  const modules = path.join(root, 'lib', 'modules', release);
  fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
  for (const [dest, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(modules, dest)), { recursive: true });
    fs.cpSync(src, path.join(modules, dest), { recursive: true });
  }
  const image = path.join(root, 'boot', `vmlinuz-${release}`);
  fs.copyFileSync(sample(imageOf, 'vmlinux.btf.xz'), image);
  fs.copyFileSync(config, path.join(root, 'boot', `config-${release}`));
  return { root, release, image, config: path.join(root, 'boot', `config-${release}`), modules };
}

const SCENARIOS: Record<string, Scenario> = {
  // 6.1 (ALLOW_BTF_MISMATCH=y): another build's modules are rejected but load without BTF, two are silent mismatches.
  'rejected, loads without BTF': system('loads', OLD, NEW, sample(NEW, 'config'), { kernel: sample(OLD, 'lib', 'modules', OLD, 'kernel') }),
  // 7.2 (no ALLOW_BTF_MISMATCH): a 7.2.12 module in 7.2.13's updates/ does not load.
  'rejected, will not load': system('unloadable', R13, R13, path.join(tree7(R13), 'config'), {
    kernel: path.join(tree7(R13), 'kernel'), 'updates/dm-zero.ko.xz': path.join(tree7(R12), 'kernel', 'drivers', 'md', 'dm-zero.ko.xz'),
  }),
  // ctr of 6.1.0-47 on 6.1.0-56's kernel: accepted, but built against another base.
  'silent mismatch only': system('mismatch', OLD, NEW, sample(NEW, 'config'), { 'kernel/ctr.ko': sample(OLD, 'lib', 'modules', OLD, 'kernel', 'crypto', 'ctr.ko') }),
  'consistent': system('ok', R13, R13, path.join(tree7(R13), 'config'), { kernel: path.join(tree7(R13), 'kernel') }),
};

const EXPECTED: Record<string, Record<string, 0 | 1>> = {
  'rejected, loads without BTF': { unloadable: 0, rejected: 1, mismatch: 1, never: 0 },
  'rejected, will not load': { unloadable: 1, rejected: 1, mismatch: 1, never: 0 },
  'silent mismatch only': { unloadable: 0, rejected: 0, mismatch: 1, never: 0 },
  'consistent': { unloadable: 0, rejected: 0, mismatch: 0, never: 0 },
};

describe.each(Object.keys(SCENARIOS))('%s', (name) => {
  const s = SCENARIOS[name];
  it.each(['unloadable', 'rejected', 'mismatch', 'never'])('--fail-on %s and BTFCHECK_FAIL_ON agree', (policy) => {
    const cli = runCli(['check', '--base', s.image, '--kernel', s.release, '--config', s.config, '--fail-on', policy, '--format', 'json', s.modules]);
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(EXPECTED[name][policy]);
    const hook = spawnSync(path.join(HOOKS, 'zy-btfcheck'), [s.release], {
      encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, BTFCHECK: `${process.execPath} ${cliPath}`, BTFCHECK_ROOT: s.root, BTFCHECK_FAIL_ON: policy, BTFCHECK_VERBOSE: '', BTFCHECK_TIMEOUT: '' },
    });
    expect(hook.status, hook.stderr).toBe(EXPECTED[name][policy]);
    // The hook reports every problem whatever the policy.
    const problems = (JSON.parse(cli.stdout).modules as { status: string }[]).filter((m) => m.status === 'rejected' || m.status === 'mismatch').length;
    expect(hook.stderr.split('\n').filter(Boolean)).toHaveLength(problems);
  }, 60_000);
});

describe('check --fail-on', () => {
  it('defaults to mismatch; the hooks default to unloadable', () => {
    const s = SCENARIOS['silent mismatch only'];
    expect(runCli(['check', '--base', s.image, '--kernel', s.release, '--config', s.config, s.modules]).status).toBe(1);
    const hook = spawnSync(path.join(HOOKS, 'zy-btfcheck'), [s.release], {
      encoding: 'utf8', env: { ...process.env, BTFCHECK: `${process.execPath} ${cliPath}`, BTFCHECK_ROOT: s.root, BTFCHECK_FAIL_ON: '', BTFCHECK_VERBOSE: '' },
    });
    expect(hook.status).toBe(0);
  });

  it('an unknown word is a usage error (exit 2) naming the four; --help explains them', () => {
    const s = SCENARIOS.consistent;
    const bad = runCli(['check', '--base', s.image, '--fail-on', 'always', s.modules]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unloadable.*rejected.*mismatch.*never/s);
    const help = runCli(['check', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--fail-on/);
    for (const w of ['unloadable', 'rejected', 'mismatch', 'never']) expect(help.stdout).toContain(w);
  });

  it('never still exits 2 on an unreadable module', () => {
    const s = SCENARIOS.consistent;
    const junk = path.join(tmp, 'junk.ko');
    fs.writeFileSync(junk, 'not a module');
    expect(runCli(['check', '--base', s.image, '--kernel', s.release, '--fail-on', 'never', junk]).status).toBe(2);
  });
});
