/*
 * larson -- a server-like workload after Larson & Krishnan (1998).
 *
 * A global array holds threads * slots objects of random sizes in
 * [min, max]; each thread owns its share of `slots` entries.  A thread
 * repeatedly picks a random slot of its share, frees the object there and
 * puts a freshly allocated one of a new random size in its place.
 *
 * Objects move between threads in two ways, as in a server where requests
 * are handed from thread to thread:
 *   - generations: after `ops` operations a thread exits and a new thread
 *     takes over its share, freeing the objects its predecessor allocated
 *     (classic Larson);
 *   - exchange: one operation in `xchg` swaps the new object with a random
 *     entry of a shared mailbox array, and places the object taken out of the
 *     mailbox (allocated by some other thread) in the slot instead.
 * The total work is fixed, so wall time and throughput are comparable.
 *
 * Work metric: operations (one free + one malloc each) per second.
 * Checksum: the operation count (the exchange makes byte totals timing-
 * dependent).
 */
#include "common.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>

static size_t min_size = 8, max_size = 1000;
static long slots = 5000, ops = 1000000, xchg = 16;
static int gens = 4;
static void **array;
static _Atomic(void *) *mailbox;
static size_t mailbox_len;

typedef struct {
    int id, gen;
    uint64_t seed;
    uint64_t ops, bytes, errors;
} worker_t;

static void *new_obj(rng_t *r, uint64_t *bytes) {
    size_t sz = rng_range(r, min_size, max_size);
    void *p = xmalloc(sz);
    stamp(p, sz);
    *bytes += sz;
    return p;
}

static void free_obj(void *p, uint64_t *errors) {
    if (!p)
        return;
    if (!stamp_ok(p, stamp_size(p)))
        (*errors)++;
    free(p);
}

static void *work(void *arg) {
    worker_t *w = arg;
    rng_t r;
    rng_seed(&r, w->seed ^ ((uint64_t)w->id << 32) ^ (uint64_t)w->gen);
    void **mine = array + (size_t)w->id * (size_t)slots;
    uint64_t bytes = 0, errors = 0;
    for (long i = 0; i < ops; i++) {
        long s = (long)rng_below(&r, (uint64_t)slots);
        free_obj(mine[s], &errors);
        void *p = new_obj(&r, &bytes);
        if (xchg > 0 && rng_below(&r, (uint64_t)xchg) == 0) {
            size_t m = (size_t)rng_below(&r, mailbox_len);
            void *q = atomic_exchange_explicit(&mailbox[m], p, memory_order_acq_rel);
            p = q ? q : new_obj(&r, &bytes);
        }
        mine[s] = p;
    }
    w->ops = (uint64_t)ops;
    w->bytes = bytes;
    w->errors = errors;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr,
            "usage: larson [-t threads] [-n slots per thread] [-o ops per generation]\n"
            "              [-g generations] [-x exchange 1 op in N, 0 = never]\n"
            "              [-m min size] [-M max size] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = default_threads(), c;
    uint64_t seed = 4141;
    while ((c = getopt(argc, argv, "t:n:o:g:x:m:M:s:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_count(optarg); break;
        case 'n': slots = (long)parse_count(optarg); break;
        case 'o': ops = (long)parse_count(optarg); break;
        case 'g': gens = (int)parse_count(optarg); break;
        case 'x': xchg = (long)parse_count(optarg); break;
        case 'm': min_size = parse_size(optarg); break;
        case 'M': max_size = parse_size(optarg); break;
        case 's': seed = (uint64_t)parse_count(optarg); break;
        default: usage();
        }
    }
    if (threads < 1 || slots < 1 || ops < 0 || gens < 1 || min_size < 8 ||
        max_size < min_size)
        usage();

    size_t total = (size_t)threads * (size_t)slots;
    array = xmalloc(total * sizeof(void *));
    mailbox_len = (size_t)threads * 64;
    mailbox = xmalloc(mailbox_len * sizeof *mailbox);
    for (size_t i = 0; i < mailbox_len; i++)
        atomic_init(&mailbox[i], NULL);
    /* Initial population, allocated by the main thread. */
    rng_t r;
    rng_seed(&r, seed);
    uint64_t bytes = 0, errors = 0, nops = 0;
    for (size_t i = 0; i < total; i++)
        array[i] = new_obj(&r, &bytes);

    worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
    pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
    double t0 = now_sec();
    for (int g = 0; g < gens; g++) {
        for (int t = 0; t < threads; t++) {
            ws[t] = (worker_t){.id = t, .gen = g, .seed = seed};
            if (pthread_create(&tids[t], NULL, work, &ws[t]))
                die("pthread_create");
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(tids[t], NULL);
            nops += ws[t].ops;
            bytes += ws[t].bytes;
            errors += ws[t].errors;
        }
    }
    double secs = now_sec() - t0;
    for (size_t i = 0; i < total; i++)
        free_obj(array[i], &errors);
    for (size_t i = 0; i < mailbox_len; i++)
        free_obj(atomic_load(&mailbox[i]), &errors);
    printf("larson: %d threads, %ld slots each, sizes %zu-%zu, %d generations x "
           "%ld ops: %llu ops in %.3f s = %.2f M ops/s\n",
           threads, slots, min_size, max_size, gens, ops,
           (unsigned long long)nops, secs, (double)nops / secs / 1e6);
    /* The exchange makes the byte total depend on thread timing (an empty
     * mailbox entry costs an extra object), so the checksum is the op count. */
    report("larson", secs, errors, nops,
           "threads=%d ops=%llu metric=%.3f unit=Mops/s", threads,
           (unsigned long long)nops, (double)nops / secs / 1e6);
    free(array);
    free(mailbox);
    free(ws);
    free(tids);
    return errors ? 1 : 0;
}
