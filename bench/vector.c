/*
 * vector -- many growable arrays grown by realloc doubling.
 *
 * Per iteration, each thread owns `vectors` arrays of 64-bit integers with
 * random (log-uniform) target lengths up to maxlen.  A vector starts with
 * capacity 1 and doubles its capacity through realloc when full.  Vectors are
 * served round-robin: each turn fills one vector up to its capacity, then the
 * next vector's turn comes; so the reallocs of different vectors interleave
 * as in a real program instead of each vector growing alone at the top of the
 * heap.  Then every vector is summed and freed.
 *
 * Work metric: elements pushed per second (and the number of reallocs).
 * Checksum: sum of all elements, identical under every allocator.
 */
#include "common.h"

#include <getopt.h>
#include <pthread.h>

typedef struct {
    uint64_t *data;
    size_t len, cap, target;
} vec_t;

typedef struct {
    int id;
    long vectors, maxlen, iters;
    uint64_t seed;
    uint64_t pushes, reallocs, sum, errors;
} worker_t;

static void *work(void *arg) {
    worker_t *w = arg;
    rng_t r;
    rng_seed(&r, w->seed + (uint64_t)w->id * 1000003u);
    vec_t *v = xmalloc(sizeof *v * (size_t)w->vectors);
    uint64_t pushes = 0, reallocs = 0, sum = 0, errors = 0;
    for (long it = 0; it < w->iters; it++) {
        for (long i = 0; i < w->vectors; i++) {
            /* Log-uniform lengths: many short vectors, some long ones. */
            int bits = (int)rng_range(&r, 0, 63 - (size_t)__builtin_clzll((uint64_t)w->maxlen));
            size_t hi = (size_t)1 << bits;
            if (hi > (size_t)w->maxlen)
                hi = (size_t)w->maxlen;
            v[i] = (vec_t){.data = NULL, .len = 0, .cap = 0,
                           .target = rng_range(&r, (hi + 1) / 2, hi)};
        }
        long unfinished = w->vectors;
        while (unfinished > 0) {
            unfinished = 0;
            for (long i = 0; i < w->vectors; i++) {
                vec_t *x = &v[i];
                if (x->len == x->target)
                    continue;
                if (x->len == x->cap) {
                    x->cap = x->cap ? 2 * x->cap : 1;
                    x->data = xrealloc(x->data, x->cap * sizeof(uint64_t));
                    reallocs++;
                }
                /* Fill up to capacity (or target), then on to the next
                 * vector: one realloc per vector per round. */
                size_t end = x->cap < x->target ? x->cap : x->target;
                for (size_t k = x->len; k < end; k++)
                    x->data[k] = k * 3 + (uint64_t)i;
                pushes += end - x->len;
                x->len = end;
                if (x->len < x->target)
                    unfinished++;
            }
        }
        for (long i = 0; i < w->vectors; i++) {
            vec_t *x = &v[i];
            uint64_t s = 0;
            for (size_t k = 0; k < x->len; k++)
                s += x->data[k];
            /* Sum of k*3 + i over k < len. */
            uint64_t want = 3 * (x->len * (x->len - 1) / 2) + x->len * (uint64_t)i;
            if (s != want)
                errors++;
            sum += s;
            free(x->data);
        }
    }
    free(v);
    w->pushes = pushes;
    w->reallocs = reallocs;
    w->sum = sum;
    w->errors = errors;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr,
            "usage: vector [-t threads] [-v vectors] [-m maxlen] [-i iterations] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = 1, c;
    long vectors = 2000, maxlen = 100000, iters = 10;
    uint64_t seed = 42;
    while ((c = getopt(argc, argv, "t:v:m:i:s:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_count(optarg); break;
        case 'v': vectors = (long)parse_count(optarg); break;
        case 'm': maxlen = (long)parse_count(optarg); break;
        case 'i': iters = (long)parse_count(optarg); break;
        case 's': seed = (uint64_t)parse_count(optarg); break;
        default: usage();
        }
    }
    if (threads < 1 || vectors < 1 || maxlen < 1 || iters < 1)
        usage();
    worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
    pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
    double t0 = now_sec();
    for (int t = 0; t < threads; t++) {
        ws[t] = (worker_t){.id = t, .vectors = vectors, .maxlen = maxlen,
                           .iters = iters, .seed = seed};
        if (pthread_create(&tids[t], NULL, work, &ws[t]))
            die("pthread_create");
    }
    uint64_t pushes = 0, reallocs = 0, sum = 0, errors = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        pushes += ws[t].pushes;
        reallocs += ws[t].reallocs;
        sum += ws[t].sum;
        errors += ws[t].errors;
    }
    double secs = now_sec() - t0;
    printf("vector: %d threads x %ld iterations of %ld vectors (max %ld elements): "
           "%llu pushes, %llu reallocs in %.3f s = %.1f M pushes/s\n",
           threads, iters, vectors, maxlen, (unsigned long long)pushes,
           (unsigned long long)reallocs, secs, (double)pushes / secs / 1e6);
    report("vector", secs, errors, sum,
           "threads=%d pushes=%llu reallocs=%llu metric=%.3f unit=Mpushes/s", threads,
           (unsigned long long)pushes, (unsigned long long)reallocs,
           (double)pushes / secs / 1e6);
    free(ws);
    free(tids);
    return errors ? 1 : 0;
}
