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
# The harness tests itself first (seconds, no boot): a judge that lets a failure through
# must not get to judge the kernel.
"$PINPAGE_DIR/selftest.sh" || die "the harness self-test failed (tools/testing/pinpage/selftest.sh)"
src=$TREE
[ "${flavour#stock-}" != "$flavour" ] && src=$BASE_TREE
"$PINPAGE_DIR/build-kernel.sh" "$flavour" "$src" "$B/obj-$flavour" || exit 1
"$PINPAGE_DIR/build-userspace.sh" "$B/obj-$flavour" || exit 1
built=$(date +%s)

# Groups boot in parallel, two at a time (the machine has two cores and the
# time-bound upstream migration test mostly waits); results print in order.
# Every group starts from an empty folder, and its counts must carry this run's id.
jobs=${PINPAGE_JOBS:-2}
logs=$B/logs/$flavour
PINPAGE_RUN_ID="$(date +%s).$$"
export PINPAGE_RUN_ID
mkdir -p "$logs"
for g in $groups; do
	rm -rf "${logs:?}/$g" "$logs/$g.summary"
done
for g in $groups; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n 2>/dev/null || true
	done
	"$PINPAGE_DIR/run-group.sh" "$g" "$flavour" > "$logs/$g.summary" 2>&1 &
done
wait
end=$(date +%s)

# shellcheck disable=SC2086
"$PINPAGE_DIR/tally.sh" "$logs" "$PINPAGE_RUN_ID" \
	"build $((built - start))s, tests $((end - built))s; logs in $logs/" $groups
