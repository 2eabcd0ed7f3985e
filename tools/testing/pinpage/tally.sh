#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Sum up the groups of one make check run and print the closing line
# "N passed, N failed[, N skipped]".  check.sh calls it after the boots; selftest.sh feeds it
# stale and missing results.
#   tally.sh <logdir> <run-id> <note> <group...>
# A group counts only if <logdir>/<group>/counts carries <run-id>, i.e. this run's
# run-group.sh wrote it: a missing, unreadable or stale counts file is a failed group.
# Exit 0 only when every group is ok and nothing failed.
. "$(dirname "$0")/lib.sh"

logs=$1 run=$2 note=$3
shift 3
P=0 F=0 S=0 bad=""
for g in "$@"; do
	say "group $g"
	if [ -f "$logs/$g.summary" ]; then
		cat "$logs/$g.summary"
	else
		echo "  (no summary: the group was not run)"
	fi
	p=0 f=0 s=0 status="" id=""
	read -r p f s status _ id < "$logs/$g/counts" 2>/dev/null
	if [ -z "$status" ]; then
		echo "  FAILED: the group left no result ($logs/$g/counts)"
		p=0 f=1 s=0 status=FAILED
	elif [ "$id" != "$run" ]; then
		echo "  FAILED: $logs/$g/counts is from another run ($id, this run is $run)"
		p=0 f=1 s=0 status=FAILED
	fi
	case "$p$f$s" in *[!0-9]*) echo "  FAILED: bad counts '$p $f $s'"; p=0 f=1 s=0 status=FAILED ;; esac
	# A group that crashed, hung or splatted counts as a failure even if its tests passed.
	[ "$status" = ok ] || { bad="$bad $g"; [ "$f" -eq 0 ] && f=1; }
	P=$((P + p)) F=$((F + f)) S=$((S + s))
done

echo
[ -n "$note" ] && echo "$note"
if [ -n "$bad" ]; then
	echo "groups that did not complete cleanly:$bad"
fi
if [ "$S" -gt 0 ]; then
	echo "$P passed, $F failed, $S skipped"
else
	echo "$P passed, $F failed"
fi
[ "$F" -eq 0 ] && [ -z "$bad" ]
