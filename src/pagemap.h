/*
 * pagemap -- radix tree from page address to the extent record that owns it.
 * Two levels: a static root of 2^18 leaf pointers (bits 30..47 of the
 * address) and leaves of 2^18 entries (bits 12..29), each leaf mapped on
 * first use and never freed. Reads are lock-free (relaxed atomic loads);
 * writes happen under the owning arena's page-allocator lock, for pages of
 * extents that lock owns. Leaf creation races are settled by CAS.
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

#define PM_BITS 18
#define PM_LEAF_SHIFT (OS_PAGE_SHIFT + PM_BITS)
#define PM_MASK (((uintptr_t)1 << PM_BITS) - 1)
#define PM_SZ_SHIFT 48
#define PM_TAG_SHIFT 56
#define PM_PTR_MASK ((((uintptr_t)1 << PM_SZ_SHIFT) - 1) & ~(uintptr_t)1)

extern uintptr_t *pm_root[(size_t)1 << PM_BITS];

static inline uintptr_t pagemap_lookup(const void *p) {
    uintptr_t a = (uintptr_t)p;
    uintptr_t *leaf = __atomic_load_n(&pm_root[(a >> PM_LEAF_SHIFT) & PM_MASK], __ATOMIC_RELAXED);
    if (unlikely(!leaf)) return 0;
    return __atomic_load_n(&leaf[(a >> OS_PAGE_SHIFT) & PM_MASK], __ATOMIC_RELAXED);
}

/* For readers that dereference the record of an extent they do not own. */
static inline uintptr_t pagemap_lookup_acquire(const void *p) {
    uintptr_t a = (uintptr_t)p;
    uintptr_t *leaf = __atomic_load_n(&pm_root[(a >> PM_LEAF_SHIFT) & PM_MASK], __ATOMIC_ACQUIRE);
    if (unlikely(!leaf)) return 0;
    return __atomic_load_n(&leaf[(a >> OS_PAGE_SHIFT) & PM_MASK], __ATOMIC_ACQUIRE);
}

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
