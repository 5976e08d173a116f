/*
 * retain.c -- opt.retain, run by tests/ctl/run.sh both ways (with
 * dirty_decay_ms:0,muzzy_decay_ms:0, so freed pages are purged at once):
 * with retain:false purged memory is unmapped (the arena's retained bytes
 * stay 0, mapped and the process's address space shrink by what was
 * freed); with retain:true it stays mapped as retained, for reuse. Each run
 * also checks the default extent hooks' dalloc under that setting and an
 * arena whose hooks have no dalloc (its purged memory is always retained).
 */
#include "tctl.h"

#include "mosaic.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static size_t rdz(const char *fmt, unsigned a) {
    char name[96];
    snprintf(name, sizeof(name), fmt, a);
    size_t v = 0, sz = sizeof(v);
    if (mallctl(name, &v, &sz, NULL, 0) != 0) return (size_t)-1;
    return v;
}
static void epoch(void) {
    uint64_t e = 1;
    mallctl("epoch", NULL, NULL, &e, sizeof(e));
}

static void test_retain(bool expect) {
    bool retain = !expect;
    size_t sz = sizeof(retain);
    REQUIRE(mallctl("opt.retain", &retain, &sz, NULL, 0) == 0);
    REQUIRE(retain == expect, "opt.retain is %d: run with MOSAIC_CONF=retain:%s,...", retain,
            expect ? "true" : "false");
    unsigned a;
    sz = sizeof(a);
    REQUIRE(mallctl("arenas.create", &a, &sz, NULL, 0) == 0);
    const size_t big = (size_t)64 << 20;
    char *p = mallocx(big, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    memset(p, 1, big);
    epoch();
    size_t mapped0 = rdz("stats.arenas.%u.mapped", a);
    long vm0 = vmsize_kib();
    dallocx(p, MALLOCX_TCACHE_NONE); /* purged at once (decay 0) */
    epoch();
    size_t retained = rdz("stats.arenas.%u.retained", a), mapped = rdz("stats.arenas.%u.mapped", a);
    long vm = vmsize_kib();
    CHECK(rdz("stats.arenas.%u.pdirty", a) == 0 && rdz("stats.arenas.%u.pmuzzy", a) == 0,
          "the free was not purged at once (run with dirty_decay_ms:0,muzzy_decay_ms:0)");
    if (retain) {
        CHECK(retained >= big, "retain:true: %zu bytes retained", retained);
        CHECK(vm0 - vm < (long)(big >> 10) / 2, "retain:true: address space shrank by %ld KiB", vm0 - vm);
    } else {
        CHECK(retained == 0, "retain:false: %zu bytes still retained", retained);
        CHECK(mapped0 - mapped >= big, "retain:false: mapped %zu -> %zu", mapped0, mapped);
        CHECK(vm0 - vm >= (long)(big >> 10), "retain:false: address space shrank by %ld KiB only",
              vm0 - vm);
    }
    /* either way the arena serves again */
    p = mallocx(big, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    memset(p, 2, big);
    dallocx(p, MALLOCX_TCACHE_NONE);
}

static void test_retain_false(void) { test_retain(false); }
static void test_retain_true(void) { test_retain(true); }

static bool retain_opt(void) {
    bool retain = false;
    size_t sz = sizeof(retain);
    REQUIRE(mallctl("opt.retain", &retain, &sz, NULL, 0) == 0);
    return retain;
}
/* Whether all of [p, p + len) is mapped (mincore fails with ENOMEM on a hole). */
static bool is_mapped(void *p, size_t len) {
    static unsigned char vec[4096]; /* up to 16 MiB */
    if (len > sizeof(vec) * 4096) return false;
    return mincore(p, len, vec) == 0;
}

/* The default hooks (arena.0.extent_hooks) called directly: their dalloc
 * opts out (returns true, the range stays mapped) with retain:true, and
 * unmaps (returns false) with retain:false; destroy always unmaps. */
static void test_default_dalloc(void) {
    bool retain = retain_opt();
    extent_hooks_t *h = NULL;
    size_t sz = sizeof(h);
    REQUIRE(mallctl("arena.0.extent_hooks", &h, &sz, NULL, 0) == 0 && h && h->alloc && h->dalloc && h->destroy);
    const size_t len = (size_t)2 << 20;
    bool zero = false, commit = false;
    char *p = h->alloc(h, NULL, len, 4096, &zero, &commit, 0);
    REQUIRE(p);
    CHECK(zero && commit, "a new mapping: zero %d, commit %d", zero, commit);
    memset(p, 1, len);
    bool kept = h->dalloc(h, p, len, true, 0);
    if (retain) {
        CHECK(kept, "retain:true: the default dalloc did not opt out");
        REQUIRE(is_mapped(p, len), "retain:true: the default dalloc unmapped the range");
        memset(p, 2, len); /* still ours */
        h->destroy(h, p, len, true, 0);
    } else {
        CHECK(!kept, "retain:false: the default dalloc opted out");
        if (kept) h->destroy(h, p, len, true, 0);
    }
    CHECK(!is_mapped(p, len), "the range still mapped after %s", kept ? "destroy" : "dalloc");
}

/* Hooks without dalloc (jemalloc: the memory cannot be given back): a
 * purged free range stays with the arena as retained (also with
 * retain:false, where a purge would otherwise hand it to dalloc) and is
 * reused by the next request instead of new memory from the alloc hook. */
static extent_hooks_t *dflt_hooks;
static int nd_allocs;
static void *nd_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero, bool *commit,
                      unsigned ind) {
    (void)h;
    nd_allocs++;
    return dflt_hooks->alloc(dflt_hooks, na, size, align, zero, commit, ind);
}
static extent_hooks_t nodalloc_hooks = {nd_alloc, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static void test_null_dalloc(void) {
    bool retain = retain_opt();
    size_t sz = sizeof(dflt_hooks);
    REQUIRE(mallctl("arena.0.extent_hooks", &dflt_hooks, &sz, NULL, 0) == 0 && dflt_hooks);
    extent_hooks_t *hp = &nodalloc_hooks;
    unsigned a;
    sz = sizeof(a);
    REQUIRE(mallctl("arenas.create", &a, &sz, &hp, sizeof(hp)) == 0);
    const size_t big = (size_t)8 << 20;
    char *p = mallocx(big, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    memset(p, 1, big);
    int allocs = nd_allocs;
    CHECK(allocs >= 1, "the alloc hook was not called");
    epoch();
    size_t mapped0 = rdz("stats.arenas.%u.mapped", a), retained0 = rdz("stats.arenas.%u.retained", a);
    dallocx(p, MALLOCX_TCACHE_NONE); /* purged at once (decay 0) */
    epoch();
    size_t mapped = rdz("stats.arenas.%u.mapped", a), retained = rdz("stats.arenas.%u.retained", a);
    CHECK(rdz("stats.arenas.%u.pdirty", a) == 0 && rdz("stats.arenas.%u.pmuzzy", a) == 0,
          "the free was not purged at once (run with dirty_decay_ms:0,muzzy_decay_ms:0)");
    CHECK(retained - retained0 >= big, "retain:%s: retained %zu -> %zu after freeing %zu", retain ? "true" : "false",
          retained0, retained, big);
    CHECK(mapped + retained == mapped0 + retained0, "retain:%s: mapped + retained %zu + %zu -> %zu + %zu",
          retain ? "true" : "false", mapped0, retained0, mapped, retained);
    CHECK(is_mapped(p, big), "the range was unmapped");
    p = mallocx(big, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    memset(p, 2, big);
    CHECK(nd_allocs == allocs, "the retained range not reused: %d more alloc hook calls", nd_allocs - allocs);
    dallocx(p, MALLOCX_TCACHE_NONE);
}

/* Each run names its option setting (run.sh: retain_false or retain_true):
 * the cases whose names start with it run. */
static const tcase_t cases[] = {
    {"retain_false", test_retain_false},
    {"retain_false_default_dalloc", test_default_dalloc},
    {"retain_false_null_dalloc", test_null_dalloc},
    {"retain_true", test_retain_true},
    {"retain_true_default_dalloc", test_default_dalloc},
    {"retain_true_null_dalloc", test_null_dalloc},
};

int main(int argc, char **argv) {
    tcase_t run[sizeof(cases) / sizeof(cases[0])];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool want = argc < 2;
        for (int k = 1; k < argc; k++) want = want || !strncmp(cases[i].name, argv[k], strlen(argv[k]));
        if (want) run[n++] = cases[i];
    }
    char *all[] = {argv[0], NULL};
    return t_main(run, n, 1, all);
}
