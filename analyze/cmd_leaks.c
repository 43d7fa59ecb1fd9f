/* cmd_leaks.c: `spprof-analyze leaks`: the allocations never freed, grouped by allocation stack,
 * largest first, with estimated bytes and counts. Live-at-end totals come from the model (a live
 * table replayed while loading, or ALLOC_TOTAL records in an aggregated trace). */
#include "analyze/sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void live_of(void *ctx, uint32_t stack, uint64_t *bytes, double *count) {
    const spa_data *d = spa_model_stack_data(ctx, stack);
    *bytes = d->live_bytes;
    *count = d->live_count;
}

int spa_cmd_leaks(const spa_cli *cli) {
    spa_prof p;
    if (spa_prof_open(cli, cli->file, SPA_KEEP_LIVE, &p))
        return SPA_EXIT_USAGE;
    spa_site *sites = NULL;
    size_t n = 0;
    if (spa_sites_collect(&p, live_of, p.m, &sites, &n)) {
        spa_cli_error("%s: out of memory while grouping allocation sites", cli->file);
        spa_prof_close(&p);
        return SPA_EXIT_USAGE;
    }
    uint64_t bytes = 0;
    double count = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += sites[i].bytes;
        count += sites[i].count;
    }
    const spt_header *h = spa_model_header(p.m);
    const spa_totals *t = spa_model_totals(p.m);
    int ended = spa_model_stats(p.m)->ended_cleanly;
    spa_value live = {count > 0 ? (uint64_t)(count + 0.5) : 0, bytes};

    if (cli->format == SPA_FORMAT_CSV) {
        spa_sites_csv(cli, &p, sites, n, bytes);
    } else if (cli->format == SPA_FORMAT_JSON) {
        spa_emit e;
        spa_emit_begin(&e, stdout, SPA_FORMAT_JSON);
        spa_emit_cstr(&e, "file", cli->file);
        spa_emit_cstr(&e, "by", spa_group_by_name(cli->by));
        spa_emit_filters(&e, cli, SPA_METRIC_LIVE_BYTES);
        spa_emit_bool(&e, "ended_cleanly", ended);
        spa_emit_bool(&e, "estimated", h->alloc_mode != SPT_ALLOC_ALL);
        spa_emit_object(&e, "live");
        spa_emit_u64(&e, "bytes", live.weight);
        spa_emit_u64(&e, "count", live.count);
        spa_emit_close(&e);
        spa_sites_emit(&e, cli, &p, sites, n, bytes);
        spa_emit_end(&e);
    } else {
        char what[160];
        printf("%s", spa_color(cli->color, SPA_BOLD));
        spa_put_text(stdout, cli->file, strlen(cli->file));
        printf("%s: ", spa_color(cli->color, SPA_RESET));
        if (t->allocs == 0 && h->alloc_mode == SPT_ALLOC_OFF) {
            printf("allocations were not recorded\n");
        } else {
            spa_fmt_all(what, sizeof what, h, SPA_METRIC_LIVE_BYTES, live);
            printf("%s, at %zu site%s%s\n", what, n, n == 1 ? "" : "s",
                   ended ? "" : " (the trace did not finish cleanly: live where it stops)");
        }
        spa_print_filters(cli);
        spa_sites_print(cli, &p, sites, n, bytes);
    }
    free(sites);
    spa_prof_close(&p);
    return SPA_EXIT_OK;
}
