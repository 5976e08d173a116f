#!/usr/bin/env python3
"""Mosaic benchmark runner (issue 3).  Python 3 standard library only.

Runs the programs of bench/ under Mosaic (LD_PRELOAD=build/libmosaic.so), the
system allocator (no preload) and each of jemalloc, mimalloc and tcmalloc that
is installed; alternates allocators run by run; repeats; reports medians of
wall time, user+system CPU time and peak RSS with ratios to the best allocator
and geometric means.

Sub-commands:
  demo      short run of the whole suite, table on the terminal (make demo)
  run       the suite: bench/out/results.csv and tables; then the heap at the
            peak under the allocators with mallctl (peak.so): bench/out/peak.csv
  ipc       instructions per malloc+free pair (valgrind --tool=callgrind)
  scaling   thread scaling of larson and prodcons: bench/out/scaling.csv
  report    chart(s) and bench/RESULTS.md from the CSVs already in bench/out
  all       run + ipc + scaling + report (make bench)
  list      list benchmarks and allocators found

--variant NAME=CONF adds Mosaic run with MOSAIC_CONF=CONF as one more column,
so an option can be compared side by side with the default in one run.

Every number in the outputs comes from a measurement of this run; nothing is
hard-coded.  Each program checks its objects and prints a checksum, and the
runner verifies that the checksum is the same under every allocator and that
the preloaded library really provides malloc (dladdr), so a broken preload or
a corrupting allocator shows up as a failed run, not as a fast one.
"""

import argparse
import csv
import datetime
import fnmatch
import json
import math
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# --------------------------------------------------------------------------
# Allocators

PEERS = ["jemalloc", "mimalloc", "tcmalloc"]
ALLOC_ORDER = ["mosaic", "system"] + PEERS

# name -> (Debian package, file names to look for)
PEER_LIBS = {
    "jemalloc": ("libjemalloc2", ["libjemalloc.so.2"]),
    "mimalloc": ("libmimalloc2.0", ["libmimalloc.so.2", "libmimalloc.so.2.*"]),
    "tcmalloc": ("libtcmalloc-minimal4", ["libtcmalloc_minimal.so.4",
                                          "libtcmalloc_minimal.so.4.*"]),
}


# Directories searched before the system's (--peer-dir), e.g. a folder of
# peer libraries copied from a Debian machine onto one without them.
PEER_DIRS = []


def lib_dirs():
    dirs = [d for d in PEER_DIRS if os.path.isdir(d)]
    multiarch = None
    try:
        multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                                   text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    if not multiarch:
        multiarch = "%s-linux-gnu" % platform.machine()
    for d in ["/usr/lib/" + multiarch, "/lib/" + multiarch, "/usr/lib64", "/usr/lib",
              "/usr/local/lib"]:
        if os.path.isdir(d) and d not in dirs:
            dirs.append(d)
    return dirs


def find_peer(name):
    _, patterns = PEER_LIBS[name]
    for d in lib_dirs():
        for pat in patterns:
            if any(c in pat for c in "*?["):
                try:
                    hits = sorted(f for f in os.listdir(d) if fnmatch.fnmatch(f, pat))
                except OSError:
                    hits = []
                if hits:
                    return os.path.join(d, hits[0])
            elif os.path.exists(os.path.join(d, pat)):
                return os.path.join(d, pat)
    return None


def pkg_version(pkg):
    # A --peer-dir may carry a file PACKAGES, lines of "package version",
    # written where the libraries were copied from (dpkg-query -W).
    for d in PEER_DIRS:
        try:
            with open(os.path.join(d, "PACKAGES")) as f:
                for line in f:
                    w = line.split()
                    if len(w) == 2 and w[0] == pkg:
                        return w[1]
        except OSError:
            pass
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def install_peers(missing, log):
    """As root with apt-get, installs the Debian packages of missing peers."""
    pkgs = [PEER_LIBS[m][0] for m in missing]
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log("missing allocators: %s (as root this runner would install: apt-get install %s);"
            " comparing what is installed" % (", ".join(missing), " ".join(pkgs)))
        return
    log("installing %s with apt-get ..." % " ".join(pkgs))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + pkgs,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        last = r.stderr.strip().splitlines()[-1:] if r.stderr else []
        log("apt-get install failed (%s); comparing what is installed" %
            (last[0] if last else "no message"))


class Alloc:
    def __init__(self, name, lib, version, conf=None):
        self.name = name
        self.lib = lib          # path for LD_PRELOAD, or None for the system one
        self.version = version
        self.conf = conf        # MOSAIC_CONF for a --variant of Mosaic, else None

    def env(self):
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        if self.lib:
            env["LD_PRELOAD"] = self.lib
        if self.conf is not None:
            env["MOSAIC_CONF"] = self.conf
        return env

    def lib_matches(self, provider):
        """Whether the shared object that provides malloc is the right one."""
        if self.lib is None:
            return os.path.basename(provider).startswith("libc.so")
        try:
            return os.path.realpath(provider) == os.path.realpath(self.lib)
        except OSError:
            return False


def git_describe():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src",
                                "include"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return rev + ("+uncommitted changes in src/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def discover(args, log):
    """Returns ({name: Alloc} usable, {name: reason} unusable)."""
    wanted = args.alloc
    found, skipped = {}, {}
    missing = [p for p in PEERS if p in wanted and not find_peer(p)]
    if missing and not args.no_install:
        install_peers(missing, log)
    elif missing:
        log("missing allocators: %s (--no-install given)" % ", ".join(missing))
    for name in ALLOC_ORDER:
        if name not in wanted:
            continue
        if name == "system":
            libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else ""
            found[name] = Alloc(name, None, libc or "libc")
        elif name == "mosaic":
            lib = os.path.join(args.build_abs, "libmosaic.so")
            if os.path.exists(lib):
                found[name] = Alloc(name, lib, "git " + git_describe())
            else:
                skipped[name] = "%s not found (make lib)" % lib
        else:
            lib = find_peer(name)
            if lib:
                version = pkg_version(PEER_LIBS[name][0])
                if not version:
                    version = "%s (not from a package here)" % os.path.basename(
                        os.path.realpath(lib))
                found[name] = Alloc(name, lib, version)
            else:
                skipped[name] = "not installed (Debian package %s)" % PEER_LIBS[name][0]
    # --variant NAME=CONF: Mosaic's library again, run with MOSAIC_CONF=CONF.
    for name, conf in args.variants:
        lib = os.path.join(args.build_abs, "libmosaic.so")
        if os.path.exists(lib):
            found[name] = Alloc(name, lib, "git " + git_describe(), conf)
        else:
            skipped[name] = "%s not found (make lib)" % lib
    # Probe: the preload must load, run, and really provide malloc.
    probe = os.path.join(args.bin, "pairs")
    for name in list(found):
        a = found[name]
        r = run_once([probe, "-s", "64", "-n", "20000"], a.lib, 60, a.conf)
        if r["status"] != "ok":
            skipped[name] = "probe run failed: %s %s" % (r["status"], r["stderr_tail"])
            del found[name]
        elif not a.lib_matches(r["kv"].get("malloc_lib", "")):
            skipped[name] = ("LD_PRELOAD=%s does not provide malloc (malloc comes from %s)"
                             % (a.lib, r["kv"].get("malloc_lib", "?")))
            del found[name]
    return found, skipped


# --------------------------------------------------------------------------
# Benchmarks.  Arguments are functions of (scale, threads); scale multiplies
# the amount of work (iterations), never the working-set size.

def n(x, scale, lo=1):
    return str(max(lo, int(round(x * scale))))


BENCHES = [
    ("collatz", "collatz", lambda s, t: ["-t", t, "-n", n(300000, s, 1000)],
     "T threads build Collatz sequences as linked lists of 16 B nodes, walk, free"),
    ("linkedlist", "linkedlist", lambda s, t: ["-t", "1", "-n", "500000", "-i", n(6, s)],
     "1 thread: build 500k-node list, walk, drop 1/3, insert 64 B nodes, walk, destroy"),
    ("vector", "vector", lambda s, t: ["-t", "1", "-v", "10000", "-m", "20000", "-i", n(5, s)],
     "1 thread: 10k vectors of int64 grown by realloc doubling up to 20k elements"),
    ("larson", "larson", lambda s, t: ["-t", t, "-n", "5000", "-g", "4",
                                       "-o", n(1000000, s, 1000)],
     "T threads replace random slots (8-1000 B), 4 thread generations, 1/16 exchanged"),
    ("prodcons", "prodcons", lambda s, t: ["-t", t, "-n", n(10000000, s, 10000)],
     "T/2 producer/consumer pairs: malloc 16-256 B, freed by the other thread (SPSC rings)"),
    ("churn-1t", "churn", lambda s, t: ["-t", "1", "-l", "20000", "-n", n(5000000, s, 1000)],
     "1 thread: 8 B-1 KiB realistic size mix, 20k live, realloc/calloc/temporaries"),
    ("churn-Nt", "churn", lambda s, t: ["-t", t, "-l", "20000", "-n", n(3000000, s, 1000)],
     "same as churn-1t in T independent threads"),
    ("large", "large", lambda s, t: ["-t", "1", "-n", n(400, s, 4), "-k", "4"],
     "1 thread: 64 KiB-16 MiB blocks touched, grown 2x by realloc (<= 32 MiB), 4 kept"),
    ("falseshare", "falseshare", lambda s, t: ["-t", t, "-o", "8", "-r", n(1000, s),
                                               "-w", "20000"],
     "cache-scratch: objects allocated by main, freed and re-allocated by T writers"),
    ("frag", "frag", lambda s, t: ["-t", "1", "-n", "1000000", "-f", "90"],
     "1M objects 16-128 B, free 90%, refill with 129-512, 513-2048, 16-128 B"),
]
BENCH_NAMES = [b[0] for b in BENCHES]

SCALING = [
    # Total work and (for larson) total working set fixed, split over the
    # threads, so the throughput differences are about concurrency alone.
    ("larson", "larson",
     lambda s, t: ["-t", str(t), "-n", str(max(100, 10000 // t)), "-g", "4",
                   "-o", n(2000000.0 / t, s, 100)]),
    ("prodcons", "prodcons", lambda s, t: ["-t", str(t), "-n", n(10000000, s, 10000)]),
]

IPC_SIZES = [16, 64, 256, 1024]
IPC_MODES = ["pair", "batch"]


# --------------------------------------------------------------------------
# Running one program

SPAWN = None  # path of build/bench/spawn, set in main()
NCPU = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def own_cpu_seconds():
    """CPU seconds of this runner and all its waited-for children."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def cpu_busy_seconds():
    """System-wide non-idle CPU seconds so far (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...
        return (sum(v[:8]) - v[3] - v[4]) / float(CLK_TCK)
    except (OSError, ValueError, IndexError):
        return None


def run_once(argv, preload, timeout, conf=None, extra_env=None):
    """Runs argv (with LD_PRELOAD=preload if given, and MOSAIC_CONF=conf if
    given) under bench/spawn, which measures wall, user and system time and
    peak RSS; parses the RESULT line."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    fd, statpath = tempfile.mkstemp(prefix="mosaic-bench-")
    os.close(fd)
    res = {"wall": float("nan"), "user": float("nan"), "sys": float("nan"),
           "maxrss_kb": 0, "status": "ok", "kv": {}, "stderr_tail": "", "stdout": ""}
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if conf is not None:
        env["MOSAIC_CONF"] = conf
    env.update(extra_env or {})
    cmd = [SPAWN, "-t", str(int(math.ceil(timeout))), "-o", statpath]
    if preload:
        cmd += ["-p", preload]
    cmd += ["--"] + argv
    busy0 = cpu_busy_seconds()
    mine0 = own_cpu_seconds()
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                           timeout=timeout + 30)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = -1
    except OSError as e:
        res["status"] = "cannot-run"
        res["stderr_tail"] = str(e)
        os.unlink(statpath)
        return res
    t1 = time.perf_counter()
    busy1 = cpu_busy_seconds()
    mine1 = own_cpu_seconds()
    st = {}
    try:
        with open(statpath) as f:
            for tok in f.read().split():
                k, _, v = tok.partition("=")
                st[k] = v
    finally:
        os.unlink(statpath)
    out.seek(0)
    err.seek(0)
    stdout = out.read().decode("utf-8", "replace")
    stderr = err.read().decode("utf-8", "replace")
    out.close()
    err.close()
    res["stdout"] = stdout
    res["stderr_tail"] = " | ".join(stderr.strip().splitlines()[-3:])[-300:]
    if rc != 0 or "status" not in st:
        res["status"] = "spawn-failed"
        return res
    res["wall"] = float(st["wall"])
    res["user"] = float(st["user"])
    res["sys"] = float(st["sys"])
    res["maxrss_kb"] = int(st["maxrss_kb"])
    if busy0 is not None and busy1 is not None and t1 > t0:
        # CPU time other processes used while this one ran, as a fraction of
        # the machine: tells a quiet run from a disturbed one.
        other = (busy1 - busy0) - (mine1 - mine0)
        res["bg_load"] = min(1.0, max(0.0, other / ((t1 - t0) * NCPU)))
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            for tok in line.split()[1:]:
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    res["kv"][k] = v
    status = st["status"]
    if status == "timeout":
        res["status"] = "timeout"
    elif status.startswith("signal:"):
        res["status"] = "signal-" + status.split(":")[1]
    elif status != "exit:0":
        res["status"] = "exit-" + status.split(":")[1]
    elif "secs" not in res["kv"]:
        res["status"] = "no-result"
    elif res["kv"].get("errors", "0") != "0":
        res["status"] = "corrupt"
    return res


# --------------------------------------------------------------------------
# Progress

class Progress:
    def __init__(self, total, label):
        self.total = total
        self.done = 0
        self.label = label
        self.t0 = time.time()
        self.tty = sys.stderr.isatty()

    def step(self, text):
        self.done += 1
        el = time.time() - self.t0
        eta = el / self.done * (self.total - self.done)
        line = "[%s %*d/%d %3.0f%% eta %s] %s" % (
            self.label, len(str(self.total)), self.done, self.total,
            100.0 * self.done / self.total, fmt_dur(eta), text)
        if self.tty:
            cols = shutil.get_terminal_size((100, 20)).columns
            sys.stderr.write("\r\033[K" + line[:cols - 1])
            if self.done == self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def note(self, text):
        if self.tty:
            sys.stderr.write("\r\033[K")
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def fmt_dur(s):
    s = int(s + 0.5)
    return "%d:%02d" % (s // 60, s % 60)


def log(msg):
    sys.stderr.write("bench: " + msg + "\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------
# The suite

RESULT_FIELDS = ["bench", "alloc", "rep", "threads", "status", "wall_s", "user_s",
                 "sys_s", "cpu_s", "maxrss_kb", "secs", "metric", "unit", "check",
                 "malloc_lib", "bg_load", "extra", "argv"]


def run_suite(args, allocs, benches, reps, scale, csv_path):
    """Runs benches x allocs x reps, alternating allocators run by run."""
    threads = str(args.threads)
    rows = []
    total = len(benches) * len(allocs) * reps
    prog = Progress(total, "suite")
    names = list(allocs)
    failed_hard = set()
    with partial_csv(csv_path, RESULT_FIELDS, rows):
        for rep in range(reps):
            for b in benches:
                name, exe, argf, _ = b
                argv = [os.path.join(args.bin, exe)] + argf(scale, threads)
                # Rotate the order every repetition so no allocator always runs
                # first (cold caches, CPU frequency) or last.
                k = (rep + BENCH_NAMES.index(name)) % len(names)
                order = names[k:] + names[:k]
                for an in order:
                    a = allocs[an]
                    if (name, an) in failed_hard:
                        prog.step("%-11s %-9s skipped (timed out before)" % (name, an))
                        continue
                    r = run_once(argv, a.lib, args.timeout, a.conf)
                    kv = r["kv"]
                    if r["status"] == "ok" and not a.lib_matches(kv.get("malloc_lib", "")):
                        r["status"] = "wrong-lib"
                    if r["status"] == "timeout":
                        failed_hard.add((name, an))
                    row = {
                        "bench": name, "alloc": an, "rep": rep + 1,
                        "threads": kv.get("threads", threads if name not in
                                          ("linkedlist", "vector", "churn-1t", "large", "frag")
                                          else "1"),
                        "status": r["status"], "wall_s": "%.6f" % r["wall"],
                        "user_s": "%.6f" % r["user"], "sys_s": "%.6f" % r["sys"],
                        "cpu_s": "%.6f" % (r["user"] + r["sys"]),
                        "maxrss_kb": r["maxrss_kb"], "secs": kv.get("secs", ""),
                        "metric": kv.get("metric", ""), "unit": kv.get("unit", ""),
                        "check": kv.get("check", ""), "malloc_lib": kv.get("malloc_lib", ""),
                        "bg_load": "%.3f" % r["bg_load"] if "bg_load" in r else "",
                        "extra": json.dumps({k: v for k, v in kv.items() if k not in (
                            "bench", "secs", "metric", "unit", "check", "malloc_lib",
                            "errors")}, sort_keys=True),
                        "argv": " ".join(shlex.quote(x) for x in
                                         ["bench/" + os.path.basename(argv[0])] + argv[1:]),
                    }
                    rows.append(row)
                    if r["status"] == "ok":
                        prog.step("%-11s %-9s rep %d/%d  %7.3f s  %7.1f MiB" % (
                            name, an, rep + 1, reps, r["wall"], r["maxrss_kb"] / 1024.0))
                    else:
                        prog.step("%-11s %-9s rep %d/%d  FAILED: %s" % (
                            name, an, rep + 1, reps, r["status"]))
                        prog.note("  %s under %s: %s; %s" % (name, an, r["status"],
                                                            r["stderr_tail"]))

    write_csv(csv_path, RESULT_FIELDS, rows)
    return rows


class partial_csv:
    """On an interrupt (Ctrl-C, or SIGTERM from `timeout`), writes the rows
    measured so far to path before the interrupt goes on, so that a run cut
    short keeps its data."""

    def __init__(self, path, fields, rows):
        self.path, self.fields, self.rows = path, fields, rows

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None and issubclass(kind, (KeyboardInterrupt, SystemExit)):
            write_csv(self.path, self.fields, self.rows)
            log("interrupted: the %d runs measured so far are in %s" % (
                len(self.rows), self.path))
        return False


def write_csv(path, fields, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(r)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------
# Memory at the peak: one more run of each benchmark under the allocators with
# mallctl (Mosaic, its variants, jemalloc) with build/bench/peak.so preloaded
# after them, which reports the allocator's statistics when the resident set
# came within 1 % of its peak (bench/peak.c).

PEAK_FIELDS = ["bench", "alloc", "status", "peak_mib", "snap_mib", "snap_s", "allocated_mib",
               "active_mib", "metadata_mib", "resident_mib", "mapped_mib", "retained_mib",
               "dirty_mib", "slabs_mib", "blocks_mib", "parked_mib"]
PEAK_ALLOCS = ("mosaic", "jemalloc")  # and every --variant


def parse_peak(text):
    """The numbers of a peak.so report, {} where it has no statistics;
    parked_mib is "" where the allocator has no transfer stacks (jemalloc)."""
    m = re.search(r"peak: resident ([\d.]+) MiB at", text)
    s = re.search(r"peak: snapshot at ([\d.]+) MiB resident, ([\d.]+) s", text)
    st = re.search(r"peak: allocated ([\d.]+), active ([\d.]+), metadata ([\d.]+), "
                   r"resident ([\d.]+), mapped ([\d.]+), retained ([\d.]+), dirty ([\d.]+) MiB",
                   text)
    t = re.search(r"small classes: ([\d.]+) MiB of slabs, ([\d.]+) MiB of blocks[^,\n]*"
                  r"(?:, ([\d.]+) MiB parked)?", text)
    if not (m and s and st and t):
        return {}
    keys = ["allocated_mib", "active_mib", "metadata_mib", "resident_mib", "mapped_mib",
            "retained_mib", "dirty_mib"]
    out = {"peak_mib": m.group(1), "snap_mib": s.group(1), "snap_s": s.group(2),
           "slabs_mib": t.group(1), "blocks_mib": t.group(2), "parked_mib": t.group(3) or ""}
    out.update(zip(keys, st.groups()))
    return out


def run_peak(args, allocs, benches, csv_path):
    peak_so = os.path.join(args.bin, "peak.so")
    names = [a for a in allocs if a in PEAK_ALLOCS or allocs[a].conf is not None]
    if not os.path.exists(peak_so) or not names:
        return []
    rows = []
    prog = Progress(len(benches) * len(names), "peak")
    fd, out = tempfile.mkstemp(prefix="mosaic-peak-")
    os.close(fd)
    try:
        with partial_csv(csv_path, PEAK_FIELDS, rows):
            for name, exe, argf, _ in benches:
                argv = [os.path.join(args.bin, exe)] + argf(args.scale, str(args.threads))
                for an in names:
                    a = allocs[an]
                    open(out, "w").close()
                    r = run_once(argv, a.lib + " " + peak_so, args.timeout, a.conf,
                                 {"PEAK_OUT": out})
                    with open(out) as f:
                        got = parse_peak(f.read()) if r["status"] == "ok" else {}
                    row = {"bench": name, "alloc": an,
                           "status": r["status"] if r["status"] != "ok" or got else "no-report"}
                    row.update(got)
                    rows.append(row)
                    prog.step("%-11s %-9s %s" % (name, an, "%s MiB at the peak, %s allocated" % (
                        got["peak_mib"], got["allocated_mib"]) if got else row["status"]))
    finally:
        os.unlink(out)
    write_csv(csv_path, PEAK_FIELDS, rows)
    return rows


def peak_table(rows, md=False):
    """The peak reports as a table; the parked column only where some
    allocator reported it (older peak.csv files have no such column)."""
    keys = ["peak_mib", "allocated_mib", "active_mib", "dirty_mib", "metadata_mib",
            "slabs_mib", "blocks_mib"]
    head = ["benchmark", "allocator", "peak RSS", "allocated", "active", "dirty", "metadata",
            "small-class slabs", "blocks out of them"]
    if any(r.get("parked_mib") for r in rows):
        keys.append("parked_mib")
        head.append("parked")
    body = []
    for r in rows:
        if r.get("status") != "ok":
            body.append([r["bench"], r["alloc"], r.get("status", "")] + [""] * (len(keys) - 1))
            continue
        body.append([r["bench"], r["alloc"]] + ["%s MiB" % r[k] if r.get(k) else "-"
                                                for k in keys])
    if md:
        return md_table(head, body)
    w = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).rjust(n) if i > 1 else str(x).ljust(n)
                       for i, (x, n) in enumerate(zip(r, w))) for r in [head] + body]
    return "\n".join(lines)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def mann_whitney_p(xs, ys):
    """Two-sided p-value of the Mann-Whitney U test that xs and ys come from the
    same distribution (normal approximation with tie and continuity
    corrections); None with fewer than 5 values on a side (with 3, no
    outcome reaches p < 0.05)."""
    n1, n2 = len(xs), len(ys)
    if n1 < 5 or n2 < 5:
        return None
    both = sorted([(v, 0) for v in xs] + [(v, 1) for v in ys])
    n = n1 + n2
    r1 = ties = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and both[j + 1][0] == both[i][0]:
            j += 1
        t = j - i + 1
        ties += t ** 3 - t
        rank = (i + j) / 2.0 + 1  # tied values share their mean rank
        r1 += rank * sum(1 for k in range(i, j + 1) if both[k][1] == 0)
        i = j + 1
    u1 = r1 - n1 * (n1 + 1) / 2.0
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = max(abs(u1 - n1 * n2 / 2.0) - 0.5, 0.0) / math.sqrt(var)
    return min(1.0, math.erfc(z / math.sqrt(2)))


def geomean(xs):
    xs = [x for x in xs if x > 0 and not math.isnan(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def inflight_table(benches, allocs, stats):
    """Markdown: per benchmark that reported it, each allocator's median objects
    in flight per ring and its median peak RSS."""
    body = []
    for b in benches:
        for a in allocs:
            st = stats.get((b, a))
            if st and st.get("inflight", -1) >= 0:  # (-1: one thread, no ring)
                body.append([b, a, st["threads"], "%.0f" % st["inflight"], "%.1f MiB" % st["rss"]])
    return md_table(["benchmark", "allocator", "threads", "objects in flight per ring (median)",
                     "peak RSS (median)"], body)


def summarize(rows):
    """-> benches, allocs, {(bench, alloc): stats}, problems."""
    benches, allocs = [], []
    groups = {}
    for r in rows:
        if r["bench"] not in benches:
            benches.append(r["bench"])
        if r["alloc"] not in allocs:
            allocs.append(r["alloc"])
        groups.setdefault((r["bench"], r["alloc"]), []).append(r)
    allocs.sort(key=lambda a: ALLOC_ORDER.index(a) if a in ALLOC_ORDER else 99)
    stats = {}
    problems = []
    for (b, a), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        bad = [r["status"] for r in rs if r["status"] != "ok"]
        # One failed run (a crash, a timeout, malloc from the wrong library)
        # fails the benchmark for that allocator: a median of the runs that
        # happened to finish would hide it (and after a timeout the later
        # repetitions are skipped, so few would remain).
        if bad:
            problems.append("%s under %s: %d of %d runs failed (%s)" % (
                b, a, len(bad), len(rs), ", ".join(sorted(set(bad)))))
        if bad or not ok:
            stats[(b, a)] = None
            continue
        metric = [float(r["metric"]) for r in ok if r["metric"]]
        extra = [json.loads(r["extra"]) for r in ok]
        st = {
            "n": len(ok),
            "wall": median([float(r["wall_s"]) for r in ok]),
            "cpu": median([float(r["cpu_s"]) for r in ok]),
            "rss": median([float(r["maxrss_kb"]) for r in ok]) / 1024.0,
            "metric": median(metric),
            "unit": ok[0]["unit"],
            "checks": sorted(set(r["check"] for r in ok)),
            "threads": ok[0]["threads"],
            "argv": ok[0]["argv"],
            "walls": [float(r["wall_s"]) for r in ok],
        }
        for key in ("peak_ratio", "final_ratio", "live_peak", "rss_final", "live_final",
                    "shared_first", "shared_last", "inflight"):
            vals = [float(e[key]) for e in extra if key in e]
            if vals:
                st[key] = median(vals)
        stats[(b, a)] = st
    # The checksum must not depend on the allocator: the one most allocators
    # agree on (ties: the system allocator's) is right; an allocator with
    # another, or with several over its runs, failed that benchmark (its
    # numbers leave the tables and the bar sees "failed").
    for b in benches:
        checks = {}
        for a in allocs:
            st = stats.get((b, a))
            if st:
                for c in st["checks"]:
                    checks.setdefault(c, []).append(a)
        if len(checks) > 1:
            sys_check = stats[(b, "system")]["checks"] if stats.get((b, "system")) else []
            good = max(checks, key=lambda c: (len(checks[c]), c in sys_check))
            bad = sorted(a for a in allocs if stats.get((b, a)) and stats[(b, a)]["checks"] != [good])
            for a in bad:
                stats[(b, a)] = None
            problems.append("%s: checksums differ between allocators: %s; treated as failed: %s" % (
                b, "; ".join("%s: %s" % (c, ",".join(v)) for c, v in checks.items()),
                ", ".join(bad)))
    return benches, allocs, stats, problems


def ratio_table(benches, allocs, stats, key):
    """{bench: {alloc: (value, ratio)}} and {alloc: geomean ratio}."""
    table = {}
    for b in benches:
        vals = {a: stats[(b, a)][key] for a in allocs if stats.get((b, a))}
        best = min(vals.values()) if vals else float("nan")
        table[b] = {a: (v, v / best if best > 0 else float("nan")) for a, v in vals.items()}
    gm = {}
    for a in allocs:
        rs = [table[b][a][1] for b in benches if a in table[b]]
        gm[a] = (geomean(rs), len(rs))
    return table, gm


def fmt_val(v, key):
    if key == "rss":
        return "%.1f" % v if v < 100 else "%.0f" % v
    return "%.3f" % v if v < 10 else "%.2f" % v if v < 100 else "%.1f" % v


def text_table(benches, allocs, stats, key, title):
    table, gm = ratio_table(benches, allocs, stats, key)
    head = ["benchmark"] + allocs
    lines = []
    rows = []
    for b in benches:
        cells = [b]
        for a in allocs:
            if a in table[b]:
                v, r = table[b][a]
                cells.append("%s %s%.2fx" % (fmt_val(v, key), "*" if r == 1.0 else " ", r))
            else:
                cells.append("FAIL")
        rows.append(cells)
    rows.append(["geomean ratio"] + [
        ("%.2fx" % gm[a][0]) + ("" if gm[a][1] == len(benches) else " (%d/%d)" % (
            gm[a][1], len(benches))) for a in allocs])
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    lines.append(title)
    lines.append("  ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i])
                           for i, h in enumerate(head)))
    lines.append("  ".join("-" * w for w in widths))
    for k, r in enumerate(rows):
        if k == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                               for i, c in enumerate(r)))
    return "\n".join(lines)


def print_summary(rows, reps):
    benches, allocs, stats, problems = summarize(rows)
    print()
    print(text_table(benches, allocs, stats, "wall",
                     "Wall time, seconds (median of %d); x = ratio to the fastest, * = fastest"
                     % reps))
    print()
    print(text_table(benches, allocs, stats, "cpu",
                     "CPU time (user+sys), seconds (median of %d)" % reps))
    print()
    print(text_table(benches, allocs, stats, "rss",
                     "Peak RSS, MiB (median of %d); x = ratio to the smallest" % reps))
    if problems:
        print()
        print("PROBLEMS:")
        for p in problems:
            print("  " + p)
    return benches, allocs, stats, problems


# --------------------------------------------------------------------------
# Instructions per malloc+free pair (callgrind)

def callgrind_total(argv, env, alloc):
    """-> (instructions, pairs the program did). Checks, as timed runs do, that
    the program ran and got malloc from the allocator under test."""
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
                       + argv, env=env, capture_output=True, text=True, timeout=600)
    res = {}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            res = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    if r.returncode != 0 or "pairs" not in res:
        raise RuntimeError("the program failed under callgrind (rc %d): %s" % (
            r.returncode, " | ".join(r.stderr.strip().splitlines()[-3:])))
    if not alloc.lib_matches(res.get("malloc_lib", "")):
        raise RuntimeError("malloc came from %s, not %s" % (res.get("malloc_lib"), alloc.name))
    for line in r.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split("Collected :")[1].strip()), int(res["pairs"])
    raise RuntimeError("callgrind gave no total (rc %d): %s" % (
        r.returncode, " | ".join(r.stderr.strip().splitlines()[-3:])))


def run_ipc(args, allocs, csv_path):
    if not shutil.which("valgrind"):
        log("valgrind not found (Debian package valgrind): skipping instruction counts")
        return []
    exe = os.path.join(args.bin, "pairs")
    N = args.ipc_pairs
    jobs = []
    for mode in IPC_MODES:
        jobs.append(("loop", mode, 64, None))  # loop overhead, with stub functions
        for a in allocs:
            for size in IPC_SIZES:
                jobs.append((a, mode, size, allocs[a]))
    prog = Progress(len(jobs), "ipc")
    lock = threading.Lock()

    def one(job):
        name, mode, size, alloc = job
        a = alloc or Alloc("system", None, "")
        env = a.env()
        m = mode if alloc else ("stub" if mode == "pair" else "stubbatch")
        base = [exe, "-s", str(size), "-m", m]
        try:
            i1, n1 = callgrind_total(base + ["-n", str(N)], env, a)
            i2, n2 = callgrind_total(base + ["-n", str(2 * N)], env, a)
            per = (i2 - i1) / float(n2 - n1)  # (batch mode rounds n up to whole batches)
            status = "ok"
        except (RuntimeError, subprocess.SubprocessError) as e:
            i1 = i2 = 0
            per = float("nan")
            status = "failed: %s" % e
        with lock:
            prog.step("%-9s %-5s %5d B  %s" % (name, mode, size,
                                               "%.1f instr/iteration" % per
                                               if status == "ok" else status))
        return {"alloc": name, "mode": mode, "size": size, "pairs": N, "ir_n": i1,
                "ir_2n": i2, "per_iteration": "%.2f" % per, "status": status}

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        rows = list(ex.map(one, jobs))
    loop = {r["mode"]: float(r["per_iteration"]) for r in rows if r["alloc"] == "loop"}
    for r in rows:
        if r["alloc"] != "loop":
            r["loop_overhead"] = "%.2f" % loop.get(r["mode"], float("nan"))
            r["per_pair"] = "%.2f" % (float(r["per_iteration"]) - loop.get(r["mode"],
                                                                            float("nan")))
        else:
            r["loop_overhead"] = r["per_iteration"]
            r["per_pair"] = ""
    write_csv(csv_path, ["alloc", "mode", "size", "pairs", "ir_n", "ir_2n",
                         "per_iteration", "loop_overhead", "per_pair", "status"], rows)
    return rows


def ipc_tables(rows, md=False):
    allocs = []
    for r in rows:
        if r["alloc"] != "loop" and r["alloc"] not in allocs:
            allocs.append(r["alloc"])
    allocs.sort(key=lambda a: ALLOC_ORDER.index(a) if a in ALLOC_ORDER else 99)
    out = []
    for mode in IPC_MODES:
        vals = {(r["alloc"], int(r["size"])): r for r in rows if r["mode"] == mode}
        loop = [r for r in rows if r["mode"] == mode and r["alloc"] == "loop"]
        title = {"pair": "malloc(n) then free, repeated (thread-cache hit)",
                 "batch": "64 x malloc(n), then the 64 freed in order, repeated"}[mode]
        head = ["allocator"] + ["%d B" % s for s in IPC_SIZES]
        body = []
        for a in allocs:
            cells = [a]
            for s in IPC_SIZES:
                r = vals.get((a, s))
                if r and r["status"] == "ok":
                    cells.append("%.1f" % float(r["per_pair"]))
                else:
                    cells.append("FAIL")
            body.append(cells)
        note = ("loop overhead subtracted: %s instructions per iteration (same loop calling "
                "empty functions)" % (loop[0]["per_iteration"] if loop else "?"))
        out.append((mode, title, head, body, note))
    if md:
        s = []
        for mode, title, head, body, note in out:
            s.append("**%s** — %s; %s.\n" % (mode, title, note))
            s.append(md_table(head, body))
            s.append("")
        return "\n".join(s)
    s = []
    for mode, title, head, body, note in out:
        s.append("Instructions per malloc+free pair, %s: %s" % (mode, title))
        s.append(plain_table(head, body))
        s.append("(" + note + ")")
        s.append("")
    return "\n".join(s)


def plain_table(head, body):
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    lines = ["  ".join(str(h).ljust(widths[i]) if i == 0 else str(h).rjust(widths[i])
                       for i, h in enumerate(head)),
             "  ".join("-" * w for w in widths)]
    for r in body:
        lines.append("  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                               for i, c in enumerate(r)))
    return "\n".join(lines)


def md_table(head, body, right=True):
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:" if right else "---"] * (len(head) - 1)) + "|"]
    for r in body:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Thread scaling

SCALING_FIELDS = ["bench", "alloc", "threads", "rep", "status", "wall_s", "cpu_s",
                  "maxrss_kb", "metric", "unit", "bg_load", "argv"]


def run_scaling(args, allocs, csv_path):
    tlist = args.scaling_threads
    reps = args.scaling_reps
    names = list(allocs)
    total = len(SCALING) * len(tlist) * len(names) * reps
    prog = Progress(total, "scaling")
    rows = []
    with partial_csv(csv_path, SCALING_FIELDS, rows):
        for rep in range(reps):
            for name, exe, argf in SCALING:
                for t in tlist:
                    argv = [os.path.join(args.bin, exe)] + argf(args.scale, t)
                    k = (rep + t) % len(names)
                    for an in names[k:] + names[:k]:
                        a = allocs[an]
                        r = run_once(argv, a.lib, args.timeout, a.conf)
                        if r["status"] == "ok" and not a.lib_matches(
                                r["kv"].get("malloc_lib", "")):
                            r["status"] = "wrong-lib"
                        rows.append({
                            "bench": name, "alloc": an, "threads": t, "rep": rep + 1,
                            "status": r["status"], "wall_s": "%.6f" % r["wall"],
                            "cpu_s": "%.6f" % (r["user"] + r["sys"]),
                            "maxrss_kb": r["maxrss_kb"], "metric": r["kv"].get("metric", ""),
                            "unit": r["kv"].get("unit", ""),
                            "bg_load": "%.3f" % r["bg_load"] if "bg_load" in r else "",
                            "argv": " ".join(["bench/" + exe] + argv[1:])})
                        prog.step("%-8s %2d threads %-9s rep %d/%d  %s" % (
                            name, t, an, rep + 1, reps,
                            "%s %s" % (r["kv"].get("metric", "?"), r["kv"].get("unit", ""))
                            if r["status"] == "ok" else "FAILED: " + r["status"]))

    write_csv(csv_path, SCALING_FIELDS, rows)
    return rows


def scaling_summary(rows):
    """{bench: {alloc: {threads: median metric}}}, thread list, units."""
    data, units, tl = {}, {}, set()
    for r in rows:
        if r["status"] != "ok":
            continue
        t = int(r["threads"])
        tl.add(t)
        units[r["bench"]] = r["unit"]
        data.setdefault(r["bench"], {}).setdefault(r["alloc"], {}).setdefault(
            t, []).append(float(r["metric"]))
    med = {b: {a: {t: median(v) for t, v in d2.items()} for a, d2 in d.items()}
           for b, d in data.items()}
    return med, sorted(tl), units


def scaling_tables(rows, md=False):
    med, tl, units = scaling_summary(rows)
    out = []
    for b in [s[0] for s in SCALING]:
        if b not in med:
            continue
        allocs = sorted(med[b], key=lambda a: ALLOC_ORDER.index(a)
                        if a in ALLOC_ORDER else 99)
        head = ["allocator"] + ["%d thr" % t for t in tl]
        body = []
        for a in allocs:
            base = med[b][a].get(tl[0])
            cells = [a]
            for t in tl:
                v = med[b][a].get(t)
                if v is None:
                    cells.append("FAIL")
                else:
                    cells.append("%.2f" % v + (" (%.2fx)" % (v / base) if base and t != tl[0]
                                               else ""))
            body.append(cells)
        title = "%s throughput, %s (median; in parentheses: relative to %d thread%s)" % (
            b, units.get(b, ""), tl[0], "" if tl[0] == 1 else "s")
        if md:
            out.append("**%s**\n\n%s\n" % (title, md_table(head, body)))
        else:
            out.append(title + "\n" + plain_table(head, body) + "\n")
    return "\n".join(out)


# --------------------------------------------------------------------------
# Machine description

def machine_info():
    info = {}
    info["nproc"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count()
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu"] = cpu or platform.processor() or platform.machine()
    info["kernel"] = platform.release()
    info["glibc"] = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        info["memory"] = "%.1f GiB" % (kb / 1048576.0)
    except (OSError, ValueError, IndexError):
        info["memory"] = ""
    try:
        cc = os.environ.get("CC", "cc")
        info["compiler"] = subprocess.run([cc, "--version"], capture_output=True,
                                          text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        info["compiler"] = ""
    try:
        info["loadavg"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        info["loadavg"] = []
    try:
        info["thp"] = open("/sys/kernel/mm/transparent_hugepage/enabled").read().strip()
    except OSError:
        info["thp"] = ""
    try:
        info["valgrind"] = subprocess.run(["valgrind", "--version"], capture_output=True,
                                          text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["valgrind"] = ""
    return info


# --------------------------------------------------------------------------
# Charts (gnuplot) and RESULTS.md

_TERMINAL = None


def chart_terminal():
    """('pngcairo', 'png') when gnuplot has it (readable anywhere), else svg."""
    global _TERMINAL
    if _TERMINAL is None:
        _TERMINAL = ("svg", "svg")
        if shutil.which("gnuplot"):
            r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True,
                               text=True, timeout=60)
            if "pngcairo" in r.stdout + r.stderr:
                _TERMINAL = ("pngcairo", "png")
    return _TERMINAL


def terminal_line(width, height):
    term, _ = chart_terminal()
    if term == "pngcairo":
        return "set terminal pngcairo size %d,%d font 'sans,10' background '#ffffff'" % (
            width, height)
    return "set terminal svg size %d,%d dynamic font 'sans,11' background '#ffffff'" % (
        width, height)


def gnuplot(script, log_fn):
    if not shutil.which("gnuplot"):
        log_fn("gnuplot not found (Debian package gnuplot-nox): no chart")
        return False
    r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        log_fn("gnuplot failed: %s" % r.stderr.strip()[-500:])
        return False
    return True


def chart_suite(benches, allocs, stats, reps, path, outdir):
    """Two stacked grouped-bar panels: wall time and peak RSS, as ratio to best."""
    tw, gw = ratio_table(benches, allocs, stats, "wall")
    tr, gr = ratio_table(benches, allocs, stats, "rss")
    dat = os.path.join(outdir, "chart.dat")
    with open(dat, "w") as f:
        f.write("# bench " + " ".join(allocs) + " " + " ".join(a + "_rss" for a in allocs) + "\n")
        for b in benches + ["geomean"]:
            cells = [b]
            for t, g in ((tw, gw), (tr, gr)):
                for a in allocs:
                    if b == "geomean":
                        v = g[a][0]
                    else:
                        v = t[b][a][1] if a in t[b] else float("nan")
                    cells.append("%.4f" % v if not math.isnan(v) else "NaN")
            f.write(" ".join(cells) + "\n")
    na = len(allocs)
    colors = {"mosaic": "#d62728", "system": "#7f7f7f", "jemalloc": "#1f77b4",
              "mimalloc": "#2ca02c", "tcmalloc": "#ff7f0e"}
    plots_t = ", ".join(
        "'%s' using %d:xtic(1) title '%s' lc rgb '%s'" % (dat, i + 2, a, colors.get(a, "#000000"))
        for i, a in enumerate(allocs))
    plots_r = ", ".join(
        "'%s' using %d:xtic(1) title '%s' lc rgb '%s'" % (dat, na + i + 2, a,
                                                         colors.get(a, "#000000"))
        for i, a in enumerate(allocs))
    script = """
%(term)s
set output '%(path)s'
set multiplot layout 2,1
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set grid ytics
set key outside top center horizontal
set xtics rotate by -25 nomirror
set logscale y 2
set yrange [0.8:*]
set ylabel 'x fastest (log)'
set title 'Wall time relative to the fastest allocator per benchmark (median of %(reps)d; lower is better)'
plot %(pt)s
set title 'Peak RSS relative to the smallest (median of %(reps)d; lower is better)'
set ylabel 'x smallest (log)'
plot %(pr)s
unset multiplot
""" % {"path": path, "reps": reps, "pt": plots_t, "pr": plots_r,
       "term": terminal_line(1100, 780)}
    return gnuplot(script, log)


def chart_scaling(rows, path, outdir):
    med, tl, units = scaling_summary(rows)
    if not med:
        return False
    colors = {"mosaic": "#d62728", "system": "#7f7f7f", "jemalloc": "#1f77b4",
              "mimalloc": "#2ca02c", "tcmalloc": "#ff7f0e"}
    parts = []
    for b in [s[0] for s in SCALING]:
        if b not in med:
            continue
        allocs = sorted(med[b], key=lambda a: ALLOC_ORDER.index(a)
                        if a in ALLOC_ORDER else 99)
        plots = []
        for a in allocs:
            dat = os.path.join(outdir, "scaling_%s_%s.dat" % (b, a))
            with open(dat, "w") as f:
                for t in tl:
                    if t in med[b][a]:
                        f.write("%d %.4f\n" % (t, med[b][a][t]))
            plots.append("'%s' using 1:2 with linespoints lc rgb '%s' lw 2 pt 7 title '%s'"
                         % (dat, colors.get(a, "#000000"), a))
        parts.append("set title '%s: throughput vs threads (%s, median)'\nset ylabel '%s'\n"
                     "plot %s\n" % (b, units.get(b, ""), units.get(b, ""), ", ".join(plots)))
    script = """
%s
set output '%s'
set multiplot layout 1,%d
set logscale x 2
set xtics (%s)
set xlabel 'threads'
set xrange [0.8:%d]
set grid
set key top right
set yrange [0:*]
%s
unset multiplot
""" % (terminal_line(1100, 420), path, len(parts), ", ".join(str(t) for t in tl),
       int(max(tl) * 1.25) + 1,
       "\n".join(parts))
    return gnuplot(script, log)


def md_ratio_table(benches, allocs, stats, key, unit):
    table, gm = ratio_table(benches, allocs, stats, key)
    head = ["benchmark"] + allocs
    body = []
    for b in benches:
        cells = [b]
        for a in allocs:
            if a in table[b]:
                v, r = table[b][a]
                cell = "%s %s (%.2f×)" % (fmt_val(v, key), unit, r)
                cells.append("**%s**" % cell if r == 1.0 else cell)
            else:
                cells.append("FAIL")
        body.append(cells)
    body.append(["**geomean of ratios**"] + [
        "**%.2f×**" % gm[a][0] + ("" if gm[a][1] == len(benches) else
                                  " (%d of %d)" % (gm[a][1], len(benches))) for a in allocs])
    return md_table(head, body)


def bar_section(benches, allocs, stats, ipc_rows):
    """The bar of issue 3, evaluated from the measurements (mosaic vs peers)."""
    if "mosaic" not in allocs:
        return "Mosaic was not measured in this run, so the bar could not be checked.\n"
    peers = [a for a in PEERS if a in allocs]
    lines = []
    tw, gw = ratio_table(benches, allocs, stats, "wall")
    tr, gr = ratio_table(benches, allocs, stats, "rss")

    def verdict(ok):
        return "**met**" if ok else "**missed**"

    def pval(b, other):
        """Mann-Whitney p of mosaic's wall times against other's on b (None
        with too few runs)."""
        return mann_whitney_p(stats[(b, "mosaic")]["walls"], stats[(b, other)]["walls"])

    def signif(b, other):
        """'; ' and whether mosaic's runs differ from other's on b, or '' with
        too few runs."""
        p = pval(b, other)
        if p is None:
            return ""
        return "; runs differ, p = %.3f" % p if p < 0.05 else "; within noise, p = %.2f" % p

    # 1. faster than system everywhere
    if "system" in allocs:
        slower, ties = [], []
        for b in benches:
            if "mosaic" in tw[b] and "system" in tw[b]:
                m, s = tw[b]["mosaic"][0], tw[b]["system"][0]
                if m >= s:
                    slower.append("%s (%.2f× system%s)" % (b, m / s, signif(b, "system")))
                elif (pval(b, "system") or 0) >= 0.05:
                    # a lower median whose runs interleave with the system's
                    ties.append("%s (%.2f× system%s)" % (b, m / s, signif(b, "system")))
            elif "mosaic" not in tw[b]:
                slower.append("%s (mosaic failed)" % b)
        lines.append("- Faster than the system allocator on every benchmark: %s%s%s" % (
            verdict(not slower), "; not on: " + ", ".join(slower) if slower else "",
            "; faster only by the median on: " + ", ".join(ties) if ties else ""))
    if peers:
        # Geometric means compare Mosaic and a peer over the benchmarks both
        # finished; a benchmark Mosaic failed misses every bar.
        failed = [b for b in benches if "mosaic" not in tw[b]]
        failnote = "; mosaic failed: " + ", ".join(failed) if failed else ""

        def gm_pair(table, p):
            common = [b for b in benches if "mosaic" in table[b] and p in table[b]]
            return (geomean([table[b]["mosaic"][0] for b in common]),
                    geomean([table[b][p][0] for b in common]))

        best_peer = min(peers, key=lambda p: gm_pair(tw, p)[1] / gm_pair(tw, p)[0]
                        if gm_pair(tw, p)[0] > 0 else float("inf"))
        gm_m, gm_p = gm_pair(tw, best_peer)
        lines.append("- Geometric mean of wall time at or below the fastest peer's (%s): "
                     "%s (mosaic %.3f s vs %.3f s, %.3f×%s)" % (
                         best_peer, verdict(gm_m <= gm_p and not failed), gm_m, gm_p,
                         gm_m / gm_p, failnote))
        over = []
        for b in benches:
            pv = [(tw[b][p][0], p) for p in peers if p in tw[b]]
            if "mosaic" not in tw[b]:
                over.append("%s (mosaic failed)" % b)
            elif pv:
                best, bp = min(pv)
                r = tw[b]["mosaic"][0] / best
                if r > 1.10:
                    over.append("%s (%.2f× %s%s)" % (b, r, bp, signif(b, bp)))
        lines.append("- No benchmark more than 10%% slower than the fastest peer on it: %s%s"
                     % (verdict(not over), "; over: " + ", ".join(over) if over else ""))
        if "jemalloc" in allocs:
            gm_mr, gm_jr = gm_pair(tr, "jemalloc")
            lines.append("- Geometric mean of peak RSS at or below jemalloc's: %s "
                         "(mosaic %.1f MiB vs %.1f MiB, %.3f×%s)" % (
                             verdict(gm_mr <= gm_jr and not failed), gm_mr, gm_jr,
                             gm_mr / gm_jr, failnote))
        over = []
        for b in benches:
            pv = [tr[b][p][0] for p in peers if p in tr[b]]
            if "mosaic" not in tr[b]:
                over.append("%s (mosaic failed)" % b)
            elif pv:
                r = tr[b]["mosaic"][0] / min(pv)
                if r > 1.3:
                    over.append("%s %.2f×" % (b, r))
        lines.append("- No benchmark's peak RSS above 1.3× the smallest peer's: %s%s" % (
            verdict(not over), "; over: " + ", ".join(over) if over else ""))
    if ipc_rows and "mimalloc" in allocs:
        worse = []
        for r in ipc_rows:
            if r["alloc"] == "mosaic" and r["status"] == "ok" and int(r["size"]) <= 1024:
                mi = [x for x in ipc_rows if x["alloc"] == "mimalloc" and
                      x["mode"] == r["mode"] and x["size"] == r["size"] and x["status"] == "ok"]
                if mi and float(r["per_pair"]) > float(mi[0]["per_pair"]):
                    worse.append("%s %s B: %s vs %s" % (r["mode"], r["size"], r["per_pair"],
                                                       mi[0]["per_pair"]))
        if any(r["alloc"] == "mosaic" for r in ipc_rows):
            lines.append("- Instructions per small malloc+free pair at or below mimalloc's: %s%s"
                         % (verdict(not worse), "; above on: " + "; ".join(worse)
                            if worse else ""))
    return "\n".join(lines) + "\n"


def bg_loads(rows):
    """Sorted background CPU load of the successful runs in rows (0..1)."""
    return sorted(float(r["bg_load"]) for r in rows if r["status"] == "ok" and r.get("bg_load"))


def write_results_md(args, meta, rows, ipc_rows, scal_rows, md_path, chart_rel, scal_rel,
                     data_rel="data", peak_rows=()):
    benches, allocs, stats, problems = summarize(rows) if rows else ([], [], {}, [])
    reps = meta.get("reps", 0)
    out_rel = os.path.relpath(args.out, ROOT)
    regen = "python3 bench/run.py report"
    if os.path.abspath(args.out) != os.path.join(HERE, "out"):
        regen += " --out " + out_rel
    if os.path.abspath(args.md) != os.path.join(HERE, "RESULTS.md"):
        regen += " --md " + os.path.relpath(args.md, ROOT)
    m = meta.get("machine", {})
    L = []
    L.append("# Mosaic benchmark results\n")
    L.append("Generated by `bench/run.py`; every number below was measured in the run "
             "described here. The raw data, one row per run, is in `%s/` next to this "
             "file (copied from `%s/`). Re-run with the command below; regenerate "
             "this file from `%s/` with `%s`.\n" % (data_rel, out_rel, out_rel, regen))
    L.append("## Machine and run\n")
    L.append("| | |\n|---|---|")
    L.append("| date | %s |" % meta.get("date", ""))
    L.append("| command | `%s` |" % meta.get("command", ""))
    if meta.get("invoked_as"):
        L.append("| invoked as | `%s` |" % meta["invoked_as"])
    L.append("| CPU | %s |" % m.get("cpu", ""))
    L.append("| nproc | %s |" % m.get("nproc", ""))
    L.append("| memory | %s |" % m.get("memory", ""))
    L.append("| kernel | %s |" % m.get("kernel", ""))
    L.append("| glibc | %s |" % m.get("glibc", ""))
    L.append("| compiler (benchmarks) | %s |" % m.get("compiler", ""))
    L.append("| transparent huge pages | %s |" % m.get("thp", ""))
    L.append("| load average (1, 5, 15 min) at start | %s |" % " ".join(m.get("loadavg", [])))
    if meta.get("loadavg_end"):
        L.append("| load average at end | %s |" % " ".join(meta["loadavg_end"]))
    L.append("| repetitions | %s per benchmark and allocator, allocators alternated run by run"
             " |" % reps)
    L.append("| threads for N-threaded benchmarks | %s |" % meta.get("threads", ""))
    L.append("| work scale | %s |" % meta.get("scale", ""))
    L.append("| duration | %s |" % meta.get("duration", ""))
    L.append("")
    L.append("Allocators:\n")
    for a, d in meta.get("allocs", {}).items():
        L.append("- **%s**: %s%s%s" % (a, d.get("lib") or "no preload (glibc malloc)",
                                       (" — " + d["version"]) if d.get("version") else "",
                                       " — run with `MOSAIC_CONF=%s` (a variant of Mosaic, "
                                       "not a peer)" % d["conf"] if d.get("conf") else ""))
    for a, why in meta.get("skipped", {}).items():
        L.append("- %s: not measured — %s" % (a, why))
    L.append("")
    if rows:
        L.append("![wall time and peak RSS relative to the best allocator](%s)\n" % chart_rel)
        L.append("## Wall time\n")
        L.append("Median wall time of the whole process (start to exit), seconds; in "
                 "parentheses the ratio to the fastest allocator on that benchmark (bold = "
                 "fastest). The last row is the geometric mean of each column's ratios.\n")
        L.append(md_ratio_table(benches, allocs, stats, "wall", "s"))
        spreads = sorted(((max(st["walls"]) - min(st["walls"])) / st["wall"], b, a)
                         for (b, a), st in stats.items() if st and st["n"] > 1)
        bg = bg_loads(rows)
        if bg:
            L.append("\nOther processes on the machine used a median %.0f%% (90th percentile "
                     "%.0f%%) of its CPU capacity while the timing runs ran (from /proc/stat, "
                     "minus the benchmark's own CPU time); above about %.0f%%, multi-threaded "
                     "runs could not have all their threads on a CPU at once." % (
                         100 * median(bg), 100 * bg[int(0.9 * (len(bg) - 1))],
                         100.0 / NCPU))
        if spreads:
            L.append("\nRun-to-run spread of wall time, (max - min) / median over the "
                     "repetitions: median %.0f%%, largest %.0f%% (%s under %s). Medians are "
                     "robust to single slow runs; ratios within the spread are not "
                     "significant.\n" % (100 * median([x[0] for x in spreads]),
                                         100 * spreads[-1][0], spreads[-1][1], spreads[-1][2]))
        L.append("\n## CPU time\n")
        L.append("Median user+system CPU time of the process, seconds (ratio to the lowest).\n")
        L.append(md_ratio_table(benches, allocs, stats, "cpu", "s"))
        L.append("\n## Peak RSS\n")
        floor = min(float(r["maxrss_kb"]) for r in rows if r["status"] == "ok") / 1024.0
        L.append("Median peak resident set size (`ru_maxrss` of the child), MiB (ratio to "
                 "the smallest). It includes the program image and its libraries (the "
                 "smallest peak of any run was %.1f MiB), and for frag the 30.5 MiB table of "
                 "object records the program allocates before its first object.\n" % floor)
        L.append(md_ratio_table(benches, allocs, stats, "rss", "MiB"))
        L.append("\n## Each benchmark's own work metric\n")
        L.append("Median of what each program reports about its measured phase (higher is "
                 "better, except frag: resident heap bytes per live byte at the end).\n")
        head = ["benchmark", "unit"] + allocs
        body = []
        for b in benches:
            unit = next((stats[(b, a)]["unit"] for a in allocs if stats.get((b, a))), "")
            body.append([b, unit] + ["%.3g" % stats[(b, a)]["metric"] if stats.get((b, a))
                                     else "FAIL" for a in allocs])
        L.append(md_table(head, body))
        if "frag" in benches:
            L.append("\n## Fragmentation detail\n")
            L.append("frag holds about the same number of live bytes throughout (%s MiB); "
                     "heap RSS is resident memory minus what the process had before the "
                     "first object.\n" % next(
                         ("%.1f" % (stats[("frag", a)]["live_peak"] / 1048576.0)
                          for a in allocs if stats.get(("frag", a)) and
                          "live_peak" in stats[("frag", a)]), "?"))
            head = ["allocator", "heap RSS peak / live peak", "heap RSS final / live final"]
            body = []
            for a in allocs:
                st = stats.get(("frag", a))
                if st and "peak_ratio" in st:
                    body.append([a, "%.2f" % st["peak_ratio"], "%.2f" % st["final_ratio"]])
            L.append(md_table(head, body))
        if "falseshare" in benches:
            L.append("\n## False-sharing detail\n")
            L.append("How many of the falseshare workers wrote an object lying on a 64-byte "
                     "cache line that another worker also wrote (median over the runs), in the "
                     "first and the last allocation round. Non-zero means the allocator gave "
                     "a worker the object it had been handed (allocated by the main thread, "
                     "next to the other workers' objects) or another block on such a line; "
                     "the time cost shows only when the workers really run in parallel.\n")
            head = ["allocator", "workers", "sharing a line, first round",
                    "sharing a line, last round"]
            body = []
            for a in allocs:
                st = stats.get(("falseshare", a))
                if st and "shared_first" in st:
                    body.append([a, st["threads"], "%g" % st["shared_first"],
                                 "%g" % st["shared_last"]])
            L.append(md_table(head, body))
    if any(st and st.get("inflight", -1) >= 0 for st in stats.values()):
        L.append("\n## Producer/consumer detail\n")
        L.append("prodcons reports the mean number of objects in a ring (allocated by the "
                 "producer, not yet freed by the consumer), sampled at each publication. A "
                 "producer faster than its consumer keeps its ring full, so the live heap, "
                 "and with it the peak RSS above, depends on which side is faster under each "
                 "allocator, not only on the allocator's overhead.\n")
        L.append(inflight_table(benches, allocs, stats))
    if peak_rows:
        L.append("\n## Memory at the peak\n")
        L.append("One more run of each benchmark under the allocators that have `mallctl`, "
                 "with `build/bench/peak.so` preloaded after them (`bench/README.md`): the "
                 "largest resident set, and the allocator's own statistics when the resident "
                 "set first came within 1 % of it. *allocated*: bytes of blocks out of the "
                 "allocator (in the program's hands or in thread caches); *active*: pages "
                 "holding slabs and large blocks; *dirty*: freed pages not yet purged; "
                 "*metadata*: the allocator's own records (mapped; not all resident); then "
                 "the small classes' slabs and the blocks out of them, the difference being "
                 "free regions; *parked* (Mosaic, where the run reported it): those of the "
                 "free regions waiting on the bins' transfer stacks. "
                 "One run each: these explain the peak RSS above rather than measure it.\n")
        L.append(peak_table(peak_rows, md=True))
    if ipc_rows:
        L.append("\n## Instructions per malloc+free pair\n")
        L.append("Counted with `valgrind --tool=callgrind` (%s) on `bench/pairs`: the whole "
                 "program's instruction count for 2N pairs minus that for N pairs (N = %s), "
                 "divided by N, so start-up and exit cancel. The loop's own instructions, "
                 "measured with the same loop calling two empty functions, are subtracted, so "
                 "what remains is what executes inside malloc and free (and the PLT jumps to "
                 "them). Deterministic: the same on a loaded machine."
                 "\n" % (m.get("valgrind", ""), ipc_rows[0]["pairs"]))
        L.append(ipc_tables(ipc_rows, md=True))
    if scal_rows:
        L.append("\n## Thread scaling\n")
        L.append("larson and prodcons with a fixed total amount of work split over 1-16 "
                 "threads, %s repetitions, median throughput. This machine has %s CPUs, so "
                 "beyond that the threads time-share the CPUs. For prodcons, 1 thread is the "
                 "same-thread baseline (one thread allocates a ring-sized batch, then frees "
                 "it); from 2 threads on, every object is freed by another thread than the one "
                 "that allocated it.\n" % (
                     meta.get("scaling_reps", ""), m.get("nproc", "")))
        bg = bg_loads(scal_rows)
        if bg:
            L.append("Other processes used a median %.0f%% of the machine's CPU capacity during "
                     "these runs. Where that is high, the numbers say more about scheduling "
                     "than about the allocators: the kernel shares CPUs between threads, so a "
                     "run with more threads also takes a larger share from the other "
                     "processes.\n" % (100 * median(bg)))
        L.append("![thread scaling](%s)\n" % scal_rel)
        L.append(scaling_tables(scal_rows, md=True))
    if rows:
        L.append("\n## The bar (issue 3), checked against these measurements\n")
        L.append("Peers are jemalloc, mimalloc and tcmalloc (the system allocator is "
                 "compared separately).\n")
        L.append(bar_section(benches, allocs, stats, ipc_rows))
        L.append("## Benchmarks\n")
        head = ["benchmark", "what it does", "command (threads as run)"]
        body = []
        for name, exe, argf, desc in BENCHES:
            if name in benches:
                argv = next((stats[(name, a)]["argv"] for a in allocs if stats.get((name, a))),
                            "")
                body.append([name, desc, "`%s`" % argv])
        L.append(md_table(head, body, right=False))
        L.append("\nEach program checks the objects it frees and prints a checksum. The runner "
                 "leaves out of the medians any run that exits non-zero, finds a corrupted "
                 "object, or where `dladdr(malloc)` shows that the preloaded allocator is not "
                 "the one serving malloc, and lists below any benchmark whose checksum differs "
                 "between allocators.\n")
        L.append("## Problems seen in this run\n")
        if problems:
            for p in problems:
                L.append("- " + p)
        else:
            L.append("None: every run exited cleanly, with intact objects and identical "
                     "checksums under every allocator.")
        L.append("")
    with open(md_path, "w") as f:
        f.write("\n".join(L) + "\n")


# --------------------------------------------------------------------------
# Main

def build(args):
    """Builds the programs (required) and the library (optional)."""
    make = ["make", "-C", ROOT, "BUILD=" + args.build]
    r = subprocess.run(make + ["bench-build"], stdout=subprocess.DEVNULL)
    if r.returncode != 0:
        sys.exit("bench: building the benchmark programs failed")
    if "mosaic" in args.alloc or args.variants:
        r = subprocess.run(make + ["lib"], stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            log("building libmosaic.so failed; measuring without Mosaic")


def parse_list(s, valid, what):
    out = []
    for x in s.split(","):
        x = x.strip()
        if not x:
            continue
        hits = [v for v in valid if fnmatch.fnmatch(v, x)]
        if not hits:
            sys.exit("bench: unknown %s '%s' (known: %s)" % (what, x, ", ".join(valid)))
        out += [h for h in hits if h not in out]
    return out


def main():
    ap = argparse.ArgumentParser(
        description="Mosaic benchmark runner",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Sub-commands:")[1])
    ap.add_argument("command", nargs="?", default="run",
                    choices=["demo", "run", "ipc", "scaling", "report", "all", "list"],
                    help="what to do (default run; see below)")
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"),
                    help="build directory (default build)")
    ap.add_argument("--reps", type=int, help="repetitions (default 5; demo 3)")
    ap.add_argument("--scale", type=float,
                    help="multiply every benchmark's work (default 1; demo 0.5)")
    ap.add_argument("--bench", default="*", help="comma list of benchmarks (globs ok)")
    ap.add_argument("--alloc", default=",".join(ALLOC_ORDER),
                    help="comma list of allocators (default all found)")
    ap.add_argument("--threads", type=int,
                    help="threads for the N-threaded benchmarks (default: CPUs, at least 2)")
    ap.add_argument("--scaling-threads", default="1,2,4,8,16",
                    help="thread counts for `scaling` (default 1,2,4,8,16)")
    ap.add_argument("--scaling-reps", type=int, default=3,
                    help="repetitions for `scaling` (default 3)")
    ap.add_argument("--ipc-pairs", type=int, default=100000,
                    help="N for the callgrind N vs 2N difference")
    ap.add_argument("--jobs", type=int, default=0,
                    help="parallel callgrind runs (default: CPUs); timing runs are never "
                    "parallel")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per run")
    ap.add_argument("--out", default=os.path.join(HERE, "out"),
                    help="directory for CSVs and charts (default bench/out)")
    ap.add_argument("--md", default=os.path.join(HERE, "RESULTS.md"),
                    help="report file written by `all` and `report` (default "
                    "bench/RESULTS.md; charts are copied next to it)")
    ap.add_argument("--no-build", action="store_true", help="do not run make first")
    ap.add_argument("--no-install", action="store_true", help="never apt-get install peers")
    ap.add_argument("--peer-dir", action="append", default=[],
                    help="look for the peers' shared libraries in this directory first "
                    "(may be repeated)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=CONF",
                    help="also measure Mosaic run with MOSAIC_CONF=CONF, reported as "
                    "allocator NAME (may be repeated; not a peer in the bar)")
    ap.add_argument("--invoked-as", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    PEER_DIRS[:] = [os.path.abspath(d) for d in args.peer_dir]

    demo = args.command == "demo"
    if args.reps is None:
        args.reps = 3 if demo else 5
    if args.scale is None:
        args.scale = 0.5 if demo else 1.0
    if args.reps < 1:
        sys.exit("bench: --reps must be at least 1")
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if args.threads is None:
        args.threads = max(2, ncpu or 1)
    if args.jobs <= 0:
        args.jobs = ncpu or 1
    args.alloc = parse_list(args.alloc, ALLOC_ORDER, "allocator")
    args.variants = []
    for v in args.variant:
        name, eq, conf = v.partition("=")
        if not eq or not conf or not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
            sys.exit("bench: --variant wants NAME=CONF (NAME of letters, digits, '_.+-'), "
                     "got %r" % v)
        if name in ALLOC_ORDER or name in (n for n, _ in args.variants):
            sys.exit("bench: --variant name %r is taken" % name)
        args.variants.append((name, conf))
    args.bench = parse_list(args.bench, BENCH_NAMES, "benchmark")
    args.scaling_threads = [int(x) for x in args.scaling_threads.split(",") if x.strip()]
    args.build_abs = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) \
        else args.build
    args.bin = os.path.join(args.build_abs, "bench")
    os.makedirs(args.out, exist_ok=True)
    results_csv = os.path.join(args.out, "results.csv")
    ipc_csv = os.path.join(args.out, "ipc.csv")
    scal_csv = os.path.join(args.out, "scaling.csv")
    peak_csv = os.path.join(args.out, "peak.csv")
    meta_path = os.path.join(args.out, "meta.json")
    command = " ".join(shlex.quote(x) for x in ["python3", "bench/run.py"] + sys.argv[1:])

    if args.command == "report":
        meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
        rows = read_csv(results_csv) if os.path.exists(results_csv) else []
        ipc_rows = read_csv(ipc_csv) if os.path.exists(ipc_csv) else []
        scal_rows = read_csv(scal_csv) if os.path.exists(scal_csv) else []
        peak_rows = read_csv(peak_csv) if os.path.exists(peak_csv) else []
        make_report(args, meta, rows, ipc_rows, scal_rows, peak_rows)
        return

    if not args.no_build:
        build(args)
    global SPAWN
    SPAWN = os.path.join(args.bin, "spawn")
    missing_bins = [b for b in set(x[1] for x in BENCHES) | {"pairs", "spawn", "peak.so"}
                    if not os.access(os.path.join(args.bin, b), os.X_OK)]
    if missing_bins:
        sys.exit("bench: missing programs in %s: %s (make bench-build)" % (
            args.bin, ", ".join(sorted(missing_bins))))
    allocs, skipped = discover(args, log)
    for a, why in skipped.items():
        log("%s: not measured — %s" % (a, why))
    if args.command == "list":
        for name, _, argf, desc in BENCHES:
            print("%-11s %s" % (name, desc))
        print()
        for a in allocs.values():
            print("%-9s %s %s" % (a.name, a.lib or "(no preload)", a.version))
        return
    if not allocs:
        sys.exit("bench: no allocator to measure")
    log("allocators: " + ", ".join("%s (%s)" % (a.name, a.lib or "glibc") for a in
                                   allocs.values()))
    t_start = time.time()
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command, "invoked_as": args.invoked_as, "machine": machine_info(),
        "reps": args.reps, "scale": args.scale, "threads": args.threads,
        "scaling_reps": args.scaling_reps,
        "allocs": {a.name: dict({"lib": a.lib, "version": a.version},
                                **({"conf": a.conf} if a.conf is not None else {}))
                   for a in allocs.values()},
        "skipped": skipped,
    }
    benches = [b for b in BENCHES if b[0] in args.bench]

    if demo:
        log("demo: %d benchmarks x %d allocators x %d repetitions at work scale %.2f "
            "(the full run is `make bench`)" % (len(benches), len(allocs), args.reps,
                                                args.scale))
        rows = run_suite(args, allocs, benches, args.reps, args.scale,
                         os.path.join(args.out, "demo.csv"))
        benches_seen, allocs_seen, stats, _ = print_summary(rows, args.reps)
        if "mosaic" in allocs_seen:
            print()
            print("Mosaic against the bar of issue 3 (wall time and peak RSS; a short run):")
            print(bar_section(benches_seen, allocs_seen, stats, []).replace("**", "").rstrip())
        print()
        print("Per-run data: %s; full run with charts and RESULTS.md: make bench" %
              os.path.relpath(os.path.join(args.out, "demo.csv"), os.getcwd()))
        return

    rows = ipc_rows = scal_rows = peak_rows = None
    if args.command in ("run", "all"):
        rows = run_suite(args, allocs, benches, args.reps, args.scale, results_csv)
        print_summary(rows, args.reps)
        peak_rows = run_peak(args, allocs, benches, peak_csv)
        if peak_rows:
            print()
            print("Memory at the peak (one more run each, build/bench/peak.so; MiB)")
            print(peak_table(peak_rows))
    if args.command in ("ipc", "all"):
        ipc_rows = run_ipc(args, allocs, ipc_csv)
        print()
        print(ipc_tables(ipc_rows))
    if args.command in ("scaling", "all"):
        scal_rows = run_scaling(args, allocs, scal_csv)
        print()
        print(scaling_tables(scal_rows))
    meta["duration"] = fmt_dur(time.time() - t_start)
    try:
        meta["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        pass
    # Sub-commands run alone keep the other parts' earlier data and metadata.
    old = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    if args.command == "all" or not old:
        new_meta = meta
    else:
        new_meta = old
        new_meta.setdefault("parts", {})[args.command] = meta
        if args.command == "run":
            new_meta.update({k: meta[k] for k in ("date", "command", "invoked_as", "machine",
                                                  "reps", "scale", "threads", "allocs",
                                                  "skipped", "duration", "loadavg_end")
                                 if k in meta})
    with open(meta_path, "w") as f:
        json.dump(new_meta, f, indent=1)
    if args.command == "all":
        make_report(args, new_meta, rows, ipc_rows, scal_rows, peak_rows)


def copy_unless_same(src, dst):
    if os.path.abspath(src) != os.path.abspath(dst):
        shutil.copyfile(src, dst)


def make_report(args, meta, rows, ipc_rows, scal_rows, peak_rows=None):
    ext = chart_terminal()[1]
    chart = os.path.join(args.out, "chart." + ext)
    scal_chart = os.path.join(args.out, "scaling." + ext)
    md_dir = os.path.dirname(os.path.abspath(args.md))
    # Charts go to bench/out/ and, next to RESULTS.md, results.EXT and
    # scaling.EXT, so the committed RESULTS.md can show them.  A report under
    # another name (RESULTS-16cpu.md: a run on another machine) gets its own
    # chart and data names (results-16cpu.EXT, data-16cpu/), so that two
    # reports can sit side by side.
    stem = os.path.splitext(os.path.basename(args.md))[0]
    suffix = stem[len("RESULTS"):] if stem.startswith("RESULTS") else "-" + stem
    chart_rel = scal_rel = ""
    if rows:
        benches, allocs, stats, _ = summarize(rows)
        if chart_suite(benches, allocs, stats, meta.get("reps", 0), chart, args.out):
            chart_rel = "results%s.%s" % (suffix, ext)
            copy_unless_same(chart, os.path.join(md_dir, chart_rel))
    if scal_rows:
        if chart_scaling(scal_rows, scal_chart, args.out):
            scal_rel = "scaling%s.%s" % (suffix, ext)
            copy_unless_same(scal_chart, os.path.join(md_dir, scal_rel))
    # The raw per-run data goes next to RESULTS.md too (bench/out/ is not
    # committed), so every number in it can be checked.
    data_dir = os.path.join(md_dir, "data" + suffix)
    os.makedirs(data_dir, exist_ok=True)
    for name in ("results.csv", "ipc.csv", "scaling.csv", "peak.csv", "meta.json"):
        src = os.path.join(args.out, name)
        if os.path.exists(src):
            copy_unless_same(src, os.path.join(data_dir, name))
    write_results_md(args, meta, rows or [], ipc_rows or [], scal_rows or [], args.md,
                     chart_rel, scal_rel, "data" + suffix, peak_rows or [])
    log("wrote %s, the CSVs in %s%s" % (args.md, args.out,
                                        ", charts" if chart_rel or scal_rel else ""))


def on_sigterm(signum, frame):
    # Once only: `timeout` signals the process and then its process group, so
    # a second SIGTERM can arrive while the first one's partial_csv is still
    # writing the rows measured so far, and cut that short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("\nbench: interrupted")
