#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot one test group under QEMU (TCG, two NUMA nodes) and judge it.
#   run-group.sh <group> [flavour]        flavour: test (default) | release | stock-test ...
# Prints a per-test summary and a last line "GROUP <name>: P passed, F failed, S skipped";
# writes the counts to $B/logs/<flavour>/<group>/counts.  Exit 0 only when the group ran to
# its end, nothing failed and the console shows no WARN/BUG/Oops/KASAN/lockdep report.
. "$(dirname "$0")/lib.sh"

group=$1 flavour=${2:-test}
script=$PINPAGE_DIR/groups/$group.sh
[ -f "$script" ] || die "no test group '$group' (groups are in $PINPAGE_DIR/groups/)"
kernel=$B/obj-$flavour/arch/x86/boot/bzImage
initrd=$B/initramfs/initramfs.cpio.gz
[ -f "$kernel" ] || die "$kernel not built (make build)"
[ -f "$initrd" ] || die "$initrd not built (make build)"

SMP=2 MEM_PER_NODE=1024 TIMEOUT=600 APPEND="" KIND=selftest KUNIT_SUITES=""
eval "$(sed -n 's/^# PINPAGE-VM: //p' "$script")"
out=$B/logs/$flavour/$group
rm -rf "$out" && mkdir -p "$out"
console=$out/console.log results=$out/results.log

half=$((SMP / 2))
numa="-object memory-backend-ram,id=m0,size=${MEM_PER_NODE}M -numa node,nodeid=0,memdev=m0,cpus=0-$((half - 1))"
numa="$numa -object memory-backend-ram,id=m1,size=${MEM_PER_NODE}M -numa node,nodeid=1,memdev=m1,cpus=$half-$((SMP - 1))"
# Every KUnit suite built in runs (the test config builds exactly those the
# group names in KUNIT_SUITES); the group checks that each of them ran.
append="console=ttyS0 panic=-1 pinpage.group=$group $APPEND"
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

problems=""
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	problems="$problems; guest did not finish within ${TIMEOUT}s"
elif [ $qrc -ne 0 ]; then
	problems="$problems; qemu exited with $qrc: $(head -c 300 "$out/qemu.log")"
fi
if ! grep -q '^PINPAGE-END' "$results"; then
	problems="$problems; the group did not run to its end (hang, panic or crash)"
elif ! grep -q "^PINPAGE-END $group rc=0" "$results"; then
	problems="$problems; $(grep '^PINPAGE-END' "$results")"
fi

# Any kernel report on the console fails the run, whatever the tests said.
splat_re='(WARNING:|BUG:|Oops|kernel BUG at|general protection fault|Kernel panic|KASAN:|UBSAN:|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|rcu_sched detected stall|rcu: INFO:|Call Trace:|list_add corruption|list_del corruption|Bad page state)'
if grep -Eq "$splat_re" "$console"; then
	grep -En -B2 -A12 "$splat_re" "$console" | head -n 60 > "$out/splat.txt"
	problems="$problems; kernel report on the console (see $out/splat.txt)"
fi

pass=0 fail=0 skip=0
if [ "$KIND" = kunit ]; then
	python3 "$TREE/tools/testing/kunit/kunit.py" parse "$console" > "$out/kunit.txt" 2>&1
	sed -e 's/\x1b\[[0-9;]*m//g' "$out/kunit.txt" | grep -E '\[(PASSED|FAILED|SKIPPED|CRASHED)\]' | sed 's/^/  /'
	line=$(sed -e 's/\x1b\[[0-9;]*m//g' "$out/kunit.txt" | grep -E 'Testing complete\. Ran [0-9]+ tests' | tail -n 1)
	if [ -z "$line" ]; then
		problems="$problems; kunit.py parse found no KUnit results (see $out/kunit.txt)"
	fi
	num() { local n; n=$(echo "$line" | sed -n "s/.*$1: \([0-9]*\).*/\1/p"); echo "${n:-0}"; }
	pass=$(num passed) skip=$(num skipped)
	fail=$(( $(num failed) + $(num crashed) + $(num errors) ))
	for s in $KUNIT_SUITES; do
		grep -Eq "^\s*# Subtest: $s\b|ok [0-9]+ $s\b" "$console" ||
			problems="$problems; KUnit suite $s did not run (built in? check the config)"
	done
else
	awk -v out="$out/tests.txt" '
		function flush() {
			if (name == "") return
			if (np + nf + ns == 0) {
				if (rc == 0) np = 1; else if (rc == 4) ns = 1; else nf = 1
			} else if (rc != 0 && rc != 4 && nf == 0) {
				nf = 1; note = " (exit code " rc " although no case failed)"
			}
			printf "  %-40s %4d passed %4d failed %4d skipped%s\n", name, np, nf, ns, note
			P += np; F += nf; S += ns
			name = ""
		}
		/^PINPAGE-TEST-BEGIN / { name = substr($0, 20); np = nf = ns = 0; rc = -1; note = ""; next }
		/^PINPAGE-TEST-END / { rc = $NF; sub(/^rc=/, "", rc); rc += 0; flush(); next }
		name != "" && /^(not )?ok [0-9]+/ {
			if ($0 ~ /# *SKIP/) ns++
			else if ($0 ~ /^not ok/ && $0 !~ /# *XFAIL/) { nf++; print "  FAIL " name ": " $0 > out }
			else np++
		}
		END { if (name != "") { rc = -1; note = " (did not finish)"; flush() }
		      printf "%d %d %d\n", P, F, S > "/dev/stderr" }
	' "$results" 2> "$out/awk-counts"
	read -r pass fail skip < "$out/awk-counts"
	[ -s "$out/tests.txt" ] && cat "$out/tests.txt"
fi

status=ok
if [ -n "$problems" ]; then
	status=FAILED
	echo "  problems${problems}"
	[ -s "$out/splat.txt" ] && sed 's/^/    | /' "$out/splat.txt" | head -n 30
	if ! grep -q '^PINPAGE-END' "$results"; then
		echo "  last console lines:"; tail -n 25 "$console" | sed 's/^/    | /'
	fi
fi
echo "$pass $fail $skip $status $secs" > "$out/counts"
echo "GROUP $group ($flavour, ${secs}s): $pass passed, $fail failed, $skip skipped [$status]"
[ "$status" = ok ] && [ "$fail" -eq 0 ]
