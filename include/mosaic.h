/*
 * mosaic.h -- public interface of the Mosaic allocator.
 *
 * Every entry point exists twice: with a mosaic_ prefix (always safe to call,
 * whatever allocator the process otherwise uses) and under its standard or
 * jemalloc-compatible name, which is what linking or LD_PRELOAD replaces.
 * Flag encodings and mallctl constants are jemalloc's, bit for bit, so code
 * written against <jemalloc/jemalloc.h> works unchanged.
 */
#ifndef MOSAIC_H
#define MOSAIC_H

#include <stddef.h>
#include <stdbool.h>
#include <strings.h>
#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOSAIC_VERSION "0.1.0"

/* ---- jemalloc-compatible flags for the *allocx family ---- */
#define MALLOCX_LG_ALIGN(la) ((int)(la))
#define MALLOCX_ALIGN(a)                                                       \
    ((int)(((size_t)(a) < (size_t)INT_MAX) ? ffs((int)(a)) - 1                 \
                                           : ffs((int)(((size_t)(a)) >> 32)) + 31))
#define MALLOCX_ZERO ((int)0x40)
#define MALLOCX_TCACHE(tc) ((int)(((tc) + 2) << 8))
#define MALLOCX_TCACHE_NONE MALLOCX_TCACHE(-1)
#define MALLOCX_ARENA(a) ((((int)(a)) + 1) << 20)

#define MALLCTL_ARENAS_ALL 4096
#define MALLCTL_ARENAS_DESTROYED 4097

/* ---- extent hooks (jemalloc's extent_hooks_t, same signatures) ----
 * An arena gets its backing memory through these nine functions. A hook that
 * returns bool returns false on success. NULL members mean "not supported". */
typedef struct extent_hooks_s extent_hooks_t;
typedef void *(extent_alloc_t)(extent_hooks_t *, void *, size_t, size_t, bool *,
                               bool *, unsigned);
typedef bool(extent_dalloc_t)(extent_hooks_t *, void *, size_t, bool, unsigned);
typedef void(extent_destroy_t)(extent_hooks_t *, void *, size_t, bool, unsigned);
typedef bool(extent_commit_t)(extent_hooks_t *, void *, size_t, size_t, size_t,
                              unsigned);
typedef bool(extent_decommit_t)(extent_hooks_t *, void *, size_t, size_t, size_t,
                                unsigned);
typedef bool(extent_purge_t)(extent_hooks_t *, void *, size_t, size_t, size_t,
                             unsigned);
typedef bool(extent_split_t)(extent_hooks_t *, void *, size_t, size_t, size_t,
                             bool, unsigned);
typedef bool(extent_merge_t)(extent_hooks_t *, void *, size_t, void *, size_t,
                             bool, unsigned);
struct extent_hooks_s {
    extent_alloc_t *alloc;
    extent_dalloc_t *dalloc;
    extent_destroy_t *destroy;
    extent_commit_t *commit;
    extent_decommit_t *decommit;
    extent_purge_t *purge_lazy;
    extent_purge_t *purge_forced;
    extent_split_t *split;
    extent_merge_t *merge;
};

/* ---- standard C / POSIX ---- */
void *mosaic_malloc(size_t size);
void mosaic_free(void *ptr);
void *mosaic_calloc(size_t nmemb, size_t size);
void *mosaic_realloc(void *ptr, size_t size);
void *mosaic_reallocarray(void *ptr, size_t nmemb, size_t size);
int mosaic_posix_memalign(void **memptr, size_t alignment, size_t size);
void *mosaic_aligned_alloc(size_t alignment, size_t size);
void *mosaic_memalign(size_t alignment, size_t size);
void *mosaic_valloc(size_t size);
void *mosaic_pvalloc(size_t size);
size_t mosaic_malloc_usable_size(void *ptr);
void mosaic_free_sized(void *ptr, size_t size);
void mosaic_free_aligned_sized(void *ptr, size_t alignment, size_t size);
/* glibc's malloc_trim: returns cached and unused memory to the kernel now. */
int mosaic_malloc_trim(size_t pad);

/* ---- jemalloc-compatible extended API ---- */
void *mosaic_mallocx(size_t size, int flags);
void *mosaic_rallocx(void *ptr, size_t size, int flags);
size_t mosaic_xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t mosaic_sallocx(const void *ptr, int flags);
void mosaic_dallocx(void *ptr, int flags);
void mosaic_sdallocx(void *ptr, size_t size, int flags);
size_t mosaic_nallocx(size_t size, int flags);
int mosaic_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
                   size_t newlen);
int mosaic_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mosaic_mallctlbymib(const size_t *mib, size_t miblen, void *oldp,
                        size_t *oldlenp, void *newp, size_t newlen);
void mosaic_malloc_stats_print(void (*write_cb)(void *, const char *),
                               void *cbopaque, const char *opts);

/* A program may define this string; MOSAIC_CONF overrides its keys. */
extern const char *mosaic_conf;

#ifndef MOSAIC_NO_JEMALLOC_NAMES
void *mallocx(size_t size, int flags);
void *rallocx(void *ptr, size_t size, int flags);
size_t xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t sallocx(const void *ptr, int flags);
void dallocx(void *ptr, int flags);
void sdallocx(void *ptr, size_t size, int flags);
size_t nallocx(size_t size, int flags);
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
            size_t newlen);
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                 void *newp, size_t newlen);
void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                        const char *opts);
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);
#endif

#ifdef __cplusplus
}
#endif
#endif /* MOSAIC_H */
