/*
 * ctl_test.c -- every mallctl name read (and written where writable) with
 * its value checked; exact statistics after an epoch write; jemalloc's error
 * codes. Linked to libmosaic.so, plain (jemalloc) names from mosaic.h.
 * Includes src/ctl.h, src/conf.h and src/stats.h only for their tables, so
 * that the coverage test walks exactly the names the library defines.
 * Other files of the suite: stats_test.c (exact statistics), arena_test.c
 * (caches, bins, arenas), allocx_test.c
 * (the extended API's resizing), extent_test.c (the page allocator, purging,
 * decay), hooks_test.c (extent hooks).
 */
#include "tmallctl.h"
#include "tnames.h"

#include "conf.h"
#include "ctl.h"
#include "stats.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

/* Names whose read has a side effect or needs a written value. */
static bool read_special(const char *pat) {
    return !strcmp(pat, "arenas.create") || !strcmp(pat, "arenas.lookup") ||
           !strcmp(pat, "tcache.create");
}

/* Every name: read with the exact size works (r) or is refused with EPERM
 * (-w, --); a wrong size gives EINVAL; writing a read-only name gives EPERM;
 * mallctlnametomib + mallctlbymib reach the same name. */
static void test_every_name(void) {
    epoch();
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        const tname_t *t = &names[k];
        char name[160];
        unsigned i = strncmp(t->name, "stats.arenas", 12) ? 0 : ALL;
        concrete(name, sizeof(name), t->name, i, 0);
        size_t size = tsize(t->type);
        unsigned char buf[16];
        size_t sz = size;
        bool readable = t->access[0] == 'r';
        if (read_special(t->name)) continue; /* tested on their own below */
        if (t->type == CT_VOID) continue;    /* actions: below */
        int r = mallctl(name, buf, &sz, NULL, 0);
        if (readable) {
            CHECK(r == 0, "%s: %s", name, strerror(r));
            CHECK(sz == size, "%s", name);
            /* a wrong size: EINVAL, what fits is copied, *oldlenp says how much */
            unsigned char small[16];
            size_t ssz = size - 1;
            if (size > 1) {
                r = mallctl(name, small, &ssz, NULL, 0);
                CHECK(r == EINVAL && ssz == size - 1, "%s: short read gives %d", name, r);
            }
            size_t bsz = size + 8;
            r = mallctl(name, small, &bsz, NULL, 0);
            CHECK(r == EINVAL && bsz == size, "%s: long read gives %d (len %zu)", name, r, bsz);
            /* by MIB */
            size_t mib[8], miblen = 8;
            r = mallctlnametomib(name, mib, &miblen);
            CHECK(r == 0, "%s: nametomib %d", name, r);
            unsigned char buf2[16];
            size_t sz2 = size;
            r = mallctlbymib(mib, miblen, buf2, &sz2, NULL, 0);
            CHECK(r == 0 && sz2 == size, "%s: bymib %d", name, r);
            unsigned ncomp = 1;
            for (const char *c = name; *c; c++) ncomp += *c == '.';
            CHECK(miblen == ncomp, "%s: mib length %zu", name, miblen);
        } else {
            CHECK(r == EPERM, "%s: reading a write-only name gives %d", name, r);
        }
        if (!strcmp(t->access, "r-")) {
            r = mallctl(name, NULL, NULL, buf, size);
            CHECK(r == EPERM, "%s: writing a read-only name gives %d", name, r);
        }
    }
    /* opt.* and config.*: every option of the table, read with its type */
#define OPT_READ(name, type, kind, def, min, max, choices, doc)                                    \
    do {                                                                                           \
        unsigned char b[16];                                                                       \
        size_t s = (kind == CONF_CHOICE || !strcmp(#name, "junk")) ? sizeof(char *) : sizeof(type); \
        int r = mallctl("opt." #name, b, &s, NULL, 0);                                             \
        CHECK(r == 0, "opt.%s: %d", #name, r);                                                     \
        r = mallctl("opt." #name, NULL, NULL, b, s);                                               \
        CHECK(r == EPERM, "opt.%s written: %d", #name, r);                                         \
    } while (0);
    CONF_OPTIONS(OPT_READ)
#undef OPT_READ
#define CFG_READ(name, value, doc) CHECK(rd_b("config." #name) == (value), "config.%s", #name);
    STATS_CONFIG(CFG_READ)
#undef CFG_READ
    CHECK(!strcmp(rd_s("config.malloc_conf"), ""));
}

/* ---- general ---- */
static void test_version_epoch(void) {
    CHECK(!strcmp(rd_s("version"), MOSAIC_VERSION));
    uint64_t e0 = rd_u64("epoch");
    uint64_t e1 = rd_u64("epoch");
    CHECK_EQ_U(e0, e1); /* reading does not refresh */
    uint64_t v = 0, out = 0;
    size_t sz = sizeof(out);
    CHECK(mallctl("epoch", &out, &sz, &v, sizeof(v)) == 0);
    CHECK_EQ_U(out, e0 + 1);
    CHECK(mallctl("epoch", NULL, NULL, &v, sizeof(v)) == 0);
    CHECK_EQ_U(rd_u64("epoch"), e0 + 2);
    CHECK(mallctl("epoch", NULL, NULL, &v, 4) == EINVAL);
    CHECK_EQ_U(rd_u64("epoch"), e0 + 2);
}

/* Options read back their defaults (the test runs with no MOSAIC_CONF). */
static void test_opt_defaults(void) {
    if (getenv("MOSAIC_CONF")) return;
    CHECK(rd_b("opt.abort_conf") == false);
    CHECK_EQ_U(rd_u("opt.narenas"), 0);
    CHECK(rd_b("opt.tcache") == true);
    CHECK_EQ_U(rd_z("opt.tcache_max"), 32768);
    CHECK_EQ_I(rd_ss("opt.dirty_decay_ms"), 10000);
    CHECK_EQ_I(rd_ss("opt.muzzy_decay_ms"), 0);
    CHECK(rd_b("opt.retain") == true);
    CHECK(!strcmp(rd_s("opt.thp"), "default"));
    CHECK(rd_b("opt.stats_print") == false);
    CHECK(!strcmp(rd_s("opt.junk"), "false"));
    /* each default agrees with the table */
#define OPT_DEF(name, type, kind, def, min, max, choices, doc)                                     \
    if (kind == CONF_BOOL && strcmp(#name, "junk")) CHECK(rd_b("opt." #name) == (bool)(def));     \
    if (kind == CONF_UNSIGNED) CHECK_EQ_U(rd_u("opt." #name), (unsigned)(def));                  \
    if (kind == CONF_SIZE) CHECK_EQ_U(rd_z("opt." #name), (size_t)(def));                        \
    if (kind == CONF_SSIZE) CHECK_EQ_I(rd_ss("opt." #name), (ssize_t)(def));
    CONF_OPTIONS(OPT_DEF)
#undef OPT_DEF
}

static void test_arenas_constants(void) {
    CHECK_EQ_U(rd_z("arenas.quantum"), 16);
    CHECK_EQ_U(rd_z("arenas.page"), (size_t)sysconf(_SC_PAGESIZE));
    unsigned nbins = rd_u("arenas.nbins");
    CHECK_EQ_U(nbins, 35);
    CHECK_EQ_U(rd_z("arenas.tcache_max"), 32768);
    CHECK_EQ_U(rd_u("arenas.nhbins"), 40); /* classes 16 .. 32768 */
    size_t prev = 0;
    for (unsigned j = 0; j < nbins; j++) {
        size_t s = rd_z("arenas.bin.%u.size", j);
        uint32_t nregs = rd_u32("arenas.bin.%u.nregs", j);
        size_t slab = rd_z("arenas.bin.%u.slab_size", j);
        CHECK(s > prev && s % 16 == 0, "bin %u size %zu", j, s);
        CHECK_EQ_U(nallocx(s, 0), s);
        CHECK(nallocx(prev + 1, 0) == s, "bin %u", j);
        CHECK(slab % 4096 == 0 && nregs == slab / s, "bin %u: %u regs of %zu in %zu", j, nregs, s,
              slab);
        prev = s;
    }
    CHECK_EQ_U(prev, 14336);
    unsigned nl = rd_u("arenas.nlextents");
    CHECK_EQ_U(nl, 196);
    for (unsigned j = 0; j < nl; j++) {
        size_t s = rd_z("arenas.lextent.%u.size", j);
        CHECK(s > prev, "lextent %u", j);
        if (s < ((size_t)1 << 40)) {
            CHECK_EQ_U(nallocx(s, 0), s);
            CHECK_EQ_U(nallocx(prev + 1, 0), s);
        }
        prev = s;
    }
    CHECK_EQ_U(rd_z("arenas.lextent.0.size"), 16384);
    CHECK_EQ_U(prev, (size_t)7 << 60);
    /* out of range indices */
    size_t v, sz = sizeof(v);
    CHECK(mallctl("arenas.bin.35.size", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("arenas.lextent.196.size", &v, &sz, NULL, 0) == ENOENT);
}

static void test_narenas(void) {
    unsigned n = rd_u("arenas.narenas");
    unsigned opt_n = rd_u("opt.narenas");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned expect = opt_n ? opt_n : (unsigned)(4 * ncpu);
    if (expect > 2048) expect = 2048;
    /* CPU count as the library sees it may differ (affinity): check only a pinned count */
    if (opt_n) CHECK_EQ_U(n, expect);
    CHECK(n >= 1);
    unsigned a = new_arena();
    CHECK_EQ_U(a, n);
    CHECK_EQ_U(rd_u("arenas.narenas"), n + 1);
    unsigned b = new_arena();
    CHECK_EQ_U(b, n + 1);
    CHECK_EQ_U(rd_u("arenas.narenas"), n + 2);
    /* arenas.create needs sizeof(unsigned) of room */
    uint64_t big = 7;
    size_t sz = sizeof(big);
    CHECK(mallctl("arenas.create", &big, &sz, NULL, 0) == EINVAL);
    CHECK_EQ_U(sz, 0);
    CHECK_EQ_U(big, 7);
    CHECK(mallctl("arenas.create", NULL, NULL, NULL, 0) == EINVAL);
    CHECK_EQ_U(rd_u("arenas.narenas"), n + 2);
    CHECK(mallctl("arenas.narenas", NULL, NULL, &n, sizeof(n)) == EPERM);
}

/* ---- thread.* ---- */
static void test_thread_arena(void) {
    unsigned cur = rd_u("thread.arena");
    unsigned n = rd_u("arenas.narenas");
    CHECK(cur < n);
    unsigned a = new_arena();
    unsigned old = 99;
    size_t sz = sizeof(old);
    CHECK(mallctl("thread.arena", &old, &sz, &a, sizeof(a)) == 0);
    CHECK_EQ_U(old, cur);
    CHECK_EQ_U(rd_u("thread.arena"), a);
    void *p = malloc(100), *q = malloc(200000);
    unsigned where = 99;
    sz = sizeof(where);
    CHECK(mallctl("arenas.lookup", &where, &sz, &p, sizeof(p)) == 0);
    CHECK_EQ_U(where, a);
    CHECK(mallctl("arenas.lookup", &where, &sz, &q, sizeof(q)) == 0);
    CHECK_EQ_U(where, a);
    free(p);
    free(q);
    epoch();
    CHECK_EQ_U(rd_u("stats.arenas.%u.nthreads", a), 1);
    /* out of range: EFAULT, nothing changes */
    unsigned bad = rd_u("arenas.narenas") + 5;
    CHECK(mallctl("thread.arena", NULL, NULL, &bad, sizeof(bad)) == EFAULT);
    CHECK_EQ_U(rd_u("thread.arena"), a);
    CHECK(mallctl("thread.arena", NULL, NULL, &bad, 2) == EINVAL);
    /* back: the explicit arena has no thread any more */
    CHECK(mallctl("thread.arena", NULL, NULL, &cur, sizeof(cur)) == 0);
    epoch();
    CHECK_EQ_U(rd_u("stats.arenas.%u.nthreads", a), 0);
}

static void *thread_counts(void *arg) {
    (void)arg;
    uint64_t a0 = rd_u64("thread.allocated");
    void *p = malloc(100);
    uint64_t a1 = rd_u64("thread.allocated");
    CHECK_EQ_U(a1 - a0, 112);
    free(p);
    return NULL;
}

static void test_thread_allocated(void) {
    uint64_t a0 = rd_u64("thread.allocated"), d0 = rd_u64("thread.deallocated");
    uint64_t *ap = rd_p("thread.allocatedp"), *dp = rd_p("thread.deallocatedp");
    REQUIRE(ap && dp);
    CHECK_EQ_U(*ap, a0);
    CHECK_EQ_U(*dp, d0);
    /* through the thread cache */
    void *p = malloc(100);                                   /* 112 */
    void *q = calloc(1, 1000);                               /* 1024 */
    void *r = mallocx(5000, MALLOCX_TCACHE_NONE);            /* 5120 */
    void *s = mallocx(100000, 0);                            /* 114688 */
    void *t = mallocx(64, MALLOCX_ALIGN(64) | MALLOCX_ZERO); /* 64 */
    uint64_t a1 = rd_u64("thread.allocated");
    CHECK_EQ_U(a1 - a0, 112 + 1024 + 5120 + 114688 + 64);
    CHECK_EQ_U(*ap, a1);
    free(p);
    free(q);
    dallocx(r, MALLOCX_TCACHE_NONE);
    sdallocx(s, 100000, 0);
    free(t);
    uint64_t d1 = rd_u64("thread.deallocated");
    CHECK_EQ_U(d1 - d0, 112 + 1024 + 5120 + 114688 + 64);
    CHECK_EQ_U(*dp, d1);
    CHECK_EQ_U(rd_u64("thread.allocated"), a1); /* freeing allocates nothing */
    /* resizing in place counts the new size as allocated, the old as freed */
    void *g = mallocx((size_t)1 << 20, MALLOCX_TCACHE_NONE);
    REQUIRE(g);
    uint64_t a2 = rd_u64("thread.allocated"), d2 = rd_u64("thread.deallocated");
    size_t x = xallocx(g, (size_t)3 << 19, 0, 0); /* into the chunk's free rest */
    REQUIRE(x == ((size_t)3 << 19), "xallocx: %zu", x);
    CHECK_EQ_U(rd_u64("thread.allocated") - a2, (size_t)3 << 19);
    CHECK_EQ_U(rd_u64("thread.deallocated") - d2, (size_t)1 << 20);
    void *g2 = rallocx(g, (size_t)1 << 20, MALLOCX_TCACHE_NONE); /* shrinks in place */
    REQUIRE(g2 == g);
    CHECK_EQ_U(rd_u64("thread.allocated") - a2, ((size_t)3 << 19) + ((size_t)1 << 20));
    CHECK_EQ_U(rd_u64("thread.deallocated") - d2, ((size_t)1 << 20) + ((size_t)3 << 19));
    dallocx(g, MALLOCX_TCACHE_NONE);
    /* through an explicit cache: still this thread's allocations and frees */
    unsigned etc;
    size_t esz = sizeof(etc);
    REQUIRE(mallctl("tcache.create", &etc, &esz, NULL, 0) == 0);
    void *ev[100];
    uint64_t a3 = rd_u64("thread.allocated"), d3 = rd_u64("thread.deallocated");
    for (int i = 0; i < 100; i++) REQUIRE((ev[i] = mallocx(100, MALLOCX_TCACHE(etc))));
    CHECK_EQ_U(rd_u64("thread.allocated") - a3, 100 * 112);
    for (int i = 0; i < 100; i++) dallocx(ev[i], MALLOCX_TCACHE(etc));
    CHECK_EQ_U(rd_u64("thread.deallocated") - d3, 100 * 112);
    CHECK(mallctl("tcache.destroy", NULL, NULL, &etc, sizeof(etc)) == 0);
    /* another thread has its own counters */
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, thread_counts, NULL) == 0);
    pthread_join(th, NULL);
    uint64_t v = 0;
    CHECK(mallctl("thread.allocated", NULL, NULL, &v, sizeof(v)) == EPERM);
}

/* Blocks another thread allocated, freed here (they go home through this
 * thread's remote stacks). */
static void *alloc_for_other(void *arg) {
    void **v = arg;
    for (int i = 0; i < 300; i++) v[i] = malloc(40); /* 48 */
    return NULL;
}

/* thread.deallocated stays exact through fills, flushes (the thread cache
 * derives its free count from them), sized frees and remote frees. */
static void test_thread_deallocated_bulk(void) {
    enum { N = 3000 };
    static void *v[N], *w[300];
    uint64_t a0 = rd_u64("thread.allocated"), d0 = rd_u64("thread.deallocated");
    for (int i = 0; i < N; i++) v[i] = malloc(i % 3 == 0 ? 24 : 100); /* 32 or 112 */
    uint64_t want = 0;
    for (int i = 0; i < N; i++) want += i % 3 == 0 ? 32 : 112;
    CHECK_EQ_U(rd_u64("thread.allocated") - a0, want);
    for (int i = 0; i < N; i += 2) free(v[i]); /* many flushes */
    for (int i = 1; i < N; i += 2) sdallocx(v[i], i % 3 == 0 ? 24 : 100, 0);
    CHECK_EQ_U(rd_u64("thread.deallocated") - d0, want);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, alloc_for_other, w) == 0);
    pthread_join(th, NULL);
    /* (pthread_create may allocate in this thread: count from here) */
    uint64_t a1 = rd_u64("thread.allocated"), d1 = rd_u64("thread.deallocated");
    for (int i = 0; i < 300; i++) free(w[i]);
    CHECK_EQ_U(rd_u64("thread.deallocated") - d1, 300 * 48);
    CHECK(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    CHECK_EQ_U(rd_u64("thread.deallocated") - d1, 300 * 48); /* flushing frees nothing */
    CHECK_EQ_U(rd_u64("thread.allocated"), a1);
}

static void test_thread_tcache(void) {
    unsigned a = new_arena();
    CHECK(mallctl("thread.arena", NULL, NULL, &a, sizeof(a)) == 0);
    unsigned j = bin_of(112);
    CHECK(rd_b("thread.tcache.enabled") == true);
    /* with the cache: a fill takes a batch from the bin */
    void *p[10];
    for (int i = 0; i < 10; i++) p[i] = malloc(100);
    epoch();
    size_t cur = rd_z("stats.arenas.%u.bins.%u.curregs", a, j);
    CHECK(cur >= 10, "curregs %zu", cur);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nfills", a, j), 1);
    for (int i = 0; i < 10; i++) free(p[i]);
    CHECK(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
    CHECK(rd_u64("stats.arenas.%u.bins.%u.nflushes", a, j) >= 1);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", a, j),
               rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j));
    /* nrequests counts the 10 requests (merged at flush) */
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nrequests", a, j), 10);
    size_t z = 0;
    CHECK(mallctl("thread.tcache.flush", &z, &(size_t){sizeof(z)}, NULL, 0) == EPERM);
    CHECK(mallctl("thread.tcache.flush", NULL, NULL, &z, sizeof(z)) == EPERM);
    /* without the cache every malloc/free reaches the bin */
    bool off = false, old = false;
    size_t sz = sizeof(old);
    CHECK(mallctl("thread.tcache.enabled", &old, &sz, &off, sizeof(off)) == 0);
    CHECK(old == true);
    CHECK(rd_b("thread.tcache.enabled") == false);
    for (int i = 0; i < 7; i++) p[i] = malloc(100);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 7);
    free(p[0]);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 6);
    for (int i = 1; i < 7; i++) free(p[i]);
    /* no cache to flush: EFAULT, as jemalloc */
    CHECK(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == EFAULT);
    bool on = true;
    CHECK(mallctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on)) == 0);
    CHECK(rd_b("thread.tcache.enabled") == true);
    CHECK(mallctl("thread.tcache.enabled", NULL, NULL, &on, 4) == EINVAL);
    /* thread.idle flushes */
    p[0] = malloc(100);
    free(p[0]);
    CHECK(mallctl("thread.idle", NULL, NULL, NULL, 0) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
}

/* ---- tcache.* ---- */
static void test_tcache_explicit(void) {
    unsigned a = new_arena();
    CHECK(mallctl("thread.arena", NULL, NULL, &a, sizeof(a)) == 0);
    unsigned j = bin_of(112);
    unsigned tc = 12345;
    size_t sz = sizeof(tc);
    REQUIRE(mallctl("tcache.create", &tc, &sz, NULL, 0) == 0);
    CHECK(tc < 1024);
    unsigned tc2;
    REQUIRE(mallctl("tcache.create", &tc2, &sz, NULL, 0) == 0);
    CHECK(tc2 != tc);
    void *p = mallocx(100, MALLOCX_TCACHE(tc));
    REQUIRE(p);
    epoch();
    size_t filled = rd_z("stats.arenas.%u.bins.%u.curregs", a, j);
    CHECK(filled > 1, "a fill of the explicit cache takes a batch (%zu)", filled);
    dallocx(p, MALLOCX_TCACHE(tc));
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), filled); /* still cached */
    CHECK(mallctl("tcache.flush", NULL, NULL, &tc, sizeof(tc)) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
    /* destroy: the index is no longer usable, and may come back */
    p = mallocx(100, MALLOCX_TCACHE(tc));
    dallocx(p, MALLOCX_TCACHE(tc));
    CHECK(mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc)) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0); /* destroy flushed */
    CHECK(mallocx(100, MALLOCX_TCACHE(tc)) == NULL);
    CHECK(mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc)) == EFAULT);
    CHECK(mallctl("tcache.flush", NULL, NULL, &tc, sizeof(tc)) == EFAULT);
    unsigned tc3;
    REQUIRE(mallctl("tcache.create", &tc3, &sz, NULL, 0) == 0);
    CHECK_EQ_U(tc3, tc);
    /* rules */
    CHECK(mallctl("tcache.flush", NULL, NULL, NULL, 0) == EFAULT);
    CHECK(mallctl("tcache.flush", &tc, &sz, &tc, sizeof(tc)) == EPERM);
    CHECK(mallctl("tcache.flush", NULL, NULL, &tc, 2) == EINVAL);
    CHECK(mallctl("tcache.destroy", NULL, NULL, NULL, 0) == EFAULT);
    CHECK(mallctl("tcache.create", &tc, &sz, &tc, sizeof(tc)) == EPERM);
    uint64_t big = 5;
    size_t bsz = sizeof(big);
    CHECK(mallctl("tcache.create", &big, &bsz, NULL, 0) == EINVAL);
    CHECK_EQ_U(bsz, 0);
    CHECK_EQ_U(big, 5);
}

/* tcache.create from several threads at once: each index is handed to one
 * creator at a time (holder[] is claimed with a CAS until destroy). */
#define TC_RACE_ITERS 40000
static int tc_race_holder[1024];
static int tc_race_dup;
static void *tc_race_worker(void *arg) {
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < TC_RACE_ITERS && !__atomic_load_n(&tc_race_dup, __ATOMIC_RELAXED); i++) {
        unsigned ind;
        size_t len = sizeof(ind);
        if (mallctl("tcache.create", &ind, &len, NULL, 0) != 0) continue;
        int none = 0;
        if (ind >= 1024 || !__atomic_compare_exchange_n(&tc_race_holder[ind], &none, me, false,
                                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            __atomic_store_n(&tc_race_dup, ind + 1, __ATOMIC_RELAXED);
            break;
        }
        void *p = mallocx(64, MALLOCX_TCACHE(ind));
        if (p) dallocx(p, MALLOCX_TCACHE(ind));
        __atomic_store_n(&tc_race_holder[ind], 0, __ATOMIC_SEQ_CST);
        mallctl("tcache.destroy", NULL, NULL, &ind, sizeof(ind));
    }
    return NULL;
}

static void test_tcache_create_race(void) {
    pthread_t t[3];
    for (intptr_t i = 0; i < 3; i++) REQUIRE(pthread_create(&t[i], NULL, tc_race_worker, (void *)(i + 1)) == 0);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    CHECK(tc_race_dup == 0, "tcache index %d handed to two creators at once", tc_race_dup - 1);
}

/* thread.arena written by a thread-specific-data destructor that runs
 * after Mosaic's (keys are destroyed in creation order; Mosaic's is made at
 * its first allocation): the exited thread is counted in no arena. */
static pthread_key_t late_key;
static unsigned late_target;
static void late_destructor(void *v) {
    (void)v;
    mallctl("thread.arena", NULL, NULL, &late_target, sizeof(late_target));
}
static void *late_thread(void *arg) {
    (void)arg;
    free(malloc(10));
    pthread_setspecific(late_key, (void *)1);
    return NULL;
}
static void test_thread_arena_after_exit(void) {
    unsigned b = new_arena();
    late_target = b;
    REQUIRE(pthread_key_create(&late_key, late_destructor) == 0);
    free(malloc(10)); /* this thread is counted from here on */
    epoch();
    unsigned all = rd_u("stats.arenas.%u.nthreads", ALL);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, late_thread, NULL) == 0);
    pthread_join(t, NULL);
    epoch();
    CHECK_EQ_U(rd_u("stats.arenas.%u.nthreads", b), 0);
    CHECK_EQ_U(rd_u("stats.arenas.%u.nthreads", ALL), all);
}

/* ---- arena.<i>.* ---- */
static void test_arena_initialized(void) {
    CHECK(rd_b("arena.0.initialized") == true);
    CHECK(rd_b("arena.%u.initialized", ALL) == true);
    CHECK(rd_b("arena.%u.initialized", DESTROYED) == false);
    unsigned a = new_arena();
    CHECK(rd_b("arena.%u.initialized", a) == true);
    CHECK(mallctl("arena.0.initialized", NULL, NULL, &(bool){true}, 1) == EPERM);
    bool b;
    size_t sz = sizeof(b);
    unsigned n = rd_u("arenas.narenas");
    CHECK(ctl(&b, &sz, NULL, 0, "arena.%u.initialized", n + 1) == ENOENT);
}

static void test_arena_decay_ms(void) {
    unsigned a = new_arena();
    CHECK_EQ_I(rd_ss("arena.%u.dirty_decay_ms", a), 10000);
    CHECK_EQ_I(rd_ss("arena.%u.muzzy_decay_ms", a), 0);
    CHECK_EQ_I(rd_ss("arena.0.dirty_decay_ms"), 10000);
    ssize_t v = 5000, old = 0;
    size_t sz = sizeof(old);
    CHECK(ctl(&old, &sz, &v, sizeof(v), "arena.%u.dirty_decay_ms", a) == 0);
    CHECK_EQ_I(old, 10000);
    CHECK_EQ_I(rd_ss("arena.%u.dirty_decay_ms", a), 5000);
    v = -1;
    CHECK(ctl(NULL, NULL, &v, sizeof(v), "arena.%u.muzzy_decay_ms", a) == 0);
    CHECK_EQ_I(rd_ss("arena.%u.muzzy_decay_ms", a), -1);
    epoch();
    CHECK_EQ_I(rd_ss("stats.arenas.%u.dirty_decay_ms", a), 5000);
    CHECK_EQ_I(rd_ss("stats.arenas.%u.muzzy_decay_ms", a), -1);
    v = -2;
    CHECK(ctl(NULL, NULL, &v, sizeof(v), "arena.%u.dirty_decay_ms", a) == EFAULT);
    CHECK_EQ_I(rd_ss("arena.%u.dirty_decay_ms", a), 5000);
    CHECK(ctl(NULL, NULL, &v, 4, "arena.%u.dirty_decay_ms", a) == EINVAL);
    v = 100;
    CHECK(ctl(NULL, NULL, &v, sizeof(v), "arena.%u.dirty_decay_ms", ALL) == EFAULT);
    /* arenas.*_decay_ms: the value new arenas get */
    CHECK_EQ_I(rd_ss("arenas.dirty_decay_ms"), 10000);
    CHECK_EQ_I(rd_ss("arenas.muzzy_decay_ms"), 0);
    v = 1234;
    CHECK(mallctl("arenas.dirty_decay_ms", &old, &sz, &v, sizeof(v)) == 0);
    CHECK_EQ_I(old, 10000);
    v = 77;
    CHECK(mallctl("arenas.muzzy_decay_ms", NULL, NULL, &v, sizeof(v)) == 0);
    unsigned b = new_arena();
    CHECK_EQ_I(rd_ss("arena.%u.dirty_decay_ms", b), 1234);
    CHECK_EQ_I(rd_ss("arena.%u.muzzy_decay_ms", b), 77);
    CHECK_EQ_I(rd_ss("arena.%u.dirty_decay_ms", a), 5000); /* existing arenas keep theirs */
    v = -5;
    CHECK(mallctl("arenas.dirty_decay_ms", NULL, NULL, &v, sizeof(v)) == EFAULT);
    epoch();
    CHECK_EQ_I(rd_ss("stats.arenas.%u.dirty_decay_ms", ALL), 1234);
}

#define PAGES_MIB ((1 << 20) / 4096)

/* Error codes at the edges of the names' documented domains. */
static void test_edge_codes(void) {
    size_t v, sz = sizeof(v);
    /* read-only names refuse a new length even without a new value, and
     * actions take neither */
    CHECK(mallctl("stats.allocated", &v, &sz, NULL, sizeof(v)) == EPERM);
    CHECK(mallctl("arena.0.purge", NULL, NULL, NULL, sizeof(v)) == EPERM);
    /* decay times: the documented maximum is accepted, one more is not */
    unsigned a = new_arena();
    ssize_t ms = 86400000;
    CHECK(ctl(NULL, NULL, &ms, sizeof(ms), "arena.%u.dirty_decay_ms", a) == 0);
    CHECK(ctl(NULL, NULL, &ms, sizeof(ms), "arena.%u.muzzy_decay_ms", a) == 0);
    CHECK_EQ_I(rd_ss("arena.%u.dirty_decay_ms", a), 86400000);
    ms = 86400001;
    CHECK(ctl(NULL, NULL, &ms, sizeof(ms), "arena.%u.dirty_decay_ms", a) == EFAULT);
    CHECK(mallctl("arenas.muzzy_decay_ms", NULL, NULL, &ms, sizeof(ms)) == EFAULT);
    CHECK_EQ_I(rd_ss("arena.%u.dirty_decay_ms", a), 86400000);
    /* arenas.lookup takes a block's start, not a pointer into a large block */
    char *big = mallocx(100000, MALLOCX_ARENA(a));
    REQUIRE(big);
    unsigned ind;
    size_t isz = sizeof(ind);
    for (size_t off = 16; off < 100000; off += 4096) { /* in each of its pages */
        void *inside = big + off;
        CHECK(mallctl("arenas.lookup", &ind, &isz, &inside, sizeof(inside)) == EINVAL, "+%zu", off);
    }
    dallocx(big, 0);
    /* hooks: NULL is refused and changes nothing; a destroyed arena has none */
    extent_hooks_t *h0 = rd_p("arena.%u.extent_hooks", a), *null = NULL;
    CHECK(ctl(NULL, NULL, &null, sizeof(null), "arena.%u.extent_hooks", a) == EINVAL);
    CHECK(rd_p("arena.%u.extent_hooks", a) == h0);
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == 0);
    extent_hooks_t *old = NULL;
    size_t hsz = sizeof(old);
    CHECK(ctl(&old, &hsz, NULL, 0, "arena.%u.extent_hooks", a) == EFAULT);
    /* a numeric component past 2^64 - 1 is no index (not 0 after wrapping) */
    CHECK(mallctl("arenas.bin.18446744073709551616.size", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("arenas.bin.18446744073709551615.size", &v, &sz, NULL, 0) == ENOENT);
    /* explicit caches: 1024 at once, then EFAULT */
    static unsigned tc[1100];
    unsigned n = 0;
    int r = 0;
    while (n < 1100) {
        isz = sizeof(tc[n]);
        if ((r = mallctl("tcache.create", &tc[n], &isz, NULL, 0)) != 0) break;
        n++;
    }
    CHECK_EQ_U(n, 1024);
    CHECK_EQ_I(r, EFAULT);
    for (unsigned i = 0; i < n; i++)
        CHECK(mallctl("tcache.destroy", NULL, NULL, &tc[i], sizeof(tc[i])) == 0);
    isz = sizeof(tc[0]);
    CHECK(mallctl("tcache.create", &tc[0], &isz, NULL, 0) == 0); /* room again */
    /* arena.<narenas>.purge: jemalloc's older spelling of all arenas */
    unsigned b = new_arena();
    void *p = mallocx(1 << 20, MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    memset(p, 1, 1 << 20);
    dallocx(p, MALLOCX_TCACHE_NONE);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", b), PAGES_MIB);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", rd_u("arenas.narenas")) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", b), 0);
}

/* ---- the edges of names' rules (each test below was written from a
 * mutation pass and fails with the mutant it names) ---- */

/* arena.<i>.reset needs an explicit arena, not one without threads (that
 * is destroy's rule, as in jemalloc): the calling thread's own arena can be
 * reset, its cache flushed first, and the thread allocates from it after. */
static void test_reset_bound_arena(void) {
    unsigned prev = rd_u("thread.arena");
    unsigned a = new_arena();
    set_arena(a);
    REQUIRE(malloc(100) && mallocx(300000, MALLOCX_TCACHE_NONE));
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == EFAULT); /* bound: not destroyed */
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.reset", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), 0);
    CHECK_EQ_U(rd_u("stats.arenas.%u.nthreads", a), 1);
    void *p = malloc(100);
    REQUIRE(p);
    CHECK_EQ_U(arena_of_block(p), a);
    free(p);
    set_arena(prev);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == 0);
}

/* thread.arena: arenas.narenas itself is out of range (EFAULT), nothing
 * changes and no arena is made. */
static void test_thread_arena_narenas(void) {
    unsigned cur = rd_u("thread.arena"), n = rd_u("arenas.narenas");
    CHECK(mallctl("thread.arena", NULL, NULL, &n, sizeof(n)) == EFAULT);
    CHECK_EQ_U(rd_u("thread.arena"), cur);
    CHECK_EQ_U(rd_u("arenas.narenas"), n);
    CHECK(rd_b("arena.%u.initialized", n) == false);
}

/* jemalloc's rules: a write-only name or an action refuses oldlenp alone
 * (a read), an action refuses a value; thread.idle is an action. */
static void test_eperm_rules(void) {
    unsigned tc = 1023, z = 0;
    size_t sz = sizeof(tc);
    CHECK(mallctl("tcache.flush", NULL, &sz, &tc, sizeof(tc)) == EPERM);
    CHECK(mallctl("tcache.destroy", NULL, &sz, &tc, sizeof(tc)) == EPERM);
    CHECK(mallctl("thread.tcache.flush", NULL, &sz, NULL, 0) == EPERM);
    CHECK(mallctl("arena.0.purge", NULL, &sz, NULL, 0) == EPERM);
    CHECK(mallctl("thread.idle", NULL, &sz, NULL, 0) == EPERM);
    CHECK(mallctl("thread.idle", &z, &sz, NULL, 0) == EPERM);
    CHECK(mallctl("thread.idle", NULL, NULL, &z, sizeof(z)) == EPERM);
    CHECK_EQ_U(sz, sizeof(tc));
}

/* arenas.create with NULL hooks is refused (EINVAL), as the extent_hooks
 * write: nothing is created. */
static void test_create_null_hooks(void) {
    unsigned n = rd_u("arenas.narenas"), ind = 77;
    size_t sz = sizeof(ind);
    extent_hooks_t *null = NULL;
    CHECK(mallctl("arenas.create", &ind, &sz, &null, sizeof(null)) == EINVAL);
    CHECK_EQ_U(rd_u("arenas.narenas"), n);
}

/* mallctlbymib: a named component one past the node's last child is no
 * name (ENOENT), as one far past it. */
static void test_bymib_one_past(void) {
    size_t mib[4], miblen = 4, v, sz = sizeof(v);
    REQUIRE(mallctlnametomib("arenas.bin.0.slab_size", mib, &miblen) == 0);
    CHECK_EQ_U(mib[3], 2); /* size, nregs, slab_size */
    mib[3] = 3;
    CHECK(mallctlbymib(mib, miblen, &v, &sz, NULL, 0) == ENOENT);
    size_t tm[3], tml = 3;
    REQUIRE(mallctlnametomib("thread.tcache.flush", tm, &tml) == 0);
    CHECK_EQ_U(tm[2], 1); /* enabled, flush */
    tm[2] = 2;
    CHECK(mallctlbymib(tm, tml, NULL, NULL, NULL, 0) == ENOENT);
}

/* A read with the wrong *oldlenp fails (EINVAL) before the write it comes
 * with: the decay time is not changed (jemalloc's READ-then-WRITE order). */
static void test_decay_ms_bad_read_no_write(void) {
    unsigned a = new_arena();
    ssize_t v = 1234;
    uint32_t small = 0;
    size_t ssz = sizeof(small);
    CHECK(ctl(&small, &ssz, &v, sizeof(v), "arena.%u.dirty_decay_ms", a) == EINVAL);
    CHECK_EQ_I(rd_ss("arena.%u.dirty_decay_ms", a), 10000);
    ssz = sizeof(small);
    CHECK(ctl(&small, &ssz, &v, sizeof(v), "arena.%u.muzzy_decay_ms", a) == EINVAL);
    CHECK_EQ_I(rd_ss("arena.%u.muzzy_decay_ms", a), 0);
    ssize_t d0 = rd_ss("arenas.dirty_decay_ms");
    v = d0 + 1; /* (an earlier test may have set it to 1234) */
    ssz = sizeof(small);
    CHECK(mallctl("arenas.dirty_decay_ms", &small, &ssz, &v, sizeof(v)) == EINVAL);
    CHECK_EQ_I(rd_ss("arenas.dirty_decay_ms"), d0);
}

static void test_arena_reset(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    unsigned j = bin_of(48);
    for (int i = 0; i < 100; i++) REQUIRE(mallocx(40, fl));
    for (int i = 0; i < 3; i++) REQUIRE(mallocx(300000, fl));
    /* blocks of the arena in the calling thread's cache are flushed too */
    void *c = mallocx(5000, MALLOCX_ARENA(a));
    free(c);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 100);
    CHECK(rd_z("stats.arenas.%u.large.allocated", a) >= 3 * 300000);
    /* (reset flushes this thread's cache: flush first so totals compare) */
    CHECK(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    epoch();
    size_t before = rd_z("stats.allocated");
    size_t arena_bytes = rd_z("stats.arenas.%u.small.allocated", a) +
                         rd_z("stats.arenas.%u.large.allocated", a);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.reset", a) == 0);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", a), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curslabs", a, j), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", a), 0);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", a, j), 100);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.ndalloc", a), 3);
    CHECK_EQ_U(rd_z("stats.allocated"), before - arena_bytes);
    /* the arena works afterwards */
    void *p = mallocx(40, fl);
    REQUIRE(p);
    memset(p, 0, 40);
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.bins.%u.curregs", a, j), 1);
    dallocx(p, fl);
    /* only explicit arenas */
    CHECK(mallctl("arena.0.reset", NULL, NULL, NULL, 0) == EFAULT);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.reset", ALL) == EFAULT);
    CHECK(ctl(NULL, NULL, &a, sizeof(a), "arena.%u.reset", a) == EPERM);
}

static void test_arena_destroy(void) {
    unsigned a = new_arena();
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    for (int i = 0; i < 10; i++) REQUIRE(mallocx(100, fl));
    REQUIRE(mallocx(50000, fl));
    epoch();
    CHECK(rd_b("arena.%u.initialized", DESTROYED) == false);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == 0);
    CHECK(rd_b("arena.%u.initialized", a) == false);
    CHECK(rd_b("arena.%u.initialized", DESTROYED) == true);
    size_t v, sz = sizeof(v);
    CHECK(ctl(&v, &sz, NULL, 0, "stats.arenas.%u.pactive", a) == ENOENT); /* at once */
    epoch();
    CHECK(ctl(&v, &sz, NULL, 0, "stats.arenas.%u.pactive", a) == ENOENT);
    unsigned j = bin_of(112);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", DESTROYED, j), 10);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.ndalloc", DESTROYED, j), 10);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.small.nmalloc", DESTROYED), 10);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.large.nmalloc", DESTROYED), 1);
    CHECK_EQ_U(rd_z("stats.arenas.%u.small.allocated", DESTROYED), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pactive", DESTROYED), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", DESTROYED), 0);
    /* memory went back to the hooks: no bytes are kept (as jemalloc) */
    CHECK_EQ_U(rd_z("stats.arenas.%u.mapped", DESTROYED), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.retained", DESTROYED), 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.resident", DESTROYED), 0);
    /* destroyed: actions fail, the index is reused by arenas.create */
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == EFAULT);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.reset", a) == EFAULT);
    ssize_t d;
    size_t dsz = sizeof(d);
    CHECK(ctl(&d, &dsz, NULL, 0, "arena.%u.dirty_decay_ms", a) == EFAULT);
    CHECK(mallocx(100, fl) == NULL);
    unsigned b = new_arena();
    CHECK_EQ_U(b, a);
    void *p = mallocx(100, MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    epoch();
    CHECK_EQ_U(rd_u64("stats.arenas.%u.bins.%u.nmalloc", b, j), 1); /* fresh counters */
    dallocx(p, MALLOCX_TCACHE_NONE);
    /* an arena a thread is assigned to cannot be destroyed */
    CHECK(mallctl("thread.arena", NULL, NULL, &b, sizeof(b)) == 0);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", b) == EFAULT);
    unsigned zero = 0;
    CHECK(mallctl("thread.arena", NULL, NULL, &zero, sizeof(zero)) == 0);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", b) == 0);
    CHECK(mallctl("arena.0.destroy", NULL, NULL, NULL, 0) == EFAULT);
    /* destroy/create cycles reuse the index and its memory */
    for (int k = 0; k < 50; k++) {
        unsigned c = new_arena();
        CHECK_EQ_U(c, a);
        REQUIRE(mallocx(1000, MALLOCX_ARENA(c) | MALLOCX_TCACHE_NONE));
        CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", c) == 0);
    }
}

static void test_arenas_lookup(void) {
    unsigned a = new_arena();
    void *ps[4] = {mallocx(8, MALLOCX_ARENA(a)), mallocx(3000, MALLOCX_ARENA(a)),
                   mallocx(40000, MALLOCX_ARENA(a)), mallocx(3 << 20, MALLOCX_ARENA(a))};
    for (int i = 0; i < 4; i++) {
        unsigned ind = 999;
        size_t sz = sizeof(ind);
        REQUIRE(ps[i]);
        CHECK(mallctl("arenas.lookup", &ind, &sz, &ps[i], sizeof(void *)) == 0);
        CHECK_EQ_U(ind, a);
    }
    void *m = malloc(10);
    unsigned ind = 999;
    size_t sz = sizeof(ind);
    CHECK(mallctl("arenas.lookup", &ind, &sz, &m, sizeof(m)) == 0);
    CHECK_EQ_U(ind, rd_u("thread.arena"));
    int local;
    void *bogus = &local;
    CHECK(mallctl("arenas.lookup", &ind, &sz, &bogus, sizeof(bogus)) == EINVAL);
    void *null = NULL;
    CHECK(mallctl("arenas.lookup", &ind, &sz, &null, sizeof(null)) == EINVAL);
    /* a block's address with bits above the 48 the pagemap reads */
    void *high = (void *)((uintptr_t)m | (uintptr_t)1 << 56), *high48 = (char *)m + ((size_t)1 << 48);
    CHECK(mallctl("arenas.lookup", &ind, &sz, &high, sizeof(high)) == EINVAL);
    CHECK(mallctl("arenas.lookup", &ind, &sz, &high48, sizeof(high48)) == EINVAL);
    CHECK(mallctl("arenas.lookup", &ind, &sz, NULL, 0) == EINVAL);
    CHECK(mallctl("arenas.lookup", &ind, &sz, &m, 4) == EINVAL);
    for (int i = 0; i < 4; i++) dallocx(ps[i], 0);
    free(m);
}

/* ---- name resolution and error codes ---- */
static void test_errors_and_mib(void) {
    size_t v, sz = sizeof(v);
    CHECK(mallctl("no.such.name", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("stats", &v, &sz, NULL, 0) == ENOENT);       /* inner node */
    CHECK(mallctl("arenas.bin.0", &v, &sz, NULL, 0) == ENOENT); /* inner node */
    CHECK(mallctl("version.x", &v, &sz, NULL, 0) == ENOENT);    /* below a leaf */
    CHECK(mallctl("arenas.bin.x.size", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("arenas.bin.-1.size", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("arenas.bin..size", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("arenas.bin.99999999999999999999999.size", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("stats.allocated.", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("opt.nope", &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctl("stats.allocated", &v, &sz, &v, sizeof(v)) == EPERM);
    /* short read: as much as fits is copied and *oldlenp tells */
    size_t page = 0;
    uint32_t half = 0;
    size_t hsz = sizeof(half);
    CHECK(mallctl("arenas.page", &half, &hsz, NULL, 0) == EINVAL);
    CHECK_EQ_U(hsz, 4);
    memcpy(&page, &half, 4);
    CHECK_EQ_U(page, 4096);
    /* reading with oldlenp NULL reads nothing and succeeds */
    CHECK(mallctl("arenas.page", &page, NULL, NULL, 0) == 0);
    /* the manual's MIB loop */
    unsigned nbins = rd_u("arenas.nbins");
    size_t mib[4], miblen = 4;
    CHECK(mallctlnametomib("arenas.bin.0.size", mib, &miblen) == 0);
    CHECK_EQ_U(miblen, 4);
    CHECK_EQ_U(mib[2], 0);
    for (unsigned i = 0; i < nbins; i++) {
        size_t bs, len = sizeof(bs);
        mib[2] = i;
        CHECK(mallctlbymib(mib, miblen, &bs, &len, NULL, 0) == 0);
        CHECK_EQ_U(bs, rd_z("arenas.bin.%u.size", i));
    }
    mib[2] = nbins;
    CHECK(mallctlbymib(mib, miblen, &v, &sz, NULL, 0) == ENOENT);
    /* a partial MIB: *miblenp smaller than the name */
    size_t pm[8], pml = 2;
    CHECK(mallctlnametomib("stats.arenas.0.small.allocated", pm, &pml) == 0);
    CHECK_EQ_U(pml, 2);
    size_t full[8], fl = 8;
    CHECK(mallctlnametomib("stats.arenas.0.small.allocated", full, &fl) == 0);
    CHECK_EQ_U(fl, 5);
    CHECK(pm[0] == full[0] && pm[1] == full[1]);
    CHECK(mallctlbymib(pm, pml, &v, &sz, NULL, 0) == ENOENT); /* partial: no value */
    /* MIB of MALLCTL_ARENAS_ALL carries the number */
    epoch();
    char name[64];
    snprintf(name, sizeof(name), "stats.arenas.%u.small.allocated", ALL);
    fl = 8;
    CHECK(mallctlnametomib(name, full, &fl) == 0);
    CHECK_EQ_U(full[2], ALL);
    size_t s1, s2, l1 = sizeof(s1), l2 = sizeof(s2);
    CHECK(mallctlbymib(full, fl, &s1, &l1, NULL, 0) == 0);
    CHECK(mallctl(name, &s2, &l2, NULL, 0) == 0);
    CHECK_EQ_U(s1, s2);
    /* a bad MIB component */
    size_t bad[2] = {9999, 0};
    CHECK(mallctlbymib(bad, 2, &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctlbymib(full, 0, &v, &sz, NULL, 0) == ENOENT);
    full[4] = 9999;
    CHECK(mallctlbymib(full, fl, &v, &sz, NULL, 0) == ENOENT);
    CHECK(mallctlnametomib("no.such", full, &fl) == ENOENT);
    /* text after a leaf, also when the MIB length ends at the leaf */
    size_t lm[4], lml = 1;
    CHECK(mallctlnametomib("version.x", lm, &lml) == ENOENT);
    lml = 2;
    CHECK(mallctlnametomib("stats.allocated.foo", lm, &lml) == ENOENT);
    lml = 4;
    CHECK(mallctlnametomib("stats.allocated.foo", lm, &lml) == ENOENT);
    lml = 1; /* a prefix of a longer name: a partial MIB */
    CHECK(mallctlnametomib("stats.allocated", lm, &lml) == 0 && lml == 1);
    /* bymib can write too */
    size_t tm[3], tml = 3;
    CHECK(mallctlnametomib("thread.tcache.enabled", tm, &tml) == 0);
    bool off = false, was = true;
    size_t bsz = sizeof(was);
    CHECK(mallctlbymib(tm, tml, &was, &bsz, &off, sizeof(off)) == 0);
    CHECK(was == true && rd_b("thread.tcache.enabled") == false);
    /* arena.<i>.purge through a MIB with the index changed */
    unsigned a = new_arena();
    size_t am[3], aml = 3;
    CHECK(mallctlnametomib("arena.0.purge", am, &aml) == 0);
    am[1] = a;
    CHECK(mallctlbymib(am, aml, NULL, NULL, NULL, 0) == 0);
    am[1] = (size_t)rd_u("arenas.narenas") + 7;
    CHECK(mallctlbymib(am, aml, NULL, NULL, NULL, 0) == ENOENT);
}

/* Several threads using mallctl at once (epoch, stats, create). */
static void *stress(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) {
        uint64_t e = 1;
        size_t sz = sizeof(e);
        mallctl("epoch", &e, &sz, &e, sizeof(e));
        size_t v;
        sz = sizeof(v);
        mallctl("stats.allocated", &v, &sz, NULL, 0);
        void *p = malloc(100 + (size_t)i);
        free(p);
        if (i % 50 == 0) {
            unsigned a;
            sz = sizeof(a);
            mallctl("arenas.create", &a, &sz, NULL, 0);
        }
    }
    return NULL;
}

static void test_threads(void) {
    pthread_t th[4];
    for (int i = 0; i < 4; i++) REQUIRE(pthread_create(&th[i], NULL, stress, NULL) == 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    epoch();
    CHECK(rd_z("stats.allocated") > 0);
    /* fork with the namespace in use */
    pid_t pid = fork();
    if (pid == 0) {
        epoch();
        _exit(rd_z("stats.allocated") > 0 ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const tcase_t tests[] = {
    {"every_name_read_and_mib", test_every_name},
    {"version_epoch", test_version_epoch},
    {"opt_defaults", test_opt_defaults},
    {"arenas_constants", test_arenas_constants},
    {"arenas_narenas_create", test_narenas},
    {"thread_arena", test_thread_arena},
    {"thread_allocated", test_thread_allocated},
    {"thread_deallocated_bulk", test_thread_deallocated_bulk},
    {"thread_tcache", test_thread_tcache},
    {"tcache_explicit", test_tcache_explicit},
    {"tcache_create_race", test_tcache_create_race},
    {"thread_arena_after_exit", test_thread_arena_after_exit},
    {"arena_initialized", test_arena_initialized},
    {"arena_decay_ms", test_arena_decay_ms},
    {"edge_codes", test_edge_codes},
    {"arena_reset", test_arena_reset},
    {"arena_destroy", test_arena_destroy},
    {"arenas_lookup", test_arenas_lookup},
    {"errors_and_mib", test_errors_and_mib},
    {"threads_and_fork", test_threads},
    {"reset_bound_arena", test_reset_bound_arena},
    {"thread_arena_narenas", test_thread_arena_narenas},
    {"eperm_rules", test_eperm_rules},
    {"create_null_hooks", test_create_null_hooks},
    {"bymib_one_past", test_bymib_one_past},
    {"decay_ms_bad_read_no_write", test_decay_ms_bad_read_no_write},
};

int main(int argc, char **argv) {
    return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
