/*
 * stats_print.c -- writes malloc_stats_print output (text and JSON, with
 * several opts) into DIR, with a known allocation pattern alive in a fresh
 * arena, plus DIR/expect.json: the values mallctl reports for the same
 * snapshot. check_stats.py parses the JSON with Python's json module and
 * compares. A second arena (PURGE_NSMALL small blocks, one large block freed
 * and purged) gives the purge counters something to sum; after the first
 * arena's destroy come the 'd', 'b', 'l' outputs, then the second arena is
 * destroyed too (DIR/destroyed2.json: MALLCTL_ARENAS_DESTROYED read through
 * mallctl, the sum of both). DIR/leaves*.json: every leaf of every arena's
 * statistics as mallctl reads it, for the snapshot of one output each
 * (check_stats.py compares each printed value). Usage: stats_print DIR
 */
#include "mosaic.h"
#include "conf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define PURGE_NSMALL 7 /* 200-byte blocks of the second arena */

static FILE *out;
static unsigned ncalls;
static void cb(void *opaque, const char *s) {
    ncalls++;
    if (opaque != (void *)&out) abort(); /* cbopaque is passed through */
    fputs(s, out);
}

static void print_to(const char *dir, const char *file, const char *opts) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    out = fopen(path, "w");
    if (!out) {
        perror(path);
        exit(2);
    }
    malloc_stats_print(cb, &out, opts);
    fclose(out);
}

static size_t rd_z(const char *fmt, unsigned a, unsigned b) {
    char name[128];
    snprintf(name, sizeof(name), fmt, a, b);
    size_t v = 0, sz = sizeof(v);
    if (mallctl(name, &v, &sz, NULL, 0)) {
        fprintf(stderr, "mallctl %s failed\n", name);
        exit(2);
    }
    return v;
}

/* Every stats.arenas.<i> leaf of every arena with statistics (and of
 * MALLCTL_ARENAS_ALL, and MALLCTL_ARENAS_DESTROYED when it has them), and
 * the stats.* totals, as mallctl reports them for the current snapshot, into
 * DIR/FILE: {"totals": {...}, "arenas": {"<i>": {"leaf.path": value}}}.
 * check_stats.py compares every printed value with these. */
static const char *const leaf_u[] = {"pactive", "pdirty", "pmuzzy", "ptrimmed", "mapped", "retained", "base",
                                     "resident", "npurge", "nmadvise", "purged",
                                     "small.allocated", "small.nmalloc", "small.ndalloc",
                                     "small.nrequests", "small.nfills", "small.nflushes",
                                     "large.allocated", "large.nmalloc", "large.ndalloc",
                                     "large.nrequests"};
static const char *const leaf_bin[] = {"nmalloc", "ndalloc", "nrequests", "curregs", "nfills",
                                       "nflushes", "nslabs", "curslabs", "nonfull_slabs",
                                       "nparked", "nstolen"};
static const char *const leaf_lx[] = {"nmalloc", "ndalloc", "nrequests", "curlextents"};

static int rd_leaf(const char *name, void *v, size_t size) {
    size_t sz = size;
    return mallctl(name, v, &sz, NULL, 0);
}

static void dump_leaves(const char *dir, const char *file) {
    char path[512], n[160];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *e = fopen(path, "w");
    if (!e) exit(2);
    unsigned narenas, nbins, nl;
    size_t sz = sizeof(unsigned);
    mallctl("arenas.narenas", &narenas, &sz, NULL, 0);
    mallctl("arenas.nbins", &nbins, &sz, NULL, 0);
    mallctl("arenas.nlextents", &nl, &sz, NULL, 0);
    fprintf(e, "{\"totals\": {");
    const char *g[] = {"allocated", "active", "metadata", "resident", "mapped", "retained"};
    for (int i = 0; i < 6; i++) {
        snprintf(n, sizeof(n), "stats.%s", g[i]);
        size_t v = 0;
        if (rd_leaf(n, &v, sizeof(v))) exit(2);
        fprintf(e, "%s\"%s\": %zu", i ? ", " : "", g[i], v);
    }
    fprintf(e, "},\n \"arenas\": {");
    bool firsta = true;
    for (unsigned k = 0; k < narenas + 2; k++) {
        unsigned i = k < narenas ? k : k == narenas ? MALLCTL_ARENAS_ALL : MALLCTL_ARENAS_DESTROYED;
        unsigned nth;
        snprintf(n, sizeof(n), "stats.arenas.%u.nthreads", i);
        if (rd_leaf(n, &nth, sizeof(nth))) continue; /* no statistics */
        const char *key = i == MALLCTL_ARENAS_ALL ? "merged" : i == MALLCTL_ARENAS_DESTROYED ? "destroyed" : NULL;
        if (key) fprintf(e, "%s\n  \"%s\": {", firsta ? "" : ",", key);
        else fprintf(e, "%s\n  \"%u\": {", firsta ? "" : ",", i);
        firsta = false;
        ssize_t dms, mms;
        snprintf(n, sizeof(n), "stats.arenas.%u.dirty_decay_ms", i);
        if (rd_leaf(n, &dms, sizeof(dms))) exit(2);
        snprintf(n, sizeof(n), "stats.arenas.%u.muzzy_decay_ms", i);
        if (rd_leaf(n, &mms, sizeof(mms))) exit(2);
        fprintf(e, "\"nthreads\": %u, \"dirty_decay_ms\": %zd, \"muzzy_decay_ms\": %zd", nth, dms, mms);
        for (size_t f = 0; f < sizeof(leaf_u) / sizeof(leaf_u[0]); f++) {
            uint64_t v;
            snprintf(n, sizeof(n), "stats.arenas.%u.%s", i, leaf_u[f]);
            if (rd_leaf(n, &v, sizeof(v))) exit(2);
            fprintf(e, ", \"%s\": %llu", leaf_u[f], (unsigned long long)v);
        }
        for (unsigned j = 0; j < nbins; j++)
            for (size_t f = 0; f < sizeof(leaf_bin) / sizeof(leaf_bin[0]); f++) {
                uint64_t v;
                snprintf(n, sizeof(n), "stats.arenas.%u.bins.%u.%s", i, j, leaf_bin[f]);
                if (rd_leaf(n, &v, sizeof(v))) exit(2);
                fprintf(e, ", \"bins.%u.%s\": %llu", j, leaf_bin[f], (unsigned long long)v);
            }
        for (unsigned j = 0; j < nl; j++)
            for (size_t f = 0; f < sizeof(leaf_lx) / sizeof(leaf_lx[0]); f++) {
                uint64_t v;
                snprintf(n, sizeof(n), "stats.arenas.%u.lextents.%u.%s", i, j, leaf_lx[f]);
                if (rd_leaf(n, &v, sizeof(v))) exit(2);
                fprintf(e, ", \"lextents.%u.%s\": %llu", j, leaf_lx[f], (unsigned long long)v);
            }
        fprintf(e, "}");
    }
    fprintf(e, "\n}}\n");
    fclose(e);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    const char *dir = argv[1];
    unsigned a;
    size_t sz = sizeof(a);
    if (mallctl("arenas.create", &a, &sz, NULL, 0)) return 2;
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    for (int i = 0; i < 10; i++)
        if (!mallocx(100, fl)) return 2;
    if (!mallocx(100000, fl)) return 2;
    /* the second arena: small blocks, and a large block freed and purged
     * (npurge, nmadvise and purged > 0 there) */
    unsigned b;
    sz = sizeof(b);
    if (mallctl("arenas.create", &b, &sz, NULL, 0)) return 2;
    int flb = MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE;
    for (int i = 0; i < PURGE_NSMALL; i++)
        if (!mallocx(200, flb)) return 2;
    void *lb = mallocx(1 << 20, flb);
    if (!lb) return 2;
    memset(lb, 1, 1 << 20);
    dallocx(lb, MALLOCX_TCACHE_NONE);
    char bname[64];
    snprintf(bname, sizeof(bname), "arena.%u.purge", b);
    if (mallctl(bname, NULL, NULL, NULL, 0)) return 2;
    /* a third arena: two dirty extents purged in one sweep (nmadvise 2,
     * npurge 1), then dirty pages kept (decay -1): no two of those equal */
    unsigned c;
    sz = sizeof(c);
    if (mallctl("arenas.create", &c, &sz, NULL, 0)) return 2;
    int flc = MALLOCX_ARENA(c) | MALLOCX_TCACHE_NONE;
    ssize_t never = -1;
    snprintf(bname, sizeof(bname), "arena.%u.dirty_decay_ms", c);
    if (mallctl(bname, NULL, NULL, &never, sizeof(never))) return 2;
    char *x[3];
    for (int i = 0; i < 3; i++)
        if (!(x[i] = mallocx(512 << 10, flc))) return 2;
    dallocx(x[0], flc);
    dallocx(x[2], flc);
    snprintf(bname, sizeof(bname), "arena.%u.purge", c);
    if (mallctl(bname, NULL, NULL, NULL, 0)) return 2;
    dallocx(x[1], flc);
    unsigned nbins;
    sz = sizeof(nbins);
    mallctl("arenas.nbins", &nbins, &sz, NULL, 0);
    unsigned bin112 = 0;
    for (unsigned j = 0; j < nbins; j++)
        if (rd_z("arenas.bin.%u.size", j, 0) == 112) bin112 = j;

    /* The printers refresh the snapshot (an epoch); mallctl then reads the
     * same snapshot, as long as nothing writes "epoch" in between. */
    print_to(dir, "stats.json", "J");
    char path[512];
    snprintf(path, sizeof(path), "%s/expect.json", dir);
    FILE *e = fopen(path, "w");
    if (!e) return 2;
    unsigned narenas;
    sz = sizeof(narenas);
    mallctl("arenas.narenas", &narenas, &sz, NULL, 0);
    fprintf(e, "{\n");
    const char *g[] = {"allocated", "active", "metadata", "resident", "mapped", "retained"};
    for (int i = 0; i < 6; i++) {
        char n[64];
        snprintf(n, sizeof(n), "stats.%s", g[i]);
        size_t v = 0;
        sz = sizeof(v);
        mallctl(n, &v, &sz, NULL, 0);
        fprintf(e, "  \"%s\": %zu,\n", g[i], v);
    }
    fprintf(e, "  \"narenas\": %u,\n  \"nbins\": %u,\n  \"arena\": %u,\n  \"bin112\": %u,\n", narenas,
            nbins, a, bin112);
    fprintf(e, "  \"purge_arena\": %u,\n  \"purge_nsmall\": %d,\n", b, PURGE_NSMALL);
    fprintf(e, "  \"arena_small_allocated\": %zu,\n",
            rd_z("stats.arenas.%u.small.allocated", a, 0));
    fprintf(e, "  \"arena_large_allocated\": %zu,\n",
            rd_z("stats.arenas.%u.large.allocated", a, 0));
    fprintf(e, "  \"arena_pactive\": %zu,\n", rd_z("stats.arenas.%u.pactive", a, 0));
    fprintf(e, "  \"arena_bin112_curregs\": %zu,\n",
            rd_z("stats.arenas.%u.bins.%u.curregs", a, bin112));
    fprintf(e, "  \"large_size\": %zu,\n", nallocx(100000, 0));
    fprintf(e, "  \"opts\": [");
    bool first = true;
#define OPT_NAME(name, type, kind, def, min, max, choices, doc)                                    \
    fprintf(e, "%s[\"%s\", \"%s\"]", first ? "" : ", ", #name,                                   \
            kind == CONF_CHOICE || !strcmp(#name, "junk") ? "str"                                 \
            : kind == CONF_BOOL                           ? "bool"                                \
                                                          : "int");                               \
    first = false;
    CONF_OPTIONS(OPT_NAME)
#undef OPT_NAME
    fprintf(e, "],\n  \"bin_sizes\": [");
    for (unsigned j = 0; j < nbins; j++) fprintf(e, "%s%zu", j ? ", " : "", rd_z("arenas.bin.%u.size", j, 0));
    fprintf(e, "]\n}\n");
    fclose(e);

    dump_leaves(dir, "leaves.json"); /* (the snapshot of stats.json) */

    print_to(dir, "stats.txt", NULL);
    dump_leaves(dir, "leaves_txt.json"); /* (the snapshot of stats.txt) */
    print_to(dir, "stats_g.json", "Jg");
    print_to(dir, "stats_mabl.json", "Jmabl");
    print_to(dir, "stats_unknown_opts.txt", "xyz!");
    /* an arena destroyed: the "destroyed" section appears */
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.destroy", a);
    if (mallctl(name, NULL, NULL, NULL, 0)) return 2;
    print_to(dir, "stats_destroyed.json", "J");
    dump_leaves(dir, "leaves_destroyed.json");
    print_to(dir, "stats_destroyed.txt", "");
    dump_leaves(dir, "leaves_destroyed_txt.json");
    /* each letter leaves its part out: d destroyed arenas, b bins, l large classes */
    print_to(dir, "stats_Jd.json", "Jd");
    print_to(dir, "stats_Jb.json", "Jb");
    print_to(dir, "stats_Jl.json", "Jl");
    print_to(dir, "stats_bld.txt", "bld");
    /* the second arena destroyed as well: MALLCTL_ARENAS_DESTROYED holds both */
    snprintf(name, sizeof(name), "arena.%u.destroy", b);
    if (mallctl(name, NULL, NULL, NULL, 0)) return 2;
    print_to(dir, "stats_destroyed2.json", "J");
    uint64_t ep = 1;
    if (mallctl("epoch", NULL, NULL, &ep, sizeof(ep))) return 2;
    snprintf(path, sizeof(path), "%s/destroyed2.json", dir);
    e = fopen(path, "w");
    if (!e) return 2;
    fprintf(e, "{\n");
    const char *dn[] = {"small.nmalloc", "small.ndalloc", "large.nmalloc", "large.ndalloc",
                        "npurge", "nmadvise", "purged"};
    for (int i = 0; i < 7; i++) {
        char n[96];
        snprintf(n, sizeof(n), "stats.arenas.%u.%s", MALLCTL_ARENAS_DESTROYED, dn[i]);
        uint64_t v = 0;
        sz = sizeof(v);
        if (mallctl(n, &v, &sz, NULL, 0)) return 2;
        fprintf(e, "  \"%s\": %llu%s\n", dn[i], (unsigned long long)v, i < 6 ? "," : "");
    }
    fprintf(e, "}\n");
    fclose(e);
    return ncalls ? 0 : 2;
}
