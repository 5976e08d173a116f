/*
 * common.h -- small helpers shared by the Mosaic benchmark programs.
 *
 * Header-only on purpose: every benchmark is one self-contained .c file that
 * includes this.  Nothing here allocates through malloc except where noted, so
 * the allocator under test sees only the benchmark's own traffic.
 *
 * Every program ends by printing one machine-readable line
 *   RESULT bench=NAME key=value ...
 * which the runner (bench/run.py) parses.  It always carries
 *   secs=     the program's own timing of its measured phase
 *   errors=   number of corrupted objects detected (must be 0)
 *   check=    a checksum that must be identical under every allocator
 *   malloc_lib= the shared object that actually provides malloc()
 */
#ifndef MOSAIC_BENCH_COMMON_H
#define MOSAIC_BENCH_COMMON_H

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_UNUSED __attribute__((unused))

static BENCH_UNUSED double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: a tiny, good-enough, per-thread random generator. */
typedef struct {
    uint64_t s;
} rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed) {
    r->s = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
}

static inline uint64_t rng_next(rng_t *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

__extension__ typedef unsigned __int128 bench_u128;

/* Uniform in [0, n) (Lemire's multiply-shift, no division). */
static inline uint64_t rng_below(rng_t *r, uint64_t n) {
    return (uint64_t)(((bench_u128)rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi) {
    return lo + (size_t)rng_below(r, (uint64_t)(hi - lo + 1));
}

__attribute__((noreturn, format(printf, 1, 2))) static BENCH_UNUSED void
die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static BENCH_UNUSED void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p)
        die("malloc(%zu) failed", n);
    return p;
}

static BENCH_UNUSED void *xrealloc(void *old, size_t n) {
    void *p = realloc(old, n);
    if (!p)
        die("realloc(%zu) failed", n);
    return p;
}

/* Parses a count with an optional k/m/g suffix (powers of 1024 for sizes are
 * not wanted here: k = 1000).  Sizes use parse_size. */
static BENCH_UNUSED long long parse_count(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        die("bad number '%s'", s);
    switch (*end) {
    case 'k': case 'K': v *= 1e3; break;
    case 'm': case 'M': v *= 1e6; break;
    case 'g': case 'G': v *= 1e9; break;
    case '\0': break;
    default: die("bad number '%s'", s);
    }
    if (v < 0)
        die("negative number '%s'", s);
    return (long long)v;
}

/* Sizes: k = KiB, m = MiB, g = GiB. */
static BENCH_UNUSED size_t parse_size(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        die("bad size '%s'", s);
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; break;
    case 'm': case 'M': v *= 1024.0 * 1024.0; break;
    case 'g': case 'G': v *= 1024.0 * 1024.0 * 1024.0; break;
    case '\0': break;
    default: die("bad size '%s'", s);
    }
    if (v < 0)
        die("negative size '%s'", s);
    return (size_t)v;
}

/* Reads a "Vm...:  N kB" field of /proc/self/status, in bytes (0 if absent).
 * Uses read(2) and the stack only: no allocation (fopen would allocate). */
static BENCH_UNUSED size_t proc_status_bytes(const char *field) {
    char buf[8192];
    size_t len = strlen(field), got;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got >= sizeof buf - 1)
            break;
    }
    close(fd);
    buf[got] = '\0';
    for (char *p = buf; p && *p; ) {
        if (strncmp(p, field, len) == 0 && p[len] == ':')
            return (size_t)strtoull(p + len + 1, NULL, 10) * 1024;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

static BENCH_UNUSED size_t rss_now(void) { return proc_status_bytes("VmRSS"); }
static BENCH_UNUSED size_t rss_peak(void) { return proc_status_bytes("VmHWM"); }

/* Which shared object provides malloc() in this process: tells the runner
 * that LD_PRELOAD really took effect. */
static BENCH_UNUSED const char *malloc_provider(void) {
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym && dladdr(sym, &info) && info.dli_fname && info.dli_fname[0])
        return info.dli_fname;
    return "unknown";
}

/* Prints the RESULT line; `fmt` adds benchmark-specific key=value pairs. */
static BENCH_UNUSED void report(const char *bench, double secs,
                                unsigned long long errors,
                                unsigned long long check, const char *fmt,
                                ...) {
    char extra[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(extra, sizeof extra, fmt, ap);
    va_end(ap);
    printf("RESULT bench=%s secs=%.6f errors=%llu check=%llx %s malloc_lib=%s\n",
           bench, secs, errors, check, extra, malloc_provider());
    fflush(stdout);
    if (errors)
        fprintf(stderr, "%s: %llu corrupted objects detected\n", bench, errors);
}

/* Object stamping: the first word holds the size (objects of 8 bytes or
 * more), the last byte a tag derived from it (when it does not overlap the
 * size word).  Cheap; catches overlapping or reused-while-live blocks. */
static inline void stamp(void *p, size_t size) {
    unsigned char *c = (unsigned char *)p;
    if (size >= sizeof(uint64_t)) {
        uint64_t s = size;
        memcpy(c, &s, sizeof s);
    }
    if (size > sizeof(uint64_t) || size < sizeof(uint64_t))
        c[size - 1] = (unsigned char)((size * 131u) ^ 0x5a);
}

/* Returns 1 if the stamp is intact. */
static inline int stamp_ok(const void *p, size_t size) {
    const unsigned char *c = (const unsigned char *)p;
    if (size == 0)
        return 0;
    if (size >= sizeof(uint64_t)) {
        uint64_t s;
        memcpy(&s, c, sizeof s);
        if (s != size)
            return 0;
        if (size == sizeof(uint64_t))
            return 1;
    }
    return c[size - 1] == (unsigned char)((size * 131u) ^ 0x5a);
}

/* Reads the size back from a stamped object (size >= 8); 0 if implausible,
 * which stamp_ok then rejects without touching memory. */
static inline size_t stamp_size(const void *p) {
    uint64_t s;
    memcpy(&s, p, sizeof s);
    return s >= 8 && s <= ((uint64_t)1 << 40) ? (size_t)s : 0;
}

static BENCH_UNUSED int default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#endif
