#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make devtree: a git repository of the assembled tree in build/dev.  Its first commit is the
# pristine base (tag pinpage-base), then one commit per patch in patches/series (git am, so
# each keeps its changelog), then one commit with the overlay's new files.  Edit there, commit
# changes to upstream files into the commit of the patch they belong to (git commit --fixup +
# git rebase -i --autosquash pinpage-base, or a new commit for a new patch), then `make export`.
. "$(dirname "$0")/lib.sh"

dev=$B/dev
"$PINPAGE_DIR/assemble.sh" --base-only || exit 1
if [ -d "$dev/.git" ] && [ "${FORCE:-0}" != 1 ]; then
	if [ -n "$(git -C "$dev" status --porcelain --untracked-files=no)" ] ||
	   [ "$(git -C "$dev" rev-list --count pinpage-base..HEAD 2>/dev/null)" != "$(( $(series | wc -l) + 1 ))" ]; then
		die "$dev has work that may not be exported yet; run make export first, or FORCE=1 make devtree to throw it away"
	fi
fi
rm -rf "$dev"
say "copying base to $dev"
cp -a "$BASE_TREE" "$dev" || die "copy failed"
G() { git -C "$dev" -c user.name=pinpage -c user.email=pinpage@localhost "$@"; }
G init -q
say "committing the pristine base (takes a minute)"
G add -A -f . && G commit -q -m "base: Debian $BASE_PKG $BASE_VERSION (pristine)" || die "git commit of the base failed"
G tag pinpage-base
for p in $(series); do
	G am -q --keep-cr "$TOP/patches/$p" || { G am --abort; die "git am of patches/$p failed"; }
done
for f in $(overlay_files); do
	mkdir -p "$dev/$(dirname "$f")"
	cp "$TOP/$f" "$dev/$f"
done
G add -A -f . && G commit -q --allow-empty -m "pinpage: new files (overlay)"
say "$dev: $(series | wc -l) patches + overlay on pinpage-base; git -C $dev log --oneline pinpage-base.."
