/*
 * conf -- the option table and its parser. Every option is defined once in
 * CONF_OPTIONS below; that one table drives MOSAIC_CONF parsing, the opt.*
 * mallctl names and the generated reference docs (tools/gen-opt-docs).
 * Sources, later ones winning: built-in defaults, the program's mosaic_conf
 * string, then the MOSAIC_CONF environment variable (read with secure_getenv,
 * so set-user-ID programs ignore it).
 * Invariant: options are written only during initialisation (before any
 * other thread can see the allocator); afterwards they are read-only, except
 * the ones mallctl documents as writable, which live in their owners.
 */
#ifndef MOSAIC_CONF_H
#define MOSAIC_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum { CONF_BOOL, CONF_UNSIGNED, CONF_SIZE, CONF_SSIZE, CONF_CHOICE } conf_kind_t;

/* X(name, C type, kind, default, min, max, choices, doc) */
#define CONF_OPTIONS(X)                                                                          \
    X(abort_conf, bool, CONF_BOOL, false, 0, 1, NULL,                                            \
      "Abort the process when MOSAIC_CONF or mosaic_conf holds an unknown key or a bad value "   \
      "(otherwise a one-line warning is printed and the previous value kept).")                         \
    X(narenas, unsigned, CONF_UNSIGNED, 0, 0, 2048, NULL,                                         \
      "Number of automatic arenas threads are spread over; 0 means 4 per CPU (at most 2048: "    \
      "the other half of the 4096 arena indices is for arenas.create).")                        \
    X(tcache, bool, CONF_BOOL, true, 0, 1, NULL, "Give each thread a cache of free blocks (false: every free goes to its slab at once, where double and invalid frees are detected).") \
    X(steal, bool, CONF_BOOL, true, 0, 1, NULL,                                                   \
      "Let a thread whose automatic arena would grow for a small class first take free "       \
      "regions of that class from donor bins of other automatic arenas: bins whose own "        \
      "threads have not allocated the class while more than a transfer stack's worth (256 "    \
      "KiB) of its blocks was freed into them (an idle or exited thread's memory, freed by "    \
      "others). Taken blocks stay their arena's and go back to it when freed. Both arenas "    \
      "must use the default extent hooks; threads bound to an arena with thread.arena never "  \
      "steal. false: arenas never share memory, as in jemalloc; owed growth relief then also "  \
      "purges the free pages inside idle bins' slabs (stats.arenas.<i>.ptrimmed).")             \
    X(tcache_max, size_t, CONF_SIZE, 32768, 0, 65536, NULL,                                       \
      "Largest request size (bytes) served from and returned to thread caches.")                 \
    X(dirty_decay_ms, ssize_t, CONF_SSIZE, 10000, -1, 86400000, NULL,                             \
      "Time after which freed (dirty) pages are purged; 0 purges at once, -1 never.")            \
    X(muzzy_decay_ms, ssize_t, CONF_SSIZE, 0, -1, 86400000, NULL,                                 \
      "Time after which lazily purged (muzzy) pages are purged for good; 0 skips the muzzy "     \
      "state (dirty pages are purged with MADV_DONTNEED), -1 never.")                           \
    X(retain, bool, CONF_BOOL, true, 0, 1, NULL,                                                  \
      "Keep purged virtual memory mapped for reuse instead of unmapping it (false: pages "      \
      "leaving the dirty or muzzy state are unmapped, or handed to the hooks' dalloc).")         \
    X(thp, unsigned, CONF_CHOICE, 0, 0, 2, "default|always|never",                                \
      "Transparent huge pages for arena chunks: default leaves the kernel setting, always "      \
      "advises MADV_HUGEPAGE, never advises MADV_NOHUGEPAGE.")                                   \
    X(stats_print, bool, CONF_BOOL, false, 0, 1, NULL,                                            \
      "Print statistics (malloc_stats_print) to standard error at exit.")                        \
    X(junk, bool, CONF_BOOL, false, 0, 1, NULL,                                                   \
      "Fill new blocks with 0xa5 and freed blocks with 0x5a (debugging aid; calloc and "        \
      "MALLOCX_ZERO blocks are zero). While it is on, thread caches hold nothing: every "       \
      "allocation and free goes to its arena, where the fill happens.")

typedef struct {
#define CONF_FIELD(name, type, kind, def, min, max, choices, doc) type name;
    CONF_OPTIONS(CONF_FIELD)
#undef CONF_FIELD
} conf_opts_t;

extern conf_opts_t opt;

typedef struct {
    const char *name;
    conf_kind_t kind;
    size_t offset;
    long long def, min, max;
    const char *choices;
    const char *doc;
} conf_desc_t;

extern const conf_desc_t conf_table[];
extern const unsigned conf_count;

/* Parses defaults, mosaic_conf, MOSAIC_CONF. Returns the number of errors. */
unsigned conf_init(void);
/* Parses one "key:value,..." string from the named source into opt. */
unsigned conf_parse(const char *s, const char *source);
/* Formats option i's current value as text; returns buf. */
const char *conf_value_text(unsigned i, char *buf, size_t size);
#endif
