/*
 * common.h -- shared helpers for the Mosaic test programs.
 *
 * Every test is compiled in one of these modes (see tests.mk):
 *   T_GLIBC   plain names, not linked to Mosaic: the reference run against
 *             the C library (or, under mosaic-run, against the preloaded .so)
 *   T_PLAIN   plain names, linked to libmosaic.so / libmosaic.a, so the
 *             unprefixed symbols are Mosaic's
 *   T_PREFIX  mosaic_* names (linked to the .so, or to libmosaic_prefixed.a
 *             for sanitizer builds where the sanitizer runtime owns malloc)
 * M(name) maps an entry point to the right symbol for the mode.
 */
#ifndef MOSAIC_TEST_COMMON_H
#define MOSAIC_TEST_COMMON_H

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(T_PREFIX) + defined(T_PLAIN) + defined(T_GLIBC) != 1
#error "define exactly one of T_PREFIX, T_PLAIN, T_GLIBC"
#endif

#if defined(T_PREFIX) || defined(T_PLAIN)
#include "mosaic.h"
#endif

#ifdef T_PREFIX
#define M(n) mosaic_##n
#else
#define M(n) T_PLAIN_##n
#endif
#define T_PLAIN_malloc malloc
#define T_PLAIN_calloc calloc
#define T_PLAIN_realloc realloc
#define T_PLAIN_reallocarray reallocarray
#define T_PLAIN_free free
#define T_PLAIN_posix_memalign posix_memalign
#define T_PLAIN_aligned_alloc aligned_alloc
#define T_PLAIN_memalign memalign
#define T_PLAIN_valloc valloc
#define T_PLAIN_pvalloc pvalloc
#define T_PLAIN_malloc_usable_size malloc_usable_size
#define T_PLAIN_mallctl mallctl
#ifdef T_GLIBC
/* glibc 2.36 has no free_sized / free_aligned_sized (C23): use free. */
static inline void t_free_sized(void *p, size_t n) { (void)n; free(p); }
static inline void t_free_aligned_sized(void *p, size_t a, size_t n)
{
    (void)a; (void)n; free(p);
}
#define T_PLAIN_free_sized t_free_sized
#define T_PLAIN_free_aligned_sized t_free_aligned_sized
#else
#define T_PLAIN_free_sized free_sized
#define T_PLAIN_free_aligned_sized free_aligned_sized
#endif

#if defined(T_PREFIX)
#define T_MODE_API "mosaic_*"
#else
#define T_MODE_API "plain"
#endif

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define T_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define T_SANITIZER 1
#endif
#endif
#ifndef T_SANITIZER
#define T_SANITIZER 0
#endif

#define T_UNUSED __attribute__((unused))

/* ---------------------------------------------------------------- failures */

static atomic_long t_failures;
static const char *t_name = "test";

T_UNUSED static void t_vfail(const char *file, int line, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    fprintf(stderr, "%s: FAIL %s:%d: %s\n", t_name, file, line, buf);
    fflush(stderr);
}

__attribute__((format(printf, 3, 4))) static void
t_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    t_vfail(file, line, fmt, ap);
    va_end(ap);
    long n = atomic_fetch_add(&t_failures, 1) + 1;
    if (n >= 50) {
        fprintf(stderr, "%s: too many failures, stopping\n", t_name);
        _exit(1);
    }
}

/* CHECK(cond, fmt, ...): record a failure and go on. */
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            t_fail_at(__FILE__, __LINE__, __VA_ARGS__);                        \
    } while (0)

/* FATAL(fmt, ...): record a failure and stop the process now. */
#define FATAL(...)                                                             \
    do {                                                                       \
        t_fail_at(__FILE__, __LINE__, __VA_ARGS__);                            \
        fprintf(stderr, "%s: fatal, exiting\n", t_name);                       \
        _exit(1);                                                              \
    } while (0)

#define REQUIRE(cond, ...)                                                     \
    do {                                                                       \
        if (!(cond))                                                           \
            FATAL(__VA_ARGS__);                                                \
    } while (0)

T_UNUSED static int t_finish(void)
{
    long n = atomic_load(&t_failures);
    if (n) {
        printf("%s: %ld failure(s)\n", t_name, n);
        return 1;
    }
    printf("%s: ok\n", t_name);
    return 0;
}

/* ---------------------------------------------------------------- environment */

T_UNUSED static long t_env_long(const char *name, long dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    long v = strtol(s, &end, 0);
    return *end ? dflt : v;
}

/* MOSAIC_TEST_SCALE (percent, default 100) scales the amount of work. */
T_UNUSED static long t_scaled(long n)
{
    long pct = t_env_long("MOSAIC_TEST_SCALE", 100);
    if (pct < 1)
        pct = 1;
    long v = n * pct / 100;
    return v < 1 ? 1 : v;
}

T_UNUSED static uint64_t t_seed(void)
{
    const char *s = getenv("MOSAIC_TEST_SEED");
    if (s && *s)
        return strtoull(s, NULL, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
            ((uint64_t)getpid() << 40)) & 0xffffffffffffull;
}

T_UNUSED static double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A "Key: N kB" line of /proc/self/status (key with its colon), or -1. */
T_UNUSED static long t_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && sscanf(line + klen, " %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Resident set size and address-space size of this process in KiB. */
T_UNUSED static long t_rss_kib(void) { return t_status_kib("VmRSS:"); }
T_UNUSED static long t_vmsize_kib(void) { return t_status_kib("VmSize:"); }

/*
 * Which module provides the process's malloc? Checks that the allocator
 * under test is really the one in use: "glibc" runs must not see Mosaic and
 * Mosaic runs must. MOSAIC_TEST_EXPECT=glibc|mosaic overrides the default
 * (used for the preload runs of glibc-mode binaries).
 */
T_UNUSED static void t_check_allocator(void)
{
#if defined(T_GLIBC)
    const char *dflt = "glibc";
#else
    const char *dflt = "mosaic";
#endif
    const char *expect = getenv("MOSAIC_TEST_EXPECT");
    if (!expect || !*expect)
        expect = dflt;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    const char *mod = "?";
    if (sym && dladdr(sym, &info) && info.dli_fname)
        mod = info.dli_fname;
    int in_libc = strstr(mod, "libc.so") != NULL;
#if defined(T_PREFIX)
    /* The mosaic_* names must come from Mosaic, whatever owns malloc. */
    (void)in_libc;
    if (T_SANITIZER)
        printf("%s: api mosaic_* (static prefixed library), malloc from %s\n",
               t_name, mod);
    else
        printf("%s: api mosaic_*, malloc from %s\n", t_name, mod);
    CHECK(dlsym(RTLD_DEFAULT, "mosaic_malloc") != NULL || T_SANITIZER,
          "mosaic_malloc is not visible in the process");
#else
    printf("%s: api plain, malloc from %s (expect %s)\n", t_name, mod, expect);
    if (strcmp(expect, "glibc") == 0)
        REQUIRE(in_libc, "expected glibc's malloc, found it in %s", mod);
    else
        REQUIRE(!in_libc && sym, "expected Mosaic's malloc, found it in %s", mod);
#endif
}

/* ---------------------------------------------------------------- random */

typedef struct { uint64_t s[4]; } t_rng;

T_UNUSED static uint64_t t_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

T_UNUSED static void t_rng_init(t_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = t_splitmix(&seed);
}

static inline uint64_t t_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t t_next(t_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = t_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = t_rotl(s[3], 45);
    return res;
}

/* uniform in [lo, hi] */
static inline uint64_t t_range(t_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + t_next(r) % (hi - lo + 1);
}

/* true with probability pct/1000 */
static inline int t_permille(t_rng *r, unsigned pm) { return t_next(r) % 1000 < pm; }

/* ---------------------------------------------------------------- patterns */

/*
 * The content of a block is a function of a tag (its address at first
 * allocation, mixed with the run's seed) and the byte offset. Blocks larger
 * than T_DENSE_MAX are filled sparsely (head, tail and 16 bytes of every
 * KiB) to keep multi-MiB blocks cheap; smaller ones entirely. The segments
 * may overlap (same values): a byte offset's value never depends on len.
 */
#define T_DENSE_MAX (256u * 1024u)
#define T_SPARSE_EDGE 4096u
#define T_SPARSE_STEP 1024u

static inline uint64_t t_word(uint64_t tag, size_t widx)
{
    uint64_t z = tag + widx * 0x9e3779b97f4a7c15ull;
    z ^= z >> 29;
    return z | 0x0101010101010101ull; /* never a zero byte: unlike calloc */
}

/* Fill bytes [from, to) of block p with the pattern of tag (dense). */
T_UNUSED static void t_fill_dense(unsigned char *p, uint64_t tag, size_t from, size_t to)
{
    size_t i = from;
    while (i < to && (i & 7)) {
        p[i] = (unsigned char)(t_word(tag, i >> 3) >> (8 * (i & 7)));
        i++;
    }
    for (; i + 8 <= to; i += 8) {
        uint64_t w = t_word(tag, i >> 3);
        memcpy(p + i, &w, 8);
    }
    for (; i < to; i++)
        p[i] = (unsigned char)(t_word(tag, i >> 3) >> (8 * (i & 7)));
}

/* Returns the first offset in [from, to) that differs, or (size_t)-1. */
T_UNUSED static size_t t_check_dense(const unsigned char *p, uint64_t tag, size_t from, size_t to)
{
    size_t i = from;
    while (i < to && (i & 7)) {
        if (p[i] != (unsigned char)(t_word(tag, i >> 3) >> (8 * (i & 7))))
            return i;
        i++;
    }
    for (; i + 8 <= to; i += 8) {
        uint64_t w = t_word(tag, i >> 3), v;
        memcpy(&v, p + i, 8);
        if (v != w) {
            for (size_t j = 0; j < 8; j++)
                if (p[i + j] != (unsigned char)(w >> (8 * j)))
                    return i + j;
        }
    }
    for (; i < to; i++)
        if (p[i] != (unsigned char)(t_word(tag, i >> 3) >> (8 * (i & 7))))
            return i;
    return (size_t)-1;
}

/* Segments written for a block whose filled length is len. */
#define T_FOR_SEGMENTS(len, from, to, ...)                                    \
    do {                                                                       \
        size_t len_ = (len);                                                   \
        if (len_ <= T_DENSE_MAX) {                                             \
            size_t from = 0, to = len_;                                        \
            __VA_ARGS__;                                                              \
        } else {                                                               \
            size_t from = 0, to = T_SPARSE_EDGE;                               \
            __VA_ARGS__;                                                              \
            for (size_t o_ = T_SPARSE_EDGE; o_ + 16 <= len_;                   \
                 o_ += T_SPARSE_STEP) {                                        \
                from = o_; to = o_ + 16;                                       \
                __VA_ARGS__;                                                          \
            }                                                                  \
            from = len_ - T_SPARSE_EDGE; to = len_;                            \
            __VA_ARGS__;                                                              \
        }                                                                      \
    } while (0)

/* Fill a block of len bytes (layout chosen by len). */
T_UNUSED static void t_fill(void *p, uint64_t tag, size_t len)
{
    T_FOR_SEGMENTS(len, a, b, t_fill_dense((unsigned char *)p, tag, a, b));
}

/* Fill the bytes at offsets >= from of a block laid out for len. */
T_UNUSED static void t_fill_from(void *p, uint64_t tag, size_t len, size_t from)
{
    T_FOR_SEGMENTS(len, a, b, {
        if (b > from)
            t_fill_dense((unsigned char *)p, tag, a > from ? a : from, b);
    });
}

/*
 * Check the bytes in [from, limit) of a block laid out for length len
 * (limit <= len: after a shrinking realloc only the prefix survives).
 * Returns the first bad offset or (size_t)-1.
 */
T_UNUSED static size_t t_check_range(const void *p, uint64_t tag, size_t len, size_t from,
                                     size_t limit)
{
    size_t bad = (size_t)-1;
    T_FOR_SEGMENTS(len, a, b, {
        size_t s_ = a > from ? a : from, e_ = b < limit ? b : limit;
        if (bad == (size_t)-1 && s_ < e_)
            bad = t_check_dense((const unsigned char *)p, tag, s_, e_);
    });
    return bad;
}

T_UNUSED static size_t t_check(const void *p, uint64_t tag, size_t len, size_t limit)
{
    return t_check_range(p, tag, len, 0, limit);
}

/* Offset of the first non-zero byte of p[0..n), or (size_t)-1. */
T_UNUSED static size_t t_first_nonzero(const void *p, size_t n)
{
    const unsigned char *c = p;
    size_t i = 0;
    while (i < n && ((uintptr_t)(c + i) & 7))
        if (c[i++])
            return i - 1;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, c + i, 32);
        if (w[0] | w[1] | w[2] | w[3])
            break;
    }
    for (; i < n; i++)
        if (c[i])
            return i;
    return (size_t)-1;
}

/* ---------------------------------------------------------------- child processes */

/*
 * Waits for child pid at most timeout_s seconds. Returns its wait status, or
 * -1 if it had to be killed (timeout: reported as a failure by callers).
 */
T_UNUSED static int t_wait_child(pid_t pid, double timeout_s, const char *what)
{
    double t0 = t_now();
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            FATAL("waitpid for %s: %s", what, strerror(errno));
        if (t_now() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(1000);
    }
}

/* Runs fn(arg) in a child process with a time limit: t_wait_child's result. */
T_UNUSED static int t_run_child(int (*fn)(void *), void *arg, double timeout_s, const char *what)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        FATAL("fork for %s: %s", what, strerror(errno));
    if (pid == 0) {
        int rc = fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    return t_wait_child(pid, timeout_s, what);
}

T_UNUSED static void t_describe_status(int st, char *buf, size_t n)
{
    if (st == -1)
        snprintf(buf, n, "timed out (hang or deadlock), killed");
    else if (WIFEXITED(st))
        snprintf(buf, n, "exit status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, n, "status 0x%x", st);
}

#endif
