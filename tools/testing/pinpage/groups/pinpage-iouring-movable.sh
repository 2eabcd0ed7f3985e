#!/bin/sh
# pinpage_iouring's ZONE_MOVABLE and CMA cases: registered buffers, NO_MMAP SQEs and a
# buffer ring faulted there leave it when they are pinned, as on stock (their owners are
# unbounded), keep their data and never move back; the block offlines, the CMA area
# allocates.  They need movablecore= and cma=; the other cases run in the pinpage-iouring
# group, without them.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="cma=64M movablecore=512M"
# PINPAGE-VM: TIMEOUT=300
. /groups/lib.sh
run_test pinpage_iouring 200 pinpage_iouring -t movable_buffers_leave -t movable_offline -t cma_alloc \
	-t movable_ring_memory
stale=$(awk '$1 == "pinpage_stale_freed" { print $2 }' /proc/vmstat)
if [ "${stale:-0}" != 0 ]; then
	echo "# $stale pages were freed with pinpage records left"
	exit 1
fi
exit 0
