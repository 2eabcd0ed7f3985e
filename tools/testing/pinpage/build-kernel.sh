#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build bzImage for one flavour from a source tree, with ccache (cache outside the checkout).
#   build-kernel.sh <flavour> [srctree] [objdir]
. "$(dirname "$0")/lib.sh"

flavour=$1 src=${2:-$TREE} obj=${3:-$B/obj-$1}
command -v ccache >/dev/null || die "ccache not found (run: make deps)"
"$PINPAGE_DIR/kconfig.sh" "$flavour" "$src" "$obj" || exit 1
mkdir -p "$B/logs"
log=$B/logs/build-$(basename "$obj").log
say "building $flavour kernel ($obj), log in $log"
start=$(date +%s)
if ! make -C "$src" O="$obj" CC="ccache gcc" -j"$(($(nproc) + 1))" bzImage > "$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -n 30 >&2
	die "kernel build ($flavour) failed; see $log"
fi
# A warning in a file we wrote is a bug: show it, the way a reviewer would see it.
grep -E '^[^ ]*(pinpage|gup_test)[^ ]*: warning:' "$log" >&2 && die "compiler warnings in our files; see $log"
say "built $obj/arch/x86/boot/bzImage in $(( $(date +%s) - start ))s"
