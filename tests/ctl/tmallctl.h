/*
 * tmallctl.h -- mallctl helpers shared by the ctl suite's C tests (ctl_test.c,
 * hooks_test.c): ctl() with a printf-formatted name, typed reads that fail
 * the test when the read fails, an epoch write, arena creation and switching.
 */
#ifndef MOSAIC_TMALLCTL_H
#define MOSAIC_TMALLCTL_H
#include "tctl.h"

#include "mosaic.h"
#include <stdarg.h>

#define ALL MALLCTL_ARENAS_ALL
#define DESTROYED MALLCTL_ARENAS_DESTROYED
#define T_MAYBE_UNUSED __attribute__((unused))

T_MAYBE_UNUSED static int vctl(void *oldp, size_t *oldlenp, void *newp, size_t newlen, const char *fmt, va_list ap) {
    char name[256];
    vsnprintf(name, sizeof(name), fmt, ap);
    return mallctl(name, oldp, oldlenp, newp, newlen);
}

/* ctl(oldp, oldlenp, newp, newlen, "name %u", ...) */
T_MAYBE_UNUSED static int ctl(void *oldp, size_t *oldlenp, void *newp, size_t newlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int ctl(void *oldp, size_t *oldlenp, void *newp, size_t newlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vctl(oldp, oldlenp, newp, newlen, fmt, ap);
    va_end(ap);
    return r;
}

#define RD(T, fn)                                                                                  \
    T_MAYBE_UNUSED static T fn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));                       \
    static T fn(const char *fmt, ...) {                                                            \
        T v;                                                                                       \
        memset(&v, 0xa5, sizeof(v));                                                               \
        size_t sz = sizeof(v);                                                                     \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        char name[256];                                                                            \
        vsnprintf(name, sizeof(name), fmt, ap);                                                    \
        va_end(ap);                                                                                \
        int r = mallctl(name, &v, &sz, NULL, 0);                                                   \
        if (r != 0) t_fail(__FILE__, __LINE__, name, "read failed: %s", strerror(r));             \
        else if (sz != sizeof(v)) t_fail(__FILE__, __LINE__, name, "size %zu", sz);              \
        return v;                                                                                  \
    }
RD(uint64_t, rd_u64)
RD(size_t, rd_z)
RD(ssize_t, rd_ss)
RD(unsigned, rd_u)
RD(uint32_t, rd_u32)
RD(bool, rd_b)
RD(const char *, rd_s)
RD(void *, rd_p)

T_MAYBE_UNUSED static void epoch(void) {
    uint64_t e = 1;
    size_t sz = sizeof(e);
    REQUIRE(mallctl("epoch", &e, &sz, &e, sizeof(e)) == 0);
}

T_MAYBE_UNUSED static unsigned new_arena(void) {
    unsigned a = 0;
    size_t sz = sizeof(a);
    REQUIRE(mallctl("arenas.create", &a, &sz, NULL, 0) == 0);
    return a;
}

T_MAYBE_UNUSED static void set_arena(unsigned a) {
    REQUIRE(mallctl("thread.arena", NULL, NULL, &a, sizeof(a)) == 0);
}

/* The arena a block belongs to (arenas.lookup). */
T_MAYBE_UNUSED static unsigned arena_of_block(void *p) {
    unsigned where = ~0u;
    size_t sz = sizeof(where);
    CHECK(mallctl("arenas.lookup", &where, &sz, &p, sizeof(p)) == 0);
    return where;
}
/* The small bin (arenas.bin.<j>) and large class (arenas.lextent.<j>) of
 * exactly this size. */
T_MAYBE_UNUSED static unsigned bin_of(size_t size) {
    unsigned nbins = rd_u("arenas.nbins");
    for (unsigned j = 0; j < nbins; j++)
        if (rd_z("arenas.bin.%u.size", j) == size) return j;
    t_fail(__FILE__, __LINE__, "bin_of", "no bin of size %zu", size);
    return 0;
}

T_MAYBE_UNUSED static unsigned lextent_of(size_t size) {
    unsigned n = rd_u("arenas.nlextents");
    for (unsigned j = 0; j < n; j++)
        if (rd_z("arenas.lextent.%u.size", j) == size) return j;
    t_fail(__FILE__, __LINE__, "lextent_of", "no large class of size %zu", size);
    return 0;
}
#endif
