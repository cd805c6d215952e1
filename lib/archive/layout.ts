/**
 * What a path inside a package or image is to btfcheck, in the layouts distributions use:
 * - modules: `lib/modules/<release>/**.ko[.xz|.zst|.gz]` or `usr/lib/modules/...` (kernel/, updates/,
 *   extra/; DKMS and vendor packages), or any other `*.ko*` (an initramfs keeps the same paths);
 * - kernel images: `boot/vmlinuz-<release>` / `boot/vmlinux-<release>` (Debian 6.x, Fedora's /boot),
 *   `usr/lib/modules/<release>/vmlinuz` (Debian 7.x linux-binary, Fedora kernel-core, Arch);
 * - the BTF-only `vmlinux` of a headers package (`usr/src/linux-headers-<release>/vmlinux`): a base;
 * - the kernel .config (`boot/config-<release>`, `<modules>/<release>/config`) and Module.symvers
 *   (`boot/symvers-<release>[.gz|.xz]`, `<modules>/<release>/symvers.gz`, the headers' Module.symvers).
 */

export type Role = 'module' | 'image' | 'headers-vmlinux' | 'config' | 'symvers';

export interface Classified {
  role: Role;
  /** The kernel release the path names, when it names one. */
  release: string | null;
}

export const MODULE_NAME = /\.ko(\.xz|\.zst|\.gz)?$/;

/** `./usr/lib/x` and `/usr/lib/x` as `usr/lib/x`. */
export function normalizeMemberPath(p: string): string {
  return p.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

export function classifyPath(raw: string): Classified | null {
  const p = normalizeMemberPath(raw);
  let m: RegExpExecArray | null;
  if (MODULE_NAME.test(p)) {
    m = /^(?:usr\/)?lib\/modules\/([^/]+)\//.exec(p);
    return { role: 'module', release: m ? m[1] : null };
  }
  if ((m = /^boot\/vmlinu[xz]-([^/]+)$/.exec(p)) && !/\.(old|sig|hmac)$/.test(m[1])) return { role: 'image', release: m[1] };
  if ((m = /^(?:usr\/)?lib\/modules\/([^/]+)\/vmlinu[xz]$/.exec(p))) return { role: 'image', release: m[1] };
  if ((m = /^usr\/src\/linux-headers-([^/]+)\/vmlinux$/.exec(p))) return { role: 'headers-vmlinux', release: m[1] };
  if ((m = /^boot\/config-([^/]+)$/.exec(p)) || (m = /^(?:usr\/)?lib\/modules\/([^/]+)\/config$/.exec(p))) return { role: 'config', release: m[1] };
  if ((m = /^boot\/symvers-([^/]+?)(\.gz|\.xz)?$/.exec(p)) || (m = /^(?:usr\/)?lib\/modules\/([^/]+)\/symvers(\.gz|\.xz)?$/.exec(p))
    || (m = /^usr\/src\/linux-headers-([^/]+)\/Module\.symvers$/.exec(p))) return { role: 'symvers', release: m[1] };
  return null;
}

/** The name a report shows for a member: `ARCHIVE!path/inside`. */
export function memberName(archive: string, path: string): string {
  return `${archive}!${normalizeMemberPath(path)}`;
}
