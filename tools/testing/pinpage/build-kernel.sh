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
# A warning in a file we touch is a bug.  Every .c file that patches/ changes or the overlay
# adds is compiled with -Werror through kbuild's per-object CFLAGS_<name>.o, on every build
# of a patched flavour: the object is not written while it warns, so each later build
# compiles it again and fails again until the warning is fixed (a warning in a header we
# touch fails the touched .c files that include it).  kbuild keys these variables on the
# file name only, so a few upstream namesakes (drivers/base/memory.c, ...) get -Werror too;
# they build without warnings in this config.
werror=""
if [ "${flavour#stock-}" = "$flavour" ]; then
	for f in $({ for p in $(series); do patch_files "$TOP/patches/$p"; done; overlay_files; } |
		grep -E '\.c$' | grep -v '^tools/' | LC_ALL=C sort -u); do
		werror="$werror CFLAGS_$(basename "$f" .c).o=-Werror"
	done
fi
say "building $flavour kernel ($obj), log in $log"
start=$(date +%s)
# shellcheck disable=SC2086
if ! make -C "$src" O="$obj" CC="ccache gcc" -j"$(($(nproc) + 1))" $werror bzImage > "$log" 2>&1; then
	if grep -q '\[-Werror' "$log"; then
		grep -E -B3 '\[-Werror' "$log" | head -n 40 >&2
		die "compiler warnings (-Werror) in files we touch; see $log"
	fi
	grep -E 'error|Error' "$log" | head -n 30 >&2
	die "kernel build ($flavour) failed; see $log"
fi
say "built $obj/arch/x86/boot/bzImage in $(( $(date +%s) - start ))s"
