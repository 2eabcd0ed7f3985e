#!/bin/sh
# pinpage_iouring selftest (tools/testing/selftests/mm/pinpage_iouring.c): io_uring registered
# buffers as pinpage owners, moved by move_pages(2) and compaction under I/O; nested and cloned
# rings, in-flight and parked requests, SEND_ZC, bad input, teardown races, the switch.
# null_blk: one device whose requests complete after 1 s (timer mode), for the in-flight case;
# the test makes its own zram device and brings up lo.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="null_blk.nr_devices=1 null_blk.irqmode=2 null_blk.completion_nsec=1000000000"
# PINPAGE-VM: TIMEOUT=600
. /groups/lib.sh
run_test pinpage_iouring 420 pinpage_iouring -T movable_buffers_leave -T movable_offline -T cma_alloc \
	-T movable_ring_memory
echo "# vmstat after the run:"
grep pinpage /proc/vmstat | sed 's/^/# /'
# A page freed with owner records left (CONFIG_DEBUG_VM check in the page free path)
# fails the group.
stale=$(awk '$1 == "pinpage_stale_freed" { print $2 }' /proc/vmstat)
if [ "${stale:-0}" != 0 ]; then
	echo "# $stale pages were freed with pinpage records left"
	exit 1
fi
exit 0
