/*
 * slab -- one slab is an extent holding equal-size regions, tracked by the
 * out-of-band bitmap in its extent record (1 = free). Regions are handed
 * out lowest address first (a scan of at most 8 words). No state of its own: every call is made with
 * the owning bin's lock held.
 */
#ifndef MOSAIC_SLAB_H
#define MOSAIC_SLAB_H
#include "extent.h"
#include "os.h"
#include "sizeclass.h"
#include <string.h>

/* Writes the m addresses r, r + size, ... downwards from top (r at top[-1]);
 * returns the new top. Four a step, two to a vector (the compiler's
 * portable vector extension: SSE2 on x86-64): a slab's fresh words are
 * handed out this way, so it is the fill's common case. */
typedef uint64_t slab_v2 __attribute__((vector_size(16)));
static inline void **slab_stride(void **top, uintptr_t r, size_t size, unsigned m) {
    if (m >= 4) {
        slab_v2 hi = {r + size, r}, lo = {r + 3 * size, r + 2 * size}; /* memory order */
        const slab_v2 step = {4 * size, 4 * size};
        for (; m >= 4; m -= 4, top -= 4, r += 4 * size) {
            memcpy(top - 2, &hi, sizeof hi);
            memcpy(top - 4, &lo, sizeof lo);
            hi += step;
            lo += step;
        }
    }
    for (; m; m--, r += size) *--top = (void *)r;
    return top;
}

/* Takes up to n free regions into the top of out[0..n), lowest address at
 * out[n-1]; returns how many (they occupy out[n-got..n)). One pass over the
 * bitmap words. A word whose free bits are one run (a fresh slab's, or the
 * rest of one a fill began) is handed out as a stride, without a count per
 * region. */
static inline __attribute__((always_inline)) unsigned slab_alloc_batch(extent_t *s, size_t size, void **out, unsigned n) {
    unsigned want = n < s->nfree ? n : s->nfree, left = want;
    void **top = out + n; /* filled downwards */
    uintptr_t wbase = s->addr;
    for (uint64_t *w = s->bitmap; left; w++, wbase += 64 * size) {
        uint64_t bits = *w;
        if (!bits) continue;
        unsigned lo = (unsigned)__builtin_ctzll(bits);
        uint64_t x = bits >> lo; /* the free bits from the lowest */
        if (!(x & (x + 1))) { /* one run: bits lo .. lo + len - 1 */
            unsigned len = 64 - (unsigned)__builtin_clzll(x), m = len < left ? len : left;
            top = slab_stride(top, wbase + lo * size, size, m);
            bits = m == len ? 0 : bits & (~(uint64_t)0 << (lo + m)); /* (lo + m < 64) */
            left -= m;
        } else if (left >= 64) { /* the whole word: no count per region */
            void **t0 = top;
            do {
                *--top = (void *)(wbase + (size_t)__builtin_ctzll(bits) * size);
                bits &= bits - 1;
            } while (bits);
            left -= (unsigned)(t0 - top);
        } else {
            do {
                *--top = (void *)(wbase + (size_t)__builtin_ctzll(bits) * size);
                bits &= bits - 1;
            } while (--left && bits);
        }
        *w = bits;
    }
    s->nfree -= want;
    return want;
}

/* Whether regions r0..r1 of s are all free. */
static inline bool slab_regions_free(const extent_t *s, uint32_t r0, uint32_t r1) {
    for (uint32_t w = r0 / 64; w <= r1 / 64; w++) {
        uint32_t lo = w * 64 > r0 ? 0 : r0 % 64, hi = (w + 1) * 64 - 1 < r1 ? 63 : r1 % 64;
        uint64_t m = (hi == 63 ? ~(uint64_t)0 : (((uint64_t)1 << (hi + 1)) - 1)) & (~(uint64_t)0 << lo);
        if ((s->bitmap[w] & m) != m) return false;
    }
    return true;
}

/* Whether p is the start of a region of s handed out and not yet freed. */
static inline bool slab_is_allocated(const extent_t *s, unsigned ind, const void *p) {
    uintptr_t off = (uintptr_t)p - s->addr;
    if (off >= (uintptr_t)sc_slab[ind].nregs * sc_size[ind]) return false;
    bool exact;
    uint32_t idx = (uint32_t)sc_slab_div(sc_slab[ind].divc, off, &exact);
    return exact && !(s->bitmap[idx / 64] & ((uint64_t)1 << (idx % 64)));
}

/* Returns a region; false when p is not a region start or already free.
 * (A flush returns its blocks in runs instead: arena.c bin_free_regions.) */
static inline bool slab_free_one(extent_t *s, unsigned ind, void *p) {
    uintptr_t off = (uintptr_t)p - s->addr; /* below 2^32 once inside the slab */
    if (off >= (uintptr_t)sc_slab[ind].nregs * sc_size[ind]) return false;
    bool exact;
    uint32_t idx = (uint32_t)sc_slab_div(sc_slab[ind].divc, off, &exact);
    if (!exact || os_bit_test_set(&s->bitmap[idx / 64], idx % 64)) return false;
    s->nfree++;
    return true;
}
#endif
