#!/usr/bin/env python3
"""tests/bench_runner_unit.py -- unit checks of bench/run.py's arithmetic and
verdicts, called by tests/bench_runner.sh.  Every check calls a function of the
runner with crafted inputs and compares its output with a value worked out by
hand (noted next to it), so that a change to a median, a ratio, a geometric
mean, a threshold or its comparison, the choice of "best" or "fastest peer",
the instruction-count arithmetic or a table's formatting shows up here rather
than as a wrong claim in bench/RESULTS.md.  Runs nothing but Python."""

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import run  # noqa: E402

failures = 0


def check(cond, what, got=None):
    global failures
    if cond:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what)
        if got is not None:
            print("     got:\n" + "\n".join("       " + l for l in str(got).splitlines()))


def same(got, want, what):
    check(got == want, what, got if got == want else "%s\n     want:\n%s" % (
        got, "\n".join("       " + l for l in str(want).splitlines())))


def near(got, want, tol, what):
    check(got is not None and abs(got - want) <= tol, "%s (%.6g, want %.6g)" % (
        what, got if got is not None else float("nan"), want), got)


# --------------------------------------------------------------------------
# median, geomean, Mann-Whitney

def test_median_geomean_mann_whitney():
    same(run.median([1.0, 2.0, 10.0]), 2.0, "median of 3 is the middle value, not the mean")
    same(run.median([10.0, 1.0, 3.0, 2.0]), 2.5, "median of 4 is the mean of the middle two")
    check(math.isnan(run.median([])), "median of nothing is nan")
    near(run.geomean([1.0, 4.0]), 2.0, 1e-12, "geomean(1, 4) = 2")
    near(run.geomean([2.0, 8.0, 0.0, float("nan")]), 4.0, 1e-12,
         "geomean leaves out zeros and nan")
    check(math.isnan(run.geomean([0.0])), "geomean of nothing usable is nan")
    # Tied values across the samples: xs ranks 1, 2.5, 2.5, 5, 5 (R1 = 16, U1 = 1);
    # tie groups 2, 3, 2 give sum(t^3 - t) = 36; var = 25/12 * (11 - 36/90) =
    # 22.0833; z = (|1 - 12.5| - 0.5) / sqrt(var) = 2.3408; p = erfc(z/sqrt 2).
    near(run.mann_whitney_p([1, 2, 2, 3, 3], [3, 4, 4, 5, 6]), 0.019244, 2e-6,
         "Mann-Whitney p with ties (mean ranks, tie-corrected variance)")
    # U = 0 of 25: z = 12 / sqrt(25 * 11 / 12) = 2.5067, p = 0.012186
    near(run.mann_whitney_p([1.30, 1.32, 1.34, 1.36, 1.38], [1.0, 1.01, 1.02, 1.03, 1.04]),
         0.012186, 2e-6, "Mann-Whitney p, 5 against 5 separated")
    same(run.mann_whitney_p([1, 2, 3, 4], [1, 2, 3, 4, 5]), None,
         "no p-value with 4 runs on a side")


# --------------------------------------------------------------------------
# ratio_table, fmt_val, the text and markdown tables


def st(wall, rss=10.0, walls=None, cpu=None):
    walls = walls or [wall]
    return {"wall": wall, "cpu": wall if cpu is None else cpu, "rss": rss, "walls": walls,
            "n": len(walls)}


def test_ratio_and_tables():
    stats = {("a", "mosaic"): st(2.0), ("a", "system"): st(1.0), ("a", "jemalloc"): st(4.0),
             ("b", "mosaic"): None, ("b", "system"): st(3.0), ("b", "jemalloc"): st(1.5)}
    allocs = ["mosaic", "system", "jemalloc"]
    table, gm = run.ratio_table(["a", "b"], allocs, stats, "wall")
    same(table, {"a": {"mosaic": (2.0, 2.0), "system": (1.0, 1.0), "jemalloc": (4.0, 4.0)},
                 "b": {"system": (3.0, 2.0), "jemalloc": (1.5, 1.0)}},
         "ratio_table: each value over the smallest on its benchmark, failed runs left out")
    # geomeans: mosaic 2 (1 of 2), system sqrt(1*2), jemalloc sqrt(4*1) = 2
    same(sorted(gm), sorted(allocs), "ratio_table: a geomean for every allocator")
    near(gm["mosaic"][0], 2.0, 1e-12, "ratio_table: mosaic's geomean over what it finished")
    near(gm["system"][0], math.sqrt(2.0), 1e-12, "ratio_table: system's geomean ratio")
    near(gm["jemalloc"][0], 2.0, 1e-12, "ratio_table: jemalloc's geomean ratio")
    same([gm[a][1] for a in allocs], [1, 2, 2], "ratio_table: benchmarks counted per allocator")

    same([run.fmt_val(v, "rss") for v in (5.25, 50.25, 150.4)], ["5.2", "50.2", "150"],
         "fmt_val: MiB with one decimal below 100, none above")
    same([run.fmt_val(v, "wall") for v in (5.0, 50.0, 500.0)], ["5.000", "50.00", "500.0"],
         "fmt_val: seconds with 3, 2, 1 decimals")

    md = run.md_ratio_table(["a", "b"], allocs, stats, "wall", "s")
    same(md, "\n".join([
        "| benchmark | mosaic | system | jemalloc |",
        "|---|---:|---:|---:|",
        "| a | 2.000 s (2.00×) | **1.000 s (1.00×)** | 4.000 s (4.00×) |",
        "| b | FAIL | 3.000 s (2.00×) | **1.500 s (1.00×)** |",
        "| **geomean of ratios** | **2.00×** (1 of 2) | **1.41×** | **2.00×** |"]),
        "md_ratio_table: values, ratios, bold on the best, FAIL, geomean row with counts")
    txt = run.text_table(["a", "b"], allocs, stats, "wall", "T")
    same(txt, "\n".join([
        "T",
        "benchmark            mosaic        system      jemalloc",
        "-------------  ------------  ------------  ------------",
        "a              2.000  2.00x  1.000 *1.00x  4.000  4.00x",
        "b                      FAIL  3.000  2.00x  1.500 *1.00x",
        "-------------  ------------  ------------  ------------",
        "geomean ratio   2.00x (1/2)         1.41x         2.00x"]),
        "text_table: values, ratios, * on the best, FAIL, geomean row with counts")


# --------------------------------------------------------------------------
# summarize: medians from the CSV rows, failed runs, checksum majority


def row(b, a, wall, rss=1024, check="7", status="ok", cpu=None, user=0.0, rep=1):
    return {"bench": b, "alloc": a, "rep": str(rep), "threads": "1", "status": status,
            "wall_s": str(wall), "user_s": str(user), "sys_s": "0",
            "cpu_s": str(wall if cpu is None else cpu), "maxrss_kb": str(rss),
            "secs": str(wall), "metric": str(10 * wall), "unit": "ops/s", "check": check,
            "malloc_lib": "x", "bg_load": "0", "extra": "{}", "argv": ""}


def test_summarize():
    rows = [row("a", "mosaic", 1.0, rss=2048, cpu=0.5, user=9.0),
            row("a", "mosaic", 10.0, rss=4096, cpu=0.75, user=9.0, rep=2),
            row("a", "mosaic", 2.0, rss=1024, cpu=0.25, user=9.0, rep=3),
            row("a", "system", 1.0), row("a", "jemalloc", 1.0)]
    benches, al, stats, problems = run.summarize(rows)
    s = stats[("a", "mosaic")] or {}
    same(tuple(s.get(k) for k in ("n", "wall", "cpu", "rss", "metric", "walls")),
         (3, 2.0, 0.5, 2.0, 20.0, [1.0, 10.0, 2.0]),
         "summarize: medians of wall, cpu_s, maxrss in MiB and metric over the runs")
    same(problems, [], "summarize: no problem when every run finished")
    same(al, ["mosaic", "system", "jemalloc"], "summarize: allocators in the runner's order")
    # one failed run among good ones fails the benchmark for that allocator
    benches, al, stats, problems = run.summarize(rows + [row("a", "mosaic", 0, status="timeout", rep=4)])
    same((stats[("a", "mosaic")], bool(stats[("a", "system")])), (None, True),
         "summarize: a failed run among good ones fails the allocator on that benchmark")
    same(problems, ["a under mosaic: 1 of 4 runs failed (timeout)"],
         "summarize: the failed run is listed")

    # checksum majority: 2 against 1 (system in the minority) ...
    benches, al, stats, problems = run.summarize(
        [row("a", "jemalloc", 1.0, check="A"), row("a", "system", 1.0, check="B"),
         row("a", "mosaic", 1.0, check="A"), row("a", "tcmalloc", 0, status="timeout")])
    same((stats[("a", "system")], bool(stats[("a", "mosaic")]), bool(stats[("a", "jemalloc")])),
         (None, True, True), "summarize: the checksum of the majority wins over the system's")
    same(problems, ["a under tcmalloc: 1 of 1 runs failed (timeout)",
                    "a: checksums differ between allocators: A: mosaic,jemalloc; B: system; "
                    "treated as failed: system"],
         "summarize: the minority's problem line (an allocator that failed is not in it)")
    # ... one against one: the system allocator's
    benches, al, stats, problems = run.summarize(
        [row("a", "mosaic", 1.0, check="A"), row("a", "system", 1.0, check="B")])
    same((stats[("a", "mosaic")], bool(stats[("a", "system")])), (None, True),
         "summarize: on a tie the system allocator's checksum wins")
    # an allocator whose runs gave two checksums, one of them the right one
    benches, al, stats, problems = run.summarize(
        [row("a", "mosaic", 1.0, check="A"), row("a", "mosaic", 1.0, check="C", rep=2),
         row("a", "system", 1.0, check="A"), row("a", "jemalloc", 1.0, check="A")])
    same((stats[("a", "mosaic")], bool(stats[("a", "system")])), (None, True),
         "summarize: an allocator with several checksums over its runs failed")


def test_inflight():
    rows = []
    for k, (v, rss) in enumerate([(4000, 3072), (350, 2048), (3900, 4096)]):
        r = row("prodcons", "mosaic", 1.0, rss=rss, rep=k + 1)
        r["extra"] = '{"inflight": "%d", "threads": "2"}' % v
        rows.append(r)
    rows.append(row("prodcons", "system", 1.0))  # reported no inflight
    r = row("prodcons", "jemalloc", 1.0)
    r["extra"] = '{"inflight": "-1"}'
    rows.append(r)
    benches, al, stats, problems = run.summarize(rows)
    same((stats[("prodcons", "mosaic")].get("inflight"), "inflight" in stats[("prodcons", "system")]),
         (3900.0, False), "summarize: median of the runs' inflight, absent where not reported")
    same(run.inflight_table(benches, al, stats).strip().splitlines(),
         ["| benchmark | allocator | threads | objects in flight per ring (median) | peak RSS (median) |",
          "|---|---:|---:|---:|---:|",
          "| prodcons | mosaic | 1 | 3900 | 3.0 MiB |"],
         "inflight_table: a row per allocator that reported rings, median objects and RSS")


# --------------------------------------------------------------------------
# bar_section: thresholds, their direction, which peer counts

A4 = ["mosaic", "system", "jemalloc", "mimalloc"]
A5 = A4 + ["tcmalloc"]

def test_bar_edges():
    # Every bar met exactly at its edge: a is 1.10x jemalloc (not over 10%), its
    # RSS 13/10 = 1.3x the smallest peer's (not over 1.3x); the geomeans are equal
    # (wall sqrt(1.1 * 1.0) both, RSS sqrt(13 * 10) both).
    stats = {("a", "mosaic"): st(1.1, 13.0), ("a", "system"): st(1.2, 9.0),
             ("a", "jemalloc"): st(1.0, 10.0), ("a", "mimalloc"): st(1.05, 12.0),
             ("b", "mosaic"): st(1.0, 10.0), ("b", "system"): st(2.0, 9.0),
             ("b", "jemalloc"): st(1.1, 13.0), ("b", "mimalloc"): st(1.2, 11.0)}
    same(run.bar_section(["a", "b"], A4, stats, []), "\n".join([
        "- Faster than the system allocator on every benchmark: **met**",
        "- Geometric mean of wall time at or below the fastest peer's (jemalloc): **met** "
        "(mosaic 1.049 s vs 1.049 s, 1.000×)",
        "- No benchmark more than 10% slower than the fastest peer on it: **met**",
        "- Geometric mean of peak RSS at or below jemalloc's: **met** "
        "(mosaic 11.4 MiB vs 11.4 MiB, 1.000×)",
        "- No benchmark's peak RSS above 1.3× the smallest peer's: **met**"]) + "\n",
        "bar: every bar met at its edge (equal geomeans, 1.10x and 1.3x exactly)")

    # Every bar missed: a ties the system allocator (not faster) and is 1.15x the
    # fastest peer jemalloc (tcmalloc is slower: not the one compared); b is 2x
    # the system allocator (not a peer) and 0.9 -> 1.0 = 1.11x jemalloc. The
    # fastest peer by geomean is jemalloc (sqrt(0.9) = 0.949 s against mosaic's
    # sqrt(1.15) = 1.072 s). RSS: a is 14/10 = 1.40x the smallest peer
    # (jemalloc; tcmalloc's is larger), the geomean sqrt(14 * 5) = 8.4 MiB
    # against jemalloc's sqrt(10 * 5) = 7.1 MiB.
    stats = {("a", "mosaic"): st(1.15, 14.0), ("a", "system"): st(1.15, 9.0),
             ("a", "jemalloc"): st(1.0, 10.0), ("a", "mimalloc"): st(1.1, 20.0),
             ("a", "tcmalloc"): st(2.0, 30.0),
             ("b", "mosaic"): st(1.0, 5.0), ("b", "system"): st(0.5, 9.0),
             ("b", "jemalloc"): st(0.9, 5.0), ("b", "mimalloc"): st(1.0, 6.0),
             ("b", "tcmalloc"): st(1.0, 7.0)}
    same(run.bar_section(["a", "b"], A5, stats, []), "\n".join([
        "- Faster than the system allocator on every benchmark: **missed**; not on: "
        "a (1.00× system), b (2.00× system)",
        "- Geometric mean of wall time at or below the fastest peer's (jemalloc): **missed** "
        "(mosaic 1.072 s vs 0.949 s, 1.130×)",
        "- No benchmark more than 10% slower than the fastest peer on it: **missed**; over: "
        "a (1.15× jemalloc), b (1.11× jemalloc)",
        "- Geometric mean of peak RSS at or below jemalloc's: **missed** "
        "(mosaic 8.4 MiB vs 7.1 MiB, 1.183×)",
        "- No benchmark's peak RSS above 1.3× the smallest peer's: **missed**; over: a 1.40×"])
        + "\n", "bar: every bar missed, against the right peer on each")


def test_bar_geomean_common():
    # jemalloc failed b, where mosaic was slow: mosaic's geomean against
    # jemalloc's is over a alone (1.0 s vs 1.0 s, met), not over a and b.
    stats = {("a", "mosaic"): st(1.0), ("a", "jemalloc"): st(1.0),
             ("b", "mosaic"): st(4.0), ("b", "jemalloc"): None}
    bar = run.bar_section(["a", "b"], ["mosaic", "jemalloc"], stats, [])
    same(bar.splitlines()[0], "- Geometric mean of wall time at or below the fastest peer's "
         "(jemalloc): **met** (mosaic 1.000 s vs 1.000 s, 1.000×)",
         "bar: the geomeans over the benchmarks both finished")


def test_bar_rss_against_jemalloc():
    # The RSS geomean is compared with jemalloc's even where another peer is the
    # fastest (mimalloc here, with half jemalloc's RSS).
    stats = {("a", "mosaic"): st(1.0, 10.0), ("a", "jemalloc"): st(0.9, 10.0),
             ("a", "mimalloc"): st(0.5, 5.0)}
    bar = run.bar_section(["a"], ["mosaic", "jemalloc", "mimalloc"], stats, [])
    check("fastest peer's (mimalloc)" in bar and
          "- Geometric mean of peak RSS at or below jemalloc's: **met** "
          "(mosaic 10.0 MiB vs 10.0 MiB, 1.000×)" in bar,
          "bar: RSS geomean against jemalloc's, not the fastest peer's", bar)


def test_bar_significance():
    # Significance of a missed time bar: a p-value from the two allocators'
    # wall times, "runs differ" below 0.05, "within noise" from there on.
    # a: mosaic 1.34 s against jemalloc 1.02 s, separated: p = 0.012; the
    # system allocator's runs interleave with mosaic's (p = 0.68) but are slower.
    # b: mosaic 1.4 s against jemalloc 1.25 s, overlapping: U = 8, p = 0.403.
    stats = {("a", "mosaic"): st(1.34, walls=[1.30, 1.32, 1.34, 1.36, 1.38]),
             ("a", "system"): st(1.35, walls=[1.31, 1.33, 1.35, 1.37, 1.39]),
             ("a", "jemalloc"): st(1.02, walls=[1.0, 1.01, 1.02, 1.03, 1.04]),
             ("b", "mosaic"): st(1.4, walls=[1.2, 1.3, 1.4, 1.5, 1.6]),
             ("b", "system"): st(1.5, walls=[1.5] * 5),
             ("b", "jemalloc"): st(1.25, walls=[1.0, 1.1, 1.25, 1.35, 1.7])}
    bar = run.bar_section(["a", "b"], ["mosaic", "system", "jemalloc"], stats, [])
    line = [l for l in bar.splitlines() if l.startswith("- No benchmark more than 10%")]
    same(line, ["- No benchmark more than 10% slower than the fastest peer on it: **missed**; "
                "over: a (1.31× jemalloc; runs differ, p = 0.012), "
                "b (1.12× jemalloc; within noise, p = 0.40)"],
         "bar: Mann-Whitney note against the peer named, split at p = 0.05")
    # Faster than the system allocator by the median on a and b, but their runs
    # interleave with the system's (p = 0.68 and 0.29): met, and both named as
    # wins only by the median. c is faster with separated runs (p = 0.012): not
    # named.
    stats[("c", "mosaic")] = st(1.02, walls=[1.0, 1.01, 1.02, 1.03, 1.04])
    stats[("c", "system")] = st(1.32, walls=[1.3, 1.31, 1.32, 1.33, 1.34])
    bar = run.bar_section(["a", "b", "c"], ["mosaic", "system", "jemalloc"], stats, [])
    same(bar.splitlines()[0],
         "- Faster than the system allocator on every benchmark: **met**; faster only by the "
         "median on: a (0.99× system; within noise, p = 0.68), "
         "b (0.93× system; within noise, p = 0.29)",
         "bar: a win by the median whose runs interleave with the system's is named as such")


# Instructions per pair against mimalloc's, sizes up to 1024 B: equal is met
# (16 B), above is missed (1024 B), above at 2048 B does not count.
def ipc(a, size, pp, mode="pair", status="ok"):
    return {"alloc": a, "mode": mode, "size": str(size), "per_pair": pp, "status": status}


def test_bar_instructions():
    ipc_rows = [ipc("mosaic", 16, "19.00"), ipc("mimalloc", 16, "19.00"),
                ipc("mosaic", 1024, "20.50"), ipc("mimalloc", 1024, "20.00"),
                ipc("mosaic", 2048, "90.00"), ipc("mimalloc", 2048, "30.00"),
                ipc("mosaic", 64, "50.00", mode="batch"), ipc("mimalloc", 64, "40.00", mode="batch",
                                                              status="failed: x")]
    stats = {("a", "mosaic"): st(1.0), ("a", "mimalloc"): st(1.0)}
    bar = run.bar_section(["a"], ["mosaic", "mimalloc"], stats, ipc_rows)
    same(bar.splitlines()[-1], "- Instructions per small malloc+free pair at or below mimalloc's: "
         "**missed**; above on: pair 1024 B: 20.50 vs 20.00",
         "bar: instructions per pair, equal met, <= 1024 B only, failed counts skipped")


# --------------------------------------------------------------------------
# run_ipc: (I(2N) - I(N)) / (pairs(2N) - pairs(N)) minus the loop's own
# per-iteration count of the same mode.  A fake callgrind: start-up costs
# 10^6 instructions, each iteration of the stub loop 10 (pair) or 12 (batch),
# mosaic's 40 + size/16 (pair) or 50 (batch); batch mode rounds the count up
# to whole batches of 64, as bench/pairs does (N = 1100: 1152 and 2240 pairs,
# so the difference is 1088, not N).

def test_lib_matches():
    system, mosaic = run.Alloc("system", None, ""), run.Alloc("mosaic", "/x/libmosaic.so", "")
    same([system.lib_matches("/lib/x86_64-linux-gnu/libc.so.6"),
          system.lib_matches("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"),
          mosaic.lib_matches("/x/../x/libmosaic.so"), mosaic.lib_matches("/lib/libc.so.6")],
         [True, False, True, False],
         "lib_matches: glibc for the system allocator, the preloaded file for the others")


def test_run_ipc_and_run_suite():
    calls = []

    def fake_callgrind(argv, env, alloc):
        mode, size, n = argv[argv.index("-m") + 1], int(argv[argv.index("-s") + 1]), \
            int(argv[argv.index("-n") + 1])
        calls.append((alloc.name, mode, size, n))
        if mode in ("batch", "stubbatch"):
            n = (n + 63) // 64 * 64
        per = {"stub": 10, "stubbatch": 12, "pair": 40 + size // 16, "batch": 50}[mode]
        return 10 ** 6 + per * n, n

    tmp = tempfile.mkdtemp()
    real = (run.callgrind_total, run.run_once, run.shutil.which)
    try:
        run.callgrind_total = fake_callgrind
        run.shutil.which = lambda name: "/usr/bin/" + name
        args = argparse.Namespace(bin="/nonexistent", ipc_pairs=1100, jobs=1)
        with contextlib.redirect_stderr(open(os.devnull, "w")):  # progress lines
            ipc_rows = run.run_ipc(args, {"mosaic": run.Alloc("mosaic", "/x/libmosaic.so", "")},
                                   os.path.join(tmp, "ipc.csv"))
        got = [(r["alloc"], r["mode"], r["size"], r["ir_n"], r["ir_2n"], r["per_iteration"],
                r["loop_overhead"], r["per_pair"], r["status"]) for r in ipc_rows]
        same(got, [
            ("loop", "pair", 64, 1011000, 1022000, "10.00", "10.00", "", "ok"),
            ("mosaic", "pair", 16, 1045100, 1090200, "41.00", "10.00", "31.00", "ok"),
            ("mosaic", "pair", 64, 1048400, 1096800, "44.00", "10.00", "34.00", "ok"),
            ("mosaic", "pair", 256, 1061600, 1123200, "56.00", "10.00", "46.00", "ok"),
            ("mosaic", "pair", 1024, 1114400, 1228800, "104.00", "10.00", "94.00", "ok"),
            ("loop", "batch", 64, 1013824, 1026880, "12.00", "12.00", "", "ok"),
            ("mosaic", "batch", 16, 1057600, 1112000, "50.00", "12.00", "38.00", "ok"),
            ("mosaic", "batch", 64, 1057600, 1112000, "50.00", "12.00", "38.00", "ok"),
            ("mosaic", "batch", 256, 1057600, 1112000, "50.00", "12.00", "38.00", "ok"),
            ("mosaic", "batch", 1024, 1057600, 1112000, "50.00", "12.00", "38.00", "ok")],
            "run_ipc: 2N-N difference over the pairs done, loop overhead of the same mode off")
        same(sorted(set((a, n) for a, m, s, n in calls)),
             [("mosaic", 1100), ("mosaic", 2200), ("system", 1100), ("system", 2200)],
             "run_ipc: N and 2N pairs; the loop on the stub functions, without preload")
        same(open(os.path.join(tmp, "ipc.csv")).readline().strip(),
             "alloc,mode,size,pairs,ir_n,ir_2n,per_iteration,loop_overhead,per_pair,status",
             "run_ipc: ipc.csv columns")
        ipc_csv = run.read_csv(os.path.join(tmp, "ipc.csv"))
        ipc_csv[-1].update(status="failed: x", per_pair="nan")  # mosaic batch 1024 B
        md = run.ipc_tables(ipc_csv, md=True)
        check("| mosaic | 31.0 | 34.0 | 46.0 | 94.0 |" in md and
              "| mosaic | 38.0 | 38.0 | 38.0 | FAIL |" in md and
              "loop overhead subtracted: 10.00 instructions" in md and
              "loop overhead subtracted: 12.00 instructions" in md,
              "ipc_tables: per-pair counts, FAIL, each mode's loop overhead", md)

        # ------------------------------------------------------------------
        # run_suite: the CSV row of one run (a fake run_once)
        def fake_run_once(argv, preload, timeout, conf=None):
            return {"wall": 1.5, "user": 0.25, "sys": 0.5, "maxrss_kb": 4096, "status": "ok",
                    "bg_load": 0.125, "stderr_tail": "", "stdout": "",
                    "kv": {"bench": "collatz", "secs": "1.25", "metric": "99.5", "unit": "ops/s",
                           "check": "abc", "errors": "0", "threads": "3", "extra1": "x",
                           "malloc_lib": "/x/libmosaic.so" if preload else "/lib/libc.so.6"}}
        run.run_once = fake_run_once
        args = argparse.Namespace(threads=2, bin="/nonexistent", timeout=10)
        bench = [b for b in run.BENCHES if b[0] == "collatz"][0]
        with contextlib.redirect_stderr(open(os.devnull, "w")):
            run.run_suite(args, {"mosaic": run.Alloc("mosaic", "/x/libmosaic.so", ""),
                                 "system": run.Alloc("system", None, ""),
                                 "jemalloc": run.Alloc("jemalloc", "/x/libjemalloc.so.2", "")},
                          [bench], 1, 1.0, os.path.join(tmp, "results.csv"))
        csv_rows = run.read_csv(os.path.join(tmp, "results.csv"))
        same(list(csv_rows[0].keys()), run.RESULT_FIELDS, "run_suite: results.csv columns")
        r = [x for x in csv_rows if x["alloc"] == "mosaic"][0]
        same((r["status"], r["wall_s"], r["user_s"], r["sys_s"], r["cpu_s"], r["maxrss_kb"],
              r["secs"], r["metric"], r["check"], r["threads"], r["bg_load"], r["extra"]),
             ("ok", "1.500000", "0.250000", "0.500000", "0.750000", "4096", "1.25", "99.5", "abc",
              "3", "0.125", '{"extra1": "x", "threads": "3"}'),
             "run_suite: a run's row (cpu_s = user + sys, extra without the named fields)")
        same(sorted((x["alloc"], x["status"]) for x in csv_rows),
             [("jemalloc", "wrong-lib"), ("mosaic", "ok"), ("system", "ok")],
             "run_suite: malloc from another library than the one preloaded is wrong-lib")
    finally:
        run.callgrind_total, run.run_once, run.shutil.which = real
        shutil.rmtree(tmp)


# --------------------------------------------------------------------------
# scaling_tables: median throughput per thread count, relative to 1 thread


def srow(t, metric, a="mosaic", status="ok"):
    return {"bench": "larson", "alloc": a, "threads": str(t), "status": status,
            "metric": str(metric), "unit": "ops/s"}


def test_scaling_tables():
    md = run.scaling_tables([srow(1, 100), srow(1, 300), srow(1, 200), srow(2, 300), srow(2, 500),
                             srow(2, 400), srow(2, 9999, status="timeout"), srow(1, 50, a="system"),
                             srow(2, 25, a="system")], md=True)
    same(md, "\n".join([
        "**larson throughput, ops/s (median; in parentheses: relative to 1 thread)**", "",
        "| allocator | 1 thr | 2 thr |", "|---|---:|---:|",
        "| mosaic | 200.00 | 400.00 (2.00x) |", "| system | 50.00 | 25.00 (0.50x) |", ""]),
        "scaling_tables: medians of the ok runs, ratio to the 1-thread median")


def test_peak():
    # a report as bench/peak.c writes it (numbers made up, rows elided)
    rep = ("peak: resident 45.7 MiB at 0.057 s (193 samples, every 200 us)\n"
           "peak: snapshot at 45.2 MiB resident, 0.052 s:\n"
           "peak: allocated 21.7, active 43.2, metadata 1.5, resident 45.0, mapped 45.5, "
           "retained 2.6, dirty 0.2 MiB\n"
           "peak:      bin   regs   curregs curslabs  nonfull   slabs KiB  in use KiB  util\n"
           "peak:       16    512       147        5        3          40           2  0.06\n"
           "peak: small classes: 36.0 MiB of slabs, 14.7 MiB of blocks out of them (in use "
           "or in thread caches), 0.4 MiB parked for the next fills\n")
    same(run.parse_peak(rep), {"peak_mib": "45.7", "snap_mib": "45.2", "snap_s": "0.052",
                               "allocated_mib": "21.7", "active_mib": "43.2",
                               "metadata_mib": "1.5", "resident_mib": "45.0",
                               "mapped_mib": "45.5", "retained_mib": "2.6", "dirty_mib": "0.2",
                               "slabs_mib": "36.0", "blocks_mib": "14.7", "parked_mib": "0.4"},
         "parse_peak: every number of a report, each to its column")
    nopark = rep.replace(", 0.4 MiB parked for the next fills", "")
    same(run.parse_peak(nopark)["parked_mib"], "",
         "parse_peak: no parked total (jemalloc) gives an empty parked_mib")
    same(run.parse_peak("peak: resident 2.1 MiB at 0.002 s (4 samples, every 200 us)\n"
                        "peak: the allocator has no mallctl: resident set only\n"), {},
         "parse_peak: a report without statistics gives nothing")
    rows = [dict(run.parse_peak(rep), bench="frag", alloc="mosaic", status="ok"),
            dict(run.parse_peak(nopark), bench="frag", alloc="jemalloc", status="ok"),
            {"bench": "frag", "alloc": "jemalloc", "status": "timeout"}]
    same(run.peak_table(rows, md=True).splitlines(),
         ["| benchmark | allocator | peak RSS | allocated | active | dirty | metadata | "
          "small-class slabs | blocks out of them | parked |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
          "| frag | mosaic | 45.7 MiB | 21.7 MiB | 43.2 MiB | 0.2 MiB | 1.5 MiB | 36.0 MiB | "
          "14.7 MiB | 0.4 MiB |",
          "| frag | jemalloc | 45.7 MiB | 21.7 MiB | 43.2 MiB | 0.2 MiB | 1.5 MiB | 36.0 MiB | "
          "14.7 MiB | - |",
          "| frag | jemalloc | timeout |  |  |  |  |  |  |  |"],
         "peak_table: the columns in order, '-' for no parked total, a failed run's status")
    # rows of a peak.csv written before the parked column: no parked column
    old = [{k: v for k, v in rows[0].items() if k != "parked_mib"}]
    same(run.peak_table(old, md=True).splitlines()[0],
         "| benchmark | allocator | peak RSS | allocated | active | dirty | metadata | "
         "small-class slabs | blocks out of them |",
         "peak_table: no parked column where no row has one")


for test in [test_median_geomean_mann_whitney,
             test_ratio_and_tables,
             test_summarize,
             test_inflight,
             test_bar_edges,
             test_bar_geomean_common,
             test_bar_rss_against_jemalloc,
             test_bar_significance,
             test_bar_instructions,
             test_lib_matches,
             test_run_ipc_and_run_suite,
             test_scaling_tables,
             test_peak]:
    try:
        test()
    except Exception:
        failures += 1
        print("FAIL %s raised:" % test.__name__)
        traceback.print_exc(file=sys.stdout)

print("%d unit check(s) failed" % failures if failures else "all unit checks passed")
sys.exit(1 if failures else 0)
