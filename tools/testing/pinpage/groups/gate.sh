#!/bin/sh
# Regression gate: upstream's own GUP, COW and compaction selftests from the base tree.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: APPEND="hugepages=64"
# PINPAGE-VM: TIMEOUT=900
. /groups/lib.sh
# cow's swap cases (MADV_PAGEOUT) need swap: 512 MiB of zram.
zram_swap 512M
swap=$?
run_test "gup_test -u" 120 gup_test -u
run_test "gup_test -a" 120 gup_test -a
run_test "gup_test -b" 120 gup_test -b
run_test "gup_test -L" 120 gup_test -L
run_test "gup_test -ct -F 0x1 0 19 0x1000" 120 gup_test -ct -F 0x1 0 19 0x1000
run_test gup_longterm 300 gup_longterm
run_test cow 600 cow
run_test compaction_test 300 compaction_test
[ $swap -eq 0 ] || { echo "# no swap: the swap cases of cow skipped"; exit 1; }
