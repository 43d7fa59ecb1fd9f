/* records.c: decodes records (docs/format.md section 5) into definition tables and events.
 * Every field comes through a bounded cursor and every id through the chunk's definitions, so a
 * hostile record can at worst be reported as damage. Nothing is allocated on a length's say-so:
 * tables grow by one definition at a time, within the reader's memory limit. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tracefmt/format.h"
#include "tracefmt/reader_int.h"
#include "tracefmt/varint.h"
#include "tracefmt/xalloc.h"

/* ---- table growth within the memory limit ------------------------------------------------ */

static int charge_grow(spt_reader *r, void **buf, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t old_bytes = *cap * elem;
    if (spt_xgrow(r->alloc, buf, cap, need, elem) != 0) {
        spt_rd_fatal(r, SPT_E_NOMEM, "out of memory after %zu bytes of tables", r->memory);
        return -1;
    }
    r->memory += *cap * elem - old_bytes;
    if (r->memory > r->max_memory) {
        spt_rd_fatal(r, SPT_E_NOMEM, "the reader's memory limit of %zu bytes was reached",
                     r->max_memory);
        return -1;
    }
    return 0;
}

static int map_insert(spt_reader *r, spt_map *m, uint64_t key, uint32_t id) {
    size_t before = spt_map_bytes(m);
    if (spt_map_insert(m, r->alloc, key, id) != 0) {
        spt_rd_fatal(r, SPT_E_NOMEM, "out of memory after %zu bytes of tables", r->memory);
        return -1;
    }
    r->memory += spt_map_bytes(m) - before;
    if (r->memory > r->max_memory) {
        spt_rd_fatal(r, SPT_E_NOMEM, "the reader's memory limit of %zu bytes was reached",
                     r->max_memory);
        return -1;
    }
    return 0;
}

/* Adds a new definition slot for file id `fid` to a table; returns our id or 0 (fatal). */
#define TABLE_ADD(r, table, fid, out_id)                                                           \
    do {                                                                                           \
        (out_id) = 0;                                                                              \
        if ((table).n >= UINT32_MAX) {                                                             \
            spt_rd_fatal((r), SPT_E_LIMIT, "more than 2^32 definitions of one kind");              \
            break;                                                                                 \
        }                                                                                          \
        if (charge_grow((r), (void **)&(table).v, &(table).cap, (table).n + 1,                     \
                        sizeof((table).v[0])) != 0)                                                \
            break;                                                                                 \
        uint32_t new_id_ = (uint32_t)(table).n;                                                    \
        if (map_insert((r), &(table).ids, (fid), new_id_) != 0)                                    \
            break;                                                                                 \
        memset(&(table).v[new_id_], 0, sizeof((table).v[0]));                                      \
        (table).n++;                                                                               \
        (out_id) = new_id_;                                                                        \
    } while (0)

static rd_result damaged(spt_reader *r, const char *what) {
    snprintf(r->damage_what, sizeof r->damage_what, "%s", what);
    return RD_DAMAGED;
}

__attribute__((format(printf, 2, 3))) static rd_result damagedf(spt_reader *r, const char *fmt,
                                                                ...);
static rd_result damagedf(spt_reader *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->damage_what, sizeof r->damage_what, fmt, ap);
    va_end(ap);
    return RD_DAMAGED;
}

/* ---- reference resolution ---------------------------------------------------------------- */

static uint32_t lookup_fid(const spt_map *ids, uint64_t fid) {
    return fid != 0 && fid <= UINT32_MAX ? spt_map_find(ids, fid, NULL, NULL) : 0;
}

/* Translates a file id into ours. 0 stays 0 when allow_none; anything else must have been
 * defined in the current chunk (its table entry carries this chunk's mark). Evaluates to 1, or
 * to 0 after recording the damage. */
#define RESOLVE(r, table, what, fid, allow_none, out)                                              \
    ((r)->tmp_id = lookup_fid(&(table).ids, (fid)),                                                \
     resolve_finish((r), (what), (fid), (allow_none), (out), (r)->tmp_id,                          \
                    (r)->tmp_id ? (table).v[(r)->tmp_id].mark : 0u))

static int resolve_finish(spt_reader *r, const char *what, uint64_t fid, int allow_none,
                          uint32_t *out, uint32_t id, uint32_t mark) {
    *out = 0;
    if (fid == 0) {
        if (allow_none)
            return 1;
        damagedf(r, "a record refers to %s 0", what);
        return 0;
    }
    if (!id || mark != r->chunk_gen) {
        damagedf(r, "a record refers to %s %llu, which this chunk does not define", what,
                 (unsigned long long)fid);
        return 0;
    }
    *out = id;
    return 1;
}

/* Looks up a definition's file id: evaluates to our id if already known (marking it defined in
 * this chunk), else 0. */
#define KNOWN(r, table, fid)                                                                       \
    ((r)->tmp_id = lookup_fid(&(table).ids, (fid)),                                                \
     (r)->tmp_id ? ((table).v[(r)->tmp_id].mark = (r)->chunk_gen, (r)->tmp_id) : 0u)

/* ---- definitions ------------------------------------------------------------------------- */

static rd_result def_string(spt_reader *r, spt_cursor *c) {
    uint64_t fid = spt_get_uv(c);
    if (!c->ok || fid == 0 || fid > UINT32_MAX)
        return damaged(r, "a string definition has a bad id");
    size_t len = spt_cursor_left(c);
    if (len > SPT_MAX_STRING_BYTES)
        return damaged(r, "a string is longer than 1 MiB");
    if (KNOWN(r, r->strings, fid))
        return RD_DEFINITION;
    uint32_t id;
    TABLE_ADD(r, r->strings, fid, id);
    if (!id || charge_grow(r, (void **)&r->arena, &r->arena_cap, r->arena_len + len + 1, 1))
        return RD_FATAL;
    rd_string *s = &r->strings.v[id];
    s->offset = r->arena_len;
    s->len = (uint32_t)len;
    s->mark = r->chunk_gen;
    memcpy(r->arena + r->arena_len, c->pos, len);
    r->arena[r->arena_len + len] = 0;
    r->arena_len += len + 1;
    return RD_DEFINITION;
}

static rd_result def_mapping(spt_reader *r, spt_cursor *c) {
    uint64_t fid = spt_get_uv(c);
    spt_mapping m;
    memset(&m, 0, sizeof m);
    m.start = spt_get_uv(c);
    uint64_t size = spt_get_uv(c);
    m.end = m.start + size;
    m.file_offset = spt_get_uv(c);
    uint64_t path_fid = spt_get_uv(c);
    size_t bid_len = 0;
    const uint8_t *bid = spt_get_str(c, SPT_MAX_BUILD_ID_BYTES, &bid_len);
    if (!c->ok || fid == 0 || fid > UINT32_MAX || m.end < m.start)
        return damaged(r, "a mapping definition is malformed");
    if (KNOWN(r, r->mappings, fid))
        return RD_DEFINITION;
    if (!RESOLVE(r, r->strings, "string", path_fid, 1, &m.path))
        return RD_DAMAGED;
    m.build_id_len = (uint8_t)bid_len;
    if (bid_len)
        memcpy(m.build_id, bid, bid_len);
    uint32_t id;
    TABLE_ADD(r, r->mappings, fid, id);
    if (!id)
        return RD_FATAL;
    r->mappings.v[id].v = m;
    r->mappings.v[id].mark = r->chunk_gen;
    return RD_DEFINITION;
}

static rd_result def_frame(spt_reader *r, spt_cursor *c, spt_frame_kind kind) {
    uint64_t fid = spt_get_uv(c);
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = kind;
    uint64_t map_fid = 0, fn_fid, file_fid, line, first_line = 0, flags;
    if (kind == SPT_FRAME_NATIVE) {
        f.address = spt_get_uv(c);
        map_fid = spt_get_uv(c);
        fn_fid = spt_get_uv(c);
        file_fid = spt_get_uv(c);
        line = spt_get_uv(c);
    } else {
        f.code_id = spt_get_uv(c);
        fn_fid = spt_get_uv(c);
        file_fid = spt_get_uv(c);
        first_line = spt_get_uv(c);
        line = spt_get_uv(c);
    }
    flags = spt_get_uv_or(c, 0);
    if (!c->ok || fid == 0 || fid > UINT32_MAX || line > UINT32_MAX || first_line > UINT32_MAX ||
        flags > UINT32_MAX)
        return damaged(r, "a frame definition is malformed");
    if (KNOWN(r, r->frames, fid))
        return RD_DEFINITION;
    if (!RESOLVE(r, r->strings, "string", fn_fid, 1, &f.function) ||
        !RESOLVE(r, r->strings, "string", file_fid, 1, &f.file) ||
        !RESOLVE(r, r->mappings, "mapping", map_fid, 1, &f.mapping))
        return RD_DAMAGED;
    f.line = (uint32_t)line;
    f.first_line = (uint32_t)first_line;
    f.flags = (uint32_t)flags;
    uint32_t id;
    TABLE_ADD(r, r->frames, fid, id);
    if (!id)
        return RD_FATAL;
    r->frames.v[id].v = f;
    r->frames.v[id].mark = r->chunk_gen;
    return RD_DEFINITION;
}

static rd_result def_stack(spt_reader *r, spt_cursor *c) {
    uint64_t fid = spt_get_uv(c);
    uint64_t parent_fid = spt_get_uv(c);
    uint64_t frame_fid = spt_get_uv(c);
    if (!c->ok || fid == 0 || fid > UINT32_MAX)
        return damaged(r, "a stack definition is malformed");
    if (KNOWN(r, r->stacks, fid))
        return RD_DEFINITION;
    spt_stack s;
    /* The parent must already be known, which also makes cycles impossible. */
    if (!RESOLVE(r, r->stacks, "stack", parent_fid, 1, &s.parent) ||
        !RESOLVE(r, r->frames, "frame", frame_fid, 0, &s.frame))
        return RD_DAMAGED;
    s.depth = s.parent ? r->stacks.v[s.parent].v.depth + 1 : 1;
    if (s.depth > SPT_MAX_STACK_DEPTH)
        return damaged(r, "a stack is deeper than 65,536 frames");
    uint32_t id;
    TABLE_ADD(r, r->stacks, fid, id);
    if (!id)
        return RD_FATAL;
    r->stacks.v[id].v = s;
    r->stacks.v[id].mark = r->chunk_gen;
    return RD_DEFINITION;
}

static rd_result def_thread(spt_reader *r, spt_cursor *c, spt_event *ev) {
    uint64_t fid = spt_get_uv(c);
    uint64_t os_tid = spt_get_uv(c);
    uint64_t name_fid = spt_get_uv(c);
    uint64_t start_ticks = spt_get_uv(c);
    if (!c->ok || fid == 0 || fid > UINT32_MAX || os_tid > UINT32_MAX)
        return damaged(r, "a thread definition is malformed");
    uint32_t name;
    if (!RESOLVE(r, r->strings, "string", name_fid, 1, &name))
        return RD_DAMAGED;
    uint32_t id = KNOWN(r, r->threads, fid);
    if (id) {
        /* A restatement carries the current name: a rename may have been in a lost chunk. */
        r->threads.v[id].v.name = name;
        return RD_DEFINITION;
    }
    TABLE_ADD(r, r->threads, fid, id);
    if (!id)
        return RD_FATAL;
    spt_thread *t = &r->threads.v[id].v;
    t->os_tid = (uint32_t)os_tid;
    t->name = name;
    t->start_ns = start_ticks * r->header.tick_ns;
    r->threads.v[id].mark = r->chunk_gen;
    ev->kind = SPT_EV_THREAD_START;
    ev->time_ns = t->start_ns;
    ev->thread = id;
    ev->u.thread_info.name = name;
    return RD_EVENT;
}

/* ---- events ------------------------------------------------------------------------------ */

static uint64_t get_time(spt_reader *r, spt_cursor *c) {
    r->time_reg += (uint64_t)spt_get_sv(c);
    return r->time_reg * r->header.tick_ns;
}

static uint64_t get_address(spt_reader *r, spt_cursor *c) {
    r->addr_reg += (uint64_t)spt_get_sv(c);
    return r->addr_reg;
}

#define NEED(cond, what)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return damaged(r, what);                                                               \
    } while (0)

static rd_result ev_end(spt_reader *r, spt_cursor *c, spt_event *ev) {
    spt_end *e = &ev->u.end;
    ev->time_ns = get_time(r, c);
    uint64_t reason = spt_get_uv(c);
    e->status = (int32_t)spt_get_sv(c);
    e->duration_ns = spt_get_uv(c);
    e->samples = spt_get_uv(c);
    e->sample_weight = spt_get_uv(c);
    e->allocs = spt_get_uv(c);
    e->frees = spt_get_uv(c);
    e->dropped_samples = spt_get_uv_or(c, 0);
    e->dropped_allocs = spt_get_uv_or(c, 0);
    e->allocs_seen = spt_get_uv_or(c, 0);
    e->recorder_cpu_ns = spt_get_uv_or(c, 0);
    e->process_cpu_ns = spt_get_uv_or(c, 0);
    NEED(c->ok && reason <= 255, "the END record is malformed");
    e->reason = (spt_end_reason)reason;
    r->stats.ended_cleanly = 1;
    r->stats.end = *e;
    return RD_EVENT;
}

static rd_result decode(spt_reader *r, uint8_t kind, spt_cursor *c, spt_event *ev) {
    uint64_t a, b;
    switch (kind) {
    case SPT_REC_STRING:
        return def_string(r, c);
    case SPT_REC_MAPPING:
        return def_mapping(r, c);
    case SPT_REC_NATIVE_FRAME:
        return def_frame(r, c, SPT_FRAME_NATIVE);
    case SPT_REC_PY_FRAME:
        return def_frame(r, c, SPT_FRAME_PYTHON);
    case SPT_REC_STACK:
        return def_stack(r, c);
    case SPT_REC_THREAD:
        return def_thread(r, c, ev);
    case SPT_REC_THREAD_NAME:
        ev->kind = SPT_EV_THREAD_NAME;
        a = spt_get_uv(c);
        ev->time_ns = get_time(r, c);
        b = spt_get_uv(c);
        NEED(c->ok, "a THREAD_NAME record is malformed");
        if (!RESOLVE(r, r->threads, "thread", a, 0, &ev->thread) ||
            !RESOLVE(r, r->strings, "string", b, 1, &ev->u.thread_info.name))
            return RD_DAMAGED;
        r->threads.v[ev->thread].v.name = ev->u.thread_info.name;
        return RD_EVENT;
    case SPT_REC_THREAD_END:
        ev->kind = SPT_EV_THREAD_END;
        a = spt_get_uv(c);
        ev->time_ns = get_time(r, c);
        NEED(c->ok, "a THREAD_END record is malformed");
        if (!RESOLVE(r, r->threads, "thread", a, 0, &ev->thread))
            return RD_DAMAGED;
        r->threads.v[ev->thread].v.end_ns = ev->time_ns;
        return RD_EVENT;
    case SPT_REC_SAMPLE:
    case SPT_REC_SAMPLE_TOTAL:
        ev->kind = SPT_EV_SAMPLE;
        a = spt_get_uv(c);
        ev->time_ns = get_time(r, c);
        b = spt_get_uv(c);
        if (kind == SPT_REC_SAMPLE) {
            ev->u.sample.count = 1;
            ev->u.sample.weight = spt_get_uv_or(c, 1);
        } else {
            ev->u.sample.count = spt_get_uv(c);
            ev->u.sample.weight = spt_get_uv(c);
            ev->u.sample.aggregated = 1;
        }
        uint64_t flags = spt_get_uv_or(c, 0);
        NEED(c->ok && flags <= UINT32_MAX, "a SAMPLE record is malformed");
        ev->u.sample.flags = (uint32_t)flags;
        if (!RESOLVE(r, r->threads, "thread", a, 1, &ev->thread) ||
            !RESOLVE(r, r->stacks, "stack", b, 1, &ev->u.sample.stack))
            return RD_DAMAGED;
        return RD_EVENT;
    case SPT_REC_ALLOC:
        ev->kind = SPT_EV_ALLOC;
        a = spt_get_uv(c);
        ev->time_ns = get_time(r, c);
        ev->u.alloc.address = get_address(r, c);
        ev->u.alloc.size_bytes = spt_get_uv(c);
        b = spt_get_uv(c);
        ev->u.alloc.weight_bytes = spt_get_uv_or(c, ev->u.alloc.size_bytes);
        NEED(c->ok, "an ALLOC record is malformed");
        if (!RESOLVE(r, r->threads, "thread", a, 1, &ev->thread) ||
            !RESOLVE(r, r->stacks, "stack", b, 1, &ev->u.alloc.stack))
            return RD_DAMAGED;
        return RD_EVENT;
    case SPT_REC_FREE:
        ev->kind = SPT_EV_FREE;
        a = spt_get_uv(c);
        ev->time_ns = get_time(r, c);
        ev->u.free.address = get_address(r, c);
        NEED(c->ok, "a FREE record is malformed");
        if (!RESOLVE(r, r->threads, "thread", a, 1, &ev->thread))
            return RD_DAMAGED;
        return RD_EVENT;
    case SPT_REC_ALLOC_TOTAL:
        ev->kind = SPT_EV_ALLOC_TOTAL;
        a = spt_get_uv(c);
        ev->time_ns = get_time(r, c);
        b = spt_get_uv(c);
        ev->u.alloc_total.alloc_count = spt_get_uv(c);
        ev->u.alloc_total.alloc_bytes = spt_get_uv(c);
        ev->u.alloc_total.live_count = spt_get_uv(c);
        ev->u.alloc_total.live_bytes = spt_get_uv(c);
        NEED(c->ok, "an ALLOC_TOTAL record is malformed");
        if (!RESOLVE(r, r->threads, "thread", a, 1, &ev->thread) ||
            !RESOLVE(r, r->stacks, "stack", b, 1, &ev->u.alloc_total.stack))
            return RD_DAMAGED;
        return RD_EVENT;
    case SPT_REC_MARKER:
        ev->kind = SPT_EV_MARKER;
        a = spt_get_uv(c);
        ev->time_ns = get_time(r, c);
        b = spt_get_uv(c);
        NEED(c->ok, "a MARKER record is malformed");
        if (!RESOLVE(r, r->threads, "thread", a, 1, &ev->thread) ||
            !RESOLVE(r, r->strings, "string", b, 1, &ev->u.marker.text))
            return RD_DAMAGED;
        return RD_EVENT;
    case SPT_REC_DROPS:
        ev->kind = SPT_EV_DROPS;
        ev->time_ns = get_time(r, c);
        a = spt_get_uv(c);
        ev->u.drops.count = spt_get_uv(c);
        NEED(c->ok && a <= 255, "a DROPS record is malformed");
        ev->u.drops.reason = (spt_drop_reason)a;
        return RD_EVENT;
    case SPT_REC_CHILD:
        ev->kind = SPT_EV_CHILD;
        ev->time_ns = get_time(r, c);
        a = spt_get_uv(c);
        b = spt_get_uv(c);
        uint64_t path = spt_get_uv(c);
        NEED(c->ok && a <= 255 && b <= UINT32_MAX, "a CHILD record is malformed");
        ev->u.child.kind = (spt_child_kind)a;
        ev->u.child.pid = (uint32_t)b;
        if (!RESOLVE(r, r->strings, "string", path, 1, &ev->u.child.trace_path))
            return RD_DAMAGED;
        return RD_EVENT;
    case SPT_REC_METADATA:
        ev->kind = SPT_EV_METADATA;
        ev->time_ns = get_time(r, c);
        a = spt_get_uv(c);
        b = spt_get_uv(c);
        NEED(c->ok, "a METADATA record is malformed");
        if (!RESOLVE(r, r->strings, "string", a, 1, &ev->u.metadata.key) ||
            !RESOLVE(r, r->strings, "string", b, 1, &ev->u.metadata.value))
            return RD_DAMAGED;
        return RD_EVENT;
    case SPT_REC_END:
        ev->kind = SPT_EV_END;
        return ev_end(r, c, ev);
    default:
        r->stats.unknown_records++;
        r->unknown_by_kind[kind]++;
        return RD_DEFINITION;
    }
}

rd_result spt_rd_record(spt_reader *r, uint8_t kind, const uint8_t *payload, size_t len,
                        spt_event *ev) {
    spt_cursor c = spt_cursor_make(payload, len);
    memset(ev, 0, sizeof *ev);
    rd_result res = decode(r, kind, &c, ev);
    if (res == RD_EVENT) {
        if ((unsigned)ev->kind < sizeof r->stats.events / sizeof r->stats.events[0])
            r->stats.events[ev->kind]++;
        if (ev->time_ns > r->stats.last_time_ns && ev->kind != SPT_EV_END)
            r->stats.last_time_ns = ev->time_ns;
    }
    return res;
}

void spt_rd_chunk_begin(spt_reader *r, uint64_t base_ticks) {
    r->time_reg = base_ticks;
    r->addr_reg = 0;
}

void spt_rd_tables_free(spt_reader *r) {
    const spt_allocator *a = r->alloc;
    spt_xfree(a, r->arena);
    spt_xfree(a, r->strings.v);
    spt_xfree(a, r->mappings.v);
    spt_xfree(a, r->frames.v);
    spt_xfree(a, r->stacks.v);
    spt_xfree(a, r->threads.v);
    spt_map_free(&r->strings.ids, a);
    spt_map_free(&r->mappings.ids, a);
    spt_map_free(&r->frames.ids, a);
    spt_map_free(&r->stacks.ids, a);
    spt_map_free(&r->threads.ids, a);
}

/* ---- public lookups ---------------------------------------------------------------------- */

const char *spt_reader_string(const spt_reader *r, uint32_t id) {
    if (!r || id == 0 || id >= r->strings.n)
        return "";
    return (const char *)r->arena + r->strings.v[id].offset;
}

size_t spt_reader_string_len(const spt_reader *r, uint32_t id) {
    if (!r || id == 0 || id >= r->strings.n)
        return 0;
    return r->strings.v[id].len;
}

const spt_mapping *spt_reader_mapping(const spt_reader *r, uint32_t id) {
    return r && id && id < r->mappings.n ? &r->mappings.v[id].v : NULL;
}

const spt_frame *spt_reader_frame(const spt_reader *r, uint32_t id) {
    return r && id && id < r->frames.n ? &r->frames.v[id].v : NULL;
}

const spt_stack *spt_reader_stack(const spt_reader *r, uint32_t id) {
    return r && id && id < r->stacks.n ? &r->stacks.v[id].v : NULL;
}

const spt_thread *spt_reader_thread(const spt_reader *r, uint32_t id) {
    return r && id && id < r->threads.n ? &r->threads.v[id].v : NULL;
}

#define COUNT(table) ((table).n ? (uint32_t)((table).n - 1) : 0u)

uint32_t spt_reader_string_count(const spt_reader *r) {
    return r ? COUNT(r->strings) : 0;
}

uint32_t spt_reader_mapping_count(const spt_reader *r) {
    return r ? COUNT(r->mappings) : 0;
}

uint32_t spt_reader_frame_count(const spt_reader *r) {
    return r ? COUNT(r->frames) : 0;
}

uint32_t spt_reader_stack_count(const spt_reader *r) {
    return r ? COUNT(r->stacks) : 0;
}

uint32_t spt_reader_thread_count(const spt_reader *r) {
    return r ? COUNT(r->threads) : 0;
}
