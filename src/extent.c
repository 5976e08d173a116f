#include "extent.h"
#include "base.h"
#include "conf.h"
#include "fmt.h"
#include "hooks.h"
#include "os.h"
#include "pagemap.h"
#include <string.h>

#define PA_CHUNK ((size_t)2 << 20)
#define PA_SCAN 8 /* list entries examined for the lowest address */

/* ---- extent records: recycled within their pa (pa lock) ---- */
static extent_t *extent_record_new(pa_t *pa) {
    extent_t *e = pa->rec_free;
    if (e) {
        pa->rec_free = e->next;
        /* Recycled records are cold by the time they come back (a record freed
         * by a merge waits behind all later ones); fetch the next one now. */
        if (pa->rec_free) __builtin_prefetch(pa->rec_free, 1);
        memset((char *)e + offsetof(extent_t, addr), 0, sizeof(*e) - offsetof(extent_t, addr));
        return e;
    }
    e = base_alloc(sizeof(extent_t), 64);
    if (e) e->pa = pa;
    return e;
}

static void extent_record_free(pa_t *pa, extent_t *e) {
    e->next = pa->rec_free;
    pa->rec_free = e;
}

/* ---- pagemap registration ---- */
static inline uintptr_t ext_last(const extent_t *e) { return e->addr + e->size - OS_PAGE; }
static inline size_t ext_pages(const extent_t *e) { return e->size >> OS_PAGE_SHIFT; }

static void pm_put(uintptr_t a, uintptr_t v) {
    if (!pagemap_set(a, v)) fmt_fatal("out of memory for the pagemap");
}

static void ext_reg_free(extent_t *e) {
    uintptr_t v = pm_entry(e, false, 0);
    pm_put(e->addr, v);
    pm_put(ext_last(e), v);
}

static void ext_reg_active(extent_t *e) {
    uintptr_t tag = (uintptr_t)pm_arena_tag(e->pa->ind) << PM_TAG_SHIFT;
    if (e->slab) {
        uintptr_t v = pm_entry(e, true, e->szind + 1u) | tag;
        for (uintptr_t a = e->addr; a <= ext_last(e); a += OS_PAGE) pm_put(a, v);
    } else {
        uintptr_t v = pm_entry(e, false, e->szind + 1u) | tag;
        pm_put(e->addr, v);
        pm_put(ext_last(e), v);
    }
}

static void ext_clear_interior(extent_t *e) {
    for (uintptr_t a = e->addr + OS_PAGE; a < ext_last(e); a += OS_PAGE) pm_put(a, 0);
}

/* ---- free sets ---- */
static eset_t *pa_set(pa_t *pa, unsigned state) {
    return state == EXT_DIRTY ? &pa->dirty : state == EXT_MUZZY ? &pa->muzzy : &pa->retained;
}

static void eset_insert(eset_t *s, extent_t *e, bool lru) {
    unsigned i = sc_psz_floor(ext_pages(e));
    e->prev = NULL;
    e->next = s->lists[i];
    if (e->next) e->next->prev = e;
    s->lists[i] = e;
    s->nonempty[i / 64] |= (uint64_t)1 << (i % 64);
    __atomic_store_n(&s->npages, s->npages + ext_pages(e), __ATOMIC_RELAXED);
    s->count++;
    if (lru) {
        e->lru_next = NULL;
        e->lru_prev = s->lru_tail;
        if (s->lru_tail) s->lru_tail->lru_next = e;
        else s->lru_head = e;
        s->lru_tail = e;
    }
}

static void eset_remove(eset_t *s, extent_t *e, bool lru) {
    unsigned i = sc_psz_floor(ext_pages(e));
    if (e->prev) e->prev->next = e->next;
    else s->lists[i] = e->next;
    if (e->next) e->next->prev = e->prev;
    if (!s->lists[i]) s->nonempty[i / 64] &= ~((uint64_t)1 << (i % 64));
    e->next = e->prev = NULL;
    __atomic_store_n(&s->npages, s->npages - ext_pages(e), __ATOMIC_RELAXED);
    s->count--;
    if (lru) {
        if (e->lru_prev) e->lru_prev->lru_next = e->lru_next;
        else s->lru_head = e->lru_next;
        if (e->lru_next) e->lru_next->lru_prev = e->lru_prev;
        else s->lru_tail = e->lru_prev;
        e->lru_next = e->lru_prev = NULL;
    }
}

/* Moves e, in s's decay order, to the front (the oldest). */
static void eset_lru_to_head(eset_t *s, extent_t *e) {
    if (s->lru_head == e) return;
    e->lru_prev->lru_next = e->lru_next;
    if (e->lru_next) e->lru_next->lru_prev = e->lru_prev;
    else s->lru_tail = e->lru_prev;
    e->lru_prev = NULL;
    e->lru_next = s->lru_head;
    s->lru_head->lru_prev = e;
    s->lru_head = e;
}

/* First non-empty list that surely fits `want` pages; within it, the lowest
 * address among the first few entries (keeps the heap compact). */
static extent_t *eset_find(eset_t *s, size_t want) {
    unsigned i = sc_psz_ceil(want);
    if (sc_psz_pages(i) < want) return NULL; /* beyond the largest class */
    for (unsigned w = i / 64; w < (SC_NPSZ + 63) / 64; w++) {
        uint64_t bits = s->nonempty[w];
        if (w == i / 64) bits &= ~(uint64_t)0 << (i % 64);
        if (!bits) continue;
        extent_t *best = s->lists[w * 64 + (unsigned)__builtin_ctzll(bits)];
        extent_t *c = best->next;
        for (int k = 1; c && k < PA_SCAN; k++, c = c->next)
            if (c->addr < best->addr) best = c;
        return best;
    }
    return NULL;
}

static bool pa_default_hooks(pa_t *pa) {
    return hooks_is_default(__atomic_load_n(&pa->hooks, __ATOMIC_ACQUIRE));
}

/* Splits e at size_a: e keeps the head, the tail is returned (same state). */
static extent_t *extent_split(pa_t *pa, extent_t *e, size_t size_a) {
    extent_hooks_t *h = __atomic_load_n(&pa->hooks, __ATOMIC_ACQUIRE);
    if (!hooks_is_default(h) &&
        hooks_split(h, (void *)e->addr, e->size, size_a, e->size - size_a, pa->ind))
        return NULL;
    extent_t *b = extent_record_new(pa);
    if (!b) return NULL;
    b->addr = e->addr + size_a;
    b->size = e->size - size_a;
    b->state = e->state;
    b->zeroed = e->zeroed;
    b->tstamp = e->tstamp;
    e->size = size_a;
    if (e->state != EXT_ACTIVE) {
        ext_reg_free(e);
        ext_reg_free(b);
    }
    return b;
}

/* Merges free b (directly after free a) into a; neither is in a set. */
static bool extent_merge(pa_t *pa, extent_t *a, extent_t *b) {
    extent_hooks_t *h = __atomic_load_n(&pa->hooks, __ATOMIC_ACQUIRE);
    if (!hooks_is_default(h) &&
        hooks_merge(h, (void *)a->addr, a->size, (void *)b->addr, b->size, pa->ind))
        return false;
    uintptr_t a_last = ext_last(a), b_first = b->addr;
    a->size += b->size;
    a->zeroed = a->zeroed && b->zeroed;
    if (a_last != a->addr) pm_put(a_last, 0);
    if (b_first != ext_last(a)) pm_put(b_first, 0);
    pm_put(ext_last(a), pm_entry(a, false, 0));
    extent_record_free(pa, b);
    return true;
}

/* A neighbour may belong to another arena: only its (immutable) pa field is
 * read before we know it is ours and so protected by our lock. */
static bool pa_mergeable(pa_t *pa, uintptr_t v, unsigned state) {
    extent_t *n = pm_extent(v);
    return v && pm_szind1(v) == 0 && n->pa == pa && n->state == state;
}

/* Puts a free extent into the set of `state`, coalescing with neighbours. */
static void pa_insert(pa_t *pa, extent_t *e, unsigned state, uint64_t now) {
    eset_t *s = pa_set(pa, state);
    bool lru = state != EXT_RETAINED;
    e->state = (uint8_t)state;
    e->slab = false;
    ext_reg_free(e);
    if (e->addr >= OS_PAGE) {
        uintptr_t v = pagemap_lookup_acquire((void *)(e->addr - OS_PAGE));
        extent_t *l = pm_extent(v);
        if (pa_mergeable(pa, v, state) && l->addr + l->size == e->addr) {
            eset_remove(s, l, lru);
            if (extent_merge(pa, l, e)) e = l;
            else eset_insert(s, l, lru);
        }
    }
    uintptr_t v = pagemap_lookup_acquire((void *)(e->addr + e->size));
    extent_t *r = pm_extent(v);
    if (pa_mergeable(pa, v, state) && r->addr == e->addr + e->size) {
        eset_remove(s, r, lru);
        if (!extent_merge(pa, e, r)) eset_insert(s, r, lru);
    }
    e->tstamp = now;
    eset_insert(s, e, lru);
}

/* Takes npages at `align` out of one set, returning the trimmed extent. */
static extent_t *pa_take_from(pa_t *pa, unsigned state, size_t npages, size_t align) {
    eset_t *s = pa_set(pa, state);
    bool lru = state != EXT_RETAINED;
    size_t want = npages + (align > OS_PAGE ? (align >> OS_PAGE_SHIFT) - 1 : 0);
    extent_t *e = eset_find(s, want);
    if (!e) return NULL;
    eset_remove(s, e, lru);
    size_t lead = ALIGN_UP(e->addr, align) - e->addr;
    if (lead) {
        extent_t *rest = extent_split(pa, e, lead);
        if (!rest) {
            eset_insert(s, e, lru);
            return NULL;
        }
        eset_insert(s, e, lru);
        e = rest;
    }
    size_t need = npages << OS_PAGE_SHIFT;
    if (e->size > need) {
        extent_t *trail = extent_split(pa, e, need);
        if (!trail) {
            pa_insert(pa, e, state, e->tstamp);
            return NULL;
        }
        eset_insert(s, trail, lru);
    }
    return e;
}

/* Resident-set growth: pages taken from retained or new memory (pa lock). */
static inline void pa_count_growth(pa_t *pa, size_t bytes) {
    __atomic_store_n(&pa->grown, pa->grown + bytes, __ATOMIC_RELAXED);
}

static extent_t *pa_take(pa_t *pa, size_t npages, size_t align, bool resident) {
    extent_t *e = pa_take_from(pa, EXT_DIRTY, npages, align);
    if (!e) e = pa_take_from(pa, EXT_MUZZY, npages, align);
    if (!e && !resident) {
        e = pa_take_from(pa, EXT_RETAINED, npages, align);
        if (e) pa_count_growth(pa, e->size);
    }
    return e;
}

/* Maps a new chunk from the hooks into the free sets: PA_MAP_OK, or
 * PA_MAP_FAILED (the hooks or the metadata failed: giving memory back may
 * help), or PA_MAP_IMPOSSIBLE (no chunk can hold the request). */
enum { PA_MAP_IMPOSSIBLE = -1, PA_MAP_FAILED = 0, PA_MAP_OK = 1 };
static int pa_map_new(pa_t *pa, size_t size, size_t align) {
    extent_hooks_t *h = __atomic_load_n(&pa->hooks, __ATOMIC_ACQUIRE);
    bool dflt = hooks_is_default(h);
    /* The free-set search (eset_find) looks for size + align - page in the
     * page class that surely holds it: the chunk must reach that class. */
    size_t want = (size + (align > OS_PAGE ? align - OS_PAGE : 0)) >> OS_PAGE_SHIFT;
    size_t need = sc_psz_pages(sc_psz_ceil(want)) << OS_PAGE_SHIFT;
    if (need < (want << OS_PAGE_SHIFT)) return PA_MAP_IMPOSSIBLE; /* beyond the largest class */
    size_t chunk = dflt ? ALIGN_UP(need, PA_CHUNK) : need;
    if (chunk < size || chunk >= ((size_t)1 << OS_VA_BITS)) return PA_MAP_IMPOSSIBLE;
    size_t chunk_align = dflt ? (align > PA_CHUNK ? align : PA_CHUNK) : OS_PAGE;
    bool zero;
    void *p = hooks_alloc(h, chunk, chunk_align, &zero, pa->ind);
    if (!p) return PA_MAP_FAILED;
    extent_t *e = pagemap_prepare((uintptr_t)p, chunk) ? extent_record_new(pa) : NULL;
    if (!e) {
        if (dflt) os_unmap(p, chunk);
        else hooks_dalloc(h, p, chunk, pa->ind);
        return PA_MAP_FAILED;
    }
    e->addr = (uintptr_t)p;
    e->size = chunk;
    e->zeroed = zero;
    pa->mapped_total += chunk;
    /* A chunk the hooks say is not zero enters the dirty set, where taking
     * pages is not growth: count it now (as taking from retained would). */
    if (!zero) pa_count_growth(pa, chunk);
    pa_insert(pa, e, zero ? EXT_RETAINED : EXT_DIRTY, os_now_ns());
    return PA_MAP_OK;
}

/* Hands every retained (purged) extent's range back: unmapped for the
 * default hooks, hooks->dalloc otherwise. Used when address space runs out
 * and when an arena is destroyed. */
static void pa_release_retained(pa_t *pa, bool destroy) {
    extent_hooks_t *h = __atomic_load_n(&pa->hooks, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < SC_NPSZ; i++) {
        extent_t *e = pa->retained.lists[i];
        while (e) {
            extent_t *next = e->next;
            bool released;
            /* Unregistered first: once the range is unmapped another arena
             * may map it and register its own block there (as pa_remap). */
            pm_put(e->addr, 0);
            pm_put(ext_last(e), 0);
            if (hooks_is_default(h)) {
                os_unmap((void *)e->addr, e->size);
                released = true;
            } else if (destroy && !hooks_destroy(h, (void *)e->addr, e->size, pa->ind)) {
                released = true;
            } else {
                released = !hooks_dalloc(h, (void *)e->addr, e->size, pa->ind);
            }
            if (released) {
                eset_remove(&pa->retained, e, false);
                pa->mapped_total -= e->size;
                extent_record_free(pa, e);
            } else {
                ext_reg_free(e); /* the hooks kept it: registered again */
            }
            e = next;
        }
    }
}

static void pa_purge_one(pa_t *pa, extent_t *e, bool lazy, uint64_t now) {
    extent_hooks_t *h = __atomic_load_n(&pa->hooks, __ATOMIC_ACQUIRE);
    pa->nmadvise++;
    pa->purged_pages += ext_pages(e);
    if (lazy && h->purge_lazy && !hooks_purge_lazy(h, (void *)e->addr, e->size, pa->ind)) {
        pa_insert(pa, e, EXT_MUZZY, now);
        return;
    }
    if (!opt.retain) { /* give the range back instead of keeping it mapped */
        pm_put(e->addr, 0); /* unregistered first, as in pa_release_retained */
        pm_put(ext_last(e), 0);
        bool released = true;
        if (hooks_is_default(h)) os_unmap((void *)e->addr, e->size);
        else released = !hooks_dalloc(h, (void *)e->addr, e->size, pa->ind);
        if (released) {
            pa->mapped_total -= e->size;
            extent_record_free(pa, e);
            return;
        }
        ext_reg_free(e); /* the hooks kept it: purge and retain it */
    }
    bool fail = hooks_purge_forced(h, (void *)e->addr, e->size, pa->ind);
    e->zeroed = !fail;
    pa_insert(pa, e, EXT_RETAINED, now);
}

static void pa_decay_locked(pa_t *pa, uint64_t now, bool all) {
    ssize_t dms = __atomic_load_n(&pa->dirty_decay_ms, __ATOMIC_RELAXED);
    ssize_t mms = __atomic_load_n(&pa->muzzy_decay_ms, __ATOMIC_RELAXED);
    if (!all && now < pa->next_decay_ns && dms != 0 && mms != 0) return;
    bool purged = false;
    if (all || dms >= 0) {
        uint64_t age = all ? 0 : (uint64_t)dms * 1000000u;
        extent_t *e;
        while ((e = pa->dirty.lru_head) && (all || e->tstamp + age <= now)) {
            eset_remove(&pa->dirty, e, true);
            pa_purge_one(pa, e, !all && mms != 0, now);
            purged = true;
        }
    }
    if (all || mms >= 0) {
        uint64_t age = all ? 0 : (uint64_t)mms * 1000000u;
        extent_t *e;
        while ((e = pa->muzzy.lru_head) && (all || e->tstamp + age <= now)) {
            eset_remove(&pa->muzzy, e, true);
            pa_purge_one(pa, e, false, now);
            purged = true;
        }
    }
    if (purged) pa->npurge++;
    uint64_t step = (uint64_t)(dms > 0 ? dms : 1000) * 1000000u / 16;
    pa->next_decay_ns = now + (step < 1000000u ? 1000000u : step);
}

/* ---- public ---- */
bool pa_init(pa_t *pa, unsigned ind, extent_hooks_t *hooks) {
    memset(pa, 0, sizeof(*pa));
    mutex_init(&pa->lock);
    pa->ind = ind;
    pa->hooks = hooks;
    pa->dirty_decay_ms = pa_default_decay_ms(true);
    pa->muzzy_decay_ms = pa_default_decay_ms(false);
    return true;
}

/* ---- active list, hooks, default decay (for mallctl) ---- */
static void pa_active_link(pa_t *pa, extent_t *e) {
    e->act_prev = NULL;
    e->act_next = pa->active;
    if (e->act_next) e->act_next->act_prev = e;
    pa->active = e;
}

static void pa_active_unlink(pa_t *pa, extent_t *e) {
    if (e->act_prev) e->act_prev->act_next = e->act_next;
    else pa->active = e->act_next;
    if (e->act_next) e->act_next->act_prev = e->act_prev;
    e->act_next = e->act_prev = NULL;
}

extent_t *pa_active_first(pa_t *pa) {
    mutex_lock(&pa->lock);
    extent_t *e = pa->active;
    mutex_unlock(&pa->lock);
    return e;
}

extent_hooks_t *pa_set_hooks(pa_t *pa, extent_hooks_t *hooks) {
    mutex_lock(&pa->lock);
    extent_hooks_t *old = __atomic_exchange_n(&pa->hooks, hooks, __ATOMIC_ACQ_REL);
    mutex_unlock(&pa->lock);
    return old;
}

#define PA_DECAY_UNSET ((ssize_t)-2)
static ssize_t pa_decay_default[2] = {PA_DECAY_UNSET, PA_DECAY_UNSET}; /* atomic */

ssize_t pa_default_decay_ms(bool dirty) {
    ssize_t v = __atomic_load_n(&pa_decay_default[dirty ? 0 : 1], __ATOMIC_RELAXED);
    if (v != PA_DECAY_UNSET) return v;
    return dirty ? (ssize_t)opt.dirty_decay_ms : (ssize_t)opt.muzzy_decay_ms;
}

void pa_set_default_decay_ms(bool dirty, ssize_t ms) {
    __atomic_store_n(&pa_decay_default[dirty ? 0 : 1], ms, __ATOMIC_RELAXED);
}

extent_t *pa_alloc(pa_t *pa, size_t size, size_t align, bool zero, bool slab, unsigned szind,
                   bool resident) {
    size_t npages = size >> OS_PAGE_SHIFT;
    if (align < OS_PAGE) align = OS_PAGE;
    mutex_lock(&pa->lock);
    extent_t *e = pa_take(pa, npages, align, resident);
    if (!e && !resident) {
        int m = pa_map_new(pa, size, align);
        if (m == PA_MAP_OK) e = pa_take(pa, npages, align, false);
        if (!e && m != PA_MAP_IMPOSSIBLE) {
            /* Out of address space? Give back what is purged and try once
             * more (not for a request no chunk can hold: it would empty the
             * arena for nothing). */
            pa_decay_locked(pa, os_now_ns(), true);
            pa_release_retained(pa, false);
            if (pa_map_new(pa, size, align) == PA_MAP_OK) e = pa_take(pa, npages, align, false);
        }
    }
    if (!e) {
        mutex_unlock(&pa->lock);
        return NULL;
    }
    bool was_zero = e->zeroed;
    e->state = EXT_ACTIVE;
    e->slab = slab;
    e->szind = (uint8_t)szind;
    e->zeroed = false;
    pa->active_pages += npages;
    ext_reg_active(e);
    pa_active_link(pa, e);
    mutex_unlock(&pa->lock);
    if (zero && !was_zero) memset((void *)e->addr, 0, size);
    return e;
}

void pa_dalloc(pa_t *pa, extent_t *e) {
    mutex_lock(&pa->lock);
    pa_active_unlink(pa, e);
    if (e->slab) ext_clear_interior(e);
    pa->active_pages -= ext_pages(e);
    e->zeroed = false;
    if (e->remapped && pa_default_hooks(pa)) {
        /* A block that mremap placed on its own mapping goes straight back
         * to the kernel: kept, it would sit dirty beside nothing it can merge
         * with, and be split into pieces too small for the next huge block. */
        pm_put(e->addr, 0);
        pm_put(ext_last(e), 0);
        os_unmap((void *)e->addr, e->size);
        pa->mapped_total -= e->size;
        extent_record_free(pa, e);
        mutex_unlock(&pa->lock);
        return;
    }
    uint64_t now = os_now_ns();
    pa_insert(pa, e, EXT_DIRTY, now);
    pa_decay_locked(pa, now, false);
    mutex_unlock(&pa->lock);
}

bool pa_shrink(pa_t *pa, extent_t *e, size_t newsize, unsigned szind) {
    mutex_lock(&pa->lock);
    extent_t *trail = extent_split(pa, e, newsize);
    if (!trail) {
        mutex_unlock(&pa->lock);
        return false;
    }
    e->szind = (uint8_t)szind;
    ext_reg_active(e);
    pa->active_pages -= ext_pages(trail);
    uint64_t now = os_now_ns();
    pa_insert(pa, trail, EXT_DIRTY, now);
    pa_decay_locked(pa, now, false);
    mutex_unlock(&pa->lock);
    return true;
}

bool pa_grow(pa_t *pa, extent_t *e, size_t newsize, unsigned szind, bool zero) {
    mutex_lock(&pa->lock);
    uintptr_t end = e->addr + e->size;
    size_t need = newsize - e->size;
    uintptr_t v = pagemap_lookup_acquire((void *)end);
    extent_t *r = pm_extent(v);
    if (!v || pm_szind1(v) != 0 || r->pa != pa || r->addr != end || r->state == EXT_ACTIVE ||
        r->size < need) {
        mutex_unlock(&pa->lock);
        return false;
    }
    unsigned state = r->state;
    eset_t *s = pa_set(pa, state);
    bool lru = state != EXT_RETAINED;
    eset_remove(s, r, lru);
    if (r->size > need) {
        extent_t *t = extent_split(pa, r, need);
        if (!t) {
            eset_insert(s, r, lru);
            mutex_unlock(&pa->lock);
            return false;
        }
        eset_insert(s, t, lru);
    }
    extent_hooks_t *h = __atomic_load_n(&pa->hooks, __ATOMIC_ACQUIRE);
    if (!hooks_is_default(h) &&
        hooks_merge(h, (void *)e->addr, e->size, (void *)r->addr, r->size, pa->ind)) {
        pa_insert(pa, r, state, r->tstamp);
        mutex_unlock(&pa->lock);
        return false;
    }
    bool rz = r->zeroed;
    uintptr_t old_last = ext_last(e);
    e->size += r->size;
    e->szind = (uint8_t)szind;
    if (old_last != e->addr) pm_put(old_last, 0);
    if (r->addr != ext_last(e)) pm_put(r->addr, 0);
    ext_reg_active(e);
    extent_record_free(pa, r);
    pa->active_pages += need >> OS_PAGE_SHIFT;
    if (state == EXT_RETAINED) pa_count_growth(pa, need);
    mutex_unlock(&pa->lock);
    if (zero && !rz) memset((void *)end, 0, need);
    return true;
}

bool pa_remap(pa_t *pa, extent_t *e, size_t newsize, unsigned szind) {
    if (!pa_default_hooks(pa)) return false;
    mutex_lock(&pa->lock);
    uintptr_t old = e->addr;
    size_t oldsize = e->size;
    /* Unregister first: once mremap returns, another arena may map the old
     * range and register it. */
    pm_put(old, 0);
    pm_put(ext_last(e), 0);
    void *p = os_remap((void *)old, oldsize, newsize);
    if (p && !pagemap_prepare((uintptr_t)p, newsize)) {
        void *q = os_remap(p, newsize, oldsize);
        if (q != (void *)old) fmt_fatal("mremap could not be undone after a pagemap failure");
        p = NULL;
    }
    if (p) {
        e->addr = (uintptr_t)p;
        e->size = newsize;
        e->szind = (uint8_t)szind;
        e->remapped = true;
        pa->mapped_total += newsize - oldsize;
        pa->active_pages += (newsize - oldsize) >> OS_PAGE_SHIFT;
        if (newsize > oldsize) pa_count_growth(pa, newsize - oldsize);
    }
    ext_reg_active(e);
    mutex_unlock(&pa->lock);
    return p != NULL;
}

void pa_decay(pa_t *pa, bool all) {
    mutex_lock(&pa->lock);
    /* Asked for (arena.<i>.decay, thread.idle): not held back by the rate
     * limit of the decay checks on the allocation paths. */
    pa->next_decay_ns = 0;
    pa_decay_locked(pa, os_now_ns(), all);
    mutex_unlock(&pa->lock);
}

size_t pa_purge_dirty(pa_t *pa, size_t bytes, uint64_t min_age_ns) {
    size_t done = 0;
    bytes = ALIGN_UP(bytes, OS_PAGE);
    if (!__atomic_load_n(&pa->dirty.npages, __ATOMIC_RELAXED)) return 0; /* a hint */
    mutex_lock(&pa->lock);
    if (__atomic_load_n(&pa->dirty_decay_ms, __ATOMIC_RELAXED) >= 0) {
        uint64_t now = os_now_ns();
        extent_t *e;
        while (done < bytes && (e = pa->dirty.lru_head) && e->tstamp + min_age_ns <= now) {
            eset_remove(&pa->dirty, e, true);
            size_t want = bytes - done;
            extent_t *rest = e->size > want ? extent_split(pa, e, want) : NULL;
            if (rest) { /* the rest stays dirty, still the oldest */
                eset_insert(&pa->dirty, rest, true);
                eset_lru_to_head(&pa->dirty, rest);
            }
            done += e->size;
            pa_purge_one(pa, e, false, now);
        }
        if (done) pa->npurge++;
    }
    mutex_unlock(&pa->lock);
    return done;
}

void pa_set_decay_ms(pa_t *pa, bool dirty, ssize_t ms) {
    mutex_lock(&pa->lock);
    __atomic_store_n(dirty ? &pa->dirty_decay_ms : &pa->muzzy_decay_ms, ms, __ATOMIC_RELAXED);
    pa->next_decay_ns = 0;
    pa_decay_locked(pa, os_now_ns(), false);
    mutex_unlock(&pa->lock);
}

void pa_release_all(pa_t *pa, bool destroy) {
    mutex_lock(&pa->lock);
    pa_decay_locked(pa, os_now_ns(), true);
    pa_release_retained(pa, destroy);
    mutex_unlock(&pa->lock);
}

bool pa_trim_slab(pa_t *pa, extent_t *e, size_t off, size_t len) {
    extent_hooks_t *h = __atomic_load_n(&pa->hooks, __ATOMIC_ACQUIRE);
    if (hooks_purge_forced_part(h, (void *)e->addr, e->size, off, len, pa->ind)) return false;
    mutex_lock(&pa->lock);
    pa->nmadvise++;
    pa->purged_pages += len >> OS_PAGE_SHIFT;
    mutex_unlock(&pa->lock);
    return true;
}

void extent_slab_init(extent_t *e, uint32_t nregs) {
    e->nfree = nregs;
    e->trimmed = 0;
    e->trim_seen = UINT32_MAX;
    for (unsigned w = 0; w < SC_SLAB_MAXREGS / 64; w++) {
        uint32_t lo = w * 64;
        e->bitmap[w] = nregs >= lo + 64 ? ~(uint64_t)0
                       : nregs > lo     ? (((uint64_t)1 << (nregs - lo)) - 1)
                                        : 0;
    }
}

void pa_stats_read(pa_t *pa, pa_stats_t *out) {
    mutex_lock(&pa->lock);
    size_t retained = pa->retained.npages << OS_PAGE_SHIFT;
    out->retained = retained;
    out->mapped = pa->mapped_total - retained;
    out->active_pages = pa->active_pages;
    out->dirty_pages = pa->dirty.npages;
    out->muzzy_pages = pa->muzzy.npages;
    out->npurge = pa->npurge;
    out->nmadvise = pa->nmadvise;
    out->purged_pages = pa->purged_pages;
    mutex_unlock(&pa->lock);
}

void pa_prefork(pa_t *pa) { mutex_prefork(&pa->lock); }
void pa_postfork_parent(pa_t *pa) { mutex_postfork_parent(&pa->lock); }
void pa_postfork_child(pa_t *pa) { mutex_postfork_child(&pa->lock); }

_Static_assert(offsetof(extent_t, bitmap) + 5 * sizeof(uint64_t) <= 64,
               "slab hot fields must share the record's first cache line");
