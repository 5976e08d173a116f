/*
 * init.c -- allocation before main and from threads that have run nothing
 * yet: the allocator must initialise itself whichever call comes first.
 *
 *  - a constructor of the highest priority allocates with every entry point
 *    and starts a thread that allocates, before main;
 *  - threads whose very first call is free() of a block from another
 *    thread, realloc(), calloc(), posix_memalign() or malloc_usable_size();
 *  - dlopen / dlsym (which allocate inside the dynamic loader), and
 *    functions of the C library that allocate (strdup, asprintf, fopen);
 *  - each other entry point as the process's very first allocator call:
 *    the program runs itself again with MOSAIC_TEST_FIRST=<kind>, and its
 *    constructor makes that call first (calloc, realloc(NULL), memalign,
 *    aligned_alloc, posix_memalign, valloc, pvalloc, free(NULL) then
 *    malloc, malloc_usable_size(NULL) then malloc), with errno set to a
 *    sentinel that a successful call keeps (not checked against glibc).
 *    The first call is the allocator's first only where nothing runs
 *    before the test's constructor: the static build; elsewhere the
 *    library's own constructor has initialised it.
 */
#include "common.h"
#include <pthread.h>

static void *ctor_blocks[8];
static void *ctor_thread_result;
static int ctor_ran, ctor_thread_ok;

static void *ctor_thread(void *arg)
{
    (void)arg;
    void *p = M(malloc)(100);
    if (p) {
        memset(p, 7, 100);
        p = M(realloc)(p, 5000);
    }
    ctor_thread_ok = p != NULL && ((uintptr_t)p & 15) == 0;
    return p;
}

/* MOSAIC_TEST_FIRST=<kind>: the first call, made by early() */
static const char *const first_kinds[] = {"calloc", "realloc", "memalign", "aligned_alloc",
                                          "posix_memalign", "valloc", "pvalloc", "free",
                                          "usable_size"};
enum { NFIRST = sizeof first_kinds / sizeof first_kinds[0] };
static int first_kind = -1;
static void *first_block;
static int first_errno;
static size_t first_want, first_align;

static void first_call(void)
{
    errno = 1234; /* kept by a successful call */
    switch (first_kind) {
    case 0: first_block = M(calloc)(10, 30); first_want = 300; first_align = 16; break;
    case 1: first_block = M(realloc)(NULL, 5000); first_want = 5000; first_align = 16; break;
    case 2: first_block = M(memalign)(4096, 100); first_want = 100; first_align = 4096; break;
    case 3: first_block = M(aligned_alloc)(256, 512); first_want = 512; first_align = 256; break;
    case 4:
        if (M(posix_memalign)(&first_block, 64, 64))
            first_block = NULL;
        first_want = 64;
        first_align = 64;
        break;
    case 5: first_block = M(valloc)(10); first_want = 10; first_align = 4096; break;
    case 6: first_block = M(pvalloc)(10); first_want = 4096; first_align = 4096; break;
    case 7:
        M(free)(NULL);
        first_block = M(malloc)(100);
        first_want = 100;
        first_align = 16;
        break;
    case 8:
        if (M(malloc_usable_size)(NULL) != 0)
            break;
        first_block = M(malloc)(100);
        first_want = 100;
        first_align = 16;
        break;
    }
    first_errno = errno;
}

/* the child run for one kind: checks what early() got */
static int first_check(void)
{
    CHECK(first_block != NULL, "first call %s failed", first_kinds[first_kind]);
    if (!first_block)
        return t_finish();
    CHECK(((uintptr_t)first_block & (first_align - 1)) == 0, "first call %s: %p misaligned",
          first_kinds[first_kind], first_block);
    CHECK(M(malloc_usable_size)(first_block) >= first_want, "first call %s: usable %zu < %zu",
          first_kinds[first_kind], M(malloc_usable_size)(first_block), first_want);
    if (first_kind == 0)
        for (size_t i = 0; i < first_want; i++)
            if (((unsigned char *)first_block)[i]) {
                CHECK(0, "first call calloc: byte %zu not zero", i);
                break;
            }
#if !defined(T_GLIBC)
    CHECK(first_errno == 1234, "first call %s changed errno to %d", first_kinds[first_kind],
          first_errno);
#endif
    memset(first_block, 0x3c, first_want);
    void *more[64];
    for (int i = 0; i < 64; i++) {
        more[i] = M(malloc)((size_t)i * 300 + 1);
        CHECK(more[i] != NULL, "malloc after the first call %s failed", first_kinds[first_kind]);
    }
    for (int i = 0; i < 64; i++)
        M(free)(more[i]);
    M(free)(first_block);
    return t_finish();
}

__attribute__((constructor(101))) static void early(void)
{
    const char *fk = getenv("MOSAIC_TEST_FIRST");
    if (fk) {
        for (int i = 0; i < NFIRST; i++)
            if (!strcmp(fk, first_kinds[i]))
                first_kind = i;
        if (first_kind >= 0) {
            first_call();
            return;
        }
    }
    ctor_blocks[0] = M(malloc)(1);
    ctor_blocks[1] = M(calloc)(10, 10);
    ctor_blocks[2] = M(realloc)(NULL, 300);
    ctor_blocks[3] = M(memalign)(4096, 100);
    if (M(posix_memalign)(&ctor_blocks[4], 64, 64))
        ctor_blocks[4] = NULL;
    ctor_blocks[5] = M(aligned_alloc)(256, 512);
    ctor_blocks[6] = M(malloc)(1 << 20);
    ctor_blocks[7] = M(valloc)(10);
    pthread_t t;
    if (pthread_create(&t, NULL, ctor_thread, NULL) == 0)
        pthread_join(t, &ctor_thread_result);
    ctor_ran = 1;
}

struct first_call {
    int kind;
    void *in;
    void *out;
    int ok;
};

static void *first_thread(void *arg)
{
    struct first_call *fc = arg;
    switch (fc->kind) {
    case 0: /* free of another thread's block, as the first call */
        M(free)(fc->in);
        fc->out = M(malloc)(24);
        break;
    case 1:
        fc->out = M(realloc)(fc->in, 100000);
        break;
    case 2:
        fc->out = M(calloc)(1000, 3);
        if (fc->out)
            for (int i = 0; i < 3000; i++)
                if (((unsigned char *)fc->out)[i])
                    return NULL;
        break;
    case 3:
        if (M(posix_memalign)(&fc->out, 8192, 10))
            fc->out = NULL;
        break;
    case 4:
        fc->ok = M(malloc_usable_size)(fc->in) >= 50;
        fc->out = M(malloc)(1);
        break;
    case 5:
        M(free_sized)(fc->in, 50);
        fc->out = M(aligned_alloc)(64, 64);
        break;
    }
    if (fc->kind != 4)
        fc->ok = fc->out != NULL && ((uintptr_t)fc->out & 15) == 0;
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    t_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    t_check_allocator();
    if (first_kind >= 0)
        return first_check();
    CHECK(ctor_ran, "the constructor did not run");
    static const size_t want[8] = {1, 100, 300, 100, 64, 512, 1 << 20, 10};
    static const size_t align[8] = {16, 16, 16, 4096, 64, 256, 16, 4096};
    for (int i = 0; i < 8; i++) {
        void *p = ctor_blocks[i];
        CHECK(p != NULL, "allocation #%d in the constructor failed", i);
        if (!p)
            continue;
        CHECK(((uintptr_t)p & (align[i] - 1)) == 0, "block #%d from the constructor misaligned", i);
        CHECK(M(malloc_usable_size)(p) >= want[i], "block #%d: usable %zu < %zu", i,
              M(malloc_usable_size)(p), want[i]);
        memset(p, 0x3c, want[i]);
    }
    CHECK(ctor_thread_ok && ctor_thread_result, "the thread started by the constructor failed");
    if (ctor_thread_result) {
        unsigned char *c = ctor_thread_result;
        CHECK(c[0] == 7 && c[99] == 7, "realloc in the constructor's thread lost content");
        M(free)(ctor_thread_result);
    }
    for (int i = 0; i < 8; i++)
        M(free)(ctor_blocks[i]);

    for (int round = 0; round < 20; round++)
        for (int kind = 0; kind < 6; kind++) {
            struct first_call fc = {kind, M(malloc)(50), NULL, 0};
            REQUIRE(fc.in, "malloc failed");
            memset(fc.in, 0x42, 50);
            pthread_t t;
            REQUIRE(pthread_create(&t, NULL, first_thread, &fc) == 0, "pthread_create failed");
            pthread_join(t, NULL);
            CHECK(fc.ok, "a new thread whose first call is kind %d failed", kind);
            if (kind == 1 && fc.out)
                CHECK(((unsigned char *)fc.out)[49] == 0x42, "realloc in a new thread lost content");
            if (kind == 2 || kind == 3 || kind == 4)
                M(free)(fc.in);
            M(free)(fc.out);
        }

    /* the loader and the C library allocate through whatever malloc is */
    void *h = dlopen("libm.so.6", RTLD_NOW);
    CHECK(h != NULL, "dlopen(libm.so.6) failed: %s", dlerror());
    if (h) {
        CHECK(dlsym(h, "cos") != NULL, "dlsym(cos) failed");
        dlclose(h);
    }
    char *s = strdup("mosaic");
    char *a = NULL;
    CHECK(asprintf(&a, "%s-%d-%0500d", s, 42, 7) > 500, "asprintf failed");
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL, "fopen failed");
    if (f) {
        char line[256];
        CHECK(fgets(line, sizeof line, f) != NULL, "fgets failed");
        fclose(f);
    }
    free(a);
    free(s);

    /* each entry point as the first call of a fresh process (this program again) */
    for (int k = 0; k < NFIRST; k++) {
        fflush(stdout);
        fflush(stderr);
        /* (set here: the child only execs, it does not allocate) */
        REQUIRE(setenv("MOSAIC_TEST_FIRST", first_kinds[k], 1) == 0, "setenv failed");
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork failed");
        if (pid == 0) {
            execv("/proc/self/exe", argv);
            _exit(126);
        }
        unsetenv("MOSAIC_TEST_FIRST");
        int st = t_wait_child(pid, 20, "the child");
        char d[96];
        t_describe_status(st, d, sizeof d);
        CHECK(st == 0, "a process whose first allocator call is %s: %s", first_kinds[k], d);
    }
    return t_finish();
}
