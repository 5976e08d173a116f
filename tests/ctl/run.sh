#!/bin/sh
# run.sh BUILD -- runs the mallctl/statistics/configuration tests built by
# tests/ctl/ctl.mk: one line per test (PASS/FAIL, SKIP not counted), then
# "N passed, N failed"; exits non-zero when a test failed or none ran.
B=${1:-build}
T=$B/tests-ctl
dir=$(dirname "$0")
log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$log" "$work"' EXIT
unset MOSAIC_CONF

# prog NAME COMMAND...: its lines, or a FAIL line when it dies without them
prog() {
    name=$1
    shift
    "$@" >"$work/lines" 2>"$work/err"
    rc=$?
    cat "$work/lines"
    if [ $rc -gt 1 ] || { [ $rc -ne 0 ] && ! grep -q '^FAIL' "$work/lines"; }; then
        echo "FAIL $name: exit status $rc: $(head -c 300 "$work/err" | tr '\n' ' ')"
    fi
}

{
    prog ctl_test "$T/ctl_test"
    prog stats_test "$T/stats_test"
    # (8 automatic arenas, as on 2 CPUs: some tests need 5 or 6 of their own,
    # and a 1-CPU runner would have 4)
    prog arena_test env MOSAIC_CONF=narenas:8 "$T/arena_test"
    prog arena_test_nosteal env MOSAIC_CONF=narenas:8,steal:false "$T/arena_test" steal
    prog allocx_test "$T/allocx_test"
    prog hooks_test "$T/hooks_test"
    prog extent_test "$T/extent_test"
    if [ -x "$T/compat" ]; then
        prog compat "$T/compat"
    else
        echo "FAIL compat: not built (it needs /usr/include/jemalloc/jemalloc.h: Debian libjemalloc-dev)"
    fi
    prog junk env MOSAIC_CONF=junk:true,dirty_decay_ms:-1 "$T/junk"
    for r in false true; do
        prog retain_$r env MOSAIC_CONF=retain:$r,dirty_decay_ms:0,muzzy_decay_ms:0 "$T/retain" retain_$r
    done
    for t in always never default; do
        prog thp_$t env MOSAIC_CONF=thp:$t "$T/thp" thp_$t
    done
    mkdir -p "$work/stats"
    if "$T/stats_print" "$work/stats" 2>"$work/err"; then
        prog check_stats python3 "$dir/check_stats.py" "$work/stats"
    else
        echo "FAIL stats_print: exit status $?: $(head -c 300 "$work/err" | tr '\n' ' ')"
    fi
    prog conf sh "$dir/conf.sh" "$B"
    if sh "$dir/../../tools/gen-opt-docs" --check 2>"$work/err"; then
        echo "PASS reference_docs_current"
    else
        echo "FAIL reference_docs_current: $(tail -n 1 "$work/err")"
    fi
} | tee "$log"

passed=$(grep -c '^PASS' "$log")
failed=$(grep -c '^FAIL' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
