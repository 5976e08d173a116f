/*
 * slab -- one slab is an extent holding equal-size regions, tracked by the
 * out-of-band bitmap in its extent record (1 = free). Regions are handed
 * out lowest address first (a scan of at most 8 words). No state of its own: every call is made with
 * the owning bin's lock held.
 */
#ifndef MOSAIC_SLAB_H
#define MOSAIC_SLAB_H
#include "extent.h"
#include "sizeclass.h"

/* Takes up to n free regions into the top of out[0..n), lowest address at
 * out[n-1]; returns how many (they occupy out[n-got..n)). */
static inline unsigned slab_alloc_batch(extent_t *s, size_t size, void **out, unsigned n) {
    unsigned got = 0, w = 0, want = n < s->nfree ? n : s->nfree;
    void **top = out + n - 1;
    while (got < want) {
        uint64_t bits = s->bitmap[w];
        if (!bits) {
            w++;
            continue;
        }
        while (bits && got < want) {
            unsigned b = (unsigned)__builtin_ctzll(bits);
            bits &= bits - 1;
            top[-(ptrdiff_t)got++] = (void *)(s->addr + (size_t)(w * 64 + b) * size);
        }
        s->bitmap[w] = bits;
    }
    s->nfree -= got;
    return got;
}

/* Returns a region; false when p is not a region start or already free. */
static inline bool slab_free_one(extent_t *s, unsigned ind, void *p) {
    uintptr_t off = (uintptr_t)p - s->addr;
    uint32_t idx = (uint32_t)(((uint64_t)off * sc_slab[ind].recip) >> 32);
    if ((size_t)idx * sc_size[ind] != off || idx >= sc_slab[ind].nregs) return false;
    uint64_t bit = (uint64_t)1 << (idx % 64);
    if (s->bitmap[idx / 64] & bit) return false;
    s->bitmap[idx / 64] |= bit;
    s->nfree++;
    return true;
}
#endif
