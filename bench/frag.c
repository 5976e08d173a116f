/*
 * frag -- fragmentation: allocate many objects, free a random 90%, allocate
 * again with other sizes; report peak and final resident memory against the
 * bytes the program actually holds.
 *
 * Phase 0 allocates `count` objects with sizes in the first band.  Then, for
 * each following band, a random 90% of all live objects is freed and new
 * objects with sizes from the next band are allocated until the live bytes
 * are back to the phase-0 level.  With -t T, T threads each do this with
 * count/T objects, phase by phase in step (a barrier between phases).  Freed holes are scattered over every page,
 * so an allocator can only reuse them if it can serve the new sizes from
 * them, and can only give pages back if they are completely free.
 *   bands: 16-128 B, 129-512 B, 513-2048 B, 16-128 B (again)
 * At the end the program reports:
 *   live_peak  the most bytes ever requested and not yet freed (live bytes
 *              only dip inside a phase, so this is the largest phase-end sum)
 *   rss_peak   the process's peak resident set (VmHWM)
 *   live_final bytes held at the end, rss_final resident set at the end
 * and the ratios rss/live (1.0 would be perfect; the runner also measures
 * the peak from outside).  Timing is reported too, but this benchmark is
 * about memory.
 *
 * Work metric: final resident bytes per live byte (lower is better).
 * Checksum: total bytes requested, identical under every allocator.
 */
#include "common.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct {
    unsigned char *p;
    size_t size;
} obj_t;

static const size_t band[][2] = {{16, 128}, {129, 512}, {513, 2048}, {16, 128}};
#define NBANDS (sizeof band / sizeof band[0])


static int nthreads = 1;
static long pct = 90;
static pthread_barrier_t phase_line;
static _Atomic uint64_t phase_live[NBANDS];
static _Atomic uint64_t phase_objs[NBANDS];
static _Atomic uint64_t phase_freed[NBANDS];
static size_t base_rss;

typedef struct {
    int id;
    long count;
    uint64_t seed;
    uint64_t live, total, errors;
} worker_t;

static void report_phase(size_t b) {
    if (b == 0)
        printf("frag: phase 0: %llu objects of %zu-%zu B, %.1f MiB live, heap RSS %.1f MiB\n",
               (unsigned long long)atomic_load(&phase_objs[0]), band[0][0], band[0][1],
               (double)atomic_load(&phase_live[0]) / 1048576.0,
               (double)(rss_now() - base_rss) / 1048576.0);
    else
        printf("frag: phase %zu: freed %llu, refilled with %zu-%zu B: %llu objects, "
               "%.1f MiB live, heap RSS %.1f MiB\n",
               b, (unsigned long long)atomic_load(&phase_freed[b]), band[b][0], band[b][1],
               (unsigned long long)atomic_load(&phase_objs[b]),
               (double)atomic_load(&phase_live[b]) / 1048576.0,
               (double)(rss_now() - base_rss) / 1048576.0);
}

static void *work(void *arg) {
    worker_t *w = arg;
    rng_t r;
    rng_seed(&r, w->seed + (uint64_t)w->id * 2654435761u);
    /* The object table is sized for the worst case up front so its own
     * growth does not disturb the measurement. */
    size_t cap = (size_t)w->count * 2 + 16, n = 0;
    obj_t *objs = xmalloc(cap * sizeof *objs);
    memset(objs, 0, cap * sizeof *objs); /* resident from the start */
    uint64_t live = 0, total = 0, errors = 0;
    pthread_barrier_wait(&phase_line);
    if (w->id == 0)
        base_rss = rss_now();
    pthread_barrier_wait(&phase_line);

    for (long i = 0; i < w->count; i++) {
        size_t sz = rng_range(&r, band[0][0], band[0][1]);
        objs[n].p = xmalloc(sz);
        objs[n].size = sz;
        memset(objs[n].p, (int)(sz & 0xff), sz);
        n++;
        live += sz;
        total += sz;
    }
    uint64_t target = live;
    atomic_fetch_add(&phase_live[0], live);
    atomic_fetch_add(&phase_objs[0], n);
    pthread_barrier_wait(&phase_line);
    if (w->id == 0)
        report_phase(0);

    for (size_t b = 1; b < NBANDS; b++) {
        /* Free a random pct% of the live objects (partial Fisher-Yates: the
         * survivors end up in objs[0..n-nfree)). */
        size_t nfree = n * (size_t)pct / 100;
        for (size_t i = 0; i < nfree; i++) {
            size_t j = (size_t)rng_below(&r, (uint64_t)(n - i));
            obj_t o = objs[j];
            objs[j] = objs[n - 1 - i];
            objs[n - 1 - i] = o;
            if (o.p[0] != (unsigned char)(o.size & 0xff) ||
                o.p[o.size - 1] != (unsigned char)(o.size & 0xff))
                errors++;
            free(o.p);
            live -= o.size;
        }
        n -= nfree;
        /* Refill to the phase-0 byte level with the next band's sizes. */
        while (live < target && n < cap) {
            size_t sz = rng_range(&r, band[b][0], band[b][1]);
            objs[n].p = xmalloc(sz);
            objs[n].size = sz;
            memset(objs[n].p, (int)(sz & 0xff), sz);
            n++;
            live += sz;
            total += sz;
        }
        atomic_fetch_add(&phase_live[b], live);
        atomic_fetch_add(&phase_objs[b], n);
        atomic_fetch_add(&phase_freed[b], nfree);
        pthread_barrier_wait(&phase_line);
        if (w->id == 0 && b + 1 < NBANDS)
            report_phase(b);
    }
    /* The main thread measures RSS now; everything is freed after that. */
    pthread_barrier_wait(&phase_line);
    for (size_t i = 0; i < n; i++)
        free(objs[i].p);
    free(objs);
    w->live = live;
    w->total = total;
    w->errors = errors;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: frag [-t threads] [-n objects in all] [-f percent freed] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv) {
    long count = 1000000;
    uint64_t seed = 2024;
    int c;
    while ((c = getopt(argc, argv, "t:n:f:s:h")) != -1) {
        switch (c) {
        case 't': nthreads = (int)parse_count(optarg); break;
        case 'n': count = (long)parse_count(optarg); break;
        case 'f': pct = (long)parse_count(optarg); break;
        case 's': seed = (uint64_t)parse_count(optarg); break;
        default: usage();
        }
    }
    if (nthreads < 1 || count < nthreads || pct < 0 || pct > 100)
        usage();
    worker_t *ws = xmalloc(sizeof *ws * (size_t)nthreads);
    pthread_t *tids = xmalloc(sizeof *tids * (size_t)nthreads);
    pthread_barrier_init(&phase_line, NULL, (unsigned)nthreads + 1);
    for (int t = 0; t < nthreads; t++) {
        ws[t] = (worker_t){.id = t, .count = count / nthreads + (t < count % nthreads),
                           .seed = seed};
        if (pthread_create(&tids[t], NULL, work, &ws[t]))
            die("pthread_create");
    }
    pthread_barrier_wait(&phase_line); /* tables allocated */
    pthread_barrier_wait(&phase_line); /* base_rss taken */
    double t0 = now_sec();
    for (size_t b = 0; b < NBANDS; b++)
        pthread_barrier_wait(&phase_line);
    double secs = now_sec() - t0;
    report_phase(NBANDS - 1);
    size_t rss_final = rss_now(), rss_hwm = rss_peak();
    pthread_barrier_wait(&phase_line); /* measured: let the workers free */
    uint64_t live_peak = 0, live = atomic_load(&phase_live[NBANDS - 1]);
    for (size_t b = 0; b < NBANDS; b++)
        if (atomic_load(&phase_live[b]) > live_peak)
            live_peak = atomic_load(&phase_live[b]);
    uint64_t total = 0, errors = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(tids[t], NULL);
        total += ws[t].total;
        errors += ws[t].errors;
    }
    pthread_barrier_destroy(&phase_line);
    /* Resident memory attributable to the heap: minus what the process had
     * before the first object (binary, libraries, the object tables). */
    double heap_final = (double)(rss_final > base_rss ? rss_final - base_rss : 0);
    double heap_peak = (double)(rss_hwm > base_rss ? rss_hwm - base_rss : 0);
    printf("frag: %d threads; live peak %.1f MiB, heap RSS peak %.1f MiB (%.2fx); live final "
           "%.1f MiB, heap RSS final %.1f MiB (%.2fx); %.3f s\n",
           nthreads, (double)live_peak / 1048576.0, heap_peak / 1048576.0,
           heap_peak / (double)live_peak, (double)live / 1048576.0,
           heap_final / 1048576.0, heap_final / (double)live, secs);
    report("frag", secs, errors, total,
           "threads=%d live_peak=%llu rss_peak=%zu live_final=%llu rss_final=%zu "
           "base_rss=%zu peak_ratio=%.3f final_ratio=%.3f metric=%.3f unit=rss/live",
           nthreads, (unsigned long long)live_peak, rss_hwm, (unsigned long long)live,
           rss_final, base_rss, heap_peak / (double)live_peak,
           heap_final / (double)live, heap_final / (double)live);
    free(ws);
    free(tids);
    return errors ? 1 : 0;
}
