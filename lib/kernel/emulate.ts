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
import { kernelRules, KernelVersion } from '../../rules/kernel/versions.js';
import { KernelLog } from './log.js';
import { relocate } from './relocate.js';
import { kernelBytesToText } from './text.js';
import { BtfVerifier, vmlinuxBase } from './verifier.js';

export interface EmulateOptions {
  /** The kernel: a series ("7.2"), a version ("6.1.36") or a release string (rules/kernel/versions.ts). */
  version: KernelVersion;
  /** --rule switches: change id → on/off (rules/kernel/changes.ts). */
  rules?: Readonly<Record<string, boolean>>;
  /**
   * The errno with which this kernel rejected its own vmlinux BTF at boot (emulateVmlinuxParse),
   * if it did: btf_parse_module then fails with it before looking at the module, printing nothing.
   */
  vmlinuxErrno?: number;
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
  const rules = rulesFor(opts);
  // Before 5.11 the kernel ignores module BTF; and btf_module_notify skips a module without BTF.
  if (!rules.validatesModuleBtf || moduleBtf.length === 0) return { accepted: false, errno: 0, loads: true, log: [] };

  const out = new KernelLog(rules);
  const result = opts.vmlinuxErrno ? opts.vmlinuxErrno : parseModule(rules.readsDistilledBase ? opts.distilledBase : undefined);
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

function rulesFor(opts: { version: KernelVersion; rules?: Readonly<Record<string, boolean>> }) {
  try {
    return kernelRules(opts.version, opts.rules);
  } catch (e) {
    throw new InputError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * btf_parse_vmlinux() → btf_parse_base(): what the kernel decides about its own BTF at boot (or
 * at the first use of BTF). A non-zero errno means every module's BTF fails with it, without a
 * line of its own; `log` holds the lines printed once, at that time.
 */
export function emulateVmlinuxParse(raw: Uint8Array, opts: { version: KernelVersion; rules?: Readonly<Record<string, boolean>> }): { errno: number; log: string[] } {
  const rules = rulesFor(opts);
  const out = new KernelLog(rules);
  const errno = new BtfVerifier(rules, raw, out, { silenceTypeLogs: false }).run();
  return { errno, log: out.lines.map(kernelBytesToText) };
}
