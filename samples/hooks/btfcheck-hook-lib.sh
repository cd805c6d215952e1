# shellcheck shell=sh
# Shared by the btfcheck package hooks (kernel-install plugin, dpkg/apt hooks, DKMS POST_BUILD).
# Sourced, not run. Install it as /usr/local/lib/btfcheck/hook-lib.sh (or next to the hook, or
# point BTFCHECK_HOOK_LIB at it).
#
# Settings (environment):
#   BTFCHECK          the btfcheck command (default: btfcheck on PATH)
#   BTFCHECK_FAIL_ON  when a hook fails, by consequence (the words of `btfcheck check --fail-on`):
#                     unloadable (default): a module the kernel would refuse to load (its BTF
#                       rejected by a kernel without CONFIG_MODULE_ALLOW_BTF_MISMATCH, or before 5.18)
#                     rejected: any BTF rejection, also one the module loads without
#                     mismatch: also BTF accepted but built against another base (and, for DKMS,
#                       headers whose BTF is not the kernel's)
#                     never: only report
#   BTFCHECK_TIMEOUT  seconds each btfcheck run may take (default 300; 0: no limit); past it the
#                     hook says it could not check and does not fail
#   BTFCHECK_ROOT     root of the system whose kernels are checked (default /; for images and tests)
#   BTFCHECK_CONFIG   kernel .config to read CONFIG_MODULE_ALLOW_BTF_MISMATCH from (default:
#                     $BTFCHECK_ROOT/boot/config-<release>, else $BTFCHECK_ROOT/usr/lib/modules/<release>/config
#                     as Debian 7.x's linux-base-<release> installs it, else n)
#   BTFCHECK_VERBOSE  1: also say so when every module is fine
#
# Whatever btfcheck prints (file and module names, errors, the kernel's lines) reaches the terminal
# with control characters escaped as \xNN; paths inside the hooks' scratch directory are printed
# as the package file they came from and the path the package installs (pkg.deb:/usr/lib/...).

BTFCHECK_ROOT=${BTFCHECK_ROOT:-/}
BTFCHECK_ROOT=${BTFCHECK_ROOT%/}
BTFCHECK_FAIL_ON=${BTFCHECK_FAIL_ON:-unloadable}
BTFCHECK_TIMEOUT=${BTFCHECK_TIMEOUT:-300}
BTFCHECK_SCRATCH=
_bc_child=

# One line on stderr; control characters in it (release names come from package contents) are
# printed as '?'.
btfcheck_say() {
	printf 'btfcheck: %s' "$*" | LC_ALL=C tr '\000-\010\012-\037\177' '?' >&2
	echo >&2
}

case $BTFCHECK_FAIL_ON in
unloadable | rejected | mismatch | never) ;;
*)
	btfcheck_say "BTFCHECK_FAIL_ON=$BTFCHECK_FAIL_ON is not one of unloadable, rejected, mismatch, never; using unloadable"
	BTFCHECK_FAIL_ON=unloadable
	;;
esac
case $BTFCHECK_TIMEOUT in
'' | *[!0-9]*)
	btfcheck_say "BTFCHECK_TIMEOUT=$BTFCHECK_TIMEOUT is not a number of seconds; using 300"
	BTFCHECK_TIMEOUT=300
	;;
esac

# The hook's scratch directory: removed on exit and when the hook is stopped (TERM, INT, HUP),
# after stopping a btfcheck still running.
btfcheck_cleanup() {
	if [ -n "$_bc_child" ]; then
		kill -TERM "$_bc_child" 2>/dev/null
		wait "$_bc_child" 2>/dev/null
		_bc_child=
	fi
	if [ -n "$BTFCHECK_SCRATCH" ]; then
		rm -rf "$BTFCHECK_SCRATCH"
		BTFCHECK_SCRATCH=
	fi
}

# btfcheck_init: makes $BTFCHECK_SCRATCH and sets the traps. Call it from the hook itself (not in a
# command substitution: traps set in a subshell do not reach the hook). Status 1 when no scratch
# directory can be made (said in one line).
btfcheck_init() {
	trap 'btfcheck_cleanup' EXIT
	trap 'btfcheck_cleanup; trap - EXIT; exit 143' TERM
	trap 'btfcheck_cleanup; trap - EXIT; exit 130' INT
	trap 'btfcheck_cleanup; trap - EXIT; exit 129' HUP
	BTFCHECK_SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/btfcheck-hook.XXXXXXXXXX") || {
		BTFCHECK_SCRATCH=
		btfcheck_say "cannot make a scratch directory in ${TMPDIR:-/tmp}; nothing checked"
		return 1
	}
	: >"$BTFCHECK_SCRATCH/places"
}

# btfcheck_run OUT ERR COMMAND...: runs COMMAND with stdout to OUT, stderr to ERR and no stdin,
# within BTFCHECK_TIMEOUT seconds (coreutils timeout: TERM, then KILL 5 s later, to its whole
# process group). In the background, so that a TERM to the hook is handled at once. Its status;
# 124 or 137 when it timed out.
btfcheck_run() {
	_bc_o=$1 _bc_e=$2
	shift 2
	if [ "$BTFCHECK_TIMEOUT" != 0 ] && command -v timeout >/dev/null 2>&1; then
		set -- timeout -k 5 "$BTFCHECK_TIMEOUT" "$@"
	fi
	"$@" >"$_bc_o" 2>"$_bc_e" </dev/null &
	_bc_child=$!
	# (wait's own stderr: the shell's "Segmentation fault" for a crashed job; the report says it)
	wait "$_bc_child" 2>/dev/null
	_bc_rc=$?
	_bc_child=
	return $_bc_rc
}

# btfcheck_place DIR LABEL: files under DIR (an unpacked package) are printed as LABEL/path-in-DIR.
btfcheck_place() {
	printf '%s/\t%s/\n' "$1" "$2" >>"$BTFCHECK_SCRATCH/places"
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

# btfcheck_headers_vmlinux ROOT RELEASE: the BTF-only vmlinux of RELEASE's headers (Debian's
# linux-headers-<release> ships /usr/src/linux-headers-<release>/vmlinux; kbuild and DKMS reach it
# as /lib/modules/<release>/build/vmlinux), or nothing (status 1). An absolute build link is
# followed inside ROOT.
btfcheck_headers_vmlinux() {
	for _bc_m in "$1/lib/modules/$2" "$1/usr/lib/modules/$2"; do
		[ -e "$_bc_m/build" ] || [ -L "$_bc_m/build" ] || continue
		_bc_b=$_bc_m/build
		if [ -L "$_bc_b" ]; then
			_bc_t=$(readlink "$_bc_b")
			case $_bc_t in
			/*) _bc_b=$1$_bc_t ;;
			esac
		fi
		if [ -f "$_bc_b/vmlinux" ]; then
			echo "$_bc_b/vmlinux"
			return 0
		fi
	done
	if [ -f "$1/usr/src/linux-headers-$2/vmlinux" ]; then
		echo "$1/usr/src/linux-headers-$2/vmlinux"
		return 0
	fi
	return 1
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

# Reads btfcheck's output and prints one line per problem (node: btfcheck runs on it). Never
# throws: whatever it cannot read is one "cannot check" line. Its verdict goes to stdout as
# "verdict=fail" (or pass); a crash of this script is no verdict, so never a failure.
# Environment: BC_MODE (check | fingerprint), BC_LABEL, BC_POLICY, BC_VERBOSE, BC_RC (btfcheck's
# status), BC_TIMED_OUT, BC_TIMEOUT, BC_OUT, BC_ERR (its stdout and stderr), BC_PLACES (prefix TAB
# label lines), BC_HEADERS (file TAB sha256 TAB types of the headers' BTF to compare the base with),
# BC_HEADERS_MISSING (where the headers' vmlinux was looked for).
_BTFCHECK_REPORT_JS='
const fs = require("fs");
const env = process.env;
const hex = (n) => n.toString(16).padStart(2, "0");
// Control characters as \xNN (TAB kept in kernel lines); undecodable file-name bytes (carried as
// U+DC80..U+DCFF) as \xNN; other lone surrogates as \uNNNN.
const esc = (v, keepTab) => String(v)
  .replace(keepTab ? /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g : /[\x00-\x1f\x7f-\x9f]/g, (c) => "\\x" + hex(c.charCodeAt(0)))
  .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => {
    const n = c.charCodeAt(0);
    return n >= 0xdc80 && n <= 0xdcff ? "\\x" + hex(n - 0xdc00) : "\\u" + n.toString(16);
  });
const read = (f) => { try { return f ? fs.readFileSync(f, "utf8") : ""; } catch { return ""; } };
const places = read(env.BC_PLACES).split("\n").filter((l) => l.includes("\t")).map((l) => l.split("\t"));
const place = (s) => { s = String(s); for (const [from, to] of places) s = s.split(from).join(to); return s; };
const label = esc(env.BC_LABEL || "?");
const say = (msg) => process.stderr.write("btfcheck: " + label + ": " + msg + "\n");
const str = (v) => (typeof v === "string" ? v : v == null ? "?" : JSON.stringify(v));

function run() {
  const rc = Number(env.BC_RC);
  const errLines = read(env.BC_ERR).split("\n").filter((l) => l.trim() !== "");
  // btfcheck says what it could not read in its first line; a crash of node in an Error line.
  const said = () => {
    const l = errLines.find((x) => /^btfcheck: /.test(x)) ?? errLines.find((x) => /^\w*(Error|Exception)\b/.test(x)) ?? errLines[0];
    return l === undefined ? "" : esc(place(l.replace(/^btfcheck: /, "")));
  };
  const cannot = (why) => { say("cannot check: " + why); return { verdict: "pass" }; };
  if (env.BC_TIMED_OUT === "1") return cannot("btfcheck did not finish within " + env.BC_TIMEOUT + " s (BTFCHECK_TIMEOUT)");
  if (![0, 1, 2].includes(rc)) {
    const how = rc > 128 ? "was killed by signal " + (rc - 128) : rc === 126 || rc === 127 ? "could not be run (status " + rc + ")" : "failed with status " + rc;
    const s = said();
    return cannot("btfcheck " + how + (s ? ": " + s : ""));
  }
  const text = read(env.BC_OUT);
  if (text.trim() === "") return cannot(said() || "btfcheck exited with status " + rc + " and no report");
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const s = said();
    return cannot("btfcheck gave no readable report (" + esc(e.message) + ")" + (s ? "; it said: " + s : ""));
  }
  return env.BC_MODE === "fingerprint" ? fingerprint(doc) : check(doc, rc, errLines);
}

function fingerprint(doc) {
  // [{file, sha256, types, ...}], or {schema, bases: [...]}.
  const list = Array.isArray(doc) ? doc : doc && Array.isArray(doc.bases) ? doc.bases : [doc];
  const f = list[0];
  if (!f || typeof f !== "object" || typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256)) {
    say("cannot check: btfcheck fingerprint gave no readable checksum");
    return { verdict: "pass" };
  }
  return { verdict: "pass", sha256: f.sha256, types: Number(f.types) };
}

function check(doc, rc, errLines) {
  if (!doc || typeof doc !== "object" || !Array.isArray(doc.modules)) {
    // {error: {file, message}}: the base could not be read. Else btfcheck\x27s first line.
    const e = doc && typeof doc === "object" && doc.error && typeof doc.error === "object" ? doc.error : null;
    const first = errLines.find((x) => /^btfcheck: /.test(x));
    const why = e && typeof e.message === "string" ? (typeof e.file === "string" ? place(e.file) + ": " : "") + e.message
      : first ? place(first.replace(/^btfcheck: /, "")) : "btfcheck gave no readable report (no module list)";
    say("cannot check: " + esc(why));
    return { verdict: "pass" };
  }
  const policy = env.BC_POLICY;
  let fail = false, problems = 0, withBtf = 0, errors = 0;
  const base = doc.base && typeof doc.base === "object" ? doc.base : {};
  // DKMS: the headers the module was built with must carry the kernel\x27s very BTF.
  if (env.BC_HEADERS && typeof base.sha256 === "string") {
    const [file, sha, types] = env.BC_HEADERS.split("\t");
    if (sha !== base.sha256) {
      problems++;
      if (policy === "mismatch") fail = true;
      say("the headers\x27 BTF (" + esc(place(file)) + ": sha256 " + esc(sha).slice(0, 16) + ", " + esc(types) + " types) is not the kernel\x27s (" +
        esc(place(str(base.file))) + ": sha256 " + esc(base.sha256).slice(0, 16) + ", " + esc(str(base.types)) + " types): modules built with these headers are built against another base; install the headers of this very kernel build");
    }
  }
  if (doc.kernel && doc.kernel.vmlinux && typeof doc.kernel.vmlinux === "object") {
    say("kernel " + esc(str(doc.kernel.version)) + " would reject its own base BTF (errno " + esc(str(doc.kernel.vmlinux.errno)) + "): every module\x27s BTF is rejected with it");
  }
  for (const m of doc.modules) {
    if (!m || typeof m !== "object") continue;
    const name = esc(m.module ?? "?") + " (" + esc(place(str(m.file))) + ")";
    const why = m.explanation && typeof m.explanation.summary === "string" ? ": " + esc(m.explanation.summary) : "";
    const k = m.kernel && typeof m.kernel === "object" ? m.kernel : null;
    if (m.status !== "no-btf" && m.status !== "error") withBtf++;
    if (m.status === "rejected") {
      problems++;
      const loads = k ? k.loads !== false : false;
      if (policy === "rejected" || policy === "mismatch" || (policy === "unloadable" && !loads)) fail = true;
      // What the kernel printed, as one line: the BPF: fragments ("[95258] STRUCT size=8 vlen=4
      // Invalid name"), relocation warnings ("distilled base BTF type ... is not mapped"); not the
      // final "failed to validate module" line.
      const log = k && Array.isArray(k.log) ? k.log.filter((l) => typeof l === "string") : [];
      const lines = log.filter((l) => !/^failed to validate module /.test(l)).map((l) => (l.startsWith("BPF:") ? l.slice(4).trim() : l.trim())).filter(Boolean);
      const kernelSays = lines.length ? ": kernel says \"" + esc(lines.join(" "), true) + "\"" : "";
      say(name + ": BTF rejected, errno " + esc(str(k ? k.errno : "?")) + " (" + (loads ? "the module loads without BTF" : "the module will not load") + ")" + kernelSays + why);
    } else if (m.status === "mismatch") {
      problems++;
      if (policy === "mismatch") fail = true;
      say(name + ": BTF accepted but built against another base" + why);
    } else if (m.status === "error") {
      errors++;
      say(name + ": cannot check: " + esc(place(str(m.error))));
    }
  }
  // Status 2 with no module in error: btfcheck said on stderr what it could not read.
  if (rc === 2 && errors === 0) {
    const shown = errLines.filter((l) => /^btfcheck: /.test(l));
    for (const l of shown.slice(0, 10)) say("cannot check: " + esc(place(l.replace(/^btfcheck: /, ""))));
    if (shown.length > 10) say("cannot check: ... and " + (shown.length - 10) + " more");
  }
  if (env.BC_HEADERS_MISSING && withBtf > 0) {
    say("the headers\x27 BTF is not compared with the kernel\x27s: no vmlinux at " + esc(place(env.BC_HEADERS_MISSING)));
  }
  if (!problems && !errors && env.BC_VERBOSE === "1") {
    say(esc(str(doc.modules.length)) + " modules fit base " + esc(place(str(base.file))));
  }
  return { verdict: fail ? "fail" : "pass" };
}

let out;
try {
  out = run();
} catch (e) {
  say("cannot check: btfcheck\x27s report could not be read (" + esc(e && e.message) + ")");
  out = { verdict: "pass" };
}
for (const [k, v] of Object.entries(out)) if (v !== undefined) process.stdout.write(k + "=" + String(v).replace(/\s/g, " ") + "\n");
'

# btfcheck_report MODE LABEL RC TIMED_OUT OUT ERR [headers...]: runs the report reader above;
# its key=value lines on stdout. Without node: one line, no verdict.
btfcheck_report() {
	if ! command -v node >/dev/null 2>&1; then
		btfcheck_say "$2: cannot check: node is not on PATH to read btfcheck's report"
		return 0
	fi
	BC_MODE=$1 BC_LABEL=$2 BC_RC=$3 BC_TIMED_OUT=$4 BC_OUT=$5 BC_ERR=$6 BC_TIMEOUT=$BTFCHECK_TIMEOUT \
		BC_POLICY=$BTFCHECK_FAIL_ON BC_VERBOSE=${BTFCHECK_VERBOSE:-} BC_PLACES=$BTFCHECK_SCRATCH/places \
		BC_HEADERS=${BC_HEADERS:-} BC_HEADERS_MISSING=${BC_HEADERS_MISSING:-} \
		node -e "$_BTFCHECK_REPORT_JS" >"$BTFCHECK_SCRATCH/report" 2>"$BTFCHECK_SCRATCH/report.err" </dev/null
	_bc_node=$?
	if [ $_bc_node = 0 ]; then
		cat "$BTFCHECK_SCRATCH/report.err" >&2
	else
		# The reader itself died (out of memory, killed): its lines so far, then one line, no verdict.
		grep '^btfcheck: ' "$BTFCHECK_SCRATCH/report.err" >&2
		btfcheck_say "$2: cannot check: the report reader (node) ended with status $_bc_node"
		: >"$BTFCHECK_SCRATCH/report"
	fi
	rm -f "$BTFCHECK_SCRATCH/report.err"
}

# btfcheck_btf LABEL OUT ERR COMMAND ARGS...: runs btfcheck COMMAND ARGS (check or fingerprint),
# then reads its report (btfcheck_report); sets _bc_verdict, _bc_sha256, _bc_types from it.
btfcheck_btf() {
	_bc_lbl=$1 _bc_out=$2 _bc_err=$3 _bc_mode=$4
	shift 3
	_bc_verdict= _bc_sha256= _bc_types=
	_bc_t0=$(date +%s)
	# BTFCHECK may hold arguments (node /path/to/main.js): split on purpose.
	# shellcheck disable=SC2086
	btfcheck_run "$_bc_out" "$_bc_err" ${BTFCHECK:-btfcheck} "$@"
	_bc_status=$?
	# timeout(1) exits 124 when it stopped the command with TERM, 137 when it had to KILL it (also the
	# status of a command killed otherwise, as by the OOM killer: told apart by the time taken).
	_bc_to=0
	if [ "$BTFCHECK_TIMEOUT" != 0 ] && command -v timeout >/dev/null 2>&1; then
		if [ $_bc_status = 124 ] || { [ $_bc_status = 137 ] && [ $(($(date +%s) - _bc_t0)) -ge "$BTFCHECK_TIMEOUT" ]; }; then
			_bc_to=1
		fi
	fi
	: >"$BTFCHECK_SCRATCH/report"
	btfcheck_report "$_bc_mode" "$_bc_lbl" "$_bc_status" "$_bc_to" "$_bc_out" "$_bc_err"
	_bc_verdict=$(sed -n 's/^verdict=//p' "$BTFCHECK_SCRATCH/report")
	_bc_sha256=$(sed -n 's/^sha256=//p' "$BTFCHECK_SCRATCH/report")
	_bc_types=$(sed -n 's/^types=//p' "$BTFCHECK_SCRATCH/report")
}

# btfcheck_modules LABEL RELEASE BASE PATH...: checks the modules (files or directories) against
# BASE as kernel RELEASE would; prints one line per problem and returns 1 when BTFCHECK_FAIL_ON
# says so. When btfcheck cannot check (unreadable input, not installed, a crash, no report in
# BTFCHECK_TIMEOUT seconds) it says so in one line and does not fail. BC_HEADERS /
# BC_HEADERS_MISSING in the environment: see the report reader.
btfcheck_modules() {
	_bc_label=$1 _bc_release=$2 _bc_base=$3
	shift 3
	if [ -z "$BTFCHECK_SCRATCH" ]; then
		btfcheck_init || return 0
	fi
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
	btfcheck_btf "$_bc_label" "$BTFCHECK_SCRATCH/check.json" "$BTFCHECK_SCRATCH/check.err" check "$@"
	rm -f "$BTFCHECK_SCRATCH/check.json" "$BTFCHECK_SCRATCH/check.err"
	[ "$_bc_verdict" != fail ]
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
