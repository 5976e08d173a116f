/*
 * badfree.c -- a detected double or invalid free aborts, naming the pointer.
 *
 * README: "A detected double or invalid free aborts with a message naming
 * the pointer." Each case runs in a forked child whose standard error is a
 * pipe: the child announces the pointer it is about to misuse (as printf's
 * %p writes it), performs the bad operation (and, for blocks that go
 * through the thread cache, flushes the cache: that is where Mosaic checks
 * them), and exits 0 if it is still alive. The parent requires that the
 * child
 *   - died of SIGABRT (not SIGSEGV, not a clean exit), and
 *   - wrote a "<mosaic>: " line that names the API ("free()", "realloc()",
 *     ...), says "invalid pointer" (plus "not allocated by Mosaic" for
 *     pointers Mosaic never handed out) and holds the announced pointer.
 * One PASS/FAIL line per case; exit status 1 if any failed.
 *
 *   badfree_<mode> [--all] [--list] [CASE...]
 *
 * CASE selects cases by name (substring). Some cases are detected only
 * with the thread cache off (MOSAIC_CONF=tcache:false, the documented way
 * to check every free): with it on, the transfer stacks take freed blocks
 * unchecked (docs/ARCHITECTURE.md, "Double and invalid frees"). Those run
 * when opt.tcache is false and are reported as not run (never as passed)
 * otherwise; --all runs them anyway.
 * The small-block cases that check the slab bitmaps first fill the bin's
 * transfer stack (arena.h: 256 KiB worth of regions), so that the flush
 * under test goes to the bitmaps, where duplicates are checked.
 */
#include "common.h"
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/resource.h>

#ifdef T_GLIBC
#error "badfree tests Mosaic's own messages: build it in the linked, static or mosaic mode"
#endif

#define T_PLAIN_mallctl mallctl
#define T_PLAIN_malloc_trim malloc_trim
#define T_PLAIN_rallocx rallocx
#define T_PLAIN_xallocx xallocx
#define T_PLAIN_dallocx dallocx
#define T_PLAIN_sdallocx sdallocx
#define T_PLAIN_mallocx mallocx

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define XFER_BYTES (256 * KiB) /* ARENA_XFER_BYTES in src/arena.h */
#define SLAB_MAX (56 * KiB)   /* the largest small-class slab (14 pages) */
#define NBLK (unsigned)(2 * XFER_BYTES / 16 + 64) /* fill_xfer of the smallest class */

/* ------------------------------------------------------------------ child side */

/* Hides a pointer's origin from the compiler, which would otherwise warn
 * about freeing a stack or static object, or using a freed pointer. */
static void *launder(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

/* Writes to standard error (the pipe) without stdio: the allocator may be
 * about to abort. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    ssize_t w = write(2, buf, (size_t)n);
    (void)w;
}

/* A setup step failed: not a verdict on the allocator. */
#define SETUP_EXIT 3
#define SETUP(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            say("badfree: setup failed: " __VA_ARGS__);                        \
            say("\n");                                                         \
            _exit(SETUP_EXIT);                                                 \
        }                                                                      \
    } while (0)

/* The pointer the parent must find in the message. */
static void expect_ptr(const void *p)
{
    say("badfree: pointer %p\n", p);
}

static void *xmalloc(size_t n)
{
    void *p = M(malloc)(n);
    SETUP(p != NULL, "malloc(%zu)", n);
    return p;
}

static void tcache_off(void)
{
    bool off = false;
    SETUP(M(mallctl)("thread.tcache.enabled", NULL, NULL, &off, sizeof off) == 0,
          "mallctl thread.tcache.enabled");
}

/* Flushes the thread's cache; without one (opt.tcache false, or turned
 * off) there is nothing to flush and the call says EFAULT, as jemalloc's. */
static void tcache_flush(void)
{
    bool on = false;
    size_t sz = sizeof on;
    SETUP(M(mallctl)("thread.tcache.enabled", &on, &sz, NULL, 0) == 0,
          "mallctl thread.tcache.enabled");
    SETUP(M(mallctl)("thread.tcache.flush", NULL, NULL, NULL, 0) == (on ? 0 : EFAULT),
          "mallctl thread.tcache.flush");
}

static void bad_free(void *p)
{
    M(free)(launder(p));
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

/* n blocks of size bytes, in address order (static: not the heap under
 * test). */
static void *blk[NBLK];
static void *filler[NBLK];

static void alloc_sorted(size_t size, unsigned n)
{
    SETUP(n <= NBLK, "too many blocks");
    for (unsigned i = 0; i < n; i++)
        blk[i] = xmalloc(size);
    qsort(blk, n, sizeof blk[0], cmp_ptr);
}

/* Fills the size class's transfer stack (twice its capacity freed, then the
 * cache flushed), so that the next flush goes to the slab bitmaps. Call
 * after the blocks under test were allocated: fills take the transfer stack
 * first. */
static void fill_xfer(size_t size)
{
    unsigned n = (unsigned)(2 * XFER_BYTES / size) + 64;
    SETUP(n <= NBLK, "too many filler blocks");
    for (unsigned i = 0; i < n; i++)
        filler[i] = xmalloc(size);
    tcache_flush();
    for (unsigned i = 0; i < n; i++)
        M(free)(filler[i]);
    tcache_flush();
}

/* ---- small blocks, thread cache off: detected at the second free */

static void dfree_small_nocache(size_t size)
{
    tcache_off();
    void *p = xmalloc(size);
    expect_ptr(p);
    M(free)(p);
    bad_free(p);
}
static void c_dfree_32_nocache(void) { dfree_small_nocache(32); }
static void c_dfree_1000_nocache(void) { dfree_small_nocache(1000); }

static void c_interior_64_nocache(void)
{
    tcache_off();
    char *p = xmalloc(64);
    expect_ptr(p + 16);
    bad_free(p + 16);
}

/* dallocx with MALLOCX_TCACHE_NONE bypasses the cache: immediate. */
static void c_dallocx_nocache_small(void)
{
    void *p = xmalloc(48);
    expect_ptr(p);
    M(dallocx)(p, MALLOCX_TCACHE_NONE);
    M(dallocx)(launder(p), MALLOCX_TCACHE_NONE);
}

/* ---- small blocks through the thread cache, detected at the flush */

/* free, free, flush: the duplicate goes where the flush puts it. */
static void dfree_small_flush(size_t size)
{
    void *p = xmalloc(size);
    expect_ptr(p);
    M(free)(p);
    bad_free(p);
    tcache_flush();
}
static void c_dfree_32_flush(void) { dfree_small_flush(32); }
static void c_dfree_1000_flush(void) { dfree_small_flush(1000); }

static void c_interior_64_flush(void)
{
    char *p = xmalloc(64);
    expect_ptr(p + 16);
    bad_free(p + 16);
    tcache_flush();
}

/* free, free, then malloc_trim: drains the transfer stack into the bitmaps. */
static void c_dfree_32_trim(void)
{
    void *p = xmalloc(32);
    expect_ptr(p);
    M(free)(p);
    bad_free(p);
    tcache_flush();
    M(malloc_trim)(0);
}

/* The first free reaches the transfer stack, the second (the stack full by
 * then) the bitmap. */
static void c_dfree_32_xfer_bitmap(void)
{
    void *p = xmalloc(32);
    expect_ptr(p);
    M(free)(p);
    tcache_flush();
    fill_xfer(32);
    bad_free(p);
    tcache_flush();
}

/* A block of this thread's arena freed twice after the thread moved to a
 * new arena: both copies go onto the remote stack and are flushed home
 * (arena_flush of another arena's blocks). */
static void dfree_small_remote(int full)
{
    void *p = xmalloc(32);
    if (full)
        fill_xfer(32);
    unsigned ind;
    size_t sz = sizeof ind;
    SETUP(M(mallctl)("arenas.create", &ind, &sz, NULL, 0) == 0, "mallctl arenas.create");
    SETUP(M(mallctl)("thread.arena", NULL, NULL, &ind, sizeof ind) == 0, "mallctl thread.arena");
    expect_ptr(p);
    M(free)(p);
    bad_free(p);
    tcache_flush();
}
static void c_dfree_32_remote(void) { dfree_small_remote(1); }
static void c_dfree_32_remote_flush(void) { dfree_small_remote(0); }

/* A block of an explicit arena, freed by another thread onto its remote
 * stack, then the arena destroyed and its index handed out again before
 * that thread's cache flushes (the program should have flushed it first,
 * as jemalloc documents): the flush must not take the stack for the new
 * arena's on the strength of the index, but look the block up and find it
 * gone. With the cache off the free itself comes after the destroy. */
static pthread_barrier_t rd_bar;
static void *rd_block;
static void *remote_destroyed_thread(void *arg)
{
    (void)arg;
    bool on = false;
    size_t sz = sizeof on;
    SETUP(M(mallctl)("thread.tcache.enabled", &on, &sz, NULL, 0) == 0, "mallctl thread.tcache.enabled");
    if (on)
        bad_free(rd_block); /* onto this thread's remote stack: not yet bad */
    pthread_barrier_wait(&rd_bar); /* 1 */
    pthread_barrier_wait(&rd_bar); /* 2: destroyed, index reused */
    if (on)
        tcache_flush();
    else
        bad_free(rd_block);
    return NULL;
}
static void c_remote_destroyed(void)
{
    unsigned ind, again;
    size_t sz = sizeof ind;
    char name[64];
    SETUP(M(mallctl)("arenas.create", &ind, &sz, NULL, 0) == 0, "mallctl arenas.create");
    rd_block = M(mallocx)(64, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE);
    SETUP(rd_block != NULL, "mallocx");
    expect_ptr(rd_block);
    SETUP(pthread_barrier_init(&rd_bar, NULL, 2) == 0, "pthread_barrier_init");
    pthread_t t;
    SETUP(pthread_create(&t, NULL, remote_destroyed_thread, NULL) == 0, "pthread_create");
    pthread_barrier_wait(&rd_bar); /* 1 */
    snprintf(name, sizeof name, "arena.%u.destroy", ind);
    SETUP(M(mallctl)(name, NULL, NULL, NULL, 0) == 0, "mallctl %s", name);
    SETUP(M(mallctl)("arenas.create", &again, &sz, NULL, 0) == 0 && again == ind,
          "arenas.create after the destroy gave %u, not %u", again, ind);
    void *q = M(mallocx)(64, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE); /* the new arena's bin in use */
    SETUP(q != NULL, "mallocx");
    pthread_barrier_wait(&rd_bar); /* 2 */
    pthread_join(t, NULL);
}

/* free, free with the transfer stack full: the flush goes to the bitmaps. */
static void dfree_small_bitmap(size_t size)
{
    void *p = xmalloc(size);
    fill_xfer(size);
    expect_ptr(p);
    M(free)(p);
    bad_free(p);
    tcache_flush();
}
static void c_dfree_32_bitmap(void) { dfree_small_bitmap(32); }
static void c_dfree_1000_bitmap(void) { dfree_small_bitmap(1000); }

/* n blocks in address order freed in one flush, block `dup` freed a second
 * time right after block `after`: the duplicate is inside a run of
 * consecutive blocks (of one slab, but for an unlucky slab boundary). With
 * earlier != 0 block `dup` was already freed by an earlier flush. */
static void dfree_small_run(size_t size, unsigned n, unsigned dup, unsigned after, int earlier)
{
    alloc_sorted(size, n);
    fill_xfer(size);
    expect_ptr(blk[dup]);
    if (earlier) {
        M(free)(blk[dup]);
        tcache_flush();
    }
    for (unsigned i = 0; i < n; i++) {
        if (!(earlier && i == dup))
            M(free)(blk[i]);
        if (i == after)
            bad_free(blk[dup]);
    }
    tcache_flush();
}
static void c_dfree_32_run(void) { dfree_small_run(32, 64, 10, 20, 0); }
static void c_dfree_32_run_adjacent(void) { dfree_small_run(32, 64, 30, 30, 0); }
static void c_dfree_32_run_earlier(void) { dfree_small_run(32, 64, 10, 40, 1); }
static void c_dfree_1000_run(void) { dfree_small_run(1000, 32, 5, 12, 0); }

/* The duplicate belongs to a slab far from its neighbours in the flush
 * (more than a slab's span away from every one of them). */
static void dfree_small_otherslab(size_t size, unsigned n, int earlier)
{
    unsigned total = (unsigned)(4 * SLAB_MAX / size);
    alloc_sorted(size, total);
    fill_xfer(size);
    void *far = blk[total - 1];
    SETUP((uintptr_t)far - (uintptr_t)blk[n - 1] > SLAB_MAX,
          "blocks %p and %p are not a slab apart", blk[n - 1], far);
    expect_ptr(far);
    M(free)(far);
    if (earlier)
        tcache_flush();
    for (unsigned i = 0; i < n; i++) {
        M(free)(blk[i]);
        if (i == n / 2)
            bad_free(far);
    }
    tcache_flush();
}
static void c_dfree_32_otherslab(void) { dfree_small_otherslab(32, 64, 0); }
static void c_dfree_32_otherslab_earlier(void) { dfree_small_otherslab(32, 64, 1); }
static void c_dfree_1000_otherslab(void) { dfree_small_otherslab(1000, 32, 1); }

/* An interior pointer in the middle of a run of its slab's blocks. */
static void c_interior_64_bitmap(void)
{
    alloc_sorted(64, 32);
    fill_xfer(64);
    char *bad = (char *)blk[12] + 16;
    expect_ptr(bad);
    for (unsigned i = 0; i < 32; i++)
        M(free)(i == 12 ? launder(bad) : blk[i]);
    tcache_flush();
}

/* An interior pointer as the first block of a flush (the return looks up
 * its slab and bitmap word for it: a block in the middle of a run is
 * checked by another path). */
static void c_interior_64_first(void)
{
    alloc_sorted(64, 32);
    fill_xfer(64);
    char *bad = (char *)blk[12] + 16;
    expect_ptr(bad);
    M(free)(launder(bad));
    for (unsigned i = 0; i < 32; i++)
        if (i != 12)
            M(free)(blk[i]);
    tcache_flush();
}

/* One region past a slab's last, right after that slab's last blocks in
 * one flush: 80 B slabs hold 102 regions in 8 KiB (page-aligned), so the
 * address is a multiple of the size from the slab's start but no region
 * (its bitmap word covers only 38 regions). The slab's last region is the
 * one that ends 32 B before a page boundary. */
static void c_tail_80_run(void)
{
    unsigned n = 300, i;
    alloc_sorted(80, n);
    fill_xfer(80);
    for (i = 8; i < n; i++)
        if (((uintptr_t)blk[i] + 80 + 32) % 4096 == 0 &&
            (uintptr_t)blk[i] - (uintptr_t)blk[i - 8] == 8 * 80)
            break;
    SETUP(i < n, "no slab's last region among %u blocks of 80 B", n);
    char *bad = (char *)blk[i] + 80;
    expect_ptr(bad);
    for (unsigned k = i - 8; k <= i; k++)
        M(free)(blk[k]);
    M(free)(launder(bad));
    tcache_flush();
}

/* ---- large blocks */

/* Large classes up to tcache_max (32 KiB) are thread-cached: checked at
 * the flush. Larger ones are checked at once (no flush: the child must
 * abort inside free). */
#define TCACHE_MAX (32 * KiB)

static void dfree_large(size_t size)
{
    void *p = xmalloc(size);
    expect_ptr(p);
    M(free)(p);
    bad_free(p);
    if (size <= TCACHE_MAX)
        tcache_flush();
}
static void c_dfree_20k(void) { dfree_large(20 * KiB); }
static void c_dfree_100k(void) { dfree_large(100 * KiB); }
static void c_dfree_4m(void) { dfree_large(4 * MiB); }

/* Large double free after its neighbours were freed too: the free extent
 * coalesced around p, whose page is now inside it (pagemap entry 0). */
static void c_dfree_100k_neighbours(void)
{
    void *a = xmalloc(100 * KiB), *p = xmalloc(100 * KiB), *b = xmalloc(100 * KiB);
    expect_ptr(p);
    M(free)(a);
    M(free)(p);
    M(free)(b);
    bad_free(p);
}

static void interior_large(size_t size, size_t off)
{
    char *p = xmalloc(size);
    expect_ptr(p + off);
    bad_free(p + off);
    if (size <= TCACHE_MAX)
        tcache_flush();
}
static void c_interior_20k_16(void) { interior_large(20 * KiB, 16); }
static void c_interior_100k_16(void) { interior_large(100 * KiB, 16); }
static void c_interior_100k_page(void) { interior_large(100 * KiB, 8 * KiB); }
static void c_interior_4m_page(void) { interior_large(4 * MiB, 2 * MiB); }

/* ---- pointers Mosaic never handed out */

static char static_array[4096] __attribute__((aligned(64)));

static void c_foreign_stack(void)
{
    volatile char local[64];
    local[0] = 1;
    expect_ptr((void *)local);
    bad_free((void *)local);
}

static void c_foreign_static(void)
{
    expect_ptr(static_array + 64);
    bad_free(static_array + 64);
}

static void c_foreign_mmap(void)
{
    void *p = mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SETUP(p != MAP_FAILED, "mmap");
    expect_ptr(p);
    bad_free(p);
}

static void c_foreign_stack_nocache(void)
{
    tcache_off();
    c_foreign_stack();
}

/* ---- the other entry points on freed blocks */

static void c_realloc_freed_100k(void)
{
    void *p = xmalloc(100 * KiB);
    expect_ptr(p);
    M(free)(p);
    void *q = M(realloc)(launder(p), 200 * KiB);
    (void)q;
}

static void c_realloc_freed_4m(void)
{
    void *p = xmalloc(4 * MiB);
    expect_ptr(p);
    M(free)(p);
    void *q = M(realloc)(launder(p), 1 * MiB);
    (void)q;
}

static void c_realloc_freed_20k(void)
{
    void *p = xmalloc(20 * KiB);
    expect_ptr(p);
    M(free)(p);
    tcache_flush();
    void *q = M(realloc)(launder(p), 30 * KiB);
    (void)q;
}

static void c_realloc_foreign(void)
{
    expect_ptr(static_array);
    void *q = M(realloc)(launder(static_array), 100);
    (void)q;
}

static void c_rallocx_freed_100k(void)
{
    void *p = xmalloc(100 * KiB);
    expect_ptr(p);
    M(free)(p);
    void *q = M(rallocx)(launder(p), 200 * KiB, 0);
    (void)q;
}

static void c_xallocx_freed_100k(void)
{
    void *p = xmalloc(100 * KiB);
    expect_ptr(p);
    M(free)(p);
    size_t n = M(xallocx)(launder(p), 200 * KiB, 0, 0);
    (void)n;
}

static void c_dallocx_freed_100k(void)
{
    void *p = xmalloc(100 * KiB);
    expect_ptr(p);
    M(dallocx)(p, 0);
    M(dallocx)(launder(p), 0);
}

static void c_sdallocx_freed_100k(void)
{
    void *p = xmalloc(100 * KiB);
    expect_ptr(p);
    M(sdallocx)(p, 100 * KiB, 0);
    M(sdallocx)(launder(p), 100 * KiB, 0);
}

/* realloc of a freed small block to another size class: the block is
 * freed again when realloc moves it, through the cache. */
static void c_realloc_freed_small(void)
{
    void *p = xmalloc(32);
    fill_xfer(32);
    expect_ptr(p);
    M(free)(p);
    tcache_flush();
    void *q = M(realloc)(launder(p), 200);
    (void)q;
    tcache_flush();
}

/* realloc of a freed small block within its size class: realloc returns
 * it as it is. */
static void c_realloc_freed_32_same(void)
{
    void *p = xmalloc(32);
    fill_xfer(32);
    expect_ptr(p);
    M(free)(p);
    tcache_flush();
    void *q = M(realloc)(launder(p), 24);
    (void)q;
    tcache_flush();
}

/* ------------------------------------------------------------------ the table */

struct bcase {
    const char *name;
    void (*fn)(void);
    const char *api;     /* "free": the message must contain "free()" */
    int foreign;         /* message must say "not allocated by Mosaic" */
    int enabled;         /* 1: always; 0: only detected with tcache:false */
    const char *what;
};

static const struct bcase cases[] = {
    /* 1. small double free, thread cache off: immediate */
    {"dfree-32-nocache", c_dfree_32_nocache, "free", 0, 1, "free(p) twice, 32 B, tcache off"},
    {"dfree-1000-nocache", c_dfree_1000_nocache, "free", 0, 1, "free(p) twice, 1000 B, tcache off"},
    {"dallocx-nocache-small", c_dallocx_nocache_small, "free", 0, 1,
     "dallocx(p, MALLOCX_TCACHE_NONE) twice, 48 B"},
    /* 2. small double free through the thread cache, at the flush */
    /* Cache on: the flush puts both copies on the bin's transfer stack,
     * which checks nothing (detected if the stack is drained first, as in
     * dfree-32-trim). Cache off: the second free is checked at once. */
    {"dfree-32-flush", c_dfree_32_flush, "free", 0, 0, "free(p) twice, 32 B, then tcache flush"},
    {"dfree-1000-flush", c_dfree_1000_flush, "free", 0, 0, "free(p) twice, 1000 B, then tcache flush"},
    {"dfree-32-trim", c_dfree_32_trim, "free", 0, 1, "free(p) twice, 32 B, flush, malloc_trim"},
    /* Cache on: the first copy waits on the transfer stack with its bitmap
     * bit clear, so the second one, flushed to the bitmap, passes. */
    {"dfree-32-xfer-bitmap", c_dfree_32_xfer_bitmap, "free", 0, 0,
     "free(p), flush (to the transfer stack), fill the stack, free(p), flush (to the bitmap)"},
    {"dfree-32-bitmap", c_dfree_32_bitmap, "free", 0, 1,
     "free(p) twice, 32 B, transfer stack full, flush"},
    {"dfree-1000-bitmap", c_dfree_1000_bitmap, "free", 0, 1,
     "free(p) twice, 1000 B, transfer stack full, flush"},
    {"dfree-32-run", c_dfree_32_run, "free", 0, 1,
     "64 blocks of 32 B freed in address order, block 10 again after block 20"},
    {"dfree-32-run-adjacent", c_dfree_32_run_adjacent, "free", 0, 1,
     "64 blocks of 32 B freed in address order, block 30 twice in a row"},
    {"dfree-32-run-earlier", c_dfree_32_run_earlier, "free", 0, 1,
     "block 10 freed and flushed, then 64 blocks of 32 B freed in address order"},
    {"dfree-1000-run", c_dfree_1000_run, "free", 0, 1,
     "32 blocks of 1000 B freed in address order, block 5 again after block 12"},
    {"dfree-32-otherslab", c_dfree_32_otherslab, "free", 0, 1,
     "a far 32 B block freed, then again amid a run of another slab, one flush"},
    {"dfree-32-otherslab-earlier", c_dfree_32_otherslab_earlier, "free", 0, 1,
     "a far 32 B block freed and flushed, then again amid a run of another slab"},
    {"dfree-1000-otherslab", c_dfree_1000_otherslab, "free", 0, 1,
     "a far 1000 B block freed and flushed, then again amid a run of another slab"},
    {"dfree-32-remote", c_dfree_32_remote, "free", 0, 1,
     "free(p) twice, 32 B, after moving to another arena, owner's transfer stack full, flush"},
    {"remote-destroyed", c_remote_destroyed, "free", 0, 1,
     "64 B of an explicit arena on another thread's remote stack, arena destroyed and re-created, flush"},
    /* Cache on: flushed home onto the owner's transfer stack, unchecked. */
    {"dfree-32-remote-flush", c_dfree_32_remote_flush, "free", 0, 0,
     "free(p) twice, 32 B, after moving to another arena, flush"},
    /* 3. interior pointer of a small block */
    {"interior-64-nocache", c_interior_64_nocache, "free", 0, 1, "free(p + 16), 64 B, tcache off"},
    /* Cache on: the interior pointer goes onto the transfer stack unchecked. */
    {"interior-64-flush", c_interior_64_flush, "free", 0, 0, "free(p + 16), 64 B, then tcache flush"},
    {"interior-64-bitmap", c_interior_64_bitmap, "free", 0, 1,
     "free(p + 16) of a 64 B block amid a run of its slab, transfer stack full"},
    {"interior-64-first", c_interior_64_first, "free", 0, 1,
     "free(p + 16) of a 64 B block first in a flush to the bitmaps"},
    {"tail-80-run", c_tail_80_run, "free", 0, 1,
     "free(one region past a slab's last), 80 B, after that slab's last blocks"},
    /* 4. large double free */
    {"dfree-20k", c_dfree_20k, "free", 0, 1, "free(p) twice, 20 KiB (thread-cached class), flush"},
    {"dfree-100k", c_dfree_100k, "free", 0, 1, "free(p) twice, 100 KiB"},
    {"dfree-4m", c_dfree_4m, "free", 0, 1, "free(p) twice, 4 MiB"},
    {"dfree-100k-neighbours", c_dfree_100k_neighbours, "free", 0, 1,
     "free(p) twice, 100 KiB, its free neighbours coalesced with it"},
    {"dallocx-100k", c_dallocx_freed_100k, "free", 0, 1, "dallocx(p, 0) twice, 100 KiB"},
    {"sdallocx-100k", c_sdallocx_freed_100k, "free", 0, 1, "sdallocx(p, 100 KiB, 0) twice"},
    /* 5. interior pointer of a large block */
    {"interior-20k-16", c_interior_20k_16, "free", 0, 1, "free(p + 16), 20 KiB, flush"},
    {"interior-100k-16", c_interior_100k_16, "free", 0, 1, "free(p + 16), 100 KiB"},
    {"interior-100k-page", c_interior_100k_page, "free", 0, 1, "free(p + 8 KiB), 100 KiB"},
    {"interior-4m-page", c_interior_4m_page, "free", 0, 1, "free(p + 2 MiB), 4 MiB"},
    /* 6. pointers Mosaic never handed out */
    {"foreign-stack", c_foreign_stack, "free", 1, 1, "free(&local)"},
    {"foreign-stack-nocache", c_foreign_stack_nocache, "free", 1, 1, "free(&local), tcache off"},
    {"foreign-static", c_foreign_static, "free", 1, 1, "free(static_array + 64)"},
    {"foreign-mmap", c_foreign_mmap, "free", 1, 1, "free(mmap(64 KiB))"},
    {"realloc-foreign", c_realloc_foreign, "realloc", 1, 1, "realloc(static_array, 100)"},
    /* 7. realloc and friends on a freed block */
    {"realloc-freed-100k", c_realloc_freed_100k, "realloc", 0, 1, "realloc(freed 100 KiB, 200 KiB)"},
    {"realloc-freed-4m", c_realloc_freed_4m, "realloc", 0, 1, "realloc(freed 4 MiB, 1 MiB)"},
    {"realloc-freed-20k", c_realloc_freed_20k, "realloc", 0, 1,
     "realloc(freed and flushed 20 KiB, 30 KiB)"},
    {"rallocx-freed-100k", c_rallocx_freed_100k, "rallocx", 0, 1, "rallocx(freed 100 KiB, 200 KiB)"},
    {"xallocx-freed-100k", c_xallocx_freed_100k, "xallocx", 0, 1, "xallocx(freed 100 KiB, 200 KiB)"},
    /* realloc moves the freed block and frees it again (through the cache,
     * so the message says free()): detected at the flush; or by realloc
     * itself when the block's slab went back to the page allocator (as
     * with tcache:false). */
    {"realloc-freed-32", c_realloc_freed_small, "free|realloc", 0, 1,
     "realloc(freed and flushed 32 B, 200), transfer stack full, flush"},
    /* Cache on: realloc within the same class returns the block unchanged
     * (it checks only that its page is a slab of some class); cache off, the
     * block's slab went back to the page allocator when it emptied, and
     * realloc sees a free page. */
    {"realloc-freed-32-same", c_realloc_freed_32_same, "realloc", 0, 0,
     "realloc(freed and flushed 32 B, 24)"},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ------------------------------------------------------------------ parent side */

#define OUT_MAX 16384
#define CHILD_TIMEOUT_S 30

/* Runs c in a child; its stderr (and stdout) go to out. Returns the wait
 * status, or -1 on timeout. */
static int run_case(const struct bcase *c, char *out, size_t *outn)
{
    int fd[2];
    if (pipe(fd) != 0)
        FATAL("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        FATAL("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[1]);
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        c->fn();
        say("badfree: still alive: not detected\n");
        _exit(0);
    }
    close(fd[1]);
    *outn = 0;
    double t0 = t_now();
    int timed_out = 0;
    for (;;) {
        double left = CHILD_TIMEOUT_S - (t_now() - t0);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pf = {fd[0], POLLIN, 0};
        int r = poll(&pf, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char tmp[4096];
        ssize_t n = read(fd[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF: the child is gone */
        size_t k = (size_t)n;
        if (k > OUT_MAX - 1 - *outn)
            k = OUT_MAX - 1 - *outn;
        memcpy(out + *outn, tmp, k);
        *outn += k;
    }
    out[*outn] = '\0';
    close(fd[0]);
    int st;
    if (timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            FATAL("waitpid: %s", strerror(errno));
    return timed_out ? -1 : st;
}

static int is_ptr_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
           ch == 'x';
}

/* Does line [s, e) contain needle as a whole pointer (not a prefix of a
 * longer hex number)? */
static int line_has_ptr(const char *s, const char *e, const char *ptr)
{
    size_t n = strlen(ptr);
    for (const char *q = s; q + n <= e; q++) {
        if (memcmp(q, ptr, n) != 0)
            continue;
        if ((q == s || !is_ptr_char(q[-1])) && (q + n == e || !is_ptr_char(q[n])))
            return 1;
    }
    return 0;
}

static int line_has(const char *s, const char *e, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *q = s; q + n <= e; q++)
        if (memcmp(q, needle, n) == 0)
            return 1;
    return 0;
}

/* Does line [s, e) contain "NAME()" for one of the |-separated names? */
static int line_has_api(const char *s, const char *e, const char *names)
{
    for (const char *n = names; *n;) {
        size_t k = strcspn(n, "|");
        char want[40];
        if (k + 3 <= sizeof want) {
            memcpy(want, n, k);
            memcpy(want + k, "()", 3);
            if (line_has(s, e, want))
                return 1;
        }
        n += k + (n[k] == '|');
    }
    return 0;
}

/* Checks one case's outcome; fills why and returns 0 on failure. */
static int judge(const struct bcase *c, int st, const char *out, char *why, size_t whyn,
                 char *msg, size_t msgn)
{
    msg[0] = '\0';
    if (st == -1) {
        snprintf(why, whyn, "timed out after %d s (hang or deadlock?)", CHILD_TIMEOUT_S);
        return 0;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == SETUP_EXIT) {
        snprintf(why, whyn, "the child's setup failed");
        return 0;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        snprintf(why, whyn, "not detected: the child survived and exited 0");
        return 0;
    }
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT) {
        char d[128];
        t_describe_status(st, d, sizeof d);
        snprintf(why, whyn, "expected SIGABRT, got %s", d);
        return 0;
    }
    /* the announced pointer */
    char ptr[64] = "";
    const char *a = strstr(out, "badfree: pointer ");
    if (a) {
        a += strlen("badfree: pointer ");
        size_t n = strcspn(a, "\n");
        if (n < sizeof ptr) {
            memcpy(ptr, a, n);
            ptr[n] = '\0';
        }
    }
    if (!ptr[0]) {
        snprintf(why, whyn, "aborted before announcing its pointer");
        return 0;
    }
    /* c->api: "free", or alternatives "free|realloc" */
    char api[64];
    snprintf(api, sizeof api, "%s", c->api);
    int nlines = 0;
    const char *bad = NULL;
    for (const char *s = out; *s;) {
        const char *e = s + strcspn(s, "\n");
        if (strncmp(s, "<mosaic>: ", 10) == 0) {
            nlines++;
            size_t n = (size_t)(e - s) < msgn - 1 ? (size_t)(e - s) : msgn - 1;
            memcpy(msg, s, n);
            msg[n] = '\0';
            if (!line_has_ptr(s, e, ptr))
                bad = "does not name the pointer";
            else if (!line_has_api(s, e, api))
                bad = "does not name the API";
            else if (!line_has(s, e, "invalid pointer"))
                bad = "does not say \"invalid pointer\"";
            else if (c->foreign && !line_has(s, e, "not allocated by Mosaic"))
                bad = "does not say \"not allocated by Mosaic\"";
        }
        s = *e ? e + 1 : e;
    }
    if (nlines != 1) {
        snprintf(why, whyn, "SIGABRT with %d \"<mosaic>: \" lines on stderr (expected 1)",
                 nlines);
        return 0;
    }
    if (bad) {
        snprintf(why, whyn, "message %s (%s, %s): %s", bad, ptr, api, msg);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    t_name = argv[0];
    const char *slash = strrchr(t_name, '/');
    if (slash)
        t_name = slash + 1;
    int all = 0, list = 0, nsel = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--list") == 0)
            list = 1;
        else
            nsel++;
    }
    if (list) {
        for (size_t i = 0; i < NCASES; i++)
            printf("%s%s\t%s\n", cases[i].name, cases[i].enabled ? "" : " (tcache:false only)",
                   cases[i].what);
        return 0;
    }
    t_check_allocator();
    static char out[OUT_MAX];
    int run = 0, disabled = 0;
    bool tcache_on = true;
    size_t bsz = sizeof tcache_on;
    if (M(mallctl)("opt.tcache", &tcache_on, &bsz, NULL, 0) != 0) {
        printf("%s: FAIL mallctl(\"opt.tcache\") failed\n", t_name);
        return 1;
    }
    for (size_t i = 0; i < NCASES; i++) {
        const struct bcase *c = &cases[i];
        if (nsel) {
            int hit = 0;
            for (int j = 1; j < argc; j++)
                if (argv[j][0] != '-' && strstr(c->name, argv[j]))
                    hit = 1;
            if (!hit)
                continue;
        }
        if (!c->enabled && tcache_on && !all) {
            printf("%s: NOT RUN %s: %s (detected only with tcache:false, see "
                   "tests/badfree.c; --all runs it)\n", t_name, c->name, c->what);
            disabled++;
            continue;
        }
        size_t outn;
        double t0 = t_now();
        int st = run_case(c, out, &outn);
        char why[1024], msg[512];
        run++;
        if (judge(c, st, out, why, sizeof why, msg, sizeof msg)) {
            printf("%s: PASS %s (%.2fs): %s\n", t_name, c->name, t_now() - t0, msg);
        } else {
            atomic_fetch_add(&t_failures, 1);
            printf("%s: FAIL %s: %s: %s\n", t_name, c->name, c->what, why);
            printf("    child output:\n");
            for (const char *s = out; *s;) {
                size_t n = strcspn(s, "\n");
                printf("      %.*s\n", (int)n, s);
                s += n + (s[n] != '\0');
            }
        }
        fflush(stdout);
    }
    printf("%s: %d cases run, %d not run (need tcache:false)\n", t_name, run, disabled);
    if (run == 0 && nsel) {
        printf("%s: no case selected\n", t_name);
        return 1;
    }
    return t_finish();
}
