#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make expected-skips: run the upstream gate on the stock base kernel (same test config,
# without pinpage) and write what each binary skipped to expected-skips/<binary>.txt.
# The patched kernel must not skip anything else (judge.sh).  Review the diff and commit it.
# expected-skips/pinpage.txt and kunit.txt are ours (no stock run): edit them by hand, one
# "<case> # SKIP <reason>" line per skip we accept.
. "$(dirname "$0")/lib.sh"

groups="gate gate-migration gate-zram"
# shellcheck disable=SC2086
PINPAGE_RECORD_SKIPS=1 "$PINPAGE_DIR/check.sh" stock-test $groups ||
	die "the stock gate did not pass; expected-skips/ left alone"
dir=$PINPAGE_DIR/expected-skips
mkdir -p "$dir"
for g in $groups; do
	for bin in $(sort -u "$B/logs/stock-test/$g/ran.txt"); do
		f=$B/logs/stock-test/$g/skips/$bin.txt
		{
			echo "# $bin: skipped on the stock $BASE_PKG $BASE_VERSION kernel, test config, group $g"
			echo "# (make expected-skips).  One line per case: <case> # SKIP <reason>."
			[ -f "$f" ] && LC_ALL=C sort "$f"
		} > "$dir/$bin.txt"
		say "expected-skips/$bin.txt: $(grep -vc '^#' "$dir/$bin.txt") skips"
	done
done
