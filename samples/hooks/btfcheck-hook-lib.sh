# shellcheck shell=sh
# Shared by the btfcheck package hooks (kernel-install plugin, dpkg/apt hooks, DKMS POST_BUILD).
# Sourced, not run. Install it as /usr/local/lib/btfcheck/hook-lib.sh (or next to the hook, or
# point BTFCHECK_HOOK_LIB at it).
#
# Settings (environment):
#   BTFCHECK          the btfcheck command (default: btfcheck on PATH)
#   BTFCHECK_FAIL_ON  rejected (default): fail when the kernel would reject a module's BTF
#                     mismatch: also when it would accept BTF built against another base
#                     never: only report
#   BTFCHECK_ROOT     root of the system whose kernels are checked (default /; for images and tests)
#   BTFCHECK_CONFIG   kernel .config to read CONFIG_MODULE_ALLOW_BTF_MISMATCH from (default:
#                     $BTFCHECK_ROOT/boot/config-<release>, else $BTFCHECK_ROOT/usr/lib/modules/<release>/config
#                     as Debian 7.x's linux-base-<release> installs it, else n)
#   BTFCHECK_VERBOSE  1: also say so when every module is fine

BTFCHECK_ROOT=${BTFCHECK_ROOT:-/}
BTFCHECK_ROOT=${BTFCHECK_ROOT%/}
BTFCHECK_FAIL_ON=${BTFCHECK_FAIL_ON:-rejected}

btfcheck_say() {
	echo "btfcheck: $*" >&2
}

# Where a kernel release keeps its files. Debian 6.x packages (linux-image-<release>) and most
# distributions: boot/vmlinuz-<release>, boot/config-<release>, lib/modules/<release>/. Debian 7.x
# splits a kernel into linux-binary-<release> (usr/lib/modules/<release>/vmlinuz), linux-modules-
# <release> (usr/lib/modules/<release>/kernel/) and linux-base-<release> (usr/lib/modules/<release>/
# config); Fedora and Arch also keep the image in the module tree. The functions below take ROOT
# (an installed system, an unpacked package) and look in all of these places.

# btfcheck_image_in ROOT RELEASE: the kernel image of RELEASE under ROOT, or nothing (status 1).
btfcheck_image_in() {
	for f in "$1/boot/vmlinuz-$2" "$1/boot/vmlinux-$2" \
		"$1/usr/lib/modules/$2/vmlinuz" "$1/lib/modules/$2/vmlinuz" \
		"$1/usr/lib/modules/$2/vmlinux" "$1/lib/modules/$2/vmlinux"; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

# btfcheck_config_in ROOT RELEASE: the kernel .config of RELEASE under ROOT, or nothing (status 1).
btfcheck_config_in() {
	for f in "$1/boot/config-$2" "$1/usr/lib/modules/$2/config" "$1/lib/modules/$2/config"; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

# btfcheck_image_places ROOT RELEASE: where btfcheck_image_in looks, for messages.
btfcheck_image_places() {
	echo "$1/boot/vmlinuz-$2, $1/usr/lib/modules/$2/vmlinuz"
}

# The base BTF of kernel release $1, or nothing: the installed image (either layout), its debug
# vmlinux, or the running kernel's own BTF when $1 is the running kernel.
btfcheck_find_base() {
	btfcheck_image_in "$BTFCHECK_ROOT" "$1" && return 0
	for f in "$BTFCHECK_ROOT/usr/lib/debug/boot/vmlinux-$1" "$BTFCHECK_ROOT/usr/lib/debug/lib/modules/$1/vmlinux" \
		"$BTFCHECK_ROOT/usr/lib/debug/usr/lib/modules/$1/vmlinux"; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	if [ -z "$BTFCHECK_ROOT" ] && [ "$(uname -r)" = "$1" ] && [ -r /sys/kernel/btf/vmlinux ]; then
		echo /sys/kernel/btf/vmlinux
	fi
}

# btfcheck_module_dirs ROOT RELEASE: the module trees of RELEASE under ROOT, one per line:
# lib/modules/<release> and usr/lib/modules/<release>, once when one is a link to the other
# (merged /usr).
btfcheck_module_dirs() {
	_bc_first=
	for d in "$1/lib/modules/$2" "$1/usr/lib/modules/$2"; do
		[ -d "$d" ] || continue
		if [ -n "$_bc_first" ] && [ "$d" -ef "$_bc_first" ]; then
			continue
		fi
		[ -n "$_bc_first" ] || _bc_first=$d
		echo "$d"
	done
}

# The first module tree of kernel release $1 under BTFCHECK_ROOT, or nothing.
btfcheck_module_dir() {
	btfcheck_module_dirs "$BTFCHECK_ROOT" "$1" | head -n 1
}

# btfcheck_has_modules DIR: DIR holds at least one kernel module file.
btfcheck_has_modules() {
	[ -d "$1" ] && [ -n "$(find "$1" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) 2>/dev/null | head -n 1)" ]
}

# btfcheck_is_image FILE: FILE is a kernel image (vmlinux ELF, or a bzImage: "HdrS" at 0x202),
# which names its own kernel version; a raw BTF base does not.
btfcheck_is_image() {
	[ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' \n')" = 7f454c46 ] && return 0
	[ "$(od -An -c -j 514 -N4 "$1" 2>/dev/null | tr -d ' \n')" = HdrS ]
}

# btfcheck_modules LABEL RELEASE BASE PATH...: checks the modules (files or directories) against
# BASE as kernel RELEASE would; prints one line per problem and returns 1 when BTFCHECK_FAIL_ON
# says so. When btfcheck cannot check (unreadable input, not installed) it says so in one line
# and does not fail.
btfcheck_modules() {
	_bc_label=$1 _bc_release=$2 _bc_base=$3
	shift 3
	_bc_config=${BTFCHECK_CONFIG:-$(btfcheck_config_in "$BTFCHECK_ROOT" "$_bc_release")}
	# An image names its kernel's exact version (Debian's 6.1.0-47 release is kernel 6.1.170): btfcheck
	# reads it there. A raw BTF base names none: the release is passed.
	if btfcheck_is_image "$_bc_base"; then
		set -- --base "$_bc_base" --format json "$@"
	else
		set -- --base "$_bc_base" --kernel "$_bc_release" --format json "$@"
	fi
	if [ -n "$_bc_config" ] && [ -f "$_bc_config" ]; then
		set -- --config "$_bc_config" "$@"
	fi
	_bc_err=$(mktemp)
	_bc_json=$(${BTFCHECK:-btfcheck} check "$@" 2>"$_bc_err")
	_bc_rc=$?
	if [ -z "$_bc_json" ]; then
		# One line: btfcheck's own first line says what it could not read and why.
		_bc_line=$(grep -m 1 . "$_bc_err")
		[ -n "$_bc_line" ] || _bc_line="btfcheck exited with status $_bc_rc and no report"
		rm -f "$_bc_err"
		btfcheck_say "$_bc_label: cannot check: ${_bc_line#btfcheck: }"
		return 0
	fi
	rm -f "$_bc_err"
	if ! command -v node >/dev/null 2>&1; then
		btfcheck_say "$_bc_label: cannot check: node is not on PATH to read btfcheck's report"
		return 0
	fi
	# One line per problem, from btfcheck's JSON report (node is there: btfcheck runs on it).
	printf '%s' "$_bc_json" | BTFCHECK_LABEL="$_bc_label" BTFCHECK_FAIL_ON="$BTFCHECK_FAIL_ON" BTFCHECK_VERBOSE="${BTFCHECK_VERBOSE:-}" node -e '
		let input = "";
		process.stdin.on("data", (d) => { input += d; });
		process.stdin.on("end", () => {
			const label = process.env.BTFCHECK_LABEL;
			let report;
			try {
				report = JSON.parse(input);
				if (!Array.isArray(report.modules)) throw new Error("no module list");
			} catch (e) {
				console.error(`btfcheck: ${label}: cannot check: btfcheck gave no readable report (${e.message})`);
				return;
			}
			let rejected = 0, mismatched = 0;
			for (const m of report.modules) {
				const name = `${label}: ${m.module ?? "?"} (${m.file})`;
				const why = m.explanation ? `: ${m.explanation.summary}` : "";
				if (m.status === "rejected") {
					rejected++;
					// The BPF: lines of the kernel as one line: "[95258] STRUCT size=8 vlen=4 Invalid name".
					const said = m.kernel.log.filter((l) => l.startsWith("BPF:")).map((l) => l.slice(4).trim()).filter(Boolean).join(" ");
					const loads = m.kernel.loads ? "the module loads without BTF" : "the module will not load";
					console.error(`btfcheck: ${name}: BTF rejected, errno ${m.kernel.errno} (${loads})${said ? `: kernel says "${said}"` : ""}${why}`);
				} else if (m.status === "mismatch") {
					mismatched++;
					console.error(`btfcheck: ${name}: BTF accepted but built against another base${why}`);
				} else if (m.status === "error") {
					console.error(`btfcheck: ${name}: cannot check: ${m.error}`);
				}
			}
			if (!rejected && !mismatched && process.env.BTFCHECK_VERBOSE === "1") {
				console.error(`btfcheck: ${label}: ${report.summary.modules} modules fit base ${report.base.file}`);
			}
			const policy = process.env.BTFCHECK_FAIL_ON;
			process.exitCode = (rejected && policy !== "never") || (mismatched && policy === "mismatch") ? 1 : 0;
		});
	'
}

# btfcheck_kernel_tree RELEASE [IMAGE]: checks the installed module trees of RELEASE
# (lib/modules/<release>, usr/lib/modules/<release>: kernel/, updates/, extra/...) against its image
# (IMAGE, else the one btfcheck_find_base finds). Silent when there are no modules to check.
btfcheck_kernel_tree() {
	_bc_rel=$1
	_bc_image=${2:-}
	set --
	while IFS= read -r _bc_dir; do
		[ -n "$_bc_dir" ] && btfcheck_has_modules "$_bc_dir" && set -- "$@" "$_bc_dir"
	done <<EOF
$(btfcheck_module_dirs "$BTFCHECK_ROOT" "$_bc_rel")
EOF
	[ $# -gt 0 ] || return 0
	if [ -z "$_bc_image" ] || [ ! -f "$_bc_image" ]; then
		_bc_image=$(btfcheck_find_base "$_bc_rel")
	fi
	if [ -z "$_bc_image" ]; then
		btfcheck_say "$_bc_rel: no kernel image to read the base BTF from (looked for $(btfcheck_image_places "$BTFCHECK_ROOT" "$_bc_rel")); modules not checked"
		return 0
	fi
	btfcheck_modules "$_bc_rel" "$_bc_rel" "$_bc_image" "$@"
}
