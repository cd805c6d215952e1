/**
 * Replays btf_module_notify(MODULE_STATE_COMING) → btf_parse_module() of Linux 6.1 / 6.12 on a
 * module's raw .BTF bytes, on top of the running kernel's vmlinux BTF, and returns what the kernel
 * decides and prints.
 *
 * btf_parse_module() runs, in order: btf_parse_hdr (with btf_check_sec_info), btf_parse_str_sec,
 * btf_check_all_metas (btf_check_meta + kind_ops[kind]->check_meta for every type) and
 * btf_check_type_tags. It does not run the resolve phase (btf_check_all_types) nor
 * btf_parse_type_sec's alignment check. The module's bytes are walked here directly, like the
 * kernel does (verifier.ts); Btf.parseSplit is never used for them (it rejects what the kernel may
 * accept and vice versa). The base is the kernel's own, already validated BTF, so the Btf object
 * is trusted. In 6.12 a module's .BTF.base (distilled base) is parsed first as a base of its own,
 * the module is checked on top of it, then relocated onto vmlinux (relocate.ts).
 *
 * Any byte string yields a verdict; nothing here throws for hostile input.
 */
import { Btf } from '../btf/btf.js';
import { InputError } from '../errors.js';
import { KERNEL_RULES, KernelVersion } from '../../rules/kernel/versions.js';
import { KernelLog } from './log.js';
import { relocate } from './relocate.js';
import { kernelBytesToText } from './text.js';
import { BtfVerifier, vmlinuxBase } from './verifier.js';

export interface EmulateOptions {
  version: KernelVersion;
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH of the running kernel (Debian: y). */
  allowBtfMismatch: boolean;
  /** Default true: print once-per-boot lines (pr_warn_once), as for the first rejection of a boot. */
  firstRejectionInBoot?: boolean;
  /**
   * The module's .BTF.base section (distilled base BTF), if the module has one (even empty).
   * 6.1 ignores it and validates .BTF against vmlinux as always. 6.12 parses it as a base, checks
   * .BTF on top of it, then relocates .BTF onto vmlinux (btf_relocate).
   */
  distilledBase?: Uint8Array;
}

export interface KernelVerdict {
  /** The kernel kept the module's BTF (/sys/kernel/btf/<module> appears). */
  accepted: boolean;
  /** 0 when accepted (or when there is no BTF to validate), else the negative errno, e.g. -22. */
  errno: number;
  /** Whether the module itself still loads (always with ALLOW_BTF_MISMATCH=y). */
  loads: boolean;
  /**
   * Every kernel line of the BTF validation, in order, as dmesg shows the text without timestamp:
   * the `BPF: ...` lines (and, for a 6.12 module with .BTF.base, btf_relocate's own warnings, which
   * have no prefix), then `failed to validate module [NAME] BTF: -22` or (6.12 with
   * ALLOW_BTF_MISMATCH, first rejection of a boot only) the mismatch line. Bytes that are not
   * valid UTF-8 appear as `\xNN` (see text.ts).
   */
  log: string[];
  /**
   * Set when the real kernel would not come back with a verdict at all (6.12 btf_relocate on
   * hostile .BTF.base input: a NULL dereference or an endless loop). The verdict is then
   * accepted: false, errno: 0, loads: false, and `log` holds the lines printed before.
   */
  fault?: string;
}

export function emulateModuleLoad(base: Btf, moduleBtf: Uint8Array, moduleName: string, opts: EmulateOptions): KernelVerdict {
  const rules = KERNEL_RULES[opts.version];
  if (!rules) throw new InputError(`unknown kernel version ${String(opts.version)}`);
  // btf_module_notify: a module without BTF (btf_data_size == 0) is not validated at all.
  if (moduleBtf.length === 0) return { accepted: false, errno: 0, loads: true, log: [] };

  const out = new KernelLog(rules);
  const result = parseModule(rules.readsDistilledBase ? opts.distilledBase : undefined);
  const lines = (): string[] => out.lines.map(kernelBytesToText);
  if (typeof result !== 'number') return { accepted: false, errno: 0, loads: false, log: lines(), fault: result.fault };
  if (result === 0) return { accepted: true, errno: 0, loads: true, log: lines() };

  const rejection = rules.rejection(opts.allowBtfMismatch, moduleName, result);
  if (!rejection.oncePerBoot || opts.firstRejectionInBoot !== false) out.printk(rejection.line + '\n');
  return { accepted: false, errno: result, loads: rejection.moduleLoads, log: lines() };

  /** btf_parse_module(): 0, a negative errno, or a fault. */
  function parseModule(distilledBase: Uint8Array | undefined): number | { fault: string } {
    const vmlinux = vmlinuxBase(base);
    let moduleBase = vmlinux;
    if (distilledBase) {
      // btf_parse_base(env, ".BTF.base", ...): a base BTF of its own, logged in full (no base_btf).
      const dist = new BtfVerifier(rules, distilledBase, out, { silenceTypeLogs: false });
      const err = dist.run();
      if (err) return err;
      moduleBase = dist.asBase();
    }
    const silenceTypeLogs = rules.silenceTypeLogsWhenMismatchAllowed && opts.allowBtfMismatch;
    const mod = new BtfVerifier(rules, moduleBtf, out, { base: moduleBase, silenceTypeLogs });
    const err = mod.run();
    if (err || !distilledBase) return err;
    const relocated = relocate(mod, moduleBase, vmlinux, out);
    return 'fault' in relocated ? relocated : relocated.err;
  }
}
