/*
 * junk.c -- opt.junk (run with MOSAIC_CONF=junk:true by tests/ctl/run.sh):
 * every new block is filled with 0xa5 over its whole usable size, calloc and
 * MALLOCX_ZERO blocks are zero, a freed block is filled with 0x5a, realloc
 * fills the part a growth adds (0xa5) and the tail an in-place shrink gives
 * up (0x5a), for small, large and huge sizes and every allocation entry
 * point. Reading a freed block is what this debugging aid is for; the block
 * stays mapped (a slab, or a large extent kept dirty: dirty_decay_ms:-1).
 */
#include "tctl.h"

#include "mosaic.h"
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t count_not(const void *p, size_t n, unsigned char c) {
    const unsigned char *b = p;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += b[i] != c;
    return bad;
}

static const size_t sizes[] = {1, 16, 100, 1000, 5000, 14000, 20000, 100000, (size_t)3 << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void test_opt_junk_on(void) {
    const char *v = NULL;
    size_t sz = sizeof(v);
    REQUIRE(mallctl("opt.junk", &v, &sz, NULL, 0) == 0);
    CHECK(v && !strcmp(v, "true"), "opt.junk is %s: run with MOSAIC_CONF=junk:true", v ? v : "NULL");
}

static void test_alloc_filled(void) {
    for (size_t i = 0; i < NSIZES; i++) {
        size_t s = sizes[i];
        void *ps[6] = {malloc(s), mallocx(s, 0), mallocx(s, MALLOCX_ALIGN(64)), aligned_alloc(64, s),
                       NULL, realloc(NULL, s)};
        REQUIRE(posix_memalign(&ps[4], 4096, s) == 0);
        for (int k = 0; k < 6; k++) {
            REQUIRE(ps[k]);
            size_t u = malloc_usable_size(ps[k]);
            CHECK(count_not(ps[k], u, 0xa5) == 0, "size %zu, entry %d: %zu of %zu bytes not 0xa5", s, k,
                  count_not(ps[k], u, 0xa5), u);
        }
        for (int k = 0; k < 6; k++) free(ps[k]);
    }
}

static void test_zeroed_not_junk(void) {
    for (size_t i = 0; i < NSIZES; i++) {
        size_t s = sizes[i];
        void *c = calloc(1, s), *z = mallocx(s, MALLOCX_ZERO);
        REQUIRE(c && z);
        CHECK(count_not(c, s, 0) == 0, "calloc(%zu)", s);
        CHECK(count_not(z, s, 0) == 0, "MALLOCX_ZERO %zu", s);
        free(c);
        dallocx(z, 0);
    }
}

static void test_free_filled(void) {
    for (size_t i = 0; i < NSIZES; i++) {
        size_t s = sizes[i];
        unsigned char *p = malloc(s);
        REQUIRE(p);
        size_t u = malloc_usable_size(p);
        memset(p, 0x11, u);
        free(p);
        CHECK(count_not(p, u, 0x5a) == 0, "free of %zu: %zu of %zu bytes not 0x5a", s, count_not(p, u, 0x5a), u);
        p = mallocx(s, 0);
        REQUIRE(p);
        memset(p, 0x11, u);
        sdallocx(p, s, 0);
        CHECK(count_not(p, u, 0x5a) == 0, "sdallocx of %zu", s);
    }
}

static void test_realloc_filled(void) {
    /* growth by a move (small) and in place (large, into a free neighbour) */
    unsigned char *p = malloc(100);
    REQUIRE(p);
    memset(p, 0x11, 100);
    p = realloc(p, 3000);
    REQUIRE(p);
    CHECK(count_not(p, 100, 0x11) == 0, "contents kept");
    CHECK(count_not(p + 100, malloc_usable_size(p) - 100, 0xa5) == 0, "moved: the new part");
    free(p);
    unsigned char *big = mallocx((size_t)1 << 20, 0);
    REQUIRE(big);
    memset(big, 0x11, (size_t)1 << 20);
    /* shrink in place: the tail given up is filled as freed */
    unsigned char *q = rallocx(big, (size_t)512 << 10, 0);
    REQUIRE(q);
    CHECK(q == big, "a large block shrinks in place");
    CHECK(count_not(big + (512 << 10), 512 << 10, 0x5a) == 0, "shrunk tail");
    CHECK(count_not(q, (size_t)512 << 10, 0x11) == 0, "contents kept after the shrink");
    /* grow again: in place if the neighbour is still free, filled as new */
    unsigned char *r = rallocx(q, (size_t)1 << 20, 0);
    REQUIRE(r);
    CHECK(r == q, "grows in place into the tail it gave up");
    CHECK(count_not(r, (size_t)512 << 10, 0x11) == 0, "contents kept after the growth");
    CHECK(count_not(r + (512 << 10), (size_t)512 << 10, 0xa5) == 0, "grown part");
    /* xallocx growth in place, into the free rest of the chunk */
    size_t x = xallocx(r, (size_t)3 << 19, 0, 0);
    CHECK(x == ((size_t)3 << 19), "xallocx grew to %zu", x);
    CHECK(count_not(r + ((size_t)1 << 20), x - ((size_t)1 << 20), 0xa5) == 0, "xallocx growth");
    dallocx(r, 0);
}

/* A free that empties a slab hands its pages back: the fill must come
 * before, or it dirties pages purged (and marked zeroed) at once, and a
 * later calloc skips its memset. An explicit arena purging at once. */
static void test_calloc_after_junk(void) {
    unsigned a;
    size_t sz = sizeof(a);
    REQUIRE(mallctl("arenas.create", &a, &sz, NULL, 0) == 0);
    char name[64];
    ssize_t zero = 0;
    snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", a);
    REQUIRE(mallctl(name, NULL, NULL, &zero, sizeof(zero)) == 0);
    snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", a);
    REQUIRE(mallctl(name, NULL, NULL, &zero, sizeof(zero)) == 0);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    static void *v[4000];
    for (int i = 0; i < 4000; i++) REQUIRE((v[i] = mallocx(1024, fl)));
    for (int i = 0; i < 4000; i++) dallocx(v[i], MALLOCX_TCACHE_NONE);
    size_t bad = 0;
    for (int r = 0; r < 64; r++) {
        size_t cs = (size_t)(16 + r) << 10;
        unsigned char *c = mallocx(cs, fl | MALLOCX_ZERO);
        REQUIRE(c);
        bad += count_not(c, cs, 0) != 0;
        dallocx(c, MALLOCX_TCACHE_NONE);
    }
    CHECK(bad == 0, "%zu of 64 zeroed blocks were not zero", bad);
}

/* Turning the thread's cache on while junk is on changes nothing: blocks
 * still go through the arena and are filled. */
static void test_tcache_enable_keeps_junk(void) {
    bool on = true;
    REQUIRE(mallctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on)) == 0);
    for (int i = 0; i < 3; i++) {
        unsigned char *p = malloc(100);
        REQUIRE(p);
        size_t u = malloc_usable_size(p);
        CHECK(count_not(p, u, 0xa5) == 0, "malloc(100) after enabling the cache");
        memset(p, 0x11, u);
        free(p);
        CHECK(count_not(p, u, 0x5a) == 0, "free after enabling the cache");
    }
}

static const tcase_t cases[] = {
    {"junk_opt_on", test_opt_junk_on},
    {"junk_alloc_filled", test_alloc_filled},
    {"junk_zeroed_not_junk", test_zeroed_not_junk},
    {"junk_free_filled", test_free_filled},
    {"junk_realloc_filled", test_realloc_filled},
    {"junk_calloc_after_junk", test_calloc_after_junk},
    {"junk_tcache_enable_keeps_junk", test_tcache_enable_keeps_junk},
};

int main(int argc, char **argv) { return t_main(cases, sizeof(cases) / sizeof(cases[0]), argc, argv); }
