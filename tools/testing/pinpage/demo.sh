#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: build the release kernel and boot the narrated scenario (groups/demo.sh).
. "$(dirname "$0")/lib.sh"

"$PINPAGE_DIR/deps.sh" || exit 1
"$PINPAGE_DIR/assemble.sh" || exit 1
"$PINPAGE_DIR/build-kernel.sh" release || exit 1
"$PINPAGE_DIR/build-userspace.sh" "$B/obj-release" || exit 1
"$PINPAGE_DIR/run-group.sh" demo release > "$B/logs/demo-summary.txt"
rc=$?
echo
sed -n '/^PINPAGE-TEST-BEGIN/,/^PINPAGE-END/p' "$B/logs/release/demo/results.log" | grep -v '^PINPAGE-'
echo
tail -n 1 "$B/logs/demo-summary.txt"
[ $rc -eq 0 ] || { cat "$B/logs/demo-summary.txt"; exit 1; }
