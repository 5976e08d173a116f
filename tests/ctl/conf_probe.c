/*
 * conf_probe.c -- prints every option as mallctl reports it ("opt.NAME=VALUE"
 * lines) and arenas.narenas; conf.sh runs it under different MOSAIC_CONF
 * strings. Built twice: conf_probe, and conf_probe_str, which defines the
 * program's own mosaic_conf string (-DPROBE_MOSAIC_CONF="...").
 */
#include "mosaic.h"
#include "conf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#ifdef PROBE_MOSAIC_CONF
const char *mosaic_conf = PROBE_MOSAIC_CONF;
#endif

int main(void) {
    char name[64];
#define PRINT(oname, type, kind, def, min, max, choices, doc)                                      \
    do {                                                                                           \
        snprintf(name, sizeof(name), "opt.%s", #oname);                                            \
        union {                                                                                    \
            bool b;                                                                                \
            unsigned u;                                                                            \
            size_t z;                                                                              \
            ssize_t s;                                                                             \
            const char *str;                                                                       \
        } v;                                                                                       \
        bool is_str = kind == CONF_CHOICE || !strcmp(#oname, "junk");                             \
        size_t sz = is_str ? sizeof(v.str) : sizeof(type);                                        \
        if (mallctl(name, &v, &sz, NULL, 0) != 0) {                                                \
            printf("%s=ERROR\n", name);                                                            \
        } else if (is_str) {                                                                       \
            printf("%s=%s\n", name, v.str);                                                        \
        } else if (kind == CONF_BOOL) {                                                            \
            printf("%s=%s\n", name, v.b ? "true" : "false");                                       \
        } else if (kind == CONF_UNSIGNED) {                                                        \
            printf("%s=%u\n", name, v.u);                                                          \
        } else if (kind == CONF_SIZE) {                                                            \
            printf("%s=%zu\n", name, v.z);                                                         \
        } else {                                                                                   \
            printf("%s=%zd\n", name, v.s);                                                         \
        }                                                                                          \
    } while (0);
    CONF_OPTIONS(PRINT)
#undef PRINT
    unsigned n;
    size_t sz = sizeof(n);
    if (mallctl("arenas.narenas", &n, &sz, NULL, 0) == 0) printf("arenas.narenas=%u\n", n);
    bool tc;
    sz = sizeof(tc);
    if (mallctl("thread.tcache.enabled", &tc, &sz, NULL, 0) == 0)
        printf("thread.tcache.enabled=%s\n", tc ? "true" : "false");
    size_t tmax;
    sz = sizeof(tmax);
    if (mallctl("arenas.tcache_max", &tmax, &sz, NULL, 0) == 0) printf("arenas.tcache_max=%zu\n", tmax);
    return 0;
}
