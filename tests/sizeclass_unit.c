/*
 * sizeclass_unit.c -- the size-class tables and the slab index arithmetic,
 * checked exhaustively against plain division (compiled with src/sizeclass.c,
 * no allocator around it).
 *
 * For every small class: sc_slab_div(divc, off, &exact) == off / size and
 * exact == (off % size == 0) for every byte offset up to
 * twice the slab's size (the flush and slab_free_one rely on both to find a
 * region and to reject interior pointers); the slab holds nregs regions and
 * at most SC_SLAB_MAXREGS, at least 8 KiB and 4 regions, and all
 * SC_SLAB_MAXREGS for the classes whose 512 regions fit in 32 KiB (the tiny
 * classes' larger slabs, docs/ARCHITECTURE.md "Size classes"); the lookup
 * table agrees with the computed index. And the flush's bit update:
 * os_bit_test_set (one bts on x86-64) agrees with the portable
 * os_bit_test_set_c for every bit of a set of words; and the one-`mul`
 * os_mul_wide and its portable form os_mul_wide_c agree with an __int128
 * product on edge and pseudo-random operands.
 */
#include "os.h"
#include "sizeclass.h"
#include <stdio.h>

int main(void) {
    sc_init();
    unsigned long checks = 0, bad = 0;
    for (unsigned i = 0; i < SC_NSMALL; i++) {
        size_t size = sc_size[i];
        const sc_slab_t *sl = &sc_slab[i];
        size_t bytes = (size_t)sl->slab_pages * OS_PAGE;
        if (sl->nregs == 0 || sl->nregs > SC_SLAB_MAXREGS || (size_t)sl->nregs * size > bytes) {
            printf("FAIL class %u (%zu B): %u regions in %zu bytes\n", i, size, sl->nregs, bytes);
            bad++;
        }
        checks++;
        if (bytes < 8192 || sl->nregs < 4 ||
            (size * SC_SLAB_MAXREGS <= 32768 && sl->nregs != SC_SLAB_MAXREGS)) {
            printf("FAIL class %u (%zu B): slab of %zu bytes, %u regions\n", i, size, bytes, sl->nregs);
            bad++;
        }
        for (uint64_t off = 0; off < 2 * bytes; off++, checks++) {
            bool exact;
            uint64_t q = sc_slab_div(sl->divc, off, &exact);
            if (q != off / size || exact != (off % size == 0)) {
                if (bad < 10)
                    printf("FAIL class %u (%zu B) offset %llu: quot %llu exact %d\n", i, size,
                           (unsigned long long)off, (unsigned long long)q, exact);
                bad++;
            }
        }
    }
    const uint64_t words[] = {0, ~(uint64_t)0, 1, (uint64_t)1 << 63, 0x5555555555555555u,
                              0xaaaaaaaaaaaaaaaau, 0x0123456789abcdefu, 0xfedcba9876543210u};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        for (uint64_t b = 0; b < 64; b++, checks++) {
            uint64_t x = words[k], y = words[k];
            bool ox = os_bit_test_set(&x, b), oy = os_bit_test_set_c(&y, b);
            if (ox != oy || x != y || oy != ((words[k] >> b) & 1) || !((y >> b) & 1)) {
                printf("FAIL bit_test_set(%#llx, %llu): %d %#llx vs %d %#llx\n",
                       (unsigned long long)words[k], (unsigned long long)b, ox,
                       (unsigned long long)x, oy, (unsigned long long)y);
                bad++;
            }
        }
    }
    uint64_t r = 0x9e3779b97f4a7c15u;
    for (unsigned k = 0; k < 100000; k++, checks++) {
        uint64_t a, b;
        if (k < 16) { /* edges: 0, 1 and all-ones in every pairing */
            static const uint64_t e[4] = {0, 1, ~(uint64_t)0, (uint64_t)1 << 63};
            a = e[k % 4];
            b = e[k / 4];
        } else { /* xorshift64 */
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            a = r;
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            b = r >> (k % 64);
        }
        uint64_t hi, lo = os_mul_wide(a, b, &hi), hic, loc = os_mul_wide_c(a, b, &hic);
        unsigned __int128 p = (unsigned __int128)a * b;
        if (lo != (uint64_t)p || hi != (uint64_t)(p >> 64) || loc != lo || hic != hi) {
            printf("FAIL mul_wide(%#llx, %#llx)\n", (unsigned long long)a, (unsigned long long)b);
            bad++;
        }
    }
    for (size_t s = 1; s <= SC_LOOKUP_MAX; s++, checks++) {
        unsigned ind = sc_lookup[(s + 15) >> 4];
        if (sc_size[ind] < s || (ind > 0 && sc_size[ind - 1] >= s)) {
            printf("FAIL lookup(%zu) = class %u (%zu B)\n", s, ind, sc_size[ind]);
            bad++;
        }
    }
    printf("sizeclass_unit: %lu checks, %lu failed\n", checks, bad);
    return bad != 0;
}
