#!/bin/sh
# tests/run.sh -- runs the Mosaic test suite (built by `make test-build`).
#
#   sh tests/run.sh [--only REGEX] [--stress] [--repeat N] [--list] [-v]
#
#   --only REGEX  run the tests whose name matches the extended regex
#   --stress      only the randomized and threaded stress tests
#   --repeat N    run the selection N times in a row (default 1, or
#                 $MOSAIC_STRESS_RUNS with --stress)
#   --list        print the test names and exit
#   -v            print every test's whole output
#
# Prints one line per test, "PASS name (time)" or "FAIL name: reason
# (time)" with the end of its output, and finally "N passed, N failed".
# Exits 1 if anything failed. A test whose program is missing FAILS.
# Logs: $BUILD/tests/logs/. Environment knobs passed to the tests:
# MOSAIC_TEST_SEED, MOSAIC_TEST_SCALE (percent of the default work), ...
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 2
BUILD=${BUILD:-build}
T=$BUILD/tests
RUN=$BUILD/mosaic-run
LOGS=$T/logs

only=""
stress=0
repeat=""
list=0
verbose=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --only=*) only=${1#--only=}; shift ;;
    --stress) stress=1; shift ;;
    --repeat) repeat=$2; shift 2 ;;
    --repeat=*) repeat=${1#--repeat=}; shift ;;
    --list) list=1; shift ;;
    -v|--verbose) verbose=1; shift ;;
    -h|--help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$repeat" ]; then
  if [ $stress = 1 ]; then repeat=${MOSAIC_STRESS_RUNS:-20}; else repeat=1; fi
fi

TSAN="TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:report_signal_unsafe=0"
ASAN="ASAN_OPTIONS=halt_on_error=1:exitcode=67:detect_leaks=0:abort_on_error=0"
# The sanitizer runtimes of gcc 12 stop with "unexpected memory mapping" on
# kernels that randomise mmap with 32 bits (vm.mmap_rnd_bits, newer Ubuntu
# kernels): their runs have address randomisation off where setarch can.
NOASLR=""
if setarch "$(uname -m)" -R true 2>/dev/null; then NOASLR="setarch $(uname -m) -R"; fi

# name | time limit (s) | file that must exist | stress? | command
# (the command runs with sh -c from the repository root)
TESTS=$(cat <<EOF
edge[glibc]|120|$T/edge_glibc|0|$T/edge_glibc
edge[mosaic]|120|$T/edge_mosaic|0|$T/edge_mosaic
sizeclass-unit|60|$T/sizeclass_unit|0|$T/sizeclass_unit
pagemap-unit|60|$T/pagemap_unit|0|$T/pagemap_unit
fmt-unit|60|$T/fmt_unit|0|$T/fmt_unit
edge[linked]|120|$T/edge_linked|0|$T/edge_linked
edge[static]|120|$T/edge_static|0|$T/edge_static
edge[preload]|120|$RUN|0|MOSAIC_TEST_EXPECT=mosaic $RUN $T/edge_glibc
align[glibc]|180|$T/align_glibc|0|$T/align_glibc
align[mosaic]|180|$T/align_mosaic|0|$T/align_mosaic
align[linked]|180|$T/align_linked|0|$T/align_linked
align[static]|180|$T/align_static|0|$T/align_static
random[mosaic]|400|$T/random_mosaic|1|$T/random_mosaic
random[linked]|300|$T/random_linked|1|MOSAIC_TEST_SCALE=25 $T/random_linked
random[static]|300|$T/random_static|1|MOSAIC_TEST_SCALE=10 $T/random_static
threads-rings[mosaic]|300|$T/threads_mosaic|1|$T/threads_mosaic rings
threads-churn[mosaic]|300|$T/threads_mosaic|1|$T/threads_mosaic churn
threads-handoff[mosaic]|300|$T/threads_mosaic|1|$T/threads_mosaic handoff
threads-donors[mosaic]|300|$T/threads_mosaic|1|$T/threads_mosaic donors
threads-donors[static]|300|$T/threads_static|1|MOSAIC_TEST_SCALE=50 $T/threads_static donors
threads-handoff[nosteal]|300|$T/threads_linked|1|MOSAIC_CONF=abort_conf:true,steal:false MOSAIC_TEST_SCALE=50 $T/threads_linked handoff
threads-handoff[junk]|300|$T/threads_linked|1|MOSAIC_CONF=abort_conf:true,junk:true MOSAIC_TEST_SCALE=50 $T/threads_linked handoff
threads-rings[linked]|300|$T/threads_linked|1|MOSAIC_TEST_SCALE=50 $T/threads_linked rings
threads-churn[static]|300|$T/threads_static|1|MOSAIC_TEST_CHURN_THREADS=3000 $T/threads_static churn
edge[decay0]|120|$T/edge_linked|0|MOSAIC_CONF=abort_conf:true,dirty_decay_ms:0,muzzy_decay_ms:0 $T/edge_linked
edge[muzzy]|120|$T/edge_linked|0|MOSAIC_CONF=abort_conf:true,dirty_decay_ms:0,muzzy_decay_ms:-1 $T/edge_linked
random[muzzy]|300|$T/random_linked|1|MOSAIC_CONF=abort_conf:true,dirty_decay_ms:0,muzzy_decay_ms:-1 MOSAIC_TEST_SCALE=10 $T/random_linked
random[decay0]|300|$T/random_linked|1|MOSAIC_CONF=abort_conf:true,dirty_decay_ms:0,muzzy_decay_ms:0 MOSAIC_TEST_SCALE=10 $T/random_linked
threads-rings[decay0]|300|$T/threads_linked|1|MOSAIC_CONF=abort_conf:true,dirty_decay_ms:0,muzzy_decay_ms:0 MOSAIC_TEST_SCALE=15 $T/threads_linked rings
random[notcache]|300|$T/random_linked|1|MOSAIC_CONF=abort_conf:true,tcache:false,narenas:1 MOSAIC_TEST_SCALE=10 $T/random_linked
threads-rings[notcache]|300|$T/threads_linked|1|MOSAIC_CONF=abort_conf:true,tcache:false,narenas:1 MOSAIC_TEST_SCALE=25 $T/threads_linked rings
random[noretain-junk]|300|$T/random_linked|1|MOSAIC_CONF=abort_conf:true,retain:false,junk:true,thp:always MOSAIC_TEST_SCALE=10 $T/random_linked
threads-rings[noretain-junk]|300|$T/threads_linked|1|MOSAIC_CONF=abort_conf:true,retain:false,junk:true,thp:always MOSAIC_TEST_SCALE=25 $T/threads_linked rings
init[glibc]|60|$T/init_glibc|0|$T/init_glibc
init[linked]|60|$T/init_linked|0|$T/init_linked
init[static]|60|$T/init_static|0|$T/init_static
init[preload]|60|$RUN|0|MOSAIC_TEST_EXPECT=mosaic $RUN $T/init_glibc
fork-threads[linked]|200|$T/fork_linked|0|$T/fork_linked threads
fork-signal[linked]|120|$T/fork_linked|0|$T/fork_linked signal
fork-signal[glibc]|120|$T/fork_glibc|0|$T/fork_glibc signal
fork-signal-alloc[linked]|120|$T/fork_linked|0|MOSAIC_TEST_SIGFORK_ALLOC=1 $T/fork_linked signal
fork-locks[linked]|120|$T/fork_linked|0|$T/fork_linked locks
fork-held[linked]|120|$T/fork_linked|0|$T/fork_linked held
badfree[linked]|120|$T/badfree_linked|0|$T/badfree_linked
badfree[mosaic]|120|$T/badfree_mosaic|0|$T/badfree_mosaic
badfree[static]|120|$T/badfree_static|0|$T/badfree_static
badfree[notcache]|120|$T/badfree_linked|0|MOSAIC_CONF=abort_conf:true,tcache:false,narenas:1 $T/badfree_linked
badfree[noretain-junk]|120|$T/badfree_linked|0|MOSAIC_CONF=abort_conf:true,retain:false,junk:true,thp:always $T/badfree_linked
oom[linked]|180|$T/oom_linked|0|$T/oom_linked
oom[mosaic]|180|$T/oom_mosaic|0|$T/oom_mosaic
oom[glibc]|180|$T/oom_glibc|0|$T/oom_glibc
programs[preload]|60|$RUN|0|sh tests/programs.sh preload
bench-runner|180|$BUILD/bench/collatz|0|BUILD=$BUILD sh tests/bench_runner.sh
bench-peak|120|$BUILD/bench/peak.so|0|BUILD=$BUILD sh tests/peak_tool.sh
programs[python]|600|$RUN|0|sh tests/programs.sh python
programs[git]|600|$RUN|0|sh tests/programs.sh git
programs[gcc]|600|$RUN|0|sh tests/programs.sh gcc
programs[sort]|600|$RUN|0|sh tests/programs.sh sort
programs[sqlite3]|600|$RUN|0|sh tests/programs.sh sqlite3
random[tsan]|600|$T/random_tsan|1|$TSAN MOSAIC_TEST_SCALE=10 MOSAIC_TEST_LIVE_MIB=256 $NOASLR $T/random_tsan
threads-rings[tsan]|600|$T/threads_tsan|1|$TSAN MOSAIC_TEST_SCALE=15 $NOASLR $T/threads_tsan rings
threads-churn[tsan]|600|$T/threads_tsan|1|$TSAN MOSAIC_TEST_CHURN_THREADS=2000 $NOASLR $T/threads_tsan churn
threads-handoff[tsan]|600|$T/threads_tsan|1|$TSAN MOSAIC_TEST_SCALE=50 $NOASLR $T/threads_tsan handoff
threads-donors[tsan]|600|$T/threads_tsan|1|$TSAN MOSAIC_TEST_SCALE=25 $NOASLR $T/threads_tsan donors
threads-handoff[tsan-nosteal]|600|$T/threads_tsan|1|$TSAN MOSAIC_CONF=abort_conf:true,steal:false MOSAIC_TEST_SCALE=50 $NOASLR $T/threads_tsan handoff
random[asan]|600|$T/random_asan|1|$ASAN MOSAIC_TEST_SCALE=25 $NOASLR $T/random_asan
threads-rings[asan]|600|$T/threads_asan|1|$ASAN MOSAIC_TEST_SCALE=25 $NOASLR $T/threads_asan rings
threads-churn[asan]|600|$T/threads_asan|1|$ASAN MOSAIC_TEST_CHURN_THREADS=3000 $NOASLR $T/threads_asan churn
threads-handoff[asan]|600|$T/threads_asan|1|$ASAN $NOASLR $T/threads_asan handoff
threads-donors[asan]|600|$T/threads_asan|1|$ASAN MOSAIC_TEST_SCALE=50 $NOASLR $T/threads_asan donors
threads-handoff[asan-nosteal]|600|$T/threads_asan|1|$ASAN MOSAIC_CONF=abort_conf:true,steal:false $NOASLR $T/threads_asan handoff
edge[asan]|300|$T/edge_asan|0|$ASAN $NOASLR $T/edge_asan
align[asan]|300|$T/align_asan|0|$ASAN $NOASLR $T/align_asan
EOF
)
# the harness itself: fake tests that fail, crash, hang or are missing are
# never reported as passed, by this script or tests/ctl/run.sh
TESTS="$TESTS
harness-check|180|tests/harness_check.sh|0|sh tests/harness_check.sh
build-stamp|180|tests/build_stamp.sh|0|sh tests/build_stamp.sh"
# the mallctl / statistics / configuration suite (tests/ctl, `make test-ctl`)
# runs as one test when it is there
if [ -f tests/ctl/ctl.mk ]; then
  TESTS="$TESTS
ctl-suite|600|tests/ctl/ctl.mk|0|\${MAKE:-make} --no-print-directory test-ctl BUILD=$BUILD"
fi

selected=$(printf '%s\n' "$TESTS" | while IFS='|' read -r name limit need st cmd; do
  [ $stress = 1 ] && [ "$st" != 1 ] && continue
  if [ -n "$only" ]; then printf '%s\n' "$name" | grep -Eq -- "$only" || continue; fi
  printf '%s|%s|%s|%s|%s\n' "$name" "$limit" "$need" "$st" "$cmd"
done)

if [ $list = 1 ]; then
  printf '%s\n' "$selected" | cut -d'|' -f1
  exit 0
fi
if [ -z "$selected" ]; then
  echo "run.sh: no test selected"
  echo "0 passed, 1 failed"
  exit 1
fi

mkdir -p "$LOGS" 2>/dev/null
command -v timeout >/dev/null 2>&1 || { echo "run.sh: 'timeout' (coreutils) is missing"; echo "0 passed, 1 failed"; exit 1; }

now() { date +%s.%N; }
elapsed() { awk "BEGIN { printf \"%.1f\", $2 - $1 }"; }

passed=0
failed=0
failures=""
start_all=$(now)
run=1
while [ $run -le "$repeat" ]; do
  [ "$repeat" -gt 1 ] && echo "=== run $run of $repeat"
  # a here-document, not a pipe: the counters must survive the loop
  while IFS='|' read -r name limit need st cmd; do
    [ -n "$name" ] || continue
    log="$LOGS/$(printf '%s' "$name" | tr '[]' '__').log"
    t0=$(now)
    reason=""
    if [ ! -e "$need" ]; then
      reason="$need is missing (did the build fail? see the make output above)"
      echo "$reason" >"$log"
    else
      timeout -k 10 "$limit" sh -c "$cmd" >"$log" 2>&1 </dev/null
      rc=$?
      if [ $rc = 124 ] || [ $rc = 137 ]; then
        reason="timed out after ${limit}s (hang or deadlock?)"
      elif [ $rc = 66 ]; then
        reason="ThreadSanitizer report (exit 66)"
      elif [ $rc = 67 ]; then
        reason="AddressSanitizer report (exit 67)"
      elif [ $rc -gt 128 ]; then
        reason="killed by signal $((rc - 128))"
      elif [ $rc != 0 ]; then
        reason="exit status $rc"
      elif grep -q -e 'WARNING: ThreadSanitizer' -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' "$log"; then
        reason="sanitizer report in the output"
      fi
    fi
    t1=$(now)
    if [ -z "$reason" ]; then
      passed=$((passed + 1))
      echo "PASS $name ($(elapsed "$t0" "$t1")s)"
      [ $verbose = 1 ] && sed 's/^/    /' "$log"
    else
      failed=$((failed + 1))
      failures="$failures $name"
      echo "FAIL $name: $reason ($(elapsed "$t0" "$t1")s)"
      if [ $verbose = 1 ]; then sed 's/^/    /' "$log"; else tail -n 25 "$log" | sed 's/^/    /'; fi
    fi
  done <<EOF
$selected
EOF
  run=$((run + 1))
done

echo "suite time $(elapsed "$start_all" "$(now)")s"
[ $failed -gt 0 ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
