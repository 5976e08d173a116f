#include "base.h"
#include "fmt.h"
#include "mutex.h"
#include "os.h"
#include <string.h>

#define BASE_BLOCK ((size_t)256 << 10)

static mutex_t base_lock = MUTEX_INITIALIZER;
static char *base_cur, *base_end;       /* current bump block (base_lock) */
static size_t base_allocated, base_mapped, base_touched; /* (base_lock; read relaxed) */

bool base_init(void) { return true; }

static void *base_alloc_locked(size_t size, size_t align) {
    uintptr_t p = ALIGN_UP((uintptr_t)base_cur, align);
    if (!base_cur || p + size > (uintptr_t)base_end) {
        size_t want = ALIGN_UP(size + align, OS_PAGE);
        if (want < BASE_BLOCK) want = BASE_BLOCK;
        char *blk = os_map(want, OS_PAGE);
        if (!blk) return NULL;
        __atomic_store_n(&base_mapped, base_mapped + want, __ATOMIC_RELAXED);
        base_cur = blk;
        base_end = blk + want;
        p = ALIGN_UP((uintptr_t)base_cur, align);
    }
    base_cur = (char *)(p + size);
    __atomic_store_n(&base_allocated, base_allocated + size, __ATOMIC_RELAXED);
    __atomic_store_n(&base_touched, base_touched + size, __ATOMIC_RELAXED);
    return (void *)p;
}

void *base_alloc(size_t size, size_t align) {
    if (align < 16) align = 16;
    mutex_lock(&base_lock);
    void *p = base_alloc_locked(size, align);
    mutex_unlock(&base_lock);
    return p; /* fresh mapping memory is zero */
}

void base_stats_read(base_stats_t *out) {
    out->allocated = __atomic_load_n(&base_allocated, __ATOMIC_RELAXED);
    out->mapped = __atomic_load_n(&base_mapped, __ATOMIC_RELAXED);
    size_t t = __atomic_load_n(&base_touched, __ATOMIC_RELAXED);
    out->resident = ALIGN_UP(t, OS_PAGE);
}

void base_prefork(void) { mutex_prefork(&base_lock); }
void base_postfork_parent(void) { mutex_postfork_parent(&base_lock); }
void base_postfork_child(void) { mutex_postfork_child(&base_lock); }
