#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot one test group under QEMU (TCG, two NUMA nodes) and judge it.
#   run-group.sh <group> [flavour]        flavour: test (default) | release | stock-test ...
# Clears <group>'s output folder first, whatever happens next; judge.sh then judges the
# logs (summary, counts file, exit status: see there).
. "$(dirname "$0")/lib.sh"

group=$1 flavour=${2:-test}
case $group/$flavour in
*//* | /* | */ | .* | */.* | */*/*) die "bad group or flavour name '$group' '$flavour'" ;;
esac
out=$B/logs/$flavour/$group
# Before anything can fail: a stale folder must never be read as this run's result.
{ rm -rf "$out" && mkdir -p "$out"; } || die "cannot clear $out"
script=$PINPAGE_DIR/groups/$group.sh
[ -f "$script" ] || die "no test group '$group' (groups are in $PINPAGE_DIR/groups/)"
kernel=$B/obj-$flavour/arch/x86/boot/bzImage
initrd=$B/initramfs/initramfs.cpio.gz
[ -f "$kernel" ] || die "$kernel not built (make build)"
[ -f "$initrd" ] || die "$initrd not built (make build)"

SMP=2 MEM_PER_NODE=1024 TIMEOUT=600 APPEND="" KIND=selftest
eval "$(sed -n 's/^# PINPAGE-VM: //p' "$script")"
console=$out/console.log results=$out/results.log

half=$((SMP / 2))
numa="-object memory-backend-ram,id=m0,size=${MEM_PER_NODE}M -numa node,nodeid=0,memdev=m0,cpus=0-$((half - 1))"
numa="$numa -object memory-backend-ram,id=m1,size=${MEM_PER_NODE}M -numa node,nodeid=1,memdev=m1,cpus=$half-$((SMP - 1))"
# Every KUnit suite built in runs (the test config builds exactly those the
# group names in KUNIT_SUITES); the group checks that each of them ran.
# watchdog_thresh=30: a soft lockup is reported after 60 s, not 20 s (a TCG vCPU thread
# can wait that long for a host core while the other group boots and a build runs).
append="console=ttyS0 panic=-1 watchdog_thresh=30 pinpage.group=$group $APPEND"
[ "$KIND" = kunit ] || append="$append kunit.enable=0"

start=$(date +%s)
# shellcheck disable=SC2086
# One socket per NUMA node, so that no cache is shared across nodes.  No LA57: with
# 5-level paging, an interrupt early in boot under KASAN gave a wild-memory-access
# report in handle_edge_irq (seen once, under load); 4-level is what users run.
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -M pc -cpu max,la57=off \
	-smp "$SMP,sockets=2,cores=$half,threads=1" \
	-m $((2 * MEM_PER_NODE))M $numa -nodefaults -nographic -no-reboot \
	-bios qboot.rom -serial "file:$console" -serial "file:$results" \
	-kernel "$kernel" -initrd "$initrd" -append "$append" > "$out/qemu.log" 2>&1
qrc=$?
secs=$(( $(date +%s) - start ))
tr -d '\r' < "$console" > "$console.tmp" && mv "$console.tmp" "$console"
tr -d '\r' < "$results" > "$results.tmp" && mv "$results.tmp" "$results"

exec "$PINPAGE_DIR/judge.sh" "$script" "$out" "$qrc" "$secs"
