/* cmd_top.c: `spprof-analyze top`, the flat profile: per function (or file, line, module) the
 * self and total share of the metric, sorted by either, as an aligned table, JSON or CSV. */
#include "analyze/cli.h"

#include <inttypes.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Text: a heading line, then right-aligned numeric columns and the label last, unpadded.
 * Per side (self, total): the share, the metric's main figure, and a second figure (time for
 * samples, allocation counts for bytes) when the metric has one.
 * ------------------------------------------------------------------------------------------- */
enum { COL_SELF_PCT, COL_SELF_A, COL_SELF_B, COL_TOTAL_PCT, COL_TOTAL_A, COL_TOTAL_B, N_COLS };

typedef struct {
    char text[N_COLS][32];
} cells;

typedef struct {
    const char *a, *b; /* column names after "self-"/"total-"; b NULL when there is none */
} columns;

static columns columns_of(spa_metric metric, const spt_header *h) {
    columns c = {"samples", NULL};
    switch (metric) {
    case SPA_METRIC_CPU:
    case SPA_METRIC_WALL:
        c.b = h->interval_ns ? "time" : NULL;
        break;
    case SPA_METRIC_ALLOC_BYTES:
        c.a = "bytes";
        c.b = "allocs";
        break;
    case SPA_METRIC_ALLOC_COUNT:
        c.a = "allocs";
        break;
    case SPA_METRIC_LIVE_BYTES:
        c.a = "live";
        c.b = "allocs";
        break;
    }
    return c;
}

static void render_side(spa_value v, uint64_t all, const spt_header *h, spa_metric metric,
                        char *pct, char *a, char *b, size_t size) {
    snprintf(pct, size, "%.1f%%", spa_percent(v.weight, all));
    if (spa_metric_is_time(metric)) {
        spa_fmt_count(a, size, v.weight);
        spa_fmt_weight(b, size, h, metric, v.weight);
    } else {
        spa_fmt_weight(a, size, h, metric, v.weight);
        spa_fmt_count(b, size, v.count);
    }
}

static void render(const spa_flat_row *row, uint64_t all, const spt_header *h, spa_metric metric,
                   cells *c) {
    size_t size = sizeof c->text[0];
    render_side(row->self, all, h, metric, c->text[COL_SELF_PCT], c->text[COL_SELF_A],
                c->text[COL_SELF_B], size);
    render_side(row->total, all, h, metric, c->text[COL_TOTAL_PCT], c->text[COL_TOTAL_A],
                c->text[COL_TOTAL_B], size);
}

static void print_text(const spa_cli *cli, const spa_prof *p, const spa_flat *flat, size_t n) {
    const spt_header *h = spa_model_header(p->m);
    uint64_t all = flat->all.weight;
    int color = cli->color;
    columns cols = columns_of(p->metric, h);
    char what[160];

    spa_fmt_all(what, sizeof what, h, p->metric, flat->all);
    printf("%s", spa_color(color, SPA_BOLD));
    spa_put_text(stdout, cli->file, strlen(cli->file));
    printf("%s: %s in %zu %s%s", spa_color(color, SPA_RESET), what, flat->n_rows,
           spa_group_by_name(cli->by), flat->n_rows == 1 ? "" : "s");
    if (n < flat->n_rows)
        printf(", the first %zu by %s", n, cli->sort == SPA_SORT_TOTAL ? "total" : "self");
    printf("\n");
    spa_print_filters(cli);
    if (n == 0)
        return;

    char heads[N_COLS][32];
    snprintf(heads[COL_SELF_PCT], sizeof heads[0], "self%%");
    snprintf(heads[COL_SELF_A], sizeof heads[0], "self-%s", cols.a);
    snprintf(heads[COL_SELF_B], sizeof heads[0], "self-%s", cols.b ? cols.b : "");
    snprintf(heads[COL_TOTAL_PCT], sizeof heads[0], "total%%");
    snprintf(heads[COL_TOTAL_A], sizeof heads[0], "total-%s", cols.a);
    snprintf(heads[COL_TOTAL_B], sizeof heads[0], "total-%s", cols.b ? cols.b : "");
    size_t width[N_COLS];
    for (int k = 0; k < N_COLS; k++)
        width[k] = strlen(heads[k]);
    cells c;
    for (size_t i = 0; i < n; i++) {
        render(&flat->rows[i], all, h, p->metric, &c);
        for (int k = 0; k < N_COLS; k++) {
            size_t len = strlen(c.text[k]);
            if (len > width[k])
                width[k] = len;
        }
    }

    printf("%s", spa_color(color, SPA_BOLD));
    for (int k = 0; k < N_COLS; k++) {
        if (!cols.b && (k == COL_SELF_B || k == COL_TOTAL_B))
            continue;
        printf("%*s  ", (int)width[k], heads[k]);
    }
    printf("%s%s\n", spa_group_by_name(cli->by), spa_color(color, SPA_RESET));

    for (size_t i = 0; i < n; i++) {
        const spa_flat_row *row = &flat->rows[i];
        render(row, all, h, p->metric, &c);
        for (int k = 0; k < N_COLS; k++) {
            if (!cols.b && (k == COL_SELF_B || k == COL_TOTAL_B))
                continue;
            const char *on = "";
            if (k == COL_SELF_PCT)
                on = spa_pct_color(color, spa_percent(row->self.weight, all));
            else if (k == COL_TOTAL_PCT)
                on = spa_pct_color(color, spa_percent(row->total.weight, all));
            /* Pad before the colour codes so they never count towards the width. */
            printf("%*s%s%s%s  ", (int)(width[k] - strlen(c.text[k])), "", on, c.text[k],
                   *on ? spa_color(color, SPA_RESET) : "");
        }
        spa_put_text(stdout, row->label, row->label_len);
        printf("\n");
    }
}

/* ---------------------------------------------------------------------------------------------
 * JSON and CSV: every number, raw; one row per line. Times (_ns) only for cpu and wall.
 * ------------------------------------------------------------------------------------------- */
static void json_ns(uint64_t weight, uint64_t interval_ns) {
    if (interval_ns)
        printf("%" PRIu64, spa_mul_sat(weight, interval_ns));
    else
        printf("null");
}

static void json_side(const char *side, spa_value v, uint64_t all, spa_metric metric,
                      uint64_t interval_ns) {
    printf(", \"%s_percent\": %.3f, \"%s_weight\": %" PRIu64 ", \"%s_count\": %" PRIu64, side,
           spa_percent(v.weight, all), side, v.weight, side, v.count);
    if (spa_metric_is_time(metric)) {
        printf(", \"%s_ns\": ", side);
        json_ns(v.weight, interval_ns);
    }
}

static void print_json(const spa_cli *cli, const spa_prof *p, const spa_flat *flat, size_t n) {
    const spt_header *h = spa_model_header(p->m);
    uint64_t all = flat->all.weight;
    printf("{\n  \"file\": ");
    spa_put_json_string(stdout, cli->file, strlen(cli->file));
    printf(",\n  \"by\": \"%s\",\n  \"sort\": \"%s\",\n  \"metric\": \"%s\",\n"
           "  \"clock\": \"%s\",\n  \"interval_ns\": %" PRIu64 ",\n",
           spa_group_by_name(cli->by), cli->sort == SPA_SORT_TOTAL ? "total" : "self",
           spa_metric_name(p->metric), spa_clock_key(h->clock), h->interval_ns);
    printf("  \"samples\": {\"count\": %" PRIu64 ", \"weight\": %" PRIu64, flat->all.count, all);
    if (spa_metric_is_time(p->metric)) {
        printf(", \"time_ns\": ");
        json_ns(all, h->interval_ns);
    }
    printf("},\n  \"rows_total\": %zu,\n  \"rows\": [", flat->n_rows);
    for (size_t i = 0; i < n; i++) {
        const spa_flat_row *r = &flat->rows[i];
        printf("%s\n    {\"name\": ", i ? "," : "");
        spa_put_json_string(stdout, r->label, r->label_len);
        json_side("self", r->self, all, p->metric, h->interval_ns);
        json_side("total", r->total, all, p->metric, h->interval_ns);
        printf("}");
    }
    printf("%s]\n}\n", n ? "\n  " : "");
}

static void csv_side(spa_value v, uint64_t all, spa_metric metric, uint64_t interval_ns) {
    printf(",%.3f,%" PRIu64 ",%" PRIu64, spa_percent(v.weight, all), v.weight, v.count);
    if (spa_metric_is_time(metric)) {
        printf(",");
        if (interval_ns)
            printf("%" PRIu64, spa_mul_sat(v.weight, interval_ns));
    }
}

static void print_csv(const spa_prof *p, const spa_flat *flat, size_t n) {
    const spt_header *h = spa_model_header(p->m);
    uint64_t all = flat->all.weight;
    if (spa_metric_is_time(p->metric))
        printf("name,self_percent,self_weight,self_count,self_ns,"
               "total_percent,total_weight,total_count,total_ns\n");
    else
        printf("name,self_percent,self_weight,self_count,total_percent,total_weight,total_count\n");
    for (size_t i = 0; i < n; i++) {
        const spa_flat_row *r = &flat->rows[i];
        spa_put_csv_field(stdout, r->label, r->label_len);
        csv_side(r->self, all, p->metric, h->interval_ns);
        csv_side(r->total, all, p->metric, h->interval_ns);
        printf("\n");
    }
}

int spa_cmd_top(const spa_cli *cli) {
    spa_prof p;
    if (spa_prof_open(cli, cli->file, 0, &p))
        return SPA_EXIT_USAGE;
    spa_flat flat;
    if (spa_flat_build(p.v, p.self, &flat) != SPT_OK) {
        spa_cli_error("%s: out of memory while building the profile", cli->file);
        spa_prof_close(&p);
        return SPA_EXIT_USAGE;
    }
    spa_flat_sort(&flat, cli->sort);
    size_t n = flat.n_rows;
    if (cli->limit && cli->limit < n)
        n = (size_t)cli->limit;

    if (cli->format == SPA_FORMAT_JSON)
        print_json(cli, &p, &flat, n);
    else if (cli->format == SPA_FORMAT_CSV)
        print_csv(&p, &flat, n);
    else
        print_text(cli, &p, &flat, n);

    spa_flat_free(&flat);
    spa_prof_close(&p);
    return SPA_EXIT_OK;
}
