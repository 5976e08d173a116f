#include "sizeclass.h"

size_t sc_size[SC_NSIZES];
uint8_t sc_lookup[SC_LOOKUP_MAX / SC_QUANTUM + 1];
sc_slab_t sc_slab[SC_NSMALL];

static size_t sc_index2size_compute(unsigned i) {
    if (i < 8) return (size_t)(i + 1) * 16;
    unsigned g = (i - 8) / 4, k = (i - 8) % 4, lg = 7 + g;
    return ((size_t)1 << lg) + (size_t)(k + 1) * ((size_t)1 << (lg - 2));
}

/* Slab size: the page count between the minimum and twice that which wastes
 * the least tail, capped by the bitmap's SC_SLAB_MAXREGS. The minimum is room
 * for 4 regions and at least 8 KiB; for the classes whose SC_SLAB_MAXREGS
 * regions fit in 32 KiB (up to 64 B), all of them, so that emptying and
 * re-carving slabs (a structure of tiny blocks freed and rebuilt) costs the
 * page allocator once per 512 blocks. Larger classes keep small slabs, which
 * empty more easily when their blocks are freed at random. */
static void sc_slab_choose(unsigned i) {
    size_t size = sc_size[i];
    size_t min_bytes = size * 4 > 8192 ? size * 4 : 8192;
    if (size * SC_SLAB_MAXREGS <= 32768) min_bytes = size * SC_SLAB_MAXREGS;
    size_t pmin = ALIGN_UP(min_bytes, OS_PAGE) / OS_PAGE;
    size_t best_p = pmin, best_waste = (size_t)-1;
    for (size_t p = pmin; p <= pmin * 2; p++) {
        size_t bytes = p * OS_PAGE, regs = bytes / size;
        if (regs > SC_SLAB_MAXREGS) break;
        size_t waste = bytes - regs * size;
        /* compare waste fractions: waste/bytes */
        if (best_waste == (size_t)-1 || waste * (best_p * OS_PAGE) < best_waste * bytes) {
            best_waste = waste;
            best_p = p;
        }
    }
    size_t regs = best_p * OS_PAGE / size;
    if (regs > SC_SLAB_MAXREGS) regs = SC_SLAB_MAXREGS;
    sc_slab[i].slab_pages = (uint32_t)best_p;
    sc_slab[i].nregs = (uint32_t)regs;
    sc_slab[i].divc = UINT64_MAX / size + 1;
}

void sc_init(void) {
    for (unsigned i = 0; i < SC_NSIZES; i++) sc_size[i] = sc_index2size_compute(i);
    for (size_t s = 0; s <= SC_LOOKUP_MAX; s += SC_QUANTUM)
        sc_lookup[s / SC_QUANTUM] = (uint8_t)sc_size2index_compute(s);
    for (unsigned i = 0; i < SC_NSMALL; i++) sc_slab_choose(i);
}
