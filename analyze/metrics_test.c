/* metrics_test.c: the model library beyond the flat profile: allocation metrics and live-at-end
 * totals, the live table, thread and time filters (a renamed thread counts whole), the view with
 * --focus/--ignore, call trees both ways, diff matching, the confidence intervals against
 * published values, and spa_export read back. Every number is exact. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/model.h"
#include "analyze/testutil.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static spa_model *load_with(const char *path, unsigned keep, const char *thread, uint64_t from,
                            uint64_t to) {
    spa_model_options o;
    memset(&o, 0, sizeof o);
    o.keep = keep;
    o.thread = thread;
    o.from_ns = from;
    o.to_ns = to;
    spa_model *m = NULL;
    spt_status st = spa_model_load(path, &o, &m);
    CHECK("the trace loads", st == SPT_OK);
    if (st != SPT_OK) {
        fprintf(stderr, "load %s: %s\n", path, spa_model_error(m));
        spa_model_free(m);
        return NULL;
    }
    return m;
}

/* The reader stack id whose frames are the ';'-separated names, or 0. */
static uint32_t find_stack(const spa_model *m, const char *names) {
    const spt_reader *r = spa_model_reader(m);
    for (uint32_t id = 1; id <= spa_model_stack_count(m); id++) {
        char buf[256];
        size_t len = 0;
        const char *parts[32];
        size_t n = 0;
        for (uint32_t s = id; s && n < 32;) {
            const spt_stack *st = spt_reader_stack(r, s);
            parts[n++] = spt_reader_string(r, spt_reader_frame(r, st->frame)->function);
            s = st->parent;
        }
        buf[0] = '\0';
        for (size_t k = n; k-- > 0;)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", parts[k], k ? ";" : "");
        if (strcmp(buf, names) == 0)
            return id;
    }
    return 0;
}

static int near(double a, double b, double eps) {
    return fabs(a - b) < eps;
}

/* ---------------------------------------------------------------------------------------------
 * Allocations.
 * ------------------------------------------------------------------------------------------- */
static void test_alloc_metrics(void) {
    char p[4096];
    tk_tmp_path("heap.sptrace", p, sizeof p);
    CHECK("the heap trace is written", tu_write_heap_trace(p, 0) == 0);
    spa_model *m = load_with(p, SPA_KEEP_LIVE, NULL, 0, 0);
    if (!m)
        return;
    const spa_data *sel = spa_model_selected(m);
    CHECK_EQ_U64("4900 bytes allocated", sel->alloc_bytes, 4900);
    CHECK("in 6 allocations", near(sel->alloc_count, 6, 1e-9));
    CHECK_EQ_U64("900 bytes live at the end", sel->live_bytes, 900);
    CHECK("in 3 allocations", near(sel->live_count, 3, 1e-9));
    CHECK_EQ_U64("frees are counted", spa_model_totals(m)->frees, 4);
    uint32_t c = find_stack(m, "main;cache_put;malloc"),
             b = find_stack(m, "main;parse;make_buffer;malloc");
    CHECK("the stacks are found", c && b);
    CHECK_EQ_U64("cache_put leaves 800", spa_model_stack_data(m, c)->live_bytes, 800);
    CHECK_EQ_U64("make_buffer allocated 4000", spa_model_stack_data(m, b)->alloc_bytes, 4000);
    CHECK_EQ_U64("and freed it all", spa_model_stack_data(m, b)->live_bytes, 0);
    spa_value v = spa_data_metric(spa_model_stack_data(m, b), SPA_METRIC_ALLOC_COUNT);
    CHECK_EQ_U64("alloc-count: 3 allocations", v.weight, 3);
    v = spa_data_metric(sel, SPA_METRIC_LIVE_BYTES);
    CHECK("live-bytes: weight is bytes, count the allocations", v.weight == 900 && v.count == 3);
    spa_model_free(m);

    m = load_with(p, SPA_KEEP_LIVE, "cache", 0, 0);
    if (m) {
        CHECK_EQ_U64("--thread cache: its 800 bytes", spa_model_selected(m)->alloc_bytes, 800);
        CHECK_EQ_U64("all still live", spa_model_selected(m)->live_bytes, 800);
        spa_model_free(m);
    }
    m = load_with(p, SPA_KEEP_LIVE, NULL, 45000000, 0);
    if (m) {
        CHECK_EQ_U64("from 45 ms: 2000 + 300 allocated", spa_model_selected(m)->alloc_bytes, 2300);
        CHECK_EQ_U64("of which 300 live at the end", spa_model_selected(m)->live_bytes, 300);
        spa_model_free(m);
    }
    m = load_with(p, 0, NULL, 0, 0);
    if (m) {
        CHECK_EQ_U64("without SPA_KEEP_LIVE there is no live total",
                     spa_model_selected(m)->live_bytes, 0);
        spa_model_free(m);
    }

    tk_tmp_path("heaps.sptrace", p, sizeof p);
    CHECK("the sampled heap trace is written", tu_write_heap_trace(p, 1) == 0);
    m = load_with(p, SPA_KEEP_LIVE, NULL, 0, 0);
    if (m) {
        sel = spa_model_selected(m);
        CHECK_EQ_U64("sampled: weight_bytes is the estimate", sel->alloc_bytes, 19600);
        CHECK("sampled: each record stands for weight / size = 4",
              near(sel->alloc_count, 24, 1e-9));
        CHECK("sampled: live", sel->live_bytes == 3600 && near(sel->live_count, 12, 1e-9));
        spa_model_free(m);
    }
}

static void test_live_table(void) {
    spa_live *l = spa_live_new();
    CHECK("a live table", l != NULL);
    if (!l)
        return;
    /* Against a plain array, with addresses crowded into a small range so that probe runs form
     * and backward-shift deletion has work to do. */
    enum { SPACE = 4096 };
    static uint64_t ref[SPACE]; /* weight + 1 when live */
    unsigned seed = 12345;
    size_t live = 0, replaced = 0, mismatches = 0;
    for (int i = 0; i < 200000; i++) {
        seed = seed * 1103515245u + 12345u;
        uint64_t a = (seed >> 8) % SPACE;
        uint64_t address = 0x7f0000000000ull + a * 16;
        spa_live_entry e = {address, a + 1, 1.0, (uint32_t)a, 1}, old;
        if ((seed >> 4) & 1) {
            int rc = spa_live_insert(l, &e, &old);
            if (rc == 1) {
                replaced++;
                mismatches += old.weight_bytes + 1 != ref[a];
            } else {
                live++;
                mismatches += ref[a] != 0 || rc != 0;
            }
            ref[a] = e.weight_bytes + 1;
        } else {
            int rc = spa_live_remove(l, address, &old);
            mismatches += rc != (ref[a] != 0) || (rc && old.weight_bytes + 1 != ref[a]);
            live -= (size_t)rc;
            ref[a] = 0;
        }
    }
    CHECK_EQ_U64("every insert and remove agrees with the reference", mismatches, 0);
    CHECK_EQ_U64("the count agrees", spa_live_count(l), live);
    CHECK("addresses were reused (replacements happened)", replaced > 0);
    spa_live_free(l);
}

/* ---------------------------------------------------------------------------------------------
 * Threads: the filter by name counts a renamed thread whole; the hook sees it from the rename.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    int selected_before, selected_after;
} hook_seen;

static void hook(void *ctx, const spa_model *m, const spt_event *ev) {
    hook_seen *h = ctx;
    if (ev->kind != SPT_EV_SAMPLE || ev->thread != 2)
        return;
    if (ev->time_ns < 5000000)
        h->selected_before += spa_model_thread_selected(m, ev->thread);
    else
        h->selected_after += spa_model_thread_selected(m, ev->thread);
}

static void test_thread_filter(void) {
    char path[4096];
    tk_tmp_path("renamed.sptrace", path, sizeof path);
    spt_header h = tu_header();
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK) {
        CHECK("the writer opens", 0);
        spt_writer_close(w, NULL);
        return;
    }
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_cstring(w, "spin");
    uint32_t fr = spt_writer_frame(w, &f);
    uint32_t s = spt_writer_stack_path(w, &fr, 1);
    uint32_t t1 = spt_writer_thread(w, 6, spt_writer_cstring(w, "main"), 0);
    uint32_t t2 = spt_writer_thread(w, 7, spt_writer_cstring(w, "Thread-1"), 0);
    for (uint64_t i = 0; i < 10; i++) {
        if (i == 5)
            spt_writer_thread_name(w, t2, i * 1000000, spt_writer_cstring(w, "worker"));
        spt_writer_sample(w, t2, i * 1000000, s, 1, 0);
        spt_writer_sample(w, t1, i * 1000000, s, 2, 0);
    }
    CHECK("the renamed trace closes", spt_writer_close(w, NULL) == SPT_OK);

    static const struct {
        const char *filter;
        uint64_t weight;
    } cases[] = {{"worker", 10}, {"Thread-1", 10}, {"7", 10}, {"main", 20}, {"6", 20}, {"x", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spa_model *m = load_with(path, 0, cases[i].filter, 0, 0);
        if (!m)
            continue;
        char d[128];
        snprintf(d, sizeof d, "--thread %s selects %llu", cases[i].filter,
                 (unsigned long long)cases[i].weight);
        CHECK_EQ_U64(d, spa_model_selected(m)->run.weight, cases[i].weight);
        spa_model_free(m);
    }
    spa_model *m = load_with(path, 0, NULL, 3000000, 7000000);
    if (m) {
        CHECK_EQ_U64("[3 ms, 7 ms): 4 samples of each thread", spa_model_selected(m)->run.count, 8);
        CHECK_EQ_U64("per-thread totals follow the window", spa_model_thread_value(m, 2).count, 4);
        spa_model_free(m);
    }

    hook_seen seen = {0, 0};
    spa_model_options o;
    memset(&o, 0, sizeof o);
    o.thread = "worker";
    o.on_event = hook;
    o.event_ctx = &seen;
    m = NULL;
    CHECK("a hooked load", spa_model_load(path, &o, &m) == SPT_OK);
    CHECK_EQ_U64("while streaming, not selected before the rename", seen.selected_before, 0);
    CHECK_EQ_U64("selected from the rename on", seen.selected_after, 5);
    CHECK("once loaded, selected", m && spa_model_thread_selected(m, 2));
    CHECK("thread 0 is not selected under a filter", m && !spa_model_thread_selected(m, 0));
    size_t n;
    const spa_note *renames = m ? spa_model_renames(m, &n) : NULL;
    CHECK("the rename is kept", renames && n == 1 && renames[0].thread == 2);
    CHECK("the first name is kept",
          m && strcmp(spt_reader_string(spa_model_reader(m), spa_model_thread_first_name(m, 2)),
                      "Thread-1") == 0);
    spa_model_free(m);
}

/* ---------------------------------------------------------------------------------------------
 * The view, trees and diffs on the known trace.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    spa_groups *g;
    spa_view *v;
    spa_value *self;
} viewed;

static int view_of(const spa_model *m, const char *focus, const char *ignore, viewed *out) {
    char err[128];
    spa_regex *f = NULL, *i = NULL;
    memset(out, 0, sizeof *out);
    if ((focus && spa_regex_compile(focus, &f, err, sizeof err)) ||
        (ignore && spa_regex_compile(ignore, &i, err, sizeof err)))
        return -1;
    int rc = spa_groups_build(m, SPA_BY_FUNCTION, &out->g) == SPT_OK &&
                     spa_view_build(m, out->g, f, i, &out->v) == SPT_OK &&
                     (out->self =
                          malloc(((size_t)spa_view_count(out->v) + 1) * sizeof *out->self)) != NULL
                 ? 0
                 : -1;
    if (rc == 0)
        spa_view_values(out->v, m, SPA_METRIC_WALL, out->self);
    spa_regex_free(f);
    spa_regex_free(i);
    return rc;
}

static void unview(viewed *v) {
    free(v->self);
    spa_view_free(v->v);
    spa_groups_free(v->g);
}

static const spa_flat_row *flat_row(const spa_flat *f, const char *label) {
    for (size_t i = 0; i < f->n_rows; i++) {
        if (f->rows[i].label_len == strlen(label) &&
            memcmp(f->rows[i].label, label, strlen(label)) == 0)
            return &f->rows[i];
    }
    return NULL;
}

static const spa_tree_node *tree_child(const spa_tree *t, const viewed *v, uint32_t node,
                                       const char *label) {
    for (uint32_t i = 0; i < t->nodes[node].n_children; i++) {
        uint32_t c = t->children[t->nodes[node].first_child + i];
        size_t len;
        const char *s = spa_groups_label(v->g, t->nodes[c].group, &len);
        if (len == strlen(label) && memcmp(s, label, len) == 0)
            return &t->nodes[c];
    }
    return NULL;
}

static void test_view_and_trees(const spa_model *m) {
    viewed v;
    spa_flat f;
    if (view_of(m, "^fib$", NULL, &v) == 0 && spa_flat_build(v.v, v.self, &f) == SPT_OK) {
        CHECK_EQ_U64("--focus fib: 20 of 105 intervals", f.all.weight, 20);
        CHECK_EQ_U64("the empty stack is left out by a focus", spa_view_node_of(v.v, 0),
                     SPA_VIEW_EXCLUDED);
        spa_flat_free(&f);
    }
    unview(&v);
    if (view_of(m, NULL, "^(compute|main)$", &v) == 0 &&
        spa_flat_build(v.v, v.self, &f) == SPT_OK) {
        const spa_flat_row *leaf = flat_row(&f, "leaf_a"), *libc = flat_row(&f, "libc.so.6+0x2234");
        CHECK("--ignore: compute and main are gone",
              !flat_row(&f, "compute") && !flat_row(&f, "main"));
        CHECK("leaf_a is now outermost: totals unchanged", leaf && leaf->total.weight == 50);
        CHECK("libc keeps its 3", libc && libc->self.weight == 3);
        const spa_flat_row *none = flat_row(&f, "[no stack]");
        CHECK_EQ_U64("main's own samples now have no frame left", none ? none->self.weight : 0, 2);
        CHECK_EQ_U64("every sample still counts", f.all.weight, 105);
        spa_flat_free(&f);
    }
    unview(&v);

    spa_tree t;
    if (view_of(m, NULL, NULL, &v) == 0 && spa_tree_build(v.v, v.self, 0, &t) == SPT_OK) {
        CHECK_EQ_U64("top-down: 12 nodes and the root", t.n_nodes, 13);
        CHECK_EQ_U64("the root holds everything", t.all.weight, 105);
        uint32_t first = t.children[t.nodes[0].first_child];
        CHECK("main is the heaviest top-level node",
              t.nodes[first].total.weight == 95 && t.nodes[first].depth == 1);
        const spa_tree_node *c = tree_child(&t, &v, first, "compute");
        CHECK("main > compute", c && c->total.weight == 63 && c->self.weight == 0);
        uint32_t ci = (uint32_t)(c - t.nodes);
        CHECK("compute's children, heaviest first",
              c && c->n_children == 3 && t.nodes[t.children[c->first_child]].total.weight == 40 &&
                  t.nodes[t.children[c->first_child + 2]].total.weight == 3);
        CHECK("a child's depth", c && t.nodes[t.children[c->first_child]].depth == 3 && ci);
        spa_tree_free(&t);
    }
    if (spa_tree_build(v.v, v.self, 1, &t) == SPT_OK) {
        const spa_tree_node *leaf = tree_child(&t, &v, 0, "leaf_a");
        CHECK("inverted: leaf_a on top with 50", leaf && leaf->total.weight == 50);
        const spa_tree_node *run =
            leaf ? tree_child(&t, &v, (uint32_t)(leaf - t.nodes), "Worker.run") : NULL;
        CHECK("inverted: called from Worker.run, where its stacks start",
              run && run->total.weight == 10 && run->self.weight == 10);
        const spa_tree_node *top_main = tree_child(&t, &v, 0, "main");
        CHECK("inverted: main's own 2 samples are a top-level node that ends there",
              top_main && top_main->total.weight == 2 && top_main->self.weight == 2);
        CHECK_EQ_U64("inverted: the root holds everything", t.all.weight, 105);
        spa_tree_free(&t);
    }
    unview(&v);
}

static void test_diff_matching(const spa_model *known) {
    /* Trace A has one helper (in demo.c); the known trace has two. Matching follows identity. */
    char path[4096];
    tk_tmp_path("onehelper.sptrace", path, sizeof path);
    const tu_samples a[] = {{"main;helper", 1, 6, 1, 0, 0}};
    CHECK("the one-helper trace is written",
          tu_write_samples(path, SPT_CLOCK_CPU_THREAD, a, 1, 1000000000) == 0);
    spa_model *m = load_with(path, 0, NULL, 0, 0);
    viewed va, vb;
    spa_flat fa, fb;
    spa_diff d;
    if (!m || view_of(m, NULL, NULL, &va) || view_of(known, NULL, NULL, &vb) ||
        spa_flat_build(va.v, va.self, &fa) != SPT_OK ||
        spa_flat_build(vb.v, vb.self, &fb) != SPT_OK ||
        spa_diff_build(&fa, va.g, &fb, vb.g, &d) != SPT_OK) {
        CHECK("the diff builds", 0);
        spa_model_free(m);
        return;
    }
    size_t helpers = 0, matched = 0;
    for (size_t i = 0; i < d.n_rows; i++) {
        const spa_diff_row *r = &d.rows[i];
        if (r->name_len != 6 || memcmp(r->name, "helper", 6) != 0)
            continue;
        helpers++;
        CHECK("same-named rows print their file", r->shared_name);
        if (r->self[0].weight && r->self[1].weight)
            matched++;
    }
    /* prog.c's helper, demo.c's and util.c's: three identities, none in both traces. */
    CHECK_EQ_U64("three helpers, apart by file", helpers, 3);
    CHECK_EQ_U64("none matched across files", matched, 0);
    CHECK_EQ_U64("the before total is the one-helper trace's", d.all[0].weight, 6);
    CHECK_EQ_U64("the after total is the known trace's", d.all[1].weight, 105);
    spa_diff_free(&d);
    spa_flat_free(&fa);
    spa_flat_free(&fb);
    unview(&va);
    unview(&vb);
    spa_model_free(m);
}

/* A one-frame trace: `fn` without a source file, in module `module`, 5 samples. */
static int write_modular(const char *path, const char *fn, const char *module) {
    spt_header h = tu_header();
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK) {
        spt_writer_close(w, NULL);
        return -1;
    }
    spt_mapping map;
    memset(&map, 0, sizeof map);
    map.start = 0x400000;
    map.end = 0x500000;
    map.path = spt_writer_cstring(w, module);
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_cstring(w, fn);
    f.address = 0x401000;
    f.mapping = spt_writer_mapping(w, &map);
    uint32_t fr = spt_writer_frame(w, &f);
    uint32_t s = spt_writer_stack_path(w, &fr, 1);
    uint32_t t = spt_writer_thread(w, 1, 0, 0);
    for (int i = 0; i < 5; i++)
        spt_writer_sample(w, t, (uint64_t)i * 1000, s, 1, 0);
    return spt_writer_close(w, NULL) == SPT_OK ? 0 : -1;
}

/* A function without a source file is told apart by its module; when the binary's name changes
 * between builds, it still matches by name. */
static void test_diff_across_builds(void) {
    char p1[4096], p2[4096];
    tk_tmp_path("build1.sptrace", p1, sizeof p1);
    tk_tmp_path("build2.sptrace", p2, sizeof p2);
    CHECK("two builds are written", write_modular(p1, "_start", "/usr/bin/app-v1") == 0 &&
                                        write_modular(p2, "_start", "/opt/app-v2") == 0);
    spa_model *a = load_with(p1, 0, NULL, 0, 0), *b = load_with(p2, 0, NULL, 0, 0);
    viewed va, vb;
    spa_flat fa, fb;
    spa_diff d;
    memset(&d, 0, sizeof d);
    if (a && b && view_of(a, NULL, NULL, &va) == 0 && view_of(b, NULL, NULL, &vb) == 0 &&
        spa_flat_build(va.v, va.self, &fa) == SPT_OK &&
        spa_flat_build(vb.v, vb.self, &fb) == SPT_OK &&
        spa_diff_build(&fa, va.g, &fb, vb.g, &d) == SPT_OK) {
        CHECK_EQ_U64("one row: _start matched by name across modules", d.n_rows, 1);
        CHECK("with both sides", d.n_rows == 1 && d.rows[0].self[0].weight == 5 &&
                                     d.rows[0].self[1].weight == 5 && !d.rows[0].shared_name);
        spa_diff_free(&d);
        spa_flat_free(&fa);
        spa_flat_free(&fb);
        unview(&va);
        unview(&vb);
    } else {
        CHECK("the diff across builds builds", 0);
    }
    spa_model_free(a);
    spa_model_free(b);
}

/* ---------------------------------------------------------------------------------------------
 * Statistics against published values, and the export read back.
 * ------------------------------------------------------------------------------------------- */
static void test_stats(void) {
    double lo, hi;
    spa_wilson(0, 10, SPA_Z95, &lo, &hi);
    CHECK("Wilson 0/10: [0, 0.2775]", near(lo, 0, 1e-9) && near(hi, 0.2775, 1e-4));
    spa_wilson(5, 10, SPA_Z95, &lo, &hi);
    CHECK("Wilson 5/10: [0.2366, 0.7634]", near(lo, 0.2366, 1e-4) && near(hi, 0.7634, 1e-4));
    spa_wilson(3, 0, SPA_Z95, &lo, &hi);
    CHECK("Wilson with no draws: [0, 1]", lo == 0 && hi == 1);
    /* Newcombe (1998), example (a): 56/70 - 48/80 = 0.2000, method 10: 0.0524 to 0.3339. */
    spa_diff_interval(48, 80, 56, 70, SPA_Z95, &lo, &hi);
    CHECK("Newcombe's example (a)", near(lo, 0.0524, 1e-4) && near(hi, 0.3339, 1e-4));
    spa_poisson_diff_interval(100, 600, SPA_Z95, &lo, &hi);
    CHECK("Poisson: 500 +- 1.96 sqrt(700)",
          near(hi - 500, 51.856, 1e-3) && near(lo + hi, 1000, 1e-9));

    spa_change c;
    spa_value b = {150, 150}, a = {152, 152}, all = {300, 300};
    spa_diff_change(b, a, all, all, 300, 300, 0, &c);
    CHECK("a 0.7-point wobble on 300 samples", near(c.change, 0.667, 1e-3));
    CHECK("is noise", c.noise && c.lo < 0 && c.hi > 0);
    spa_value b2 = {100, 100}, a2 = {600, 600}, all_b = {1015, 1015}, all_a = {1017, 1017};
    spa_diff_change(b2, a2, all_b, all_a, 1015, 1017, 0, &c);
    CHECK("a 49-point move is not",
          !c.noise && near(c.lo, 45.503, 1e-3) && near(c.hi, 52.571, 1e-3));
}

static void test_export(const char *known) {
    spa_model *m = load_with(known, SPA_KEEP_THREADS | SPA_KEEP_LIVE, NULL, 0, 0);
    if (!m)
        return;
    char out[4096];
    tk_tmp_path("exported.sptrace", out, sizeof out);
    spt_writer *w = NULL;
    CHECK("the export's writer opens",
          spt_writer_open(out, spa_model_header(m), NULL, &w) == SPT_OK);
    spa_export_stats st;
    CHECK("spa_export succeeds", spa_export(m, w, 0, NULL, NULL, &st) == SPT_OK);
    CHECK("the export closes", spt_writer_close(w, &spa_model_stats(m)->end) == SPT_OK);
    CHECK_EQ_U64("nine totals written", st.records, 9);
    CHECK("standing for every sample", st.samples.count == 100 && st.samples.weight == 105);
    spa_model *e = load_with(out, 0, NULL, 0, 0);
    if (e) {
        CHECK("the export reads as aggregated", spa_model_is_aggregated(e));
        static const char *const stacks[] = {"main;compute;leaf_a", "main;fib;fib;fib", "main",
                                             "Worker.run;leaf_a"};
        for (size_t i = 0; i < sizeof stacks / sizeof stacks[0]; i++) {
            uint32_t s0 = find_stack(m, stacks[i]), s1 = find_stack(e, stacks[i]);
            char d[128];
            snprintf(d, sizeof d, "%s: the same samples after export", stacks[i]);
            CHECK(d,
                  s0 && s1 &&
                      spa_model_stack_value(m, s0).weight == spa_model_stack_value(e, s1).weight &&
                      spa_model_stack_value(m, s0).count == spa_model_stack_value(e, s1).count);
        }
        CHECK_EQ_U64("the threads are kept", spa_model_thread_count(e), 2);
        CHECK_EQ_U64("the markers are kept", spa_model_totals(e)->markers, 2);
        CHECK_EQ_U64("the drops are kept", spa_model_totals(e)->drops[SPT_DROP_RING_FULL], 7);
        CHECK_EQ_U64("the duration is kept", spa_model_duration_ns(e), 2000000000);
        spa_model_free(e);
    }
    spa_model_free(m);
}

int main(void) {
    char known[4096];
    tk_tmp_path("known.sptrace", known, sizeof known);
    CHECK("the known trace is written", tu_write_known_trace(known, TU_END_CLEAN, 0) == 0);
    test_alloc_metrics();
    test_live_table();
    test_thread_filter();
    spa_model *m = load_with(known, 0, NULL, 0, 0);
    if (m) {
        test_view_and_trees(m);
        test_diff_matching(m);
        spa_model_free(m);
    }
    test_diff_across_builds();
    test_stats();
    test_export(known);
    spa_metric metric;
    CHECK("metric names parse", spa_metric_parse("live-bytes", &metric) == 0 &&
                                    metric == SPA_METRIC_LIVE_BYTES &&
                                    strcmp(spa_metric_name(metric), "live-bytes") == 0);
    CHECK("an unknown metric is refused", spa_metric_parse("bytes", &metric) == -1);
    return CHECK_DONE();
}
