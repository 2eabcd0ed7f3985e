# SPDX-License-Identifier: GPL-2.0
# Sourced by the group scripts inside the guest.  run_test brackets one program's
# output so that the host can count its TAP lines, or its exit code when it prints none
# (0 pass, 4 skip as in kselftest, anything else fail).

# run_test <name> <seconds> <command...>
run_test() {
	name=$1 limit=$2
	shift 2
	echo "PINPAGE-TEST-BEGIN $name"
	timeout "$limit" "$@"
	rc=$?
	[ $rc -eq 143 ] && echo "# $name: killed after ${limit}s"
	echo "PINPAGE-TEST-END $name rc=$rc"
}

# Put a sysctl or sysfs knob to a value, saying so when it cannot be written.
knob() {
	echo "$2" > "$1" 2>/dev/null || echo "# cannot write $2 to $1"
}

# zram_swap <size>: swap on a zram device (zram, zsmalloc and lzo are built in), so that
# MADV_PAGEOUT swaps out and cow's swap cases run instead of skipping.  Says why, and
# returns nonzero, when it cannot: the group fails at its end then.
zram_swap() {
	[ -e /sys/block/zram0 ] || { echo "# zram_swap: no /sys/block/zram0 (CONFIG_ZRAM?)"; return 1; }
	echo lzo > /sys/block/zram0/comp_algorithm 2>/dev/null
	echo "$1" > /sys/block/zram0/disksize || { echo "# zram_swap: cannot size zram0 to $1"; return 1; }
	mkswap /dev/zram0 > /dev/null || { echo "# zram_swap: mkswap /dev/zram0 failed"; return 1; }
	swapon /dev/zram0 || { echo "# zram_swap: swapon /dev/zram0 failed"; return 1; }
	echo "# swap: $(grep -E '^SwapTotal' /proc/meminfo | tr -s ' ')"
}
