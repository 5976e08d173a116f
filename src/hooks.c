#include "hooks.h"
#include "conf.h"
#include "os.h"
#include <errno.h>

static void *hooks_default_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t align,
                                 bool *zero, bool *commit, unsigned arena) {
    (void)h;
    (void)arena;
    if (new_addr) return NULL; /* placement at a given address: not offered */
    if (align < OS_PAGE) align = OS_PAGE;
    if (size >= OS_HUGEPAGE && align < OS_HUGEPAGE) align = OS_HUGEPAGE;
    void *p = os_map(size, align);
    if (!p) return NULL;
    if (opt.thp == 1) os_hugepage(p, size, true);
    else if (opt.thp == 2) os_hugepage(p, size, false);
    *zero = true;
    *commit = true;
    return p;
}

static bool hooks_default_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed,
                                 unsigned arena) {
    (void)h;
    (void)committed;
    (void)arena;
    if (opt.retain) return true; /* opt out: keep the range, the caller retains it */
    os_unmap(addr, size);
    return false;
}

static void hooks_default_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed,
                                  unsigned arena) {
    (void)h;
    (void)committed;
    (void)arena;
    os_unmap(addr, size);
}

static bool hooks_default_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t off,
                                     size_t len, unsigned arena) {
    (void)h;
    (void)size;
    (void)arena;
    return os_purge_lazy((char *)addr + off, len);
}

static bool hooks_default_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t off,
                                       size_t len, unsigned arena) {
    (void)h;
    (void)size;
    (void)arena;
    return os_purge_forced((char *)addr + off, len);
}

static bool hooks_default_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b,
                                bool committed, unsigned arena) {
    (void)h, (void)addr, (void)size, (void)a, (void)b, (void)committed, (void)arena;
    return false;
}

static bool hooks_default_merge(extent_hooks_t *h, void *a, size_t asz, void *b, size_t bsz,
                                bool committed, unsigned arena) {
    (void)h, (void)a, (void)asz, (void)b, (void)bsz, (void)committed, (void)arena;
    return false;
}

extent_hooks_t hooks_default = {
    hooks_default_alloc,      hooks_default_dalloc,       hooks_default_destroy,
    NULL,                     NULL,                       hooks_default_purge_lazy,
    hooks_default_purge_forced, hooks_default_split,      hooks_default_merge,
};

__thread unsigned hooks_depth;

/* Every call of a hook runs inside HOOK_CALL: the thread's hooks_depth
 * tells the allocation paths that the page allocator's lock is held, and
 * errno is kept (a hook may run inside free, which keeps errno; with the os
 * layer's calls keeping it too, no free path needs to save it). */
#define HOOK_CALL(call)                                                                            \
    __extension__({                                                                                \
        int e_ = errno;                                                                            \
        hooks_depth++;                                                                             \
        __typeof__(call) r_ = (call);                                                              \
        hooks_depth--;                                                                             \
        errno = e_;                                                                                \
        r_;                                                                                        \
    })

void *hooks_alloc(extent_hooks_t *h, size_t size, size_t align, bool *zero, unsigned arena) {
    bool commit = true;
    *zero = false;
    void *p = h->alloc ? HOOK_CALL(h->alloc(h, NULL, size, align, zero, &commit, arena)) : NULL;
    if (p && ((uintptr_t)p & (OS_PAGE - 1))) return NULL; /* hooks must give pages */
    return p;
}

bool hooks_dalloc(extent_hooks_t *h, void *addr, size_t size, unsigned arena) {
    return h->dalloc ? HOOK_CALL(h->dalloc(h, addr, size, true, arena)) : true;
}

bool hooks_destroy(extent_hooks_t *h, void *addr, size_t size, unsigned arena) {
    if (!h->destroy) return true;
    int e = errno; /* as HOOK_CALL, for a hook that returns nothing */
    hooks_depth++;
    h->destroy(h, addr, size, true, arena);
    hooks_depth--;
    errno = e;
    return false;
}

bool hooks_purge_lazy(extent_hooks_t *h, void *addr, size_t size, unsigned arena) {
    return h->purge_lazy ? HOOK_CALL(h->purge_lazy(h, addr, size, 0, size, arena)) : true;
}

bool hooks_purge_forced_part(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                             unsigned arena) {
    return h->purge_forced ? HOOK_CALL(h->purge_forced(h, addr, size, off, len, arena)) : true;
}

bool hooks_purge_forced(extent_hooks_t *h, void *addr, size_t size, unsigned arena) {
    return hooks_purge_forced_part(h, addr, size, 0, size, arena);
}

bool hooks_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b, unsigned arena) {
    return h->split ? HOOK_CALL(h->split(h, addr, size, a, b, true, arena)) : true;
}

bool hooks_merge(extent_hooks_t *h, void *a, size_t asz, void *b, size_t bsz, unsigned arena) {
    return h->merge ? HOOK_CALL(h->merge(h, a, asz, b, bsz, true, arena)) : true;
}
