/*
 * stats -- statistics: reads the counters the other modules keep (bins and
 * large classes in arena.h, page counts in extent.h, base.h's metadata, the
 * thread caches' per-class counts) into a snapshot that is refreshed only on
 * request (the mallctl "epoch" write, or malloc_stats_print), so that values
 * read one after another are consistent, as jemalloc documents. Also owns
 * the text and JSON printers of malloc_stats_print.
 *
 * State: the snapshot (one record per arena index, one for all arenas merged,
 * one for destroyed arenas) and the epoch, protected by stats_lock. Records
 * are taken from base on first use and reused. Lock order: stats_lock first,
 * then bin locks, pa locks, base_lock (stats_lock is never taken while one
 * of those is held). The printers copy what they print under stats_lock and
 * call the user's callback with no lock held.
 */
#ifndef MOSAIC_STATS_H
#define MOSAIC_STATS_H
#include "arena.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Build-time facts (config.* mallctl names): X(name, value, doc). */
#define STATS_CONFIG(X)                                                                          \
    X(cache_oblivious, false, "Large blocks start at a random cache-line offset (not done).")    \
    X(debug, false, "Built with internal assertions.")                                           \
    X(fill, true, "Junk filling (opt.junk) is available.")                                      \
    X(lazy_lock, false, "Locks are taken only once a second thread exists.")                     \
    X(opt_safety_checks, false, "Extra run-time safety checks are built in.")                    \
    X(prof, false, "The heap profiler is built in.")                                             \
    X(prof_libgcc, false, "The profiler unwinds with libgcc.")                                   \
    X(prof_libunwind, false, "The profiler unwinds with libunwind.")                             \
    X(stats, true, "Statistics are kept (always: the counters are on the slow paths only).")     \
    X(utrace, false, "utrace(2) tracing is built in.")                                          \
    X(xmalloc, false, "Out-of-memory aborts instead of returning NULL.")
/* config.malloc_conf: the built-in configuration string (none). */
#define STATS_CONFIG_MALLOC_CONF ""

/* Options shown as strings to mallctl and the printers, because jemalloc
 * documents them as (const char *): a bool option reads "true"/"false". */
#define STATS_OPT_AS_STRING(X) X(junk)

typedef struct {
    uint64_t nmalloc, ndalloc, nrequests, nfills, nflushes, nslabs;
    size_t curregs, curslabs, nonfull_slabs;
    size_t nparked; /* regions on the bin's transfer stack (Mosaic extension) */
    uint64_t nstolen; /* regions taken by other arenas' fills (Mosaic extension) */
} stats_bin_t;

typedef struct {
    uint64_t nmalloc, ndalloc, nrequests;
    size_t curlextents;
} stats_lextent_t;

#define STATS_NLEXTENTS (SC_NSIZES - SC_NSMALL)

typedef struct {
    bool initialized;
    unsigned nthreads;
    ssize_t dirty_decay_ms, muzzy_decay_ms;
    size_t pactive, pdirty, pmuzzy; /* pages */
    size_t ptrimmed;                /* pages of live slabs purged (arena_t.trimmed) */
    size_t mapped, retained, base, resident; /* bytes */
    uint64_t npurge, nmadvise, purged;
    size_t small_allocated;
    uint64_t small_nmalloc, small_ndalloc, small_nrequests, small_nfills, small_nflushes;
    size_t large_allocated;
    uint64_t large_nmalloc, large_ndalloc, large_nrequests;
    stats_bin_t bins[SC_NSMALL];
    stats_lextent_t lextents[STATS_NLEXTENTS];
} stats_arena_t;

typedef struct {
    size_t allocated, active, metadata, resident, mapped, retained;
} stats_global_t;

/* Snapshot slots: arena indices, then these two. */
#define STATS_SLOT_ALL ARENA_MAX
#define STATS_SLOT_DESTROYED (ARENA_MAX + 1)
#define STATS_NSLOTS (ARENA_MAX + 2)

/* Re-reads every counter into the snapshot and increments the epoch. */
void stats_refresh(void);
uint64_t stats_epoch(void);
/* Copies size bytes at offset off of slot's stats_arena_t into out; false
 * when the slot holds no arena as of the last refresh. */
bool stats_read(unsigned slot, size_t off, void *out, size_t size);
bool stats_initialized(unsigned slot);
void stats_global(stats_global_t *out);
/* Adds a's counters to the destroyed-arenas slot (before arena_destroy) and
 * drops a's own record from the snapshot at once. */
void stats_merge_destroyed(arena_t *a);

/* Facts shared with ctl (arenas.tcache_max, arenas.nhbins). */
size_t stats_tcache_max(void);
unsigned stats_nhbins(void);

/* malloc_stats_print: write_cb NULL writes to standard error. opts as in
 * jemalloc: J (JSON), g, m, d, a, b, l (omit general information, merged,
 * destroyed, per-arena, bin, large statistics); others are ignored. Prints
 * the snapshot of the last stats_refresh (the caller refreshes first, under
 * ctl's lock, which orders it with arena destruction). */
void stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);
/* Where the exit-time statistics (opt.stats_print) go: a copy of standard
 * error taken at start-up, as programs may close stderr before exit. */
void stats_set_exit_fd(int fd);
/* stats_print to that copy (opt.stats_print at exit). */
void stats_print_exit(void);

void stats_prefork(void);
void stats_postfork_parent(void);
void stats_postfork_child(void);
#endif
