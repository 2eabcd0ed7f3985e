#!/bin/sh
# zsmalloc page migration cost (guest/pinpage_zsmalloc_bench.c), measured not asserted: the
# same program on the stock kernel (zsmalloc's movable_operations) and the patched one
# (pinpage), "make bench-zsmalloc" runs both.  It fills a hot-added zram device so that
# zsmalloc pages make up most of what is in use in ZONE_MOVABLE, then times memory
# offlining and compaction per migrated page, and reads the data back.  It fails only if a
# step did not run, a block could not be offlined or onlined again, or data changed.
# 1 GiB per node (the default), one vCPU per node: offlining moves pages to the other node.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="movablecore=512M"
# PINPAGE-VM: TIMEOUT=1200
. /groups/lib.sh
echo "# $(grep -E '^(MemTotal|MemFree):' /proc/meminfo | tr -s ' ' | xargs)"
run_test pinpage_zsmalloc_bench 1100 /tests/pinpage_zsmalloc_bench
grep -E '^(pinpage|pgmigrate|nr_zspages)' /proc/vmstat | sed 's/^/# /'
exit 0
