/*
 * tclock.h -- a clock the ctl tests move (extent_test.c, arena_test.c).
 * Mosaic reads the time for decay and growth relief with clock_gettime,
 * which a program including this header defines (the executable's
 * definition comes first in symbol lookup). The monotonic clocks stand
 * still at the first reading plus clock_skew_ns: time passes only when a
 * test calls clock_advance_ms, so a test reaches the instants it needs
 * exactly and no pause of the machine (load, a CPU quota) moves them.
 * clock_reads counts the calls; CLOCK_CHECK fails a test whose library
 * stopped reading the time through clock_gettime (its timings would not
 * move, and its checks would mean nothing). Include it in one file only.
 */
#ifndef MOSAIC_TCLOCK_H
#define MOSAIC_TCLOCK_H
#include "tctl.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t clock_base_ns;  /* the first monotonic reading; 0 until then (atomic) */
static int64_t clock_skew_ns;  /* relaxed atomic */
static uint64_t clock_reads;   /* relaxed atomic */
int clock_gettime(clockid_t id, struct timespec *ts) {
    if (syscall(SYS_clock_gettime, id, ts) != 0) return -1;
    __atomic_fetch_add(&clock_reads, 1, __ATOMIC_RELAXED);
    if (id == CLOCK_MONOTONIC || id == CLOCK_MONOTONIC_COARSE || id == CLOCK_MONOTONIC_RAW ||
        id == CLOCK_BOOTTIME) {
        int64_t real = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec, base = 0;
        if (!__atomic_compare_exchange_n(&clock_base_ns, &base, real, false, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED))
            real = base; /* (base: the first reading, by whichever thread) */
        int64_t ns = real + __atomic_load_n(&clock_skew_ns, __ATOMIC_RELAXED);
        ts->tv_sec = ns / 1000000000;
        ts->tv_nsec = ns % 1000000000;
    }
    return 0;
}
__attribute__((unused)) static void clock_advance_ms(int64_t ms) {
    __atomic_fetch_add(&clock_skew_ns, ms * 1000000, __ATOMIC_RELAXED);
}
#define CLOCK_CHECK(reads0)                                                                        \
    REQUIRE(__atomic_load_n(&clock_reads, __ATOMIC_RELAXED) > (reads0),                           \
            "the library no longer reads the time through clock_gettime")
#endif
