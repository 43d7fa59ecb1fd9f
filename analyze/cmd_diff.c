/* cmd_diff.c: spprof-diff BEFORE AFTER: per function, the self and total share of each trace's
 * total before and after, the change with its 95% interval, largest change first; a table per
 * metric (time, and allocated bytes when both traces have allocations). Changes whose interval
 * holds 0 are marked as noise, and the --fail-if-* gates trip only on growth beyond the noise. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    spa_metric metric;
    spa_flat flat[2];
    spa_diff d;
    double n[2];     /* draws per trace, for the intervals */
    size_t *order;   /* row indexes, largest change first */
    spa_change *chg; /* [row * 2 + 0] self, [row * 2 + 1] total */
} table;

typedef struct {
    const spa_cli *cli;
    spa_prof p[2];
    table tables[3];
    size_t n_tables;
} diff;

static const char *metric_title(spa_metric m) {
    switch (m) {
    case SPA_METRIC_CPU:
        return "CPU time";
    case SPA_METRIC_WALL:
        return "wall-clock time";
    case SPA_METRIC_ALLOC_BYTES:
        return "allocated bytes";
    case SPA_METRIC_ALLOC_COUNT:
        return "allocations";
    case SPA_METRIC_LIVE_BYTES:
        return "bytes live at the end";
    }
    return "";
}

/* How many independent draws a trace's total stands for, for the binomial intervals: raw
 * samples for time; for allocations sampled every B bytes on average, the sample points (bytes /
 * B); for traces that record every allocation, the allocations. */
static double draws(const spa_prof *p, spa_metric metric, spa_value all) {
    if (spa_metric_is_time(metric))
        return (double)all.count;
    const spt_header *h = spa_model_header(p->m);
    if (h->alloc_mode == SPT_ALLOC_SAMPLED && h->alloc_sample_bytes) {
        double bytes = (double)all.weight;
        if (metric == SPA_METRIC_ALLOC_COUNT) {
            const spa_data *sel = spa_model_selected(p->m);
            bytes = sel->alloc_count > 0
                        ? (double)sel->alloc_bytes * (double)all.weight / sel->alloc_count
                        : 0;
        }
        return bytes / (double)h->alloc_sample_bytes;
    }
    return (double)(metric == SPA_METRIC_ALLOC_COUNT ? all.weight : all.count);
}

static double magnitude(const table *t, size_t row) {
    double a = fabs(t->chg[row * 2].change), b = fabs(t->chg[row * 2 + 1].change);
    return a > b ? a : b;
}

static const table *sort_table; /* for cmp_order, during one qsort */

static int cmp_order(const void *pa, const void *pb) {
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    double ma = magnitude(sort_table, a), mb = magnitude(sort_table, b);
    if (ma != mb)
        return ma < mb ? 1 : -1;
    return (a > b) - (a < b); /* rows are in name order: a stable, readable tie-break */
}

static int build_table(diff *df, table *t, spa_metric metric) {
    t->metric = metric;
    for (int s = 0; s < 2; s++) {
        spa_prof *p = &df->p[s];
        spa_value *vals = p->self;
        if (metric != p->metric) {
            vals = malloc(((size_t)spa_view_count(p->v) + 1) * sizeof *vals);
            if (!vals)
                return -1;
            spa_view_values(p->v, p->m, metric, vals);
        }
        spt_status st = spa_flat_build(p->v, vals, &t->flat[s]);
        if (vals != p->self)
            free(vals);
        if (st != SPT_OK)
            return -1;
        t->n[s] = draws(p, metric, t->flat[s].all);
    }
    if (spa_diff_build(&t->flat[0], df->p[0].g, &t->flat[1], df->p[1].g, &t->d) != SPT_OK)
        return -1;
    size_t n = t->d.n_rows;
    t->order = malloc((n + 1) * sizeof *t->order);
    t->chg = malloc((n + 1) * 2 * sizeof *t->chg);
    if (!t->order || !t->chg)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const spa_diff_row *r = &t->d.rows[i];
        spa_diff_change(r->self[0], r->self[1], t->d.all[0], t->d.all[1], t->n[0], t->n[1],
                        df->cli->absolute, &t->chg[i * 2]);
        spa_diff_change(r->total[0], r->total[1], t->d.all[0], t->d.all[1], t->n[0], t->n[1],
                        df->cli->absolute, &t->chg[i * 2 + 1]);
        t->order[i] = i;
    }
    sort_table = t;
    qsort(t->order, n, sizeof *t->order, cmp_order);
    sort_table = NULL;
    return 0;
}

static void free_table(table *t) {
    spa_flat_free(&t->flat[0]);
    spa_flat_free(&t->flat[1]);
    spa_diff_free(&t->d);
    free(t->order);
    free(t->chg);
}

static int has_allocs(const spa_prof *p) {
    const spa_data *sel = spa_model_selected(p->m);
    return sel->alloc_bytes > 0 || sel->alloc_count > 0;
}

/* ---------------------------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------------------------- */
static void put_label(FILE *f, const spa_diff_row *r, int json) {
    if (json) {
        char *buf = malloc(r->name_len + r->dis_len + 4);
        if (!buf)
            return;
        memcpy(buf, r->name, r->name_len);
        size_t len = r->name_len;
        if (r->shared_name && r->dis_len) {
            memcpy(buf + len, " (", 2);
            memcpy(buf + len + 2, r->dis, r->dis_len);
            len += 2 + r->dis_len;
            buf[len++] = ')';
        }
        if (json == 1)
            spa_put_json_string(f, buf, len);
        else
            spa_put_csv_field(f, buf, len);
        free(buf);
        return;
    }
    spa_put_text(f, r->name, r->name_len);
    if (r->shared_name && r->dis_len) {
        fputs(" (", f);
        spa_put_text(f, r->dis, r->dis_len);
        fputc(')', f);
    }
}

/* A value in the table's units: a share ("12.5%"), or in absolute mode a time or size. */
static void fmt_value(const diff *df, const table *t, double v, int sign, char *buf, size_t size) {
    const spt_header *h = spa_model_header(df->p[1].m);
    if (!df->cli->absolute) {
        snprintf(buf, size, sign ? "%+.1f" : "%.1f%%", v);
        return;
    }
    char tmp[32];
    double mag = fabs(v);
    spa_fmt_weight(tmp, sizeof tmp, h, t->metric, (uint64_t)llround(mag));
    snprintf(buf, size, "%s%s", sign ? (v < 0 ? "-" : "+") : "", tmp);
}

enum { C_BEFORE, C_AFTER, C_CHANGE, C_CI, N_SIDE };

static void render(const diff *df, const table *t, const spa_change *c, char cells[N_SIDE][64]) {
    char lo[24], hi[24], ch[24];
    fmt_value(df, t, c->before, 0, cells[C_BEFORE], 64);
    fmt_value(df, t, c->after, 0, cells[C_AFTER], 64);
    fmt_value(df, t, c->change, 1, ch, sizeof ch);
    snprintf(cells[C_CHANGE], 64, "%s%s", c->noise ? "~" : "", ch);
    fmt_value(df, t, c->lo, 1, lo, sizeof lo);
    fmt_value(df, t, c->hi, 1, hi, sizeof hi);
    snprintf(cells[C_CI], 64, "[%s, %s]", lo, hi);
}

static void print_table_text(const diff *df, const table *t) {
    const spa_cli *cli = df->cli;
    size_t n = t->d.n_rows;
    size_t shown = cli->limit && cli->limit < n ? (size_t)cli->limit : n;
    static const char *const heads[2 * N_SIDE] = {"self-before",  "self-after",   "self-change",
                                                  "self-95%",     "total-before", "total-after",
                                                  "total-change", "total-95%"};
    size_t width[2 * N_SIDE];
    char cells[2 * N_SIDE][64];
    for (int k = 0; k < 2 * N_SIDE; k++)
        width[k] = strlen(heads[k]);
    for (size_t i = 0; i < shown; i++) {
        size_t row = t->order[i];
        render(df, t, &t->chg[row * 2], cells);
        render(df, t, &t->chg[row * 2 + 1], cells + N_SIDE);
        for (int k = 0; k < 2 * N_SIDE; k++)
            width[k] = strlen(cells[k]) > width[k] ? strlen(cells[k]) : width[k];
    }
    printf("\n%s%s%s: %s\n", spa_color(cli->color, SPA_BOLD), metric_title(t->metric),
           spa_color(cli->color, SPA_RESET),
           cli->absolute ? "totals before and after, change with its 95% interval"
                         : "share of each trace's total, change in points with its 95% interval");
    printf("%s", spa_color(cli->color, SPA_BOLD));
    for (int k = 0; k < 2 * N_SIDE; k++)
        printf("%*s  ", (int)width[k], heads[k]);
    printf("%s%s\n", spa_group_by_name(cli->by), spa_color(cli->color, SPA_RESET));
    for (size_t i = 0; i < shown; i++) {
        size_t row = t->order[i];
        render(df, t, &t->chg[row * 2], cells);
        render(df, t, &t->chg[row * 2 + 1], cells + N_SIDE);
        for (int k = 0; k < 2 * N_SIDE; k++) {
            const spa_change *c = &t->chg[row * 2 + (k >= N_SIDE)];
            const char *on = "";
            if (k % N_SIDE == C_CHANGE)
                on = spa_color(cli->color, c->noise        ? SPA_DIM
                                           : c->change > 0 ? SPA_RED
                                                           : SPA_GREEN);
            printf("%*s%s%s%s  ", (int)(width[k] - strlen(cells[k])), "", on, cells[k],
                   *on ? spa_color(cli->color, SPA_RESET) : "");
        }
        put_label(stdout, &t->d.rows[row], 0);
        printf("\n");
    }
    if (shown < n)
        printf("(%zu more; --limit 0 shows all)\n", n - shown);
}

static void print_text(const diff *df) {
    const spa_cli *cli = df->cli;
    char what[160];
    printf("%s%s%s: ", spa_color(cli->color, SPA_BOLD), spa_prog, spa_color(cli->color, SPA_RESET));
    spa_put_text(stdout, cli->files[0], strlen(cli->files[0]));
    printf(" -> ");
    spa_put_text(stdout, cli->files[1], strlen(cli->files[1]));
    printf("\n");
    spa_print_filters(cli);
    for (int s = 0; s < 2; s++) {
        const table *t = &df->tables[0];
        spa_fmt_all(what, sizeof what, spa_model_header(df->p[s].m), t->metric, t->d.all[s]);
        printf("%-8s %s\n", s ? "after" : "before", what);
    }
    printf("~ marks a change that sampling noise alone can explain (its 95%% interval holds 0)\n");
    for (size_t i = 0; i < df->n_tables; i++)
        print_table_text(df, &df->tables[i]);
}

static void emit_change(spa_emit *e, const char *key, const spa_change *c) {
    spa_emit_object(e, key);
    spa_emit_double(e, "before", c->before);
    spa_emit_double(e, "after", c->after);
    spa_emit_double(e, "change", c->change);
    spa_emit_double(e, "low", c->lo);
    spa_emit_double(e, "high", c->hi);
    spa_emit_bool(e, "noise", c->noise);
    spa_emit_close(e);
}

static void print_json(const diff *df) {
    const spa_cli *cli = df->cli;
    spa_emit e;
    spa_emit_begin(&e, stdout, SPA_FORMAT_JSON);
    spa_emit_cstr(&e, "before", cli->files[0]);
    spa_emit_cstr(&e, "after", cli->files[1]);
    spa_emit_cstr(&e, "by", spa_group_by_name(cli->by));
    spa_emit_filters(&e, cli, df->tables[0].metric);
    spa_emit_bool(&e, "absolute", cli->absolute);
    spa_emit_double(&e, "confidence", 0.95);
    spa_emit_array(&e, "tables");
    for (size_t i = 0; i < df->n_tables; i++) {
        const table *t = &df->tables[i];
        size_t shown = cli->limit && cli->limit < t->d.n_rows ? (size_t)cli->limit : t->d.n_rows;
        spa_emit_object(&e, "");
        spa_emit_cstr(&e, "metric", spa_metric_name(t->metric));
        for (int s = 0; s < 2; s++) {
            spa_emit_object(&e, s ? "after_total" : "before_total");
            spa_emit_u64(&e, "count", t->d.all[s].count);
            spa_emit_u64(&e, "weight", t->d.all[s].weight);
            spa_emit_double(&e, "draws", t->n[s]);
            spa_emit_close(&e);
        }
        spa_emit_u64(&e, "rows_total", t->d.n_rows);
        spa_emit_array(&e, "rows");
        for (size_t k = 0; k < shown; k++) {
            size_t row = t->order[k];
            spa_emit_object(&e, "");
            /* The label as the text output prints it. */
            char *label = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&label, &len);
            if (f) {
                put_label(f, &t->d.rows[row], 0);
                fclose(f);
            }
            spa_emit_str(&e, "name", label ? label : "", label ? len : 0);
            free(label);
            emit_change(&e, "self", &t->chg[row * 2]);
            emit_change(&e, "total", &t->chg[row * 2 + 1]);
            spa_emit_close(&e);
        }
        spa_emit_close(&e);
        spa_emit_close(&e);
    }
    spa_emit_close(&e);
    spa_emit_end(&e);
}

static void print_csv(const diff *df) {
    printf("metric,name,self_before,self_after,self_change,self_low,self_high,self_noise,"
           "total_before,total_after,total_change,total_low,total_high,total_noise\n");
    for (size_t i = 0; i < df->n_tables; i++) {
        const table *t = &df->tables[i];
        size_t n = t->d.n_rows;
        size_t shown = df->cli->limit && df->cli->limit < n ? (size_t)df->cli->limit : n;
        for (size_t k = 0; k < shown; k++) {
            size_t row = t->order[k];
            printf("%s,", spa_metric_name(t->metric));
            put_label(stdout, &t->d.rows[row], 2);
            for (int s = 0; s < 2; s++) {
                const spa_change *c = &t->chg[row * 2 + s];
                printf(",%.3f,%.3f,%.3f,%.3f,%.3f,%d", c->before, c->after, c->change, c->lo, c->hi,
                       c->noise);
            }
            printf("\n");
        }
    }
}

/* The gate: rows whose self or total grew, beyond the noise, by more than pct points (or, with
 * --absolute, by more than pct% of the before total). Prints one line per row. */
static int gate(const diff *df, const table *t, double pct, const char *what) {
    int tripped = 0;
    for (size_t i = 0; i < t->d.n_rows; i++) {
        size_t row = t->order[i];
        for (int s = 0; s < 2; s++) {
            const spa_change *c = &t->chg[row * 2 + s];
            /* With --absolute, changes count in percent of the before total. */
            double scale = 1;
            if (df->cli->absolute)
                scale = t->d.all[0].weight ? 100.0 / (double)t->d.all[0].weight : 0;
            double lo = c->lo * scale;
            if (lo <= pct)
                continue;
            char *label = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&label, &len);
            if (f) {
                put_label(f, &t->d.rows[row], 0);
                fclose(f);
            }
            spa_cli_error("%s: %s: %s %s grew by %+.1f points (95%% interval %+.1f to %+.1f), "
                          "more than %g beyond the noise",
                          what, label ? label : "?", s ? "total" : "self",
                          df->cli->absolute ? "time or bytes, as a share of the before total,"
                                            : "share",
                          c->change * scale, lo, c->hi * scale, pct);
            free(label);
            tripped = 1;
            break; /* one line per function */
        }
    }
    return tripped;
}

int spa_cmd_diff(const spa_cli *cli) {
    diff df;
    memset(&df, 0, sizeof df);
    df.cli = cli;
    int rc = SPA_EXIT_OK;
    for (int s = 0; s < 2 && rc == SPA_EXIT_OK; s++) {
        if (spa_prof_open(cli, cli->files[s], SPA_KEEP_LIVE, &df.p[s]))
            rc = SPA_EXIT_USAGE;
    }
    if (rc == SPA_EXIT_OK) {
        /* The before trace's metric for both, so that the tables compare like with like. */
        spa_metric time = spa_cli_metric(cli, df.p[0].m);
        if (!cli->metric_set && spa_metric_is_alloc(time))
            time = SPA_METRIC_CPU;
        spa_metric list[3];
        size_t n = 0;
        list[n++] = cli->metric_set ? cli->metric : time;
        if (cli->fail_slower >= 0 && !spa_metric_is_time(list[0]))
            list[n++] = spa_cli_metric(cli, df.p[0].m) == SPA_METRIC_WALL ? SPA_METRIC_WALL
                                                                          : SPA_METRIC_CPU;
        int allocs = has_allocs(&df.p[0]) && has_allocs(&df.p[1]);
        if (list[0] != SPA_METRIC_ALLOC_BYTES &&
            ((!cli->metric_set && allocs) || cli->fail_alloc >= 0))
            list[n++] = SPA_METRIC_ALLOC_BYTES;
        if (cli->fail_alloc >= 0 && !allocs) {
            spa_cli_error("%s: no allocations recorded; --fail-if-more-alloc needs them in both "
                          "traces",
                          has_allocs(&df.p[0]) ? cli->files[1] : cli->files[0]);
            rc = SPA_EXIT_USAGE;
        }
        for (size_t i = 0; i < n && rc == SPA_EXIT_OK; i++) {
            if (build_table(&df, &df.tables[i], list[i])) {
                spa_cli_error("%s: out of memory while comparing", cli->files[1]);
                rc = SPA_EXIT_USAGE;
            }
            df.n_tables = i + 1;
        }
    }
    if (rc == SPA_EXIT_OK) {
        if (cli->format == SPA_FORMAT_JSON)
            print_json(&df);
        else if (cli->format == SPA_FORMAT_CSV)
            print_csv(&df);
        else
            print_text(&df);
        int tripped = 0;
        for (size_t i = 0; i < df.n_tables; i++) {
            const table *t = &df.tables[i];
            if (cli->fail_slower >= 0 && spa_metric_is_time(t->metric))
                tripped |= gate(&df, t, cli->fail_slower, "slower");
            if (cli->fail_alloc >= 0 && t->metric == SPA_METRIC_ALLOC_BYTES)
                tripped |= gate(&df, t, cli->fail_alloc, "more allocation");
        }
        if (tripped)
            rc = SPA_EXIT_GATE;
    }
    for (size_t i = 0; i < df.n_tables; i++)
        free_table(&df.tables[i]);
    spa_prof_close(&df.p[0]);
    spa_prof_close(&df.p[1]);
    return rc;
}
