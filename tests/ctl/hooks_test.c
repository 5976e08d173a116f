/*
 * hooks_test.c -- arenas with user extent hooks (arenas.create with hooks,
 * arena.<i>.extent_hooks): the hooks are called for the arena's memory and
 * only for it, a destroy hands everything back, hooks that keep their pages;
 * and hooks that do what real ones do inside the allocator's locks: allocate
 * and free (log records, maps of their regions), call mallctl, run while
 * another thread forks, set errno. Part of the ctl suite (tests/ctl/run.sh).
 */
#include "tmallctl.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/wait.h>

static extent_hooks_t *dflt;    /* the default hooks, which the test hooks call */
static unsigned hooks_arena;    /* the arena h_alloc expects to serve */

/* A new explicit arena with these hooks (dflt set for them to call), its
 * dirty decay set to dirty_decay_ms unless that is KEEP_DECAY. */
#define KEEP_DECAY ((ssize_t)-2)
static unsigned hooked_arena(extent_hooks_t *hooks, ssize_t dirty_decay_ms) {
    dflt = rd_p("arena.0.extent_hooks");
    REQUIRE(dflt);
    unsigned a;
    size_t sz = sizeof(a);
    REQUIRE(mallctl("arenas.create", &a, &sz, &hooks, sizeof(hooks)) == 0);
    if (dirty_decay_ms != KEEP_DECAY)
        REQUIRE(ctl(NULL, NULL, &dirty_decay_ms, sizeof(dirty_decay_ms), "arena.%u.dirty_decay_ms", a) == 0);
    hooks_arena = a;
    return a;
}

/* free keeps errno whatever the purge it sets off does: the block's arena
 * purges at once (dirty_decay_ms 0) through extent hooks whose purge sets
 * errno and fails (as madvise does on locked pages). */
static bool errno_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                        unsigned ind) {
    (void)h, (void)addr, (void)size, (void)off, (void)len, (void)ind;
    errno = EIO;
    return true;
}
static void *errno_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero,
                         bool *commit, unsigned ind);
static extent_hooks_t errno_hooks = {errno_alloc, NULL, NULL, NULL, NULL, errno_purge, errno_purge,
                                     NULL, NULL};
static void *errno_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero,
                         bool *commit, unsigned ind) {
    (void)h;
    return dflt->alloc(dflt, na, size, align, zero, commit, ind);
}

static void test_free_keeps_errno(void) {
    unsigned a = hooked_arena(&errno_hooks, 0);
    const size_t sz2 = 16384; /* large: a page run of its own, purged when freed */
    for (int k = 0; k < 2; k++) {
        char *p = mallocx(sz2, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
        REQUIRE(p);
        memset(p, 1, sz2);
        uint64_t nmadvise0 = (epoch(), rd_u64("stats.arenas.%u.nmadvise", a));
        errno = 4321;
        if (k == 0) dallocx(p, MALLOCX_TCACHE_NONE);
        else free(p); /* another arena's block: through the thread cache's slow path */
        CHECK(errno == 4321, "%s changed errno to %d", k ? "free" : "dallocx", errno);
        epoch();
        CHECK(rd_u64("stats.arenas.%u.nmadvise", a) > nmadvise0 || rd_z("stats.arenas.%u.pdirty", a),
              "the free tried no purge");
    }
}

/* ---- extent hooks ---- */
static int n_alloc, n_dalloc, n_destroy, n_purge, bad_ind;

static void *h_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero, bool *commit,
                     unsigned ind) {
    (void)h;
    n_alloc++;
    if (ind != hooks_arena) bad_ind++;
    return dflt->alloc(dflt, na, size, align, zero, commit, ind);
}
static bool h_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    (void)h;
    n_dalloc++;
    return dflt->dalloc(dflt, addr, size, committed, ind);
}
static void h_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    (void)h;
    n_destroy++;
    dflt->destroy(dflt, addr, size, committed, ind);
}
static bool h_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                           unsigned ind) {
    (void)h;
    n_purge++;
    return dflt->purge_forced(dflt, addr, size, off, len, ind);
}
static bool h_split(extent_hooks_t *h, void *a, size_t s, size_t sa, size_t sb, bool c, unsigned i) {
    (void)h, (void)a, (void)s, (void)sa, (void)sb, (void)c, (void)i;
    return false;
}
static bool h_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool c, unsigned i) {
    (void)h, (void)a, (void)sa, (void)b, (void)sb, (void)c, (void)i;
    return false;
}
static extent_hooks_t my_hooks = {h_alloc, h_dalloc, h_destroy, NULL, NULL, NULL, h_purge_forced,
                                  h_split, h_merge};

static void test_extent_hooks(void) {
    dflt = rd_p("arena.0.extent_hooks");
    REQUIRE(dflt && dflt->alloc && dflt->dalloc);
    /* create an arena with hooks */
    extent_hooks_t *hp = &my_hooks;
    unsigned a = 0;
    size_t sz = sizeof(a);
    hooks_arena = rd_u("arenas.narenas");
    REQUIRE(mallctl("arenas.create", &a, &sz, &hp, sizeof(hp)) == 0);
    CHECK_EQ_U(a, hooks_arena);
    CHECK(rd_p("arena.%u.extent_hooks", a) == &my_hooks);
    int fl = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
    void *p = mallocx(1 << 20, fl), *q = mallocx(64, fl);
    REQUIRE(p && q);
    memset(p, 7, 1 << 20);
    CHECK(n_alloc >= 1);
    CHECK_EQ_U(bad_ind, 0);
    dallocx(p, fl);
    dallocx(q, fl);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    CHECK(n_purge >= 1);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == 0);
    CHECK(n_destroy >= 1, "destroy hook called %d times", n_destroy);
    /* replace the hooks of an existing arena: the old ones come back */
    unsigned b = new_arena();
    extent_hooks_t *old = NULL;
    sz = sizeof(old);
    CHECK(ctl(&old, &sz, &hp, sizeof(hp), "arena.%u.extent_hooks", b) == 0);
    CHECK(old == dflt);
    CHECK(rd_p("arena.%u.extent_hooks", b) == &my_hooks);
    hooks_arena = b;
    n_alloc = 0;
    p = mallocx(4 << 20, MALLOCX_ARENA(b) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    CHECK(n_alloc >= 1);
    dallocx(p, MALLOCX_TCACHE_NONE);
    CHECK(ctl(NULL, NULL, &dflt, sizeof(dflt), "arena.%u.extent_hooks", b) == 0);
    CHECK(rd_p("arena.%u.extent_hooks", b) == dflt);
    /* errors */
    CHECK(ctl(NULL, NULL, &hp, 4, "arena.%u.extent_hooks", b) == EINVAL);
    CHECK(ctl(&old, &sz, NULL, 0, "arena.%u.extent_hooks", ALL) == EFAULT);
}

/* Hooks that keep their pages (dalloc opts out, no destroy hook): an arena
 * of theirs can be destroyed, and creating and destroying such arenas again
 * and again reuses the transfer stacks' memory (stats.metadata grows by the
 * records that stay with the kept pages, not by the stacks, about 400 KiB). */
static bool keep_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    (void)h, (void)addr, (void)size, (void)committed, (void)ind;
    return true;
}
static void *keep_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero, bool *commit,
                        unsigned ind) {
    (void)h;
    return dflt->alloc(dflt, na, size, align, zero, commit, ind);
}
static extent_hooks_t keep_hooks = {keep_alloc, keep_dalloc, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static void test_destroy_kept_pages(void) {
    dflt = rd_p("arena.0.extent_hooks");
    REQUIRE(dflt);
    extent_hooks_t *hp = &keep_hooks;
    size_t m0 = 0;
    const int cycles = 20;
    for (int r = 0; r <= cycles; r++) {
        unsigned a;
        size_t sz = sizeof(a);
        REQUIRE(mallctl("arenas.create", &a, &sz, &hp, sizeof(hp)) == 0);
        void *p = mallocx(100, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
        REQUIRE(p);
        dallocx(p, MALLOCX_TCACHE_NONE);
        REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == 0);
        if (r == 0) m0 = (epoch(), rd_z("stats.metadata")); /* after the first cycle */
    }
    epoch();
    size_t grew = rd_z("stats.metadata") - m0;
    CHECK(grew < (size_t)cycles * (64 << 10), "metadata grew %zu KiB over %d cycles", grew >> 10, cycles);
}

/* Hooks that allocate (a log record each call) on a thread attached to their
 * arena: the hook's allocations come from arena 0 instead of re-entering
 * the arena whose locks are held (before: the thread deadlocked at its
 * first fill). Frees inside the hook go home without a cache flush. */
static int alloc_hook_calls, hook_nkept;
static void *hook_kept[4096]; /* records a hook keeps (a map of its regions) */
static void hook_log(const char *what, size_t size) {
    char *rec = malloc(64 + (size_t)(alloc_hook_calls % 3) * 3000); /* small and larger records */
    if (!rec) return;
    snprintf(rec, 64, "%s %zu", what, size);
    unsigned where = ~0u;
    size_t sz = sizeof(where);
    if (mallctl("arenas.lookup", &where, &sz, &rec, sizeof(rec)) != 0 || where != 0) bad_ind++;
    free(rec);
    /* kept: the class of the blocks the thread caches, so a flush of that
     * bin runs while this hook takes one */
    if (hook_nkept < 4096 && (hook_kept[hook_nkept] = malloc(100))) hook_nkept++;
    alloc_hook_calls++;
}
static void *log_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero, bool *commit,
                       unsigned ind) {
    (void)h;
    hook_log("alloc", size);
    return dflt->alloc(dflt, na, size, align, zero, commit, ind);
}
static bool log_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    (void)h;
    hook_log("dalloc", size);
    return dflt->dalloc(dflt, addr, size, committed, ind);
}
static bool log_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind) {
    (void)h;
    hook_log("purge", len);
    return dflt->purge_forced(dflt, addr, size, off, len, ind);
}
static extent_hooks_t log_hooks = {log_alloc, log_dalloc, NULL, NULL, NULL, NULL, log_purge, h_split, h_merge};

static void test_hooks_may_allocate(void) {
    alarm(20); /* a deadlock fails the test instead of hanging the suite */
    bad_ind = 0;
    unsigned cur = rd_u("thread.arena");
    unsigned a = hooked_arena(&log_hooks, 0); /* emptied slabs are purged at once: hooks run during flushes */
    set_arena(a);
    static void *v[6000];
    for (int i = 0; i < 100; i++) REQUIRE((v[i] = malloc(40000))); /* large, not cached */
    CHECK(arena_of_block(v[0]) == a);
    for (int i = 0; i < 100; i++) free(v[i]);
    /* Enough 100 B blocks that the frees overflow the bin's transfer stack:
     * the flushes of the thread's 112 B bin then empty slabs, whose purge
     * calls the hook, which allocates 100 B itself. */
    for (int i = 0; i < 6000; i++) REQUIRE((v[i] = malloc(100)));
    CHECK(arena_of_block(v[0]) == a);
    int kept0 = hook_nkept;
    for (int i = 0; i < 6000; i++) free(v[i]);
    CHECK(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    CHECK(hook_nkept > kept0, "no hook ran during the flushes");
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    /* the thread's cache is intact, and never handed out a kept record */
    for (int i = 0; i < 2000; i++) {
        v[i] = malloc(100);
        CHECK(v[i] && malloc_usable_size(v[i]) == 112, "malloc(100) #%d after the flush: %p", i, v[i]);
        for (int k = 0; k < hook_nkept; k++) CHECK(v[i] != hook_kept[k], "a kept record handed out again");
    }
    for (int i = 0; i < 2000; i++) free(v[i]);
    for (int k = 0; k < hook_nkept; k++) {
        CHECK(arena_of_block(hook_kept[k]) == 0, "kept record %d not from arena 0", k);
        free(hook_kept[k]);
    }
    set_arena(cur);
    CHECK(alloc_hook_calls >= 2, "hooks called %d times", alloc_hook_calls);
    CHECK(bad_ind == 0, "%d log records not from arena 0", bad_ind);
    alarm(0);
}

/* A hook that calls mallctl (its arena's settings, arenas.narenas) while
 * arena.<i>.purge, arena.<all>.purge or malloc_trim purges its arena:
 * those hold no ctl lock across the purge (before: a self-deadlock). (Not
 * an epoch: a statistics refresh reads every arena under its lock, which
 * a hook's caller holds.) */
/* volatile: glibc declares malloc_trim a leaf (it calls nothing back in
 * this file), so the compiler could keep the count in a register across it */
static volatile int mallctl_hook_calls;
static bool mallctl_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                          unsigned ind) {
    (void)h;
    ssize_t ms = 0;
    size_t sz = sizeof(ms);
    unsigned n = 0;
    size_t nsz = sizeof(n);
    if (ctl(&ms, &sz, NULL, 0, "arena.%u.dirty_decay_ms", ind) == 0 &&
        mallctl("arenas.narenas", &n, &nsz, NULL, 0) == 0 && n > ind)
        mallctl_hook_calls++;
    return dflt->purge_forced(dflt, addr, size, off, len, ind);
}
static extent_hooks_t mallctl_hooks = {h_alloc, h_dalloc, NULL, NULL, NULL, NULL, mallctl_purge,
                                       h_split, h_merge};

static void test_hooks_may_mallctl(void) {
    alarm(20);
    unsigned a = hooked_arena(&mallctl_hooks, KEEP_DECAY);
    for (int how = 0; how < 3; how++) {
        void *p = mallocx((size_t)1 << 20, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
        REQUIRE(p);
        memset(p, 1, (size_t)1 << 20);
        dallocx(p, MALLOCX_TCACHE_NONE);
        int calls = mallctl_hook_calls;
        if (how == 0) CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
        else if (how == 1) CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", ALL) == 0);
        else malloc_trim(0);
        CHECK(mallctl_hook_calls > calls, "case %d: the purge hook did not run (or its mallctl failed)", how);
    }
    alarm(0);
}

/* fork while another thread's extent hook allocates and frees: the hook
 * holds its arena's locks and takes arena 0's, so fork takes arena 0's last;
 * its free of another arena's block waits until it is out of the hook
 * (before: fork took arena 0's and arena 1's locks first, and the two threads
 * deadlocked). */
static unsigned fork_hook_arena;
static volatile int fork_hook_stop;
static void *fork_hook_other; /* a block of arena 1, freed inside the hook */
static bool fork_hook_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                            unsigned ind) {
    (void)h;
    void *q = malloc((size_t)1 << 20);
    free(q);
    if (posix_memalign(&q, 4096, 100) == 0) free(q); /* (every entry point: none sets up a cache) */
    /* a block of an arena fork locks before this one (its free waits until
     * the thread is out of the hook) */
    void *o = fork_hook_other;
    fork_hook_other = NULL;
    free(o);
    return dflt->purge_forced(dflt, addr, size, off, len, ind);
}
static extent_hooks_t fork_hooks = {h_alloc, h_dalloc, NULL, NULL, NULL, NULL, fork_hook_purge,
                                    h_split, h_merge};
/* A thread whose first allocator call is a purge: the hook's allocations
 * must not set up its cache (choosing an arena takes a lock fork takes
 * first). */
static void *fork_hook_purger(void *arg) {
    (void)arg;
    ctl(NULL, NULL, NULL, 0, "arena.%u.purge", fork_hook_arena);
    return NULL;
}
static void *fork_hook_worker(void *arg) {
    (void)arg;
    for (unsigned k = 0; !fork_hook_stop; k++) {
        if (!fork_hook_other) fork_hook_other = mallocx((size_t)1 << 20, MALLOCX_ARENA(1) | MALLOCX_TCACHE_NONE);
        void *p = mallocx((size_t)1 << 20, MALLOCX_ARENA(fork_hook_arena) | MALLOCX_TCACHE_NONE);
        if (p) dallocx(p, MALLOCX_TCACHE_NONE);
        if (k % 8 == 0) {
            pthread_t t;
            if (pthread_create(&t, NULL, fork_hook_purger, NULL) == 0) pthread_join(t, NULL);
        }
    }
    free(fork_hook_other);
    return NULL;
}

static void test_hooks_alloc_fork(void) {
    alarm(60);
    fork_hook_arena = hooked_arena(&fork_hooks, -1); /* dirty pages stay for the purger threads */
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, fork_hook_worker, NULL) == 0);
    int bad = 0;
    for (int i = 0; i < 300; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            void *p = malloc(100);
            _exit(p ? 0 : 1);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0) bad++;
    }
    fork_hook_stop = 1;
    pthread_join(t, NULL);
    CHECK(bad == 0, "%d of 300 forks failed", bad);
    alarm(0);
}

/* A hook that allocates and frees while thread.arena's flush runs (a remote
 * stack's blocks empty a slab of the hooked arena): its frees land in bins
 * already flushed, and the flush goes round again, so nothing of arena 0's
 * is left in the cache under the new arena (before: the next flush handed
 * arena 0's block to the new arena, whose mallocx returned it). */
static void *flush_hook_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero,
                              bool *commit, unsigned ind) {
    (void)h;
    free(malloc(100));
    return dflt->alloc(dflt, na, size, align, zero, commit, ind);
}
static bool flush_hook_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                             unsigned ind) {
    (void)h;
    free(malloc(100));
    return dflt->purge_forced(dflt, addr, size, off, len, ind);
}
static extent_hooks_t flush_hooks = {flush_hook_alloc, h_dalloc, NULL, NULL, NULL, NULL, flush_hook_purge,
                                     h_split, h_merge};

static void test_hooks_flush_again(void) {
    unsigned own = rd_u("thread.arena"), z = new_arena(), y = hooked_arena(&flush_hooks, 0);
    void *v[48];
    for (int i = 0; i < 48; i++) REQUIRE((v[i] = mallocx(14000, MALLOCX_ARENA(y) | MALLOCX_TCACHE_NONE)));
    for (int i = 0; i < 47; i++) free(v[i]); /* onto this thread's remote stack */
    set_arena(z);
    REQUIRE(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
    int bad = 0;
    for (int i = 0; i < 64; i++) {
        void *p = mallocx(100, MALLOCX_ARENA(z) | MALLOCX_TCACHE_NONE);
        REQUIRE(p);
        bad += arena_of_block(p) != z;
    }
    CHECK(bad == 0, "%d blocks of mallocx(MALLOCX_ARENA(%u)) from another arena", bad, z);
    free(v[47]);
    set_arena(own);
}

/* Frees a hook defers (blocks of other arenas, too big for the cache) are
 * done when the thread leaves the hook: also when the thread's only call
 * was the purge and it exits right after, and before an arena.<i>.destroy
 * of the blocks' arena (its flush of the caller's cache drains them). */
static void *defer_block;
static bool defer_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                        unsigned ind) {
    (void)h;
    void *b = defer_block;
    defer_block = NULL;
    if (b) dallocx(b, MALLOCX_TCACHE_NONE);
    return dflt->purge_forced(dflt, addr, size, off, len, ind);
}
static extent_hooks_t defer_hooks = {h_alloc, h_dalloc, NULL, NULL, NULL, NULL, defer_purge,
                                     h_split, h_merge};
static unsigned defer_arena;
static void *defer_purger(void *arg) {
    (void)arg;
    ctl(NULL, NULL, NULL, 0, "arena.%u.purge", defer_arena); /* this thread's only call */
    return NULL;
}
static pthread_key_t defer_late_key;
static void defer_late_destructor(void *v) {
    (void)v;
    ctl(NULL, NULL, NULL, 0, "arena.%u.purge", defer_arena);
}
static void *defer_late_thread(void *arg) {
    (void)arg;
    free(malloc(10)); /* the thread's cache (and its exit hook) set up first */
    pthread_setspecific(defer_late_key, (void *)1);
    return NULL;
}
static void defer_dirty(void) { /* dirty pages in the hooked arena, for the purge */
    void *p = mallocx((size_t)1 << 20, MALLOCX_ARENA(defer_arena) | MALLOCX_TCACHE_NONE);
    REQUIRE(p);
    memset(p, 1, (size_t)1 << 20);
    dallocx(p, MALLOCX_TCACHE_NONE);
}

static void test_hooks_deferred_frees(void) {
    defer_arena = hooked_arena(&defer_hooks, -1);
    /* 1. a thread that exits right after */
    unsigned x = new_arena();
    defer_dirty();
    REQUIRE((defer_block = mallocx(40000, MALLOCX_ARENA(x) | MALLOCX_TCACHE_NONE)));
    epoch();
    size_t large0 = rd_z("stats.arenas.%u.large.allocated", x);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, defer_purger, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(defer_block == NULL, "the hook did not run");
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", x), large0 - 40960);
    /* 2. the blocks' arena destroyed right after the purge that deferred */
    defer_dirty();
    REQUIRE((defer_block = mallocx(40000, MALLOCX_ARENA(x) | MALLOCX_TCACHE_NONE)));
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", defer_arena) == 0);
    CHECK(defer_block == NULL, "the hook did not run");
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", x) == 0);
    free(malloc(50000)); /* a slow path: nothing of x's may be left to free */
    /* 3. free keeps errno when it drains a deferred free whose arena purges
     * through a hook that sets errno */
    unsigned e = hooked_arena(&errno_hooks, 0);
    hooks_arena = defer_arena;
    void *big = malloc(50000);
    REQUIRE(big);
    defer_dirty();
    REQUIRE((defer_block = mallocx(16384, MALLOCX_ARENA(e) | MALLOCX_TCACHE_NONE)));
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", defer_arena) == 0);
    CHECK(defer_block == NULL, "the hook did not run");
    errno = 4321;
    free(big); /* drains the deferred free: arena e purges, its hook sets EIO */
    CHECK(errno == 4321, "free changed errno to %d", errno);
    /* 4. a free deferred after the thread's exit hook ran (from a later
     * key's destructor) */
    defer_dirty();
    REQUIRE((defer_block = mallocx(40000, MALLOCX_ARENA(e) | MALLOCX_TCACHE_NONE)));
    epoch();
    size_t large_e = rd_z("stats.arenas.%u.large.allocated", e);
    REQUIRE(pthread_key_create(&defer_late_key, defer_late_destructor) == 0);
    REQUIRE(pthread_create(&t, NULL, defer_late_thread, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(defer_block == NULL, "the hook did not run");
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.large.allocated", e), large_e - 40960);
}

static const tcase_t tests[] = {
    {"free_keeps_errno", test_free_keeps_errno},
    {"extent_hooks", test_extent_hooks},
    {"destroy_kept_pages", test_destroy_kept_pages},
    {"hooks_may_allocate", test_hooks_may_allocate},
    {"hooks_may_mallctl", test_hooks_may_mallctl},
    {"hooks_alloc_fork", test_hooks_alloc_fork},
    {"hooks_flush_again", test_hooks_flush_again},
    {"hooks_deferred_frees", test_hooks_deferred_frees},
};

int main(int argc, char **argv) {
    return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
