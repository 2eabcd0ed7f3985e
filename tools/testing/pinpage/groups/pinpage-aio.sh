#!/bin/sh
# pinpage_aio (tools/testing/selftests/mm/pinpage_aio.c): AIO completion rings as pinpage
# owners.  Ring pages move under move_pages(2), compaction, offlining and CMA allocation
# while I/O completes into them (null_blk from a 200 us timer, that is from interrupt
# context), come from ZONE_MOVABLE and CMA, share pages with a gup_test owner, and survive
# mremap()/io_destroy()/exit races.  It needs movablecore=, cma= and null_blk.irqmode=2.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="cma=64M movablecore=512M null_blk.irqmode=2 null_blk.completion_nsec=200000"
# PINPAGE-VM: TIMEOUT=660
. /groups/lib.sh
run_test pinpage_aio 540 pinpage_aio
stale=$(awk '$1 == "pinpage_stale_freed" { print $2 }' /proc/vmstat)
if [ "${stale:-0}" != 0 ]; then
	echo "# $stale pages were freed with pinpage records left"
	exit 1
fi
exit 0
