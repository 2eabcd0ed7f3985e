#!/bin/sh
# make bench only (not in groups.list): guest/pinpage_iouring_bench.c, what making io_uring
# registered buffers pinpage owners costs and buys.  It measures, never asserts; it fails
# only if a step did not run.  Booted once on the release kernel and once on the stock one.
# 1 GiB per node, one vCPU each; movablecore=1100M leaves about 470 MiB of kernel zone per
# node (all of it DMA32 in a 2 GiB guest): a few more 2 MiB frames than the 350 that
# measurement a scatters its buffers over, room for measurement b's 400 MiB in either kind
# of zone, and a 500 MiB THP mapping that has to come from the buffers' frames.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: MEM_PER_NODE=1024
# PINPAGE-VM: APPEND="movablecore=1100M"
# PINPAGE-VM: TIMEOUT=900
. /groups/lib.sh
echo "# $(grep -E '^(MemTotal|MemFree):' /proc/meminfo | tr -s ' ' | xargs)"
run_test pinpage_iouring_bench 840 pinpage_iouring_bench
echo "# vmstat after the run:"
grep pinpage /proc/vmstat | sed 's/^/# /'
exit 0
