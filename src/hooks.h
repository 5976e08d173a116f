/*
 * hooks -- where an arena's backing memory comes from: the default extent
 * hooks (anonymous mmap, 2 MiB aligned so transparent huge pages can back
 * it; madvise to purge; never unmapped while retain is on) and the thin
 * wrappers through which the page allocator calls any hook set, default or
 * user-supplied (jemalloc's extent_hooks_t). Owns one thread-local
 * counter, hooks_depth (below).
 */
#ifndef MOSAIC_HOOKS_H
#define MOSAIC_HOOKS_H
#include "mosaic.h"
#include <stdbool.h>
#include <stddef.h>

extern extent_hooks_t hooks_default;

static inline bool hooks_is_default(const extent_hooks_t *h) { return h == &hooks_default; }

/* How many hook calls are in progress on this thread (0 almost always).
 * Hooks run with the arena's page-allocator lock held (often a bin lock
 * too); a hook that allocates (a log record, a map of its regions) would
 * take those locks again. While it is non-zero the allocation paths take no
 * lock of the thread's arena: allocations come from arena 0 without a
 * thread-cache fill (as jemalloc routes a hook's allocations to arena 0),
 * and a free the cache cannot take waits on the thread's deferred list
 * (tcache_defer_free) until the next slow path, full flush or exit outside
 * a hook. Not supported: allocating from arena 0's own hooks, MALLOCX_ARENA
 * inside a hook, more than TC_DEFER_MAX uncacheable frees in one hook call
 * (the rest are freed at once). docs/ARCHITECTURE.md, "Extent hooks that
 * allocate". */
extern __thread unsigned hooks_depth;

/* Each returns false on success, like the hooks themselves (destroy: false
 * when there was a destroy hook to call). */
void *hooks_alloc(extent_hooks_t *h, size_t size, size_t align, bool *zero, unsigned arena);
bool hooks_dalloc(extent_hooks_t *h, void *addr, size_t size, unsigned arena);
bool hooks_destroy(extent_hooks_t *h, void *addr, size_t size, unsigned arena);
bool hooks_purge_lazy(extent_hooks_t *h, void *addr, size_t size, unsigned arena);
bool hooks_purge_forced(extent_hooks_t *h, void *addr, size_t size, unsigned arena);
/* Pages [off, off + len) of the extent at addr (size bytes). */
bool hooks_purge_forced_part(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                             unsigned arena);
bool hooks_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b, unsigned arena);
bool hooks_merge(extent_hooks_t *h, void *a, size_t asz, void *b, size_t bsz, unsigned arena);
#endif
