#!/bin/sh
# Regression gate: upstream's move_pages(2) selftest.  It needs two NUMA nodes with two
# CPUs each, or every case skips ("Not enough threads or NUMA nodes").
# PINPAGE-VM: SMP=4
# PINPAGE-VM: APPEND="hugepages=16"
# PINPAGE-VM: TIMEOUT=600
. /groups/lib.sh
run_test migration 400 migration
