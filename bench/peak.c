/*
 * peak.so -- what the heap was made of when the process's resident set was
 * largest.  Preload it after the allocator:
 *
 *   LD_PRELOAD="build/libmosaic.so build/bench/peak.so" build/bench/prodcons -t 16
 *
 * A thread samples the resident set (/proc/self/statm) every PEAK_INTERVAL_US
 * microseconds (default 200).  Each time it passes the last snapshot's by
 * 0.1 % (at least 64 KiB), and the allocator has the jemalloc-compatible
 * mallctl (Mosaic, jemalloc), it refreshes the statistics (epoch) and keeps a
 * snapshot in a ring of the last PEAK_NSNAP.  The one reported is the earliest
 * within 1 % (at least 256 KiB) of the largest resident set: the heap as it
 * was when the process first came that close to its peak, rather than after
 * a later page or two of creep (a heap being torn down can still touch a few
 * pages after the peak it reached while full).  A snapshot holds: allocated, active,
 * metadata, resident, mapped, retained, dirty pages, and per small size class
 * the blocks out of their slabs (curregs: in the program's hands or in thread
 * caches) against the slabs' capacity, and under Mosaic the freed blocks
 * parked on the bins' transfer stacks (nparked, a Mosaic extension).  At exit the report goes to standard
 * error, or to the file PEAK_OUT names.  Without mallctl it reports the peak
 * resident set alone.  A forked child reports nothing; a program it execs
 * starts its own sampler (and writes its own report, to the same PEAK_OUT).
 *
 * The sampler thread calls no allocation function (it reads statm with pread
 * into a stack buffer and formats into stack buffers), so it does not disturb
 * the heap it watches; a refresh at a new peak costs what one mallctl("epoch")
 * costs.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

#define PEAK_MAXBINS 64
#define PEAK_NSNAP 64 /* 64 steps of 0.1 % reach back past the 1 % margin */
#define PEAK_ARENAS_ALL "4096" /* MALLCTL_ARENAS_ALL */

enum { S_ALLOCATED, S_ACTIVE, S_METADATA, S_RESIDENT, S_MAPPED, S_RETAINED, S_N };
static const char *const stat_names[S_N] = {"stats.allocated", "stats.active",
                                            "stats.metadata", "stats.resident",
                                            "stats.mapped", "stats.retained"};

typedef struct {
    size_t rss;               /* bytes */
    double t;                 /* seconds since start-up */
    size_t stat[S_N];         /* bytes */
    size_t pdirty;            /* pages */
    uint32_t curregs[PEAK_MAXBINS], curslabs[PEAK_MAXBINS], nonfull[PEAK_MAXBINS];
    uint32_t parked[PEAK_MAXBINS];
    int have_stats;
} snap_t;

static mallctl_fn mctl;
static int statm_fd = -1;
static long page_size;
static unsigned nbins;
static size_t bin_size[PEAK_MAXBINS];
static uint32_t bin_nregs[PEAK_MAXBINS];
static int have_parked; /* the allocator has stats.arenas.<i>.bins.<j>.nparked */
static snap_t ring[PEAK_NSNAP]; /* snapshots, the last at (nsnap - 1) % PEAK_NSNAP */
static unsigned long nsnap;
static size_t last_rss;      /* the last snapshot's resident set */
static size_t max_rss;       /* the largest resident set seen */
static double max_t;
static unsigned long nsamples;
static long interval_us = 200;
static struct timespec t0;
static atomic_int stop;
static pthread_t sampler;
static int started;
static pid_t owner; /* a forked child has no sampler and reads the parent's statm */

static double since_start(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - t0.tv_sec) + (double)(ts.tv_nsec - t0.tv_nsec) * 1e-9;
}

/* Resident bytes from /proc/self/statm ("size resident ..."), 0 on error. */
static size_t read_rss(void) {
    char buf[128];
    ssize_t n = pread(statm_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = buf;
    while (*p && *p != ' ') p++;
    return (size_t)strtoul(p, NULL, 10) * (size_t)page_size;
}

static size_t ctl_size(const char *name) {
    size_t v = 0, len = sizeof v;
    if (mctl(name, &v, &len, NULL, 0) != 0) return 0;
    return v;
}

static void take_stats(snap_t *s) {
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    if (mctl("epoch", &epoch, &len, &epoch, len) != 0) return;
    for (int i = 0; i < S_N; i++) s->stat[i] = ctl_size(stat_names[i]);
    s->pdirty = ctl_size("stats.arenas." PEAK_ARENAS_ALL ".pdirty");
    char name[96];
    for (unsigned j = 0; j < nbins; j++) {
        snprintf(name, sizeof name, "stats.arenas." PEAK_ARENAS_ALL ".bins.%u.curregs", j);
        s->curregs[j] = (uint32_t)ctl_size(name);
        snprintf(name, sizeof name, "stats.arenas." PEAK_ARENAS_ALL ".bins.%u.curslabs", j);
        s->curslabs[j] = (uint32_t)ctl_size(name);
        snprintf(name, sizeof name, "stats.arenas." PEAK_ARENAS_ALL ".bins.%u.nonfull_slabs", j);
        s->nonfull[j] = (uint32_t)ctl_size(name);
        if (have_parked) {
            snprintf(name, sizeof name, "stats.arenas." PEAK_ARENAS_ALL ".bins.%u.nparked", j);
            s->parked[j] = (uint32_t)ctl_size(name);
        }
    }
    s->have_stats = 1;
}

static void sample(void) {
    size_t rss = read_rss();
    nsamples++;
    if (rss > max_rss) {
        max_rss = rss;
        max_t = since_start();
    }
    size_t step = last_rss / 1000 > ((size_t)64 << 10) ? last_rss / 1000 : (size_t)64 << 10;
    if (nsnap && rss < last_rss + step) return;
    last_rss = rss;
    snap_t *s = &ring[nsnap++ % PEAK_NSNAP];
    s->rss = rss;
    s->t = since_start();
    s->have_stats = 0;
    if (mctl) take_stats(s);
}

static void *sampler_main(void *arg) {
    (void)arg;
    struct timespec ts = {interval_us / 1000000, (interval_us % 1000000) * 1000};
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        sample();
        nanosleep(&ts, NULL);
    }
    return NULL;
}

__attribute__((constructor)) static void peak_start(void) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    owner = getpid();
    page_size = sysconf(_SC_PAGESIZE);
    const char *iv = getenv("PEAK_INTERVAL_US");
    if (iv && atol(iv) > 0) interval_us = atol(iv);
    statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (statm_fd < 0) return;
    mctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
    if (mctl) {
        unsigned nb = 0;
        size_t len = sizeof nb;
        if (mctl("arenas.nbins", &nb, &len, NULL, 0) != 0) nb = 0;
        nbins = nb < PEAK_MAXBINS ? nb : PEAK_MAXBINS;
        char name[64];
        for (unsigned j = 0; j < nbins; j++) {
            snprintf(name, sizeof name, "arenas.bin.%u.size", j);
            bin_size[j] = ctl_size(name);
            uint32_t r = 0;
            len = sizeof r;
            snprintf(name, sizeof name, "arenas.bin.%u.nregs", j);
            if (mctl(name, &r, &len, NULL, 0) != 0) r = 0;
            bin_nregs[j] = r;
        }
        size_t v, vl = sizeof v;
        uint64_t e = 1;
        size_t el = sizeof e;
        have_parked = nbins && mctl("epoch", &e, &el, &e, el) == 0 &&
                      mctl("stats.arenas." PEAK_ARENAS_ALL ".bins.0.nparked", &v, &vl, NULL, 0) == 0;
    }
    sample();
    started = pthread_create(&sampler, NULL, sampler_main, NULL) == 0;
}

static double mib(size_t b) { return (double)b / 1048576.0; }

/* Formats into a stack buffer and writes it whole (no stdio buffers). */
static void out(int fd, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(fd, buf + off, (size_t)(n - off));
        if (w <= 0) return;
        off += w;
    }
}

__attribute__((destructor)) static void peak_report(void) {
    if (statm_fd < 0 || getpid() != owner) return;
    if (started) {
        atomic_store(&stop, 1);
        pthread_join(sampler, NULL);
    }
    sample(); /* the exit's own resident set counts too */
    int fd = 2;
    const char *path = getenv("PEAK_OUT");
    if (path && *path) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) fd = 2;
    }
    out(fd, "peak: resident %.1f MiB at %.3f s (%lu samples, every %ld us)\n", mib(max_rss),
        max_t, nsamples, interval_us);
    /* the earliest snapshot kept within the margin of the peak */
    size_t margin = max_rss / 100 > ((size_t)256 << 10) ? max_rss / 100 : (size_t)256 << 10;
    unsigned long first = nsnap > PEAK_NSNAP ? nsnap - PEAK_NSNAP : 0, k = first;
    while (k + 1 < nsnap && ring[k % PEAK_NSNAP].rss + margin < max_rss) k++;
    const snap_t *s = &ring[k % PEAK_NSNAP];
    if (!mctl) {
        out(fd, "peak: the allocator has no mallctl: resident set only\n");
    } else if (nsnap && s->have_stats) {
        out(fd, "peak: snapshot at %.1f MiB resident, %.3f s:\n", mib(s->rss), s->t);
        out(fd, "peak: allocated %.1f, active %.1f, metadata %.1f, resident %.1f, mapped %.1f, "
                "retained %.1f, dirty %.1f MiB\n",
            mib(s->stat[S_ALLOCATED]), mib(s->stat[S_ACTIVE]), mib(s->stat[S_METADATA]),
            mib(s->stat[S_RESIDENT]), mib(s->stat[S_MAPPED]), mib(s->stat[S_RETAINED]),
            mib(s->pdirty * (size_t)page_size));
        out(fd, "peak: %8s %6s %9s %8s %8s %11s %11s %5s %9s\n", "bin", "regs", "curregs",
            "curslabs", "nonfull", "slabs KiB", "in use KiB", "util", "parked");
        size_t cap_all = 0, use_all = 0, park_all = 0;
        for (unsigned j = 0; j < nbins; j++) {
            if (!s->curslabs[j]) continue;
            size_t cap = s->curslabs[j] * bin_nregs[j] * bin_size[j];
            size_t use = s->curregs[j] * bin_size[j];
            cap_all += cap;
            use_all += use;
            park_all += (size_t)s->parked[j] * bin_size[j];
            char pk[16] = "-";
            if (have_parked) snprintf(pk, sizeof pk, "%u", (unsigned)s->parked[j]);
            out(fd, "peak: %8zu %6u %9u %8u %8u %11.0f %11.0f %5.2f %9s\n", bin_size[j],
                (unsigned)bin_nregs[j], (unsigned)s->curregs[j], (unsigned)s->curslabs[j],
                (unsigned)s->nonfull[j], (double)cap / 1024.0, (double)use / 1024.0,
                cap ? (double)use / (double)cap : 0.0, pk);
        }
        out(fd, "peak: small classes: %.1f MiB of slabs, %.1f MiB of blocks out of them "
                "(in use or in thread caches)", mib(cap_all), mib(use_all));
        if (have_parked) out(fd, ", %.1f MiB parked for the next fills", mib(park_all));
        out(fd, "\n");
    } else {
        out(fd, "peak: mallctl(\"epoch\") failed: no statistics\n");
    }
    if (fd != 2) close(fd);
}
