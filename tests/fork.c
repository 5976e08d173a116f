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
 *                  MOSAIC_TEST_SIGFORK_ALLOC=1 they malloc and free first),
 *                  the parent reaps them in the handler and its heap must be
 *                  intact.
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
        int st;
        double t0 = t_now();
        pid_t rp;
        while ((rp = waitpid(pid, &st, WNOHANG)) == 0 && t_now() - t0 < 30)
            usleep(1000);
        if (rp == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            st = -1;
        }
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

int main(int argc, char **argv)
{
    t_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    t_check_allocator();
    seed = t_seed();
    printf("%s: seed %#" PRIx64 "\n", t_name, seed);
    const char *what = argc > 1 ? argv[1] : "all";
    int any = 0;
    if (!strcmp(what, "threads") || !strcmp(what, "all")) {
        int st = t_run_child(fork_threads, NULL, 120, "fork threads");
        char d[96];
        t_describe_status(st, d, sizeof d);
        CHECK(st == 0, "fork threads: the test process ended with %s", d);
        any = 1;
    }
    if (!strcmp(what, "signal") || !strcmp(what, "all")) {
        int st = t_run_child(fork_signal, NULL, 60, "fork signal");
        char d[96];
        t_describe_status(st, d, sizeof d);
        CHECK(st == 0, "fork signal: the test process ended with %s%s", d,
              st == -1 ? " (fork from a signal handler deadlocked?)" : "");
        any = 1;
    }
    REQUIRE(any, "unknown sub-test '%s' (threads, signal)", what);
    return t_finish();
}
