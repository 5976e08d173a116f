/*
 * arena -- an independent heap: one bin per small size class (slabs of equal
 * regions) plus large blocks, all carved from the arena's own page allocator
 * (extent.h), whose hooks decide where its memory comes from. Threads are
 * spread over the automatic arenas, least-loaded first; explicit arenas are
 * created by the program (arenas.create) and used with MALLOCX_ARENA.
 *
 * A bin's transfer stack takes whole flushes of freed regions (a copy of
 * pointers, no bitmap work) and gives them to the next fills, so a
 * thread that frees what another (or itself, a batch earlier) allocated
 * hands the blocks over at the cost of a memcpy. Only what overflows it
 * goes back into slab bitmaps. Regions on it count as free in the stats.
 * A flush that finds it full empties it into the slabs too and leaves it
 * off until the bin's next fill, so that after a phase of frees the slabs
 * are whole and the next fills go in address order (arena_flush).
 *
 * Donors: a bin of an automatic arena whose transfer stack overflowed and
 * which took another flush after that, with no fill by its own threads in
 * between (nover >= ARENA_DONOR_OVERFLOWS), is a donor: its regions are
 * freed faster than its arena uses them, typically because the thread that
 * allocated them is idle or gone and others free them. A thread's cache
 * whose arena would grow for the class first takes donors' free regions
 * (opt.steal), from the donor's slabs in address order, never growing the
 * donor. A donor's transfer stack is off (it overflowed) and stays off, so
 * the blocks others free home to it go into its slabs' bitmaps: each steal
 * takes runs of regions that have been free a while, not single regions
 * another thread freed a moment ago (still in that thread's CPU cache). The
 * blocks stay the donor's (pages never change arena): freed, they go home
 * through the remote stacks like any other arena's block, and the filling
 * bin flushes as untrusted until its next fill. A fill by the donor arena's
 * own threads ends its donor state (and turns its transfer stack on).
 *
 * Growth relief: when an automatic arena's resident set has grown by
 * ARENA_RELIEF_STEP since its last relief, the other automatic arenas (default
 * hooks, dirty decay not off) purge as many bytes of their oldest dirty
 * pages, so idle pages in one arena do not stay resident while another maps
 * more. What they could not purge (nothing was dirty yet) is owed, and paid
 * later from their pages that stay dirty for a while (ARENA_RELIEF_OWED_AGE_NS).
 * Pages never change arena.
 *
 * Locking: bin_t fields are protected by bin_t.lock, including the slab
 * fields of the extents on the bin (cur and the nonfull list). Lock order
 * within one arena: bin lock, then pa lock, then base lock; never two bins
 * of one arena at once. Across arenas: arenas_lock before any arena's
 * locks; an extent hook of arena X allocating takes arena 0's locks while
 * X's are held (X before 0: fork takes arena 0's last); arena_pin_lock
 * nests inside every arena lock. arena_t.nthreads and the large-class
 * counters are relaxed atomics. The arenas[] table is written under
 * arenas_lock and read lock-free.
 */
#ifndef MOSAIC_ARENA_H
#define MOSAIC_ARENA_H
#include "extent.h"
#include "mutex.h"
#include "sizeclass.h"

#define ARENA_MAX 4096 /* indices below MALLCTL_ARENAS_ALL */
/* Transfer-stack capacity of a small class: 256 KiB worth of regions, at
 * least 8. Parked regions keep their slabs from emptying, so when the arena
 * would have to grow its resident memory for a new slab or large block while
 * at least ARENA_DRAIN_MIN bytes are parked in other bins, those go back into
 * their slabs first (arena_fill, arena_malloc_large). A drain that empties
 * slabs worth less than an eighth of what it drained doubles the growth the
 * arena waits for before the next (from 256 KiB, at most 256 MiB), so a
 * program whose parked regions share slabs with live ones pays rarely. */
#define ARENA_DRAIN_GAP0 ((size_t)256 << 10)
#define ARENA_DRAIN_GAPMAX ((size_t)256 << 20)
#define ARENA_XFER_BYTES ((size_t)256 << 10)
#define ARENA_DONOR_OVERFLOWS 2 /* bin_t.nover that makes a donor (see "Donors" above) */
#define ARENA_DRAIN_MIN ((size_t)64 << 10)
#define ARENA_RELIEF_STEP ((size_t)1 << 20)
/* What a relief could not purge (the other arenas had no dirty pages yet) is
 * owed, up to ARENA_RELIEF_OWED_MAX. While it is, every ARENA_RELIEF_OWED_EVERY-th
 * flush or direct free of a thread looks, at most every
 * ARENA_RELIEF_OWED_PERIOD_NS (any thread's look counts), for dirty
 * pages in the other automatic arenas (not the last grower's) that have been
 * dirty for ARENA_RELIEF_OWED_AGE_NS, and purge them to pay it. The age keeps
 * pages a program takes again soon (a phase of frees before one of
 * allocations, the old block of a realloc) from being purged and faulted in
 * again; pages that idle arenas freed go. */
#define ARENA_RELIEF_OWED_MAX ((size_t)256 << 20)
#define ARENA_RELIEF_OWED_AGE_NS ((uint64_t)50 * 1000 * 1000)
#define ARENA_RELIEF_OWED_PERIOD_NS ((uint64_t)10 * 1000 * 1000)
#define ARENA_RELIEF_OWED_EVERY 16 /* a thread's flushes and frees per look (power of 2) */
/* When those are not enough and steals are off (opt.steal false), pages
 * inside the non-full slabs of bins that have not filled for ARENA_TRIM_IDLE
 * payments, all of whose regions are free, are purged too (slab trimming): a
 * region there is faulted in again, zero, when a fill hands it out. With
 * steals, the arenas that would grow take those slabs' free regions instead,
 * and trimming bought little memory for much time: a madvise and a TLB
 * shootdown per page or two, mostly faulted in again when the slab emptied
 * and was reused (docs/ARCHITECTURE.md "Slab trimming"). */
#define ARENA_TRIM_IDLE 2
#define ARENA_TRIM_BUDGET 4096 /* slabs a payment may look at */
/* opt.junk: new blocks (not zeroed ones) are filled with ARENA_JUNK_ALLOC,
 * freed ones with ARENA_JUNK_FREE (with junk, every block goes through the
 * arena: thread caches hold nothing). */
#define ARENA_JUNK_ALLOC 0xa5
#define ARENA_JUNK_FREE 0x5a
#define ARENA_XFER_CAP(size) ((size) * 8 >= ARENA_XFER_BYTES ? 8u : (uint32_t)(ARENA_XFER_BYTES / (size)))

typedef struct {
    mutex_t lock;
    extent_t *cur;     /* slab being allocated from (may be full) */
    extent_t *nonfull; /* other slabs with free regions */
    void **xfer;       /* transfer stack: freed regions not yet back in
                          their slab's bitmap, handed out first by fills */
    uint32_t nxfer, xfer_max;
    bool xfer_off;     /* set by a flush that found the stack full (and
                          emptied it), cleared by the next fill */
    uint8_t nover;     /* overflows since the last fill by the arena's own
                          threads (a steal is not one), capped (relaxed atomic) */
    uint64_t fill_epoch; /* arena_relief_epoch at the last fill (relaxed
                            atomic: owed relief reads it without the lock) */
    /* statistics */
    uint64_t nmalloc, ndalloc, nrequests, nfills, nflushes, nslabs;
    uint64_t nstolen; /* regions taken by other arenas' fills (arena_steal) */
    size_t curregs, curslabs, nonfull_slabs;
} __attribute__((aligned(64))) bin_t; /* own cache lines: bins of one arena are locked by different threads */

typedef struct {
    uint64_t nmalloc, ndalloc, nrequests; /* relaxed atomics */
    size_t curlextents;
} lstats_t;

typedef struct arena_s {
    pa_t pa; /* first member: an extent's pa is its arena */
    unsigned ind;
    unsigned nthreads; /* atomic */
    unsigned pins;     /* arena_pin_lock: arena_pin holders; a pinned record is not reused */
    bin_t bins[SC_NSMALL];
    void **xfer_mem; /* backing for every bin's xfer: from base, or a destroyed
                        arena's spare; set at creation, handed to the spare
                        list under arenas_lock at destroy */
    size_t parked;   /* bytes of regions on the bins' transfer stacks;
                        relaxed atomic, changed under the bin's lock */
    size_t trimmed;  /* pages of live slabs purged because all their regions
                        were free (extent_t.trimmed); relaxed atomic, changed
                        under the slab's bin lock */
    /* Marks on pa.grown (the resident growth of the page allocator), relaxed
     * atomics: its value at the last pressure drain (arena_fill,
     * arena_malloc_large) and at the last growth relief (claimed by
     * compare-and-swap); and the growth to wait for before the next pressure
     * drain (doubled after a drain that emptied few slabs). */
    size_t drain_mark, relief_mark, drain_gap;
    /* Last: the large classes' counters (6 KiB), touched only by an arena
     * that serves large blocks, so that the pages they alone cover stay
     * untouched (not resident) in the others, as in most of a many-threaded
     * program's automatic arenas. */
    lstats_t lstats[SC_NSIZES - SC_NSMALL];
} arena_t;

extern arena_t *arenas[ARENA_MAX];
extern unsigned arena_narenas_auto;

static inline arena_t *arena_of(const extent_t *e) { return (arena_t *)e->pa; }
static inline arena_t *arena_get(unsigned ind) {
    return ind < ARENA_MAX ? __atomic_load_n(&arenas[ind], __ATOMIC_ACQUIRE) : NULL;
}

bool arena_boot(void);
/* Total arenas created so far (automatic ones count from the start). */
unsigned arena_count(void);
/* New explicit arena; its index goes to *ind. NULL when out of memory. */
arena_t *arena_create(extent_hooks_t *hooks, unsigned *ind);
/* Automatic arena with the fewest threads (created on demand); attaches. */
arena_t *arena_choose(void);
void arena_attach(arena_t *a);
void arena_detach(arena_t *a);
static inline bool arena_is_auto(const arena_t *a) { return a->ind < arena_narenas_auto; }
/* Arena ind, created with hooks (NULL: the default ones) when it does not
 * exist and ind < arena_count() (thread.arena, arena.<i>.extent_hooks). */
arena_t *arena_get_or_create(unsigned ind, extent_hooks_t *hooks);
/* Arena ind (NULL if there is none), pinned: until arena_unpin, a destroy
 * of it may go on but its record is not reused by a new arena, so its locks
 * stay valid. For work on arenas named by index without holding a lock
 * across it (purges call extent hooks, which may call mallctl). */
arena_t *arena_pin(unsigned ind);
void arena_unpin(arena_t *a);
/* Frees every block of a (arena.<i>.reset); its pages become dirty. Blocks
 * of a still held in thread caches must have been flushed (as in jemalloc). */
void arena_reset(arena_t *a);
/* Hands all of a's memory back to its hooks and frees its index for reuse
 * by arena_create (arena.<i>.destroy). a is explicit, reset, has no threads. */
void arena_destroy(arena_t *a);

/* Puts the regions on the transfer stacks of every bin but skip (SC_NSMALL:
 * none skipped) back into their slabs, so that slabs can empty; returns the
 * bytes of the slabs that emptied and went back to the page allocator. */
size_t arena_drain_xfer(arena_t *a, unsigned skip);
/* Up to n regions of class ind into out[] (lowest address last, so that
 * popping from the end hands them out in address order). With stole
 * non-NULL (a thread's own cache filling for an automatic arena), regions of
 * donor bins of other arenas come before growing a: *stole tells whether
 * out[] holds any. */
unsigned arena_fill(arena_t *a, unsigned ind, void **out, unsigned n, uint64_t nrequests, bool *stole);
/* Returns n regions of small class ind, possibly owned by several arenas;
 * owner != NULL promises that they all belong to owner (checked blocks from
 * the thread's own cache), which lets them go onto its transfer stack
 * without a look at each one. */
void arena_flush(unsigned ind, void **items, unsigned n, uint64_t nrequests, arena_t *owner);
void *arena_malloc_small(arena_t *a, unsigned ind, bool zero);
void *arena_malloc_large(arena_t *a, unsigned ind, size_t align, bool zero);
/* Frees a block whose pagemap entry is e (any size); aborts on a bad free. */
void arena_dalloc(void *p, uintptr_t e);
void arena_dalloc_large(extent_t *ext);
/* In-place resize of a large block to class ind; true on success. */
bool arena_ralloc_large(extent_t *ext, unsigned ind, bool zero);
/* Huge block moved/grown by mremap; true on success. */
bool arena_ralloc_remap(extent_t *ext, unsigned ind);

_Noreturn void arena_bad_free(const void *p, uintptr_t e, const char *what);

void arena_prefork(void);
void arena_postfork_parent(void);
void arena_postfork_child(void);
#endif
