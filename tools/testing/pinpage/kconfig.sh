#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Make the .config of one build flavour: tinyconfig + committed fragments, then check that
# every option the fragments ask for really is set (tinyconfig drops options whose
# dependencies are missing without a word).
#   kconfig.sh <flavour> <srctree> <objdir>
#   flavour: test (base+features+debug+kunit+pinpage) | release (base+features+pinpage)
#            stock-test, stock-release: the same without pinpage, for the unpatched base
. "$(dirname "$0")/lib.sh"

flavour=$1 src=$2 obj=$3
case $flavour in
test) frags="base features debug kunit pinpage pinpage-kunit" ;;
release) frags="base features pinpage" ;;
stock-test) frags="base features debug kunit" ;;
stock-release) frags="base features" ;;
*) die "unknown config flavour '$flavour' (test, release, stock-test, stock-release)" ;;
esac
fragfiles=""
for f in $frags; do fragfiles="$fragfiles $PINPAGE_DIR/configs/$f.config"; done
stamp=$(cat $fragfiles "$B/base/.sha256" | sha256sum | cut -d' ' -f1)
mkdir -p "$obj"
if [ -f "$obj/.config" ] && [ "$(cat "$obj/.pinpage-config" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

say "configuring $flavour kernel in $obj" >&2
tmp=$obj/.config-gen
rm -rf "$tmp" && mkdir -p "$tmp"
make -s -C "$src" O="$tmp" tinyconfig >/dev/null || die "make tinyconfig failed"
"$src/scripts/kconfig/merge_config.sh" -m -O "$tmp" "$tmp/.config" $fragfiles >/dev/null ||
	die "merge_config.sh failed"
make -s -C "$src" O="$tmp" olddefconfig >/dev/null || die "make olddefconfig failed"

missing=""
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) opt=${line%%=*}
		grep -q "^$opt=" "$tmp/.config" && missing="$missing $line" ;;
	CONFIG_*=*) grep -qxF "$line" "$tmp/.config" || missing="$missing $line" ;;
	esac
done < <(cat $fragfiles)
if [ -n "$missing" ]; then
	for m in $missing; do
		opt=${m%%=*}
		got=$(grep -E "^($opt=|# $opt is not set)" "$tmp/.config" || echo "$opt absent")
		printf '    wanted %s, got: %s\n' "$m" "$got" >&2
	done
	die "$flavour config: options above did not stick after olddefconfig (missing dependencies?)"
fi
if ! cmp -s "$tmp/.config" "$obj/.config"; then
	cp "$tmp/.config" "$obj/.config"
fi
rm -rf "$tmp"
echo "$stamp" > "$obj/.pinpage-config"
