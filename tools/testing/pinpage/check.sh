#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check: install, assemble, build the test kernel and the guest programs, boot every
# test group, and print per-group results and the closing line "N passed, N failed[, N skipped]".
#   check.sh [flavour] [group...]      default: test flavour, every group in groups.list
. "$(dirname "$0")/lib.sh"

flavour=${1:-test}
shift || true
groups=${*:-$(sed -e 's/#.*//' "$PINPAGE_DIR/groups.list" | xargs)}
start=$(date +%s)

"$PINPAGE_DIR/deps.sh" || exit 1
"$PINPAGE_DIR/assemble.sh" || exit 1
src=$TREE
[ "${flavour#stock-}" != "$flavour" ] && src=$BASE_TREE
"$PINPAGE_DIR/build-kernel.sh" "$flavour" "$src" "$B/obj-$flavour" || exit 1
"$PINPAGE_DIR/build-userspace.sh" "$B/obj-$flavour" || exit 1
built=$(date +%s)

# Groups boot in parallel, two at a time (the machine has two cores and the
# time-bound upstream migration test mostly waits); results print in order.
jobs=${PINPAGE_JOBS:-2}
mkdir -p "$B/logs/$flavour"
for g in $groups; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n 2>/dev/null || true
	done
	"$PINPAGE_DIR/run-group.sh" "$g" "$flavour" > "$B/logs/$flavour/$g.summary" 2>&1 &
done
wait

P=0 F=0 S=0 bad=""
for g in $groups; do
	say "group $g"
	cat "$B/logs/$flavour/$g.summary"
	read -r p f s status _ < "$B/logs/$flavour/$g/counts" || { p=0 f=1 s=0 status=FAILED; }
	# A group that crashed, hung or splatted counts as a failure even if its tests passed.
	[ "$status" = ok ] || { bad="$bad $g"; [ "$f" -eq 0 ] && f=1; }
	P=$((P + p)) F=$((F + f)) S=$((S + s))
done
end=$(date +%s)

echo
echo "build $((built - start))s, tests $((end - built))s; logs in $B/logs/$flavour/"
if [ -n "$bad" ]; then
	echo "groups that did not complete cleanly:$bad"
fi
if [ "$S" -gt 0 ]; then
	echo "$P passed, $F failed, $S skipped"
else
	echo "$P passed, $F failed"
fi
[ "$F" -eq 0 ] && [ -z "$bad" ]
