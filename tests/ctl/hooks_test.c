/*
 * hooks_test.c -- arenas with user extent hooks (arenas.create with hooks,
 * arena.<i>.extent_hooks): the hooks are called for the arena's memory and
 * only for it, a destroy hands everything back (to dalloc when there is no
 * destroy hook), hooks that keep their pages, split and merge hooks' arguments
 * and their refusals (or absence) obeyed, a misaligned chunk from the alloc
 * hook refused;
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

/* ---- hooks that keep a model of the arena's extents ----
 * The model holds every range the arena got from its alloc hook, cut and
 * joined as the split and merge hooks say (when they agree): jemalloc's
 * contract is that split, merge, purge, dalloc and destroy always name
 * extents the allocator holds, so a call naming a range the model lacks
 * means the allocator's extents and the hooks' view parted (split sizes
 * swapped, a refused merge or split carried out anyway). Every check is
 * recorded in m_bad / m_msg (a hook must not end the test inside the
 * allocator's locks) and looked at by m_check(). */
#define M_MAX 512
static struct { uintptr_t addr; size_t size; } m_ext[M_MAX];
static int m_n, m_bad;
static char m_msg[200];
static size_t m_alloc_bytes, m_dalloc_bytes, m_destroy_bytes;
static int m_nalloc, m_ndalloc, m_ndestroy, m_nsplit, m_nmerge, m_nsplit_refused, m_nmerge_refused;
static bool m_refuse_split, m_refuse_merge; /* the hooks say no (return true) */
static struct { uintptr_t addr; size_t size, a, b; unsigned ind; } m_last_split;
static struct { uintptr_t a; size_t sa; uintptr_t b; size_t sb; unsigned ind; } m_last_merge;

static void m_fail(const char *what, uintptr_t addr, size_t size) {
    if (!m_bad++) snprintf(m_msg, sizeof(m_msg), "%s (%#lx, %zu)", what, (unsigned long)addr, size);
}
static int m_find(uintptr_t addr, size_t size) {
    for (int i = 0; i < m_n; i++)
        if (m_ext[i].addr == addr && m_ext[i].size == size) return i;
    return -1;
}
static void m_add(uintptr_t addr, size_t size) {
    if (m_n == M_MAX) m_fail("model full", addr, size);
    else m_ext[m_n].addr = addr, m_ext[m_n].size = size, m_n++;
}
static void m_del(int i) { m_ext[i] = m_ext[--m_n]; }
static void m_ind(unsigned ind) {
    if (ind != hooks_arena) m_fail("hook called with another arena index", ind, hooks_arena);
}

static void *m_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero, bool *commit,
                     unsigned ind) {
    (void)h;
    m_ind(ind);
    void *p = dflt->alloc(dflt, na, size, align, zero, commit, ind);
    if (p) m_nalloc++, m_alloc_bytes += size, m_add((uintptr_t)p, size);
    return p;
}
/* gives the range back for real (the default dalloc keeps it under retain:true) */
static bool m_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    (void)h;
    m_ind(ind);
    int i = m_find((uintptr_t)addr, size);
    if (i < 0) m_fail("dalloc of an extent the hooks do not know", (uintptr_t)addr, size);
    else m_del(i);
    m_ndalloc++;
    m_dalloc_bytes += size;
    dflt->destroy(dflt, addr, size, committed, ind);
    return false;
}
static void m_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    (void)h;
    m_ind(ind);
    int i = m_find((uintptr_t)addr, size);
    if (i < 0) m_fail("destroy of an extent the hooks do not know", (uintptr_t)addr, size);
    else m_del(i);
    m_ndestroy++;
    m_destroy_bytes += size;
    dflt->destroy(dflt, addr, size, committed, ind);
}
static bool m_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind) {
    (void)h;
    m_ind(ind);
    if (m_find((uintptr_t)addr, size) < 0) m_fail("purge of an extent the hooks do not know", (uintptr_t)addr, size);
    if (off > size || len > size - off) m_fail("purge beyond its extent", off, len);
    return dflt->purge_forced(dflt, addr, size, off, len, ind);
}
static bool m_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b, bool committed,
                    unsigned ind) {
    (void)h, (void)committed;
    m_ind(ind);
    m_nsplit++;
    m_last_split.addr = (uintptr_t)addr, m_last_split.size = size, m_last_split.a = a, m_last_split.b = b;
    m_last_split.ind = ind;
    if (a + b != size || a == 0 || b == 0 || (a & 4095)) m_fail("split: size_a + size_b != size", a, b);
    int i = m_find((uintptr_t)addr, size);
    if (i < 0) m_fail("split of an extent the hooks do not know", (uintptr_t)addr, size);
    if (m_refuse_split) {
        m_nsplit_refused++;
        return true;
    }
    if (i >= 0) {
        m_del(i);
        m_add((uintptr_t)addr, a);
        m_add((uintptr_t)addr + a, b);
    }
    return false;
}
static bool m_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool committed, unsigned ind) {
    (void)h, (void)committed;
    m_ind(ind);
    m_nmerge++;
    m_last_merge.a = (uintptr_t)a, m_last_merge.sa = sa, m_last_merge.b = (uintptr_t)b, m_last_merge.sb = sb;
    m_last_merge.ind = ind;
    if ((uintptr_t)b != (uintptr_t)a + sa) m_fail("merge: addr_b != addr_a + size_a", (uintptr_t)b, sa);
    int i = m_find((uintptr_t)a, sa);
    if (i < 0) m_fail("merge of an extent (a) the hooks do not know", (uintptr_t)a, sa);
    int j = m_find((uintptr_t)b, sb);
    if (j < 0) m_fail("merge of an extent (b) the hooks do not know", (uintptr_t)b, sb);
    if (m_refuse_merge) {
        m_nmerge_refused++;
        return true;
    }
    if (i >= 0 && j >= 0) {
        m_del(i);
        j = m_find((uintptr_t)b, sb);
        m_del(j);
        m_add((uintptr_t)a, sa + sb);
    }
    return false;
}

/* The hook sets: all nine slots as jemalloc 5 orders them (alloc, dalloc,
 * destroy, commit, decommit, purge_lazy, purge_forced, split, merge). */
static extent_hooks_t m_hooks = {m_alloc, m_dalloc, m_destroy, NULL, NULL, NULL, m_purge, m_split, m_merge};
static extent_hooks_t m_hooks_nodestroy = {m_alloc, m_dalloc, NULL, NULL, NULL, NULL, m_purge, m_split, m_merge};
static extent_hooks_t m_hooks_nomerge = {m_alloc, m_dalloc, m_destroy, NULL, NULL, NULL, m_purge, m_split, NULL};
static extent_hooks_t m_hooks_nosplit = {m_alloc, m_dalloc, m_destroy, NULL, NULL, NULL, m_purge, NULL, m_merge};

static void m_reset(void) {
    m_n = m_bad = 0;
    m_msg[0] = '\0';
    m_alloc_bytes = m_dalloc_bytes = m_destroy_bytes = 0;
    m_nalloc = m_ndalloc = m_ndestroy = m_nsplit = m_nmerge = m_nsplit_refused = m_nmerge_refused = 0;
    m_refuse_split = m_refuse_merge = false;
}
#define m_check() CHECK(m_bad == 0, "%d bad hook calls, first: %s", m_bad, m_msg)
/* The model's extent that starts at p, its size (0: none). */
static size_t m_size_at(void *p) {
    for (int i = 0; i < m_n; i++)
        if (m_ext[i].addr == (uintptr_t)p) return m_ext[i].size;
    return 0;
}
/* arena.<a>.destroy: every range from the alloc hook comes back, through
 * destroy (when there is one) or dalloc, whole, and nothing twice. */
static void m_destroy_arena(unsigned a) {
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == 0);
    CHECK(m_n == 0, "%d extents (%zu bytes first) not given back by the destroy", m_n, m_n ? m_ext[0].size : 0);
    CHECK_EQ_U(m_dalloc_bytes + m_destroy_bytes, m_alloc_bytes);
    m_check();
}

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)
#define FL(a) (MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE)

/* A huge block of an arena with user hooks never moves by mremap, which
 * would take it out of the memory the hooks manage: a 32 MiB block that
 * cannot grow in place (its chunk is exactly its size) grows to 64 MiB in
 * memory from the alloc hook, contents copied, and the destroy gives back
 * exactly what alloc gave. */
static void test_hooks_no_mremap(void) {
    m_reset();
    unsigned a = hooked_arena(&m_hooks, -1);
    char *p = mallocx(32 * MiB, FL(a));
    REQUIRE(p);
    memset(p, 3, 32 * MiB);
    int nalloc = m_nalloc;
    char *q = rallocx(p, 64 * MiB, FL(a));
    REQUIRE(q);
    CHECK(m_nalloc > nalloc, "the growth called no alloc hook");
    bool inside = false;
    for (int i = 0; i < m_n; i++)
        inside = inside || ((uintptr_t)q >= m_ext[i].addr && (uintptr_t)q + 64 * MiB <= m_ext[i].addr + m_ext[i].size);
    CHECK(inside, "the grown block %p lies outside every extent the hooks handed out", (void *)q);
    size_t bad = 0;
    for (size_t i = 0; i < 32 * MiB; i += 4096) bad += q[i] != 3 || q[i + 4095] != 3;
    CHECK_EQ_U(bad, 0);
    dallocx(q, MALLOCX_TCACHE_NONE);
    m_destroy_arena(a);
}

/* Split and merge hooks get jemalloc's arguments: split(addr, size, size_a,
 * size_b) with size_a the head the allocator keeps at addr (size_a + size_b
 * == size), merge(addr_a, size_a, addr_b, size_b) with addr_b == addr_a +
 * size_a, both with the arena's index, and always on extents the allocator
 * got from the hooks (or made of them by earlier splits and merges): a
 * model of the extents stays in step through a 2 MiB chunk cut for a 512
 * KiB block, the block freed (merged back), a large block shrunk and grown
 * in place (xallocx), small blocks, a purge and the destroy. */
static void test_hooks_split_merge_args(void) {
    m_reset();
    unsigned a = hooked_arena(&m_hooks, -1); /* dirty pages stay until purged */
    char *p = mallocx(2 * MiB, FL(a));
    REQUIRE(p);
    CHECK_EQ_U(m_nalloc, 1);
    CHECK_EQ_U(m_size_at(p), 2 * MiB);
    dallocx(p, MALLOCX_TCACHE_NONE);
    char *x = mallocx(512 * KiB, FL(a)); /* the free 2 MiB cut: 512 KiB head, 1.5 MiB tail */
    REQUIRE(x);
    CHECK(x == p, "the 512 KiB block not at the start of the free chunk");
    CHECK_EQ_U(m_nalloc, 1);
    CHECK_EQ_U(m_nsplit, 1);
    CHECK(m_last_split.addr == (uintptr_t)p && m_last_split.size == 2 * MiB &&
              m_last_split.a == 512 * KiB && m_last_split.b == 3 * 512 * KiB && m_last_split.ind == a,
          "split(%#lx, %zu, %zu, %zu, arena %u), expected (%p, 2 MiB, 512 KiB, 1.5 MiB, %u)",
          (unsigned long)m_last_split.addr, m_last_split.size, m_last_split.a, m_last_split.b,
          m_last_split.ind, (void *)p, a);
    CHECK_EQ_U(m_size_at(x), 512 * KiB);
    memset(x, 1, 512 * KiB);
    dallocx(x, MALLOCX_TCACHE_NONE); /* merged with the free tail again */
    CHECK(m_nmerge >= 1, "no merge hook call");
    CHECK(m_last_merge.a == (uintptr_t)p && m_last_merge.sa == 512 * KiB &&
              m_last_merge.b == (uintptr_t)p + 512 * KiB && m_last_merge.sb == 3 * 512 * KiB &&
              m_last_merge.ind == a,
          "merge(%#lx, %zu, %#lx, %zu, arena %u)", (unsigned long)m_last_merge.a, m_last_merge.sa,
          (unsigned long)m_last_merge.b, m_last_merge.sb, m_last_merge.ind);
    CHECK_EQ_U(m_size_at(p), 2 * MiB);
    m_check();
    /* in place: 1 MiB shrunk to 256 KiB (split 256 KiB + 768 KiB), grown back */
    char *y = mallocx(MiB, FL(a));
    REQUIRE(y);
    memset(y, 2, MiB);
    int nsplit = m_nsplit;
    CHECK_EQ_U(xallocx(y, 256 * KiB, 0, 0), 256 * KiB);
    CHECK(m_nsplit > nsplit, "the shrink called no split hook");
    CHECK(m_last_split.addr == (uintptr_t)y && m_last_split.size == MiB && m_last_split.a == 256 * KiB &&
              m_last_split.b == 768 * KiB,
          "shrink: split(%#lx, %zu, %zu, %zu)", (unsigned long)m_last_split.addr, m_last_split.size,
          m_last_split.a, m_last_split.b);
    CHECK_EQ_U(m_size_at(y), 256 * KiB);
    CHECK_EQ_U(xallocx(y, MiB, 0, 0), MiB);
    CHECK_EQ_U(m_size_at(y), MiB);
    for (size_t i = 0; i < 256 * KiB; i++)
        if (y[i] != 2) {
            CHECK(false, "byte %zu of the block changed by the shrink and grow", i);
            break;
        }
    /* small blocks (slabs cut from the same memory) */
    void *s[64];
    for (int i = 0; i < 64; i++) REQUIRE((s[i] = mallocx(3000, FL(a))));
    for (int i = 0; i < 64; i++) memset(s[i], 3, 3000);
    for (int i = 0; i < 64; i++) dallocx(s[i], MALLOCX_TCACHE_NONE);
    dallocx(y, MALLOCX_TCACHE_NONE);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", a) == 0);
    m_check();
    m_destroy_arena(a);
    CHECK(m_ndestroy >= 1 && m_ndalloc == 0, "destroy hook %d calls, dalloc %d", m_ndestroy, m_ndalloc);
}

/* Two free neighbours the merge hook will not join (it returns true, or the
 * hook set has no merge: jemalloc's "never merge") stay two extents: a
 * request as big as both together takes new memory from the alloc hook,
 * not the two joined; the arena keeps working and its destroy gives every
 * range back as the hooks know it. */
static void merge_refused(extent_hooks_t *hooks, bool refuse, const char *how) {
    m_reset();
    m_refuse_merge = refuse;
    unsigned a = hooked_arena(hooks, -1);
    char *c = mallocx(2 * MiB, FL(a)); /* one 2 MiB chunk */
    REQUIRE(c);
    CHECK_EQ_U(m_nalloc, 1);
    dallocx(c, MALLOCX_TCACHE_NONE);
    char *x = mallocx(MiB, FL(a)), *y = mallocx(MiB, FL(a)); /* its two halves */
    REQUIRE(x && y);
    CHECK(x == c && y == c + MiB, "%s: halves %p %p of %p", how, (void *)x, (void *)y, (void *)c);
    CHECK_EQ_U(m_nalloc, 1);
    memset(x, 1, MiB);
    memset(y, 2, MiB);
    dallocx(x, MALLOCX_TCACHE_NONE);
    dallocx(y, MALLOCX_TCACHE_NONE); /* beside the free x: a merge, which the hooks refuse */
    if (refuse) CHECK(m_nmerge_refused >= 1, "%s: the merge hook was not asked", how);
    CHECK(m_size_at(c) == MiB && m_size_at(c + MiB) == MiB, "%s: the hooks' extents at %p: %zu, %zu", how,
          (void *)c, m_size_at(c), m_size_at(c + MiB));
    char *z = mallocx(2 * MiB, FL(a));
    REQUIRE(z, "%s: mallocx(2 MiB) failed", how);
    CHECK(z < c || z >= c + 2 * MiB, "%s: the 2 MiB block %p spans the two halves the hooks did not merge", how,
          (void *)z);
    CHECK_EQ_U(m_nalloc, 2);
    memset(z, 3, 2 * MiB);
    /* both halves still serve */
    x = mallocx(MiB, FL(a)), y = mallocx(MiB, FL(a));
    REQUIRE(x && y);
    CHECK((x == c && y == c + MiB) || (x == c + MiB && y == c), "%s: halves again at %p %p", how, (void *)x,
          (void *)y);
    memset(x, 4, MiB);
    memset(y, 5, MiB);
    for (size_t i = 0; i < 2 * MiB; i += 4096) CHECK(z[i] == 3, "%s: the 2 MiB block overwritten", how);
    /* no in-place growth into the free neighbour either (that is a merge) */
    char *lo = x < y ? x : y, *hi = x < y ? y : x;
    dallocx(hi, MALLOCX_TCACHE_NONE);
    CHECK_EQ_U(xallocx(lo, 2 * MiB, 0, 0), MiB);
    CHECK(lo[0] == (lo == x ? 4 : 5) && lo[MiB - 1] == (lo == x ? 4 : 5), "%s: the block changed", how);
    dallocx(lo, MALLOCX_TCACHE_NONE);
    dallocx(z, MALLOCX_TCACHE_NONE);
    m_check();
    m_destroy_arena(a);
}
static void test_hooks_merge_refused(void) { merge_refused(&m_hooks, true, "merge returns true"); }
static void test_hooks_merge_null(void) { merge_refused(&m_hooks_nomerge, false, "merge NULL"); }

/* A free extent the split hook will not cut (it returns true, or the hook
 * set has no split: jemalloc's "never split") stays whole: a smaller
 * request is served from new memory of its exact size, an in-place shrink
 * is refused (xallocx keeps the size), and nothing is corrupted. */
static void split_refused(extent_hooks_t *hooks, bool refuse, const char *how) {
    m_reset();
    unsigned a = hooked_arena(hooks, -1);
    char *c = mallocx(2 * MiB, FL(a));
    REQUIRE(c);
    CHECK_EQ_U(m_nalloc, 1);
    CHECK_EQ_U(m_size_at(c), 2 * MiB);
    memset(c, 1, 2 * MiB);
    m_refuse_split = refuse; /* from now on */
    CHECK_EQ_U(xallocx(c, MiB, 0, 0), 2 * MiB); /* no in-place shrink without a split */
    dallocx(c, MALLOCX_TCACHE_NONE);
    char *x = mallocx(MiB, FL(a));
    REQUIRE(x, "%s: mallocx(1 MiB) failed", how);
    if (refuse) CHECK(m_nsplit_refused >= 1, "%s: the split hook was not asked", how);
    CHECK(x < c || x >= c + 2 * MiB, "%s: the 1 MiB block %p cut from the free 2 MiB at %p", how, (void *)x,
          (void *)c);
    CHECK_EQ_U(m_nalloc, 2);
    CHECK_EQ_U(m_size_at(x), MiB);
    CHECK_EQ_U(m_size_at(c), 2 * MiB);
    memset(x, 2, MiB);
    char *z = mallocx(2 * MiB, FL(a)); /* the whole free 2 MiB, no split needed */
    REQUIRE(z);
    CHECK(z == c, "%s: the 2 MiB block at %p, not the free 2 MiB at %p", how, (void *)z, (void *)c);
    memset(z, 3, 2 * MiB);
    for (size_t i = 0; i < MiB; i += 4096) CHECK(x[i] == 2, "%s: the 1 MiB block overwritten", how);
    dallocx(x, MALLOCX_TCACHE_NONE);
    dallocx(z, MALLOCX_TCACHE_NONE);
    m_check();
    m_destroy_arena(a);
}
static void test_hooks_split_refused(void) { split_refused(&m_hooks, true, "split returns true"); }
static void test_hooks_split_null(void) { split_refused(&m_hooks_nosplit, false, "split NULL"); }

/* No destroy hook: arena.<i>.destroy hands every range to dalloc instead
 * (jemalloc's fallback), each whole, the bytes adding up to what the alloc
 * hook gave. */
static void test_hooks_destroy_null_dallocs(void) {
    m_reset();
    unsigned a = hooked_arena(&m_hooks_nodestroy, -1);
    void *p = mallocx(2 * MiB, FL(a)), *q = mallocx(100, FL(a)), *r = mallocx(300 * KiB, FL(a));
    REQUIRE(p && q && r);
    memset(p, 1, 2 * MiB);
    dallocx(p, MALLOCX_TCACHE_NONE);
    dallocx(q, MALLOCX_TCACHE_NONE);
    CHECK(m_nalloc >= 2);
    CHECK_EQ_U(m_ndalloc, 0);
    m_destroy_arena(a); /* r still allocated: the destroy frees it */
    CHECK(m_ndalloc >= 1, "no dalloc call");
    CHECK_EQ_U(m_dalloc_bytes, m_alloc_bytes);
}

/* An alloc hook that returns memory not aligned to a page (16 bytes into a
 * mapping): the request fails (NULL) instead of the allocator using it, and
 * the allocator goes on working. */
static int misalign_calls;
static void *misalign_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero, bool *commit,
                            unsigned ind) {
    (void)h;
    misalign_calls++;
    char *p = dflt->alloc(dflt, na, size + 4096, align, zero, commit, ind);
    return p ? p + 16 : NULL;
}
/* (split and merge allowed: a refused split would fail the request anyway) */
static extent_hooks_t misalign_hooks = {misalign_alloc, NULL, NULL, NULL, NULL, NULL, NULL, h_split, h_merge};

static void test_hooks_misaligned_alloc(void) {
    unsigned a = hooked_arena(&misalign_hooks, -1);
    void *p = mallocx(MiB, FL(a));
    CHECK(p == NULL, "mallocx(1 MiB) gave %p from a misaligned chunk", p);
    void *q = mallocx(100, FL(a));
    CHECK(q == NULL, "mallocx(100) gave %p from a misaligned chunk", q);
    CHECK(misalign_calls >= 2, "the alloc hook called %d times", misalign_calls);
    void *r = malloc(100), *s = mallocx(MiB, MALLOCX_TCACHE_NONE);
    REQUIRE(r && s);
    memset(r, 1, 100);
    memset(s, 1, MiB);
    free(r);
    dallocx(s, MALLOCX_TCACHE_NONE);
    CHECK(ctl(NULL, NULL, NULL, 0, "arena.%u.destroy", a) == 0);
}

/* Growth relief purges only arenas with the default hooks: user hooks'
 * pages are theirs to manage (their purge may be costly, or refuse). An
 * automatic arena k with dirty pages and counting hooks gives nothing while
 * another automatic arena grows by 2 MiB, nor later to pay that growth
 * (owed relief); with the default hooks back, the same growth purges its
 * pages. */
static int rl_npurge, rl_ndalloc;
static void *rl_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero, bool *commit,
                      unsigned ind) {
    (void)h;
    return dflt->alloc(dflt, na, size, align, zero, commit, ind);
}
static bool rl_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    (void)h;
    rl_ndalloc++;
    return dflt->dalloc(dflt, addr, size, committed, ind);
}
static bool rl_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind) {
    (void)h;
    rl_npurge++;
    return dflt->purge_lazy ? dflt->purge_lazy(dflt, addr, size, off, len, ind) : true;
}
static bool rl_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                            unsigned ind) {
    (void)h;
    rl_npurge++;
    return dflt->purge_forced(dflt, addr, size, off, len, ind);
}
static extent_hooks_t rl_hooks = {rl_alloc, rl_dalloc, NULL, NULL, NULL, rl_purge_lazy, rl_purge_forced,
                                  h_split, h_merge};

static void rl_grow(void **v, int k) { /* k blocks of 256 KiB in the thread's arena */
    for (int i = 0; i < k; i++) REQUIRE((v[i] = mallocx(256 << 10, MALLOCX_TCACHE_NONE)));
    epoch();
}

static void test_relief_default_hooks_only(void) {
    dflt = rd_p("arena.0.extent_hooks");
    REQUIRE(dflt && dflt->purge_forced);
    unsigned n = rd_u("arenas.narenas"); /* automatic only: each test runs in a fresh child */
    REQUIRE(n >= 3, "%u automatic arenas", n);
    unsigned k = n - 1, taker = n - 2;
    const size_t dirty = (size_t)4 << 20, pages = dirty / 4096;
    REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", ALL) == 0);
    set_arena(k);
    void *d = mallocx(dirty, MALLOCX_TCACHE_NONE);
    REQUIRE(d);
    memset(d, 1, dirty);
    dallocx(d, MALLOCX_TCACHE_NONE);
    extent_hooks_t *hp = &rl_hooks;
    REQUIRE(ctl(NULL, NULL, &hp, sizeof(hp), "arena.%u.extent_hooks", k) == 0);
    set_arena(taker);
    for (unsigned i = 0; i < n; i++) /* no other arena has dirty pages to give */
        if (i != k) REQUIRE(ctl(NULL, NULL, NULL, 0, "arena.%u.purge", i) == 0);
    epoch();
    REQUIRE(rd_z("stats.arenas.%u.pdirty", k) == pages, "arena %u has %zu dirty pages", k,
            rd_z("stats.arenas.%u.pdirty", k));
    uint64_t purged0 = rd_u64("stats.arenas.%u.purged", k);
    rl_npurge = rl_ndalloc = 0;
    void *v[16];
    rl_grow(v, 8);
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", k), pages);
    CHECK_EQ_U(rd_u64("stats.arenas.%u.purged", k), purged0);
    CHECK_EQ_U(rl_npurge, 0);
    CHECK_EQ_U(rl_ndalloc, 0);
    /* that growth is owed (nothing was purged), and k's pages do not pay it
     * either, however long they have been dirty (60 ms, then 16 direct frees:
     * a thread looks at a debt every 16th) */
    struct timespec ts = {0, 60 * 1000 * 1000};
    nanosleep(&ts, NULL);
    for (int i = 0; i < 16; i++) {
        void *f = mallocx(16, MALLOCX_TCACHE_NONE);
        REQUIRE(f);
        dallocx(f, MALLOCX_TCACHE_NONE);
    }
    epoch();
    CHECK_EQ_U(rd_z("stats.arenas.%u.pdirty", k), pages);
    CHECK_EQ_U(rl_npurge, 0);
    /* the same growth with k on the default hooks again: k gives 2 MiB */
    REQUIRE(ctl(NULL, NULL, &dflt, sizeof(dflt), "arena.%u.extent_hooks", k) == 0);
    rl_grow(v + 8, 8);
    size_t left = rd_z("stats.arenas.%u.pdirty", k);
    CHECK(left + 256 <= pages, "the default hooks' arena gave %zu pages", pages - left);
    for (int i = 0; i < 16; i++) dallocx(v[i], MALLOCX_TCACHE_NONE);
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
    {"hooks_split_merge_args", test_hooks_split_merge_args},
    {"hooks_no_mremap", test_hooks_no_mremap},
    {"hooks_merge_refused", test_hooks_merge_refused},
    {"hooks_merge_null", test_hooks_merge_null},
    {"hooks_split_refused", test_hooks_split_refused},
    {"hooks_split_null", test_hooks_split_null},
    {"hooks_destroy_null_dallocs", test_hooks_destroy_null_dallocs},
    {"hooks_misaligned_alloc", test_hooks_misaligned_alloc},
    {"relief_default_hooks_only", test_relief_default_hooks_only},
};

int main(int argc, char **argv) {
    return t_main(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
