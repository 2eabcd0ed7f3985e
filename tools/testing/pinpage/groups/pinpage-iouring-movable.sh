#!/bin/sh
# pinpage_iouring's ZONE_MOVABLE and CMA cases: registered buffers as bounded owners that stay
# in ZONE_MOVABLE or CMA until a use nobody bounds, and move for an offline or a CMA
# allocation; NO_MMAP SQEs and a buffer ring that stay in ZONE_MOVABLE.  They need
# movablecore= and cma=; the other cases run in the pinpage-iouring group, without them.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="cma=64M movablecore=512M"
# PINPAGE-VM: TIMEOUT=300
. /groups/lib.sh
run_test pinpage_iouring 200 pinpage_iouring -t movable_bounded -t movable_offline -t cma_alloc \
	-t movable_ring_memory
stale=$(awk '$1 == "pinpage_stale_freed" { print $2 }' /proc/vmstat)
if [ "${stale:-0}" != 0 ]; then
	echo "# $stale pages were freed with pinpage records left"
	exit 1
fi
exit 0
