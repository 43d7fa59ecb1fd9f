/* cmd_threads.c: `spprof-analyze threads`: one row per thread with its samples (or bytes) and
 * share, its names, when it was first seen and when it ended, and its hottest function. Per-thread
 * figures come from the per-(thread, stack) totals, so --focus and --ignore apply to them too. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t id;      /* reader thread id; 0 = events tied to no thread */
    spa_value value;  /* the metric, after --focus */
    spa_value idle;   /* wall-clock traces: the waiting part of value (cpu and wall only) */
    uint32_t hottest; /* group with the most self weight, UINT32_MAX if none */
    uint64_t hottest_weight;
} row;

typedef struct {
    const spa_cli *cli;
    const spa_prof *p;
    const spt_reader *r;
    row *rows;
    size_t n;
    spa_value all;
    uint64_t duration_ns;
    int any_idle;
} report;

static int cmp_rows(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->value.weight != y->value.weight)
        return x->value.weight < y->value.weight ? 1 : -1;
    if (x->value.count != y->value.count)
        return x->value.count < y->value.count ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Fills one row per selected thread from the model's entries. Returns 0 or -1 (no memory). */
static int collect(report *rp) {
    const spa_prof *p = rp->p;
    uint32_t n_threads = spa_model_thread_count(p->m);
    uint32_t n_groups = spa_groups_count(p->g);
    size_t n_entries;
    const spa_entry *entries = spa_model_entries(p->m, &n_entries);
    row *by_id = calloc((size_t)n_threads + 1, sizeof *by_id);
    uint64_t *acc = calloc((size_t)n_groups + 1, sizeof *acc);
    size_t *order = malloc((n_entries + 1) * sizeof *order);
    size_t *start = calloc((size_t)n_threads + 2, sizeof *start);
    uint32_t *touched = malloc(((size_t)n_groups + 1) * sizeof *touched);
    rp->rows = malloc(((size_t)n_threads + 1) * sizeof *rp->rows);
    if (!by_id || !acc || !order || !start || !touched || !rp->rows) {
        free(by_id);
        free(acc);
        free(order);
        free(start);
        free(touched);
        return -1;
    }
    /* Entries grouped by thread (a counting sort), so each thread's functions add up in one
     * dense array that is cleared through the list of groups it touched. */
    for (size_t i = 0; i < n_entries; i++)
        start[entries[i].thread + 1]++;
    for (uint32_t t = 1; t <= n_threads + 1; t++)
        start[t] += start[t - 1];
    for (size_t i = 0; i < n_entries; i++)
        order[start[entries[i].thread]++] = i;
    for (uint32_t t = n_threads + 1; t > 0; t--)
        start[t] = start[t - 1];
    start[0] = 0;

    for (uint32_t t = 0; t <= n_threads; t++) {
        row *rw = &by_id[t];
        rw->id = t;
        rw->hottest = UINT32_MAX;
        uint32_t n_touched = 0;
        for (size_t k = start[t]; k < start[t + 1]; k++) {
            const spa_entry *e = &entries[order[k]];
            uint32_t node = spa_view_node_of(p->v, e->stack);
            if (node == SPA_VIEW_EXCLUDED)
                continue;
            spa_value v = spa_data_metric(&e->data, p->metric);
            rw->value.count += v.count;
            rw->value.weight += v.weight;
            if (spa_metric_is_time(p->metric) && p->metric == SPA_METRIC_WALL) {
                rw->idle.count += e->data.idle.count;
                rw->idle.weight += e->data.idle.weight;
            }
            uint32_t g = spa_view_group(p->v, node);
            if (node == 0 || v.weight == 0)
                continue;
            if (acc[g] == 0)
                touched[n_touched++] = g;
            acc[g] += v.weight;
        }
        for (uint32_t i = 0; i < n_touched; i++) {
            uint32_t g = touched[i];
            if (acc[g] > rw->hottest_weight || (acc[g] == rw->hottest_weight && g < rw->hottest)) {
                rw->hottest = g;
                rw->hottest_weight = acc[g];
            }
            acc[g] = 0;
        }
        if (rw->idle.weight)
            rp->any_idle = 1;
        /* Thread 0 holds events tied to no thread: a row only when there are some. */
        int keep = t ? spa_model_thread_selected(p->m, t) : (rw->value.weight || rw->value.count);
        if (keep) {
            rp->rows[rp->n++] = *rw;
            rp->all.count += rw->value.count;
            rp->all.weight += rw->value.weight;
        }
    }
    qsort(rp->rows, rp->n, sizeof *rp->rows, cmp_rows);
    free(by_id);
    free(acc);
    free(order);
    free(start);
    free(touched);
    return 0;
}

/* The names a thread had, oldest first, each once: its first name, then every rename. */
static size_t thread_names(const report *rp, uint32_t id, uint32_t *names, size_t max) {
    size_t n = 0;
    if (id == 0 || max == 0)
        return 0;
    names[n++] = spa_model_thread_first_name(rp->p->m, id);
    size_t n_renames;
    const spa_note *renames = spa_model_renames(rp->p->m, &n_renames);
    for (size_t i = 0; i < n_renames && n < max; i++) {
        if (renames[i].thread == id && renames[i].text != names[n - 1])
            names[n++] = renames[i].text;
    }
    const spt_thread *th = spt_reader_thread(rp->r, id);
    if (th && th->name != names[n - 1] && n < max)
        names[n++] = th->name; /* a rename whose record was lost */
    return n;
}

static void put_name(const report *rp, uint32_t id, FILE *f, int json) {
    uint32_t names[8];
    size_t n = thread_names(rp, id, names, 8);
    const char *s = n ? spt_reader_string(rp->r, names[n - 1]) : "[no thread]";
    size_t len = n ? spt_reader_string_len(rp->r, names[n - 1]) : strlen(s);
    if (json) {
        spa_put_json_string(f, s, len);
        return;
    }
    spa_put_text(f, s, len);
    for (size_t i = 0; i + 1 < n; i++) {
        fputs(i ? ", " : " (was ", f);
        spa_put_text(f, spt_reader_string(rp->r, names[i]), spt_reader_string_len(rp->r, names[i]));
    }
    if (n > 1)
        fputc(')', f);
}

/* ---------------------------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------------------------- */
enum { C_TID, C_NAME, C_MAIN, C_SHARE, C_IDLE, C_FIGURE, C_START, C_END, C_LIFE, C_HOT, N_C };

static void cell_text(const report *rp, const row *rw, int col, char *buf, size_t size) {
    const spt_header *h = spa_model_header(rp->p->m);
    const spt_thread *th = rw->id ? spt_reader_thread(rp->r, rw->id) : NULL;
    int time = spa_metric_is_time(rp->p->metric);
    buf[0] = '\0';
    switch (col) {
    case C_TID:
        if (th)
            snprintf(buf, size, "%" PRIu32, th->os_tid);
        else
            snprintf(buf, size, "-");
        return;
    case C_MAIN:
        if (time)
            spa_fmt_count(buf, size, rw->value.weight);
        else
            spa_fmt_weight(buf, size, h, rp->p->metric, rw->value.weight);
        return;
    case C_SHARE:
        snprintf(buf, size, "%.1f%%", spa_percent(rw->value.weight, rp->all.weight));
        return;
    case C_IDLE:
        snprintf(buf, size, "%.1f%%", spa_percent(rw->idle.weight, rw->value.weight));
        return;
    case C_FIGURE:
        if (time)
            spa_fmt_weight(buf, size, h, rp->p->metric, rw->value.weight);
        else
            spa_fmt_count(buf, size, rw->value.count);
        return;
    case C_START:
        if (th)
            spa_fmt_duration(buf, size, th->start_ns);
        return;
    case C_END:
        if (th && th->end_ns)
            spa_fmt_duration(buf, size, th->end_ns);
        else
            snprintf(buf, size, "-");
        return;
    case C_LIFE:
        if (th) {
            uint64_t end = th->end_ns ? th->end_ns : rp->duration_ns;
            spa_fmt_duration(buf, size, end > th->start_ns ? end - th->start_ns : 0);
        }
        return;
    }
}

/* The name column's text for one row ("worker (was main)"), in a heap buffer. */
static char *name_text(const report *rp, uint32_t id) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    put_name(rp, id, f, 0);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void print_text(const report *rp) {
    const spa_cli *cli = rp->cli;
    const spt_header *h = spa_model_header(rp->p->m);
    int time = spa_metric_is_time(rp->p->metric);
    char what[160], buf[48];
    spa_fmt_all(what, sizeof what, h, rp->p->metric, rp->all);
    printf("%s", spa_color(cli->color, SPA_BOLD));
    spa_put_text(stdout, cli->file, strlen(cli->file));
    printf("%s: %zu thread%s, %s\n", spa_color(cli->color, SPA_RESET), rp->n, rp->n == 1 ? "" : "s",
           what);
    spa_print_filters(cli);
    if (rp->n == 0)
        return;
    const char *heads[N_C] = {"tid",     "name",  time ? "samples" : "bytes",
                              "share",   "idle",  time ? "time" : "allocs",
                              "started", "ended", "lifetime",
                              "hottest"};
    if (rp->p->metric == SPA_METRIC_ALLOC_COUNT) {
        heads[C_MAIN] = "allocs";
        heads[C_FIGURE] = NULL;
    } else if (rp->p->metric == SPA_METRIC_LIVE_BYTES) {
        heads[C_MAIN] = "live";
    } else if (time && !h->interval_ns) {
        heads[C_FIGURE] = NULL;
    }
    if (!rp->any_idle)
        heads[C_IDLE] = NULL;
    char **names = calloc(rp->n, sizeof *names);
    if (!names)
        return;
    size_t width[N_C];
    for (int k = 0; k < N_C; k++)
        width[k] = heads[k] ? strlen(heads[k]) : 0;
    for (size_t i = 0; i < rp->n; i++) {
        names[i] = name_text(rp, rp->rows[i].id);
        if (names[i] && strlen(names[i]) > width[C_NAME])
            width[C_NAME] = strlen(names[i]);
        for (int k = 0; k < N_C; k++) {
            if (k == C_NAME || k == C_HOT)
                continue;
            cell_text(rp, &rp->rows[i], k, buf, sizeof buf);
            if (strlen(buf) > width[k])
                width[k] = strlen(buf);
        }
    }
    /* Numbers right-aligned, the name left-aligned, the hottest function last and unpadded. */
    printf("%s", spa_color(cli->color, SPA_BOLD));
    for (int k = 0; k < C_HOT; k++) {
        if (heads[k])
            printf(k == C_NAME ? "%-*s  " : "%*s  ", (int)width[k], heads[k]);
    }
    printf("hottest %s%s\n", spa_group_by_name(cli->by), spa_color(cli->color, SPA_RESET));
    for (size_t i = 0; i < rp->n; i++) {
        const row *rw = &rp->rows[i];
        for (int k = 0; k < C_HOT; k++) {
            if (!heads[k])
                continue;
            if (k == C_NAME) {
                printf("%-*s  ", (int)width[k], names[i] ? names[i] : "?");
                continue;
            }
            cell_text(rp, rw, k, buf, sizeof buf);
            printf("%*s  ", (int)width[k], buf);
        }
        if (rw->hottest == UINT32_MAX) {
            printf("-\n");
            continue;
        }
        size_t len;
        const char *label = spa_groups_label(rp->p->g, rw->hottest, &len);
        spa_put_text(stdout, label, len);
        printf(" (%.1f%%)\n", spa_percent(rw->hottest_weight, rw->value.weight));
    }
    for (size_t i = 0; i < rp->n; i++)
        free(names[i]);
    free(names);
}

static void print_machine(const report *rp) {
    const spa_cli *cli = rp->cli;
    const spt_header *h = spa_model_header(rp->p->m);
    spa_emit e;
    if (cli->format == SPA_FORMAT_CSV) {
        printf("tid,name,count,weight,percent,idle_weight,start_ns,end_ns,lifetime_ns,hottest,"
               "hottest_weight\n");
        for (size_t i = 0; i < rp->n; i++) {
            const row *rw = &rp->rows[i];
            const spt_thread *th = rw->id ? spt_reader_thread(rp->r, rw->id) : NULL;
            uint32_t names[8];
            size_t n = thread_names(rp, rw->id, names, 8);
            if (th)
                printf("%" PRIu32, th->os_tid);
            printf(",");
            if (n)
                spa_put_csv_field(stdout, spt_reader_string(rp->r, names[n - 1]),
                                  spt_reader_string_len(rp->r, names[n - 1]));
            printf(",%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64 ",", rw->value.count, rw->value.weight,
                   spa_percent(rw->value.weight, rp->all.weight), rw->idle.weight);
            if (th) {
                uint64_t end = th->end_ns ? th->end_ns : rp->duration_ns;
                printf("%" PRIu64 ",", th->start_ns);
                if (th->end_ns)
                    printf("%" PRIu64, th->end_ns);
                printf(",%" PRIu64, end > th->start_ns ? end - th->start_ns : 0);
            } else {
                printf(",,");
            }
            printf(",");
            if (rw->hottest != UINT32_MAX) {
                size_t len;
                const char *label = spa_groups_label(rp->p->g, rw->hottest, &len);
                spa_put_csv_field(stdout, label, len);
            }
            printf(",%" PRIu64 "\n", rw->hottest_weight);
        }
        return;
    }
    spa_emit_begin(&e, stdout, SPA_FORMAT_JSON);
    spa_emit_cstr(&e, "file", cli->file);
    spa_emit_cstr(&e, "by", spa_group_by_name(cli->by));
    spa_emit_filters(&e, cli, rp->p->metric);
    spa_emit_u64(&e, "interval_ns", h->interval_ns);
    spa_emit_object(&e, "total");
    spa_emit_u64(&e, "count", rp->all.count);
    spa_emit_u64(&e, "weight", rp->all.weight);
    spa_emit_close(&e);
    spa_emit_array(&e, "threads");
    for (size_t i = 0; i < rp->n; i++) {
        const row *rw = &rp->rows[i];
        const spt_thread *th = rw->id ? spt_reader_thread(rp->r, rw->id) : NULL;
        uint32_t names[8];
        size_t n = thread_names(rp, rw->id, names, 8);
        spa_emit_object(&e, "");
        if (th)
            spa_emit_u64(&e, "tid", th->os_tid);
        else
            spa_emit_null(&e, "tid");
        if (n)
            spa_emit_str(&e, "name", spt_reader_string(rp->r, names[n - 1]),
                         spt_reader_string_len(rp->r, names[n - 1]));
        else
            spa_emit_null(&e, "name");
        spa_emit_array(&e, "names");
        for (size_t k = 0; k < n; k++)
            spa_emit_str(&e, "", spt_reader_string(rp->r, names[k]),
                         spt_reader_string_len(rp->r, names[k]));
        spa_emit_close(&e);
        spa_emit_u64(&e, "count", rw->value.count);
        spa_emit_u64(&e, "weight", rw->value.weight);
        spa_emit_double(&e, "percent", spa_percent(rw->value.weight, rp->all.weight));
        spa_emit_u64(&e, "idle_weight", rw->idle.weight);
        if (th) {
            uint64_t end = th->end_ns ? th->end_ns : rp->duration_ns;
            spa_emit_u64(&e, "start_ns", th->start_ns);
            if (th->end_ns)
                spa_emit_u64(&e, "end_ns", th->end_ns);
            else
                spa_emit_null(&e, "end_ns");
            spa_emit_u64(&e, "lifetime_ns", end > th->start_ns ? end - th->start_ns : 0);
        }
        if (rw->hottest != UINT32_MAX) {
            size_t len;
            const char *label = spa_groups_label(rp->p->g, rw->hottest, &len);
            spa_emit_object(&e, "hottest");
            spa_emit_str(&e, "name", label, len);
            spa_emit_u64(&e, "weight", rw->hottest_weight);
            spa_emit_double(&e, "percent", spa_percent(rw->hottest_weight, rw->value.weight));
            spa_emit_close(&e);
        } else {
            spa_emit_null(&e, "hottest");
        }
        spa_emit_close(&e);
    }
    spa_emit_close(&e);
    spa_emit_end(&e);
}

int spa_cmd_threads(const spa_cli *cli) {
    spa_prof p;
    if (spa_prof_open(cli, cli->file, SPA_KEEP_THREADS | SPA_KEEP_LIVE, &p))
        return SPA_EXIT_USAGE;
    report rp;
    memset(&rp, 0, sizeof rp);
    rp.cli = cli;
    rp.p = &p;
    rp.r = spa_model_reader(p.m);
    rp.duration_ns = spa_model_duration_ns(p.m);
    if (collect(&rp)) {
        spa_cli_error("%s: out of memory while counting threads", cli->file);
        free(rp.rows);
        spa_prof_close(&p);
        return SPA_EXIT_USAGE;
    }
    if (cli->format == SPA_FORMAT_TEXT)
        print_text(&rp);
    else
        print_machine(&rp);
    free(rp.rows);
    spa_prof_close(&p);
    return SPA_EXIT_OK;
}
