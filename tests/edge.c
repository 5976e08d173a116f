/*
 * edge.c -- table-driven edge cases and errno of every entry point.
 *
 * The expectations are glibc 2.36's. The same table runs against the plain
 * C library (edge[glibc], a process without Mosaic: this proves the table
 * right) and against Mosaic (mosaic_* names, plain names linked to the .so or
 * the .a, and the glibc binary under mosaic-run).
 */
#include "common.h"

#define SM SIZE_MAX
#define PM ((size_t)PTRDIFF_MAX)
#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

enum op {
    OP_MALLOC,
    OP_CALLOC,           /* a = nmemb, b = size */
    OP_REALLOC_NULL,     /* realloc(NULL, a) */
    OP_REALLOC,          /* realloc(malloc(a), b) */
    OP_REALLOC_ALIGNED,  /* realloc(posix_memalign(c, a), b) */
    OP_REALLOCARRAY_NULL,/* reallocarray(NULL, a, b) */
    OP_REALLOCARRAY,     /* reallocarray(malloc(a), b, c) */
    OP_POSIX_MEMALIGN,   /* a = alignment, b = size */
    OP_ALIGNED_ALLOC,    /* a = alignment, b = size */
    OP_MEMALIGN,         /* a = alignment, b = size */
    OP_VALLOC,
    OP_PVALLOC,
};

enum expect {
    OK,      /* a usable block */
    NOMEM,   /* NULL / ENOMEM (posix_memalign: returns ENOMEM), input untouched */
    INVAL,   /* NULL / EINVAL (posix_memalign: returns EINVAL), output untouched */
    FREED,   /* realloc(p, 0): p freed, returns NULL, errno untouched */
};

struct tc {
    enum op op;
    size_t a, b, c;
    enum expect ex;
};

static const char *ex_name[] = {"OK", "NULL/ENOMEM", "EINVAL", "freed+NULL"};

static size_t page;

static void describe(const struct tc *t, char *buf, size_t n)
{
    switch (t->op) {
    case OP_MALLOC: snprintf(buf, n, "malloc(%zu)", t->a); break;
    case OP_CALLOC: snprintf(buf, n, "calloc(%zu, %zu)", t->a, t->b); break;
    case OP_REALLOC_NULL: snprintf(buf, n, "realloc(NULL, %zu)", t->a); break;
    case OP_REALLOC: snprintf(buf, n, "realloc(malloc(%zu), %zu)", t->a, t->b); break;
    case OP_REALLOC_ALIGNED:
        snprintf(buf, n, "realloc(posix_memalign(%zu, %zu), %zu)", t->c, t->a, t->b);
        break;
    case OP_REALLOCARRAY_NULL:
        snprintf(buf, n, "reallocarray(NULL, %zu, %zu)", t->a, t->b);
        break;
    case OP_REALLOCARRAY:
        snprintf(buf, n, "reallocarray(malloc(%zu), %zu, %zu)", t->a, t->b, t->c);
        break;
    case OP_POSIX_MEMALIGN: snprintf(buf, n, "posix_memalign(&p, %zu, %zu)", t->a, t->b); break;
    case OP_ALIGNED_ALLOC: snprintf(buf, n, "aligned_alloc(%zu, %zu)", t->a, t->b); break;
    case OP_MEMALIGN: snprintf(buf, n, "memalign(%zu, %zu)", t->a, t->b); break;
    case OP_VALLOC: snprintf(buf, n, "valloc(%zu)", t->a); break;
    case OP_PVALLOC: snprintf(buf, n, "pvalloc(%zu)", t->a); break;
    }
}

/* glibc 2.36 memalign/aligned_alloc: <= 16 acts like malloc, else the next
 * power of two. */
static size_t effective_align(size_t a)
{
    if (a <= 16)
        return 16;
    if (a > SIZE_MAX / 2 + 1)
        return 0; /* EINVAL */
    size_t p = 1;
    while (p < a)
        p <<= 1;
    return p;
}

/* ------------------------------------------------------------------ table */

#define MAXT 2048
static struct tc table[MAXT];
static int ntable;

static void add(enum op op, size_t a, size_t b, size_t c, enum expect ex)
{
    if (ntable >= MAXT)
        FATAL("table too small");
    table[ntable++] = (struct tc){op, a, b, c, ex};
}

/* Sizes no allocator can satisfy on x86-64 Linux (user space is 2^47). */
static const size_t impossible[] = {
    SM, SM - 1, SM - 7, SM - 15, SM - 16, SM - 31, SM - 4095, SM - 4096,
    SM - 4097, SM - 2 * MiB, SM - 64 * MiB, SM / 2 + 1, PM, PM - 4096, SM / 2 - 1,
    (size_t)1 << 62, (size_t)1 << 48, ((size_t)1 << 47) + 1, (size_t)1 << 47,
};
#define NIMP (sizeof impossible / sizeof impossible[0])

static void build_table(void)
{
    /* malloc */
    static const size_t ok_sizes[] = {
        0, 1, 7, 8, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128,
        129, 255, 256, 257, 1000, 1023, 1024, 1025, 4095, 4096, 4097, 8192,
        14 * KiB, 14 * KiB + 1, 16 * KiB, 16 * KiB + 1, 65535, 65536, 65537,
        MiB - 1, MiB, MiB + 1, 2 * MiB, 4 * MiB + 1, 32 * MiB, 64 * MiB,
    };
    for (size_t i = 0; i < sizeof ok_sizes / sizeof ok_sizes[0]; i++) {
        add(OP_MALLOC, ok_sizes[i], 0, 0, OK);
        add(OP_REALLOC_NULL, ok_sizes[i], 0, 0, OK);
        add(OP_VALLOC, ok_sizes[i], 0, 0, OK);
        add(OP_PVALLOC, ok_sizes[i], 0, 0, OK);
    }
    for (size_t i = 0; i < NIMP; i++) {
        size_t s = impossible[i];
        add(OP_MALLOC, s, 0, 0, NOMEM);
        add(OP_CALLOC, 1, s, 0, NOMEM);
        add(OP_CALLOC, s, 1, 0, NOMEM);
        add(OP_REALLOC_NULL, s, 0, 0, NOMEM);
        add(OP_REALLOC, 100, s, 0, NOMEM);
        add(OP_REALLOC, 20000, s, 0, NOMEM);
        add(OP_REALLOC, 8 * MiB, s, 0, NOMEM);
        add(OP_REALLOC_ALIGNED, 100, s, 4096, NOMEM);
        add(OP_REALLOCARRAY_NULL, 1, s, 0, NOMEM);
        add(OP_REALLOCARRAY, 100, s, 1, NOMEM);
        add(OP_REALLOCARRAY, 8 * MiB, 1, s, NOMEM);
        add(OP_POSIX_MEMALIGN, 8, s, 0, NOMEM);
        add(OP_POSIX_MEMALIGN, 64, s, 0, NOMEM);
        add(OP_POSIX_MEMALIGN, 4096, s, 0, NOMEM);
        add(OP_POSIX_MEMALIGN, 2 * MiB, s, 0, NOMEM);
        add(OP_ALIGNED_ALLOC, 16, s, 0, NOMEM);
        add(OP_ALIGNED_ALLOC, 64, s, 0, NOMEM);
        add(OP_ALIGNED_ALLOC, 4096, s, 0, NOMEM);
        add(OP_ALIGNED_ALLOC, 2 * MiB, s, 0, NOMEM);
        add(OP_MEMALIGN, 1, s, 0, NOMEM);
        add(OP_MEMALIGN, 32, s, 0, NOMEM);
        add(OP_MEMALIGN, 4096, s, 0, NOMEM);
        add(OP_MEMALIGN, 4 * MiB, s, 0, NOMEM);
        add(OP_MEMALIGN, 24, s, 0, NOMEM);
        add(OP_VALLOC, s, 0, 0, NOMEM);
        add(OP_PVALLOC, s, 0, 0, NOMEM);
    }

    /* calloc */
    static const size_t cal_ok[][2] = {
        {0, 0}, {0, 1}, {1, 0}, {0, SM}, {SM, 0}, {0, PM}, {1, 1}, {3, 5},
        {16, 16}, {1000, 1000}, {1, MiB}, {MiB, 8}, {4096, 4096}, {7, 4097},
        {1, 64 * MiB}, {2, 8 * MiB + 3},
    };
    for (size_t i = 0; i < sizeof cal_ok / sizeof cal_ok[0]; i++)
        add(OP_CALLOC, cal_ok[i][0], cal_ok[i][1], 0, OK);
    static const size_t cal_ovf[][2] = {
        {SM / 2 + 1, 2}, {2, SM / 2 + 1}, {(size_t)1 << 32, (size_t)1 << 32},
        {SM, SM}, {SM, 2}, {SM / 16 + 1, 16}, {3, SM / 3 + 1}, {65536, SM / 65536 + 1},
        {SM / 2, 2} /* no overflow, but SM - 1 bytes */, {SM / 2, 3}, {PM, PM},
        {(size_t)1 << 24, (size_t)1 << 40},
    };
    for (size_t i = 0; i < sizeof cal_ovf / sizeof cal_ovf[0]; i++)
        add(OP_CALLOC, cal_ovf[i][0], cal_ovf[i][1], 0, NOMEM);

    /* realloc */
    static const size_t re_ok[][2] = {
        {0, 1}, {1, 16}, {16, 17}, {17, 16}, {100, 50}, {100, 100}, {100, 200},
        {127, 129}, {1000, 14000}, {14000, 17000}, {17000, 1000}, {4096, MiB},
        {MiB, 4096}, {MiB, 8 * MiB}, {8 * MiB, 64 * MiB}, {64 * MiB, 8 * MiB},
        {8 * MiB, 100}, {3 * MiB, 3 * MiB + 1}, {32 * MiB, 32 * MiB - 4096},
        {1, 4 * MiB},
    };
    for (size_t i = 0; i < sizeof re_ok / sizeof re_ok[0]; i++)
        add(OP_REALLOC, re_ok[i][0], re_ok[i][1], 0, OK);
    static const size_t re_free[] = {0, 1, 100, 20000, MiB, 8 * MiB, 64 * MiB};
    for (size_t i = 0; i < sizeof re_free / sizeof re_free[0]; i++) {
        add(OP_REALLOC, re_free[i], 0, 0, FREED);
        add(OP_REALLOCARRAY, re_free[i], 0, 5, FREED);
        add(OP_REALLOCARRAY, re_free[i], 5, 0, FREED);
        add(OP_REALLOCARRAY, re_free[i], 0, SM, FREED);
    }
    add(OP_REALLOC_ALIGNED, 100, 5000, 4096, OK);
    add(OP_REALLOC_ALIGNED, 5000, 100, 4096, OK);
    add(OP_REALLOC_ALIGNED, 3 * MiB, 9 * MiB, 2 * MiB, OK);
    add(OP_REALLOC_ALIGNED, 100, 0, 64, FREED);
    add(OP_REALLOC_ALIGNED, 3 * MiB, 0, 2 * MiB, FREED);

    /* reallocarray */
    add(OP_REALLOCARRAY_NULL, 0, 0, 0, OK);
    add(OP_REALLOCARRAY_NULL, 10, 10, 0, OK);
    add(OP_REALLOCARRAY_NULL, 3, MiB, 0, OK);
    add(OP_REALLOCARRAY, 100, 2, 100, OK);
    add(OP_REALLOCARRAY, 100, 7, 3, OK);
    add(OP_REALLOCARRAY, 8 * MiB, 2, 8 * MiB, OK);
    static const size_t ra_ovf[][2] = {
        {SM / 2 + 1, 2}, {2, SM / 2 + 1}, {(size_t)1 << 32, (size_t)1 << 32},
        {SM, SM}, {SM / 8 + 1, 8}, {SM / 2, 2},
    };
    for (size_t i = 0; i < sizeof ra_ovf / sizeof ra_ovf[0]; i++) {
        add(OP_REALLOCARRAY_NULL, ra_ovf[i][0], ra_ovf[i][1], 0, NOMEM);
        add(OP_REALLOCARRAY, 100, ra_ovf[i][0], ra_ovf[i][1], NOMEM);
        add(OP_REALLOCARRAY, 20000, ra_ovf[i][0], ra_ovf[i][1], NOMEM);
        add(OP_REALLOCARRAY, 8 * MiB, ra_ovf[i][0], ra_ovf[i][1], NOMEM);
    }

    /* posix_memalign: alignment must be a power of two multiple of
     * sizeof(void *); EINVAL wins over any size. */
    static const size_t pm_bad[] = {
        0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 20, 24, 40, 48, 96, 100, 1000, 4095, 4097,
        3 * 4096, 24 * MiB, SM, SM - 7, SM / 2 + 2, SM / 2 + 9, (SM / 2 + 1) + 8,
        ((size_t)1 << 62) + ((size_t)1 << 61),
    };
    static const size_t pm_bad_sizes[] = {0, 1, 100, 5000, SM};
    for (size_t i = 0; i < sizeof pm_bad / sizeof pm_bad[0]; i++)
        for (size_t j = 0; j < sizeof pm_bad_sizes / sizeof pm_bad_sizes[0]; j++)
            add(OP_POSIX_MEMALIGN, pm_bad[i], pm_bad_sizes[j], 0, INVAL);
    static const size_t pm_ok[][2] = {
        {8, 0}, {8, 1}, {16, 0}, {16, 1}, {32, 1}, {64, 100}, {128, 129},
        {256, 4096}, {4096, 0}, {4096, 1}, {4096, 4097}, {8192, 100},
        {65536, 1}, {MiB, 1}, {2 * MiB, 1}, {2 * MiB, 3 * MiB},
        {4 * MiB, 5 * MiB}, {64 * MiB, 1},
    };
    for (size_t i = 0; i < sizeof pm_ok / sizeof pm_ok[0]; i++)
        add(OP_POSIX_MEMALIGN, pm_ok[i][0], pm_ok[i][1], 0, OK);
    add(OP_POSIX_MEMALIGN, SM / 2 + 1, 1, 0, NOMEM);
    add(OP_POSIX_MEMALIGN, (size_t)1 << 62, 1, 0, NOMEM);
    add(OP_POSIX_MEMALIGN, (size_t)1 << 48, 1, 0, NOMEM);

    /* memalign and aligned_alloc (the same function in glibc 2.36) */
    static const size_t ma_ok[][2] = {
        {0, 0}, {0, 1}, {1, 1}, {2, 5}, {3, 10}, {4, 0}, {7, 7}, {8, 8},
        {15, 1}, {16, 16}, {17, 100}, {24, 100}, {32, 0}, {48, 1}, {64, 64},
        {100, 1}, {1000, 1}, {4095, 100}, {4096, 0}, {4096, 1}, {4097, 1},
        {12288, 5000}, {65536, 65536}, {MiB + 1, 10}, {2 * MiB, 3 * MiB},
        {3 * MiB, 100}, {64 * MiB, 1}, {64, 100}, {256, 1000},
    };
    for (size_t i = 0; i < sizeof ma_ok / sizeof ma_ok[0]; i++) {
        add(OP_MEMALIGN, ma_ok[i][0], ma_ok[i][1], 0, OK);
        add(OP_ALIGNED_ALLOC, ma_ok[i][0], ma_ok[i][1], 0, OK);
    }
    static const size_t ma_inval[] = {SM / 2 + 2, SM / 2 + 3, SM - 1, SM,
                                      (SM / 2 + 1) + ((size_t)1 << 62)};
    static const size_t ma_inval_sizes[] = {0, 1, 4096, SM};
    for (size_t i = 0; i < sizeof ma_inval / sizeof ma_inval[0]; i++)
        for (size_t j = 0; j < sizeof ma_inval_sizes / sizeof ma_inval_sizes[0]; j++) {
            add(OP_MEMALIGN, ma_inval[i], ma_inval_sizes[j], 0, INVAL);
            add(OP_ALIGNED_ALLOC, ma_inval[i], ma_inval_sizes[j], 0, INVAL);
        }
    static const size_t ma_nomem[][2] = {
        {SM / 2 + 1, 1}, {SM / 2 + 1, 0}, {(size_t)1 << 62, 1},
        {((size_t)1 << 61) + 1, 1} /* rounds to 2^62 */, {(size_t)1 << 48, 1},
        {(size_t)1 << 47, 1},
    };
    for (size_t i = 0; i < sizeof ma_nomem / sizeof ma_nomem[0]; i++) {
        add(OP_MEMALIGN, ma_nomem[i][0], ma_nomem[i][1], 0, NOMEM);
        add(OP_ALIGNED_ALLOC, ma_nomem[i][0], ma_nomem[i][1], 0, NOMEM);
    }
}

/* ------------------------------------------------------------------ running */

static int is_aligned_op(enum op op)
{
    return op == OP_POSIX_MEMALIGN || op == OP_ALIGNED_ALLOC ||
           op == OP_MEMALIGN || op == OP_VALLOC || op == OP_PVALLOC;
}

/* Checks a block the table says must be usable: alignment, usable size,
 * writable, zeroed for calloc. */
static void check_block(const char *what, void *p, size_t size, size_t align,
                        int zeroed)
{
    CHECK(((uintptr_t)p & (align - 1)) == 0, "%s = %p: not aligned to %zu", what,
          p, align);
    size_t us = M(malloc_usable_size)(p);
    CHECK(us >= size, "%s: malloc_usable_size %zu < requested %zu", what, us, size);
    if (zeroed) {
        const unsigned char *c = p;
        size_t i = t_first_nonzero(p, size);
        if (i != (size_t)-1)
            t_fail_at(__FILE__, __LINE__, "%s: byte %zu of calloc block is 0x%02x", what, i,
                      c[i]);
    }
    if (us >= size && us < ((size_t)1 << 40))
        memset(p, 0x5a, us);
}

static void run_case(int idx, const struct tc *t)
{
    char what[160];
    describe(t, what, sizeof what);
    void *old = NULL, *r = NULL;
    size_t oldsize = 0;
    uint64_t tag = 0x1234567 + (uint64_t)idx;
    int rc = 0, is_pm = t->op == OP_POSIX_MEMALIGN;

    /* set up the input block */
    if (t->op == OP_REALLOC || t->op == OP_REALLOCARRAY) {
        oldsize = t->a;
        old = M(malloc)(oldsize);
        REQUIRE(old, "%s: setup malloc(%zu) failed", what, oldsize);
    } else if (t->op == OP_REALLOC_ALIGNED) {
        oldsize = t->a;
        int e = M(posix_memalign)(&old, t->c, oldsize);
        REQUIRE(e == 0 && old, "%s: setup posix_memalign failed", what);
    }
    if (old)
        t_fill(old, tag, oldsize);

    const int errno_before = 4242;
    void *const sentinel = (void *)(uintptr_t)0xdeadbeef0;
    void *out = sentinel;
    errno = errno_before;
    switch (t->op) {
    case OP_MALLOC: r = M(malloc)(t->a); break;
    case OP_CALLOC: r = M(calloc)(t->a, t->b); break;
    case OP_REALLOC_NULL: r = M(realloc)(NULL, t->a); break;
    case OP_REALLOC:
    case OP_REALLOC_ALIGNED: r = M(realloc)(old, t->b); break;
    case OP_REALLOCARRAY_NULL: r = M(reallocarray)(NULL, t->a, t->b); break;
    case OP_REALLOCARRAY: r = M(reallocarray)(old, t->b, t->c); break;
    case OP_POSIX_MEMALIGN:
        rc = M(posix_memalign)(&out, t->a, t->b);
        r = rc == 0 ? out : NULL;
        break;
    case OP_ALIGNED_ALLOC: r = M(aligned_alloc)(t->a, t->b); break;
    case OP_MEMALIGN: r = M(memalign)(t->a, t->b); break;
    case OP_VALLOC: r = M(valloc)(t->a); break;
    case OP_PVALLOC: r = M(pvalloc)(t->a); break;
    }
    int err = errno;

    /* requested size and alignment, for OK results */
    size_t size = t->a, align = 16;
    int zeroed = 0;
    switch (t->op) {
    case OP_CALLOC: size = t->a * t->b; zeroed = 1; break;
    case OP_REALLOC: case OP_REALLOC_ALIGNED: size = t->b; break;
    case OP_REALLOCARRAY_NULL: size = t->a * t->b; break;
    case OP_REALLOCARRAY: size = t->b * t->c; break;
    case OP_POSIX_MEMALIGN: size = t->b; align = t->a < 16 ? 16 : t->a; break;
    case OP_ALIGNED_ALLOC: case OP_MEMALIGN: size = t->b; align = effective_align(t->a); break;
    case OP_VALLOC: case OP_PVALLOC: align = page; break;
    default: break;
    }

    switch (t->ex) {
    case OK:
        if (is_pm)
            CHECK(rc == 0, "%s returned %d (%s), expected 0", what, rc, strerror(rc));
        CHECK(r != NULL, "%s returned NULL (errno %d %s), expected a block", what,
              err, strerror(err));
        if (!r)
            break;
        if (old) {
            size_t keep = oldsize < size ? oldsize : size;
            size_t bad = t_check(r, tag, oldsize, keep);
            CHECK(bad == (size_t)-1, "%s: content not preserved at offset %zu", what, bad);
        }
        check_block(what, r, size, align, zeroed);
        if (t->op == OP_PVALLOC) {
            /* pvalloc rounds up to the page size */
            size_t us = M(malloc_usable_size)(r);
            size_t want = (size + page - 1) & ~(page - 1);
            CHECK(us >= want, "%s: usable size %zu < page-rounded %zu", what, us, want);
        }
        /* free it, alternating plain and sized frees */
        if (idx & 1) {
            if (t->op == OP_ALIGNED_ALLOC)
                M(free_aligned_sized)(r, t->a, size);
            else if (!is_aligned_op(t->op) && t->op != OP_REALLOC_ALIGNED)
                M(free_sized)(r, size);
            else
                M(free)(r);
        } else {
            M(free)(r);
        }
        break;
    case NOMEM:
    case INVAL: {
        int want = t->ex == NOMEM ? ENOMEM : EINVAL;
        if (is_pm) {
            CHECK(rc == want, "%s returned %d (%s), expected %s", what, rc,
                  rc == 0 ? "success" : strerror(rc), ex_name[t->ex]);
            CHECK(out == sentinel, "%s: failed but changed *memptr to %p", what, out);
        } else {
            CHECK(r == NULL, "%s returned %p, expected %s", what, r, ex_name[t->ex]);
            CHECK(err == want, "%s: errno %d (%s), expected %d (%s)", what, err,
                  strerror(err), want, strerror(want));
        }
        if (r && r != old) {
            if (r != sentinel)
                M(free)(r);
        }
        if (old) {
            if (r == NULL) {
                /* the original block must be untouched and still usable */
                size_t bad = t_check(old, tag, oldsize, oldsize);
                CHECK(bad == (size_t)-1, "%s failed but corrupted the original at %zu",
                      what, bad);
                CHECK(M(malloc_usable_size)(old) >= oldsize,
                      "%s failed but the original shrank", what);
                M(free)(old);
            }
        }
        break;
    }
    case FREED:
        CHECK(r == NULL, "%s returned %p, expected NULL (block freed)", what, r);
        CHECK(err == errno_before, "%s changed errno to %d (%s)", what, err, strerror(err));
        if (r)
            M(free)(r);
        break;
    }
}

/* ------------------------------------------------------------------ extra checks */

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* malloc(0) and friends give unique, non-NULL, freeable pointers. */
static void zero_size_unique(void)
{
    enum { N = 300 };
    static void *p[4 * N];
    int n = 0;
    for (int i = 0; i < N; i++) {
        p[n++] = M(malloc)(0);
        p[n++] = M(realloc)(NULL, 0);
        p[n++] = M(calloc)(0, 0);
        p[n++] = M(reallocarray)(NULL, 0, 7);
    }
    for (int i = 0; i < n; i++) {
        CHECK(p[i] != NULL, "zero-size allocation #%d returned NULL", i);
        CHECK(((uintptr_t)p[i] & 15) == 0, "zero-size allocation %p not 16-aligned", p[i]);
    }
    qsort(p, n, sizeof p[0], cmp_ptr);
    for (int i = 1; i < n; i++)
        CHECK(p[i] == NULL || p[i] != p[i - 1], "zero-size allocations share %p", p[i]);
    for (int i = 0; i < n; i++)
        M(free)(p[i]);
}

static void null_frees(void)
{
    errno = 777;
    M(free)(NULL);
    M(free_sized)(NULL, 0);
    M(free_sized)(NULL, 100);
    M(free_aligned_sized)(NULL, 64, 128);
    CHECK(errno == 777, "free(NULL) and friends changed errno to %d", errno);
    CHECK(M(malloc_usable_size)(NULL) == 0, "malloc_usable_size(NULL) = %zu, expected 0",
          M(malloc_usable_size)(NULL));
}

/* free keeps errno (glibc >= 2.33, POSIX 2024), for all kinds of blocks. */
static void free_keeps_errno(void)
{
    static const size_t sizes[] = {1, 16, 100, 4096, 20000, MiB, 8 * MiB, 64 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int k = 0; k < 3; k++) {
            void *p = k == 2 ? M(aligned_alloc)(4096, sizes[i]) : M(malloc)(sizes[i]);
            REQUIRE(p, "malloc(%zu) failed", sizes[i]);
            memset(p, 1, sizes[i]);
            errno = 31337;
            if (k == 0)
                M(free)(p);
            else if (k == 1)
                M(free_sized)(p, sizes[i]);
            else
                M(free_aligned_sized)(p, 4096, sizes[i]);
            CHECK(errno == 31337, "free variant %d of a %zu-byte block changed errno to %d",
                  k, sizes[i], errno);
        }
    }
}

/* calloc returns zeroes even where dirty memory was just freed. */
static void calloc_after_dirty(void)
{
    static const size_t sizes[] = {16, 24, 100, 1000, 4096, 14000, 20000, 65536,
                                   200000, MiB, 3 * MiB, 16 * MiB, 40 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        for (int round = 0; round < 6; round++) {
            void *ps[8];
            for (int k = 0; k < 8; k++) {
                ps[k] = M(malloc)(s);
                REQUIRE(ps[k], "malloc(%zu) failed", s);
                memset(ps[k], 0xa5, M(malloc_usable_size)(ps[k]));
            }
            for (int k = 0; k < 8; k++)
                M(free)(ps[k]);
            for (int k = 0; k < 8; k++) {
                size_t n = round & 1 ? 1 : (s >= 8 ? 8 : 1), m = s / n;
                unsigned char *c = M(calloc)(n, m);
                REQUIRE(c, "calloc(%zu, %zu) failed", n, m);
                size_t j = t_first_nonzero(c, n * m);
                if (j != (size_t)-1)
                    t_fail_at(__FILE__, __LINE__,
                              "calloc(%zu, %zu) after freeing dirty blocks: byte %zu = 0x%02x",
                              n, m, j, c[j]);
                ps[k] = c;
            }
            for (int k = 0; k < 8; k++)
                M(free)(ps[k]);
        }
    }
    /* calloc after huge blocks were dirtied, shrunk in place or moved and freed */
    for (int round = 0; round < 2; round++) {
        size_t s = (size_t)(34 + round * 9) * MiB;
        unsigned char *p = M(malloc)(s);
        REQUIRE(p, "malloc(%zu) failed", s);
        memset(p, 0x77, s);
        p = M(realloc)(p, s / 2 + 12345);
        REQUIRE(p, "realloc shrink failed");
        unsigned char *q = M(malloc)(s / 3);
        REQUIRE(q, "malloc failed");
        memset(q, 0x66, s / 3);
        M(free)(p);
        M(free)(q);
        unsigned char *c = M(calloc)(1, s);
        REQUIRE(c, "calloc(1, %zu) failed", s);
        size_t j = t_first_nonzero(c, s);
        if (j != (size_t)-1)
            t_fail_at(__FILE__, __LINE__, "calloc(1, %zu) after huge dirty blocks: byte %zu "
                      "not zero", s, j);
        M(free)(c);
    }
    /* calloc of a block whose tail was dirtied before a shrinking realloc */
    for (int round = 0; round < 50; round++) {
        size_t s = 64 + (size_t)round * 397;
        unsigned char *p = M(malloc)(s * 4);
        REQUIRE(p, "malloc failed");
        memset(p, 0xee, s * 4);
        p = M(realloc)(p, s);
        REQUIRE(p, "realloc shrink failed");
        unsigned char *q = M(calloc)(1, s * 2);
        REQUIRE(q, "calloc failed");
        size_t j = t_first_nonzero(q, s * 2);
        if (j != (size_t)-1)
            t_fail_at(__FILE__, __LINE__, "calloc(1, %zu) byte %zu = 0x%02x", s * 2, j, q[j]);
        M(free)(p);
        M(free)(q);
    }
}

/* Every block is 16-byte aligned, whatever its size. */
static void sixteen_aligned(void)
{
    enum { N = 4096 };
    static void *p[N];
    for (size_t s = 0; s < N; s++) {
        p[s] = M(malloc)(s);
        REQUIRE(p[s], "malloc(%zu) failed", s);
        CHECK(((uintptr_t)p[s] & 15) == 0, "malloc(%zu) = %p not 16-aligned", s, p[s]);
        CHECK(M(malloc_usable_size)(p[s]) >= s, "malloc_usable_size(malloc(%zu)) = %zu", s,
              M(malloc_usable_size)(p[s]));
    }
    for (size_t s = 0; s < N; s++) {
        p[s] = M(realloc)(p[s], s * 3 + 1);
        REQUIRE(p[s], "realloc failed");
        CHECK(((uintptr_t)p[s] & 15) == 0, "realloc(.., %zu) = %p not 16-aligned",
              s * 3 + 1, p[s]);
    }
    for (size_t s = 0; s < N; s++)
        M(free_sized)(p[s], s * 3 + 1);
    for (size_t s = 1; s <= 64 * MiB; s = s * 2 + (s & 1 ? 0 : 1)) {
        void *q = M(calloc)(1, s);
        REQUIRE(q, "calloc(1, %zu) failed", s);
        CHECK(((uintptr_t)q & 15) == 0, "calloc(1, %zu) = %p not 16-aligned", s, q);
        M(free)(q);
    }
}

/* realloc to a size the block already holds (its usable size, or the size
 * it was asked with) keeps the block where it is: glibc does, and Mosaic
 * resizes within a size class in place (docs/ARCHITECTURE.md, "Realloc"). */
static void realloc_same_class(void)
{
    static const size_t sizes[] = {1, 24, 100, 1000, 5000, 14000, 20000, 100000, MiB, 8 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        unsigned char *p = M(malloc)(s);
        REQUIRE(p, "malloc(%zu) failed", s);
        size_t us = M(malloc_usable_size)(p);
        memset(p, 0x6b, us);
        unsigned char *q = M(realloc)(p, us);
        CHECK(q == p, "realloc(malloc(%zu), %zu) moved the block (%p -> %p)", s, us, (void *)p,
              (void *)q);
        if (!q)
            continue;
        unsigned char *r = M(realloc)(q, s);
        CHECK(r == q, "realloc(p, %zu) of a block of usable size %zu moved it", s, us);
        if (!r)
            continue;
        CHECK(r[0] == 0x6b && r[s - 1] == 0x6b, "realloc(p, %zu): content lost", s);
        M(free)(r);
    }
}

/* glibc's __libc_* names must reach Mosaic too when Mosaic owns malloc. */
static void libc_names(void)
{
#ifndef T_PREFIX
    const char *expect = getenv("MOSAIC_TEST_EXPECT");
#ifdef T_GLIBC
    if (!expect || strcmp(expect, "mosaic") != 0)
        return; /* glibc's own are fine */
#else
    if (expect && strcmp(expect, "glibc") == 0)
        return;
#endif
    static const char *names[] = {"__libc_malloc", "__libc_free", "__libc_calloc",
                                  "__libc_realloc", "__libc_memalign", "__libc_valloc",
                                  "__libc_pvalloc"};
    void *f[7];
    for (int i = 0; i < 7; i++) {
        f[i] = dlsym(RTLD_DEFAULT, names[i]);
        Dl_info info;
        const char *mod = "?";
        if (f[i] && dladdr(f[i], &info) && info.dli_fname)
            mod = info.dli_fname;
        CHECK(f[i] && !strstr(mod, "libc.so"),
              "%s resolves to %s, not to Mosaic (glibc's allocator would get Mosaic pointers)",
              names[i], f[i] ? mod : "nothing");
    }
    for (int i = 0; i < 7; i++) {
        Dl_info info;
        if (!f[i] || !dladdr(f[i], &info) || strstr(info.dli_fname, "libc.so"))
            return; /* reported above; calling glibc's would crash */
    }
    void *(*lmalloc)(size_t) = (void *(*)(size_t))f[0];
    void (*lfree)(void *) = (void (*)(void *))f[1];
    void *(*lcalloc)(size_t, size_t) = (void *(*)(size_t, size_t))f[2];
    void *(*lrealloc)(void *, size_t) = (void *(*)(void *, size_t))f[3];
    void *(*lmemalign)(size_t, size_t) = (void *(*)(size_t, size_t))f[4];
    void *(*lvalloc)(size_t) = (void *(*)(size_t))f[5];
    void *(*lpvalloc)(size_t) = (void *(*)(size_t))f[6];
    void *a = lmalloc(100), *b = malloc(200), *c = lcalloc(10, 10);
    REQUIRE(a && b && c, "__libc_malloc/calloc failed");
    CHECK(malloc_usable_size(a) >= 100, "malloc_usable_size(__libc_malloc(100)) = %zu",
          malloc_usable_size(a));
    for (int i = 0; i < 100; i++)
        CHECK(((unsigned char *)c)[i] == 0, "__libc_calloc not zeroed");
    a = lrealloc(a, 5000);
    REQUIRE(a, "__libc_realloc failed");
    lfree(b);
    free(a);
    void *d = lmemalign(4096, 10), *e = lvalloc(10), *g = lpvalloc(10);
    REQUIRE(d && e && g, "__libc_memalign/valloc/pvalloc failed");
    CHECK(((uintptr_t)d & 4095) == 0 && ((uintptr_t)e & (page - 1)) == 0 &&
              ((uintptr_t)g & (page - 1)) == 0,
          "__libc_memalign/valloc/pvalloc misaligned");
    free(d);
    lfree(e);
    free(g);
    lfree(c);
#endif
}

int main(int argc, char **argv)
{
    (void)argc;
    t_name = argv[0];
    const char *slash = strrchr(t_name, '/');
    if (slash)
        t_name = slash + 1;
    page = (size_t)sysconf(_SC_PAGESIZE);
    t_check_allocator();
    build_table();
    for (int i = 0; i < ntable; i++)
        run_case(i, &table[i]);
    printf("%s: %d table rows run\n", t_name, ntable);
    zero_size_unique();
    null_frees();
    free_keeps_errno();
    calloc_after_dirty();
    sixteen_aligned();
    realloc_same_class();
    libc_names();
    return t_finish();
}
