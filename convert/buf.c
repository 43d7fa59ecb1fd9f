/* buf.c: the growable byte buffer every format builds names, keys and protobuf messages in. A
 * failed allocation is remembered in the buffer, so callers check once, after the last add. */
#include "convert/convert_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void spc_buf_add(spc_buf *b, const void *bytes, size_t len) {
    if (b->failed || len == 0)
        return;
    if (len > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, bytes, len);
    b->len += len;
}

void spc_buf_byte(spc_buf *b, unsigned char c) {
    if (!b->failed && b->len < b->cap)
        b->p[b->len++] = c; /* the common case, without the call */
    else
        spc_buf_add(b, &c, 1);
}

void spc_buf_str(spc_buf *b, const char *s) {
    spc_buf_add(b, s, strlen(s));
}

void spc_buf_fmt(spc_buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        spc_buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void spc_buf_varint(spc_buf *b, uint64_t v) {
    unsigned char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (unsigned char)v;
    spc_buf_add(b, tmp, n);
}

void spc_buf_free(spc_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

uint64_t spc_mul_sat(uint64_t a, uint64_t b) {
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}
