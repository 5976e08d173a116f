/*
 * large -- large and huge blocks: 64 KiB to 32 MiB allocated, touched, grown
 * with realloc, freed.
 *
 * Each iteration of each thread allocates a block of log-uniform random size
 * in [min, max/2], writes one word on every 4 KiB page, grows it with realloc
 * to twice its size (at most max), checks that every page written before the
 * realloc kept its contents, writes the new pages, and then keeps the block
 * in a small ring of `keep` live blocks, freeing the oldest one.  This
 * exercises the large-object path, page reuse versus returning memory to the
 * kernel, and realloc growth (in place, by mremap, or by copying).
 *
 * Work metric: blocks per second and GiB of pages touched per second.
 * Checksum: total bytes allocated, identical under every allocator.
 */
#include "common.h"

#include <getopt.h>
#include <math.h>
#include <pthread.h>

#define PAGE 4096

typedef struct {
    int id;
    long iters, keep;
    size_t min, max;
    uint64_t seed;
    uint64_t bytes, touched, errors;
} worker_t;

static size_t log_uniform(rng_t *r, size_t lo, size_t hi) {
    double u = (double)(rng_next(r) >> 11) * 0x1.0p-53;
    double x = exp(log((double)lo) + u * (log((double)hi) - log((double)lo)));
    size_t s = (size_t)x;
    return s < lo ? lo : s > hi ? hi : s;
}

static uint64_t touch(unsigned char *p, size_t from, size_t to, uint64_t tag) {
    uint64_t n = 0;
    for (size_t off = from & ~(size_t)(PAGE - 1); off < to; off += PAGE) {
        if (off + sizeof(uint64_t) <= from)
            continue; /* written before */
        uint64_t v = tag ^ off;
        if (off + sizeof v <= to) {
            memcpy(p + off, &v, sizeof v);
            n++;
        }
    }
    return n;
}

static uint64_t check(const unsigned char *p, size_t to, uint64_t tag) {
    uint64_t bad = 0;
    for (size_t off = 0; off + sizeof(uint64_t) <= to; off += PAGE) {
        uint64_t v;
        memcpy(&v, p + off, sizeof v);
        if (v != (tag ^ off))
            bad++;
    }
    return bad;
}

static void *work(void *arg) {
    worker_t *w = arg;
    rng_t r;
    rng_seed(&r, w->seed + (uint64_t)w->id * 15485863u);
    unsigned char **ring = xmalloc(sizeof(void *) * (size_t)w->keep);
    memset(ring, 0, sizeof(void *) * (size_t)w->keep);
    uint64_t bytes = 0, touched = 0, errors = 0;
    for (long i = 0; i < w->iters; i++) {
        uint64_t tag = ((uint64_t)w->id << 48) ^ ((uint64_t)i << 20) ^ 0x5bd1e995u;
        size_t sz = log_uniform(&r, w->min, w->max / 2);
        unsigned char *p = xmalloc(sz);
        touched += touch(p, 0, sz, tag);
        size_t nsz = sz * 2 > w->max ? w->max : sz * 2;
        p = xrealloc(p, nsz);
        errors += check(p, sz, tag);
        touched += touch(p, sz, nsz, tag);
        errors += check(p, nsz, tag);
        bytes += sz + nsz;
        long k = i % w->keep;
        free(ring[k]);
        ring[k] = p;
    }
    for (long k = 0; k < w->keep; k++)
        free(ring[k]);
    free(ring);
    w->bytes = bytes;
    w->touched = touched;
    w->errors = errors;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: large [-t threads] [-n iterations per thread] [-k blocks kept]\n"
                    "             [-m min size] [-M max size] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = 1, c;
    long iters = 1000, keep = 4;
    size_t min = 64 << 10, max = 32 << 20;
    uint64_t seed = 7;
    while ((c = getopt(argc, argv, "t:n:k:m:M:s:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_count(optarg); break;
        case 'n': iters = (long)parse_count(optarg); break;
        case 'k': keep = (long)parse_count(optarg); break;
        case 'm': min = parse_size(optarg); break;
        case 'M': max = parse_size(optarg); break;
        case 's': seed = (uint64_t)parse_count(optarg); break;
        default: usage();
        }
    }
    if (threads < 1 || iters < 0 || keep < 1 || min < 16 || max < 2 * min)
        usage();
    worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
    pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
    double t0 = now_sec();
    for (int t = 0; t < threads; t++) {
        ws[t] = (worker_t){.id = t, .iters = iters, .keep = keep, .min = min,
                           .max = max, .seed = seed};
        if (pthread_create(&tids[t], NULL, work, &ws[t]))
            die("pthread_create");
    }
    uint64_t bytes = 0, touched = 0, errors = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        bytes += ws[t].bytes;
        touched += ws[t].touched;
        errors += ws[t].errors;
    }
    double secs = now_sec() - t0;
    double blocks = (double)iters * threads;
    double gib = (double)touched * PAGE / (1024.0 * 1024 * 1024);
    printf("large: %d threads x %ld blocks of %zu KiB-%zu MiB (keeping %ld): "
           "%.3f s = %.0f blocks/s, %.2f GiB/s of pages touched\n",
           threads, iters, min >> 10, max >> 20, keep, secs, blocks / secs,
           gib / secs);
    report("large", secs, errors, bytes,
           "threads=%d blocks=%.0f touched_gib=%.3f metric=%.1f unit=blocks/s",
           threads, blocks, gib, blocks / secs);
    free(ws);
    free(tids);
    return errors ? 1 : 0;
}
