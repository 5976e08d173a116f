/*
 * arena_test.c -- the mechanisms behind thread caches, bins and arenas, seen
 * through mallctl statistics: transfer stacks and the page-pressure drain
 * (and its back-off), flushes of exactly half a cache, remote stacks sent
 * home (full, at the periodic collection, at a flush, at thread exit, two
 * owners in one stack), idle trimming, the cache turned off, direct frees
 * into full slabs, growth relief, impossible requests leaving pages alone,
 * blocks of other arenas never reused (also past the 255 pagemap tags),
 * arena choice, tcache_max, MALLOCX_ZERO and flags without the cache,
 * malloc_trim. Linked to libmosaic.so; part of the ctl suite
 * (tests/ctl/run.sh), run with MOSAIC_CONF=narenas:8 (some tests need 5 or 6
 * automatic arenas of their own, whatever the CPU count). Growth relief's
 * ages and rate move on the clock of tclock.h, never by sleeping.
 */
#include "tclock.h"
#include "tmallctl.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/types.h>

/* malloc_trim gives back what the thread holds: its cache is flushed, the
 * transfer stacks drained (so their slabs empty) and the free pages purged. */
static void test_malloc_trim(void) {
    enum { N = 2000 }; /* 48 B regions: 96 KiB, all parked on the transfer stack */
    static void *v[N];
    unsigned prev = rd_u("thread.arena");
    unsigned a = new_arena();
    set_arena(a);
    unsigned j = bin_of(48);
    for (int i = 0; i < N; i++) REQUIRE((v[i] = malloc(40)));
    for (int i = 0; i < N; i++) free(v[i]);
    epoch();
    CHECK(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j) > 2);
    CHECK_EQ_I(malloc_trim(0), 1);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
    CHECK(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j) <= 1, "%zu slabs left",
          rd_z("stats.arenas.%u.bins.%u.curslabs", a, j));
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    set_arena(prev);
}

/* mallocx with flags but no MALLOCX_TCACHE uses the thread's cache: the
 * first one fills it with a batch from the bin. */
static void test_mallocx_flags_cached(void) {
    unsigned prev = rd_u("thread.arena");
    unsigned a = new_arena();
    set_arena(a);
    unsigned j = bin_of(112);
    void *p = mallocx(100, MALLOCX_ALIGN(16));
    REQUIRE(p);
    epoch();
    CHECK(rd_z("stats.arenas.%u.bins.%u.curregs", a, j) > 1, "curregs %zu: no fill",
          rd_z("stats.arenas.%u.bins.%u.curregs", a, j));
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 1);
    dallocx(p, MALLOCX_ALIGN(16));
    set_arena(prev);
}

/* Regions parked on a bin's transfer stack keep their slabs. When the arena
 * would grow its resident memory while enough is parked (64 KiB), the parked
 * regions go back into their slabs first and emptied slabs are reused; a
 * drain that empties nothing makes the arena wait for 256 KiB of growth
 * before the next. Seen through curslabs, nonfull_slabs and resident. */
#define PARK_N 4096 /* 64 B regions: the class's whole transfer stack (256 KiB) */
static void *park_v[2 * PARK_N];
static void park_flush(void) { REQUIRE(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0); }

static void test_pressure_drain(void) {
    unsigned cur = rd_u("thread.arena"), a = new_arena();
    set_arena(a);
    unsigned j = bin_of(64);
    uint32_t nregs = rd_u32("arenas.bin.%u.nregs", j);
    int lfl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;

    /* 1. Every region freed and parked: the slabs stay until the arena needs
     * pages, then they empty and a large block takes their pages. */
    for (int i = 0; i < PARK_N; i++) park_v[i] = malloc(64);
    for (int i = 0; i < PARK_N; i++) free(park_v[i]);
    park_flush();
    epoch();
    size_t slabs0 = rd_z("stats.arenas.%u.bins.%u.curslabs", a, j);
    CHECK(slabs0 >= PARK_N / nregs, "parked regions keep their %zu slabs", slabs0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    size_t res0 = rd_z("stats.arenas.%u.resident", a);
    void *big = mallocx(128 << 10, lfl);
    REQUIRE(big != NULL);
    epoch();
    CHECK(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j) <= 1, "slabs not released: %zu",
          rd_z("stats.arenas.%u.bins.%u.curslabs", a, j));
    CHECK(rd_z("stats.arenas.%u.resident", a) <= res0,
          "the large block took new memory: resident %zu -> %zu", res0,
          rd_z("stats.arenas.%u.resident", a));
    dallocx(big, lfl);

    /* 2. Every other region freed and parked: a drain empties no slab, so
     * the next one waits for 256 KiB of growth. */
    for (int i = 0; i < 2 * PARK_N; i++) park_v[i] = malloc(64);
    for (int i = 0; i < 2 * PARK_N; i += 2) free(park_v[i]);
    park_flush();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    void *l1 = mallocx(512 << 10, lfl); /* no resident run this big: drains */
    epoch();
    size_t nonfull = rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j);
    CHECK(nonfull >= PARK_N / nregs, "first drain: %zu non-full slabs", nonfull);
    /* refill the holes (from the non-full slabs, no growth) and park them again */
    for (int i = 0; i < 2 * PARK_N; i += 2) park_v[i] = malloc(64);
    for (int i = 0; i < 2 * PARK_N; i += 2) free(park_v[i]);
    park_flush();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    void *l2 = mallocx(128 << 10, lfl); /* grown 512 KiB >= 256 KiB: drains again */
    epoch();
    CHECK(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j) >= PARK_N / nregs,
          "second drain after 512 KiB of growth did not happen");
    for (int i = 0; i < 2 * PARK_N; i += 2) park_v[i] = malloc(64);
    for (int i = 0; i < 2 * PARK_N; i += 2) free(park_v[i]);
    park_flush();
    void *l3 = mallocx(128 << 10, lfl); /* gap now 512 KiB, grown 128 KiB: no drain */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    dallocx(l1, lfl);
    dallocx(l2, lfl);
    dallocx(l3, lfl);
    for (int i = 1; i < 2 * PARK_N; i += 2) free(park_v[i]);

    /* 3. A small allocation whose fill waits for a drain counts one fill
     * and one request, and its slab comes from the drained pages. */
    unsigned b = new_arena(), j4 = bin_of(4096);
    set_arena(b);
    for (int i = 0; i < PARK_N; i++) park_v[i] = malloc(64);
    for (int i = 0; i < PARK_N; i++) free(park_v[i]);
    park_flush();
    epoch();
    size_t res1 = rd_z("stats.arenas.%u.resident", b);
    void *s4 = mallocx(4000, MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE);
    epoch();
    CHECK(rd_z("stats.arenas.%u.bins.%u.curslabs", b, j) <= 1, "no drain: %zu slabs",
          rd_z("stats.arenas.%u.bins.%u.curslabs", b, j));
    CHECK(rd_z("stats.arenas.%u.resident", b) <= res1, "new memory for the slab");
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", b, j4), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", b, j4), 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", b, j4), 1);
    dallocx(s4, MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE);
    set_arena(cur);
}

/* A flush that finds a bin's transfer stack full empties the stack into the
 * slabs along with what it flushes, and the stack stays off until the bin's
 * next fill: after a phase of frees larger than the stack, the slabs are
 * whole again (they can empty), and the next fills hand regions out in
 * address order instead of the stack's remainder first. */
#define OVER_N (3 * PARK_N)
static void *over_v[OVER_N + PARK_N];

static void test_xfer_overflow(void) {
    unsigned cur = rd_u("thread.arena"), a = new_arena();
    set_arena(a);
    unsigned j = bin_of(64);
    uint32_t nregs = rd_u32("arenas.bin.%u.nregs", j);

    /* 1. Three stacks' worth freed, then one more stack's worth: the first
     * overflow empties the stack, and while it is off the rest goes into the
     * slabs too. Every slab but the current one empties. */
    for (int i = 0; i < OVER_N + PARK_N; i++) over_v[i] = malloc(64);
    for (int i = 0; i < OVER_N; i++) free(over_v[i]);
    park_flush();
    for (int i = OVER_N; i < OVER_N + PARK_N; i++) free(over_v[i]);
    park_flush();
    epoch();
    CHECK(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j) <= 1,
          "slabs kept after a free phase larger than the transfer stack: %zu",
          rd_z("stats.arenas.%u.bins.%u.curslabs", a, j));
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);

    /* 2. The next allocations come from the slabs, in address order: an
     * address below its predecessor only where a slab begins. */
    for (int i = 0; i < PARK_N; i++) over_v[i] = malloc(64);
    unsigned down = 0;
    for (int i = 1; i < PARK_N; i++) down += (uintptr_t)over_v[i] < (uintptr_t)over_v[i - 1];
    CHECK(down <= PARK_N / nregs + 1, "%u of %d allocations below their predecessor", down,
          PARK_N);

    /* 3. That fill switched the stack back on: a flush that fits is parked,
     * and its regions keep their slabs. */
    for (int i = 0; i < PARK_N; i++) free(over_v[i]);
    park_flush();
    epoch();
    CHECK(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j) >= PARK_N / nregs,
          "a flush that fits was not parked: %zu slabs",
          rd_z("stats.arenas.%u.bins.%u.curslabs", a, j));
    set_arena(cur);
}

/* ---- fill/flush boundaries, remote stack capacity, slab lists on direct
 * frees, the pressure drain's back-off and parked-bytes accounting ---- */

/* A full cache bin flushes its oldest half: 257 frees of the 32 B class
 * (capacity 256) into an empty bin send exactly 128 blocks back in one
 * flush, and the bin keeps 129. */
static void *half_v[257];
static void test_tcache_flush_half(void) {
    unsigned a = new_arena();
    set_arena(a); /* (flushes: the bin is empty) */
    unsigned j = bin_of(32);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE; /* the arena's blocks, not via the cache */
    for (int i = 0; i < 257; i++) REQUIRE((half_v[i] = mallocx(32, fl)));
    for (int i = 0; i < 256; i++) free(half_v[i]); /* fills the bin exactly */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 257);
    uint64_t nfl = rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j);
    free(half_v[256]); /* full: the oldest 128 go back, then it is pushed */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 257 - 128);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j), nfl + 1);
    park_flush();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
}

/* Frees outrunning fills: the third full-bin flush without a fill in
 * between sends the whole stack back (256 blocks of the 32 B class, where
 * the first two send 128 each); a fill makes the next flush half again. */
#define STREAM_N 768
static void *stream_v[STREAM_N];
static void test_tcache_flush_streaming(void) {
    unsigned a = new_arena();
    set_arena(a); /* (flushes: the bin is empty) */
    unsigned j = bin_of(32);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    for (int i = 0; i < STREAM_N; i++) REQUIRE((stream_v[i] = mallocx(32, fl)));
    void *p = malloc(32); /* a fill: 128 blocks, one handed out */
    REQUIRE(p);
    free(p);
    int k = 0;
    while (k < 128) free(stream_v[k++]); /* the bin is full (256) */
    epoch();
    size_t regs = rd_z("stats.arenas.%u.bins.%u.curregs", a, j);
    uint64_t nfl = rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j);
    for (int f = 0; f < 2; f++) { /* the first two flushes since the fill: half */
        free(stream_v[k++]);
        epoch();
        CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), regs - 128 * (size_t)(f + 1));
        for (int i = 0; i < 127; i++) free(stream_v[k++]); /* full again */
    }
    free(stream_v[k++]); /* the third: the whole stack */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), regs - 256 - 256);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j), nfl + 3);
    /* The one block left in the bin, then a fill (128, one handed out): the
     * next flush is half again. */
    void *q1 = malloc(32), *q2 = malloc(32);
    REQUIRE(q1 && q2);
    free(q1);
    free(q2); /* the bin holds 129 */
    for (int i = 0; i < 127; i++) free(stream_v[k++]); /* full (256) */
    epoch();
    regs = rd_z("stats.arenas.%u.bins.%u.curregs", a, j);
    nfl = rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j);
    free(stream_v[k++]);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), regs - 128);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j), nfl + 1);
    while (k < STREAM_N) free(stream_v[k++]);
    park_flush();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
}

/* A remote stack holds up to 128 blocks (the 64 B class's cache is 256):
 * the 129th free of another arena's block sends the 128 home first and
 * waits on the stack itself; none is lost. */
static void *rcap_v[129];
static void test_remote_stack_capacity(void) {
    unsigned a = new_arena(), e = new_arena();
    set_arena(a);
    unsigned j = bin_of(64);
    for (int i = 0; i < 129; i++) REQUIRE((rcap_v[i] = mallocx(64, MALLOCX_ARENA(e) | MALLOCX_TCACHE_NONE)));
    for (int i = 0; i < 128; i++) free(rcap_v[i]);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 0); /* all on the stack */
    free(rcap_v[128]);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 128);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", e, j), 1);
    park_flush();
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 129);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", e, j), 0);
}

/* A free straight to the arena (no cache) into a full slab that is not the
 * bin's current one puts it on the non-full list, and the bin hands that
 * region out again before it takes a new slab. */
static void test_direct_free_nonfull(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    unsigned j = bin_of(64);
    uint32_t nregs = rd_u32("arenas.bin.%u.nregs", j);
    void **v = mallocx((2 * nregs + 1) * sizeof(void *), 0);
    REQUIRE(v);
    for (uint32_t i = 0; i <= nregs; i++) REQUIRE((v[i] = mallocx(64, fl))); /* slab 1 full, slab 2 current */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 2);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    void *hole = v[0];
    dallocx(hole, fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 1);
    v[0] = NULL;
    /* the rest of slab 2, then the hole in slab 1: no third slab */
    bool reused = false;
    for (uint32_t i = nregs + 1; i < 2 * nregs + 1; i++) {
        REQUIRE((v[i] = mallocx(64, fl)));
        reused = reused || v[i] == hole;
    }
    epoch();
    CHECK(reused, "the freed region of the full slab was not handed out again");
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 2);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j), 0);
    for (uint32_t i = 0; i < 2 * nregs + 1; i++)
        if (v[i]) dallocx(v[i], fl);
    dallocx(v, 0);
}

/* Collection halves an idle bin down to one block: a bin holding two
 * cached large blocks gives one back, and one block stays (half of 1 is 0). */
static void churn_1k(int n); /* (below, with test_tcache_idle_trim) */
static void test_tcache_idle_trim_two(void) {
    unsigned a = new_arena();
    set_arena(a);
    unsigned l = lextent_of(20480);
    void *p = malloc(20000), *q = malloc(20000);
    REQUIRE(p && q);
    free(p);
    free(q); /* both cached */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l), 2);
    churn_1k(80); /* many collections; the large bin is never refilled */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l), 1);
}

/* The pressure drain's back-off, step by step, in one arena (128 B regions,
 * in 8 KiB slabs: one emptied slab is less than an eighth of a 128 KiB
 * drain, so it does not make the drain productive; a "drain" is seen as the
 * arena's 128 B slabs becoming non-full, or as emptied slabs giving their
 * pages to a large block):
 *  0. Regions parked and then taken back by fills are no longer parked: a
 *     large block that then needs new memory drains nothing and leaves the
 *     gap at 0, so a drain right after (little growth) still happens.
 *  A. A drain that empties no slab sets the gap to 256 KiB.
 *  B. A productive drain (whole slabs parked) resets it to 0: the next one
 *     happens with no growth at all.
 *  C. An unproductive drain from 256 KiB doubles it to 512 KiB: 256 KiB of
 *     growth then is not enough, 512 KiB is. */
#define BO_SIZE 128
#define BO_N (256 * 1024 / BO_SIZE) /* 256 KiB of regions */
static void *bo_v[BO_N], *bo_w[BO_N];
static size_t bo_nonfull(unsigned a, unsigned j) {
    epoch();
    return rd_z("stats.arenas.%u.bins.%u.nonfull_slabs", a, j);
}
/* Frees every other region of bo_v[0..n) (the even ones) and parks them. */
static void bo_park_even(int n) {
    for (int i = 0; i < n; i += 2) free(bo_v[i]);
    park_flush();
}
static void bo_refill_even(int n) {
    for (int i = 0; i < n; i += 2) REQUIRE((bo_v[i] = malloc(BO_SIZE)));
}
static void test_drain_backoff(void) {
    unsigned cur = rd_u("thread.arena"), a = new_arena();
    set_arena(a);
    unsigned j = bin_of(BO_SIZE);
    uint32_t nregs = rd_u32("arenas.bin.%u.nregs", j);
    int lfl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    /* slabs a drain of bo_park_even(BO_N) leaves non-full (at least); n0:
     * non-full slabs before a large allocation (a refill may leave a few) */
    size_t want = BO_N / 2 / nregs, n0;

    /* 0. Park 256 KiB and take it all back (fills from the stack). */
    for (int i = 0; i < BO_N; i++) REQUIRE((bo_v[i] = malloc(BO_SIZE)));
    for (int i = 0; i < BO_N; i++) free(bo_v[i]);
    park_flush();
    for (int i = 0; i < BO_N; i++) REQUIRE((bo_v[i] = malloc(BO_SIZE)));
    void *l0 = mallocx(128 << 10, lfl); /* nothing parked: no drain, gap stays 0 */
    REQUIRE(l0);
    bo_park_even(BO_N); /* 128 KiB parked, every slab half used */
    n0 = bo_nonfull(a, j);
    void *l0b = mallocx(512 << 10, lfl); /* 128 KiB of growth >= gap 0: drains */
    REQUIRE(l0b);
    CHECK(bo_nonfull(a, j) >= n0 + want, "no drain after parked regions were taken back: %zu",
          bo_nonfull(a, j));
    /* that drain emptied no slab: the gap is 256 KiB now (A) */
    bo_refill_even(BO_N);

    /* B. Whole slabs parked: 256 KiB of new slabs, all freed and parked,
     * then a large block (grown 512 KiB since the drain >= 256 KiB) drains
     * them, productively, and takes their pages. */
    for (int i = 0; i < BO_N; i++) REQUIRE((bo_w[i] = malloc(BO_SIZE)));
    for (int i = 0; i < BO_N; i++) free(bo_w[i]);
    park_flush();
    epoch();
    size_t res = rd_z("stats.arenas.%u.resident", a);
    void *l2 = mallocx(128 << 10, lfl);
    REQUIRE(l2);
    epoch();
    CHECK(rd_z("stats.arenas.%u.resident", a) <= res, "the productive drain did not happen");
    /* gap 0: with no growth since, the next large block drains again */
    bo_park_even(BO_N);
    n0 = bo_nonfull(a, j);
    void *l3 = mallocx(512 << 10, lfl);
    REQUIRE(l3);
    CHECK(bo_nonfull(a, j) >= n0 + want, "a productive drain did not reset the gap: %zu non-full",
          bo_nonfull(a, j));
    /* (unproductive: gap 256 KiB again) */

    /* C. Grown 512 KiB (l3) >= 256 KiB: drains, unproductively: 512 KiB. */
    bo_refill_even(BO_N);
    bo_park_even(BO_N);
    n0 = bo_nonfull(a, j);
    void *l4 = mallocx(256 << 10, lfl); /* (no dirty run this big) */
    REQUIRE(l4);
    CHECK(bo_nonfull(a, j) >= n0 + want, "no drain after 512 KiB of growth: %zu", bo_nonfull(a, j));
    bo_refill_even(BO_N);
    bo_park_even(BO_N);
    n0 = bo_nonfull(a, j);
    void *l5 = mallocx(128 << 10, lfl); /* grown 256 KiB (l4) < 512 KiB: no drain */
    REQUIRE(l5);
    CHECK_EQ_U(bo_nonfull(a, j), n0);
    void *l6 = mallocx(512 << 10, lfl); /* grown at most 384 KiB: none */
    REQUIRE(l6);
    CHECK_EQ_U(bo_nonfull(a, j), n0);
    void *l7 = mallocx(128 << 10, lfl); /* grown over 512 KiB: drains */
    REQUIRE(l7);
    CHECK(bo_nonfull(a, j) >= n0 + want, "no drain after 512 KiB of growth with the gap at 512 KiB");
    void *ls[] = {l0, l0b, l2, l3, l4, l5, l6, l7};
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) dallocx(ls[i], lfl);
    for (int i = 1; i < BO_N; i += 2) free(bo_v[i]);
    set_arena(cur);
}

/* Growth relief: when an automatic arena's resident set grows by 1 MiB, the
 * other automatic arenas purge as much of their oldest dirty memory, so
 * pages freed into one arena (a main thread's, say) do not sit resident
 * while the others map more. An arena whose dirty decay is off (-1) keeps
 * its pages; explicit arenas neither give nor trigger. Large blocks grow
 * through arena_malloc_large and realloc, small ones through slab fills. */
#define RELIEF_DIRTY ((size_t)4 << 20)
static void relief_dirty(unsigned a) { /* RELIEF_DIRTY of dirty pages in a */
    set_arena(a);
    void *p = mallocx(RELIEF_DIRTY, MALLOCX_TCACHE_NONE);
    REQUIRE(p != NULL);
    memset(p, 1, RELIEF_DIRTY);
    dallocx(p, MALLOCX_TCACHE_NONE);
}
static void *relief_keep[4096];

/* Purges every automatic arena but keep (of n). */
static void relief_purge_others(unsigned n, unsigned keep) {
    for (unsigned i = 0; i < n; i++)
        if (i != keep) REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", i) == 0);
}

/* Leaves RELIEF_DIRTY of dirty pages in donor and no dirty pages in any other
 * automatic arena (switching arenas may flush cached blocks into other
 * arenas and empty slabs there), with the thread on taker. */
static void relief_setup(unsigned n, unsigned donor, unsigned taker) {
    relief_dirty(donor);
    set_arena(taker);
    relief_purge_others(n, donor);
}

/* k blocks of 256 KiB, from relief_keep[at] on, in the thread's arena or
 * with flags' arena; then a new stats epoch. */
static void relief_grow(int at, int k, int flags) {
    for (int i = at; i < at + k; i++)
        REQUIRE((relief_keep[i] = mallocx(256 << 10, flags | MALLOCX_TCACHE_NONE)));
    epoch();
}

static void test_growth_relief(void) {
    unsigned n = rd_u("arenas.narenas"); /* automatic only: each test runs in a fresh child */
    REQUIRE(n >= 3, "%u automatic arenas", n);
    unsigned donor = n - 1, taker = n - 2, cur = rd_u("thread.arena");
    const size_t pages = RELIEF_DIRTY / 4096, step = ((size_t)1 << 20) / 4096;
    ssize_t never = -1, dflt = 10000;
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", ALL) == 0);
    relief_setup(n, donor, taker);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), pages);
    uint64_t purged0 = rd_u64("stats.arenas.%u.purged", donor);
    uint64_t npurge0 = rd_u64("stats.arenas.%u.npurge", donor);

    /* 1. Another automatic arena takes 2 MiB of new memory in large blocks:
     * the donor purges 2 MiB of its dirty pages, 1 MiB per relief (two
     * purge sweeps). */
    relief_grow(0, 8, 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), pages - 2 * step);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", donor), purged0 + 2 * step);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.npurge", donor), npurge0 + 2);
    for (int i = 0; i < 8; i++) dallocx(relief_keep[i], MALLOCX_TCACHE_NONE);

    /* 2. Small allocations: 2 MiB of 512 B regions in new slabs (the taker
     * has no dirty run to reuse either). */
    relief_purge_others(n, donor);
    size_t before = rd_z("stats.arenas.%u.pdirty", donor);
    for (int i = 0; i < 4096; i++) REQUIRE((relief_keep[i] = malloc(512)));
    epoch();
    size_t after = rd_z("stats.arenas.%u.pdirty", donor);
    CHECK(after + step <= before, "small growth purged %zu pages", before - after);
    for (int i = 0; i < 4096; i++) free(relief_keep[i]);

    /* 3. Dirty decay off: the donor keeps its pages. */
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", ALL) == 0);
    REQUIRE(ctl(NULL, NULL, &never, sizeof(never), "arena.%u.dirty_decay_ms", donor) == 0);
    relief_setup(n, donor, taker);
    relief_grow(0, 8, 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), pages);
    for (int i = 0; i < 8; i++) dallocx(relief_keep[i], MALLOCX_TCACHE_NONE);

    /* 4. Explicit arenas: their dirty pages stay, and their growth purges
     * nothing elsewhere. */
    REQUIRE(ctl(NULL, NULL, &dflt, sizeof(dflt), "arena.%u.dirty_decay_ms", donor) == 0);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", ALL) == 0);
    unsigned e = new_arena();
    relief_dirty(e);
    relief_setup(n, donor, taker);
    relief_grow(0, 4, 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", e), pages);
    size_t d1 = rd_z("stats.arenas.%u.pdirty", donor);
    CHECK(d1 < pages, "the taker's growth purged nothing"); /* from the donor, not e */
    relief_grow(4, 32, MALLOCX_ARENA(e)); /* 8 MiB: 4 MiB more than e's dirty pages */
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), d1);

    /* 5. Growth through realloc: a 32 MiB block that cannot grow in place
     * moves by mremap to the next class, 40 MiB; a donor with 12 MiB dirty
     * purges 8 MiB. */
    set_arena(taker);
    void *big = mallocx((size_t)32 << 20, MALLOCX_TCACHE_NONE);
    REQUIRE(big);
    set_arena(donor);
    void *d = mallocx(3 * RELIEF_DIRTY, MALLOCX_TCACHE_NONE);
    REQUIRE(d);
    memset(d, 1, 3 * RELIEF_DIRTY);
    dallocx(d, MALLOCX_TCACHE_NONE);
    set_arena(taker);
    relief_purge_others(n, donor);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), 3 * pages);
    REQUIRE((big = rallocx(big, (size_t)40 << 20, MALLOCX_TCACHE_NONE)));
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), 3 * pages - 8 * step);
    dallocx(big, MALLOCX_TCACHE_NONE);

    /* 6. Growth in place: a 1 MiB block at the start of a new 2 MiB chunk
     * grows by xallocx into the chunk's other (retained) half. */
    relief_purge_others(n, donor);
    void *g = mallocx((size_t)1 << 20, MALLOCX_TCACHE_NONE | MALLOCX_ALIGN((size_t)2 << 20));
    REQUIRE(g);
    epoch();
    size_t d6 = rd_z("stats.arenas.%u.pdirty", donor);
    REQUIRE(d6 >= step, "the donor has %zu dirty pages left", d6);
    CHECK_EQ_U(xallocx(g, (size_t)2 << 20, 0, MALLOCX_TCACHE_NONE), (size_t)2 << 20);
    epoch();
    CHECK(rd_z("stats.arenas.%u.pdirty", donor) + step <= d6, "in-place growth purged %zu pages",
          d6 - rd_z("stats.arenas.%u.pdirty", donor));
    dallocx(g, MALLOCX_TCACHE_NONE);
    set_arena(cur);
}

/* Owed relief: growth that found no dirty pages in the other automatic arenas
 * is owed (at most 256 MiB, ARENA_RELIEF_OWED_MAX), and paid from their
 * pages once those have been dirty for 50 ms (ARENA_RELIEF_OWED_AGE_NS) by
 * the next flush or direct free of any thread, never from the grower's, never
 * from an explicit arena's: pages a main thread's arena frees after the other
 * threads have grown do not sit resident until their decay time, and pages
 * freed and taken again soon are not purged. */
#define OWED_BIG ((size_t)512 << 20) /* more than the cap; never touched */
static unsigned owed_tick_arena; /* explicit: its pages are no automatic arena's */
static void owed_poke(void) { /* direct frees enough for the thread to look once
                                 (every 16th: ARENA_RELIEF_OWED_EVERY) */
    if (!owed_tick_arena) owed_tick_arena = new_arena();
    for (int i = 0; i < 16; i++) {
        void *p = mallocx(16, MALLOCX_ARENA(owed_tick_arena) | MALLOCX_TCACHE_NONE);
        REQUIRE(p);
        dallocx(p, MALLOCX_TCACHE_NONE);
    }
}
static void owed_tick(void) { /* lets pages age past 50 ms, then a look */
    clock_advance_ms(60);
    owed_poke();
}
static void owed_clear(unsigned x, unsigned y, unsigned back) {
    /* y grows last (the grower); x, not the grower, frees more than any debt
     * can be, so nothing is owed; then no arena keeps dirty pages. */
    set_arena(x);
    void *px = mallocx(OWED_BIG, MALLOCX_TCACHE_NONE);
    set_arena(y);
    void *py = mallocx(OWED_BIG, MALLOCX_TCACHE_NONE);
    REQUIRE(px && py);
    set_arena(x);
    dallocx(px, MALLOCX_TCACHE_NONE);
    owed_tick();
    set_arena(y);
    dallocx(py, MALLOCX_TCACHE_NONE);
    set_arena(back);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", ALL) == 0);
}

static void test_relief_owed(void) {
    unsigned n = rd_u("arenas.narenas");
    REQUIRE(n >= 5, "%u automatic arenas", n);
    unsigned donor = n - 1, taker = n - 2, x = n - 3, y = n - 4, cur = rd_u("thread.arena");
    const size_t pages = RELIEF_DIRTY / 4096, step = ((size_t)1 << 20) / 4096;

    /* 1. The donor holds 4 MiB; then nothing is owed and nothing is dirty. */
    set_arena(donor);
    void *d = mallocx(RELIEF_DIRTY, MALLOCX_TCACHE_NONE);
    REQUIRE(d);
    memset(d, 1, RELIEF_DIRTY);
    owed_clear(x, y, taker);
    epoch();
    uint64_t purged0 = rd_u64("stats.arenas.%u.purged", donor);

    /* 2. The taker grows by 2 MiB with nothing to purge elsewhere: 2 MiB owed.
     * Its own pages do not pay its debt: its 2 MiB stay dirty. */
    relief_grow(0, 8, 0);
    for (int i = 0; i < 8; i++) dallocx(relief_keep[i], MALLOCX_TCACHE_NONE);

    /* 3. The donor frees its 4 MiB: young pages stay (looked at 20 ms
     * after the last payment: at most one every 10 ms); once they are older
     * than 50 ms, the next look (any thread's, any arena's frees) purges the
     * 2 MiB owed. */
    clock_advance_ms(20);
    set_arena(donor);
    dallocx(d, MALLOCX_TCACHE_NONE);
    owed_poke();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), pages);
    set_arena(taker);
    owed_tick();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), pages - 2 * step);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", donor), purged0 + 2 * step);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", taker), 2 * step);

    /* 4. Paid: later frees purge nothing more. */
    owed_tick();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), pages - 2 * step);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", donor), purged0 + 2 * step);

    /* 5. At most 256 MiB is owed: the taker grows by 600 MiB, the donor then
     * frees 512 MiB and keeps 256 MiB of it dirty. */
    set_arena(donor);
    void *big = mallocx(OWED_BIG, MALLOCX_TCACHE_NONE);
    REQUIRE(big);
    owed_clear(x, y, taker);
    void *t = mallocx((size_t)600 << 20, MALLOCX_TCACHE_NONE);
    REQUIRE(t);
    set_arena(donor);
    dallocx(big, MALLOCX_TCACHE_NONE);
    owed_tick();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), (OWED_BIG - ((size_t)256 << 20)) / 4096);
    set_arena(taker);
    dallocx(t, MALLOCX_TCACHE_NONE);

    /* 6. Explicit arenas neither owe nor pay: an explicit arena's growth with
     * nothing dirty elsewhere leaves the donor's pages dirty, and an explicit
     * arena's pages stay dirty while a debt is open. */
    set_arena(donor);
    void *k = mallocx(RELIEF_DIRTY, MALLOCX_TCACHE_NONE);
    REQUIRE(k);
    owed_clear(x, y, donor);
    unsigned ex = new_arena();
    int efl = MALLOCX_ARENA(ex) | MALLOCX_TCACHE_NONE;
    void *eb = mallocx((size_t)8 << 20, efl);
    REQUIRE(eb);
    dallocx(k, MALLOCX_TCACHE_NONE);
    owed_tick();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), pages);
    dallocx(eb, MALLOCX_TCACHE_NONE);
    set_arena(taker);
    relief_grow(0, 8, 0); /* purges 2 MiB of the donor's 4 MiB: nothing owed */
    relief_grow(8, 16, 0); /* 4 MiB more: the donor's last 2 MiB, 2 MiB owed */
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), 0);
    owed_tick();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", ex), ((size_t)8 << 20) / 4096);
    for (int i = 0; i < 24; i++) dallocx(relief_keep[i], MALLOCX_TCACHE_NONE);
    set_arena(cur);
}

/* Growth while no other automatic arena exists owes nothing (no arena could
 * have given pages back): an arena that comes later keeps its dirty pages. */
static void test_relief_owed_alone(void) {
    unsigned n = rd_u("arenas.narenas"), a1 = n - 1;
    REQUIRE(rd_u("thread.arena") == 0, "the test thread is on arena %u", rd_u("thread.arena"));
    for (unsigned i = 1; i < n; i++) REQUIRE(!rd_b("arena.%u.initialized", i), "arena %u exists", i);
    void *x = mallocx((size_t)6 << 20, MALLOCX_TCACHE_NONE), *y = mallocx((size_t)2 << 20, MALLOCX_TCACHE_NONE);
    REQUIRE(x && y);
    dallocx(y, MALLOCX_TCACHE_NONE);
    /* a1's growth is matched by arena 0's 2 MiB: nothing new is owed */
    set_arena(a1);
    void *z = mallocx((size_t)2 << 20, MALLOCX_TCACHE_NONE);
    REQUIRE(z);
    memset(z, 1, (size_t)2 << 20);
    dallocx(z, MALLOCX_TCACHE_NONE);
    owed_tick();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a1), ((size_t)2 << 20) / 4096);
    set_arena(0);
    dallocx(x, MALLOCX_TCACHE_NONE);
}

/* Slab trimming (with opt.steal off; on, the same steps must trim nothing):
 * when dirty pages cannot pay what is owed, the pages of
 * non-full slabs in idle bins (no fill in the last two payments) that hold no
 * region in use are purged; regions straddling a page boundary keep both
 * pages. Four slabs of 640 B regions (which straddle pages) in arena d, a
 * fixed ~3/4 of each of the first three freed (never all of one: an empty
 * slab goes back to the pages), the fourth (the bin's current slab, never
 * trimmed) untouched: exactly the pages the overlap rule predicts are
 * trimmed, counted in ptrimmed and purged, resident drops by as much, the
 * live blocks keep their bytes, and regions handed out again on a trimmed
 * page read zero. An equal bin of arena k that fills between payments is
 * not trimmed. */
#define TRIM_SLABS 4
typedef struct {
    unsigned arena, nregs;
    size_t size, slab;
    char *blk[TRIM_SLABS * 32];
    bool live[TRIM_SLABS * 32];
} trim_set_t;
static unsigned char trim_byte(unsigned k) { return (unsigned char)(k % 251 + 1); }

static void trim_setup(trim_set_t *t, unsigned arena) {
    unsigned j = bin_of(640);
    t->arena = arena;
    t->size = rd_z("arenas.bin.%u.size", j);
    t->nregs = rd_u32("arenas.bin.%u.nregs", j);
    t->slab = rd_z("arenas.bin.%u.slab_size", j);
    /* 19 regions on 3 pages: page 0 holds regions 0-6, page 1 6-12, page 2
     * 12-18 (6 and 12 straddle) */
    REQUIRE(t->size == 640 && t->nregs == 19 && t->slab == 3 * 4096, "640 B: %u regions, %zu B slabs",
            t->nregs, t->slab);
    /* live: slab 0 regions 0 and 18 (page 1 free), slab 1 region 6 (pages 0
     * and 1 busy, page 2 free), slab 2 region 9 (pages 0 and 2 free) */
    static const int keep[TRIM_SLABS - 1][2] = {{0, 18}, {6, -1}, {9, -1}};
    set_arena(arena);
    for (unsigned k = 0; k < TRIM_SLABS * t->nregs; k++) {
        REQUIRE((t->blk[k] = mallocx(640, MALLOCX_TCACHE_NONE)));
        /* one fill each, from the current slab: k is region k % nregs of slab k / nregs */
        REQUIRE(t->blk[k] - t->blk[k - k % t->nregs] == (ptrdiff_t)((k % t->nregs) * 640),
                "block %u at %p", k, (void *)t->blk[k]);
        memset(t->blk[k], trim_byte(k), 640);
        unsigned sl = k / t->nregs;
        int r = (int)(k % t->nregs);
        t->live[k] = sl == TRIM_SLABS - 1 || r == keep[sl][0] || r == keep[sl][1];
    }
    for (unsigned k = 0; k < TRIM_SLABS * t->nregs; k++)
        if (!t->live[k]) dallocx(t->blk[k], MALLOCX_TCACHE_NONE);
}

/* The end of test_slab_trim: frees the live blocks of both sets and the 16
 * blocks relief_grow kept in taker's arena, and goes back to arena cur. */
static void trim_finish(const trim_set_t *ts, unsigned d, const trim_set_t *tk, unsigned k,
                        unsigned taker, unsigned cur) {
    const trim_set_t *sets[2] = {ts, tk};
    const unsigned arenas[2] = {d, k};
    for (int s = 0; s < 2; s++) {
        set_arena(arenas[s]);
        for (unsigned i = 0; i < TRIM_SLABS * sets[s]->nregs; i++)
            if (sets[s]->live[i]) dallocx(sets[s]->blk[i], MALLOCX_TCACHE_NONE);
    }
    set_arena(taker);
    for (int i = 0; i < 16; i++) dallocx(relief_keep[i], MALLOCX_TCACHE_NONE);
    set_arena(cur);
}

/* Pages of the first TRIM_SLABS - 1 slabs on which no live region lies (and
 * some region does): what trimming must purge. */
static size_t trim_expected(const trim_set_t *t) {
    size_t n = 0;
    for (unsigned sl = 0; sl + 1 < TRIM_SLABS; sl++)
        for (size_t pg = 0; pg < t->slab / 4096; pg++) {
            size_t lo = pg * 4096, hi = lo + 4096;
            bool any = false, busy = false;
            for (unsigned r = 0; r < t->nregs; r++) {
                size_t a = r * t->size, b = a + t->size;
                if (a < hi && b > lo) {
                    any = true;
                    busy |= t->live[sl * t->nregs + r];
                }
            }
            n += any && !busy;
        }
    return n;
}

static void test_slab_trim(void) {
    unsigned n = rd_u("arenas.narenas");
    REQUIRE(n >= 6, "%u automatic arenas", n);
    unsigned d = n - 1, taker = n - 2, x = n - 3, y = n - 4, k = n - 5, cur = rd_u("thread.arena");
    static trim_set_t ts, tk;
    trim_setup(&ts, d);
    trim_setup(&tk, k);
    size_t want = trim_expected(&ts);
    REQUIRE(want == 4 && trim_expected(&tk) == 4, "%zu and %zu free pages", want, trim_expected(&tk));
    owed_clear(x, y, taker);
    epoch();
    size_t res0 = rd_z("stats.arenas.%u.resident", d);
    uint64_t purged0 = rd_u64("stats.arenas.%u.purged", d);
    CHECK_EQ_U(rd_z("stats.arenas.%u.ptrimmed", d), 0);
    /* 4 MiB owed, no dirty page anywhere to pay it */
    relief_grow(0, 16, 0);
    for (int t = 0; t < 3; t++) { /* k's bin fills between the payments */
        set_arena(k);
        void *p = mallocx(640, MALLOCX_TCACHE_NONE);
        REQUIRE(p);
        dallocx(p, MALLOCX_TCACHE_NONE);
        set_arena(taker);
        owed_tick();
    }
    epoch();
    if (rd_b("opt.steal")) { /* steals take such slabs' regions instead: no trimming */
        CHECK_EQ_U(rd_z("stats.arenas.%u.ptrimmed", d), 0);
        CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", d), purged0);
        CHECK_EQ_U(rd_z("stats.arenas.%u.resident", d), res0);
        trim_finish(&ts, d, &tk, k, taker, cur);
        return;
    }
    CHECK_EQ_U(rd_z("stats.arenas.%u.ptrimmed", d), want);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", d), purged0 + want);
    CHECK_EQ_U(rd_z("stats.arenas.%u.resident", d), res0 - want * 4096);
    CHECK_EQ_U(rd_z("stats.arenas.%u.ptrimmed", k), 0);
    /* A slab looked at before is looked at again once more of it is free:
     * slab 0's last region freed, its page 2 goes at the next payment. */
    set_arena(d);
    dallocx(ts.blk[18], MALLOCX_TCACHE_NONE);
    ts.live[18] = false;
    set_arena(taker);
    owed_tick();
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.ptrimmed", d), want + 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", d), purged0 + want + 1);
    for (unsigned i = 0; i < TRIM_SLABS * ts.nregs; i++) {
        if (!ts.live[i]) continue;
        bool ok = true;
        for (size_t b = 0; b < 640; b++) ok &= (unsigned char)ts.blk[i][b] == trim_byte(i);
        CHECK(ok, "live block %u (%p) lost its bytes", i, (void *)ts.blk[i]);
    }
    /* The freed regions handed out again: every slab untrimmed, and the
     * regions wholly on a trimmed page read zero (the page was purged). */
    set_arena(d);
    unsigned nfree = 0, zero = 0, inside = 0;
    for (unsigned i = 0; i < TRIM_SLABS * ts.nregs; i++) nfree += !ts.live[i];
    char *again[TRIM_SLABS * 32];
    for (unsigned i = 0; i < nfree; i++) REQUIRE((again[i] = mallocx(640, MALLOCX_TCACHE_NONE)));
    for (unsigned i = 0; i < TRIM_SLABS * ts.nregs; i++) {
        if (ts.live[i] || i / ts.nregs == TRIM_SLABS - 1) continue;
        size_t off = (i % ts.nregs) * 640;
        if (off / 4096 != (off + 639) / 4096) continue; /* straddles two pages */
        /* on a page the rule counts free: all its regions were freed */
        size_t pg = off / 4096, lo = pg * 4096, hi = lo + 4096;
        bool pfree = true;
        for (unsigned r = 0; r < ts.nregs; r++)
            if (r * 640 < hi && r * 640 + 640 > lo) pfree &= !ts.live[i - i % ts.nregs + r];
        if (!pfree) continue;
        inside++;
        bool z = true;
        for (size_t b = 0; b < 640; b++) z &= ts.blk[i][b] == 0;
        zero += z;
    }
    CHECK(inside > 0, "no freed region lies wholly on a free page");
    CHECK_EQ_U(zero, inside);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.ptrimmed", d), 0);
    for (unsigned i = 0; i < nfree; i++) {
        memset(again[i], 7, 640);
        dallocx(again[i], MALLOCX_TCACHE_NONE);
    }
    trim_finish(&ts, d, &tk, k, taker, cur);
}

/* A request no chunk can hold fails (ENOMEM) without touching the arena's
 * pages: no purge of its dirty pages, no release of its retained ones. */
static void test_impossible_keeps_pages(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    void *p = mallocx((size_t)4 << 20, fl);
    REQUIRE(p);
    memset(p, 1, (size_t)4 << 20);
    dallocx(p, MALLOCX_TCACHE_NONE);
    epoch();
    size_t dirty = rd_z("stats.arenas.%u.pdirty", a), mapped = rd_z("stats.arenas.%u.mapped", a);
    REQUIRE(dirty >= 1024);
    /* beyond the largest size class, as large as the address space, and
     * an alignment as large */
    void *r[3];
    errno = 0;
    r[0] = mallocx((size_t)1 << 50, fl);
    CHECK(errno == ENOMEM, "errno %d", errno);
    r[1] = mallocx((size_t)1 << 47, fl);
    r[2] = mallocx(1, fl | MALLOCX_LG_ALIGN(47));
    for (int k = 0; k < 3; k++) CHECK(r[k] == NULL, "request %d succeeded", k);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), dirty);
    CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", a), mapped);
}

/* A block of another arena freed by this thread goes home: the thread's
 * next allocation of that size never hands it out (small and cached-large
 * sizes; plain and sized free). */
static void test_foreign_not_reused(void) {
    unsigned a = new_arena(), own = rd_u("thread.arena");
    REQUIRE(a != own);
    const size_t sizes[] = {64, 20000}; /* small; large within tcache_max */
    for (int k = 0; k < 2; k++) {
        for (int sized = 0; sized < 2; sized++) {
            void *p = mallocx(sizes[k], MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
            REQUIRE(p);
            if (sized) sdallocx(p, sizes[k], 0);
            else free(p);
            void *q = malloc(sizes[k]);
            REQUIRE(q);
            CHECK(arena_of_block(q) == own, "%s of a %zu B block of arena %u: malloc returned a block of arena %u",
                  sized ? "sdallocx" : "free", sizes[k], a, arena_of_block(q));
            free(q);
        }
    }
}

/* Arenas from index 255 on share one pagemap tag: their blocks are still
 * told apart (by their records) from the freeing thread's own, whether that
 * thread is on arena 0 or on another arena past 255. */
static void *shared_tag_thread(void *arg) {
    unsigned *ab = arg; /* the thread's arena, then the arena of the blocks */
    set_arena(ab[0]);
    int bad = 0;
    for (int k = 0; k < 2; k++) {
        size_t s = k ? 20000 : 64;
        void *p = mallocx(s, MALLOCX_ARENA(ab[1]) | MALLOCX_TCACHE_NONE);
        if (!p) return (void *)1;
        free(p);
        void *q = malloc(s);
        if (!q || arena_of_block(q) != ab[0]) bad++;
        free(q);
        /* its own blocks: cached and handed out again */
        void *r = malloc(s);
        free(r);
        void *r2 = malloc(s);
        if (r2 != r) bad++;
        free(r2);
    }
    return (void *)(intptr_t)bad;
}

static void test_shared_tag(void) {
    unsigned own = rd_u("thread.arena"), a = 0;
    REQUIRE(own < 255);
    /* own + 256 and own + 512: the arenas whose low 8 bits are own's */
    while (a < own + 512) REQUIRE((a = new_arena()) <= own + 512);
    unsigned cases[3][2] = {{own, own + 256}, {own + 256, own}, {own + 256, own + 512}};
    for (int c = 0; c < 3; c++) {
        pthread_t t;
        void *ret;
        REQUIRE(pthread_create(&t, NULL, shared_tag_thread, cases[c]) == 0);
        pthread_join(t, &ret);
        CHECK(ret == NULL, "thread on arena %u, blocks of arena %u: %d reused or missing",
              cases[c][0], cases[c][1], (int)(intptr_t)ret);
    }
}

/* MALLOCX_ZERO without the thread cache: every small class comes back
 * zeroed even when the region was just freed dirty (thread's arena and an
 * explicit arena). */
static void test_zero_uncached(void) {
    unsigned nbins = rd_u("arenas.nbins"), e = new_arena();
    for (int k = 0; k < 2; k++) {
        int fl = MALLOCX_TCACHE_NONE | (k ? MALLOCX_ARENA(e) : 0);
        for (unsigned j = 0; j < nbins; j++) {
            size_t s = rd_z("arenas.bin.%u.size", j);
            void *p = mallocx(s, fl);
            REQUIRE(p);
            memset(p, 0xee, s);
            dallocx(p, fl);
            unsigned char *z = mallocx(s, fl | MALLOCX_ZERO);
            REQUIRE(z);
            size_t nz = 0;
            for (size_t i = 0; i < s; i++) nz += z[i] != 0;
            CHECK(nz == 0, "%s, %zu B class: %zu bytes not zero (%s region)", k ? "explicit arena" : "own arena",
                  s, nz, (void *)z == p ? "the same" : "another");
            dallocx(z, fl);
        }
    }
}

/* 200 blocks of 1000 B (the 1 KiB class) allocated and freed, n times: a
 * slow-path event (fill or flush) every few calls, none in other classes. */
static void *churn_v[200];
static void churn_1k(int n) {
    for (int r = 0; r < n; r++) {
        for (int i = 0; i < 200; i++) REQUIRE((churn_v[i] = malloc(1000)));
        for (int i = 0; i < 200; i++) free(churn_v[i]);
    }
}

/* Idle trimming: every 64 slow-path events, a cache bin that needed no fill
 * since the last collection gives back half of what it holds. */
static void test_tcache_idle_trim(void) {
    unsigned a = new_arena();
    set_arena(a);
    unsigned j = bin_of(32);
    free(malloc(32)); /* one fill: half the 256 the class's stack holds */
    epoch();
    size_t held = rd_z("stats.arenas.%u.bins.%u.curregs", a, j);
    CHECK_EQ_U(held, 128);
    churn_1k(80);
    epoch();
    size_t now = rd_z("stats.arenas.%u.bins.%u.curregs", a, j);
    CHECK(now <= held / 4, "the idle 32 B bin still holds %zu of %zu", now, held);
    CHECK(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j) >= 2);
}

/* A thread's remote stack (small blocks of another arena it freed) goes
 * home at the periodic collection too, not only when full, at a flush or at
 * thread exit. */
static void test_remote_flush_gc(void) {
    unsigned a = new_arena(), e = new_arena();
    set_arena(a);
    unsigned j = bin_of(64);
    void *v[10];
    for (int i = 0; i < 10; i++) REQUIRE((v[i] = mallocx(64, MALLOCX_ARENA(e) | MALLOCX_TCACHE_NONE)));
    for (int i = 0; i < 10; i++) free(v[i]); /* onto this thread's remote stack (room for 128) */
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", e, j), 10);
    churn_1k(80);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 10);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", e, j), 0);
}

/* Remote stacks go home at thread.tcache.flush, at thread exit, and a
 * stack holding blocks of two arenas sends each block to its own. */
static void *remote_free_thread(void *arg) {
    void **v = arg;
    for (int i = 0; i < 10; i++) free(v[i]);
    return NULL;
}
static void test_remote_flush_home(void) {
    unsigned n = rd_u("arenas.narenas"), k = n - 1; /* automatic only, before any new_arena */
    unsigned a = new_arena(), e = new_arena(), f = new_arena();
    set_arena(a);
    unsigned j = bin_of(64);
    void *v[20];
    /* 1. thread.tcache.flush */
    for (int i = 0; i < 10; i++) REQUIRE((v[i] = mallocx(64, MALLOCX_ARENA(e) | MALLOCX_TCACHE_NONE)));
    for (int i = 0; i < 10; i++) free(v[i]);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 0);
    REQUIRE(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 10);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", e, j), 0);
    /* 2. blocks of e and f interleaved on one remote stack */
    for (int i = 0; i < 20; i++)
        REQUIRE((v[i] = mallocx(64, MALLOCX_ARENA(i % 3 ? e : f) | MALLOCX_TCACHE_NONE)));
    for (int i = 0; i < 20; i++) free(v[i]);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", e, j), 13);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", f, j), 7);
    REQUIRE(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 10 + 13);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", f, j), 7);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", e, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", f, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0); /* none went to this thread's arena */
    /* 2b. automatic arenas' blocks (the flush trusts a stack whose tags all
     * name one automatic arena): first k's alone, then arena 0's and k's
     * interleaved, whose tags OR to k's and AND to 0's, so only a lookup per
     * block finds the owners (a flush that took the stack for one arena's
     * would send all 20 to one of them) */
    REQUIRE(n >= 2, "%u automatic arenas", n);
    uint64_t d0 = rd_u64("stats.arenas.0.bins.%u.ndalloc", j);
    for (int i = 0; i < 20; i++) REQUIRE((v[i] = mallocx(64, MALLOCX_ARENA(k) | MALLOCX_TCACHE_NONE)));
    epoch();
    uint64_t dk = rd_u64("stats.arenas.%u.bins.%u.ndalloc", k, j);
    for (int i = 0; i < 20; i++) free(v[i]);
    REQUIRE(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", k, j), dk + 20);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nparked", k, j), 20); /* onto its transfer stack */
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", k, j), 0);
    for (int i = 0; i < 20; i++)
        REQUIRE((v[i] = mallocx(64, MALLOCX_ARENA(i % 2 ? k : 0) | MALLOCX_TCACHE_NONE)));
    for (int i = 0; i < 20; i++) free(v[i]);
    REQUIRE(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", k, j), dk + 20 + 10);
    CHECK_EQ_U(rd_u64("stats.arenas.0.bins.%u.ndalloc", j), d0 + 10);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", k, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
    /* 3. thread exit: another thread frees 10 blocks of e and ends */
    for (int i = 0; i < 10; i++) REQUIRE((v[i] = mallocx(64, MALLOCX_ARENA(e) | MALLOCX_TCACHE_NONE)));
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, remote_free_thread, v) == 0);
    pthread_join(t, NULL);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", e, j), 10 + 13 + 10);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", e, j), 0);
}

/* thread.tcache.enabled = false flushes what the cache holds. */
static void test_tcache_disable_flushes(void) {
    unsigned a = new_arena();
    set_arena(a);
    unsigned j = bin_of(32), l = lextent_of(20480);
    free(malloc(32));
    free(malloc(20000)); /* a cached large block */
    epoch();
    CHECK(rd_z("stats.arenas.%u.bins.%u.curregs", a, j) > 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l), 1);
    bool off = false;
    REQUIRE(mallctl("thread.tcache.enabled", NULL, NULL, &off, sizeof(off)) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, l), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), 0);
}

/* A new thread's first allocation attaches it to the automatic arena with
 * the fewest threads, the lowest index among equals: with the main thread
 * on arena 0, two new threads take arenas 1 and 2 (never-used arenas count
 * as having no thread). */
static pthread_barrier_t choose_bar;
static void *choose_thread(void *arg) {
    void *p = malloc(64);
    *(unsigned *)arg = arena_of_block(p);
    free(p);
    pthread_barrier_wait(&choose_bar); /* both attached */
    pthread_barrier_wait(&choose_bar); /* counted */
    return NULL;
}
static void test_arena_choice(void) {
    unsigned n = rd_u("arenas.narenas");
    REQUIRE(n >= 3, "%u automatic arenas", n);
    free(malloc(64));
    REQUIRE(rd_u("thread.arena") == 0, "the main thread is on arena %u", rd_u("thread.arena"));
    epoch();
    CHECK_EQ_U(rd_u("stats.arenas.0.nthreads"), 1);
    REQUIRE(pthread_barrier_init(&choose_bar, NULL, 3) == 0);
    unsigned got[2] = {~0u, ~0u};
    pthread_t t[2];
    REQUIRE(pthread_create(&t[0], NULL, choose_thread, &got[0]) == 0);
    REQUIRE(pthread_create(&t[1], NULL, choose_thread, &got[1]) == 0);
    pthread_barrier_wait(&choose_bar);
    epoch();
    CHECK(got[0] != 0 && got[1] != 0 && got[0] != got[1], "new threads on arenas %u and %u", got[0], got[1]);
    CHECK((got[0] == 1 && got[1] == 2) || (got[0] == 2 && got[1] == 1), "new threads on arenas %u and %u",
          got[0], got[1]);
    CHECK_EQ_U(rd_u("stats.arenas.0.nthreads"), 1);
    CHECK_EQ_U(rd_u("stats.arenas.1.nthreads"), 1);
    CHECK_EQ_U(rd_u("stats.arenas.2.nthreads"), 1);
    pthread_barrier_wait(&choose_bar);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&choose_bar);
}

/* arenas.tcache_max is inclusive: a block of that class is cached when
 * freed, one of the next class up goes back to the arena at once. */
static void test_tcache_max_inclusive(void) {
    unsigned a = new_arena();
    set_arena(a);
    size_t m = rd_z("arenas.tcache_max");
    REQUIRE(m > 14336 && nallocx(m, 0) == m, "tcache_max %zu is not a large class", m);
    size_t up = nallocx(m + 1, 0);
    unsigned lm = lextent_of(m), lu = lextent_of(up);
    free(malloc(m));
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, lm), 1); /* in the cache */
    free(malloc(up));
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", a, lu), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.lextents.%u.curlextents", a, lu), 0); /* not cached */
    /* the cached block is handed out again */
    void *p = malloc(m);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.lextents.%u.nmalloc", a, lm), 1);
    free(p);
}

/* ---- steals from donor bins (opt.steal; run with it on and off) ----
 * A donor thread D (an automatic arena of its own) allocates blocks of one
 * class and stays idle; the main thread frees every other one (remote
 * frees, past two overflows of D's transfer stack; the live half keeps the
 * slabs from emptying), so D's bin is a donor with free regions. A new thread
 * S, whose fresh automatic arena would have to grow for that class, takes
 * D's free regions instead (with opt.steal): its block is D's arena's and
 * its arena holds no slab of the class. The stolen blocks sit at the bottom
 * of S's cache bin; S's own blocks freed on top of them flush them out, and
 * they must go home to D's arena, not onto S's transfer stack. A thread
 * bound with thread.arena does not steal, and once D's own thread fills
 * from its bin again the bin is no donor: a new thread's arena grows. */
#define STEAL_SIZE 2560 /* a class no other test here uses: remote stacks of 32, transfer stack 102 */
#define STEAL_N 600
#define STEAL_OWN 40
#define STEAL_FILL 16 /* a fill: half the cache bin of a 1025..4096 B class (32, tcache.c) */
static void *steal_v[STEAL_N], *steal_own[STEAL_OWN];
static pthread_barrier_t steal_bar;
typedef struct {
    unsigned arena, block_arena, nforeign; /* thread.arena; arenas.lookup of its first block */
    unsigned bind;                          /* arena to bind to first (~0u: none) */
    bool own_blocks;                        /* also free own blocks over the stolen ones */
} steal_arg_t;

static void *steal_donor(void *arg) {
    steal_arg_t *r = arg;
    for (int i = 0; i < STEAL_N; i++) steal_v[i] = malloc(STEAL_SIZE);
    r->arena = rd_u("thread.arena");
    pthread_barrier_wait(&steal_bar); /* 1: allocated */
    pthread_barrier_wait(&steal_bar); /* 2: the others are done */
    park_flush();                     /* (its cache still holds a few) */
    void *p = malloc(STEAL_SIZE);     /* a fill of its own: no donor any more */
    r->block_arena = arena_of_block(p);
    free(p);
    pthread_barrier_wait(&steal_bar); /* 3: filled */
    pthread_barrier_wait(&steal_bar); /* 4: the last thread is done */
    return NULL;
}

/* Takers stay attached to their arenas until the test ends, so that each new
 * thread gets a fresh arena. */
static pthread_mutex_t steal_mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t steal_cv = PTHREAD_COND_INITIALIZER;
static int steal_phase; /* 1: a taker is done; 2: all may exit */
static void steal_signal(int phase) {
    pthread_mutex_lock(&steal_mx);
    steal_phase = phase;
    pthread_cond_broadcast(&steal_cv);
    pthread_mutex_unlock(&steal_mx);
}
static void steal_wait(int phase) {
    pthread_mutex_lock(&steal_mx);
    while (steal_phase < phase) pthread_cond_wait(&steal_cv, &steal_mx);
    pthread_mutex_unlock(&steal_mx);
}

static void *steal_taker(void *arg) {
    steal_arg_t *r = arg;
    if (r->bind != ~0u) set_arena(r->bind);
    r->arena = rd_u("thread.arena");
    void *p = malloc(STEAL_SIZE);
    r->block_arena = arena_of_block(p);
    if (r->own_blocks) {
        /* own blocks (the cache bypassed: a direct fill never steals) freed
         * into the bin above the stolen ones: the flushes take the oldest */
        for (int i = 0; i < STEAL_OWN; i++) steal_own[i] = mallocx(STEAL_SIZE, MALLOCX_TCACHE_NONE);
        for (int i = 0; i < STEAL_OWN; i++) r->nforeign += arena_of_block(steal_own[i]) != r->arena;
        for (int i = 0; i < STEAL_OWN; i++) free(steal_own[i]);
    }
    free(p);
    park_flush();
    steal_signal(1);
    steal_wait(2);
    return NULL;
}

static steal_arg_t steal_r[3];
static pthread_t steal_t[3];
static steal_arg_t steal_run(int k, unsigned bind, bool own_blocks) {
    steal_r[k] = (steal_arg_t){.bind = bind, .own_blocks = own_blocks};
    steal_phase = 0;
    REQUIRE(pthread_create(&steal_t[k], NULL, steal_taker, &steal_r[k]) == 0);
    steal_wait(1);
    return steal_r[k];
}

static void test_steal(void) {
    bool on = rd_b("opt.steal");
    unsigned n = rd_u("arenas.narenas"), j = bin_of(STEAL_SIZE);
    REQUIRE(n >= 5, "%u automatic arenas", n);
    free(malloc(64));
    REQUIRE(rd_u("thread.arena") == 0, "the main thread is on arena %u", rd_u("thread.arena"));
    REQUIRE(pthread_barrier_init(&steal_bar, NULL, 2) == 0);
    steal_arg_t d = {.bind = ~0u};
    pthread_t dt;
    REQUIRE(pthread_create(&dt, NULL, steal_donor, &d) == 0);
    pthread_barrier_wait(&steal_bar); /* 1 */
    unsigned da = d.arena;
    REQUIRE(da != 0 && da < n, "the donor thread is on arena %u", da);
    for (int i = 0; i < STEAL_N; i += 2) free(steal_v[i]); /* remote: D's arena */
    park_flush();
    epoch();
    size_t dregs = rd_z("stats.arenas.%u.bins.%u.curregs", da, j); /* the live half and D's cache */
    CHECK(dregs >= STEAL_N / 2 && dregs < STEAL_N / 2 + 32, "%zu regions of the donor out", dregs);
    /* free regions in the main thread's arena too, which is no donor (its
     * thread frees its own blocks, straight into the bin) */
    for (int i = 0; i < STEAL_OWN; i++) steal_own[i] = mallocx(STEAL_SIZE, MALLOCX_TCACHE_NONE);
    for (int i = 0; i < STEAL_OWN; i++) dallocx(steal_own[i], MALLOCX_TCACHE_NONE);
    epoch();
    REQUIRE(rd_z("stats.arenas.0.bins.%u.curslabs", j) > 0);

    /* S: a fresh automatic arena; steals 16 regions (half its bin) */
    steal_arg_t s = steal_run(0, ~0u, true);
    REQUIRE(s.arena != da && s.arena != 0 && s.arena < n, "S on arena %u (donor %u)", s.arena, da);
    epoch();
    uint64_t stolen = rd_u64("stats.arenas.%u.bins.%u.nstolen", da, j);
    if (on) {
        CHECK(s.block_arena == da, "S (arena %u) got a block of arena %u, not the donor's (%u)", s.arena,
              s.block_arena, da);
        CHECK_EQ_U(stolen, STEAL_FILL);
    } else {
        CHECK(s.block_arena == s.arena, "opt.steal off: S (arena %u) got a block of arena %u", s.arena,
              s.block_arena);
        CHECK_EQ_U(stolen, 0);
    }
    CHECK_EQ_U(s.nforeign, 0);
    /* everything went home: the stolen blocks to D's arena, S's own onto its
     * transfer stack (a stolen block there would be counted twice) */
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", da, j), dregs);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", s.arena, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nparked", s.arena, j), on ? STEAL_OWN : STEAL_OWN + STEAL_FILL);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", da, j), STEAL_N / 2 + stolen);
    /* the donor's transfer stack stayed off: they went into its slabs, where
     * the next steal takes them in address order (not parked, to be handed
     * to another thread while still in the freeing thread's CPU cache) */
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.nparked", da, j), 0);

    /* a thread bound with thread.arena (to a fresh automatic arena, not the
     * one it starts on) grows it */
    unsigned bind = n - 1;
    REQUIRE(bind != da && bind != s.arena);
    steal_arg_t b = steal_run(1, bind, false);
    CHECK(b.arena == bind && b.block_arena == bind, "bound to arena %u: on %u, block of arena %u", bind,
          b.arena, b.block_arena);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nstolen", da, j), stolen);

    /* D fills from its own bin: no donor now, a new thread grows its arena */
    pthread_barrier_wait(&steal_bar); /* 2 */
    pthread_barrier_wait(&steal_bar); /* 3 */
    CHECK_EQ_U(d.block_arena, da);
    epoch();
    REQUIRE(rd_z("stats.arenas.%u.bins.%u.curslabs", da, j) > 0);
    steal_arg_t s2 = steal_run(2, ~0u, false);
    REQUIRE(s2.arena != da && s2.arena != s.arena && s2.arena != bind, "S2 on arena %u", s2.arena);
    CHECK(s2.block_arena == s2.arena, "after the donor's own fill: arena %u got a block of arena %u",
          s2.arena, s2.block_arena);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nstolen", da, j), stolen);
    pthread_barrier_wait(&steal_bar); /* 4 */
    pthread_join(dt, NULL);
    steal_signal(2);
    for (int k = 0; k < 3; k++) pthread_join(steal_t[k], NULL);
    pthread_barrier_destroy(&steal_bar);
}

static const tcase_t tests[] = {
    {"foreign_not_reused", test_foreign_not_reused},
    {"shared_tag", test_shared_tag},
    {"impossible_keeps_pages", test_impossible_keeps_pages},
    {"pressure_drain", test_pressure_drain},
    {"xfer_overflow", test_xfer_overflow},
    {"growth_relief", test_growth_relief},
    {"relief_owed", test_relief_owed},
    {"relief_owed_alone", test_relief_owed_alone},
    {"slab_trim", test_slab_trim},
    {"zero_uncached", test_zero_uncached},
    {"tcache_idle_trim", test_tcache_idle_trim},
    {"remote_flush_gc", test_remote_flush_gc},
    {"remote_flush_home", test_remote_flush_home},
    {"tcache_disable_flushes", test_tcache_disable_flushes},
    {"arena_choice", test_arena_choice},
    {"tcache_max_inclusive", test_tcache_max_inclusive},
    {"tcache_flush_half", test_tcache_flush_half},
    {"tcache_flush_streaming", test_tcache_flush_streaming},
    {"remote_stack_capacity", test_remote_stack_capacity},
    {"direct_free_nonfull", test_direct_free_nonfull},
    {"tcache_idle_trim_two", test_tcache_idle_trim_two},
    {"drain_backoff", test_drain_backoff},
    {"malloc_trim", test_malloc_trim},
    {"mallocx_flags_cached", test_mallocx_flags_cached},
    {"steal", test_steal},
};

int main(int argc, char **argv) {
    return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
