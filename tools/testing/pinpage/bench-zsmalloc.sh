#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench-zsmalloc: boot groups/zsmalloc-cost.sh (guest/pinpage_zsmalloc_bench.c) on the
# stock test kernel (the unpatched base, same config without pinpage), then on the patched
# test kernel, as make bench-aio does for aio-cost, and print the program's
# "zsmalloc_cost <key> <value>" lines side by side.  Only this run's results are shown: a
# kernel whose group did not boot in this run gets "-".
# Exit status: 0 if both groups passed (the patched kernel boots only if the stock one did).
# The figures are measured, never judged.
. "$(dirname "$0")/lib.sh"

# KERNELS=release (make bench-zsmalloc KERNELS=release) compares the release kernels (no
# KASAN, lockdep or DEBUG_VM checks) instead of the test kernels.
case ${KERNELS:-test} in
test) stock=stock-test patched=test ;;
release) stock=stock-release patched=release ;;
*) die "KERNELS=${KERNELS}: test or release" ;;
esac
start=$(date +%s)
rc=0
{ "$PINPAGE_DIR/check.sh" "$stock" zsmalloc-cost &&
	"$PINPAGE_DIR/check.sh" "$patched" zsmalloc-cost; } || rc=1

# "<key> <value>" lines of one kernel's run, if the results are from this run.
figures() {
	local log=$B/logs/$1/zsmalloc-cost/results.log
	[ -f "$log" ] && [ "$(stat -c %Y "$log")" -ge "$start" ] || return 0
	awk '$1 == "zsmalloc_cost" && NF >= 3 { print $2, $3 }' "$log"
}

echo
echo "pinpage_zsmalloc_bench: stock = unpatched base (zsmalloc's movable_operations),"
echo "patched = pinpage ($stock / $patched kernels; README.md, \"make bench-zsmalloc\", says what the rows mean)"
echo
{
	figures "$stock" | sed 's/^/S /'
	figures "$patched" | sed 's/^/T /'
} | awk '
	!($2 in seen) { seen[$2] = 1; order[n++] = $2 }
	$1 == "S" { s[$2] = $3 }
	$1 == "T" { t[$2] = $3 }
	END {
		if (!n) { print "(no figures: see the logs above)"; exit }
		printf "%-28s %14s %14s %9s\n", "zsmalloc_cost", "stock", "patched", "ratio"
		for (i = 0; i < n; i++) {
			k = order[i]; r = ""
			if (k ~ /_per_(page|block)$/ && (k in s) && (k in t) && s[k] + 0 > 0)
				r = sprintf("%.2f", t[k] / s[k])
			printf "%-28s %14s %14s %9s\n", k, (k in s) ? s[k] : "-",
			       (k in t) ? t[k] : "-", r
		}
	}'
echo
echo "logs: $B/logs/{$stock,$patched}/zsmalloc-cost/{results,console}.log"
exit $rc
