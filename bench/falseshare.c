/*
 * falseshare -- allocator-induced false sharing (after Hoard's
 * "cache-scratch" benchmark).
 *
 * The main thread allocates one small object per worker, back to back, so
 * the objects share cache lines, and hands object i to worker i.  Each worker
 * writes its handed object for a while, frees it, and then, for `rounds`
 * rounds, allocates an object of the same size, writes it `writes` times in a
 * tight loop, and frees it.
 *
 * An allocator that hands a freed object straight back to the thread that
 * freed it lets every worker reuse its handed object -- which sits on a
 * cache line next to other workers' objects -- so all workers keep writing
 * to the same few lines and every write misses.  An allocator that returns
 * the object to its owner and serves each thread from its own memory does
 * not: each worker then writes a line no one else touches.
 *
 * Besides the speed, which needs the workers to really run in parallel, the
 * program reports how many workers' objects shared a 64-byte cache line with
 * another worker's object, in the first and in the last round: a direct view
 * of the allocator's placement, even on a machine too busy to show the cost.
 *
 * Work metric: object writes per second (M writes/s).
 * Checksum: total writes, identical under every allocator.
 */
#include "common.h"

#include <getopt.h>
#include <pthread.h>

typedef struct {
    int id;
    volatile unsigned char *handed;
    size_t size;
    long rounds, writes;
    uint64_t done, errors;
    uintptr_t first, last; /* where the first and last rounds' objects were */
} worker_t;

static pthread_barrier_t start_line;

static uint64_t hammer(volatile unsigned char *p, size_t size, long writes) {
    for (long w = 0; w < writes; w++)
        for (size_t j = 0; j < size; j++)
            p[j] = (unsigned char)(p[j] + 1);
    return (uint64_t)writes;
}

static void *work(void *arg) {
    worker_t *w = arg;
    uint64_t done = 0, errors = 0;
    pthread_barrier_wait(&start_line);
    memset((void *)w->handed, 0, w->size);
    done += hammer(w->handed, w->size, w->writes);
    if (w->handed[0] != (unsigned char)w->writes)
        errors++;
    free((void *)w->handed);
    for (long r = 0; r < w->rounds; r++) {
        volatile unsigned char *p = xmalloc(w->size);
        if (r == 0)
            w->first = (uintptr_t)p;
        w->last = (uintptr_t)p;
        p[0] = 0;
        done += hammer(p, w->size, w->writes);
        if (p[0] != (unsigned char)w->writes)
            errors++;
        free((void *)p);
    }
    w->done = done;
    w->errors = errors;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: falseshare [-t threads] [-o object size] [-r rounds] "
                    "[-w writes per round]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = default_threads(), c;
    size_t size = 8;
    long rounds = 1000, writes = 20000;
    while ((c = getopt(argc, argv, "t:o:r:w:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_count(optarg); break;
        case 'o': size = parse_size(optarg); break;
        case 'r': rounds = (long)parse_count(optarg); break;
        case 'w': writes = (long)parse_count(optarg); break;
        default: usage();
        }
    }
    if (threads < 1 || size < 1 || rounds < 0 || writes < 1)
        usage();
    worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
    pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
    pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
    /* Allocated back to back by one thread: neighbours on cache lines. */
    for (int t = 0; t < threads; t++)
        ws[t] = (worker_t){.id = t, .handed = xmalloc(size), .size = size,
                           .rounds = rounds, .writes = writes};
    for (int t = 0; t < threads; t++)
        if (pthread_create(&tids[t], NULL, work, &ws[t]))
            die("pthread_create");
    double t0 = now_sec();
    pthread_barrier_wait(&start_line);
    uint64_t done = 0, errors = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        done += ws[t].done;
        errors += ws[t].errors;
    }
    double secs = now_sec() - t0;
    pthread_barrier_destroy(&start_line);
    /* How many workers wrote an object on a line another worker also wrote. */
    int shared_first = 0, shared_last = 0;
    for (int t = 0; t < threads; t++) {
        int sf = 0, sl = 0;
        for (int u = 0; u < threads; u++) {
            if (u == t)
                continue;
            if (ws[t].first / 64 == ws[u].first / 64 ||
                (ws[t].first + size - 1) / 64 == (ws[u].first + size - 1) / 64)
                sf = 1;
            if (ws[t].last / 64 == ws[u].last / 64 ||
                (ws[t].last + size - 1) / 64 == (ws[u].last + size - 1) / 64)
                sl = 1;
        }
        shared_first += sf;
        shared_last += sl;
    }
    printf("falseshare: %d threads, %zu-byte objects, %ld rounds x %ld writes: "
           "%.3f s = %.1f M writes/s; workers sharing a cache line with another: "
           "%d of %d in the first round, %d in the last\n",
           threads, size, rounds, writes, secs, (double)done / secs / 1e6,
           shared_first, threads, shared_last);
    report("falseshare", secs, errors, done,
           "threads=%d writes=%llu shared_first=%d shared_last=%d metric=%.2f "
           "unit=Mwrites/s", threads, (unsigned long long)done, shared_first,
           shared_last, (double)done / secs / 1e6);
    free(ws);
    free(tids);
    return errors ? 1 : 0;
}
