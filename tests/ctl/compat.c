/*
 * compat.c -- a program written for jemalloc: compiled against Debian's
 * <jemalloc/jemalloc.h> (libjemalloc-dev) and linked to libmosaic.so, not to
 * jemalloc. Uses the *allocx family with every flag, the manual's mallctl
 * idioms and malloc_stats_print, and checks the answers are Mosaic's.
 */
#include <jemalloc/jemalloc.h>

#include "tctl.h"

#define STRINGIFY_HELPER(x) #x
#define STRINGIFY(x) STRINGIFY_HELPER(x)

static void test_is_mosaic(void) {
    const char *v = NULL;
    size_t sz = sizeof(v);
    REQUIRE(mallctl("version", &v, &sz, NULL, 0) == 0);
    CHECK(v && strncmp(v, "5.", 2) != 0, "version %s: linked to jemalloc, not Mosaic?", v);
    CHECK(MALLCTL_ARENAS_ALL == 4096 && MALLCTL_ARENAS_DESTROYED == 4097);
}

static void test_allocx_flags(void) {
    /* alignment */
    for (int lg = 0; lg <= 21; lg++) {
        size_t al = (size_t)1 << lg;
        void *p = mallocx(100, MALLOCX_ALIGN(al));
        REQUIRE(p);
        CHECK(((uintptr_t)p & (al - 1)) == 0, "align %zu", al);
        CHECK_EQ_U(sallocx(p, 0), nallocx(100, MALLOCX_ALIGN(al)));
        CHECK_EQ_U(malloc_usable_size(p), sallocx(p, 0));
        void *q = mallocx(100, MALLOCX_LG_ALIGN(lg));
        REQUIRE(q);
        CHECK(((uintptr_t)q & (al - 1)) == 0);
        dallocx(p, MALLOCX_ALIGN(al));
        sdallocx(q, 100, MALLOCX_LG_ALIGN(lg));
    }
    /* zero */
    for (size_t s = 8; s <= (1u << 22); s *= 4) {
        unsigned char *p = mallocx(s, 0);
        REQUIRE(p);
        memset(p, 0xee, s);
        dallocx(p, 0);
        unsigned char *z = mallocx(s, MALLOCX_ZERO);
        REQUIRE(z);
        size_t bad = 0;
        for (size_t i = 0; i < s; i++) bad += z[i] != 0;
        CHECK(bad == 0, "MALLOCX_ZERO size %zu", s);
        z = rallocx(z, s * 2, MALLOCX_ZERO);
        REQUIRE(z);
        for (size_t i = 0; i < sallocx(z, 0); i++) bad += z[i] != 0;
        CHECK(bad == 0, "rallocx MALLOCX_ZERO size %zu", s * 2);
        dallocx(z, 0);
    }
    /* rallocx keeps an alignment above the page also where it moves a huge
     * block (never by mremap, which keeps only page alignment) */
    const size_t big_al = (size_t)64 << 20;
    void *h = mallocx((size_t)40 << 20, MALLOCX_ALIGN(big_al));
    REQUIRE(h);
    CHECK(((uintptr_t)h & (big_al - 1)) == 0);
    h = rallocx(h, (size_t)200 << 20, MALLOCX_ALIGN(big_al));
    REQUIRE(h);
    CHECK(((uintptr_t)h & (big_al - 1)) == 0, "rallocx to 200 MiB lost 64 MiB alignment: %p", h);
    dallocx(h, 0);
    /* xallocx: size + extra beyond SIZE_MAX saturates (no shrink) */
    void *m = mallocx((size_t)1 << 20, 0);
    REQUIRE(m);
    CHECK_EQ_U(xallocx(m, 65536, SIZE_MAX, 0), (size_t)1 << 20);
    CHECK_EQ_U(sallocx(m, 0), (size_t)1 << 20);
    dallocx(m, 0);
    /* MALLOCX_ARENA of every automatic arena, also those no thread has used
     * yet (created on demand, as in jemalloc) */
    unsigned a, nauto;
    size_t sz = sizeof(nauto);
    REQUIRE(mallctl("arenas.narenas", &nauto, &sz, NULL, 0) == 0);
    for (unsigned i = 0; i < nauto; i++) {
        void *b = mallocx(64, MALLOCX_ARENA(i) | MALLOCX_TCACHE_NONE);
        CHECK(b != NULL, "MALLOCX_ARENA(%u) of %u automatic arenas", i, nauto);
        if (!b) continue;
        unsigned w;
        sz = sizeof(w);
        CHECK(mallctl("arenas.lookup", &w, &sz, &b, sizeof(b)) == 0 && w == i, "arena %u", i);
        dallocx(b, MALLOCX_TCACHE_NONE);
    }
    /* explicit arena, no tcache, explicit tcache */
    sz = sizeof(a);
    REQUIRE(mallctl("arenas.create", &a, &sz, NULL, 0) == 0);
    unsigned tc;
    sz = sizeof(tc);
    REQUIRE(mallctl("tcache.create", &tc, &sz, NULL, 0) == 0);
    void *p = mallocx(1000, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    void *q = mallocx(1000, MALLOCX_TCACHE(tc));
    REQUIRE(p && q);
    unsigned where;
    sz = sizeof(where);
    CHECK(mallctl("arenas.lookup", &where, &sz, &p, sizeof(p)) == 0 && where == a);
    p = rallocx(p, 50000, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    CHECK(mallctl("arenas.lookup", &where, &sz, &p, sizeof(p)) == 0 && where == a);
    size_t x = xallocx(p, 60000, 0, 0);
    CHECK(x >= 50000 && x == sallocx(p, 0));
    dallocx(p, MALLOCX_TCACHE_NONE);
    dallocx(q, MALLOCX_TCACHE(tc));
    CHECK(mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc)) == 0);
    /* too large */
    volatile size_t huge = (size_t)1 << 63;
    CHECK(nallocx(huge, 0) == 0);
    CHECK(mallocx(huge, 0) == NULL);
    /* nallocx == sallocx == malloc_usable_size */
    for (size_t s = 1; s < (1u << 20); s = s * 3 / 2 + 1) {
        void *b = mallocx(s, 0);
        REQUIRE(b);
        CHECK(nallocx(s, 0) == sallocx(b, 0) && sallocx(b, 0) == malloc_usable_size(b), "size %zu", s);
        dallocx(b, 0);
    }
}

/* The idioms of jemalloc's manual page. */
static void test_manual_idioms(void) {
    unsigned nbins, i;
    size_t mib[4];
    size_t len, miblen;
    len = sizeof(nbins);
    REQUIRE(mallctl("arenas.nbins", &nbins, &len, NULL, 0) == 0);
    miblen = 4;
    REQUIRE(mallctlnametomib("arenas.bin.0.size", mib, &miblen) == 0);
    size_t prev = 0;
    for (i = 0; i < nbins; i++) {
        size_t bin_size;
        mib[2] = i;
        len = sizeof(bin_size);
        REQUIRE(mallctlbymib(mib, miblen, (void *)&bin_size, &len, NULL, 0) == 0);
        CHECK(bin_size > prev);
        prev = bin_size;
    }
    CHECK(mallctl("arena." STRINGIFY(MALLCTL_ARENAS_ALL) ".decay", NULL, NULL, NULL, 0) == 0);
    CHECK(mallctl("arena." STRINGIFY(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL, NULL, 0) == 0);
    uint64_t epoch = 1;
    size_t esz = sizeof(epoch);
    REQUIRE(mallctl("epoch", &epoch, &esz, &epoch, esz) == 0);
    size_t allocated, active, metadata, resident, mapped, retained, zsz = sizeof(size_t);
    CHECK(mallctl("stats.allocated", &allocated, &zsz, NULL, 0) == 0);
    CHECK(mallctl("stats.active", &active, &zsz, NULL, 0) == 0);
    CHECK(mallctl("stats.metadata", &metadata, &zsz, NULL, 0) == 0);
    CHECK(mallctl("stats.resident", &resident, &zsz, NULL, 0) == 0);
    CHECK(mallctl("stats.mapped", &mapped, &zsz, NULL, 0) == 0);
    CHECK(mallctl("stats.retained", &retained, &zsz, NULL, 0) == 0);
    CHECK(allocated > 0 && active >= allocated && resident >= active && mapped >= active);
    size_t merged;
    CHECK(mallctl("stats.arenas." STRINGIFY(MALLCTL_ARENAS_ALL) ".small.allocated", &merged, &zsz,
                  NULL, 0) == 0);
    /* thread.allocatedp, as jemalloc users poll it */
    uint64_t *ap;
    size_t psz = sizeof(ap);
    REQUIRE(mallctl("thread.allocatedp", &ap, &psz, NULL, 0) == 0);
    uint64_t before = *ap;
    void *p = mallocx(4096, MALLOCX_TCACHE_NONE);
    uint64_t after;
    size_t usz = sizeof(after);
    REQUIRE(mallctl("thread.allocated", &after, &usz, NULL, 0) == 0);
    CHECK(after - before == 4096 && *ap == after);
    dallocx(p, MALLOCX_TCACHE_NONE);
    /* opt.* as jemalloc types them */
    bool tcache;
    size_t bsz = sizeof(tcache);
    CHECK(mallctl("opt.tcache", &tcache, &bsz, NULL, 0) == 0);
    const char *junk, *thp;
    size_t ssz = sizeof(junk);
    CHECK(mallctl("opt.junk", &junk, &ssz, NULL, 0) == 0 && junk && strlen(junk) > 0);
    CHECK(mallctl("opt.thp", &thp, &ssz, NULL, 0) == 0 && thp && strlen(thp) > 0);
    ssize_t dirty;
    size_t dsz = sizeof(dirty);
    CHECK(mallctl("opt.dirty_decay_ms", &dirty, &dsz, NULL, 0) == 0);
    unsigned narenas;
    len = sizeof(narenas);
    CHECK(mallctl("opt.narenas", &narenas, &len, NULL, 0) == 0);
    CHECK(mallctl("arenas.narenas", &narenas, &len, NULL, 0) == 0 && narenas > 0);
    /* error codes */
    CHECK(mallctl("no.such.thing", NULL, NULL, NULL, 0) == ENOENT);
    CHECK(mallctl("stats.allocated", NULL, NULL, &allocated, sizeof(allocated)) == EPERM);
}

static char stats_buf[1 << 20];
static size_t stats_len;
static void cb(void *opaque, const char *s) {
    (void)opaque;
    size_t n = strlen(s);
    if (stats_len + n < sizeof(stats_buf)) memcpy(stats_buf + stats_len, s, n);
    stats_len += n;
}

static void test_stats_print(void) {
    malloc_stats_print(cb, NULL, NULL);
    stats_buf[stats_len < sizeof(stats_buf) ? stats_len : 0] = '\0';
    CHECK(strstr(stats_buf, "Allocated:") != NULL);
    stats_len = 0;
    malloc_stats_print(cb, NULL, "J");
    stats_buf[stats_len < sizeof(stats_buf) ? stats_len : 0] = '\0';
    CHECK(stats_buf[0] == '{' && strstr(stats_buf, "\"stats\"") != NULL);
}

static const tcase_t tests[] = {
    {"jemalloc_header_links_to_mosaic", test_is_mosaic},
    {"jemalloc_header_allocx_flags", test_allocx_flags},
    {"jemalloc_header_manual_idioms", test_manual_idioms},
    {"jemalloc_header_stats_print", test_stats_print},
};

int main(int argc, char **argv) { return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv); }
