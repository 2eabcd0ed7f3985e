#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make repin V=<version>: move the pinned base (base.env) to another Debian version of
# linux-source-6.12: install it, and write its version, tarball sha256 and kernel version to
# base.env.  Then run make check; commit base.env if it passes (git checkout base.env if not).
#   repin.sh <debian-version>         e.g. 6.12.115-2~deb12u1 (apt-cache madison linux-source-6.12)
. "$(dirname "$0")/lib.sh"

v=$1
[ -n "$v" ] || die "usage: repin.sh <Debian version of $BASE_PKG>"
have=$(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null || true)
if [ "$have" != "$v" ]; then
	[ "$(id -u)" -eq 0 ] || die "installing $BASE_PKG=$v needs root"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null 2>&1
	apt-cache madison "$BASE_PKG" 2>/dev/null | grep -q " $v " ||
		die "$BASE_PKG $v is not available from apt; available: $(apt-cache madison "$BASE_PKG" 2>/dev/null | awk '{print $3}' | xargs)"
	apt-get install -y -qq --no-install-recommends --allow-downgrades "$BASE_PKG=$v" >/dev/null ||
		die "apt-get install $BASE_PKG=$v failed"
fi
[ -f "$BASE_TARBALL" ] || die "$BASE_TARBALL missing after installing $BASE_PKG $v"
say "reading $BASE_TARBALL"
sum=$(sha256sum "$BASE_TARBALL" | cut -d' ' -f1)
kv=$(tar -xJOf "$BASE_TARBALL" --occurrence=1 "$BASE_TOPDIR/Makefile" | awk -F' *= *' '
	$1 == "VERSION" { a = $2 } $1 == "PATCHLEVEL" { b = $2 } $1 == "SUBLEVEL" { c = $2 }
	c != "" { print a "." b "." c; exit }')
[ -n "$kv" ] || die "cannot read the kernel version from $BASE_TARBALL"
sed -i -e "s/^BASE_VERSION=.*/BASE_VERSION=$v/" -e "s/^BASE_SHA256=.*/BASE_SHA256=$sum/" \
	-e "s/^BASE_KERNELVERSION=.*/BASE_KERNELVERSION=$kv/" "$PINPAGE_DIR/base.env"
say "base.env now pins $BASE_PKG $v (Linux $kv, sha256 $sum)"
say "next: make check; if it passes, git commit tools/testing/pinpage/base.env (and make expected-skips if the stock gate's skips changed)"
