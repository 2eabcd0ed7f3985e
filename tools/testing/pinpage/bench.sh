#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: build the release kernel and the stock release kernel (the unpatched base,
# same config without pinpage), boot groups/bench.sh (guest/pinpage_iouring_bench.c) on
# each, one after the other, and print the figures side by side.
# Exit status: 0 if both boots ran the benchmark to its end and every step of it ran.
# The figures are measured, never judged.
. "$(dirname "$0")/lib.sh"

"$PINPAGE_DIR/deps.sh" || exit 1
"$PINPAGE_DIR/assemble.sh" || exit 1
"$PINPAGE_DIR/build-kernel.sh" release || exit 1
"$PINPAGE_DIR/build-kernel.sh" stock-release "$BASE_TREE" "$B/obj-stock-release" || exit 1
# One initramfs for both kernels: the program finds out at run time whether the kernel
# has pinpage (the io_uring and gup_test UAPI it uses is the same in both trees).
"$PINPAGE_DIR/build-userspace.sh" "$B/obj-release" || exit 1

# One boot at a time: a second guest on the host's cores would skew the figures.
rc=0
mkdir -p "$B/logs"
for f in stock-release release; do
	say "bench on the $f kernel"
	"$PINPAGE_DIR/run-group.sh" bench "$f" > "$B/logs/bench-$f.summary" 2>&1 || rc=1
done

# The table rows of one run: "<id> <what...> <value per pass>", after a header
# "id measurement <pass names>" that says how many value columns follow.
rows() {
	sed -n '/^PINPAGE-TEST-BEGIN pinpage_iouring_bench/,/^PINPAGE-TEST-END/p' \
		"$B/logs/$1/bench/results.log" 2>/dev/null |
		awk '$1 == "id" && $2 == "measurement" { nv = NF - 2; next }
		     nv && $1 ~ /^[a-e][0-9]+$/ {
			v = ""; for (i = NF - nv + 1; i <= NF; i++) v = v "\t" $i
			w = $2; for (i = 3; i <= NF - nv; i++) w = w " " $i
			print $1 "\t" w v
		     }'
}

echo
echo "pinpage_iouring_bench: stock = unpatched base; migrate=0/1 = release kernel with"
echo "vm.pinpage_migrate off, then on (README.md, \"make bench\", says what the rows mean)"
echo
{
	rows stock-release | sed 's/^/S\t/'
	rows release | sed 's/^/R\t/'
} | awk -F '\t' '
	$1 == "S" { stock[$2] = $4; if (!($2 in what)) { what[$2] = $3; order[n++] = $2 } }
	$1 == "R" { off[$2] = $4; on[$2] = $5; what[$2] = $3
		    if (!($2 in stock) && !($2 in seen)) order[n++] = $2; seen[$2] = 1 }
	END {
		if (!n) { print "(no figures: see the logs below)"; exit }
		printf "%-3s %-62s %12s %12s %12s\n", "id", "measurement", "stock", "migrate=0", "migrate=1"
		for (i = 0; i < n; i++) {
			k = order[i]
			printf "%-3s %-62s %12s %12s %12s\n", k, what[k],
			       (k in stock) ? stock[k] : "-", (k in off) ? off[k] : "-",
			       (k in on) ? on[k] : "-"
		}
	}'

echo
for f in stock-release release; do
	grep '^# FAIL' "$B/logs/$f/bench/results.log" 2>/dev/null | sed "s/^/$f: /"
	tail -n 1 "$B/logs/bench-$f.summary"
	echo "  notes and log: $B/logs/$f/bench/results.log, console: $B/logs/$f/bench/console.log"
done
if [ $rc -ne 0 ]; then
	for f in stock-release release; do
		sed '$d' "$B/logs/bench-$f.summary"
	done
	echo "bench: a boot or a step of the benchmark failed (details above)"
fi
exit $rc
