# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the pinpage harness. Sourced, never run.
#
# Layout of the git-ignored build folder ($B):
#   $B/base/<topdir>   pristine extracted upstream tree (read-only by convention)
#   $B/stage           scratch area where patches are applied to copies of touched files
#   $B/linux           assembled tree: base + overlay + patches/, where the kernel is built
#   $B/obj-<cfg>       kbuild output per config (test, release, stock-*)
#   $B/dev             developer git tree (make devtree / make export)
#   $B/initramfs       guest programs and initramfs images
#   $B/logs            console logs and results of the last runs

set -o pipefail
PINPAGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$PINPAGE_DIR/../../.." && pwd)
B=${PINPAGE_BUILD:-$TOP/build}
# shellcheck source=base.env
. "$PINPAGE_DIR/base.env"
BASE_TREE=$B/base/$BASE_TOPDIR
TREE=$B/linux

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/pinpage-ccache}
export CCACHE_BASEDIR=$B
export CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=pinpage KBUILD_BUILD_HOST=pinpage

die() {
	printf 'pinpage: error: %s\n' "$*" >&2
	exit 1
}

say() {
	printf '==> %s\n' "$*"
}

# The directories of an upstream tree that the overlay may add files to.
# tools/testing/pinpage (this harness) is ours and never copied into the kernel.
OVERLAY_DIRS="Documentation arch block crypto drivers fs include init io_uring ipc kernel lib mm net samples scripts security tools virt"

overlay_files() {
	(cd "$TOP" && for d in $OVERLAY_DIRS; do
		[ -d "$d" ] && find "$d" -type f -not -path 'tools/testing/pinpage/*'
	done) | LC_ALL=C sort
}

# Files a patch touches (old and new names), from its diff headers.
patch_files() {
	sed -n -e 's|^--- a/\([^[:space:]]*\).*|\1|p' -e 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1" | LC_ALL=C sort -u
}

series() {
	[ -f "$TOP/patches/series" ] || return 0
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/patches/series"
}
