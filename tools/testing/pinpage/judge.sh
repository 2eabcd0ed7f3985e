#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Judge one group's output after its boot; run-group.sh calls it, and so does the
# harness self-test (selftest.sh) with crafted logs, so nothing here needs QEMU.
#   judge.sh <group-script> <outdir> <qemu-rc> <seconds>
# Reads <outdir>/{console,results,qemu}.log.  Prints a per-test summary and a last line
# "GROUP <name> (...): P passed, F failed, S skipped [ok|FAILED]"; writes
# <outdir>/counts = "P F S status seconds run-id" (run-id: $PINPAGE_RUN_ID, for check.sh).
# Exit 0 only when the group ran to its end, nothing failed, no test skipped what
# expected-skips/ does not list, and the console shows no kernel report.
#
# A group fails when: the guest did not finish or exit cleanly; a program's TAP plan and
# its results disagree; the group ran no test at all; a KUnit suite did not run, skipped
# as a whole or ran fewer cases than it planned; a case skipped that
# expected-skips/<binary>.txt does not list with the same reason (PINPAGE_RECORD_SKIPS=1
# turns that comparison off: make expected-skips); or the console carries a splat.
. "$(dirname "$0")/lib.sh"

script=$1 out=$2 qrc=$3 secs=$4
group=$(basename "$script" .sh)
flavour=$(basename "$(dirname "$out")")
expected=${PINPAGE_EXPECTED_SKIPS:-$PINPAGE_DIR/expected-skips}
TIMEOUT=600 KIND=selftest KUNIT_SUITES=""
eval "$(sed -n 's/^# PINPAGE-VM: //p' "$script")"
console=$out/console.log results=$out/results.log
touch "$console" "$results" "$out/qemu.log"
rm -rf "$out/skips" "$out/tests.txt" "$out/splat.txt" "$out/unexpected-skips.txt"
mkdir -p "$out/skips"

problems=""
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	problems="$problems; guest did not finish within ${TIMEOUT}s"
elif [ "$qrc" -ne 0 ]; then
	problems="$problems; qemu exited with $qrc: $(head -c 300 "$out/qemu.log")"
fi
if ! grep -q '^PINPAGE-END' "$results"; then
	problems="$problems; the group did not run to its end (hang, panic or crash)"
elif ! grep -q "^PINPAGE-END $group rc=0" "$results"; then
	problems="$problems; $(grep '^PINPAGE-END' "$results")"
fi

# Any kernel report on the console fails the run, whatever the tests said.  The hung-task
# and soft-lockup detectors are on in the test config (configs/debug.config).
splat_re='(WARNING:|BUG:|Oops|kernel BUG at|general protection fault|Kernel panic|KASAN:|UBSAN:|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked for more than|soft lockup|hard LOCKUP|rcu_sched detected stall|rcu: INFO:|Call Trace:|list_add corruption|list_del corruption|Bad page state)'
if grep -Eq "$splat_re" "$console"; then
	grep -En -B2 -A12 "$splat_re" "$console" | head -n 60 > "$out/splat.txt"
	problems="$problems; kernel report on the console (see $out/splat.txt)"
fi

# Skipped cases are written one per line to $out/skips/<binary>.txt as
# "<case> # SKIP <reason>" (TAP case numbers dropped), for the comparison below.
pass=0 fail=0 skip=0
if [ "$KIND" = kunit ]; then
	kunitpy=$TREE/tools/testing/kunit/kunit.py
	[ -f "$kunitpy" ] || kunitpy=$BASE_TREE/tools/testing/kunit/kunit.py
	# Only KTAP lines and the indented test logs go to kunit.py: a kernel message that
	# lands between "KTAP version 1" and "# Subtest:" of a parameterised case (seen:
	# "Freeing initrd memory") makes it misnumber every later case.
	awk '{ l = $0; sub(/^\[ *[0-9]+\.[0-9]+\] ?/, "", l) }
	     l ~ /^ *(KTAP version|TAP version|1\.\.[0-9]|ok |not ok |#)/ || l ~ /^    / { print }' \
		"$console" > "$out/ktap.txt"
	python3 "$kunitpy" parse "$out/ktap.txt" > "$out/kunit.txt" 2>&1
	sed -e 's/\x1b\[[0-9;]*m//g' "$out/kunit.txt" | grep -E '\[(PASSED|FAILED|SKIPPED|CRASHED)\]' | sed 's/^/  /'
	line=$(sed -e 's/\x1b\[[0-9;]*m//g' "$out/kunit.txt" | grep -E 'Testing complete\. Ran [0-9]+ tests' | tail -n 1)
	if [ -z "$line" ]; then
		problems="$problems; kunit.py parse found no KUnit results (see $out/kunit.txt)"
	fi
	num() { local n; n=$(echo "$line" | sed -n "s/.*$1: \([0-9]*\).*/\1/p"); echo "${n:-0}"; }
	pass=$(num passed) skip=$(num skipped)
	fail=$(( $(num failed) + $(num crashed) + $(num errors) ))
	# Our own look at the KTAP lines (kunit.py forgives a suite that skips as a whole):
	# per top-level suite "<suite> <status> <plan> <results>", and every skipped case.
	sed -E 's/^\[ *[0-9]+\.[0-9]+\] ?//' "$console" | awk -v skips="$out/skips/kunit.txt" '
		function depth(s) { match(s, /^ */); return int(RLENGTH / 4) }
		function reason(s) { sub(/^.*# *SKIP */, "", s); sub(/[ \t]+$/, "", s); return s }
		{ d = depth($0); l = $0; sub(/^ +/, "", l) }
		l ~ /^# Subtest: / { n = l; sub(/^# Subtest: /, "", n); sub(/[ \t]+$/, "", n)
			name[d] = n; plan[d] = -1; cnt[d] = 0; next }
		l ~ /^1\.\.[0-9]+/ { p = l; sub(/^1\.\./, "", p); plan[d] = p + 0; next }
		l ~ /^(not )?ok [0-9]+ / {
			t = l; sub(/^(not )?ok [0-9]+ /, "", t); sub(/ *#.*$/, "", t)
			cnt[d]++
			st = (l ~ /^not ok/) ? "FAILED" : (l ~ /# *SKIP/) ? "SKIPPED" : "ok"
			if (d == 0) {
				# closes the suite whose cases were at depth 1
				printf "%s %s %d %d %s\n", t, st, (name[1] == t ? plan[1] : -1), (name[1] == t ? cnt[1] : 0), (st == "SKIPPED" ? reason(l) : "")
				name[1] = ""; plan[1] = -1; cnt[1] = 0
			} else if (st == "SKIPPED") {
				path = ""
				for (i = 1; i < d; i++) path = path name[i] "."
				print name[d] ": " path t " # SKIP " reason(l) > skips
			}
			if (name[d + 1] == t) { name[d + 1] = ""; cnt[d + 1] = 0 }
		}
	' > "$out/kunit-suites.txt"
	for s in $KUNIT_SUITES; do
		st="" planned=0 ran=0 why=""
		read -r _ st planned ran why < <(awk -v s="$s" '$1 == s' "$out/kunit-suites.txt" | tail -n 1)
		if [ -z "$st" ]; then
			problems="$problems; KUnit suite $s did not run (built in? check the config)"
		elif [ "$st" = SKIPPED ]; then
			problems="$problems; KUnit suite $s skipped as a whole: $why"
			fail=$((fail + 1)) skip=$((skip > 0 ? skip - 1 : 0))
		elif [ "$planned" -le 0 ] || [ "$ran" -ne "$planned" ]; then
			problems="$problems; KUnit suite $s planned $planned cases and reported $ran"
		fi
	done
	echo kunit > "$out/ran.txt"
else
	awk -v out="$out/tests.txt" -v skipdir="$out/skips" -v ran="$out/ran.txt" '
		function reason(s) { sub(/^.*# *SKIP */, "", s); sub(/[ \t]+$/, "", s); return s }
		function addskip(desc, why) {
			if (desc == "") desc = "(unnamed case)"
			print prefix desc " # SKIP " why > (skipdir "/" bin ".txt")
			ns++
		}
		function flush() {
			if (name == "") return
			if (plan == 0 && nres == 0 && planskip != "") {
				addskip("(whole program)", planskip)
			} else if (plan >= 0 && nres != plan) {
				nf++; note = note " (plan 1.." plan ", " nres " results)"
				print "  FAIL " name ": TAP plan 1.." plan " but " nres " results" > out
			} else if (nres == 0 && plan < 0) {
				if (rc == 0) np = 1
				else if (rc == 4) addskip("(whole program)", "exit code 4")
				else nf = 1
			}
			if (rc != 0 && rc != 4 && nf == 0) {
				nf = 1; note = note " (exit code " rc " although no case failed)"
			}
			printf "  %-40s %4d passed %4d failed %4d skipped%s\n", name, np, nf, ns, note
			P += np; F += nf; S += ns; T++
			name = ""
		}
		/^PINPAGE-TEST-BEGIN / {
			if (name != "") { rc = -1; note = " (no end marker)"; flush() }
			name = substr($0, 20); np = nf = ns = nres = 0; plan = -1; planskip = ""
			lastrun = ""; rc = -1; note = ""
			bin = name; sub(/ .*/, "", bin); gsub(/[^A-Za-z0-9_.-]/, "_", bin)
			prefix = (name == bin) ? "" : name ": "
			print bin > ran
			printf "" > (skipdir "/" bin ".txt")
			next
		}
		/^PINPAGE-TEST-END / { rc = $NF; sub(/^rc=/, "", rc); rc += 0; flush(); next }
		name == "" { next }
		/^1\.\.[0-9]+/ {
			p = $0; sub(/^1\.\./, "", p); plan = (plan < 0 ? 0 : plan) + p
			if ($0 ~ /# *SKIP/) planskip = reason($0)
			next
		}
		/^# *\[RUN\]/ { lastrun = $0; sub(/^# *\[RUN\] */, "", lastrun); sub(/[ \t]+$/, "", lastrun); next }
		/^(not )?ok [0-9]+/ {
			nres++
			desc = $0; sub(/^(not )?ok [0-9]+ */, "", desc); sub(/ *#.*$/, "", desc)
			if (desc == "") desc = lastrun
			if ($0 ~ /# *SKIP/) addskip(desc, reason($0))
			else if ($0 ~ /^not ok/ && $0 !~ /# *XFAIL/) { nf++; print "  FAIL " name ": " $0 > out }
			else np++
		}
		END { if (name != "") { rc = -1; note = " (did not finish)"; flush() }
		      printf "%d %d %d %d\n", P, F, S, T > "/dev/stderr" }
	' "$results" 2> "$out/awk-counts"
	read -r pass fail skip ntests < "$out/awk-counts"
	[ -s "$out/tests.txt" ] && cat "$out/tests.txt"
	[ "${ntests:-0}" -gt 0 ] || problems="$problems; the group ran no test"
fi

# Skips against the list measured on the stock kernel (or, for our own tests, the list of
# skips we accept with their reasons; no list means no skip is accepted).
if [ "${PINPAGE_RECORD_SKIPS:-0}" != 1 ] && [ -s "$out/ran.txt" ]; then
	: > "$out/unexpected-skips.txt"
	for bin in $(sort -u "$out/ran.txt"); do
		have=$out/skips/$bin.txt want=$expected/$bin.txt
		[ -f "$have" ] || : > "$have"
		LC_ALL=C sort "$have" > "$have.sorted"
		{ [ -f "$want" ] && sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$want"; } | LC_ALL=C sort > "$have.expected"
		LC_ALL=C comm -23 "$have.sorted" "$have.expected" | sed "s|^|$bin: |" >> "$out/unexpected-skips.txt"
		gone=$(LC_ALL=C comm -13 "$have.sorted" "$have.expected" | wc -l)
		[ "$gone" -gt 0 ] && echo "  note: $bin: $gone listed skip(s) did not skip this time (see expected-skips/$bin.txt)"
		rm -f "$have.sorted" "$have.expected"
	done
	u=$(wc -l < "$out/unexpected-skips.txt")
	if [ "$u" -gt 0 ]; then
		echo "  $u skip(s) not in expected-skips/ (each counts as a failure):"
		head -n 15 "$out/unexpected-skips.txt" | sed 's/^/    UNEXPECTED SKIP /'
		[ "$u" -gt 15 ] && echo "    ... (all in $out/unexpected-skips.txt)"
		problems="$problems; $u unexpected skip(s)"
		fail=$((fail + u)) skip=$((skip > u ? skip - u : 0))
	fi
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
echo "$pass $fail $skip $status $secs ${PINPAGE_RUN_ID:-none}" > "$out/counts"
echo "GROUP $group ($flavour, ${secs}s): $pass passed, $fail failed, $skip skipped [$status]"
[ "$status" = ok ] && [ "$fail" -eq 0 ]
