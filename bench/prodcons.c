/*
 * prodcons -- producer/consumer, xmalloc-style: objects are allocated in one
 * thread and freed in another, at a high rate.
 *
 * With T threads there are ceil(T/2) producers and floor(T/2) consumers.
 * Producer i allocates its share of `count` objects of random sizes in
 * [min, max], writes them, and passes each through a lock-free single-
 * producer/single-consumer ring to consumer i mod C, which checks and frees
 * it.  Nothing is ever freed by the thread that allocated it, so the
 * allocator must move memory back from the consumers' side to the
 * producers' side all the time.  When a ring is full (empty), the thread
 * spins briefly, then yields the CPU.
 *
 * T = 1 is the single-threaded baseline for the scaling table: the one thread
 * fills a ring-sized batch, then frees it, and so on.
 *
 * Work metric: objects passed (malloc+remote free pairs) per second.
 * Checksum: total bytes allocated, identical under every allocator.
 */
#include "common.h"

#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define CACHELINE 64

typedef struct {
    /* consumer side */
    _Alignas(CACHELINE) atomic_size_t head;
    size_t tail_cache;
    /* producer side */
    _Alignas(CACHELINE) atomic_size_t tail;
    size_t head_cache;
    _Alignas(CACHELINE) void **slot;
    size_t mask;
} ring_t;

typedef struct {
    int id;
    uint64_t count; /* producer: objects to make; consumer: to receive */
    ring_t **rings; /* producer: its one ring; consumer: the rings it polls */
    int nrings;
    uint64_t seed;
    uint64_t bytes, errors, yields;
} worker_t;

static size_t min_size = 16, max_size = 256;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *producer(void *arg) {
    worker_t *w = arg;
    ring_t *q = w->rings[0];
    rng_t r;
    rng_seed(&r, w->seed + (uint64_t)w->id * 7919u);
    uint64_t bytes = 0, yields = 0;
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (uint64_t k = 0; k < w->count; k++) {
        size_t sz = rng_range(&r, min_size, max_size);
        void *p = xmalloc(sz);
        stamp(p, sz);
        bytes += sz;
        int spins = 0;
        while (tail - q->head_cache > q->mask) {
            q->head_cache = atomic_load_explicit(&q->head, memory_order_acquire);
            if (tail - q->head_cache <= q->mask)
                break;
            if (++spins < 64) {
                cpu_relax();
            } else {
                sched_yield();
                yields++;
            }
        }
        q->slot[tail & q->mask] = p;
        tail++;
        atomic_store_explicit(&q->tail, tail, memory_order_release);
    }
    w->bytes = bytes;
    w->yields = yields;
    return NULL;
}

static void *consumer(void *arg) {
    worker_t *w = arg;
    uint64_t got = 0, errors = 0, yields = 0;
    int spins = 0;
    while (got < w->count) {
        int progress = 0;
        for (int i = 0; i < w->nrings; i++) {
            ring_t *q = w->rings[i];
            size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
            if (head == q->tail_cache) {
                q->tail_cache = atomic_load_explicit(&q->tail, memory_order_acquire);
                if (head == q->tail_cache)
                    continue;
            }
            /* Drain what is there, publishing progress as we go. */
            while (head != q->tail_cache) {
                void *p = q->slot[head & q->mask];
                if (!stamp_ok(p, stamp_size(p)))
                    errors++;
                free(p);
                head++;
                got++;
                if ((head & 15) == 0)
                    atomic_store_explicit(&q->head, head, memory_order_release);
            }
            atomic_store_explicit(&q->head, head, memory_order_release);
            progress = 1;
        }
        if (progress) {
            spins = 0;
        } else if (++spins < 64) {
            cpu_relax();
        } else {
            sched_yield();
            yields++;
        }
    }
    w->errors = errors;
    w->yields = yields;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr,
            "usage: prodcons [-t threads] [-n objects] [-m min size] [-M max size]\n"
            "                [-q ring capacity] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = default_threads(), c;
    uint64_t count = 10000000, seed = 1234;
    size_t cap = 1024;
    while ((c = getopt(argc, argv, "t:n:m:M:q:s:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_count(optarg); break;
        case 'n': count = (uint64_t)parse_count(optarg); break;
        case 'm': min_size = parse_size(optarg); break;
        case 'M': max_size = parse_size(optarg); break;
        case 'q': cap = (size_t)parse_count(optarg); break;
        case 's': seed = (uint64_t)parse_count(optarg); break;
        default: usage();
        }
    }
    if (threads < 1 || min_size < 8 || max_size < min_size || cap < 2 ||
        (cap & (cap - 1)))
        usage();

    int np = (threads + 1) / 2, nc = threads / 2;
    uint64_t bytes = 0, errors = 0, yields = 0;
    double t0, secs;
    if (threads == 1) {
        /* Baseline: same objects, same sizes, allocated and freed by one
         * thread in ring-sized batches. */
        void **batch = xmalloc(cap * sizeof(void *));
        rng_t r;
        rng_seed(&r, seed);
        t0 = now_sec();
        for (uint64_t k = 0; k < count;) {
            size_t n = 0;
            for (; n < cap && k < count; n++, k++) {
                size_t sz = rng_range(&r, min_size, max_size);
                batch[n] = xmalloc(sz);
                stamp(batch[n], sz);
                bytes += sz;
            }
            for (size_t i = 0; i < n; i++) {
                if (!stamp_ok(batch[i], stamp_size(batch[i])))
                    errors++;
                free(batch[i]);
            }
        }
        secs = now_sec() - t0;
        free(batch);
    } else {
        ring_t *rings = aligned_alloc(CACHELINE, sizeof(ring_t) * (size_t)np);
        if (!rings)
            die("aligned_alloc");
        ring_t **ringp = xmalloc(sizeof(ring_t *) * (size_t)np * 2);
        worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
        pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
        for (int i = 0; i < np; i++) {
            memset(&rings[i], 0, sizeof rings[i]);
            atomic_init(&rings[i].head, 0);
            atomic_init(&rings[i].tail, 0);
            rings[i].slot = xmalloc(cap * sizeof(void *));
            rings[i].mask = cap - 1;
        }
        /* ringp[0..np): one per producer; ringp[np..2np): grouped by consumer. */
        for (int i = 0; i < np; i++)
            ringp[i] = &rings[i];
        int k = np;
        for (int j = 0; j < nc; j++) {
            ws[np + j] = (worker_t){.id = j, .rings = &ringp[k]};
            for (int i = j; i < np; i += nc) {
                ringp[k++] = &rings[i];
                ws[np + j].nrings++;
            }
        }
        for (int i = 0; i < np; i++) {
            uint64_t share = count / (uint64_t)np + ((uint64_t)i < count % (uint64_t)np);
            ws[i] = (worker_t){.id = i, .count = share, .rings = &ringp[i],
                               .nrings = 1, .seed = seed};
            ws[np + i % nc].count += share;
        }
        t0 = now_sec();
        for (int i = 0; i < threads; i++)
            if (pthread_create(&tids[i], NULL, i < np ? producer : consumer, &ws[i]))
                die("pthread_create");
        for (int i = 0; i < threads; i++) {
            pthread_join(tids[i], NULL);
            bytes += ws[i].bytes;
            errors += ws[i].errors;
            yields += ws[i].yields;
        }
        secs = now_sec() - t0;
        for (int i = 0; i < np; i++)
            free(rings[i].slot);
        free(rings);
        free(ringp);
        free(ws);
        free(tids);
    }
    printf("prodcons: %d threads (%d producers, %d consumers), %llu objects of "
           "%zu-%zu B in %.3f s = %.2f M objects/s (%llu yields)\n",
           threads, np, threads == 1 ? 1 : nc, (unsigned long long)count,
           min_size, max_size, secs, (double)count / secs / 1e6,
           (unsigned long long)yields);
    report("prodcons", secs, errors, bytes,
           "threads=%d objects=%llu yields=%llu metric=%.3f unit=Mobj/s",
           threads, (unsigned long long)count, (unsigned long long)yields,
           (double)count / secs / 1e6);
    return errors ? 1 : 0;
}
