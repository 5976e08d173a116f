#!/bin/sh
# build_stamp.sh -- the Makefile rebuilds the library's objects when the
# compiler or its flags change ($(BUILD)/compiler records them), and only
# then. Builds the library into a scratch BUILD directory, then asks
# `make -n` what it would compile: nothing with the same settings, every
# object (obj and obj-p) with another OPT or another CC, and nothing again
# once the stamp is back. The suite's own build directory is not touched.
set -u
fails=0
fail() { echo "build_stamp: FAIL $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
make -s --no-print-directory BUILD="$tmp" lib >"$tmp/make.log" 2>&1 ||
    { cat "$tmp/make.log"; echo "build_stamp: FAIL make lib"; exit 1; }
cp -p "$tmp/compiler" "$tmp/compiler.built"
nsrc=$(ls src/*.c | wc -l)
compiles() { # how many library sources `make -n ... lib` would compile
    n=$(make -n --no-print-directory BUILD="$tmp" "$@" lib 2>&1 | grep -c -- ' -c src/.*\.c')
    cp -p "$tmp/compiler.built" "$tmp/compiler" # (make -n rewrote the stamp)
    echo "$n"
}
n=$(compiles)
[ "$n" -eq 0 ] || fail "same settings: $n compiles, want none"
n=$(compiles OPT=-O1)
[ "$n" -eq $((2 * nsrc)) ] || fail "OPT=-O1: $n compiles, want $((2 * nsrc)) (obj and obj-p)"
n=$(compiles CC=build-stamp-other-cc)
[ "$n" -eq $((2 * nsrc)) ] || fail "another CC: $n compiles, want $((2 * nsrc))"
n=$(compiles)
[ "$n" -eq 0 ] || fail "back to the same settings: $n compiles, want none"
[ $fails -eq 0 ] && echo "build_stamp: ok ($nsrc sources; rebuilt for a new OPT or CC, not otherwise)"
exit $((fails > 0))
