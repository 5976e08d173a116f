/*
 * tnames.h -- the mallctl names as the library defines them (src/ctl.h's
 * CTL_NAMES table, included for the table only), each with its type and
 * access, for the ctl suite's tests that walk every name: the size of each
 * type, and a pattern's concrete name (<i> and <j> filled in).
 */
#ifndef MOSAIC_TNAMES_H
#define MOSAIC_TNAMES_H
#include "tmallctl.h"

#include "ctl.h"
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    ctl_type_t type;
    const char *access;
} tname_t;

T_MAYBE_UNUSED static const tname_t names[] = {
#define ROW(name, type, access, handler, arg, doc) {name, type, access},
    CTL_NAMES(ROW)
#undef ROW
};

T_MAYBE_UNUSED static size_t tsize(ctl_type_t t) {
    switch (t) {
    case CT_VOID: return 0;
    case CT_BOOL: return sizeof(bool);
    case CT_UNSIGNED: return sizeof(unsigned);
    case CT_U32: return sizeof(uint32_t);
    case CT_U64: return sizeof(uint64_t);
    case CT_SIZE: return sizeof(size_t);
    case CT_SSIZE: return sizeof(ssize_t);
    case CT_STR: return sizeof(char *);
    case CT_PTR: return sizeof(void *);
    }
    return 0;
}

/* Pattern -> concrete name: <i> -> i, <j> -> j. */
T_MAYBE_UNUSED static void concrete(char *out, size_t n, const char *pat, unsigned i, unsigned j) {
    size_t o = 0;
    for (const char *p = pat; *p && o + 12 < n;) {
        if (!strncmp(p, "<i>", 3)) {
            o += (size_t)snprintf(out + o, n - o, "%u", i);
            p += 3;
        } else if (!strncmp(p, "<j>", 3)) {
            o += (size_t)snprintf(out + o, n - o, "%u", j);
            p += 3;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

#endif
