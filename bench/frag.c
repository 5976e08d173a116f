/*
 * frag -- fragmentation: allocate many objects, free a random 90%, allocate
 * again with other sizes; report peak and final resident memory against the
 * bytes the program actually holds.
 *
 * Phase 0 allocates `count` objects with sizes in the first band.  Then, for
 * each following band, a random 90% of all live objects is freed and new
 * objects with sizes from the next band are allocated until the live bytes
 * are back to the phase-0 level.  Freed holes are scattered over every page,
 * so an allocator can only reuse them if it can serve the new sizes from
 * them, and can only give pages back if they are completely free.
 *   bands: 16-128 B, 129-512 B, 513-2048 B, 16-128 B (again)
 * At the end the program reports:
 *   live_peak  the most bytes ever requested and not yet freed
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

typedef struct {
    unsigned char *p;
    size_t size;
} obj_t;

static const size_t band[][2] = {{16, 128}, {129, 512}, {513, 2048}, {16, 128}};
#define NBANDS (sizeof band / sizeof band[0])

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: frag [-n objects] [-f percent freed] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv) {
    long count = 1000000, pct = 90;
    uint64_t seed = 2024;
    int c;
    while ((c = getopt(argc, argv, "n:f:s:h")) != -1) {
        switch (c) {
        case 'n': count = (long)parse_count(optarg); break;
        case 'f': pct = (long)parse_count(optarg); break;
        case 's': seed = (uint64_t)parse_count(optarg); break;
        default: usage();
        }
    }
    if (count < 1 || pct < 0 || pct > 100)
        usage();
    rng_t r;
    rng_seed(&r, seed);
    /* The object table is sized for the worst case up front so its own
     * growth does not disturb the measurement. */
    size_t cap = (size_t)count * 2 + 16, n = 0;
    obj_t *objs = xmalloc(cap * sizeof *objs);
    memset(objs, 0, cap * sizeof *objs); /* resident from the start */
    size_t base_rss = rss_now();
    uint64_t live = 0, live_peak = 0, total = 0, errors = 0;
    double t0 = now_sec();

    for (long i = 0; i < count; i++) {
        size_t sz = rng_range(&r, band[0][0], band[0][1]);
        objs[n].p = xmalloc(sz);
        objs[n].size = sz;
        memset(objs[n].p, (int)(sz & 0xff), sz);
        n++;
        live += sz;
        total += sz;
    }
    uint64_t target = live;
    live_peak = live;
    printf("frag: phase 0: %zu objects of %zu-%zu B, %.1f MiB live, RSS %.1f MiB\n",
           n, band[0][0], band[0][1], (double)live / 1048576.0,
           (double)(rss_now() - base_rss) / 1048576.0);

    for (size_t b = 1; b < NBANDS; b++) {
        /* Free a random pct% of the live objects (partial Fisher-Yates: the
         * survivors end up in objs[0..keep)). */
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
            if (live > live_peak)
                live_peak = live;
        }
        printf("frag: phase %zu: freed %zu, refilled with %zu-%zu B: %zu objects, "
               "%.1f MiB live, RSS %.1f MiB\n",
               b, nfree, band[b][0], band[b][1], n, (double)live / 1048576.0,
               (double)(rss_now() - base_rss) / 1048576.0);
    }
    double secs = now_sec() - t0;
    size_t rss_final = rss_now(), rss_hwm = rss_peak();
    /* Resident memory attributable to the heap: minus what the process had
     * before the first object (binary, libraries, the object table). */
    double heap_final = (double)(rss_final > base_rss ? rss_final - base_rss : 0);
    double heap_peak = (double)(rss_hwm > base_rss ? rss_hwm - base_rss : 0);
    printf("frag: live peak %.1f MiB, heap RSS peak %.1f MiB (%.2fx); live final "
           "%.1f MiB, heap RSS final %.1f MiB (%.2fx); %.3f s\n",
           (double)live_peak / 1048576.0, heap_peak / 1048576.0,
           heap_peak / (double)live_peak, (double)live / 1048576.0,
           heap_final / 1048576.0, heap_final / (double)live, secs);
    report("frag", secs, errors, total,
           "live_peak=%llu rss_peak=%zu live_final=%llu rss_final=%zu base_rss=%zu "
           "peak_ratio=%.3f final_ratio=%.3f metric=%.3f unit=rss/live",
           (unsigned long long)live_peak, rss_hwm, (unsigned long long)live,
           rss_final, base_rss, heap_peak / (double)live_peak,
           heap_final / (double)live, heap_final / (double)live);
    for (size_t i = 0; i < n; i++)
        free(objs[i].p);
    free(objs);
    return errors ? 1 : 0;
}
