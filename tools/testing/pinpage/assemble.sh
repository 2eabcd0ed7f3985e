#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Assemble the kernel tree: pristine Debian base + overlay (new files at their kernel paths)
# + patches/series applied with no fuzz.  Only files whose content changed are rewritten,
# so an unchanged overlay leaves every timestamp alone and the next build is incremental.
. "$(dirname "$0")/lib.sh"

check_base() {
	local have sum
	have=$(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null) ||
		die "$BASE_PKG is not installed; expected version $BASE_VERSION (run: make deps)"
	[ "$have" = "$BASE_VERSION" ] ||
		die "$BASE_PKG version mismatch: expected $BASE_VERSION, found $have. The patches were made for $BASE_VERSION; install it with: apt-get install $BASE_PKG=$BASE_VERSION"
	[ -f "$BASE_TARBALL" ] || die "$BASE_TARBALL missing although $BASE_PKG $have is installed"
	if [ ! -f "$B/base/.sha256" ] || [ "$(cat "$B/base/.sha256")" != "$BASE_SHA256" ] ||
	   [ "$BASE_TARBALL" -nt "$B/base/.sha256" ]; then
		sum=$(sha256sum "$BASE_TARBALL" | cut -d' ' -f1)
		[ "$sum" = "$BASE_SHA256" ] ||
			die "$BASE_TARBALL sha256 mismatch: expected $BASE_SHA256, found $sum"
	fi
}

extract_base() {
	[ -f "$B/base/.sha256" ] && [ "$(cat "$B/base/.sha256")" = "$BASE_SHA256" ] &&
		[ -f "$BASE_TREE/Makefile" ] && return 0
	say "extracting $BASE_TARBALL"
	rm -rf "$B/base" && mkdir -p "$B/base"
	tar -C "$B/base" -xJf "$BASE_TARBALL" || die "extracting $BASE_TARBALL failed"
	local v
	v=$(make -s -C "$BASE_TREE" kernelversion 2>/dev/null)
	[ "$v" = "$BASE_KERNELVERSION" ] ||
		die "extracted tree is version '$v', expected $BASE_KERNELVERSION"
	echo "$BASE_SHA256" > "$B/base/.sha256"
}

stage() {
	local st=$B/stage p f out
	rm -rf "$st" && mkdir -p "$st"
	: > "$B/stage.deleted"
	for p in $(series); do
		[ -f "$TOP/patches/$p" ] || die "patches/series names $p, but patches/$p does not exist"
		for f in $(patch_files "$TOP/patches/$p"); do
			if [ ! -e "$st/$f" ] && [ -f "$BASE_TREE/$f" ]; then
				mkdir -p "$st/$(dirname "$f")"
				cp -p "$BASE_TREE/$f" "$st/$f"
			fi
		done
		if ! out=$(patch -d "$st" -p1 -F0 -N -s --no-backup-if-mismatch -r - -i "$TOP/patches/$p" 2>&1); then
			printf '%s\n' "$out" | sed 's/^/    /' >&2
			die "patches/$p does not apply to $BASE_PKG $BASE_VERSION (failed hunks above; no fuzz is allowed)"
		fi
		for f in $(patch_files "$TOP/patches/$p"); do
			[ -f "$BASE_TREE/$f" ] && [ ! -e "$st/$f" ] && echo "$f" >> "$B/stage.deleted"
		done
	done
	for f in $(overlay_files); do
		[ -e "$BASE_TREE/$f" ] &&
			die "overlay file $f exists in the base tree; changes to upstream files belong in patches/"
		[ -e "$st/$f" ] && die "overlay file $f is also created by a patch in patches/"
		mkdir -p "$st/$(dirname "$f")"
		cp "$TOP/$f" "$st/$f"
	done
}

sync_tree() {
	local st=$B/stage list=$TREE/.pinpage-files f n=0
	if [ ! -f "$TREE/.pinpage-assembled" ]; then
		say "copying base to $TREE"
		rm -rf "$TREE"
		cp -a "$BASE_TREE" "$TREE" || die "copying base tree failed"
		: > "$list"
		touch "$TREE/.pinpage-assembled"
	fi
	(cd "$st" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) > "$list.new"
	while read -r f; do
		if ! cmp -s "$st/$f" "$TREE/$f"; then
			mkdir -p "$TREE/$(dirname "$f")"
			cp "$st/$f" "$TREE/$f.pinpage-tmp" && mv -f "$TREE/$f.pinpage-tmp" "$TREE/$f"
			n=$((n + 1))
		fi
	done < "$list.new"
	# Files we touched last time but not now: back to pristine, or gone if they are new.
	while read -r f; do
		if [ -f "$BASE_TREE/$f" ]; then
			cmp -s "$BASE_TREE/$f" "$TREE/$f" || { cp "$BASE_TREE/$f" "$TREE/$f"; n=$((n + 1)); }
		else
			rm -f "$TREE/$f"; n=$((n + 1))
		fi
	done < <(LC_ALL=C comm -23 "$list" "$list.new")
	while read -r f; do
		[ -n "$f" ] && [ -e "$TREE/$f" ] && { rm -f "$TREE/$f"; n=$((n + 1)); }
	done < "$B/stage.deleted"
	mv -f "$list.new" "$list"
	say "assembled $TREE: $(series | wc -l) patches, $(overlay_files | wc -l) overlay files, $n files updated"
}

mkdir -p "$B"
check_base
extract_base
[ "${1:-}" = "--base-only" ] && exit 0
stage
sync_tree
