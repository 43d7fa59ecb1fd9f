/* tracecheck.c: content keys for events (tracecheck.h), whole-trace reads, and the zstd frame
 * listing tests use to find chunk boundaries without looking inside tracefmt. */
#include "tests/tracefmt/tracecheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "tests/tracekit.h"

#define ROOT_STACK_KEY 0x5EEDC0DEull
#define BROKEN_KEY     0xBAD0BAD0BAD0BAD0ull

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(tk_xrealloc(NULL, n), s, n);
}

static uint64_t mix(uint64_t h, uint64_t v) {
    return XXH3_64bits_withSeed(&v, sizeof v, h);
}

/* ---- resolvers ------------------------------------------------------------------------------ */

static const char *reader_string(const void *ctx, uint32_t id, size_t *len) {
    const spt_reader *r = ctx;
    if (id > spt_reader_string_count(r)) {
        return NULL;
    }
    *len = spt_reader_string_len(r, id);
    return spt_reader_string(r, id);
}
static const spt_mapping *reader_mapping(const void *ctx, uint32_t id) {
    return spt_reader_mapping(ctx, id);
}
static const spt_frame *reader_frame(const void *ctx, uint32_t id) {
    return spt_reader_frame(ctx, id);
}
static const spt_stack *reader_stack(const void *ctx, uint32_t id) {
    return spt_reader_stack(ctx, id);
}
static const spt_thread *reader_thread(const void *ctx, uint32_t id) {
    return spt_reader_thread(ctx, id);
}

tc_resolver tc_reader_resolver(const spt_reader *r) {
    tc_resolver res = {r, reader_string, reader_mapping, reader_frame, reader_stack, reader_thread};
    return res;
}

static const char *model_string(const void *ctx, uint32_t id, size_t *len) {
    const tg_model *m = ctx;
    if (id == 0) {
        *len = 0;
        return "";
    }
    if (id > m->n_strings || m->strings[id].bytes == NULL) {
        return NULL;
    }
    *len = m->strings[id].len;
    return m->strings[id].bytes;
}
static const spt_mapping *model_mapping(const void *ctx, uint32_t id) {
    const tg_model *m = ctx;
    return id == 0 || id > m->n_mappings ? NULL : &m->mappings[id];
}
static const spt_frame *model_frame(const void *ctx, uint32_t id) {
    const tg_model *m = ctx;
    return id == 0 || id > m->n_frames ? NULL : &m->frames[id];
}
static const spt_stack *model_stack(const void *ctx, uint32_t id) {
    const tg_model *m = ctx;
    return id == 0 || id > m->n_stacks ? NULL : &m->stacks[id];
}
static const spt_thread *model_thread(const void *ctx, uint32_t id) {
    const tg_model *m = ctx;
    return id == 0 || id > m->n_threads ? NULL : &m->threads[id].def;
}

tc_resolver tc_model_resolver(const tg_model *m) {
    tc_resolver res = {m, model_string, model_mapping, model_frame, model_stack, model_thread};
    return res;
}

/* ---- keys ----------------------------------------------------------------------------------- */

void tc_canon_init(tc_canon *c, tc_resolver res) {
    memset(c, 0, sizeof *c);
    c->res = res;
}

void tc_canon_free(tc_canon *c) {
    free(c->stack_keys);
    free(c->stack_depths);
    memset(c, 0, sizeof *c);
}

uint64_t tc_string_key(tc_canon *c, uint32_t id) {
    size_t len = 0;
    const char *s = c->res.string(c->res.ctx, id, &len);
    if (s == NULL) {
        c->unresolved++;
        return BROKEN_KEY;
    }
    return XXH3_64bits(s, len);
}

static uint64_t mapping_key(tc_canon *c, uint32_t id) {
    if (id == 0) {
        return 0;
    }
    const spt_mapping *mp = c->res.mapping(c->res.ctx, id);
    if (mp == NULL) {
        c->unresolved++;
        return BROKEN_KEY;
    }
    uint64_t h = mix(mix(mix(1, mp->start), mp->end), mp->file_offset);
    h = mix(h, tc_string_key(c, mp->path));
    size_t n = mp->build_id_len <= 64 ? mp->build_id_len : 64;
    return mix(h, XXH3_64bits_withSeed(mp->build_id, n, mp->build_id_len));
}

uint64_t tc_frame_key(tc_canon *c, uint32_t id) {
    const spt_frame *f = c->res.frame(c->res.ctx, id);
    if (f == NULL) {
        c->unresolved++;
        return BROKEN_KEY;
    }
    spt_frame copy = *f; /* string lookups may not invalidate it, but be safe */
    uint64_t h = mix(mix(2, (uint64_t)copy.kind), tc_string_key(c, copy.function));
    h = mix(mix(mix(h, tc_string_key(c, copy.file)), copy.line), copy.flags);
    if (copy.kind == SPT_FRAME_NATIVE) {
        h = mix(mix(h, copy.address), mapping_key(c, copy.mapping));
    } else {
        h = mix(mix(h, copy.code_id), copy.first_line);
    }
    return h;
}

static void ensure_stack_memo(tc_canon *c, uint32_t id) {
    if (id < c->cap) {
        return;
    }
    uint32_t cap = c->cap ? c->cap : 64;
    while (cap <= id) {
        cap *= 2;
    }
    c->stack_keys = tk_xrealloc(c->stack_keys, cap * sizeof *c->stack_keys);
    c->stack_depths = tk_xrealloc(c->stack_depths, cap * sizeof *c->stack_depths);
    memset(c->stack_keys + c->cap, 0, (cap - c->cap) * sizeof *c->stack_keys);
    memset(c->stack_depths + c->cap, 0, (cap - c->cap) * sizeof *c->stack_depths);
    c->cap = cap;
}

uint64_t tc_stack_key(tc_canon *c, uint32_t id) {
    if (id == 0) {
        return ROOT_STACK_KEY;
    }
    ensure_stack_memo(c, id);
    if (c->stack_keys[id] != 0) {
        return c->stack_keys[id];
    }
    /* Walk up to a known node (or the root), then compute keys outermost first. Parents have
     * smaller ids (§5.3), which also rules out cycles. */
    uint32_t *chain = NULL;
    size_t n = 0, cap = 0;
    uint32_t node = id;
    while (node != 0 && c->stack_keys[node] == 0) {
        const spt_stack *st = c->res.stack(c->res.ctx, node);
        if (st == NULL || st->parent >= node || n > SPT_MAX_STACK_DEPTH) {
            c->unresolved++;
            free(chain);
            return BROKEN_KEY;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            chain = tk_xrealloc(chain, cap * sizeof *chain);
        }
        chain[n++] = node;
        node = st->parent;
    }
    uint64_t key = node ? c->stack_keys[node] : ROOT_STACK_KEY;
    uint32_t depth = node ? c->stack_depths[node] : 0;
    while (n > 0) {
        uint32_t s = chain[--n];
        const spt_stack *st = c->res.stack(c->res.ctx, s);
        uint32_t frame = st->frame, claimed = st->depth;
        depth++;
        if (claimed != depth) {
            c->bad_depth++;
        }
        key = mix(mix(mix(key, tc_frame_key(c, frame)), depth), claimed);
        c->stack_keys[s] = key;
        c->stack_depths[s] = depth;
    }
    free(chain);
    return key;
}

uint64_t tc_thread_key(tc_canon *c, uint32_t id) {
    if (id == 0) {
        return 0;
    }
    const spt_thread *t = c->res.thread(c->res.ctx, id);
    if (t == NULL) {
        c->unresolved++;
        return BROKEN_KEY;
    }
    return mix(mix(3, t->os_tid), t->start_ns);
}

uint64_t tc_event_key(tc_canon *c, const spt_event *ev) {
    uint64_t h = mix(0x5A5A, (uint64_t)ev->kind);
    if (ev->kind != SPT_EV_END) {
        h = mix(h, ev->time_ns);
    }
    h = mix(h, tc_thread_key(c, ev->thread));
    switch (ev->kind) {
    case SPT_EV_SAMPLE:
        h = mix(mix(h, tc_stack_key(c, ev->u.sample.stack)), ev->u.sample.weight);
        return mix(mix(mix(h, ev->u.sample.count), ev->u.sample.flags),
                   (uint64_t)ev->u.sample.aggregated);
    case SPT_EV_ALLOC:
        h = mix(mix(h, tc_stack_key(c, ev->u.alloc.stack)), ev->u.alloc.address);
        return mix(mix(h, ev->u.alloc.size_bytes), ev->u.alloc.weight_bytes);
    case SPT_EV_FREE:
        return mix(h, ev->u.free.address);
    case SPT_EV_MARKER:
        return mix(h, tc_string_key(c, ev->u.marker.text));
    case SPT_EV_THREAD_START:
    case SPT_EV_THREAD_NAME:
        return mix(h, tc_string_key(c, ev->u.thread_info.name));
    case SPT_EV_THREAD_END:
        return h;
    case SPT_EV_DROPS:
        return mix(mix(h, (uint64_t)ev->u.drops.reason), ev->u.drops.count);
    case SPT_EV_CHILD:
        h = mix(mix(h, (uint64_t)ev->u.child.kind), ev->u.child.pid);
        return mix(h, tc_string_key(c, ev->u.child.trace_path));
    case SPT_EV_ALLOC_TOTAL:
        h = mix(mix(h, tc_stack_key(c, ev->u.alloc_total.stack)), ev->u.alloc_total.alloc_count);
        h = mix(mix(h, ev->u.alloc_total.alloc_bytes), ev->u.alloc_total.live_count);
        return mix(h, ev->u.alloc_total.live_bytes);
    case SPT_EV_METADATA:
        h = mix(h, tc_string_key(c, ev->u.metadata.key));
        return mix(h, tc_string_key(c, ev->u.metadata.value));
    case SPT_EV_END: {
        const spt_end *e = &ev->u.end;
        h = mix(mix(mix(h, (uint64_t)e->reason), (uint64_t)(int64_t)e->status), e->duration_ns);
        h = mix(mix(mix(mix(h, e->samples), e->sample_weight), e->allocs), e->frees);
        h = mix(mix(mix(h, e->dropped_samples), e->dropped_allocs), e->allocs_seen);
        return mix(mix(h, e->recorder_cpu_ns), e->process_cpu_ns);
    }
    }
    return mix(h, 0xDEAD); /* an unknown kind never matches an expected event */
}

/* ---- warnings and whole reads --------------------------------------------------------------- */

void tc_warn_collect(void *ctx, const char *message) {
    tc_warnings *w = ctx;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->items = tk_xrealloc(w->items, w->cap * sizeof *w->items);
    }
    w->items[w->n++] = xstrdup(message ? message : "(null)");
}

void tc_warnings_free(tc_warnings *w) {
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i]);
    }
    free(w->items);
    memset(w, 0, sizeof *w);
}

long tc_warnings_find(const tc_warnings *w, const char *needle) {
    for (size_t i = 0; i < w->n; i++) {
        if (strstr(w->items[i], needle) != NULL) {
            return (long)i;
        }
    }
    return -1;
}

typedef struct {
    uint64_t *keys;
    uint64_t *thread_keys;
    char **descriptions;
    spt_event_kind *kinds;
    size_t n, cap;
} event_list;

static void event_list_add(event_list *l, tc_canon *c, const spt_event *ev, int describe) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->keys = tk_xrealloc(l->keys, l->cap * sizeof *l->keys);
        l->thread_keys = tk_xrealloc(l->thread_keys, l->cap * sizeof *l->thread_keys);
        l->kinds = tk_xrealloc(l->kinds, l->cap * sizeof *l->kinds);
        if (describe) {
            l->descriptions = tk_xrealloc(l->descriptions, l->cap * sizeof *l->descriptions);
        }
    }
    l->keys[l->n] = tc_event_key(c, ev);
    l->thread_keys[l->n] = tc_thread_key(c, ev->thread);
    l->kinds[l->n] = ev->kind;
    if (describe) {
        char buf[512];
        tc_event_describe(c, ev, buf, sizeof buf);
        l->descriptions[l->n] = xstrdup(buf);
    }
    l->n++;
}

int tc_read_memory(const void *data, size_t size, const char *name, const tc_read_options *o,
                   tc_read_result *out_res) {
    static const tc_read_options defaults = {0, NULL, 0};
    if (o == NULL) {
        o = &defaults;
    }
    memset(out_res, 0, sizeof *out_res);
    spt_reader_options ro;
    memset(&ro, 0, sizeof ro);
    ro.warn = tc_warn_collect;
    ro.warn_ctx = &out_res->warnings;
    ro.max_memory_bytes = o->max_memory_bytes;
    ro.allocator = o->allocator;
    spt_reader *r = NULL;
    out_res->open_status = spt_reader_open_memory(data, size, name, &ro, &r);
    snprintf(out_res->open_error, sizeof out_res->open_error, "%s", spt_reader_error(r));
    if (out_res->open_status != SPT_OK) {
        spt_reader_close(r);
        return -1;
    }
    out_res->header = *spt_reader_header(r);
    out_res->header.recorder_version = NULL;
    out_res->header.executable = NULL;
    out_res->header.argv = NULL;
    out_res->header.hostname = NULL;
    out_res->header.arch = NULL;
    out_res->header.trace_id = NULL;
    out_res->header.parent_trace = NULL;

    tc_canon c;
    tc_canon_init(&c, tc_reader_resolver(r));
    event_list l;
    memset(&l, 0, sizeof l);
    spt_event ev;
    spt_status st;
    while ((st = spt_reader_next(r, &ev)) == SPT_OK) {
        event_list_add(&l, &c, &ev, o->keep_descriptions);
    }
    out_res->last_status = st;
    snprintf(out_res->last_error, sizeof out_res->last_error, "%s", spt_reader_error(r));
    out_res->stats = *spt_reader_get_stats(r);
    out_res->keys = l.keys;
    out_res->kinds = l.kinds;
    out_res->descriptions = l.descriptions;
    out_res->n = l.n;
    out_res->unresolved = c.unresolved;
    out_res->bad_depth = c.bad_depth;
    out_res->thread_keys = l.thread_keys;
    tc_canon_free(&c);
    spt_reader_close(r);
    return 0;
}

void tc_read_result_free(tc_read_result *res) {
    if (res->descriptions) {
        for (size_t i = 0; i < res->n; i++) {
            free(res->descriptions[i]);
        }
    }
    free(res->descriptions);
    free(res->keys);
    free(res->thread_keys);
    free(res->kinds);
    tc_warnings_free(&res->warnings);
    memset(res, 0, sizeof *res);
}

void tc_expected_from_model(const tg_model *m, tc_expected *out_e) {
    tc_canon c;
    tc_canon_init(&c, tc_model_resolver(m));
    event_list l;
    memset(&l, 0, sizeof l);
    for (size_t i = 0; i < m->n_events; i++) {
        event_list_add(&l, &c, &m->events[i], 1);
    }
    if (c.unresolved || c.bad_depth) {
        fprintf(stderr, "tracecheck: the model itself has %d unresolved ids, %d bad depths\n",
                c.unresolved, c.bad_depth);
        abort();
    }
    tc_canon_free(&c);
    out_e->keys = l.keys;
    out_e->thread_keys = l.thread_keys;
    out_e->descriptions = l.descriptions;
    out_e->kinds = l.kinds;
    out_e->n = l.n;
}

void tc_expected_free(tc_expected *e) {
    for (size_t i = 0; i < e->n; i++) {
        free(e->descriptions[i]);
    }
    free(e->descriptions);
    free(e->keys);
    free(e->thread_keys);
    free(e->kinds);
    memset(e, 0, sizeof *e);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int tc_compare_with_model(const char *label, const tc_expected *e, const tc_read_result *res,
                          size_t n_expected) {
    if (n_expected > e->n) {
        n_expected = e->n;
    }
    size_t i = 0, j = 0, pos = 0;
    for (;; pos++) {
        while (i < n_expected && e->kinds[i] == SPT_EV_THREAD_START) {
            i++;
        }
        while (j < res->n && res->kinds[j] == SPT_EV_THREAD_START) {
            j++;
        }
        if (i == n_expected || j == res->n) {
            break;
        }
        if (e->keys[i] != res->keys[j]) {
            fprintf(stderr,
                    "%s: event %zu (not counting thread starts) differs:\n  expected %s\n"
                    "  read     %s\n",
                    label, pos, e->descriptions[i],
                    res->descriptions ? res->descriptions[j] : "(no description kept)");
            return -1;
        }
        i++;
        j++;
    }
    if (i != n_expected || j != res->n) {
        fprintf(stderr, "%s: after %zu equal events, %s\n  next expected: %s\n  next read: %s\n",
                label, pos, i != n_expected ? "the read ended early" : "the read has extra events",
                i < n_expected ? e->descriptions[i] : "(none)",
                j < res->n && res->descriptions ? res->descriptions[j] : "(none)");
        return -1;
    }

    /* Thread starts: the same set (a subset while the model is ahead of the file), and each
     * before the first event of its thread. */
    uint64_t *want = tk_xrealloc(NULL, (n_expected + 1) * sizeof *want);
    uint64_t *got = tk_xrealloc(NULL, (res->n + 1) * sizeof *got);
    size_t n_want = 0, n_got = 0;
    for (i = 0; i < n_expected; i++) {
        if (e->kinds[i] == SPT_EV_THREAD_START) {
            want[n_want++] = e->keys[i];
        }
    }
    int bad = 0;
    for (j = 0; j < res->n; j++) {
        if (res->kinds[j] == SPT_EV_THREAD_START) {
            got[n_got++] = res->keys[j];
            continue;
        }
        if (res->thread_keys[j] == 0) {
            continue;
        }
        int seen = 0;
        for (size_t k = 0; k < j && !seen; k++) {
            seen =
                res->kinds[k] == SPT_EV_THREAD_START && res->thread_keys[k] == res->thread_keys[j];
        }
        if (!seen && !bad) {
            fprintf(stderr,
                    "%s: read event %zu refers to a thread with no THREAD_START before it: "
                    "%s\n",
                    label, j, res->descriptions ? res->descriptions[j] : "");
            bad = 1;
        }
    }
    qsort(want, n_want, sizeof *want, cmp_u64);
    qsort(got, n_got, sizeof *got, cmp_u64);
    int partial = n_expected < e->n;
    size_t a = 0;
    for (size_t b = 0; b < n_got && !bad; b++) { /* got must be a sub-multiset of want */
        while (a < n_want && want[a] < got[b]) {
            a++;
        }
        if (a == n_want || want[a] != got[b]) {
            fprintf(stderr, "%s: the read has a THREAD_START the writer never made\n", label);
            bad = 1;
        }
        a++;
    }
    if (!bad && !partial && n_got != n_want) {
        fprintf(stderr, "%s: %zu THREAD_START events read, %zu threads defined\n", label, n_got,
                n_want);
        bad = 1;
    }
    free(want);
    free(got);
    return bad ? -1 : 0;
}

/* ---- zstd frames ---------------------------------------------------------------------------- */

size_t tc_list_frames(const uint8_t *data, size_t size, tc_frame_info *frames, size_t max) {
    size_t n = 0, pos = 0;
    while (pos < size && n < max) {
        tc_frame_info *f = &frames[n++];
        f->offset = pos;
        f->skippable = 0;
        if (size - pos >= 4) {
            uint32_t magic = (uint32_t)data[pos] | (uint32_t)data[pos + 1] << 8 |
                             (uint32_t)data[pos + 2] << 16 | (uint32_t)data[pos + 3] << 24;
            f->skippable = (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
        }
        size_t fs = ZSTD_findFrameCompressedSize(data + pos, size - pos);
        if (ZSTD_isError(fs) || fs == 0 || fs > size - pos) {
            f->size = 0;
            break;
        }
        f->size = fs;
        pos += fs;
    }
    return n;
}
