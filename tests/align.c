/*
 * align.c -- every power-of-two alignment from 1 B to 4 MiB through
 * posix_memalign, aligned_alloc and memalign, at sizes around the size-class
 * boundaries (probed with malloc_usable_size) and powers of two up to a few
 * MiB. Each block: aligned, malloc_usable_size >= request, the whole usable
 * size writable; all blocks of a round live at once and pattern-checked, so
 * overlapping blocks are caught.
 */
#include "common.h"

#define MAXS 400
static size_t sizes[MAXS];
static int nsizes;

static void add_size(size_t s)
{
    for (int i = 0; i < nsizes; i++)
        if (sizes[i] == s)
            return;
    if (nsizes < MAXS)
        sizes[nsizes++] = s;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Sizes around the class boundaries: where malloc_usable_size steps. */
static void probe_sizes(void)
{
    int nb = 0;
    size_t s = 1, last = 1;
    while (s <= 64 * 1024 && nb < 120) {
        void *p = M(malloc)(s);
        REQUIRE(p, "malloc(%zu) failed", s);
        size_t u = M(malloc_usable_size)(p);
        CHECK(u >= s, "malloc_usable_size(malloc(%zu)) = %zu", s, u);
        M(free)(p);
        if (u < s)
            u = s;
        /* every boundary up to 256 B, then those >= 1/8 apart (glibc has
         * one every 16 bytes; Mosaic about four per power of two) */
        if (u <= 256 || u >= last + last / 8) {
            add_size(u - 1);
            add_size(u);
            add_size(u + 1);
            nb++;
            last = u;
        }
        s = u + 1;
    }
    printf("%s: %d class boundaries probed up to %zu\n", t_name, nb, s - 1);
    static const size_t fixed[] = {0, 1, 15, 16, 17, 127, 128, 129};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        add_size(fixed[i]);
    for (size_t p = 256; p <= ((size_t)4 << 20); p <<= 1) {
        add_size(p - 1);
        add_size(p);
        add_size(p + 1);
        add_size(p + p / 2);
    }
    qsort(sizes, nsizes, sizeof sizes[0], cmp_size);
}

enum fn { F_POSIX_MEMALIGN, F_ALIGNED_ALLOC, F_MEMALIGN, F_MALLOC, NFN };
static const char *fn_name[] = {"posix_memalign", "aligned_alloc", "memalign", "malloc"};

static void *blocks[MAXS];
static size_t usable[MAXS];

static void round_of(enum fn f, size_t align, uint64_t seed)
{
    size_t want = align < 16 ? 16 : align;
    for (int i = 0; i < nsizes; i++) {
        size_t s = sizes[i];
        void *p = NULL;
        switch (f) {
        case F_POSIX_MEMALIGN: {
            void *out = (void *)(uintptr_t)0x4321;
            int e = M(posix_memalign)(&out, align, s);
            if (align < sizeof(void *)) {
                CHECK(e == EINVAL && out == (void *)(uintptr_t)0x4321,
                      "posix_memalign(&p, %zu, %zu) = %d, expected EINVAL, output untouched",
                      align, s, e);
                if (e == 0)
                    M(free)(out);
                blocks[i] = NULL;
                continue;
            }
            CHECK(e == 0, "posix_memalign(&p, %zu, %zu) = %d (%s)", align, s, e, strerror(e));
            p = e == 0 ? out : NULL;
            break;
        }
        case F_ALIGNED_ALLOC: p = M(aligned_alloc)(align, s); break;
        case F_MEMALIGN: p = M(memalign)(align, s); break;
        case F_MALLOC: p = M(malloc)(s); break;
        default: break;
        }
        blocks[i] = p;
        if (!p) {
            t_fail_at(__FILE__, __LINE__, "%s(%zu, %zu) returned NULL (errno %s)",
                      fn_name[f], align, s, strerror(errno));
            continue;
        }
        CHECK(((uintptr_t)p & (want - 1)) == 0, "%s(%zu, %zu) = %p: not %zu-aligned",
              fn_name[f], align, s, p, want);
        size_t u = M(malloc_usable_size)(p);
        usable[i] = u;
        CHECK(u >= s, "%s(%zu, %zu): malloc_usable_size %zu < request", fn_name[f], align,
              s, u);
        if (u < s)
            usable[i] = u = s; /* the request itself must be writable */
        memset(p, 0xc3, u); /* the whole usable size is writable */
        t_fill(p, seed ^ (uintptr_t)p, u);
    }
    for (int i = 0; i < nsizes; i++) {
        void *p = blocks[i];
        if (!p)
            continue;
        size_t bad = t_check(p, seed ^ (uintptr_t)p, usable[i], usable[i]);
        CHECK(bad == (size_t)-1,
              "%s(%zu, %zu) = %p: byte %zu of %zu usable overwritten (overlapping blocks?)",
              fn_name[f], align, sizes[i], p, bad, usable[i]);
        if (f == F_ALIGNED_ALLOC)
            M(free_aligned_sized)(p, align, sizes[i]);
        else if (f == F_MALLOC)
            M(free_sized)(p, sizes[i]);
        else
            M(free)(p);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    t_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    t_check_allocator();
    uint64_t seed = t_seed();
    printf("%s: seed %#" PRIx64 "\n", t_name, seed);
    probe_sizes();
    printf("%s: %d sizes from %zu to %zu\n", t_name, nsizes, sizes[0], sizes[nsizes - 1]);
    int rounds = 0;
    for (size_t align = 1; align <= ((size_t)4 << 20); align <<= 1)
        for (int f = 0; f < NFN; f++) {
            if (f == F_MALLOC && align != 1)
                continue;
            round_of((enum fn)f, align, seed + (uint64_t)rounds);
            rounds++;
        }
    printf("%s: %d rounds of %d blocks\n", t_name, rounds, nsizes);
    return t_finish();
}
