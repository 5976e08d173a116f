/*
 * pagemap -- radix tree from page address to the extent record that owns it.
 * Two levels: a static root of 2^16 slots (bits 32..47 of the address) and
 * leaves of 2^20 entries (bits 12..31), each leaf mapped on first use and
 * never freed. A root slot holds its leaf's address minus the address of
 * pm_map.zero, a static leaf that is never written: an empty slot (0, as
 * .bss starts) leads there, so every lookup reads a leaf and finds 0 for an
 * address Mosaic does not know, with no test for a missing leaf (and with
 * bits 12..31 the leaf index is a 32-bit shift, no mask). Reads are
 * lock-free (relaxed atomic loads); writes happen under the owning arena's
 * page-allocator lock, for pages of extents that lock owns. Leaf creation
 * races are settled by CAS on the root slot.
 *
 * Entry encoding (0 = not Mosaic's):
 *   bits 0..47  extent record address; bit 0 set = slab page
 *   bits 48..55 size class index + 1 for an active block, 0 for a free extent
 *   bits 56..63 owning arena's tag for an active block (pm_arena_tag: the
 *               index for arenas 0..254, PM_TAG_SHARED for all others), for
 *               the free fast path's "is this block from my arena?"
 * Invariant: every page of an active slab is mapped; the first and last page
 * of every other extent (active large, or free) are mapped; every other page
 * maps to 0.
 */
#ifndef MOSAIC_PAGEMAP_H
#define MOSAIC_PAGEMAP_H
#include "os.h"
#include <stdbool.h>
#include <stdint.h>

#define PM_ROOT_BITS 16 /* address bits 32..47 */
#define PM_LEAF_BITS 20 /* address bits 12..31 */
#define PM_LEAF_SHIFT (OS_PAGE_SHIFT + PM_LEAF_BITS)
#define PM_SZ_SHIFT 48
#define PM_TAG_SHIFT 56
#define PM_PTR_MASK ((((uintptr_t)1 << PM_SZ_SHIFT) - 1) & ~(uintptr_t)1)

typedef struct {
    uintptr_t root[(size_t)1 << PM_ROOT_BITS]; /* leaf address - (uintptr_t)zero; 0: zero */
    uintptr_t zero[(size_t)1 << PM_LEAF_BITS]; /* the empty leaf (never written) */
} pm_map_t;
extern pm_map_t pm_map;
#define PM_ZERO_WORDS ((size_t)1 << PM_ROOT_BITS) /* offset of zero in pm_map, in words */

static inline uintptr_t *pm_root_slot(uintptr_t a) {
    return &pm_map.root[(a >> PM_LEAF_SHIFT) & (((uintptr_t)1 << PM_ROOT_BITS) - 1)];
}
static inline uintptr_t pm_leaf_index(uintptr_t a) { return (uint32_t)a >> OS_PAGE_SHIFT; }

/* The leaf a root slot's value leads to (the zero leaf for 0). */
static inline uintptr_t *pm_leaf(uintptr_t rel) {
    uintptr_t base = (uintptr_t)&pm_map + rel;
    /* Kept as one sum, so a lookup's load is one instruction with base,
     * index and offset: left free, gcc folds rel and the index first and
     * adds the table's address after (an instruction more). */
    __asm__("" : "+r"(base));
    return (uintptr_t *)base + PM_ZERO_WORDS;
}

/* The entry of p's page, both loads with the given memory order. */
static inline __attribute__((always_inline)) uintptr_t pm_lookup(const void *p, int order) {
    uintptr_t a = (uintptr_t)p;
    const uintptr_t *leaf = pm_leaf(__atomic_load_n(pm_root_slot(a), order));
    return __atomic_load_n(&leaf[pm_leaf_index(a)], order);
}

static inline uintptr_t pagemap_lookup(const void *p) { return pm_lookup(p, __ATOMIC_RELAXED); }

/* For readers that dereference the record of an extent they do not own. */
static inline uintptr_t pagemap_lookup_acquire(const void *p) { return pm_lookup(p, __ATOMIC_ACQUIRE); }

static inline void *pm_extent(uintptr_t entry) { return (void *)(entry & PM_PTR_MASK); }
static inline unsigned pm_szind1(uintptr_t entry) { return (unsigned)(entry >> PM_SZ_SHIFT) & 0xff; }
static inline unsigned pm_tag(uintptr_t entry) { return (unsigned)(entry >> PM_TAG_SHIFT); }
/* Tags identify arenas 0..254; arenas from 255 on share the last one, so a
 * matching PM_TAG_SHARED proves nothing (the record must be looked at). */
#define PM_TAG_SHARED 255u
static inline unsigned pm_arena_tag(unsigned arena_ind) {
    return arena_ind < PM_TAG_SHARED ? arena_ind : PM_TAG_SHARED;
}
static inline bool pm_is_slab(uintptr_t entry) { return entry & 1; }
static inline uintptr_t pm_entry(const void *ext, bool slab, unsigned szind1) {
    return (uintptr_t)ext | (uintptr_t)slab | ((uintptr_t)szind1 << PM_SZ_SHIFT);
}

/* Sets the entry of one page; false when a leaf could not be mapped. */
bool pagemap_set(uintptr_t addr, uintptr_t entry);
/* Makes sure leaves exist for [addr, addr+size): false on failure. */
bool pagemap_prepare(uintptr_t addr, size_t size);
#endif
