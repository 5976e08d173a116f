/*
 * tctl.h -- the little harness of the mallctl tests: each test runs in a
 * forked child (so tests cannot disturb each other's arenas, caches and
 * statistics), and the parent prints one line per test:
 *   PASS name
 *   FAIL name: first failed check (file:line: condition: message)
 * run.sh counts the lines and prints the "N passed, N failed" summary.
 */
#ifndef TCTL_H
#define TCTL_H
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* CHECK(cond) with no message passes an empty format string. */
#pragma GCC diagnostic ignored "-Wformat-zero-length"

typedef struct {
    const char *name;
    void (*fn)(void);
} tcase_t;

/* The process's address space (VmSize in /proc/self/status), KiB; -1 when
 * it cannot be read. */
__attribute__((unused)) static long vmsize_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    long kb = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static char *t_msg;    /* shared with the parent (MAP_SHARED) */
static int t_nfailed;  /* checks failed in this child */

static void t_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void t_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
    if (t_nfailed++) return;
    char extra[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(extra, sizeof(extra), fmt, ap);
    va_end(ap);
    snprintf(t_msg, 1024, "%s:%d: %s%s%s", file, line, cond, extra[0] ? ": " : "", extra);
}

/* CHECK(cond, printf-style message) -- records the first failure, goes on. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) t_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__);                            \
    } while (0)
/* REQUIRE: as CHECK, but ends the test at once. */
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            t_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__);                                     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#define CHECK_EQ_U(a, b)                                                                           \
    do {                                                                                           \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);             \
        if (a_ != b_) t_fail(__FILE__, __LINE__, #a " == " #b, "%llu != %llu", a_, b_);           \
    } while (0)
#define CHECK_EQ_I(a, b)                                                                           \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) t_fail(__FILE__, __LINE__, #a " == " #b, "%lld != %lld", a_, b_);           \
    } while (0)

/* Runs the tests named on the command line (all when none). */
static int t_main(const tcase_t *tests, size_t n, int argc, char **argv) {
    t_msg = mmap(NULL, 1024, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (t_msg == MAP_FAILED) return 2;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1) {
            bool want = false;
            for (int a = 1; a < argc; a++) want = want || !strcmp(argv[a], tests[i].name);
            if (!want) continue;
        }
        t_msg[0] = '\0';
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            tests[i].fn();
            fflush(stdout);
            _exit(t_nfailed ? 1 : 0);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid) { /* not run: a failure, never a pass */
            printf("FAIL %s: could not run it (fork/waitpid: %s)\n", tests[i].name, strerror(errno));
            failed++;
            continue;
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            printf("PASS %s\n", tests[i].name);
        } else {
            failed++;
            if (WIFSIGNALED(st))
                printf("FAIL %s: killed by signal %d%s%s\n", tests[i].name, WTERMSIG(st),
                       t_msg[0] ? " after " : "", t_msg);
            else
                printf("FAIL %s: %s\n", tests[i].name, t_msg[0] ? t_msg : "failed");
        }
    }
    fflush(stdout);
    return failed ? 1 : 0;
}
#endif
