/* job.c: what every export starts from: the trace loaded through the analyser's model with its
 * filters, the grouping and view the formats walk, per-group facts (kind, module, file, line),
 * and, for the exports that need events in order, the spill written while the trace streams.
 * Also the entry points spc_convert and spc_convert_diff, which pick what each format needs. */
#include "convert/convert_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {
    [SPC_SPEEDSCOPE] = "speedscope", [SPC_COLLAPSED] = "collapsed",
    [SPC_PPROF] = "pprof",           [SPC_SVG] = "svg",
    [SPC_HEAP_SVG] = "heap-svg",
};

int spc_format_parse(const char *text, spc_format *out) {
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
        if (strcmp(text, format_names[i]) == 0) {
            *out = (spc_format)i;
            return 0;
        }
    }
    if (strcmp(text, "folded") == 0) {
        *out = SPC_COLLAPSED;
        return 0;
    }
    if (strcmp(text, "flamegraph") == 0) {
        *out = SPC_SVG;
        return 0;
    }
    return -1;
}

const char *spc_format_name(spc_format format) {
    if ((unsigned)format < sizeof format_names / sizeof format_names[0])
        return format_names[format];
    return "speedscope";
}

int spc_color_by_parse(const char *text, spc_color_by *out) {
    if (strcmp(text, "kind") == 0)
        *out = SPC_COLOR_KIND;
    else if (strcmp(text, "module") == 0)
        *out = SPC_COLOR_MODULE;
    else
        return -1;
    return 0;
}

spc_options spc_options_default(void) {
    spc_options o;
    memset(&o, 0, sizeof o);
    o.format = SPC_SPEEDSCOPE;
    o.by = SPA_BY_FUNCTION;
    o.color_by = SPC_COLOR_KIND;
    return o;
}

spt_status spc_job_fail(spc_job *j, spt_status status, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(j->err, sizeof j->err, "%s: %s", j->path, msg);
    return status;
}

/* ---------------------------------------------------------------------------------------------
 * The spill, written from the model's event hook while the trace streams.
 * ------------------------------------------------------------------------------------------- */
static size_t put_varint(unsigned char *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static void spill_event(spc_job *j, const spa_model *m, const spt_event *ev) {
    unsigned char rec[80];
    size_t n = 0;
    uint32_t stream = 0;
    if (j->spill_mode == SPC_SPILL_THREADS) {
        /* Only what the model counted: the window as it decided it. SAMPLE_TOTALs have no
         * order; speedscope takes them from the model's per-(thread, stack) totals. */
        if (ev->thread > (UINT32_MAX - 1) / 2 || !spa_model_in_window(m, ev->time_ns))
            return;
        if (ev->kind == SPT_EV_SAMPLE && !ev->u.sample.aggregated && ev->u.sample.count == 1) {
            stream = 2 * ev->thread;
            n += put_varint(rec + n, (uint64_t)ev->u.sample.stack << 1 |
                                         ((ev->u.sample.flags & SPT_SAMPLE_IDLE) ? 1 : 0));
            n += put_varint(rec + n, ev->u.sample.weight);
        } else if (ev->kind == SPT_EV_ALLOC) {
            stream = 2 * ev->thread + 1;
            n += put_varint(rec + n, ev->u.alloc.stack);
            n += put_varint(rec + n, ev->u.alloc.weight_bytes);
        } else {
            return;
        }
    } else if (ev->kind == SPT_EV_ALLOC) {
        /* The heap is replayed from the start whatever the window (what was allocated before
         * it is live in it); thread and focus filters are applied at the replay, when final. */
        rec[n++] = SPC_REC_ALLOC;
        n += put_varint(rec + n, ev->time_ns);
        n += put_varint(rec + n, ev->thread);
        n += put_varint(rec + n, ev->u.alloc.stack);
        n += put_varint(rec + n, ev->u.alloc.address);
        n += put_varint(rec + n, ev->u.alloc.size_bytes);
        n += put_varint(rec + n, ev->u.alloc.weight_bytes);
    } else if (ev->kind == SPT_EV_FREE) {
        rec[n++] = SPC_REC_FREE;
        n += put_varint(rec + n, ev->time_ns);
        n += put_varint(rec + n, ev->u.free.address);
    } else {
        return;
    }
    if (spc_spill_put(j->spill, stream, rec, n))
        j->hook_failed = 1;
}

static void on_event(void *ctx, const spa_model *m, const spt_event *ev) {
    spc_job *j = ctx;
    if (j->user_hook)
        j->user_hook(j->user_ctx, m, ev);
    if (j->spill && !j->hook_failed)
        spill_event(j, m, ev);
}

/* ---------------------------------------------------------------------------------------------
 * Per-group facts, from the frames mapped to each group.
 * ------------------------------------------------------------------------------------------- */
static const char *basename_of(const char *path, size_t len, size_t *out_len) {
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    *out_len = len - start;
    return path + start;
}

static void frame_facts(const spc_job *j, const spt_frame *fr, spc_group_info *gi) {
    const spt_reader *r = j->r;
    gi->kind = (fr->flags & SPT_FRAME_SYNTHETIC) ? SPC_KIND_SYNTHETIC
               : fr->kind == SPT_FRAME_PYTHON    ? SPC_KIND_PYTHON
                                                 : SPC_KIND_NATIVE;
    const spt_mapping *map = fr->mapping ? spt_reader_mapping(r, fr->mapping) : NULL;
    gi->module = "";
    gi->module_len = 0;
    if (gi->kind == SPC_KIND_PYTHON) {
        gi->module = spt_reader_string(r, fr->file);
        gi->module_len = spt_reader_string_len(r, fr->file);
    } else if (gi->kind == SPC_KIND_NATIVE) {
        if (map)
            gi->module = basename_of(spt_reader_string(r, map->path),
                                     spt_reader_string_len(r, map->path), &gi->module_len);
        if (gi->module_len == 0) {
            gi->module = "[unknown]";
            gi->module_len = strlen(gi->module);
        }
    }
    /* speedscope's file and line: the source file; under --by module a native group is a mapped
     * file, so that is its file. The line is the frame's under --by line; under --by function
     * a Python function's first line, or a native frame's line when the group has one line. */
    gi->file = fr->file;
    if (j->o->by == SPA_BY_MODULE && gi->kind == SPC_KIND_NATIVE)
        gi->file = map ? map->path : 0;
    gi->line = 0;
    if (j->o->by == SPA_BY_LINE)
        gi->line = fr->line;
    else if (j->o->by == SPA_BY_FUNCTION)
        gi->line = gi->kind == SPC_KIND_PYTHON ? fr->first_line : fr->line;
}

static int build_info(spc_job *j) {
    uint32_t n_groups = spa_groups_count(j->g);
    unsigned char *seen = calloc((size_t)n_groups + 1, 1);
    j->info = calloc((size_t)n_groups + 1, sizeof *j->info);
    if (!seen || !j->info) {
        free(seen);
        return -1;
    }
    uint32_t n_frames = spt_reader_frame_count(j->r);
    for (uint32_t f = 1; f <= n_frames; f++) {
        uint32_t g = spa_groups_of_frame(j->g, f);
        const spt_frame *fr = spt_reader_frame(j->r, f);
        if (g == UINT32_MAX || !fr)
            continue;
        spc_group_info *gi = &j->info[g];
        if (!seen[g]) {
            seen[g] = 1;
            frame_facts(j, fr, gi);
            continue;
        }
        spc_group_info other;
        frame_facts(j, fr, &other);
        if (other.line != gi->line)
            gi->line_clash = 1;
        if (other.file != gi->file)
            gi->file = 0; /* frames from several files: none of them is the group's */
    }
    for (uint32_t g = 0; g < n_groups; g++) {
        if (j->info[g].line_clash)
            j->info[g].line = 0;
    }
    free(seen);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The job.
 * ------------------------------------------------------------------------------------------- */
spt_status spc_job_open(spc_job *j, const char *path, const char *name, const spa_model_options *mo,
                        const spc_options *o, unsigned keep, int spill_mode) {
    memset(j, 0, sizeof *j);
    j->o = o;
    j->path = path;
    j->name = name ? name : path;
    j->spill_mode = spill_mode;
    spa_model_options opts;
    if (mo)
        opts = *mo;
    else
        memset(&opts, 0, sizeof opts);
    opts.keep |= keep;
    j->from_ns = opts.from_ns;
    j->to_ns = opts.to_ns;
    j->thread_filter = opts.thread;
    if (spill_mode != SPC_SPILL_NONE) {
        if (!(j->spill = spc_spill_new()))
            return spc_job_fail(j, SPT_E_NOMEM, "out of memory");
        j->user_hook = opts.on_event;
        j->user_ctx = opts.event_ctx;
        opts.on_event = on_event;
        opts.event_ctx = j;
    }
    spt_status st = spa_model_load(path, &opts, &j->m);
    if (st != SPT_OK) {
        snprintf(j->err, sizeof j->err, "%s", spa_model_error(j->m));
        return st;
    }
    if (j->hook_failed)
        return spc_job_fail(j, SPT_E_IO, "%s", spc_spill_error(j->spill));
    j->r = spa_model_reader(j->m);
    j->h = spa_model_header(j->m);
    if ((j->from_ns || j->to_ns) && spa_model_is_aggregated(j->m)) {
        /* The analyser says the same (analyze/prof.c), through the same warning channel. */
        char msg[600];
        snprintf(msg, sizeof msg,
                 "%s: an aggregated trace has no time order; --from and --to select all of its "
                 "aggregated records",
                 path);
        if (opts.warn)
            opts.warn(opts.warn_ctx, msg);
        else
            fprintf(stderr, "spprof: %s\n", msg);
    }
    j->metric = o->metric_set ? o->metric : spa_model_default_metric(j->m);
    if (spa_groups_build(j->m, o->by, &j->g) != SPT_OK ||
        spa_view_build(j->m, j->g, o->focus, o->ignore, &j->v) != SPT_OK || build_info(j))
        return spc_job_fail(j, SPT_E_NOMEM, "out of memory while grouping %u stacks",
                            (unsigned)spa_model_stack_count(j->m));
    j->n_nodes = spa_view_count(j->v);
    j->depth = malloc(((size_t)j->n_nodes + 1) * sizeof *j->depth);
    if (!j->depth)
        return spc_job_fail(j, SPT_E_NOMEM, "out of memory");
    j->depth[0] = 0;
    for (uint32_t node = 1; node <= j->n_nodes; node++) {
        j->depth[node] = j->depth[spa_view_parent(j->v, node)] + 1; /* parents come first */
        if (j->depth[node] > j->max_depth)
            j->max_depth = j->depth[node];
    }
    return SPT_OK;
}

void spc_job_close(spc_job *j) {
    free(j->depth);
    free(j->info);
    spa_view_free(j->v);
    spa_groups_free(j->g);
    spa_model_free(j->m);
    spc_spill_free(j->spill);
    memset(j, 0, sizeof *j);
}

uint32_t spc_job_path(const spc_job *j, uint32_t node, uint32_t *groups) {
    uint32_t d = node <= j->n_nodes ? j->depth[node] : 0;
    for (uint32_t k = d; k > 0; k--) {
        groups[k - 1] = spa_view_group(j->v, node);
        node = spa_view_parent(j->v, node);
    }
    return d;
}

const char *spc_job_thread_name(const spc_job *j, uint32_t t, size_t *len, uint32_t *os_tid) {
    const spt_thread *th = t ? spt_reader_thread(j->r, t) : NULL;
    *os_tid = th ? th->os_tid : 0;
    *len = th ? spt_reader_string_len(j->r, th->name) : 0;
    return th ? spt_reader_string(j->r, th->name) : "";
}

void spc_job_filters(const spc_job *j, spc_buf *b) {
    size_t start = b->len;
    char t[64];
    if (j->thread_filter) {
        spc_buf_str(b, "thread ");
        spc_buf_str(b, j->thread_filter);
    }
    if (j->from_ns || j->to_ns) {
        spc_fmt_value(t, sizeof t, SPA_METRIC_CPU, j->from_ns, 1);
        spc_buf_fmt(b, "%sfrom %s", b->len > start ? ", " : "", t);
        if (j->to_ns) {
            spc_fmt_value(t, sizeof t, SPA_METRIC_CPU, j->to_ns, 1);
            spc_buf_fmt(b, " to %s", t);
        } else {
            spc_buf_str(b, " on");
        }
    }
    if (j->o->focus) {
        spc_buf_str(b, b->len > start ? ", focus '" : "focus '");
        spc_buf_str(b, spa_regex_pattern(j->o->focus));
        spc_buf_byte(b, '\'');
    }
    if (j->o->ignore) {
        spc_buf_str(b, b->len > start ? ", ignore '" : "ignore '");
        spc_buf_str(b, spa_regex_pattern(j->o->ignore));
        spc_buf_byte(b, '\'');
    }
}

static int cmp_cell(const void *a, const void *b) {
    const spc_cell *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return (x->node > y->node) - (x->node < y->node);
}

int spc_job_cells(const spc_job *j, spc_cell **out, size_t *n) {
    size_t n_entries;
    const spa_entry *e = spa_model_entries(j->m, &n_entries);
    spc_cell *cells = malloc((n_entries + 1) * sizeof *cells);
    *out = NULL;
    *n = 0;
    if (!cells)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n_entries; i++) {
        uint32_t node = spa_view_node_of(j->v, e[i].stack);
        if (node == SPA_VIEW_EXCLUDED || !spa_model_thread_selected(j->m, e[i].thread))
            continue;
        cells[k].thread = e[i].thread;
        cells[k].node = node;
        cells[k].data = e[i].data;
        k++;
    }
    qsort(cells, k, sizeof *cells, cmp_cell);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && cells[m - 1].thread == cells[i].thread && cells[m - 1].node == cells[i].node)
            spa_data_add(&cells[m - 1].data, &cells[i].data);
        else
            cells[m++] = cells[i];
    }
    *out = cells;
    *n = m;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Entry points.
 * ------------------------------------------------------------------------------------------- */
static unsigned keep_for(const spc_options *o) {
    int live = o->metric_set && o->metric == SPA_METRIC_LIVE_BYTES;
    switch (o->format) {
    case SPC_SPEEDSCOPE:
        return SPA_KEEP_THREADS | (!o->metric_set || live ? SPA_KEEP_LIVE : 0);
    case SPC_PPROF:
        return SPA_KEEP_THREADS | SPA_KEEP_LIVE;
    case SPC_COLLAPSED:
        return (o->per_thread ? SPA_KEEP_THREADS : 0) | (live ? SPA_KEEP_LIVE : 0);
    case SPC_SVG:
        return live ? SPA_KEEP_LIVE : 0;
    case SPC_HEAP_SVG:
        return 0;
    }
    return 0;
}

static int spill_for(const spc_options *o) {
    if (o->format == SPC_SPEEDSCOPE)
        return SPC_SPILL_THREADS;
    if (o->format == SPC_HEAP_SVG)
        return SPC_SPILL_HEAP;
    return SPC_SPILL_NONE;
}

spt_status spc_convert(const char *path, const spa_model_options *mo, const spc_options *o,
                       FILE *out, char *err, size_t err_size) {
    spc_job j;
    spt_status st = spc_job_open(&j, path, o->name, mo, o, keep_for(o), spill_for(o));
    if (st == SPT_OK) {
        switch (o->format) {
        case SPC_SPEEDSCOPE:
            st = spc_write_speedscope(&j, out);
            break;
        case SPC_COLLAPSED:
            st = spc_write_collapsed(&j, out);
            break;
        case SPC_PPROF:
            st = spc_write_pprof(&j, out);
            break;
        case SPC_SVG:
            st = spc_write_svg(&j, NULL, out);
            break;
        case SPC_HEAP_SVG:
            st = spc_write_heap_svg(&j, out);
            break;
        }
    }
    if (st != SPT_OK)
        snprintf(err, err_size, "%s", j.err);
    spc_job_close(&j);
    return st;
}

spt_status spc_convert_diff(const char *before, const char *after, const spa_model_options *mo,
                            const spc_options *o, FILE *out, char *err, size_t err_size) {
    spc_job jb, ja;
    memset(&ja, 0, sizeof ja);
    if (o->format != SPC_SVG) {
        snprintf(err, err_size, "%s: a differential export is an SVG flame graph only", after);
        return SPT_E_USAGE;
    }
    spt_status st = spc_job_open(&jb, before, o->name_before, mo, o, keep_for(o), 0);
    if (st == SPT_OK) {
        st = spc_job_open(&ja, after, o->name, mo, o, keep_for(o), 0);
        if (st == SPT_OK)
            st = spc_write_svg(&ja, &jb, out);
        if (st != SPT_OK)
            snprintf(err, err_size, "%s", ja.err[0] ? ja.err : jb.err);
    } else {
        snprintf(err, err_size, "%s", jb.err);
    }
    spc_job_close(&ja);
    spc_job_close(&jb);
    return st;
}
