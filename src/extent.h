/*
 * extent -- extent records and the page allocator ("pa") each arena owns.
 * An extent is a page-aligned run of pages in one state: active (a slab or a
 * large block), dirty (freed, still resident), muzzy (MADV_FREE'd) or
 * retained (purged with MADV_DONTNEED, or never touched; reads as zero).
 * Free extents live in size-quantized sets, one per state, and are always
 * coalesced with free neighbours of the same state; dirty and muzzy ones are
 * also kept oldest-first for decay-driven purging.
 *
 * Locking: every field of pa_t and every free-set field of an extent record
 * is protected by pa_t.lock. An active extent's addr/size/szind/slab change
 * only under pa_t.lock while its owner holds the block (in-place realloc).
 * The slab fields (nfree, bitmap, bin list links) are protected by the
 * owning bin's lock (see arena.h). pa_t.lock is taken after its arena's
 * bin locks and before base_lock (the order across arenas: arena.h).
 */
#ifndef MOSAIC_EXTENT_H
#define MOSAIC_EXTENT_H
#include "mosaic.h"
#include "mutex.h"
#include "sizeclass.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { EXT_ACTIVE = 0, EXT_DIRTY = 1, EXT_MUZZY = 2, EXT_RETAINED = 3 };

typedef struct extent_s extent_t;
struct extent_s {
    /* Hot for slab frees and fills, together in the first 64-byte line
     * (records are 64-byte aligned): owner, address, free count and the
     * first five bitmap words (regions 0..319). */
    struct pa_s *pa;          /* owner, set once: records are recycled only
                                 within their pa, so other arenas may read it */
    uintptr_t addr;
    uint32_t nfree;           /* slab: free regions (bin lock) */
    uint8_t state;            /* EXT_* (pa lock) */
    uint8_t szind;            /* size class while active */
    bool slab;                /* active as a slab of small regions */
    bool zeroed;              /* every byte known to be zero */
    uint64_t bitmap[SC_SLAB_MAXREGS / 64]; /* slab: 1 = region free (bin lock) */
    /* Colder: */
    size_t size;              /* bytes, a page multiple */
    extent_t *next, *prev;    /* free-set list (pa lock) or bin slab list (bin lock) */
    extent_t *lru_next, *lru_prev; /* decay order for dirty/muzzy (pa lock) */
    extent_t *act_next, *act_prev; /* pa's list of active extents (pa lock) */
    uint64_t tstamp;          /* ns when it entered its free state (pa lock) */
    bool remapped;            /* active block moved by mremap: its own mapping */
    uint32_t trimmed;         /* slab: pages purged while every region they hold
                                 was free, bit i = page i (bin lock) */
    uint32_t trim_seen;       /* slab: nfree when trimming last looked at it
                                 (UINT32_MAX: not since it was current; bin lock) */
};

typedef struct {
    extent_t *lists[SC_NPSZ];        /* doubly linked via next/prev */
    uint64_t nonempty[(SC_NPSZ + 63) / 64];
    extent_t *lru_head, *lru_tail;   /* oldest first (dirty, muzzy only) */
    size_t npages;                   /* stored with relaxed atomics: growth relief
                                        reads it without the lock, as a hint */
    size_t count;
} eset_t;

typedef struct pa_s {
    mutex_t lock;
    unsigned ind;                 /* arena index, passed to hooks */
    extent_hooks_t *hooks;        /* atomic pointer; replaced via mallctl */
    eset_t dirty, muzzy, retained;
    extent_t *rec_free;           /* recycled extent records of this pa */
    extent_t *active;             /* every active extent (arena reset walks it) */
    ssize_t dirty_decay_ms;       /* atomic */
    ssize_t muzzy_decay_ms;       /* atomic */
    uint64_t next_decay_ns;
    /* statistics (pa lock; read with relaxed atomics) */
    size_t mapped_total;          /* bytes obtained from hooks and still held */
    size_t grown;                 /* bytes taken from retained or new memory:
                                     growth of the resident set (relaxed atomic) */
    size_t active_pages;
    uint64_t npurge, nmadvise, purged_pages;
} pa_t;

bool pa_init(pa_t *pa, unsigned ind, extent_hooks_t *hooks);
/* An active extent of size bytes (page multiple) aligned to align (power of
 * two >= page), registered in the pagemap. zero: contents must be zero.
 * resident: only from dirty or muzzy pages (no retained or new memory, so
 * the resident set does not grow). NULL when memory cannot be had. */
extent_t *pa_alloc(pa_t *pa, size_t size, size_t align, bool zero, bool slab, unsigned szind,
                   bool resident);
/* Returns an active extent: it becomes dirty (and may be purged). */
void pa_dalloc(pa_t *pa, extent_t *e);
/* In-place resize of an active large extent; return true on success. */
bool pa_shrink(pa_t *pa, extent_t *e, size_t newsize, unsigned szind);
bool pa_grow(pa_t *pa, extent_t *e, size_t newsize, unsigned szind, bool zero);
/* Moves/grows a large extent with mremap (default hooks only). */
bool pa_remap(pa_t *pa, extent_t *e, size_t newsize, unsigned szind);
/* Purges per the decay settings, now (an explicit request: the rate limit of
 * the decay checks on the allocation paths does not apply); all=true purges
 * every dirty/muzzy page. */
void pa_decay(pa_t *pa, bool all);
/* Purges (forced, so the resident set shrinks) `bytes` (page-rounded) of pa's
 * oldest dirty pages that have been dirty for at least min_age_ns, splitting
 * an extent where only part is needed (more only when it cannot be split),
 * unless its dirty decay is off (-1); returns the bytes purged. */
size_t pa_purge_dirty(pa_t *pa, size_t bytes, uint64_t min_age_ns);
void pa_set_decay_ms(pa_t *pa, bool dirty, ssize_t ms);
/* Gives every free page back to the hooks (arena destroy); pa must be idle. */
void pa_release_all(pa_t *pa, bool destroy);
/* A full extent record for a slab: mark every region free. */
void extent_slab_init(extent_t *e, uint32_t nregs);
/* Purges (forced) bytes [off, off + len) of the active slab e, whose regions
 * there are all free (the caller holds the slab's bin lock); counted as a
 * purge. False when the hooks could not. */
bool pa_trim_slab(pa_t *pa, extent_t *e, size_t off, size_t len);

typedef struct {
    size_t mapped, retained, active_pages, dirty_pages, muzzy_pages;
    uint64_t npurge, nmadvise, purged_pages;
} pa_stats_t;
void pa_stats_read(pa_t *pa, pa_stats_t *out);

/* Any active extent of pa (NULL when none): arena.<i>.reset frees them. */
extent_t *pa_active_first(pa_t *pa);
/* Replaces pa's hooks (arena.<i>.extent_hooks); returns the old ones. */
extent_hooks_t *pa_set_hooks(pa_t *pa, extent_hooks_t *hooks);
/* Decay times given to new arenas (arenas.dirty_decay_ms / muzzy_decay_ms);
 * they start as opt.dirty_decay_ms / opt.muzzy_decay_ms. */
ssize_t pa_default_decay_ms(bool dirty);
void pa_set_default_decay_ms(bool dirty, ssize_t ms);

void pa_prefork(pa_t *pa);
void pa_postfork_parent(pa_t *pa);
void pa_postfork_child(pa_t *pa);
#endif
