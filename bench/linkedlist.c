/*
 * linkedlist -- build, walk, edit and destroy long lists of small nodes.
 *
 * Per iteration, each thread:
 *   1. builds a list of `nodes` nodes by appending (one malloc each);
 *   2. walks it, summing the keys;
 *   3. edits it: unlinks and frees every third node, and inserts a new,
 *      larger node after every fifth -- so node addresses interleave the way
 *      a long-lived list's do;
 *   4. walks it again, then frees it from head to tail.
 * Walk time is part of the measurement: where the allocator places nodes
 * decides how cache-friendly the walks are.
 *
 * Work metric: nodes allocated (malloc+free pairs) per second.
 * Checksum: sum of keys seen in all walks, identical under every allocator.
 */
#include "common.h"

#include <getopt.h>
#include <pthread.h>

typedef struct node {
    struct node *next;
    uint64_t key;
    uint64_t payload[2]; /* 32-byte node */
} node_t;

typedef struct big_node {
    node_t n;
    uint64_t extra[4]; /* 64-byte node, inserted in the edit phase */
} big_node_t;

typedef struct {
    long nodes, iters;
    uint64_t allocs, sum, errors;
} worker_t;

static uint64_t walk(const node_t *n, uint64_t *count) {
    uint64_t s = 0, c = 0;
    for (; n; n = n->next, c++)
        s += n->key ^ n->payload[1];
    *count = c;
    return s;
}

static void *work(void *arg) {
    worker_t *w = arg;
    uint64_t allocs = 0, sum = 0, errors = 0;
    for (long it = 0; it < w->iters; it++) {
        node_t *head = NULL, **tail = &head;
        for (long i = 0; i < w->nodes; i++) {
            node_t *n = xmalloc(sizeof *n);
            n->key = (uint64_t)i;
            n->payload[0] = 0;
            n->payload[1] = (uint64_t)i * 7;
            n->next = NULL;
            *tail = n;
            tail = &n->next;
        }
        allocs += (uint64_t)w->nodes;
        uint64_t cnt;
        sum += walk(head, &cnt);
        if (cnt != (uint64_t)w->nodes)
            errors++;

        /* Edit: drop every third node, insert a big node after every fifth. */
        long pos = 0, expect = 0;
        for (node_t **pp = &head; *pp;) {
            node_t *n = *pp;
            if (pos % 3 == 2) {
                *pp = n->next;
                free(n);
            } else {
                expect++;
                if (pos % 5 == 4) {
                    big_node_t *b = xmalloc(sizeof *b);
                    b->n.key = (uint64_t)pos << 1;
                    b->n.payload[0] = 1;
                    b->n.payload[1] = 3;
                    b->extra[3] = (uint64_t)pos;
                    b->n.next = n->next;
                    n->next = &b->n;
                    allocs++;
                    expect++;
                    pp = &b->n.next;
                } else {
                    pp = &n->next;
                }
            }
            pos++;
        }
        sum += walk(head, &cnt);
        if (cnt != (uint64_t)expect)
            errors++;
        while (head) {
            node_t *next = head->next;
            free(head);
            head = next;
        }
    }
    w->allocs = allocs;
    w->sum = sum;
    w->errors = errors;
    return NULL;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: linkedlist [-t threads] [-n nodes] [-i iterations]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = 1, c;
    long nodes = 1000000, iters = 8;
    while ((c = getopt(argc, argv, "t:n:i:h")) != -1) {
        switch (c) {
        case 't': threads = (int)parse_count(optarg); break;
        case 'n': nodes = (long)parse_count(optarg); break;
        case 'i': iters = (long)parse_count(optarg); break;
        default: usage();
        }
    }
    if (threads < 1 || nodes < 1 || iters < 1)
        usage();
    worker_t *ws = xmalloc(sizeof *ws * (size_t)threads);
    pthread_t *tids = xmalloc(sizeof *tids * (size_t)threads);
    double t0 = now_sec();
    for (int t = 0; t < threads; t++) {
        ws[t] = (worker_t){.nodes = nodes, .iters = iters};
        if (pthread_create(&tids[t], NULL, work, &ws[t]))
            die("pthread_create");
    }
    uint64_t allocs = 0, sum = 0, errors = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        allocs += ws[t].allocs;
        sum += ws[t].sum;
        errors += ws[t].errors;
    }
    double secs = now_sec() - t0;
    printf("linkedlist: %d threads x %ld iterations of %ld nodes: %llu nodes "
           "in %.3f s = %.1f M nodes/s\n",
           threads, iters, nodes, (unsigned long long)allocs, secs,
           (double)allocs / secs / 1e6);
    report("linkedlist", secs, errors, sum, "threads=%d nodes=%llu metric=%.3f unit=Mnodes/s",
           threads, (unsigned long long)allocs, (double)allocs / secs / 1e6);
    free(ws);
    free(tids);
    return errors ? 1 : 0;
}
