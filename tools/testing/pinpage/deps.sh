#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what the harness needs from Debian's archive (we run as root on Debian 12).
# Quiet and quick when everything is already there.
. "$(dirname "$0")/lib.sh"

PKGS="build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod rsync python3
ccache quilt patch git qemu-system-x86 busybox-static file
liburing-dev libaio-dev libnuma-dev libcap-dev"

mkdir -p "$B"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
have=$(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null || true)
[ "$have" = "$BASE_VERSION" ] || missing="$missing $BASE_PKG=$BASE_VERSION"
[ -z "$missing" ] && exit 0

[ "$(id -u)" -eq 0 ] || die "missing packages:$missing (install them as root, or run make deps as root)"
say "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq > "$B/apt-update.log" 2>&1 || { mkdir -p "$B"; apt-get update -qq || die "apt-get update failed"; }
# Read madison's list once: "grep -q" in a pipe under pipefail can fail with SIGPIPE.
versions=$(apt-cache madison "$BASE_PKG" 2>/dev/null | awk '{print $3}' | xargs)
if ! [[ " $versions " == *" $BASE_VERSION "* ]]; then
	found=$versions
	die "$BASE_PKG $BASE_VERSION (the version the patches were made for) is not available from apt; found: ${found:-none}${have:+, installed: $have}. README.md, \"The pinned base\", says what to do"
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends --allow-downgrades $missing > /dev/null ||
	die "apt-get install failed for:$missing"
