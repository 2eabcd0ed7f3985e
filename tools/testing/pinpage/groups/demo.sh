#!/bin/sh
# make demo: the narrated scenario (guest/pinpage_demo.c) on the release kernel.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="cma=64M movablecore=512M"
# PINPAGE-VM: TIMEOUT=300
. /groups/lib.sh
run_test pinpage_demo 200 pinpage_demo
echo
echo "Cost of owned pins on this kernel (measured; absolute times under TCG mean little):"
pinpage_cost | sed 's/^# //'
