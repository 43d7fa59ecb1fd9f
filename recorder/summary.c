/* summary.c: formats the end-of-recording line. Never called from a signal handler: the fatal
 * signal path has the writer thread print it. */
#define _GNU_SOURCE
#include "recorder/summary.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "recorder/log.h"

static void format_bytes(uint64_t bytes, char *out, size_t out_len) {
    if (bytes < 1024) {
        snprintf(out, out_len, "%" PRIu64 " B", bytes);
    } else if (bytes < 1024u * 1024u) {
        snprintf(out, out_len, "%.1f KiB", (double)bytes / 1024.0);
    } else if (bytes < 1024ull * 1024u * 1024u) {
        snprintf(out, out_len, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
    } else {
        snprintf(out, out_len, "%.1f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
    }
}

void sp_summary_format(const sp_writer_summary *s, char *out, size_t out_len) {
    char size[32];
    format_bytes(s->file_bytes, size, sizeof size);
    char per_sample[48] = "";
    if (s->samples > 0) {
        snprintf(per_sample, sizeof per_sample, ", %" PRIu64 " B/sample",
                 s->file_bytes / s->samples);
    }
    /* The rate achieved: samples per second of the time they stand for (thread CPU time, or
     * thread wall time with --clock wall). CPU timers fire on the scheduler tick, so at 1 ms a
     * thread gets about 250 signals a second, each weighted for the intervals it covers. */
    char rate[80] = "";
    if (s->sample_weight > 0 && s->interval_ns > 0) {
        double hz = (double)s->samples * 1e9 / ((double)s->sample_weight * (double)s->interval_ns);
        snprintf(rate, sizeof rate, ", %.0f Hz of %.0f Hz asked", hz, 1e9 / (double)s->interval_ns);
    }
    char children[48] = "";
    if (s->children > 0) {
        snprintf(children, sizeof children, ", %" PRIu64 " child trace%s", s->children,
                 s->children == 1 ? "" : "s");
    }
    /* ---- allocation tracking: figures heap.c puts into the summary (allocs_seen,
     * allocs_recorded); printed only when allocations were tracked. ---- */
    char allocs[96] = "";
    if (s->allocs_seen > 0 || s->allocs_recorded > 0) {
        snprintf(allocs, sizeof allocs, ", %" PRIu64 " allocations seen, %" PRIu64 " recorded",
                 s->allocs_seen, s->allocs_recorded);
    }
    double cpu_pct =
        s->process_cpu_ns > 0 ? 100.0 * (double)s->recorder_cpu_ns / (double)s->process_cpu_ns : 0;
    /* The recorder's CPU above is what it can clock (writer, handlers, setup); the malloc hooks
     * run on the program's threads, a few nanoseconds at a time, and show in its samples
     * instead: their share of the sample weight estimates their cost. */
    char hooks[80] = "";
    if (s->hook_sample_weight > 0 && s->sample_weight > 0) {
        snprintf(hooks, sizeof hooks, ", and ~%.1f%% of the samples in its malloc hooks",
                 100.0 * (double)s->hook_sample_weight / (double)s->sample_weight);
    }
    snprintf(out, out_len,
             "spprof: %.2f s, %" PRIu64 " samples (%" PRIu64 " dropped), trace %s (%s%s), "
             "%" PRIu64 " thread%s%s%s%s, recorder CPU %.2f%% of the program's %.2f s%s",
             (double)s->duration_ns / 1e9, s->samples, s->dropped_samples, s->path, size,
             per_sample, s->threads, s->threads == 1 ? "" : "s", rate, children, allocs, cpu_pct,
             (double)s->process_cpu_ns / 1e9, hooks);
}

void sp_summary_print(const sp_writer_summary *s) {
    if (!s->ok) {
        sp_log("spprof: trace %s did not finish cleanly: %s", s->path, s->error);
        return;
    }
    char line[1024];
    sp_summary_format(s, line, sizeof line);
    sp_log("%s", line);
}
