#include "fmt.h"
#include "os.h"
#include <stdint.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t size, len;
} out_t;

static void out_c(out_t *o, char c) {
    if (o->len + 1 < o->size) o->buf[o->len] = c;
    o->len++;
}

/* s[0..n) in a field of width; zero pads numbers on the left, after
 * their sign or 0x prefix (the first `prefix` characters of s). */
static void out_field(out_t *o, const char *s, size_t n, int width, bool left, bool zero,
                      size_t prefix) {
    size_t w = width > 0 ? (size_t)width : 0, i = 0;
    if (!left && !zero)
        for (size_t k = n; k < w; k++) out_c(o, ' ');
    if (!left && zero) {
        for (; i < prefix; i++) out_c(o, s[i]);
        for (size_t k = n; k < w; k++) out_c(o, '0');
    }
    for (; i < n; i++) out_c(o, s[i]);
    if (left)
        for (size_t k = n; k < w; k++) out_c(o, ' ');
}

static void out_pad(out_t *o, const char *s, size_t n, int width, bool left) {
    out_field(o, s, n, width, left, false, 0);
}

static size_t u2s(char *tmp, uint64_t v, unsigned base) {
    char rev[24];
    size_t n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        rev[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    for (size_t i = 0; i < n; i++) tmp[i] = rev[n - 1 - i];
    return n;
}

size_t fmt_vsnprintf(char *buf, size_t size, const char *f, va_list ap) {
    out_t o = {buf, size, 0};
    for (; *f; f++) {
        if (*f != '%') {
            out_c(&o, *f);
            continue;
        }
        f++;
        bool left = false, zero = false;
        for (;; f++) {
            if (*f == '-') left = true;
            else if (*f == '0') zero = true;
            else break;
        }
        int width = 0;
        while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
        int prec = -1;
        if (*f == '.') {
            f++;
            if (*f == '*') {
                prec = va_arg(ap, int);
                f++;
            } else {
                prec = 0;
                while (*f >= '0' && *f <= '9') prec = prec * 10 + (*f++ - '0');
            }
        }
        int lng = 0;
        while (*f == 'l') {
            lng++;
            f++;
        }
        if (*f == 'z') {
            lng = 1;
            f++;
        }
        char tmp[32];
        size_t n;
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            /* with a precision, no byte past it is read (may be unterminated) */
            size_t sl = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
            out_pad(&o, s, sl, width, left);
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            out_pad(&o, tmp, 1, width, left);
            break;
        case 'd':
        case 'i': {
            int64_t v = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
            uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            n = 0;
            if (v < 0) tmp[n++] = '-';
            n += u2s(tmp + n, u, 10);
            out_field(&o, tmp, n, width, left, zero, v < 0);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
                         : lng  ? va_arg(ap, unsigned long)
                                : va_arg(ap, unsigned);
            n = u2s(tmp, v, *f == 'x' ? 16 : 10);
            out_field(&o, tmp, n, width, left, zero, 0);
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(ap, void *);
            tmp[0] = '0';
            tmp[1] = 'x';
            n = 2 + u2s(tmp + 2, v, 16);
            out_field(&o, tmp, n, width, left, zero, 2);
            break;
        }
        case '%':
            out_c(&o, '%');
            break;
        case '\0':
            f--;
            break;
        default:
            out_c(&o, '%');
            out_c(&o, *f);
        }
    }
    if (size) buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len;
}

size_t fmt_snprintf(char *buf, size_t size, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    size_t n = fmt_vsnprintf(buf, size, f, ap);
    va_end(ap);
    return n;
}

static void fmt_verror(const char *f, va_list ap) {
    char buf[512];
    size_t n = fmt_snprintf(buf, sizeof(buf) - 1, "<mosaic>: ");
    n += fmt_vsnprintf(buf + n, sizeof(buf) - 1 - n, f, ap);
    if (n > sizeof(buf) - 2) n = sizeof(buf) - 2;
    buf[n] = '\n';
    buf[n + 1] = '\0';
    os_write_err(buf);
}

void fmt_error(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    fmt_verror(f, ap);
    va_end(ap);
}

_Noreturn void fmt_fatal(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    fmt_verror(f, ap);
    va_end(ap);
    os_abort();
}
