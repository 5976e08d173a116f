/*
 * pagemap_unit.c -- the pagemap on its own (compiled with src/pagemap.c and
 * src/os.c, no allocator around it).
 *
 * Before anything is set, every address looks up as 0 (NULL, the program's
 * own data, the stack, the top of the 47-bit space, a non-canonical
 * address): an empty root slot leads to the static zero leaf. Entries set
 * on both sides of a leaf boundary (bit 32) and of a root slot read back,
 * through both lookups, and no other page of the same leaf (1 and 2 GiB
 * away included), nor the same page offset in a neighbouring or distant
 * 4 GiB region, sees them (a wrong root or leaf index would). pagemap_prepare maps the leaves of a range that
 * straddles a boundary without setting anything. After all that, the zero
 * leaf is still all zero (nothing was written through it). Where the kernel
 * has transparent huge pages, a leaf's mapping is advised against them
 * (VmFlags "nh"): one entry must not make 2 MiB resident.
 */
#include "pagemap.h"

#include <stdio.h>
#include <string.h>

static unsigned long checks, bad;

static void expect(uintptr_t addr, uintptr_t want, const char *what) {
    uintptr_t got = pagemap_lookup((const void *)addr), acq = pagemap_lookup_acquire((const void *)addr);
    checks++;
    if (got != want || acq != want) {
        printf("FAIL %s: lookup(%#lx) = %#lx / %#lx, want %#lx\n", what, (unsigned long)addr,
               (unsigned long)got, (unsigned long)acq, (unsigned long)want);
        bad++;
    }
}

/* Whether the mapping holding addr has `flag` in its VmFlags; -1 when the
 * mapping or its flags are not found. */
static int vmflag(uintptr_t addr, const char *flag) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int in = 0, res = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = addr >= lo && addr < hi;
            continue;
        }
        if (in && !strncmp(line, "VmFlags:", 8)) {
            char pat[8];
            snprintf(pat, sizeof pat, " %s", flag);
            res = strstr(line + 8, pat) != NULL;
            break;
        }
    }
    fclose(f);
    return res;
}

static int static_word;

int main(void) {
    const uintptr_t page = OS_PAGE, four_g = (uintptr_t)1 << PM_LEAF_SHIFT;
    int stack_word = 0;

    /* Nothing set: the zero leaf answers everywhere. */
    expect(0, 0, "NULL");
    expect((uintptr_t)&static_word, 0, "static");
    expect((uintptr_t)&stack_word, 0, "stack");
    expect(((uintptr_t)1 << 47) - page, 0, "top of the 47-bit space");
    expect(~(uintptr_t)0 - page + 1, 0, "non-canonical");

    /* Entries either side of a leaf boundary, and at a root slot's ends. */
    const uintptr_t base = (uintptr_t)0x5a5a << PM_LEAF_SHIFT; /* root slot 0x5a5a */
    struct { uintptr_t addr, entry; } set[] = {
        {base - page, 0x1111000 | 1},           /* last page of slot 0x5a59 */
        {base, 0x2222000},                      /* first page of slot 0x5a5a */
        {base + 0x12345000, 0x3333000 | 1},     /* inside it */
        {base + four_g - 2 * page, (uintptr_t)0xab << PM_TAG_SHIFT | 0x4444000}, /* near its end */
    };
    const size_t nset = sizeof set / sizeof set[0];
    for (size_t i = 0; i < nset; i++) {
        checks++;
        if (!pagemap_set(set[i].addr, set[i].entry)) {
            printf("FAIL pagemap_set(%#lx) could not map a leaf\n", (unsigned long)set[i].addr);
            bad++;
        }
    }
    for (size_t i = 0; i < nset; i++) {
        expect(set[i].addr, set[i].entry, "set entry");
        expect(set[i].addr + page - 1, set[i].entry, "set entry, last byte of the page");
        expect(set[i].addr + four_g, 0, "same offset, next 4 GiB");
        expect(set[i].addr - four_g, 0, "same offset, previous 4 GiB");
        expect(set[i].addr ^ ((uintptr_t)1 << 40), 0, "same offset, far root slot");
        expect(set[i].addr ^ ((uintptr_t)1 << 30), 0, "1 GiB away in the same leaf");
        expect(set[i].addr ^ ((uintptr_t)1 << 31), 0, "2 GiB away in the same leaf");
    }
    expect(base + page, 0, "neighbour page");
    expect(base + 0x12345000 - page, 0, "neighbour page");
    expect(base + 0x12345000 + page, 0, "neighbour page");

    /* prepare: leaves for a range across a boundary, nothing set. */
    const uintptr_t pbase = ((uintptr_t)0x3c3c << PM_LEAF_SHIFT) - 2 * page;
    checks++;
    if (!pagemap_prepare(pbase, 4 * page)) {
        printf("FAIL pagemap_prepare\n");
        bad++;
    }
    for (uintptr_t a = pbase; a < pbase + 4 * page; a += page) {
        expect(a, 0, "prepared, not set");
        checks++;
        if (!*pm_root_slot(a)) {
            printf("FAIL prepare left %#lx without a leaf\n", (unsigned long)a);
            bad++;
        }
    }
    checks++;
    if (!pagemap_set(pbase + 3 * page, 0x5555000)) bad++;
    expect(pbase + 3 * page, 0x5555000, "set after prepare");

    /* Nothing went through the zero leaf. */
    size_t nz = 0;
    for (size_t i = 0; i < sizeof pm_map.zero / sizeof pm_map.zero[0]; i++) nz += pm_map.zero[i] != 0;
    checks++;
    if (nz) {
        printf("FAIL %zu entries of the zero leaf are not zero\n", nz);
        bad++;
    }

    /* A leaf is advised against huge pages. */
    FILE *thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (thp) {
        fclose(thp);
        uintptr_t leaf = (uintptr_t)pm_map.zero + *pm_root_slot(base);
        int nh = vmflag(leaf, "nh");
        checks++;
        if (nh != 1) {
            printf("FAIL the leaf at %#lx is not advised against huge pages (VmFlags nh: %d)\n",
                   (unsigned long)leaf, nh);
            bad++;
        }
    } else {
        printf("NOTE no transparent huge pages here: the leaf's advice is not checked\n");
    }
    printf("pagemap_unit: %lu checks, %lu failed\n", checks, bad);
    return bad != 0;
}
