/* cmd_aggregate.c: `spprof-analyze aggregate FILE -o OUT`: the same profile as stack totals
 * (SAMPLE_TOTAL, ALLOC_TOTAL) through the tracefmt writer, and the compression ratio it gave. Also
 * the output helpers merge shares (opening, finishing and reporting on OUT). */
#define _POSIX_C_SOURCE 200809L
#include "analyze/cli.h"

#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

spt_writer *spa_out_open(const char *path, const spt_header *h) {
    spt_writer *w = NULL;
    spt_status st = spt_writer_open(path, h, NULL, &w);
    if (st != SPT_OK) {
        if (w)
            spa_cli_error("%s", spt_writer_error(w));
        else
            spa_cli_error("%s: cannot write: %s", path, spt_status_name(st));
        spt_writer_destroy(w);
        return NULL;
    }
    /* The mark that tells readers (spa_model_is_aggregated) that record times mean nothing. */
    st = spt_writer_metadata(w, 0, spt_writer_cstring(w, "spprof.aggregated"),
                             spt_writer_cstring(w, "1"));
    if (st != SPT_OK) {
        spa_cli_error("%s", spt_writer_error(w));
        spt_writer_destroy(w);
        return NULL;
    }
    return w;
}

int spa_out_finish(spt_writer *w, const char *path, const spt_end *end, uint64_t *bytes) {
    spt_status st = spt_writer_finish(w, end);
    if (st != SPT_OK) {
        spa_cli_error("%s", spt_writer_error(w));
        spt_writer_destroy(w);
        return -1;
    }
    spt_writer_destroy(w);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        spa_cli_error("%s: written, but cannot be found any more", path);
        return -1;
    }
    *bytes = (uint64_t)sb.st_size;
    return 0;
}

void spa_out_report(const spa_cli *cli, size_t n_inputs, const spa_value *samples, uint64_t allocs,
                    uint64_t records, uint64_t in_bytes, uint64_t out_bytes) {
    double ratio = out_bytes ? (double)in_bytes / (double)out_bytes : 0;
    if (cli->format != SPA_FORMAT_TEXT) {
        spa_emit e;
        spa_emit_begin(&e, stdout, cli->format);
        spa_emit_array(&e, "inputs");
        for (size_t i = 0; i < n_inputs; i++)
            spa_emit_cstr(&e, "", cli->files[i]);
        spa_emit_close(&e);
        spa_emit_cstr(&e, "output", cli->output);
        spa_emit_u64(&e, "sample_count", samples->count);
        spa_emit_u64(&e, "sample_weight", samples->weight);
        spa_emit_u64(&e, "allocs", allocs);
        spa_emit_u64(&e, "records", records);
        spa_emit_u64(&e, "input_bytes", in_bytes);
        spa_emit_u64(&e, "output_bytes", out_bytes);
        spa_emit_double(&e, "ratio", ratio);
        spa_emit_end(&e);
        return;
    }
    char a[32], b[32], c[32];
    spa_fmt_count(a, sizeof a, samples->count);
    spa_fmt_count(b, sizeof b, allocs);
    spa_fmt_count(c, sizeof c, records);
    if (n_inputs == 1)
        spa_put_text(stdout, cli->files[0], strlen(cli->files[0]));
    else
        printf("%zu traces", n_inputs);
    printf(" -> ");
    spa_put_text(stdout, cli->output, strlen(cli->output));
    printf(": %s samples and %s allocations as %s stack totals\n", a, b, c);
    spa_print_filters(cli);
    spa_fmt_bytes(a, sizeof a, in_bytes);
    spa_fmt_bytes(b, sizeof b, out_bytes);
    printf("size         %s -> %s (%.1fx smaller)\n", a, b, ratio);
}

int spa_cmd_aggregate(const spa_cli *cli) {
    if (spa_same_file(cli->file, cli->output)) {
        spa_cli_error("%s: -o names the input trace; write the aggregate elsewhere", cli->output);
        return SPA_EXIT_USAGE;
    }
    spa_model *m = spa_cli_load(cli, cli->file, SPA_KEEP_THREADS | SPA_KEEP_LIVE);
    if (!m)
        return SPA_EXIT_USAGE;
    spt_writer *w = spa_out_open(cli->output, spa_model_header(m));
    if (!w) {
        spa_model_free(m);
        return SPA_EXIT_USAGE;
    }
    uint64_t out_bytes = 0;
    spa_export_stats written;
    spt_status st = spa_export(m, w, 0, cli->focus, cli->ignore, &written);
    if (st != SPT_OK) {
        if (st == SPT_E_NOMEM)
            spa_cli_error("%s: out of memory while writing", cli->output);
        else
            spa_cli_error("%s", spt_writer_error(w));
        spt_writer_destroy(w);
        spa_model_free(m);
        return SPA_EXIT_USAGE;
    }
    /* A trace that did not end cleanly stays so: its aggregate must not claim otherwise. */
    const spt_reader_stats *stats = spa_model_stats(m);
    if (spa_out_finish(w, cli->output, stats->ended_cleanly ? &stats->end : NULL, &out_bytes)) {
        spa_model_free(m);
        return SPA_EXIT_USAGE;
    }
    spa_out_report(cli, 1, &written.samples, written.allocs, written.records, stats->file_bytes,
                   out_bytes);
    spa_model_free(m);
    return SPA_EXIT_OK;
}
