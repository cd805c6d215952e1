/**
 * Which kernel a fuzz case is checked on, besides the oracle series (KERNEL_VERSIONS): any version
 * string the emulation takes (5.10 = module BTF unchecked, 5.11 to 7.3, point releases around the
 * stable backports, distribution release strings, kernels newer than the rules), random `--rule`
 * switches, and CONFIG_MODULE_ALLOW_BTF_MISMATCH. The contract on the verdict for a pick:
 * kernelVerdictProblems below.
 */
import fc from 'fast-check';
import { KernelVerdict } from '../../lib/kernel/index.js';
import { KERNEL_CHANGES, KERNEL_VERSIONS, kernelRules, KernelRules, MISMATCH_LINE } from '../../lib/kernel/index.js';

export interface KernelPick {
  version: string;
  /** --rule switches, in order (id, on). */
  rules: Array<[string, boolean]>;
  allow: boolean;
}

/** Versions around every change entry, backports, release strings, and kernels outside the rules. */
export const OTHER_VERSIONS = [
  '5.10', '5.10.185', '5.10.186', '5.11', '5.12', '5.13', '5.15.118', '5.15.119', '5.16', '5.17', '5.18', '5.19',
  '6.0', '6.1.35', '6.1.36', '6.3', '6.3.10', '6.4', '6.8.0-45-generic', '6.9', '6.10', '6.11', '6.11.4-301.fc41.x86_64',
  '6.15', '7.0', '7.1', '7.2.13+deb14-cloud-amd64', '7.3.4', '7.9', '8.0', '4.19', 'v6.6',
];

export const RULE_IDS = KERNEL_CHANGES.map((c) => c.id);

export const kernelPickArb: fc.Arbitrary<KernelPick> = fc.record({
  version: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...KERNEL_VERSIONS) },
    { weight: 6, arbitrary: fc.constantFrom(...OTHER_VERSIONS) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 4, max: 9 }), fc.nat({ max: 25 }), fc.option(fc.nat({ max: 300 }))).map(([a, b, c]) => (c === null ? `${a}.${b}` : `${a}.${b}.${c}`)) },
  ),
  rules: fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as Array<[string, boolean]>) },
    { weight: 2, arbitrary: fc.uniqueArray(fc.tuple(fc.constantFrom(...RULE_IDS), fc.boolean()), { minLength: 1, maxLength: 3, selector: ([id]) => id }) },
  ),
  allow: fc.boolean(),
});

export const overridesOf = (k: KernelPick): Record<string, boolean> => Object.fromEntries(k.rules);

/** The rule set of a pick (every pick is valid: listed ids, parsable versions). */
export const rulesOf = (k: KernelPick): KernelRules => kernelRules(k.version, overridesOf(k));

/** `--kernel V [--rule ID=on|off ...] --[no-]allow-btf-mismatch` for the CLI. */
export function kernelArgs(k: KernelPick): string[] {
  return ['--kernel', k.version, ...k.rules.flatMap(([id, on]) => ['--rule', `${id}=${on ? 'on' : 'off'}`]), k.allow ? '--allow-btf-mismatch' : '--no-allow-btf-mismatch'];
}

/**
 * What is wrong with a verdict of kernel `rules` (empty when it is consistent):
 * - a kernel that does not validate module BTF: unchecked, loads, no log;
 * - otherwise accepted ⇒ errno 0 and loads; rejected ⇒ a known errno, and loads exactly when
 *   ALLOW_BTF_MISMATCH is set and exists in that kernel (5.18+) or nothing was validated;
 *   a fault (6.11+ relocation) ⇒ not accepted, no errno, does not load;
 * - the base rejected by this kernel (vmlinuxErrno): every module fails with that errno, with no
 *   line of its own (only the rejection line, or the mismatch line).
 */
/** The problem of a rejection line naming the module otherwise than by its name's bytes. */
export const NAME_PROBLEM = 'the rejection line does not name the module as';

export function kernelVerdictProblems(v: KernelVerdict, status: string, rules: KernelRules, allow: boolean, vmlinuxErrno = 0, nameText?: string): string[] {
  const p: string[] = [];
  if (typeof v.accepted !== 'boolean') p.push('accepted not boolean');
  // One string per printk record; a record may hold a name's newline (text formats escape it).
  for (const line of v.log) if (typeof line !== 'string') p.push(`log line ${JSON.stringify(line)}`);
  if (!rules.validatesModuleBtf) {
    if (status !== 'unchecked' && status !== 'no-btf') p.push(`status ${status} on a kernel that does not validate module BTF`);
    if (v.accepted || v.errno !== 0 || !v.loads || v.log.length || v.fault !== undefined) p.push('unchecked but not "loads, no log"');
    return p;
  }
  if (status === 'unchecked') p.push('unchecked on a kernel that validates module BTF');
  if (status === 'no-btf') return p;
  const effectiveAllow = allow && rules.allowMismatchConfig;
  if (v.fault !== undefined) {
    if (v.accepted || v.errno !== 0 || v.loads) p.push('fault with accepted, errno or loads');
    if (!rules.readsDistilledBase) p.push('fault on a kernel that does not relocate');
  } else if (v.accepted) {
    if (v.errno !== 0 || !v.loads) p.push('accepted without errno 0 and loads');
  } else {
    if (![-22, -7, -40, -524, -2].includes(v.errno)) p.push(`errno ${v.errno}`);
    if (v.loads !== effectiveAllow) p.push(`loads ${v.loads} with ALLOW_BTF_MISMATCH ${allow} (config ${rules.allowMismatchConfig ? 'exists' : 'absent'})`);
    // The last record is the rejection line, naming the module as the kernel prints its name's bytes.
    const joined = v.log.join('\n');
    if (!joined.endsWith(MISMATCH_LINE)) {
      if (!/failed to validate module \[[^]*\] BTF: -\d+$/.test(joined)) p.push(`the log does not end in the rejection line: ${JSON.stringify(joined.slice(-300))}`);
      else if (nameText !== undefined && !joined.endsWith(`failed to validate module [${nameText}] BTF: ${v.errno}`)) p.push(`${NAME_PROBLEM} [${nameText}]: ${JSON.stringify(joined.slice(-300))}`);
    }
    if (v.log.includes(MISMATCH_LINE) && !(effectiveAllow && rules.quietMismatch)) p.push('mismatch line without quiet-mismatch and ALLOW_BTF_MISMATCH');
  }
  if (vmlinuxErrno) {
    if (v.accepted || v.errno !== vmlinuxErrno) p.push(`base rejected with ${vmlinuxErrno} but module verdict errno ${v.errno}`);
    if (v.log.length > 1 || v.log.some((l) => l.startsWith('BPF'))) p.push('base rejected but the module printed lines of its own');
  }
  return p;
}
