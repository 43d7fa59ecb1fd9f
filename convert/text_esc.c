/* text_esc.c: names as each format needs them. A trace's names are any bytes; every format reads
 * UTF-8, so an invalid byte becomes U+FFFD (one per byte) everywhere. Folded stacks also cannot
 * hold ';' (the separator) or line breaks, and XML cannot hold control characters at all: those
 * become ':' and the Unicode Control Pictures (U+2400 + the byte), which keep them visible and
 * tell them apart. Also the human units the SVG labels use. */
#include "convert/convert_int.h"

#include <inttypes.h>
#include <string.h>

uint32_t spc_next_char(const char *s, size_t len, size_t *i) {
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t n = spa_utf8_len(p, len - *i);
    if (n == 0) {
        *i += 1;
        return 0xFFFD;
    }
    *i += n;
    switch (n) {
    case 1:
        return p[0];
    case 2:
        return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3Fu);
    case 3:
        return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3Fu);
    default:
        return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
               (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3Fu);
    }
}

/* Encodes cp as UTF-8 into t; returns the length. */
static size_t encode_utf8(uint32_t cp, unsigned char t[4]) {
    if (cp < 0x80) {
        t[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        t[0] = (unsigned char)(0xC0 | (cp >> 6));
        t[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        t[0] = (unsigned char)(0xE0 | (cp >> 12));
        t[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    t[0] = (unsigned char)(0xF0 | (cp >> 18));
    t[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    t[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    t[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

void spc_buf_utf8(spc_buf *b, uint32_t cp) {
    unsigned char t[4];
    spc_buf_add(b, t, encode_utf8(cp, t));
}

uint32_t spc_visible_char(uint32_t cp) {
    if (cp < 0x20)
        return 0x2400 + cp;
    if (cp == 0x7F)
        return 0x2421;
    return cp;
}

void spc_esc_utf8(spc_buf *b, const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t n = spa_utf8_len((const unsigned char *)s + i, len - i);
        if (n == 0) {
            spc_buf_utf8(b, 0xFFFD);
            i++;
        } else {
            spc_buf_add(b, s + i, n);
            i += n;
        }
    }
}

void spc_esc_folded(spc_buf *b, const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F) { /* the common case: printable ASCII */
            spc_buf_byte(b, c == ';' ? ':' : c);
            i++;
            continue;
        }
        spc_buf_utf8(b, spc_visible_char(spc_next_char(s, len, &i)));
    }
}

void spc_put_xml(FILE *f, const char *s, size_t len, size_t max_chars) {
    size_t i = 0;
    for (size_t written = 0; i < len && written < max_chars; written++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F) {
            switch (c) {
            case '&':
                fputs("&amp;", f);
                break;
            case '<':
                fputs("&lt;", f);
                break;
            case '>':
                fputs("&gt;", f);
                break;
            case '"':
                fputs("&quot;", f);
                break;
            case '\'':
                fputs("&apos;", f);
                break;
            default:
                fputc(c, f);
            }
            i++;
            continue;
        }
        uint32_t cp = spc_visible_char(spc_next_char(s, len, &i));
        if (cp == 0xFFFE || cp == 0xFFFF)
            cp = 0xFFFD;
        unsigned char t[4];
        fwrite(t, 1, encode_utf8(cp, t), f);
    }
}

size_t spc_char_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; n++)
        spc_next_char(s, len, &i);
    return n;
}

/* "10,000,000". */
static void fmt_count(char *buf, size_t size, uint64_t v) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, v);
    char out[48];
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    snprintf(buf, size, "%s", out);
}

/* The unit is picked by the rounded value, so 999.96 us reads "1.0 ms". */
static void fmt_duration(char *buf, size_t size, uint64_t ns) {
    if (ns == 0) {
        snprintf(buf, size, "0 s"); /* "0 ns" suggests a precision nothing here has */
    } else if (ns < 1000) {
        snprintf(buf, size, "%" PRIu64 " ns", ns);
    } else if (ns < 999950) {
        snprintf(buf, size, "%.1f us", (double)ns / 1e3);
    } else if (ns < 999950000) {
        snprintf(buf, size, "%.1f ms", (double)ns / 1e6);
    } else if (ns < 59995000000ull) {
        snprintf(buf, size, "%.2f s", (double)ns / 1e9);
    } else {
        uint64_t s = (ns + 500000000) / 1000000000;
        if (s < 3600)
            snprintf(buf, size, "%" PRIu64 "m %02" PRIu64 "s", s / 60, s % 60);
        else
            snprintf(buf, size, "%" PRIu64 "h %02" PRIu64 "m", s / 3600, (s % 3600) / 60);
    }
}

static void fmt_bytes(char *buf, size_t size, uint64_t bytes) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(buf, size, "%" PRIu64 " B", bytes);
        return;
    }
    double v = (double)bytes / 1024;
    size_t u = 0;
    while (v >= 1023.95 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

void spc_fmt_value(char *buf, size_t size, spa_metric metric, uint64_t weight,
                   uint64_t interval_ns) {
    char n[32];
    switch (metric) {
    case SPA_METRIC_CPU:
    case SPA_METRIC_WALL:
        if (interval_ns) {
            fmt_duration(buf, size, spc_mul_sat(weight, interval_ns));
        } else {
            fmt_count(n, sizeof n, weight);
            snprintf(buf, size, "%s sample%s", n, weight == 1 ? "" : "s");
        }
        return;
    case SPA_METRIC_ALLOC_BYTES:
    case SPA_METRIC_LIVE_BYTES:
        fmt_bytes(buf, size, weight);
        return;
    case SPA_METRIC_ALLOC_COUNT:
        fmt_count(n, sizeof n, weight);
        snprintf(buf, size, "%s allocation%s", n, weight == 1 ? "" : "s");
        return;
    }
    fmt_count(buf, size, weight);
}

const char *spc_metric_title(spa_metric metric) {
    switch (metric) {
    case SPA_METRIC_CPU:
        return "CPU time";
    case SPA_METRIC_WALL:
        return "wall-clock time";
    case SPA_METRIC_ALLOC_BYTES:
        return "bytes allocated";
    case SPA_METRIC_ALLOC_COUNT:
        return "allocations";
    case SPA_METRIC_LIVE_BYTES:
        return "bytes live at the end";
    }
    return "samples";
}
