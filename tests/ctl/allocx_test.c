/*
 * allocx_test.c -- the extended API's resizing and size edges, as jemalloc
 * defines them: rallocx with MALLOCX_ALIGN, MALLOCX_ARENA and bad cache or
 * arena flags; xallocx that cannot meet an alignment, of the same size, or
 * down to a small class; dallocx ignoring the arena bits; MALLOCX_ZERO over
 * the whole usable size; large-class statistics across in-place resizes;
 * nallocx at the largest class and with page alignment. Linked to
 * libmosaic.so; part of the ctl suite (tests/ctl/run.sh).
 */
#include "tmallctl.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/types.h>

/* MALLOCX_ZERO zeroes the whole usable size (sallocx), not just the bytes
 * asked for, as jemalloc: a cached block handed out again (the one just
 * freed, the cache is LIFO) had its tail dirtied. */
static void test_zero_whole_usable(void) {
    static const size_t sizes[] = {1, 100, 1000, 5000, 14000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        unsigned char *p = mallocx(sizes[k], 0);
        REQUIRE(p);
        size_t us = sallocx(p, 0);
        CHECK(us > sizes[k], "%zu", sizes[k]);
        memset(p, 0xff, us);
        dallocx(p, 0);
        unsigned char *q = mallocx(sizes[k], MALLOCX_ZERO);
        REQUIRE(q);
        CHECK_EQ_U(sallocx(q, 0), us);
        size_t bad = us;
        for (size_t i = 0; i < us && bad == us; i++)
            if (q[i]) bad = i;
        CHECK(bad == us, "mallocx(%zu, MALLOCX_ZERO): byte %zu of %zu not zero", sizes[k], bad, us);
        dallocx(q, 0);
    }
}

/* rallocx with MALLOCX_ARENA(b) returns a block of arena b, also when the
 * size class does not change or the block could grow in place where it is
 * (memory really comes from the arena named). */
static void test_rallocx_arena(void) {
    unsigned a = new_arena(), b = new_arena();
    static const size_t from[] = {100, 100000, 100000}, to[] = {100, 100000, 120000};
    for (int k = 0; k < 3; k++) {
        unsigned char *p = mallocx(from[k], MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
        REQUIRE(p);
        memset(p, 0x3c, from[k]);
        unsigned char *q = rallocx(p, to[k], MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE);
        REQUIRE(q);
        CHECK_EQ_U(arena_of_block(q), b);
        CHECK(q[0] == 0x3c && q[from[k] - 1] == 0x3c, "case %d: content lost", k);
        dallocx(q, MALLOCX_TCACHE_NONE);
    }
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == 0);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", b) == 0);
}

/* dallocx ignores MALLOCX_ARENA, as jemalloc: a block freed with its
 * explicit cache and an arena index that names no arena still goes to the
 * cache (the arena's curregs does not move until the cache is flushed). */
static void test_dallocx_ignores_arena(void) {
    unsigned prev = rd_u("thread.arena");
    unsigned a = new_arena();
    set_arena(a);
    unsigned j = bin_of(112), tc, none = rd_u("arenas.narenas") + 100;
    size_t sz = sizeof(tc);
    REQUIRE(mallctl("tcache.create", &tc, &sz, NULL, 0) == 0);
    void *p = mallocx(100, MALLOCX_TCACHE(tc));
    REQUIRE(p);
    epoch();
    size_t cur = rd_z("stats.arenas.%u.bins.%u.curregs", a, j);
    dallocx(p, MALLOCX_TCACHE(tc) | MALLOCX_ARENA(none));
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), cur);
    CHECK_EQ_U(rd_u("arenas.narenas"), none - 100); /* and no arena was made */
    CHECK(mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc)) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
    set_arena(prev);
}

/* xallocx never turns a large block into a small one: a target that is a
 * small size class leaves it as it is (jemalloc's answer too); a large
 * target within size + extra shrinks it. */
static void test_xallocx_not_small(void) {
    unsigned char *p = mallocx(100000, MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    size_t old = sallocx(p, 0);
    CHECK_EQ_U(xallocx(p, 100, 0, 0), old);
    CHECK_EQ_U(xallocx(p, 14336, 0, 0), old); /* the largest small class */
    CHECK_EQ_U(sallocx(p, 0), old);
    memset(p, 1, old);
    CHECK_EQ_U(xallocx(p, 100, 16384 - 100, 0), 16384);
    CHECK_EQ_U(sallocx(p, 0), 16384);
    dallocx(p, MALLOCX_TCACHE_NONE);
}

/* rallocx with an explicit cache or arena that does not exist fails (NULL,
 * as jemalloc's out-of-memory path) and leaves the block alone. */
static void test_rallocx_bad_flags(void) {
    unsigned tc, none = rd_u("arenas.narenas") + 100;
    size_t sz = sizeof(tc);
    REQUIRE(mallctl("tcache.create", &tc, &sz, NULL, 0) == 0);
    REQUIRE(mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc)) == 0);
    unsigned char *p = malloc(100);
    REQUIRE(p);
    memset(p, 0x2d, 100);
    CHECK(rallocx(p, 5000, MALLOCX_TCACHE(tc)) == NULL);
    CHECK(rallocx(p, 5000, MALLOCX_ARENA(none)) == NULL);
    CHECK(rallocx(p, 100, MALLOCX_ARENA(none)) == NULL);
    CHECK_EQ_U(sallocx(p, 0), 112);
    CHECK(p[0] == 0x2d && p[99] == 0x2d);
    CHECK_EQ_U(arena_of_block(p), rd_u("thread.arena"));
    free(p);
}

/* ---- resizing and size classes at their edges ---- */

/* rallocx with MALLOCX_ALIGN returns a block with that alignment even when
 * the size class does not change (a large block that is only page-aligned
 * moves), and when it grows; the contents come along. */
static void test_rallocx_align(void) {
    const size_t mib = (size_t)1 << 20;
    void *pad = mallocx(20000, MALLOCX_TCACHE_NONE); /* no block at a 1 MiB boundary by chance */
    REQUIRE(pad);
    for (int grow = 0; grow < 2; grow++) {
        unsigned char *p = NULL, *keep[8];
        int nkeep = 0;
        /* a 100000 B (112 KiB class) block that is not 1 MiB aligned */
        while (nkeep < 8) {
            REQUIRE((p = mallocx(100000, 0)));
            if ((uintptr_t)p & (mib - 1)) break;
            keep[nkeep++] = p;
        }
        REQUIRE((uintptr_t)p & (mib - 1), "every block 1 MiB aligned");
        for (size_t i = 0; i < 100000; i++) p[i] = (unsigned char)(i * 7 + 3);
        size_t size = grow ? 200000 : 100000;
        unsigned char *q = rallocx(p, size, MALLOCX_ALIGN(mib));
        REQUIRE(q);
        CHECK(((uintptr_t)q & (mib - 1)) == 0, "rallocx(%p, %zu, MALLOCX_ALIGN(1 MiB)) = %p", (void *)p,
              size, (void *)q);
        CHECK(sallocx(q, 0) >= size);
        size_t bad = 0;
        for (size_t i = 0; i < 100000; i++) bad += q[i] != (unsigned char)(i * 7 + 3);
        CHECK_EQ_U(bad, 0);
        dallocx(q, 0);
        while (nkeep) dallocx(keep[--nkeep], 0);
    }
    dallocx(pad, MALLOCX_TCACHE_NONE);
}

/* xallocx never moves a block, so a MALLOCX_ALIGN the block does not meet
 * leaves it as it is, even with a free neighbour to grow into; an alignment
 * it meets does not stop the growth. */
static void test_xallocx_align(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    const size_t mib = (size_t)1 << 20, k256 = (size_t)256 << 10;
    void *first = mallocx(mib, fl | MALLOCX_ALIGN(2 * mib)); /* the first half of a chunk */
    REQUIRE(first);
    char *p = mallocx(k256, fl); /* right after it: 1 MiB aligned, not 2 MiB; free pages after it */
    REQUIRE(p);
    REQUIRE(p == (char *)first + mib, "first %p, p %p", first, (void *)p);
    CHECK_EQ_U(xallocx(p, 2 * k256, 0, MALLOCX_ALIGN(2 * mib)), k256);
    CHECK_EQ_U(sallocx(p, 0), k256);
    CHECK_EQ_U(xallocx(p, k256, k256, MALLOCX_ALIGN(2 * mib)), k256); /* extra too */
    CHECK_EQ_U(sallocx(p, 0), k256);
    /* p does meet 1 MiB: it grows into the free pages after it */
    CHECK_EQ_U(xallocx(p, 2 * k256, 0, MALLOCX_ALIGN(mib)), 2 * k256);
    CHECK_EQ_U(sallocx(p, 0), 2 * k256);
    dallocx(p, fl);
    dallocx(first, fl);
}

/* xallocx to the size the block has changes nothing, thread.allocated and
 * thread.deallocated included (a resize in place counts both). */
static void test_xallocx_same_size(void) {
    const size_t mib = (size_t)1 << 20;
    void *p = mallocx(mib, MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    uint64_t a0 = rd_u64("thread.allocated"), d0 = rd_u64("thread.deallocated");
    CHECK_EQ_U(xallocx(p, mib, 0, 0), mib);
    CHECK_EQ_U(xallocx(p, mib - 100, 0, 0), mib); /* the same class */
    CHECK_EQ_U(xallocx(p, mib - 100, 100, 0), mib);
    CHECK_EQ_U(rd_u64("thread.allocated"), a0);
    CHECK_EQ_U(rd_u64("thread.deallocated"), d0);
    CHECK_EQ_U(sallocx(p, 0), mib);
    dallocx(p, MALLOCX_TCACHE_NONE);
}

/* A large block resized in place moves from its old class to the new one
 * in the arena's statistics: the old class counts a free, the new one an
 * allocation and a request; large.allocated follows. */
static void test_stats_large_resize(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    const size_t s1 = (size_t)1 << 20, s2 = (size_t)3 << 19, s3 = (size_t)5 << 18; /* 1, 1.5, 1.25 MiB */
    unsigned l1 = lextent_of(s1), l2 = lextent_of(s2), l3 = lextent_of(s3);
    char *p = mallocx(s1, fl);
    REQUIRE(p);
    REQUIRE(xallocx(p, s2, 0, fl) == s2, "grows in place into the chunk's free rest");
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), s2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nmalloc", a), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.ndalloc", a), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nrequests", a), 2);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", a, l1), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.ndalloc", a, l1), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l1), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", a, l2), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nrequests", a, l2), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.ndalloc", a, l2), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l2), 1);
    /* shrinking in place, by rallocx */
    REQUIRE(rallocx(p, s3, fl) == p);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), s3);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.ndalloc", a, l2), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l2), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", a, l3), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nrequests", a, l3), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l3), 1);
    /* and by xallocx, back to 1 MiB */
    CHECK_EQ_U(xallocx(p, s1, 0, fl), s1);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), s1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", a, l1), 2);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l1), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l3), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nrequests", a), 4);
    dallocx(p, fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nmalloc", a), rd_u64("stats.arenas.%u.large.ndalloc", a));
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l1), 0);
}

/* The size-class edges of nallocx: the largest class is its own size, one
 * byte more is too large; a page-aligned request of a page stays a page. */
static void test_nallocx_edges(void) {
    unsigned nl = rd_u("arenas.nlextents");
    size_t largest = rd_z("arenas.lextent.%u.size", nl - 1);
    CHECK_EQ_U(nallocx(largest, 0), largest);
    CHECK_EQ_U(nallocx(largest - 1, 0), largest);
    CHECK_EQ_U(nallocx(largest + 1, 0), 0);
    CHECK_EQ_U(nallocx(largest, MALLOCX_ALIGN(4096)), largest);
    CHECK_EQ_U(nallocx(4096, MALLOCX_ALIGN(4096)), 4096);
    CHECK_EQ_U(nallocx(1, MALLOCX_ALIGN(4096)), 4096);
    CHECK_EQ_U(nallocx(4000, MALLOCX_ALIGN(4096)), 4096);
    CHECK_EQ_U(nallocx(2048, MALLOCX_ALIGN(2048)), 2048);
    void *p = mallocx(4096, MALLOCX_ALIGN(4096));
    REQUIRE(p);
    CHECK_EQ_U((uintptr_t)p & 4095, 0);
    CHECK_EQ_U(sallocx(p, 0), 4096);
    dallocx(p, 0);
}

static const tcase_t tests[] = {
    {"rallocx_align", test_rallocx_align},
    {"xallocx_align", test_xallocx_align},
    {"xallocx_same_size", test_xallocx_same_size},
    {"stats_large_resize", test_stats_large_resize},
    {"nallocx_edges", test_nallocx_edges},
    {"zero_whole_usable", test_zero_whole_usable},
    {"rallocx_arena", test_rallocx_arena},
    {"dallocx_ignores_arena", test_dallocx_ignores_arena},
    {"xallocx_not_small", test_xallocx_not_small},
    {"rallocx_bad_flags", test_rallocx_bad_flags},
};

int main(int argc, char **argv) {
    return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
