#include "conf.h"
#include "fmt.h"
#include "os.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

conf_opts_t opt = {
#define CONF_DEFAULT(name, type, kind, def, min, max, choices, doc) .name = (type)(def),
    CONF_OPTIONS(CONF_DEFAULT)
#undef CONF_DEFAULT
};

const conf_desc_t conf_table[] = {
#define CONF_DESC(name, type, kind, def, min, max, choices, doc)                                  \
    {#name, kind, offsetof(conf_opts_t, name), (long long)(def), (long long)(min), (long long)(max), \
     choices, doc},
    CONF_OPTIONS(CONF_DESC)
#undef CONF_DESC
};
const unsigned conf_count = sizeof(conf_table) / sizeof(conf_table[0]);

/* The program may define `const char *mosaic_conf = "...";`. */
extern const char *mosaic_conf __attribute__((weak));

static void conf_store(const conf_desc_t *d, long long v) {
    char *p = (char *)&opt + d->offset;
    switch (d->kind) {
    case CONF_BOOL: *(bool *)p = v != 0; break;
    case CONF_UNSIGNED:
    case CONF_CHOICE: *(unsigned *)p = (unsigned)v; break;
    case CONF_SIZE: *(size_t *)p = (size_t)v; break;
    case CONF_SSIZE: *(ssize_t *)p = (ssize_t)v; break;
    }
}

static long long conf_load(const conf_desc_t *d) {
    const char *p = (const char *)&opt + d->offset;
    switch (d->kind) {
    case CONF_BOOL: return *(const bool *)p;
    case CONF_UNSIGNED:
    case CONF_CHOICE: return *(const unsigned *)p;
    case CONF_SIZE: return (long long)*(const size_t *)p;
    case CONF_SSIZE: return *(const ssize_t *)p;
    }
    return 0;
}

/* Finds `word` (len bytes) in the '|'-separated list; returns its index or -1. */
static long long conf_choice(const char *choices, const char *word, size_t len) {
    long long i = 0;
    const char *c = choices;
    while (*c) {
        const char *e = strchr(c, '|');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == len && memcmp(c, word, len) == 0) return i;
        if (!e) break;
        c = e + 1;
        i++;
    }
    return -1;
}

static bool conf_value(const conf_desc_t *d, const char *v, size_t len, long long *out) {
    char tmp[64];
    if (len == 0 || len >= sizeof(tmp)) return false;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    if (d->kind == CONF_BOOL) {
        if (!strcmp(tmp, "true") || !strcmp(tmp, "1")) *out = 1;
        else if (!strcmp(tmp, "false") || !strcmp(tmp, "0")) *out = 0;
        else return false;
        return true;
    }
    if (d->kind == CONF_CHOICE) {
        *out = conf_choice(d->choices, tmp, len);
        return *out >= 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 0);
    if (errno || *end != '\0' || end == tmp) return false;
    if (x < d->min || x > d->max) return false;
    *out = x;
    return true;
}

unsigned conf_parse(const char *s, const char *source) {
    unsigned errors = 0;
    while (s && *s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *colon = memchr(s, ':', n);
        if (n == 0) {
            /* empty item (",,"): ignored */
        } else if (!colon) {
            fmt_error("%s: malformed item '%.*s' (expected key:value)", source, (int)n, s);
            errors++;
        } else {
            size_t klen = (size_t)(colon - s);
            const conf_desc_t *d = NULL;
            for (unsigned i = 0; i < conf_count; i++)
                if (strlen(conf_table[i].name) == klen && !memcmp(conf_table[i].name, s, klen))
                    d = &conf_table[i];
            long long v;
            if (!d) {
                char key[64];
                fmt_snprintf(key, sizeof(key), "%s", s);
                key[klen < sizeof(key) ? klen : sizeof(key) - 1] = '\0';
                fmt_error("%s: unknown option '%s' (ignored)", source, key);
                errors++;
            } else if (!conf_value(d, colon + 1, n - klen - 1, &v)) {
                char val[64];
                size_t vlen = n - klen - 1;
                if (vlen >= sizeof(val)) vlen = sizeof(val) - 1;
                memcpy(val, colon + 1, vlen);
                val[vlen] = '\0';
                fmt_error("%s: invalid value '%s' for option '%s' (previous value kept)", source, val,
                          d->name);
                errors++;
            } else {
                conf_store(d, v);
            }
        }
        s = comma ? comma + 1 : NULL;
    }
    return errors;
}

unsigned conf_init(void) {
    unsigned errors = 0;
    if (&mosaic_conf != NULL && mosaic_conf != NULL) errors += conf_parse(mosaic_conf, "mosaic_conf");
    const char *env = os_getenv("MOSAIC_CONF");
    if (env) errors += conf_parse(env, "MOSAIC_CONF");
    if (errors && opt.abort_conf) fmt_fatal("aborting on configuration errors (abort_conf:true)");
    return errors;
}

const char *conf_value_text(unsigned i, char *buf, size_t size) {
    const conf_desc_t *d = &conf_table[i];
    long long v = conf_load(d);
    if (d->kind == CONF_BOOL) {
        fmt_snprintf(buf, size, "%s", v ? "true" : "false");
    } else if (d->kind == CONF_CHOICE) {
        const char *c = d->choices;
        for (long long k = 0; k < v && c; k++) {
            c = strchr(c, '|');
            if (c) c++;
        }
        size_t n = c ? strcspn(c, "|") : 0;
        if (n >= size) n = size - 1;
        if (c) memcpy(buf, c, n);
        buf[n] = '\0';
    } else {
        fmt_snprintf(buf, size, "%lld", v);
    }
    return buf;
}
