/* cmd_info.c: `spprof-analyze info`: what a trace holds (header, duration, counts, drops, sizes)
 * and whether it ended cleanly, as aligned text or, through the emitter, JSON or CSV. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/cli.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

static const char *clock_text(spt_clock clock) {
    switch (clock) {
    case SPT_CLOCK_CPU_THREAD:
        return "CPU time of each thread";
    case SPT_CLOCK_CPU_PROCESS:
        return "CPU time of the whole process";
    case SPT_CLOCK_WALL:
        return "wall-clock time of every thread";
    }
    return "an unknown clock";
}

static const char *alloc_mode_key(spt_alloc_mode mode) {
    switch (mode) {
    case SPT_ALLOC_OFF:
        return "off";
    case SPT_ALLOC_ALL:
        return "all";
    case SPT_ALLOC_SAMPLED:
        return "sampled";
    }
    return "unknown";
}

static const char *end_reason_key(spt_end_reason reason) {
    switch (reason) {
    case SPT_END_EXIT:
        return "exit";
    case SPT_END_SIGNAL:
        return "signal";
    case SPT_END_EXEC:
        return "exec";
    case SPT_END_MAX_SIZE:
        return "max-size";
    case SPT_END_STOPPED:
        return "stopped";
    }
    return "unknown";
}

/* Linux numbers of the signals that commonly end a process; the trace comes from Linux. */
static const char *signal_name(int32_t sig) {
    static const char *const names[] = {
        [1] = "SIGHUP",   [2] = "SIGINT",   [3] = "SIGQUIT",  [4] = "SIGILL",   [5] = "SIGTRAP",
        [6] = "SIGABRT",  [7] = "SIGBUS",   [8] = "SIGFPE",   [9] = "SIGKILL",  [10] = "SIGUSR1",
        [11] = "SIGSEGV", [12] = "SIGUSR2", [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM",
    };
    if (sig > 0 && (size_t)sig < sizeof names / sizeof names[0] && names[sig])
        return names[sig];
    return NULL;
}

/* PY_VERSION_HEX: 0xMMmmppLS, L = a/b/c/f release level, S = serial ("3.13.0rc2"). */
static void fmt_python(char *buf, size_t size, uint32_t hex) {
    unsigned major = hex >> 24, minor = (hex >> 16) & 0xFF, micro = (hex >> 8) & 0xFF;
    unsigned level = (hex >> 4) & 0xF, serial = hex & 0xF;
    const char *tag = level == 0xA ? "a" : level == 0xB ? "b" : level == 0xC ? "rc" : NULL;
    if (tag)
        snprintf(buf, size, "%u.%u.%u%s%u", major, minor, micro, tag, serial);
    else
        snprintf(buf, size, "%u.%u.%u", major, minor, micro);
}

/* Local date and time with milliseconds and the zone ("2023-11-14 22:13:20.123 UTC"); iso
 * selects "2023-11-14T22:13:20.123+00:00" for machines. TZ decides the zone, as everywhere. */
static void fmt_wall(char *buf, size_t size, uint64_t wall_ns, int iso) {
    time_t secs = (time_t)(wall_ns / 1000000000u);
    unsigned ms = (unsigned)(wall_ns / 1000000u % 1000u);
    struct tm tm;
    char date[32], zone[16];
    if (!localtime_r(&secs, &tm) ||
        !strftime(date, sizeof date, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm) ||
        !strftime(zone, sizeof zone, iso ? "%z" : "%Z", &tm)) {
        snprintf(buf, size, "%" PRIu64 " ns after the epoch", wall_ns);
        return;
    }
    if (iso && strlen(zone) == 5) /* "+0000" -> "+00:00" */
        snprintf(buf, size, "%s.%03u%.3s:%s", date, ms, zone, zone + 3);
    else
        snprintf(buf, size, "%s.%03u%s%s", date, ms, iso ? "" : " ", zone);
}

/* Shell-style quoting so the command line can be pasted back: 'it'\''s' for awkward args. */
static void put_shell_word(FILE *f, const char *arg) {
    size_t len = strlen(arg);
    int plain = len > 0;
    for (size_t i = 0; i < len && plain; i++) {
        unsigned char c = (unsigned char)arg[i];
        plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                strchr("_@%+=:,./-", c) != NULL;
    }
    if (plain) {
        fputs(arg, f);
        return;
    }
    fputc('\'', f);
    const char *start = arg;
    for (const char *q; (q = strchr(start, '\'')) != NULL; start = q + 1) {
        spa_put_text(f, start, (size_t)(q - start));
        fputs("'\\''", f);
    }
    spa_put_text(f, start, strlen(start));
    fputc('\'', f);
}

/* Header strings may be empty (a short header, format.md 3): say so rather than print nothing. */
static void put_or_unknown(const char *s) {
    if (s && *s)
        spa_put_text(stdout, s, strlen(s));
    else
        fputs("unknown", stdout);
}

/* ---------------------------------------------------------------------------------------------
 * Text.
 * ------------------------------------------------------------------------------------------- */
static void label(const spa_cli *cli, const char *name) {
    printf("%s%-13s%s", spa_color(cli->color, SPA_BOLD), name, spa_color(cli->color, SPA_RESET));
}

/* Items dropped for reasons this version does not know: a later recorder's (format.md, DROPS). */
static uint64_t unknown_drops(const spa_totals *t) {
    return t->drops[0] + t->drops[SPT_DROP_FORK + 1];
}

static void text_drops(const spa_cli *cli, const spa_totals *t, const spt_reader_stats *st) {
    char a[32];
    int any = 0;
    label(cli, "dropped");
    static const struct {
        spt_drop_reason reason;
        const char *what;
    } kinds[] = {
        {SPT_DROP_RING_FULL, "samples (buffers full)"},
        {SPT_DROP_UNWIND_FAILED, "samples (unwinding failed)"},
        {SPT_DROP_BUSY, "samples (the thread was inside the recorder)"},
        {SPT_DROP_FORK, "samples (a fork held the unwinder)"},
        {SPT_DROP_ALLOC_RING_FULL, "allocation events (buffers full)"},
        {SPT_DROP_TRUNCATED_STACK, "stacks cut at max depth (kept, incomplete)"},
        {0, "items (for a reason this spprof does not know)"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        uint64_t n = kinds[i].reason != 0 ? t->drops[kinds[i].reason] : unknown_drops(t);
        if (!n)
            continue;
        spa_fmt_count(a, sizeof a, n);
        printf("%s%s %s", any ? ", " : "", a, kinds[i].what);
        any = 1;
    }
    if (!any)
        printf("none");
    /* The END record has the recorder's own totals; say so when they disagree with the
     * DROPS records that made it into the file. */
    if (st->ended_cleanly) {
        uint64_t samples = t->drops[SPT_DROP_RING_FULL] + t->drops[SPT_DROP_UNWIND_FAILED] +
                           t->drops[SPT_DROP_BUSY] + t->drops[SPT_DROP_FORK];
        if (st->end.dropped_samples != samples ||
            st->end.dropped_allocs != t->drops[SPT_DROP_ALLOC_RING_FULL])
            printf(" (the END record counts %" PRIu64 " samples and %" PRIu64 " allocation events)",
                   st->end.dropped_samples, st->end.dropped_allocs);
    }
    printf("\n");
}

/* What the filters select: the model's selected totals, less the stacks --focus leaves out. */
static int selected_data(const spa_cli *cli, const spa_model *m, spa_data *out) {
    if (!cli->focus) {
        *out = *spa_model_selected(m);
        return 0;
    }
    memset(out, 0, sizeof *out);
    spa_groups *g = NULL;
    spa_view *v = NULL;
    if (spa_groups_build(m, SPA_BY_FUNCTION, &g) != SPT_OK ||
        spa_view_build(m, g, cli->focus, NULL, &v) != SPT_OK) {
        spa_groups_free(g);
        return -1;
    }
    for (uint32_t id = 0; id <= spa_model_stack_count(m); id++) {
        if (spa_view_node_of(v, id) != SPA_VIEW_EXCLUDED)
            spa_data_add(out, spa_model_stack_data(m, id));
    }
    spa_view_free(v);
    spa_groups_free(g);
    return 0;
}

static int has_filters(const spa_cli *cli) {
    return cli->thread || cli->has_window || cli->focus || cli->ignore;
}

/* "selected     80 samples (...), 2 allocations (1.0 KiB); thread worker" under filters. */
static void text_selected(const spa_cli *cli, const spa_model *m, const spa_data *sel) {
    const spt_header *h = spa_model_header(m);
    char what[160];
    label(cli, "selected");
    spa_metric time = h->clock == SPT_CLOCK_WALL ? SPA_METRIC_WALL : SPA_METRIC_CPU;
    spa_fmt_all(what, sizeof what, h, time, spa_data_metric(sel, SPA_METRIC_WALL));
    printf("%s", what);
    if (sel->alloc_bytes || sel->alloc_count > 0) {
        spa_fmt_all(what, sizeof what, h, SPA_METRIC_ALLOC_BYTES,
                    spa_data_metric(sel, SPA_METRIC_ALLOC_BYTES));
        printf("; %s", what);
    }
    printf("\n");
}

static void print_text(const spa_cli *cli, const spa_model *m, const spa_data *sel) {
    const spt_header *h = spa_model_header(m);
    const spt_reader_stats *st = spa_model_stats(m);
    const spa_totals *t = spa_model_totals(m);
    const char *time_name = h->clock == SPT_CLOCK_WALL ? "wall-clock time" : "CPU time";
    char a[64], b[64], c[64];

    label(cli, "file");
    spa_put_text(stdout, cli->file, strlen(cli->file));
    printf("\n");
    label(cli, "format");
    printf("%u.%u, written by ", h->format_major, h->format_minor);
    spa_put_text(stdout, h->recorder_version, strlen(h->recorder_version));
    printf("\n");
    if (h->argc) {
        label(cli, "command");
        for (uint32_t i = 0; i < h->argc; i++) {
            if (i)
                fputc(' ', stdout);
            put_shell_word(stdout, h->argv[i]);
        }
        printf("\n");
    }
    label(cli, "executable");
    put_or_unknown(h->executable);
    printf("\n");
    label(cli, "process");
    printf("pid %" PRIu32 ", parent %" PRIu32 "\n", h->pid, h->ppid);
    label(cli, "started");
    if (h->start_wall_ns) {
        fmt_wall(a, sizeof a, h->start_wall_ns, 0);
        printf("%s\n", a);
    } else {
        printf("unknown\n");
    }
    label(cli, "host");
    put_or_unknown(h->hostname);
    printf(" (");
    put_or_unknown(h->arch);
    printf(")\n");
    label(cli, "clock");
    if (h->interval_ns) {
        spa_fmt_duration(a, sizeof a, h->interval_ns);
        printf("%s, sampled every %s\n", clock_text(h->clock), a);
    } else {
        printf("%s, sampling interval unknown\n", clock_text(h->clock));
    }
    label(cli, "max depth");
    printf("%" PRIu32 " frames\n", h->max_depth);
    if (h->python_version) {
        label(cli, "python");
        fmt_python(a, sizeof a, h->python_version);
        printf("%s\n", a);
    }
    if (h->trace_id[0]) {
        label(cli, "trace id");
        spa_put_text(stdout, h->trace_id, strlen(h->trace_id));
        printf("\n");
    }
    if (h->parent_trace[0]) {
        label(cli, "parent trace");
        spa_put_text(stdout, h->parent_trace, strlen(h->parent_trace));
        printf("\n");
    }

    label(cli, "duration");
    spa_fmt_duration(a, sizeof a, spa_model_duration_ns(m));
    printf("%s%s\n", a, st->ended_cleanly ? "" : " (up to the last event read)");
    label(cli, "samples");
    spa_fmt_count(a, sizeof a, t->samples.count);
    spa_fmt_count(b, sizeof b, t->samples.weight);
    spa_fmt_duration(c, sizeof c, spa_mul_sat(t->samples.weight, h->interval_ns));
    printf("%s", a);
    if (t->samples.count != t->samples.weight)
        printf(", standing for %s intervals", b);
    if (h->interval_ns)
        printf(" (%s of %s)", c, time_name);
    printf("\n");
    text_drops(cli, t, st);
    label(cli, "threads");
    printf("%" PRIu32 "\n", spa_model_thread_count(m));
    label(cli, "markers");
    printf("%" PRIu64 "\n", t->markers);
    label(cli, "children");
    printf("%" PRIu64 "\n", t->children);
    label(cli, "allocations");
    if (h->alloc_mode == SPT_ALLOC_OFF && t->allocs == 0) {
        printf("not recorded\n");
    } else {
        spa_fmt_count(a, sizeof a, t->allocs);
        spa_fmt_bytes(b, sizeof b, t->alloc_bytes);
        spa_fmt_count(c, sizeof c, t->frees);
        printf("%s (%s), %s frees; ", a, b, c);
        if (h->alloc_mode == SPT_ALLOC_SAMPLED) {
            spa_fmt_bytes(a, sizeof a, h->alloc_sample_bytes);
            printf("sampled every %s on average\n", a);
        } else {
            printf("every allocation recorded\n");
        }
    }
    if (has_filters(cli)) {
        text_selected(cli, m, sel);
        printf("%-13s", "");
        spa_print_filters(cli);
    }

    label(cli, "chunks");
    printf("%" PRIu64, st->chunks);
    if (st->damaged_chunks) {
        spa_fmt_bytes(a, sizeof a, st->damaged_bytes);
        printf(", %" PRIu64 " damaged (%s skipped)", st->damaged_chunks, a);
    }
    printf("\n");
    label(cli, "size");
    spa_fmt_bytes(a, sizeof a, st->file_bytes);
    spa_fmt_bytes(b, sizeof b, st->raw_bytes);
    printf("%s on disk, %s of records uncompressed", a, b);
    if (st->file_bytes > st->header_bytes)
        printf(" (%.1fx compression)",
               (double)st->raw_bytes / (double)(st->file_bytes - st->header_bytes));
    printf("\n");
    if (t->samples.count) {
        /* Per raw sample, so an aggregated trace shows what aggregation saved. */
        label(cli, "per sample");
        printf("%.1f bytes on disk\n", (double)st->file_bytes / (double)t->samples.count);
    }
    label(cli, "records");
    spa_fmt_count(a, sizeof a, st->records);
    printf("%s", a);
    if (st->unknown_records)
        printf(", %" PRIu64 " of unknown kinds skipped", st->unknown_records);
    printf("\n");
    if (spa_model_is_aggregated(m)) {
        label(cli, "aggregated");
        spa_fmt_count(a, sizeof a, t->total_records);
        printf("yes: %s stack totals, time order given up\n", a);
    }

    size_t n_meta;
    const spa_metadata *meta = spa_model_metadata(m, &n_meta);
    const spt_reader *r = spa_model_reader(m);
    for (size_t i = 0; i < n_meta; i++) {
        label(cli, i == 0 ? "metadata" : "");
        spa_put_text(stdout, spt_reader_string(r, meta[i].key),
                     spt_reader_string_len(r, meta[i].key));
        printf(" = ");
        spa_put_text(stdout, spt_reader_string(r, meta[i].value),
                     spt_reader_string_len(r, meta[i].value));
        printf("\n");
    }

    label(cli, "end");
    if (!st->ended_cleanly) {
        printf("%sdid not finish cleanly%s", spa_color(cli->color, SPA_RED),
               spa_color(cli->color, SPA_RESET));
        if (st->truncated) {
            spa_fmt_bytes(a, sizeof a, st->truncated_bytes);
            printf(": truncated, the last %s could not be used", a);
        }
        printf("\n");
        return;
    }
    const spt_end *e = &st->end;
    switch (e->reason) {
    case SPT_END_EXIT:
        printf("clean: the process exited with status %" PRId32 "\n", e->status);
        break;
    case SPT_END_SIGNAL:
        printf("clean: the process was killed by signal %" PRId32, e->status);
        if (signal_name(e->status))
            printf(" (%s)", signal_name(e->status));
        printf("\n");
        break;
    case SPT_END_EXEC:
        printf("clean: the process called exec\n");
        break;
    case SPT_END_MAX_SIZE:
        printf("clean: the trace reached its size cap; the program ran on\n");
        break;
    case SPT_END_STOPPED:
        printf("clean: recording was stopped\n");
        break;
    default:
        printf("clean (reason %d)\n", (int)e->reason);
        break;
    }
    label(cli, "end totals");
    spa_fmt_count(a, sizeof a, e->samples);
    spa_fmt_count(b, sizeof b, e->allocs);
    spa_fmt_count(c, sizeof c, e->frees);
    printf("%s samples (weight %" PRIu64 "), %s allocations, %s frees", a, e->sample_weight, b, c);
    if (e->allocs_seen)
        printf(", %" PRIu64 " allocations seen", e->allocs_seen);
    if (spa_model_is_aggregated(m))
        printf(" (allocations: individual records only)");
    printf("\n");
    if (e->process_cpu_ns) {
        label(cli, "overhead");
        spa_fmt_duration(a, sizeof a, e->recorder_cpu_ns);
        spa_fmt_duration(b, sizeof b, e->process_cpu_ns);
        printf("the recorder used %s of the process's %s of CPU time (%.1f%%)\n", a, b,
               100.0 * (double)e->recorder_cpu_ns / (double)e->process_cpu_ns);
    }
}

/* ---------------------------------------------------------------------------------------------
 * JSON and CSV: every raw number, no units.
 * ------------------------------------------------------------------------------------------- */
static void print_machine(const spa_cli *cli, const spa_model *m, const spa_data *sel) {
    const spt_header *h = spa_model_header(m);
    const spt_reader_stats *st = spa_model_stats(m);
    const spa_totals *t = spa_model_totals(m);
    const spt_reader *r = spa_model_reader(m);
    char a[64];
    spa_emit e;

    spa_emit_begin(&e, stdout, cli->format);
    spa_emit_cstr(&e, "file", cli->file);
    snprintf(a, sizeof a, "%u.%u", h->format_major, h->format_minor);
    spa_emit_cstr(&e, "format_version", a);
    spa_emit_object(&e, "header");
    spa_emit_cstr(&e, "recorder_version", h->recorder_version);
    spa_emit_array(&e, "argv");
    for (uint32_t i = 0; i < h->argc; i++)
        spa_emit_cstr(&e, "", h->argv[i]);
    spa_emit_close(&e);
    spa_emit_cstr(&e, "executable", h->executable);
    spa_emit_u64(&e, "pid", h->pid);
    spa_emit_u64(&e, "ppid", h->ppid);
    spa_emit_u64(&e, "start_wall_ns", h->start_wall_ns);
    fmt_wall(a, sizeof a, h->start_wall_ns, 1);
    spa_emit_cstr(&e, "start_time", a);
    spa_emit_cstr(&e, "hostname", h->hostname);
    spa_emit_cstr(&e, "arch", h->arch);
    spa_emit_cstr(&e, "clock", spa_clock_key(h->clock));
    spa_emit_u64(&e, "interval_ns", h->interval_ns);
    spa_emit_cstr(&e, "alloc_mode", alloc_mode_key(h->alloc_mode));
    spa_emit_u64(&e, "alloc_sample_bytes", h->alloc_sample_bytes);
    if (h->python_version) {
        fmt_python(a, sizeof a, h->python_version);
        spa_emit_cstr(&e, "python_version", a);
    } else {
        spa_emit_null(&e, "python_version");
    }
    spa_emit_u64(&e, "max_depth", h->max_depth);
    spa_emit_cstr(&e, "trace_id", h->trace_id);
    spa_emit_cstr(&e, "parent_trace", h->parent_trace);
    spa_emit_close(&e);

    spa_emit_u64(&e, "duration_ns", spa_model_duration_ns(m));
    spa_emit_object(&e, "samples");
    spa_emit_u64(&e, "records", t->sample_records);
    spa_emit_u64(&e, "count", t->samples.count);
    spa_emit_u64(&e, "weight", t->samples.weight);
    spa_emit_u64(&e, "time_ns", spa_mul_sat(t->samples.weight, h->interval_ns));
    spa_emit_close(&e);
    spa_emit_object(&e, "drops");
    spa_emit_u64(&e, "ring_full", t->drops[SPT_DROP_RING_FULL]);
    spa_emit_u64(&e, "unwind_failed", t->drops[SPT_DROP_UNWIND_FAILED]);
    spa_emit_u64(&e, "busy", t->drops[SPT_DROP_BUSY]);
    spa_emit_u64(&e, "fork", t->drops[SPT_DROP_FORK]);
    spa_emit_u64(&e, "alloc_ring_full", t->drops[SPT_DROP_ALLOC_RING_FULL]);
    spa_emit_u64(&e, "truncated_stack", t->drops[SPT_DROP_TRUNCATED_STACK]);
    spa_emit_u64(&e, "unknown_reason", unknown_drops(t));
    spa_emit_close(&e);
    spa_emit_u64(&e, "threads", spa_model_thread_count(m));
    spa_emit_u64(&e, "markers", t->markers);
    spa_emit_u64(&e, "children", t->children);
    spa_emit_object(&e, "allocations");
    spa_emit_u64(&e, "count", t->allocs);
    spa_emit_u64(&e, "bytes", t->alloc_bytes);
    spa_emit_u64(&e, "frees", t->frees);
    spa_emit_close(&e);

    if (has_filters(cli)) {
        spa_emit_object(&e, "selected");
        spa_value v = spa_data_metric(sel, SPA_METRIC_WALL);
        spa_emit_u64(&e, "sample_count", v.count);
        spa_emit_u64(&e, "sample_weight", v.weight);
        spa_emit_u64(&e, "run_weight", sel->run.weight);
        spa_emit_u64(&e, "idle_weight", sel->idle.weight);
        v = spa_data_metric(sel, SPA_METRIC_ALLOC_BYTES);
        spa_emit_u64(&e, "alloc_count", v.count);
        spa_emit_u64(&e, "alloc_bytes", v.weight);
        spa_emit_close(&e);
        spa_emit_filters(&e, cli, spa_cli_metric(cli, m));
    } else {
        spa_emit_null(&e, "selected");
    }

    spa_emit_object(&e, "file_stats");
    spa_emit_u64(&e, "file_bytes", st->file_bytes);
    spa_emit_u64(&e, "header_bytes", st->header_bytes);
    spa_emit_u64(&e, "raw_bytes", st->raw_bytes);
    spa_emit_u64(&e, "chunks", st->chunks);
    spa_emit_u64(&e, "damaged_chunks", st->damaged_chunks);
    spa_emit_u64(&e, "damaged_bytes", st->damaged_bytes);
    spa_emit_u64(&e, "records", st->records);
    spa_emit_u64(&e, "unknown_records", st->unknown_records);
    spa_emit_close(&e);

    spa_emit_array(&e, "metadata");
    size_t n_meta;
    const spa_metadata *meta = spa_model_metadata(m, &n_meta);
    for (size_t i = 0; i < n_meta; i++) {
        spa_emit_object(&e, "");
        spa_emit_str(&e, "key", spt_reader_string(r, meta[i].key),
                     spt_reader_string_len(r, meta[i].key));
        spa_emit_str(&e, "value", spt_reader_string(r, meta[i].value),
                     spt_reader_string_len(r, meta[i].value));
        spa_emit_close(&e);
    }
    spa_emit_close(&e);

    spa_emit_bool(&e, "aggregated", spa_model_is_aggregated(m));
    spa_emit_u64(&e, "total_records", t->total_records);
    spa_emit_bool(&e, "ended_cleanly", st->ended_cleanly);
    spa_emit_bool(&e, "truncated", st->truncated);
    spa_emit_u64(&e, "truncated_bytes", st->truncated_bytes);
    if (st->ended_cleanly) {
        const spt_end *end = &st->end;
        spa_emit_object(&e, "end");
        spa_emit_cstr(&e, "reason", end_reason_key(end->reason));
        spa_emit_i64(&e, "status", end->status);
        spa_emit_u64(&e, "duration_ns", end->duration_ns);
        spa_emit_u64(&e, "samples", end->samples);
        spa_emit_u64(&e, "sample_weight", end->sample_weight);
        spa_emit_u64(&e, "allocs", end->allocs);
        spa_emit_u64(&e, "frees", end->frees);
        spa_emit_u64(&e, "dropped_samples", end->dropped_samples);
        spa_emit_u64(&e, "dropped_allocs", end->dropped_allocs);
        spa_emit_u64(&e, "allocs_seen", end->allocs_seen);
        spa_emit_u64(&e, "recorder_cpu_ns", end->recorder_cpu_ns);
        spa_emit_u64(&e, "process_cpu_ns", end->process_cpu_ns);
        spa_emit_close(&e);
    } else {
        spa_emit_null(&e, "end");
    }
    spa_emit_end(&e);
}

int spa_cmd_info(const spa_cli *cli) {
    spa_model *m = spa_cli_load(cli, cli->file, 0);
    if (!m)
        return SPA_EXIT_USAGE;
    spa_data sel;
    if (selected_data(cli, m, &sel)) {
        spa_cli_error("%s: out of memory while applying --focus", cli->file);
        spa_model_free(m);
        return SPA_EXIT_USAGE;
    }
    if (cli->format == SPA_FORMAT_TEXT)
        print_text(cli, m, &sel);
    else
        print_machine(cli, m, &sel);
    spa_model_free(m);
    return SPA_EXIT_OK;
}
