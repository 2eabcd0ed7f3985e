#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest's test programs (statically linked) and pack the initramfs.
#   build-userspace.sh <objdir>   (kernel objdir: its usr/include has the UAPI headers)
. "$(dirname "$0")/lib.sh"

obj=${1:-$B/obj-test}
out=$B/userspace
root=$B/initramfs/root
mkdir -p "$out/mm" "$B/logs"
log=$B/logs/userspace.log
: > "$log"

[ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' ||
	die "/bin/busybox is missing or not static (run: make deps, package busybox-static)"
for lib in liburing.a libnuma.a libaio.a; do
	[ -f "/usr/lib/x86_64-linux-gnu/$lib" ] || die "$lib missing (run: make deps)"
done

# UAPI headers of the kernel under test, for the selftests' KHDR_INCLUDES.
make -s -C "$TREE" O="$obj" headers >> "$log" 2>&1 || die "make headers failed; see $log"

# Upstream's own mm selftests (the regression gate) and ours, built from the assembled tree.
UPSTREAM_MM="gup_test gup_longterm cow migration compaction_test"
OUR_MM=$(cat "$PINPAGE_DIR/selftests.list" 2>/dev/null | sed -e 's/#.*//' | xargs)
targets=""
for t in $UPSTREAM_MM $OUR_MM; do targets="$targets $out/mm/$t"; done
say "building selftests:$UPSTREAM_MM $OUR_MM"
if ! make -C "$TREE/tools/testing/selftests/mm" OUTPUT="$out/mm" \
	KHDR_INCLUDES="-isystem $obj/usr/include" LDFLAGS=-static \
	$targets >> "$log" 2>&1; then
	grep -E 'error|undefined' "$log" | head -n 20 >&2
	die "building mm selftests failed; see $log"
fi
grep -q 'LOCAL_CONFIG_HAVE_LIBURING' "$TREE/tools/testing/selftests/mm/local_config.h" ||
	die "mm selftests were built without liburing: io_uring cases would be compiled out"

say "packing initramfs"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mnt,root,etc,tests/mm,groups}
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
cp "$PINPAGE_DIR/guest/init" "$root/init"
cp "$PINPAGE_DIR"/guest/lib.sh "$root/groups/"
cp "$PINPAGE_DIR"/groups/*.sh "$root/groups/"
for t in $UPSTREAM_MM $OUR_MM; do cp "$out/mm/$t" "$root/tests/mm/"; done
# Upstream's zram selftests (shell scripts, group gate-zram).
mkdir -p "$root/tests/zram"
cp "$TREE"/tools/testing/selftests/zram/*.sh "$root/tests/zram/" ||
	die "copying $TREE/tools/testing/selftests/zram failed"
for f in "$PINPAGE_DIR"/guest/*.c; do
	[ -f "$f" ] || continue
	n=$(basename "$f" .c)
	gcc -O2 -Wall -static -isystem "$obj/usr/include" -I "$TREE" -o "$root/tests/$n" "$f" -luring -laio -lnuma -lpthread >> "$log" 2>&1 ||
		die "building guest/$n.c failed; see $log"
done
chmod +x "$root/init" "$root"/groups/*.sh
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) > "$B/initramfs/initramfs.cpio.gz.tmp" ||
	die "packing initramfs failed"
mv -f "$B/initramfs/initramfs.cpio.gz.tmp" "$B/initramfs/initramfs.cpio.gz"
say "initramfs: $(du -h "$B/initramfs/initramfs.cpio.gz" | cut -f1)"
