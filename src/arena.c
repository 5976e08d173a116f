#include "arena.h"
#include "base.h"
#include "conf.h"
#include "fmt.h"
#include "hooks.h"
#include "os.h"
#include "pagemap.h"
#include "slab.h"
#include <string.h>

arena_t *arenas[ARENA_MAX];
unsigned arena_narenas_auto;
static unsigned arena_total;                    /* arenas_lock; read relaxed */
static mutex_t arenas_lock = MUTEX_INITIALIZER; /* creation and choice */
/* Orders arena_pin with arena_new's reuse of a retired record (the pins
 * count and the arenas[] read). Taken inside extent hooks (a hook's
 * mallctl), so it nests inside every arena lock: last in the fork order. */
static mutex_t arena_pin_lock = MUTEX_INITIALIZER;
/* Destroyed arenas (arenas_lock): their records, kept for reuse at the same
 * index, and the indices arena_create hands out again, oldest first. */
static arena_t *arena_retired[ARENA_MAX];
/* Transfer-stack backing of destroyed arenas whose record could not be
 * retired (arenas_lock): a list linked through each block's first word. */
static void **arena_xfer_spare;
static unsigned arena_free_ind[ARENA_MAX], arena_nfree;

static arena_t *arena_new(unsigned ind, extent_hooks_t *hooks) {
    arena_t *a = arena_retired[ind];
    extent_t *recs = NULL;
    void **xm = NULL;
    mutex_lock(&arena_pin_lock);
    bool pinned = a && a->pins;
    mutex_unlock(&arena_pin_lock);
    if (pinned) a = NULL; /* still in use (arena_pin): a new record */
    if (a) { /* a destroyed arena's record: its extent records come along */
        arena_retired[ind] = NULL;
        recs = a->pa.rec_free;
        xm = a->xfer_mem;
        memset(a, 0, sizeof(*a));
    } else {
        a = base_alloc(sizeof(arena_t), 64);
    }
    if (!a) return NULL;
    if (!xm && arena_xfer_spare) {
        xm = arena_xfer_spare;
        arena_xfer_spare = *(void ***)xm;
    }
    if (!xm) {
        size_t total = 0;
        for (unsigned i = 0; i < SC_NSMALL; i++) total += ARENA_XFER_CAP(sc_size[i]);
        xm = base_alloc(total * sizeof(void *), 64);
        if (!xm) return NULL;
    }
    a->xfer_mem = xm;
    pa_init(&a->pa, ind, hooks);
    a->pa.rec_free = recs;
    a->ind = ind;
    for (unsigned i = 0; i < SC_NSMALL; i++) {
        bin_t *b = &a->bins[i];
        mutex_init(&b->lock);
        b->xfer = xm;
        b->xfer_max = ARENA_XFER_CAP(sc_size[i]);
        xm += b->xfer_max;
    }
    __atomic_store_n(&arenas[ind], a, __ATOMIC_RELEASE);
    return a;
}

bool arena_boot(void) {
    unsigned n = opt.narenas ? opt.narenas : 4 * os_ncpus();
    if (n > ARENA_MAX / 2) n = ARENA_MAX / 2;
    arena_narenas_auto = n;
    arena_total = n;
    return arena_new(0, &hooks_default) != NULL;
}

unsigned arena_count(void) { return __atomic_load_n(&arena_total, __ATOMIC_RELAXED); }

arena_t *arena_create(extent_hooks_t *hooks, unsigned *ind) {
    mutex_lock(&arenas_lock);
    arena_t *a = NULL;
    if (arena_nfree) {
        unsigned i = arena_free_ind[0];
        a = arena_new(i, hooks ? hooks : &hooks_default);
        if (a) {
            *ind = i;
            memmove(arena_free_ind, arena_free_ind + 1, --arena_nfree * sizeof(unsigned));
        }
    } else if (arena_total < ARENA_MAX) {
        a = arena_new(arena_total, hooks ? hooks : &hooks_default);
        if (a) {
            *ind = arena_total;
            __atomic_store_n(&arena_total, arena_total + 1, __ATOMIC_RELAXED);
        }
    }
    mutex_unlock(&arenas_lock);
    return a;
}

arena_t *arena_choose(void) {
    mutex_lock(&arenas_lock);
    arena_t *best = NULL;
    unsigned best_n = ~0u, best_i = 0;
    for (unsigned i = 0; i < arena_narenas_auto; i++) {
        arena_t *a = arenas[i];
        unsigned n = a ? __atomic_load_n(&a->nthreads, __ATOMIC_RELAXED) : 0;
        if (n < best_n) {
            best_n = n;
            best_i = i;
            best = a;
            if (n == 0) break;
        }
    }
    if (!best) best = arena_new(best_i, &hooks_default);
    if (!best) best = arenas[0];
    __atomic_fetch_add(&best->nthreads, 1, __ATOMIC_RELAXED);
    mutex_unlock(&arenas_lock);
    return best;
}

arena_t *arena_get_or_create(unsigned ind, extent_hooks_t *hooks) {
    arena_t *a = arena_get(ind);
    if (a || ind >= arena_count()) return a;
    mutex_lock(&arenas_lock);
    a = arenas[ind];
    if (!a) {
        for (unsigned i = 0; i < arena_nfree; i++) {
            if (arena_free_ind[i] != ind) continue;
            memmove(arena_free_ind + i, arena_free_ind + i + 1, (arena_nfree - i - 1) * sizeof(unsigned));
            arena_nfree--;
            break;
        }
        a = arena_new(ind, hooks ? hooks : &hooks_default);
    }
    mutex_unlock(&arenas_lock);
    return a;
}

arena_t *arena_pin(unsigned ind) {
    if (ind >= ARENA_MAX) return NULL;
    mutex_lock(&arena_pin_lock);
    arena_t *a = __atomic_load_n(&arenas[ind], __ATOMIC_ACQUIRE);
    if (a) a->pins++;
    mutex_unlock(&arena_pin_lock);
    return a;
}

void arena_unpin(arena_t *a) {
    mutex_lock(&arena_pin_lock);
    a->pins--;
    mutex_unlock(&arena_pin_lock);
}

void arena_attach(arena_t *a) { __atomic_fetch_add(&a->nthreads, 1, __ATOMIC_RELAXED); }
void arena_detach(arena_t *a) { __atomic_fetch_sub(&a->nthreads, 1, __ATOMIC_RELAXED); }

_Noreturn void arena_bad_free(const void *p, uintptr_t e, const char *what) {
    if (e && pm_szind1(e) == 0)
        fmt_fatal("%s(): double free or invalid pointer %p (its pages are free)", what, p);
    if (e) fmt_fatal("%s(): double free or invalid pointer %p", what, p);
    fmt_fatal("%s(): invalid pointer %p (not allocated by Mosaic, or inside a block already freed)", what, p);
}

/* ---- small ---- */
static uint64_t arena_relief_epoch; /* relaxed atomic: owed-relief payments so far */

/* Slab s's trimmed pages count as resident again (bin lock): a fill is about
 * to hand out its regions, or it goes back to the page allocator. */
static void bin_untrim_slab(arena_t *a, extent_t *s) {
    __atomic_fetch_sub(&a->trimmed, (size_t)__builtin_popcount(s->trimmed), __ATOMIC_RELAXED);
    s->trimmed = 0;
}

static void bin_list_remove(bin_t *b, extent_t *s) {
    if (s->prev) s->prev->next = s->next;
    else b->nonfull = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
    __atomic_store_n(&b->nonfull_slabs, b->nonfull_slabs - 1, __ATOMIC_RELAXED); /* a hint for trimming */
}

static void bin_list_push(bin_t *b, extent_t *s) {
    s->prev = NULL;
    s->next = b->nonfull;
    if (s->next) s->next->prev = s;
    b->nonfull = s;
    __atomic_store_n(&b->nonfull_slabs, b->nonfull_slabs + 1, __ATOMIC_RELAXED);
}

/* ---- growth relief ---- */
static unsigned arena_relief_cursor; /* relaxed atomic: where the next relief starts */
/* Growth the last reliefs could not match with dirty pages elsewhere, and the
 * arena whose growth it was (relaxed atomics; see ARENA_RELIEF_OWED_MAX). */
static size_t arena_relief_owed;
static arena_t *arena_relief_grower;
static uint64_t arena_relief_next_ns; /* the next payment may run from then on */

/* Automatic arena i when it exists, is not `except` and uses the default
 * hooks (relief purges only those); NULL otherwise. */
static arena_t *arena_relief_peer(unsigned i, const arena_t *except) {
    arena_t *o = arena_get(i);
    if (!o || o == except || !hooks_is_default(__atomic_load_n(&o->pa.hooks, __ATOMIC_ACQUIRE)))
        return NULL;
    return o;
}

/* Purges up to `bytes` of the oldest dirty pages of the automatic arenas
 * other than a that use the default hooks, arena by arena from where the
 * last relief stopped; what they could not give is owed (arena_relief_pay),
 * when there is another such arena to pay it some day. */
static __attribute__((noinline)) void arena_relieve(arena_t *a, size_t bytes) {
    unsigned n = arena_narenas_auto, start = __atomic_load_n(&arena_relief_cursor, __ATOMIC_RELAXED);
    bool others = false; /* an arena that could pay a debt later */
    for (unsigned k = 0; k < n && bytes; k++) {
        unsigned i = (start + k) % n;
        arena_t *o = arena_relief_peer(i, a);
        if (!o) continue;
        others = true;
        size_t got = pa_purge_dirty(&o->pa, bytes, 0);
        bytes = got >= bytes ? 0 : bytes - got;
        __atomic_store_n(&arena_relief_cursor, bytes ? i + 1 : i, __ATOMIC_RELAXED);
    }
    if (bytes && others) { /* nothing idle to give back now: owed */
        __atomic_store_n(&arena_relief_grower, a, __ATOMIC_RELAXED);
        size_t owed = __atomic_load_n(&arena_relief_owed, __ATOMIC_RELAXED), more;
        do
            more = owed + bytes > ARENA_RELIEF_OWED_MAX ? ARENA_RELIEF_OWED_MAX : owed + bytes;
        while (!__atomic_compare_exchange_n(&arena_relief_owed, &owed, more, false, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED));
    }
}

/* Purges, up to `want` pages, the pages of b's non-full slabs that hold no
 * region in use (regions on the transfer stack or in a cache count as in
 * use: their bitmap bits are clear), pages past the last region excepted
 * (never touched); consecutive pages in one call. Returns the pages purged.
 * Never the current slab: fills hand out regions only from it, and a slab
 * becomes current only after bin_untrim_slab. A slab whose free count has not
 * grown since it was last looked at (off the current slot, it only grows)
 * is passed over, and at most *budget slabs are looked at: a payment costs
 * what was freed since the last one, not the size of the heap. Called with
 * b's lock. */
static size_t bin_trim_locked(arena_t *a, bin_t *b, unsigned ind, size_t want, unsigned *budget) {
    const size_t size = sc_size[ind];
    const uint32_t nregs = sc_slab[ind].nregs, npages = sc_slab[ind].slab_pages;
    size_t done = 0;
    for (extent_t *s = b->nonfull; s && done < want && *budget; s = s->next) {
        if ((size_t)s->nfree * size < OS_PAGE || s->nfree == s->trim_seen) continue;
        s->trim_seen = s->nfree;
        --*budget;
        uint32_t run = 0; /* pages in the run ending before page j */
        for (uint32_t j = 0; j <= npages; j++) {
            bool freepage = false;
            if (j < npages && done + run < want && !(s->trimmed >> j & 1)) {
                uint32_t r0 = (uint32_t)(((size_t)j << OS_PAGE_SHIFT) / size);
                if (r0 < nregs) {
                    uint32_t r1 = (uint32_t)((((size_t)j + 1) << OS_PAGE_SHIFT) - 1) / (uint32_t)size;
                    freepage = slab_regions_free(s, r0, r1 < nregs ? r1 : nregs - 1);
                }
            }
            if (freepage) {
                run++;
                continue;
            }
            if (run && pa_trim_slab(&a->pa, s, (size_t)(j - run) << OS_PAGE_SHIFT,
                                    (size_t)run << OS_PAGE_SHIFT)) {
                s->trimmed |= (uint32_t)((((uint64_t)1 << run) - 1) << (j - run));
                __atomic_fetch_add(&a->trimmed, (size_t)run, __ATOMIC_RELAXED);
                done += run;
            }
            run = 0;
        }
    }
    return done;
}

/* Owed relief from slabs: the idle bins of o (no fill in the last
 * ARENA_TRIM_IDLE payments) trim up to `bytes`, looking at no more than
 * *budget slabs; returns the bytes trimmed. */
static size_t arena_trim_idle(arena_t *o, size_t bytes, uint64_t epoch, unsigned *budget) {
    size_t done = 0, want = bytes >> OS_PAGE_SHIFT;
    for (unsigned i = 0; i < SC_NSMALL && done < want && *budget; i++) {
        bin_t *b = &o->bins[i];
        if (!__atomic_load_n(&b->nonfull_slabs, __ATOMIC_RELAXED) ||
            epoch - __atomic_load_n(&b->fill_epoch, __ATOMIC_RELAXED) < ARENA_TRIM_IDLE)
            continue;
        mutex_lock(&b->lock);
        done += bin_trim_locked(o, b, i, want - done, budget);
        mutex_unlock(&b->lock);
    }
    return done << OS_PAGE_SHIFT;
}

/* While growth is owed, at most every ARENA_RELIEF_OWED_PERIOD_NS (claimed by
 * compare-and-swap), the automatic arenas with the default hooks other than
 * the last grower purge those of their dirty pages that have been dirty for
 * ARENA_RELIEF_OWED_AGE_NS, up to what is owed. Called with no lock held,
 * from any thread's flush or direct free: an idle arena's pages are purged
 * without the arena doing anything. */
static __attribute__((noinline)) void arena_relief_pay(void) {
    if (hooks_depth) return; /* a hook holds an arena's locks (see arena_relieve_check) */
    uint64_t now = os_now_ns(), next = __atomic_load_n(&arena_relief_next_ns, __ATOMIC_RELAXED);
    if (now < next || !__atomic_compare_exchange_n(&arena_relief_next_ns, &next,
                                                   now + ARENA_RELIEF_OWED_PERIOD_NS, false,
                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;
    uint64_t epoch = __atomic_add_fetch(&arena_relief_epoch, 1, __ATOMIC_RELAXED);
    arena_t *g = __atomic_load_n(&arena_relief_grower, __ATOMIC_RELAXED);
    size_t owed = __atomic_load_n(&arena_relief_owed, __ATOMIC_RELAXED), paid = 0;
    unsigned budget = ARENA_TRIM_BUDGET;
    /* Aged dirty pages first, then idle slabs; those only without steals,
     * which give such slabs' free regions to the arenas that would grow:
     * trimming them too then costs more than it saves (ARENA_TRIM_IDLE). */
    for (int pass = 0; pass < (opt.steal ? 1 : 2); pass++) {
        for (unsigned i = 0; i < arena_narenas_auto && paid < owed; i++) {
            arena_t *o = arena_relief_peer(i, g);
            if (!o) continue;
            paid += pass ? arena_trim_idle(o, owed - paid, epoch, &budget)
                         : pa_purge_dirty(&o->pa, owed - paid, ARENA_RELIEF_OWED_AGE_NS);
        }
    }
    while (paid && owed && !__atomic_compare_exchange_n(&arena_relief_owed, &owed,
                                                        paid >= owed ? 0 : owed - paid, false,
                                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Flushes and direct frees of this thread since a debt was last looked at:
 * a debt nothing can pay (the other arenas idle and small) may stay open for
 * good, and a look reads the clock. */
static __thread uint32_t arena_owed_ticks __attribute__((tls_model("initial-exec")));

static inline void arena_relief_owed_check(void) {
    if (unlikely(__atomic_load_n(&arena_relief_owed, __ATOMIC_RELAXED)) &&
        (++arena_owed_ticks & (ARENA_RELIEF_OWED_EVERY - 1)) == 0)
        arena_relief_pay();
}

/* After a takes memory: when its resident set has grown by ARENA_RELIEF_STEP
 * since the last relief, the other automatic arenas purge as much of their
 * dirty memory. Called with no lock held. */
static inline void arena_relieve_check(arena_t *a) {
    /* Not inside an extent hook: it holds another arena's locks, and relief
     * would take more arenas' locks in an order fork cannot follow. */
    if (unlikely(hooks_depth)) return;
    size_t g = __atomic_load_n(&a->pa.grown, __ATOMIC_RELAXED);
    size_t m = __atomic_load_n(&a->relief_mark, __ATOMIC_RELAXED);
    /* Signed: another thread's relief may have moved the mark past the
     * count read just before it (g < m); that is no growth, not 2^64. */
    if (likely((ptrdiff_t)(g - m) < (ptrdiff_t)ARENA_RELIEF_STEP) || !arena_is_auto(a)) return;
    if (__atomic_compare_exchange_n(&a->relief_mark, &m, g, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        arena_relieve(a, g - m);
}

/* (No locked add for nothing: fills from an empty transfer stack and flushes
 * past a full one move no parked bytes, and a locked add costs its latency
 * even then.) */
static inline void arena_parked_add(arena_t *a, ssize_t bytes) {
    if (bytes) __atomic_fetch_add(&a->parked, (size_t)bytes, __ATOMIC_RELAXED);
}

/* Whether a new slab or large block for this arena should first be sought
 * among resident pages, because other bins park enough regions that
 * draining them may empty slabs (own: bytes parked in the caller's bin). */
static inline bool arena_parked_elsewhere(arena_t *a, size_t own) {
    if (__atomic_load_n(&a->parked, __ATOMIC_RELAXED) < own + ARENA_DRAIN_MIN) return false;
    size_t grown = __atomic_load_n(&a->pa.grown, __ATOMIC_RELAXED);
    /* Signed, as in arena_relieve_check: a racing drain may set the mark
     * past the count just read. */
    ptrdiff_t since = (ptrdiff_t)(grown - __atomic_load_n(&a->drain_mark, __ATOMIC_RELAXED));
    return since >= (ptrdiff_t)__atomic_load_n(&a->drain_gap, __ATOMIC_RELAXED);
}

/* Drains the other bins because the arena is about to grow; adapts the gap
 * to the next drain to how much it gave back. Called with no lock held. */
static __attribute__((noinline)) void arena_drain_pressure(arena_t *a, unsigned skip) {
    size_t parked = __atomic_load_n(&a->parked, __ATOMIC_RELAXED);
    size_t freed = arena_drain_xfer(a, skip);
    size_t gap = __atomic_load_n(&a->drain_gap, __ATOMIC_RELAXED);
    if (freed * 8 >= parked) gap = 0;
    else gap = gap < ARENA_DRAIN_GAP0 ? ARENA_DRAIN_GAP0 : gap >= ARENA_DRAIN_GAPMAX / 2 ? ARENA_DRAIN_GAPMAX : 2 * gap;
    __atomic_store_n(&a->drain_gap, gap, __ATOMIC_RELAXED);
    __atomic_store_n(&a->drain_mark, __atomic_load_n(&a->pa.grown, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
}

/* Bins of automatic arenas that other arenas may take regions from (bin_t.nover
 * at least ARENA_DONOR_OVERFLOWS), per class, and where the last such take
 * found some (relaxed atomics: hints, read without a lock). */
static unsigned arena_ndonors[SC_NSMALL];
static unsigned arena_donor_hint[SC_NSMALL];

static inline bool bin_is_donor(const bin_t *b) {
    return __atomic_load_n(&b->nover, __ATOMIC_RELAXED) >= ARENA_DONOR_OVERFLOWS;
}

/* b's transfer stack overflowed (b's lock held): one step nearer a donor. */
static inline void bin_overflowed(arena_t *a, bin_t *b, unsigned ind) {
    if (b->nover == UINT8_MAX) return;
    __atomic_store_n(&b->nover, b->nover + 1, __ATOMIC_RELAXED);
    if (b->nover == ARENA_DONOR_OVERFLOWS && arena_is_auto(a))
        __atomic_fetch_add(&arena_ndonors[ind], 1, __ATOMIC_RELAXED);
}

/* The arena's own threads fill from b again (b's lock held): no donor. */
static inline void bin_filled_own(arena_t *a, bin_t *b, unsigned ind) {
    if (likely(!b->nover)) return;
    if (bin_is_donor(b) && arena_is_auto(a)) __atomic_fetch_sub(&arena_ndonors[ind], 1, __ATOMIC_RELAXED);
    __atomic_store_n(&b->nover, 0, __ATOMIC_RELAXED);
}

/* A fill of got regions from b, for nrequests requests (b's lock held). */
static inline void bin_count_fill(bin_t *b, unsigned got, uint64_t nrequests) {
    b->nmalloc += got;
    b->curregs += got;
    b->nrequests += nrequests;
    b->nfills++;
}

/* How bin_next_slab may find a slab once the non-full ones are used up. */
enum {
    SLAB_GROW,     /* map new memory when needed */
    SLAB_PRESSED,  /* the same, but resident pages only when other bins park
                      enough (then NULL with *stop set: drain and retry) */
    SLAB_RESIDENT, /* resident pages only (NULL with *stop set: none) */
    SLAB_NONE,     /* no new slab (a steal never grows the donor) */
};

/* The bin's next slab, or NULL (see the modes). */
static extent_t *bin_next_slab(arena_t *a, bin_t *b, unsigned ind, int mode, bool *stop) {
    extent_t *s = b->nonfull;
    if (s) {
        bin_list_remove(b, s);
        if (unlikely(s->trimmed)) bin_untrim_slab(a, s); /* its regions are handed out again */
        s->trim_seen = UINT32_MAX;                    /* and its free count may come back */
    } else {
        if (mode == SLAB_NONE) return NULL;
        size_t sz = (size_t)sc_slab[ind].slab_pages << OS_PAGE_SHIFT;
        bool resident = mode == SLAB_RESIDENT ||
                        (mode == SLAB_PRESSED && arena_parked_elsewhere(a, (size_t)b->nxfer * sc_size[ind]));
        s = pa_alloc(&a->pa, sz, OS_PAGE, false, true, ind, resident);
        if (!s) {
            if (resident) *stop = true;
            return NULL;
        }
        extent_slab_init(s, sc_slab[ind].nregs);
        b->nslabs++;
        b->curslabs++;
    }
    b->cur = s;
    return s;
}

/* Takes up to n free regions of b into out[0..got): slab regions first,
 * lowest address last (popped first); then recently freed regions from the
 * transfer stack on top, popped before them. Statistics are the caller's.
 * Called with b's lock. */
static inline __attribute__((always_inline)) unsigned bin_take_locked(arena_t *a, bin_t *b, unsigned ind,
                                                                      void **out, unsigned n, int mode,
                                                                      bool *stop) {
    size_t size = sc_size[ind];
    unsigned take = n < b->nxfer ? n : b->nxfer, k = n - take, got = 0;
    while (got < k) {
        extent_t *s = b->cur;
        if (!s || !s->nfree) {
            s = bin_next_slab(a, b, ind, mode, stop);
            if (!s) break;
        }
        got += slab_alloc_batch(s, size, out, k - got);
    }
    if (unlikely(got < k)) memmove(out, out + (k - got), got * sizeof(void *));
    b->nxfer -= take;
    arena_parked_add(a, -(ssize_t)(take * size));
    memcpy(out + got, b->xfer + b->nxfer, take * sizeof(void *));
    return got + take;
}

/* One locked pass over a's bin of class ind for a's own threads (see
 * bin_take_locked and the slab modes). */
static inline __attribute__((always_inline)) unsigned arena_fill_pass(arena_t *a, unsigned ind, void **out,
                                                                      unsigned n, uint64_t nrequests, int mode,
                                                                      bool *stop) {
    bin_t *b = &a->bins[ind];
    mutex_lock(&b->lock);
    b->xfer_off = false; /* frees no longer outrun fills */
    bin_filled_own(a, b, ind);
    __atomic_store_n(&b->fill_epoch, __atomic_load_n(&arena_relief_epoch, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    unsigned got = bin_take_locked(a, b, ind, out, n, mode, stop);
    if (unlikely(!got && *stop)) { /* nothing taken: the retry counts it */
        mutex_unlock(&b->lock);
        return 0;
    }
    bin_count_fill(b, got, nrequests);
    mutex_unlock(&b->lock);
    return got;
}

/* Takes up to n free regions of class ind from donor bins of the other
 * automatic arenas that use the default hooks (never growing them), only
 * where the bin's lock is free at once. The requests count in the first
 * donor that gives regions. */
static __attribute__((noinline)) unsigned arena_steal(arena_t *a, unsigned ind, void **out, unsigned n,
                                                      uint64_t nrequests) {
    unsigned na = arena_narenas_auto, got = 0;
    unsigned i = __atomic_load_n(&arena_donor_hint[ind], __ATOMIC_RELAXED);
    for (unsigned k = 0; k < na && got < n; k++, i = i + 1 < na ? i + 1 : 0) {
        arena_t *o = arena_relief_peer(i, a);
        if (!o) continue;
        bin_t *b = &o->bins[ind];
        if (!bin_is_donor(b) || !mutex_trylock(&b->lock)) continue;
        unsigned g = 0;
        if (bin_is_donor(b)) /* (still, now under the lock; its transfer stack is off) */
            g = bin_take_locked(o, b, ind, out + got, n - got, SLAB_NONE, NULL);
        if (g) {
            bin_count_fill(b, g, got ? 0 : nrequests);
            b->nstolen += g;
        }
        mutex_unlock(&b->lock);
        if (g) __atomic_store_n(&arena_donor_hint[ind], i, __ATOMIC_RELAXED);
        got += g;
    }
    return got;
}

/* The first passes of arena_fill while class ind has donors: the arena's
 * own regions and resident pages first; where it would grow, donors' free
 * regions; then a pass that may grow it (*stop as arena_fill_pass's). */
static __attribute__((noinline)) unsigned arena_fill_donors(arena_t *a, unsigned ind, void **out, unsigned n,
                                                            uint64_t nrequests, bool *stole, bool *stop) {
    unsigned got = arena_fill_pass(a, ind, out, n, nrequests, SLAB_RESIDENT, stop);
    if (!*stop) return got;
    unsigned g = arena_steal(a, ind, out + got, n - got, got ? 0 : nrequests);
    *stole = g != 0;
    got += g;
    *stop = false;
    if (got < n) got += arena_fill_pass(a, ind, out + got, n - got, got ? 0 : nrequests, SLAB_PRESSED, stop);
    return got;
}

unsigned arena_fill(arena_t *a, unsigned ind, void **out, unsigned n, uint64_t nrequests, bool *stole) {
    bool stop = false;
    unsigned got;
    /* (no steal when the program chose where this arena's memory comes from) */
    if (unlikely(stole && __atomic_load_n(&arena_ndonors[ind], __ATOMIC_RELAXED)) &&
        hooks_is_default(__atomic_load_n(&a->pa.hooks, __ATOMIC_ACQUIRE)))
        got = arena_fill_donors(a, ind, out, n, nrequests, stole, &stop);
    else
        got = arena_fill_pass(a, ind, out, n, nrequests, SLAB_PRESSED, &stop);
    if (unlikely(stop)) {
        arena_drain_pressure(a, ind);
        got += arena_fill_pass(a, ind, out + got, n - got, got ? 0 : nrequests, SLAB_GROW, &stop);
    }
    arena_relieve_check(a);
    return got;
}

/* Regions went back into slab s, whose free count was `old` before: keep
 * the slab lists right. Cold: only when the slab was full or is now empty
 * (never for the bin's current slab). */
static __attribute__((noinline)) void bin_slab_transition(arena_t *a, bin_t *b, unsigned ind,
                                                          extent_t *s, uint32_t old) {
    if (s->nfree == sc_slab[ind].nregs) {
        if (old) bin_list_remove(b, s);
        b->curslabs--;
        if (s->trimmed) bin_untrim_slab(a, s);
        pa_dalloc(&a->pa, s);
    } else if (!old) {
        bin_list_push(b, s);
    }
}

/* Returns p to slab s; the caller updates ndalloc/curregs. */
static inline void bin_free_region(arena_t *a, bin_t *b, unsigned ind, extent_t *s, void *p) {
    if (unlikely(!slab_free_one(s, ind, p))) arena_bad_free(p, pm_entry(s, true, ind + 1), "free");
    uint32_t nf = s->nfree;
    if (unlikely((nf == 1 || nf == sc_slab[ind].nregs) && s != b->cur))
        bin_slab_transition(a, b, ind, s, nf - 1);
}

static void bin_free_locked(arena_t *a, bin_t *b, unsigned ind, extent_t *s, void *p) {
    bin_free_region(a, b, ind, s, p);
    b->ndalloc++;
    b->curregs--;
}

static inline extent_t *arena_flush_lookup(void *p, unsigned ind) {
    uintptr_t v = pagemap_lookup(p);
    if (unlikely(pm_szind1(v) != ind + 1 || !pm_is_slab(v))) arena_bad_free(p, v, "free");
    return pm_extent(v);
}

/* The end of a flush's run of `run` regions into slab s. */
static inline void bin_run_end(arena_t *a, bin_t *b, unsigned ind, extent_t *s, uint32_t run,
                               const extent_t *cur, uint32_t nregs) {
    uint32_t old = s->nfree;
    s->nfree = old + run;
    if (unlikely((!old || old + run == nregs) && s != cur))
        bin_slab_transition(a, b, ind, s, old);
}

/*
 * Marks v[0..n) free in their slabs' bitmaps. Blocks are mostly freed in
 * about the order they were handed out, so consecutive blocks tend to share
 * a bitmap word and a slab: the word being updated stays in a register,
 * and a block inside the word's window (the 64 regions it covers) needs
 * neither a pagemap lookup nor a reload; only a block outside it looks up
 * its word, and only one outside the slab's window (its first nregs * size
 * bytes) its slab. A run of one slab's blocks adds to the slab's free count,
 * and fixes its list position, once, at its end. With foreign non-NULL,
 * blocks of other arenas are compacted into foreign[] (counted in
 * *nforeign) for the caller; without, all of v[] must belong to a. Called
 * with b's lock.
 */
static inline void bin_free_regions(arena_t *a, bin_t *b, unsigned ind, void **v, unsigned n,
                                    void **foreign, unsigned *nforeign) {
    const size_t size = sc_size[ind];
    const uint64_t divc = sc_slab[ind].divc;
    const uint32_t nregs = sc_slab[ind].nregs;
    const uintptr_t span = (uintptr_t)nregs * size, wfull = 64 * (uintptr_t)size;
    extent_t *const cur = b->cur;
    extent_t *s = NULL;       /* the run's slab; while set, `word` is held */
    uintptr_t base = 0;       /* s->addr */
    uintptr_t wbase = 0, wspan = 0; /* the held word's window: none yet */
    uint32_t wi = 0;          /* the held word's index in s->bitmap */
    uint64_t word = 0;
    void **start = v;         /* the run's first block (less foreign ones) */
    for (void **q = v, **end = v + n; q != end; q++) {
        void *p = *q;
        uintptr_t off = (uintptr_t)p - wbase;
        if (likely(off < wspan)) {
            /* off / size is the region's bit in the word (the window starts
             * at a region: off is a region start when its offset in the
             * slab is) */
            bool exact;
            uint64_t bit = sc_slab_div(divc, off, &exact);
            if (unlikely(!exact || os_bit_test_set(&word, bit)))
                arena_bad_free(p, pm_entry(s, true, ind + 1), "free");
            continue;
        }
        /* Another word: this one's block is done here, whole. */
        if (s) s->bitmap[wi] = word; /* before the run's end can give s back */
        off = (uintptr_t)p - base;
        if (!s || off >= span) {
            extent_t *t = arena_flush_lookup(p, ind);
            if (foreign && unlikely(t->pa != &a->pa)) {
                foreign[(*nforeign)++] = p;
                start++;
                continue; /* (the held word is stored: storing it again is harmless) */
            }
            off = (uintptr_t)p - t->addr;
            if (unlikely(off >= span)) arena_bad_free(p, pm_entry(t, true, ind + 1), "free");
            if (s) bin_run_end(a, b, ind, s, (uint32_t)(q - start), cur, nregs);
            start = q;
            s = t;
            base = s->addr;
        }
        bool exact;
        uint32_t idx = (uint32_t)sc_slab_div(divc, off, &exact); /* off < span < 2^32 */
        wi = idx / 64;
        word = s->bitmap[wi];
        if (unlikely(!exact || os_bit_test_set(&word, idx % 64)))
            arena_bad_free(p, pm_entry(s, true, ind + 1), "free");
        wbase = (uintptr_t)p - (uintptr_t)(idx % 64) * size;
        wspan = span - (wbase - base); /* the slab's last word covers fewer */
        if (wspan > wfull) wspan = wfull;
    }
    if (s) {
        s->bitmap[wi] = word;
        bin_run_end(a, b, ind, s, (uint32_t)(v + n - start), cur, nregs);
    }
}

/* Empties b's transfer stack into the slabs (the stats already count its
 * regions as freed). */
static void bin_drain_xfer_locked(arena_t *a, bin_t *b, unsigned ind) {
    arena_parked_add(a, -(ssize_t)(b->nxfer * sc_size[ind]));
    bin_free_regions(a, b, ind, b->xfer, b->nxfer, NULL, NULL);
    b->nxfer = 0;
}

/*
 * Returns freed blocks to their arenas' bins: onto the transfer stack while
 * it has room, into the slabs' bitmaps after that. A flush that finds the
 * stack full also empties the stack into the slabs and switches it off
 * until the bin's next fill: a bin whose frees outrun its fills (a
 * structure torn down, a phase of frees) gets its slabs back whole, so the
 * next fills hand regions out in address order rather than the stack's
 * stale remainder first, and emptied slabs can go back to the pages.
 */
void arena_flush(unsigned ind, void **items, unsigned n, uint64_t nrequests, arena_t *owner) {
    const size_t size = sc_size[ind];
    const uintptr_t span = (uintptr_t)sc_slab[ind].nregs * size;
    bool first = true;
    /* One pass per owning arena (usually one): regions of other arenas are
     * compacted to the front of items[] for the next pass. */
    while (n) {
        extent_t *s = NULL;
        arena_t *a = owner;
        const bool trusted = owner != NULL;
        uintptr_t base = 0; /* no slab yet: the first window check fails */
        if (!trusted) {
            s = arena_flush_lookup(items[0], ind);
            a = arena_of(s);
            base = s->addr;
        }
        owner = NULL; /* a second pass (other arenas' blocks) checks each */
        bin_t *b = &a->bins[ind];
        unsigned i = 0, j = 0;
        mutex_lock(&b->lock);
        /* Onto the transfer stack while it has room: only ownership matters. */
        uint32_t nx = b->nxfer;
        const uint32_t xmax = b->xfer_off ? nx : b->xfer_max;
        void **xfer = b->xfer;
        if (trusted) {
            i = n < xmax - nx ? n : xmax - nx;
            memcpy(xfer + nx, items, i * sizeof(void *));
            nx += i;
        }
        while (i < n && nx < xmax) {
            /* As many blocks as there is room for; one of another arena
             * takes none, so the room left is looked at again after. */
            void **q = items + i, **x = xfer + nx;
            void **const qend = q + (n - i < xmax - nx ? n - i : xmax - nx);
            for (; q != qend; q++) {
                void *p = *q;
                if (unlikely((uintptr_t)p - base >= span)) {
                    extent_t *t = arena_flush_lookup(p, ind);
                    if (unlikely(t->pa != &a->pa)) {
                        items[j++] = p;
                        continue;
                    }
                    s = t;
                    base = s->addr;
                }
                *x++ = p;
            }
            i = (unsigned)(qend - items);
            nx = (uint32_t)(x - xfer);
        }
        arena_parked_add(a, (ssize_t)((nx - b->nxfer) * size));
        b->nxfer = nx;
        if (i < n) { /* overflow */
            if (nx) bin_drain_xfer_locked(a, b, ind); /* (off: the stack is empty) */
            b->xfer_off = true;
            bin_overflowed(a, b, ind);
            bin_free_regions(a, b, ind, items + i, n - i, items, &j);
        }
        unsigned freed = n - j;
        b->ndalloc += freed;
        b->curregs -= freed;
        b->nflushes++;
        if (first) b->nrequests += nrequests;
        first = false;
        mutex_unlock(&b->lock);
        arena_relief_owed_check();
        n = j;
    }
}

void *arena_malloc_small(arena_t *a, unsigned ind, bool zero) {
    void *p;
    if (!arena_fill(a, ind, &p, 1, 1, NULL)) return NULL;
    if (zero) memset(p, 0, sc_size[ind]);
    return p;
}

size_t arena_drain_xfer(arena_t *a, unsigned skip) {
    size_t released = 0;
    for (unsigned i = 0; i < SC_NSMALL; i++) {
        bin_t *b = &a->bins[i];
        if (i == skip) continue;
        mutex_lock(&b->lock);
        size_t slabs = b->curslabs; /* a drain only gives slabs back */
        bin_drain_xfer_locked(a, b, i);
        released += (slabs - b->curslabs) * ((size_t)sc_slab[i].slab_pages << OS_PAGE_SHIFT);
        mutex_unlock(&b->lock);
    }
    return released;
}

/* ---- large ---- */
void *arena_malloc_large(arena_t *a, unsigned ind, size_t align, bool zero) {
    extent_t *e = NULL;
    if (arena_parked_elsewhere(a, 0)) {
        e = pa_alloc(&a->pa, sc_size[ind], align, zero, false, ind, true);
        if (!e) arena_drain_pressure(a, SC_NSMALL);
    }
    if (!e) e = pa_alloc(&a->pa, sc_size[ind], align, zero, false, ind, false);
    if (!e) return NULL;
    arena_relieve_check(a);
    lstats_t *ls = &a->lstats[ind - SC_NSMALL];
    __atomic_fetch_add(&ls->nmalloc, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ls->nrequests, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ls->curlextents, 1, __ATOMIC_RELAXED);
    return (void *)e->addr;
}

void arena_dalloc_large(extent_t *e) {
    arena_t *a = arena_of(e);
    lstats_t *ls = &a->lstats[e->szind - SC_NSMALL];
    __atomic_fetch_add(&ls->ndalloc, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&ls->curlextents, 1, __ATOMIC_RELAXED);
    pa_dalloc(&a->pa, e);
    arena_relief_owed_check();
}

void arena_dalloc(void *p, uintptr_t v) {
    unsigned s1 = pm_szind1(v);
    if (!s1) arena_bad_free(p, v, "free");
    extent_t *e = pm_extent(v);
    if (pm_is_slab(v)) {
        arena_t *a = arena_of(e);
        bin_t *b = &a->bins[s1 - 1];
        mutex_lock(&b->lock);
        if (unlikely(opt.junk)) { /* before the free: it may hand the slab's pages back */
            if (!slab_is_allocated(e, s1 - 1, p)) arena_bad_free(p, v, "free");
            memset(p, ARENA_JUNK_FREE, sc_size[s1 - 1]);
        }
        bin_free_locked(a, b, s1 - 1, e, p);
        mutex_unlock(&b->lock);
        arena_relief_owed_check();
    } else {
        if ((uintptr_t)p != e->addr) arena_bad_free(p, v, "free");
        if (unlikely(opt.junk)) memset(p, ARENA_JUNK_FREE, sc_size[s1 - 1]);
        arena_dalloc_large(e);
    }
}

static void lstats_move(arena_t *a, unsigned from, unsigned to) {
    lstats_t *f = &a->lstats[from - SC_NSMALL], *t = &a->lstats[to - SC_NSMALL];
    __atomic_fetch_add(&f->ndalloc, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&f->curlextents, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->nmalloc, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->nrequests, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->curlextents, 1, __ATOMIC_RELAXED);
}

bool arena_ralloc_large(extent_t *e, unsigned ind, bool zero) {
    arena_t *a = arena_of(e);
    unsigned old = e->szind;
    size_t newsize = sc_size[ind];
    if (newsize == e->size) return true;
    bool ok = newsize < e->size ? pa_shrink(&a->pa, e, newsize, ind)
                                : pa_grow(&a->pa, e, newsize, ind, zero);
    if (ok) {
        lstats_move(a, old, ind);
        arena_relieve_check(a);
    }
    return ok;
}

bool arena_ralloc_remap(extent_t *e, unsigned ind) {
    arena_t *a = arena_of(e);
    unsigned old = e->szind;
    if (!pa_remap(&a->pa, e, sc_size[ind], ind)) return false;
    lstats_move(a, old, ind);
    arena_relieve_check(a);
    return true;
}

/* ---- reset / destroy ---- */
void arena_reset(arena_t *a) {
    /* Every slab and large block is on the page allocator's active list:
     * forget the bins' slabs, then return every active extent. */
    for (unsigned i = 0; i < SC_NSMALL; i++) {
        bin_t *b = &a->bins[i];
        mutex_lock(&b->lock);
        b->ndalloc += b->curregs;
        b->curregs = 0;
        arena_parked_add(a, -(ssize_t)(b->nxfer * sc_size[i]));
        b->nxfer = 0;
        b->xfer_off = false;
        b->curslabs = 0;
        __atomic_store_n(&b->nonfull_slabs, 0, __ATOMIC_RELAXED);
        b->cur = NULL;
        b->nonfull = NULL;
        mutex_unlock(&b->lock);
    }
    __atomic_store_n(&a->trimmed, 0, __ATOMIC_RELAXED); /* every slab is forgotten */
    extent_t *e;
    while ((e = pa_active_first(&a->pa)) != NULL) {
        if (!e->slab) {
            lstats_t *ls = &a->lstats[e->szind - SC_NSMALL];
            __atomic_fetch_add(&ls->ndalloc, 1, __ATOMIC_RELAXED);
            __atomic_fetch_sub(&ls->curlextents, 1, __ATOMIC_RELAXED);
        }
        pa_dalloc(&a->pa, e);
    }
}

void arena_destroy(arena_t *a) {
    pa_release_all(&a->pa, true);
    mutex_lock(&arenas_lock);
    unsigned ind = a->ind;
    __atomic_store_n(&arenas[ind], NULL, __ATOMIC_RELEASE);
    /* Reuse the record only if the hooks took every page back: records of
     * pages they kept would otherwise look like the new arena's. */
    arena_t *old = arena_retired[ind]; /* one arena_new passed over: still pinned then */
    if (a->pa.mapped_total == 0) arena_retired[ind] = a;
    else old = a; /* the record stays with the kept pages; its stacks' memory need not */
    if (old && old->xfer_mem) { /* (a drained stack: nothing reads that memory) */
        *(void ***)old->xfer_mem = arena_xfer_spare;
        arena_xfer_spare = old->xfer_mem;
        old->xfer_mem = NULL;
    }
    arena_free_ind[arena_nfree++] = ind;
    mutex_unlock(&arenas_lock);
}

/* ---- fork ---- */
/* Lock order: arenas_lock; every arena's bins then page allocator, arena 0
 * last (an extent hook of arena X allocates from arena 0 with X's locks
 * held: X before 0); arena_pin_lock (a hook's mallctl pins with its
 * arena's locks held). */
void arena_prefork(void) {
    mutex_prefork(&arenas_lock);
    for (unsigned k = 1; k <= ARENA_MAX; k++) {
        arena_t *a = arenas[k % ARENA_MAX]; /* 1, 2, ..., 0 */
        if (!a) continue;
        for (unsigned j = 0; j < SC_NSMALL; j++) mutex_prefork(&a->bins[j].lock);
        pa_prefork(&a->pa);
    }
    mutex_prefork(&arena_pin_lock);
}

void arena_postfork_parent(void) {
    mutex_postfork_parent(&arena_pin_lock);
    for (unsigned i = 0; i < ARENA_MAX; i++) {
        arena_t *a = arenas[i];
        if (!a) continue;
        pa_postfork_parent(&a->pa);
        for (unsigned j = 0; j < SC_NSMALL; j++) mutex_postfork_parent(&a->bins[j].lock);
    }
    mutex_postfork_parent(&arenas_lock);
}

void arena_postfork_child(void) {
    mutex_postfork_child(&arena_pin_lock);
    for (unsigned i = 0; i < ARENA_MAX; i++) {
        arena_t *a = arenas[i];
        if (!a) continue;
        pa_postfork_child(&a->pa);
        for (unsigned j = 0; j < SC_NSMALL; j++) mutex_postfork_child(&a->bins[j].lock);
        a->nthreads = 0;
    }
    mutex_postfork_child(&arenas_lock);
}
