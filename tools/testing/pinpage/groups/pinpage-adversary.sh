#!/bin/sh
# pinpage_adversary (tools/testing/selftests/mm/pinpage_adversary.c): a process tries to
# keep a ZONE_MOVABLE memory block from going offline through the pins of a pinpage owner
# (io_getevents() or IORING_REGISTER_BUFFERS stalled in a userfaultfd fault, two io_uring
# rings in one THP, a WRITE_FIXED waiting for a tmpfs inode lock held across a fault, a
# bounded owner that refuses); the block must go offline within 30 s,
# as on the stock kernel, and a bounded owner that refuses must lose its privilege.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="movablecore=512M"
# PINPAGE-VM: TIMEOUT=480
. /groups/lib.sh
run_test pinpage_adversary 420 pinpage_adversary
stale=$(awk '$1 == "pinpage_stale_freed" { print $2 }' /proc/vmstat)
if [ "${stale:-0}" != 0 ]; then
	echo "# $stale pages were freed with pinpage records left"
	exit 1
fi
exit 0
