/*
 * collatz -- threads compute Collatz sequences into heap-allocated linked
 * lists, walk them, then free them.
 *
 * Each thread takes every T-th starting number of [start, start+count).  For
 * each it builds the sequence n, n/2 or 3n+1, ..., 1 as a singly linked list
 * of 16-byte nodes (one malloc per step).  Lists are kept alive in batches of
 * `batch` sequences, then walked (summing the values) and freed in order.
 *
 * Work metric: list nodes (malloc+free pairs) per second.
 * Checksum: the total number of steps, identical under every allocator.
 */
#include "common.h"

#include <getopt.h>
#include <pthread.h>

typedef struct node {
    uint64_t value;
    struct node *next;
} node_t;

typedef struct {
    int id, nthreads;
    uint64_t start, count;
    int batch;
    uint64_t steps, sum, errors;
} worker_t;

static void *work(void *arg) {
    worker_t *w = arg;
    node_t **lists = xmalloc(sizeof(node_t *) * (size_t)w->batch);
    uint64_t steps = 0, sum = 0, errors = 0;
    uint64_t i = (uint64_t)w->id;
    while (i < w->count) {
        int nb = 0;
        for (; nb < w->batch && i < w->count; nb++, i += (uint64_t)w->nthreads) {
            uint64_t n = w->start + i;
            node_t *head = NULL, **tail = &head;
            for (;;) {
                node_t *nd = xmalloc(sizeof *nd);
                nd->value = n;
                nd->next = NULL;
                *tail = nd;
                tail = &nd->next;
                steps++;
                if (n == 1)
                    break;
                n = (n & 1) ? 3 * n + 1 : n / 2;
            }
            lists[nb] = head;
        }
        for (int b = 0; b < nb; b++) {
            node_t *nd = lists[b];
            /* The last value of every sequence must be 1. */
            while (nd) {
                node_t *next = nd->next;
                sum += nd->value;
                if (!next && nd->value != 1)
                    errors++;
                free(nd);
                nd = next;
            }
        }
    }
    free(lists);
    w->steps = steps;
    w->sum = sum;
    w->errors = errors;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr,
            "usage: collatz [-t threads] [-n numbers] [-s start] [-b batch]\n"
            "  builds the Collatz sequence of each number as a linked list\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = default_threads(), batch = 64, c;
    uint64_t count = 300000, start = 1;
    while ((c = getopt(argc, argv, "t:n:s:b:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_count(optarg); break;
        case 'n': count = (uint64_t)parse_count(optarg); break;
        case 's': start = (uint64_t)parse_count(optarg); break;
        case 'b': batch = (int)parse_count(optarg); break;
        default: usage();
        }
    }
    if (threads < 1 || batch < 1 || start < 1)
        usage();

    worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
    pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
    double t0 = now_sec();
    for (int t = 0; t < threads; t++) {
        ws[t] = (worker_t){.id = t, .nthreads = threads, .start = start,
                           .count = count, .batch = batch};
        if (pthread_create(&tids[t], NULL, work, &ws[t]))
            die("pthread_create");
    }
    uint64_t steps = 0, sum = 0, errors = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        steps += ws[t].steps;
        sum += ws[t].sum;
        errors += ws[t].errors;
    }
    double secs = now_sec() - t0;
    printf("collatz: %d threads, %llu numbers from %llu: %llu nodes in %.3f s "
           "= %.1f M nodes/s\n",
           threads, (unsigned long long)count, (unsigned long long)start,
           (unsigned long long)steps, secs, (double)steps / secs / 1e6);
    report("collatz", secs, errors, steps ^ (sum << 1),
           "threads=%d nodes=%llu metric=%.3f unit=Mnodes/s", threads,
           (unsigned long long)steps, (double)steps / secs / 1e6);
    free(ws);
    free(tids);
    return errors ? 1 : 0;
}
