/*
 * pairs -- the fast path in isolation, for counting instructions with
 * `valgrind --tool=callgrind` (see `bench/run.py ipc`).
 *
 *   pairs -s SIZE -n N [-m pair|batch|stub]
 *
 * After a warm-up, it does N malloc(SIZE)+free pairs:
 *   pair   malloc then free, N times (the thread cache's best case);
 *   batch  64 mallocs, then those 64 freed (in allocation order), N/64 times;
 *   stub, stubbatch
 *          like pair and batch, but calling do-nothing functions instead of
 *          malloc and free: the loop's own instructions, which the runner
 *          subtracts.
 * The runner counts the whole program's instructions for N and for 2N pairs
 * and divides the difference by N, so start-up, warm-up and exit cancel out.
 */
#include "common.h"

#include <getopt.h>

#define BATCH 64

static unsigned char stub_buf[4096];

__attribute__((noinline)) static void *stub_malloc(size_t n) {
    __asm__ volatile("" ::"r"(n) : "memory");
    return stub_buf;
}

__attribute__((noinline)) static void stub_free(void *p) {
    __asm__ volatile("" ::"r"(p) : "memory");
}

static void run_pair(size_t size, long n) {
    for (long i = 0; i < n; i++) {
        unsigned char *p = malloc(size);
        p[0] = (unsigned char)i;
        free(p);
    }
}

static void run_stub(size_t size, long n) {
    for (long i = 0; i < n; i++) {
        unsigned char *p = stub_malloc(size);
        p[0] = (unsigned char)i;
        stub_free(p);
    }
}

static void run_batch(size_t size, long n) {
    void *b[BATCH];
    for (long i = 0; i < n; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            unsigned char *p = malloc(size);
            p[0] = (unsigned char)k;
            b[k] = p;
        }
        for (int k = 0; k < BATCH; k++)
            free(b[k]);
    }
}

static void run_stubbatch(size_t size, long n) {
    void *b[BATCH];
    for (long i = 0; i < n; i += BATCH) {
        for (int k = 0; k < BATCH; k++) {
            unsigned char *p = stub_malloc(size);
            p[0] = (unsigned char)k;
            b[k] = p;
        }
        for (int k = 0; k < BATCH; k++)
            stub_free(b[k]);
    }
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: pairs -s size -n pairs [-m pair|batch|stub|stubbatch]\n");
    exit(2);
}

int main(int argc, char **argv) {
    size_t size = 16;
    long n = 100000;
    const char *mode = "pair";
    int c;
    while ((c = getopt(argc, argv, "s:n:m:h")) != -1) {
        switch (c) {
        case 's': size = parse_size(optarg); break;
        case 'n': n = (long)parse_count(optarg); break;
        case 'm': mode = optarg; break;
        default: usage();
        }
    }
    if (size < 1 || size > sizeof stub_buf || n < 0)
        usage();
    void (*fn)(size_t, long) = NULL;
    if (!strcmp(mode, "pair"))
        fn = run_pair;
    else if (!strcmp(mode, "batch"))
        fn = run_batch, n = (n + BATCH - 1) / BATCH * BATCH;
    else if (!strcmp(mode, "stub"))
        fn = run_stub;
    else if (!strcmp(mode, "stubbatch"))
        fn = run_stubbatch, n = (n + BATCH - 1) / BATCH * BATCH;
    else
        usage();
    fn(size, 10 * BATCH); /* warm-up: first-touch, cache set-up */
    double t0 = now_sec();
    fn(size, n);
    double secs = now_sec() - t0;
    report("pairs", secs, 0, (unsigned long long)n,
           "mode=%s size=%zu pairs=%ld ns_per_pair=%.2f", mode, size, n,
           n ? secs * 1e9 / (double)n : 0.0);
    return 0;
}
