#include "os.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_FREE
#define MADV_FREE 8
#endif

static bool os_madv_free_ok; /* set once by os_init */

bool os_init(void) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps != (long)OS_PAGE) return false;
    /* MADV_FREE (Linux 4.5) is known at start, on a scratch page: a later
     * EINVAL (locked pages) must not switch it off for good. */
    int e = errno;
    void *p = mmap(NULL, OS_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        os_madv_free_ok = madvise(p, OS_PAGE, MADV_FREE) == 0;
        munmap(p, OS_PAGE);
    }
    errno = e;
    return true;
}

void *os_map(size_t size, size_t align) {
    int e = errno;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (align <= OS_PAGE || ((uintptr_t)p & (align - 1)) == 0) {
        errno = e;
        return p;
    }
    /* Misaligned: map a larger range and trim both ends. */
    munmap(p, size);
    size_t big = size + align - OS_PAGE;
    if (big < size) return NULL;
    p = mmap(NULL, big, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uintptr_t a = (uintptr_t)p, al = ALIGN_UP(a, align);
    if (al > a) munmap(p, al - a);
    if (al + size < a + big) munmap((void *)(al + size), a + big - (al + size));
    errno = e;
    return (void *)al;
}

/* The calls below keep errno: they run inside free() and realloc(). */
void os_unmap(void *addr, size_t size) {
    int e = errno;
    munmap(addr, size);
    errno = e;
}

/* madvise keeping errno; true on failure. */
static bool os_madvise(void *addr, size_t size, int advice) {
    int e = errno;
    bool failed = madvise(addr, size, advice) != 0;
    errno = e;
    return failed;
}

bool os_purge_lazy(void *addr, size_t size) {
    if (os_madv_free_ok && !os_madvise(addr, size, MADV_FREE)) return false;
    return os_madvise(addr, size, MADV_DONTNEED);
}

bool os_purge_forced(void *addr, size_t size) { return os_madvise(addr, size, MADV_DONTNEED); }

void *os_remap(void *addr, size_t oldsize, size_t newsize) {
    int e = errno;
    void *p = mremap(addr, oldsize, newsize, MREMAP_MAYMOVE);
    errno = e;
    return p == MAP_FAILED ? NULL : p;
}

void os_hugepage(void *addr, size_t size, bool on) {
    os_madvise(addr, size, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

unsigned os_ncpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* The coarse clock (the kernel's tick, a few ms) is enough for decay ages of
 * milliseconds and costs a quarter of the precise one: it is read once per
 * page-allocator free. */
uint64_t os_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *os_getenv(const char *name) { return secure_getenv(name); }

void os_write_fd(int fd, const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

void os_write_err(const char *s) { os_write_fd(STDERR_FILENO, s); }

int os_dup_stderr(void) { return fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3); }

_Noreturn void os_abort(void) { abort(); }
