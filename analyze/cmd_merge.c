/* cmd_merge.c: `spprof-analyze merge A B... -o OUT`: one aggregated trace from several. Headers are
 * read first (to check that the inputs share a sampling interval and to align their times by
 * start time); then each input is loaded, written and freed in turn, so memory holds one input's
 * model at a time plus the writer's tables. */
#include "analyze/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t start_wall_ns;
    uint64_t interval_ns;
    spt_clock clock;
    spt_alloc_mode alloc_mode;
    uint64_t alloc_sample_bytes;
} head;

/* Reads only the header of path into *h. Returns 0, or -1 after printing the error line. */
static int read_head(const char *path, head *h) {
    spt_reader *r = NULL;
    spt_status st = spt_reader_open(path, NULL, &r);
    if (st != SPT_OK) {
        if (r)
            spa_cli_error("%s", spt_reader_error(r));
        else
            spa_cli_error("%s: %s", path, spt_status_name(st));
        spt_reader_close(r);
        return -1;
    }
    const spt_header *hd = spt_reader_header(r);
    h->start_wall_ns = hd->start_wall_ns;
    h->interval_ns = hd->interval_ns;
    h->clock = hd->clock;
    h->alloc_mode = hd->alloc_mode;
    h->alloc_sample_bytes = hd->alloc_sample_bytes;
    spt_reader_close(r);
    return 0;
}

/* Checks the inputs against the first and finds the earliest start. Returns 0 or -1. */
static int check_heads(const spa_cli *cli, head *heads, uint64_t *earliest) {
    char a[32], b[32];
    for (size_t i = 0; i < cli->n_files; i++) {
        if (spa_same_file(cli->files[i], cli->output)) {
            spa_cli_error("%s: -o names an input trace; write the merge elsewhere", cli->output);
            return -1;
        }
        if (read_head(cli->files[i], &heads[i]))
            return -1;
        if (heads[i].interval_ns != heads[0].interval_ns) {
            spa_fmt_duration(a, sizeof a, heads[i].interval_ns);
            spa_fmt_duration(b, sizeof b, heads[0].interval_ns);
            spa_cli_error("%s: sampled every %s but %s every %s; merged samples would not mean "
                          "the same time",
                          cli->files[i], a, cli->files[0], b);
            return -1;
        }
        if (heads[i].clock != heads[0].clock)
            spa_cli_error("%s: recorded with the %s clock, %s with the %s clock; merging anyway",
                          cli->files[i], spa_clock_key(heads[i].clock), cli->files[0],
                          spa_clock_key(heads[0].clock));
        if (i == 0 || (heads[i].start_wall_ns && heads[i].start_wall_ns < *earliest))
            *earliest = heads[i].start_wall_ns;
    }
    return 0;
}

/* The END record of the merge: the first input's reason, the longest span, summed counters. Only
 * when every input ended cleanly; otherwise the merge reads as unfinished too. */
static void add_end(spt_end *sum, const spt_end *e, uint64_t offset_ns, int first) {
    if (first) {
        *sum = *e;
        sum->duration_ns += offset_ns;
        return;
    }
    if (offset_ns + e->duration_ns > sum->duration_ns)
        sum->duration_ns = offset_ns + e->duration_ns;
    sum->dropped_samples += e->dropped_samples;
    sum->dropped_allocs += e->dropped_allocs;
    sum->allocs_seen += e->allocs_seen;
    sum->recorder_cpu_ns += e->recorder_cpu_ns;
    sum->process_cpu_ns += e->process_cpu_ns;
}

int spa_cmd_merge(const spa_cli *cli) {
    head *heads = calloc(cli->n_files, sizeof *heads);
    uint64_t earliest = 0;
    if (!heads) {
        spa_cli_error("%s: out of memory", cli->output);
        return SPA_EXIT_USAGE;
    }
    if (check_heads(cli, heads, &earliest)) {
        free(heads);
        return SPA_EXIT_USAGE;
    }
    spt_writer *w = NULL;
    spt_end end;
    memset(&end, 0, sizeof end);
    int all_clean = 1, rc = SPA_EXIT_OK;
    uint64_t in_bytes = 0, out_bytes = 0;
    spa_export_stats sum;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < cli->n_files && rc == SPA_EXIT_OK; i++) {
        /* No note on where each input's process went on: merging a family is how to see it. */
        spa_model_options mo = spa_cli_model_options(cli, SPA_KEEP_THREADS | SPA_KEEP_LIVE);
        mo.on_loaded = NULL;
        spa_model *m = spa_cli_load_opts(cli, cli->files[i], &mo);
        if (!m) {
            rc = SPA_EXIT_USAGE;
            break;
        }
        uint64_t offset = heads[i].start_wall_ns > earliest ? heads[i].start_wall_ns - earliest : 0;
        if (i == 0) {
            /* The first input's header, moved back to the earliest start, so that every time
             * counts from there; a sampled input makes the merge sampled. */
            spt_header h = *spa_model_header(m);
            h.start_mono_ns -= offset < h.start_mono_ns ? offset : h.start_mono_ns;
            h.start_wall_ns = earliest;
            for (size_t k = 0; k < cli->n_files; k++) {
                if (heads[k].alloc_mode == SPT_ALLOC_SAMPLED && h.alloc_mode != SPT_ALLOC_SAMPLED) {
                    h.alloc_mode = SPT_ALLOC_SAMPLED;
                    h.alloc_sample_bytes = heads[k].alloc_sample_bytes;
                } else if (heads[k].alloc_mode == SPT_ALLOC_ALL && h.alloc_mode == SPT_ALLOC_OFF) {
                    h.alloc_mode = SPT_ALLOC_ALL;
                }
            }
            w = spa_out_open(cli->output, &h);
            if (!w) {
                spa_model_free(m);
                rc = SPA_EXIT_USAGE;
                break;
            }
        }
        spa_export_stats written;
        memset(&written, 0, sizeof written);
        spt_status st = spa_export(m, w, offset, cli->focus, cli->ignore, &written);
        if (st != SPT_OK) {
            if (st == SPT_E_NOMEM)
                spa_cli_error("%s: out of memory while writing", cli->output);
            else
                spa_cli_error("%s", spt_writer_error(w));
            rc = SPA_EXIT_USAGE;
        }
        sum.records += written.records;
        sum.samples.count += written.samples.count;
        sum.samples.weight += written.samples.weight;
        sum.allocs += written.allocs;
        const spt_reader_stats *stats = spa_model_stats(m);
        in_bytes += stats->file_bytes;
        if (stats->ended_cleanly)
            add_end(&end, &stats->end, offset, i == 0);
        else
            all_clean = 0;
        spa_model_free(m);
    }
    if (rc != SPA_EXIT_OK) {
        spt_writer_destroy(w);
    } else if (spa_out_finish(w, cli->output, all_clean ? &end : NULL, &out_bytes)) {
        rc = SPA_EXIT_USAGE;
    } else {
        spa_out_report(cli, cli->n_files, &sum.samples, sum.allocs, sum.records, in_bytes,
                       out_bytes);
    }
    free(heads);
    return rc;
}
