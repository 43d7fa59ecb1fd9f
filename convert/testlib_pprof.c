/* testlib_pprof.c: convert's test reader for pprof: gunzip through zlib, then profile.proto
 * decoded field by field from the specification (proto/profile.proto), rejecting anything
 * malformed or unexpected, so that a round trip checks the exporter rather than agrees with it. */
#define _XOPEN_SOURCE 700
#include "convert/testlib.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tests/tracekit.h"

/* ---------------------------------------------------------------------------------------------
 * gunzip and protobuf.
 * ------------------------------------------------------------------------------------------- */
static unsigned char *gunzip(const unsigned char *in, size_t len, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) /* + 32: gzip or zlib, detected */
        return NULL;
    size_t cap = len * 4 + 1024, n = 0;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    int rc = Z_OK;
    while (out && rc != Z_STREAM_END) {
        if (n == cap) {
            unsigned char *p = realloc(out, cap * 2);
            if (!p) {
                free(out);
                out = NULL;
                break;
            }
            out = p;
            cap *= 2;
        }
        z.next_out = out + n;
        z.avail_out = (uInt)(cap - n);
        rc = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END) {
            free(out);
            out = NULL;
        }
    }
    /* The gzip trailer (CRC-32, size) was checked by inflate; nothing may follow it. */
    if (out && z.avail_in != 0) {
        free(out);
        out = NULL;
    }
    inflateEnd(&z);
    *out_len = n;
    return out;
}

typedef struct {
    const unsigned char *p, *end;
    int bad;
} pb;

static uint64_t pb_varint(pb *b) {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (b->p >= b->end) {
            b->bad = 1;
            return 0;
        }
        unsigned char c = *b->p++;
        v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80))
            return v;
    }
    b->bad = 1;
    return 0;
}

/* The next field: its number, wire type and (for wire type 2) its bytes as a sub-reader. */
static int pb_field(pb *b, uint32_t *field, unsigned *wire, uint64_t *v, pb *sub) {
    if (b->p >= b->end || b->bad)
        return 0;
    uint64_t tag = pb_varint(b);
    *field = (uint32_t)(tag >> 3);
    *wire = (unsigned)(tag & 7);
    if (*wire == 0) {
        *v = pb_varint(b);
    } else if (*wire == 2) {
        uint64_t len = pb_varint(b);
        if (len > (uint64_t)(b->end - b->p)) {
            b->bad = 1;
            return 0;
        }
        sub->p = b->p;
        sub->end = b->p + len;
        sub->bad = 0;
        b->p += len;
    } else {
        b->bad = 1; /* profile.proto uses no fixed-width fields */
        return 0;
    }
    return !b->bad && *field != 0;
}

/* A repeated uint64 field, packed (wire type 2) or not (0). */
static int pb_repeated(unsigned wire, uint64_t v, pb *sub, uint64_t **arr, size_t *n, size_t max) {
    for (;;) {
        uint64_t x = v;
        if (wire == 2) {
            if (sub->p >= sub->end)
                return sub->bad ? -1 : 0;
            x = pb_varint(sub);
            if (sub->bad)
                return -1;
        }
        if (*n >= max)
            return -1;
        if (arr) {
            uint64_t *p = realloc(*arr, (*n + 1) * sizeof *p);
            if (!p)
                return -1;
            *arr = p;
            p[*n] = x;
        }
        (*n)++;
        if (wire != 2)
            return 0;
    }
}

/* A message whose fields are all varints (Label, Line, Function, Mapping, ValueType): field f
 * lands in v[f] for f < n; higher numbers are skipped, as a reader of a newer profile.proto
 * would. Returns 0, or -1 when the message is malformed or holds a field of another wire type. */
static int pb_varints(pb *m, uint64_t *v, size_t n) {
    uint32_t f;
    unsigned wire;
    uint64_t x = 0;
    pb sub;
    while (pb_field(m, &f, &wire, &x, &sub)) {
        if (wire != 0)
            return -1;
        if (f < n)
            v[f] = x;
    }
    return m->bad ? -1 : 0;
}

#define GROW(arr, n)                                                                               \
    do {                                                                                           \
        void *grow_p_ = realloc((arr), ((n) + 1) * sizeof *(arr));                                 \
        if (!grow_p_)                                                                              \
            return -1;                                                                             \
        (arr) = grow_p_;                                                                           \
        memset(&(arr)[(n)], 0, sizeof *(arr));                                                     \
    } while (0)

static int read_sample(pb *m, ct_profile *p) {
    GROW(p->samples, p->n_samples);
    ct_sample *s = &p->samples[p->n_samples++];
    uint32_t f;
    unsigned wire;
    uint64_t v = 0;
    pb sub;
    while (pb_field(m, &f, &wire, &v, &sub)) {
        if (f == 1) {
            if (pb_repeated(wire, v, &sub, &s->locations, &s->n_locations, 1u << 20))
                return -1;
        } else if (f == 2) {
            uint64_t *vals = NULL;
            size_t before = s->n_values;
            if (pb_repeated(wire, v, &sub, &vals, &s->n_values, 8)) {
                free(vals);
                return -1;
            }
            for (size_t i = before; i < s->n_values; i++)
                s->values[i] = (int64_t)vals[i - before];
            free(vals);
        } else if (f == 3 && wire == 2 && s->n_labels < 4) {
            uint64_t label[4] = {0}; /* key, str, num */
            if (pb_varints(&sub, label, 4))
                return -1;
            size_t k = s->n_labels++;
            s->label_key[k] = (int64_t)label[1];
            s->label_str[k] = (int64_t)label[2];
            s->label_num[k] = (int64_t)label[3];
        } else {
            return -1;
        }
    }
    return m->bad ? -1 : 0;
}

static int read_location(pb *m, ct_profile *p) {
    GROW(p->locations, p->n_locations);
    ct_location *l = &p->locations[p->n_locations++];
    uint32_t f;
    unsigned wire;
    uint64_t v = 0;
    pb sub;
    while (pb_field(m, &f, &wire, &v, &sub)) {
        if (f == 1 && wire == 0)
            l->id = v;
        else if (f == 2 && wire == 0)
            l->mapping_id = v;
        else if (f == 3 && wire == 0)
            l->address = v;
        else if (f == 4 && wire == 2 && l->n_lines < 16) {
            uint64_t line[3] = {0}; /* function_id, line */
            if (pb_varints(&sub, line, 3))
                return -1;
            size_t k = l->n_lines++;
            l->function[k] = line[1];
            l->line[k] = (int64_t)line[2];
        } else {
            return -1;
        }
    }
    return m->bad ? -1 : 0;
}

static int read_function(pb *m, ct_profile *p) {
    uint64_t v[6] = {0}; /* id, name, system_name, filename, start_line */
    if (pb_varints(m, v, 6))
        return -1;
    GROW(p->functions, p->n_functions);
    ct_function *fn = &p->functions[p->n_functions++];
    fn->id = v[1];
    fn->name = (int64_t)v[2];
    fn->system_name = (int64_t)v[3];
    fn->filename = (int64_t)v[4];
    fn->start_line = (int64_t)v[5];
    return 0;
}

static int read_mapping(pb *m, ct_profile *p) {
    uint64_t v[11] = {0}; /* id, start, limit, offset, filename, build_id, has_* (7 to 10) */
    if (pb_varints(m, v, 11))
        return -1;
    GROW(p->mappings, p->n_mappings);
    ct_mapping *mp = &p->mappings[p->n_mappings++];
    mp->id = v[1];
    mp->start = v[2];
    mp->limit = v[3];
    mp->offset = v[4];
    mp->filename = (int64_t)v[5];
    mp->build_id = (int64_t)v[6];
    mp->has_functions = v[7] != 0;
    mp->has_filenames = v[8] != 0;
    mp->has_line_numbers = v[9] != 0;
    mp->has_inline_frames = v[10] != 0;
    return 0;
}

static int read_value_type(pb *m, int64_t out[2]) {
    uint64_t v[3] = {0}; /* type, unit */
    if (pb_varints(m, v, 3))
        return -1;
    out[0] = (int64_t)v[1];
    out[1] = (int64_t)v[2];
    return 0;
}

static int decode(const unsigned char *data, size_t len, ct_profile *p) {
    pb b = {data, data + len, 0};
    uint32_t f;
    unsigned wire;
    uint64_t v = 0;
    pb sub;
    while (pb_field(&b, &f, &wire, &v, &sub)) {
        int rc = 0;
        switch (f) {
        case 1:
            if (wire != 2 || p->n_types >= 8)
                return -1;
            rc = read_value_type(&sub, p->types[p->n_types++]);
            break;
        case 2:
            rc = wire == 2 ? read_sample(&sub, p) : -1;
            break;
        case 3:
            rc = wire == 2 ? read_mapping(&sub, p) : -1;
            break;
        case 4:
            rc = wire == 2 ? read_location(&sub, p) : -1;
            break;
        case 5:
            rc = wire == 2 ? read_function(&sub, p) : -1;
            break;
        case 6: {
            if (wire != 2)
                return -1;
            GROW(p->strings, p->n_strings);
            GROW(p->string_lens, p->n_strings);
            size_t n = (size_t)(sub.end - sub.p);
            char *s = malloc(n + 1);
            if (!s)
                return -1;
            memcpy(s, sub.p, n);
            s[n] = '\0';
            p->strings[p->n_strings] = s;
            p->string_lens[p->n_strings++] = n;
            break;
        }
        case 9:
            p->time_nanos = (int64_t)v;
            break;
        case 10:
            p->duration_nanos = (int64_t)v;
            break;
        case 11:
            rc = wire == 2 ? read_value_type(&sub, p->period_type) : -1;
            break;
        case 12:
            p->period = (int64_t)v;
            break;
        case 13:
            if (wire != 0 || p->n_comments >= 8)
                return -1;
            p->comments[p->n_comments++] = (int64_t)v;
            break;
        case 14:
            p->default_sample_type = (int64_t)v;
            break;
        default:
            return -1; /* spprof writes no other field */
        }
        if (rc)
            return -1;
    }
    return b.bad ? -1 : 0;
}

int ct_pprof_read(const char *path, ct_profile *p) {
    memset(p, 0, sizeof *p);
    size_t len;
    unsigned char *raw = (unsigned char *)tk_read_file(path, &len);
    if (!raw)
        return -1;
    p->gzip = len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
    size_t plain_len = len;
    unsigned char *plain = p->gzip ? gunzip(raw, len, &plain_len) : raw;
    int rc = plain ? decode(plain, plain_len, p) : -1;
    if (plain != raw)
        free(plain);
    free(raw);
    return rc;
}

void ct_pprof_free(ct_profile *p) {
    for (size_t i = 0; i < p->n_strings; i++)
        free(p->strings[i]);
    free(p->strings);
    free(p->string_lens);
    for (size_t i = 0; i < p->n_samples; i++)
        free(p->samples[i].locations);
    free(p->samples);
    free(p->locations);
    free(p->functions);
    free(p->mappings);
    memset(p, 0, sizeof *p);
}

const char *ct_pprof_str(const ct_profile *p, int64_t i) {
    return i >= 0 && (size_t)i < p->n_strings ? p->strings[i] : "<bad index>";
}

const ct_location *ct_pprof_location(const ct_profile *p, uint64_t id) {
    for (size_t i = 0; i < p->n_locations; i++) {
        if (p->locations[i].id == id)
            return &p->locations[i];
    }
    return NULL;
}

const ct_function *ct_pprof_function(const ct_profile *p, uint64_t id) {
    for (size_t i = 0; i < p->n_functions; i++) {
        if (p->functions[i].id == id)
            return &p->functions[i];
    }
    return NULL;
}

int ct_pprof_type(const ct_profile *p, const char *type) {
    for (size_t i = 0; i < p->n_types; i++) {
        if (strcmp(ct_pprof_str(p, p->types[i][0]), type) == 0)
            return (int)i;
    }
    return -1;
}
