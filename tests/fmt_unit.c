/*
 * fmt_unit.c -- the allocator's own snprintf (src/fmt.c, used for error
 * messages and malloc_stats_print, where stdio cannot be called) against the
 * C library's, for every conversion, flag and width it supports; truncation
 * and the return value; and "%.*s" reading no byte past its precision (a
 * string that ends at an inaccessible page). Compiled with src/fmt.c and
 * src/os.c, no allocator around it.
 */
#include "fmt.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned long checks, bad;

static void same(const char *mine, size_t mine_n, const char *libc, int libc_n, const char *what) {
    checks++;
    if (strcmp(mine, libc) != 0 || mine_n != (size_t)libc_n) {
        if (bad++ < 20) printf("FAIL %s: \"%s\" (%zu) vs libc \"%s\" (%d)\n", what, mine, mine_n, libc, libc_n);
    }
}

#define CMP(fmt, ...)                                                                              \
    do {                                                                                           \
        char a[128], b[128];                                                                       \
        size_t na = fmt_snprintf(a, sizeof(a), fmt, __VA_ARGS__);                                  \
        int nb = snprintf(b, sizeof(b), fmt, __VA_ARGS__);                                         \
        same(a, na, b, nb, fmt);                                                                   \
    } while (0)

int main(void) {
    const long long ints[] = {0, 1, -1, 7, -42, 255, 4096, -99999, INT32_MAX, INT32_MIN,
                              INT64_MAX, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        long long v = ints[i];
        CMP("%d|%5d|%-5d|%05d|%i", (int)v, (int)v, (int)v, (int)v, (int)v);
        CMP("%ld|%12ld|%-12ld|%012ld", (long)v, (long)v, (long)v, (long)v);
        CMP("%lld|%020lld", v, v);
        CMP("%u|%8u|%08u|%x|%04x|%-6x|", (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v,
            (unsigned)v, (unsigned)v);
        CMP("%zu|%10zu|%010zu|%zx|%016zx", (size_t)v, (size_t)v, (size_t)v, (size_t)v, (size_t)v);
        CMP("%lu|%llx|%lx", (unsigned long)v, (unsigned long long)v, (unsigned long)v);
    }
    CMP("\\u%04x|\\u%04x|\\u%04x", 0x1fu, 0x0u, 0xabcdu); /* the JSON printer's escapes */
    CMP("%p|%20p|%-20p|", (void *)0x1234, (void *)0x7fff0000abcd, (void *)0x10);
    CMP("%s|%8s|%-8s|%.3s|%.*s|%.*s", "abc", "ab", "ab", "abcdef", 2, "xyz", 10, "xyz");
    CMP("%c%c|%3c|%-3c|", 'a', 'b', 'c', 'd');
    CMP("100%%|%s", "");
    /* '-' wins over '0' (the C rule): padded with spaces on the right */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
    CMP("%-05d|%-08x|%-06s|", 42, 0xabu, "ab");
#pragma GCC diagnostic pop
    /* a NULL string prints as glibc prints it (the pointer is opaque to the
     * compiler, which would warn of the NULL) */
    const char *volatile nul = NULL;
    CMP("[%s]", nul);
    /* what the C library leaves undefined, Mosaic defines (the printers
     * never pass it, but a message must not lose or run past characters):
     * an unknown conversion is written out as it stands, and a '%' at the
     * very end is dropped without reading past the terminating NUL */
    {
        const char *volatile unknown = "a%qb%", *volatile trailing = "abc%";
        char out[32];
        size_t n = fmt_snprintf(out, sizeof(out), unknown, 0);
        checks++;
        if (n != 4 || strcmp(out, "a%qb") != 0) {
            bad++;
            printf("FAIL unknown conversion: \"%s\" (%zu)\n", out, n);
        }
        n = fmt_snprintf(out, sizeof(out), trailing, 0);
        checks++;
        if (n != 3 || strcmp(out, "abc") != 0) {
            bad++;
            printf("FAIL trailing %%: \"%s\" (%zu)\n", out, n);
        }
    }
    /* truncation: the return value is the full length, the buffer ends in NUL
     * (a run-time cap, so the compiler does not warn of the truncation) */
    volatile size_t caps = 12;
    for (size_t cap = 0; cap < caps; cap++) {
        char a[16], b[16];
        memset(a, 'Z', sizeof(a));
        memset(b, 'Z', sizeof(b));
        size_t na = fmt_snprintf(a, cap, "%s-%d", "hello", 12345);
        int nb = snprintf(b, cap, "%s-%d", "hello", 12345);
        checks++;
        if (na != (size_t)nb || memcmp(a, b, sizeof(a)) != 0) {
            if (bad++ < 20) printf("FAIL truncation at %zu: %zu vs %d\n", cap, na, nb);
        }
    }
    /* "%.*s" of 4 unterminated bytes that end where a PROT_NONE page begins */
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + pg, (size_t)pg, PROT_NONE) != 0) {
        printf("FAIL mmap/mprotect\n");
        return 1;
    }
    char *s = m + pg - 4;
    memcpy(s, "abcd", 4);
    char out[16];
    size_t n = fmt_snprintf(out, sizeof(out), "[%.*s]", 4, s);
    checks++;
    if (n != 6 || strcmp(out, "[abcd]") != 0) {
        bad++;
        printf("FAIL %%.*s of an unterminated string: \"%s\"\n", out);
    }
    printf("%lu checks, %lu failed\n", checks, bad);
    return bad != 0;
}
