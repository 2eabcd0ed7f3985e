#!/bin/sh
# AIO ring page migration cost (guest/pinpage_aio_bench.c), measured not asserted: the
# same program on the stock and the patched kernel ("make bench-aio" runs both).
# PINPAGE-VM: SMP=2
# PINPAGE-VM: TIMEOUT=300
. /groups/lib.sh
run_test pinpage_aio_bench 250 /tests/pinpage_aio_bench
exit 0
