/*
 * hooks -- where an arena's backing memory comes from: the default extent
 * hooks (anonymous mmap, 2 MiB aligned so transparent huge pages can back
 * it; madvise to purge; never unmapped while retain is on) and the thin
 * wrappers through which the page allocator calls any hook set, default or
 * user-supplied (jemalloc's extent_hooks_t). Owns no mutable state.
 */
#ifndef MOSAIC_HOOKS_H
#define MOSAIC_HOOKS_H
#include "mosaic.h"
#include <stdbool.h>
#include <stddef.h>

extern extent_hooks_t hooks_default;

static inline bool hooks_is_default(const extent_hooks_t *h) { return h == &hooks_default; }

/* Each returns false on success, like the hooks themselves. */
void *hooks_alloc(extent_hooks_t *h, size_t size, size_t align, bool *zero, unsigned arena);
bool hooks_dalloc(extent_hooks_t *h, void *addr, size_t size, unsigned arena);
bool hooks_purge_lazy(extent_hooks_t *h, void *addr, size_t size, unsigned arena);
bool hooks_purge_forced(extent_hooks_t *h, void *addr, size_t size, unsigned arena);
bool hooks_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b, unsigned arena);
bool hooks_merge(extent_hooks_t *h, void *a, size_t asz, void *b, size_t bsz, unsigned arena);
#endif
