/* svg_test.c: the SVG flame graph, the differential one and the heap chart on traces of known
 * content: well-formed XML (xmllint), read back with a small XML reader: every frame's name,
 * depth, offset and value exactly as the trace has them, its rectangle where the value puts it,
 * colours by kind, by module and by change, titles, the inline script's figures, frames too
 * narrow to draw left out; the heap chart's peak and levels; the analyser's subcommand giving the
 * same bytes. */
#define _XOPEN_SOURCE 700
#include "analyze/testrun.h"
#include "analyze/testutil.h"
#include "convert/testlib.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[256];
    char title[512];
    uint64_t o, v;
    unsigned d;
    double x, w;
    int r, g, b;
    const char *text;
} frame;

typedef struct {
    ct_xml x;
    frame f[64];
    size_t n;
    char *raw;
} svg;

/* Exports with spprof-convert -f svg and the extra arguments; reads the frames back. */
static int load(svg *s, const char *out, const char *a1, const char *a2, const char *a3,
                const char *a4, const char *a5) {
    memset(s, 0, sizeof *s);
    size_t len;
    if (ct_export(out, &s->raw, &len, "-f", "svg", "-o", out, a1, a2, a3, a4, a5, NULL))
        return -1;
    if (ct_xml_wellformed(out) == 0 || ct_xml_parse(s->raw, &s->x))
        return -1;
    for (size_t i = 0; i < s->x.n && s->n < 64; i++) {
        const ct_el *e = &s->x.els[i];
        const char *cls = ct_xml_attr(e, "class");
        if (strcmp(e->name, "g") != 0 || !cls || strcmp(cls, "f") != 0)
            continue;
        frame *f = &s->f[s->n++];
        size_t t = ct_xml_child(&s->x, i, "title"), r = ct_xml_child(&s->x, i, "rect");
        size_t tx = ct_xml_child(&s->x, i, "text");
        if (t == SIZE_MAX || r == SIZE_MAX || tx == SIZE_MAX)
            return -1;
        const char *title = s->x.els[t].text ? s->x.els[t].text : "";
        snprintf(f->title, sizeof f->title, "%s", title);
        snprintf(f->name, sizeof f->name, "%.*s", (int)strcspn(title, "\n"), title);
        f->o = strtoull(ct_xml_attr(e, "data-o"), NULL, 10);
        f->v = strtoull(ct_xml_attr(e, "data-v"), NULL, 10);
        f->d = (unsigned)strtoul(ct_xml_attr(e, "data-d"), NULL, 10);
        f->x = strtod(ct_xml_attr(&s->x.els[r], "x"), NULL);
        f->w = strtod(ct_xml_attr(&s->x.els[r], "width"), NULL);
        sscanf(ct_xml_attr(&s->x.els[r], "fill"), "rgb(%d,%d,%d)", &f->r, &f->g, &f->b);
        f->text = s->x.els[tx].text ? s->x.els[tx].text : "";
    }
    return 0;
}

static void unload(svg *s) {
    ct_xml_free(&s->x);
    free(s->raw);
}

static const frame *find(const svg *s, const char *name, unsigned depth) {
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->f[i].name, name) == 0 && s->f[i].d == depth)
            return &s->f[i];
    }
    return NULL;
}

static const char *text_of(const svg *s, const char *id) {
    size_t i = ct_xml_by_id(&s->x, id);
    return i == SIZE_MAX ? NULL : s->x.els[i].text;
}

static void test_known(void) {
    svg s;
    if (load(&s, "known.svg", "known.sptrace", NULL, NULL, NULL, NULL)) {
        CHECK("the known trace's flame graph is well-formed XML", 0);
        unload(&s);
        return;
    }
    static const struct {
        const char *name;
        unsigned d;
        uint64_t o, v;
    } want[] = {{"all", 0, 0, 105},           {"Worker.run", 1, 0, 10},
                {"leaf_a", 2, 0, 10},         {"main", 1, 10, 95},
                {"compute", 2, 10, 63},       {"leaf_a", 3, 10, 40},
                {"leaf_b", 3, 50, 20},        {"libc.so.6+0x2234", 3, 70, 3},
                {"fib", 2, 73, 20},           {"fib", 3, 73, 15},
                {"fib", 4, 73, 15},           {"helper (demo.c)", 2, 93, 6},
                {"helper (util.c)", 2, 99, 4}};
    CHECK_EQ_U64("one frame per node of the call tree", s.n, sizeof want / sizeof want[0]);
    int all_there = 1, placed = 1;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const frame *f = find(&s, want[i].name, want[i].d);
        if (!f || f->o != want[i].o || f->v != want[i].v) {
            fprintf(stderr, "  frame %s at depth %u: wanted offset %llu value %llu\n", want[i].name,
                    want[i].d, (unsigned long long)want[i].o, (unsigned long long)want[i].v);
            all_there = 0;
            continue;
        }
        placed &= fabs(f->x - (10 + (double)f->o * 1180.0 / 105)) < 0.006 &&
                  fabs(f->w - (double)f->v * 1180.0 / 105) < 0.006;
    }
    CHECK("every frame has its name, depth, offset and value (siblings in name order)", all_there);
    CHECK("every rectangle is where its offset and value put it", placed);
    const frame *root = find(&s, "all", 0);
    CHECK("the root's tooltip: time, share and samples",
          root && strcmp(root->title, "all\n1.05 s (100.00%), 100 samples") == 0);
    const frame *la = find(&s, "leaf_a", 3);
    CHECK("a frame's tooltip: its share of the total",
          la && strcmp(la->title, "leaf_a\n400.0 ms (38.10%), 35 samples") == 0);
    CHECK("frames are labelled in the file, for viewers without scripts",
          la && strcmp(la->text, "leaf_a") == 0);
    const frame *run = find(&s, "Worker.run", 1);
    CHECK("Python frames are green", run && run->g > run->r && run->g >= 170);
    CHECK("native frames are warm", la && la->r >= 205 && la->b <= 55);
    CHECK("the title", text_of(&s, "title") && strcmp(text_of(&s, "title"), "Flame Graph") == 0);
    CHECK("the subtitle: the file and the total",
          text_of(&s, "subtitle") &&
              strcmp(text_of(&s, "subtitle"), "known.sptrace: CPU time 1.05 s") == 0);
    CHECK("the buttons: Search and (hidden) Reset Zoom",
          text_of(&s, "search") && strcmp(text_of(&s, "search"), "Search") == 0 &&
              text_of(&s, "unzoom") &&
              strcmp(ct_xml_attr(&s.x.els[ct_xml_by_id(&s.x, "unzoom")], "class"), "button hide") ==
                  0);
    size_t sc = SIZE_MAX;
    for (size_t i = 0; i < s.x.n && sc == SIZE_MAX; i++)
        sc = strcmp(s.x.els[i].name, "script") == 0 ? i : SIZE_MAX;
    CHECK("the script is inline and knows the total",
          sc != SIZE_MAX && s.x.els[sc].text &&
              strstr(s.x.els[sc].text, "var spConf = {w: 1200, pad: 10, cw: 7.08, total: 105};"));
    CHECK("nothing is loaded from the network",
          strstr(s.raw, "href") == NULL && strstr(s.raw, "http://www.w3.org/2000/svg") != NULL &&
              strstr(s.raw, "https:") == NULL);

    tu_run_result r;
    tu_runv(ct_analyze, &r, "flamegraph", "known.sptrace", "-o", "known2.svg", NULL);
    char *other = tk_read_file("known2.svg", NULL);
    CHECK("spprof-analyze flamegraph writes the same bytes",
          r.status == 0 && other && strcmp(other, s.raw) == 0);
    free(other);
    tu_run_free(&r);
    unload(&s);
}

static void test_options(void) {
    svg s;
    int rc = load(&s, "module.svg", "known.sptrace", "--color-by", "module", NULL, NULL);
    const frame *m = find(&s, "main", 1), *c = find(&s, "compute", 2);
    const frame *libc = find(&s, "libc.so.6+0x2234", 3), *run = find(&s, "Worker.run", 1);
    CHECK("--color-by module: one colour for the program's frames",
          rc == 0 && m && c && m->r == c->r && m->g == c->g && m->b == c->b);
    CHECK("--color-by module: another for libc's",
          libc && m && (libc->r != m->r || libc->g != m->g || libc->b != m->b));
    CHECK("--color-by module: the module in the tooltip",
          m && strstr(m->title, "\nmodule: demo") != NULL && run &&
              strstr(run->title, "\nmodule: /app/worker.py") != NULL);
    unload(&s);

    rc = load(&s, "title.svg", "known.sptrace", "--title", "A <b> & 'c' \"d\"", NULL, NULL);
    CHECK("--title: escaped, and read back exactly",
          rc == 0 && strcmp(text_of(&s, "title"), "A <b> & 'c' \"d\"") == 0);
    unload(&s);

    rc = load(&s, "filtered.svg", "known.sptrace", "--thread", "main", "--focus", "fib");
    CHECK("filters: only main's fib stacks",
          rc == 0 && find(&s, "all", 0) && find(&s, "all", 0)->v == 20 && s.n == 5);
    CHECK("filters: named in the subtitle",
          rc == 0 && strcmp(text_of(&s, "subtitle"),
                            "known.sptrace: CPU time 200.0 ms; filtered: thread main, "
                            "focus 'fib'") == 0);
    unload(&s);

    /* 0.1 px is 1/11,800 of the width: a stack of 1 sample in 100,000 is left out. */
    const tu_samples groups[] = {{"main;big", 1, 100000, 1, 0, 0}, {"main;tiny", 1, 1, 1, 0, 0}};
    tu_write_samples("tiny.sptrace", SPT_CLOCK_CPU_THREAD, groups, 2, 1000000000);
    rc = load(&s, "tiny.svg", "tiny.sptrace", NULL, NULL, NULL, NULL);
    CHECK("a frame narrower than 0.1 px is left out",
          rc == 0 && find(&s, "big", 2) && !find(&s, "tiny", 2));
    CHECK("but its samples still count in its callers",
          rc == 0 && find(&s, "main", 1) && find(&s, "main", 1)->v == 100001);
    unload(&s);

    const tu_samples none[] = {{"main", 1, 3, 1, 0, 0}};
    tu_write_samples("three.sptrace", SPT_CLOCK_CPU_THREAD, none, 1, 1000000000);
    rc = load(&s, "empty.svg", "three.sptrace", "--thread", "nobody", NULL, NULL);
    CHECK("nothing selected: still an SVG, saying so",
          rc == 0 && s.n == 0 && strstr(s.raw, "Nothing to show") != NULL);
    unload(&s);
}

static void test_diff(void) {
    CHECK("the diff pair is written", tu_write_diff_pair("before.sptrace", "after.sptrace") == 0);
    svg s;
    int rc = load(&s, "diff.svg", "--diff", "before.sptrace", "after.sptrace", NULL, NULL);
    CHECK("--diff: well formed", rc == 0);
    const frame *a = find(&s, "hot_a", 2), *b = find(&s, "hot_b", 2), *m = find(&s, "main", 1);
    const frame *x = find(&s, "x", 2);
    CHECK("--diff: AFTER's shape", a && b && a->v == 100 && b->v == 600 && m && m->v == 1017);
    CHECK("--diff: the frame that shrank most is fully blue",
          a && a->r == 40 && a->g == 40 && a->b == 250);
    CHECK("--diff: the frame that grew is red", b && b->r == 250 && b->g == 41 && b->b == 41);
    CHECK("--diff: an unchanged share is white", m && m->r == 250 && m->g == 250 && m->b == 250);
    CHECK("--diff: a wobble in the noise is all but white", x && x->r == 250 && x->g >= 245);
    CHECK("--diff: the tooltip has both shares and the change",
          b && strcmp(b->title, "hot_b\n6.00 s (59.00%), 600 samples\nwas 9.85%: +49.14 points") ==
                   0);
    CHECK("--diff: the title",
          rc == 0 && strcmp(text_of(&s, "title"), "Differential Flame Graph") == 0);
    CHECK("--diff: the subtitle names both and what AFTER lacks",
          rc == 0 &&
              strstr(text_of(&s, "subtitle"), "before.sptrace \xe2\x86\x92 after.sptrace:") &&
              strstr(text_of(&s, "subtitle"), "0.00% of before is in stacks after lacks"));
    tu_run_result r;
    tu_runv(ct_analyze, &r, "flamegraph", "--diff", "before.sptrace", "after.sptrace", "-o",
            "diff2.svg", NULL);
    char *other = tk_read_file("diff2.svg", NULL);
    CHECK("spprof-analyze flamegraph --diff writes the same bytes",
          r.status == 0 && other && s.raw && strcmp(other, s.raw) == 0);
    free(other);
    tu_run_free(&r);
    unload(&s);

    const tu_samples old_g[] = {{"main;old", 1, 50, 1, 0, 0}, {"main;keep", 1, 50, 1, 0, 0}};
    const tu_samples new_g[] = {{"main;keep", 1, 100, 1, 0, 0}};
    tu_write_samples("old.sptrace", SPT_CLOCK_CPU_THREAD, old_g, 2, 1000000000);
    tu_write_samples("new.sptrace", SPT_CLOCK_CPU_THREAD, new_g, 1, 1000000000);
    rc = load(&s, "gone.svg", "--diff", "old.sptrace", "new.sptrace", NULL, NULL);
    const frame *k = find(&s, "keep", 2);
    CHECK("--diff: a stack AFTER lacks is counted in the subtitle",
          rc == 0 && strstr(text_of(&s, "subtitle"), "50.00% of before is in stacks after lacks"));
    CHECK("--diff: keep went from half to all: red",
          k && k->r == 250 && k->g == 40 && strstr(k->title, "was 50.00%: +50.00 points"));
    unload(&s);
}

/* The numbers in the script's array `key: [...]`. */
static size_t numbers(const char *script, const char *key, uint64_t *out, size_t max) {
    const char *p = script ? strstr(script, key) : NULL;
    size_t n = 0;
    if (!p)
        return 0;
    p = strchr(p, '[') + 1;
    while (*p && *p != ']' && n < max) {
        char *end;
        out[n++] = strtoull(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

static void heap_chart(const char *out, const char *trace, const char *a1, const char *a2,
                       uint64_t *peak, uint64_t *peak_ns, uint64_t *max, uint64_t *last) {
    char *raw;
    size_t len;
    ct_xml x;
    *peak = *peak_ns = *max = *last = UINT64_MAX;
    if (ct_export(out, &raw, &len, trace, "-f", "heap-svg", "-o", out, a1, a2, NULL))
        return;
    if (ct_xml_wellformed(out) != 0 && ct_xml_parse(raw, &x) == 0) {
        size_t c = ct_xml_by_id(&x, "peak");
        if (c != SIZE_MAX) {
            *peak = strtoull(ct_xml_attr(&x.els[c], "data-bytes"), NULL, 10);
            *peak_ns = strtoull(ct_xml_attr(&x.els[c], "data-time-ns"), NULL, 10);
        }
        for (size_t i = 0; i < x.n; i++) {
            if (strcmp(x.els[i].name, "script") != 0)
                continue;
            static uint64_t v[2000];
            size_t n = numbers(x.els[i].text, "max: [", v, 2000);
            *max = 0;
            for (size_t k = 0; k < n; k++)
                *max = v[k] > *max ? v[k] : *max;
            n = numbers(x.els[i].text, "live: [", v, 2000);
            *last = n ? v[n - 1] : UINT64_MAX;
        }
        ct_xml_free(&x);
    }
    free(raw);
}

static void test_heap(void) {
    uint64_t peak, at, max, last;
    heap_chart("heap.svg", "heap.sptrace", NULL, NULL, &peak, &at, &max, &last);
    CHECK_EQ_U64("heap chart: the peak is 3,600 bytes", peak, 3600);
    CHECK_EQ_U64("heap chart: at 50 ms", at, 50000000);
    CHECK_EQ_U64("heap chart: the highest slice is the peak", max, 3600);
    CHECK_EQ_U64("heap chart: 900 bytes live at the end", last, 900);
    heap_chart("heap_s.svg", "heap_sampled.sptrace", NULL, NULL, &peak, &at, &max, &last);
    CHECK_EQ_U64("sampled heap chart: estimated peak 14,400 bytes", peak, 14400);
    heap_chart("heap_t.svg", "heap.sptrace", "--thread", "cache", &peak, &at, &max, &last);
    CHECK("--thread cache: its 800 bytes, peaking at 80 ms",
          peak == 800 && at == 80000000 && last == 800);
    heap_chart("heap_w.svg", "heap.sptrace", "--from", "60ms", &peak, &at, &max, &last);
    CHECK("--from 60ms: the heap as the window opened is its peak", peak == 3600 && at == 60000000);
    CHECK_EQ_U64("--from 60ms: still 900 at the end", last, 900);

    char *raw;
    size_t len;
    int rc = ct_export("noalloc.svg", &raw, &len, "known.sptrace", "-f", "heap-svg", "-o",
                       "noalloc.svg", NULL);
    CHECK("a trace without allocations: an SVG saying so",
          rc == 0 && strstr(raw, "No allocations were recorded") &&
              ct_xml_wellformed("noalloc.svg") == 1);
    free(raw);

    tu_run_result r;
    tu_runv(ct_analyze, &r, "aggregate", "heap.sptrace", "-o", "heap_agg.sptrace", NULL);
    tu_run_free(&r);
    ct_run(&r, "heap_agg.sptrace", "-f", "heap-svg", "-o", "agg.svg", NULL);
    CHECK("an aggregated trace has no heap timeline: one line, exit 2",
          ct_check_error(
              "heap-svg of an aggregate", &r,
              "spprof-convert: heap_agg.sptrace: an aggregated trace has no allocation timeline"));
    tu_run_free(&r);
}

int main(void) {
    int ok = ct_setup() == 0 && tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) == 0 &&
             tu_write_heap_trace("heap.sptrace", 0) == 0 &&
             tu_write_heap_trace("heap_sampled.sptrace", 1) == 0;
    CHECK("the binaries and traces are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_known();
    test_options();
    test_diff();
    test_heap();
    return CHECK_DONE();
}
