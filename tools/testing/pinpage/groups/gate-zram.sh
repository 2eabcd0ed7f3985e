#!/bin/sh
# Regression gate: upstream's zram selftests (tools/testing/selftests/zram, copied to
# /tests/zram by build-userspace.sh), each on a zram device it hot_adds next to the
# built-in zram0: zram01 puts a filesystem on a 2 MiB device (lzo, mem_limit 2M), fills it
# with zeros 1 KiB at a time and checks the compression ratio; zram02 makes a 1 MiB device
# swap, swapon, swapoff.  Both end with hot_remove.  zram.sh only runs the two: each runs
# here on its own, with busybox sh (no bash syntax in them; their #!/bin/bash is not used).
# zram01 asks for ext4 and, as upstream does without mkfs.ext4 (busybox has none), falls
# back to ext2: CONFIG_EXT2_FS=y (configs/features.config, stock and patched alike: the
# test config has no ext4 driver to mount ext2 with) and mkfs.ext2, a script below, as
# Debian's busybox has mke2fs but no applet of that name.  It passes -b 4096: zram's
# logical block size is 4096, e2fsprogs' mke2fs never makes smaller blocks than that, but
# busybox's makes 1 KiB blocks below 512 MiB, which the kernel refuses to mount there.
# The scripts exit 0 when a step fails: they print "FAIL ..." (and zram01 "[FAIL]" for the
# ratio).  A case fails on its exit code, on any FAIL line, without "[PASS]", and if it
# left a zram device or swap behind (a failed umount, reset, hot_remove or swapoff of
# its cleanup).  Exit 4 (ksft_skip: not root, no zram-control) stays a skip, which is
# unexpected (no expected-skips/zram0[12].txt) and fails the group.
# PINPAGE-VM: SMP=2
# PINPAGE-VM: TIMEOUT=840
. /groups/lib.sh

# "gate-zram.sh case <script>", run by run_test: one upstream script and its verdict.
if [ "${1:-}" = case ]; then
	cd /tmp/zram || exit 1
	state() { ls /sys/block | grep '^zram'; awk 'NR > 1 { print $1 }' /proc/swaps; }
	before=$(state) log=/tmp/$2.log start=$(date +%s)
	sh "./$2" > "$log" 2>&1 &
	pid=$!
	# run_test's timeout signals this shell: stop the script too, and show how far it got.
	trap 'kill $pid 2>/dev/null; cat "$log"; exit 143' TERM
	wait $pid
	rc=$?
	cat "$log"
	echo "# $2: exit code $rc after $(($(date +%s) - start))s"
	after=$(state)
	if [ "$after" != "$before" ]; then
		echo "# $2 left behind (zram devices, then swaps): $(echo $after)"
		echo "# before it ran: $(echo $before)"
		[ $rc -eq 0 ] && rc=1
	fi
	[ $rc -ne 0 ] && exit $rc
	grep -q FAIL "$log" && { echo "# $2: FAIL lines above"; exit 1; }
	grep -q '\[PASS\]' "$log" || { echo "# $2: no [PASS] line"; exit 1; }
	exit 0
fi

printf '#!/bin/sh\nexec mke2fs -b 4096 "$@"\n' > /bin/mkfs.ext2 && chmod +x /bin/mkfs.ext2
# The scripts run in a copy on a 1 MiB tmpfs: zram01 fills "zram1/file" until a write
# fails, and should its mount fail, that is this tmpfs, not the whole root filesystem.
mkdir -p /tmp/zram && mount -t tmpfs -o size=1m zram-tests /tmp/zram &&
	cp /tests/zram/*.sh /tmp/zram/ || echo "# cannot set up /tmp/zram"
echo "# $(ls /sys/block | grep '^zram' | xargs), zram-control: $(ls /sys/class/zram-control 2>&1 | xargs)"
run_test zram01 600 sh "$0" case zram01.sh
run_test zram02 120 sh "$0" case zram02.sh
