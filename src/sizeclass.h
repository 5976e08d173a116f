/*
 * sizeclass -- size <-> class index, computed once at init.
 * Classes: 16..128 by 16, then 4 per power of two (160, 192, 224, 256, 320,
 * ...) up to 7 * 2^60. Classes up to SC_SMALL_MAX (14 KiB) are small (slab
 * backed); larger ones are page multiples (large). Every class is a multiple
 * of 16, so every block is 16-byte aligned. Page-count classes ("psz") use
 * the same 4-per-doubling shape in units of pages, for free-extent lists.
 * Invariant: tables are written once during init, read-only afterwards.
 */
#ifndef MOSAIC_SIZECLASS_H
#define MOSAIC_SIZECLASS_H
#include "os.h"
#include <stddef.h>
#include <stdint.h>

#define SC_QUANTUM 16
#define SC_NSMALL 35
#define SC_SMALL_MAX ((size_t)14336)
#define SC_NSIZES 231
#define SC_LARGE_MAX ((size_t)7 << 60)
#define SC_LOOKUP_MAX ((size_t)4096)
#define SC_SLAB_MAXREGS 512
#define SC_NPSZ 140 /* page-count classes up to 2^35 pages (2^47 bytes) */

typedef struct {
    uint32_t slab_pages; /* pages per slab */
    uint32_t nregs;      /* regions per slab */
    uint64_t divc;       /* ceil(2^64 / size): see sc_slab_div */
} sc_slab_t;

extern size_t sc_size[SC_NSIZES];
extern uint8_t sc_lookup[SC_LOOKUP_MAX / SC_QUANTUM + 1];
extern sc_slab_t sc_slab[SC_NSMALL];

/* Region index of byte offset off (< 2^32) in a slab, and whether off is
 * a region start. One 64x64->128 multiply gives both: its high half is
 * off / size, and its low half is below divc exactly when size divides off
 * (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019).
 * sc_slab_div returns the quotient and stores whether off is a region start
 * in *exact, from the one multiply. */
static inline uint64_t sc_slab_div(uint64_t divc, uint64_t off, bool *exact) {
    uint64_t hi;
    *exact = os_mul_wide(off, divc, &hi) < divc; /* off in rax: divc stays put in a loop */
    return hi;
}

void sc_init(void);

static inline unsigned sc_lg_floor(size_t x) { return 63u - (unsigned)__builtin_clzll(x); }

/* Smallest class >= size, for 0 < size <= SC_LARGE_MAX (0 maps to class 0). */
static inline unsigned sc_size2index_compute(size_t size) {
    if (size <= 128) return size ? (unsigned)((size + 15) >> 4) - 1 : 0;
    unsigned lg = sc_lg_floor(size - 1);
    unsigned k = (unsigned)(((size - 1) >> (lg - 2)) & 3);
    return 8 + (lg - 7) * 4 + k;
}

/* Class index for size; SC_NSIZES when size exceeds the largest class. */
static inline unsigned sc_size2index(size_t size) {
    if (likely(size <= SC_LOOKUP_MAX)) return sc_lookup[(size + 15) >> 4];
    if (unlikely(size > SC_LARGE_MAX)) return SC_NSIZES;
    return sc_size2index_compute(size);
}

/* Usable size for a request; 0 when too large. */
static inline size_t sc_s2u(size_t size) {
    unsigned i = sc_size2index(size);
    return i < SC_NSIZES ? sc_size[i] : 0;
}

/* Usable size of a request with an alignment (power of two); 0 when too
 * large. Small classes qualify only when the class size is a multiple of the
 * alignment (regions sit at multiples of the size from a page boundary). */
static inline size_t sc_sa2u(size_t size, size_t align) {
    if (align <= SC_QUANTUM) return sc_s2u(size);
    if (size > SC_LARGE_MAX || align > ((size_t)1 << 62)) return 0;
    if (align <= OS_PAGE) {
        size_t s = ALIGN_UP(size ? size : 1, align);
        unsigned i = sc_size2index(s);
        while (i < SC_NSMALL && (sc_size[i] & (align - 1))) i++;
        if (i < SC_NSMALL) return sc_size[i];
    }
    /* Large: page-aligned extents, over-allocated and trimmed for bigger
     * alignments. */
    size_t s = size < SC_SMALL_MAX + 1 ? SC_SMALL_MAX + 1 : size;
    return sc_s2u(s);
}

/* Page-count classes: ceil and floor index of n pages (n >= 1). */
static inline unsigned sc_psz_ceil(size_t n) {
    if (n <= 4) return (unsigned)n - 1;
    unsigned lg = sc_lg_floor(n - 1);
    unsigned k = (unsigned)(((n - 1) >> (lg - 2)) & 3);
    unsigned i = 4 + (lg - 2) * 4 + k;
    return i < SC_NPSZ ? i : SC_NPSZ - 1;
}
static inline size_t sc_psz_pages(unsigned i) {
    if (i < 4) return i + 1;
    unsigned g = (i - 4) / 4, k = (i - 4) % 4, lg = 2 + g;
    return ((size_t)1 << lg) + (size_t)(k + 1) * ((size_t)1 << (lg - 2));
}
static inline unsigned sc_psz_floor(size_t n) {
    unsigned i = sc_psz_ceil(n);
    return sc_psz_pages(i) > n ? i - 1 : i;
}
#endif
