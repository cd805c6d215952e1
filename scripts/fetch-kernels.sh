#!/usr/bin/env bash
# Fetch and unpack the seven Debian kernel builds that the real-kernel tests and benchmarks use.
#
#   scripts/fetch-kernels.sh [DEST]      (default: ${BTF_KERNELS:-$HOME/.cache/btf-kernels})
#
# For each build it leaves DEST/<abi>/ with the unpacked packages, as packaged:
#   6.x, bookworm (6.1.0-47, 6.1.0-56, 6.12.115+deb12, 6.12.117+deb12): one package,
#       linux-image-<abi>-unsigned: boot/vmlinuz-<abi>, boot/config-<abi>, lib/modules/<abi>/...
#   7.x (7.2.12+deb13 and 7.3.4+deb13 from trixie-backports, 7.2.13+deb14 from sid): three packages,
#       linux-binary-<abi>, linux-modules-<abi> and linux-base-<abi>, unpacked into the same root:
#       usr/lib/modules/<abi>/{vmlinuz,config,System.map,kernel/**/*.ko.xz}
# and, extracted from the vmlinuz:
#   vmlinux      the ELF decompressed from vmlinuz (holds the .BTF section)
#   vmlinux.btf  the raw .BTF section bytes (same format as /sys/kernel/btf/vmlinux)
# It keeps the packages in DEST/debs/. Idempotent: a build whose vmlinux and vmlinux.btf exist is
# skipped. Atomic per build: everything is made in DEST/<abi>.partial and moved into place at the end.
#
# The 7.x packages are not in bookworm's suites: they are downloaded through a private apt
# configuration in DEST/.apt (its own sources.list with trixie-backports and sid, its own package
# lists and cache); the system's apt sources and lists are not touched.
#
# Needs: apt-get, dpkg, sha256sum, and `npm install` done in this checkout (the extraction is
# btfcheck's own code run by Node through tsx; no python, xz, zstd or lz4 tools).
# BTF_DEBS=DIR names a directory holding the exact .deb files, used only when `apt-get download`
# cannot get them (the Debian archive drops old ABIs; sid and backports replace builds quickly).
# Every package, wherever it comes from, must match the sha256 below.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-${BTF_KERNELS:-$HOME/.cache/btf-kernels}}
LOCAL_DEBS=${BTF_DEBS:-}

# 6.x: package=version  sha256 of its .deb
PKGS=(
  "linux-image-6.1.0-47-cloud-amd64-unsigned=6.1.170-3 554cf5c453f93c86d9af849d98f21826fe9ea3d0eeec6a5c6ed603a5788ff054"
  "linux-image-6.1.0-56-cloud-amd64-unsigned=6.1.192-2 7ff7fc8da85d313242c20698c6b34542aea447673c7c1975b0d38bd6005100b5"
  "linux-image-6.12.115+deb12-cloud-amd64-unsigned=6.12.115-2~deb12u1 5a607ccf711dda31e76a76364ab9b0e8e87749d58d5020c9ae93832d4abada30"
  "linux-image-6.12.117+deb12-cloud-amd64-unsigned=6.12.117-1~deb12u1 670b2688bcf94c24693f7c7e1fc9776ff2e202ff15553a2614f79415d48a6607"
)
# 7.x: abi=version  sha256 of linux-binary-<abi>, of linux-modules-<abi>, of linux-base-<abi>
PKGS7=(
  "7.2.12+deb13-cloud-amd64=7.2.12-1~bpo13+1 aa6720823145e351d3c817c95fe58d89995a2bcba4978ad2418c36a1c272f795 2f15b42b88ae56836b5fb3ac74c6cb795047891a5a25e5e69dedf8805b54017d e9f6b719bb96f989fce7a61e78580b24de4e824b3c9f656db7c3169dbb45a25a"
  "7.2.13+deb14-cloud-amd64=7.2.13-1 03e41f1c34c16583462f029e81944a85ebcdb78098c258dedfa1cfdd680a27f8 97d79546041e3fdfb44dccff180938894d1bf8eb298f091f88539c1b37080bef c41b217e1a4e321f5eff028e965ea25f5da8a74cd3683ca7f4bacedc59e0ecc5"
  "7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1 c4fbc8e404958693b28825474c20742d70594d65ca58aea7be6a279c81eb6fa0 359f04c363b7d3c5f9ce999ccb7351e00cc8eec0a30d6bc1cda37734987fc43d e08baa43706ba6e8daff58029b039f46beecfb3b3750c6fa0d6d5ca508a46a43"
)
SUITES7=(trixie-backports sid)

TSX="$ROOT/node_modules/.bin/tsx"
[ -x "$TSX" ] || { echo "fetch-kernels: $TSX missing: run 'npm install' in $ROOT first" >&2; exit 1; }

mkdir -p "$DEST/debs"
DEST=$(cd "$DEST" && pwd)

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# apt-get with the private configuration for the 7.x suites: its own sources.list (no
# sources.list.d), package lists and cache under DEST/.apt. Made on first use.
APT7_DIR="$DEST/.apt"
APT7=(
  -o Dir::Etc::sourcelist="$APT7_DIR/sources.list" -o Dir::Etc::sourceparts=/dev/null
  -o Dir::State::Lists="$APT7_DIR/lists" -o Dir::Cache="$APT7_DIR/cache"
)
apt7_setup() {
  mkdir -p "$APT7_DIR/lists/partial" "$APT7_DIR/cache/archives/partial"
  printf 'deb http://deb.debian.org/debian %s main\n' "${SUITES7[@]}" > "$APT7_DIR/sources.list.tmp"
  mv -f "$APT7_DIR/sources.list.tmp" "$APT7_DIR/sources.list"
}

# Puts the verified .deb of $spec (package=version) into $DEST/debs and prints its path: the cached
# copy, else `apt-get download` (with the extra apt options after $2: the private configuration for
# 7.x), else (only when the archive cannot serve it) the copy in $BTF_DEBS.
get_deb() {
  local spec=$1 sha=$2; shift 2
  local pkg=${spec%%=*} ver=${spec#*=}
  local file="${pkg}_${ver//:/%3a}_amd64.deb"
  if sha_ok "$DEST/debs/$file" "$sha"; then echo "$DEST/debs/$file"; return 0; fi
  ( cd "$DEST/debs" && { apt-get "$@" download "$spec" >/dev/null 2>&1 \
      || { apt-get "$@" update -qq >/dev/null 2>&1 && apt-get "$@" download "$spec" >/dev/null 2>&1; }; } ) || true
  if sha_ok "$DEST/debs/$file" "$sha"; then echo "$DEST/debs/$file"; return 0; fi
  rm -f "$DEST/debs/$file"
  if [ -n "$LOCAL_DEBS" ] && sha_ok "$LOCAL_DEBS/$file" "$sha"; then
    echo "fetch-kernels: $spec not downloadable; using the copy in $LOCAL_DEBS" >&2
    cp "$LOCAL_DEBS/$file" "$DEST/debs/$file.part" && mv -f "$DEST/debs/$file.part" "$DEST/debs/$file"
    echo "$DEST/debs/$file"; return 0
  fi
  echo "fetch-kernels: could not get $spec with sha256 $sha (apt-get download failed or gave other bytes; set BTF_DEBS to a directory holding it)" >&2
  return 1
}

# Unpacks the given .deb files into one fresh DEST/<abi>.partial, extracts vmlinux and vmlinux.btf
# from its vmlinuz (path relative to the root), then moves it into place: an interrupted run leaves
# no half-made build that a later run would take as done.
unpack_build() {
  local abi=$1 vmlinuz=$2; shift 2
  local out="$DEST/$abi" work="$DEST/$abi.partial" deb
  rm -rf "$work"; mkdir -p "$work"
  for deb in "$@"; do dpkg -x "$deb" "$work"; done
  "$TSX" "$ROOT/scripts/extract-kernel.ts" "$work/$vmlinuz" "$work/vmlinux" "$work/vmlinux.btf"
  rm -rf "$out"; mv "$work" "$out"
  echo "ready: $out"
}

done_already() { [ -s "$DEST/$1/vmlinux.btf" ] && [ -s "$DEST/$1/vmlinux" ]; }

for entry in "${PKGS[@]}"; do
  spec=${entry%% *}; sha=${entry##* }
  pkg=${spec%%=*}; abi=${pkg#linux-image-}; abi=${abi%-unsigned}
  done_already "$abi" && continue
  deb=$(get_deb "$spec" "$sha")
  unpack_build "$abi" "boot/vmlinuz-$abi" "$deb"
done

for entry in "${PKGS7[@]}"; do
  read -r spec sha_binary sha_modules sha_base <<<"$entry"
  abi=${spec%%=*}; ver=${spec#*=}
  done_already "$abi" && continue
  apt7_setup
  # one assignment each, so that set -e stops at a package that cannot be had
  deb_binary=$(get_deb "linux-binary-$abi=$ver" "$sha_binary" "${APT7[@]}")
  deb_modules=$(get_deb "linux-modules-$abi=$ver" "$sha_modules" "${APT7[@]}")
  deb_base=$(get_deb "linux-base-$abi=$ver" "$sha_base" "${APT7[@]}")
  unpack_build "$abi" "usr/lib/modules/$abi/vmlinuz" "$deb_binary" "$deb_modules" "$deb_base"
done
echo "kernels in $DEST: $(ls "$DEST" | grep -v -e '^debs$' -e '\.partial$' | tr '\n' ' ')"
