/*
 * threads.c -- multi-threaded stress.
 *
 *   threads rings   N (>= 8) threads in a ring of single-producer /
 *                   single-consumer queues: each allocates blocks, fills them
 *                   with a pattern and passes them on; the receiver checks
 *                   the pattern, maybe reallocs, passes it on again or frees
 *                   it. Most frees are cross-thread. Each thread also churns
 *                   a private set of blocks.
 *   threads churn   10,000 short-lived threads in sequence, each filling its
 *                   cache and exiting; some of their blocks are freed by the
 *                   main thread after they exit. Resident memory must stay
 *                   bounded (measured with VmRSS, printed).
 *   threads handoff  the main thread allocates a population and waits; workers
 *                   free it and allocate their own in its place, in passes
 *                   with pauses (growth, owed relief and slab trimming in the
 *                   main thread's arena while its blocks are freed, and the
 *                   workers taking its free regions: steals from donor
 *                   bins); every block's pattern is checked when freed.
 *   threads donors  rounds in which some threads allocate a population and
 *                   wait while others free it and allocate their own (steals
 *                   from donor bins), flushing their caches and moving to
 *                   another arena with thread.arena; patterns checked, and
 *                   the bytes allocated back where they started.
 * With no argument, all four. Environment: MOSAIC_TEST_THREADS (default 8),
 * MOSAIC_TEST_SCALE (percent), MOSAIC_TEST_CHURN_THREADS (default 10000),
 * MOSAIC_TEST_RSS_MAX_MIB (allowed growth, default 64), MOSAIC_TEST_SEED.
 */
#include "common.h"
#include <pthread.h>

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

static uint64_t seed;

/* Runs fn(i) in n threads, i = 0 .. n-1 (n <= 64), and waits for them all. */
static void run_threads(unsigned n, void *(*fn)(void *))
{
    pthread_t t[64];
    REQUIRE(n <= 64, "%u threads", n);
    for (unsigned i = 0; i < n; i++) {
        int e = pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i);
        if (e)
            FATAL("pthread_create failed: %s", strerror(e));
    }
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* MOSAIC_TEST_THREADS (default def), kept within [lo, hi]. */
static unsigned env_threads(long def, unsigned lo, unsigned hi)
{
    long n = t_env_long("MOSAIC_TEST_THREADS", def);
    return n < (long)lo ? lo : n > (long)hi ? hi : (unsigned)n;
}

/* ------------------------------------------------------------------ rings */

enum kind { K_MALLOC, K_ALIGNED_ALLOC, K_OTHER };

struct item {
    unsigned char *p;
    size_t req, len, align;
    uint64_t tag;
    int hops, kind, origin;
};

#define RING_CAP 512
struct ring {
    _Alignas(64) atomic_size_t head; /* consumer */
    _Alignas(64) atomic_size_t tail; /* producer */
    _Alignas(64) struct item buf[RING_CAP];
};

static struct ring *rings;
static int nthreads;
static long items_per_thread;
static atomic_long completed;
static long total_items;

static int ring_push(struct ring *r, const struct item *it)
{
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (t - h == RING_CAP)
        return 0;
    r->buf[t % RING_CAP] = *it;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return 1;
}

static int ring_pop(struct ring *r, struct item *it)
{
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (h == t)
        return 0;
    *it = r->buf[h % RING_CAP];
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return 1;
}

static size_t thread_size(t_rng *r)
{
    uint64_t x = t_next(r) % 10000;
    if (x < 6000)
        return t_range(r, 0, 256);
    if (x < 9000)
        return t_range(r, 257, 4096);
    if (x < 9900)
        return t_range(r, 4097, 64 * KiB);
    if (x < 9995)
        return t_range(r, 64 * KiB + 1, MiB);
    return t_range(r, MiB + 1, 4 * MiB);
}

static void make_item(t_rng *r, struct item *it, int self)
{
    size_t s = thread_size(r), align = 16;
    unsigned k = (unsigned)(t_next(r) % 100);
    void *p;
    const char *what;
    if (k < 70) {
        p = M(malloc)(s);
        it->kind = K_MALLOC;
        what = "malloc";
    } else if (k < 80) {
        p = M(calloc)(1, s);
        it->kind = K_MALLOC;
        what = "calloc";
        size_t nz = p ? t_first_nonzero(p, s) : (size_t)-1;
        if (nz != (size_t)-1)
            FATAL("thread %d: calloc(1, %zu) byte %zu not zero", self, s, nz);
    } else if (k < 90) {
        align = (size_t)16 << (t_next(r) % 9);
        p = M(aligned_alloc)(align, s);
        it->kind = K_ALIGNED_ALLOC;
        what = "aligned_alloc";
    } else {
        align = (size_t)8 << (t_next(r) % 10);
        p = NULL;
        if (M(posix_memalign)(&p, align, s))
            p = NULL;
        it->kind = K_OTHER;
        what = "posix_memalign";
    }
    if (!p)
        FATAL("thread %d: %s(%zu) returned NULL", self, what, s);
    if ((uintptr_t)p & ((align < 16 ? 16 : align) - 1))
        FATAL("thread %d: %s(%zu, align %zu) = %p misaligned", self, what, s, align, p);
    it->p = p;
    it->req = s;
    it->align = align;
    it->len = M(malloc_usable_size)(p);
    if (it->len < s)
        FATAL("thread %d: %s(%zu): usable %zu < request", self, what, s, it->len);
    uint64_t x = (uintptr_t)p ^ seed ^ ((uint64_t)self << 56) ^ t_next(r);
    it->tag = t_splitmix(&x);
    it->hops = 0;
    it->origin = self;
    t_fill(p, it->tag, it->len);
}

static void check_item(const struct item *it, int self, const char *when)
{
    size_t bad = t_check(it->p, it->tag, it->len, it->len);
    if (bad != (size_t)-1)
        FATAL("thread %d: %s: block %p (request %zu, usable %zu, from thread %d, %d hops) "
              "corrupted at offset %zu; seed %#" PRIx64,
              self, when, (void *)it->p, it->req, it->len, it->origin, it->hops, bad, seed);
    size_t us = M(malloc_usable_size)(it->p);
    if (us != it->len)
        FATAL("thread %d: %s: malloc_usable_size of live block %p changed %zu -> %zu", self,
              when, (void *)it->p, it->len, us);
}

static void free_item(t_rng *r, struct item *it)
{
    int sized = t_next(r) & 1;
    if (sized && it->kind == K_MALLOC)
        M(free_sized)(it->p, it->req);
    else if (sized && it->kind == K_ALIGNED_ALLOC)
        M(free_aligned_sized)(it->p, it->align, it->req);
    else
        M(free)(it->p);
    atomic_fetch_add_explicit(&completed, 1, memory_order_relaxed);
}

/* Returns 0 when the realloc was to size 0, which frees the block. */
static int realloc_item(t_rng *r, struct item *it, int self)
{
    size_t ns = thread_size(r);
    void *q = M(realloc)(it->p, ns);
    if (ns == 0) {
        if (q)
            FATAL("thread %d: realloc(p, 0) returned %p, expected NULL", self, q);
        atomic_fetch_add_explicit(&completed, 1, memory_order_relaxed);
        return 0;
    }
    if (!q)
        FATAL("thread %d: realloc(.., %zu) NULL", self, ns);
    size_t keep = it->req < ns ? it->req : ns;
    size_t bad = t_check(q, it->tag, it->len, keep);
    if (bad != (size_t)-1)
        FATAL("thread %d: realloc of a block from thread %d (%zu -> %zu) lost content at %zu",
              self, it->origin, it->req, ns, bad);
    it->p = q;
    it->req = ns;
    it->len = M(malloc_usable_size)(q);
    if (it->len < ns)
        FATAL("thread %d: realloc(.., %zu): usable %zu", self, ns, it->len);
    it->kind = K_MALLOC;
    it->align = 16;
    t_fill(q, it->tag, it->len);
    return 1;
}

#define LOCAL 64
static void *ring_thread(void *arg)
{
    int self = (int)(intptr_t)arg;
    t_rng r;
    t_rng_init(&r, seed ^ ((uint64_t)self * 0x1234567));
    struct ring *in = &rings[self], *out = &rings[(self + 1) % nthreads];
    struct item local[LOCAL];
    memset(local, 0, sizeof local);
    long produced = 0;
    unsigned long spins = 0;
    for (;;) {
        int did = 0;
        if (produced < items_per_thread) {
            struct item it;
            make_item(&r, &it, self);
            produced++;
            if (!ring_push(out, &it)) {
                check_item(&it, self, "own, ring full");
                free_item(&r, &it);
            }
            did = 1;
        }
        for (int j = 0; j < 4; j++) {
            struct item it;
            if (!ring_pop(in, &it))
                break;
            did = 1;
            check_item(&it, self, "received");
            it.hops++;
            unsigned k = (unsigned)(t_next(&r) % 100);
            if (k < 15 && !realloc_item(&r, &it, self))
                continue;
            if (it.hops < 4 && k < 50) {
                if (!ring_push(out, &it)) {
                    check_item(&it, self, "received, ring full");
                    free_item(&r, &it);
                }
            } else {
                free_item(&r, &it);
            }
        }
        /* private churn */
        struct item *l = &local[t_next(&r) % LOCAL];
        if (l->p) {
            check_item(l, self, "local");
            M(free)(l->p);
            l->p = NULL;
        } else {
            make_item(&r, l, self);
        }
        if (!did) {
            if (produced >= items_per_thread &&
                atomic_load_explicit(&completed, memory_order_relaxed) >= total_items)
                break;
            if (++spins % 64 == 0)
                sched_yield();
        }
    }
    for (int i = 0; i < LOCAL; i++)
        if (local[i].p) {
            check_item(&local[i], self, "local, at exit");
            M(free)(local[i].p);
        }
    return NULL;
}

static void test_rings(void)
{
    nthreads = (int)env_threads(8, 2, 4096);
    items_per_thread = t_scaled(100000);
    total_items = items_per_thread * nthreads;
    rings = M(aligned_alloc)(64, sizeof(struct ring) * (size_t)nthreads);
    REQUIRE(rings, "ring allocation failed");
    memset(rings, 0, sizeof(struct ring) * (size_t)nthreads);
    double t0 = t_now();
    pthread_t *tids = M(malloc)(sizeof(pthread_t) * (size_t)nthreads);
    REQUIRE(tids, "malloc failed");
    for (int i = 0; i < nthreads; i++)
        REQUIRE(pthread_create(&tids[i], NULL, ring_thread, (void *)(intptr_t)i) == 0,
                "pthread_create failed");
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    CHECK(atomic_load(&completed) == total_items, "%ld of %ld items freed",
          atomic_load(&completed), total_items);
    for (int i = 0; i < nthreads; i++)
        CHECK(atomic_load(&rings[i].head) == atomic_load(&rings[i].tail),
              "ring %d not empty at the end", i);
    M(free)(tids);
    M(free)(rings);
    printf("%s: rings: %d threads, %ld items (cross-thread), %.2fs\n", t_name, nthreads,
           total_items, t_now() - t0);
}

/* ------------------------------------------------------------------ churn */

#define HANDOFF 32
static void *handoff[HANDOFF];

static void *churn_thread(void *arg)
{
    unsigned n = (unsigned)(uintptr_t)arg;
    static const size_t sizes[] = {16, 24, 32, 48, 64, 80, 96, 128, 160, 192, 256, 320,
                                   384, 512, 640, 768, 1024, 1280, 1536, 2048, 2560, 3072,
                                   4096, 5120, 6144, 8192, 10240, 12288, 14336};
    /* more blocks of each class than a thread cache is likely to hold */
    enum { NS = sizeof sizes / sizeof sizes[0], PER_SMALL = 160, PER = 48 };
    static _Thread_local void *keep[NS * PER_SMALL];
    int k = 0;
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < (sizes[i] <= 1024 ? PER_SMALL : PER); j++) {
            void *p = M(malloc)(sizes[i]);
            if (!p)
                FATAL("churn thread %u: malloc(%zu) failed", n, sizes[i]);
            ((unsigned char *)p)[0] = (unsigned char)n;
            ((unsigned char *)p)[sizes[i] - 1] = (unsigned char)j;
            keep[k++] = p;
        }
    /* large blocks, which a cache may hold too */
    void *big[3] = {M(malloc)(64 * KiB), M(malloc)(256 * KiB), M(calloc)(1, MiB)};
    for (int i = 0; i < 3; i++) {
        if (!big[i])
            FATAL("churn thread %u: large malloc failed", n);
        memset(big[i], (int)n, 4096);
    }
    for (int i = 0; i < k; i++) {
        unsigned char *p = keep[i];
        if (p[0] != (unsigned char)n)
            FATAL("churn thread %u: block %d corrupted", n, i);
        M(free)(p);
    }
    for (int i = 0; i < 3; i++)
        M(free)(big[i]);
    /* blocks the main thread frees after this thread is gone */
    for (int i = 0; i < HANDOFF; i++) {
        size_t s = sizes[(n + (unsigned)i) % NS];
        handoff[i] = M(malloc)(s);
        if (!handoff[i])
            FATAL("churn thread %u: malloc failed", n);
        memset(handoff[i], (int)(n & 0xff), s);
    }
    return NULL;
}

static void test_churn(void)
{
    long nthr = t_env_long("MOSAIC_TEST_CHURN_THREADS", 10000);
    long max_growth_kib = t_env_long("MOSAIC_TEST_RSS_MAX_MIB", 64) * 1024;
    long warm = nthr / 20, rss0 = 0, vm0 = 0, peak_growth = 0;
    double t0 = t_now();
    for (long n = 0; n < nthr; n++) {
        pthread_t t;
        int e = pthread_create(&t, NULL, churn_thread, (void *)(uintptr_t)n);
        if (e)
            FATAL("pthread_create #%ld failed: %s", n, strerror(e));
        pthread_join(t, NULL);
        for (int i = 0; i < HANDOFF; i++) {
            unsigned char *p = handoff[i];
            if (p[0] != (unsigned char)(n & 0xff))
                FATAL("churn: block handed off by thread %ld corrupted", n);
            M(free)(p);
        }
        if (n + 1 == warm) {
            rss0 = t_rss_kib();
            vm0 = t_vmsize_kib();
        }
        if (n + 1 > warm && (n + 1) % 500 == 0) {
            long g = t_rss_kib() - rss0;
            if (g > peak_growth)
                peak_growth = g;
            if (!T_SANITIZER && g > max_growth_kib)
                FATAL("churn: resident memory grew by %ld KiB after %ld threads (from %ld "
                      "KiB at thread %ld); limit %ld KiB: thread caches not released?",
                      g, n + 1, rss0, warm, max_growth_kib);
        }
    }
    long rss1 = t_rss_kib(), vm1 = t_vmsize_kib();
    printf("%s: churn: %ld threads in %.2fs; VmRSS %ld KiB after %ld threads, %ld KiB at the "
           "end (growth %ld KiB, peak growth %ld KiB, limit %ld KiB); VmSize %ld -> %ld KiB\n",
           t_name, nthr, t_now() - t0, rss0, warm, rss1, rss1 - rss0, peak_growth,
           max_growth_kib, vm0, vm1);
    if (T_SANITIZER)
        printf("%s: churn: under a sanitizer the RSS bound is not asserted\n", t_name);
    else
        CHECK(rss1 - rss0 <= max_growth_kib,
              "churn: resident memory grew by %ld KiB over %ld threads (limit %ld KiB)",
              rss1 - rss0, nthr - warm, max_growth_kib);
}

/* ---------------------------------------------------------------- handoff */

/* The main thread allocates a population and waits; workers free it and
 * allocate their own in its place, a pass at a time with pauses between, as
 * in a server whose main thread set up the data. Their arenas grow while
 * the main thread's arena holds partly used slabs and frees pages: the path
 * of growth relief, owed relief and slab trimming (pages inside idle slabs
 * purged while their blocks are freed by other threads). Every block keeps
 * its pattern: checked when freed and, for the blocks still live, at the
 * end. */
#define HO_MAX_WORKERS 16
static struct ho_slot {
    unsigned char *p;
    size_t len;
    uint64_t tag;
} *ho_slots;
static size_t ho_n;
static unsigned ho_workers;
static long ho_passes;

static void ho_fill(struct ho_slot *s, t_rng *r, uint64_t tag)
{
    s->len = (size_t)t_range(r, 200, 1000);
    s->p = M(malloc)(s->len);
    if (!s->p)
        FATAL("handoff: malloc(%zu) failed", s->len);
    s->tag = tag;
    for (size_t i = 0; i + 1 < s->len; i += 61)
        s->p[i] = (unsigned char)(tag + i);
    s->p[s->len - 1] = (unsigned char)(tag >> 8);
}

static void ho_check_free(struct ho_slot *s, const char *who)
{
    for (size_t i = 0; i + 1 < s->len; i += 61)
        if (s->p[i] != (unsigned char)(s->tag + i))
            FATAL("handoff: %s: block %p (%zu B) corrupted at %zu", who, (void *)s->p, s->len, i);
    if (s->p[s->len - 1] != (unsigned char)(s->tag >> 8))
        FATAL("handoff: %s: block %p (%zu B) corrupted at its end", who, (void *)s->p, s->len);
    M(free)(s->p);
}

static void *ho_worker(void *arg)
{
    unsigned w = (unsigned)(uintptr_t)arg;
    size_t lo = ho_n * w / ho_workers, hi = ho_n * (w + 1) / ho_workers;
    t_rng r;
    t_rng_init(&r, seed ^ (0x9e37 * (w + 1)));
    for (long pass = 0; pass < ho_passes; pass++) {
        /* replace about half the share, at random */
        for (size_t k = 0; k < (hi - lo) / 2; k++) {
            struct ho_slot *s = &ho_slots[lo + t_range(&r, 0, hi - lo - 1)];
            ho_check_free(s, "worker");
            ho_fill(s, &r, ((uint64_t)w << 32) | ((uint64_t)pass << 20) | k);
        }
        struct timespec ts = {0, 15 * 1000 * 1000}; /* pages age, payments come */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void test_handoff(void)
{
    ho_workers = env_threads(4, 2, HO_MAX_WORKERS);
    ho_n = (size_t)t_scaled(60000);
    ho_passes = 8;
    ho_slots = calloc(ho_n, sizeof *ho_slots);
    REQUIRE(ho_slots, "calloc");
    t_rng r;
    t_rng_init(&r, seed);
    for (size_t i = 0; i < ho_n; i++)
        ho_fill(&ho_slots[i], &r, i);
    double t0 = t_now();
    run_threads(ho_workers, ho_worker);
    size_t trimmed = 0, purged = 0;
#ifndef T_GLIBC
    uint64_t ep = 1;
    size_t sz = sizeof ep;
    M(mallctl)("epoch", NULL, NULL, &ep, sz);
    sz = sizeof trimmed;
    CHECK(M(mallctl)("stats.arenas.4096.ptrimmed", &trimmed, &sz, NULL, 0) == 0, "ptrimmed");
    sz = sizeof purged;
    CHECK(M(mallctl)("stats.arenas.4096.purged", &purged, &sz, NULL, 0) == 0, "purged");
#endif
    for (size_t i = 0; i < ho_n; i++)
        ho_check_free(&ho_slots[i], "main");
    free(ho_slots);
    printf("%s: handoff: %zu blocks, %u workers x %ld passes in %.2fs; pages trimmed at the end "
           "%zu, purged in all %zu\n",
           t_name, ho_n, ho_workers, ho_passes, t_now() - t0, trimmed, purged);
}

/* Donor bins: in rounds, a third of the threads allocate a population each
 * and wait; the others each take one, free it while allocating their own
 * set (so they take the waiting thread's free regions: steals from donor
 * bins), flush their caches now and then and move to another automatic
 * arena with thread.arena half way; then the owner frees what is left.
 * Every block's pattern is checked when freed; at the end (Mosaic) the
 * bytes allocated are back where they started, so no block was lost or
 * counted twice on its way between arenas. */
#define DN_MAX 16
static struct ho_slot *dn_pop[DN_MAX];
static atomic_int dn_state[DN_MAX]; /* 0 idle, 1 ready, 2 taken */
static unsigned dn_threads;
static size_t dn_n;
static unsigned dn_narenas;

static void *dn_worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    t_rng r;
    t_rng_init(&r, seed ^ (0x51ed * (id + 1)));
    struct ho_slot *mine = calloc(dn_n / 4, sizeof *mine);
    REQUIRE(mine, "calloc");
    for (unsigned round = 0; round < 6; round++) {
        if ((id + round) % 3 == 0) { /* producer: allocate, wait to be taken */
            for (size_t i = 0; i < dn_n; i++)
                ho_fill(&dn_pop[id][i], &r, ((uint64_t)id << 40) | ((uint64_t)round << 32) | i);
            atomic_store(&dn_state[id], 1);
            for (int w = 0; w < 2000 && atomic_load(&dn_state[id]) == 1; w++)
                usleep(100);
            int one = 1;
            if (atomic_compare_exchange_strong(&dn_state[id], &one, 2)) { /* nobody came */
                for (size_t i = 0; i < dn_n; i++)
                    ho_check_free(&dn_pop[id][i], "donors producer");
                atomic_store(&dn_state[id], 0);
            }
            while (atomic_load(&dn_state[id]) != 0)
                usleep(100);
            continue;
        }
        unsigned v = (id + 1 + round) % dn_threads;
        for (int w = 0; w < 2000 && atomic_load(&dn_state[v]) != 1; w++)
            usleep(100);
        int one = 1;
        if (!atomic_compare_exchange_strong(&dn_state[v], &one, 2))
            continue;
        for (size_t i = 0; i < dn_n; i++) {
            ho_check_free(&dn_pop[v][i], "donors consumer");
            struct ho_slot *m = &mine[t_range(&r, 0, dn_n / 4 - 1)];
            if (m->p)
                ho_check_free(m, "donors own");
            ho_fill(m, &r, ((uint64_t)id << 40) | i);
#ifndef T_GLIBC
            if (i % 4096 == 0 && t_permille(&r, 250))
                CHECK(M(mallctl)("thread.tcache.flush", NULL, NULL, NULL, 0) == 0, "tcache.flush");
            if (i == dn_n / 2 && t_permille(&r, 300)) {
                unsigned a = (unsigned)t_range(&r, 0, dn_narenas - 1);
                CHECK(M(mallctl)("thread.arena", NULL, NULL, &a, sizeof a) == 0, "thread.arena %u", a);
            }
#endif
        }
        atomic_store(&dn_state[v], 0);
    }
    for (size_t k = 0; k < dn_n / 4; k++)
        if (mine[k].p)
            ho_check_free(&mine[k], "donors own");
    free(mine);
    return NULL;
}

static void *dn_idle(void *arg)
{
    M(free)(M(malloc)(64));
    return arg;
}

static void test_donors(void)
{
    dn_threads = env_threads(8, 3, DN_MAX);
    dn_n = (size_t)t_scaled(20000);
    if (dn_n < 64)
        dn_n = 64;
    dn_narenas = 1;
    size_t before = 0, after = 0;
    /* threads that only start and end first, so that what the C library
     * keeps for exited threads (their stacks' records) is counted in before */
    run_threads(dn_threads, dn_idle);
#ifndef T_GLIBC
    uint64_t ep = 1;
    size_t sz = sizeof dn_narenas;
    REQUIRE(M(mallctl)("arenas.narenas", &dn_narenas, &sz, NULL, 0) == 0, "arenas.narenas");
    M(mallctl)("thread.tcache.flush", NULL, NULL, NULL, 0);
    M(mallctl)("epoch", NULL, NULL, &ep, sizeof ep);
    sz = sizeof before;
    REQUIRE(M(mallctl)("stats.allocated", &before, &sz, NULL, 0) == 0, "stats.allocated");
#endif
    for (unsigned i = 0; i < dn_threads; i++) {
        dn_pop[i] = calloc(dn_n, sizeof *dn_pop[i]);
        REQUIRE(dn_pop[i], "calloc");
        atomic_store(&dn_state[i], 0);
    }
    double t0 = t_now();
    run_threads(dn_threads, dn_worker);
    for (unsigned i = 0; i < dn_threads; i++)
        free(dn_pop[i]);
    uint64_t stolen = 0;
#ifndef T_GLIBC
    M(mallctl)("thread.tcache.flush", NULL, NULL, NULL, 0);
    M(mallctl)("epoch", NULL, NULL, &ep, sizeof ep);
    sz = sizeof after;
    REQUIRE(M(mallctl)("stats.allocated", &after, &sz, NULL, 0) == 0, "stats.allocated");
    CHECK(after == before, "donors: %zu bytes allocated before, %zu after every block was freed", before,
          after);
    unsigned nbins = 0;
    sz = sizeof nbins;
    M(mallctl)("arenas.nbins", &nbins, &sz, NULL, 0);
    for (unsigned j = 0; j < nbins; j++) {
        char name[64];
        uint64_t v = 0;
        snprintf(name, sizeof name, "stats.arenas.4096.bins.%u.nstolen", j);
        sz = sizeof v;
        if (M(mallctl)(name, &v, &sz, NULL, 0) == 0)
            stolen += v;
    }
#endif
    printf("%s: donors: %u threads x 6 rounds of %zu blocks in %.2fs; regions stolen %" PRIu64
           ", bytes allocated before %zu, after %zu\n",
           t_name, dn_threads, dn_n, t_now() - t0, stolen, before, after);
}

int main(int argc, char **argv)
{
    t_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    t_check_allocator();
    seed = t_seed();
    printf("%s: seed %#" PRIx64 "\n", t_name, seed);
    fflush(stdout);
    const char *what = argc > 1 ? argv[1] : "all";
    int any = 0;
    if (!strcmp(what, "rings") || !strcmp(what, "all")) {
        test_rings();
        any = 1;
    }
    if (!strcmp(what, "churn") || !strcmp(what, "all")) {
        test_churn();
        any = 1;
    }
    if (!strcmp(what, "handoff") || !strcmp(what, "all")) {
        test_handoff();
        any = 1;
    }
    if (!strcmp(what, "donors") || !strcmp(what, "all")) {
        test_donors();
        any = 1;
    }
    REQUIRE(any, "unknown sub-test '%s' (rings, churn, handoff, donors)", what);
    return t_finish();
}
