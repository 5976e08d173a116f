/*
 * thp.c -- opt.thp, run by tests/ctl/run.sh once per value (MOSAIC_CONF=
 * thp:always, thp:never, thp:default; the test named on the command line
 * must match): the mapping that holds a 4 MiB block (an arena chunk of the
 * default hooks) carries the advice in its /proc/self/smaps VmFlags:
 * "hg" (MADV_HUGEPAGE) with always, "nh" (MADV_NOHUGEPAGE) with never, and
 * with default Mosaic adds neither: the block's mapping has the same
 * hg/nh flags as a mapping of the program's own.
 * Prints SKIP (not counted) where the kernel has no transparent huge pages
 * or does not show the advice in VmFlags.
 */
#include "tctl.h"

#include "mosaic.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK ((size_t)4 << 20)

/* The VmFlags of the mapping holding addr, as " rd wr ... hg " (spaces
 * around every flag); false when no mapping holds it. */
static bool vmflags(const void *addr, char *out, size_t size) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return false;
    char line[512];
    bool in = false, found = false;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char c;
        if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3) {
            in = lo <= a && a < hi;
        } else if (in && !strncmp(line, "VmFlags:", 8)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, size, "%s ", line + 8);
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

static bool has_flag(const char *flags, const char *flag) {
    char w[8];
    snprintf(w, sizeof(w), " %s ", flag);
    return strstr(flags, w) != NULL;
}

/* The kernel shows madvise's advice on a mapping of our own: else SKIP. */
static bool kernel_shows_advice(void) {
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0) return false;
    bool ok = true;
    for (int on = 0; on < 2; on++) {
        char *p = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return false;
        char fl[512];
        ok = ok && madvise(p, BLOCK, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == 0 &&
             vmflags(p, fl, sizeof(fl)) && has_flag(fl, on ? "hg" : "nh");
        munmap(p, BLOCK);
    }
    return ok;
}

static void test_thp(const char *want) {
    const char *thp = NULL;
    size_t sz = sizeof(thp);
    REQUIRE(mallctl("opt.thp", &thp, &sz, NULL, 0) == 0);
    REQUIRE(thp && !strcmp(thp, want), "opt.thp is %s: run with MOSAIC_CONF=thp:%s", thp, want);
    unsigned char *p = malloc(BLOCK);
    REQUIRE(p);
    memset(p, 1, BLOCK);
    /* a mapping of the program's own, for what the kernel gives by default */
    char *own = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(own != MAP_FAILED);
    own[0] = 1;
    char own_fl[512];
    REQUIRE(vmflags(own, own_fl, sizeof(own_fl)), "no VmFlags for our own mapping");
    /* the block's first and last byte (a chunk may span mappings) */
    const unsigned char *ends[2] = {p, p + BLOCK - 1};
    for (int i = 0; i < 2; i++) {
        char fl[512];
        REQUIRE(vmflags(ends[i], fl, sizeof(fl)), "no mapping holds %p", (void *)ends[i]);
        bool hg = has_flag(fl, "hg"), nh = has_flag(fl, "nh");
        if (!strcmp(want, "always")) {
            CHECK(hg && !nh, "thp:always: VmFlags of %p:%s", (void *)ends[i], fl);
        } else if (!strcmp(want, "never")) {
            CHECK(nh && !hg, "thp:never: VmFlags of %p:%s", (void *)ends[i], fl);
        } else {
            CHECK(hg == has_flag(own_fl, "hg") && nh == has_flag(own_fl, "nh"),
                  "thp:default: VmFlags of %p:%s, of a plain mmap:%s", (void *)ends[i], fl, own_fl);
        }
    }
    munmap(own, BLOCK);
    free(p);
}

static void test_thp_always(void) { test_thp("always"); }
static void test_thp_never(void) { test_thp("never"); }
static void test_thp_default(void) { test_thp("default"); }

static const tcase_t cases[] = { /* run one, named on the command line */
    {"thp_always", test_thp_always},
    {"thp_never", test_thp_never},
    {"thp_default", test_thp_default},
};

int main(int argc, char **argv) {
    if (!kernel_shows_advice()) {
        for (int a = 1; a < argc; a++)
            printf("SKIP %s: the kernel shows no MADV_HUGEPAGE/NOHUGEPAGE advice in VmFlags\n", argv[a]);
        return 0;
    }
    return t_main(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
