/* svg_heap.c: a self-contained SVG chart of the estimated live heap over time. Allocations and
 * frees spilled while the trace streamed are replayed through a live table once the filters are
 * final (--thread: the allocations that thread made; --focus: those whose stack passes), as
 * `spprof-analyze heap` does: the heap is replayed from the start, the chart and the peak cover
 * the time window. The window is cut into up to 1,000 slices; each shows the most live at any
 * moment in it (the filled area) and the level at its end (the line). Memory grows with the
 * allocations live at one time. */
#include "convert/convert_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH      1200
#define HEIGHT     480
#define LEFT       90
#define RIGHT      1170
#define TOP        72
#define BOTTOM     420
#define MAX_SLICES 1000

typedef struct {
    uint64_t t0, dt; /* the first slice's start and a slice's length, ns */
    size_t n;        /* slices */
    uint64_t *max, *end;
    unsigned char *used;
    uint64_t bytes; /* live now */
    double count;
    uint64_t peak, peak_ns;
    double peak_count;
    int window_open;
    uint64_t open_level; /* live when the window opened */
    uint64_t allocs, frees;
} replay;

static int in_range(const replay *rp, uint64_t t) {
    return t >= rp->t0 && t - rp->t0 < rp->dt * rp->n;
}

static void note_level(replay *rp, uint64_t t) {
    if (!in_range(rp, t))
        return;
    size_t i = (size_t)((t - rp->t0) / rp->dt);
    if (rp->bytes > rp->max[i])
        rp->max[i] = rp->bytes;
    rp->end[i] = rp->bytes;
    rp->used[i] = 1;
    if (rp->bytes > rp->peak) {
        rp->peak = rp->bytes;
        rp->peak_ns = t;
        rp->peak_count = rp->count;
    }
}

/* Replays the spill. Returns 0, -1 when out of memory, -2 when the spill cannot be read. */
static int run_replay(spc_job *j, replay *rp) {
    spa_live *live = spa_live_new();
    if (!live)
        return -1;
    spc_spill_reader rd;
    spc_spill_read_begin(&rd, j->spill, 0);
    uint64_t tag;
    int rc, result = 0;
    while ((rc = spc_spill_read_varint(&rd, &tag)) == 1) {
        uint64_t f[6] = {0};
        int fields = tag == SPC_REC_ALLOC ? 6 : 2;
        for (int k = 0; k < fields && rc == 1; k++)
            rc = spc_spill_read_varint(&rd, &f[k]);
        if (rc != 1) {
            result = -2;
            break;
        }
        uint64_t t = f[0];
        if (!rp->window_open && t >= rp->t0) {
            /* The heap as it stood when the window opened is a candidate for its peak. */
            rp->window_open = 1;
            rp->open_level = rp->bytes;
            rp->peak = rp->bytes;
            rp->peak_ns = rp->t0;
            rp->peak_count = rp->count;
        }
        note_level(rp, t); /* the level just before this event holds until it */
        spa_live_entry gone;
        if (tag == SPC_REC_ALLOC) {
            uint32_t thread = (uint32_t)f[1], stack = (uint32_t)f[2];
            if (!spa_model_thread_selected(j->m, thread) ||
                spa_view_node_of(j->v, stack) == SPA_VIEW_EXCLUDED)
                continue;
            uint64_t size = f[4], weight = f[5];
            spa_live_entry e = {f[3], weight, size ? (double)weight / (double)size : 1.0, stack,
                                thread};
            int ins = spa_live_insert(live, &e, &gone);
            if (ins < 0) {
                result = -1;
                break;
            }
            if (ins == 1) { /* its FREE was lost: no longer live */
                rp->bytes -= gone.weight_bytes;
                rp->count -= gone.count;
            }
            rp->bytes += weight;
            rp->count += e.count;
            rp->allocs++;
        } else if (spa_live_remove(live, f[1], &gone)) {
            rp->bytes -= gone.weight_bytes;
            rp->count -= gone.count;
            rp->frees++;
        }
        note_level(rp, t);
    }
    if (rc < 0 && result == 0)
        result = -2;
    spa_live_free(live);
    if (!rp->window_open) { /* nothing happened in the window: the level before it stands */
        rp->peak = rp->bytes;
        rp->peak_ns = rp->t0;
        rp->peak_count = rp->count;
    }
    return result;
}

/* Slices with no event carry the level before them. */
static void fill_gaps(replay *rp, uint64_t level_at_start) {
    uint64_t level = level_at_start;
    for (size_t i = 0; i < rp->n; i++) {
        if (!rp->used[i]) {
            rp->max[i] = rp->end[i] = level;
        } else if (level > rp->max[i]) {
            rp->max[i] = level;
        }
        level = rp->end[i];
    }
}

static double y_of(uint64_t bytes, uint64_t top) {
    return BOTTOM - (double)(BOTTOM - TOP) * (double)bytes / (double)top;
}

static void write_chart(const replay *rp, FILE *out) {
    uint64_t top = rp->peak + rp->peak / 20;
    if (top == 0)
        top = 1024;
    double sw = (double)(RIGHT - LEFT) / (double)rp->n;
    char a[48], b[48];
    /* Axes and their labels: five steps each. */
    fprintf(out, "<g class=\"axis\">\n");
    for (int k = 0; k <= 4; k++) {
        double y = y_of(top / 4 * (uint64_t)k, top);
        spc_fmt_value(a, sizeof a, SPA_METRIC_LIVE_BYTES, top / 4 * (uint64_t)k, 0);
        fprintf(out,
                "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                "<text x=\"%d\" y=\"%.1f\" class=\"ylabel\">%s</text>\n",
                LEFT, RIGHT, y, y, LEFT - 6, y + 4, a);
        uint64_t t = rp->t0 + rp->dt * rp->n / 4 * (uint64_t)k;
        spc_fmt_value(b, sizeof b, SPA_METRIC_CPU, t, 1);
        fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"xlabel\">%s</text>\n",
                LEFT + (double)(RIGHT - LEFT) * k / 4, BOTTOM + 18, b);
    }
    fprintf(out,
            "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" class=\"frame\"/>"
            "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" class=\"frame\"/>\n</g>\n",
            LEFT, RIGHT, BOTTOM, BOTTOM, LEFT, LEFT, TOP, BOTTOM);
    /* The most live per slice, as a filled step area; the level at each slice's end, a line. */
    fprintf(out, "<path class=\"area\" d=\"M%d %d", LEFT, BOTTOM);
    for (size_t i = 0; i < rp->n; i++)
        fprintf(out, "V%.1fH%.2f", y_of(rp->max[i], top), LEFT + sw * (double)(i + 1));
    fprintf(out, "V%dZ\"/>\n<path class=\"level\" d=\"M%d %.1f", BOTTOM, LEFT,
            y_of(rp->end[0], top));
    for (size_t i = 0; i < rp->n; i++)
        fprintf(out, "V%.1fH%.2f", y_of(rp->end[i], top), LEFT + sw * (double)(i + 1));
    fputs("\"/>\n", out);
    double px =
        LEFT + (double)(RIGHT - LEFT) * (double)(rp->peak_ns - rp->t0) / (double)(rp->dt * rp->n);
    spc_fmt_value(a, sizeof a, SPA_METRIC_LIVE_BYTES, rp->peak, 0);
    spc_fmt_value(b, sizeof b, SPA_METRIC_CPU, rp->peak_ns, 1);
    fprintf(out,
            "<circle id=\"peak\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" data-bytes=\"%" PRIu64
            "\" data-time-ns=\"%" PRIu64 "\"><title>peak: %s at %s</title></circle>\n"
            "<text x=\"%.1f\" y=\"%.1f\" class=\"peaklabel\">peak %s at %s</text>\n",
            px, y_of(rp->peak, top), rp->peak, rp->peak_ns, a, b,
            px + 8 > RIGHT - 200 ? px - 200 : px + 8, y_of(rp->peak, top) - 8, a, b);
}

static void write_svg(const spc_job *j, const replay *rp, FILE *out, const char *message) {
    const spt_header *h = j->h;
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\">\n<style type=\"text/css\"><![CDATA[\n"
            "text{font-family:Verdana,Helvetica,Arial,sans-serif;font-size:12px;fill:#000}\n"
            "#title{font-size:17px;text-anchor:middle}\n"
            "#subtitle{text-anchor:middle;fill:#555}\n"
            ".ylabel{text-anchor:end;font-size:11px}\n.xlabel{text-anchor:middle;font-size:11px}\n"
            ".grid{stroke:#ddd;stroke-width:1}\n.frame{stroke:#444;stroke-width:1}\n"
            ".area{fill:rgb(250,170,110);stroke:none}\n"
            ".level{fill:none;stroke:rgb(180,60,20);stroke-width:1.2}\n"
            "#peak{fill:rgb(200,0,0)}\n.peaklabel{font-size:11px;fill:rgb(160,0,0)}\n"
            "#cursor{stroke:#000;stroke-width:1;stroke-dasharray:3,3}\n.hide{display:none}\n"
            "]]></style>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fafafa\"/>\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT, WIDTH, HEIGHT);
    const char *title = j->o->title ? j->o->title : "Live heap";
    fprintf(out, "<text id=\"title\" x=\"%d\" y=\"24\">", WIDTH / 2);
    spc_put_xml(out, title, strlen(title), SIZE_MAX);
    fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"44\">", WIDTH / 2);
    spc_buf b = {0};
    char a[48], c[48];
    spc_buf_str(&b, j->name);
    spc_buf_fmt(&b, ": %s heap from %" PRIu64 " allocations and %" PRIu64 " frees",
                h->alloc_mode == SPT_ALLOC_ALL ? "live" : "estimated live", rp->allocs, rp->frees);
    spc_fmt_value(a, sizeof a, SPA_METRIC_LIVE_BYTES, rp->bytes, 0);
    spc_fmt_value(c, sizeof c, SPA_METRIC_LIVE_BYTES, rp->peak, 0);
    spc_buf_fmt(&b, "; peak %s, %s live at the end", c, a);
    size_t mark = b.len;
    spc_job_filters(j, &b);
    if (b.len > mark) {
        spc_buf tail = {0};
        spc_buf_add(&tail, b.p + mark, b.len - mark);
        b.len = mark;
        spc_buf_str(&b, "; filtered: ");
        spc_buf_add(&b, tail.p, tail.len);
        spc_buf_free(&tail);
    }
    spc_put_xml(out, (const char *)b.p, b.failed ? 0 : b.len, SIZE_MAX);
    spc_buf_free(&b);
    fputs("</text>\n", out);
    if (message) {
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n</svg>\n",
                WIDTH / 2, (TOP + BOTTOM) / 2, message);
        return;
    }
    write_chart(rp, out);
    fprintf(out,
            "<line id=\"cursor\" class=\"hide\" x1=\"0\" x2=\"0\" y1=\"%d\" y2=\"%d\"/>\n"
            "<text id=\"readout\" x=\"%d\" y=\"%d\"> </text>\n"
            "<script type=\"text/ecmascript\"><![CDATA[\n"
            "var spHeap = {left: %d, right: %d, top: %d, bottom: %d, t0: %" PRIu64 ", dt: %" PRIu64
            ",\nlive: [",
            TOP, BOTTOM, LEFT, HEIGHT - 16, LEFT, RIGHT, TOP, BOTTOM, rp->t0, rp->dt);
    for (size_t i = 0; i < rp->n; i++)
        fprintf(out, i ? ",%" PRIu64 : "%" PRIu64, rp->end[i]);
    fputs("],\nmax: [", out);
    for (size_t i = 0; i < rp->n; i++)
        fprintf(out, i ? ",%" PRIu64 : "%" PRIu64, rp->max[i]);
    fprintf(out, "]};\n%s]]></script>\n</svg>\n", spc_svg_heap_js);
}

spt_status spc_write_heap_svg(spc_job *j, FILE *out) {
    const spa_totals *t = spa_model_totals(j->m);
    if (t->alloc_events == 0 && t->allocs > 0)
        return spc_job_fail(j, SPT_E_USAGE,
                            "an aggregated trace has no allocation timeline (leaks, or a "
                            "flame graph with --metric live-bytes, show what is live at its end)");
    replay rp;
    memset(&rp, 0, sizeof rp);
    rp.t0 = j->from_ns;
    uint64_t end = j->to_ns ? j->to_ns : t->last_time_ns + 1;
    uint64_t span = end > rp.t0 ? end - rp.t0 : 1;
    rp.n = span < MAX_SLICES ? (size_t)span : MAX_SLICES;
    rp.dt = (span + rp.n - 1) / rp.n;
    rp.max = calloc(rp.n, sizeof *rp.max);
    rp.end = calloc(rp.n, sizeof *rp.end);
    rp.used = calloc(rp.n, 1);
    spt_status st = SPT_OK;
    if (!rp.max || !rp.end || !rp.used) {
        st = spc_job_fail(j, SPT_E_NOMEM, "out of memory");
    } else if (t->allocs == 0) {
        write_svg(j, &rp, out, "No allocations were recorded in this trace.");
    } else {
        int rc = run_replay(j, &rp);
        if (rc == -1) {
            st = spc_job_fail(j, SPT_E_NOMEM, "out of memory while replaying allocations");
        } else if (rc == -2) {
            st = spc_job_fail(j, SPT_E_IO, "cannot read back the spilled allocations");
        } else {
            /* Before the first event in the window, the heap is what it was when it opened. */
            fill_gaps(&rp, rp.window_open ? rp.open_level : rp.bytes);
            write_svg(j, &rp, out, NULL);
        }
    }
    free(rp.max);
    free(rp.end);
    free(rp.used);
    return st;
}
