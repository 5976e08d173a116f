#include "ctl.h"
#include "arena.h"
#include "conf.h"
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
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define CTL_MAXDEPTH 8
#define CTL_MAXNODES 512
#define CTL_MAXLEAVES 256

/* ---- leaves: one per name ---- */
typedef struct ctl_leaf_s ctl_leaf_t;
#define CTL_ARGS                                                                                   \
    const ctl_leaf_t *leaf, const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,        \
        void *newp, size_t newlen
typedef int ctl_handler_t(CTL_ARGS);

struct ctl_leaf_s {
    ctl_type_t type;
    ctl_handler_t *handler;
    size_t arg;
};

/* ---- the tree ---- */
typedef bool ctl_valid_t(const size_t *mib, size_t depth, size_t value);

typedef struct {
    const char *name; /* component text; "<i>"/"<j>" for numeric ones */
    uint16_t len;
    int16_t first_child, next_sibling;
    uint16_t nchildren;
    bool numeric_children; /* the only child is numeric */
    int16_t leaf;          /* index in ctl_leaves, -1 for inner nodes */
    ctl_valid_t *valid;    /* numeric nodes */
} ctl_node_t;

static ctl_node_t ctl_nodes[CTL_MAXNODES];
static unsigned ctl_nnodes;
static ctl_leaf_t ctl_leaves[CTL_MAXLEAVES];
static unsigned ctl_nleaves;
static bool ctl_ok;
static pthread_once_t ctl_once = PTHREAD_ONCE_INIT;
static mutex_t ctl_lock = MUTEX_INITIALIZER;

/* A fresh statistics snapshot, under ctl_lock: a refresh between a destroyed
 * arena's merge into the destroyed slot and its removal would bring its
 * snapshot back. (malloc_stats_print prints unlocked after it: its write_cb
 * may call mallctl.) */
static void ctl_refresh_locked(void) {
    mutex_lock(&ctl_lock);
    stats_refresh();
    mutex_unlock(&ctl_lock);
}

/* Copies of the thread counters for thread.allocatedp / deallocatedp. */
static __thread uint64_t ctl_tls_counter[2] __attribute__((tls_model("initial-exec")));

/* Choice options read as strings: their words, split once. */
static char ctl_choice_buf[512];
static const char *ctl_choice_word[64][8];

/* ---- jemalloc's read/write rules ---- */
static size_t ctl_type_size(ctl_type_t t) {
    switch (t) {
    case CT_VOID: return 0;
    case CT_BOOL: return sizeof(bool);
    case CT_UNSIGNED: return sizeof(unsigned);
    case CT_U32: return sizeof(uint32_t);
    case CT_U64: return sizeof(uint64_t);
    case CT_SIZE: return sizeof(size_t);
    case CT_SSIZE: return sizeof(ssize_t);
    case CT_STR: return sizeof(const char *);
    case CT_PTR: return sizeof(void *);
    }
    return 0;
}

/* READ: with *oldlenp != size, copies what fits, reports it, EINVAL. */
static int ctl_read(void *oldp, size_t *oldlenp, const void *v, size_t size) {
    if (oldp && oldlenp) {
        if (*oldlenp != size) {
            size_t n = size <= *oldlenp ? size : *oldlenp;
            memcpy(oldp, v, n);
            *oldlenp = n;
            return EINVAL;
        }
        memcpy(oldp, v, size);
    }
    return 0;
}

#define READONLY()                                                                                 \
    do {                                                                                           \
        if (newp || newlen) return EPERM;                                                          \
    } while (0)
#define WRITEONLY()                                                                                \
    do {                                                                                           \
        if (oldp || oldlenp) return EPERM;                                                         \
    } while (0)
#define NEITHER()                                                                                  \
    do {                                                                                           \
        READONLY();                                                                                \
        WRITEONLY();                                                                               \
    } while (0)
#define READ(v, t)                                                                                 \
    do {                                                                                           \
        t r_ = (v);                                                                                \
        int e_ = ctl_read(oldp, oldlenp, &r_, sizeof(t));                                          \
        if (e_) return e_;                                                                         \
    } while (0)
#define WRITE(v, t)                                                                                \
    do {                                                                                           \
        if (newp) {                                                                                \
            if (newlen != sizeof(t)) return EINVAL;                                                \
            memcpy(&(v), newp, sizeof(t));                                                         \
        }                                                                                          \
    } while (0)
/* Read-only value of the leaf's type at v. */
#define RO_VALUE(v)                                                                                \
    do {                                                                                           \
        READONLY();                                                                                \
        return ctl_read(oldp, oldlenp, (v), ctl_type_size(leaf->type));                            \
    } while (0)

static inline unsigned mib_arena(const size_t *mib, size_t depth) {
    return mib[depth] > UINT_MAX ? UINT_MAX : (unsigned)mib[depth];
}

/* The arena an index names now (NULL for ALL, DESTROYED, destroyed ones). */
static arena_t *ctl_arena(const size_t *mib, size_t depth) {
    unsigned i = mib_arena(mib, depth);
    return i < ARENA_MAX ? arena_get(i) : NULL;
}

static bool decay_ms_valid(ssize_t v) {
    ssize_t max = 0;
    for (unsigned i = 0; i < conf_count; i++)
        if (!strcmp(conf_table[i].name, "dirty_decay_ms")) max = (ssize_t)conf_table[i].max;
    return v >= -1 && v <= max;
}

/* ---- handlers ---- */
static int h_version(CTL_ARGS) {
    (void)mib, (void)miblen;
    const char *v = MOSAIC_VERSION;
    RO_VALUE(&v);
}

static int h_epoch(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    uint64_t v;
    WRITE(v, uint64_t);
    (void)v;
    if (newp) ctl_refresh_locked();
    READ(stats_epoch(), uint64_t);
    return 0;
}

static int h_config(CTL_ARGS) {
    (void)mib, (void)miblen;
    static const bool values[] = {
#define CFG_VALUE(name, value, doc) value,
        STATS_CONFIG(CFG_VALUE)
#undef CFG_VALUE
    };
    if (leaf->type == CT_STR) {
        const char *s = STATS_CONFIG_MALLOC_CONF;
        RO_VALUE(&s);
    }
    RO_VALUE(&values[leaf->arg]);
}

static bool opt_as_string(const char *name) {
#define OPT_STR(n) if (!strcmp(name, #n)) return true;
    STATS_OPT_AS_STRING(OPT_STR)
#undef OPT_STR
    return false;
}

static int h_opt(CTL_ARGS) {
    (void)mib, (void)miblen;
    const conf_desc_t *d = &conf_table[leaf->arg];
    const char *p = (const char *)&opt + d->offset;
    if (d->kind == CONF_CHOICE) {
        unsigned v = *(const unsigned *)p;
        const char *s = v < 8 && ctl_choice_word[leaf->arg][v] ? ctl_choice_word[leaf->arg][v] : "";
        RO_VALUE(&s);
    }
    if (leaf->type == CT_STR) { /* a bool jemalloc documents as a string */
        const char *s = *(const bool *)p ? "true" : "false";
        RO_VALUE(&s);
    }
    RO_VALUE(p);
}

/* The calling thread's cache for the thread.* names; NULL inside an extent
 * hook on a thread that has none yet (setting one up chooses an arena under
 * a lock fork takes before the hook's arena's: hooks.h). */
static tcache_t *ctl_thread_cache(void) {
    return hooks_depth && tc_tls.state == TC_UNINIT ? NULL : tcache_get();
}

static int h_thread_arena(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    if (newp && hooks_depth) return EAGAIN; /* inside an extent hook: the cache may be frozen */
    tcache_t *tc = ctl_thread_cache();
    if (!tc) return EAGAIN;
    arena_t *old = tcache_arena(tc);
    if (!old) return EAGAIN;
    unsigned oldind = old->ind, newind = oldind;
    WRITE(newind, unsigned);
    READ(oldind, unsigned);
    if (newind != oldind) {
        if (newind >= arena_count()) return EFAULT;
        arena_t *a = arena_get_or_create(newind, NULL);
        if (!a) return EAGAIN;
        tcache_set_arena(tc, a);
    }
    return 0;
}

static void ctl_thread_counters(void) {
    tcache_t *tc = hooks_depth ? &tc_tls : tcache_get(); /* (a thread without one counts 0) */
    ctl_tls_counter[0] = tcache_allocated(tc);
    ctl_tls_counter[1] = tcache_deallocated(tc);
}

static int h_thread_counter(CTL_ARGS) {
    (void)mib, (void)miblen;
    READONLY();
    ctl_thread_counters();
    READ(ctl_tls_counter[leaf->arg], uint64_t);
    return 0;
}

static int h_thread_counterp(CTL_ARGS) {
    (void)mib, (void)miblen;
    READONLY();
    ctl_thread_counters();
    READ(&ctl_tls_counter[leaf->arg], uint64_t *);
    return 0;
}

static int h_thread_tcache_enabled(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    tcache_t *tc = ctl_thread_cache();
    if (!tc) return EAGAIN;
    bool old = tc->state == TC_ACTIVE;
    if (newp) {
        if (newlen != sizeof(bool)) return EINVAL;
        if (hooks_depth) return EAGAIN; /* as thread.arena */
        tcache_set_enabled(tc, *(const bool *)newp);
    }
    READ(old, bool);
    return 0;
}

static int h_thread_tcache_flush(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    NEITHER();
    if (hooks_depth) return EAGAIN; /* as thread.arena */
    tcache_t *tc = tcache_get();
    tcache_drain_deferred(tc); /* (also without a cache) */
    if (tc->state != TC_ACTIVE) return EFAULT; /* no cache (disabled, exited): as jemalloc */
    tcache_flush(tc);
    return 0;
}

static int h_thread_idle(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    NEITHER();
    if (hooks_depth) return EAGAIN; /* as thread.tcache.flush */
    tcache_t *tc = tcache_get();
    tcache_flush(tc);
    arena_t *a = tcache_arena(tc);
    if (a) pa_decay(&a->pa, false);
    return 0;
}

static int h_tcache_create(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    READONLY();
    if (!oldp || !oldlenp || *oldlenp != sizeof(unsigned)) {
        if (oldlenp) *oldlenp = 0;
        return EINVAL;
    }
    if (hooks_depth) return EAGAIN; /* inside an extent hook (hooks.h): takes tc_lock */
    unsigned ind;
    if (!tcache_create_explicit(&ind)) return EFAULT;
    READ(ind, unsigned);
    return 0;
}

static int h_tcache_flush(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    WRITEONLY();
    unsigned ind = UINT_MAX;
    WRITE(ind, unsigned);
    tcache_t *tc = ind == UINT_MAX ? NULL : tcache_explicit(ind);
    if (!tc) return EFAULT;
    if (hooks_depth) return EAGAIN; /* a flush takes other arenas' locks */
    tcache_flush(tc);
    return 0;
}

static int h_tcache_destroy(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    WRITEONLY();
    unsigned ind = UINT_MAX;
    WRITE(ind, unsigned);
    if (hooks_depth) return EAGAIN; /* as tcache.flush */
    if (ind == UINT_MAX || !tcache_destroy_explicit(ind)) return EFAULT;
    return 0;
}

static int h_arena_initialized(CTL_ARGS) {
    (void)leaf, (void)miblen;
    READONLY();
    unsigned i = mib_arena(mib, 1);
    bool v = i == MALLCTL_ARENAS_ALL               ? true
             : i == MALLCTL_ARENAS_DESTROYED ? stats_initialized(STATS_SLOT_DESTROYED)
                                             : ctl_arena(mib, 1) != NULL;
    READ(v, bool);
    return 0;
}

/* arena.<i>.decay (arg 0) and arena.<i>.purge (arg 1). The arenas are
 * pinned, not held under ctl_lock: a purge calls extent hooks, which may
 * call mallctl; a pinned arena's record is not reused while it is purged. */
static int h_arena_purge(CTL_ARGS) {
    (void)miblen;
    NEITHER();
    unsigned i = mib_arena(mib, 1), n = arena_count();
    bool all = leaf->arg != 0, every = i == MALLCTL_ARENAS_ALL || i == n; /* n: jemalloc's old spelling */
    for (unsigned k = every ? 0 : i; k < (every ? n : i + 1); k++) {
        arena_t *a = arena_pin(k);
        if (!a) continue;
        pa_decay(&a->pa, all);
        arena_unpin(a);
    }
    return 0;
}

/* arena.<i>.reset (arg 0) and arena.<i>.destroy (arg 1). */
static int h_arena_reset(CTL_ARGS) {
    (void)miblen;
    NEITHER();
    mutex_lock(&ctl_lock);
    arena_t *a = ctl_arena(mib, 1);
    int ret = 0;
    if (!a || arena_is_auto(a)) ret = EFAULT;
    else if (leaf->arg && __atomic_load_n(&a->nthreads, __ATOMIC_RELAXED) != 0) ret = EFAULT;
    if (!ret) {
        tcache_flush(tcache_get());
        arena_reset(a);
        if (leaf->arg) {
            pa_decay(&a->pa, true);
            stats_merge_destroyed(a);
            arena_destroy(a);
        }
    }
    mutex_unlock(&ctl_lock);
    return ret;
}

/* arena.<i>.dirty_decay_ms (arg 1) and muzzy_decay_ms (arg 0). */
static int h_arena_decay_ms(CTL_ARGS) {
    (void)miblen;
    unsigned i = mib_arena(mib, 1);
    if (i >= arena_count()) return EFAULT;
    arena_t *a = arena_pin(i); /* as h_arena_purge */
    if (!a) return EFAULT;
    bool dirty = leaf->arg != 0;
    int ret = 0;
    if (oldp && oldlenp) {
        ssize_t v = __atomic_load_n(dirty ? &a->pa.dirty_decay_ms : &a->pa.muzzy_decay_ms,
                                    __ATOMIC_RELAXED);
        ret = ctl_read(oldp, oldlenp, &v, sizeof(v));
    }
    if (!ret && newp) {
        ssize_t v;
        if (newlen != sizeof(ssize_t)) ret = EINVAL;
        else memcpy(&v, newp, sizeof(v));
        if (!ret && !decay_ms_valid(v)) ret = EFAULT;
        if (!ret) pa_set_decay_ms(&a->pa, dirty, v);
    }
    arena_unpin(a);
    return ret;
}

static int h_arena_extent_hooks(CTL_ARGS) {
    (void)leaf, (void)miblen;
    unsigned i = mib_arena(mib, 1);
    if (i >= arena_count()) return EFAULT;
    int ret = 0;
    mutex_lock(&ctl_lock);
    arena_t *a = arena_get(i);
    extent_hooks_t *old, *hooks = NULL;
    if (newp) {
        if (newlen != sizeof(extent_hooks_t *)) ret = EINVAL;
        else memcpy(&hooks, newp, sizeof(hooks));
        if (!ret && !hooks) ret = EINVAL;
    }
    if (ret) {
        /* bad value */
    } else if (!a) {
        if (i >= arena_narenas_auto) {
            ret = EFAULT; /* a destroyed arena */
        } else {
            old = &hooks_default;
            ret = ctl_read(oldp, oldlenp, &old, sizeof(old));
            if (!ret && hooks) {
                /* Another thread may create it first (with the default
                 * hooks): then the hooks are set on what it created. */
                arena_t *na = arena_get_or_create(i, hooks);
                if (!na) ret = EFAULT;
                else if (__atomic_load_n(&na->pa.hooks, __ATOMIC_ACQUIRE) != hooks)
                    pa_set_hooks(&na->pa, hooks);
            }
        }
    } else {
        old = hooks ? pa_set_hooks(&a->pa, hooks)
                    : __atomic_load_n(&a->pa.hooks, __ATOMIC_ACQUIRE);
        ret = ctl_read(oldp, oldlenp, &old, sizeof(old));
    }
    mutex_unlock(&ctl_lock);
    return ret;
}

static int h_arenas_narenas(CTL_ARGS) {
    (void)mib, (void)miblen;
    unsigned n = arena_count();
    RO_VALUE(&n);
}

/* arenas.dirty_decay_ms (arg 1) and arenas.muzzy_decay_ms (arg 0). */
static int h_arenas_decay_ms(CTL_ARGS) {
    (void)mib, (void)miblen;
    bool dirty = leaf->arg != 0;
    if (oldp && oldlenp) READ(pa_default_decay_ms(dirty), ssize_t);
    if (newp) {
        if (newlen != sizeof(ssize_t)) return EINVAL;
        ssize_t v;
        memcpy(&v, newp, sizeof(v));
        if (!decay_ms_valid(v)) return EFAULT;
        pa_set_default_decay_ms(dirty, v);
    }
    return 0;
}

static int h_const(CTL_ARGS) {
    (void)mib, (void)miblen;
    if (leaf->type == CT_UNSIGNED) {
        unsigned v = (unsigned)leaf->arg;
        RO_VALUE(&v);
    }
    size_t v = leaf->arg;
    RO_VALUE(&v);
}

/* arenas.tcache_max (arg 0), arenas.nhbins (arg 1). */
static int h_tcache_info(CTL_ARGS) {
    (void)mib, (void)miblen;
    if (leaf->arg) {
        unsigned v = stats_nhbins();
        RO_VALUE(&v);
    }
    size_t v = stats_tcache_max();
    RO_VALUE(&v);
}

/* arenas.bin.<i>.size (0), nregs (1), slab_size (2). */
static int h_bin_info(CTL_ARGS) {
    (void)miblen;
    size_t i = mib[2];
    if (leaf->arg == 1) {
        uint32_t v = sc_slab[i].nregs;
        RO_VALUE(&v);
    }
    size_t v = leaf->arg == 0 ? sc_size[i] : (size_t)sc_slab[i].slab_pages << OS_PAGE_SHIFT;
    RO_VALUE(&v);
}

static int h_lextent_size(CTL_ARGS) {
    (void)miblen;
    size_t v = sc_size[SC_NSMALL + mib[2]];
    RO_VALUE(&v);
}

static int h_arenas_create(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    if (!oldp || !oldlenp || *oldlenp != sizeof(unsigned)) {
        if (oldlenp) *oldlenp = 0;
        return EINVAL;
    }
    extent_hooks_t *hooks = &hooks_default;
    WRITE(hooks, extent_hooks_t *);
    if (!hooks) return EINVAL;
    unsigned ind;
    mutex_lock(&ctl_lock);
    arena_t *a = arena_create(hooks, &ind);
    mutex_unlock(&ctl_lock);
    if (!a) return EAGAIN;
    READ(ind, unsigned);
    return 0;
}

static int h_arenas_lookup(CTL_ARGS) {
    (void)leaf, (void)mib, (void)miblen;
    void *p = NULL;
    WRITE(p, void *);
    /* the pagemap reads address bits 12..47: higher bits would alias */
    uintptr_t v = p && !((uintptr_t)p >> 48) ? pagemap_lookup(p) : 0;
    if (!v || !pm_szind1(v)) return EINVAL;
    extent_t *e = pm_extent(v);
    if (!pm_is_slab(v) && (uintptr_t)p != e->addr) return EINVAL;
    READ(arena_of(e)->ind, unsigned);
    return 0;
}

static int h_stats_global(CTL_ARGS) {
    (void)mib, (void)miblen;
    stats_global_t g;
    stats_global(&g);
    RO_VALUE((const char *)&g + leaf->arg);
}

static unsigned stats_slot_of(size_t i) {
    return i == MALLCTL_ARENAS_ALL         ? STATS_SLOT_ALL
           : i == MALLCTL_ARENAS_DESTROYED ? STATS_SLOT_DESTROYED
           : i < ARENA_MAX                 ? (unsigned)i
                                           : STATS_NSLOTS;
}

static int ctl_stats_value(CTL_ARGS, size_t off) {
    (void)miblen;
    READONLY();
    char v[16];
    size_t size = ctl_type_size(leaf->type);
    if (!stats_read(stats_slot_of(mib[2]), off, v, size)) return ENOENT;
    return ctl_read(oldp, oldlenp, v, size);
}

static int h_stats_arena(CTL_ARGS) {
    return ctl_stats_value(leaf, mib, miblen, oldp, oldlenp, newp, newlen, leaf->arg);
}

static int h_stats_bin(CTL_ARGS) {
    size_t off = offsetof(stats_arena_t, bins) + mib[4] * sizeof(stats_bin_t) + leaf->arg;
    return ctl_stats_value(leaf, mib, miblen, oldp, oldlenp, newp, newlen, off);
}

static int h_stats_lextent(CTL_ARGS) {
    size_t off = offsetof(stats_arena_t, lextents) + mib[4] * sizeof(stats_lextent_t) + leaf->arg;
    return ctl_stats_value(leaf, mib, miblen, oldp, oldlenp, newp, newlen, off);
}

/* ---- numeric component validators ---- */
static bool v_arena(const size_t *mib, size_t depth, size_t i) {
    (void)mib, (void)depth;
    return i == MALLCTL_ARENAS_ALL || i == MALLCTL_ARENAS_DESTROYED || i <= arena_count();
}

static bool v_stats_arena(const size_t *mib, size_t depth, size_t i) {
    (void)mib, (void)depth;
    unsigned slot = stats_slot_of(i);
    return slot < STATS_NSLOTS && stats_initialized(slot);
}

static bool v_bin(const size_t *mib, size_t depth, size_t i) {
    (void)mib, (void)depth;
    return i < SC_NSMALL;
}

static bool v_lextent(const size_t *mib, size_t depth, size_t i) {
    (void)mib, (void)depth;
    return i < SC_NSIZES - SC_NSMALL;
}

static const struct {
    const char *path;
    ctl_valid_t *valid;
} ctl_validators[] = {
    {"arena.<i>", v_arena},
    {"arenas.bin.<i>", v_bin},
    {"arenas.lextent.<i>", v_lextent},
    {"stats.arenas.<i>", v_stats_arena},
    {"stats.arenas.<i>.bins.<j>", v_bin},
    {"stats.arenas.<i>.lextents.<j>", v_lextent},
};

/* ---- building the tree ---- */
static const struct {
    const char *name;
    ctl_type_t type;
    ctl_handler_t *handler;
    size_t arg;
} ctl_table[] = {
#define CTL_ROW(name, type, access, handler, arg, doc) {name, type, handler, arg},
    CTL_NAMES(CTL_ROW)
#undef CTL_ROW
};

static int ctl_node_new(const char *name, size_t len) {
    if (ctl_nnodes >= CTL_MAXNODES) return -1;
    ctl_node_t *n = &ctl_nodes[ctl_nnodes];
    n->name = name;
    n->len = (uint16_t)len;
    n->first_child = n->next_sibling = -1;
    n->leaf = -1;
    return (int)ctl_nnodes++;
}

static bool is_numeric_component(const char *s, size_t len) {
    return len >= 2 && s[0] == '<' && s[len - 1] == '>';
}

/* Child of parent named name[0..len), created if absent; -1 on error. */
static int ctl_child(int parent, const char *name, size_t len) {
    ctl_node_t *p = &ctl_nodes[parent];
    int last = -1;
    for (int c = p->first_child; c >= 0; c = ctl_nodes[c].next_sibling) {
        if (ctl_nodes[c].len == len && !memcmp(ctl_nodes[c].name, name, len)) return c;
        last = c;
    }
    bool numeric = is_numeric_component(name, len);
    if (p->nchildren && numeric != p->numeric_children) return -1; /* mixed children */
    if (numeric && p->nchildren) return -1;                           /* one numeric child */
    int c = ctl_node_new(name, len);
    if (c < 0) return -1;
    p = &ctl_nodes[parent];
    if (last >= 0) ctl_nodes[last].next_sibling = (int16_t)c;
    else p->first_child = (int16_t)c;
    p->nchildren++;
    p->numeric_children = numeric;
    return c;
}

/* Adds the name given as components to the tree, with leaf. */
static bool ctl_add(const char *const *comp, const size_t *lens, unsigned ncomp, ctl_leaf_t leaf) {
    if (ctl_nleaves >= CTL_MAXLEAVES) return false;
    int n = 0;
    char path[128];
    size_t plen = 0;
    for (unsigned k = 0; k < ncomp; k++) {
        if (ctl_nodes[n].leaf >= 0) return false; /* below a leaf */
        n = ctl_child(n, comp[k], lens[k]);
        if (n < 0) return false;
        if (plen + lens[k] + 2 > sizeof(path)) return false;
        if (plen) path[plen++] = '.';
        memcpy(path + plen, comp[k], lens[k]);
        plen += lens[k];
        path[plen] = '\0';
        if (is_numeric_component(comp[k], lens[k]) && !ctl_nodes[n].valid) {
            for (size_t v = 0; v < sizeof(ctl_validators) / sizeof(ctl_validators[0]); v++)
                if (!strcmp(ctl_validators[v].path, path)) ctl_nodes[n].valid = ctl_validators[v].valid;
            if (!ctl_nodes[n].valid) return false;
        }
    }
    if (ctl_nodes[n].leaf >= 0 || ctl_nodes[n].nchildren) return false; /* duplicate / inner */
    ctl_leaves[ctl_nleaves] = leaf;
    ctl_nodes[n].leaf = (int16_t)ctl_nleaves++;
    return true;
}

static bool ctl_add_pattern(const char *pattern, ctl_leaf_t leaf) {
    const char *comp[CTL_MAXDEPTH];
    size_t lens[CTL_MAXDEPTH];
    unsigned n = 0;
    const char *s = pattern;
    while (*s) {
        if (n == CTL_MAXDEPTH) return false;
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        comp[n] = s;
        lens[n++] = len;
        s += len;
        if (*s) s++;
    }
    return ctl_add(comp, lens, n, leaf);
}

static bool ctl_add2(const char *first, const char *second, ctl_leaf_t leaf) {
    const char *comp[2] = {first, second};
    size_t lens[2] = {strlen(first), strlen(second)};
    return ctl_add(comp, lens, 2, leaf);
}

/* As api's fork handlers (mutex.h): a fork from a signal handler that
 * interrupted this thread inside the allocator (a mallctl holding ctl_lock,
 * say) takes and resets no lock. These run before api's, and neither
 * changes mutex_depth, so both make the same decision. */
static bool ctl_fork_skipped;
static void ctl_prefork(void) {
    ctl_fork_skipped = mutex_depth != 0;
    if (ctl_fork_skipped) return;
    mutex_prefork(&ctl_lock);
    stats_prefork();
}
static void ctl_postfork_parent(void) {
    if (ctl_fork_skipped) return;
    stats_postfork_parent();
    mutex_postfork_parent(&ctl_lock);
}
static void ctl_postfork_child(void) {
    if (ctl_fork_skipped) return;
    stats_postfork_child();
    mutex_postfork_child(&ctl_lock);
}

static void ctl_boot(void) {
    ctl_node_new("", 0); /* root */
    bool ok = true;
    for (size_t i = 0; i < sizeof(ctl_table) / sizeof(ctl_table[0]); i++)
        ok = ok && ctl_add_pattern(ctl_table[i].name, (ctl_leaf_t){ctl_table[i].type,
                                                                   ctl_table[i].handler,
                                                                   ctl_table[i].arg});
    /* config.*: from stats.h */
    static const char *const cfg_names[] = {
#define CFG_NAME(name, value, doc) #name,
        STATS_CONFIG(CFG_NAME)
#undef CFG_NAME
    };
    for (size_t k = 0; k < sizeof(cfg_names) / sizeof(cfg_names[0]); k++)
        ok = ok && ctl_add2("config", cfg_names[k], (ctl_leaf_t){CT_BOOL, h_config, k});
    ok = ok && ctl_add2("config", "malloc_conf", (ctl_leaf_t){CT_STR, h_config, 0});
    /* opt.*: from conf.h's option table */
    size_t used = 0;
    for (unsigned i = 0; i < conf_count && ok; i++) {
        const conf_desc_t *d = &conf_table[i];
        ctl_type_t t = d->kind == CONF_BOOL       ? CT_BOOL
                       : d->kind == CONF_UNSIGNED ? CT_UNSIGNED
                       : d->kind == CONF_SIZE     ? CT_SIZE
                       : d->kind == CONF_SSIZE    ? CT_SSIZE
                                                  : CT_STR;
        if (d->kind == CONF_BOOL && opt_as_string(d->name)) t = CT_STR;
        if (d->kind == CONF_CHOICE && i < 64) {
            size_t n = strlen(d->choices);
            if (used + n + 1 > sizeof(ctl_choice_buf)) ok = false;
            else {
                char *w = ctl_choice_buf + used;
                memcpy(w, d->choices, n + 1);
                used += n + 1;
                for (unsigned k = 0; k < 8 && w; k++) {
                    ctl_choice_word[i][k] = w;
                    w = strchr(w, '|');
                    if (w) *w++ = '\0';
                }
            }
        }
        ok = ok && i < 64 && ctl_add2("opt", d->name, (ctl_leaf_t){t, h_opt, i});
    }
    if (!ok) {
        fmt_error("mallctl namespace could not be built (table error)");
        return;
    }
    pthread_atfork(ctl_prefork, ctl_postfork_parent, ctl_postfork_child);
    stats_refresh();
    ctl_ok = true;
}

/* The namespace, built at first use (the allocator is initialised: api
 * calls in only then). */
static int ctl_init(void) {
    pthread_once(&ctl_once, ctl_boot);
    return ctl_ok ? 0 : EAGAIN;
}

/* ---- lookups ---- */
static const ctl_node_t *ctl_named_child(const ctl_node_t *n, size_t k) {
    int c = n->first_child;
    while (c >= 0 && k--) c = ctl_nodes[c].next_sibling;
    return c >= 0 ? &ctl_nodes[c] : NULL;
}

/* Resolves name into mib (at most *depth components); *depth becomes the
 * number used. *leaf is the leaf reached, NULL for a partial MIB. */
static int ctl_lookup(const char *name, size_t *mib, size_t *depth, const ctl_node_t **leaf) {
    const ctl_node_t *n = &ctl_nodes[0];
    size_t d = 0, max = *depth;
    const char *s = name;
    *leaf = NULL;
    if (!name || !*name) return ENOENT;
    for (;;) {
        if (d == max) {
            *depth = d;
            return 0;
        }
        if (n->leaf >= 0 || !n->nchildren) return ENOENT;
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (len == 0) return ENOENT;
        const ctl_node_t *c;
        if (n->numeric_children) {
            size_t v = 0;
            for (size_t k = 0; k < len; k++) {
                if (s[k] < '0' || s[k] > '9') return ENOENT;
                if (v > (SIZE_MAX - 9) / 10) return ENOENT;
                v = v * 10 + (size_t)(s[k] - '0');
            }
            c = &ctl_nodes[n->first_child];
            if (!c->valid(mib, d, v)) return ENOENT;
            mib[d] = v;
        } else {
            size_t k = 0;
            int ci;
            for (ci = n->first_child; ci >= 0; ci = ctl_nodes[ci].next_sibling, k++)
                if (ctl_nodes[ci].len == len && !memcmp(ctl_nodes[ci].name, s, len)) break;
            if (ci < 0) return ENOENT;
            c = &ctl_nodes[ci];
            mib[d] = k;
        }
        n = c;
        d++;
        if (!dot) break;
        if (n->leaf >= 0) return ENOENT; /* text after a leaf ("version.x"), whatever *depth */
        s = dot + 1;
    }
    if (n->leaf < 0) return ENOENT; /* the name ends inside the tree */
    *depth = d;
    *leaf = n;
    return 0;
}

static int ctl_call(const ctl_node_t *n, const size_t *mib, size_t miblen, void *oldp,
                    size_t *oldlenp, void *newp, size_t newlen) {
    const ctl_leaf_t *l = &ctl_leaves[n->leaf];
    return l->handler(l, mib, miblen, oldp, oldlenp, newp, newlen);
}

int ctl_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
    int ret = ctl_init();
    if (ret) return ret;
    size_t mib[CTL_MAXDEPTH], depth = CTL_MAXDEPTH;
    const ctl_node_t *n;
    ret = ctl_lookup(name, mib, &depth, &n);
    if (ret) return ret;
    if (!n) return ENOENT;
    return ctl_call(n, mib, depth, oldp, oldlenp, newp, newlen);
}

int ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp) {
    int ret = ctl_init();
    if (ret) return ret;
    if (!mibp || !miblenp) return EINVAL;
    size_t mib[CTL_MAXDEPTH], depth = *miblenp < CTL_MAXDEPTH ? *miblenp : CTL_MAXDEPTH;
    const ctl_node_t *n;
    ret = ctl_lookup(name, mib, &depth, &n);
    if (ret) return ret;
    memcpy(mibp, mib, depth * sizeof(size_t));
    *miblenp = depth;
    return 0;
}

int ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
              size_t newlen) {
    int ret = ctl_init();
    if (ret) return ret;
    if (!mib || miblen == 0 || miblen > CTL_MAXDEPTH) return ENOENT;
    const ctl_node_t *n = &ctl_nodes[0];
    for (size_t d = 0; d < miblen; d++) {
        if (n->leaf >= 0 || !n->nchildren) return ENOENT;
        if (n->numeric_children) {
            n = &ctl_nodes[n->first_child];
            if (!n->valid(mib, d, mib[d])) return ENOENT;
        } else {
            if (mib[d] >= n->nchildren) return ENOENT;
            n = ctl_named_child(n, mib[d]);
        }
    }
    if (n->leaf < 0) return ENOENT; /* partial MIB */
    return ctl_call(n, mib, miblen, oldp, oldlenp, newp, newlen);
}

void ctl_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts) {
    if (ctl_init()) return;
    ctl_refresh_locked();
    stats_print(write_cb, cbopaque, opts);
}

void ctl_stats_atexit(void) {
    if (ctl_init()) return;
    ctl_refresh_locked();
    stats_print_exit();
}
