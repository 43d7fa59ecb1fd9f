/* tracegen.c: the writer-side mirror (tracegen.h) and a seeded random record stream that touches
 * every record kind, the largest value of every field, and shared stack prefixes. */
#include "tests/tracefmt/tracegen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tracekit.h"

/* Grows a table indexed by id so that slot `id` exists; new slots are zeroed. */
static void *grow_table(void *table, uint32_t *cap, uint32_t id, size_t elem_bytes) {
    if (id < *cap) {
        return table;
    }
    uint32_t new_cap = *cap ? *cap : 16;
    while (new_cap <= id) {
        new_cap *= 2;
    }
    table = tk_xrealloc(table, (size_t)new_cap * elem_bytes);
    memset((char *)table + (size_t)*cap * elem_bytes, 0, (size_t)(new_cap - *cap) * elem_bytes);
    *cap = new_cap;
    return table;
}

__attribute__((format(printf, 2, 3))) static void fail(tg_model *m, const char *fmt, ...) {
    m->failures++;
    if (m->failures > 1) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->first_failure, sizeof m->first_failure, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof m->first_failure && m->w != NULL) {
        snprintf(m->first_failure + n, sizeof m->first_failure - (size_t)n, " [writer: %s]",
                 spt_writer_error(m->w));
    }
}

void tg_model_init(tg_model *m, spt_writer *w) {
    memset(m, 0, sizeof *m);
    m->w = w;
}

void tg_model_free(tg_model *m) {
    for (uint32_t i = 0; i < m->cap_strings; i++) {
        free(m->strings[i].bytes);
    }
    free(m->strings);
    free(m->mappings);
    free(m->frames);
    free(m->stacks);
    free(m->threads);
    free(m->events);
    spt_writer *w = m->w;
    memset(m, 0, sizeof *m);
    m->w = w;
}

static spt_event *add_event(tg_model *m, spt_event_kind kind, uint64_t time_ns, uint32_t thread) {
    if (m->n_events == m->cap_events) {
        m->cap_events = m->cap_events ? m->cap_events * 2 : 256;
        m->events = tk_xrealloc(m->events, m->cap_events * sizeof *m->events);
    }
    spt_event *ev = &m->events[m->n_events++];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->time_ns = time_ns;
    ev->thread = thread;
    return ev;
}

/* Checks that `id` is either known (then `same` says whether the content matches) or exactly
 * the next fresh id (§5.2: ids run from 1 upward in interning order). Returns 1 if it is new. */
static int check_id(tg_model *m, const char *what, uint32_t id, uint32_t n_known, int known_same) {
    if (id <= n_known) {
        if (!known_same) {
            fail(m, "writer returned %s id %u for content that differs from its first use", what,
                 id);
        }
        return 0;
    }
    if (id != n_known + 1) {
        fail(m, "writer returned %s id %u; the next fresh id was %u", what, id, n_known + 1);
    }
    return 1;
}

uint32_t tg_string(tg_model *m, const void *bytes, size_t len) {
    uint32_t id = spt_writer_string(m->w, bytes, len);
    if (len == 0) {
        if (id != 0) {
            fail(m, "the empty string got id %u, not 0", id);
        }
        return id;
    }
    if (id == 0) {
        fail(m, "spt_writer_string(%zu bytes) failed", len);
        return 0;
    }
    int same = id <= m->n_strings && m->strings[id].len == len &&
               memcmp(m->strings[id].bytes, bytes, len) == 0;
    if (check_id(m, "string", id, m->n_strings, same)) {
        m->strings = grow_table(m->strings, &m->cap_strings, id, sizeof *m->strings);
        free(m->strings[id].bytes);
        m->strings[id].bytes = tk_xrealloc(NULL, len + 1);
        memcpy(m->strings[id].bytes, bytes, len);
        m->strings[id].bytes[len] = '\0';
        m->strings[id].len = len;
        m->n_strings = id > m->n_strings ? id : m->n_strings;
    }
    return id;
}

uint32_t tg_cstring(tg_model *m, const char *s) {
    return tg_string(m, s, strlen(s));
}

static int mapping_equal(const spt_mapping *a, const spt_mapping *b) {
    return a->start == b->start && a->end == b->end && a->file_offset == b->file_offset &&
           a->path == b->path && a->build_id_len == b->build_id_len &&
           memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
}

uint32_t tg_mapping(tg_model *m, const spt_mapping *mapping) {
    uint32_t id = spt_writer_mapping(m->w, mapping);
    if (id == 0) {
        fail(m, "spt_writer_mapping failed");
        return 0;
    }
    int same = id <= m->n_mappings && mapping_equal(&m->mappings[id], mapping);
    if (check_id(m, "mapping", id, m->n_mappings, same)) {
        m->mappings = grow_table(m->mappings, &m->cap_mappings, id, sizeof *m->mappings);
        m->mappings[id] = *mapping;
        memset(m->mappings[id].build_id + mapping->build_id_len, 0,
               sizeof mapping->build_id - mapping->build_id_len);
        m->n_mappings = id;
    }
    return id;
}

/* The frame as the reader will hand it back: fields of the other kind are zero. */
static spt_frame normalized_frame(const spt_frame *f) {
    spt_frame n = *f;
    if (n.kind == SPT_FRAME_NATIVE) {
        n.code_id = 0;
        n.first_line = 0;
    } else {
        n.address = 0;
        n.mapping = 0;
    }
    return n;
}

static int frame_equal(const spt_frame *a, const spt_frame *b) {
    return a->kind == b->kind && a->function == b->function && a->file == b->file &&
           a->line == b->line && a->flags == b->flags && a->address == b->address &&
           a->mapping == b->mapping && a->code_id == b->code_id && a->first_line == b->first_line;
}

uint32_t tg_frame(tg_model *m, const spt_frame *frame) {
    uint32_t id = spt_writer_frame(m->w, frame);
    if (id == 0) {
        fail(m, "spt_writer_frame failed");
        return 0;
    }
    spt_frame n = normalized_frame(frame);
    int same = id <= m->n_frames && frame_equal(&m->frames[id], &n);
    if (check_id(m, "frame", id, m->n_frames, same)) {
        m->frames = grow_table(m->frames, &m->cap_frames, id, sizeof *m->frames);
        m->frames[id] = n;
        m->n_frames = id;
    }
    return id;
}

uint32_t tg_stack(tg_model *m, uint32_t parent, uint32_t frame) {
    uint32_t id = spt_writer_stack(m->w, parent, frame);
    if (id == 0) {
        fail(m, "spt_writer_stack(%u, %u) failed", parent, frame);
        return 0;
    }
    int same = id <= m->n_stacks && m->stacks[id].parent == parent && m->stacks[id].frame == frame;
    if (check_id(m, "stack", id, m->n_stacks, same)) {
        m->stacks = grow_table(m->stacks, &m->cap_stacks, id, sizeof *m->stacks);
        m->stacks[id].parent = parent;
        m->stacks[id].frame = frame;
        m->stacks[id].depth = parent && parent < id ? m->stacks[parent].depth + 1 : 1;
        m->n_stacks = id;
        if (parent >= id) {
            fail(m, "stack %u has parent %u; a node's id must be larger than its parent's", id,
                 parent);
        }
    }
    return id;
}

uint32_t tg_stack_path(tg_model *m, const uint32_t *frames, size_t n) {
    uint32_t id = spt_writer_stack_path(m->w, frames, n);
    if (n == 0) {
        if (id != 0) {
            fail(m, "the empty stack path got id %u, not 0", id);
        }
        return id;
    }
    if (id == 0) {
        fail(m, "spt_writer_stack_path(%zu frames) failed", n);
        return 0;
    }
    uint32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        node = tg_stack(m, node, frames[i]);
    }
    if (node != id) {
        fail(m, "spt_writer_stack_path gave %u but the same path node by node gave %u", id, node);
    }
    return id;
}

uint32_t tg_thread(tg_model *m, uint32_t os_tid, uint32_t name, uint64_t start_ns) {
    uint32_t id = spt_writer_thread(m->w, os_tid, name, start_ns);
    if (id == 0) {
        fail(m, "spt_writer_thread(%u) failed", os_tid);
        return 0;
    }
    if (id != m->n_threads + 1) {
        fail(m, "spt_writer_thread returned %u; each call defines a new thread, %u expected", id,
             m->n_threads + 1);
        if (id <= m->n_threads) {
            return id;
        }
    }
    m->threads = grow_table(m->threads, &m->cap_threads, id, sizeof *m->threads);
    m->threads[id].def.os_tid = os_tid;
    m->threads[id].def.name = name;
    m->threads[id].def.start_ns = start_ns;
    m->n_threads = id;
    spt_event *ev = add_event(m, SPT_EV_THREAD_START, start_ns, id);
    ev->u.thread_info.name = name;
    return id;
}

static spt_status check_status(tg_model *m, spt_status st, const char *what) {
    if (st != SPT_OK) {
        fail(m, "%s returned %s", what, spt_status_name(st));
    }
    return st;
}

spt_status tg_thread_name(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t name) {
    spt_status st = check_status(m, spt_writer_thread_name(m->w, thread, time_ns, name),
                                 "spt_writer_thread_name");
    if (st == SPT_OK && (thread == 0 || thread > m->n_threads)) {
        fail(m, "spt_writer_thread_name accepted unknown thread %u", thread);
    } else if (st == SPT_OK) {
        add_event(m, SPT_EV_THREAD_NAME, time_ns, thread)->u.thread_info.name = name;
        m->threads[thread].def.name = name;
    }
    return st;
}

spt_status tg_thread_end(tg_model *m, uint32_t thread, uint64_t time_ns) {
    spt_status st =
        check_status(m, spt_writer_thread_end(m->w, thread, time_ns), "spt_writer_thread_end");
    if (st == SPT_OK && (thread == 0 || thread > m->n_threads)) {
        fail(m, "spt_writer_thread_end accepted unknown thread %u", thread);
    } else if (st == SPT_OK) {
        add_event(m, SPT_EV_THREAD_END, time_ns, thread);
        m->threads[thread].def.end_ns = time_ns;
        m->threads[thread].ended = 1;
    }
    return st;
}

spt_status tg_sample(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t stack,
                     uint64_t weight, uint32_t flags) {
    spt_status st = check_status(m, spt_writer_sample(m->w, thread, time_ns, stack, weight, flags),
                                 "spt_writer_sample");
    if (st == SPT_OK) {
        spt_event *ev = add_event(m, SPT_EV_SAMPLE, time_ns, thread);
        ev->u.sample.stack = stack;
        ev->u.sample.weight = weight;
        ev->u.sample.count = 1;
        ev->u.sample.flags = flags;
        m->samples++;
        m->sample_weight += weight;
    }
    return st;
}

spt_status tg_sample_total(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t stack,
                           uint64_t count, uint64_t weight, uint32_t flags) {
    spt_status st =
        check_status(m, spt_writer_sample_total(m->w, thread, time_ns, stack, count, weight, flags),
                     "spt_writer_sample_total");
    if (st == SPT_OK) {
        spt_event *ev = add_event(m, SPT_EV_SAMPLE, time_ns, thread);
        ev->u.sample.stack = stack;
        ev->u.sample.weight = weight;
        ev->u.sample.count = count;
        ev->u.sample.flags = flags;
        ev->u.sample.aggregated = 1;
        m->samples += count; /* END counts what a total stands for (docs/format.md 5.4) */
        m->sample_weight += weight;
    }
    return st;
}

spt_status tg_alloc(tg_model *m, uint32_t thread, uint64_t time_ns, uint64_t address,
                    uint64_t size_bytes, uint64_t weight_bytes, uint32_t stack) {
    spt_status st = check_status(
        m, spt_writer_alloc(m->w, thread, time_ns, address, size_bytes, weight_bytes, stack),
        "spt_writer_alloc");
    if (st == SPT_OK) {
        spt_event *ev = add_event(m, SPT_EV_ALLOC, time_ns, thread);
        ev->u.alloc.stack = stack;
        ev->u.alloc.address = address;
        ev->u.alloc.size_bytes = size_bytes;
        ev->u.alloc.weight_bytes = weight_bytes;
        m->allocs++;
    }
    return st;
}

spt_status tg_free(tg_model *m, uint32_t thread, uint64_t time_ns, uint64_t address) {
    spt_status st =
        check_status(m, spt_writer_free(m->w, thread, time_ns, address), "spt_writer_free");
    if (st == SPT_OK) {
        add_event(m, SPT_EV_FREE, time_ns, thread)->u.free.address = address;
        m->frees++;
    }
    return st;
}

spt_status tg_alloc_total(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t stack,
                          uint64_t alloc_count, uint64_t alloc_bytes, uint64_t live_count,
                          uint64_t live_bytes) {
    spt_status st = check_status(m,
                                 spt_writer_alloc_total(m->w, thread, time_ns, stack, alloc_count,
                                                        alloc_bytes, live_count, live_bytes),
                                 "spt_writer_alloc_total");
    if (st == SPT_OK) {
        spt_event *ev = add_event(m, SPT_EV_ALLOC_TOTAL, time_ns, thread);
        ev->u.alloc_total.stack = stack;
        ev->u.alloc_total.alloc_count = alloc_count;
        ev->u.alloc_total.alloc_bytes = alloc_bytes;
        ev->u.alloc_total.live_count = live_count;
        ev->u.alloc_total.live_bytes = live_bytes;
    }
    return st;
}

spt_status tg_marker(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t text) {
    spt_status st =
        check_status(m, spt_writer_marker(m->w, thread, time_ns, text), "spt_writer_marker");
    if (st == SPT_OK) {
        add_event(m, SPT_EV_MARKER, time_ns, thread)->u.marker.text = text;
    }
    return st;
}

spt_status tg_drops(tg_model *m, uint64_t time_ns, spt_drop_reason reason, uint64_t count) {
    spt_status st =
        check_status(m, spt_writer_drops(m->w, time_ns, reason, count), "spt_writer_drops");
    if (st == SPT_OK) {
        spt_event *ev = add_event(m, SPT_EV_DROPS, time_ns, 0);
        ev->u.drops.reason = reason;
        ev->u.drops.count = count;
    }
    return st;
}

spt_status tg_child(tg_model *m, uint64_t time_ns, spt_child_kind kind, uint32_t pid,
                    uint32_t trace_path) {
    spt_status st =
        check_status(m, spt_writer_child(m->w, time_ns, kind, pid, trace_path), "spt_writer_child");
    if (st == SPT_OK) {
        spt_event *ev = add_event(m, SPT_EV_CHILD, time_ns, 0);
        ev->u.child.kind = kind;
        ev->u.child.pid = pid;
        ev->u.child.trace_path = trace_path;
    }
    return st;
}

spt_status tg_metadata(tg_model *m, uint64_t time_ns, uint32_t key, uint32_t value) {
    spt_status st =
        check_status(m, spt_writer_metadata(m->w, time_ns, key, value), "spt_writer_metadata");
    if (st == SPT_OK) {
        spt_event *ev = add_event(m, SPT_EV_METADATA, time_ns, 0);
        ev->u.metadata.key = key;
        ev->u.metadata.value = value;
    }
    return st;
}

spt_status tg_flush(tg_model *m) {
    return check_status(m, spt_writer_flush(m->w), "spt_writer_flush");
}

spt_status tg_close(tg_model *m, const spt_end *end) {
    if (end != NULL) {
        spt_event *ev = add_event(m, SPT_EV_END, 0, 0);
        ev->u.end = *end;
        ev->u.end.samples = m->samples;
        ev->u.end.sample_weight = m->sample_weight;
        ev->u.end.allocs = m->allocs;
        ev->u.end.frees = m->frees;
    }
    spt_status st = spt_writer_close(m->w, end);
    m->w = NULL;
    if (st != SPT_OK) {
        fail(m, "spt_writer_close returned %s", spt_status_name(st));
    }
    return st;
}

uint64_t tg_rand(tg_rng *rng) {
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t tg_rand_below(tg_rng *rng, uint64_t bound) {
    return tg_rand(rng) % bound;
}

spt_header tg_default_header(uint64_t tick_ns) {
    static const char *const argv[] = {"/usr/bin/python3", "-c", "print('hi')", ""};
    spt_header h;
    memset(&h, 0, sizeof h);
    h.recorder_version = "spprof 0.1.0-test";
    h.start_wall_ns = 1700000000123456789ull;
    h.start_mono_ns = 987654321000ull;
    h.tick_ns = tick_ns;
    h.pid = 4242;
    h.ppid = 1;
    h.executable = "/usr/bin/python3.11";
    h.argc = 4;
    h.argv = argv;
    h.hostname = "testhost";
    h.arch = "x86_64";
    h.clock = SPT_CLOCK_WALL;
    h.interval_ns = 10000000;
    h.alloc_mode = SPT_ALLOC_SAMPLED;
    h.alloc_sample_bytes = 524288;
    h.python_version = 0x030B04F0;
    h.max_depth = SPT_MAX_STACK_DEPTH;
    h.trace_id = "run-0123456789abcdef";
    h.parent_trace = "";
    return h;
}

spt_end tg_default_end(void) {
    spt_end e;
    memset(&e, 0, sizeof e);
    e.reason = SPT_END_SIGNAL;
    e.status = -9;
    e.duration_ns = 123456789012ull;
    e.dropped_samples = 17;
    e.dropped_allocs = UINT64_MAX;
    e.allocs_seen = 1ull << 40;
    e.recorder_cpu_ns = 5000000;
    e.process_cpu_ns = 900000000;
    return e;
}

/* ---- the random stream ---------------------------------------------------------------------- */

enum { N_NAMES = 24, N_FILES = 8, N_BLOBS = 8, N_MAPS = 6, N_FRAMES = 64, N_PATHS = 24 };

typedef struct {
    tg_model *m;
    tg_rng rng;
    const tg_gen_options *o;
    uint32_t names[N_NAMES];
    uint32_t files[N_FILES];
    uint32_t blobs[N_BLOBS];
    uint32_t big; /* the 1 MiB string, extremes only */
    int big_uses;
    uint32_t maps[N_MAPS + 1];
    uint32_t n_maps;
    uint32_t frames[N_FRAMES + 4];
    uint32_t n_frames;
    uint32_t stacks[N_PATHS];
    uint32_t *paths[N_PATHS]; /* frame ids of each stack, outermost first */
    size_t path_len[N_PATHS];
    uint32_t live[64]; /* threads not yet ended */
    size_t n_live;
    uint32_t next_tid;
    uint64_t addrs[256]; /* live allocations to free */
    size_t n_addrs;
} gen_state;

static uint32_t pick_string(gen_state *g) {
    uint64_t r = tg_rand_below(&g->rng, 10);
    if (r < 6) {
        return g->names[tg_rand_below(&g->rng, N_NAMES)];
    }
    if (r < 9) {
        return g->blobs[tg_rand_below(&g->rng, N_BLOBS)];
    }
    return 0; /* the empty string */
}

static uint64_t maybe_max(gen_state *g, uint64_t usual) {
    return g->o->extremes && tg_rand_below(&g->rng, 25) == 0 ? UINT64_MAX : usual;
}

static void gen_definitions(gen_state *g) {
    tg_model *m = g->m;
    char buf[128];
    for (int i = 0; i < N_NAMES; i++) {
        snprintf(buf, sizeof buf, "fn_%d_%llx", i, (unsigned long long)tg_rand(&g->rng));
        g->names[i] = tg_cstring(m, buf);
    }
    for (int i = 0; i < N_FILES; i++) {
        snprintf(buf, sizeof buf, i % 2 ? "/src/module_%d.c" : "/usr/lib/python3.11/mod_%d.py", i);
        g->files[i] = tg_cstring(m, buf);
    }
    for (int i = 0; i < N_BLOBS; i++) {
        size_t len = 1 + tg_rand_below(&g->rng, 80);
        for (size_t j = 0; j < len; j++) {
            buf[j] = (char)tg_rand_below(&g->rng, 256); /* any bytes, NUL and 0xFF included */
        }
        g->blobs[i] = tg_string(m, buf, len);
    }
    /* Interning the same bytes again must give the same id. */
    if (g->names[0] != 0 &&
        tg_string(m, m->strings[g->names[0]].bytes, m->strings[g->names[0]].len) != g->names[0]) {
        fail(m, "re-interning a string gave a new id");
    }
    if (g->o->extremes) {
        char *big = tk_xrealloc(NULL, SPT_MAX_STRING_BYTES);
        for (size_t j = 0; j < SPT_MAX_STRING_BYTES; j++) {
            big[j] = (char)(tg_rand(&g->rng) >> 56);
        }
        g->big = tg_string(m, big, SPT_MAX_STRING_BYTES);
        free(big);
    }

    g->maps[g->n_maps++] = 0; /* frames may have no mapping */
    for (int i = 0; i < N_MAPS; i++) {
        spt_mapping mp;
        memset(&mp, 0, sizeof mp);
        mp.start = (0x550000000000ull + tg_rand_below(&g->rng, 1ull << 40)) & ~0xFFFull;
        mp.end = mp.start + 4096 * (1 + tg_rand_below(&g->rng, 1 << 18));
        mp.file_offset = 4096 * tg_rand_below(&g->rng, 1024);
        mp.path = g->files[tg_rand_below(&g->rng, N_FILES)];
        static const uint8_t id_lens[] = {0, 20, 64, 1, 16, 64};
        mp.build_id_len = id_lens[i];
        for (int j = 0; j < mp.build_id_len; j++) {
            mp.build_id[j] = (uint8_t)tg_rand(&g->rng);
        }
        if (g->o->extremes && i == 0) {
            mp.start = UINT64_MAX - 0xFFF;
            mp.end = UINT64_MAX;
            mp.file_offset = UINT64_MAX;
        }
        g->maps[g->n_maps++] = tg_mapping(m, &mp);
        /* And again: same content, same id. */
        if (i == 1 && tg_mapping(m, &mp) != g->maps[g->n_maps - 1]) {
            fail(m, "re-interning a mapping gave a new id");
        }
    }

    for (int i = 0; i < N_FRAMES; i++) {
        spt_frame f;
        memset(&f, 0, sizeof f);
        f.function = tg_rand_below(&g->rng, 10) ? g->names[tg_rand_below(&g->rng, N_NAMES)] : 0;
        f.file = tg_rand_below(&g->rng, 10) ? g->files[tg_rand_below(&g->rng, N_FILES)] : 0;
        f.line = (uint32_t)tg_rand_below(&g->rng, 5000);
        if (i % 3 != 2) {
            f.kind = SPT_FRAME_NATIVE;
            f.mapping = g->maps[tg_rand_below(&g->rng, g->n_maps)];
            f.address = 0x400000 + tg_rand_below(&g->rng, 1ull << 44);
            f.flags = (uint32_t)tg_rand_below(&g->rng, 4);
        } else {
            f.kind = SPT_FRAME_PYTHON;
            f.code_id = tg_rand(&g->rng);
            f.first_line = (uint32_t)tg_rand_below(&g->rng, 3000);
            f.flags = (uint32_t)tg_rand_below(&g->rng, 2) * SPT_FRAME_SYNTHETIC;
        }
        g->frames[g->n_frames++] = tg_frame(m, &f);
        if (i == 5 && tg_frame(m, &f) != g->frames[g->n_frames - 1]) {
            fail(m, "re-interning a frame gave a new id");
        }
    }
    if (g->o->extremes) {
        spt_frame f;
        memset(&f, 0, sizeof f);
        f.kind = SPT_FRAME_NATIVE;
        f.function = g->names[1];
        f.file = g->files[1];
        f.line = UINT32_MAX;
        f.flags = SPT_FRAME_INLINED | SPT_FRAME_SYNTHETIC;
        f.address = UINT64_MAX;
        f.mapping = g->maps[1];
        g->frames[g->n_frames++] = tg_frame(m, &f);
        f.address = 0;
        f.line = 0;
        f.function = 0;
        f.file = 0;
        f.flags = 0;
        f.mapping = 0;
        g->frames[g->n_frames++] = tg_frame(m, &f);
        memset(&f, 0, sizeof f);
        f.kind = SPT_FRAME_PYTHON;
        f.function = g->names[2];
        f.file = g->files[0];
        f.line = UINT32_MAX;
        f.first_line = UINT32_MAX;
        f.code_id = UINT64_MAX;
        g->frames[g->n_frames++] = tg_frame(m, &f);
    }

    for (int i = 0; i < N_PATHS; i++) {
        size_t depth = 1 + tg_rand_below(&g->rng, g->o->max_depth ? g->o->max_depth : 1);
        uint32_t *path = tk_xrealloc(NULL, depth * sizeof *path);
        size_t keep = 0;
        if (i > 0 && tg_rand_below(&g->rng, 2)) { /* share a prefix with an earlier stack */
            int other = (int)tg_rand_below(&g->rng, (uint64_t)i);
            keep = 1 + tg_rand_below(&g->rng, g->path_len[other]);
            keep = keep < depth ? keep : depth;
            memcpy(path, g->paths[other], keep * sizeof *path);
        }
        for (size_t j = keep; j < depth; j++) {
            path[j] = g->frames[tg_rand_below(&g->rng, g->n_frames)];
        }
        g->paths[i] = path;
        g->path_len[i] = depth;
        g->stacks[i] = tg_stack_path(m, path, depth);
    }
}

static uint32_t new_thread(gen_state *g, uint64_t start_ns) {
    uint32_t tid = g->next_tid++;
    if (g->o->extremes && tid % 7 == 3) {
        tid = UINT32_MAX;
    } else if (g->m->n_threads > 2 && tg_rand_below(&g->rng, 4) == 0) {
        tid = g->m->threads[1 + tg_rand_below(&g->rng, g->m->n_threads)].def.os_tid; /* reused */
    }
    /* Tests tell threads apart by (os_tid, start_ns); keep that pair unique. */
    for (uint32_t i = 1; i <= g->m->n_threads; i++) {
        if (g->m->threads[i].def.os_tid == tid && g->m->threads[i].def.start_ns == start_ns) {
            tid = g->next_tid++;
            i = 0;
        }
    }
    uint32_t id = tg_thread(g->m, tid, pick_string(g), start_ns);
    if (id != 0 && g->n_live < sizeof g->live / sizeof g->live[0]) {
        g->live[g->n_live++] = id;
    }
    return id;
}

static uint32_t pick_stack(gen_state *g) {
    return g->stacks[tg_rand_below(&g->rng, N_PATHS)];
}

static void gen_event(gen_state *g, uint64_t t) {
    tg_model *m = g->m;
    if (g->n_live == 0) {
        new_thread(g, t);
    }
    /* With failures injected a thread may be missing; 0 keeps the stream going. */
    uint32_t th = g->n_live ? g->live[tg_rand_below(&g->rng, g->n_live)] : 0;
    uint64_t r = tg_rand_below(&g->rng, 100);
    if (r < 40 || r >= 93) {
        uint64_t weight = tg_rand_below(&g->rng, 8) ? 1 : 2 + tg_rand_below(&g->rng, 5);
        tg_sample(m, th, t, pick_stack(g), maybe_max(g, weight),
                  (uint32_t)tg_rand_below(&g->rng, 2));
    } else if (r < 50) {
        uint64_t addr = maybe_max(g, 0x7f0000000000ull + 16 * tg_rand_below(&g->rng, 1ull << 28));
        uint64_t size = maybe_max(g, 1 + tg_rand_below(&g->rng, 1 << 20));
        uint64_t weight = tg_rand_below(&g->rng, 2) ? size : maybe_max(g, size * 3 + 1);
        tg_alloc(m, th, t, addr, size, weight, pick_stack(g));
        if (g->n_addrs < sizeof g->addrs / sizeof g->addrs[0]) {
            g->addrs[g->n_addrs++] = addr;
        }
    } else if (r < 58) {
        if (g->n_addrs == 0) {
            tg_free(m, th, t, tg_rand(&g->rng));
            return;
        }
        size_t k = tg_rand_below(&g->rng, g->n_addrs);
        tg_free(m, th, t, g->addrs[k]);
        g->addrs[k] = g->addrs[--g->n_addrs];
    } else if (r < 62) {
        uint32_t text = pick_string(g);
        if (g->big && g->big_uses < 1 && r == 58) {
            text = g->big;
            g->big_uses++;
        }
        tg_marker(m, tg_rand_below(&g->rng, 3) ? th : 0, t, text);
    } else if (r < 65) {
        tg_thread_name(m, th, t, pick_string(g));
    } else if (r < 68) {
        tg_drops(m, t, (spt_drop_reason)(1 + tg_rand_below(&g->rng, 4)),
                 maybe_max(g, 1 + tg_rand_below(&g->rng, 1000)));
    } else if (r < 70) {
        uint32_t pid = g->o->extremes && r == 69 ? UINT32_MAX : (uint32_t)tg_rand(&g->rng);
        tg_child(m, t, (spt_child_kind)(1 + tg_rand_below(&g->rng, 3)), pid,
                 g->files[tg_rand_below(&g->rng, N_FILES)]);
    } else if (r < 74) {
        uint32_t value = pick_string(g);
        if (g->big && g->big_uses < 2 && r == 73) {
            value = g->big;
            g->big_uses++;
        }
        tg_metadata(m, t, g->names[tg_rand_below(&g->rng, N_NAMES)], value);
    } else if (r < 82) {
        tg_sample_total(m, tg_rand_below(&g->rng, 4) ? th : 0, t, pick_stack(g),
                        maybe_max(g, 1 + tg_rand_below(&g->rng, 100000)),
                        maybe_max(g, tg_rand(&g->rng) >> 20), (uint32_t)tg_rand_below(&g->rng, 2));
    } else if (r < 89) {
        tg_alloc_total(m, tg_rand_below(&g->rng, 4) ? th : 0, t, pick_stack(g),
                       maybe_max(g, tg_rand(&g->rng) >> 30), maybe_max(g, tg_rand(&g->rng) >> 10),
                       maybe_max(g, tg_rand(&g->rng) >> 34), maybe_max(g, tg_rand(&g->rng) >> 14));
    } else if (r < 91) {
        if (g->n_live > 1) {
            size_t k = tg_rand_below(&g->rng, g->n_live);
            tg_thread_end(m, g->live[k], t);
            g->live[k] = g->live[--g->n_live];
        }
        new_thread(g, t);
    } else {
        new_thread(g, t);
    }
}

int tg_generate(tg_model *m, const tg_gen_options *o) {
    gen_state g;
    memset(&g, 0, sizeof g);
    g.m = m;
    g.o = o;
    g.rng.state = o->seed;
    g.next_tid = 1000 + (uint32_t)(o->seed % 1000);
    gen_definitions(&g);
    uint64_t t = 1000000 + tg_rand_below(&g.rng, 1000000);
    for (int i = 0; i < 3; i++) {
        new_thread(&g, t + (uint64_t)i * 1000);
    }
    for (size_t i = 0; i < o->n_events; i++) {
        t += tg_rand_below(&g.rng, 20000);
        uint64_t when = t;
        uint64_t r = tg_rand_below(&g.rng, 100);
        if (r < 5) { /* merged per-thread buffers: slightly out of order */
            when = t - tg_rand_below(&g.rng, t < 50000 ? t : 50000);
        } else if (o->extremes && r == 5) { /* far apart, both ways */
            static const uint64_t far[] = {0, UINT64_MAX, UINT64_MAX / 2, 1ull << 63, 1};
            when = far[tg_rand_below(&g.rng, sizeof far / sizeof far[0])];
        }
        gen_event(&g, when);
        if (o->flush_every && (i + 1) % o->flush_every == 0) {
            tg_flush(m);
        }
    }
    /* End half of the threads still running; the rest run until the trace ends. */
    while (g.n_live > 1) {
        t += 1000;
        tg_thread_end(m, g.live[--g.n_live], t);
        if (g.n_live % 2) {
            break;
        }
    }
    for (int i = 0; i < N_PATHS; i++) {
        free(g.paths[i]);
    }
    return m->failures ? -1 : 0;
}
