/* out.c: output helpers for spprof-analyze: human units, safe text for terminals, JSON and CSV
 * quoting, and the field emitter behind `--format json|csv` for record-shaped output. */
#include "analyze/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Picks the unit by the rounded value, so 999.96 us prints as "1.0 ms", not "1000.0 us". */
void spa_fmt_duration(char *buf, size_t size, uint64_t ns) {
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

void spa_fmt_bytes(char *buf, size_t size, uint64_t bytes) {
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

void spa_fmt_count(char *buf, size_t size, uint64_t n) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
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

void spa_put_text(FILE *f, const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = spa_utf8_len(p + i, len - i);
        if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7F))) {
            fputc('?', f);
            i++;
        } else {
            fwrite(p + i, 1, n, f);
            i += n;
        }
    }
}

void spa_put_json_string(FILE *f, const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    size_t i = 0;
    while (i < len) {
        size_t n = spa_utf8_len(p + i, len - i);
        if (n == 0) {
            fputs("\\ufffd", f);
            i++;
            continue;
        }
        if (n == 1) {
            unsigned char c = p[i];
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c == '\n')
                fputs("\\n", f);
            else if (c == '\t')
                fputs("\\t", f);
            else if (c < 0x20 || c == 0x7F)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        } else {
            fwrite(p + i, 1, n, f);
        }
        i += n;
    }
    fputc('"', f);
}

void spa_put_csv_field(FILE *f, const char *s, size_t len) {
    int quote = len == 0 ? 0 : (s[0] == ' ' || s[len - 1] == ' ');
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite(s, 1, len, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

int spa_parse_duration(const char *text, uint64_t *ns) {
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    if (!((*text >= '0' && *text <= '9') || *text == '.'))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || !isfinite(v) || v < 0)
        return -1;
    double scale = 0;
    if (*end == '\0') {
        scale = 1e9; /* a bare number is seconds */
    } else {
        for (size_t i = 0; i < sizeof units / sizeof units[0] && !scale; i++) {
            if (strcmp(end, units[i].unit) == 0)
                scale = units[i].ns;
        }
    }
    if (!scale || v * scale >= 18446744073709549568.0)
        return -1;
    *ns = (uint64_t)llround(v * scale);
    return 0;
}

double spa_percent(uint64_t part, uint64_t whole) {
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

const char *spa_pct_color(int on, double percent) {
    return spa_color(on, percent >= 5.0 ? SPA_RED : percent >= 0.5 ? SPA_GREEN : "");
}

uint64_t spa_mul_sat(uint64_t a, uint64_t b) {
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

const char *spa_clock_key(spt_clock clock) {
    switch (clock) {
    case SPT_CLOCK_CPU_THREAD:
        return "cpu-thread";
    case SPT_CLOCK_CPU_PROCESS:
        return "cpu-process";
    case SPT_CLOCK_WALL:
        return "wall";
    }
    return "unknown";
}

const char *spa_color(int on, const char *code) {
    return on ? code : "";
}

/* ---------------------------------------------------------------------------------------------
 * The emitter. JSON is indented two spaces per level; CSV is "key,value" with dotted keys.
 * ------------------------------------------------------------------------------------------- */
#define EMIT_MAX_DEPTH ((int)(sizeof(((spa_emit *)0)->first) / sizeof(int)) - 1)

void spa_emit_begin(spa_emit *e, FILE *f, spa_format format) {
    memset(e, 0, sizeof *e);
    e->f = f;
    e->format = format;
    e->first[0] = 1;
    if (format == SPA_FORMAT_JSON)
        fputc('{', f);
    else
        fputs("key,value\n", f);
}

void spa_emit_end(spa_emit *e) {
    if (e->format == SPA_FORMAT_JSON)
        fputs("\n}\n", e->f);
}

/* Starts a field: JSON comma, newline, indent and key; CSV key path. */
static void field(spa_emit *e, const char *key) {
    if (e->format == SPA_FORMAT_JSON) {
        fputs(e->first[e->depth] ? "\n" : ",\n", e->f);
        for (int i = 0; i <= e->depth; i++)
            fputs("  ", e->f);
        if (!e->is_array[e->depth]) {
            spa_put_json_string(e->f, key, strlen(key));
            fputs(": ", e->f);
        }
    } else {
        char index[16];
        if (e->is_array[e->depth]) {
            snprintf(index, sizeof index, "%" PRIu32, e->index[e->depth]);
            key = index;
        }
        size_t base = e->path_len[e->depth];
        snprintf(e->path + base, sizeof e->path - base, "%s%s", base ? "." : "", key);
        if (e->path[0] != '\0')
            spa_put_csv_field(e->f, e->path, strlen(e->path));
        fputc(',', e->f);
    }
    e->first[e->depth] = 0;
    e->index[e->depth]++;
}

static void open_level(spa_emit *e, const char *key, int array) {
    if (e->depth == EMIT_MAX_DEPTH)
        return; /* deeper than any caller nests; keeps the arrays in bounds */
    if (e->format == SPA_FORMAT_JSON) {
        field(e, key);
        fputc(array ? '[' : '{', e->f);
    } else {
        /* CSV has no line for a container; just extend the key path. */
        char index[16];
        if (e->is_array[e->depth]) {
            snprintf(index, sizeof index, "%" PRIu32, e->index[e->depth]);
            key = index;
        }
        size_t base = e->path_len[e->depth];
        snprintf(e->path + base, sizeof e->path - base, "%s%s", base ? "." : "", key);
        e->index[e->depth]++;
    }
    e->depth++;
    e->first[e->depth] = 1;
    e->is_array[e->depth] = array;
    e->index[e->depth] = 0;
    e->path_len[e->depth] = strlen(e->path);
}

void spa_emit_object(spa_emit *e, const char *key) {
    open_level(e, key, 0);
}

void spa_emit_array(spa_emit *e, const char *key) {
    open_level(e, key, 1);
}

void spa_emit_close(spa_emit *e) {
    if (e->depth == 0)
        return;
    int array = e->is_array[e->depth];
    int empty = e->first[e->depth];
    e->depth--;
    e->path[e->path_len[e->depth]] = '\0';
    if (e->format == SPA_FORMAT_JSON) {
        if (!empty) {
            fputc('\n', e->f);
            for (int i = 0; i <= e->depth; i++)
                fputs("  ", e->f);
        }
        fputc(array ? ']' : '}', e->f);
    }
}

void spa_emit_u64(spa_emit *e, const char *key, uint64_t v) {
    field(e, key);
    fprintf(e->f, "%" PRIu64, v);
    if (e->format == SPA_FORMAT_CSV)
        fputc('\n', e->f);
}

void spa_emit_i64(spa_emit *e, const char *key, int64_t v) {
    field(e, key);
    fprintf(e->f, "%" PRId64, v);
    if (e->format == SPA_FORMAT_CSV)
        fputc('\n', e->f);
}

void spa_emit_double(spa_emit *e, const char *key, double v) {
    field(e, key);
    fprintf(e->f, "%.3f", v);
    if (e->format == SPA_FORMAT_CSV)
        fputc('\n', e->f);
}

void spa_emit_bool(spa_emit *e, const char *key, int v) {
    field(e, key);
    fputs(v ? "true" : "false", e->f);
    if (e->format == SPA_FORMAT_CSV)
        fputc('\n', e->f);
}

void spa_emit_null(spa_emit *e, const char *key) {
    field(e, key);
    if (e->format == SPA_FORMAT_JSON)
        fputs("null", e->f);
    else
        fputc('\n', e->f);
}

void spa_emit_str(spa_emit *e, const char *key, const char *s, size_t len) {
    field(e, key);
    if (e->format == SPA_FORMAT_JSON) {
        spa_put_json_string(e->f, s, len);
    } else {
        spa_put_csv_field(e->f, s, len);
        fputc('\n', e->f);
    }
}

void spa_emit_cstr(spa_emit *e, const char *key, const char *s) {
    spa_emit_str(e, key, s, strlen(s));
}
