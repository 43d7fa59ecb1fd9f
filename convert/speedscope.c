/* speedscope.c: speedscope's JSON file format (speedscope's src/lib/file-format-spec.ts). One
 * "sampled" profile per thread and metric, named after the thread; frames shared between them,
 * one per group of the view, with file and line where the group has one. Samples are stacks
 * root-first, in the order the trace holds them (the recorder writes each thread's samples in
 * time order), read back from the spill; aggregated traces and metrics without order (live bytes,
 * allocation counts) give one sample per stack total. Weights are in the trace's own unit:
 * nanoseconds (sampling intervals x interval_ns) or bytes; never zero. */
#include "convert/convert_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA "https://www.speedscope.app/file-format-schema.json"

typedef struct {
    spc_job *j;
    FILE *out;
    uint32_t *frame_of; /* [group] speedscope frame index, UINT32_MAX when unused */
    uint32_t no_stack;  /* the index of "[no stack]", UINT32_MAX when unused */
    uint32_t *path;     /* scratch: groups on a node's path */
    char *line;         /* scratch: one sample's text, "[0,1,2]" */
    spc_cell *cells;    /* per (thread, node) totals, by thread then node */
    size_t n_cells;
    size_t *first; /* [thread] its first cell; [thread + 1] its end */
    int n_profiles;
} writer;

/* Profiles are written per metric: time, then allocations. */
typedef struct {
    spa_metric metrics[4];
    int n;
} metric_list;

static metric_list metrics_of(const spc_job *j) {
    metric_list l = {{SPA_METRIC_CPU}, 0};
    if (j->o->metric_set) {
        l.metrics[l.n++] = j->metric;
        return l;
    }
    const spa_totals *t = spa_model_totals(j->m);
    if (t->samples.count > 0 || t->allocs == 0)
        l.metrics[l.n++] = spa_metric_is_alloc(j->metric) ? SPA_METRIC_CPU : j->metric;
    if (t->allocs > 0) {
        l.metrics[l.n++] = SPA_METRIC_ALLOC_BYTES;
        if (spa_model_selected(j->m)->live_bytes > 0)
            l.metrics[l.n++] = SPA_METRIC_LIVE_BYTES;
    }
    return l;
}

static int is_time(spa_metric metric) {
    return metric == SPA_METRIC_CPU || metric == SPA_METRIC_WALL;
}

/* A weight in the profile's unit. */
static uint64_t scaled(const spc_job *j, spa_metric metric, uint64_t weight) {
    return is_time(metric) && j->h->interval_ns ? spc_mul_sat(weight, j->h->interval_ns) : weight;
}

static const char *unit_of(const spc_job *j, spa_metric metric) {
    if (is_time(metric))
        return j->h->interval_ns ? "nanoseconds" : "none";
    return metric == SPA_METRIC_ALLOC_COUNT ? "none" : "bytes";
}

/* ---------------------------------------------------------------------------------------------
 * Frames: the groups on the path of any stack with something selected, in group order.
 * ------------------------------------------------------------------------------------------- */
/* Whether d weighs anything in one of the metrics written. */
static int data_any(const metric_list *ml, const spa_data *d) {
    for (int k = 0; k < ml->n; k++) {
        if (spa_data_metric(d, ml->metrics[k]).weight)
            return 1;
    }
    return 0;
}

static int number_frames(writer *w, const metric_list *ml) {
    spc_job *j = w->j;
    uint32_t n_groups = spa_groups_count(j->g);
    unsigned char *used = calloc((size_t)j->n_nodes + 1, 1);
    w->frame_of = malloc(((size_t)n_groups + 1) * sizeof *w->frame_of);
    if (!used || !w->frame_of) {
        free(used);
        return -1;
    }
    for (uint32_t s = 0; s <= spa_model_stack_count(j->m); s++) {
        const spa_data *d = spa_model_stack_data(j->m, s);
        uint32_t node = spa_view_node_of(j->v, s);
        if (node != SPA_VIEW_EXCLUDED && data_any(ml, d))
            used[node] = 1;
    }
    for (uint32_t g = 0; g < n_groups; g++)
        w->frame_of[g] = UINT32_MAX;
    /* Children are numbered after their parents: a backward sweep marks every ancestor. */
    for (uint32_t node = j->n_nodes; node >= 1; node--) {
        if (used[node]) {
            used[spa_view_parent(j->v, node)] = 1;
            w->frame_of[spa_view_group(j->v, node)] = 0;
        }
    }
    uint32_t next = 0;
    for (uint32_t g = 0; g < n_groups; g++) {
        if (w->frame_of[g] == 0)
            w->frame_of[g] = next++;
    }
    /* The root's own samples: stacks with no frame left after --ignore, or none at all. */
    int root_used = 0;
    for (uint32_t s = 0; s <= spa_model_stack_count(j->m) && !root_used; s++) {
        if (spa_view_node_of(j->v, s) == 0) {
            root_used = data_any(ml, spa_model_stack_data(j->m, s));
        }
    }
    w->no_stack = root_used ? next : UINT32_MAX;
    free(used);
    return 0;
}

static void write_frames(writer *w) {
    spc_job *j = w->j;
    FILE *f = w->out;
    int first = 1;
    fputs("\"shared\":{\"frames\":[", f);
    for (uint32_t g = 0; g < spa_groups_count(j->g); g++) {
        if (w->frame_of[g] == UINT32_MAX)
            continue;
        size_t len;
        const char *label = spa_groups_label(j->g, g, &len);
        const spc_group_info *gi = &j->info[g];
        fputs(first ? "\n{\"name\":" : ",\n{\"name\":", f);
        first = 0;
        spc_put_json(f, label, len);
        if (gi->file) {
            fputs(",\"file\":", f);
            spc_put_json(f, spt_reader_string(j->r, gi->file),
                         spt_reader_string_len(j->r, gi->file));
        }
        if (gi->line)
            fprintf(f, ",\"line\":%" PRIu32, gi->line);
        fputc('}', f);
    }
    if (w->no_stack != UINT32_MAX)
        fputs(first ? "\n{\"name\":\"[no stack]\"}" : ",\n{\"name\":\"[no stack]\"}", f);
    fputs("]},\n", f);
}

/* ---------------------------------------------------------------------------------------------
 * Samples.
 * ------------------------------------------------------------------------------------------- */
static void write_stack(writer *w, uint32_t node) {
    char *p = w->line;
    *p++ = '[';
    if (node == 0) {
        p += spc_fmt_u64(p, w->no_stack);
    } else {
        uint32_t d = spc_job_path(w->j, node, w->path);
        for (uint32_t k = 0; k < d; k++) {
            if (k)
                *p++ = ',';
            p += spc_fmt_u64(p, w->frame_of[w->path[k]]);
        }
    }
    *p++ = ']';
    fwrite(w->line, 1, (size_t)(p - w->line), w->out);
}

static void write_weight(FILE *f, uint64_t v) {
    char buf[24];
    fwrite(buf, 1, spc_fmt_u64(buf, v), f);
}

static void profile_head(writer *w, uint32_t t, spa_metric metric) {
    spc_job *j = w->j;
    FILE *f = w->out;
    size_t len;
    uint32_t tid;
    const char *name = spc_job_thread_name(j, t, &len, &tid);
    spc_buf b = {0};
    if (t == 0) {
        spc_buf_str(&b, "[no thread]");
    } else {
        spc_buf_fmt(&b, "Thread %" PRIu32 " \"", tid);
        spc_buf_add(&b, name, len);
        spc_buf_byte(&b, '"');
    }
    if (!is_time(metric))
        spc_buf_fmt(&b, " (%s)", spc_metric_title(metric));
    fputs(w->n_profiles++ ? ",\n{\"type\":\"sampled\",\"name\":"
                          : "\n{\"type\":\"sampled\",\"name\":",
          f);
    spc_put_json(f, b.failed ? "" : (const char *)b.p, b.failed ? 0 : b.len);
    spc_buf_free(&b);
    fprintf(f, ",\"unit\":\"%s\",\"startValue\":0,\n\"samples\":[", unit_of(j, metric));
}

/* One time-ordered profile from the spill: stacks first, then (a second read) weights. Returns the
 * total, or UINT64_MAX when the spill could not be read. */
static uint64_t spilled_samples(writer *w, uint32_t t, spa_metric metric) {
    spc_job *j = w->j;
    FILE *f = w->out;
    uint32_t stream = is_time(metric) ? 2 * t : 2 * t + 1;
    uint64_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        spc_spill_reader rd;
        spc_spill_read_begin(&rd, j->spill, stream);
        uint64_t key, weight;
        int rc, n = 0;
        while ((rc = spc_spill_read_varint(&rd, &key)) == 1) {
            if (spc_spill_read_varint(&rd, &weight) != 1)
                return UINT64_MAX;
            uint32_t stack = (uint32_t)(is_time(metric) ? key >> 1 : key);
            if ((metric == SPA_METRIC_CPU && (key & 1)) || weight == 0)
                continue;
            uint32_t node = spa_view_node_of(j->v, stack);
            if (node == SPA_VIEW_EXCLUDED)
                continue;
            if (n++)
                fputc(',', f);
            if (pass == 0) {
                write_stack(w, node);
            } else {
                uint64_t v = scaled(j, metric, weight);
                write_weight(f, v);
                total = total + v < total ? UINT64_MAX - 1 : total + v;
            }
        }
        if (rc < 0)
            return UINT64_MAX;
        fputs(pass == 0 ? "],\n\"weights\":[" : "]", f);
    }
    return total;
}

/* One profile of stack totals from the model's per-(thread, stack) entries, in node order. */
static uint64_t total_samples(writer *w, uint32_t t, spa_metric metric) {
    spc_job *j = w->j;
    FILE *f = w->out;
    uint64_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        int n = 0;
        for (size_t k = w->first[t]; k < w->first[t + 1]; k++) {
            uint64_t weight = spa_data_metric(&w->cells[k].data, metric).weight;
            if (weight == 0)
                continue;
            if (n++)
                fputc(',', f);
            if (pass == 0) {
                write_stack(w, w->cells[k].node);
            } else {
                uint64_t v = scaled(j, metric, weight);
                write_weight(f, v);
                total = total + v < total ? UINT64_MAX - 1 : total + v;
            }
        }
        fputs(pass == 0 ? "],\n\"weights\":[" : "]", f);
    }
    return total;
}

/* Where each thread's cells start. */
static int index_cells(writer *w) {
    uint32_t n_threads = spa_model_thread_count(w->j->m);
    if (spc_job_cells(w->j, &w->cells, &w->n_cells))
        return -1;
    w->first = calloc((size_t)n_threads + 2, sizeof *w->first);
    if (!w->first)
        return -1;
    for (size_t i = 0; i < w->n_cells; i++)
        w->first[w->cells[i].thread + 1]++;
    for (uint32_t t = 1; t <= n_threads + 1; t++)
        w->first[t] += w->first[t - 1];
    return 0;
}

/* The thread's total of a metric after --focus: whether it gets a profile. */
static uint64_t thread_total(const writer *w, uint32_t t, spa_metric metric) {
    uint64_t sum = 0;
    for (size_t k = w->first[t]; k < w->first[t + 1]; k++)
        sum += spa_data_metric(&w->cells[k].data, metric).weight;
    return sum;
}

static void write_header(writer *w) {
    const spt_header *h = w->j->h;
    FILE *f = w->out;
    const char *exe = h->executable ? h->executable : "";
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    spc_buf name = {0};
    spc_buf_str(&name, *base ? base : "trace");
    spc_buf_fmt(&name, " (pid %" PRIu32 ")", h->pid);
    fputs("{\"$schema\":\"" SCHEMA "\",\n\"exporter\":\"spprof-convert\",\n\"name\":", f);
    spc_put_json(f, name.failed ? "" : (const char *)name.p, name.failed ? 0 : name.len);
    spc_buf_free(&name);
    fputs(",\n\"activeProfileIndex\":0,\n", f);
}

spt_status spc_write_speedscope(spc_job *j, FILE *out) {
    writer w;
    memset(&w, 0, sizeof w);
    w.j = j;
    w.out = out;
    w.path = malloc(((size_t)j->max_depth + 1) * sizeof *w.path);
    w.line = malloc(((size_t)j->max_depth + 1) * 11 + 4); /* ",4294967295" per frame, "[]" */
    spt_status st = SPT_OK;
    metric_list ml = metrics_of(j);
    if (!w.path || !w.line || number_frames(&w, &ml) || index_cells(&w)) {
        st = spc_job_fail(j, SPT_E_NOMEM, "out of memory while numbering frames");
        goto done;
    }
    write_header(&w);
    write_frames(&w);
    fputs("\"profiles\":[", out);
    int ordered = !spa_model_is_aggregated(j->m);
    uint32_t n_threads = spa_model_thread_count(j->m);
    for (int k = 0; k < ml.n; k++) {
        spa_metric metric = ml.metrics[k];
        int from_spill = ordered && (is_time(metric) || metric == SPA_METRIC_ALLOC_BYTES);
        for (uint32_t t = 0; t <= n_threads; t++) {
            if (!spa_model_thread_selected(j->m, t) || thread_total(&w, t, metric) == 0)
                continue;
            profile_head(&w, t, metric);
            uint64_t total =
                from_spill ? spilled_samples(&w, t, metric) : total_samples(&w, t, metric);
            if (total == UINT64_MAX) {
                st = spc_job_fail(j, SPT_E_IO, "cannot read back the spilled samples");
                goto done;
            }
            fprintf(out, ",\"endValue\":%" PRIu64 "}", total);
        }
    }
    if (w.n_profiles == 0) {
        /* Nothing selected: still a file speedscope opens, saying so. */
        fprintf(out,
                "\n{\"type\":\"sampled\",\"name\":\"nothing selected\",\"unit\":\"%s\","
                "\"startValue\":0,\"endValue\":0,\"samples\":[],\"weights\":[]}",
                unit_of(j, j->metric));
    }
    fputs("]}\n", out);
done:
    free(w.path);
    free(w.line);
    free(w.frame_of);
    free(w.cells);
    free(w.first);
    return st;
}
