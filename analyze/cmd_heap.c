/* cmd_heap.c: `spprof-analyze heap`: replays ALLOC and FREE events (through the model's on_event
 * hook, in the one pass that loads the trace) to follow the estimated live heap: a timeline in
 * fixed slices, the peak and the sites live at it (or at --at TIME). The sites at the peak are
 * kept exactly without copying every stack at every new peak: only the stacks changed since the
 * last peak are copied, so the work stays O(1) amortized per event. */
#include "analyze/sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The timeline kept while streaming: slices of 1 us, growing tenfold (10 us, 100 us, 1 ms, ...)
 * whenever the trace outgrows them, so there are always 200 to 2,000 of round length. */
#define N_SLICES 2000
#define SLICE_MERGE 10
#define FIRST_SLICE_NS 1000u
#define CHART_COLS 64
#define CHART_ROWS 8

typedef struct {
    uint64_t max; /* most live at any moment of the slice */
    uint64_t end; /* live after the slice's last event */
    int used;
} slice;

typedef struct {
    const spa_cli *cli;
    spa_live *live;
    int failed;
    /* per reader stack id */
    uint32_t cap;
    uint64_t *cur_bytes, *peak_bytes, *at_bytes;
    double *cur_count, *peak_count, *at_count;
    unsigned char *dirty; /* changed since the last peak */
    uint32_t *dirty_list;
    uint32_t n_dirty;
    unsigned char *pass;       /* --focus: 0 unknown, 1 no, 2 yes */
    unsigned char *frame_memo; /* per frame id: 0 unknown, 1 no, 2 yes */
    uint32_t frame_cap;
    uint32_t *chain; /* passes_focus's scratch */
    uint32_t chain_cap;
    /* totals */
    uint64_t bytes;
    double count;
    uint64_t peak, peak_time_ns;
    double peak_n;
    int have_peak, window_open;
    uint64_t at_total;
    double at_n;
    int at_taken;
    uint64_t allocs, frees;
    /* the timeline */
    slice slices[N_SLICES];
    uint64_t slice_ns;
} heap;

static int grow_stacks(heap *hp, uint32_t need) {
    if (need < hp->cap)
        return 0;
    uint32_t cap = hp->cap ? hp->cap : 1024;
    while (cap <= need)
        cap *= 2;
    uint64_t **u64s[] = {&hp->cur_bytes, &hp->peak_bytes, &hp->at_bytes};
    double **dbls[] = {&hp->cur_count, &hp->peak_count, &hp->at_count};
    for (size_t i = 0; i < 3; i++) {
        uint64_t *p = realloc(*u64s[i], (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        memset(p + hp->cap, 0, (size_t)(cap - hp->cap) * sizeof *p);
        *u64s[i] = p;
        double *d = realloc(*dbls[i], (size_t)cap * sizeof *d);
        if (!d)
            return -1;
        memset(d + hp->cap, 0, (size_t)(cap - hp->cap) * sizeof *d);
        *dbls[i] = d;
    }
    unsigned char *dirty = realloc(hp->dirty, cap), *pass = realloc(hp->pass, cap);
    if (dirty)
        hp->dirty = dirty;
    if (pass)
        hp->pass = pass;
    uint32_t *list = realloc(hp->dirty_list, (size_t)cap * sizeof *list);
    if (list)
        hp->dirty_list = list;
    if (!dirty || !pass || !list)
        return -1;
    memset(hp->dirty + hp->cap, 0, cap - hp->cap);
    memset(hp->pass + hp->cap, 0, cap - hp->cap);
    hp->cap = cap;
    return 0;
}

static int frame_matches(heap *hp, const spt_reader *r, uint32_t f) {
    if (f >= hp->frame_cap) {
        uint32_t cap = hp->frame_cap ? hp->frame_cap : 1024;
        while (cap <= f)
            cap *= 2;
        unsigned char *p = realloc(hp->frame_memo, cap);
        if (!p) {
            hp->failed = 1;
            return 0;
        }
        memset(p + hp->frame_cap, 0, cap - hp->frame_cap);
        hp->frame_memo = p;
        hp->frame_cap = cap;
    }
    if (!hp->frame_memo[f])
        hp->frame_memo[f] = spa_regex_frame_matches(hp->cli->focus, r, f) ? 2 : 1;
    return hp->frame_memo[f] == 2;
}

/* Whether a stack passes --focus: a frame on its path matches. Stacks are defined before events
 * use them, and parents before children, so the answer is settled at the stack's first ALLOC:
 * the unsettled part of its path is collected, then settled outermost first. */
static int passes_focus(heap *hp, const spa_model *m, uint32_t stack) {
    if (!hp->cli->focus)
        return 1;
    const spt_reader *r = spa_model_reader(m);
    uint32_t n = 0;
    for (uint32_t s = stack; s != 0 && !hp->pass[s];) {
        if (n == hp->chain_cap) {
            uint32_t cap = hp->chain_cap ? hp->chain_cap * 2 : 64;
            uint32_t *p = realloc(hp->chain, (size_t)cap * sizeof *p);
            if (!p) {
                hp->failed = 1;
                return 0;
            }
            hp->chain = p;
            hp->chain_cap = cap;
        }
        hp->chain[n++] = s;
        const spt_stack *st = spt_reader_stack(r, s);
        s = st && st->parent < s ? st->parent : 0;
    }
    while (n-- > 0) {
        uint32_t s = hp->chain[n];
        const spt_stack *st = spt_reader_stack(r, s);
        uint32_t parent = st && st->parent < s ? st->parent : 0;
        int yes = (parent != 0 && hp->pass[parent] == 2) || (st && frame_matches(hp, r, st->frame));
        hp->pass[s] = yes ? 2 : 1;
    }
    return stack != 0 && hp->pass[stack] == 2;
}

static void snapshot_at(heap *hp) {
    memcpy(hp->at_bytes, hp->cur_bytes, (size_t)hp->cap * sizeof *hp->at_bytes);
    memcpy(hp->at_count, hp->cur_count, (size_t)hp->cap * sizeof *hp->at_count);
    hp->at_total = hp->bytes;
    hp->at_n = hp->count;
    hp->at_taken = 1;
}

/* A new peak: copy the stacks changed since the previous one. */
static void take_peak(heap *hp, uint64_t time_ns) {
    for (uint32_t i = 0; i < hp->n_dirty; i++) {
        uint32_t s = hp->dirty_list[i];
        hp->peak_bytes[s] = hp->cur_bytes[s];
        hp->peak_count[s] = hp->cur_count[s];
        hp->dirty[s] = 0;
    }
    hp->n_dirty = 0;
    hp->peak = hp->bytes;
    hp->peak_n = hp->count;
    hp->peak_time_ns = time_ns;
    hp->have_peak = 1;
}

static slice *slice_at(heap *hp, uint64_t time_ns) {
    while (time_ns / hp->slice_ns >= N_SLICES) {
        /* A tenth of the resolution: each run of SLICE_MERGE slices becomes one. */
        for (size_t i = 0; i < N_SLICES / SLICE_MERGE; i++) {
            slice merged = {0, 0, 0};
            for (size_t k = 0; k < SLICE_MERGE; k++) {
                const slice *x = &hp->slices[i * SLICE_MERGE + k];
                if (!x->used)
                    continue;
                merged.max = x->max > merged.max ? x->max : merged.max;
                merged.end = x->end;
                merged.used = 1;
            }
            hp->slices[i] = merged;
        }
        memset(hp->slices + N_SLICES / SLICE_MERGE, 0,
               (N_SLICES - N_SLICES / SLICE_MERGE) * sizeof hp->slices[0]);
        hp->slice_ns *= SLICE_MERGE;
    }
    return &hp->slices[time_ns / hp->slice_ns];
}

static int in_window(const spa_cli *cli, uint64_t t) {
    return t >= cli->from_ns && (cli->to_ns == 0 || t < cli->to_ns);
}

static void change(heap *hp, uint32_t stack, uint64_t bytes, double count, int add) {
    if (add) {
        hp->cur_bytes[stack] += bytes;
        hp->cur_count[stack] += count;
        hp->bytes += bytes;
        hp->count += count;
    } else {
        hp->cur_bytes[stack] -= bytes;
        hp->cur_count[stack] -= count;
        hp->bytes -= bytes;
        hp->count -= count;
    }
    if (!hp->dirty[stack]) {
        hp->dirty[stack] = 1;
        hp->dirty_list[hp->n_dirty++] = stack;
    }
}

static void on_event(void *ctx, const spa_model *m, const spt_event *ev) {
    heap *hp = ctx;
    if (hp->failed || (ev->kind != SPT_EV_ALLOC && ev->kind != SPT_EV_FREE))
        return;
    const spa_cli *cli = hp->cli;
    uint64_t t = ev->time_ns;
    if (cli->has_at && !hp->at_taken && t > cli->at_ns)
        snapshot_at(hp);
    if (in_window(cli, t) && !hp->window_open) {
        /* The heap as it stood when the window opened is a candidate for its peak. */
        hp->window_open = 1;
        take_peak(hp, cli->from_ns);
    }
    slice *sl = slice_at(hp, t);
    if (hp->bytes > sl->max)
        sl->max = hp->bytes;
    if (ev->kind == SPT_EV_ALLOC) {
        uint32_t stack = ev->u.alloc.stack;
        if (!spa_model_thread_selected(m, ev->thread) ||
            grow_stacks(hp, spt_reader_stack_count(spa_model_reader(m))) ||
            !passes_focus(hp, m, stack))
            return;
        uint64_t size = ev->u.alloc.size_bytes, w = ev->u.alloc.weight_bytes;
        spa_live_entry e = {ev->u.alloc.address, w, size ? (double)w / (double)size : 1.0, stack,
                            ev->thread};
        spa_live_entry old;
        int rc = spa_live_insert(hp->live, &e, &old);
        if (rc < 0) {
            hp->failed = 1;
            return;
        }
        if (rc == 1)
            change(hp, old.stack, old.weight_bytes, old.count, 0); /* its FREE was lost */
        change(hp, stack, e.weight_bytes, e.count, 1);
        hp->allocs++;
    } else {
        spa_live_entry gone;
        if (!spa_live_remove(hp->live, ev->u.free.address, &gone))
            return;
        change(hp, gone.stack, gone.weight_bytes, gone.count, 0);
        hp->frees++;
    }
    sl = slice_at(hp, t);
    if (hp->bytes > sl->max)
        sl->max = hp->bytes;
    sl->end = hp->bytes;
    sl->used = 1;
    if (in_window(cli, t) && (!hp->have_peak || hp->bytes > hp->peak))
        take_peak(hp, t);
}

static void heap_free(heap *hp) {
    spa_live_free(hp->live);
    free(hp->cur_bytes);
    free(hp->peak_bytes);
    free(hp->at_bytes);
    free(hp->cur_count);
    free(hp->peak_count);
    free(hp->at_count);
    free(hp->dirty);
    free(hp->dirty_list);
    free(hp->pass);
    free(hp->frame_memo);
    free(hp->chain);
}

/* ---------------------------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    heap *hp;
    int at; /* sites at --at rather than at the peak */
} site_src;

static void site_value(void *ctx, uint32_t stack, uint64_t *bytes, double *count) {
    const site_src *src = ctx;
    const heap *hp = src->hp;
    *bytes = 0;
    *count = 0;
    if (stack >= hp->cap)
        return;
    *bytes = src->at ? hp->at_bytes[stack] : hp->peak_bytes[stack];
    *count = src->at ? hp->at_count[stack] : hp->peak_count[stack];
}

/* The slices covering the window (or the whole trace), empty ones carrying the level before. */
static size_t timeline(const heap *hp, const spa_cli *cli, uint64_t last_ns, slice *out,
                       uint64_t *first_ns) {
    uint64_t from = cli->from_ns, to = cli->to_ns ? cli->to_ns : last_ns + 1;
    size_t a = (size_t)(from / hp->slice_ns), b = (size_t)((to - 1) / hp->slice_ns) + 1;
    if (b > N_SLICES)
        b = N_SLICES;
    if (a >= b)
        a = b ? b - 1 : 0;
    uint64_t level = 0;
    for (size_t i = 0; i < a; i++)
        level = hp->slices[i].used ? hp->slices[i].end : level;
    size_t n = 0;
    for (size_t i = a; i < b; i++) {
        slice s = hp->slices[i];
        if (!s.used)
            s.max = s.end = level;
        level = s.end;
        out[n++] = s;
    }
    *first_ns = (uint64_t)a * hp->slice_ns;
    return n;
}

static void print_chart(const heap *hp, const slice *sl, size_t n, uint64_t first_ns,
                        uint64_t last_ns) {
    static const char *const blocks[] = {" ",      "\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    size_t cols = n < CHART_COLS ? n : CHART_COLS;
    uint64_t col_max[CHART_COLS] = {0}, top = 0;
    for (size_t c = 0; c < cols; c++) {
        for (size_t i = c * n / cols; i < (c + 1) * n / cols; i++)
            col_max[c] = sl[i].max > col_max[c] ? sl[i].max : col_max[c];
        top = col_max[c] > top ? col_max[c] : top;
    }
    if (top == 0 || cols == 0)
        return;
    char label[32];
    for (int row = CHART_ROWS - 1; row >= 0; row--) {
        label[0] = '\0';
        if (row == CHART_ROWS - 1)
            spa_fmt_bytes(label, sizeof label, top);
        else if (row == CHART_ROWS / 2 - 1)
            spa_fmt_bytes(label, sizeof label, top / 2);
        printf("%10s \u2524", label);
        for (size_t c = 0; c < cols; c++) {
            /* Eighths of a row: the level in 1/64ths of the top, rounded to nearest. */
            uint64_t eighths = (col_max[c] * CHART_ROWS * 8 + top / 2) / top;
            uint64_t base = (uint64_t)row * 8;
            uint64_t fill = eighths > base ? eighths - base : 0;
            fputs(blocks[fill > 8 ? 8 : fill], stdout);
        }
        printf("\n");
    }
    printf("%10s \u2514", "0 B");
    for (size_t c = 0; c < cols; c++)
        fputs("\u2500", stdout);
    char a[32], b[32];
    spa_fmt_duration(a, sizeof a, first_ns);
    spa_fmt_duration(b, sizeof b, last_ns);
    printf("\n%12s%-*s%s\n", "", (int)(cols > strlen(b) ? cols - strlen(b) : 1), a, b);
    (void)hp;
}

static void print_text(const spa_cli *cli, const spa_prof *p, heap *hp, const slice *sl, size_t n,
                       uint64_t first_ns, const spa_site *sites, size_t n_sites) {
    const spt_header *h = spa_model_header(p->m);
    char a[32], b[32], c[32];
    const char *est = h->alloc_mode == SPT_ALLOC_ALL ? "" : " (estimated)";
    spa_fmt_count(a, sizeof a, hp->allocs);
    spa_fmt_count(b, sizeof b, hp->frees);
    printf("%s", spa_color(cli->color, SPA_BOLD));
    spa_put_text(stdout, cli->file, strlen(cli->file));
    printf("%s: live heap%s from %s allocations and %s frees\n", spa_color(cli->color, SPA_RESET),
           est, a, b);
    spa_print_filters(cli);
    spa_fmt_bytes(a, sizeof a, hp->peak);
    spa_fmt_count(b, sizeof b, (uint64_t)(hp->peak_n + 0.5));
    spa_fmt_duration(c, sizeof c, hp->peak_time_ns);
    printf("peak         %s in %s allocations, at %s\n", a, b, c);
    if (cli->has_at) {
        spa_fmt_duration(c, sizeof c, cli->at_ns);
        spa_fmt_bytes(a, sizeof a, hp->at_total);
        spa_fmt_count(b, sizeof b, (uint64_t)(hp->at_n + 0.5));
        printf("at %-9s %s in %s allocations\n", c, a, b);
    }
    spa_fmt_bytes(a, sizeof a, hp->bytes);
    spa_fmt_count(b, sizeof b, (uint64_t)(hp->count + 0.5));
    printf("at the end   %s in %s allocations\n\n", a, b);
    uint64_t last = first_ns + (uint64_t)n * hp->slice_ns;
    uint64_t end_ns = cli->to_ns ? cli->to_ns : spa_model_totals(p->m)->last_time_ns;
    print_chart(hp, sl, n, cli->from_ns, end_ns < last ? end_ns : last);
    if (cli->has_at)
        spa_fmt_duration(c, sizeof c, cli->at_ns);
    else
        spa_fmt_duration(c, sizeof c, hp->peak_time_ns);
    printf("\n%sallocation sites live %s %s%s\n", spa_color(cli->color, SPA_BOLD),
           cli->has_at ? "at" : "at the peak,", c, spa_color(cli->color, SPA_RESET));
    spa_sites_print(cli, p, sites, n_sites, cli->has_at ? hp->at_total : hp->peak);
}

static void print_json(const spa_cli *cli, const spa_prof *p, heap *hp, const slice *sl, size_t n,
                       uint64_t first_ns, const spa_site *sites, size_t n_sites) {
    spa_emit e;
    spa_emit_begin(&e, stdout, SPA_FORMAT_JSON);
    spa_emit_cstr(&e, "file", cli->file);
    spa_emit_cstr(&e, "by", spa_group_by_name(cli->by));
    spa_emit_filters(&e, cli, SPA_METRIC_LIVE_BYTES);
    spa_emit_bool(&e, "estimated", spa_model_header(p->m)->alloc_mode != SPT_ALLOC_ALL);
    spa_emit_u64(&e, "allocs", hp->allocs);
    spa_emit_u64(&e, "frees", hp->frees);
    spa_emit_object(&e, "peak");
    spa_emit_u64(&e, "bytes", hp->peak);
    spa_emit_u64(&e, "count", (uint64_t)(hp->peak_n + 0.5));
    spa_emit_u64(&e, "time_ns", hp->peak_time_ns);
    spa_emit_close(&e);
    if (cli->has_at) {
        spa_emit_object(&e, "at");
        spa_emit_u64(&e, "time_ns", cli->at_ns);
        spa_emit_u64(&e, "bytes", hp->at_total);
        spa_emit_u64(&e, "count", (uint64_t)(hp->at_n + 0.5));
        spa_emit_close(&e);
    } else {
        spa_emit_null(&e, "at");
    }
    spa_emit_object(&e, "end");
    spa_emit_u64(&e, "bytes", hp->bytes);
    spa_emit_u64(&e, "count", (uint64_t)(hp->count + 0.5));
    spa_emit_close(&e);
    spa_emit_u64(&e, "slice_ns", hp->slice_ns);
    spa_emit_array(&e, "timeline");
    for (size_t i = 0; i < n; i++) {
        spa_emit_object(&e, "");
        spa_emit_u64(&e, "time_ns", first_ns + (uint64_t)i * hp->slice_ns);
        spa_emit_u64(&e, "live_bytes", sl[i].end);
        spa_emit_u64(&e, "max_bytes", sl[i].max);
        spa_emit_close(&e);
    }
    spa_emit_close(&e);
    spa_sites_emit(&e, cli, p, sites, n_sites, cli->has_at ? hp->at_total : hp->peak);
    spa_emit_end(&e);
}

int spa_cmd_heap(const spa_cli *cli) {
    heap *hp = calloc(1, sizeof *hp);
    if (!hp || !(hp->live = spa_live_new())) {
        free(hp);
        spa_cli_error("%s: out of memory", cli->file);
        return SPA_EXIT_USAGE;
    }
    hp->cli = cli;
    hp->slice_ns = FIRST_SLICE_NS;
    spa_model_options mo = spa_cli_model_options(cli, 0);
    mo.on_event = on_event;
    mo.event_ctx = hp;
    spa_prof p;
    if (spa_prof_open_opts(cli, cli->file, &mo, &p)) {
        heap_free(hp);
        free(hp);
        return SPA_EXIT_USAGE;
    }
    int rc = SPA_EXIT_OK;
    const spa_totals *t = spa_model_totals(p.m);
    spa_site *sites = NULL;
    size_t n_sites = 0;
    slice *sl = malloc(N_SLICES * sizeof *sl);
    if (hp->failed || !sl || grow_stacks(hp, spa_model_stack_count(p.m))) {
        spa_cli_error("%s: out of memory while replaying allocations", cli->file);
        rc = SPA_EXIT_USAGE;
    } else if (t->alloc_events == 0 && t->allocs > 0) {
        spa_cli_error("%s: an aggregated trace has no allocation timeline (leaks shows what is "
                      "live at its end)",
                      cli->file);
        rc = SPA_EXIT_USAGE;
    } else {
        if (cli->has_at && !hp->at_taken)
            snapshot_at(hp); /* --at is at or after the last event */
        if (!hp->have_peak)
            take_peak(hp, cli->from_ns); /* no event in the window */
        site_src src = {hp, cli->has_at};
        uint64_t first_ns;
        size_t n = timeline(hp, cli, t->last_time_ns, sl, &first_ns);
        if (spa_sites_collect(&p, site_value, &src, &sites, &n_sites)) {
            spa_cli_error("%s: out of memory while grouping allocation sites", cli->file);
            rc = SPA_EXIT_USAGE;
        } else if (cli->format == SPA_FORMAT_JSON) {
            print_json(cli, &p, hp, sl, n, first_ns, sites, n_sites);
        } else if (cli->format == SPA_FORMAT_CSV) {
            printf("time_ns,live_bytes,max_bytes\n");
            for (size_t i = 0; i < n; i++)
                printf("%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", first_ns + i * hp->slice_ns,
                       sl[i].end, sl[i].max);
        } else if (t->allocs == 0) {
            spa_put_text(stdout, cli->file, strlen(cli->file));
            printf(": no allocations were recorded\n");
        } else {
            print_text(cli, &p, hp, sl, n, first_ns, sites, n_sites);
        }
    }
    free(sl);
    free(sites);
    heap_free(hp);
    free(hp);
    spa_prof_close(&p);
    return rc;
}
