/*
 * ctl -- the mallctl namespace, jemalloc-compatible: names, value types,
 * read/write rules and error codes are jemalloc's (see docs/REFERENCE.md).
 * Every name comes from one place: the CTL_NAMES table below (name pattern,
 * type, access, handler, handler argument, doc), plus opt.* generated from
 * conf.h's CONF_OPTIONS and config.* from stats.h's STATS_CONFIG. At first
 * use the patterns are compiled into a tree of components; "<i>"/"<j>" are
 * numeric components checked by a validator. mallctl, mallctlnametomib and
 * mallctlbymib all resolve through that tree, so each works on every name.
 * A MIB component is the number itself for numeric components and the
 * child's position (table order) for named ones.
 *
 * State: the tree (built once under pthread_once, read-only afterwards) and
 * ctl_lock, which serialises the namespace's structural operations (epoch,
 * arenas.create, arena reset/destroy, hook changes). Lock order: ctl_lock,
 * then stats_lock, then the allocator's locks. ctl registers its own fork
 * handlers (after api's, so its locks are taken first).
 */
#ifndef MOSAIC_CTL_H
#define MOSAIC_CTL_H
#include <stddef.h>

typedef enum {
    CT_VOID, CT_BOOL, CT_UNSIGNED, CT_U32, CT_U64, CT_SIZE, CT_SSIZE, CT_STR, CT_PTR
} ctl_type_t;

static inline const char *ctl_type_name(ctl_type_t t) {
    static const char *const names[] = {"void",   "bool",    "unsigned",     "uint32_t", "uint64_t",
                                        "size_t", "ssize_t", "const char *", "pointer"};
    return names[t];
}

#define CTL_ARENAS_IDX "<i> is an arena index, MALLCTL_ARENAS_ALL (4096) or MALLCTL_ARENAS_DESTROYED (4097)"

/*
 * X(name, type, access, handler, arg, doc)
 *   access: "r-" read-only, "rw", "-w" write-only, "--" neither (an action).
 *   arg: a constant passed to the handler (field offset, selector, value).
 */
#define CTL_NAMES(X)                                                                               \
    X("version", CT_STR, "r-", h_version, 0,                                                       \
      "Mosaic's version string (MOSAIC_VERSION).")                                                 \
    X("epoch", CT_U64, "rw", h_epoch, 0,                                                           \
      "Writing any value refreshes the statistics snapshot that stats.* report and increments "   \
      "the epoch; reading returns the current epoch. stats.* values are exact as of the last "    \
      "epoch write.")                                                                              \
    /* ---- thread ---- */                                                                         \
    X("thread.arena", CT_UNSIGNED, "rw", h_thread_arena, 0,                                        \
      "The calling thread's arena. Writing an index below arenas.narenas moves the thread (and "  \
      "its cache, flushed first) there, creating the arena if needed; EFAULT for an index out "    \
      "of range.")                                                                                 \
    X("thread.allocated", CT_U64, "r-", h_thread_counter, 0,                                       \
      "Bytes ever allocated by the calling thread (usable sizes), counted per size class in the " \
      "thread cache; exact at every read.")                                                        \
    X("thread.allocatedp", CT_PTR, "r-", h_thread_counterp, 0,                                     \
      "Pointer (uint64_t *) to a per-thread copy of thread.allocated. Mosaic keeps the counter "  \
      "per size class on the fast path, so the copy is brought up to date by each read of "       \
      "thread.allocated, thread.allocatedp, thread.deallocated or thread.deallocatedp.")          \
    X("thread.deallocated", CT_U64, "r-", h_thread_counter, 1,                                     \
      "Bytes ever freed by the calling thread (usable sizes of the blocks freed).")               \
    X("thread.deallocatedp", CT_PTR, "r-", h_thread_counterp, 1,                                   \
      "Pointer (uint64_t *) to a per-thread copy of thread.deallocated, refreshed like "          \
      "thread.allocatedp's.")                                                                      \
    X("thread.tcache.enabled", CT_BOOL, "rw", h_thread_tcache_enabled, 0,                          \
      "Whether the calling thread's cache is on (default: opt.tcache; always off while opt.junk " \
      "is on, where writing true leaves it off). Turning it off flushes it.")                     \
    X("thread.tcache.flush", CT_VOID, "--", h_thread_tcache_flush, 0,                              \
      "Returns every block in the calling thread's cache to its arena. EFAULT when the thread "    \
      "has no cache (thread.tcache.enabled false, opt.tcache false or opt.junk true).")           \
    X("thread.idle", CT_VOID, "--", h_thread_idle, 0,                                              \
      "Hint that the thread will be idle: flushes its cache and runs its arena's decay.")         \
    /* ---- explicit thread caches ---- */                                                         \
    X("tcache.create", CT_UNSIGNED, "r-", h_tcache_create, 0,                                      \
      "Creates an explicit thread cache and returns its index, for MALLOCX_TCACHE(index). With "  \
      "*oldlenp != sizeof(unsigned), nothing is created, *oldlenp is set to 0 and EINVAL "        \
      "returned. EFAULT when no more caches can be created (1024 at once).")                      \
    X("tcache.flush", CT_UNSIGNED, "-w", h_tcache_flush, 0,                                        \
      "Flushes the explicit cache with the index written. EFAULT for an index that names no "     \
      "cache.")                                                                                    \
    X("tcache.destroy", CT_UNSIGNED, "-w", h_tcache_destroy, 0,                                    \
      "Flushes and destroys the explicit cache with the index written; the index may be handed "  \
      "out again. EFAULT for an index that names no cache.")                                      \
    /* ---- arena.<i> ---- */                                                                      \
    X("arena.<i>.initialized", CT_BOOL, "r-", h_arena_initialized, 0,                              \
      "Whether arena <i> exists (always true for MALLCTL_ARENAS_ALL; for "                        \
      "MALLCTL_ARENAS_DESTROYED, whether an arena was destroyed). " CTL_ARENAS_IDX ".")          \
    X("arena.<i>.decay", CT_VOID, "--", h_arena_purge, 0,                                          \
      "Purges the unused dirty/muzzy pages of arena <i> (or all arenas for "                      \
      "MALLCTL_ARENAS_ALL) whose decay time has passed, at once (however recently a free "        \
      "checked the decay).")                                                                       \
    X("arena.<i>.purge", CT_VOID, "--", h_arena_purge, 1,                                          \
      "Purges all unused dirty and muzzy pages of arena <i> (or all arenas for "                  \
      "MALLCTL_ARENAS_ALL) now.")                                                                  \
    X("arena.<i>.reset", CT_VOID, "--", h_arena_reset, 0,                                          \
      "Frees every block of arena <i>, which must be explicit (arenas.create), else EFAULT. The "  \
      "calling thread's cache is flushed first; other caches that hold blocks of the arena must " \
      "have been flushed (thread.tcache.flush, tcache.flush) by the program.")                    \
    X("arena.<i>.destroy", CT_VOID, "--", h_arena_reset, 1,                                        \
      "Resets arena <i> (as arena.<i>.reset), adds its statistics to those of "                   \
      "MALLCTL_ARENAS_DESTROYED, gives all its memory back (extent hooks destroy/dalloc) and "     \
      "frees its index for arenas.create. EFAULT for an automatic arena or one a thread is "      \
      "assigned to (thread.arena).")                                                               \
    X("arena.<i>.dirty_decay_ms", CT_SSIZE, "rw", h_arena_decay_ms, 1,                             \
      "Arena <i>'s dirty page decay time (ms), -1 (never) to 86400000; the new time applies at "  \
      "once to the pages already dirty. EFAULT for a value out of range or no such arena.")       \
    X("arena.<i>.muzzy_decay_ms", CT_SSIZE, "rw", h_arena_decay_ms, 0,                             \
      "Arena <i>'s muzzy page decay time (ms), as arena.<i>.dirty_decay_ms.")                     \
    X("arena.<i>.extent_hooks", CT_PTR, "rw", h_arena_extent_hooks, 0,                             \
      "Arena <i>'s extent hooks (extent_hooks_t *). Writing replaces them and reads back the "    \
      "old ones; writing to an automatic arena that does not exist yet creates it with the "      \
      "hooks. The hooks must be able to handle the arena's existing extents. A hook may "         \
      "allocate and free: its own allocations come from arena 0 (hooks of arena 0 must not "     \
      "allocate; at most 64 uncacheable frees per hook call are deferred).")                    \
    /* ---- arenas ---- */                                                                         \
    X("arenas.narenas", CT_UNSIGNED, "r-", h_arenas_narenas, 0,                                    \
      "Number of arena indices in use: the automatic arenas (opt.narenas) plus those created.")   \
    X("arenas.dirty_decay_ms", CT_SSIZE, "rw", h_arenas_decay_ms, 1,                               \
      "Dirty decay time given to arenas created from now on (default opt.dirty_decay_ms).")       \
    X("arenas.muzzy_decay_ms", CT_SSIZE, "rw", h_arenas_decay_ms, 0,                               \
      "Muzzy decay time given to arenas created from now on (default opt.muzzy_decay_ms).")       \
    X("arenas.quantum", CT_SIZE, "r-", h_const, SC_QUANTUM, "Quantum: every size class is a multiple (16).") \
    X("arenas.page", CT_SIZE, "r-", h_const, OS_PAGE, "Page size (4096).")                         \
    X("arenas.tcache_max", CT_SIZE, "r-", h_tcache_info, 0,                                              \
      "Largest size class thread caches hold (opt.tcache_max rounded down to a class).")          \
    X("arenas.nbins", CT_UNSIGNED, "r-", h_const, SC_NSMALL, "Number of small (bin) size classes.") \
    X("arenas.nhbins", CT_UNSIGNED, "r-", h_tcache_info, 1,                                              \
      "Number of size classes thread caches hold.")                                               \
    X("arenas.bin.<i>.size", CT_SIZE, "r-", h_bin_info, 0, "Size of small class <i>.")             \
    X("arenas.bin.<i>.nregs", CT_U32, "r-", h_bin_info, 1, "Regions per slab of small class <i>.") \
    X("arenas.bin.<i>.slab_size", CT_SIZE, "r-", h_bin_info, 2,                                   \
      "Bytes per slab of small class <i>.")                                                        \
    X("arenas.nlextents", CT_UNSIGNED, "r-", h_const, SC_NSIZES - SC_NSMALL,                       \
      "Number of large size classes.")                                                             \
    X("arenas.lextent.<i>.size", CT_SIZE, "r-", h_lextent_size, 0, "Size of large class <i>.")     \
    X("arenas.create", CT_UNSIGNED, "rw", h_arenas_create, 0,                                      \
      "Creates an explicit arena and returns its index; the value written, if any, is its "       \
      "extent hooks (extent_hooks_t *). Indices of destroyed arenas are reused. EINVAL (and "     \
      "*oldlenp = 0) unless *oldlenp == sizeof(unsigned); EAGAIN when no arena can be made.")     \
    X("arenas.lookup", CT_UNSIGNED, "rw", h_arenas_lookup, 0,                                      \
      "Write a pointer (void *) to a block, read the index of the arena it belongs to. EINVAL "   \
      "for a pointer Mosaic did not hand out.")                                                    \
    /* ---- stats (as of the last epoch write) ---- */                                             \
    X("stats.allocated", CT_SIZE, "r-", h_stats_global, SG_OFF(allocated),                         \
      "Bytes in blocks allocated by the application (usable sizes; blocks in thread caches "     \
      "count as allocated).")                                                                      \
    X("stats.active", CT_SIZE, "r-", h_stats_global, SG_OFF(active),                               \
      "Bytes in pages of active extents (slabs and large blocks); a page multiple, >= "           \
      "stats.allocated.")                                                                          \
    X("stats.metadata", CT_SIZE, "r-", h_stats_global, SG_OFF(metadata),                           \
      "Bytes of metadata (base allocations: arenas, extent records, cache stacks).")              \
    X("stats.resident", CT_SIZE, "r-", h_stats_global, SG_OFF(resident),                           \
      "Upper bound of resident bytes: active and dirty pages plus touched metadata pages.")       \
    X("stats.mapped", CT_SIZE, "r-", h_stats_global, SG_OFF(mapped),                               \
      "Bytes mapped and not retained (arena extents of any state but retained, plus metadata).")  \
    X("stats.retained", CT_SIZE, "r-", h_stats_global, SG_OFF(retained),                           \
      "Bytes of purged virtual memory kept mapped for reuse instead of being unmapped.")          \
    X("stats.arenas.<i>.nthreads", CT_UNSIGNED, "r-", h_stats_arena, SA_OFF(nthreads),             \
      "Threads assigned to the arena. " CTL_ARENAS_IDX "; <i> must exist as of the last epoch.")  \
    X("stats.arenas.<i>.dirty_decay_ms", CT_SSIZE, "r-", h_stats_arena, SA_OFF(dirty_decay_ms),    \
      "The arena's dirty decay time (merged: arenas.dirty_decay_ms).")                            \
    X("stats.arenas.<i>.muzzy_decay_ms", CT_SSIZE, "r-", h_stats_arena, SA_OFF(muzzy_decay_ms),    \
      "The arena's muzzy decay time (merged: arenas.muzzy_decay_ms).")                            \
    X("stats.arenas.<i>.pactive", CT_SIZE, "r-", h_stats_arena, SA_OFF(pactive),                   \
      "Pages in active extents.")                                                                  \
    X("stats.arenas.<i>.pdirty", CT_SIZE, "r-", h_stats_arena, SA_OFF(pdirty),                     \
      "Pages in unused dirty extents (freed, not yet purged).")                                   \
    X("stats.arenas.<i>.pmuzzy", CT_SIZE, "r-", h_stats_arena, SA_OFF(pmuzzy),                     \
      "Pages in unused muzzy extents (purged with MADV_FREE).")                                   \
    X("stats.arenas.<i>.ptrimmed", CT_SIZE, "r-", h_stats_arena, SA_OFF(ptrimmed),                 \
      "Pages of active slabs purged because every region on them was free (owed relief, with "    \
      "opt.steal off); not resident until a region there is handed out again (Mosaic "            \
      "extension).")                                                                              \
    X("stats.arenas.<i>.mapped", CT_SIZE, "r-", h_stats_arena, SA_OFF(mapped),                     \
      "Mapped bytes (not retained); arena 0 also carries the shared metadata mappings.")          \
    X("stats.arenas.<i>.retained", CT_SIZE, "r-", h_stats_arena, SA_OFF(retained),                 \
      "Retained bytes (purged, kept mapped for reuse).")                                          \
    X("stats.arenas.<i>.base", CT_SIZE, "r-", h_stats_arena, SA_OFF(base),                         \
      "Metadata bytes. Metadata is shared; it is accounted to arena 0.")                          \
    X("stats.arenas.<i>.resident", CT_SIZE, "r-", h_stats_arena, SA_OFF(resident),                 \
      "Upper bound of resident bytes: active and dirty pages (arena 0: plus metadata).")          \
    X("stats.arenas.<i>.npurge", CT_U64, "r-", h_stats_arena, SA_OFF(npurge),                      \
      "Purge sweeps (dirty and muzzy together, growth relief included; Mosaic extension, "     \
      "jemalloc 4 name).")                                                                        \
    X("stats.arenas.<i>.nmadvise", CT_U64, "r-", h_stats_arena, SA_OFF(nmadvise),                  \
      "madvise calls (or purge hook calls) made to purge pages.")                                 \
    X("stats.arenas.<i>.purged", CT_U64, "r-", h_stats_arena, SA_OFF(purged), "Pages purged.")     \
    X("stats.arenas.<i>.small.allocated", CT_SIZE, "r-", h_stats_arena, SA_OFF(small_allocated),   \
      "Bytes in small blocks (including those in thread caches).")                                \
    X("stats.arenas.<i>.small.nmalloc", CT_U64, "r-", h_stats_arena, SA_OFF(small_nmalloc),        \
      "Small regions handed out by the bins (to caches or directly).")                            \
    X("stats.arenas.<i>.small.ndalloc", CT_U64, "r-", h_stats_arena, SA_OFF(small_ndalloc),        \
      "Small regions returned to the bins.")                                                       \
    X("stats.arenas.<i>.small.nrequests", CT_U64, "r-", h_stats_arena, SA_OFF(small_nrequests),    \
      "Small allocation requests served (cache hits included, merged at each fill).")            \
    X("stats.arenas.<i>.small.nfills", CT_U64, "r-", h_stats_arena, SA_OFF(small_nfills),          \
      "Bin fills (batches to a thread cache, or a direct allocation).")                           \
    X("stats.arenas.<i>.small.nflushes", CT_U64, "r-", h_stats_arena, SA_OFF(small_nflushes),      \
      "Thread cache flushes into the bins.")                                                       \
    X("stats.arenas.<i>.large.allocated", CT_SIZE, "r-", h_stats_arena, SA_OFF(large_allocated),   \
      "Bytes in large blocks (including those in thread caches).")                                \
    X("stats.arenas.<i>.large.nmalloc", CT_U64, "r-", h_stats_arena, SA_OFF(large_nmalloc),        \
      "Large extents allocated.")                                                                  \
    X("stats.arenas.<i>.large.ndalloc", CT_U64, "r-", h_stats_arena, SA_OFF(large_ndalloc),        \
      "Large extents freed.")                                                                      \
    X("stats.arenas.<i>.large.nrequests", CT_U64, "r-", h_stats_arena, SA_OFF(large_nrequests),    \
      "Large allocation requests served by the arena.")                                           \
    X("stats.arenas.<i>.bins.<j>.nmalloc", CT_U64, "r-", h_stats_bin, SB_OFF(nmalloc),             \
      "Regions of small class <j> handed out by the bin.")                                        \
    X("stats.arenas.<i>.bins.<j>.ndalloc", CT_U64, "r-", h_stats_bin, SB_OFF(ndalloc),             \
      "Regions of class <j> returned to the bin.")                                                 \
    X("stats.arenas.<i>.bins.<j>.nrequests", CT_U64, "r-", h_stats_bin, SB_OFF(nrequests),         \
      "Allocation requests of class <j> served (cache hits included).")                           \
    X("stats.arenas.<i>.bins.<j>.curregs", CT_SIZE, "r-", h_stats_bin, SB_OFF(curregs),            \
      "Regions of class <j> currently allocated (including those in thread caches).")            \
    X("stats.arenas.<i>.bins.<j>.nfills", CT_U64, "r-", h_stats_bin, SB_OFF(nfills),               \
      "Fills from the bin.")                                                                       \
    X("stats.arenas.<i>.bins.<j>.nflushes", CT_U64, "r-", h_stats_bin, SB_OFF(nflushes),           \
      "Thread cache flushes into the bin.")                                                        \
    X("stats.arenas.<i>.bins.<j>.nslabs", CT_U64, "r-", h_stats_bin, SB_OFF(nslabs),               \
      "Slabs ever created for the bin.")                                                           \
    X("stats.arenas.<i>.bins.<j>.curslabs", CT_SIZE, "r-", h_stats_bin, SB_OFF(curslabs),          \
      "Slabs the bin holds now.")                                                                  \
    X("stats.arenas.<i>.bins.<j>.nonfull_slabs", CT_SIZE, "r-", h_stats_bin, SB_OFF(nonfull_slabs),\
      "Slabs with free regions (not counting the current one).")                                  \
    X("stats.arenas.<i>.bins.<j>.nparked", CT_SIZE, "r-", h_stats_bin, SB_OFF(nparked),            \
      "Freed regions of class <j> parked on the bin's transfer stack, handed out first by the "   \
      "next fills: free, though not yet back in their slabs (so not in curregs; Mosaic "          \
      "extension).")                                                                               \
    X("stats.arenas.<i>.bins.<j>.nstolen", CT_U64, "r-", h_stats_bin, SB_OFF(nstolen),             \
      "Regions of class <j> that threads of other arenas took from this bin, because the bin "   \
      "was a donor (its regions freed faster than its own threads allocated them) while their " \
      "arena would have grown (counted in nmalloc and nfills too; see opt.steal; Mosaic "        \
      "extension).")                                                                               \
    X("stats.arenas.<i>.lextents.<j>.nmalloc", CT_U64, "r-", h_stats_lextent, SL_OFF(nmalloc),     \
      "Large blocks of class <j> allocated.")                                                      \
    X("stats.arenas.<i>.lextents.<j>.ndalloc", CT_U64, "r-", h_stats_lextent, SL_OFF(ndalloc),     \
      "Large blocks of class <j> freed.")                                                          \
    X("stats.arenas.<i>.lextents.<j>.nrequests", CT_U64, "r-", h_stats_lextent, SL_OFF(nrequests), \
      "Requests served with large class <j>.")                                                     \
    X("stats.arenas.<i>.lextents.<j>.curlextents", CT_SIZE, "r-", h_stats_lextent,                 \
      SL_OFF(curlextents), "Large blocks of class <j> currently allocated.")

/* Offsets used as handler arguments (stats.h types). */
#define SG_OFF(f) offsetof(stats_global_t, f)
#define SA_OFF(f) offsetof(stats_arena_t, f)
#define SB_OFF(f) offsetof(stats_bin_t, f)
#define SL_OFF(f) offsetof(stats_lextent_t, f)
/* mallctl, mallctlnametomib, mallctlbymib and malloc_stats_print, with
 * jemalloc's arguments and results; api calls them (its mosaic_* entry
 * points) once the allocator is initialised. */
int ctl_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp);
int ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
              size_t newlen);
void ctl_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);
/* opt.stats_print: malloc_stats_print to the saved standard error, at exit. */
void ctl_stats_atexit(void);
#endif
