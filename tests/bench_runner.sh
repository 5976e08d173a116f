#!/bin/sh
# tests/bench_runner.sh -- the benchmark runner (bench/run.py) end to end, on a
# tiny amount of work: it must measure Mosaic, the system allocator and a peer
# taken from a --peer-dir folder (with the version named by its PACKAGES
# file), refuse a "peer" that does not provide malloc, measure a --variant
# (Mosaic run with its own MOSAIC_CONF, never counted as a peer), and write a
# report under another name with its own data folder; a run cut short by SIGTERM
# keeps the rows measured so far.  Needs the benchmark programs
# (make bench-build) and jemalloc's library (Debian libjemalloc2, installed by
# scripts/deps.sh test).  tests/bench_runner_unit.py checks the runner's
# arithmetic and verdicts function by function.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 2
BUILD=${BUILD:-build}
fail() { echo "FAIL: bench-runner: $*" >&2; exit 1; }

[ -x "$BUILD/bench/collatz" ] || fail "$BUILD/bench/collatz is missing (make bench-build)"
[ -f "$BUILD/tests/libprobe.so" ] || fail "$BUILD/tests/libprobe.so is missing (make test-build)"
# the runner's own search (bench/run.py list) finds the installed jemalloc
je=$(python3 bench/run.py list --build "$BUILD" --no-build --no-install --alloc jemalloc 2>/dev/null |
     awk '$1 == "jemalloc" { print $2 }')
[ -n "$je" ] && [ -e "$je" ] || fail "jemalloc not found (Debian package libjemalloc2; scripts/deps.sh test installs it)"

tmp=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/peers" "$tmp/md"
ln -s "$je" "$tmp/peers/libjemalloc.so.2"
# a "peer" that loads but does not provide malloc: the runner must leave it out
cp "$BUILD/tests/libprobe.so" "$tmp/peers/libmimalloc.so.2"
printf 'libjemalloc2 9.9.9-peerdir-test\n' >"$tmp/peers/PACKAGES"

python3 bench/run.py run --build "$BUILD" --no-build --no-install --peer-dir "$tmp/peers" \
  --bench collatz --alloc mosaic,system,jemalloc,mimalloc --reps 1 --scale 0.02 \
  --variant one-arena=narenas:1 --variant badconf=abort_conf:true,no_such_key:1 \
  --out "$tmp/out" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "bench/run.py run exited non-zero"; }
cat "$tmp/log"

python3 - "$tmp" <<'PY' || fail "checks on the run's output failed (see above)"
import csv, json, os, sys
tmp = sys.argv[1]
meta = json.load(open(os.path.join(tmp, "out", "meta.json")))
rows = list(csv.DictReader(open(os.path.join(tmp, "out", "results.csv"))))
ok = True
def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and cond
je = meta["allocs"].get("jemalloc", {})
check(je.get("lib") == os.path.join(tmp, "peers", "libjemalloc.so.2"),
      "jemalloc taken from the --peer-dir folder: %s" % je.get("lib"))
check(je.get("version") == "9.9.9-peerdir-test",
      "its version read from PACKAGES: %s" % je.get("version"))
check("mimalloc" not in meta["allocs"] and "malloc" in meta["skipped"].get("mimalloc", ""),
      "a library that does not provide malloc is left out: %s" % meta["skipped"].get("mimalloc"))
v = meta["allocs"].get("one-arena", {})
check(v.get("conf") == "narenas:1" and v.get("lib") == meta["allocs"]["mosaic"]["lib"],
      "a --variant is Mosaic's library with its MOSAIC_CONF: %s" % v)
# abort_conf with an unknown key aborts at start-up: only if the variant's
# MOSAIC_CONF reaches the program does its probe fail
check("badconf" not in meta["allocs"] and "probe run failed" in meta["skipped"].get("badconf", ""),
      "a --variant's MOSAIC_CONF reaches the program: %s" % meta["skipped"].get("badconf"))
for a in ("mosaic", "system", "jemalloc", "one-arena"):
    r = [x for x in rows if x["alloc"] == a and x["bench"] == "collatz"]
    check(len(r) == 1 and r[0]["status"] == "ok" and float(r[0]["wall_s"]) > 0
          and int(r[0]["maxrss_kb"]) > 0, "collatz measured under %s" % a)
# memory at the peak: one more run under each allocator with mallctl (Mosaic,
# the --variant, jemalloc; not the system allocator), parsed from peak.so
peak = list(csv.DictReader(open(os.path.join(tmp, "out", "peak.csv"))))
check(sorted(r["alloc"] for r in peak) == ["jemalloc", "mosaic", "one-arena"],
      "peak.csv has Mosaic, its variant and jemalloc: %s" % [r["alloc"] for r in peak])
# (a run this short holds well under 0.1 MiB: the numbers can print as 0.0)
for r in peak:
    check(r["status"] == "ok" and float(r["allocated_mib"]) <= float(r["active_mib"]) + 0.1
          and float(r["blocks_mib"]) <= float(r["slabs_mib"]) + 0.1 and float(r["peak_mib"]) > 0
          and float(r["snap_mib"]) <= float(r["peak_mib"]),
          "peak statistics of collatz under %s: %s" % (r["alloc"], r))
checks = set(x["check"] for x in rows)
check(len(checks) == 1, "same checksum under every allocator: %s" % sorted(checks))
sys.exit(0 if ok else 1)
PY

# The significance test that annotates missed bars (Mann-Whitney U, two-sided).
python3 - <<'PY' || fail "mann_whitney_p gave wrong p-values"
import sys
sys.path.insert(0, "bench")
from run import mann_whitney_p as p
sep = p([1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15, 16, 17, 18])
inter = p([1, 3, 5, 7, 9, 11, 13, 15, 17], [2, 4, 6, 8, 10, 12, 14, 16, 18])
ties = p([5] * 5, [5] * 5)
print("p: separated %.5f, interleaved %.3f, all tied %.2f, too few %s" % (sep, inter, ties, p([1, 2, 3, 4], [5, 6, 7, 8, 9])))
# reference values: U = 0 and U = 36 of 81, z with continuity correction
ok = abs(sep - 0.000412) < 2e-6 and abs(inter - 0.7239) < 1e-3 and ties == 1.0 \
     and p([1, 2, 3, 4], [5, 6, 7, 8, 9]) is None \
     and p([3, 1, 2, 5, 4], [9, 8, 7, 6, 10]) == p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
sys.exit(0 if ok else 1)
PY

# The bar with failures: a benchmark Mosaic failed (or whose checksum under
# Mosaic differs from the others') misses every bar, and geometric means
# compare Mosaic and a peer over what both finished.
python3 - <<'PY' || fail "bar verdicts with failed runs are wrong"
import sys
sys.path.insert(0, "bench")
import run
def row(b, a, wall, rss=1024, check="7", status="ok"):
    return {"bench": b, "alloc": a, "rep": "1", "threads": "1", "status": status,
            "wall_s": str(wall), "user_s": "0", "sys_s": "0", "cpu_s": str(wall),
            "maxrss_kb": str(rss), "secs": str(wall), "metric": "1", "unit": "ops/s",
            "check": check, "malloc_lib": "x", "bg_load": "0", "extra": "{}", "argv": ""}
allocs = ["mosaic", "system", "jemalloc"]
base = [row("a", x, 1.0) for x in allocs] + [row("b", "system", 2.0), row("b", "jemalloc", 1.0)]
cases = {
    # mosaic times out on b, where it would have been slow
    "failed": base + [row("b", "mosaic", 0, status="timeout")],
    # mosaic finishes b fast, but with a wrong checksum
    "checksum": base + [row("b", "mosaic", 0.1, check="8")],
}
ok = True
for name, rows in cases.items():
    benches, al, stats, problems = run.summarize(rows)
    bar = run.bar_section(benches, al, stats, [])
    lines = [l for l in bar.splitlines() if l.startswith("- ")]
    if len(lines) != 5 or any("**met**" in l for l in lines) or \
            not all("mosaic failed" in l for l in lines):
        ok = False
        print("%s:\n%s" % (name, bar))
    if name == "checksum" and not any("treated as failed: mosaic" in p for p in problems):
        ok = False
        print("checksum problems: %s" % problems)
# and with every run fine, the geomean bar is met where Mosaic is fastest
benches, al, stats, problems = run.summarize(base + [row("b", "mosaic", 0.5)])
bar = run.bar_section(benches, al, stats, [])
ok = ok and "wall time at or below the fastest peer's (jemalloc): **met**" in bar and not problems
# a --variant (here "v", far faster everywhere) is no peer: the bar still
# measures Mosaic against jemalloc
benches, al, stats, problems = run.summarize(base + [row("b", "mosaic", 0.5), row("a", "v", 0.01),
                                                     row("b", "v", 0.01)])
bar = run.bar_section(benches, al, stats, [])
ok = ok and "wall time at or below the fastest peer's (jemalloc): **met**" in bar and \
    "slower than the fastest peer on it: **met**" in bar
if not ok:
    print(bar)
sys.exit(0 if ok else 1)
PY

# Instruction counts are checked like timed runs: a program that got malloc
# from another library than the allocator under test (a preload that did not
# take) is a failure, and the pair count is the one the program reports.
python3 - <<'PY' || fail "callgrind_total accepted a run on the wrong allocator"
import subprocess, sys
sys.path.insert(0, "bench")
import run
def fake(stdout, rc=0):
    def f(*a, **k):
        return subprocess.CompletedProcess(a, rc, stdout, "==1== Collected : 1234\n")
    return f
mos = run.Alloc("mosaic", "/opt/x/libmosaic.so", "")
ok = True
run.subprocess.run = fake("RESULT bench=pairs pairs=128 malloc_lib=/lib/x86_64-linux-gnu/libc.so.6\n")
try:
    run.callgrind_total(["pairs"], {}, mos)
    ok = False
    print("a run on glibc counted as mosaic's")
except RuntimeError as e:
    print("refused: %s" % e)
run.subprocess.run = fake("RESULT bench=pairs pairs=128 malloc_lib=/opt/x/libmosaic.so\n")
ok = ok and run.callgrind_total(["pairs"], {}, mos) == (1234, 128)
run.subprocess.run = fake("", rc=1)
try:
    run.callgrind_total(["pairs"], {}, mos)
    ok = False
except RuntimeError:
    pass
sys.exit(0 if ok else 1)
PY

# The arithmetic and the verdicts behind RESULTS.md (medians, ratios, geometric
# means, p-values, the bar's thresholds and peers, instructions per pair, the
# CSV columns, the tables), on crafted inputs with values worked out by hand.
python3 tests/bench_runner_unit.py || fail "unit checks of bench/run.py failed (see above)"

python3 bench/run.py report --build "$BUILD" --out "$tmp/out" --md "$tmp/md/RESULTS-x.md" \
  >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "bench/run.py report exited non-zero"; }
[ -f "$tmp/md/data-x/results.csv" ] || fail "report did not copy the data to data-x/"
[ ! -e "$tmp/md/data" ] || fail "report under another name wrote the default data/ folder"
grep -q 'in `data-x/` next to this file' "$tmp/md/RESULTS-x.md" || fail "RESULTS-x.md does not name data-x/"
grep -q -- "--md $tmp/md/RESULTS-x.md\|--md .*RESULTS-x.md" "$tmp/md/RESULTS-x.md" || fail "RESULTS-x.md does not give its regeneration command"
grep -q '| collatz |' "$tmp/md/RESULTS-x.md" || fail "RESULTS-x.md has no collatz row"
grep -q '^## Memory at the peak' "$tmp/md/RESULTS-x.md" || fail "RESULTS-x.md has no memory-at-the-peak section"
grep -q '^| collatz | one-arena | [0-9.]* MiB |' "$tmp/md/RESULTS-x.md" || fail "RESULTS-x.md has no peak row for the variant"
[ -f "$tmp/md/data-x/peak.csv" ] || fail "report did not copy peak.csv to data-x/"
grep -q '^- \*\*one-arena\*\*: .*run with `MOSAIC_CONF=narenas:1`' "$tmp/md/RESULTS-x.md" ||
  fail "RESULTS-x.md does not name the variant's MOSAIC_CONF"
# A run cut short by SIGTERM (as from `timeout`) keeps the rows it measured.
# The signal goes through `timeout` (which passes it on to the run and then to
# its process group, so the run sees it twice) once the progress shows a
# second run done, so the first one's row is in, however slow the machine.
timeout -s TERM 600 python3 bench/run.py scaling --build "$BUILD" --no-build --no-install \
  --alloc mosaic,system --scaling-reps 1000 --scale 0.01 --out "$tmp/cut" >"$tmp/log" 2>&1 &
tpid=$!
waited=0
while [ "$(grep -c '^\[scaling' "$tmp/log")" -lt 2 ] && [ $waited -lt 600 ]; do
  sleep 0.1; waited=$((waited + 1))
done
kill -TERM $tpid
wait $tpid
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || { cat "$tmp/log"; fail "the scaling run was not cut short by the signal (exit $rc)"; }
grep -q "interrupted: the [0-9]* runs measured so far are in" "$tmp/log" || { cat "$tmp/log"; fail "no interrupt message"; }
rows=$(($(wc -l <"$tmp/cut/scaling.csv") - 1))
[ "$rows" -ge 1 ] || fail "the interrupted run kept no rows"
grep -q "interrupted: the $rows runs" "$tmp/log" || fail "the message does not count the $rows rows kept"
echo "interrupted scaling run kept $rows rows"
# prodcons reports the objects in flight per ring: within the ring's capacity
# for pairs, -1 for the one-thread baseline (no ring).
for q in 32 256; do
  inf=$(LD_PRELOAD="$PWD/$BUILD/libmosaic.so" "$BUILD/bench/prodcons" -t 2 -n 200000 -q $q |
        sed -n 's/^RESULT .* inflight=\([-0-9.]*\) .*/\1/p')
  awk -v v="$inf" -v q=$q 'BEGIN { exit !(v != "" && v + 0 >= 0 && v + 0 <= q) }' ||
    fail "prodcons -q $q reported inflight='$inf' (0..$q expected)"
done
inf=$("$BUILD/bench/prodcons" -t 1 -n 1000 | sed -n 's/^RESULT .* inflight=\([-0-9.]*\) .*/\1/p')
[ "$inf" = "-1" ] || fail "prodcons -t 1 reported inflight='$inf' (-1 expected)"
echo "prodcons in flight: ok"
echo "bench-runner: ok"
