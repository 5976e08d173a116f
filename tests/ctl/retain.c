/*
 * retain.c -- opt.retain, run by tests/ctl/run.sh both ways (with
 * dirty_decay_ms:0,muzzy_decay_ms:0, so freed pages are purged at once):
 * with retain:false purged memory is unmapped (the arena's retained bytes
 * stay 0, mapped and the process's address space shrink by what was
 * freed); with retain:true it stays mapped as retained, for reuse.
 */
#include "tctl.h"

#include "mosaic.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static long vmsize_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    long kb = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
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

static const tcase_t cases[] = { /* run one, named on the command line */
    {"retain_false", test_retain_false},
    {"retain_true", test_retain_true},
};

int main(int argc, char **argv) { return t_main(cases, sizeof(cases) / sizeof(cases[0]), argc, argv); }
