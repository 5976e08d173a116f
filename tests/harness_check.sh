#!/bin/sh
# tests/harness_check.sh -- the test harness must never report a pass that
# isn't: runs tests/run.sh and tests/ctl/run.sh against fake tests (in a
# temporary directory) that fail, crash, hang, are missing, print SKIP or a
# sanitizer report, and checks each is reported as FAIL (never PASS), the
# summary counts are exact and the exit status is non-zero; and that a
# selection that all passes does exit 0. One PASS/FAIL line per check; exits
# 1 if any check failed. Takes a few seconds.
#
# tests/run.sh runs with BUILD pointing at the fake build directory (its
# table's programs are looked up there) and a `timeout` wrapper first in PATH
# that cuts the hanging fake's time limit to 1 s, so the hang costs 1 s. tests/ctl/run.sh
# takes its build directory as argument and finds check_stats.py, conf.sh and
# tools/gen-opt-docs next to itself: a copy of it runs among fakes of those.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
real_timeout=$(command -v timeout) || { echo "FAIL harness_check: timeout (coreutils) missing"; exit 1; }
bad=0
ok() { echo "PASS $1"; }
ko() { echo "FAIL $1: $2"; bad=$((bad + 1)); sed 's/^/    /' "$tmp/out" | tail -n 15; }

# ---------------------------------------------------------------- tests/run.sh
B=$tmp/build
mkdir -p "$B/tests" "$tmp/bin"
# timeout -k N LIMIT CMD...: the harness's limits, cut to 1 s (kill after 1 s
# more) for the fake that hangs, to 30 s for the rest (fakes that must pass
# stay clear of the limit on a loaded machine)
cat >"$tmp/bin/timeout" <<EOF
#!/bin/sh
[ "\$1" = -k ] && shift 2
shift
case "\$*" in
*align_linked*) exec "$real_timeout" -k 1 1 "\$@" ;;
*) exec "$real_timeout" -k 1 30 "\$@" ;;
esac
EOF
chmod +x "$tmp/bin/timeout"

# fake NAME BODY: an executable shell script at $B/tests/NAME
fake() {
    printf '#!/bin/sh\n%s\n' "$2" >"$B/tests/$1"
    chmod +x "$B/tests/$1"
}
fake edge_glibc 'echo fine; exit 0'
fake align_glibc 'echo "some output"; exit 3'
fake align_mosaic 'kill -SEGV $$'
fake align_linked 'exec sleep 30'
fake init_glibc 'echo "WARNING: ThreadSanitizer: data race"; exit 0'
fake init_linked 'exit 66'
fake fork_glibc 'echo "ERROR: AddressSanitizer: heap-use-after-free"; exit 0'
# (align_static is missing)

# runsuite REGEX [ARGS...]: tests/run.sh on the fakes, output in $tmp/out, status in $rc
runsuite() {
    only=$1
    shift
    PATH="$tmp/bin:$PATH" BUILD="$B" "$real_timeout" 30 sh "$root/tests/run.sh" --only "$only" "$@" \
        >"$tmp/out" 2>&1 </dev/null
    rc=$?
}
# expect WHAT RC-WANTED SUMMARY LINE-REGEX...: the status (0 or nonzero), the
# summary line exactly, and every line regex present
expect() {
    what=$1 want=$2 summary=$3
    shift 3
    if [ "$want" = 0 ] && [ $rc != 0 ]; then ko "$what" "exit status $rc, not 0"; return; fi
    if [ "$want" != 0 ] && { [ $rc = 0 ] || [ $rc = 124 ] || [ $rc = 137 ]; }; then
        ko "$what" "exit status $rc (0: a failure passed; 124/137: the harness hung)"; return
    fi
    if [ "$(tail -n 1 "$tmp/out")" != "$summary" ]; then
        ko "$what" "last line is not '$summary'"; return
    fi
    for re in "$@"; do
        grep -Eq -- "$re" "$tmp/out" || { ko "$what" "no line matching '$re'"; return; }
    done
    ok "$what"
}

runsuite '^edge\[glibc\]$'
expect run_sh_pass 0 "1 passed, 0 failed" '^PASS edge\[glibc\] '
runsuite '^align\[glibc\]$'
expect run_sh_exit_status 1 "0 passed, 1 failed" '^FAIL align\[glibc\]: exit status 3 ' '^    some output$'
runsuite '^align\[mosaic\]$'
expect run_sh_crash 1 "0 passed, 1 failed" '^FAIL align\[mosaic\]: killed by signal 11 '
runsuite '^align\[linked\]$'
expect run_sh_hang 1 "0 passed, 1 failed" '^FAIL align\[linked\]: timed out '
runsuite '^align\[static\]$'
expect run_sh_missing 1 "0 passed, 1 failed" '^FAIL align\[static\]: .*is missing'
runsuite '^init\[glibc\]$'
expect run_sh_tsan_report 1 "0 passed, 1 failed" '^FAIL init\[glibc\]: sanitizer report'
runsuite '^fork-signal\[glibc\]$'
expect run_sh_asan_report 1 "0 passed, 1 failed" '^FAIL fork-signal\[glibc\]: sanitizer report'
runsuite '^init\[linked\]$'
expect run_sh_tsan_status 1 "0 passed, 1 failed" '^FAIL init\[linked\]: ThreadSanitizer'
runsuite 'no-such-test-xyz'
expect run_sh_nothing_selected 1 "0 passed, 1 failed"
# a failure among passes, twice over: every one counted
runsuite '^(edge|align)\[glibc\]$' --repeat 2
expect run_sh_mixed_repeat 1 "2 passed, 2 failed" '^failed: align\[glibc\] align\[glibc\]$'
if grep -q '^PASS align' "$tmp/out"; then ko run_sh_no_false_pass "a failing test printed PASS"; else ok run_sh_no_false_pass; fi

# ---------------------------------------------------------------- tests/ctl/run.sh
C=$tmp/ctl/tests/ctl
mkdir -p "$C" "$tmp/ctl/tools" "$tmp/cb/tests-ctl"
cp "$here/ctl/run.sh" "$C/run.sh"
# the fakes read $tmp/ctl/mode/NAME for what to do (default: print PASS NAME)
mkdir -p "$tmp/ctl/mode"
cat >"$tmp/ctl/fakeprog" <<EOF
#!/bin/sh
n=\$(basename "\$0")
[ \$# -gt 0 ] && n=\$1
m=\$(cat "$tmp/ctl/mode/\$n" 2>/dev/null || echo pass)
case "\$m" in
pass) echo "PASS \$n"; exit 0 ;;
fail) echo "PASS \$n.a"; echo "FAIL \$n.b: wrong"; exit 1 ;;
failexit0) echo "FAIL \$n: wrong"; exit 0 ;;
silent1) exit 1 ;;
crash) echo "PASS \$n"; kill -SEGV \$\$ ;;
skip) echo "SKIP \$n: not here"; exit 0 ;;
esac
EOF
chmod +x "$tmp/ctl/fakeprog"
for p in ctl_test stats_test arena_test allocx_test hooks_test extent_test compat junk retain thp; do
    ln -s "$tmp/ctl/fakeprog" "$tmp/cb/tests-ctl/$p"
done
# stats_print DIR: writes nothing; check_stats.py and conf.sh: fakes
printf '#!/bin/sh\nm=$(cat "%s/mode/stats_print" 2>/dev/null); [ "$m" != crash ] || kill -SEGV $$; exit 0\n' "$tmp/ctl" \
    >"$tmp/cb/tests-ctl/stats_print"
chmod +x "$tmp/cb/tests-ctl/stats_print"
printf 'import subprocess, sys\nsys.exit(subprocess.call(["%s", "check_stats"]))\n' "$tmp/ctl/fakeprog" >"$C/check_stats.py"
printf 'exec "%s" conf\n' "$tmp/ctl/fakeprog" >"$C/conf.sh"
printf '#!/bin/sh\nm=$(cat "%s/mode/docs" 2>/dev/null); [ "$m" != fail ] || { echo stale >&2; exit 1; }; exit 0\n' "$tmp/ctl" \
    >"$tmp/ctl/tools/gen-opt-docs"

# the passes every fake prints when all pass: 6 programs, arena_test's
# steal again (steal:false), compat, junk, retain (2), thp (3), check_stats,
# conf, reference_docs_current: 17
ALL=17
# ctlrun NAME=MODE...: tests/ctl/run.sh on the fakes
ctlrun() {
    rm -f "$tmp/ctl/mode/"*
    for a in "$@"; do printf '%s\n' "${a#*=}" >"$tmp/ctl/mode/${a%%=*}"; done
    "$real_timeout" 30 sh "$C/run.sh" "$tmp/cb" >"$tmp/out" 2>&1 </dev/null
    rc=$?
}
ctlrun
expect ctl_run_sh_pass 0 "$ALL passed, 0 failed"
ctlrun arena_test=fail
expect ctl_run_sh_fail_line 1 "$ALL passed, 1 failed" '^FAIL arena_test\.b: wrong$'
ctlrun hooks_test=failexit0
expect ctl_run_sh_fail_line_status_0 1 "$((ALL - 1)) passed, 1 failed" '^FAIL hooks_test: wrong$'
ctlrun extent_test=silent1
expect ctl_run_sh_status_1_no_line 1 "$((ALL - 1)) passed, 1 failed" '^FAIL extent_test: exit status 1'
ctlrun stats_test=crash
expect ctl_run_sh_crash 1 "$ALL passed, 1 failed" '^FAIL stats_test: exit status 139'
ctlrun retain_true=crash
expect ctl_run_sh_crash_with_arg 1 "$ALL passed, 1 failed" '^FAIL retain_true: exit status 139'
ctlrun ctl_test=skip thp_never=skip
expect ctl_run_sh_skip_not_counted 0 "$((ALL - 2)) passed, 0 failed" '^SKIP ctl_test'
ctlrun stats_print=crash
expect ctl_run_sh_stats_print 1 "$((ALL - 1)) passed, 1 failed" '^FAIL stats_print: exit status 139'
ctlrun docs=fail
expect ctl_run_sh_docs 1 "$((ALL - 1)) passed, 1 failed" '^FAIL reference_docs_current: stale$'
rm "$tmp/cb/tests-ctl/junk" "$tmp/cb/tests-ctl/compat"
ctlrun
expect ctl_run_sh_missing 1 "$((ALL - 2)) passed, 2 failed" '^FAIL junk: exit status 127' '^FAIL compat: not built'
echo "harness_check: $bad failed"
[ $bad = 0 ]
