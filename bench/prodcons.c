/*
 * prodcons -- producer/consumer, xmalloc-style: objects are allocated in one
 * thread and freed in another, at a high rate.
 *
 * T threads form T/2 producer/consumer pairs (an odd T uses T-1 threads).
 * Each producer allocates its share of `count` objects of random sizes in
 * [min, max], writes them, and passes them through a lock-free single-
 * producer/single-consumer ring to its consumer, which checks and frees
 * them.  Nothing is ever freed by the thread that allocated it, so the
 * allocator must move memory back from the consumers' side to the
 * producers' side all the time.
 *
 * Ring indices are published every 32 objects.  A thread that finds its
 * ring full (producer) or empty (consumer) spins briefly and then sleeps on
 * a futex until the other side has made progress, so an oversubscribed or
 * busy machine does not turn the benchmark into a sched_yield storm, and a
 * slow allocator is not punished twice.
 *
 * T = 1 is the single-threaded baseline for the scaling table: the one
 * thread allocates a ring-sized batch, then frees it, and so on.
 *
 * Work metric: objects passed (malloc + free by the other thread) per second.
 * Checksum: total bytes allocated, identical under every allocator.
 * Also reported: inflight, the mean number of objects in a ring (allocated,
 * not yet freed), sampled by the producer at each publication. A producer
 * that outruns its consumer keeps the ring full, so the live heap depends on
 * which side is faster under the allocator at hand; read peak RSS with it.
 */
#include "common.h"

#include <getopt.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#define CACHELINE 64
#define PUBLISH 32u /* objects between index publications */
#define SPINS 256   /* pause loops before sleeping */

typedef struct {
    /* written by the consumer */
    _Alignas(CACHELINE) _Atomic uint32_t head;
    _Atomic uint32_t cons_sleeping;
    /* written by the producer */
    _Alignas(CACHELINE) _Atomic uint32_t tail;
    _Atomic uint32_t prod_sleeping;
    _Alignas(CACHELINE) void **slot;
    uint32_t mask;
} ring_t;

typedef struct {
    ring_t *q;
    uint64_t count; /* objects to make / to receive */
    uint64_t seed;
    int id;
    uint64_t bytes, errors, sleeps;
    uint64_t occ_sum, occ_n; /* producer: ring occupancy at each publication */
} worker_t;

static size_t min_size = 16, max_size = 256;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Waits until *idx != seen.  `sleeping` tells the other side to wake us.
 * Both sides use seq_cst for the flag and the index (Dekker), and the
 * futex re-checks the index in the kernel: no wake-up can be lost. */
static uint32_t wait_change(_Atomic uint32_t *idx, uint32_t seen,
                            _Atomic uint32_t *sleeping, uint64_t *sleeps) {
    uint32_t v;
    for (int i = 0; i < SPINS; i++) {
        v = atomic_load_explicit(idx, memory_order_acquire);
        if (v != seen)
            return v;
        cpu_relax();
    }
    for (;;) {
        atomic_store(sleeping, 1);
        v = atomic_load(idx);
        if (v != seen)
            break;
        (*sleeps)++;
        futex_wait(idx, seen);
        v = atomic_load(idx);
        if (v != seen)
            break;
    }
    atomic_store(sleeping, 0);
    return v;
}

static void publish(_Atomic uint32_t *idx, uint32_t v, _Atomic uint32_t *peer_sleeping) {
    atomic_store(idx, v); /* seq_cst: ordered before the flag load */
    if (atomic_load(peer_sleeping))
        futex_wake(idx);
}

static void *producer(void *arg) {
    worker_t *w = arg;
    ring_t *q = w->q;
    rng_t r;
    rng_seed(&r, w->seed + (uint64_t)w->id * 7919u);
    uint64_t bytes = 0, sleeps = 0;
    uint32_t tail = 0, head = 0, cap = q->mask + 1;
    uint64_t occ_sum = 0, occ_n = 0;
    for (uint64_t k = 0; k < w->count; k++) {
        size_t sz = rng_range(&r, min_size, max_size);
        void *p = xmalloc(sz);
        stamp(p, sz);
        bytes += sz;
        while (tail - head == cap) {
            head = atomic_load_explicit(&q->head, memory_order_acquire);
            if (tail - head < cap)
                break;
            /* Make everything visible before waiting for room. */
            publish(&q->tail, tail, &q->cons_sleeping);
            head = wait_change(&q->head, head, &q->prod_sleeping, &sleeps);
        }
        q->slot[tail & q->mask] = p;
        tail++;
        if (tail % PUBLISH == 0) {
            publish(&q->tail, tail, &q->cons_sleeping);
            /* Objects in flight (allocated, not yet freed): the same cache
             * line as cons_sleeping, which publish just read. */
            occ_sum += tail - atomic_load_explicit(&q->head, memory_order_relaxed);
            occ_n++;
        }
    }
    publish(&q->tail, tail, &q->cons_sleeping);
    w->occ_sum = occ_sum;
    w->occ_n = occ_n;
    w->bytes = bytes;
    w->sleeps = sleeps;
    return NULL;
}

static void *consumer(void *arg) {
    worker_t *w = arg;
    ring_t *q = w->q;
    uint64_t got = 0, errors = 0, sleeps = 0;
    uint32_t head = 0, tail = 0;
    while (got < w->count) {
        if (head == tail) {
            tail = atomic_load_explicit(&q->tail, memory_order_acquire);
            if (head == tail) {
                publish(&q->head, head, &q->prod_sleeping);
                tail = wait_change(&q->tail, tail, &q->cons_sleeping, &sleeps);
            }
        }
        while (head != tail) {
            void *p = q->slot[head & q->mask];
            if (!stamp_ok(p, stamp_size(p)))
                errors++;
            free(p);
            head++;
            got++;
            if (head % PUBLISH == 0)
                publish(&q->head, head, &q->prod_sleeping);
        }
    }
    publish(&q->head, head, &q->prod_sleeping);
    w->errors = errors;
    w->sleeps = sleeps;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr,
            "usage: prodcons [-t threads] [-n objects] [-m min size] [-M max size]\n"
            "                [-q ring capacity, a power of 2] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = default_threads(), c;
    uint64_t count = 10000000, seed = 1234;
    size_t cap = 4096;
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
    if (threads < 1 || min_size < 8 || max_size < min_size || cap < PUBLISH ||
        cap > ((size_t)1 << 30) || (cap & (cap - 1)))
        usage();

    int pairs = threads / 2;
    if (threads > 1)
        threads = 2 * pairs;
    uint64_t bytes = 0, errors = 0, sleeps = 0, occ_sum = 0, occ_n = 0;
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
        ring_t *rings = aligned_alloc(CACHELINE, sizeof(ring_t) * (size_t)pairs);
        if (!rings)
            die("aligned_alloc failed");
        worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
        pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
        for (int i = 0; i < pairs; i++) {
            memset(&rings[i], 0, sizeof rings[i]);
            atomic_init(&rings[i].head, 0);
            atomic_init(&rings[i].tail, 0);
            atomic_init(&rings[i].cons_sleeping, 0);
            atomic_init(&rings[i].prod_sleeping, 0);
            rings[i].slot = xmalloc(cap * sizeof(void *));
            rings[i].mask = (uint32_t)(cap - 1);
            uint64_t share = count / (uint64_t)pairs + ((uint64_t)i < count % (uint64_t)pairs);
            ws[2 * i] = (worker_t){.q = &rings[i], .count = share, .seed = seed, .id = i};
            ws[2 * i + 1] = (worker_t){.q = &rings[i], .count = share, .id = i};
        }
        t0 = now_sec();
        for (int i = 0; i < threads; i++)
            if (pthread_create(&tids[i], NULL, i % 2 ? consumer : producer, &ws[i]))
                die("pthread_create");
        for (int i = 0; i < threads; i++) {
            pthread_join(tids[i], NULL);
            bytes += ws[i].bytes;
            errors += ws[i].errors;
            sleeps += ws[i].sleeps;
            occ_sum += ws[i].occ_sum;
            occ_n += ws[i].occ_n;
        }
        secs = now_sec() - t0;
        for (int i = 0; i < pairs; i++)
            free(rings[i].slot);
        free(rings);
        free(ws);
        free(tids);
    }
    /* Mean objects in flight per ring (T >= 2): how full the producers keep
     * the rings, which sets the live heap, and so the peak RSS, apart from
     * the allocator's own overhead. -1 for the one-thread baseline. */
    double inflight = occ_n ? (double)occ_sum / (double)occ_n : -1.0;
    printf("prodcons: %d threads (%d pairs), %llu objects of %zu-%zu B in %.3f s = "
           "%.2f M objects/s (%llu futex sleeps, %.0f objects in flight per ring)\n",
           threads, threads == 1 ? 0 : pairs, (unsigned long long)count, min_size, max_size,
           secs, (double)count / secs / 1e6, (unsigned long long)sleeps, inflight);
    report("prodcons", secs, errors, bytes,
           "threads=%d objects=%llu sleeps=%llu inflight=%.0f metric=%.3f unit=Mobj/s", threads,
           (unsigned long long)count, (unsigned long long)sleeps, inflight,
           (double)count / secs / 1e6);
    return errors ? 1 : 0;
}
