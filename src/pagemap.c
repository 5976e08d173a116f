#include "pagemap.h"

pm_map_t pm_map __attribute__((aligned(OS_PAGE)));

#define PM_LEAF_BYTES (sizeof(uintptr_t) << PM_LEAF_BITS)
static bool pm_advised; /* pm_map advised against huge pages (atomic) */

/* Maps the leaf of an empty root slot (another thread may have mapped it
 * meanwhile); NULL when mapping fails. */
static __attribute__((noinline)) uintptr_t *pagemap_leaf_new(uintptr_t *slot) {
    /* Leaves and the static map are written an entry at a time, far apart:
     * with transparent huge pages set to "always", one entry could make a
     * whole 2 MiB page resident. Advised once for the map (its first leaf
     * comes before any write to it), and for every leaf. */
    if (!__atomic_exchange_n(&pm_advised, true, __ATOMIC_RELAXED))
        os_hugepage(&pm_map, sizeof pm_map, false);
    uintptr_t rel = 0;
    uintptr_t *fresh = os_map(PM_LEAF_BYTES, OS_PAGE);
    if (!fresh) return NULL;
    os_hugepage(fresh, PM_LEAF_BYTES, false);
    if (__atomic_compare_exchange_n(slot, &rel, (uintptr_t)fresh - (uintptr_t)pm_map.zero, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return fresh;
    os_unmap(fresh, PM_LEAF_BYTES);
    return pm_leaf(rel);
}

/* The leaf for addr, mapped if it is not yet; NULL when mapping fails. */
static inline uintptr_t *pagemap_leaf(uintptr_t addr) {
    uintptr_t *slot = pm_root_slot(addr);
    uintptr_t rel = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (likely(rel)) return pm_leaf(rel);
    return pagemap_leaf_new(slot);
}

bool pagemap_set(uintptr_t addr, uintptr_t entry) {
    uintptr_t *leaf = pagemap_leaf(addr);
    if (!leaf) return false;
    __atomic_store_n(&leaf[pm_leaf_index(addr)], entry, __ATOMIC_RELEASE);
    return true;
}

bool pagemap_prepare(uintptr_t addr, size_t size) {
    uintptr_t end = addr + size;
    for (uintptr_t a = ALIGN_DOWN(addr, (uintptr_t)1 << PM_LEAF_SHIFT); a < end;
         a += (uintptr_t)1 << PM_LEAF_SHIFT)
        if (!pagemap_leaf(a)) return false;
    return true;
}
