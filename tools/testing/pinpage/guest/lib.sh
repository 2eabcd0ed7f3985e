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
