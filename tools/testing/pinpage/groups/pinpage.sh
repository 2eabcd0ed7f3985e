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
