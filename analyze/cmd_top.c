/* cmd_top.c: `spprof-analyze top`, the flat profile: per function (or file, line, module) the
 * self and total share of samples, sorted by either, as an aligned table, JSON or CSV. */
#include "analyze/cli.h"

#include <inttypes.h>
#include <string.h>

static const char *clock_time_name(spt_clock clock) {
    return clock == SPT_CLOCK_WALL ? "wall-clock time" : "CPU time";
}

static double percent(uint64_t part, uint64_t whole) {
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* ---------------------------------------------------------------------------------------------
 * Text: a heading line, then right-aligned numeric columns and the label last, unpadded.
 * ------------------------------------------------------------------------------------------- */
enum { COL_SELF_PCT, COL_SELF_N, COL_SELF_T, COL_TOTAL_PCT, COL_TOTAL_N, COL_TOTAL_T, N_COLS };

typedef struct {
    char text[N_COLS][32];
} cells;

/* Human time, but a plain "0" for nothing: "0 ns" reads like a measurement. */
static void fmt_time(char *buf, size_t size, uint64_t weight, uint64_t interval_ns) {
    if (weight == 0)
        snprintf(buf, size, "0");
    else
        spa_fmt_duration(buf, size, spa_mul_sat(weight, interval_ns));
}

static void render(const spa_flat_row *row, uint64_t all, uint64_t interval_ns, cells *c) {
    snprintf(c->text[COL_SELF_PCT], sizeof c->text[0], "%.1f%%", percent(row->self.weight, all));
    spa_fmt_count(c->text[COL_SELF_N], sizeof c->text[0], row->self.weight);
    fmt_time(c->text[COL_SELF_T], sizeof c->text[0], row->self.weight, interval_ns);
    snprintf(c->text[COL_TOTAL_PCT], sizeof c->text[0], "%.1f%%", percent(row->total.weight, all));
    spa_fmt_count(c->text[COL_TOTAL_N], sizeof c->text[0], row->total.weight);
    fmt_time(c->text[COL_TOTAL_T], sizeof c->text[0], row->total.weight, interval_ns);
}

/* perf report's thresholds: red from 5%, green from 0.5%. */
static const char *pct_color(int on, uint64_t part, uint64_t whole) {
    double p = percent(part, whole);
    return spa_color(on, p >= 5.0 ? SPA_RED : p >= 0.5 ? SPA_GREEN : "");
}

static void print_text(const spa_cli *cli, const spa_model *m, const spa_flat *flat, size_t n) {
    const spt_header *h = spa_model_header(m);
    uint64_t all = flat->all.weight;
    int show_time = h->interval_ns != 0;
    int color = cli->color;
    char count[32], time[32];

    /* Worded as `info` words it: raw samples first, the intervals they stand for if different. */
    spa_fmt_count(count, sizeof count, flat->all.count);
    printf("%s", spa_color(color, SPA_BOLD));
    spa_put_text(stdout, cli->file, strlen(cli->file));
    printf("%s: %s samples", spa_color(color, SPA_RESET), count);
    if (flat->all.count != all) {
        spa_fmt_count(count, sizeof count, all);
        printf(" standing for %s intervals", count);
    }
    if (show_time) {
        spa_fmt_duration(time, sizeof time, spa_mul_sat(all, h->interval_ns));
        printf(" (%s of %s)", time, clock_time_name(h->clock));
    }
    printf(" in %zu %s%s", flat->n_rows, spa_group_by_name(cli->by), flat->n_rows == 1 ? "" : "s");
    if (n < flat->n_rows)
        printf(", the first %zu by %s", n, cli->sort == SPA_SORT_TOTAL ? "total" : "self");
    printf("\n");
    if (n == 0)
        return;

    static const char *const heads[N_COLS] = {"self%",  "self-samples",  "self-time",
                                              "total%", "total-samples", "total-time"};
    size_t width[N_COLS];
    for (int k = 0; k < N_COLS; k++)
        width[k] = strlen(heads[k]);
    cells c;
    for (size_t i = 0; i < n; i++) {
        render(&flat->rows[i], all, h->interval_ns, &c);
        for (int k = 0; k < N_COLS; k++) {
            size_t len = strlen(c.text[k]);
            if (len > width[k])
                width[k] = len;
        }
    }

    printf("%s", spa_color(color, SPA_BOLD));
    for (int k = 0; k < N_COLS; k++) {
        if (!show_time && (k == COL_SELF_T || k == COL_TOTAL_T))
            continue;
        printf("%*s  ", (int)width[k], heads[k]);
    }
    printf("%s%s\n", spa_group_by_name(cli->by), spa_color(color, SPA_RESET));

    for (size_t i = 0; i < n; i++) {
        const spa_flat_row *row = &flat->rows[i];
        render(row, all, h->interval_ns, &c);
        for (int k = 0; k < N_COLS; k++) {
            if (!show_time && (k == COL_SELF_T || k == COL_TOTAL_T))
                continue;
            const char *on = "";
            if (k == COL_SELF_PCT)
                on = pct_color(color, row->self.weight, all);
            else if (k == COL_TOTAL_PCT)
                on = pct_color(color, row->total.weight, all);
            /* Pad before the colour codes so they never count towards the width. */
            printf("%*s%s%s%s  ", (int)(width[k] - strlen(c.text[k])), "", on, c.text[k],
                   *on ? spa_color(color, SPA_RESET) : "");
        }
        spa_put_text(stdout, row->label, row->label_len);
        printf("\n");
    }
}

/* ---------------------------------------------------------------------------------------------
 * JSON and CSV: every number, raw; one row per line.
 * ------------------------------------------------------------------------------------------- */
static void json_ns(uint64_t weight, uint64_t interval_ns) {
    if (interval_ns)
        printf("%" PRIu64, spa_mul_sat(weight, interval_ns));
    else
        printf("null");
}

static void print_json(const spa_cli *cli, const spa_model *m, const spa_flat *flat, size_t n) {
    const spt_header *h = spa_model_header(m);
    uint64_t all = flat->all.weight;
    printf("{\n  \"file\": ");
    spa_put_json_string(stdout, cli->file, strlen(cli->file));
    printf(",\n  \"by\": \"%s\",\n  \"sort\": \"%s\",\n  \"clock\": \"%s\",\n"
           "  \"interval_ns\": %" PRIu64 ",\n",
           spa_group_by_name(cli->by), cli->sort == SPA_SORT_TOTAL ? "total" : "self",
           spa_clock_key(h->clock), h->interval_ns);
    printf("  \"samples\": {\"count\": %" PRIu64 ", \"weight\": %" PRIu64 ", \"time_ns\": ",
           flat->all.count, all);
    json_ns(all, h->interval_ns);
    printf("},\n  \"rows_total\": %zu,\n  \"rows\": [", flat->n_rows);
    for (size_t i = 0; i < n; i++) {
        const spa_flat_row *r = &flat->rows[i];
        printf("%s\n    {\"name\": ", i ? "," : "");
        spa_put_json_string(stdout, r->label, r->label_len);
        printf(", \"self_percent\": %.3f, \"self_weight\": %" PRIu64 ", \"self_count\": %" PRIu64
               ", \"self_ns\": ",
               percent(r->self.weight, all), r->self.weight, r->self.count);
        json_ns(r->self.weight, h->interval_ns);
        printf(", \"total_percent\": %.3f, \"total_weight\": %" PRIu64 ", \"total_count\": %" PRIu64
               ", \"total_ns\": ",
               percent(r->total.weight, all), r->total.weight, r->total.count);
        json_ns(r->total.weight, h->interval_ns);
        printf("}");
    }
    printf("%s]\n}\n", n ? "\n  " : "");
}

static void csv_ns(uint64_t weight, uint64_t interval_ns) {
    if (interval_ns)
        printf("%" PRIu64, spa_mul_sat(weight, interval_ns));
}

static void print_csv(const spa_model *m, const spa_flat *flat, size_t n) {
    const spt_header *h = spa_model_header(m);
    uint64_t all = flat->all.weight;
    printf("name,self_percent,self_weight,self_count,self_ns,"
           "total_percent,total_weight,total_count,total_ns\n");
    for (size_t i = 0; i < n; i++) {
        const spa_flat_row *r = &flat->rows[i];
        spa_put_csv_field(stdout, r->label, r->label_len);
        printf(",%.3f,%" PRIu64 ",%" PRIu64 ",", percent(r->self.weight, all), r->self.weight,
               r->self.count);
        csv_ns(r->self.weight, h->interval_ns);
        printf(",%.3f,%" PRIu64 ",%" PRIu64 ",", percent(r->total.weight, all), r->total.weight,
               r->total.count);
        csv_ns(r->total.weight, h->interval_ns);
        printf("\n");
    }
}

int spa_cmd_top(const spa_cli *cli) {
    spa_model *m = spa_cli_load(cli);
    if (!m)
        return SPA_EXIT_USAGE;
    spa_groups *g = NULL;
    spa_flat flat;
    memset(&flat, 0, sizeof flat);
    if (spa_groups_build(m, cli->by, &g) != SPT_OK || spa_flat_build(m, g, &flat) != SPT_OK) {
        spa_cli_error("%s: out of memory while grouping %" PRIu32 " stacks", cli->file,
                      spa_model_stack_count(m));
        spa_groups_free(g);
        spa_model_free(m);
        return SPA_EXIT_USAGE;
    }
    spa_flat_sort(&flat, cli->sort);
    size_t n = flat.n_rows;
    if (cli->limit && cli->limit < n)
        n = (size_t)cli->limit;

    if (cli->format == SPA_FORMAT_JSON)
        print_json(cli, m, &flat, n);
    else if (cli->format == SPA_FORMAT_CSV)
        print_csv(m, &flat, n);
    else
        print_text(cli, m, &flat, n);

    spa_flat_free(&flat);
    spa_groups_free(g);
    spa_model_free(m);
    return SPA_EXIT_OK;
}
