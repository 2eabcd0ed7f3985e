#!/bin/sh
# pinpage selftest (tools/testing/selftests/mm/pinpage.c): owned long-term pins moved by
# compaction, CMA, memory offline and move_pages(2); nesting, refusal, unowned pins, switch.
# cma= gives the CMA area, movablecore= the offlinable ZONE_MOVABLE blocks.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="cma=64M movablecore=512M"
# PINPAGE-VM: TIMEOUT=900
. /groups/lib.sh
run_test pinpage 800 pinpage
echo "# vmstat after the run:"
grep pinpage /proc/vmstat | sed 's/^/# /'
echo "# /sys/kernel/debug/pinpage/stats:"
sed 's/^/# /' /sys/kernel/debug/pinpage/stats 2>/dev/null
echo "# cost of owned pins (measured, not asserted):"
pinpage_cost
# A page freed with owner records left (CONFIG_DEBUG_VM check in the page free path)
# fails the group: only the KUnit suite provokes that on purpose.
stale=$(awk '$1 == "pinpage_stale_freed" { print $2 }' /proc/vmstat)
if [ "${stale:-0}" != 0 ]; then
	echo "# $stale pages were freed with pinpage records left"
	exit 1
fi
exit 0
