/*
 * mutex -- the allocator's lock: a pthread mutex, plus a per-thread count of
 * the allocator locks the thread holds or is acquiring (mutex_depth).
 * The count is what makes fork safe even from a signal handler that
 * interrupted an allocation: if the forking thread is inside the allocator
 * (depth > 0), the prefork step takes no lock at all, since the interrupted
 * code may hold any of them and will release them itself in parent and
 * child; otherwise it takes every lock so no state is caught half-changed.
 * (A process whose *other* threads are mid-allocation while one of its
 * threads forks from a signal handler inside malloc cannot be made safe; the
 * C library has the same limit.)
 * mutex_depth is thread-local; the pthread mutex protects what its owner
 * documents.
 */
#ifndef MOSAIC_MUTEX_H
#define MOSAIC_MUTEX_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    pthread_mutex_t m;
} mutex_t;

extern __thread unsigned mutex_depth __attribute__((tls_model("initial-exec")));

#define MUTEX_INITIALIZER {PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP}

static inline void mutex_init(mutex_t *mx) {
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mx->m, &at);
    pthread_mutexattr_destroy(&at);
}

static inline void mutex_lock(mutex_t *mx) {
    mutex_depth++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pthread_mutex_lock(&mx->m);
}

/* Takes the lock only if it is free at once (true when taken). */
static inline bool mutex_trylock(mutex_t *mx) {
    mutex_depth++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (pthread_mutex_trylock(&mx->m) == 0) return true;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    mutex_depth--;
    return false;
}

static inline void mutex_unlock(mutex_t *mx) {
    pthread_mutex_unlock(&mx->m);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    mutex_depth--;
}

/* The fork protocol: prefork locks, then postfork unlocks (parent) or
 * re-initialises (child). Callers skip all three when mutex_depth != 0. */
static inline void mutex_prefork(mutex_t *mx) { pthread_mutex_lock(&mx->m); }
static inline void mutex_postfork_parent(mutex_t *mx) { pthread_mutex_unlock(&mx->m); }
static inline void mutex_postfork_child(mutex_t *mx) { mutex_init(mx); }
#endif
