#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make export: write build/dev back into the repository.  Files that do not exist in the base
# (committed or not) become the overlay; every commit after pinpage-base that changes upstream
# files becomes one patch in patches/ (git format-patch, changelog kept), in commit order, and
# patches/series is rewritten to match.  A patch keeps its file name while its subject stays.
. "$(dirname "$0")/lib.sh"

dev=$B/dev
[ -d "$dev/.git" ] || die "no developer tree at $dev (make devtree first)"
G() { git -C "$dev" "$@"; }
G rev-parse -q --verify pinpage-base >/dev/null || die "$dev has no pinpage-base tag"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
G ls-tree -r --name-only pinpage-base | LC_ALL=C sort > "$tmp/base"

# Uncommitted edits to upstream files have no patch to go to yet.
G status --porcelain --untracked-files=no | cut -c4- | LC_ALL=C sort > "$tmp/dirty"
LC_ALL=C comm -12 "$tmp/base" "$tmp/dirty" > "$tmp/dirty-base"
if [ -s "$tmp/dirty-base" ]; then
	sed 's/^/    /' "$tmp/dirty-base" >&2
	die "uncommitted changes to upstream files above: commit them into their patch first (git commit --fixup=<commit>; git rebase -i --autosquash pinpage-base)"
fi

# Overlay: every file in the work tree that the base does not have.  (Debian's
# top-level .gitignore ignores everything, so untracked files are listed without
# it, less editor and patch leftovers.)
G ls-files -c -o | grep -Ev '(~|\.orig|\.rej|\.swp|\.o)$' | LC_ALL=C sort -u > "$tmp/now"
LC_ALL=C comm -13 "$tmp/base" "$tmp/now" > "$tmp/new"
n=0
while read -r f; do
	[ -f "$dev/$f" ] || continue
	if ! cmp -s "$dev/$f" "$TOP/$f"; then
		mkdir -p "$TOP/$(dirname "$f")" && cp "$dev/$f" "$TOP/$f" && n=$((n + 1))
	fi
done < "$tmp/new"
overlay_files > "$tmp/old-overlay"
while read -r f; do
	rm -f "$TOP/$f" && n=$((n + 1))
done < <(LC_ALL=C comm -23 "$tmp/old-overlay" "$tmp/new")

# Patches: subject -> existing file name, so names stay stable.
mkdir -p "$TOP/patches"
for p in $(series); do
	s=$(sed -n 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//p' "$TOP/patches/$p" | head -n 1)
	printf '%s\t%s\n' "$s" "$p"
done > "$tmp/names"
: > "$tmp/series"
for c in $(G rev-list --reverse pinpage-base..HEAD); do
	G diff-tree --no-commit-id --name-only -r "$c" | LC_ALL=C sort > "$tmp/files"
	LC_ALL=C comm -12 "$tmp/base" "$tmp/files" > "$tmp/upstream"
	[ -s "$tmp/upstream" ] || continue
	subj=$(G log -1 --format=%s "$c")
	name=$(awk -F'\t' -v s="$subj" '$1 == s { print $2; exit }' "$tmp/names")
	[ -n "$name" ] || name=$(G log -1 --format=%f "$c").patch
	grep -qxF "$name" "$tmp/series" && die "two commits would both be patches/$name; give them distinct subjects"
	# shellcheck disable=SC2046
	G format-patch -1 --stdout -N --zero-commit --no-signature "$c" -- $(cat "$tmp/upstream") > "$tmp/p"
	cmp -s "$tmp/p" "$TOP/patches/$name" || { cp "$tmp/p" "$TOP/patches/$name"; n=$((n + 1)); }
	echo "$name" >> "$tmp/series"
done
{
	echo "# Upstream changes, applied in this order with no fuzz (tools/testing/pinpage/assemble.sh)."
	cat "$tmp/series"
} > "$tmp/series.full"
cmp -s "$tmp/series.full" "$TOP/patches/series" || cp "$tmp/series.full" "$TOP/patches/series"
for p in "$TOP"/patches/*.patch; do
	[ -f "$p" ] || continue
	grep -qxF "$(basename "$p")" "$tmp/series" || { rm -f "$p"; n=$((n + 1)); }
done
say "exported $(wc -l < "$tmp/series") patches and $(wc -l < "$tmp/new") overlay files; $n files changed in $TOP"
