#!/bin/sh
# pinpage_zram (tools/testing/selftests/mm/pinpage_zram.c): zsmalloc (zram, zswap) as a pinpage
# owner.  The pages of a hot_added zram device's pool move under compaction, memory offlining
# and CMA allocation, idle and while two threads write, discard and read the device; those
# of zswap's pool under offlining or a CMA allocation; every byte reads back, and hot_remove
# releases the pool's records.  It needs movablecore= and cma=, and swap with zswap
# (on zsmalloc) in front of it: 256 MiB of swap on zram0 (the test hot_adds its own devices).
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="cma=64M movablecore=512M"
# PINPAGE-VM: TIMEOUT=840
. /groups/lib.sh
zram_swap 256M
swap=$?
zswap=/sys/module/zswap/parameters
[ "$(cat $zswap/zpool 2>/dev/null)" = zsmalloc ] || knob $zswap/zpool zsmalloc
knob $zswap/enabled Y
echo "# zswap: enabled $(cat $zswap/enabled 2>/dev/null), zpool $(cat $zswap/zpool 2>/dev/null), compressor $(cat $zswap/compressor 2>/dev/null)"
run_test pinpage_zram 720 pinpage_zram
stale=$(awk '$1 == "pinpage_stale_freed" { print $2 }' /proc/vmstat)
if [ "${stale:-0}" != 0 ]; then
	echo "# $stale pages were freed with pinpage records left"
	exit 1
fi
[ $swap -eq 0 ] || { echo "# no swap: zswap_moves could not run"; exit 1; }
exit 0
