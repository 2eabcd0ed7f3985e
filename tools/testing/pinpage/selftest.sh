#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of the harness, run by make check before the kernel build (seconds, no boot).
# Feeds judge.sh, run-group.sh and tally.sh crafted logs and asserts that each way a
# regression could hide (a stale result, an empty group, a short TAP plan, a KUnit suite
# that skips as a whole or runs short, a skip nobody listed, a hung-task or soft-lockup
# report) is reported as a failure, and that a clean group still passes.
#   selftest.sh [-v]      -v: show the judge's output of every case
. "$(dirname "$0")/lib.sh"

verbose=0
[ "${1:-}" = -v ] && verbose=1
tmp=$(mktemp -d /tmp/pinpage-selftest.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0

# expect <pass|fail> <what> <command...>: the command's exit status says pass or fail.
expect() {
	local want=$1 what=$2 got rc
	shift 2
	"$@" > "$tmp/out" 2>&1
	rc=$?
	got=pass
	[ $rc -eq 0 ] || got=fail
	n=$((n + 1))
	if [ "$got" != "$want" ]; then
		bad=$((bad + 1))
		echo "  harness self-test FAILED: $what: expected $want, got $got (exit $rc):"
		sed 's/^/    | /' "$tmp/out" | tail -n 20
	elif [ $verbose -eq 1 ]; then
		echo "  ok: $what ($got)"
		sed 's/^/    | /' "$tmp/out"
	fi
}

# expect_line <regex> <what>: the last command's output has a line matching regex.
expect_line() {
	n=$((n + 1))
	if ! grep -Eq "$1" "$tmp/out"; then
		bad=$((bad + 1))
		echo "  harness self-test FAILED: $2: no line matching '$1' in:"
		sed 's/^/    | /' "$tmp/out" | tail -n 20
	fi
}

# A selftest-kind group "tg" and a KUnit group "kg", each in its own output folder.
mkdir -p "$tmp/groups" "$tmp/skips"
printf '#!/bin/sh\n# PINPAGE-VM: TIMEOUT=60\n' > "$tmp/groups/tg.sh"
printf '#!/bin/sh\n# PINPAGE-VM: KIND=kunit\n# PINPAGE-VM: KUNIT_SUITES="pinpage"\n' > "$tmp/groups/kg.sh"
export PINPAGE_EXPECTED_SKIPS=$tmp/skips PINPAGE_RUN_ID=selftest-run
unset PINPAGE_RECORD_SKIPS

# judge_tap <case> <results.log body> [console line]: judge group tg on these logs.
judge_tap() {
	local d=$tmp/logs/test/$1
	rm -rf "$d" && mkdir -p "$d"
	{ echo "PINPAGE-BEGIN tg"; printf '%s\n' "$2"; echo "PINPAGE-END tg rc=0"; } > "$d/results.log"
	printf '[    0.000000] Linux version 6.12\n%s\n' "${3:-}" > "$d/console.log"
	"$PINPAGE_DIR/judge.sh" "$tmp/groups/tg.sh" "$d" 0 1
}

# judge_kunit <case> <KTAP body of suite pinpage, indented by 4>: judge group kg.
judge_kunit() {
	local d=$tmp/logs/test/$1
	rm -rf "$d" && mkdir -p "$d"
	echo "PINPAGE-BEGIN kg" > "$d/results.log"
	echo "PINPAGE-END kg rc=0" >> "$d/results.log"
	{ echo "Linux version 6.12"; echo "KTAP version 1"; echo "1..1"; printf '%s\n' "$2"; } |
		sed 's/^/[    6.050345] /' > "$d/console.log"
	"$PINPAGE_DIR/judge.sh" "$tmp/groups/kg.sh" "$d" 0 1
}

tap_ok="PINPAGE-TEST-BEGIN t1
TAP version 13
1..3
# [RUN] case one
ok 1 works
# [RUN] case two
ok 2 works
not ok 3 Leak # XFAIL
# Totals: pass:2 fail:0 xfail:1 xpass:0 skip:0 error:0
PINPAGE-TEST-END t1 rc=0"

# Positive controls: a clean group passes, and a listed skip is accepted.
expect pass "clean TAP group" judge_tap clean "$tap_ok"
expect_line '3 passed, 0 failed, 0 skipped \[ok\]' "clean TAP group counts"
tap_skip="PINPAGE-TEST-BEGIN t1
1..2
# [RUN] Basic COW after fork() ... with swapped out base page
ok 1 # SKIP MADV_PAGEOUT did not work, is swap enabled?
ok 2 global.owned_cma # SKIP no CMA area
PINPAGE-TEST-END t1 rc=0"
printf '%s\n' '# comment' \
	'Basic COW after fork() ... with swapped out base page # SKIP MADV_PAGEOUT did not work, is swap enabled?' \
	'global.owned_cma # SKIP no CMA area' 'global.gone # SKIP was skipped once' > "$tmp/skips/t1.txt"
expect pass "skips listed with their reasons" judge_tap listed "$tap_skip"
expect_line 'note: t1: 1 listed skip' "a listed skip that did not skip is reported"

# 1. Stale results: old counts in the folder of a group whose script is gone.
mkdir -p "$tmp/build/logs/test/gone"
echo "1 0 0 ok 5 selftest-run" > "$tmp/build/logs/test/gone/counts"
echo "stale summary" > "$tmp/build/logs/test/gone.summary"
expect fail "run-group.sh of a deleted group script" env PINPAGE_BUILD="$tmp/build" "$PINPAGE_DIR/run-group.sh" gone test
n=$((n + 1))
[ ! -e "$tmp/build/logs/test/gone/counts" ] || { bad=$((bad + 1)); echo "  harness self-test FAILED: run-group.sh left the stale counts of group 'gone'"; }
expect fail "tally of a group that left no result" "$PINPAGE_DIR/tally.sh" "$tmp/build/logs/test" selftest-run "" gone
expect_line '^0 passed, 1 failed$' "a group without result counts as failed"
mkdir -p "$tmp/build/logs/test/old"
echo "7 0 0 ok 5 an-earlier-run" > "$tmp/build/logs/test/old/counts"
expect fail "tally of counts from an earlier run" "$PINPAGE_DIR/tally.sh" "$tmp/build/logs/test" selftest-run "" old
expect_line '^0 passed, 1 failed$' "stale counts are not added up"

# 2. Empty and short groups.
expect fail "group that ran no test" judge_tap empty ""
expect fail "TAP plan 1..13 with 2 results" judge_tap short "PINPAGE-TEST-BEGIN t1
1..13
ok 1 a
ok 2 b
PINPAGE-TEST-END t1 rc=0"
expect fail "program killed half way (no end marker)" judge_tap killed "PINPAGE-TEST-BEGIN t1
1..2
ok 1 a"
expect pass "KUnit suite that ran its cases" judge_kunit kunit-ok "    KTAP version 1
    # Subtest: pinpage
    1..2
    ok 1 pinpage_test_add_drop
        KTAP version 1
        # Subtest: pinpage_test_several_owners
        ok 1 order-0 folio
        ok 2 order-2 folio
    ok 2 pinpage_test_several_owners
ok 1 pinpage"
expect pass "KUnit suite with a kernel message inside a parameterised case" judge_kunit kunit-noise "    KTAP version 1
    # Subtest: pinpage
    1..2
    ok 1 pinpage_test_add_drop
        KTAP version 1
Freeing initrd memory: 4712K
        # Subtest: pinpage_test_several_owners
        ok 1 order-0 folio
        ok 2 order-2 folio
    ok 2 pinpage_test_several_owners
ok 1 pinpage"
expect fail "KUnit suite that skips as a whole" judge_kunit kunit-skip "    KTAP version 1
    # Subtest: pinpage
    1..0
ok 1 pinpage # SKIP all cases skipped"
expect fail "KUnit suite with 2 of 21 cases" judge_kunit kunit-short "    KTAP version 1
    # Subtest: pinpage
    1..21
    ok 1 pinpage_test_add_drop
    ok 2 pinpage_test_same_owner_twice
ok 1 pinpage"
expect fail "KUnit suite that did not run" judge_kunit kunit-none "ok 1 usercopy"
expect fail "KUnit case that skips, not listed" judge_kunit kunit-caseskip "    KTAP version 1
    # Subtest: pinpage
    1..2
    ok 1 pinpage_test_add_drop
    ok 2 pinpage_test_hooks_idle # SKIP no gup_test
ok 1 pinpage"

# 3. Extra skips: one more than listed, the same case skipping for another reason, and a
# whole program skipping.
rm -f "$tmp/skips/t1.txt"
expect fail "skip not in expected-skips" judge_tap extra "$tap_skip"
expect_line 'UNEXPECTED SKIP t1: Basic COW after fork\(\) \.\.\. with swapped out base page # SKIP MADV_PAGEOUT' "the unexpected skip is named"
expect_line '0 passed, 2 failed, 0 skipped' "unexpected skips count as failures"
echo 'global.owned_cma # SKIP no CMA area' > "$tmp/skips/t1.txt"
expect fail "one skip more than listed" judge_tap extra1 "$tap_skip"
echo 'Basic COW after fork() ... with swapped out base page # SKIP MADV_PAGEOUT did not work, is swap enabled?' >> "$tmp/skips/t1.txt"
expect fail "a listed case skipping for another reason" judge_tap reason "PINPAGE-TEST-BEGIN t1
1..2
ok 1 global.owned_cma # SKIP PIN_LONGTERM_TEST_START failed
# [RUN] Basic COW after fork() ... with swapped out base page
ok 2 # SKIP MADV_PAGEOUT did not work, is swap enabled?
PINPAGE-TEST-END t1 rc=0"
expect fail "whole program skipped (1..0 # SKIP)" judge_tap wholeskip "PINPAGE-TEST-BEGIN t2
TAP version 13
1..0 # SKIP no io_uring
PINPAGE-TEST-END t2 rc=4"
expect fail "whole program skipped (exit code 4, no TAP)" judge_tap rc4 "PINPAGE-TEST-BEGIN t2
PINPAGE-TEST-END t2 rc=4"
rm -f "$tmp/skips/t1.txt"
export PINPAGE_RECORD_SKIPS=1
expect pass "no comparison when recording (make expected-skips)" judge_tap record "$tap_skip"
unset PINPAGE_RECORD_SKIPS
n=$((n + 1))
[ "$(wc -l < "$tmp/logs/test/record/skips/t1.txt")" -eq 2 ] ||
	{ bad=$((bad + 1)); echo "  harness self-test FAILED: recording mode did not record both skips"; }

# 6. Splats from the hung-task and soft-lockup detectors fail a group whose tests passed.
expect fail "hung task report" judge_tap hung "$tap_ok" "[  250.1] INFO: task migration:91 blocked for more than 120 seconds."
expect fail "soft lockup report" judge_tap lockup "$tap_ok" "[  250.1] watchdog: BUG: soft lockup - CPU#1 stuck for 62s! [cow:88]"

if [ $bad -gt 0 ]; then
	echo "harness self-test: $bad of $n checks failed"
	exit 1
fi
say "harness self-test: $n checks passed"
