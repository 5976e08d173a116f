/*
 * gen-reference.c -- prints the generated sections of docs/REFERENCE.md from
 * the tables the library itself is built from: conf.h's CONF_OPTIONS (the
 * options and their opt.* names), stats.h's STATS_CONFIG (config.*) and
 * ctl.h's CTL_NAMES (every other mallctl name). tools/gen-opt-docs compiles
 * and runs it and splices its output into the document, so the reference
 * cannot drift from the code.
 *
 * Usage: gen-reference options | mallctl
 */
#include "conf.h"
#include "ctl.h"
#include "stats.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name, *type_c, *choices, *doc;
    conf_kind_t kind;
    long long def, min, max;
} opt_row_t;

static const opt_row_t opts[] = {
#define OPT_ROW(name, type, kind, def, min, max, choices, doc)                                     \
    {#name, #type, choices, doc, kind, (long long)(def), (long long)(min), (long long)(max)},
    CONF_OPTIONS(OPT_ROW)
#undef OPT_ROW
};

typedef struct {
    const char *name;
    ctl_type_t type;
    const char *access, *doc;
} ctl_row_t;

static const ctl_row_t names[] = {
#define CTL_ROW(name, type, access, handler, arg, doc) {name, type, access, doc},
    CTL_NAMES(CTL_ROW)
#undef CTL_ROW
};

static bool as_string(const char *name) {
#define OPT_STR(n) if (!strcmp(name, #n)) return true;
    STATS_OPT_AS_STRING(OPT_STR)
#undef OPT_STR
    return false;
}

/* The mallctl type of an option, as jemalloc documents it. */
static const char *opt_ctl_type(const opt_row_t *o) {
    if (o->kind == CONF_CHOICE || as_string(o->name)) return "const char *";
    return o->type_c;
}

/* Prose for a Markdown table cell: no emphasis, no HTML tags. */
static void md(const char *s) {
    for (; *s; s++) {
        if (*s == '*' || *s == '_' || *s == '|') printf("\\%c", *s);
        else if (*s == '<') printf("&lt;");
        else if (*s == '>') printf("&gt;");
        else putchar(*s);
    }
}

static void choice_word(const char *choices, long long i, char *out, size_t n) {
    const char *c = choices;
    for (long long k = 0; k < i && c; k++) {
        c = strchr(c, '|');
        if (c) c++;
    }
    size_t len = c ? strcspn(c, "|") : 0;
    if (len >= n) len = n - 1;
    memcpy(out, c ? c : "", len);
    out[len] = '\0';
}

static void default_text(const opt_row_t *o, char *out, size_t n) {
    if (o->kind == CONF_BOOL) snprintf(out, n, "`%s`", o->def ? "true" : "false");
    else if (o->kind == CONF_CHOICE) {
        char w[64];
        choice_word(o->choices, o->def, w, sizeof(w));
        snprintf(out, n, "`%s`", w);
    } else snprintf(out, n, "%lld", o->def);
}

static void range_text(const opt_row_t *o, char *out, size_t n) {
    if (o->kind == CONF_BOOL) snprintf(out, n, "`true`/`false` (or 1/0)");
    else if (o->kind == CONF_CHOICE) {
        size_t k = 0;
        out[0] = '\0';
        for (const char *c = o->choices; *c && k + 4 < n; c++) {
            if (*c == '|') {
                k += (size_t)snprintf(out + k, n - k, "`, `");
            } else {
                if (k == 0) k += (size_t)snprintf(out, n, "`");
                out[k++] = *c;
                out[k] = '\0';
            }
        }
        snprintf(out + k, n - k, "`");
    } else snprintf(out, n, "%lld .. %lld", o->min, o->max);
}

static void print_options(void) {
    printf("| option | type | default | values | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        const opt_row_t *o = &opts[i];
        char def[64], range[128];
        default_text(o, def, sizeof(def));
        range_text(o, range, sizeof(range));
        printf("| `%s` | %s | %s | %s | ", o->name,
               o->kind == CONF_CHOICE ? "choice" : o->kind == CONF_BOOL ? "bool" : o->type_c, def,
               range);
        md(o->doc);
        printf(" |\n");
    }
}

static void print_ctl_header(const char *title) {
    printf("\n### %s\n\n| name | type | access | meaning |\n|---|---|---|---|\n", title);
}

static void print_mallctl(void) {
    /* the names' own table, in order, grouped by their first component;
     * config.* and opt.* (generated from their tables) after epoch */
    const char *group = "";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const ctl_row_t *r = &names[i];
        const char *dot = strchr(r->name, '.');
        size_t glen = dot ? (size_t)(dot - r->name) : strlen(r->name);
        char g[32];
        snprintf(g, sizeof(g), "%.*s", (int)glen, r->name);
        if (!dot) snprintf(g, sizeof(g), "general");
        if (strcmp(g, group)) {
            if (!strcmp(group, "general")) {
                print_ctl_header("config.*");
#define CFG_ROW(name, value, doc)                                                                  \
    printf("| `config.%s` | bool | r- | ", #name);                                                \
    md(doc);                                                                                       \
    printf(" Mosaic: `%s`. |\n", (value) ? "true" : "false");
                STATS_CONFIG(CFG_ROW)
#undef CFG_ROW
                printf("| `config.malloc_conf` | const char * | r- | Built-in configuration string: "
                       "`\"%s\"` (none). |\n",
                       STATS_CONFIG_MALLOC_CONF);
                print_ctl_header("opt.*");
                for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
                    char def[64];
                    default_text(&opts[k], def, sizeof(def));
                    printf("| `opt.%s` | %s | r- | The option `%s` as set at start-up (default "
                           "%s); see [Options](#options). |\n",
                           opts[k].name, opt_ctl_type(&opts[k]), opts[k].name, def);
                }
            }
            static char gbuf[32];
            snprintf(gbuf, sizeof(gbuf), "%s", g);
            group = gbuf;
            print_ctl_header(!strcmp(g, "general") ? "general" : g);
        }
        const char *type = ctl_type_name(r->type);
        if (r->type == CT_PTR) {
            type = strstr(r->name, "extent_hooks") ? "extent_hooks_t *" : "uint64_t *";
        }
        if (!strcmp(r->name, "arenas.create")) type = "unsigned, extent_hooks_t *";
        if (!strcmp(r->name, "arenas.lookup")) type = "unsigned, void *";
        printf("| `%s` | %s | %s | ", r->name, type, r->access);
        md(r->doc);
        printf(" |\n");
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "options")) print_options();
    else if (argc == 2 && !strcmp(argv[1], "mallctl")) print_mallctl();
    else {
        fprintf(stderr, "usage: gen-reference options|mallctl\n");
        return 2;
    }
    return 0;
}
