/*
 * mutex -- the allocator's lock: a pthread mutex that remembers its owner.
 * The owner is what makes fork safe even from a signal handler that
 * interrupted an allocation: the prefork step skips locks the forking thread
 * already holds (the interrupted code will release them, in parent and
 * child), and takes every other lock so no state is caught half-changed.
 * Fields: m is the lock; owner and skipped are written only by the holder.
 */
#ifndef MOSAIC_MUTEX_H
#define MOSAIC_MUTEX_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    pthread_mutex_t m;
    uintptr_t owner;  /* pthread_self() of the holder, 0 when free (atomic) */
    bool skipped;     /* prefork did not take it (forking thread held it) */
} mutex_t;

#define MUTEX_INITIALIZER {PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP, 0, false}

static inline void mutex_init(mutex_t *mx) {
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mx->m, &at);
    pthread_mutexattr_destroy(&at);
    __atomic_store_n(&mx->owner, 0, __ATOMIC_RELAXED);
    mx->skipped = false;
}

static inline void mutex_lock(mutex_t *mx) {
    pthread_mutex_lock(&mx->m);
    __atomic_store_n(&mx->owner, (uintptr_t)pthread_self(), __ATOMIC_RELAXED);
}

static inline bool mutex_trylock(mutex_t *mx) {
    if (pthread_mutex_trylock(&mx->m) != 0) return false;
    __atomic_store_n(&mx->owner, (uintptr_t)pthread_self(), __ATOMIC_RELAXED);
    return true;
}

static inline void mutex_unlock(mutex_t *mx) {
    __atomic_store_n(&mx->owner, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&mx->m);
}

static inline bool mutex_held_by_me(mutex_t *mx) {
    return __atomic_load_n(&mx->owner, __ATOMIC_RELAXED) == (uintptr_t)pthread_self();
}

static inline void mutex_prefork(mutex_t *mx) {
    if (mutex_held_by_me(mx)) {
        mx->skipped = true;
        return;
    }
    mutex_lock(mx);
    mx->skipped = false;
}

static inline void mutex_postfork_parent(mutex_t *mx) {
    if (!mx->skipped) mutex_unlock(mx);
    mx->skipped = false;
}

static inline void mutex_postfork_child(mutex_t *mx) {
    if (!mx->skipped) mutex_init(mx);
    mx->skipped = false;
}
#endif
