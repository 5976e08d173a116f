/*
 * tcache -- per-thread caches: one pointer stack per size class up to
 * TC_NBINS (64 KiB), in front of the thread's arena. Allocation pops, free
 * pushes; an empty stack is refilled from the arena in a batch, a full one
 * flushes its oldest half back (to whichever arenas own the blocks), or all
 * of it from the third flush without a refill in between. A free puts only
 * blocks of the thread's own arena into its cache: other arenas' small
 * blocks go to per-class remote stacks, flushed home in batches; their large
 * blocks go home at once. A fill may bring other arenas' blocks (taken from
 * donor bins, arena.h): the bin is then marked foreign and flushes as
 * untrusted (each block to its owner) until its next fill. Idle bins are
 * trimmed by a periodic collection, and the whole cache is flushed when the
 * thread exits. Frees made inside
 * extent hooks that the cache cannot take wait on a deferred list.
 *
 * The thread's own cache lives in TLS (initial-exec) and is touched only by
 * its thread (the deferred list too); explicit caches (tcache.create) belong
 * to whoever uses them, one thread at a time, as jemalloc documents. tc_lock
 * guards the pool of free stacks and the explicit-cache table (slots are
 * claimed and released under it).
 */
#ifndef MOSAIC_TCACHE_H
#define MOSAIC_TCACHE_H
#include "arena.h"
#include "os.h"
#include "pagemap.h"
#include "sizeclass.h"

#define TC_NBINS 44 /* classes up to 65536 bytes */
#define TC_DEFER_MAX 64 /* see tcache_defer_free */

enum { TC_UNINIT = 0, TC_ACTIVE, TC_BYPASS, TC_EXITED };

/*
 * Bin i's stack is low[i] .. top[i] (top: the next free slot), room up to
 * high[i]; low == high disables caching for the class (also all NULL when
 * the cache has no stacks). The fields the fast paths touch come first and
 * are arrays indexed by class, so that every access is one instruction
 * relative to the thread pointer.
 *
 * Counting: the fast paths count only blocks handed out (nalloc). Blocks
 * taken back are derived: nfree = (top - low) + nflushed + nalloc - nfilled
 * (what is in the stack, plus what left it, minus what came from the arena
 * and what was handed out), plus the blocks sent to remote stacks.
 */
typedef struct tcache_s {
    void **top[TC_NBINS];
    void **low[TC_NBINS];
    void **high[TC_NBINS];
    uint64_t nalloc[TC_NBINS];   /* blocks handed out from this bin */
    uintptr_t tagbase;           /* (tag << 8) + 1, or 1 << 16 (never matches) for
                                    PM_TAG_SHARED: see tcache_free_fast */
    uintptr_t tag;               /* pagemap tag of the thread's arena (see pm_tag) */
    arena_t *arena;              /* the thread's arena (automatic or thread.arena) */
    uint8_t state;               /* TC_* */
    bool is_tls;                 /* the thread's own cache (not tcache.create) */
    uint32_t gc_ticks;
    uint64_t nfilled[TC_NBINS];  /* blocks put into the stack by fills */
    uint64_t nflushed[TC_NBINS]; /* blocks taken out of the stack by flushes */
    uint64_t nremote[TC_NBINS];  /* frees of other arenas' blocks (remote stacks) */
    uint64_t direct_alloc_bytes, direct_free_bytes; /* blocks not via a bin */
    uint64_t merged[TC_NBINS]; /* nalloc already reported to the arena */
    uint8_t gc_filled[TC_NBINS];
    uint8_t flush_run[TC_NBINS]; /* full-stack flushes since the bin's last fill (capped) */
    bool foreign[TC_NBINS];      /* the bin's last fill took other arenas' blocks
                                    (arena_fill): it flushes as untrusted */
    bool may_steal;              /* fills may take donors' regions: the thread's own
                                    cache on the automatic arena it was given */
    /* Remote stacks: small blocks of other arenas freed by this thread,
     * class i's in rlow[i] .. rtop[i], room up to rhigh[i]; all NULL when the
     * cache has no stacks, rtop == rhigh == rlow while frozen for a flush
     * (tcache_remote_flush). Pointers, as the bins', so the push in the free
     * slow path is a few instructions relative to the thread pointer. */
    void **rtop[SC_NSMALL];
    void **rlow[SC_NSMALL];
    void **rhigh[SC_NSMALL];
    /* The pagemap tags of the blocks on remote stack i, OR-ed and AND-ed
     * together since its last flush (0 and 0xff when empty): equal when
     * every block has that one tag, and then, for an automatic arena's tag
     * (below PM_TAG_SHARED), the flush needs no owner lookup per block
     * (tcache_remote_flush). */
    uint8_t rtag_or[SC_NSMALL];
    uint8_t rtag_and[SC_NSMALL];
    void *stack_mem;
    /* Frees made inside an extent hook that could not be cached, waiting
     * for the thread to leave the hook (tcache_defer_free). Used only in
     * the thread's own (TLS) cache, by its thread. */
    uint32_t ndeferred;
    void *deferred[TC_DEFER_MAX];
} tcache_t;

extern __thread tcache_t tc_tls __attribute__((tls_model("initial-exec")));

bool tcache_boot(void);
/* Slow paths; the allocator is initialised and tc set up (tcache_get). */
void *tcache_alloc_slow(tcache_t *tc, unsigned ind);
void tcache_free_slow(tcache_t *tc, void *p, uintptr_t entry);
/* Sets up the calling thread's cache if it has none yet. */
tcache_t *tcache_get(void);
/* Returns every cached block to its arena (and, outside extent hooks, the
 * deferred frees). */
void tcache_flush(tcache_t *tc);
/*
 * A free inside an extent hook (hooks.h) that the cache cannot take: the
 * hook runs with its arena's locks held, and freeing into the block's arena
 * would take that arena's locks after them, in an order fork cannot follow.
 * It waits on the thread's list (out of band: a freed block is never linked
 * through itself) until tcache_drain_deferred, called outside hooks by the
 * next slow path, flush or thread exit. Beyond TC_DEFER_MAX it is freed at
 * once. The block's pagemap entry is checked now.
 */
void tcache_defer_free(tcache_t *tc, void *p, uintptr_t entry);
/* Frees p (pagemap entry e) straight to its arena, counted as the thread's
 * (direct_free_bytes); aborts on a bad free. */
void tcache_dalloc_direct(tcache_t *tc, void *p, uintptr_t entry);
void tcache_drain_deferred(tcache_t *tc);
/* Enables/disables the calling thread's cache (thread.tcache.enabled). */
void tcache_set_enabled(tcache_t *tc, bool on);
/* The calling thread's arena (for non-cached allocation). */
arena_t *tcache_arena(tcache_t *tc);
void tcache_set_arena(tcache_t *tc, arena_t *a);
/* Explicit caches for MALLOCX_TCACHE(ind). */
tcache_t *tcache_create_explicit(unsigned *ind);
tcache_t *tcache_explicit(unsigned ind);
bool tcache_destroy_explicit(unsigned ind);
/* Bytes ever allocated / freed by a thread (thread.allocated). */
uint64_t tcache_allocated(const tcache_t *tc);
uint64_t tcache_deallocated(const tcache_t *tc);

static inline uint32_t tcache_ncached(const tcache_t *tc, unsigned ind) {
    return (uint32_t)(tc->top[ind] - tc->low[ind]);
}

/* Fast paths: pop/push, nothing else. The callers (api) fall back to the
 * slow paths above when these return NULL / false. */
static inline void *tcache_alloc_fast(tcache_t *tc, unsigned ind) {
    void **t = tc->top[ind];
    if (likely(t != tc->low[ind])) {
        tc->top[ind] = --t;
        tc->nalloc[ind]++;
        return *t;
    }
    return NULL;
}

/* Push p onto bin ind if there is room (any out-of-range ind: false).
 * Used directly by explicit caches, which skip the ownership check. */
static inline bool tcache_free_fast_ind(tcache_t *tc, void *p, size_t ind) {
    if (likely(ind < TC_NBINS)) {
        void **t = tc->top[ind];
        if (likely(t != tc->high[ind])) {
            *t = p;
            tc->top[ind] = t + 1;
            return true;
        }
    }
    return false;
}

/* Push p (pagemap entry e), a small block of another arena, onto remote
 * stack ind if there is room, counting it (nremote) and noting its tag;
 * false when full, frozen or absent. */
static inline bool tcache_remote_push(tcache_t *tc, size_t ind, void *p, uintptr_t e) {
    void **t = tc->rtop[ind];
    if (unlikely(t == tc->rhigh[ind])) return false;
    *t = p;
    tc->rtop[ind] = t + 1;
    tc->nremote[ind]++;
    tc->rtag_or[ind] |= (uint8_t)pm_tag(e);
    tc->rtag_and[ind] &= (uint8_t)pm_tag(e);
    return true;
}

/* Whether the block with pagemap entry e belongs to the cache's arena: its
 * tag, and for the shared tag (arenas from 255 on) its record. */
static inline bool tcache_owns(const tcache_t *tc, uintptr_t e) {
    return pm_tag(e) == tc->tag &&
           (tc->tag != PM_TAG_SHARED || ((extent_t *)pm_extent(e))->pa == &tc->arena->pa);
}

/* Free of a block with pagemap entry e: cached only when it belongs to the
 * thread's own arena, so a thread does not reuse (and write next to)
 * blocks it got from another thread; those go home in batches. One compare
 * checks both: with the tag matching, (e >> 48) - tagbase is the class
 * index; any other tag (or a free extent's class 0) lands far above
 * TC_NBINS or wraps around. */
static inline bool tcache_free_fast(tcache_t *tc, void *p, uintptr_t e) {
    return tcache_free_fast_ind(tc, p, (size_t)(e >> PM_SZ_SHIFT) - tc->tagbase);
}

void tcache_prefork(void);
void tcache_postfork_parent(void);
void tcache_postfork_child(void);
#endif
