/*
 * fork.c -- fork safety.
 *
 *   fork threads   100 forks from a process whose other threads are
 *                  allocating, freeing and reallocating; each child
 *                  allocates (small, large, huge, calloc, realloc, from a new
 *                  thread too; every tenth forks a grandchild that does the
 *                  same), checks, frees and exits 0.
 *   fork signal    a single-threaded process in an allocation loop forks
 *                  from a SIGALRM handler (setitimer at a high rate), as
 *                  glibc survives; the children _exit(0) (with
 *                  MOSAIC_TEST_SIGFORK_ALLOC=1 they malloc and free first,
 *                  which glibc does not survive: a child forked amid a
 *                  malloc may find its heap half-updated),
 *                  the parent reaps them in the handler and its heap must be
 *                  intact.
 *   fork locks     (Mosaic only) after a fork the child and the parent use
 *                  every kind of allocator lock the fork handlers take: an
 *                  arena's bins (every small class, tcache bypassed) and page
 *                  allocator in every arena, the arena table (arenas.create),
 *                  base (a new arena's record), the pin lock (malloc_trim),
 *                  the thread-cache table (tcache.create, a new thread),
 *                  ctl and statistics (epoch): a lock left held in either
 *                  deadlocks it. The child's arena counts exactly one thread
 *                  (the forking one), the others none; the parent's counts
 *                  are what they were before the fork.
 *   fork held      (Mosaic only) a fork while another thread is inside an
 *                  extent hook of an arena (which holds that arena's page
 *                  allocator lock) for 300 ms: the fork must wait for the
 *                  lock, so the child sees the hook finished; the child and
 *                  the parent then allocate from that arena.
 * Each runs in a child with a time limit, so a deadlock is a failure, not a
 * hang. Environment: MOSAIC_TEST_FORKS (default 100), MOSAIC_TEST_SIGFORKS
 * (default 1000).
 */
#include "common.h"
#include <pthread.h>
#if !defined(T_GLIBC)
#define T_PLAIN_mallctl mallctl
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mosaic_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#endif
#include <signal.h>
#include <sys/time.h>
#include <malloc.h>
#if !defined(T_GLIBC)
#define T_PLAIN_mallocx mallocx
#define T_PLAIN_dallocx dallocx
#define T_PLAIN_malloc_trim malloc_trim
void *mallocx(size_t size, int flags);
void dallocx(void *p, int flags);
#endif

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

static uint64_t seed;

/* ------------------------------------------------------------------ helpers */

struct blk {
    unsigned char *p;
    size_t len;
    uint64_t tag;
};

static void blk_new(struct blk *b, size_t s, uint64_t salt, const char *who)
{
    b->p = M(malloc)(s);
    if (!b->p)
        FATAL("%s: malloc(%zu) failed", who, s);
    b->len = M(malloc_usable_size)(b->p);
    if (b->len < s)
        FATAL("%s: usable %zu < %zu", who, b->len, s);
    uint64_t x = (uintptr_t)b->p ^ seed ^ salt;
    b->tag = t_splitmix(&x);
    t_fill(b->p, b->tag, b->len);
}

static void blk_check(const struct blk *b, const char *who)
{
    size_t bad = t_check(b->p, b->tag, b->len, b->len);
    if (bad != (size_t)-1)
        FATAL("%s: block %p (usable %zu) corrupted at offset %zu", who, (void *)b->p, b->len,
              bad);
}

/* ------------------------------------------------------------------ fork + threads */

static atomic_int stop;

static void *worker(void *arg)
{
    int self = (int)(intptr_t)arg;
    t_rng r;
    t_rng_init(&r, seed + (uint64_t)self);
    enum { N = 256 };
    struct blk b[N];
    memset(b, 0, sizeof b);
    char who[32];
    snprintf(who, sizeof who, "worker %d", self);
    unsigned long ops = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        struct blk *x = &b[t_next(&r) % N];
        if (x->p) {
            blk_check(x, who);
            if (t_next(&r) & 1) {
                M(free)(x->p);
                x->p = NULL;
            } else {
                size_t ns = 1 + t_next(&r) % (t_permille(&r, 5) ? MiB : 2048);
                void *q = M(realloc)(x->p, ns);
                if (!q)
                    FATAL("%s: realloc failed", who);
                size_t keep = ns < x->len ? ns : x->len;
                if (t_check(q, x->tag, x->len, keep) != (size_t)-1)
                    FATAL("%s: realloc lost content", who);
                x->p = q;
                x->len = M(malloc_usable_size)(q);
                t_fill(q, x->tag, x->len);
            }
        } else {
            size_t s = t_permille(&r, 5) ? t_range(&r, 16 * KiB, MiB)
                                          : t_range(&r, 0, 4096);
            blk_new(x, s, ops, who);
        }
        ops++;
    }
    for (int i = 0; i < N; i++)
        if (b[i].p) {
            blk_check(&b[i], who);
            M(free)(b[i].p);
        }
    return (void *)(uintptr_t)ops;
}

static void *child_thread(void *arg)
{
    (void)arg;
    struct blk b[64];
    for (int i = 0; i < 64; i++)
        blk_new(&b[i], (size_t)i * 37 + 1, (uint64_t)i, "child thread");
    for (int i = 0; i < 64; i++) {
        blk_check(&b[i], "child thread");
        M(free)(b[i].p);
    }
    return (void *)1;
}

/* What each forked child does. Returns the exit status. */
static int child_work(int n)
{
    alarm(20); /* a deadlocked child dies of SIGALRM: reported by the parent */
    char who[32];
    snprintf(who, sizeof who, "child %d", n);
    static const size_t sizes[] = {0, 1, 16, 100, 1000, 4096, 14000, 20000, 100000,
                                   MiB, 3 * MiB};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    struct blk b[NS * 2];
    int k = 0;
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < NS; i++)
        {
            blk_new(&b[k], sizes[i], (uint64_t)k, who);
            k++;
        }
    unsigned char *z = M(calloc)(1000, 1000);
    if (!z)
        FATAL("%s: calloc failed", who);
    for (size_t i = 0; i < 1000 * 1000; i += 997)
        if (z[i])
            FATAL("%s: calloc not zero", who);
    void *r = NULL;
    for (size_t s = 1; s < 4 * MiB; s = s * 3 + 7) {
        r = M(realloc)(r, s);
        if (!r)
            FATAL("%s: realloc(%zu) failed", who, s);
        memset(r, 0x11, s);
    }
    void *a = NULL;
    if (M(posix_memalign)(&a, 4096, 5000) || ((uintptr_t)a & 4095))
        FATAL("%s: posix_memalign failed", who);
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, child_thread, NULL) || pthread_join(t, &ret) || ret != (void *)1)
        FATAL("%s: thread in the child failed", who);
    if (n % 10 == 0) {
        /* a grandchild, forked from a child that has a thread behind it */
        pid_t g = fork();
        if (g < 0)
            FATAL("%s: fork of a grandchild failed", who);
        if (g == 0) {
            alarm(20);
            struct blk gb;
            blk_new(&gb, 3000, 1, "grandchild");
            void *big = M(malloc)(2 * MiB);
            if (!big)
                FATAL("grandchild: malloc failed");
            memset(big, 1, 2 * MiB);
            blk_check(&gb, "grandchild");
            M(free)(big);
            M(free)(gb.p);
            _exit(t_failures ? 1 : 0);
        }
        int gst;
        if (waitpid(g, &gst, 0) != g || gst != 0)
            FATAL("%s: grandchild failed (status 0x%x)", who, gst);
    }
    for (int i = 0; i < k; i++) {
        blk_check(&b[i], who);
        M(free)(b[i].p);
    }
    M(free)(z);
    M(free)(r);
    M(free)(a);
    return t_failures ? 1 : 0;
}

static int fork_threads(void *arg)
{
    (void)arg;
    int nforks = (int)t_env_long("MOSAIC_TEST_FORKS", 100);
    enum { NW = 4 };
    pthread_t w[NW];
    for (int i = 0; i < NW; i++)
        REQUIRE(pthread_create(&w[i], NULL, worker, (void *)(intptr_t)i) == 0,
                "pthread_create failed");
    int bad = 0;
    for (int n = 0; n < nforks; n++) {
        usleep(1000 + (unsigned)(n % 7) * 500);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork #%d: %s", n, strerror(errno));
        if (pid == 0)
            _exit(child_work(n));
        int st = t_wait_child(pid, 30, "the child");
        if (st != 0) {
            char d[96];
            t_describe_status(st, d, sizeof d);
            t_fail_at(__FILE__, __LINE__, "fork #%d: child %s%s", n, d,
                      WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM
                          ? " (deadlocked in the child: its alarm fired)"
                          : "");
            if (++bad >= 3)
                break;
        }
    }
    atomic_store(&stop, 1);
    unsigned long ops = 0;
    for (int i = 0; i < NW; i++) {
        void *r;
        pthread_join(w[i], &r);
        ops += (unsigned long)(uintptr_t)r;
    }
    printf("%s: threads: %d forks while %d threads did %lu operations\n", t_name, nforks, NW,
           ops);
    return t_failures ? 1 : 0;
}

/* ------------------------------------------------------------------ fork from a signal handler */

static volatile sig_atomic_t sig_forks, sig_bad, sig_last_status, sig_fork_errors;
static volatile sig_atomic_t sig_target, sig_child_alloc;

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    if (sig_forks >= sig_target) {
        errno = saved;
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (sig_child_alloc) {
            /* optional (MOSAIC_TEST_SIGFORK_ALLOC=1): the child allocates */
            void *p = M(malloc)(32);
            if (!p)
                _exit(3);
            memset(p, 1, 32);
            M(free)(p);
        }
        _exit(0);
    }
    if (pid < 0) {
        sig_fork_errors++;
    } else {
        int st = -1; /* stays a failure if waitpid fails */
        pid_t w;
        while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
            ;
        if (w != pid || st != 0) {
            sig_bad++;
            sig_last_status = st;
        }
        sig_forks++;
    }
    errno = saved;
}

static int fork_signal(void *arg)
{
    (void)arg;
    sig_target = (int)t_env_long("MOSAIC_TEST_SIGFORKS", 1000);
    sig_child_alloc = (int)t_env_long("MOSAIC_TEST_SIGFORK_ALLOC", 0);
    t_rng r;
    t_rng_init(&r, seed);
    enum { N = 512 };
    static struct blk b[N];
    for (int i = 0; i < N; i++)
        blk_new(&b[i], t_range(&r, 0, 2048), (uint64_t)i, "signal fork");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction failed");
    struct itimerval it = {{0, 500}, {0, 500}};
    REQUIRE(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer failed");
    double t0 = t_now();
    unsigned long ops = 0;
    while (sig_forks < sig_target && t_now() - t0 < 40) {
        /* mostly allocator calls, so the signal lands inside one */
        for (int j = 0; j < 1000; j++) {
            size_t s = t_permille(&r, 5) ? t_range(&r, 16 * KiB, MiB) : t_range(&r, 1, 1024);
            void *p = M(malloc)(s);
            if (!p)
                FATAL("malloc(%zu) failed", s);
            ((unsigned char *)p)[s - 1] = 1;
            if (j & 1)
                p = M(realloc)(p, s + 100);
            M(free)(p);
            ops++;
#if !defined(T_GLIBC)
            /* and mallctl, which holds its own locks (a statistics refresh) */
            if ((j & 31) == 0) {
                uint64_t e = 1;
                if (M(mallctl)("epoch", NULL, NULL, &e, sizeof e) != 0)
                    FATAL("mallctl epoch failed");
            }
#endif
        }
        struct blk *x = &b[t_next(&r) % N];
        blk_check(x, "signal fork");
        M(free)(x->p);
        blk_new(x, t_range(&r, 0, 2048), ops, "signal fork");
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_IGN);
    for (int i = 0; i < N; i++) {
        blk_check(&b[i], "signal fork, at the end");
        M(free)(b[i].p);
    }
    printf("%s: signal: %d forks from SIGALRM handlers during %lu allocation ops in %.2fs\n",
           t_name, (int)sig_forks, ops, t_now() - t0);
    CHECK(sig_forks >= sig_target, "only %d of %d forks from the handler happened in 40 s",
          (int)sig_forks, (int)sig_target);
    CHECK(sig_fork_errors == 0, "%d forks from the handler failed", (int)sig_fork_errors);
    if (sig_bad) {
        char d[96];
        t_describe_status(sig_last_status, d, sizeof d);
        t_fail_at(__FILE__, __LINE__, "%d children forked from the handler failed, last: %s",
                  (int)sig_bad, d);
    }
    return t_failures ? 1 : 0;
}

/* ------------------------------------------------------------------ fork, then every lock */

#if !defined(T_GLIBC)
static unsigned lk_u(const char *name)
{
    unsigned v = 0;
    size_t len = sizeof v;
    if (M(mallctl)(name, &v, &len, NULL, 0) != 0)
        FATAL("mallctl(%s) failed", name);
    return v;
}

static void lk_epoch(void)
{
    uint64_t e = 1;
    if (M(mallctl)("epoch", NULL, NULL, &e, sizeof e) != 0)
        FATAL("mallctl(epoch) failed");
}

/* the statistics' thread counts of arenas 0..n-1 (n <= 64); 0 for one not created */
static unsigned lk_nthreads(unsigned *out, unsigned n)
{
    lk_epoch();
    unsigned sum = 0;
    for (unsigned i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "stats.arenas.%u.nthreads", i);
        size_t len = sizeof out[i];
        if (M(mallctl)(name, &out[i], &len, NULL, 0) != 0)
            out[i] = 0; /* an arena not created yet */
        sum += out[i];
    }
    return sum;
}

static void *lk_thread(void *arg)
{
    (void)arg;
    void *p[40];
    for (int i = 0; i < 40; i++)
        if (!(p[i] = M(malloc)((size_t)i * 100 + 1)))
            return NULL;
    for (int i = 0; i < 40; i++)
        M(free)(p[i]);
    return (void *)1;
}

/* Takes every lock the fork handlers take, at least once. */
static void lk_use_all(const char *who)
{
    lk_epoch(); /* ctl_lock, stats_lock, every arena */
    unsigned narenas = lk_u("arenas.narenas"), nbins = lk_u("arenas.nbins");
    for (unsigned a = 0; a < narenas && a < 64; a++) {
        for (unsigned j = 0; j < nbins; j++) {
            char name[64];
            size_t sz = 0, len = sizeof sz;
            snprintf(name, sizeof name, "arenas.bin.%u.size", j);
            if (M(mallctl)(name, &sz, &len, NULL, 0) != 0)
                FATAL("%s: mallctl(%s) failed", who, name);
            void *p = M(mallocx)(sz, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
            if (!p)
                FATAL("%s: mallocx(%zu) from arena %u failed", who, sz, a);
            memset(p, 0x5a, sz);
            M(dallocx)(p, MALLOCX_TCACHE_NONE);
        }
        void *big = M(mallocx)(300 * KiB, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
        if (!big)
            FATAL("%s: large mallocx from arena %u failed", who, a);
        memset(big, 0x5a, 300 * KiB);
        M(dallocx)(big, MALLOCX_TCACHE_NONE);
    }
    M(malloc_trim)(0); /* arena_pin_lock, every arena's page allocator */
    unsigned ind = 0;
    size_t len = sizeof ind;
    if (M(mallctl)("arenas.create", &ind, &len, NULL, 0) != 0) /* arenas_lock, base */
        FATAL("%s: arenas.create failed", who);
    void *p = M(mallocx)(5000, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE);
    if (!p)
        FATAL("%s: mallocx from the new arena %u failed", who, ind);
    M(dallocx)(p, MALLOCX_TCACHE_NONE);
    unsigned tc = 0;
    len = sizeof tc;
    if (M(mallctl)("tcache.create", &tc, &len, NULL, 0) != 0) /* the tcache table */
        FATAL("%s: tcache.create failed", who);
    if (M(mallctl)("tcache.destroy", NULL, NULL, &tc, sizeof tc) != 0)
        FATAL("%s: tcache.destroy failed", who);
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, lk_thread, NULL) || pthread_join(t, &ret) || ret != (void *)1)
        FATAL("%s: a new thread failed", who);
    lk_epoch();
}

static pthread_barrier_t lk_bar;

static void *lk_holder(void *arg)
{
    /* allocates (so it is an arena's thread), then stays alive over the fork */
    void *p = M(malloc)(100 + (size_t)(intptr_t)arg);
    pthread_barrier_wait(&lk_bar);
    pthread_barrier_wait(&lk_bar);
    M(free)(p);
    return NULL;
}

static int fork_locks(void *arg)
{
    (void)arg;
    enum { NH = 3 };
    lk_epoch(); /* ctl is set up (its fork handlers too) before the fork */
    pthread_barrier_init(&lk_bar, NULL, NH + 1);
    pthread_t h[NH];
    for (int i = 0; i < NH; i++)
        REQUIRE(pthread_create(&h[i], NULL, lk_holder, (void *)(intptr_t)i) == 0,
                "pthread_create failed");
    pthread_barrier_wait(&lk_bar);
    unsigned n = lk_u("arenas.narenas");
    if (n > 64)
        n = 64;
    unsigned before[64], after[64];
    unsigned sum_before = lk_nthreads(before, n);
    CHECK(sum_before >= NH + 1, "before the fork: %u threads in the arenas' counts, want >= %d",
          sum_before, NH + 1);
    for (int round = 0; round < 2; round++) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            alarm(10); /* a lock left held: the child dies of SIGALRM */
            unsigned cnt[64];
            unsigned mine = lk_u("thread.arena");
            unsigned sum = lk_nthreads(cnt, n);
            CHECK(sum == 1, "child: %u threads in the arenas' counts, want 1 (the forking one)",
                  sum);
            CHECK(mine < n && cnt[mine] == 1, "child: its arena %u counts %u threads, want 1",
                  mine, mine < n ? cnt[mine] : 0);
            lk_use_all("child");
            _exit(t_failures ? 1 : 0);
        }
        int st = t_wait_child(pid, 30, "the child");
        char d[96];
        t_describe_status(st, d, sizeof d);
        CHECK(st == 0, "fork %d: the child %s%s", round, d,
              WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM
                  ? " (deadlocked: a lock the fork handlers took was not reset)"
                  : "");
        unsigned sum_after = lk_nthreads(after, n);
        for (unsigned i = 0; i < n; i++)
            CHECK(after[i] == before[i], "parent, after fork %d: arena %u counts %u threads, %u before",
                  round, i, after[i], before[i]);
        (void)sum_after;
        if (t_failures)
            break;
        if (round == 0)
            lk_use_all("parent"); /* every lock released in the parent */

    }
    pthread_barrier_wait(&lk_bar);
    for (int i = 0; i < NH; i++)
        pthread_join(h[i], NULL);
    printf("%s: locks: the child and the parent used every lock after a fork (%u arenas)\n",
           t_name, n);
    return t_failures ? 1 : 0;
}
/* ------------------------------------------------------------------ fork while a lock is held */

static extent_hooks_t *held_dflt;
static atomic_int held_armed, held_in_hook, held_done;
static unsigned held_arena;

static void *held_alloc(extent_hooks_t *h, void *na, size_t size, size_t align, bool *zero,
                        bool *commit, unsigned ind)
{
    (void)h;
    if (atomic_exchange(&held_armed, 0)) {
        atomic_store(&held_in_hook, 1);
        usleep(300 * 1000); /* with the arena's page-allocator lock held */
        atomic_store(&held_done, 1);
    }
    return held_dflt->alloc(held_dflt, na, size, align, zero, commit, ind);
}
static extent_hooks_t held_hooks = {held_alloc, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static void *held_thread(void *arg)
{
    (void)arg;
    return M(mallocx)(2 * MiB, MALLOCX_ARENA(held_arena) | MALLOCX_TCACHE_NONE);
}

static int fork_held(void *arg)
{
    (void)arg;
    size_t len = sizeof held_dflt;
    REQUIRE(M(mallctl)("arena.0.extent_hooks", &held_dflt, &len, NULL, 0) == 0 && held_dflt,
            "arena.0.extent_hooks failed");
    extent_hooks_t *hp = &held_hooks;
    len = sizeof held_arena;
    REQUIRE(M(mallctl)("arenas.create", &held_arena, &len, &hp, sizeof hp) == 0,
            "arenas.create with hooks failed");
    atomic_store(&held_armed, 1);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, held_thread, NULL) == 0, "pthread_create failed");
    double t0 = t_now();
    while (!atomic_load(&held_in_hook) && t_now() - t0 < 10)
        usleep(100);
    REQUIRE(atomic_load(&held_in_hook), "the extent hook was not called");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        alarm(15);
        CHECK(atomic_load(&held_done),
              "child: forked while another thread was inside arena %u's extent hook (its "
              "page-allocator lock held): the fork did not wait for the lock",
              held_arena);
        void *p = M(mallocx)(3 * MiB, MALLOCX_ARENA(held_arena) | MALLOCX_TCACHE_NONE);
        CHECK(p != NULL, "child: mallocx from arena %u failed", held_arena);
        if (p) {
            memset(p, 1, 3 * MiB);
            M(dallocx)(p, MALLOCX_TCACHE_NONE);
        }
        _exit(t_failures ? 1 : 0);
    }
    int st = t_wait_child(pid, 30, "the child");
    char d[96];
    t_describe_status(st, d, sizeof d);
    CHECK(st == 0, "the child %s", d);
    void *r = NULL;
    pthread_join(t, &r);
    CHECK(r != NULL, "mallocx in the hooked arena failed");
    void *p = M(mallocx)(3 * MiB, MALLOCX_ARENA(held_arena) | MALLOCX_TCACHE_NONE);
    CHECK(p != NULL, "parent: mallocx from arena %u after the fork failed", held_arena);
    M(dallocx)(p, MALLOCX_TCACHE_NONE);
    M(dallocx)(r, MALLOCX_TCACHE_NONE);
    if (!t_failures)
        printf("%s: held: a fork waited for another thread's extent hook (arena %u)\n",
               t_name, held_arena);
    return t_failures ? 1 : 0;
}
#endif

int main(int argc, char **argv)
{
    t_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    t_check_allocator();
    seed = t_seed();
    printf("%s: seed %#" PRIx64 "\n", t_name, seed);
    const char *what = argc > 1 ? argv[1] : "all";
    static const struct {
        const char *name;
        int (*fn)(void *);
        double limit_s;
        const char *hint; /* what a timeout most likely means */
    } cases[] = {
        {"threads", fork_threads, 120, ""},
        {"signal", fork_signal, 60, " (fork from a signal handler deadlocked?)"},
#if !defined(T_GLIBC)
        {"locks", fork_locks, 60, ""},
        {"held", fork_held, 60, ""},
#endif
    };
    int any = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (strcmp(what, cases[c].name) && strcmp(what, "all"))
            continue;
        char label[32], d[96];
        snprintf(label, sizeof label, "fork %s", cases[c].name);
        int st = t_run_child(cases[c].fn, NULL, cases[c].limit_s, label);
        t_describe_status(st, d, sizeof d);
        CHECK(st == 0, "%s: the test process ended with %s%s", label, d, st == -1 ? cases[c].hint : "");
        any = 1;
    }
    REQUIRE(any, "unknown sub-test '%s' (threads, signal, locks, held)", what);
    return t_finish();
}
