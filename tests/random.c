/*
 * random.c -- randomized single-threaded workload with a shadow record of
 * every live block.
 *
 * Each block is filled (over its whole usable size) with a pattern derived
 * from its address at allocation, the run's seed and a generation number,
 * and checked before every free and realloc; realloc must preserve the
 * prefix. Periodically all live blocks are sorted by address and checked for
 * overlap. Sizes go from 0 B to 64 MiB, mostly small. A first phase walks
 * realloc up and down across every size-class boundary (found by probing
 * malloc_usable_size).
 *
 * Environment: MOSAIC_TEST_OPS (default 2,000,000 x MOSAIC_TEST_SCALE%),
 * MOSAIC_TEST_SEED, MOSAIC_TEST_LIVE_MIB (cap on live bytes, default 512).
 */
#include "common.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define MAX_SIZE (64 * MiB)

enum kind { K_MALLOC, K_ALIGNED_ALLOC, K_ALIGNED_OTHER };

struct blk {
    unsigned char *p;
    size_t req;    /* requested size */
    size_t len;    /* usable size when filled = pattern layout length */
    size_t align;  /* for free_aligned_sized */
    uint64_t tag;
    enum kind kind;
};

static uint64_t seed, gen;
static size_t page;
static struct blk *slots;
static size_t nslots, live_bytes, live_cap, nlive;
static t_rng rng;

static struct {
    unsigned long allocs, frees, reallocs, checks, overlap_checks, zero_reallocs;
    size_t max_live_bytes, max_nlive;
} st;

static uint64_t new_tag(const void *p)
{
    uint64_t x = (uintptr_t)p ^ (seed * 0x9e3779b97f4a7c15ull) ^ (++gen << 48);
    return t_splitmix(&x);
}

static size_t rand_size(void)
{
    uint64_t r = t_next(&rng) % 100000;
    size_t s;
    if (r < 1000)
        s = 0;
    else if (r < 55000)
        s = t_range(&rng, 1, 128);
    else if (r < 80000)
        s = t_range(&rng, 129, KiB);
    else if (r < 95000)
        s = t_range(&rng, KiB + 1, 16 * KiB);
    else if (r < 98600)
        s = t_range(&rng, 16 * KiB + 1, 256 * KiB);
    else if (r < 99800)
        s = t_range(&rng, 256 * KiB + 1, 2 * MiB);
    else if (r < 99980)
        s = t_range(&rng, 2 * MiB + 1, 8 * MiB);
    else
        s = t_range(&rng, 8 * MiB + 1, MAX_SIZE);
    if (s > 4096 && live_bytes + s > live_cap)
        s = t_range(&rng, 0, 4096);
    return s;
}

static size_t rand_align(void)
{
    uint64_t r = t_next(&rng) % 1000;
    if (r < 900)
        return (size_t)8 << t_range(&rng, 0, 6);  /* 8 .. 512 */
    if (r < 990)
        return (size_t)1024 << t_range(&rng, 0, 6); /* 1 KiB .. 64 KiB */
    return (size_t)128 * KiB << t_range(&rng, 0, 4);  /* 128 KiB .. 2 MiB */
}

static void fail_block(const char *what, const struct blk *b, size_t bad)
{
    FATAL("%s: block %p (request %zu, usable %zu, kind %d) corrupted at offset %zu "
          "(byte 0x%02x); seed %#" PRIx64,
          what, (void *)b->p, b->req, b->len, (int)b->kind, bad, b->p[bad], seed);
}

static void verify(const char *what, const struct blk *b)
{
    size_t us = M(malloc_usable_size)(b->p);
    if (us != b->len)
        FATAL("%s: malloc_usable_size(%p) changed from %zu to %zu while live (request %zu)",
              what, (void *)b->p, b->len, us, b->req);
    size_t bad = t_check(b->p, b->tag, b->len, b->len);
    if (bad != (size_t)-1)
        fail_block(what, b, bad);
    st.checks++;
}

/* Record a fresh block: check alignment and usable size, fill it. */
static void take(struct blk *b, void *p, size_t req, size_t align, enum kind kind,
                 int zeroed, const char *what)
{
    if (!p)
        FATAL("%s(%zu) returned NULL (errno %d %s); seed %#" PRIx64, what, req, errno,
              strerror(errno), seed);
    size_t want = align < 16 ? 16 : align;
    if ((uintptr_t)p & (want - 1))
        FATAL("%s(%zu, align %zu) = %p misaligned", what, req, align, p);
    size_t us = M(malloc_usable_size)(p);
    if (us < req)
        FATAL("%s(%zu) = %p: malloc_usable_size %zu < request", what, req, p, us);
    if (zeroed) {
        const unsigned char *c = p;
        size_t i = t_first_nonzero(p, req);
        if (i != (size_t)-1)
            FATAL("%s(%zu) = %p: byte %zu is 0x%02x, not zero; seed %#" PRIx64, what, req, p,
                  i, c[i], seed);
    }
    b->p = p;
    b->req = req;
    b->len = us;
    b->align = align;
    b->kind = kind;
    b->tag = new_tag(p);
    t_fill(p, b->tag, us);
    live_bytes += us;
    nlive++;
    st.allocs++;
    if (live_bytes > st.max_live_bytes)
        st.max_live_bytes = live_bytes;
    if (nlive > st.max_nlive)
        st.max_nlive = nlive;
}

static void do_alloc(struct blk *b)
{
    size_t s = rand_size(), align = 16;
    uint64_t r = t_next(&rng) % 100;
    void *p;
    if (r < 55) {
        take(b, M(malloc)(s), s, 16, K_MALLOC, 0, "malloc");
    } else if (r < 67) {
        size_t n = 1 + t_next(&rng) % 8, m = s / n;
        take(b, M(calloc)(n, m), n * m, 16, K_MALLOC, 1, "calloc");
    } else if (r < 75) {
        take(b, M(realloc)(NULL, s), s, 16, K_MALLOC, 0, "realloc(NULL)");
    } else if (r < 80) {
        size_t n = 1 + t_next(&rng) % 8, m = s / n;
        take(b, M(reallocarray)(NULL, n, m), n * m, 16, K_MALLOC, 0, "reallocarray(NULL)");
    } else if (r < 88) {
        align = rand_align();
        p = NULL;
        int e = M(posix_memalign)(&p, align, s);
        if (e)
            FATAL("posix_memalign(&p, %zu, %zu) = %d", align, s, e);
        take(b, p, s, align, K_ALIGNED_OTHER, 0, "posix_memalign");
    } else if (r < 94) {
        align = rand_align();
        take(b, M(aligned_alloc)(align, s), s, align, K_ALIGNED_ALLOC, 0, "aligned_alloc");
    } else if (r < 98) {
        align = rand_align();
        take(b, M(memalign)(align, s), s, align, K_ALIGNED_OTHER, 0, "memalign");
    } else if (r < 99) {
        take(b, M(valloc)(s), s, page, K_ALIGNED_OTHER, 0, "valloc");
    } else {
        take(b, M(pvalloc)(s), s, page, K_ALIGNED_OTHER, 0, "pvalloc");
    }
}

static void forget(struct blk *b)
{
    live_bytes -= b->len;
    nlive--;
    b->p = NULL;
}

static void do_free(struct blk *b)
{
    verify("before free", b);
    int sized = t_next(&rng) & 1;
    if (sized && b->kind == K_MALLOC)
        M(free_sized)(b->p, b->req);
    else if (sized && b->kind == K_ALIGNED_ALLOC)
        M(free_aligned_sized)(b->p, b->align, b->req);
    else
        M(free)(b->p);
    forget(b);
    st.frees++;
}

static void do_realloc(struct blk *b)
{
    uint64_t r = t_next(&rng) % 100;
    size_t ns;
    int use_array = 0;
    if (r < 40)
        ns = rand_size();
    else if (r < 60)
        ns = b->len + (t_next(&rng) % 4 == 0 ? 0 : t_range(&rng, 1, 16)); /* to/over the boundary */
    else if (r < 72)
        ns = b->req / 2;
    else if (r < 78)
        ns = b->req > 16 ? b->req - t_range(&rng, 1, 16) : b->req;
    else if (r < 90)
        ns = b->req + t_range(&rng, 1, 64);
    else if (r < 95)
        ns = 0;
    else {
        ns = rand_size();
        use_array = 1;
    }
    if (ns > MAX_SIZE)
        ns = MAX_SIZE;
    if (ns > b->len && ns > 4096 && live_bytes + ns - b->len > live_cap)
        ns = b->req / 2;
    void *q;
    size_t n = 1, m = ns;
    if (use_array) {
        n = 1 + t_next(&rng) % 8;
        m = ns / n;
        ns = n * m;
    }
    /* before: the part realloc need not keep (the rest is checked after) */
    {
        size_t keep = b->req < ns ? b->req : ns;
        size_t us = M(malloc_usable_size)(b->p);
        if (us != b->len)
            FATAL("before realloc: malloc_usable_size(%p) changed from %zu to %zu while live",
                  (void *)b->p, b->len, us);
        size_t bad = t_check_range(b->p, b->tag, b->len, keep, b->len);
        if (bad != (size_t)-1)
            fail_block("before realloc", b, bad);
        st.checks++;
    }
    if (use_array) {
        q = M(reallocarray)(b->p, n, m);
    } else {
        q = M(realloc)(b->p, ns);
    }
    st.reallocs++;
    if (ns == 0) {
        if (q != NULL)
            FATAL("realloc(%p, 0) returned %p, expected NULL (glibc frees)", (void *)b->p, q);
        forget(b);
        st.zero_reallocs++;
        return;
    }
    if (!q)
        FATAL("realloc(%p [req %zu usable %zu], %zu) returned NULL (errno %s); seed %#" PRIx64,
              (void *)b->p, b->req, b->len, ns, strerror(errno), seed);
    struct blk old = *b;
    size_t keep = old.req < ns ? old.req : ns;
    if ((uintptr_t)q & 15)
        FATAL("realloc(.., %zu) = %p not 16-aligned", ns, q);
    old.p = q;
    size_t bad = t_check(q, old.tag, old.len, keep);
    if (bad != (size_t)-1)
        FATAL("realloc(%p [req %zu usable %zu], %zu) = %p: prefix not preserved at offset %zu; "
              "seed %#" PRIx64,
              (void *)b->p, old.req, old.len, ns, q, bad, seed);
    size_t us = M(malloc_usable_size)(q);
    if (us < ns)
        FATAL("realloc(.., %zu) = %p: malloc_usable_size %zu < request", ns, q, us);
    live_bytes = live_bytes - old.len + us;
    if (live_bytes > st.max_live_bytes)
        st.max_live_bytes = live_bytes;
    b->p = q;
    b->req = ns;
    b->len = us;
    b->kind = K_MALLOC;
    b->align = 16;
    /* same tag: the checked prefix already holds the pattern if the layout
     * (dense or sparse) is the same */
    if (us <= T_DENSE_MAX && old.len <= T_DENSE_MAX)
        t_fill_from(q, b->tag, us, keep);
    else if (us > T_DENSE_MAX && old.len > T_DENSE_MAX) /* new dense tail */
        t_fill_from(q, b->tag, us, keep < us - T_SPARSE_EDGE ? keep : us - T_SPARSE_EDGE);
    else
        t_fill(q, b->tag, us);
}

static int cmp_blk(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct blk *)a)->p, y = (uintptr_t)((const struct blk *)b)->p;
    return x < y ? -1 : x > y;
}

static struct blk *sorted;

static void check_overlap(void)
{
    size_t n = 0;
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].p)
            sorted[n++] = slots[i];
    qsort(sorted, n, sizeof sorted[0], cmp_blk);
    for (size_t i = 1; i < n; i++)
        if (sorted[i - 1].p + sorted[i - 1].len > sorted[i].p)
            FATAL("live blocks overlap: %p (usable %zu, request %zu) and %p (usable %zu); "
                  "seed %#" PRIx64,
                  (void *)sorted[i - 1].p, sorted[i - 1].len, sorted[i - 1].req,
                  (void *)sorted[i].p, sorted[i].len, seed);
    st.overlap_checks++;
}

/* ----------------------------------------------------------- boundary walk */

#define MAXB 1536
static size_t bounds[MAXB];
static int nbounds;

static void walk_step(struct blk *b, size_t ns, const char *dir)
{
    void *q = M(realloc)(b->p, ns);
    if (!q)
        FATAL("boundary walk %s: realloc(.., %zu) returned NULL", dir, ns);
    size_t keep = b->req < ns ? b->req : ns;
    size_t bad = t_check(q, b->tag, b->len, keep);
    if (bad != (size_t)-1)
        FATAL("boundary walk %s: realloc(%p [req %zu usable %zu], %zu) = %p: content lost at "
              "offset %zu",
              dir, (void *)b->p, b->req, b->len, ns, q, bad);
    size_t us = M(malloc_usable_size)(q);
    if (us < ns)
        FATAL("boundary walk %s: realloc(.., %zu): usable %zu < request", dir, ns, us);
    if ((uintptr_t)q & 15)
        FATAL("boundary walk %s: realloc(.., %zu) = %p misaligned", dir, ns, q);
    b->p = q;
    b->req = ns;
    b->len = us;
    t_fill(q, b->tag, us);
    st.reallocs++;
}

static void boundary_walk(void)
{
    struct blk b = {0};
    b.p = M(malloc)(1);
    REQUIRE(b.p, "malloc(1) failed");
    b.req = 1;
    b.len = M(malloc_usable_size)(b.p);
    b.tag = new_tag(b.p);
    t_fill(b.p, b.tag, b.len);
    /* up: to the top of each class, then one byte over */
    while (b.req < MAX_SIZE) {
        size_t u = b.len;
        if (u > MAX_SIZE)
            break;
        if (nbounds >= MAXB)
            break;
        bounds[nbounds++] = u;
        walk_step(&b, u, "up (fill class)");
        size_t next = u + 1;
        if (u >= MiB) /* beyond 1 MiB, every boundary would be too slow: jump */
            next = u + u / 4 + t_range(&rng, 0, 4096);
        if (next > MAX_SIZE)
            next = MAX_SIZE;
        walk_step(&b, next, "up (cross)");
    }
    int nup = nbounds;
    /* down: for each boundary, from one over, to it, to one under */
    for (int i = nbounds - 1; i >= 0; i--) {
        size_t u = bounds[i];
        if (u > MAX_SIZE)
            continue;
        walk_step(&b, u + 1, "down (over)");
        walk_step(&b, u, "down (at)");
        if (u > 1)
            walk_step(&b, u - 1, "down (under)");
    }
    walk_step(&b, 0 + 1, "down (to 1)");
    errno = 0;
    void *z = M(realloc)(b.p, 0);
    CHECK(z == NULL, "realloc(p, 0) returned %p", z);
    printf("%s: boundary walk: %d class tops up to %zu crossed up and down\n", t_name, nup,
           bounds[nup - 1]);
}

int main(int argc, char **argv)
{
    (void)argc;
    t_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    t_check_allocator();
    page = (size_t)sysconf(_SC_PAGESIZE);
    seed = t_seed();
    t_rng_init(&rng, seed);
    long ops = t_env_long("MOSAIC_TEST_OPS", t_scaled(2000000));
    live_cap = (size_t)t_env_long("MOSAIC_TEST_LIVE_MIB", 512) * MiB;
    nslots = (size_t)t_env_long("MOSAIC_TEST_SLOTS", 8192);
    printf("%s: seed %#" PRIx64 " (MOSAIC_TEST_SEED to replay), %ld ops, %zu slots, "
           "live cap %zu MiB\n",
           t_name, seed, ops, nslots, live_cap / MiB);
    fflush(stdout);
    /* shadow records are allocated by the allocator under test too */
    slots = M(calloc)(nslots, sizeof *slots);
    sorted = M(malloc)(nslots * sizeof *sorted);
    REQUIRE(slots && sorted, "shadow allocation failed");

    double t0 = t_now();
    boundary_walk();
    double t1 = t_now();

    for (long op = 0; op < ops; op++) {
        struct blk *b = &slots[t_next(&rng) % nslots];
        if (!b->p) {
            do_alloc(b);
        } else {
            uint64_t r = t_next(&rng) % 100;
            if (r < 4)
                verify("check", b);
            else if (r < 52)
                do_free(b);
            else
                do_realloc(b);
        }
        if ((op & 16383) == 16383)
            check_overlap();
    }
    check_overlap();
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].p)
            do_free(&slots[i]);
    M(free)(sorted);
    M(free)(slots);
    double t2 = t_now();
    printf("%s: walk %.2fs, random %.2fs: %lu allocs, %lu frees, %lu reallocs (%lu to 0), "
           "%lu checks, %lu overlap scans; peak %zu blocks, %.1f MiB\n",
           t_name, t1 - t0, t2 - t1, st.allocs, st.frees, st.reallocs, st.zero_reallocs,
           st.checks, st.overlap_checks, st.max_nlive, st.max_live_bytes / (double)MiB);
    return t_finish();
}
