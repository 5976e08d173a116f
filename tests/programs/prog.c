/* A small C program that tests/programs.sh compiles with gcc and runs, on
 * the system allocator and on Mosaic: the output must be identical. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    unsigned long v;
    char name[24];
};

static int cmp(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    /* sieve */
    size_t n = 2000000;
    char *comp = calloc(n + 1, 1);
    if (!comp)
        return 1;
    unsigned long count = 0, sum = 0;
    for (size_t i = 2; i <= n; i++) {
        if (comp[i])
            continue;
        count++;
        sum += i;
        for (size_t j = i * i; j <= n; j += i)
            comp[j] = 1;
    }
    printf("primes below %zu: %lu, sum %lu\n", n, count, sum);
    free(comp);
    /* linked list of many small nodes */
    struct node *head = NULL;
    unsigned long x = 88172645463325252ul;
    for (int i = 0; i < 300000; i++) {
        struct node *nd = malloc(sizeof *nd);
        if (!nd)
            return 1;
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        nd->v = x % 1000003;
        snprintf(nd->name, sizeof nd->name, "n%lu", nd->v);
        nd->next = head;
        head = nd;
    }
    unsigned long *arr = NULL;
    size_t len = 0, cap = 0;
    for (struct node *p = head; p; p = p->next) {
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            arr = realloc(arr, cap * sizeof *arr);
            if (!arr)
                return 1;
        }
        arr[len++] = p->v + strlen(p->name);
    }
    qsort(arr, len, sizeof *arr, cmp);
    printf("nodes %zu, min %lu, median %lu, max %lu\n", len, arr[0], arr[len / 2], arr[len - 1]);
    while (head) {
        struct node *nx = head->next;
        free(head);
        head = nx;
    }
    free(arr);
    return 0;
}
