/* reader_fuzz.c: feeds any bytes to the reader and checks it never crashes, never allocates on
 * the file's say-so past its cap, and keeps its promises: every id an event uses resolves, stacks
 * walk to the root with parents below children and depths that add up, warnings are one line
 * naming the file, and the stats agree with what was returned. */
#include "tests/fuzz/reader_fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME       "fuzz-input"
#define MAX_EVENTS (1u << 22) /* a tiny zstd frame can expand a lot; stop reading somewhere */

#define FUZZ_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "reader_fuzz: %s:%d: broken promise: %s: ", __FILE__, __LINE__,        \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    const spt_reader *r;
    uint8_t *frame_ok; /* frames already checked, by id */
    uint8_t *stack_ok; /* stacks already checked, by id */
    uint32_t frame_cap, stack_cap;
    uint32_t *chain; /* scratch for stack walks */
    uint64_t warnings;
} checker;

static void warn_check(void *ctx, const char *message) {
    checker *c = ctx;
    c->warnings++;
    FUZZ_ASSERT(message != NULL, "NULL warning");
    FUZZ_ASSERT(strncmp(message, NAME ": ", strlen(NAME) + 2) == 0, "warning '%s'", message);
    FUZZ_ASSERT(strchr(message, '\n') == NULL, "warning '%s'", message);
}

/* Marks id in a by-id bitmap; returns 1 if it was already marked. */
static int seen(uint8_t **map, uint32_t *cap, uint32_t id) {
    if (id >= *cap) {
        uint32_t n = *cap ? *cap : 256;
        while (n <= id) {
            n *= 2;
        }
        *map = realloc(*map, n);
        FUZZ_ASSERT(*map != NULL, "harness out of memory");
        memset(*map + *cap, 0, n - *cap);
        *cap = n;
    }
    int was = (*map)[id];
    (*map)[id] = 1;
    return was;
}

static void check_string(checker *c, uint32_t id, const char *what) {
    uint32_t n = spt_reader_string_count(c->r);
    FUZZ_ASSERT(id <= n, "%s refers to string %u of %u", what, id, n);
    FUZZ_ASSERT(spt_reader_string(c->r, id) != NULL, "%s: string %u is NULL", what, id);
    FUZZ_ASSERT(spt_reader_string_len(c->r, id) <= SPT_MAX_STRING_BYTES, "%s: string %u", what, id);
}

static void check_frame(checker *c, uint32_t id) {
    const spt_frame *f = spt_reader_frame(c->r, id);
    FUZZ_ASSERT(f != NULL, "frame %u of %u does not resolve", id, spt_reader_frame_count(c->r));
    if (seen(&c->frame_ok, &c->frame_cap, id)) {
        return;
    }
    spt_frame fr = *f;
    FUZZ_ASSERT(fr.kind == SPT_FRAME_NATIVE || fr.kind == SPT_FRAME_PYTHON, "frame kind %d",
                (int)fr.kind);
    check_string(c, fr.function, "a frame's function");
    check_string(c, fr.file, "a frame's file");
    if (fr.mapping != 0) {
        const spt_mapping *m = spt_reader_mapping(c->r, fr.mapping);
        FUZZ_ASSERT(m != NULL, "mapping %u of %u does not resolve", fr.mapping,
                    spt_reader_mapping_count(c->r));
        FUZZ_ASSERT(m->build_id_len <= 64, "build id of %u bytes", m->build_id_len);
        check_string(c, m->path, "a mapping's path");
    }
}

/* Walks stack id to the root (or to a stack already checked). Parents have smaller ids, so the
 * walk ends; the depth of each node is its parent's plus one. */
static void check_stack(checker *c, uint32_t id) {
    if (id == 0) {
        return;
    }
    uint32_t n = 0, node = id;
    while (node != 0 && !(node < c->stack_cap && c->stack_ok[node])) {
        const spt_stack *st = spt_reader_stack(c->r, node);
        FUZZ_ASSERT(st != NULL, "stack %u of %u does not resolve", node,
                    spt_reader_stack_count(c->r));
        FUZZ_ASSERT(st->parent < node, "stack %u has parent %u", node, st->parent);
        FUZZ_ASSERT(n < SPT_MAX_STACK_DEPTH, "stack %u is deeper than the limit", id);
        c->chain[n++] = node;
        node = st->parent;
    }
    uint32_t depth = node ? spt_reader_stack(c->r, node)->depth : 0;
    while (n > 0) {
        uint32_t s = c->chain[--n];
        const spt_stack *st = spt_reader_stack(c->r, s);
        depth++;
        FUZZ_ASSERT(st->depth == depth, "stack %u claims depth %u, its parents make %u", s,
                    st->depth, depth);
        check_frame(c, st->frame);
        seen(&c->stack_ok, &c->stack_cap, s);
    }
}

static void check_event(checker *c, const spt_event *ev, int *saw_end) {
    FUZZ_ASSERT(ev->kind >= SPT_EV_SAMPLE && ev->kind <= SPT_EV_END, "event kind %d",
                (int)ev->kind);
    if (ev->thread != 0) {
        const spt_thread *t = spt_reader_thread(c->r, ev->thread);
        FUZZ_ASSERT(t != NULL, "thread %u of %u does not resolve", ev->thread,
                    spt_reader_thread_count(c->r));
        check_string(c, t->name, "a thread's name");
    }
    switch (ev->kind) {
    case SPT_EV_SAMPLE:
        check_stack(c, ev->u.sample.stack);
        break;
    case SPT_EV_ALLOC:
        check_stack(c, ev->u.alloc.stack);
        break;
    case SPT_EV_ALLOC_TOTAL:
        check_stack(c, ev->u.alloc_total.stack);
        break;
    case SPT_EV_MARKER:
        check_string(c, ev->u.marker.text, "a marker");
        break;
    case SPT_EV_THREAD_START:
    case SPT_EV_THREAD_NAME:
        FUZZ_ASSERT(ev->thread != 0, "a thread event without a thread");
        check_string(c, ev->u.thread_info.name, "a thread event's name");
        break;
    case SPT_EV_THREAD_END:
        FUZZ_ASSERT(ev->thread != 0, "a thread end without a thread");
        break;
    case SPT_EV_CHILD:
        check_string(c, ev->u.child.trace_path, "a child's trace path");
        break;
    case SPT_EV_METADATA:
        check_string(c, ev->u.metadata.key, "a metadata key");
        check_string(c, ev->u.metadata.value, "a metadata value");
        break;
    case SPT_EV_END:
        *saw_end = 1;
        break;
    default:
        break;
    }
}

void reader_fuzz_check(const uint8_t *data, size_t size, reader_fuzz_summary *out) {
    checker c;
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    spt_reader_options ro;
    memset(&ro, 0, sizeof ro);
    ro.warn = warn_check;
    ro.warn_ctx = &c;
    ro.max_memory_bytes = 64u << 20;
    spt_reader *r = NULL;
    spt_status st = spt_reader_open_memory(data, size, NAME, &ro, &r);
    out->open_status = st;
    if (st != SPT_OK) {
        FUZZ_ASSERT(st == SPT_E_BAD_MAGIC || st == SPT_E_VERSION || st == SPT_E_TRUNCATED ||
                        st == SPT_E_CORRUPT || st == SPT_E_LIMIT || st == SPT_E_NOMEM,
                    "open returned %s", spt_status_name(st));
        const char *msg = spt_reader_error(r);
        FUZZ_ASSERT(msg != NULL && strchr(msg, '\n') == NULL, "open error");
        FUZZ_ASSERT(r == NULL || strncmp(msg, NAME ": ", strlen(NAME) + 2) == 0,
                    "open error '%s' does not name the input", msg);
        spt_reader_close(r);
        out->warnings = c.warnings;
        return;
    }
    c.r = r;
    c.chain = malloc(SPT_MAX_STACK_DEPTH * sizeof *c.chain);
    FUZZ_ASSERT(c.chain != NULL, "harness out of memory");
    const spt_header *h = spt_reader_header(r);
    FUZZ_ASSERT(h != NULL && h->format_major == SPT_FORMAT_MAJOR, "header");
    FUZZ_ASSERT(h->recorder_version && h->executable && h->hostname && h->arch && h->trace_id &&
                    h->parent_trace,
                "a header string is NULL");
    FUZZ_ASSERT(h->argc <= SPT_MAX_ARGS, "argc %u", h->argc);
    for (uint32_t i = 0; i < h->argc; i++) {
        FUZZ_ASSERT(h->argv != NULL && h->argv[i] != NULL, "argv[%u] is NULL", i);
    }

    spt_event ev;
    int saw_end = 0;
    uint64_t n = 0;
    while (n < MAX_EVENTS && (st = spt_reader_next(r, &ev)) == SPT_OK) {
        check_event(&c, &ev, &saw_end);
        n++;
    }
    out->events = n;
    out->last_status = n < MAX_EVENTS ? st : SPT_END;
    if (n < MAX_EVENTS) {
        FUZZ_ASSERT(st == SPT_END || st == SPT_E_NOMEM || st == SPT_E_LIMIT, "next returned %s: %s",
                    spt_status_name(st), spt_reader_error(r));
        const spt_reader_stats *s = spt_reader_get_stats(r);
        uint64_t total = 0;
        for (int k = 0; k < 16; k++) {
            total += s->events[k];
        }
        FUZZ_ASSERT(total == n, "stats count %llu events, %llu returned", (unsigned long long)total,
                    (unsigned long long)n);
        FUZZ_ASSERT(!s->ended_cleanly || saw_end, "ended cleanly without an END event");
        FUZZ_ASSERT(s->file_bytes <= size, "file_bytes %llu of %zu",
                    (unsigned long long)s->file_bytes, size);
        out->damaged_chunks = s->damaged_chunks;
        out->truncated = s->truncated;
    }
    FUZZ_ASSERT(spt_reader_frame(r, spt_reader_frame_count(r) + 1) == NULL, "frame past count");
    FUZZ_ASSERT(spt_reader_stack(r, spt_reader_stack_count(r) + 1) == NULL, "stack past count");
    FUZZ_ASSERT(spt_reader_string(r, spt_reader_string_count(r) + 1) != NULL, "string past count");
    out->warnings = c.warnings;
    spt_reader_close(r);
    free(c.chain);
    free(c.frame_ok);
    free(c.stack_ok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader_fuzz_summary s;
    reader_fuzz_check(data, size, &s);
    return 0;
}
