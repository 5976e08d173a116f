/*
 * stats_test.c -- statistics exact to the unit after an epoch write: a known
 * allocation pattern in a fresh arena without caches, every bin counter
 * through fills, hits and flushes of an explicit cache (also one flush of
 * two arenas' blocks), slab counts, one block of every class, purge
 * counters, every leaf of MALLCTL_ARENAS_ALL as the sum of the arenas and
 * of MALLCTL_ARENAS_DESTROYED after destroys, the global totals, metadata
 * in arena 0's resident and mapped bytes. The printers' output is checked
 * against these leaves by stats_print.c and check_stats.py. Linked to
 * libmosaic.so; part of the ctl suite (tests/ctl/run.sh).
 */
#include "tmallctl.h"
#include "tnames.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/types.h>

#define PAGES_MIB ((1 << 20) / 4096)

/* Metadata is accounted to arena 0: its resident bytes are its active and
 * dirty pages plus the touched metadata pages, which hold stats.metadata
 * bytes. */
static void test_metadata_resident(void) {
    void *p = malloc(100);
    epoch();
    size_t meta = rd_z("stats.metadata");
    CHECK(meta > 0);
    CHECK_EQ_U(rd_z("stats.arenas.0.base"), meta);
    size_t own = (rd_z("stats.arenas.0.pactive") + rd_z("stats.arenas.0.pdirty")) * 4096;
    CHECK_EQ_U(rd_z("stats.arenas.0.resident") - own, (meta + 4095) / 4096 * 4096);
    free(p);
}

/* Known allocation pattern in a fresh arena, no caches: every counter exact. */
static void test_stats_exact(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    unsigned j = bin_of(112), j2 = bin_of(4096);
    size_t lsize = nallocx(100000, 0);
    CHECK_EQ_U(lsize, 114688);
    unsigned l = lextent_of(lsize);
    size_t slab = rd_z("arenas.bin.%u.slab_size", j), slab2 = rd_z("arenas.bin.%u.slab_size", j2);
    uint32_t nregs2 = rd_u32("arenas.bin.%u.nregs", j2);

    epoch();
    size_t g_alloc0 = rd_z("stats.allocated");
    void *p[10], *r[5];
    for (int i = 0; i < 10; i++) p[i] = mallocx(100, fl);
    for (int i = 0; i < 5; i++) r[i] = mallocx(4000, fl);
    void *q = mallocx(100000, fl);
    epoch();
    size_t g_alloc1 = rd_z("stats.allocated");
    CHECK_EQ_U(g_alloc1 - g_alloc0, 10 * 112 + 5 * 4096 + lsize);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", a, j), 10);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", a, j), 10);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 10);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nslabs", a, j), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 10);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j), 0);
    unsigned slabs2 = (5 + nregs2 - 1) / nregs2;
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j2), 5);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j2), slabs2);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), 10 * 112 + 5 * 4096);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nmalloc", a), 15);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.ndalloc", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nrequests", a), 15);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nfills", a), 15);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nflushes", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), lsize);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nmalloc", a), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.ndalloc", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nrequests", a), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", a, l), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nrequests", a, l), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l), 1);
    size_t pactive = (slab + slabs2 * slab2 + lsize) / 4096;
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), pactive);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), 0);
    CHECK_EQ_U(rd_u("stats.arenas.%u.nthreads", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.resident", a), pactive * 4096);
    CHECK_EQ_U(rd_z("stats.arenas.%u.base", a), 0); /* metadata is arena 0's */
    size_t mapped = rd_z("stats.arenas.%u.mapped", a), retained = rd_z("stats.arenas.%u.retained", a);
    CHECK(mapped >= pactive * 4096, "mapped %zu", mapped);
    CHECK_EQ_U((mapped + retained) % (2u << 20), 0); /* whole 2 MiB chunks */
    /* values are a snapshot: they do not move until the next epoch */
    for (int i = 0; i < 5; i++) dallocx(p[i], fl);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 10);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 5);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j), 5);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), 5 * 112 + 5 * 4096);
    dallocx(q, fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.ndalloc", a), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.ndalloc", a, l), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), lsize / 4096);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), pactive - lsize / 4096);
    CHECK_EQ_U(rd_z("stats.allocated"), g_alloc1 - lsize - 5 * 112);
    for (int i = 5; i < 10; i++) dallocx(p[i], fl);
    for (int i = 0; i < 5; i++) dallocx(r[i], fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 1); /* the current slab stays */
    CHECK_EQ_U(rd_z("stats.allocated"), g_alloc0);
}

/* ---- every statistics leaf: patterns that tell the leaves apart ----
 * Each check below is there because a wrong value of that leaf (a counter
 * read from the wrong field, a sum that drops a term, a merged slot that
 * keeps only one arena) survived the other tests. */

static void set_decay(unsigned a, ssize_t dirty, ssize_t muzzy) {
    REQUIRE(ctl(NULL, NULL, &dirty, sizeof(dirty), "arena.%u.dirty_decay_ms", a) == 0);
    REQUIRE(ctl(NULL, NULL, &muzzy, sizeof(muzzy), "arena.%u.muzzy_decay_ms", a) == 0);
}

/* A bin fed through an explicit cache: a fill takes a batch of B regions
 * (nmalloc B, one fill, one request: the miss), the next B - 1 requests are
 * cache hits (counted nowhere until the next fill or flush), the next miss
 * fills again (nrequests B + 1), the flush returns all 2B (one flush). So
 * nmalloc, nrequests, nfills and nflushes all differ at some point. */
static void test_stats_bin_cache_exact(void) {
    unsigned a = new_arena();
    set_arena(a); /* an explicit cache fills from the thread's arena */
    unsigned tc;
    size_t sz = sizeof(tc);
    REQUIRE(mallctl("tcache.create", &tc, &sz, NULL, 0) == 0);
    int fl = MALLOCX_TCACHE(tc);
    unsigned j = bin_of(112);
    void *p[1024];
    p[0] = mallocx(112, fl);
    REQUIRE(p[0]);
    epoch();
    uint64_t B = rd_u64("stats.arenas.%u.bins.%u.nmalloc", a, j);
    REQUIRE(B >= 2 && B <= 1024, "batch %llu", (unsigned long long)B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", a, j), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nmalloc", a), B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nrequests", a), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nfills", a), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), B * 112); /* cached blocks count */
    for (uint64_t i = 1; i < B; i++) REQUIRE((p[i] = mallocx(112, fl)));
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 1); /* hits: no fill */
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", a, j), 1); /* merged later */
    /* the cache is empty: one more request is a second fill, which brings
     * in the B - 1 hits and itself */
    REQUIRE((p[B] = mallocx(112, fl)));
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", a, j), 2 * B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", a, j), B + 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nrequests", a), B + 1);
    for (uint64_t i = 0; i <= B; i++) dallocx(p[i], fl);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j), 0);
    CHECK(mallctl("tcache.flush", NULL, NULL, &tc, sizeof(tc)) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", a, j), 2 * B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j), 2 * B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", a, j), B + 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nmalloc", a), 2 * B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.ndalloc", a), 2 * B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nrequests", a), B + 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nfills", a), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nflushes", a), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), 0);
    /* the 2B flushed regions wait on the bin's transfer stack (it holds
     * 256 KiB worth): free, out of curregs, counted by nparked */
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nparked", a, j), 2 * B);
    /* one flush of blocks of two arenas (an explicit cache takes any block
     * into its bin): one pass, one nflushes, per arena; the cache's
     * requests (p[0] a miss, p[1] a hit) go to the first arena only */
    unsigned b = new_arena();
    void *q = mallocx(112, MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE);
    REQUIRE(q);
    p[0] = mallocx(112, fl);
    p[1] = mallocx(112, fl);
    epoch();
    /* the fill for p[0] took B of them, the most recently parked first */
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nparked", a, j), B);
    dallocx(p[0], fl);
    dallocx(p[1], fl);
    dallocx(q, fl);
    CHECK(mallctl("tcache.flush", NULL, NULL, &tc, sizeof(tc)) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", a, j), 3 * B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j), 3 * B);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", a, j), B + 3);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 3);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nflushes", a), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nflushes", b, j), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", b, j), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", b, j), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", b, j), 0);
    /* p[0]'s fill took B of the 2B parked; the flush brought back all B
     * (p[0], p[1] and the B - 2 still cached) to a, and q to b; the merged
     * arena has them all */
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nparked", a, j), 2 * B);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nparked", b, j), 1);
    CHECK(rd_z("stats.arenas.%u.bins.%u.nparked", ALL, j) >= 2 * B + 1);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.reset", b) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nparked", b, j), 0);
    CHECK(mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc)) == 0);
    unsigned zero = 0;
    set_arena(zero);
}

/* Slab counts of one bin without caches: 3 full slabs (regions are handed
 * out slab by slab, so p[0..n-1] are the first slab's); a free in a full
 * slab other than the current one puts it on the non-full list; emptied
 * slabs go back, so nslabs (ever) and curslabs (now) part. */
static void test_stats_slabs_exact(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    unsigned j = bin_of(1024);
    uint32_t n = rd_u32("arenas.bin.%u.nregs", j);
    size_t slab = rd_z("arenas.bin.%u.slab_size", j);
    REQUIRE(n >= 2 && n <= 256);
    void *p[3 * 256];
    for (uint32_t i = 0; i < 3 * n; i++) REQUIRE((p[i] = mallocx(1024, fl)));
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nslabs", a, j), 3);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 3);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 3 * n);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 3 * n); /* one per direct request */
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), 3 * slab / 4096);
    dallocx(p[0], fl); /* first slab: full -> non-full */
    dallocx(p[n], fl); /* second slab too */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 2);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 3);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 3 * n - 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j), 0);
    for (uint32_t i = 1; i < n; i++) dallocx(p[i], fl); /* first slab empty: given back */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nslabs", a, j), 3);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), 2 * slab / 4096);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), slab / 4096);
    for (uint32_t i = n + 1; i < 2 * n; i++) dallocx(p[i], fl);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nslabs", a, j), 3);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", a, j), 3 * n);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j), 2 * n);
    for (uint32_t i = 2 * n; i < 3 * n; i++) dallocx(p[i], fl);
}

/* One block of every small class and of every large class up to 16 MiB, in
 * a fresh arena without caches: each class's row and the totals exact
 * (allocated = the sum of the classes' sizes, pactive = slabs + blocks). */
static void test_stats_every_class(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    unsigned nbins = rd_u("arenas.nbins"), nl = rd_u("arenas.nlextents");
    static void *sp[64], *lp[256];
    REQUIRE(nbins <= 64 && nl <= 256);
    epoch();
    size_t g0 = rd_z("stats.allocated");
    size_t small = 0, large = 0, pages = 0;
    unsigned nlarge = 0;
    for (unsigned j = 0; j < nbins; j++) {
        size_t s = rd_z("arenas.bin.%u.size", j);
        REQUIRE((sp[j] = mallocx(s, fl)));
        small += s;
        pages += rd_z("arenas.bin.%u.slab_size", j) / 4096;
    }
    for (unsigned j = 0; j < nl; j++) {
        size_t s = rd_z("arenas.lextent.%u.size", j);
        if (s > (16u << 20)) break;
        REQUIRE((lp[j] = mallocx(s, fl)));
        large += s;
        pages += s / 4096;
        nlarge++;
    }
    epoch();
    CHECK_EQ_U(rd_z("stats.allocated") - g0, small + large);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), small);
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), large);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), pages);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nmalloc", a), nbins);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nmalloc", a), nlarge);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nrequests", a), nlarge);
    for (unsigned j = 0; j < nbins; j++) {
        CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 1);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", a, j), 1);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", a, j), 1);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 1);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nslabs", a, j), 1);
        CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 1);
    }
    for (unsigned j = 0; j < nl; j++) {
        unsigned want = j < nlarge;
        CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", a, j), want);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nrequests", a, j), want);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.ndalloc", a, j), 0);
        CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, j), want);
    }
    for (unsigned j = 0; j < nlarge; j++) dallocx(lp[j], fl);
    for (unsigned j = 0; j < nbins; j++) dallocx(sp[j], fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.allocated"), g0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.ndalloc", a), nlarge);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.ndalloc", a), nbins);
    for (unsigned j = 0; j < nl; j++) {
        unsigned want = j < nlarge;
        CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.ndalloc", a, j), want);
        CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, j), 0);
    }
}

/* Purge counters told apart: in a fresh arena (a chunk of its own, blocks
 * at the lowest addresses first), blocks A B C of 512 KiB side by side; A
 * and C freed are two dirty extents (B between them), so one purge sweep
 * makes two madvise calls over 256 pages, which become retained. Then with
 * dirty 0 and muzzy -1 a free of B is purged lazily at once: one more sweep
 * and call, 128 muzzy pages, which stay muzzy. */
static void test_stats_purge_exact(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    set_decay(a, -1, -1);
    size_t k = 512 << 10, kp = k / 4096;
    CHECK_EQ_U(nallocx(k, 0), k);
    char *A = mallocx(k, fl), *B = mallocx(k, fl), *C = mallocx(k, fl);
    REQUIRE(A && B && C);
    REQUIRE(B == A + k && C == B + k, "lowest address first");
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.npurge", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.nmadvise", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", a), 0);
    size_t mapped0 = rd_z("stats.arenas.%u.mapped", a), ret0 = rd_z("stats.arenas.%u.retained", a);
    CHECK_EQ_U(mapped0, 3 * k); /* the rest of the chunk is retained (never touched) */
    dallocx(A, fl);
    dallocx(C, fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 2 * kp);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), kp);
    CHECK_EQ_U(rd_z("stats.arenas.%u.resident", a), 3 * k);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.npurge", a), 0);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.npurge", a), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.nmadvise", a), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", a), 2 * kp);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", a), mapped0 - 2 * k);
    CHECK_EQ_U(rd_z("stats.arenas.%u.retained", a), ret0 + 2 * k);
    CHECK_EQ_U(rd_z("stats.arenas.%u.resident", a), k);
    set_decay(a, 0, -1);
    dallocx(B, fl);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.npurge", a), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.nmadvise", a), 3);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", a), 3 * kp);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), kp);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", a), k); /* muzzy pages are still mapped */
    CHECK_EQ_U(rd_z("stats.arenas.%u.resident", a), 0); /* ... and not counted resident */
}

/* Fills arena a (explicit) with a pattern that makes every event and memory
 * counter nonzero: cached small blocks flushed, direct ones, a non-full slab,
 * large blocks of one class (one freed), a purge sweep, dirty and muzzy
 * pages; scale (>= 1) makes the counts of two arenas differ. */
static void stats_pattern(unsigned a, unsigned scale) {
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    set_arena(a);
    unsigned tc;
    size_t sz = sizeof(tc);
    REQUIRE(mallctl("tcache.create", &tc, &sz, NULL, 0) == 0);
    for (unsigned i = 0; i < scale; i++) {
        void *p = mallocx(112, MALLOCX_TCACHE(tc));
        REQUIRE(p);
        dallocx(p, MALLOCX_TCACHE(tc));
        CHECK(mallctl("tcache.flush", NULL, NULL, &tc, sizeof(tc)) == 0);
    }
    REQUIRE(mallocx(112, MALLOCX_TCACHE(tc))); /* left in the cache: curregs */
    unsigned zero = 0;
    set_arena(zero);
    unsigned j = bin_of(1024);
    uint32_t n = rd_u32("arenas.bin.%u.nregs", j);
    void *s[512];
    REQUIRE(2 * n + scale <= 512);
    for (uint32_t i = 0; i < 2 * n + scale; i++) REQUIRE((s[i] = mallocx(1024, fl)));
    dallocx(s[0], fl); /* the first slab is full and not current: non-full now */
    set_decay(a, -1, -1);
    void *l[8];
    for (unsigned i = 0; i < 1 + scale; i++) REQUIRE((l[i] = mallocx(100000, fl)));
    dallocx(l[0], fl);
    char *A = mallocx(512 << 10, fl), *B = mallocx(512 << 10, fl), *C = mallocx(512 << 10, fl),
         *D = mallocx(512 << 10, fl);
    REQUIRE(A && B && C && D);
    dallocx(A, fl);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0); /* npurge, nmadvise, purged */
    dallocx(C, fl); /* dirty, kept (-1) */
    set_decay(a, 0, -1); /* C is purged lazily now: muzzy; */
    set_decay(a, -1, -1);
    dallocx(B, fl); /* and B stays dirty (an extent of its own: A is retained, C muzzy) */
    (void)D;
    for (unsigned i = 0; i < scale; i++) REQUIRE(mallocx(8 << 20, fl)); /* a bigger class too */
}

/* Global totals and MALLCTL_ARENAS_ALL as the sums of the arenas, for every
 * stats.arenas.<i> leaf (bins and large classes included), with two
 * explicit arenas whose every counter is nonzero and differs: the merged
 * slot cannot be any one arena's values. Then both are destroyed (with
 * decay -1, so the destroy's purge counts exactly their pages) and
 * MALLCTL_ARENAS_DESTROYED holds the sums of their event counts. */
static void test_stats_merged_every_leaf(void) {
    unsigned a = new_arena(), b = new_arena();
    stats_pattern(a, 1);
    stats_pattern(b, 3);
    ssize_t dms = 4321, mms = 1234;
    CHECK(mallctl("arenas.dirty_decay_ms", NULL, NULL, &dms, sizeof(dms)) == 0);
    CHECK(mallctl("arenas.muzzy_decay_ms", NULL, NULL, &mms, sizeof(mms)) == 0);
    epoch();
    unsigned narenas = rd_u("arenas.narenas"), nbins = rd_u("arenas.nbins"), nl = rd_u("arenas.nlextents");
    CHECK_EQ_I(rd_ss("stats.arenas.%u.dirty_decay_ms", ALL), 4321);
    CHECK_EQ_I(rd_ss("stats.arenas.%u.muzzy_decay_ms", ALL), 1234);
    CHECK_EQ_I(rd_ss("stats.arenas.%u.dirty_decay_ms", a), -1);
    unsigned b112 = bin_of(112), b1024 = bin_of(1024), l100k = lextent_of(nallocx(100000, 0));
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        const tname_t *t = &names[k];
        if (strncmp(t->name, "stats.arenas.<i>.", 17) || strstr(t->name, "decay_ms")) continue;
        bool per_class = strstr(t->name, "<j>") != NULL;
        bool is_bin = strstr(t->name, ".bins.") != NULL;
        unsigned nj = !per_class ? 1 : is_bin ? nbins : nl;
        for (unsigned j = 0; j < nj; j++) {
            uint64_t sum = 0, va = 0, vb = 0;
            char name[160];
            for (unsigned i = 0; i < narenas; i++) {
                concrete(name, sizeof(name), t->name, i, j);
                uint64_t v = 0;
                size_t vsz = tsize(t->type);
                int r = mallctl(name, &v, &vsz, NULL, 0); /* (little-endian: low bytes) */
                if (r == ENOENT) continue;
                CHECK(r == 0, "%s", name);
                sum += v;
                if (i == a) va = v;
                if (i == b) vb = v;
            }
            concrete(name, sizeof(name), t->name, ALL, j);
            uint64_t all = 0;
            size_t vsz = tsize(t->type);
            CHECK(mallctl(name, &all, &vsz, NULL, 0) == 0, "%s", name);
            CHECK(all == sum, "%s: %llu, the arenas' sum is %llu", name, (unsigned long long)all,
                  (unsigned long long)sum);
            /* the pattern: every arena-wide leaf (but nthreads, and base:
             * metadata is arena 0's) and the used classes' leaves nonzero in
             * both a and b, so no one arena's value is the sum */
            bool used = !per_class || (!is_bin && j == l100k) ||
                        (j == b112 && is_bin && !strstr(t->name, "nonfull") && /* cached */
                         !strstr(t->name, "nparked")) || /* (the last fill took them) */
                        (j == b1024 && is_bin && !strstr(t->name, "nflushes") && /* direct */
                         !strstr(t->name, "nparked"));
            /* (ptrimmed: only owed relief trims slabs; arena_test's
             * slab_trim checks it exactly, and its sum here) */
            /* (nstolen: explicit arenas are never donors; arena_test's
             * steal_from_donor checks it exactly) */
            if (used && !strstr(t->name, "nthreads") && !strstr(t->name, ".base") &&
                !strstr(t->name, "ptrimmed") && !strstr(t->name, "nstolen"))
                CHECK(va && vb, "%s: a %llu, b %llu", t->name, (unsigned long long)va,
                      (unsigned long long)vb);
        }
    }
    /* global totals: the arenas' sums (with dirty and muzzy pages about) */
    CHECK(rd_z("stats.arenas.%u.pdirty", ALL) > 0 && rd_z("stats.arenas.%u.pmuzzy", ALL) > 0);
    CHECK_EQ_U(rd_z("stats.allocated"), rd_z("stats.arenas.%u.small.allocated", ALL) +
                                            rd_z("stats.arenas.%u.large.allocated", ALL));
    CHECK_EQ_U(rd_z("stats.active"), rd_z("stats.arenas.%u.pactive", ALL) * 4096);
    CHECK_EQ_U(rd_z("stats.resident"), rd_z("stats.arenas.%u.resident", ALL));
    CHECK_EQ_U(rd_z("stats.mapped"), rd_z("stats.arenas.%u.mapped", ALL));
    CHECK_EQ_U(rd_z("stats.retained"), rd_z("stats.arenas.%u.retained", ALL));
    CHECK_EQ_U(rd_z("stats.metadata"), rd_z("stats.arenas.%u.base", ALL));
    /* destroyed: each arena's event counts added at its destroy. The
     * destroy frees every block (ndalloc = nmalloc) and purges every page
     * (active, dirty and muzzy), counted in purged. */
    CHECK(mallctl("tcache.flush", NULL, NULL, NULL, 0) == EFAULT); /* (no index: not a flush) */
    uint64_t purged = 0, nmalloc = 0, lnmalloc = 0, nreq = 0, nslabs = 0, nfills = 0;
    uint64_t bnm[64] = {0}, lnm[256] = {0};
    REQUIRE(nbins <= 64 && nl <= 256);
    unsigned ab[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        unsigned i = ab[k];
        purged += rd_u64("stats.arenas.%u.purged", i) + rd_z("stats.arenas.%u.pactive", i) +
                  rd_z("stats.arenas.%u.pdirty", i) + rd_z("stats.arenas.%u.pmuzzy", i);
        nmalloc += rd_u64("stats.arenas.%u.small.nmalloc", i);
        lnmalloc += rd_u64("stats.arenas.%u.large.nmalloc", i);
        nreq += rd_u64("stats.arenas.%u.large.nrequests", i);
        for (unsigned j = 0; j < nbins; j++) {
            bnm[j] += rd_u64("stats.arenas.%u.bins.%u.nmalloc", i, j);
            nslabs += rd_u64("stats.arenas.%u.bins.%u.nslabs", i, j);
            nfills += rd_u64("stats.arenas.%u.bins.%u.nfills", i, j);
        }
        for (unsigned j = 0; j < nl; j++) lnm[j] += rd_u64("stats.arenas.%u.lextents.%u.nmalloc", i, j);
    }
    for (int k = 0; k < 2; k++) CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", ab[k]) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", DESTROYED), purged);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nmalloc", DESTROYED), nmalloc);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.ndalloc", DESTROYED), nmalloc);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nmalloc", DESTROYED), lnmalloc);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.ndalloc", DESTROYED), lnmalloc);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nrequests", DESTROYED), nreq);
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", DESTROYED), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", DESTROYED), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", DESTROYED), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.base", DESTROYED), 0);
    CHECK_EQ_U(rd_u("stats.arenas.%u.nthreads", DESTROYED), 0);
    CHECK_EQ_I(rd_ss("stats.arenas.%u.dirty_decay_ms", DESTROYED), 4321);
    CHECK_EQ_I(rd_ss("stats.arenas.%u.muzzy_decay_ms", DESTROYED), 1234);
    uint64_t dnslabs = 0, dnfills = 0;
    for (unsigned j = 0; j < nbins; j++) {
        CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", DESTROYED, j), bnm[j]);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", DESTROYED, j), bnm[j]);
        CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", DESTROYED, j), 0);
        CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", DESTROYED, j), 0);
        CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", DESTROYED, j), 0);
        dnslabs += rd_u64("stats.arenas.%u.bins.%u.nslabs", DESTROYED, j);
        dnfills += rd_u64("stats.arenas.%u.bins.%u.nfills", DESTROYED, j);
    }
    CHECK_EQ_U(dnslabs, nslabs);
    CHECK_EQ_U(dnfills, nfills);
    for (unsigned j = 0; j < nl; j++) {
        CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", DESTROYED, j), lnm[j]);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.ndalloc", DESTROYED, j), lnm[j]);
        CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", DESTROYED, j), 0);
    }
}

/* Arena 0's mapped bytes are its extents' pages plus the metadata mappings,
 * which base.c takes in blocks of 256 KiB (more for a larger record): as
 * records are added the metadata part grows by whole blocks or not at all,
 * and holds at least stats.metadata bytes. */
static void test_stats_metadata_mapped(void) {
    /* extent records: many separate large blocks in an arena of its own
     * (created first: an arena's own records are larger than a block) */
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    REQUIRE(mallocx(16384, fl));
    epoch();
    size_t m0 = rd_z("stats.metadata");
    size_t x0 = rd_z("stats.arenas.0.mapped") -
                (rd_z("stats.arenas.0.pactive") + rd_z("stats.arenas.0.pdirty") +
                 rd_z("stats.arenas.0.pmuzzy")) * 4096;
    CHECK(x0 >= m0 && x0 % 4096 == 0, "metadata mapped %zu, metadata %zu", x0, m0);
    for (int i = 0; i < 400; i++) REQUIRE(mallocx(16384 + 4096 * (i % 3), fl));
    epoch();
    size_t m1 = rd_z("stats.metadata");
    size_t x1 = rd_z("stats.arenas.0.mapped") -
                (rd_z("stats.arenas.0.pactive") + rd_z("stats.arenas.0.pdirty") +
                 rd_z("stats.arenas.0.pmuzzy")) * 4096;
    CHECK(m1 >= m0 + 8192 && m1 - m0 < (128u << 10), "metadata %zu -> %zu", m0, m1);
    CHECK(x1 >= m1);
    CHECK((x1 - x0) % 4096 == 0, "metadata mapped %zu -> %zu", x0, x1); /* whole pages */
    CHECK_EQ_U(rd_z("stats.mapped"), rd_z("stats.arenas.%u.mapped", ALL));
}

/* Global totals and MALLCTL_ARENAS_ALL are the sums of the arenas. */
static void test_stats_merged(void) {
    unsigned a = new_arena(), b = new_arena();
    void *x = mallocx(300, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    void *y = mallocx(70000, MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE);
    void *z = malloc(1000);
    epoch();
    unsigned n = rd_u("arenas.narenas"), nbins = rd_u("arenas.nbins");
    size_t sum_pactive = 0, sum_small = 0, sum_large = 0, sum_mapped = 0, sum_resident = 0;
    size_t sum_curregs[64] = {0};
    unsigned sum_threads = 0, live = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t v, sz = sizeof(v);
        int r = ctl(&v, &sz, NULL, 0, "stats.arenas.%u.pactive", i);
        if (r == ENOENT) continue; /* automatic arena not created yet */
        CHECK(r == 0);
        live++;
        sum_pactive += v;
        sum_small += rd_z("stats.arenas.%u.small.allocated", i);
        sum_large += rd_z("stats.arenas.%u.large.allocated", i);
        sum_mapped += rd_z("stats.arenas.%u.mapped", i);
        sum_resident += rd_z("stats.arenas.%u.resident", i);
        sum_threads += rd_u("stats.arenas.%u.nthreads", i);
        for (unsigned j = 0; j < nbins; j++) sum_curregs[j] += rd_z("stats.arenas.%u.bins.%u.curregs", i, j);
    }
    CHECK(live >= 3);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", ALL), sum_pactive);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", ALL), sum_small);
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", ALL), sum_large);
    CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", ALL), sum_mapped);
    CHECK_EQ_U(rd_u("stats.arenas.%u.nthreads", ALL), sum_threads);
    CHECK_EQ_U(sum_threads, 1);
    for (unsigned j = 0; j < nbins; j++)
        CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", ALL, j), sum_curregs[j]);
    CHECK_EQ_U(rd_z("stats.allocated"), sum_small + sum_large);
    CHECK_EQ_U(rd_z("stats.active"), sum_pactive * 4096);
    CHECK_EQ_U(rd_z("stats.mapped"), sum_mapped);
    CHECK_EQ_U(rd_z("stats.resident"), sum_resident);
    size_t allocated = rd_z("stats.allocated"), active = rd_z("stats.active");
    size_t metadata = rd_z("stats.metadata"), resident = rd_z("stats.resident");
    size_t mapped = rd_z("stats.mapped");
    CHECK(active >= allocated && active % 4096 == 0);
    CHECK(resident >= active && resident % 4096 == 0);
    CHECK(mapped >= active);
    CHECK(metadata > 0 && metadata < mapped);
    CHECK_EQ_U(rd_z("stats.arenas.0.base"), metadata);
    CHECK_EQ_U(rd_z("stats.arenas.%u.base", ALL), metadata);
    CHECK_EQ_U(rd_z("stats.retained"), rd_z("stats.arenas.%u.retained", ALL));
    /* an automatic arena that does not exist, and an index out of range */
    size_t v, sz = sizeof(v);
    CHECK(ctl(&v, &sz, NULL, 0, "stats.arenas.%u.pactive", n + 3) == ENOENT);
    CHECK(ctl(&v, &sz, NULL, 0, "stats.arenas.%u.pactive", DESTROYED) == ENOENT);
    CHECK(ctl(&v, &sz, NULL, 0, "stats.arenas.0.bins.35.curregs") == ENOENT);
    CHECK(ctl(&v, &sz, NULL, 0, "stats.arenas.0.lextents.196.curlextents") == ENOENT);
    /* an arena created after the last epoch appears at the next one */
    unsigned c = new_arena();
    CHECK(ctl(&v, &sz, NULL, 0, "stats.arenas.%u.pactive", c) == ENOENT);
    epoch();
    CHECK(ctl(&v, &sz, NULL, 0, "stats.arenas.%u.pactive", c) == 0);
    dallocx(x, MALLOCX_TCACHE_NONE);
    dallocx(y, MALLOCX_TCACHE_NONE);
    free(z);
}


static const tcase_t tests[] = {
    {"metadata_resident", test_metadata_resident},
    {"stats_exact", test_stats_exact},
    {"stats_merged_all", test_stats_merged},
    {"stats_bin_cache_exact", test_stats_bin_cache_exact},
    {"stats_slabs_exact", test_stats_slabs_exact},
    {"stats_every_class", test_stats_every_class},
    {"stats_purge_exact", test_stats_purge_exact},
    {"stats_merged_every_leaf", test_stats_merged_every_leaf},
    {"stats_metadata_mapped", test_stats_metadata_mapped},
};

int main(int argc, char **argv) {
    return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
