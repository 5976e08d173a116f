#include "stats.h"
#include "base.h"
#include "conf.h"
#include "fmt.h"
#include "mosaic.h"
#include "mutex.h"
#include "os.h"
#include "tcache.h"
#include <stdarg.h>
#include <string.h>

static mutex_t stats_lock = MUTEX_INITIALIZER;
static stats_arena_t *stats_snap[STATS_NSLOTS]; /* from base, reused (stats_lock) */
static stats_arena_t stats_scratch;             /* stats_lock */
static stats_global_t stats_glob;               /* stats_lock */
static uint64_t stats_epoch_n = 1;              /* stats_lock (read relaxed) */
static bool stats_any_destroyed;                /* stats_lock */

/* ---- reading the live counters ---- */
/* bs: the metadata counters, accounted to arena 0 (NULL: read them now). */
static void stats_arena_read(arena_t *a, stats_arena_t *out, const base_stats_t *bs) {
    memset(out, 0, sizeof(*out));
    out->initialized = true;
    out->nthreads = __atomic_load_n(&a->nthreads, __ATOMIC_RELAXED);
    out->dirty_decay_ms = __atomic_load_n(&a->pa.dirty_decay_ms, __ATOMIC_RELAXED);
    out->muzzy_decay_ms = __atomic_load_n(&a->pa.muzzy_decay_ms, __ATOMIC_RELAXED);
    pa_stats_t ps;
    pa_stats_read(&a->pa, &ps);
    out->pactive = ps.active_pages;
    out->pdirty = ps.dirty_pages;
    out->pmuzzy = ps.muzzy_pages;
    out->ptrimmed = __atomic_load_n(&a->trimmed, __ATOMIC_RELAXED);
    out->mapped = ps.mapped;
    out->retained = ps.retained;
    out->npurge = ps.npurge;
    out->nmadvise = ps.nmadvise;
    out->purged = ps.purged_pages;
    for (unsigned i = 0; i < SC_NSMALL; i++) {
        bin_t *b = &a->bins[i];
        stats_bin_t *o = &out->bins[i];
        mutex_lock(&b->lock);
        o->nmalloc = b->nmalloc;
        o->ndalloc = b->ndalloc;
        o->nrequests = b->nrequests;
        o->nfills = b->nfills;
        o->nflushes = b->nflushes;
        o->nslabs = b->nslabs;
        o->curregs = b->curregs;
        o->curslabs = b->curslabs;
        o->nonfull_slabs = b->nonfull_slabs;
        o->nparked = b->nxfer;
        o->nstolen = b->nstolen;
        mutex_unlock(&b->lock);
        out->small_allocated += o->curregs * sc_size[i];
        out->small_nmalloc += o->nmalloc;
        out->small_ndalloc += o->ndalloc;
        out->small_nrequests += o->nrequests;
        out->small_nfills += o->nfills;
        out->small_nflushes += o->nflushes;
    }
    for (unsigned j = 0; j < STATS_NLEXTENTS; j++) {
        lstats_t *l = &a->lstats[j];
        stats_lextent_t *o = &out->lextents[j];
        o->nmalloc = __atomic_load_n(&l->nmalloc, __ATOMIC_RELAXED);
        o->ndalloc = __atomic_load_n(&l->ndalloc, __ATOMIC_RELAXED);
        o->nrequests = __atomic_load_n(&l->nrequests, __ATOMIC_RELAXED);
        o->curlextents = __atomic_load_n(&l->curlextents, __ATOMIC_RELAXED);
        out->large_allocated += o->curlextents * sc_size[SC_NSMALL + j];
        out->large_nmalloc += o->nmalloc;
        out->large_ndalloc += o->ndalloc;
        out->large_nrequests += o->nrequests;
    }
    /* a trimmed page read at another moment than pactive could exceed it */
    size_t ptr = out->ptrimmed < out->pactive ? out->ptrimmed : out->pactive;
    out->resident = (out->pactive - ptr + out->pdirty) << OS_PAGE_SHIFT;
    /* Metadata is shared by all arenas; it is accounted to arena 0. */
    if (a->ind == 0) {
        base_stats_t now;
        if (!bs) base_stats_read(&now);
        if (!bs) bs = &now;
        out->base = bs->allocated;
        out->mapped += bs->mapped;
        out->resident += bs->resident;
    }
}

static void stats_arena_merge(stats_arena_t *d, const stats_arena_t *s) {
    d->nthreads += s->nthreads;
    d->pactive += s->pactive;
    d->pdirty += s->pdirty;
    d->pmuzzy += s->pmuzzy;
    d->ptrimmed += s->ptrimmed;
    d->mapped += s->mapped;
    d->retained += s->retained;
    d->base += s->base;
    d->resident += s->resident;
    d->npurge += s->npurge;
    d->nmadvise += s->nmadvise;
    d->purged += s->purged;
    d->small_allocated += s->small_allocated;
    d->small_nmalloc += s->small_nmalloc;
    d->small_ndalloc += s->small_ndalloc;
    d->small_nrequests += s->small_nrequests;
    d->small_nfills += s->small_nfills;
    d->small_nflushes += s->small_nflushes;
    d->large_allocated += s->large_allocated;
    d->large_nmalloc += s->large_nmalloc;
    d->large_ndalloc += s->large_ndalloc;
    d->large_nrequests += s->large_nrequests;
    for (unsigned i = 0; i < SC_NSMALL; i++) {
        stats_bin_t *db = &d->bins[i];
        const stats_bin_t *sb = &s->bins[i];
        db->nmalloc += sb->nmalloc;
        db->ndalloc += sb->ndalloc;
        db->nrequests += sb->nrequests;
        db->nfills += sb->nfills;
        db->nflushes += sb->nflushes;
        db->nslabs += sb->nslabs;
        db->curregs += sb->curregs;
        db->curslabs += sb->curslabs;
        db->nonfull_slabs += sb->nonfull_slabs;
        db->nparked += sb->nparked;
        db->nstolen += sb->nstolen;
    }
    for (unsigned j = 0; j < STATS_NLEXTENTS; j++) {
        stats_lextent_t *dl = &d->lextents[j];
        const stats_lextent_t *sl = &s->lextents[j];
        dl->nmalloc += sl->nmalloc;
        dl->ndalloc += sl->ndalloc;
        dl->nrequests += sl->nrequests;
        dl->curlextents += sl->curlextents;
    }
}

/* Slot record, created on first use (stats_lock held). */
static stats_arena_t *stats_slot(unsigned slot) {
    if (!stats_snap[slot]) stats_snap[slot] = base_alloc(sizeof(stats_arena_t), 64);
    return stats_snap[slot];
}

static void stats_merged_header(stats_arena_t *m) {
    memset(m, 0, sizeof(*m));
    m->initialized = true;
    m->dirty_decay_ms = pa_default_decay_ms(true);
    m->muzzy_decay_ms = pa_default_decay_ms(false);
}

void stats_refresh(void) {
    mutex_lock(&stats_lock);
    stats_arena_t *all = stats_slot(STATS_SLOT_ALL);
    if (all) {
        stats_merged_header(all);
        unsigned n = arena_count();
        /* Records first: they come from base, whose counters are read next. */
        for (unsigned i = 0; i < n; i++)
            if (arena_get(i)) stats_slot(i);
        base_stats_t bs;
        base_stats_read(&bs);
        for (unsigned i = 0; i < ARENA_MAX; i++) {
            arena_t *a = i < n ? arena_get(i) : NULL;
            stats_arena_t *s = a ? stats_snap[i] : NULL;
            if (!s) {
                if (stats_snap[i]) stats_snap[i]->initialized = false;
                continue;
            }
            stats_arena_read(a, s, &bs);
            stats_arena_merge(all, s);
        }
        stats_glob.allocated = all->small_allocated + all->large_allocated;
        stats_glob.active = all->pactive << OS_PAGE_SHIFT;
        stats_glob.metadata = bs.allocated;
        stats_glob.resident = all->resident;
        stats_glob.mapped = all->mapped;
        stats_glob.retained = all->retained;
    }
    __atomic_store_n(&stats_epoch_n, stats_epoch_n + 1, __ATOMIC_RELAXED);
    mutex_unlock(&stats_lock);
}

uint64_t stats_epoch(void) { return __atomic_load_n(&stats_epoch_n, __ATOMIC_RELAXED); }

static bool stats_slot_live(unsigned slot) {
    if (slot >= STATS_NSLOTS || !stats_snap[slot]) return false;
    if (slot == STATS_SLOT_DESTROYED) return stats_any_destroyed;
    return stats_snap[slot]->initialized;
}

bool stats_initialized(unsigned slot) {
    mutex_lock(&stats_lock);
    bool ok = stats_slot_live(slot);
    mutex_unlock(&stats_lock);
    return ok;
}

bool stats_read(unsigned slot, size_t off, void *out, size_t size) {
    mutex_lock(&stats_lock);
    bool ok = stats_slot_live(slot) && off + size <= sizeof(stats_arena_t);
    if (ok) memcpy(out, (const char *)stats_snap[slot] + off, size);
    mutex_unlock(&stats_lock);
    return ok;
}

void stats_global(stats_global_t *out) {
    mutex_lock(&stats_lock);
    *out = stats_glob;
    mutex_unlock(&stats_lock);
}

void stats_merge_destroyed(arena_t *a) {
    mutex_lock(&stats_lock);
    stats_arena_t *d = stats_slot(STATS_SLOT_DESTROYED);
    if (d) {
        if (!stats_any_destroyed) stats_merged_header(d);
        stats_arena_read(a, &stats_scratch, NULL);
        /* As jemalloc: memory counts of a destroyed arena are not kept (its
         * pages went back to the hooks); event counts are. */
        stats_scratch.mapped = stats_scratch.retained = stats_scratch.base = 0;
        stats_scratch.resident = 0;
        stats_arena_merge(d, &stats_scratch);
        stats_any_destroyed = true;
    }
    if (a->ind < ARENA_MAX && stats_snap[a->ind]) stats_snap[a->ind]->initialized = false;
    mutex_unlock(&stats_lock);
}

size_t stats_tcache_max(void) {
    size_t m = 0;
    for (unsigned i = 0; i < TC_NBINS; i++)
        if (sc_size[i] <= opt.tcache_max) m = sc_size[i];
    return m;
}

unsigned stats_nhbins(void) {
    unsigned n = 0;
    for (unsigned i = 0; i < TC_NBINS; i++)
        if (sc_size[i] <= opt.tcache_max) n = i + 1;
    return n;
}

void stats_prefork(void) { mutex_prefork(&stats_lock); }
void stats_postfork_parent(void) { mutex_postfork_parent(&stats_lock); }
void stats_postfork_child(void) { mutex_postfork_child(&stats_lock); }

/* ---- output: buffered writes to the callback ---- */
typedef struct {
    void (*cb)(void *, const char *);
    void *opaque;
    size_t len;
    bool json;
    int depth;        /* JSON nesting */
    bool first[16];   /* JSON: no member written yet at this depth */
    char buf[4096];
} out_t;

static void out_flush(out_t *o) {
    if (!o->len) return;
    o->buf[o->len] = '\0';
    o->cb(o->opaque, o->buf);
    o->len = 0;
}

static void out_str(out_t *o, const char *s) {
    size_t n = strlen(s);
    while (n) {
        if (o->len + 1 >= sizeof(o->buf)) out_flush(o);
        size_t room = sizeof(o->buf) - 1 - o->len;
        size_t k = n < room ? n : room;
        memcpy(o->buf + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
    }
}

static void outf(out_t *o, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void outf(out_t *o, const char *f, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, f);
    fmt_vsnprintf(tmp, sizeof(tmp), f, ap);
    va_end(ap);
    out_str(o, tmp);
}

static void write_stderr(void *opaque, const char *s) {
    (void)opaque;
    os_write_err(s);
}

/* ---- JSON helpers ---- */
static void j_indent(out_t *o) {
    for (int i = 0; i < o->depth; i++) out_str(o, "\t");
}

/* Starts a member (key may be NULL inside arrays). */
static void j_key(out_t *o, const char *key) {
    if (!o->first[o->depth]) out_str(o, ",");
    out_str(o, "\n");
    o->first[o->depth] = false;
    j_indent(o);
    if (key) outf(o, "\"%s\": ", key);
}

static void j_open(out_t *o, const char *key, char c) {
    j_key(o, key);
    char s[2] = {c, '\0'};
    out_str(o, s);
    if (o->depth < 15) o->depth++;
    o->first[o->depth] = true;
}

static void j_close(out_t *o, char c) {
    bool empty = o->first[o->depth];
    o->depth--;
    if (!empty) {
        out_str(o, "\n");
        j_indent(o);
    }
    char s[2] = {c, '\0'};
    out_str(o, s);
}

static void j_u64(out_t *o, const char *key, uint64_t v) {
    j_key(o, key);
    outf(o, "%llu", (unsigned long long)v);
}

static void j_i64(out_t *o, const char *key, int64_t v) {
    j_key(o, key);
    outf(o, "%lld", (long long)v);
}

static void j_bool(out_t *o, const char *key, bool v) {
    j_key(o, key);
    out_str(o, v ? "true" : "false");
}

static void j_str(out_t *o, const char *key, const char *s) {
    j_key(o, key);
    out_str(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') outf(o, "\\%c", c);
        else if (c < 0x20) outf(o, "\\u%04x", c);
        else outf(o, "%c", c);
    }
    out_str(o, "\"");
}

/* ---- general information ---- */
static bool opt_as_string(const char *name) {
#define OPT_STR(n) if (!strcmp(name, #n)) return true;
    STATS_OPT_AS_STRING(OPT_STR)
#undef OPT_STR
    return false;
}

static void print_general(out_t *o, unsigned narenas) {
    char val[64];
    if (o->json) {
        j_str(o, "version", MOSAIC_VERSION);
        j_open(o, "config", '{');
#define CFG_JSON(name, value, doc) j_bool(o, #name, value);
        STATS_CONFIG(CFG_JSON)
#undef CFG_JSON
        j_str(o, "malloc_conf", STATS_CONFIG_MALLOC_CONF);
        j_close(o, '}');
        j_open(o, "opt", '{');
        for (unsigned i = 0; i < conf_count; i++) {
            const conf_desc_t *d = &conf_table[i];
            conf_value_text(i, val, sizeof(val));
            if (d->kind == CONF_CHOICE || opt_as_string(d->name)) {
                j_str(o, d->name, val);
            } else {
                j_key(o, d->name);
                out_str(o, val);
            }
        }
        j_close(o, '}');
        j_open(o, "arenas", '{');
        j_u64(o, "narenas", narenas);
        j_i64(o, "dirty_decay_ms", pa_default_decay_ms(true));
        j_i64(o, "muzzy_decay_ms", pa_default_decay_ms(false));
        j_u64(o, "quantum", SC_QUANTUM);
        j_u64(o, "page", OS_PAGE);
        j_u64(o, "tcache_max", stats_tcache_max());
        j_u64(o, "nbins", SC_NSMALL);
        j_u64(o, "nhbins", stats_nhbins());
        j_open(o, "bin", '[');
        for (unsigned i = 0; i < SC_NSMALL; i++) {
            j_open(o, NULL, '{');
            j_u64(o, "size", sc_size[i]);
            j_u64(o, "nregs", sc_slab[i].nregs);
            j_u64(o, "slab_size", (uint64_t)sc_slab[i].slab_pages << OS_PAGE_SHIFT);
            j_close(o, '}');
        }
        j_close(o, ']');
        j_u64(o, "nlextents", STATS_NLEXTENTS);
        j_open(o, "lextent", '[');
        for (unsigned j = 0; j < STATS_NLEXTENTS; j++) {
            j_open(o, NULL, '{');
            j_u64(o, "size", sc_size[SC_NSMALL + j]);
            j_close(o, '}');
        }
        j_close(o, ']');
        j_close(o, '}');
        return;
    }
    outf(o, "Version: \"%s\"\n", MOSAIC_VERSION);
    out_str(o, "Build-time option settings\n");
#define CFG_TEXT(name, value, doc) outf(o, "  config.%s: %s\n", #name, (value) ? "true" : "false");
    STATS_CONFIG(CFG_TEXT)
#undef CFG_TEXT
    outf(o, "  config.malloc_conf: \"%s\"\n", STATS_CONFIG_MALLOC_CONF);
    out_str(o, "Run-time option settings\n");
    for (unsigned i = 0; i < conf_count; i++) {
        const conf_desc_t *d = &conf_table[i];
        conf_value_text(i, val, sizeof(val));
        if (d->kind == CONF_CHOICE || opt_as_string(d->name))
            outf(o, "  opt.%s: \"%s\"\n", d->name, val);
        else
            outf(o, "  opt.%s: %s\n", d->name, val);
    }
    outf(o, "Arenas: %u\n", narenas);
    outf(o, "Quantum size: %zu\n", (size_t)SC_QUANTUM);
    outf(o, "Page size: %zu\n", OS_PAGE);
    outf(o, "Maximum thread-cached size class: %zu\n", stats_tcache_max());
    outf(o, "Number of bin size classes: %u\n", (unsigned)SC_NSMALL);
    outf(o, "Number of thread-cache bin size classes: %u\n", stats_nhbins());
    outf(o, "Number of large size classes: %u\n", (unsigned)STATS_NLEXTENTS);
    outf(o, "Default decay times: dirty_decay_ms: %zd, muzzy_decay_ms: %zd\n",
         pa_default_decay_ms(true), pa_default_decay_ms(false));
}

/* ---- one arena (or merged) ---- */
static void print_arena(out_t *o, const stats_arena_t *s, bool bins, bool large) {
    if (o->json) {
        j_u64(o, "nthreads", s->nthreads);
        j_i64(o, "dirty_decay_ms", s->dirty_decay_ms);
        j_i64(o, "muzzy_decay_ms", s->muzzy_decay_ms);
        j_u64(o, "pactive", s->pactive);
        j_u64(o, "pdirty", s->pdirty);
        j_u64(o, "pmuzzy", s->pmuzzy);
        j_u64(o, "ptrimmed", s->ptrimmed);
        j_u64(o, "npurge", s->npurge);
        j_u64(o, "nmadvise", s->nmadvise);
        j_u64(o, "purged", s->purged);
        j_u64(o, "mapped", s->mapped);
        j_u64(o, "retained", s->retained);
        j_u64(o, "base", s->base);
        j_u64(o, "resident", s->resident);
        j_open(o, "small", '{');
        j_u64(o, "allocated", s->small_allocated);
        j_u64(o, "nmalloc", s->small_nmalloc);
        j_u64(o, "ndalloc", s->small_ndalloc);
        j_u64(o, "nrequests", s->small_nrequests);
        j_u64(o, "nfills", s->small_nfills);
        j_u64(o, "nflushes", s->small_nflushes);
        j_close(o, '}');
        j_open(o, "large", '{');
        j_u64(o, "allocated", s->large_allocated);
        j_u64(o, "nmalloc", s->large_nmalloc);
        j_u64(o, "ndalloc", s->large_ndalloc);
        j_u64(o, "nrequests", s->large_nrequests);
        j_close(o, '}');
        if (bins) {
            j_open(o, "bins", '[');
            for (unsigned i = 0; i < SC_NSMALL; i++) {
                const stats_bin_t *b = &s->bins[i];
                j_open(o, NULL, '{');
                j_u64(o, "nmalloc", b->nmalloc);
                j_u64(o, "ndalloc", b->ndalloc);
                j_u64(o, "curregs", b->curregs);
                j_u64(o, "nrequests", b->nrequests);
                j_u64(o, "nfills", b->nfills);
                j_u64(o, "nflushes", b->nflushes);
                j_u64(o, "nslabs", b->nslabs);
                j_u64(o, "curslabs", b->curslabs);
                j_u64(o, "nonfull_slabs", b->nonfull_slabs);
                j_u64(o, "nparked", b->nparked);
                j_u64(o, "nstolen", b->nstolen);
                j_close(o, '}');
            }
            j_close(o, ']');
        }
        if (large) {
            j_open(o, "lextents", '[');
            for (unsigned j = 0; j < STATS_NLEXTENTS; j++) {
                const stats_lextent_t *l = &s->lextents[j];
                j_open(o, NULL, '{');
                j_u64(o, "nmalloc", l->nmalloc);
                j_u64(o, "ndalloc", l->ndalloc);
                j_u64(o, "nrequests", l->nrequests);
                j_u64(o, "curlextents", l->curlextents);
                j_close(o, '}');
            }
            j_close(o, ']');
        }
        return;
    }
    outf(o, "assigned threads: %u\n", s->nthreads);
    outf(o, "decay time (ms): dirty %zd, muzzy %zd\n", s->dirty_decay_ms, s->muzzy_decay_ms);
    outf(o, "pages: active %zu, dirty %zu, muzzy %zu, trimmed %zu\n", s->pactive, s->pdirty, s->pmuzzy,
         s->ptrimmed);
    outf(o, "purging: %llu sweeps, %llu madvise calls, %llu pages purged\n",
         (unsigned long long)s->npurge, (unsigned long long)s->nmadvise,
         (unsigned long long)s->purged);
    outf(o, "%-12s %16s %16s %16s %16s\n", "", "allocated", "nmalloc", "ndalloc", "nrequests");
    outf(o, "%-12s %16zu %16llu %16llu %16llu\n", "small:", s->small_allocated,
         (unsigned long long)s->small_nmalloc, (unsigned long long)s->small_ndalloc,
         (unsigned long long)s->small_nrequests);
    outf(o, "%-12s %16zu %16llu %16llu %16llu\n", "large:", s->large_allocated,
         (unsigned long long)s->large_nmalloc, (unsigned long long)s->large_ndalloc,
         (unsigned long long)s->large_nrequests);
    outf(o, "%-12s %16zu %16llu %16llu %16llu\n", "total:",
         s->small_allocated + s->large_allocated,
         (unsigned long long)(s->small_nmalloc + s->large_nmalloc),
         (unsigned long long)(s->small_ndalloc + s->large_ndalloc),
         (unsigned long long)(s->small_nrequests + s->large_nrequests));
    outf(o, "%-12s %16zu\n", "active:", s->pactive << OS_PAGE_SHIFT);
    outf(o, "%-12s %16zu\n", "mapped:", s->mapped);
    outf(o, "%-12s %16zu\n", "retained:", s->retained);
    outf(o, "%-12s %16zu\n", "base:", s->base);
    outf(o, "%-12s %16zu\n", "resident:", s->resident);
    if (bins) {
        outf(o, "bins: %9s %4s %12s %12s %12s %12s %12s %9s %13s %4s %4s %6s %10s %10s %9s %9s %9s\n",
             "size", "ind", "allocated", "nmalloc", "ndalloc", "nrequests", "curregs", "curslabs",
             "nonfull_slabs", "regs", "pgs", "util", "nfills", "nflushes", "nslabs", "nparked",
             "nstolen");
        for (unsigned i = 0; i < SC_NSMALL; i++) {
            const stats_bin_t *b = &s->bins[i];
            if (!b->nmalloc) continue;
            size_t cap = b->curslabs * sc_slab[i].nregs;
            unsigned util = cap ? (unsigned)(b->curregs * 1000 / cap) : 0;
            char us[16];
            fmt_snprintf(us, sizeof(us), "%u.%u%u%u", util / 1000, util / 100 % 10, util / 10 % 10,
                         util % 10);
            outf(o,
                 "      %9zu %4u %12zu %12llu %12llu %12llu %12zu %9zu %13zu %4u %4u %6s %10llu "
                 "%10llu %9llu %9zu %9llu\n",
                 sc_size[i], i, b->curregs * sc_size[i], (unsigned long long)b->nmalloc,
                 (unsigned long long)b->ndalloc, (unsigned long long)b->nrequests, b->curregs,
                 b->curslabs, b->nonfull_slabs, sc_slab[i].nregs, sc_slab[i].slab_pages, us,
                 (unsigned long long)b->nfills, (unsigned long long)b->nflushes,
                 (unsigned long long)b->nslabs, b->nparked, (unsigned long long)b->nstolen);
        }
    }
    if (large) {
        outf(o, "large: %14s %4s %12s %12s %12s %12s %12s\n", "size", "ind", "allocated", "nmalloc",
             "ndalloc", "nrequests", "curlextents");
        for (unsigned j = 0; j < STATS_NLEXTENTS; j++) {
            const stats_lextent_t *l = &s->lextents[j];
            if (!l->nmalloc) continue;
            outf(o, "       %14zu %4u %12zu %12llu %12llu %12llu %12zu\n", sc_size[SC_NSMALL + j],
                 SC_NSMALL + j, l->curlextents * sc_size[SC_NSMALL + j],
                 (unsigned long long)l->nmalloc, (unsigned long long)l->ndalloc,
                 (unsigned long long)l->nrequests, l->curlextents);
        }
    }
}

/* Copies slot under the lock; false when it holds nothing. */
static bool stats_copy(unsigned slot, stats_arena_t *out) {
    return stats_read(slot, 0, out, sizeof(*out));
}

void stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts) {
    bool json = false, general = true, merged = true, destroyed = true, per_arena = true,
         bins = true, large = true;
    for (const char *c = opts ? opts : ""; *c; c++) {
        switch (*c) {
        case 'J': json = true; break;
        case 'g': general = false; break;
        case 'm': merged = false; break;
        case 'd': destroyed = false; break;
        case 'a': per_arena = false; break;
        case 'b': bins = false; break;
        case 'l': large = false; break;
        default: break; /* unknown: ignored, as in jemalloc */
        }
    }
    out_t o;
    o.cb = write_cb ? write_cb : write_stderr;
    o.opaque = cbopaque;
    o.len = 0;
    o.json = json;
    o.depth = 0;
    o.first[0] = true;
    unsigned narenas = arena_count();
    stats_global_t g;
    stats_global(&g);
    stats_arena_t s; /* one arena's copy, printed without the lock */

    if (json) {
        out_str(&o, "{");
        o.depth = 1;
        o.first[1] = true;
        /* Same top-level key as jemalloc, so tools that read its output work. */
        j_open(&o, "jemalloc", '{');
    } else {
        out_str(&o, "___ Begin Mosaic statistics ___\n");
    }
    if (general) print_general(&o, narenas);
    if (json) {
        j_open(&o, "stats", '{');
        j_u64(&o, "allocated", g.allocated);
        j_u64(&o, "active", g.active);
        j_u64(&o, "metadata", g.metadata);
        j_u64(&o, "resident", g.resident);
        j_u64(&o, "mapped", g.mapped);
        j_u64(&o, "retained", g.retained);
        j_close(&o, '}');
        j_open(&o, "stats.arenas", '{');
    } else {
        outf(&o, "Allocated: %zu, active: %zu, metadata: %zu, resident: %zu, mapped: %zu, "
                 "retained: %zu\n",
             g.allocated, g.active, g.metadata, g.resident, g.mapped, g.retained);
    }
    if (merged && stats_copy(STATS_SLOT_ALL, &s)) {
        if (json) j_open(&o, "merged", '{');
        else out_str(&o, "Merged arenas stats:\n");
        print_arena(&o, &s, bins, large);
        if (json) j_close(&o, '}');
    }
    if (destroyed && stats_copy(STATS_SLOT_DESTROYED, &s)) {
        if (json) j_open(&o, "destroyed", '{');
        else out_str(&o, "Destroyed arenas stats:\n");
        print_arena(&o, &s, bins, large);
        if (json) j_close(&o, '}');
    }
    if (per_arena) {
        for (unsigned i = 0; i < narenas; i++) {
            if (!stats_copy(i, &s)) continue;
            char name[16];
            fmt_snprintf(name, sizeof(name), "%u", i);
            if (json) j_open(&o, name, '{');
            else outf(&o, "arenas[%u]:\n", i);
            print_arena(&o, &s, bins, large);
            if (json) j_close(&o, '}');
        }
    }
    if (json) {
        j_close(&o, '}'); /* stats.arenas */
        j_close(&o, '}'); /* jemalloc */
        o.depth = 0;
        out_str(&o, "\n}\n");
    } else {
        out_str(&o, "--- End Mosaic statistics ---\n");
    }
    out_flush(&o);
}

/* ---- opt.stats_print ---- */
static int stats_exit_fd = -1;

void stats_set_exit_fd(int fd) { stats_exit_fd = fd; }

static void write_exit_fd(void *opaque, const char *s) {
    (void)opaque;
    os_write_fd(stats_exit_fd, s);
}

void stats_print_exit(void) { stats_print(stats_exit_fd >= 0 ? write_exit_fd : NULL, NULL, NULL); }
