/*
 * api -- the entry points: the C/POSIX malloc family, the jemalloc-compatible
 * *allocx family, mallctl* and malloc_stats_print (served by ctl once the
 * allocator is initialised), their mosaic_* twins, glibc's __libc_* names,
 * and the initialisation and fork handling that ties the modules together.
 * State: init_state (atomic), written once under init_lock.
 * The hot paths (malloc, free, calloc, sized free) are a size-class lookup
 * and a pop/push on the thread cache; everything else tail-calls a
 * non-inlined slow path.
 */
#include "arena.h"
#include "base.h"
#include "conf.h"
#include "ctl.h"
#include "extent.h"
#include "fmt.h"
#include "hooks.h"
#include "mosaic.h"
#include "mutex.h"
#include "os.h"
#include "pagemap.h"
#include "sizeclass.h"
#include "stats.h"
#include "tcache.h"
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
#define NOINLINE __attribute__((noinline))
/* Blocks at least this large grow by mremap when they cannot grow in place.
 * Measured (bench/large, bench/vector): at 1 MiB, moved blocks land on
 * isolated mappings that fragment the page allocator (large: 2.3x the peak
 * RSS, 2.5x the time of copying); at 32 MiB and up a copy costs more than
 * the faults a fresh mapping takes anyway. */
#define REMAP_MIN ((size_t)32 << 20)

/* ---- initialisation ---- */
enum { INIT_NONE = 0, INIT_BUSY = 1, INIT_DONE = 2 };
static int init_state;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t init_owner;

static void api_prefork(void);
static void api_postfork_parent(void);
static void api_postfork_child(void);

static inline bool api_ready(void) {
    return likely(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == INIT_DONE);
}

static NOINLINE bool api_init(void) {
    if (api_ready()) return true;
    if (__atomic_load_n(&init_state, __ATOMIC_RELAXED) == INIT_BUSY &&
        __atomic_load_n(&init_owner, __ATOMIC_RELAXED) == pthread_self())
        return false; /* something we called during init allocated: refuse */
    pthread_mutex_lock(&init_lock);
    if (init_state == INIT_DONE) {
        pthread_mutex_unlock(&init_lock);
        return true;
    }
    __atomic_store_n(&init_owner, pthread_self(), __ATOMIC_RELAXED);
    __atomic_store_n(&init_state, INIT_BUSY, __ATOMIC_RELAXED);
    int err = errno; /* (option parsing uses strtol) the caller's call keeps it */
    if (!os_init()) fmt_fatal("unsupported page size (Mosaic needs 4 KiB pages)");
    conf_init();
    sc_init();
    if (!base_init() || !arena_boot() || !tcache_boot())
        fmt_fatal("initialisation failed: out of memory");
    __atomic_store_n(&init_state, INIT_DONE, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&init_lock);
    /* These may allocate, which is fine now. */
    pthread_atfork(api_prefork, api_postfork_parent, api_postfork_child);
    if (opt.stats_print) {
        /* a copy of standard error for the statistics at exit: coreutils and
         * others close stderr in their own exit handlers */
        stats_set_exit_fd(os_dup_stderr());
        atexit(ctl_stats_atexit);
    }
    errno = err;
    return true;
}

__attribute__((constructor)) static void api_constructor(void) { api_init(); }

/* Set when fork was called from a signal handler that interrupted this very
 * thread inside the allocator: then no lock is taken or reset (see mutex.h). */
static bool fork_skipped;

static void api_prefork(void) {
    fork_skipped = !api_ready() || mutex_depth != 0;
    if (fork_skipped) return;
    tcache_prefork();
    arena_prefork();
    base_prefork();
}

static void api_postfork_parent(void) {
    if (fork_skipped) return;
    base_postfork_parent();
    arena_postfork_parent();
    tcache_postfork_parent();
}

static void api_postfork_child(void) {
    if (fork_skipped) return;
    base_postfork_child();
    arena_postfork_child();
    tcache_postfork_child();
}

/* ---- shared slow paths ---- */
static inline size_t api_usize(size_t size, size_t align) {
    if (unlikely(size > PTRDIFF_MAX)) return 0;
    return align ? sc_sa2u(size, align) : sc_s2u(size);
}

/* opt.junk for a block resized in place from old to new usable bytes: the
 * tail a shrink gives up is filled as freed (before, while it is still the
 * block's: realloc only, which moves the block if the shrink fails; xallocx
 * must leave a block it cannot shrink intact), the tail a growth adds as new
 * (after; not when zeroed). */
static inline void api_junk_resize(void *p, size_t old, size_t new, bool zero, bool before) {
    if (likely(!opt.junk)) return;
    if (before && new < old) memset((char *)p + new, ARENA_JUNK_FREE, old - new);
    if (!before && new > old && !zero) memset((char *)p + old, ARENA_JUNK_ALLOC, new - old);
}

/* Frees deferred inside extent hooks are done at the next slow path
 * outside one (tcache_defer_free). */
#define API_DRAIN()                                                                                \
    do {                                                                                           \
        if (unlikely(tc_tls.ndeferred) && !hooks_depth) tcache_drain_deferred(&tc_tls);            \
    } while (0)

/* The thread's cache for an allocation; none inside an extent hook. */
static inline tcache_t *api_thread_cache(void) { return unlikely(hooks_depth) ? NULL : tcache_get(); }

/* tc: cache to use (NULL: none); arena: explicit arena (NULL: the thread's). */
static void *api_alloc(size_t size, size_t align, bool zero, tcache_t *tc, arena_t *arena) {
    if (!api_ready() && !api_init()) {
        errno = ENOMEM;
        return NULL;
    }
    API_DRAIN();
    /* Inside an extent hook (hooks.h) no tcache_get: a thread's first
     * allocation chooses its arena under a lock fork takes first. */
    tcache_t *self = unlikely(hooks_depth) ? &tc_tls : tcache_get();
    size_t usize = api_usize(size, align);
    if (unlikely(usize == 0)) {
        errno = ENOMEM;
        return NULL;
    }
    if (unlikely(hooks_depth)) { /* inside an extent hook: arena 0, no cache fill */
        tc = NULL;
        if (!arena) arena = arena_get(0);
    }
    unsigned ind = sc_size2index(usize);
    void *p;
    bool cached = tc && !arena && (usize <= SC_SMALL_MAX || (!zero && align <= OS_PAGE));
    if (cached && ind < TC_NBINS) {
        p = tcache_alloc_fast(tc, ind);
        if (!p) p = tcache_alloc_slow(tc, ind);
        if (p && zero) memset(p, 0, usize);
        if (p && tc != self) self->direct_alloc_bytes += usize; /* explicit cache: still this thread's */
    } else {
        arena_t *a = arena ? arena : tcache_arena(self);
        p = usize <= SC_SMALL_MAX ? arena_malloc_small(a, ind, zero)
                                  : arena_malloc_large(a, ind, align > OS_PAGE ? align : OS_PAGE, zero);
        if (p) self->direct_alloc_bytes += usize;
    }
    if (unlikely(!p)) errno = ENOMEM;
    else if (unlikely(opt.junk) && !zero) memset(p, ARENA_JUNK_ALLOC, usize);
    return p;
}

/* Frees p (pagemap entry e) through tc, or straight to its arena. */
static NOINLINE void api_free_slow(void *p, uintptr_t e);

static void api_dalloc(void *p, uintptr_t e, tcache_t *tc) {
    if (tc == &tc_tls) { /* the thread's own cache: same path as free() */
        if (tcache_free_fast(tc, p, e)) return;
        api_free_slow(p, e);
        return;
    }
    if (unlikely(hooks_depth)) {
        tcache_defer_free(&tc_tls, p, e);
        return;
    }
    API_DRAIN();
    if (tc) { /* explicit cache: no ownership check */
        unsigned s1 = pm_szind1(e);
        if (s1) tc_tls.direct_free_bytes += sc_size[s1 - 1]; /* thread.deallocated, as in api_alloc */
        if (tcache_free_fast_ind(tc, p, (size_t)s1 - 1)) return;
        tcache_free_slow(tc, p, e);
        return;
    }
    tcache_dalloc_direct(tcache_get(), p, e);
}

static NOINLINE void *api_malloc_slow(size_t size) {
    tcache_t *tc = &tc_tls;
    if (likely(size <= SC_LOOKUP_MAX && tc->state == TC_ACTIVE && !hooks_depth)) { /* a cache miss */
        API_DRAIN();
        void *p = tcache_alloc_slow(tc, sc_lookup[(size + 15) >> 4]);
        if (likely(p != NULL)) return p;
    }
    return api_alloc(size, 0, false, api_ready() || api_init() ? api_thread_cache() : NULL, NULL);
}

static NOINLINE void api_free_slower(void *p, uintptr_t e);

/* Another arena's small block goes onto the thread's remote stack for its
 * class, here, with no frame (the stacks are NULL, so full, while the cache
 * is not active); everything else tail-calls api_free_slower. */
static NOINLINE void api_free_slow(void *p, uintptr_t e) {
    tcache_t *tc = &tc_tls;
    size_t ind = (size_t)pm_szind1(e) - 1;
    if (likely(ind < SC_NSMALL && !tcache_owns(tc, e) && tcache_remote_push(tc, ind, p, e)))
        return;
    api_free_slower(p, e);
}

static NOINLINE void api_free_slower(void *p, uintptr_t e) {
    if (!p) return;
    if (!api_ready()) arena_bad_free(p, e, "free");
    if (unlikely(hooks_depth)) { /* inside an extent hook: no flush (see hooks.h) */
        tcache_defer_free(&tc_tls, p, e);
        return;
    }
    API_DRAIN();
    /* free keeps errno (glibc does, POSIX 2024 requires it): the system calls
     * and user extent hooks a free can set off keep it (os.c, HOOK_CALL). */
    tcache_free_slow(tcache_get(), p, e);
}

static NOINLINE void *api_calloc_slow(size_t total) {
    return api_alloc(total, 0, true, api_ready() || api_init() ? api_thread_cache() : NULL, NULL);
}

/* realloc/rallocx core: resizes in place when it can, else moves. */
static void *api_ralloc(void *p, size_t size, size_t align, bool zero, tcache_t *tc,
                        arena_t *arena, const char *who) {
    uintptr_t e = pagemap_lookup(p);
    unsigned s1 = pm_szind1(e);
    if (unlikely(!s1)) arena_bad_free(p, e, who);
    extent_t *ext = pm_extent(e);
    if (!pm_is_slab(e) && (uintptr_t)p != ext->addr) arena_bad_free(p, e, who);
    size_t oldsize = sc_size[s1 - 1];
    size_t usize = api_usize(size, align);
    if (unlikely(usize == 0)) {
        errno = ENOMEM;
        return NULL;
    }
    bool aligned = align <= SC_QUANTUM || ((uintptr_t)p & (align - 1)) == 0;
    bool same_arena = !arena || arena == arena_of(ext);
    if (aligned && same_arena) {
        if (usize == oldsize) return p;
        /* (not inside an extent hook: resizing takes the block's arena's lock) */
        if (!pm_is_slab(e) && usize > SC_SMALL_MAX && likely(!hooks_depth)) {
            unsigned ni = sc_size2index(usize);
            tcache_t *self = tcache_get();
            api_junk_resize(p, oldsize, usize, zero, true);
            if (arena_ralloc_large(ext, ni, zero) ||
                (usize > oldsize && oldsize >= REMAP_MIN && align <= OS_PAGE &&
                 arena_ralloc_remap(ext, ni))) { /* mremap keeps only page alignment */
                self->direct_alloc_bytes += usize;
                self->direct_free_bytes += oldsize;
                api_junk_resize((void *)ext->addr, oldsize, usize, zero, false);
                return (void *)ext->addr;
            }
        }
    }
    void *q = api_alloc(size, align, zero, tc, arena);
    if (unlikely(!q)) return NULL;
    memcpy(q, p, oldsize < size ? oldsize : size);
    api_dalloc(p, e, tc);
    return q;
}

/* ---- C / POSIX ---- */
EXPORT void *mosaic_malloc(size_t size) {
    if (likely(size <= SC_LOOKUP_MAX)) {
        unsigned ind = sc_lookup[(size + 15) >> 4];
        void **t = tc_tls.top[ind];
        if (likely(t != tc_tls.low[ind])) {
            tc_tls.top[ind] = --t;
            tc_tls.nalloc[ind]++;
            return *t;
        }
    }
    return api_malloc_slow(size);
}

EXPORT void mosaic_free(void *p) {
    uintptr_t e = pagemap_lookup(p);
    if (likely(tcache_free_fast(&tc_tls, p, e))) return;
    api_free_slow(p, e);
}

EXPORT void *mosaic_calloc(size_t n, size_t size) {
    size_t total;
    if (unlikely(__builtin_mul_overflow(n, size, &total))) {
        errno = ENOMEM;
        return NULL;
    }
    if (likely(total <= SC_LOOKUP_MAX)) {
        void *p = tcache_alloc_fast(&tc_tls, sc_lookup[(total + 15) >> 4]);
        if (likely(p != NULL)) return memset(p, 0, total);
    }
    return api_calloc_slow(total);
}

EXPORT void *mosaic_realloc(void *p, size_t size) {
    if (!p) return mosaic_malloc(size);
    if (size == 0) { /* glibc: realloc(p, 0) frees p and returns NULL */
        mosaic_free(p);
        return NULL;
    }
    return api_ralloc(p, size, 0, false, api_thread_cache(), NULL, "realloc");
}

EXPORT void *mosaic_reallocarray(void *p, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return mosaic_realloc(p, total);
}

/* glibc 2.36 memalign semantics: small alignments act like malloc, others
 * are rounded up to a power of two, absurd ones fail with EINVAL. */
static void *api_memalign(size_t align, size_t size) {
    if (align <= SC_QUANTUM) return mosaic_malloc(size);
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (align & (align - 1)) align = (size_t)1 << (sc_lg_floor(align) + 1);
    return api_alloc(size, align, false, api_ready() || api_init() ? api_thread_cache() : NULL, NULL);
}

EXPORT int mosaic_posix_memalign(void **memptr, size_t align, size_t size) {
    if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
    void *p = align <= SC_QUANTUM ? mosaic_malloc(size) : api_memalign(align, size);
    if (!p) return ENOMEM;
    *memptr = p;
    return 0;
}

EXPORT void *mosaic_aligned_alloc(size_t align, size_t size) { return api_memalign(align, size); }
EXPORT void *mosaic_memalign(size_t align, size_t size) { return api_memalign(align, size); }
EXPORT void *mosaic_valloc(size_t size) { return api_memalign(OS_PAGE, size); }

EXPORT void *mosaic_pvalloc(size_t size) {
    size_t rounded;
    if (__builtin_add_overflow(size, OS_PAGE - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    return api_memalign(OS_PAGE, rounded & ~(OS_PAGE - 1));
}

EXPORT size_t mosaic_malloc_usable_size(void *p) {
    if (!p) return 0;
    unsigned s1 = pm_szind1(pagemap_lookup(p));
    return s1 ? sc_size[s1 - 1] : 0;
}

/* Sized free is free: the pagemap lookup it could skip is what tells
 * whether the block belongs to the thread's arena, and a block of another
 * arena must never be handed out again by this thread's cache (memory goes
 * back to its own arena; an explicit arena's may be memory plain malloc
 * must not return). The size is not checked against the block's class. */
static inline void api_sized_free(void *p, size_t size, size_t align) {
    (void)size;
    (void)align;
    mosaic_free(p);
}

EXPORT void mosaic_free_sized(void *p, size_t size) { api_sized_free(p, size, 0); }
EXPORT void mosaic_free_aligned_sized(void *p, size_t align, size_t size) {
    api_sized_free(p, size, align);
}

EXPORT int mosaic_malloc_trim(size_t pad) {
    (void)pad;
    if (!api_ready() || hooks_depth) return 0; /* (not from an extent hook: hooks.h) */
    tcache_flush(tcache_get());
    unsigned n = arena_count();
    for (unsigned i = 0; i < n; i++) {
        arena_t *a = arena_pin(i); /* see arena_pin: a destroy may run meanwhile */
        if (!a) continue;
        arena_drain_xfer(a, SC_NSMALL);
        pa_decay(&a->pa, true);
        arena_unpin(a);
    }
    return 1;
}

/* ---- jemalloc-compatible *allocx ---- */
#define FLAG_LG_ALIGN(f) ((unsigned)(f) & 0x3f)
#define FLAG_ZERO(f) (((f) & MALLOCX_ZERO) != 0)
#define FLAG_TCACHE(f) (((unsigned)(f) >> 8) & 0xfff)
#define FLAG_ARENA(f) ((unsigned)(f) >> 20)

static inline size_t flags_align(int flags) {
    unsigned lg = FLAG_LG_ALIGN(flags);
    return lg ? (size_t)1 << lg : 0;
}

/* Resolves the tcache and arena named by flags; false if one is invalid. */
static bool api_flags(int flags, tcache_t **tc, arena_t **arena) {
    if (!api_ready() && !api_init()) return false;
    unsigned t = FLAG_TCACHE(flags), a = FLAG_ARENA(flags);
    if (t == 0) *tc = api_thread_cache();
    else if (t == 1) *tc = NULL;
    else if (!(*tc = tcache_explicit(t - 2))) return false;
    *arena = NULL;
    /* An automatic arena no thread has used yet is created, as in
     * jemalloc; a destroyed explicit one stays invalid (NULL). */
    if (a && !(*arena = a - 1 < arena_narenas_auto ? arena_get_or_create(a - 1, NULL)
                                                   : arena_get(a - 1)))
        return false;
    return true;
}

EXPORT void *mosaic_mallocx(size_t size, int flags) {
    if (likely(flags == 0)) return mosaic_malloc(size);
    tcache_t *tc;
    arena_t *arena;
    if (!api_flags(flags, &tc, &arena)) return NULL;
    return api_alloc(size, flags_align(flags), FLAG_ZERO(flags), tc, arena);
}

EXPORT void *mosaic_rallocx(void *p, size_t size, int flags) {
    tcache_t *tc;
    arena_t *arena;
    if (!api_flags(flags, &tc, &arena)) return NULL;
    if (!p) return api_alloc(size, flags_align(flags), FLAG_ZERO(flags), tc, arena);
    size_t old = mosaic_malloc_usable_size(p);
    void *q = api_ralloc(p, size, flags_align(flags), FLAG_ZERO(flags), tc, arena, "rallocx");
    if (q && FLAG_ZERO(flags)) {
        size_t nu = mosaic_malloc_usable_size(q);
        if (nu > old && q == p) memset((char *)q + old, 0, nu - old);
    }
    return q;
}

EXPORT size_t mosaic_xallocx(void *p, size_t size, size_t extra, int flags) {
    uintptr_t e = pagemap_lookup(p);
    unsigned s1 = pm_szind1(e);
    if (!s1) arena_bad_free(p, e, "xallocx");
    size_t old = sc_size[s1 - 1];
    size_t align = flags_align(flags);
    if (pm_is_slab(e) || (align > OS_PAGE && ((uintptr_t)p & (align - 1)))) return old;
    if (unlikely(hooks_depth)) return old; /* see api_ralloc */
    extent_t *ext = pm_extent(e);
    size_t total = size + extra < size ? SIZE_MAX : size + extra; /* saturated */
    size_t targets[2] = {total, size};
    for (int i = 0; i < 2; i++) {
        size_t u = api_usize(targets[i], 0);
        if (!u || u <= SC_SMALL_MAX) continue;
        if (u == old) return old;
        if (u < old && i == 1 && total >= old) return old;
        if (arena_ralloc_large(ext, sc_size2index(u), FLAG_ZERO(flags))) {
            tcache_t *self = tcache_get(); /* thread.allocated: as realloc in place */
            self->direct_alloc_bytes += u;
            self->direct_free_bytes += old;
            if (FLAG_ZERO(flags) && u > old) memset((char *)p + old, 0, u - old);
            api_junk_resize(p, old, u, FLAG_ZERO(flags), false);
            return u;
        }
    }
    return old;
}

EXPORT size_t mosaic_sallocx(const void *p, int flags) {
    (void)flags;
    return mosaic_malloc_usable_size((void *)p);
}

EXPORT void mosaic_dallocx(void *p, int flags) {
    if (likely(flags == 0)) {
        mosaic_free(p);
        return;
    }
    tcache_t *tc;
    arena_t *arena;
    if (!p) return;
    if (!api_flags(flags & ~(0xfffu << 20), &tc, &arena)) tc = NULL;
    api_dalloc(p, pagemap_lookup(p), tc);
}

EXPORT void mosaic_sdallocx(void *p, size_t size, int flags) {
    if (likely(flags == 0)) {
        api_sized_free(p, size, 0);
        return;
    }
    mosaic_dallocx(p, flags);
}

/* ---- jemalloc-compatible mallctl and statistics (ctl) ---- */
EXPORT int mosaic_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
                          size_t newlen) {
    if (!api_ready() && !api_init()) return EAGAIN;
    return ctl_mallctl(name, oldp, oldlenp, newp, newlen);
}

EXPORT int mosaic_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) {
    if (!api_ready() && !api_init()) return EAGAIN;
    return ctl_nametomib(name, mibp, miblenp);
}

EXPORT int mosaic_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                               void *newp, size_t newlen) {
    if (!api_ready() && !api_init()) return EAGAIN;
    return ctl_bymib(mib, miblen, oldp, oldlenp, newp, newlen);
}

EXPORT void mosaic_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                                      const char *opts) {
    if (!api_ready() && !api_init()) return;
    ctl_stats_print(write_cb, cbopaque, opts);
}

EXPORT size_t mosaic_nallocx(size_t size, int flags) {
    if (!api_ready() && !api_init()) return 0;
    return api_usize(size, flags_align(flags));
}

/* ---- the standard names (what linking and LD_PRELOAD replace) ---- */
#ifndef MOSAIC_PREFIX_ONLY
#define ALIAS(name, target) __typeof__(target) name __attribute__((alias(#target), visibility("default")))
ALIAS(malloc, mosaic_malloc);
ALIAS(free, mosaic_free);
ALIAS(calloc, mosaic_calloc);
ALIAS(realloc, mosaic_realloc);
ALIAS(reallocarray, mosaic_reallocarray);
ALIAS(posix_memalign, mosaic_posix_memalign);
ALIAS(aligned_alloc, mosaic_aligned_alloc);
ALIAS(memalign, mosaic_memalign);
ALIAS(valloc, mosaic_valloc);
ALIAS(pvalloc, mosaic_pvalloc);
ALIAS(malloc_usable_size, mosaic_malloc_usable_size);
ALIAS(free_sized, mosaic_free_sized);
ALIAS(free_aligned_sized, mosaic_free_aligned_sized);
ALIAS(malloc_trim, mosaic_malloc_trim);
ALIAS(__libc_malloc, mosaic_malloc);
ALIAS(__libc_free, mosaic_free);
ALIAS(__libc_calloc, mosaic_calloc);
ALIAS(__libc_realloc, mosaic_realloc);
ALIAS(__libc_memalign, mosaic_memalign);
ALIAS(__libc_valloc, mosaic_valloc);
ALIAS(__libc_pvalloc, mosaic_pvalloc);
ALIAS(mallocx, mosaic_mallocx);
ALIAS(rallocx, mosaic_rallocx);
ALIAS(xallocx, mosaic_xallocx);
ALIAS(sallocx, mosaic_sallocx);
ALIAS(dallocx, mosaic_dallocx);
ALIAS(sdallocx, mosaic_sdallocx);
ALIAS(nallocx, mosaic_nallocx);
ALIAS(mallctl, mosaic_mallctl);
ALIAS(mallctlnametomib, mosaic_mallctlnametomib);
ALIAS(mallctlbymib, mosaic_mallctlbymib);
ALIAS(malloc_stats_print, mosaic_malloc_stats_print);
#endif
