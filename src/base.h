/*
 * base -- the metadata allocator. Bump-allocates zeroed records (extent
 * records, arenas, thread-cache stacks) from its own mappings, never from
 * user memory. Nothing is ever returned to it; owners recycle their records.
 * Protected by base_lock (a leaf lock: nothing is locked while holding it).
 * Statistics are written under base_lock and read with relaxed atomics.
 */
#ifndef MOSAIC_BASE_H
#define MOSAIC_BASE_H
#include <stddef.h>
#include <stdbool.h>

bool base_init(void);
/* Zeroed memory, never freed. NULL when the OS refuses. */
void *base_alloc(size_t size, size_t align);

typedef struct {
    size_t allocated; /* bytes handed out by base_alloc */
    size_t mapped;    /* bytes mapped for metadata */
    size_t resident;  /* estimate: bytes of mapped metadata touched */
} base_stats_t;
void base_stats_read(base_stats_t *out);

void base_prefork(void);
void base_postfork_parent(void);
void base_postfork_child(void);
#endif
