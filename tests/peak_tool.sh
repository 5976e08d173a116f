#!/bin/sh
# tests/peak_tool.sh -- bench/peak.so, the heap-at-peak reporter: under Mosaic
# (and jemalloc, the other allocator with mallctl) its snapshot must be the
# heap at the peak, not after it (frag's live bytes at their peak, within the
# sampler's margin of the largest resident set), its per-class rows and totals
# must add up (under Mosaic with the blocks parked on its transfer stacks), PEAK_OUT must take the report, a forked child must not report;
# under glibc it reports the resident set alone.  Needs make bench-build and Debian's libjemalloc2.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 2
BUILD=${BUILD:-build}
fail() { echo "FAIL: bench-peak: $*" >&2; exit 1; }
P=$root/$BUILD/bench/peak.so
[ -f "$P" ] || fail "$P is missing (make bench-build)"
[ -f "$BUILD/libmosaic.so" ] || fail "$BUILD/libmosaic.so is missing (make lib)"
tmp=$(mktemp -d) || fail mktemp
trap 'rm -rf "$tmp"' EXIT

# frag: 200 000 objects of 16-128 B, then three more bands; its live bytes
# peak at about 14 MiB (the program reports live_peak)
check_report() { # name report-file frag-output
  python3 - "$1" "$2" "$3" <<'PY'
import re, sys
name, path, fragout = sys.argv[1:]
rep = open(path).read()
print("\n".join("    " + l for l in rep.splitlines()))
fo = open(fragout).read()
live = int(re.search(r"live_peak=(\d+)", fo).group(1)) / 1048576.0
base = int(re.search(r"base_rss=(\d+)", fo).group(1)) / 1048576.0
ok = True
def check(c, what):
    global ok
    print(("ok   " if c else "FAIL ") + "%s: %s" % (name, what))
    ok = ok and bool(c)
# the report-wide numbers through the runner's own parser (bench/run.py), so
# the format has one reader; the per-class rows are checked here
sys.path.insert(0, "bench")
import run
pk = run.parse_peak(rep)
check(bool(pk), "the runner's parser reads the report")
top = float(pk.get("peak_mib", 0))
check(bool(pk) and top - float(pk["snap_mib"]) <= max(top / 100, 0.25) + 0.1,
      "the snapshot is within the sampler's margin of the peak (%.1f vs %s MiB)" % (top, pk.get("snap_mib")))
if pk:
    a, act, res = float(pk["allocated_mib"]), float(pk["active_mib"]), float(pk["resident_mib"])
    # frag's resident set is on a plateau from the end of its third band on,
    # while each band's 90 % free makes its live bytes dip to a tenth of their
    # peak: the earliest snapshot near the peak can fall inside such a dip (a
    # sampler that a loaded machine keeps off the CPU for a few ms lands
    # there).  So the snapshot is checked against what holds anywhere on the
    # plateau: the program still holds at least the tenth of its live bytes
    # that survives a free (the allocator's counts include size-class rounding
    # and cached blocks, so at least 80 % of that); a snapshot after the
    # teardown holds next to nothing.  And the statistics are of the moment
    # the resident set was sampled: the allocator's resident pages cover the
    # heap's part of it (the sample less frag's resident set before the heap).
    snap = float(pk["snap_mib"])
    check(a >= 0.8 * 0.1 * live and a <= act + 0.1,
          "allocated %.1f MiB (live peak %.1f, a tenth survives each free), active %.1f" % (a, live, act))
    check(res >= 0.9 * (snap - base) and act <= res + 0.1,
          "resident %.1f MiB covers the heap's share of the sample (%.1f - %.1f MiB before the heap)"
          % (res, snap, base))
rows = re.findall(r"peak: +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +([\d.]+) +(\d+|-)\n", rep)
check(len(rows) >= 8, "a row for each small class in use (%d)" % len(rows))
# Mosaic reports the blocks parked on its transfer stacks (nparked); jemalloc has none
parked = name == "mosaic"
check(all((p != "-") == parked for *_, p in rows), "the parked column %s" % ("filled" if parked else "'-'"))
cap = use = park = 0
for size, regs, cur, slabs, nonfull, capk, usek, util, p in rows:
    size, regs, cur, slabs = int(size), int(regs), int(cur), int(slabs)
    c, u = slabs * regs * size, cur * size
    npk = int(p) if p != "-" else 0
    cap += c; use += u; park += npk * size
    # blocks out of the slabs and blocks parked are different regions of them
    if abs(c / 1024.0 - int(capk)) > 1 or abs(u / 1024.0 - int(usek)) > 1 or int(nonfull) > slabs \
            or cur + npk > slabs * regs:
        check(False, "row %s adds up" % size)
check(bool(pk) and abs(float(pk["slabs_mib"]) - cap / 1048576.0) <= 0.1
      and abs(float(pk["blocks_mib"]) - use / 1048576.0) <= 0.1 and (pk["parked_mib"] != "") == parked
      and (not parked or abs(float(pk["parked_mib"]) - park / 1048576.0) <= 0.1),
      "the totals are the rows' sums")
sys.exit(0 if ok else 1)
PY
}

PEAK_OUT=$tmp/mosaic.txt LD_PRELOAD="$root/$BUILD/libmosaic.so $P" "$BUILD/bench/frag" -t 1 -n 200000 -f 90 >"$tmp/frag-m.out" 2>"$tmp/err" ||
  fail "frag under Mosaic with peak.so failed: $(cat "$tmp/err")"
[ ! -s "$tmp/err" ] || fail "with PEAK_OUT the report still went to stderr: $(cat "$tmp/err")"
check_report mosaic "$tmp/mosaic.txt" "$tmp/frag-m.out" || fail "Mosaic's report is wrong (see above)"

je=$(python3 bench/run.py list --build "$BUILD" --no-build --no-install --alloc jemalloc 2>/dev/null |
     awk '$1 == "jemalloc" { print $2 }')
[ -n "$je" ] || fail "jemalloc not found (Debian package libjemalloc2; scripts/deps.sh test installs it)"
LD_PRELOAD="$je $P" "$BUILD/bench/frag" -t 1 -n 200000 -f 90 >"$tmp/frag-j.out" 2>"$tmp/jemalloc.txt" ||
  fail "frag under jemalloc with peak.so failed"
check_report jemalloc "$tmp/jemalloc.txt" "$tmp/frag-j.out" || fail "jemalloc's report is wrong (see above)"

LD_PRELOAD="$P" "$BUILD/bench/collatz" -t 2 -n 2000 >/dev/null 2>"$tmp/glibc.txt" || fail "collatz with peak.so alone failed"
cat "$tmp/glibc.txt"
grep -q '^peak: resident [0-9.]* MiB at' "$tmp/glibc.txt" || fail "no resident set under glibc"
grep -q '^peak: the allocator has no mallctl' "$tmp/glibc.txt" || fail "under glibc it does not say there is no mallctl"
# a forked child (which has no sampler thread) reports nothing: one report
LD_PRELOAD="$root/$BUILD/libmosaic.so $P" /usr/bin/python3 -c '
import os, sys
pid = os.fork()
if pid == 0:
    sys.exit(0)
os.waitpid(pid, 0)' 2>"$tmp/fork.txt" || fail "a forking program under peak.so failed: $(cat "$tmp/fork.txt")"
n=$(grep -c '^peak: resident' "$tmp/fork.txt")
[ "$n" = 1 ] || { cat "$tmp/fork.txt"; fail "a forking program wrote $n reports, not 1"; }
echo "bench-peak: ok"
