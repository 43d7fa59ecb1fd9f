/* model.c: streams a trace once into per-stack and per-thread totals of every metric, plus
 * counters. Per event the work is O(1) (an array slot indexed by stack id, or one hash probe when
 * per-thread totals are kept); nothing here grows with the number of samples, and no string is
 * hashed or copied while streaming. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    spa_data data;
    uint32_t first_name;    /* reader string id of the name it was defined with */
    unsigned char selected; /* the thread filter matched one of its names (sticky) */
} thread_slot;

/* A growable array of notes (markers, renames, children). */
typedef struct {
    spa_note *v;
    size_t n, cap;
} note_list;

struct spa_model {
    char *path;
    spt_reader *reader;
    unsigned keep;
    char *thread_filter; /* NULL = every thread */
    uint64_t filter_tid; /* the filter as a kernel thread id, when it is a number */
    int filter_is_number;
    uint64_t from_ns, to_ns;
    void (*on_event)(void *ctx, const spa_model *m, const spt_event *ev);
    void *event_ctx;

    spa_data *stacks; /* [stack id]; index 0 holds the empty stack */
    uint32_t stack_cap;
    thread_slot *threads; /* [thread id]; index 0 holds events tied to no thread */
    uint32_t thread_cap;

    spa_entry *entries; /* per-(thread, stack) totals */
    size_t n_entries, entries_cap;
    uint32_t *entry_slots; /* open addressing: entry index + 1, 0 = empty */
    size_t n_entry_slots;
    size_t last_entry; /* the entry the previous event used: samples repeat their stack */

    spa_live *live;
    spa_metadata *metadata;
    size_t n_metadata, metadata_cap;
    note_list markers, renames, children;
    spa_totals totals;
    spa_data selected;
    int aggregated;
    int have_time;
    char error[512];
};

static const spa_data zero_data;

/* ---------------------------------------------------------------------------------------------
 * Metrics.
 * ------------------------------------------------------------------------------------------- */
static const char *const metric_names[] = {
    [SPA_METRIC_CPU] = "cpu",
    [SPA_METRIC_WALL] = "wall",
    [SPA_METRIC_ALLOC_BYTES] = "alloc-bytes",
    [SPA_METRIC_ALLOC_COUNT] = "alloc-count",
    [SPA_METRIC_LIVE_BYTES] = "live-bytes",
};

int spa_metric_parse(const char *text, spa_metric *out) {
    for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++) {
        if (strcmp(text, metric_names[i]) == 0) {
            *out = (spa_metric)i;
            return 0;
        }
    }
    return -1;
}

const char *spa_metric_name(spa_metric metric) {
    if ((unsigned)metric < sizeof metric_names / sizeof metric_names[0])
        return metric_names[metric];
    return "cpu";
}

int spa_metric_is_alloc(spa_metric metric) {
    return metric == SPA_METRIC_ALLOC_BYTES || metric == SPA_METRIC_ALLOC_COUNT ||
           metric == SPA_METRIC_LIVE_BYTES;
}

static uint64_t round_count(double c) {
    if (!(c > 0))
        return 0;
    if (c >= 18446744073709549568.0)
        return UINT64_MAX;
    return (uint64_t)llround(c);
}

spa_value spa_data_metric(const spa_data *d, spa_metric metric) {
    spa_value v = {0, 0};
    switch (metric) {
    case SPA_METRIC_CPU:
        return d->run;
    case SPA_METRIC_WALL:
        v.count = d->run.count + d->idle.count;
        v.weight = d->run.weight + d->idle.weight;
        return v;
    case SPA_METRIC_ALLOC_BYTES:
        v.count = round_count(d->alloc_count);
        v.weight = d->alloc_bytes;
        return v;
    case SPA_METRIC_ALLOC_COUNT:
        v.count = v.weight = round_count(d->alloc_count);
        return v;
    case SPA_METRIC_LIVE_BYTES:
        v.count = round_count(d->live_count);
        v.weight = d->live_bytes;
        return v;
    }
    return v;
}

void spa_data_add(spa_data *a, const spa_data *b) {
    a->run.count += b->run.count;
    a->run.weight += b->run.weight;
    a->idle.count += b->idle.count;
    a->idle.weight += b->idle.weight;
    a->alloc_bytes += b->alloc_bytes;
    a->live_bytes += b->live_bytes;
    a->alloc_count += b->alloc_count;
    a->live_count += b->live_count;
}

/* ---------------------------------------------------------------------------------------------
 * Storage.
 * ------------------------------------------------------------------------------------------- */
__attribute__((format(printf, 2, 3))) static void set_error(spa_model *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof m->error, fmt, ap);
    va_end(ap);
}

/* Grows a zeroed array of elem_size-byte slots so that index `need` is valid. Doubling keeps the
 * cost per event O(1) amortized even when stacks are first met one by one; `hint` (the reader's
 * count) usually makes one allocation enough. */
static int grow_array(void **arr, uint32_t *cap, size_t elem_size, uint32_t need, uint32_t hint) {
    uint64_t want = *cap ? (uint64_t)*cap * 2 : 1024;
    if (want < (uint64_t)hint + 1)
        want = (uint64_t)hint + 1;
    if (want < (uint64_t)need + 1)
        want = (uint64_t)need + 1;
    if (want > UINT32_MAX)
        want = UINT32_MAX;
    if (want <= need)
        return -1;
    char *p = realloc(*arr, (size_t)want * elem_size);
    if (!p)
        return -1;
    memset(p + (size_t)*cap * elem_size, 0, (size_t)(want - *cap) * elem_size);
    *arr = p;
    *cap = (uint32_t)want;
    return 0;
}

static spa_data *stack_slot(spa_model *m, uint32_t stack) {
    if (stack >= m->stack_cap && grow_array((void **)&m->stacks, &m->stack_cap, sizeof *m->stacks,
                                            stack, spt_reader_stack_count(m->reader)))
        return NULL;
    return &m->stacks[stack];
}

static thread_slot *thread_at(spa_model *m, uint32_t thread) {
    if (thread >= m->thread_cap &&
        grow_array((void **)&m->threads, &m->thread_cap, sizeof *m->threads, thread,
                   spt_reader_thread_count(m->reader)))
        return NULL;
    return &m->threads[thread];
}

static size_t entry_hash(uint32_t thread, uint32_t stack, size_t n_slots) {
    uint64_t x = ((uint64_t)thread << 32 | stack) * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 20) & (n_slots - 1);
}

static int entries_rehash(spa_model *m, size_t n_slots) {
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->n_entries; i++) {
        size_t s = entry_hash(m->entries[i].thread, m->entries[i].stack, n_slots);
        while (slots[s])
            s = (s + 1) & (n_slots - 1);
        slots[s] = (uint32_t)i + 1;
    }
    free(m->entry_slots);
    m->entry_slots = slots;
    m->n_entry_slots = n_slots;
    return 0;
}

/* The (thread, stack) entry, created when new; NULL when out of memory. */
static spa_entry *entry_for(spa_model *m, uint32_t thread, uint32_t stack) {
    if (m->last_entry < m->n_entries && m->entries[m->last_entry].thread == thread &&
        m->entries[m->last_entry].stack == stack)
        return &m->entries[m->last_entry];
    if (!m->entry_slots && entries_rehash(m, 4096))
        return NULL;
    size_t mask = m->n_entry_slots - 1;
    size_t s = entry_hash(thread, stack, m->n_entry_slots);
    for (; m->entry_slots[s]; s = (s + 1) & mask) {
        spa_entry *e = &m->entries[m->entry_slots[s] - 1];
        if (e->thread == thread && e->stack == stack) {
            m->last_entry = m->entry_slots[s] - 1;
            return e;
        }
    }
    if (m->n_entries >= UINT32_MAX - 1)
        return NULL;
    if (m->n_entries == m->entries_cap) {
        size_t cap = m->entries_cap ? m->entries_cap * 2 : 1024;
        spa_entry *p = realloc(m->entries, cap * sizeof *p);
        if (!p)
            return NULL;
        m->entries = p;
        m->entries_cap = cap;
    }
    spa_entry *e = &m->entries[m->n_entries];
    memset(e, 0, sizeof *e);
    e->thread = thread;
    e->stack = stack;
    m->entry_slots[s] = (uint32_t)m->n_entries + 1;
    m->last_entry = m->n_entries++;
    if (m->n_entries * 2 > m->n_entry_slots && entries_rehash(m, m->n_entry_slots * 2))
        return NULL;
    return &m->entries[m->last_entry];
}

/* Whether per-(thread, stack) entries are kept: asked for, or needed because a thread filter is
 * only settled at the end (a thread may take the selected name late). */
static int keeps_entries(const spa_model *m) {
    return (m->keep & SPA_KEEP_THREADS) || m->thread_filter;
}

/* Credits delta to the thread, the (thread, stack) entry and, without a thread filter, straight
 * to the stack. Returns 0, or -1 when out of memory. */
static int credit(spa_model *m, uint32_t thread, uint32_t stack, const spa_data *delta) {
    thread_slot *t = thread_at(m, thread);
    if (!t)
        return -1;
    spa_data_add(&t->data, delta);
    if (keeps_entries(m)) {
        spa_entry *e = entry_for(m, thread, stack);
        if (!e)
            return -1;
        spa_data_add(&e->data, delta);
    }
    if (!m->thread_filter) {
        spa_data *d = stack_slot(m, stack);
        if (!d)
            return -1;
        spa_data_add(d, delta);
    }
    return 0;
}

static int add_note(note_list *l, const spa_note *n) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        spa_note *p = realloc(l->v, cap * sizeof *p);
        if (!p)
            return -1;
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = *n;
    return 0;
}

static int add_metadata(spa_model *m, uint32_t key, uint32_t value) {
    if (m->n_metadata == m->metadata_cap) {
        size_t cap = m->metadata_cap ? m->metadata_cap * 2 : 16;
        spa_metadata *p = realloc(m->metadata, cap * sizeof *p);
        if (!p)
            return -1;
        m->metadata = p;
        m->metadata_cap = cap;
    }
    m->metadata[m->n_metadata].key = key;
    m->metadata[m->n_metadata].value = value;
    m->n_metadata++;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Streaming.
 * ------------------------------------------------------------------------------------------- */

/* Marks the thread selected when name (a reader string id) or its kernel id matches. */
static void match_thread(spa_model *m, thread_slot *t, uint32_t thread, uint32_t name) {
    if (!m->thread_filter || t->selected)
        return;
    const spt_thread *th = spt_reader_thread(m->reader, thread);
    if ((m->filter_is_number && th && th->os_tid == m->filter_tid) ||
        strcmp(spt_reader_string(m->reader, name), m->thread_filter) == 0)
        t->selected = 1;
}

static int in_window(const spa_model *m, uint64_t time_ns) {
    if (m->aggregated)
        return 1; /* aggregated records carry the time they were written, nothing more */
    return time_ns >= m->from_ns && (m->to_ns == 0 || time_ns < m->to_ns);
}

/* An allocation of `size` bytes standing for `weight` bytes stands for weight / size allocations
 * (format.md 5.3, ALLOC). */
static double alloc_estimate(uint64_t size, uint64_t weight) {
    return size ? (double)weight / (double)size : 1.0;
}

static int absorb_alloc(spa_model *m, const spt_event *ev) {
    m->totals.allocs++;
    m->totals.alloc_bytes += ev->u.alloc.weight_bytes;
    m->totals.alloc_events++;
    if (!in_window(m, ev->time_ns))
        return 0;
    spa_data delta = zero_data;
    delta.alloc_bytes = ev->u.alloc.weight_bytes;
    delta.alloc_count = alloc_estimate(ev->u.alloc.size_bytes, ev->u.alloc.weight_bytes);
    if (credit(m, ev->thread, ev->u.alloc.stack, &delta))
        return -1;
    if (m->live) {
        spa_live_entry e = {ev->u.alloc.address, delta.alloc_bytes, delta.alloc_count,
                            ev->u.alloc.stack, ev->thread};
        spa_live_entry old;
        /* A replaced entry's FREE was lost: it is simply no longer live. */
        if (spa_live_insert(m->live, &e, &old) < 0)
            return -1;
    }
    return 0;
}

/* One event into the model. Returns 0, or -1 when memory ran out. */
static int absorb(spa_model *m, const spt_event *ev) {
    spa_totals *t = &m->totals;
    /* Deltas may be slightly out of order (format.md 5.1), so track min and max. */
    if (!m->have_time || ev->time_ns < t->first_time_ns)
        t->first_time_ns = ev->time_ns;
    if (!m->have_time || ev->time_ns > t->last_time_ns)
        t->last_time_ns = ev->time_ns;
    m->have_time = 1;

    spa_data delta = zero_data;
    spa_note note;
    memset(&note, 0, sizeof note);
    note.time_ns = ev->time_ns;
    note.thread = ev->thread;
    switch (ev->kind) {
    case SPT_EV_SAMPLE:
        t->samples.count += ev->u.sample.count;
        t->samples.weight += ev->u.sample.weight;
        t->sample_records++;
        if (ev->u.sample.count != 1) {
            t->total_records++;
            m->aggregated = 1;
        }
        if (!in_window(m, ev->time_ns))
            return 0;
        if (ev->u.sample.flags & SPT_SAMPLE_IDLE) {
            delta.idle.count = ev->u.sample.count;
            delta.idle.weight = ev->u.sample.weight;
        } else {
            delta.run.count = ev->u.sample.count;
            delta.run.weight = ev->u.sample.weight;
        }
        return credit(m, ev->thread, ev->u.sample.stack, &delta);
    case SPT_EV_ALLOC:
        return absorb_alloc(m, ev);
    case SPT_EV_FREE: {
        spa_live_entry gone;
        t->frees++;
        t->alloc_events++;
        if (m->live)
            spa_live_remove(m->live, ev->u.free.address, &gone);
        return 0;
    }
    case SPT_EV_ALLOC_TOTAL:
        t->allocs += ev->u.alloc_total.alloc_count;
        t->alloc_bytes += ev->u.alloc_total.alloc_bytes;
        t->total_records++;
        m->aggregated = 1;
        delta.alloc_bytes = ev->u.alloc_total.alloc_bytes;
        delta.alloc_count = (double)ev->u.alloc_total.alloc_count;
        delta.live_bytes = ev->u.alloc_total.live_bytes;
        delta.live_count = (double)ev->u.alloc_total.live_count;
        return credit(m, ev->thread, ev->u.alloc_total.stack, &delta);
    case SPT_EV_THREAD_START: {
        thread_slot *ts = thread_at(m, ev->thread);
        if (!ts)
            return -1;
        ts->first_name = ev->u.thread_info.name;
        match_thread(m, ts, ev->thread, ev->u.thread_info.name);
        return 0;
    }
    case SPT_EV_THREAD_NAME: {
        thread_slot *ts = thread_at(m, ev->thread);
        if (!ts)
            return -1;
        match_thread(m, ts, ev->thread, ev->u.thread_info.name);
        note.text = ev->u.thread_info.name;
        return add_note(&m->renames, &note);
    }
    case SPT_EV_MARKER:
        t->markers++;
        note.text = ev->u.marker.text;
        return add_note(&m->markers, &note);
    case SPT_EV_CHILD:
        t->children++;
        note.thread = 0;
        note.text = ev->u.child.trace_path;
        note.pid = ev->u.child.pid;
        note.kind = ev->u.child.kind;
        return add_note(&m->children, &note);
    case SPT_EV_DROPS:
        /* Reasons past the array (a later recorder's) still count, in slot 0, which no reason
         * uses; those within it keep their own slot, so that aggregate and merge keep them. */
        if ((unsigned)ev->u.drops.reason < sizeof t->drops / sizeof t->drops[0])
            t->drops[ev->u.drops.reason] += ev->u.drops.count;
        else
            t->drops[0] += ev->u.drops.count;
        return 0;
    case SPT_EV_METADATA:
        if (strcmp(spt_reader_string(m->reader, ev->u.metadata.key), "spprof.aggregated") == 0)
            m->aggregated = 1;
        return add_metadata(m, ev->u.metadata.key, ev->u.metadata.value);
    default:
        /* THREAD_END lives in the reader's thread table; END lands in its stats. */
        return 0;
    }
}

typedef struct {
    spa_model *m;
    int failed;
} live_ctx;

static void credit_live(void *ctx, const spa_live_entry *e) {
    live_ctx *c = ctx;
    spa_data delta = zero_data;
    delta.live_bytes = e->weight_bytes;
    delta.live_count = e->count;
    if (credit(c->m, e->thread, e->stack, &delta))
        c->failed = 1;
}

/* After the last event: credits what is still live, settles the thread filter (a restated
 * definition may carry a name whose THREAD_NAME was lost) and folds the selected threads'
 * entries into the per-stack totals. */
static int finish(spa_model *m) {
    if (m->live) {
        live_ctx c = {m, 0};
        spa_live_each(m->live, credit_live, &c);
        spa_live_free(m->live);
        m->live = NULL;
        if (c.failed)
            return -1;
    }
    if (!stack_slot(m, spt_reader_stack_count(m->reader)) ||
        !thread_at(m, spt_reader_thread_count(m->reader)))
        return -1;
    if (m->thread_filter) {
        for (uint32_t id = 1; id <= spt_reader_thread_count(m->reader); id++)
            match_thread(m, &m->threads[id], id, spt_reader_thread(m->reader, id)->name);
        for (size_t i = 0; i < m->n_entries; i++) {
            const spa_entry *e = &m->entries[i];
            if (e->thread != 0 && m->threads[e->thread].selected && e->stack < m->stack_cap)
                spa_data_add(&m->stacks[e->stack], &e->data);
        }
    }
    for (uint32_t s = 0; s < m->stack_cap; s++)
        spa_data_add(&m->selected, &m->stacks[s]);
    return 0;
}

spt_status spa_model_load(const char *path, const spa_model_options *options, spa_model **out) {
    *out = NULL;
    spa_model *m = calloc(1, sizeof *m);
    if (!m)
        return SPT_E_NOMEM;
    *out = m;
    m->path = strdup(path);
    if (!m->path) {
        set_error(m, "%s: out of memory", path);
        return SPT_E_NOMEM;
    }
    spt_reader_options ropts;
    memset(&ropts, 0, sizeof ropts);
    void (*on_loaded)(void *, const spa_model *, const char *) = NULL;
    void *loaded_ctx = NULL;
    if (options) {
        ropts.warn = options->warn;
        ropts.warn_ctx = options->warn_ctx;
        ropts.max_memory_bytes = options->max_memory_bytes;
        m->keep = options->keep;
        m->from_ns = options->from_ns;
        m->to_ns = options->to_ns;
        m->on_event = options->on_event;
        m->event_ctx = options->event_ctx;
        on_loaded = options->on_loaded;
        loaded_ctx = options->loaded_ctx;
        if (options->thread) {
            m->thread_filter = strdup(options->thread);
            if (!m->thread_filter) {
                set_error(m, "%s: out of memory", path);
                return SPT_E_NOMEM;
            }
            char *end;
            unsigned long long tid = strtoull(options->thread, &end, 10);
            m->filter_is_number = options->thread[0] >= '0' && options->thread[0] <= '9' && !*end;
            m->filter_tid = tid;
        }
    }
    if ((m->keep & SPA_KEEP_LIVE) && !(m->live = spa_live_new())) {
        set_error(m, "%s: out of memory", path);
        return SPT_E_NOMEM;
    }
    spt_status st = spt_reader_open(path, &ropts, &m->reader);
    if (st != SPT_OK) {
        if (m->reader)
            set_error(m, "%s", spt_reader_error(m->reader));
        else
            set_error(m, "%s: %s", path, spt_status_name(st));
        return st;
    }

    spt_event ev;
    while ((st = spt_reader_next(m->reader, &ev)) == SPT_OK) {
        if (absorb(m, &ev) != 0) {
            set_error(m, "%s: out of memory after %llu samples", path,
                      (unsigned long long)m->totals.sample_records);
            return SPT_E_NOMEM;
        }
        if (m->on_event)
            m->on_event(m->event_ctx, m, &ev);
    }
    if (st != SPT_END) {
        set_error(m, "%s", spt_reader_error(m->reader));
        return st;
    }
    if (finish(m)) {
        set_error(m, "%s: out of memory", path);
        return SPT_E_NOMEM;
    }
    if (on_loaded)
        on_loaded(loaded_ctx, m, path);
    return SPT_OK;
}

void spa_model_free(spa_model *m) {
    if (!m)
        return;
    spt_reader_close(m->reader);
    spa_live_free(m->live);
    free(m->stacks);
    free(m->threads);
    free(m->entries);
    free(m->entry_slots);
    free(m->metadata);
    free(m->markers.v);
    free(m->renames.v);
    free(m->children.v);
    free(m->thread_filter);
    free(m->path);
    free(m);
}

/* ---------------------------------------------------------------------------------------------
 * Accessors.
 * ------------------------------------------------------------------------------------------- */
const char *spa_model_error(const spa_model *m) {
    if (!m)
        return "out of memory";
    return m->error[0] ? m->error : "no error";
}

const char *spa_model_path(const spa_model *m) {
    return m->path;
}

const spt_reader *spa_model_reader(const spa_model *m) {
    return m->reader;
}

const spt_header *spa_model_header(const spa_model *m) {
    return spt_reader_header(m->reader);
}

const spt_reader_stats *spa_model_stats(const spa_model *m) {
    return spt_reader_get_stats(m->reader);
}

const spa_totals *spa_model_totals(const spa_model *m) {
    return &m->totals;
}

const spa_data *spa_model_selected(const spa_model *m) {
    return &m->selected;
}

int spa_model_is_aggregated(const spa_model *m) {
    return m->aggregated;
}

uint32_t spa_model_stack_count(const spa_model *m) {
    return spt_reader_stack_count(m->reader);
}

const spa_data *spa_model_stack_data(const spa_model *m, uint32_t stack) {
    return stack < m->stack_cap ? &m->stacks[stack] : &zero_data;
}

spa_value spa_model_stack_value(const spa_model *m, uint32_t stack) {
    return spa_data_metric(spa_model_stack_data(m, stack), SPA_METRIC_WALL);
}

uint32_t spa_model_thread_count(const spa_model *m) {
    return spt_reader_thread_count(m->reader);
}

const spa_data *spa_model_thread_data(const spa_model *m, uint32_t thread) {
    return thread < m->thread_cap ? &m->threads[thread].data : &zero_data;
}

spa_value spa_model_thread_value(const spa_model *m, uint32_t thread) {
    return spa_data_metric(spa_model_thread_data(m, thread), SPA_METRIC_WALL);
}

int spa_model_thread_selected(const spa_model *m, uint32_t thread) {
    if (!m->thread_filter)
        return 1;
    return thread != 0 && thread < m->thread_cap && m->threads[thread].selected;
}

uint32_t spa_model_thread_first_name(const spa_model *m, uint32_t thread) {
    return thread < m->thread_cap ? m->threads[thread].first_name : 0;
}

const spa_entry *spa_model_entries(const spa_model *m, size_t *n) {
    *n = (m->keep & SPA_KEEP_THREADS) ? m->n_entries : 0;
    return m->entries;
}

int spa_model_in_window(const spa_model *m, uint64_t time_ns) {
    return in_window(m, time_ns);
}

spa_metric spa_model_default_metric(const spa_model *m) {
    if (m->totals.samples.count == 0 && m->totals.allocs > 0)
        return SPA_METRIC_ALLOC_BYTES;
    return spa_model_header(m)->clock == SPT_CLOCK_WALL ? SPA_METRIC_WALL : SPA_METRIC_CPU;
}

uint64_t spa_model_duration_ns(const spa_model *m) {
    const spt_reader_stats *s = spt_reader_get_stats(m->reader);
    if (s->ended_cleanly)
        return s->end.duration_ns;
    return m->totals.last_time_ns;
}

const spa_metadata *spa_model_metadata(const spa_model *m, size_t *n) {
    *n = m->n_metadata;
    return m->metadata;
}

const spa_note *spa_model_markers(const spa_model *m, size_t *n) {
    *n = m->markers.n;
    return m->markers.v;
}

const spa_note *spa_model_renames(const spa_model *m, size_t *n) {
    *n = m->renames.n;
    return m->renames.v;
}

const spa_note *spa_model_children(const spa_model *m, size_t *n) {
    *n = m->children.n;
    return m->children.v;
}
