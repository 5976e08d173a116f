/*
 * os -- everything platform-specific: virtual memory (mmap, munmap, madvise,
 * mremap), CPU count, clocks, environment, raw writes to stderr and aborts,
 * and the one CPU instruction the C code cannot name (os_bit_test_set).
 * Owns one flag, set once in os_init (whether MADV_FREE works); the page
 * size is a constant, checked there.
 * Invariant: nothing here allocates through malloc; every call is a system
 * call or a vDSO read, safe before the allocator is initialised.
 */
#ifndef MOSAIC_OS_H
#define MOSAIC_OS_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define OS_PAGE_SHIFT 12
#define OS_PAGE ((size_t)1 << OS_PAGE_SHIFT)
#define OS_HUGEPAGE ((size_t)2 << 20)
/* User address space (x86-64 and arm64, 4-level page tables): no mapping,
 * hence no block, can be as large. */
#define OS_VA_BITS 47

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((size_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((size_t)(a) - 1))

/* The full 128-bit product a * b: returns the low half, stores the high
 * half in *hi. One `mul` on x86-64 (a plain __int128 product there can be
 * spilled to the stack between its two halves); os_mul_wide_c elsewhere
 * (and in the unit test that checks the two agree). */
static inline uint64_t os_mul_wide_c(uint64_t a, uint64_t b, uint64_t *hi) {
    unsigned __int128 p = (unsigned __int128)a * b;
    *hi = (uint64_t)(p >> 64);
    return (uint64_t)p;
}
static inline uint64_t os_mul_wide(uint64_t a, uint64_t b, uint64_t *hi) {
#if defined(__x86_64__)
    uint64_t lo;
    __asm__("mulq %3" : "=a"(lo), "=d"(*hi) : "a"(a), "rm"(b) : "cc");
    return lo;
#else
    return os_mul_wide_c(a, b, hi);
#endif
}

/* Sets bit b (0..63) of *w; returns whether it was set already. One bts on
 * x86-64 (its carry flag is the old bit); os_bit_test_set_c elsewhere (and
 * in the unit test that checks the two agree). */
static inline bool os_bit_test_set_c(uint64_t *w, uint64_t b) {
    uint64_t bit = (uint64_t)1 << (b % 64);
    bool old = (*w & bit) != 0;
    *w |= bit;
    return old;
}
static inline bool os_bit_test_set(uint64_t *w, uint64_t b) {
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
    bool old;
    __asm__("btsq %q2, %0" : "+r"(*w), "=@ccc"(old) : "r"(b));
    return old;
#else
    return os_bit_test_set_c(w, b);
#endif
}

bool os_init(void);
/* Anonymous read-write mapping of size bytes aligned to align (a power of two
 * >= page). Returns NULL on failure (errno is left as the kernel set it). */
void *os_map(size_t size, size_t align);
void os_unmap(void *addr, size_t size);
/* MADV_FREE (falls back to MADV_DONTNEED). Returns true on failure. */
bool os_purge_lazy(void *addr, size_t size);
/* MADV_DONTNEED: pages read back as zero. Returns true on failure. */
bool os_purge_forced(void *addr, size_t size);
/* mremap with MREMAP_MAYMOVE; NULL on failure. */
void *os_remap(void *addr, size_t oldsize, size_t newsize);
/* madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE). */
void os_hugepage(void *addr, size_t size, bool on);
unsigned os_ncpus(void);
uint64_t os_now_ns(void);
const char *os_getenv(const char *name);
/* Writes all of s to fd (retrying short writes and EINTR; gives up on an
 * error); os_write_err writes to standard error. */
void os_write_fd(int fd, const char *s);
void os_write_err(const char *s);
/* A close-on-exec copy of standard error numbered 3 or above, or -1. */
int os_dup_stderr(void);
_Noreturn void os_abort(void);
#endif
