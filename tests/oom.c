/*
 * oom.c -- out of memory under setrlimit(RLIMIT_AS), in a child process.
 *
 * With the address space limited to what the process uses plus a headroom
 * (MOSAIC_TEST_OOM_HEADROOM_MIB, default 256), allocation must fail cleanly
 * with NULL / ENOMEM (posix_memalign: ENOMEM) from malloc of 1 MiB, 64 MiB
 * and small blocks, calloc, realloc (original block intact),
 * posix_memalign, aligned_alloc -- never crash -- and succeed again once
 * blocks are freed.
 *
 * Mosaic modes also check the accounting of what the allocator gives back
 * when it runs out of address space (src/extent.c, pa_alloc: the arena's
 * purged, retained ranges are unmapped before one more try): right after
 * the failures no byte is retained, and stats.mapped never exceeds the
 * process's address space (VmSize), neither then nor after the frees.
 */
#include "common.h"
#include <sys/mman.h>
#include <sys/resource.h>

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

#ifndef T_GLIBC
#ifdef T_PREFIX
#define T_MALLCTL mosaic_mallctl
#else
#define T_MALLCTL mallctl
#endif
/* stats.NAME after an epoch refresh; (size_t)-1 when mallctl fails */
static size_t stat_z(const char *name)
{
    uint64_t e = 1;
    if (T_MALLCTL("epoch", NULL, NULL, &e, sizeof(e)) != 0)
        return (size_t)-1;
    size_t v = 0, sz = sizeof(v);
    if (T_MALLCTL(name, &v, &sz, NULL, 0) != 0)
        return (size_t)-1;
    return v;
}

/* stats.mapped (Mosaic's mappings not retained, metadata included) lies
 * within the address space the process has */
static void check_mapped(int round, const char *when)
{
    size_t mapped = stat_z("stats.mapped");
    long vm = t_vmsize_kib();
    CHECK(mapped != (size_t)-1 && vm > 0, "round %d, %s: cannot read stats.mapped / VmSize",
          round, when);
    CHECK(mapped == (size_t)-1 || vm <= 0 || mapped <= (size_t)vm * 1024,
          "round %d, %s: stats.mapped %zu KiB > VmSize %ld KiB (ranges given back still "
          "counted?)", round, when, mapped >> 10, vm);
}
#endif

static void **ptrs; /* mmap'd before the limit, so the test's own bookkeeping
                       never competes with the allocator */
#define MAXPTRS (1u << 20)

static void expect_enomem(void *p, const char *what)
{
    int e = errno;
    CHECK(p == NULL, "%s succeeded (%p) with the address space exhausted", what, p);
    CHECK(p != NULL || e == ENOMEM, "%s returned NULL with errno %d (%s), expected ENOMEM",
          what, e, strerror(e));
    if (p)
        M(free)(p);
}

/* Allocates blocks of size s until one fails; returns how many succeeded. */
static size_t fill(size_t s, size_t start, size_t *end, const char *what)
{
    size_t n = start;
    for (;;) {
        if (n >= MAXPTRS)
            FATAL("%s: %zu allocations of %zu bytes succeeded: the limit is not working", what,
                  n - start, s);
        errno = 0;
        void *p = M(malloc)(s);
        if (!p) {
            CHECK(errno == ENOMEM, "%s: malloc(%zu) failed with errno %d (%s), expected ENOMEM",
                  what, s, errno, strerror(errno));
            break;
        }
        /* touch one byte per page: the memory must be real */
        for (size_t o = 0; o < s; o += 4096)
            ((volatile unsigned char *)p)[o] = (unsigned char)n;
        ((unsigned char *)p)[s - 1] = 0x5a;
        ptrs[n++] = p;
    }
    *end = n;
    return n - start;
}

static void free_range(size_t from, size_t to, size_t step)
{
    for (size_t i = from; i < to; i += step)
        if (ptrs[i]) {
            M(free)(ptrs[i]);
            ptrs[i] = NULL;
        }
}

static int oom_child(void *arg)
{
    (void)arg;
    ptrs = mmap(NULL, MAXPTRS * sizeof(void *), PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(ptrs != MAP_FAILED, "mmap failed");
    /* warm the allocator up so its own set-up is not what hits the limit */
    for (size_t s = 16; s <= 8 * MiB; s *= 2) {
        void *p = M(malloc)(s);
        REQUIRE(p, "malloc(%zu) failed before the limit", s);
        memset(p, 1, s);
        M(free)(p);
    }
#ifndef T_GLIBC
    /* a first snapshot before the limit: its records exist, so later epoch
       refreshes need no memory */
    REQUIRE(stat_z("stats.mapped") != (size_t)-1, "mallctl stats.mapped fails");
#endif
    long headroom = t_env_long("MOSAIC_TEST_OOM_HEADROOM_MIB", 256);
    long vm = t_vmsize_kib();
    REQUIRE(vm > 0, "cannot read VmSize");
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)vm * 1024 + (rlim_t)headroom * MiB;
    REQUIRE(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));
    printf("%s: VmSize %ld KiB, RLIMIT_AS set to %ld MiB\n", t_name, vm,
           (long)(rl.rlim_cur / MiB));

    for (int round = 0; round < 3; round++) {
        size_t n1, n2, n3, end;
        /* 1. exhaust with 1 MiB blocks */
        size_t got = fill(MiB, 0, &end, "1 MiB blocks");
        CHECK(got >= (size_t)headroom / 4,
              "round %d: only %zu blocks of 1 MiB fit in %ld MiB of headroom", round, got,
              headroom);
        n1 = end;
        /* 2. everything else fails cleanly too */
        errno = 0;
        expect_enomem(M(malloc)(64 * MiB), "malloc(64 MiB)");
        errno = 0;
        expect_enomem(M(calloc)(1, 64 * MiB), "calloc(1, 64 MiB)");
        errno = 0;
        expect_enomem(M(calloc)(64, MiB), "calloc(64, 1 MiB)");
        errno = 0;
        expect_enomem(M(aligned_alloc)(4096, 64 * MiB), "aligned_alloc(4096, 64 MiB)");
        errno = 0;
        expect_enomem(M(memalign)(2 * MiB, 32 * MiB), "memalign(2 MiB, 32 MiB)");
        errno = 0;
        expect_enomem(M(valloc)(64 * MiB), "valloc(64 MiB)");
        {
            void *out = (void *)(uintptr_t)0x777;
            int e = M(posix_memalign)(&out, 64, 64 * MiB);
            CHECK(e == ENOMEM, "posix_memalign(64 MiB) = %d with memory exhausted", e);
            CHECK(e != ENOMEM || out == (void *)(uintptr_t)0x777,
                  "failed posix_memalign changed the output");
            if (e == 0)
                M(free)(out);
        }
        if (n1 > 0) {
            void *old = ptrs[n1 - 1];
            errno = 0;
            void *q = M(realloc)(old, 64 * MiB);
            int e = errno;
            CHECK(q == NULL && e == ENOMEM, "realloc(1 MiB block, 64 MiB) = %p errno %d", q, e);
            if (q) {
                ptrs[n1 - 1] = q;
            } else {
                CHECK(((unsigned char *)old)[MiB - 1] == 0x5a,
                      "failed realloc damaged the original block");
                CHECK(M(malloc_usable_size)(old) >= MiB, "failed realloc shrank the original");
            }
        }
#ifndef T_GLIBC
        /* the failures gave every retained range back, and uncounted it */
        size_t retained = stat_z("stats.retained");
        CHECK(retained == 0, "round %d: %zu bytes still retained after the allocations failed",
              round, retained);
        check_mapped(round, "out of memory");
#endif
        /* 3. small blocks until they fail as well */
        got = fill(1000, n1, &end, "small blocks");
        n2 = end;
        errno = 0;
        expect_enomem(M(malloc)(MiB), "malloc(1 MiB) after small blocks");
        /* 4. free every other 1 MiB block: 1 MiB allocations work again */
        free_range(0, n1, 2);
#ifndef T_GLIBC
        /* Mosaic: the freed 1 MiB blocks are dirty holes between live
         * blocks, none large enough for 64 MiB; the failed mapping purges
         * them and unmaps the purged ranges (pa_alloc: decay all, then
         * release retained), which makes room for it (a mutant that only
         * released what was already retained failed here) */
        if (n1 >= 2 * 64 + 16) {
            void *hole = M(malloc)(64 * MiB);
            CHECK(hole != NULL, "round %d: malloc(64 MiB) fails with %zu MiB of freed (dirty) "
                  "1 MiB blocks that could be given back", round, n1 / 2);
            M(free)(hole);
        }
#endif
        size_t again = fill(MiB, n2, &end, "1 MiB blocks after frees");
        CHECK(again >= n1 / 2 / 2,
              "round %d: after freeing %zu blocks of 1 MiB only %zu could be allocated again",
              round, (n1 + 1) / 2, again);
        n3 = end;
        /* 5. free everything: 64 MiB blocks fit again */
        free_range(0, n3, 1);
        void *big = M(malloc)(64 * MiB);
        CHECK(big != NULL, "round %d: malloc(64 MiB) fails after freeing everything (errno %s)",
              round, strerror(errno));
        if (big) {
            memset(big, 0x33, 64 * MiB);
            big = M(realloc)(big, 96 * MiB);
            CHECK(big != NULL, "realloc(64 MiB -> 96 MiB) fails after freeing everything");
            M(free)(big);
        }
        unsigned char *z = M(calloc)(1, 64 * MiB);
        CHECK(z != NULL, "round %d: calloc(1, 64 MiB) fails after freeing everything", round);
        if (z) {
            for (size_t o = 0; o < 64 * MiB; o += 4093)
                if (z[o]) {
                    t_fail_at(__FILE__, __LINE__, "calloc after OOM: byte %zu not zero", o);
                    break;
                }
            M(free)(z);
        }
        /* 6. exhaust with 64 MiB blocks, then free them */
        size_t n64 = fill(64 * MiB, 0, &end, "64 MiB blocks");
        CHECK(n64 >= 1, "round %d: no 64 MiB block fits after freeing everything", round);
        free_range(0, end, 1);
#ifndef T_GLIBC
        check_mapped(round, "after freeing everything");
#endif
        printf("%s: round %d: %zu x 1 MiB, %zu x 1000 B, %zu x 1 MiB again after freeing "
               "half, %zu x 64 MiB\n",
               t_name, round, n1, n2 - n1, again, n64);
        fflush(stdout);
    }
    return t_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    t_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    t_check_allocator();
    int st = t_run_child(oom_child, NULL, 120, "oom");
    char d[96];
    t_describe_status(st, d, sizeof d);
    CHECK(st == 0, "the out-of-memory child ended with %s", d);
    return t_finish();
}
