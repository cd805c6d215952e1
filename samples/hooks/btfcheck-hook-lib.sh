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
#   BTFCHECK_CONFIG   kernel .config to read CONFIG_MODULE_ALLOW_BTF_MISMATCH from
#                     (default: $BTFCHECK_ROOT/boot/config-<release>, else n)
#   BTFCHECK_VERBOSE  1: also say so when every module is fine

BTFCHECK_ROOT=${BTFCHECK_ROOT:-/}
BTFCHECK_ROOT=${BTFCHECK_ROOT%/}
BTFCHECK_FAIL_ON=${BTFCHECK_FAIL_ON:-rejected}

btfcheck_say() {
	echo "btfcheck: $*" >&2
}

# The base BTF of kernel release $1, or nothing: the installed image, its debug vmlinux, or the
# running kernel's own BTF when $1 is running.
btfcheck_find_base() {
	for f in "$BTFCHECK_ROOT/boot/vmlinuz-$1" "$BTFCHECK_ROOT/boot/vmlinux-$1" "$BTFCHECK_ROOT/usr/lib/debug/boot/vmlinux-$1"; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	if [ -z "$BTFCHECK_ROOT" ] && [ "$(uname -r)" = "$1" ] && [ -r /sys/kernel/btf/vmlinux ]; then
		echo /sys/kernel/btf/vmlinux
	fi
}

# The module tree of kernel release $1 under BTFCHECK_ROOT, or nothing.
btfcheck_module_dir() {
	for d in "$BTFCHECK_ROOT/lib/modules/$1" "$BTFCHECK_ROOT/usr/lib/modules/$1"; do
		if [ -d "$d" ]; then
			echo "$d"
			return 0
		fi
	done
}

# btfcheck_modules LABEL RELEASE BASE PATH...: checks the modules (files or directories) against
# BASE as kernel RELEASE would; prints one line per problem and returns 1 when BTFCHECK_FAIL_ON
# says so. A btfcheck failure (unreadable input, not installed) is reported and does not fail.
btfcheck_modules() {
	_bc_label=$1 _bc_release=$2 _bc_base=$3
	shift 3
	_bc_config=${BTFCHECK_CONFIG:-$BTFCHECK_ROOT/boot/config-$_bc_release}
	set -- --base "$_bc_base" --kernel "$_bc_release" --format json "$@"
	if [ -f "$_bc_config" ]; then
		set -- --config "$_bc_config" "$@"
	fi
	_bc_err=$(mktemp)
	_bc_json=$(${BTFCHECK:-btfcheck} check "$@" 2>"$_bc_err")
	_bc_rc=$?
	if [ $_bc_rc -gt 1 ] && [ -z "$_bc_json" ]; then
		while IFS= read -r _bc_line; do
			btfcheck_say "$_bc_label: cannot check: ${_bc_line#btfcheck: }"
		done <"$_bc_err"
		rm -f "$_bc_err"
		return 0
	fi
	rm -f "$_bc_err"
	# One line per problem, from btfcheck's JSON report (node is there: btfcheck runs on it).
	printf '%s' "$_bc_json" | BTFCHECK_LABEL="$_bc_label" BTFCHECK_FAIL_ON="$BTFCHECK_FAIL_ON" BTFCHECK_VERBOSE="${BTFCHECK_VERBOSE:-}" node -e '
		let input = "";
		process.stdin.on("data", (d) => { input += d; });
		process.stdin.on("end", () => {
			const report = JSON.parse(input);
			const label = process.env.BTFCHECK_LABEL;
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

# btfcheck_kernel_tree RELEASE [IMAGE]: checks the installed module tree of RELEASE against its
# image (IMAGE, else the one btfcheck_find_base finds). Silent when there is nothing to check.
btfcheck_kernel_tree() {
	_bc_modules=$(btfcheck_module_dir "$1")
	[ -n "$_bc_modules" ] || return 0
	_bc_image=${2:-}
	if [ -z "$_bc_image" ] || [ ! -f "$_bc_image" ]; then
		_bc_image=$(btfcheck_find_base "$1")
	fi
	if [ -z "$_bc_image" ]; then
		btfcheck_say "$1: no kernel image to read the base BTF from; modules not checked"
		return 0
	fi
	btfcheck_modules "$1" "$1" "$_bc_image" "$_bc_modules"
}
