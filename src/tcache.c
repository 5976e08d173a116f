#include "tcache.h"
#include "hooks.h"
#include "base.h"
#include "conf.h"
#include "fmt.h"
#include "pagemap.h"
#include <pthread.h>
#include <string.h>

#define TC_GC_PERIOD 64 /* slow-path events between collections */
#define TC_EXPLICIT_MAX 1024

__thread tcache_t tc_tls __attribute__((tls_model("initial-exec")));

static pthread_key_t tc_key;
static uint32_t tc_cap[TC_NBINS]; /* per-class capacity (init-time constant) */
static uint32_t tc_rcap[SC_NSMALL]; /* remote-stack capacity per small class */
static size_t tc_stack_bytes;

static mutex_t tc_lock = MUTEX_INITIALIZER; /* the two tables below */
static void *tc_pool;                       /* free stack blocks, linked by first word */
static tcache_t *tc_explicit[TC_EXPLICIT_MAX];

static uint32_t tcache_cap_for(unsigned ind) {
    size_t s = sc_size[ind];
    if (!opt.tcache || opt.junk || s > opt.tcache_max) return 0; /* junk: see ARENA_JUNK_ALLOC */
    if (ind >= SC_NSMALL) return 8;
    if (s <= 128) return 256;
    if (s <= 1024) return 64;
    if (s <= 4096) return 32;
    return 16;
}

static void tcache_thread_exit(void *arg);

bool tcache_boot(void) {
    if (pthread_key_create(&tc_key, tcache_thread_exit) != 0) return false;
    tc_stack_bytes = 0;
    for (unsigned i = 0; i < TC_NBINS; i++) {
        tc_cap[i] = tcache_cap_for(i);
        tc_stack_bytes += tc_cap[i] * sizeof(void *);
        if (i < SC_NSMALL) {
            tc_rcap[i] = tc_cap[i] < 128 ? tc_cap[i] : 128;
            tc_stack_bytes += tc_rcap[i] * sizeof(void *);
        }
    }
    if (tc_stack_bytes < sizeof(void *)) tc_stack_bytes = sizeof(void *);
    return true;
}

static bool tcache_stacks_attach(tcache_t *tc) {
    mutex_lock(&tc_lock);
    void *mem = tc_pool;
    if (mem) tc_pool = *(void **)mem;
    mutex_unlock(&tc_lock);
    if (!mem) mem = base_alloc(tc_stack_bytes, 64);
    if (!mem) return false;
    tc->stack_mem = mem;
    void **s = mem;
    for (unsigned i = 0; i < TC_NBINS; i++) {
        tc->low[i] = tc->top[i] = s;
        s += tc_cap[i];
        tc->high[i] = s;
    }
    for (unsigned i = 0; i < SC_NSMALL; i++) {
        tc->rlow[i] = tc->rtop[i] = s;
        s += tc_rcap[i];
        tc->rhigh[i] = s;
        tc->rtag_or[i] = 0;
        tc->rtag_and[i] = 0xff;
    }
    tc->state = TC_ACTIVE;
    return true;
}

static void tcache_stacks_detach(tcache_t *tc) {
    for (unsigned i = 0; i < TC_NBINS; i++) tc->low[i] = tc->top[i] = tc->high[i] = NULL;
    for (unsigned i = 0; i < SC_NSMALL; i++) tc->rlow[i] = tc->rtop[i] = tc->rhigh[i] = NULL;
    void *mem = tc->stack_mem;
    tc->stack_mem = NULL;
    if (!mem) return;
    mutex_lock(&tc_lock);
    *(void **)mem = tc_pool;
    tc_pool = mem;
    mutex_unlock(&tc_lock);
}

/* The tag of the thread's arena, and the fast path's base (tcache_free_fast):
 * with the shared tag the base is above every entry's top 16 bits, so each
 * free takes the slow path, which looks at the block's record. */
static void tcache_set_tag(tcache_t *tc) {
    tc->tag = pm_arena_tag(tc->arena->ind);
    tc->tagbase = tc->tag == PM_TAG_SHARED ? (uintptr_t)1 << 16 : (tc->tag << 8) + 1;
}

tcache_t *tcache_get(void) {
    tcache_t *tc = &tc_tls;
    if (likely(tc->state != TC_UNINIT)) return tc;
    tc->is_tls = true;
    tc->arena = arena_choose(); /* (automatic) */
    tcache_set_tag(tc);
    tc->may_steal = opt.steal;
    tc->state = TC_BYPASS;
    if (opt.tcache && !opt.junk) tcache_stacks_attach(tc);
    pthread_setspecific(tc_key, tc);
    return tc;
}

arena_t *tcache_arena(tcache_t *tc) { return tc->arena ? tc->arena : tcache_get()->arena; }

void tcache_set_arena(tcache_t *tc, arena_t *a) {
    if (tc->arena == a) return;
    tcache_flush(tc);
    if (tc->is_tls && tc->state != TC_EXITED) { /* an exited thread counts nowhere */
        arena_detach(tc->arena);
        arena_attach(a);
    }
    tc->arena = a;
    tcache_set_tag(tc);
    tc->may_steal = false; /* the program chose the arena (thread.arena) */
}

/*
 * A bin is frozen while the arena works on its stack (a flush reads it, a
 * fill writes it): the arena may call an extent hook, and a hook may
 * allocate or free on this thread (hooks.h). With top == high == low both
 * fast paths miss, and the slow paths bypass the cache while hooks_depth
 * is raised, so nothing touches the stack until it is thawed.
 */
static inline void **tcache_bin_freeze(tcache_t *tc, unsigned ind) {
    void **high = tc->high[ind];
    tc->top[ind] = tc->high[ind] = tc->low[ind];
    return high;
}

/* Returns the n oldest blocks of bin ind (the bottom of its stack). */
static void tcache_bin_flush(tcache_t *tc, unsigned ind, unsigned n) {
    void **low = tc->low[ind];
    uint32_t nc = tcache_ncached(tc, ind);
    if (n > nc) n = nc;
    void **high = tcache_bin_freeze(tc, ind);
    if (ind < SC_NSMALL) {
        bool trusted = tc->is_tls && !tc->foreign[ind]; /* every block passed tcache_owns */
        arena_flush(ind, low, n, tc->nalloc[ind] - tc->merged[ind], trusted ? tc->arena : NULL);
        tc->merged[ind] = tc->nalloc[ind];
    } else {
        for (unsigned i = 0; i < n; i++) {
            uintptr_t v = pagemap_lookup(low[i]);
            extent_t *e = pm_extent(v);
            if (pm_is_slab(v) || pm_szind1(v) != ind + 1 || (uintptr_t)low[i] != e->addr)
                arena_bad_free(low[i], v, "free");
            arena_dalloc_large(e);
        }
    }
    memmove(low, low + n, (nc - n) * sizeof(void *));
    tc->top[ind] = low + (nc - n);
    tc->high[ind] = high;
    tc->nflushed[ind] += n;
}

static inline uint32_t tcache_nremote_cached(const tcache_t *tc, unsigned ind) {
    return (uint32_t)(tc->rtop[ind] - tc->rlow[ind]);
}

static void tcache_remote_flush(tcache_t *tc, unsigned ind) {
    void **low = tc->rlow[ind], **high = tc->rhigh[ind];
    uint32_t n = tcache_nremote_cached(tc, ind);
    tc->rtop[ind] = tc->rhigh[ind] = low; /* frozen, as a bin (tcache_bin_freeze) */
    /* One owner, known from the tags the frees saw: no lookup per block.
     * Only an automatic arena's (its tag is its index): those are never
     * destroyed, while an explicit arena's index can be handed out again,
     * and blocks left here from before its destroy (a program that did not
     * flush this cache first) must meet the checked path's lookup. */
    unsigned tag = tc->rtag_or[ind];
    arena_t *owner = tag == tc->rtag_and[ind] && tag != PM_TAG_SHARED ? arena_get(tag) : NULL;
    if (owner && !arena_is_auto(owner)) owner = NULL;
    tc->rtag_or[ind] = 0;
    tc->rtag_and[ind] = 0xff;
    arena_flush(ind, low, n, 0, owner);
    tc->rhigh[ind] = high;
}

void tcache_dalloc_direct(tcache_t *tc, void *p, uintptr_t e) {
    unsigned s1 = pm_szind1(e);
    if (!s1) arena_bad_free(p, e, "free");
    tc->direct_free_bytes += sc_size[s1 - 1];
    arena_dalloc(p, e);
}

void tcache_defer_free(tcache_t *tc, void *p, uintptr_t e) {
    unsigned s1 = pm_szind1(e);
    if (!s1) arena_bad_free(p, e, "free"); /* checked now, not when drained */
    if (likely(tc->ndeferred < TC_DEFER_MAX)) {
        /* A thread without its exit hook (its cache never set up, or its
         * exit hook already run, by a later key's destructor) gets it set
         * again (tc_key is one of the process's first keys, so this stores
         * a pointer and allocates nothing). */
        if (tc == &tc_tls && (tc->state == TC_UNINIT || tc->state == TC_EXITED) && !tc->ndeferred)
            pthread_setspecific(tc_key, tc);
        tc->deferred[tc->ndeferred++] = p;
        return;
    }
    tcache_dalloc_direct(tc, p, e);
}

void tcache_drain_deferred(tcache_t *tc) {
    while (tc->ndeferred && !hooks_depth) { /* a hook a free sets off may defer more */
        void *p = tc->deferred[--tc->ndeferred];
        tcache_dalloc_direct(tc, p, pagemap_lookup(p));
    }
}

/* Empties every bin and remote stack. Passes repeat until one finds them all
 * empty: an extent hook that a flush sets off may allocate and free on this
 * thread, into a bin already flushed (a pass that flushes nothing calls no
 * hook). Callers rely on the cache being empty after it (arena change, exit). */
void tcache_flush(tcache_t *tc) {
    bool again = true;
    while (again) {
        again = false;
        if (tc->ndeferred && !hooks_depth) {
            tcache_drain_deferred(tc);
            again = true;
        }
        for (unsigned i = 0; i < TC_NBINS; i++) {
            if (!tcache_ncached(tc, i)) continue;
            tcache_bin_flush(tc, i, tcache_ncached(tc, i));
            again = true;
        }
        for (unsigned i = 0; i < SC_NSMALL; i++) {
            if (!tcache_nremote_cached(tc, i)) continue;
            tcache_remote_flush(tc, i);
            again = true;
        }
    }
}

/* Every TC_GC_PERIOD slow-path events, bins that needed no refill since the
 * last collection give back half of what they hold. */
static void tcache_gc_tick(tcache_t *tc) {
    if (++tc->gc_ticks < TC_GC_PERIOD) return;
    tc->gc_ticks = 0;
    for (unsigned i = 0; i < TC_NBINS; i++) {
        uint32_t nc = tcache_ncached(tc, i);
        if (!tc->gc_filled[i] && nc > 1) tcache_bin_flush(tc, i, nc / 2);
        tc->gc_filled[i] = 0;
        if (i < SC_NSMALL && tcache_nremote_cached(tc, i)) tcache_remote_flush(tc, i);
    }
}

void *tcache_alloc_slow(tcache_t *tc, unsigned ind) {
    arena_t *a = tcache_arena(tc);
    if (tc->state == TC_ACTIVE && ind < SC_NSMALL && tc->high[ind] != tc->low[ind]) {
        void **low = tc->low[ind];
        unsigned max = (unsigned)(tc->high[ind] - low), want = max / 2 ? max / 2 : 1;
        void **high = tcache_bin_freeze(tc, ind); /* (it is empty) */
        bool stole = false;
        unsigned n = arena_fill(a, ind, low, want, tc->nalloc[ind] + 1 - tc->merged[ind],
                                tc->may_steal ? &stole : NULL);
        tc->foreign[ind] = stole;
        tc->high[ind] = high;
        tc->gc_filled[ind] = 1;
        tc->flush_run[ind] = 0;
        /* the request counts in the bin either way (a failed one too), and
         * nalloc grows only with a block: merged must not pass it */
        tc->merged[ind] = tc->nalloc[ind] + (n ? 1 : 0);
        if (!n) return NULL;
        tc->nfilled[ind] += n;
        tc->top[ind] = low + n - 1;
        tc->nalloc[ind]++;
        void *p = low[n - 1];
        tcache_gc_tick(tc);
        return p;
    }
    void *p = ind < SC_NSMALL ? arena_malloc_small(a, ind, false)
                              : arena_malloc_large(a, ind, OS_PAGE, false);
    if (p) tc->direct_alloc_bytes += sc_size[ind];
    return p;
}

void tcache_free_slow(tcache_t *tc, void *p, uintptr_t e) {
    unsigned s1 = pm_szind1(e);
    if (!s1) arena_bad_free(p, e, "free");
    unsigned ind = s1 - 1;
    if (tc->state == TC_ACTIVE && ind < TC_NBINS && tc->high[ind] != tc->low[ind]) {
        if (tc->arena && !tcache_owns(tc, e)) {
            if (ind >= SC_NSMALL) { /* a large block of another arena: home at once */
                tcache_dalloc_direct(tc, p, e);
                return;
            }
            /* Another arena's block: batched home, never reused here. */
            if (tc->rtop[ind] == tc->rhigh[ind]) {
                tcache_remote_flush(tc, ind);
                tcache_gc_tick(tc);
            }
            if (!tcache_remote_push(tc, ind, p, e)) { /* no remote stack */
                tc->nremote[ind]++;
                arena_flush(ind, &p, 1, 0, NULL);
            }
            return;
        }
        unsigned max = (unsigned)(tc->high[ind] - tc->low[ind]);
        if (tc->top[ind] == tc->high[ind]) {
            /* Frees outrunning fills (a structure torn down): from the third
             * flush without a fill in between, the whole stack goes, in one
             * batch and with nothing left to move down. (The third rather
             * than the second: a cache whose level merely wanders, as in
             * larson, reaches two flushes in a row more often, and the
             * saving is the same; docs/ARCHITECTURE.md "Thread caches".) */
            bool all = tc->flush_run[ind] >= 2;
            if (tc->flush_run[ind] < UINT8_MAX) tc->flush_run[ind]++;
            tcache_bin_flush(tc, ind, all ? max : max / 2 ? max / 2 : 1);
        }
        *tc->top[ind]++ = p;
        tcache_gc_tick(tc);
        return;
    }
    tcache_dalloc_direct(tc, p, e);
}

void tcache_set_enabled(tcache_t *tc, bool on) {
    if (tc->state == TC_EXITED) return;
    if (!on && tc->state == TC_ACTIVE) {
        tcache_flush(tc);
        tcache_stacks_detach(tc);
        tc->state = TC_BYPASS;
    } else if (on && tc->state == TC_BYPASS && !opt.junk) { /* junk: no caches (arena.h) */
        tcache_stacks_attach(tc);
    }
}

static void tcache_thread_exit(void *arg) {
    tcache_t *tc = arg;
    if (tc->state == TC_UNINIT) { /* registered only for deferred frees */
        tcache_drain_deferred(tc);
        return;
    }
    if (tc->state == TC_ACTIVE) {
        tcache_flush(tc); /* (drains the deferred frees too) */
        tcache_stacks_detach(tc);
    }
    tcache_drain_deferred(tc);
    if (tc->state != TC_EXITED) arena_detach(tc->arena);
    tc->state = TC_EXITED;
}

uint64_t tcache_allocated(const tcache_t *tc) {
    uint64_t sum = tc->direct_alloc_bytes;
    for (unsigned i = 0; i < TC_NBINS; i++) sum += tc->nalloc[i] * sc_size[i];
    return sum;
}

uint64_t tcache_deallocated(const tcache_t *tc) {
    uint64_t sum = tc->direct_free_bytes;
    for (unsigned i = 0; i < TC_NBINS; i++) {
        uint64_t nfree = tcache_ncached(tc, i) + tc->nflushed[i] + tc->nalloc[i] - tc->nfilled[i] +
                         tc->nremote[i];
        sum += nfree * sc_size[i];
    }
    return sum;
}

/* ---- explicit caches (tcache.create / MALLOCX_TCACHE) ---- */
/* Slots are claimed (state leaves TC_EXITED) and released under tc_lock. */
static void tcache_explicit_release(tcache_t *tc) {
    mutex_lock(&tc_lock);
    tc->state = TC_EXITED;
    mutex_unlock(&tc_lock);
}

tcache_t *tcache_create_explicit(unsigned *ind) {
    tcache_t *tc = NULL;
    mutex_lock(&tc_lock);
    unsigned i;
    for (i = 0; i < TC_EXPLICIT_MAX; i++)
        if (!tc_explicit[i] || tc_explicit[i]->state == TC_EXITED) break;
    if (i < TC_EXPLICIT_MAX) {
        tc = tc_explicit[i];
        if (!tc) tc = base_alloc(sizeof(tcache_t), 64);
        if (tc) { /* claimed before the lock is dropped: no other creator takes it */
            memset(tc, 0, sizeof(*tc));
            tc->state = TC_BYPASS;
            __atomic_store_n(&tc_explicit[i], tc, __ATOMIC_RELEASE);
        }
    }
    mutex_unlock(&tc_lock);
    if (!tc) return NULL;
    if (!tcache_stacks_attach(tc)) {
        tcache_explicit_release(tc);
        return NULL;
    }
    *ind = i;
    return tc;
}

tcache_t *tcache_explicit(unsigned ind) {
    if (ind >= TC_EXPLICIT_MAX) return NULL;
    tcache_t *tc = __atomic_load_n(&tc_explicit[ind], __ATOMIC_ACQUIRE);
    return tc && tc->state == TC_ACTIVE ? tc : NULL;
}

bool tcache_destroy_explicit(unsigned ind) {
    tcache_t *tc = tcache_explicit(ind);
    if (!tc) return false;
    tcache_flush(tc);
    tcache_stacks_detach(tc);
    tcache_explicit_release(tc);
    return true;
}

void tcache_prefork(void) { mutex_prefork(&tc_lock); }
void tcache_postfork_parent(void) { mutex_postfork_parent(&tc_lock); }
void tcache_postfork_child(void) {
    mutex_postfork_child(&tc_lock);
    /* Only the forking thread exists in the child: its arena has one user. */
    if (tc_tls.state != TC_UNINIT && tc_tls.state != TC_EXITED && tc_tls.arena)
        arena_attach(tc_tls.arena);
}
