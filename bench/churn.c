/*
 * churn -- mixed-size churn: 8 B to 1 KiB objects with a realistic size mix.
 *
 * Each thread keeps a working set of `live` objects.  Every operation:
 *   - replaces a random live object by a new one (free + malloc), or, one
 *     time in 16, grows or shrinks it with realloc (strings, buffers);
 *   - every other operation also makes a short-lived temporary object
 *     (malloc, write, free) -- most objects in real programs die young;
 *   - one allocation in 32 is a calloc.
 * Sizes follow a skewed mix like those measured in C/C++ programs: most
 * objects are small, a few approach 1 KiB:
 *     8-16 B 20%, 17-32 B 25%, 33-64 B 20%, 65-128 B 15%, 129-256 B 10%,
 *     257-512 B 6%, 513-1024 B 4%.
 * Run with -t 1 (single-threaded) and -t N (N independent threads).
 *
 * Work metric: operations per second.
 * Checksum: total bytes requested, identical under every allocator.
 */
#include "common.h"

#include <getopt.h>
#include <pthread.h>

static const struct {
    unsigned pct;
    size_t lo, hi;
} mix[] = {
    {20, 8, 16},   {25, 17, 32},   {20, 33, 64},    {15, 65, 128},
    {10, 129, 256}, {6, 257, 512}, {4, 513, 1024},
};

static size_t pick_size(rng_t *r) {
    unsigned x = (unsigned)rng_below(r, 100), acc = 0;
    for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++) {
        acc += mix[i].pct;
        if (x < acc)
            return rng_range(r, mix[i].lo, mix[i].hi);
    }
    return 8;
}

typedef struct {
    int id;
    long live, ops;
    uint64_t seed;
    uint64_t bytes, errors;
} worker_t;

static void *alloc_obj(rng_t *r, size_t sz) {
    void *p;
    if (rng_below(r, 32) == 0) {
        p = calloc(1, sz);
        if (!p)
            die("calloc failed");
        const unsigned char *c = p;
        if (c[0] | c[sz - 1] | c[sz / 2])
            die("calloc returned non-zero memory");
    } else {
        p = xmalloc(sz);
    }
    stamp(p, sz);
    return p;
}

static void *work(void *arg) {
    worker_t *w = arg;
    rng_t r;
    rng_seed(&r, w->seed + (uint64_t)w->id * 104729u);
    void **set = xmalloc(sizeof(void *) * (size_t)w->live);
    uint64_t bytes = 0, errors = 0;
    for (long i = 0; i < w->live; i++) {
        size_t sz = pick_size(&r);
        set[i] = alloc_obj(&r, sz);
        bytes += sz;
    }
    for (long i = 0; i < w->ops; i++) {
        long s = (long)rng_below(&r, (uint64_t)w->live);
        size_t old = stamp_size(set[s]);
        if (!stamp_ok(set[s], old))
            errors++;
        size_t sz = pick_size(&r);
        if (rng_below(&r, 16) == 0) {
            unsigned char *p = xrealloc(set[s], sz);
            /* The kept prefix (the size word) must survive the move. */
            if (stamp_size(p) != old)
                errors++;
            if (sz > old)
                memset(p + old, 0x11, sz - old);
            stamp(p, sz);
            set[s] = p;
        } else {
            free(set[s]);
            set[s] = alloc_obj(&r, sz);
        }
        bytes += sz;
        if (i & 1) {
            size_t tsz = pick_size(&r);
            unsigned char *t = xmalloc(tsz);
            memset(t, (int)i, tsz);
            bytes += tsz;
            if (t[tsz - 1] != (unsigned char)i)
                errors++;
            free(t);
        }
    }
    for (long i = 0; i < w->live; i++) {
        if (!stamp_ok(set[i], stamp_size(set[i])))
            errors++;
        free(set[i]);
    }
    free(set);
    w->bytes = bytes;
    w->errors = errors;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: churn [-t threads] [-l live objects per thread] "
                    "[-n ops per thread] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = 1, c;
    long live = 20000, ops = 5000000;
    uint64_t seed = 99;
    while ((c = getopt(argc, argv, "t:l:n:s:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_count(optarg); break;
        case 'l': live = (long)parse_count(optarg); break;
        case 'n': ops = (long)parse_count(optarg); break;
        case 's': seed = (uint64_t)parse_count(optarg); break;
        default: usage();
        }
    }
    if (threads < 1 || live < 1 || ops < 0)
        usage();
    worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
    pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
    double t0 = now_sec();
    for (int t = 0; t < threads; t++) {
        ws[t] = (worker_t){.id = t, .live = live, .ops = ops, .seed = seed};
        if (pthread_create(&tids[t], NULL, work, &ws[t]))
            die("pthread_create");
    }
    uint64_t bytes = 0, errors = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        bytes += ws[t].bytes;
        errors += ws[t].errors;
    }
    double secs = now_sec() - t0;
    double total = (double)ops * threads;
    printf("churn: %d threads x %ld ops, %ld live objects each: %.3f s = "
           "%.2f M ops/s\n", threads, ops, live, secs, total / secs / 1e6);
    report("churn", secs, errors, bytes, "threads=%d ops=%.0f metric=%.3f unit=Mops/s",
           threads, total, total / secs / 1e6);
    free(ws);
    free(tids);
    return errors ? 1 : 0;
}
