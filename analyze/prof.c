/* prof.c: what every command does before its own output: load a trace with the command line's
 * filters (printing the reader's warnings as one line each), pick the metric, build the grouping,
 * the view and the per-node values; plus the wording of metrics and filters in headings. */
#include "analyze/cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void spa_cli_error(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line, whatever a file name or a library message holds. */
    for (char *p = msg; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", spa_prog, msg);
}

static void print_warning(void *ctx, const char *message) {
    (void)ctx;
    spa_cli_error("%s", message);
}

static void note_elsewhere(void *ctx, const spa_model *m, const char *path) {
    (void)ctx;
    spa_cli_note_elsewhere(m, path);
}

spa_model_options spa_cli_model_options(const spa_cli *cli, unsigned keep) {
    spa_model_options mo;
    memset(&mo, 0, sizeof mo);
    mo.warn = print_warning;
    mo.on_loaded = note_elsewhere;
    mo.keep = keep;
    if (cli->metric_set && cli->metric == SPA_METRIC_LIVE_BYTES)
        mo.keep |= SPA_KEEP_LIVE; /* live-at-end totals need the live table */
    mo.thread = cli->thread;
    mo.from_ns = cli->from_ns;
    mo.to_ns = cli->to_ns;
    return mo;
}

spa_model *spa_cli_load(const spa_cli *cli, const char *file, unsigned keep) {
    spa_model_options mo = spa_cli_model_options(cli, keep);
    return spa_cli_load_opts(cli, file, &mo);
}

spa_model *spa_cli_load_opts(const spa_cli *cli, const char *file, const spa_model_options *mo) {
    spa_model *m;
    spt_status st = spa_model_load(file, mo, &m);
    if (st != SPT_OK) {
        spa_cli_error("%s", spa_model_error(m));
        spa_model_free(m);
        return NULL;
    }
    if (cli->has_window && spa_model_is_aggregated(m))
        spa_cli_error("%s: an aggregated trace has no time order; --from and --to select all of "
                      "its aggregated records",
                      file);
    return m;
}

int spa_metric_is_time(spa_metric metric) {
    return metric == SPA_METRIC_CPU || metric == SPA_METRIC_WALL;
}

spa_metric spa_cli_metric(const spa_cli *cli, const spa_model *m) {
    return cli->metric_set ? cli->metric : spa_model_default_metric(m);
}

void spa_prof_close(spa_prof *p) {
    free(p->self);
    spa_view_free(p->v);
    spa_groups_free(p->g);
    spa_model_free(p->m);
    memset(p, 0, sizeof *p);
}

int spa_prof_open(const spa_cli *cli, const char *file, unsigned keep, spa_prof *p) {
    spa_model_options mo = spa_cli_model_options(cli, keep);
    return spa_prof_open_opts(cli, file, &mo, p);
}

int spa_prof_open_opts(const spa_cli *cli, const char *file, const spa_model_options *mo,
                       spa_prof *p) {
    memset(p, 0, sizeof *p);
    p->m = spa_cli_load_opts(cli, file, mo);
    if (!p->m)
        return -1;
    p->metric = spa_cli_metric(cli, p->m);
    if (spa_groups_build(p->m, cli->by, &p->g) != SPT_OK ||
        spa_view_build(p->m, p->g, cli->focus, cli->ignore, &p->v) != SPT_OK ||
        !(p->self = malloc(((size_t)spa_view_count(p->v) + 1) * sizeof *p->self))) {
        spa_cli_error("%s: out of memory while grouping %" PRIu32 " stacks", file,
                      spa_model_stack_count(p->m));
        spa_prof_close(p);
        return -1;
    }
    spa_view_values(p->v, p->m, p->metric, p->self);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Wording.
 * ------------------------------------------------------------------------------------------- */
void spa_fmt_weight(char *buf, size_t size, const spt_header *h, spa_metric metric,
                    uint64_t weight) {
    if (weight == 0) {
        snprintf(buf, size, "0"); /* "0 ns" or "0 B" reads like a measurement */
        return;
    }
    switch (metric) {
    case SPA_METRIC_CPU:
    case SPA_METRIC_WALL:
        if (h->interval_ns)
            spa_fmt_duration(buf, size, spa_mul_sat(weight, h->interval_ns));
        else
            spa_fmt_count(buf, size, weight);
        return;
    case SPA_METRIC_ALLOC_BYTES:
    case SPA_METRIC_LIVE_BYTES:
        spa_fmt_bytes(buf, size, weight);
        return;
    case SPA_METRIC_ALLOC_COUNT:
        spa_fmt_count(buf, size, weight);
        return;
    }
    spa_fmt_count(buf, size, weight);
}

void spa_fmt_all(char *buf, size_t size, const spt_header *h, spa_metric metric, spa_value all) {
    char a[32], b[32], c[32];
    const char *est = h->alloc_mode == SPT_ALLOC_ALL ? "" : " (estimated)";
    switch (metric) {
    case SPA_METRIC_CPU:
    case SPA_METRIC_WALL: {
        spa_fmt_count(a, sizeof a, all.count);
        int n = snprintf(buf, size, "%s sample%s", a, all.count == 1 ? "" : "s");
        if (all.count != all.weight && n >= 0 && (size_t)n < size) {
            spa_fmt_count(b, sizeof b, all.weight);
            n += snprintf(buf + n, size - (size_t)n, " standing for %s intervals", b);
        }
        if (h->interval_ns && n >= 0 && (size_t)n < size) {
            spa_fmt_duration(c, sizeof c, spa_mul_sat(all.weight, h->interval_ns));
            snprintf(buf + n, size - (size_t)n, " (%s of %s)", c,
                     metric == SPA_METRIC_CPU ? "CPU time" : "wall-clock time");
        }
        return;
    }
    case SPA_METRIC_ALLOC_BYTES:
        spa_fmt_bytes(a, sizeof a, all.weight);
        spa_fmt_count(b, sizeof b, all.count);
        snprintf(buf, size, "%s allocated in %s allocations%s", a, b, est);
        return;
    case SPA_METRIC_ALLOC_COUNT:
        spa_fmt_count(a, sizeof a, all.weight);
        snprintf(buf, size, "%s allocations%s", a, est);
        return;
    case SPA_METRIC_LIVE_BYTES:
        spa_fmt_bytes(a, sizeof a, all.weight);
        spa_fmt_count(b, sizeof b, all.count);
        snprintf(buf, size, "%s live at the end in %s allocations%s", a, b, est);
        return;
    }
    buf[0] = '\0';
}

void spa_print_filters(const spa_cli *cli) {
    char a[32], b[32];
    int any = 0;
    if (!cli->thread && !cli->has_window && !cli->focus && !cli->ignore)
        return;
    printf("filtered:");
    if (cli->thread) {
        printf(" thread ");
        spa_put_text(stdout, cli->thread, strlen(cli->thread));
        any = 1;
    }
    if (cli->has_window) {
        spa_fmt_duration(a, sizeof a, cli->from_ns);
        if (cli->to_ns) {
            spa_fmt_duration(b, sizeof b, cli->to_ns);
            printf("%s from %s to %s", any ? "," : "", cli->from_ns ? a : "0 s", b);
        } else {
            printf("%s from %s on", any ? "," : "", a);
        }
        any = 1;
    }
    if (cli->focus) {
        printf("%s focus '", any ? "," : "");
        spa_put_text(stdout, spa_regex_pattern(cli->focus), strlen(spa_regex_pattern(cli->focus)));
        printf("'");
        any = 1;
    }
    if (cli->ignore) {
        printf("%s ignore '", any ? "," : "");
        spa_put_text(stdout, spa_regex_pattern(cli->ignore),
                     strlen(spa_regex_pattern(cli->ignore)));
        printf("'");
    }
    printf("\n");
}

void spa_emit_filters(spa_emit *e, const spa_cli *cli, spa_metric metric) {
    spa_emit_cstr(e, "metric", spa_metric_name(metric));
    spa_emit_object(e, "filters");
    if (cli->thread)
        spa_emit_cstr(e, "thread", cli->thread);
    else
        spa_emit_null(e, "thread");
    if (cli->has_window)
        spa_emit_u64(e, "from_ns", cli->from_ns);
    else
        spa_emit_null(e, "from_ns");
    if (cli->to_ns)
        spa_emit_u64(e, "to_ns", cli->to_ns);
    else
        spa_emit_null(e, "to_ns");
    if (cli->focus)
        spa_emit_cstr(e, "focus", spa_regex_pattern(cli->focus));
    else
        spa_emit_null(e, "focus");
    if (cli->ignore)
        spa_emit_cstr(e, "ignore", spa_regex_pattern(cli->ignore));
    else
        spa_emit_null(e, "ignore");
    spa_emit_close(e);
}
