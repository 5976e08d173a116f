/*
 * extent_test.c -- the page allocator (src/extent.c) seen through the API:
 * its books balance across every kind of resize (aligned takes, in-place
 * shrink and grow, mremap), mremap'd blocks live on their own mapping,
 * contents promised zero are zero (pages whose purge failed, memory the
 * alloc hook says is not zero, a grow into dirty pages), the free-set
 * search prefers the lowest address, freed slab pages carry no stale
 * pagemap entries, arenas whose memory lies side by side never merge or
 * grow into each other, split pieces keep their age for decay, and the
 * default hooks called directly honour new_addr and the purge offset; and
 * purging and decay through mallctl (arena.<i>.purge/decay, dirty and muzzy
 * ages, the muzzy state, a new decay time applying at once, thread.idle),
 * freed neighbours coalescing. Decay is tested with a clock the program
 * moves (tclock.h), never by sleeping. Many tests were written from mutation
 * passes over extent.c, hooks.c and pagemap: each fails with the mutants it
 * names. Part of the ctl suite (tests/ctl/run.sh), run with no MOSAIC_CONF
 * (defaults: retain:true, muzzy_decay_ms 0).
 */
#include "tclock.h"
#include "tmallctl.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define PG ((size_t)4096)

/* A new explicit arena with its dirty decay set (-1: never purged by age). */
static unsigned arena_decay(ssize_t dirty_ms) {
    unsigned a = new_arena();
    REQUIRE(ctl(NULL, NULL, &dirty_ms, sizeof(dirty_ms), "arena.%u.dirty_decay_ms", a) == 0);
    return a;
}

static size_t count_not(const void *p, size_t n, unsigned char c) {
    const unsigned char *b = p;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += b[i] != c;
    return k;
}

/* Whether all of [p, p + len) is mapped (mincore fails with ENOMEM on a hole). */
static bool is_mapped(void *p, size_t len) {
    static unsigned char vec[32768]; /* up to 128 MiB */
    if (len > sizeof(vec) * PG) return false;
    return mincore(p, len, vec) == 0;
}

/* The arena's books: every mapped (not retained) page of an explicit arena
 * is active, dirty or muzzy, and the active pages are the live blocks. */
#define CHECK_BOOKS(a, live, step)                                                                 \
    do {                                                                                           \
        epoch();                                                                                   \
        size_t m_ = rd_z("stats.arenas.%u.mapped", a), act_ = rd_z("stats.arenas.%u.pactive", a); \
        size_t d_ = rd_z("stats.arenas.%u.pdirty", a), mz_ = rd_z("stats.arenas.%u.pmuzzy", a);   \
        CHECK(m_ == (act_ + d_ + mz_) * PG, "%s: mapped %zu != (active %zu + dirty %zu + muzzy %zu) pages", \
              step, m_, act_, d_, mz_);                                                            \
        CHECK(act_ * PG == (live), "%s: %zu active pages, %zu bytes live", step, act_, (size_t)(live)); \
    } while (0)

/* Mutants: the lead piece an aligned take splits off not put back
 * (pa_take_from), pa_shrink / pa_grow not moving active_pages, pa_grow
 * dropping the tail it split off the neighbour. */
static void test_books_balance(void) {
    unsigned a = arena_decay(-1);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    char *p1 = mallocx(64 * KiB, fl);
    REQUIRE(p1);
    CHECK_BOOKS(a, 64 * KiB, "first block");
    /* aligned: the pages in front of the aligned address (C + 64 KiB ..
     * C + 256 KiB of the fresh 2 MiB-aligned chunk C) are split off */
    char *p2 = mallocx(256 * KiB, fl | MALLOCX_ALIGN(256 * KiB));
    REQUIRE(p2 && ((uintptr_t)p2 & (256 * KiB - 1)) == 0);
    REQUIRE(p2 == p1 + 256 * KiB, "not from the first chunk: %p %p", (void *)p1, (void *)p2);
    CHECK_BOOKS(a, 64 * KiB + 256 * KiB, "aligned take");
    CHECK_EQ_U(xallocx(p2, 128 * KiB, 0, fl), 128 * KiB); /* in place: the tail goes dirty */
    CHECK_BOOKS(a, 64 * KiB + 128 * KiB, "shrink");
    CHECK_EQ_U(xallocx(p2, 192 * KiB, 0, fl), 192 * KiB); /* into part of that dirty tail */
    CHECK_BOOKS(a, 64 * KiB + 192 * KiB, "grow into dirty");
    CHECK_EQ_U(xallocx(p1, 128 * KiB, 0, fl), 128 * KiB); /* into part of the retained lead */
    CHECK_BOOKS(a, 128 * KiB + 192 * KiB, "grow into retained");
    dallocx(p1, fl);
    dallocx(p2, fl);
    CHECK_BOOKS(a, 0, "all freed");
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    CHECK_BOOKS(a, 0, "purged");
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", a), 0);
}

/* Large blocks (>= 32 MiB, default hooks) grow by mremap: no copy and no
 * second block (nothing freed dirty), the books follow the new size, and
 * the moved block, on a mapping of its own, is unmapped when freed.
 * Mutants: pa_remap not adding to mapped_total or active_pages, or not
 * marking the block remapped (it would stay as 64 MiB of dirty pages). */
static void test_remap_books(void) {
    unsigned a = arena_decay(-1);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    char *p = mallocx(32 * MiB, fl);
    REQUIRE(p);
    memset(p, 0x3c, 32 * MiB);
    char *q = rallocx(p, 64 * MiB, fl);
    REQUIRE(q);
    CHECK_EQ_U(count_not(q, 32 * MiB, 0x3c), 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0); /* not allocate, copy and free */
    CHECK_BOOKS(a, 64 * MiB, "after mremap");
    CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", a), 64 * MiB);
    dallocx(q, fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", a), 0);
    CHECK(!is_mapped(q, 64 * MiB), "the mremap'd block is still mapped after its free");
}

/* Hooks without dalloc whose forced purge fails (as madvise on locked
 * pages): the purged-and-failed pages keep their contents, so they are not
 * known zero, also once merged with the chunk's untouched (zero) rest.
 * mallocx(MALLOCX_ZERO) on them must clear them. Mutants: pa_purge_one
 * marking the pages zero whatever the purge returned; extent_merge making
 * a merged extent zero when either part is. */
static extent_hooks_t *dflt;
static void *fw_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero,
                      bool *commit, unsigned ind) {
    (void)h;
    return dflt->alloc(dflt, na, size, align, zero, commit, ind);
}
static bool fw_purge_fail(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                          unsigned ind) {
    (void)h, (void)addr, (void)size, (void)off, (void)len, (void)ind;
    return true;
}
static bool ok_split(extent_hooks_t *h, void *a, size_t s, size_t sa, size_t sb, bool c, unsigned i) {
    (void)h, (void)a, (void)s, (void)sa, (void)sb, (void)c, (void)i;
    return false;
}
static bool ok_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool c, unsigned i) {
    (void)h, (void)a, (void)sa, (void)b, (void)sb, (void)c, (void)i;
    return false;
}
static extent_hooks_t failpurge_hooks = {fw_alloc, NULL, NULL, NULL, NULL, NULL, fw_purge_fail,
                                         ok_split, ok_merge};

static unsigned hooked(extent_hooks_t *hp, ssize_t dirty_ms) {
    dflt = rd_p("arena.0.extent_hooks");
    REQUIRE(dflt);
    unsigned a;
    size_t sz = sizeof(a);
    REQUIRE(mallctl("arenas.create", &a, &sz, &hp, sizeof(hp)) == 0);
    REQUIRE(ctl(NULL, NULL, &dirty_ms, sizeof(dirty_ms), "arena.%u.dirty_decay_ms", a) == 0);
    return a;
}

static void test_zero_after_failed_purge(void) {
    unsigned a = hooked(&failpurge_hooks, -1);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    /* 2 MiB-aligned: the chunk (user hooks: no larger than the request
     * needs) has an untouched, zero rest after the block */
    char *p = mallocx(MiB, fl | MALLOCX_ALIGN(2 * MiB));
    REQUIRE(p);
    epoch();
    REQUIRE(rd_z("stats.arenas.%u.retained", a) >= MiB, "no zero rest after the block");
    memset(p, 0xab, MiB);
    dallocx(p, fl);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0); /* the purge hook fails */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    char *q = mallocx(MiB, fl | MALLOCX_ZERO);
    REQUIRE(q);
    REQUIRE(q == p, "not the purged pages again (%p, %p): the test proves nothing", (void *)q, (void *)p);
    CHECK_EQ_U(count_not(q, MiB, 0), 0);
    dallocx(q, fl);
}

/* The alloc hook's *zero out-parameter: memory it says is not zero (here
 * filled with 0xcd) is cleared for MALLOCX_ZERO; a hook that leaves *zero
 * alone has said "not zero" (hooks_alloc passes false in). Mutants:
 * pa_map_new taking every new chunk as zero; hooks_alloc passing true in. */
static void *dirty_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero,
                         bool *commit, unsigned ind) {
    (void)h;
    void *p = dflt->alloc(dflt, na, size, align, zero, commit, ind);
    if (p) memset(p, 0xcd, size);
    *zero = false;
    return p;
}
static void *silent_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero,
                          bool *commit, unsigned ind) {
    (void)h;
    bool z, c;
    void *p = dflt->alloc(dflt, na, size, align, &z, &c, ind);
    if (p) memset(p, 0xcd, size);
    (void)zero, (void)commit; /* left as they came */
    return p;
}
static extent_hooks_t dirty_hooks = {dirty_alloc, NULL, NULL, NULL, NULL, NULL, NULL, ok_split, ok_merge};
static extent_hooks_t silent_hooks = {silent_alloc, NULL, NULL, NULL, NULL, NULL, NULL, ok_split, ok_merge};

static void test_hook_zero_out(void) {
    extent_hooks_t *hs[2] = {&dirty_hooks, &silent_hooks};
    for (int k = 0; k < 2; k++) {
        unsigned a = hooked(hs[k], -1);
        int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
        char *p = mallocx(256 * KiB, fl | MALLOCX_ZERO);
        REQUIRE(p);
        CHECK(count_not(p, 256 * KiB, 0) == 0, "%s hook: MALLOCX_ZERO block not zero",
              k ? "silent" : "dirty");
        dallocx(p, fl);
    }
}

/* An in-place grow with MALLOCX_ZERO into dirty pages (the tail a shrink
 * gave up, still holding the old bytes) clears the added part. (pa_grow's
 * memset and rallocx's back each other up: either mutant alone survives,
 * the two together fail here.) */
static void test_grow_zero_dirty(void) {
    unsigned a = arena_decay(-1);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    char *p = mallocx(2 * MiB, fl);
    REQUIRE(p);
    memset(p, 0xab, 2 * MiB);
    REQUIRE(xallocx(p, MiB, 0, fl) == MiB); /* the tail: dirty, 0xab */
    char *q = rallocx(p, 2 * MiB, fl | MALLOCX_ZERO);
    REQUIRE(q);
    REQUIRE(q == p, "not grown in place: the test proves nothing");
    CHECK_EQ_U(count_not(q, MiB, 0xab), 0);
    CHECK(count_not(q + MiB, MiB, 0) == 0, "the grown part is not zero");
    dallocx(q, fl);
}

/* The free-set search takes the lowest address among a size list's first
 * entries (docs/ARCHITECTURE.md "Page allocator"), not the list's head (the
 * last freed). Mutant: eset_find keeping the highest address. */
static void test_lowest_address_first(void) {
    unsigned a = arena_decay(-1);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    char *b[6];
    for (int i = 0; i < 6; i++) REQUIRE((b[i] = mallocx(64 * KiB, fl)));
    for (int i = 1; i < 6; i++) REQUIRE(b[i] > b[i - 1], "blocks not in address order");
    /* free 0, 2, 4 (separated by live blocks: no coalescing), the lowest first */
    dallocx(b[0], fl);
    dallocx(b[2], fl);
    dallocx(b[4], fl);
    char *r = mallocx(64 * KiB, fl);
    CHECK(r == b[0], "got %p, lowest free %p (last freed %p)", (void *)r, (void *)b[0], (void *)b[4]);
    r = mallocx(64 * KiB, fl);
    CHECK(r == b[2], "got %p, lowest free %p", (void *)r, (void *)b[2]);
}

/* Slab pages, freed (here by arena.reset) and reused by a large block:
 * every page of a slab was mapped to it in the pagemap, so a freed slab's
 * inner pages must be cleared, or a pointer into the large block would be
 * taken for a small region (arenas.lookup: EINVAL for a pointer into a
 * large block; free: a slab free in someone else's block). Mutant:
 * pa_dalloc not clearing a slab's interior entries. */
static void test_slab_pages_reused(void) {
    unsigned a = arena_decay(-1);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    void *s[64];
    for (int i = 0; i < 64; i++) REQUIRE((s[i] = mallocx(8192, fl))); /* 8-page slabs */
    char *lo = s[0];
    for (int i = 1; i < 64; i++)
        if ((char *)s[i] < lo) lo = s[i];
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.reset", a) == 0);
    char *big = mallocx(256 * KiB, fl);
    REQUIRE(big);
    REQUIRE(big <= lo && big + 256 * KiB > lo, "the large block is not on the slabs' pages");
    unsigned ind;
    size_t isz = sizeof(ind);
    for (size_t off = PG; off < 256 * KiB; off += PG) {
        void *inside = big + off;
        CHECK(mallctl("arenas.lookup", &ind, &isz, &inside, sizeof(inside)) == EINVAL,
              "a pointer %zu bytes into a large block found arena %u", off, ind);
    }
    CHECK_EQ_U(arena_of_block(big), a);
    dallocx(big, fl);
}

/* Two arenas whose memory lies side by side (hooks hand out the two
 * halves of one reservation: B's chunk ends where A's begins): a free
 * extent of A is never merged into B's free sets, nor does a block of B
 * grow into it. Mutants: pa_mergeable or pa_grow not checking the
 * neighbour's owner. */
static char *resv;
static unsigned arena_lo, arena_hi;
static int lo_given, hi_given;
static void *side_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero,
                        bool *commit, unsigned ind) {
    (void)h;
    if (!na && size == 2 * MiB && ind == arena_hi && !hi_given++) {
        *zero = *commit = true;
        return resv + 2 * MiB;
    }
    if (!na && size == 2 * MiB && ind == arena_lo && !lo_given++) {
        *zero = *commit = true;
        return resv;
    }
    return dflt->alloc(dflt, na, size, align, zero, commit, ind);
}
static bool keep_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    (void)h, (void)addr, (void)size, (void)committed, (void)ind;
    return true; /* keeps everything (the reservation is the test's) */
}
static extent_hooks_t side_hooks = {side_alloc, keep_dalloc, NULL, NULL, NULL, NULL, NULL, ok_split, ok_merge};

static void test_neighbour_arenas(void) {
    resv = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(resv != MAP_FAILED);
    arena_hi = hooked(&side_hooks, -1);
    arena_lo = hooked(&side_hooks, -1);
    int fh = MALLOCX_ARENA(arena_hi) | MALLOCX_TCACHE_NONE, fl = MALLOCX_ARENA(arena_lo) | MALLOCX_TCACHE_NONE;
    char *xh = mallocx(2 * MiB, fh), *xl = mallocx(2 * MiB, fl);
    REQUIRE(xh == resv + 2 * MiB && xl == resv, "the hooks' ranges not used: %p %p (%p)", (void *)xh,
            (void *)xl, (void *)resv);
    dallocx(xh, fh); /* the high arena's range: dirty, right of the low arena's block */
    CHECK_EQ_U(xallocx(xl, 4 * MiB, 0, fl), 2 * MiB); /* not into the other arena's pages */
    dallocx(xl, fl); /* dirty too: must not merge with its neighbour */
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", arena_lo), 2 * MiB / PG);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", arena_hi), 2 * MiB / PG);
    char *q = mallocx(4 * MiB, fl);
    REQUIRE(q);
    CHECK(q + 4 * MiB <= resv + 2 * MiB || q >= resv + 4 * MiB,
          "the low arena's 4 MiB block %p overlaps the high arena's pages at %p", (void *)q,
          (void *)(resv + 2 * MiB));
    char *r = mallocx(2 * MiB, fh);
    CHECK(r == resv + 2 * MiB, "the high arena did not reuse its own pages: %p", (void *)r);
}

/* The piece left over when a dirty extent is split for a request keeps the
 * extent's age (docs/ARCHITECTURE.md "Page allocator": split pieces go back
 * with their old timestamps): it is purged when the extent would have
 * been, not earlier, not later. Mutants: extent_split giving the tail no
 * timestamp (0: purged at the next decay). */
static void test_split_keeps_age(void) {
    unsigned a = arena_decay(1000);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    char *p = mallocx(2 * MiB, fl);
    REQUIRE(p);
    memset(p, 1, 2 * MiB);
    uint64_t reads0 = __atomic_load_n(&clock_reads, __ATOMIC_RELAXED);
    dallocx(p, fl); /* dirty at t0 */
    clock_advance_ms(600);
    char *q = mallocx(MiB, fl); /* split: 1 MiB stays dirty, aged 600 ms */
    REQUIRE(q == p);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK(rd_z("stats.arenas.%u.pdirty", a) == MiB / PG, "the split-off piece (600 ms old, decay 1000 ms) was purged");
    clock_advance_ms(500); /* t0 + 1100 ms */
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK(rd_z("stats.arenas.%u.pdirty", a) == 0, "the piece (1100 ms old) was not purged: its age restarted at the split");
    REQUIRE(__atomic_load_n(&clock_reads, __ATOMIC_RELAXED) > reads0,
            "the library no longer reads the time through clock_gettime");
    dallocx(q, fl);
}

/* With dirty_decay_ms 0 the tail an in-place shrink gives up is purged at
 * once, as a free's pages are. Mutant: pa_shrink not running the decay
 * check. */
static void test_shrink_decay0(void) {
    unsigned a = arena_decay(0);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    char *p = mallocx(2 * MiB, fl);
    REQUIRE(p);
    memset(p, 1, 2 * MiB);
    REQUIRE(xallocx(p, MiB, 0, fl) == MiB);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), MiB / PG);
    dallocx(p, fl);
}

/* The default alloc hook maps with an alignment by over-mapping and
 * trimming both ends: alloc + destroy cycles leave the address space as it
 * was. Mutant: os_map not unmapping the trimmed tail (each cycle then
 * leaks up to 4 MiB of address space). */
static void test_default_alloc_no_va_leak(void) {
    extent_hooks_t *h = rd_p("arena.0.extent_hooks");
    REQUIRE(h && h->alloc && h->destroy);
    const size_t len = 2 * MiB, al = 4 * MiB;
    char *p[64];
    long vm0 = vmsize_kib();
    for (int i = 0; i < 64; i++) { /* all held: the kernel cannot hand one hole out again */
        bool zero = false, commit = false;
        p[i] = h->alloc(h, NULL, len, al, &zero, &commit, 0);
        REQUIRE(p[i] && ((uintptr_t)p[i] & (al - 1)) == 0, "alloc(2 MiB, align 4 MiB) = %p", (void *)p[i]);
    }
    long vm1 = vmsize_kib();
    for (int i = 0; i < 64; i++) h->destroy(h, p[i], len, true, 0);
    long vm = vmsize_kib();
    CHECK(vm0 > 0 && vm1 - vm0 <= 64 * 2048 + 4096, "64 blocks of 2 MiB took %ld KiB", vm1 - vm0);
    CHECK(vm0 > 0 && vm - vm0 < 4096, "64 aligned allocs, destroyed, left VmSize %ld KiB larger", vm - vm0);
}

/* The default hooks called directly (jemalloc's contract): alloc with a
 * new_addr gives that address or nothing; purge_forced purges [addr + off,
 * addr + off + len) and nothing else. Mutants: the default alloc ignoring
 * new_addr; the default purges ignoring off. */
static void test_default_hooks_direct(void) {
    extent_hooks_t *h = rd_p("arena.0.extent_hooks");
    REQUIRE(h && h->alloc && h->purge_forced && h->destroy);
    bool zero = false, commit = false;
    char *p = h->alloc(h, NULL, 2 * MiB, PG, &zero, &commit, 0);
    REQUIRE(p);
    memset(p, 1, 2 * MiB);
    char *want = p + 8 * MiB; /* most likely free: either that address or NULL */
    char *n = h->alloc(h, want, 2 * MiB, PG, &zero, &commit, 0);
    CHECK(n == NULL || n == want, "alloc(new_addr %p) returned %p", (void *)want, (void *)n);
    if (n) h->destroy(h, n, 2 * MiB, true, 0);
    CHECK(!h->purge_forced(h, p, 2 * MiB, 4 * PG, 2 * PG, 0), "purge_forced failed");
    CHECK_EQ_U(count_not(p, 4 * PG, 1), 0);            /* before off: untouched */
    CHECK_EQ_U(count_not(p + 4 * PG, 2 * PG, 0), 0);   /* [off, off + len): zero */
    CHECK_EQ_U(count_not(p + 6 * PG, 2 * MiB - 6 * PG, 1), 0); /* after: untouched */
    h->destroy(h, p, 2 * MiB, true, 0);
}

/* ---- purge and decay through mallctl ---- */
static void test_arena_purge_decay(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    size_t big = 1 << 20;
    void *p = mallocx(big, fl);
    REQUIRE(p);
    memset(p, 1, big);
    dallocx(p, fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), big / 4096);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), 0);
    /* decay: nothing is old enough (10 s) */
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), big / 4096);
    size_t ret0 = rd_z("stats.arenas.%u.retained", a);
    /* purge: everything */
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), 0);
    CHECK(rd_z("stats.arenas.%u.retained", a) >= ret0 + big, "retained grows");
    CHECK(rd_u64("stats.arenas.%u.npurge", a) >= 1);
    CHECK(rd_u64("stats.arenas.%u.nmadvise", a) >= 1);
    CHECK(rd_u64("stats.arenas.%u.purged", a) >= big / 4096);
    /* purge of all arenas */
    p = mallocx(big, fl);
    dallocx(p, fl);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", ALL) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    /* with dirty_decay_ms 0, freed pages are purged at once */
    ssize_t zero = 0;
    CHECK(ctl(NULL, NULL, &zero, sizeof(zero), "arena.%u.dirty_decay_ms", a) == 0);
    p = mallocx(big, fl);
    dallocx(p, fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    /* an action takes no value */
    CHECK(ctl(NULL, NULL, &zero, sizeof(zero), "arena.%u.purge", a) == EPERM);
    size_t sz = 0;
    CHECK(ctl(&zero, &sz, NULL, 0, "arena.%u.decay", a) == EPERM);
}

/* Decay by age: freed pages stay dirty until they are dirty_decay_ms old,
 * then the next decay purges them (time moved by the clock above). */
static void test_decay_age(void) {
    uint64_t reads0 = __atomic_load_n(&clock_reads, __ATOMIC_RELAXED);
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    ssize_t ms = 1000;
    REQUIRE(ctl(NULL, NULL, &ms, sizeof(ms), "arena.%u.dirty_decay_ms", a) == 0);
    size_t big = 1 << 20;
    void *p = mallocx(big, fl);
    REQUIRE(p != NULL);
    memset(p, 1, big);
    epoch();
    uint64_t purged0 = rd_u64("stats.arenas.%u.purged", a);
    dallocx(p, fl);
    clock_advance_ms(900);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), big / 4096); /* 0.9 s old */
    clock_advance_ms(200);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0); /* 1.1 s old */
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", a), purged0 + big / 4096);
    CLOCK_CHECK(reads0);
}

/* ---- decay with a clock the test moves (tclock.h) ---- */

/* A new arena with these decay times; fl gets flags for it, uncached. */
static unsigned decay_arena(ssize_t dirty_ms, ssize_t muzzy_ms, int *fl) {
    unsigned a = new_arena();
    REQUIRE(ctl(NULL, NULL, &dirty_ms, sizeof(dirty_ms), "arena.%u.dirty_decay_ms", a) == 0);
    REQUIRE(ctl(NULL, NULL, &muzzy_ms, sizeof(muzzy_ms), "arena.%u.muzzy_decay_ms", a) == 0);
    *fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    return a;
}

/* Frees a touched 1 MiB block of the arena: 256 dirty pages. */
static void decay_free_mib(int fl) {
    void *p = mallocx(1 << 20, fl);
    REQUIRE(p);
    memset(p, 1, 1 << 20);
    dallocx(p, fl);
}

#define PAGES_MIB ((1 << 20) / 4096)

/* Dirty pages become muzzy (MADV_FREE) after dirty_decay_ms, and muzzy ones
 * are purged for good after muzzy_decay_ms more; arena.<i>.purge purges
 * both at once, forcibly; -1 keeps pages in their state. */
static void test_muzzy(void) {
    uint64_t reads0 = __atomic_load_n(&clock_reads, __ATOMIC_RELAXED);
    int fl;
    /* dirty 0: pages are purged lazily at the free, and stay muzzy 1 s */
    unsigned a = decay_arena(0, 1000, &fl);
    epoch();
    uint64_t purged0 = rd_u64("stats.arenas.%u.purged", a), nmadv0 = rd_u64("stats.arenas.%u.nmadvise", a);
    decay_free_mib(fl);
    epoch();
    size_t ret0 = rd_z("stats.arenas.%u.retained", a);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), PAGES_MIB);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", a), purged0 + PAGES_MIB);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.nmadvise", a), nmadv0 + 1);
    /* resident counts active and dirty pages, not muzzy ones */
    CHECK_EQ_U(rd_z("stats.arenas.%u.resident", a),
               (rd_z("stats.arenas.%u.pactive", a) + rd_z("stats.arenas.%u.pdirty", a)) * 4096);
    /* muzzy pages age by muzzy_decay_ms (1 s), not dirty_decay_ms (0) */
    clock_advance_ms(500);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), PAGES_MIB);
    clock_advance_ms(600);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.retained", a), ret0 + (1 << 20));
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", a), purged0 + 2 * PAGES_MIB);

    /* muzzy -1: pages enter the muzzy state and stay there; purge empties it */
    a = decay_arena(0, -1, &fl);
    decay_free_mib(fl);
    clock_advance_ms(100000);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), PAGES_MIB);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), 0);

    /* purge of dirty pages is forced (one madvise, straight to retained),
     * even where decay would make them muzzy first; a purge or a decay that
     * finds nothing to do counts no purge sweep */
    a = decay_arena(10000, 1000, &fl);
    decay_free_mib(fl);
    epoch();
    purged0 = rd_u64("stats.arenas.%u.purged", a);
    nmadv0 = rd_u64("stats.arenas.%u.nmadvise", a);
    uint64_t npurge0 = rd_u64("stats.arenas.%u.npurge", a);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), PAGES_MIB);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", a), purged0 + PAGES_MIB);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.nmadvise", a), nmadv0 + 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.npurge", a), npurge0 + 1);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.npurge", a), npurge0 + 1);
    CLOCK_CHECK(reads0);
}

/* Lazy purging is MADV_FREE where the kernel has it: muzzy pages stay
 * resident until the kernel needs the memory (mincore still finds them),
 * where the MADV_DONTNEED fallback drops them at once. The test probes
 * MADV_FREE on a page of its own and expects whichever the kernel allows. */
static void test_muzzy_madv_free(void) {
    char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(q != MAP_FAILED);
    q[0] = 1;
    bool have = madvise(q, 4096, MADV_FREE) == 0;
    munmap(q, 4096);
    int fl;
    unsigned a = decay_arena(0, -1, &fl); /* purged lazily at the free, never further */
    char *p = mallocx(1 << 20, fl);
    REQUIRE(p);
    memset(p, 1, 1 << 20);
    dallocx(p, fl);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), PAGES_MIB);
    static unsigned char vec[PAGES_MIB];
    REQUIRE(mincore(p, 1 << 20, vec) == 0);
    size_t resident = 0;
    for (size_t i = 0; i < PAGES_MIB; i++) resident += vec[i] & 1;
    /* MADV_FREE leaves the pages resident until the kernel needs memory, and
     * under pressure it may take some at any time: at least one still
     * resident tells it from the fallback (MADV_DONTNEED), which drops all */
    if (have)
        CHECK(resident > 0 && resident <= PAGES_MIB, "%zu of %zu pages resident after MADV_FREE",
              resident, (size_t)PAGES_MIB);
    else
        CHECK_EQ_U(resident, 0);
}

/* An explicit decay (arena.<i>.decay) purges what is old enough even right
 * after another decay check: the rate limit of the checks on the
 * allocation paths (dirty_decay_ms / 16) does not apply to it. */
static void test_decay_explicit_now(void) {
    uint64_t reads0 = __atomic_load_n(&clock_reads, __ATOMIC_RELAXED);
    int fl;
    unsigned a = decay_arena(16000, 100000, &fl); /* checks at most every 1 s */
    decay_free_mib(fl);
    clock_advance_ms(15500); /* not old enough yet: this check purges nothing */
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), PAGES_MIB);
    clock_advance_ms(700); /* 16.2 s old, 0.7 s after the last check */
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), PAGES_MIB);
    /* thread.idle runs its arena's decay the same way (the block takes the
     * muzzy pages again: they are reused before new ones) */
    set_arena(a);
    decay_free_mib(MALLOCX_TCACHE_NONE);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), 0);
    clock_advance_ms(15500);
    REQUIRE(mallctl("thread.idle", NULL, NULL, NULL, 0) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), PAGES_MIB);
    clock_advance_ms(700);
    REQUIRE(mallctl("thread.idle", NULL, NULL, NULL, 0) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), PAGES_MIB);
    set_arena(0);
    CLOCK_CHECK(reads0);
}

/* A new dirty_decay_ms applies at once to the pages already dirty, however
 * recently a decay check ran. */
static void test_decay_ms_applies_now(void) {
    uint64_t reads0 = __atomic_load_n(&clock_reads, __ATOMIC_RELAXED);
    int fl;
    unsigned a = decay_arena(10000, 10000, &fl);
    decay_free_mib(fl);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.decay", a) == 0); /* a check, now */
    clock_advance_ms(100);
    ssize_t ms = 50;
    REQUIRE(ctl(NULL, NULL, &ms, sizeof(ms), "arena.%u.dirty_decay_ms", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pmuzzy", a), PAGES_MIB);
    CLOCK_CHECK(reads0);
}

/* Freed neighbours coalesce, whichever is freed first: two 1 MiB blocks
 * freed (dirty, never purged) serve a 2 MiB request without new memory. */
static void test_coalesce(void) {
    for (int order = 0; order < 2; order++) {
        int fl;
        unsigned a = decay_arena(-1, -1, &fl);
        char *x = mallocx(1 << 20, fl), *y = mallocx(1 << 20, fl);
        REQUIRE(x && y);
        REQUIRE(y == x + (1 << 20), "the two blocks are not neighbours: %p %p", (void *)x, (void *)y);
        dallocx(order ? x : y, fl);
        dallocx(order ? y : x, fl);
        epoch();
        size_t mapped = rd_z("stats.arenas.%u.mapped", a);
        CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 2 * PAGES_MIB);
        void *z = mallocx(2 << 20, fl);
        REQUIRE(z);
        epoch();
        CHECK(z == x, "order %d: the 2 MiB block is not where the two were", order);
        CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", a), 0);
        CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", a), mapped);
        dallocx(z, fl);
    }
}

static const tcase_t tests[] = {
    {"arena_purge_decay", test_arena_purge_decay},
    {"decay_age", test_decay_age},
    {"muzzy", test_muzzy},
    {"muzzy_madv_free", test_muzzy_madv_free},
    {"decay_explicit_now", test_decay_explicit_now},
    {"decay_ms_applies_now", test_decay_ms_applies_now},
    {"coalesce", test_coalesce},
    {"extent_books_balance", test_books_balance},
    {"extent_remap_books", test_remap_books},
    {"extent_zero_after_failed_purge", test_zero_after_failed_purge},
    {"extent_hook_zero_out", test_hook_zero_out},
    {"extent_grow_zero_dirty", test_grow_zero_dirty},
    {"extent_lowest_address_first", test_lowest_address_first},
    {"extent_slab_pages_reused", test_slab_pages_reused},
    {"extent_neighbour_arenas", test_neighbour_arenas},
    {"extent_split_keeps_age", test_split_keeps_age},
    {"extent_default_hooks_direct", test_default_hooks_direct},
    {"extent_shrink_decay0", test_shrink_decay0},
    {"extent_default_alloc_no_va_leak", test_default_alloc_no_va_leak},
};

int main(int argc, char **argv) {
    return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
