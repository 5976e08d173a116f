#!/usr/bin/env python3
"""check_stats.py DIR -- checks what stats_print wrote into DIR.

The JSON outputs are parsed with Python's json module (a real parser: any
syntax error fails the test) and compared with the values mallctl reported
for the same snapshot (DIR/expect.json); the text output is checked line by
line. Prints one PASS/FAIL line per check group.
"""
import json
import re
import sys

d = sys.argv[1]
results = []


def check(name, fn):
    try:
        fn()
        results.append(("PASS", name, ""))
    except Exception as e:  # noqa: BLE001 - any failure is a test failure
        results.append(("FAIL", name, "%s: %s" % (type(e).__name__, e)))


def load(name):
    with open("%s/%s" % (d, name)) as f:
        return json.load(f)


def text(name):
    with open("%s/%s" % (d, name)) as f:
        return f.read()


def eq(a, b, what):
    if a != b:
        raise AssertionError("%s: %r != %r" % (what, a, b))


exp = load("expect.json")


def json_parses():
    for f in ("stats.json", "stats_g.json", "stats_mabl.json", "stats_destroyed.json",
              "stats_Jd.json", "stats_Jb.json", "stats_Jl.json", "stats_destroyed2.json"):
        load(f)


def json_general():
    j = load("stats.json")["jemalloc"]
    eq(j["version"], "0.1.0", "version")
    for k in ("stats", "fill"):
        eq(type(j["config"][k]), bool, "config." + k)
    eq(j["config"]["malloc_conf"], "", "config.malloc_conf")
    for name, kind in exp["opts"]:
        v = j["opt"][name]
        want = {"str": str, "bool": bool, "int": int}[kind]
        eq(type(v), want, "opt." + name)
    eq(len(j["opt"]), len(exp["opts"]), "number of options")
    ar = j["arenas"]
    eq(ar["narenas"], exp["narenas"], "arenas.narenas")
    eq(ar["nbins"], exp["nbins"], "arenas.nbins")
    eq(ar["page"], 4096, "arenas.page")
    eq(ar["quantum"], 16, "arenas.quantum")
    eq([b["size"] for b in ar["bin"]], exp["bin_sizes"], "arenas.bin[].size")
    eq(len(ar["lextent"]), ar["nlextents"], "lextent entries")
    for b in ar["bin"]:
        if b["nregs"] * b["size"] > b["slab_size"] or b["slab_size"] % 4096:
            raise AssertionError("bin %r" % b)


def json_values():
    j = load("stats.json")["jemalloc"]
    for k in ("allocated", "active", "metadata", "resident", "mapped", "retained"):
        eq(j["stats"][k], exp[k], "stats." + k)
    sa = j["stats.arenas"]
    a = sa[str(exp["arena"])]
    eq(a["small"]["allocated"], exp["arena_small_allocated"], "small.allocated")
    eq(a["small"]["allocated"], 10 * 112, "small.allocated value")
    eq(a["large"]["allocated"], exp["arena_large_allocated"], "large.allocated")
    eq(a["large"]["allocated"], exp["large_size"], "large.allocated value")
    eq(a["pactive"], exp["arena_pactive"], "pactive")
    eq(a["bins"][exp["bin112"]]["curregs"], 10, "bins[112].curregs")
    eq(a["bins"][exp["bin112"]]["nmalloc"], 10, "bins[112].nmalloc")
    eq(len(a["bins"]), exp["nbins"], "bins entries")
    eq(sum(x["curlextents"] for x in a["lextents"]), 1, "curlextents")
    eq(a["nthreads"], 0, "nthreads")


def json_merged():
    j = load("stats.json")["jemalloc"]
    sa = j["stats.arenas"]
    m = sa["merged"]
    arenas = [v for k, v in sa.items() if k.isdigit()]
    eq(m["small"]["allocated"] + m["large"]["allocated"], j["stats"]["allocated"], "allocated")
    eq(m["pactive"] * 4096, j["stats"]["active"], "active")
    for k in ("pactive", "pdirty", "pmuzzy", "ptrimmed", "mapped", "retained", "resident", "nthreads",
              "npurge", "nmadvise", "purged"):
        eq(sum(a[k] for a in arenas), m[k], "merged " + k)
    # the purge counters are not all zero: the second arena purged a freed 1 MiB block
    p = sa[str(exp["purge_arena"])]
    if not (p["npurge"] >= 1 and p["nmadvise"] >= 1 and p["purged"] >= 256):
        raise AssertionError("purge arena's counters %r" % ([p[k] for k in ("npurge", "nmadvise", "purged")],))
    for sect in ("small", "large"):
        for k in m[sect]:
            eq(sum(a[sect][k] for a in arenas), m[sect][k], "merged %s.%s" % (sect, k))
    for i in range(exp["nbins"]):
        for k in m["bins"][i]:
            eq(sum(a["bins"][i][k] for a in arenas), m["bins"][i][k], "merged bins[%d].%s" % (i, k))
    if "destroyed" in sa:
        raise AssertionError("destroyed section with no arena destroyed")


def json_opts():
    g = load("stats_g.json")["jemalloc"]
    for k in ("version", "config", "opt", "arenas"):
        if k in g:
            raise AssertionError("'g' kept %s" % k)
    eq(g["stats"]["allocated"] > 0, True, "'g' keeps stats")
    m = load("stats_mabl.json")["jemalloc"]
    if m["stats.arenas"]:
        raise AssertionError("'mabl' kept %r" % list(m["stats.arenas"]))
    dj = load("stats_destroyed.json")["jemalloc"]["stats.arenas"]
    ds = dj["destroyed"]
    eq(ds["small"]["nmalloc"], 10, "destroyed small.nmalloc")
    eq(ds["small"]["allocated"], 0, "destroyed small.allocated")
    eq(ds["large"]["nmalloc"], 1, "destroyed large.nmalloc")
    if str(exp["arena"]) in dj:
        raise AssertionError("destroyed arena still listed")


def sections(j):
    """The arena sections of a JSON output: merged, destroyed, per arena."""
    sa = j["jemalloc"]["stats.arenas"]
    if not sa:
        raise AssertionError("no arena sections")
    return sa


def json_opts_dbl():
    # 'd': no destroyed section (an arena was destroyed), the rest is there
    sa = sections(load("stats_Jd.json"))
    if "destroyed" in sa:
        raise AssertionError("'d' kept the destroyed section")
    for k in ("merged", str(exp["purge_arena"])):
        if k not in sa:
            raise AssertionError("'d' lost section %r" % k)
    eq("bins" in sa["merged"] and "lextents" in sa["merged"], True, "'d' keeps bins, lextents")
    # 'b': no per-bin arrays anywhere, per-large-class arrays kept
    sa = sections(load("stats_Jb.json"))
    eq(sorted(k for k in sa if not k.isdigit()), ["destroyed", "merged"], "'b' sections")
    for k, a in sa.items():
        if "bins" in a:
            raise AssertionError("'b' kept bins in %r" % k)
        eq(len(a["lextents"]), len(load("stats.json")["jemalloc"]["arenas"]["lextent"]),
           "'b' lextents of %r" % k)
        eq(type(a["small"]["nmalloc"]), int, "'b' keeps small totals")
    # 'l': no per-large-class arrays anywhere, bins kept
    sa = sections(load("stats_Jl.json"))
    eq(sorted(k for k in sa if not k.isdigit()), ["destroyed", "merged"], "'l' sections")
    for k, a in sa.items():
        if "lextents" in a:
            raise AssertionError("'l' kept lextents in %r" % k)
        eq(len(a["bins"]), exp["nbins"], "'l' bins of %r" % k)
        eq(type(a["large"]["nmalloc"]), int, "'l' keeps large totals")
    # the same letters in text: no bin or large-class tables, no destroyed arenas
    t = text("stats_bld.txt")
    for needle in ("Merged arenas stats:", "arenas[%d]:" % exp["purge_arena"]):
        if needle not in t.splitlines():
            raise AssertionError("'bld' text lost %r" % needle)
    if re.search(r"^bins:", t, re.M) or re.search(r"^large:\s+size\s+ind", t, re.M):
        raise AssertionError("'bld' text kept a bin or large-class table")
    if "Destroyed arenas stats:" in t:
        raise AssertionError("'bld' text kept the destroyed arenas")
    if not re.search(r"^small:\s+\d+", t, re.M):
        raise AssertionError("'bld' text lost the small/large table")


def json_destroyed_accumulates():
    # two arenas destroyed: MALLCTL_ARENAS_DESTROYED is the sum of both, in
    # the JSON and through mallctl (stats.arenas.4097.*)
    ds = load("stats_destroyed2.json")["jemalloc"]["stats.arenas"]["destroyed"]
    m = load("destroyed2.json")
    n = 10 + exp["purge_nsmall"]
    eq(ds["small"]["nmalloc"], n, "destroyed small.nmalloc")
    eq(ds["small"]["ndalloc"], n, "destroyed small.ndalloc")
    eq(ds["large"]["nmalloc"], 2, "destroyed large.nmalloc")
    eq(ds["large"]["ndalloc"], 2, "destroyed large.ndalloc")
    eq(m["small.nmalloc"], n, "stats.arenas.4097.small.nmalloc")
    eq(m["large.nmalloc"], 2, "stats.arenas.4097.large.nmalloc")
    for k in ("small.ndalloc", "large.ndalloc", "npurge", "nmadvise", "purged"):
        sect, _, f = k.rpartition(".")
        eq(m[k], ds[sect][f] if sect else ds[f], "mallctl vs JSON destroyed " + k)
    # the second arena's purge is in there
    if not (ds["npurge"] >= 1 and ds["nmadvise"] >= 1 and ds["purged"] >= 256):
        raise AssertionError("destroyed purge counters %r" % ([ds[k] for k in ("npurge", "nmadvise", "purged")],))
    first = load("stats_destroyed.json")["jemalloc"]["stats.arenas"]["destroyed"]
    for k in ("npurge", "nmadvise", "purged"):
        if ds[k] <= first[k]:
            raise AssertionError("destroyed %s did not grow: %d -> %d" % (k, first[k], ds[k]))


def text_output():
    t = text("stats.txt")
    lines = t.splitlines()
    eq(lines[0], "___ Begin Mosaic statistics ___", "first line")
    eq(lines[-1], "--- End Mosaic statistics ---", "last line")
    # (a new snapshot: the numbers differ from the JSON's, their relations hold)
    tot = [re.fullmatch(r"Allocated: (\d+), active: (\d+), metadata: (\d+), resident: (\d+), "
                        r"mapped: (\d+), retained: (\d+)", l) for l in lines]
    tot = [m for m in tot if m]
    eq(len(tot), 1, "totals line")
    al, ac, md, rs, mp, rt = (int(x) for x in tot[0].groups())
    if not (ac >= al > 0 and rs >= ac and mp >= ac and md > 0 and ac % 4096 == 0):
        raise AssertionError("totals %r" % (tot[0].groups(),))
    merged = t.split("Merged arenas stats:\n")[1]
    m_small = int(re.search(r"^small:\s+(\d+)", merged, re.M).group(1))
    m_large = int(re.search(r"^large:\s+(\d+)", merged, re.M).group(1))
    eq(m_small + m_large, al, "merged small + large == Allocated")
    for needle in ("Version: \"0.1.0\"", "  config.stats: true", "Merged arenas stats:",
                   "arenas[%d]:" % exp["arena"], "Page size: 4096"):
        if needle not in lines:
            raise AssertionError("no line %r" % needle)
    for name, kind in exp["opts"]:
        if not any(l.startswith("  opt.%s: " % name) for l in lines):
            raise AssertionError("no opt.%s line" % name)
    # the new arena's section: small totals and the 112-byte bin row
    sec = t.split("arenas[%d]:\n" % exp["arena"])[1].split("arenas[")[0]
    small = re.search(r"^small:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", sec, re.M)
    eq(small and tuple(int(x) for x in small.groups()), (1120, 10, 0, 10), "small row")
    large = re.search(r"^large:\s+(\d+)\s+(\d+)", sec, re.M)
    eq(large and int(large.group(1)), exp["large_size"], "large row")
    row = re.search(r"^\s+112\s+%d\s+1120\s+10\s+0\s+10\s+10\s" % exp["bin112"], sec, re.M)
    if not row:
        raise AssertionError("no bins row for size 112 with 10 regions")
    lrow = re.search(r"^\s+%d\s+\d+\s+%d\s+1\s+0\s+1\s+1$" % (exp["large_size"], exp["large_size"]),
                     sec, re.M)
    if not lrow:
        raise AssertionError("no large row for size %d" % exp["large_size"])
    eq(text("stats_unknown_opts.txt").splitlines()[0], "___ Begin Mosaic statistics ___",
       "unknown opts ignored")
    if "Destroyed arenas stats:" not in text("stats_destroyed.txt"):
        raise AssertionError("no destroyed section in text")


def text_used_rows_only():
    # a bin or large-class row only for a class that was used (nmalloc > 0):
    # every row's nmalloc column is positive, and the first arena (10 blocks
    # of 112 bytes, one large block) has exactly one row of each
    for f in ("stats.txt", "stats_destroyed.txt"):
        t = text(f)
        nbinrows = nlrows = 0
        for sec in re.split(r"^(?:Merged arenas stats|Destroyed arenas stats|arenas\[\d+\]):\n", t,
                            flags=re.M)[1:]:
            bins = re.search(r"^bins:.*\n((?:\s+\d.*\n)*)", sec, re.M)
            large = re.search(r"^large:\s+size.*\n((?:\s+\d.*\n)*)", sec, re.M)
            if not bins or not large:
                raise AssertionError("%s: a section without bins or large table" % f)
            for row in bins.group(1).splitlines():
                nbinrows += 1
                if int(row.split()[3]) == 0:
                    raise AssertionError("%s: bin row of an unused bin: %r" % (f, row))
            for row in large.group(1).splitlines():
                nlrows += 1
                if int(row.split()[3]) == 0:
                    raise AssertionError("%s: large row of an unused class: %r" % (f, row))
        if nbinrows == 0 or nlrows == 0:
            raise AssertionError("%s: no bin or large rows at all" % f)
    sec = text("stats.txt").split("arenas[%d]:\n" % exp["arena"])[1].split("arenas[")[0]
    eq(len(re.search(r"^bins:.*\n((?:\s+\d.*\n)*)", sec, re.M).group(1).splitlines()), 1,
       "bin rows of the first arena")
    eq(len(re.search(r"^large:\s+size.*\n((?:\s+\d.*\n)*)", sec, re.M).group(1).splitlines()), 1,
       "large rows of the first arena")


def json_leaf(sec, path):
    v = sec
    for part in path.split("."):
        v = v[int(part)] if part.isdigit() else v[part]
    return v


def json_every_leaf():
    # every value printed for every arena section (merged, destroyed, each
    # arena) and the totals are the ones mallctl reads from the same snapshot
    for out, leaves in (("stats.json", "leaves.json"), ("stats_destroyed.json", "leaves_destroyed.json")):
        j = load(out)["jemalloc"]
        lv = load(leaves)
        for k, v in lv["totals"].items():
            eq(j["stats"][k], v, "%s: stats.%s" % (out, k))
        sa = j["stats.arenas"]
        eq(sorted(sa), sorted(lv["arenas"]), "%s: arena sections" % out)
        for i, leaf in lv["arenas"].items():
            for path, v in leaf.items():
                eq(json_leaf(sa[i], path), v, "%s: arena %s %s" % (out, i, path))


def text_sections(t):
    parts = re.split(r"^(Merged arenas stats|Destroyed arenas stats|arenas\[(\d+)\]):\n", t, flags=re.M)
    secs = {}
    for k in range(1, len(parts), 3):
        key = "merged" if parts[k].startswith("Merged") else "destroyed" if parts[k].startswith("Destroyed") else parts[k + 1]
        secs[key] = parts[k + 2]
    return secs


def text_every_leaf():
    # the text output: every number of every arena section (and the totals
    # line) equals what mallctl reads from the same snapshot
    for out, leaves in (("stats.txt", "leaves_txt.json"), ("stats_destroyed.txt", "leaves_destroyed_txt.json")):
        t = text(out)
        lv = load(leaves)
        nbins = exp["nbins"]
        tot = re.search(r"^Allocated: (\d+), active: (\d+), metadata: (\d+), resident: (\d+), "
                        r"mapped: (\d+), retained: (\d+)$", t, re.M)
        eq(tuple(int(x) for x in tot.groups()),
           tuple(lv["totals"][k] for k in ("allocated", "active", "metadata", "resident", "mapped", "retained")),
           "%s: totals line" % out)
        secs = text_sections(t)
        eq(sorted(secs), sorted(lv["arenas"]), "%s: arena sections" % out)
        for i, L in lv["arenas"].items():
            sec = secs[i]
            what = "%s: arena %s" % (out, i)

            def grab(rx, n=1):
                m = re.search(rx, sec, re.M)
                if not m:
                    raise AssertionError("%s: no line %r" % (what, rx))
                return tuple(int(x) for x in m.groups())
            eq(grab(r"^assigned threads: (\d+)$"), (L["nthreads"],), what + " threads")
            eq(grab(r"^decay time \(ms\): dirty (-?\d+), muzzy (-?\d+)$"),
               (L["dirty_decay_ms"], L["muzzy_decay_ms"]), what + " decay")
            eq(grab(r"^pages: active (\d+), dirty (\d+), muzzy (\d+), trimmed (\d+)$"),
               (L["pactive"], L["pdirty"], L["pmuzzy"], L["ptrimmed"]), what + " pages")
            eq(grab(r"^purging: (\d+) sweeps, (\d+) madvise calls, (\d+) pages purged$"),
               (L["npurge"], L["nmadvise"], L["purged"]), what + " purging")
            cols = ("allocated", "nmalloc", "ndalloc", "nrequests")
            for sect in ("small", "large"):
                eq(grab(r"^%s:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$" % sect),
                   tuple(L["%s.%s" % (sect, c)] for c in cols), "%s %s row" % (what, sect))
            eq(grab(r"^total:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$"),
               tuple(L["small." + c] + L["large." + c] for c in cols), what + " total row")
            eq(grab(r"^active:\s+(\d+)$"), (L["pactive"] * 4096,), what + " active")
            for k in ("mapped", "retained", "base", "resident"):
                eq(grab(r"^%s:\s+(\d+)$" % k), (L[k],), "%s %s" % (what, k))
            rows = re.search(r"^bins:.*\n((?:\s+\d.*\n)*)", sec, re.M).group(1).splitlines()
            got = {}
            for r in rows:
                c = r.split()
                got[int(c[1])] = c
            used = [j for j in range(nbins) if L["bins.%d.nmalloc" % j]]
            eq(sorted(got), used, what + " bin rows")
            for j in used:
                c = got[j]
                B = lambda f: L["bins.%d.%s" % (j, f)]
                size = exp["bin_sizes"][j]
                eq([int(x) for x in c[:9]],
                   [size, j, B("curregs") * size, B("nmalloc"), B("ndalloc"), B("nrequests"),
                    B("curregs"), B("curslabs"), B("nonfull_slabs")], "%s bin %d" % (what, j))
                eq([int(x) for x in c[12:17]], [B("nfills"), B("nflushes"), B("nslabs"),
                                                 B("nparked"), B("nstolen")], "%s bin %d fills" % (what, j))
                regs = int(c[9])
                cap = B("curslabs") * regs
                u = B("curregs") * 1000 // cap if cap else 0
                eq(c[11], "%d.%03d" % (u // 1000, u % 1000), "%s bin %d util" % (what, j))
            rows = re.search(r"^large:\s+size.*\n((?:\s+\d.*\n)*)", sec, re.M).group(1).splitlines()
            got = {}
            for r in rows:
                c = [int(x) for x in r.split()]
                got[c[1] - nbins] = c
            used = [j for j in range(len(L)) if L.get("lextents.%d.nmalloc" % j)]
            eq(sorted(got), used, what + " large rows")
            for j in used:
                X = lambda f: L["lextents.%d.%s" % (j, f)]
                c = got[j]
                eq(c[2:], [X("curlextents") * c[0], X("nmalloc"), X("ndalloc"), X("nrequests"),
                           X("curlextents")], "%s large %d" % (what, j))


check("stats_print_json_parses", json_parses)
check("stats_print_json_general", json_general)
check("stats_print_json_values", json_values)
check("stats_print_json_merged_is_sum", json_merged)
check("stats_print_json_opts_gmabl_destroyed", json_opts)
check("stats_print_json_opts_dbl", json_opts_dbl)
check("stats_print_destroyed_accumulates", json_destroyed_accumulates)
check("stats_print_text", text_output)
check("stats_print_text_used_rows_only", text_used_rows_only)
check("stats_print_json_every_leaf", json_every_leaf)
check("stats_print_text_every_leaf", text_every_leaf)
for status, name, msg in results:
    print("%s %s%s" % (status, name, ": " + msg if msg else ""))
sys.exit(1 if any(r[0] == "FAIL" for r in results) else 0)
