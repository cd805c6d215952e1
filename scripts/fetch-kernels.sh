#!/usr/bin/env bash
# Fetch and unpack the four Debian kernel builds that the real-kernel tests and benchmarks use.
#
#   scripts/fetch-kernels.sh [DEST]      (default: ${BTF_KERNELS:-$HOME/.cache/btf-kernels})
#
# For each build it leaves DEST/<abi>/ with:
#   boot/vmlinuz-<abi>, boot/config-<abi>, lib/modules/<abi>/...   (as packaged)
#   vmlinux      the ELF decompressed from vmlinuz (holds the .BTF section)
#   vmlinux.btf  the raw .BTF section bytes (same format as /sys/kernel/btf/vmlinux)
# and keeps the packages in DEST/debs/. Idempotent: a build whose vmlinux.btf exists is skipped.
#
# Needs: apt-get, dpkg, sha256sum, and `npm install` done in this checkout (the extraction is
# btfcheck's own code run by Node through tsx; no python, xz, zstd or lz4 tools).
# BTF_DEBS=DIR names a directory holding the exact .deb files, used only when `apt-get download`
# cannot get them (the Debian archive drops old ABIs). Every package, wherever it comes from, must
# match the sha256 below.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-${BTF_KERNELS:-$HOME/.cache/btf-kernels}}
LOCAL_DEBS=${BTF_DEBS:-}

# package=version  sha256 of its .deb
PKGS=(
  "linux-image-6.1.0-47-cloud-amd64-unsigned=6.1.170-3 554cf5c453f93c86d9af849d98f21826fe9ea3d0eeec6a5c6ed603a5788ff054"
  "linux-image-6.1.0-56-cloud-amd64-unsigned=6.1.192-2 7ff7fc8da85d313242c20698c6b34542aea447673c7c1975b0d38bd6005100b5"
  "linux-image-6.12.115+deb12-cloud-amd64-unsigned=6.12.115-2~deb12u1 5a607ccf711dda31e76a76364ab9b0e8e87749d58d5020c9ae93832d4abada30"
  "linux-image-6.12.117+deb12-cloud-amd64-unsigned=6.12.117-1~deb12u1 670b2688bcf94c24693f7c7e1fc9776ff2e202ff15553a2614f79415d48a6607"
)

TSX="$ROOT/node_modules/.bin/tsx"
[ -x "$TSX" ] || { echo "fetch-kernels: $TSX missing: run 'npm install' in $ROOT first" >&2; exit 1; }

mkdir -p "$DEST/debs"
DEST=$(cd "$DEST" && pwd)

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# Puts the verified .deb of $spec into $DEST/debs and prints its path: the cached copy, else
# `apt-get download`, else (only when the archive no longer has it) the copy in $BTF_DEBS.
get_deb() {
  local spec=$1 sha=$2 pkg=${1%%=*} ver=${1#*=}
  local file="${pkg}_${ver//:/%3a}_amd64.deb"
  if sha_ok "$DEST/debs/$file" "$sha"; then echo "$DEST/debs/$file"; return 0; fi
  ( cd "$DEST/debs" && { apt-get download "$spec" >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get download "$spec" >/dev/null 2>&1; }; } ) || true
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

for entry in "${PKGS[@]}"; do
  spec=${entry%% *}; sha=${entry##* }
  pkg=${spec%%=*}; abi=${pkg#linux-image-}; abi=${abi%-unsigned}
  out="$DEST/$abi"
  if [ -s "$out/vmlinux.btf" ] && [ -s "$out/vmlinux" ]; then continue; fi
  deb=$(get_deb "$spec" "$sha")
  # Unpack and extract beside the target, then move it into place: an interrupted run leaves
  # no half-made build that a later run would take as done.
  work="$out.partial"
  rm -rf "$work"; mkdir -p "$work"
  dpkg -x "$deb" "$work"
  "$TSX" "$ROOT/scripts/extract-kernel.ts" "$work/boot/vmlinuz-$abi" "$work/vmlinux" "$work/vmlinux.btf"
  rm -rf "$out"; mv "$work" "$out"
  echo "ready: $out"
done
echo "kernels in $DEST: $(ls "$DEST" | grep -v -e '^debs$' -e '\.partial$' | tr '\n' ' ')"
