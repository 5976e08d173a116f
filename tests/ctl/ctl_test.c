/*
 * ctl_test.c -- every mallctl name read (and written where writable) with
 * its value checked; exact statistics after an epoch write; jemalloc's error
 * codes. Linked to libmosaic.so, plain (jemalloc) names from mosaic.h.
 * Includes src/ctl.h, src/conf.h and src/stats.h only for their tables, so
 * that the coverage test walks exactly the names the library defines.
 * Extent hooks have their own file, hooks_test.c; the page allocator, purging
 * and decay theirs, extent_test.c.
 */
#include "tmallctl.h"

#include "conf.h"
#include "ctl.h"
#include "stats.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

static unsigned bin_of(size_t size) {
    unsigned nbins = rd_u("arenas.nbins");
    for (unsigned j = 0; j < nbins; j++)
        if (rd_z("arenas.bin.%u.size", j) == size) return j;
    t_fail(__FILE__, __LINE__, "bin_of", "no bin of size %zu", size);
    return 0;
}

static unsigned lextent_of(size_t size) {
    unsigned n = rd_u("arenas.nlextents");
    for (unsigned j = 0; j < n; j++)
        if (rd_z("arenas.lextent.%u.size", j) == size) return j;
    t_fail(__FILE__, __LINE__, "lextent_of", "no large class of size %zu", size);
    return 0;
}

/* ---- the names' table, as the library defines it ---- */
typedef struct {
    const char *name;
    ctl_type_t type;
    const char *access;
} tname_t;

static const tname_t names[] = {
#define ROW(name, type, access, handler, arg, doc) {name, type, access},
    CTL_NAMES(ROW)
#undef ROW
};

static size_t tsize(ctl_type_t t) {
    switch (t) {
    case CT_VOID: return 0;
    case CT_BOOL: return sizeof(bool);
    case CT_UNSIGNED: return sizeof(unsigned);
    case CT_U32: return sizeof(uint32_t);
    case CT_U64: return sizeof(uint64_t);
    case CT_SIZE: return sizeof(size_t);
    case CT_SSIZE: return sizeof(ssize_t);
    case CT_STR: return sizeof(char *);
    case CT_PTR: return sizeof(void *);
    }
    return 0;
}

/* Pattern -> concrete name: <i> -> i, <j> -> j. */
static void concrete(char *out, size_t n, const char *pat, unsigned i, unsigned j) {
    size_t o = 0;
    for (const char *p = pat; *p && o + 12 < n;) {
        if (!strncmp(p, "<i>", 3)) {
            o += (size_t)snprintf(out + o, n - o, "%u", i);
            p += 3;
        } else if (!strncmp(p, "<j>", 3)) {
            o += (size_t)snprintf(out + o, n - o, "%u", j);
            p += 3;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

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

/* ---- a second mutation pass over api.c and ctl.c: behaviour no test
 * checked before (each test below fails with the mutant it names) ---- */

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

/* arenas.create with NULL hooks is refused (EINVAL), as the extent_hooks
 * write: nothing is created. */
static void test_create_null_hooks(void) {
    unsigned n = rd_u("arenas.narenas"), ind = 77;
    size_t sz = sizeof(ind);
    extent_hooks_t *null = NULL;
    CHECK(mallctl("arenas.create", &ind, &sz, &null, sizeof(null)) == EINVAL);
    CHECK_EQ_U(rd_u("arenas.narenas"), n);
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

/* ---- mutation pass 2 (tcache.c, arena.c): fill/flush boundaries, remote
 * stack capacity, slab lists on direct frees, the pressure drain's back-off
 * and parked-bytes accounting ---- */

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

/* The pressure drain's back-off, step by step, in one arena (64 B regions;
 * a "drain" is seen as the arena's 64 B slabs becoming non-full, or as
 * emptied slabs giving their pages to a large block):
 *  0. Regions parked and then taken back by fills are no longer parked: a
 *     large block that then needs new memory drains nothing and leaves the
 *     gap at 0, so a drain right after (little growth) still happens.
 *  A. A drain that empties no slab sets the gap to 256 KiB.
 *  B. A productive drain (whole slabs parked) resets it to 0: the next one
 *     happens with no growth at all.
 *  C. An unproductive drain from 256 KiB doubles it to 512 KiB: 256 KiB of
 *     growth then is not enough, 512 KiB is. */
static void *bo_v[2 * PARK_N], *bo_w[PARK_N];
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
    for (int i = 0; i < n; i += 2) REQUIRE((bo_v[i] = malloc(64)));
}
static void test_drain_backoff(void) {
    unsigned cur = rd_u("thread.arena"), a = new_arena();
    set_arena(a);
    unsigned j = bin_of(64);
    uint32_t nregs = rd_u32("arenas.bin.%u.nregs", j);
    int lfl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    /* slabs a drain of bo_park_even(PARK_N) leaves non-full (at least); n0:
     * non-full slabs before a large allocation (a refill may leave a few) */
    size_t want = PARK_N / 2 / nregs, n0;

    /* 0. Park 256 KiB and take it all back (fills from the stack). */
    for (int i = 0; i < PARK_N; i++) REQUIRE((bo_v[i] = malloc(64)));
    for (int i = 0; i < PARK_N; i++) free(bo_v[i]);
    park_flush();
    for (int i = 0; i < PARK_N; i++) REQUIRE((bo_v[i] = malloc(64)));
    void *l0 = mallocx(128 << 10, lfl); /* nothing parked: no drain, gap stays 0 */
    REQUIRE(l0);
    bo_park_even(PARK_N); /* 128 KiB parked, every slab half used */
    n0 = bo_nonfull(a, j);
    void *l0b = mallocx(512 << 10, lfl); /* 128 KiB of growth >= gap 0: drains */
    REQUIRE(l0b);
    CHECK(bo_nonfull(a, j) >= n0 + want, "no drain after parked regions were taken back: %zu",
          bo_nonfull(a, j));
    /* that drain emptied no slab: the gap is 256 KiB now (A) */
    bo_refill_even(PARK_N);

    /* B. Whole slabs parked: 256 KiB of new slabs, all freed and parked,
     * then a large block (grown 512 KiB since the drain >= 256 KiB) drains
     * them, productively, and takes their pages. */
    for (int i = 0; i < PARK_N; i++) REQUIRE((bo_w[i] = malloc(64)));
    for (int i = 0; i < PARK_N; i++) free(bo_w[i]);
    park_flush();
    epoch();
    size_t res = rd_z("stats.arenas.%u.resident", a);
    void *l2 = mallocx(128 << 10, lfl);
    REQUIRE(l2);
    epoch();
    CHECK(rd_z("stats.arenas.%u.resident", a) <= res, "the productive drain did not happen");
    /* gap 0: with no growth since, the next large block drains again */
    bo_park_even(PARK_N);
    n0 = bo_nonfull(a, j);
    void *l3 = mallocx(512 << 10, lfl);
    REQUIRE(l3);
    CHECK(bo_nonfull(a, j) >= n0 + want, "a productive drain did not reset the gap: %zu non-full",
          bo_nonfull(a, j));
    /* (unproductive: gap 256 KiB again) */

    /* C. Grown 512 KiB (l3) >= 256 KiB: drains, unproductively: 512 KiB. */
    bo_refill_even(PARK_N);
    bo_park_even(PARK_N);
    n0 = bo_nonfull(a, j);
    void *l4 = mallocx(256 << 10, lfl); /* (no dirty run this big) */
    REQUIRE(l4);
    CHECK(bo_nonfull(a, j) >= n0 + want, "no drain after 512 KiB of growth: %zu", bo_nonfull(a, j));
    bo_refill_even(PARK_N);
    bo_park_even(PARK_N);
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
    for (int i = 1; i < PARK_N; i += 2) free(bo_v[i]);
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

    /* 1. Another automatic arena takes 2 MiB of new memory in large blocks:
     * the donor purges 2 MiB of its dirty pages. */
    relief_grow(0, 8, 0);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", donor), pages - 2 * step);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", donor), purged0 + 2 * step);
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

/* ---- resizing, size classes and thread caches at their edges ---- */

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
    {"metadata_resident", test_metadata_resident},
    {"edge_codes", test_edge_codes},
    {"stats_exact", test_stats_exact},
    {"stats_merged_all", test_stats_merged},
    {"foreign_not_reused", test_foreign_not_reused},
    {"shared_tag", test_shared_tag},
    {"impossible_keeps_pages", test_impossible_keeps_pages},
    {"pressure_drain", test_pressure_drain},
    {"xfer_overflow", test_xfer_overflow},
    {"growth_relief", test_growth_relief},
    {"arena_reset", test_arena_reset},
    {"arena_destroy", test_arena_destroy},
    {"arenas_lookup", test_arenas_lookup},
    {"errors_and_mib", test_errors_and_mib},
    {"threads_and_fork", test_threads},
    {"rallocx_align", test_rallocx_align},
    {"xallocx_align", test_xallocx_align},
    {"xallocx_same_size", test_xallocx_same_size},
    {"stats_large_resize", test_stats_large_resize},
    {"zero_uncached", test_zero_uncached},
    {"tcache_idle_trim", test_tcache_idle_trim},
    {"remote_flush_gc", test_remote_flush_gc},
    {"remote_flush_home", test_remote_flush_home},
    {"tcache_disable_flushes", test_tcache_disable_flushes},
    {"arena_choice", test_arena_choice},
    {"tcache_max_inclusive", test_tcache_max_inclusive},
    {"nallocx_edges", test_nallocx_edges},
    {"tcache_flush_half", test_tcache_flush_half},
    {"remote_stack_capacity", test_remote_stack_capacity},
    {"direct_free_nonfull", test_direct_free_nonfull},
    {"tcache_idle_trim_two", test_tcache_idle_trim_two},
    {"drain_backoff", test_drain_backoff},
    {"reset_bound_arena", test_reset_bound_arena},
    {"zero_whole_usable", test_zero_whole_usable},
    {"rallocx_arena", test_rallocx_arena},
    {"malloc_trim", test_malloc_trim},
    {"thread_arena_narenas", test_thread_arena_narenas},
    {"eperm_rules", test_eperm_rules},
    {"dallocx_ignores_arena", test_dallocx_ignores_arena},
    {"create_null_hooks", test_create_null_hooks},
    {"xallocx_not_small", test_xallocx_not_small},
    {"mallocx_flags_cached", test_mallocx_flags_cached},
    {"bymib_one_past", test_bymib_one_past},
    {"rallocx_bad_flags", test_rallocx_bad_flags},
    {"decay_ms_bad_read_no_write", test_decay_ms_bad_read_no_write},
};

int main(int argc, char **argv) {
    return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
