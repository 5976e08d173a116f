#include "pagemap.h"

uintptr_t *pm_root[(size_t)1 << PM_BITS];

static uintptr_t *pagemap_leaf(uintptr_t addr) {
    uintptr_t **slot = &pm_root[(addr >> PM_LEAF_SHIFT) & PM_MASK];
    uintptr_t *leaf = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (leaf) return leaf;
    uintptr_t *fresh = os_map(sizeof(uintptr_t) << PM_BITS, OS_PAGE);
    if (!fresh) return NULL;
    uintptr_t *expected = NULL;
    if (__atomic_compare_exchange_n(slot, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fresh;
    os_unmap(fresh, sizeof(uintptr_t) << PM_BITS);
    return expected;
}

bool pagemap_set(uintptr_t addr, uintptr_t entry) {
    uintptr_t *leaf = pagemap_leaf(addr);
    if (!leaf) return false;
    __atomic_store_n(&leaf[(addr >> OS_PAGE_SHIFT) & PM_MASK], entry, __ATOMIC_RELEASE);
    return true;
}

bool pagemap_prepare(uintptr_t addr, size_t size) {
    uintptr_t end = addr + size;
    for (uintptr_t a = ALIGN_DOWN(addr, (uintptr_t)1 << PM_LEAF_SHIFT); a < end;
         a += (uintptr_t)1 << PM_LEAF_SHIFT)
        if (!pagemap_leaf(a)) return false;
    return true;
}
