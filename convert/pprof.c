/* pprof.c: a gzip-compressed profile.proto (github.com/google/pprof proto/profile.proto), as
 * `go tool pprof` reads it. One Sample per (thread, stack) total of the model, with the thread as
 * labels ("thread" = its name, "thread_id" = its kernel id); sample types for what the trace
 * holds (samples and CPU or wall time; allocated and in-use objects and bytes). Locations are the
 * trace's frames leaf first, one per physical frame with the calls inlined at its address as
 * extra lines (inlinees first), its address moved back into the call instruction for every frame
 * but the innermost, as pprof expects; --ignore drops lines, --focus drops stacks. Messages are
 * streamed as they are made; the string table and mappings (whose has_* flags sum up their
 * locations) come last, which the wire format allows. */
#include "convert/convert_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { V_SAMPLES, V_CPU, V_WALL, V_ALLOC_OBJECTS, V_ALLOC_SPACE, V_INUSE_OBJECTS, V_INUSE_SPACE };

/* Profile fields (profile.proto). */
enum {
    P_SAMPLE_TYPE = 1,
    P_SAMPLE = 2,
    P_MAPPING = 3,
    P_LOCATION = 4,
    P_FUNCTION = 5,
    P_STRING_TABLE = 6,
    P_TIME_NANOS = 9,
    P_DURATION_NANOS = 10,
    P_PERIOD_TYPE = 11,
    P_PERIOD = 12,
    P_COMMENT = 13,
    P_DEFAULT_SAMPLE_TYPE = 14
};

typedef struct {
    uint32_t reader_id; /* the trace's mapping id */
    int all_functions, all_files, all_lines, any_inline;
} mapping_info;

typedef struct {
    spc_job *j;
    spc_gzip *gz;
    spc_buf msg, sub, rec, tmp; /* scratch */
    spc_intern strings, functions, locations;
    uint32_t *str_memo; /* [reader string id] index + 1 */
    uint32_t *map_id;   /* [reader mapping id] pprof id, 0 = not yet */
    mapping_info *maps; /* [pprof id - 1] */
    uint32_t n_maps;
    int types[8];
    int n_types;
    unsigned char *ignore_memo; /* [frame] 0 not asked, 1 no, 2 yes */
    uint32_t *frames;           /* scratch: a stack's frames, innermost first */
    uint32_t *key;              /* scratch: a location's key */
    uint64_t *ids, *values;     /* scratch: a sample's location ids and values */
    int failed;                 /* out of memory */
} pp;

/* ---------------------------------------------------------------------------------------------
 * Strings: the table is interned by content; names become valid UTF-8 (invalid bytes U+FFFD).
 * ------------------------------------------------------------------------------------------- */
static int64_t str(pp *p, const char *s, size_t len) {
    int added;
    p->tmp.len = 0;
    spc_esc_utf8(&p->tmp, s, len);
    uint32_t i = p->tmp.failed ? UINT32_MAX
                               : spc_intern_put(&p->strings, p->tmp.p ? p->tmp.p : (void *)"",
                                                p->tmp.len, &added);
    if (i == UINT32_MAX) {
        p->failed = 1;
        return 0;
    }
    return i;
}

static int64_t cstr(pp *p, const char *s) {
    return str(p, s, strlen(s));
}

static int64_t rstr(pp *p, uint32_t id) {
    if (id == 0 || id > spt_reader_string_count(p->j->r))
        return 0;
    if (!p->str_memo[id])
        p->str_memo[id] =
            (uint32_t)str(p, spt_reader_string(p->j->r, id), spt_reader_string_len(p->j->r, id)) +
            1;
    return p->str_memo[id] - 1;
}

/* Writes msg as top-level field `field` into the gzip stream. */
static void emit(pp *p, uint32_t field, const spc_buf *msg) {
    p->rec.len = 0;
    spc_pb_bytes(&p->rec, field, msg->p, msg->len);
    if (p->rec.failed || msg->failed)
        p->failed = 1;
    else
        spc_gzip_write(p->gz, p->rec.p, p->rec.len);
}

static void emit_varint(pp *p, uint32_t field, uint64_t v) {
    p->rec.len = 0;
    spc_pb_uint(&p->rec, field, v);
    spc_gzip_write(p->gz, p->rec.p, p->rec.len);
}

/* ---------------------------------------------------------------------------------------------
 * Functions, mappings, locations.
 * ------------------------------------------------------------------------------------------- */

/* The function id of a frame, emitting the Function when new; 0 for an unnamed native frame,
 * which gets no line (pprof then shows its address and mapping). */
static uint64_t function_id(pp *p, const spt_frame *fr) {
    const spt_reader *r = p->j->r;
    int64_t name;
    if (spt_reader_string_len(r, fr->function))
        name = rstr(p, fr->function);
    else if (fr->kind == SPT_FRAME_PYTHON)
        name = cstr(p, "[unknown]");
    else
        return 0;
    uint32_t key[3] = {(uint32_t)name, (uint32_t)rstr(p, fr->file),
                       fr->kind == SPT_FRAME_PYTHON ? fr->first_line : 0};
    int added;
    uint32_t i = spc_intern_put(&p->functions, key, sizeof key, &added);
    if (i == UINT32_MAX) {
        p->failed = 1;
        return 0;
    }
    if (added) {
        p->msg.len = 0;
        spc_pb_uint(&p->msg, 1, (uint64_t)i + 1); /* id */
        /* name readable (C++ demangled), system_name as the symbol table has it */
        int64_t readable = key[0];
        char *demangled = spa_demangle(spt_reader_string(r, fr->function),
                                       spt_reader_string_len(r, fr->function));
        if (demangled) {
            readable = cstr(p, demangled);
            free(demangled);
        }
        spc_pb_int(&p->msg, 2, readable); /* name */
        spc_pb_int(&p->msg, 3, key[0]);   /* system_name */
        spc_pb_int(&p->msg, 4, key[1]);   /* filename */
        if (key[2])
            spc_pb_int(&p->msg, 5, key[2]); /* start_line */
        emit(p, P_FUNCTION, &p->msg);
    }
    return (uint64_t)i + 1;
}

static uint32_t mapping_id(pp *p, uint32_t reader_id) {
    if (reader_id == 0 || reader_id > spt_reader_mapping_count(p->j->r))
        return 0;
    if (!p->map_id[reader_id]) {
        mapping_info *mi = &p->maps[p->n_maps];
        mi->reader_id = reader_id;
        mi->all_functions = mi->all_files = mi->all_lines = 1;
        mi->any_inline = 0;
        p->map_id[reader_id] = ++p->n_maps;
    }
    return p->map_id[reader_id];
}

static int ignored(pp *p, uint32_t frame) {
    const spa_regex *re = p->j->o->ignore;
    if (!re)
        return 0;
    if (!p->ignore_memo[frame])
        p->ignore_memo[frame] = spa_regex_frame_matches(re, p->j->r, frame) ? 2 : 1;
    return p->ignore_memo[frame] == 2;
}

/* The location of one physical frame: frames f[0..n) innermost first, the last being the real
 * function and the others calls inlined into it at the same address. leaf: the innermost
 * physical frame of its stack (its address is the sampled instruction; every other one is a
 * return address). Returns the location id, or 0 when --ignore took every line. */
static uint64_t location_id(pp *p, const uint32_t *f, size_t n, int leaf) {
    const spt_reader *r = p->j->r;
    size_t k = 0;
    p->key[k++] = (uint32_t)leaf;
    p->key[k++] = f[n - 1]; /* the physical frame: address and mapping */
    for (size_t i = 0; i < n; i++) {
        if (!ignored(p, f[i]))
            p->key[k++] = f[i];
    }
    if (k == 2)
        return 0;
    int added;
    uint32_t i = spc_intern_put(&p->locations, p->key, k * sizeof *p->key, &added);
    if (i == UINT32_MAX) {
        p->failed = 1;
        return 0;
    }
    if (!added)
        return (uint64_t)i + 1;

    const spt_frame *phys = spt_reader_frame(r, f[n - 1]);
    int native = phys->kind == SPT_FRAME_NATIVE && !(phys->flags & SPT_FRAME_SYNTHETIC);
    uint32_t map = native ? mapping_id(p, phys->mapping) : 0;
    uint64_t address = native ? phys->address : 0;
    if (native && !leaf && address > 0)
        address--; /* a return address, moved back into the call instruction */
    /* Lines and functions first (the Function messages go out as they are made). */
    p->sub.len = 0;
    size_t lines = 0, named = 0;
    int files = 1, numbers = 1;
    for (size_t x = 2; x < k; x++) {
        const spt_frame *fr = spt_reader_frame(r, p->key[x]);
        uint64_t fn = function_id(p, fr);
        if (!fn)
            continue;
        spc_buf line = {0};
        spc_pb_uint(&line, 1, fn);
        if (fr->line)
            spc_pb_int(&line, 2, fr->line);
        spc_pb_bytes(&p->sub, 4, line.p, line.len);
        p->failed |= line.failed;
        spc_buf_free(&line);
        lines++;
        named++;
        files &= fr->file != 0;
        numbers &= fr->line != 0;
    }
    if (map) {
        mapping_info *mi = &p->maps[map - 1];
        mi->all_functions &= named == k - 2;
        mi->all_files &= files && named > 0;
        mi->all_lines &= numbers && named > 0;
        mi->any_inline |= lines > 1;
    }
    p->msg.len = 0;
    spc_pb_uint(&p->msg, 1, (uint64_t)i + 1); /* id */
    if (map)
        spc_pb_uint(&p->msg, 2, map); /* mapping_id */
    if (address)
        spc_pb_uint(&p->msg, 3, address);
    spc_buf_add(&p->msg, p->sub.p, p->sub.len); /* the repeated lines */
    emit(p, P_LOCATION, &p->msg);
    return (uint64_t)i + 1;
}

/* ---------------------------------------------------------------------------------------------
 * Samples.
 * ------------------------------------------------------------------------------------------- */
static uint64_t round_count(double c) {
    return c > 0 ? (uint64_t)(c + 0.5) : 0;
}

/* Fills p->values for the sample types; returns whether any is nonzero. */
static int sample_values(pp *p, const spa_data *d) {
    uint64_t interval = p->j->h->interval_ns ? p->j->h->interval_ns : 1;
    int any = 0;
    for (int k = 0; k < p->n_types; k++) {
        uint64_t v = 0;
        switch (p->types[k]) {
        case V_SAMPLES:
            v = d->run.count + (p->j->h->clock == SPT_CLOCK_WALL ? d->idle.count : 0);
            break;
        case V_CPU:
            v = spc_mul_sat(d->run.weight, interval);
            break;
        case V_WALL:
            v = spc_mul_sat(d->run.weight + d->idle.weight, interval);
            break;
        case V_ALLOC_OBJECTS:
            v = round_count(d->alloc_count);
            break;
        case V_ALLOC_SPACE:
            v = d->alloc_bytes;
            break;
        case V_INUSE_OBJECTS:
            v = round_count(d->live_count);
            break;
        case V_INUSE_SPACE:
            v = d->live_bytes;
            break;
        }
        p->values[k] = v > INT64_MAX ? (uint64_t)INT64_MAX : v; /* values are int64 */
        any |= v != 0;
    }
    return any;
}

static void label(pp *p, const char *key, const char *s, size_t len, int64_t num, int is_num) {
    spc_buf l = {0};
    spc_pb_int(&l, 1, cstr(p, key));
    if (is_num)
        spc_pb_int(&l, 3, num);
    else
        spc_pb_int(&l, 2, str(p, s, len));
    spc_pb_bytes(&p->msg, 3, l.p, l.len);
    p->failed |= l.failed;
    spc_buf_free(&l);
}

static void write_sample(pp *p, const spa_entry *e) {
    const spt_reader *r = p->j->r;
    size_t n = 0;
    for (uint32_t s = e->stack; s != 0 && n < SPT_MAX_STACK_DEPTH;) {
        const spt_stack *st = spt_reader_stack(r, s);
        if (!st || !spt_reader_frame(r, st->frame))
            break;
        p->frames[n++] = st->frame;
        s = st->parent < s ? st->parent : 0; /* a parent always has a lower id (format.md) */
    }
    size_t n_ids = 0;
    for (size_t i = 0; i < n;) {
        size_t k = i; /* frames i..k: one physical frame, inlined calls first */
        while (k + 1 < n && (spt_reader_frame(r, p->frames[k])->flags & SPT_FRAME_INLINED))
            k++;
        uint64_t id = location_id(p, p->frames + i, k - i + 1, i == 0);
        if (id)
            p->ids[n_ids++] = id;
        i = k + 1;
    }
    p->msg.len = 0;
    spc_pb_packed(&p->msg, 1, p->ids, n_ids);
    spc_pb_packed(&p->msg, 2, p->values, (size_t)p->n_types);
    if (e->thread) {
        size_t len;
        uint32_t tid;
        const char *name = spc_job_thread_name(p->j, e->thread, &len, &tid);
        label(p, "thread", name, len, 0, 0);
        label(p, "thread_id", NULL, 0, tid, 1);
    }
    emit(p, P_SAMPLE, &p->msg);
}

/* ---------------------------------------------------------------------------------------------
 * The profile.
 * ------------------------------------------------------------------------------------------- */
static const char *const type_names[][2] = {
    [V_SAMPLES] = {"samples", "count"},         [V_CPU] = {"cpu", "nanoseconds"},
    [V_WALL] = {"wall", "nanoseconds"},         [V_ALLOC_OBJECTS] = {"alloc_objects", "count"},
    [V_ALLOC_SPACE] = {"alloc_space", "bytes"}, [V_INUSE_OBJECTS] = {"inuse_objects", "count"},
    [V_INUSE_SPACE] = {"inuse_space", "bytes"},
};

static void value_type(pp *p, spc_buf *b, int type) {
    const char *unit = type_names[type][1];
    if ((type == V_CPU || type == V_WALL) && !p->j->h->interval_ns)
        unit = "count"; /* no interval: time in sampling intervals */
    spc_pb_int(b, 1, cstr(p, type_names[type][0]));
    spc_pb_int(b, 2, cstr(p, unit));
}

static void choose_types(pp *p) {
    const spa_totals *t = spa_model_totals(p->j->m);
    int samples = t->samples.count > 0, allocs = t->allocs > 0;
    if (samples || !allocs) {
        p->types[p->n_types++] = V_SAMPLES;
        if (p->j->h->clock == SPT_CLOCK_WALL)
            p->types[p->n_types++] = V_WALL;
        p->types[p->n_types++] = V_CPU;
    }
    if (allocs) {
        p->types[p->n_types++] = V_ALLOC_OBJECTS;
        p->types[p->n_types++] = V_ALLOC_SPACE;
        p->types[p->n_types++] = V_INUSE_OBJECTS;
        p->types[p->n_types++] = V_INUSE_SPACE;
    }
}

static int type_of_metric(spa_metric metric) {
    switch (metric) {
    case SPA_METRIC_CPU:
        return V_CPU;
    case SPA_METRIC_WALL:
        return V_WALL;
    case SPA_METRIC_ALLOC_BYTES:
        return V_ALLOC_SPACE;
    case SPA_METRIC_ALLOC_COUNT:
        return V_ALLOC_OBJECTS;
    case SPA_METRIC_LIVE_BYTES:
        return V_INUSE_SPACE;
    }
    return V_CPU;
}

static void write_mappings(pp *p) {
    const spt_reader *r = p->j->r;
    for (uint32_t k = 0; k < p->n_maps; k++) {
        const mapping_info *mi = &p->maps[k];
        const spt_mapping *m = spt_reader_mapping(r, mi->reader_id);
        p->msg.len = 0;
        spc_pb_uint(&p->msg, 1, (uint64_t)k + 1);
        spc_pb_uint(&p->msg, 2, m->start);
        spc_pb_uint(&p->msg, 3, m->end);
        spc_pb_uint(&p->msg, 4, m->file_offset);
        spc_pb_int(&p->msg, 5, rstr(p, m->path));
        if (m->build_id_len) {
            char hex[2 * 64 + 1];
            for (size_t i = 0; i < m->build_id_len && i < 64; i++)
                snprintf(hex + 2 * i, 3, "%02x", m->build_id[i]);
            spc_pb_int(&p->msg, 6, cstr(p, hex));
        }
        if (mi->all_functions)
            spc_pb_uint(&p->msg, 7, 1);
        if (mi->all_files)
            spc_pb_uint(&p->msg, 8, 1);
        if (mi->all_lines)
            spc_pb_uint(&p->msg, 9, 1);
        if (mi->any_inline)
            spc_pb_uint(&p->msg, 10, 1);
        emit(p, P_MAPPING, &p->msg);
    }
}

/* Header facts: times, the period, comments, the default sample type. */
static void write_facts(pp *p) {
    const spc_job *j = p->j;
    const spt_header *h = j->h;
    uint64_t duration = spa_model_duration_ns(j->m);
    uint64_t end = j->to_ns && j->to_ns < duration ? j->to_ns : duration;
    emit_varint(p, P_TIME_NANOS, h->start_wall_ns + j->from_ns);
    emit_varint(p, P_DURATION_NANOS, end > j->from_ns ? end - j->from_ns : 0);
    int sampled = p->types[0] == V_SAMPLES;
    p->msg.len = 0;
    if (sampled) {
        value_type(p, &p->msg, h->clock == SPT_CLOCK_WALL ? V_WALL : V_CPU);
        emit(p, P_PERIOD_TYPE, &p->msg);
        emit_varint(p, P_PERIOD, h->interval_ns ? h->interval_ns : 1);
    } else {
        spc_pb_int(&p->msg, 1, cstr(p, "space"));
        spc_pb_int(&p->msg, 2, cstr(p, "bytes"));
        emit(p, P_PERIOD_TYPE, &p->msg);
        emit_varint(p, P_PERIOD, h->alloc_mode == SPT_ALLOC_SAMPLED ? h->alloc_sample_bytes : 1);
    }
    spc_buf c = {0};
    spc_buf_str(&c, "recorded by ");
    spc_buf_str(&c, h->recorder_version ? h->recorder_version : "spprof");
    emit_varint(p, P_COMMENT, (uint64_t)str(p, (const char *)c.p, c.failed ? 0 : c.len));
    c.len = 0;
    spc_buf_str(&c, "command:");
    for (uint32_t i = 0; i < h->argc && h->argv; i++) {
        spc_buf_byte(&c, ' ');
        spc_buf_str(&c, h->argv[i] ? h->argv[i] : "");
    }
    emit_varint(p, P_COMMENT, (uint64_t)str(p, (const char *)c.p, c.failed ? 0 : c.len));
    spc_buf_free(&c);
    int want = type_of_metric(j->metric);
    for (int k = 0; k < p->n_types; k++) {
        if (p->types[k] == want)
            emit_varint(p, P_DEFAULT_SAMPLE_TYPE, (uint64_t)cstr(p, type_names[want][0]));
    }
}

static void write_strings(pp *p) {
    for (uint32_t i = 0; i < p->strings.n; i++) {
        size_t len;
        const unsigned char *s = spc_intern_key(&p->strings, i, &len);
        p->rec.len = 0;
        spc_pb_bytes(&p->rec, P_STRING_TABLE, s, len);
        spc_gzip_write(p->gz, p->rec.p, p->rec.len);
    }
}

spt_status spc_write_pprof(spc_job *j, FILE *out) {
    pp p;
    memset(&p, 0, sizeof p);
    p.j = j;
    const spt_reader *r = j->r;
    p.str_memo = calloc((size_t)spt_reader_string_count(r) + 1, sizeof *p.str_memo);
    p.map_id = calloc((size_t)spt_reader_mapping_count(r) + 1, sizeof *p.map_id);
    p.maps = calloc((size_t)spt_reader_mapping_count(r) + 1, sizeof *p.maps);
    p.ignore_memo = calloc((size_t)spt_reader_frame_count(r) + 1, 1);
    p.frames = malloc((SPT_MAX_STACK_DEPTH + 1) * sizeof *p.frames);
    p.key = malloc((SPT_MAX_STACK_DEPTH + 3) * sizeof *p.key);
    p.ids = malloc((SPT_MAX_STACK_DEPTH + 1) * sizeof *p.ids);
    p.values = malloc(8 * sizeof *p.values);
    p.gz = spc_gzip_open(out);
    spt_status st = SPT_OK;
    if (!p.str_memo || !p.map_id || !p.maps || !p.ignore_memo || !p.frames || !p.key || !p.ids ||
        !p.values || !p.gz) {
        st = spc_job_fail(j, SPT_E_NOMEM, "out of memory");
        goto done;
    }
    cstr(&p, ""); /* string_table[0] must be "" */
    choose_types(&p);
    for (int k = 0; k < p.n_types; k++) {
        p.msg.len = 0;
        value_type(&p, &p.msg, p.types[k]);
        emit(&p, P_SAMPLE_TYPE, &p.msg);
    }
    size_t n_entries;
    const spa_entry *entries = spa_model_entries(j->m, &n_entries);
    for (size_t i = 0; i < n_entries && !p.failed; i++) {
        const spa_entry *e = &entries[i];
        if (!spa_model_thread_selected(j->m, e->thread) ||
            spa_view_node_of(j->v, e->stack) == SPA_VIEW_EXCLUDED || !sample_values(&p, &e->data))
            continue;
        write_sample(&p, e);
    }
    write_mappings(&p);
    write_facts(&p);
    write_strings(&p);
    if (p.failed || p.msg.failed || p.sub.failed || p.rec.failed || p.tmp.failed)
        st = spc_job_fail(j, SPT_E_NOMEM, "out of memory while writing the profile");
done:
    if (spc_gzip_close(p.gz) && st == SPT_OK && !ferror(out))
        st = spc_job_fail(j, SPT_E_NOMEM, "zlib failed to compress the profile");
    spc_buf_free(&p.msg);
    spc_buf_free(&p.sub);
    spc_buf_free(&p.rec);
    spc_buf_free(&p.tmp);
    spc_intern_free(&p.strings);
    spc_intern_free(&p.functions);
    spc_intern_free(&p.locations);
    free(p.str_memo);
    free(p.map_id);
    free(p.maps);
    free(p.ignore_memo);
    free(p.frames);
    free(p.key);
    free(p.ids);
    free(p.values);
    return st;
}
