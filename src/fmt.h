/*
 * fmt -- a small snprintf that never allocates, for messages printed from
 * inside the allocator (errors, statistics). Supports %s %c %d %i %u %x %p %%
 * with the l, ll, z length modifiers, the - and 0 flags, a field width
 * ("%-12s", "%8zu", "%04x") and a string precision ("%.*s", which reads no
 * byte past it).
 * No shared state.
 */
#ifndef MOSAIC_FMT_H
#define MOSAIC_FMT_H
#include <stdarg.h>
#include <stddef.h>

size_t fmt_vsnprintf(char *buf, size_t size, const char *f, va_list ap);
size_t fmt_snprintf(char *buf, size_t size, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints "<mosaic>: " + message + newline to stderr. */
void fmt_error(const char *f, ...) __attribute__((format(printf, 1, 2)));
/* Same, then aborts the process. */
_Noreturn void fmt_fatal(const char *f, ...) __attribute__((format(printf, 1, 2)));
#endif
