/* model.c: streams a trace once into per-stack and per-thread sample totals plus counters.
 * Per event the work is O(1) (an array slot indexed by stack id); nothing here grows with the
 * number of samples, and no string is hashed or copied while streaming. */
#include "analyze/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct spa_model {
    char *path;
    spt_reader *reader;
    spa_value *stack_values; /* [stack id]; index 0 holds samples with an empty stack */
    uint32_t stack_cap;
    spa_value *thread_values; /* [thread id]; index 0 holds samples tied to no thread */
    uint32_t thread_cap;
    spa_metadata *metadata;
    size_t n_metadata;
    size_t metadata_cap;
    spa_totals totals;
    int have_time;
    char error[512];
};

__attribute__((format(printf, 2, 3))) static void set_error(spa_model *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof m->error, fmt, ap);
    va_end(ap);
}

/* Grows a zeroed array of spa_value so that index `need` is valid. Doubling keeps the cost per
 * sample O(1) amortized even when stacks are first met one by one. */
static int grow_values(spa_value **arr, uint32_t *cap, uint32_t need, uint32_t hint) {
    uint64_t want = *cap ? (uint64_t)*cap * 2 : 1024;
    if (want < (uint64_t)hint + 1)
        want = (uint64_t)hint + 1;
    if (want < (uint64_t)need + 1)
        want = (uint64_t)need + 1;
    if (want > UINT32_MAX)
        want = UINT32_MAX;
    if (want <= need)
        return -1;
    spa_value *p = realloc(*arr, (size_t)want * sizeof *p);
    if (!p)
        return -1;
    memset(p + *cap, 0, (size_t)(want - *cap) * sizeof *p);
    *arr = p;
    *cap = (uint32_t)want;
    return 0;
}

static int add_sample(spa_model *m, uint32_t stack, uint32_t thread, uint64_t count,
                      uint64_t weight) {
    if (stack >= m->stack_cap &&
        grow_values(&m->stack_values, &m->stack_cap, stack, spt_reader_stack_count(m->reader)))
        return -1;
    if (thread >= m->thread_cap &&
        grow_values(&m->thread_values, &m->thread_cap, thread, spt_reader_thread_count(m->reader)))
        return -1;
    m->stack_values[stack].count += count;
    m->stack_values[stack].weight += weight;
    m->thread_values[thread].count += count;
    m->thread_values[thread].weight += weight;
    m->totals.samples.count += count;
    m->totals.samples.weight += weight;
    m->totals.sample_records++;
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

/* One event into the model. Returns 0, or -1 when memory ran out. */
static int absorb(spa_model *m, const spt_event *ev) {
    spa_totals *t = &m->totals;
    /* Aggregated records carry the time they were written, which still bounds the recording.
     * Deltas may be slightly out of order (format.md 5.1), so track min and max. */
    if (!m->have_time || ev->time_ns < t->first_time_ns)
        t->first_time_ns = ev->time_ns;
    if (!m->have_time || ev->time_ns > t->last_time_ns)
        t->last_time_ns = ev->time_ns;
    m->have_time = 1;

    switch (ev->kind) {
    case SPT_EV_SAMPLE:
        return add_sample(m, ev->u.sample.stack, ev->thread, ev->u.sample.count,
                          ev->u.sample.weight);
    case SPT_EV_ALLOC:
        t->allocs++;
        t->alloc_bytes += ev->u.alloc.weight_bytes;
        return 0;
    case SPT_EV_ALLOC_TOTAL:
        t->allocs += ev->u.alloc_total.alloc_count;
        t->alloc_bytes += ev->u.alloc_total.alloc_bytes;
        return 0;
    case SPT_EV_FREE:
        t->frees++;
        return 0;
    case SPT_EV_MARKER:
        t->markers++;
        return 0;
    case SPT_EV_CHILD:
        t->children++;
        return 0;
    case SPT_EV_DROPS:
        if ((unsigned)ev->u.drops.reason < sizeof t->drops / sizeof t->drops[0])
            t->drops[ev->u.drops.reason] += ev->u.drops.count;
        return 0;
    case SPT_EV_METADATA:
        return add_metadata(m, ev->u.metadata.key, ev->u.metadata.value);
    default:
        /* Thread lifecycle events live in the reader's thread table; END lands in its stats. */
        return 0;
    }
}

spt_status spa_model_load(const char *path, const spa_model_options *options, spa_model **out) {
    *out = NULL;
    spa_model *m = calloc(1, sizeof *m);
    if (!m)
        return SPT_E_NOMEM;
    *out = m;
    size_t path_len = strlen(path);
    m->path = malloc(path_len + 1);
    if (m->path)
        memcpy(m->path, path, path_len + 1);
    if (!m->path) {
        set_error(m, "%s: out of memory", path);
        return SPT_E_NOMEM;
    }

    spt_reader_options ropts;
    memset(&ropts, 0, sizeof ropts);
    if (options) {
        ropts.warn = options->warn;
        ropts.warn_ctx = options->warn_ctx;
        ropts.max_memory_bytes = options->max_memory_bytes;
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
    }
    if (st != SPT_END) {
        set_error(m, "%s", spt_reader_error(m->reader));
        return st;
    }
    return SPT_OK;
}

void spa_model_free(spa_model *m) {
    if (!m)
        return;
    spt_reader_close(m->reader);
    free(m->stack_values);
    free(m->thread_values);
    free(m->metadata);
    free(m->path);
    free(m);
}

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

uint32_t spa_model_stack_count(const spa_model *m) {
    return spt_reader_stack_count(m->reader);
}

spa_value spa_model_stack_value(const spa_model *m, uint32_t stack) {
    spa_value zero = {0, 0};
    return stack < m->stack_cap ? m->stack_values[stack] : zero;
}

uint32_t spa_model_thread_count(const spa_model *m) {
    return spt_reader_thread_count(m->reader);
}

spa_value spa_model_thread_value(const spa_model *m, uint32_t thread) {
    spa_value zero = {0, 0};
    return thread < m->thread_cap ? m->thread_values[thread] : zero;
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
