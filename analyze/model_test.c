/* model_test.c: the profile model and flat profile against traces of known content: exact self and
 * total per function (recursion counted once), every --by grouping, both sort orders, aggregated
 * and stackless samples, a truncated copy, and files that are not traces. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/model.h"
#include "analyze/testutil.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Helpers.
 * ------------------------------------------------------------------------------------------- */
static const spa_flat_row *find_row(const spa_flat *f, const char *label) {
    for (size_t i = 0; i < f->n_rows; i++) {
        if (f->rows[i].label_len == strlen(label) &&
            memcmp(f->rows[i].label, label, f->rows[i].label_len) == 0)
            return &f->rows[i];
    }
    return NULL;
}

typedef struct {
    const char *label;
    uint64_t self_weight, self_count, total_weight, total_count;
} expect_row;

/* Checks that the flat profile has exactly these rows with these numbers. */
static void check_rows(const char *what, const spa_flat *f, const expect_row *rows, size_t n) {
    char d[256];
    snprintf(d, sizeof d, "%s: the profile has %zu rows", what, n);
    CHECK_EQ_U64(d, f->n_rows, n);
    for (size_t i = 0; i < n; i++) {
        const spa_flat_row *r = find_row(f, rows[i].label);
        snprintf(d, sizeof d, "%s: a row is labelled '%s'", what, rows[i].label);
        CHECK(d, r != NULL);
        if (!r)
            continue;
        snprintf(d, sizeof d, "%s: '%s' self weight", what, rows[i].label);
        CHECK_EQ_U64(d, r->self.weight, rows[i].self_weight);
        snprintf(d, sizeof d, "%s: '%s' self count", what, rows[i].label);
        CHECK_EQ_U64(d, r->self.count, rows[i].self_count);
        snprintf(d, sizeof d, "%s: '%s' total weight", what, rows[i].label);
        CHECK_EQ_U64(d, r->total.weight, rows[i].total_weight);
        snprintf(d, sizeof d, "%s: '%s' total count", what, rows[i].label);
        CHECK_EQ_U64(d, r->total.count, rows[i].total_count);
    }
}

static void check_order(const char *what, const spa_flat *f, const char *const *labels, size_t n) {
    char d[256];
    for (size_t i = 0; i < n && i < f->n_rows; i++) {
        snprintf(d, sizeof d, "%s: row %zu is '%s'", what, i, labels[i]);
        CHECK(d, f->rows[i].label_len == strlen(labels[i]) &&
                     memcmp(f->rows[i].label, labels[i], f->rows[i].label_len) == 0);
    }
}

static spa_model *load(const char *path) {
    spa_model *m = NULL;
    spt_status st = spa_model_load(path, NULL, &m);
    CHECK("the trace loads", st == SPT_OK);
    if (st != SPT_OK) {
        fprintf(stderr, "load: %s\n", spa_model_error(m));
        spa_model_free(m);
        return NULL;
    }
    return m;
}

/* Groups m by `by`, builds the flat profile of all samples sorted by `sort`. */
static int flat_of(spa_model *m, spa_group_by by, spa_sort sort, spa_groups **g, spa_flat *f) {
    memset(f, 0, sizeof *f);
    spa_view *v = NULL;
    spa_value *self = NULL;
    int ok = spa_groups_build(m, by, g) == SPT_OK &&
             spa_view_build(m, *g, NULL, NULL, &v) == SPT_OK &&
             (self = malloc(((size_t)spa_view_count(v) + 1) * sizeof *self)) != NULL;
    if (ok) {
        spa_view_values(v, m, SPA_METRIC_WALL, self);
        ok = spa_flat_build(v, self, f) == SPT_OK;
    }
    free(self);
    spa_view_free(v);
    if (!ok) {
        CHECK("grouping and the flat profile succeed", 0);
        return -1;
    }
    spa_flat_sort(f, sort);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The known trace (testutil.c describes it).
 * ------------------------------------------------------------------------------------------- */
static void test_known_totals(const char *path) {
    spa_model *m = load(path);
    if (!m)
        return;
    const spa_totals *t = spa_model_totals(m);
    CHECK_EQ_U64("the model counts 100 samples", t->samples.count, 100);
    CHECK_EQ_U64("the samples weigh 105 intervals", t->samples.weight, 105);
    CHECK_EQ_U64("100 sample records", t->sample_records, 100);
    CHECK_EQ_U64("two markers", t->markers, 2);
    CHECK_EQ_U64("7 samples dropped for full buffers", t->drops[SPT_DROP_RING_FULL], 7);
    CHECK_EQ_U64("no other drops", t->drops[SPT_DROP_UNWIND_FAILED], 0);
    CHECK_EQ_U64("no allocations", t->allocs, 0);
    CHECK_EQ_U64("the last sample is at 990 ms or later", t->last_time_ns >= 990000000, 1);
    CHECK_EQ_U64("duration comes from END", spa_model_duration_ns(m), 2000000000);
    CHECK_EQ_U64("two threads", spa_model_thread_count(m), 2);

    const spt_reader *r = spa_model_reader(m);
    for (uint32_t id = 1; id <= spa_model_thread_count(m); id++) {
        const spt_thread *th = spt_reader_thread(r, id);
        spa_value v = spa_model_thread_value(m, id);
        if (th && th->os_tid == 1000) {
            CHECK_EQ_U64("thread 1000 has weight 95", v.weight, 95);
            CHECK_EQ_U64("thread 1000 has 90 samples", v.count, 90);
            CHECK("thread 1000 is named main", strcmp(spt_reader_string(r, th->name), "main") == 0);
        } else {
            CHECK("the other thread is os tid 1001", th && th->os_tid == 1001);
            CHECK_EQ_U64("thread 1001 has weight 10", v.weight, 10);
        }
    }
    size_t n_meta;
    const spa_metadata *meta = spa_model_metadata(m, &n_meta);
    CHECK_EQ_U64("one metadata fact", n_meta, 1);
    if (n_meta == 1) {
        CHECK("metadata key", strcmp(spt_reader_string(r, meta[0].key), "python.executable") == 0);
        CHECK("metadata value",
              strcmp(spt_reader_string(r, meta[0].value), "/usr/bin/python3") == 0);
    }
    CHECK("the stats say the trace ended cleanly", spa_model_stats(m)->ended_cleanly);
    /* 13 nodes in the prefix tree, however often chunks restate them. */
    CHECK_EQ_U64("the stack tree has 13 nodes", spa_model_stack_count(m), 13);
    spa_model_free(m);
}

static void test_known_by_function(const char *path) {
    spa_model *m = load(path);
    spa_groups *g = NULL;
    spa_flat f;
    if (!m || flat_of(m, SPA_BY_FUNCTION, SPA_SORT_SELF, &g, &f)) {
        spa_model_free(m);
        return;
    }
    static const expect_row rows[] = {
        {"leaf_a", 50, 45, 50, 45},
        {"fib", 20, 20, 20, 20}, /* S3 recurses three deep: total still 15 + 5 */
        {"leaf_b", 20, 20, 20, 20},
        {"helper (demo.c)", 6, 6, 6, 6},
        {"helper (util.c)", 4, 4, 4, 4},
        {"libc.so.6+0x2234", 3, 3, 3, 3}, /* 0x1234 into the mapping + file offset 0x1000 */
        {"main", 2, 2, 95, 90},
        {"compute", 0, 0, 63, 58},
        {"Worker.run", 0, 0, 10, 10},
    };
    check_rows("by function", &f, rows, sizeof rows / sizeof rows[0]);
    CHECK_EQ_U64("shares are of 105 intervals", f.all.weight, 105);
    CHECK_EQ_U64("shares are of 100 samples", f.all.count, 100);
    static const char *const self_order[] = {
        "leaf_a",           "fib",  "leaf_b",  "helper (demo.c)", "helper (util.c)",
        "libc.so.6+0x2234", "main", "compute", "Worker.run"};
    check_order("sorted by self", &f, self_order, sizeof self_order / sizeof self_order[0]);

    spa_flat_sort(&f, SPA_SORT_TOTAL);
    static const char *const total_order[] = {"main",
                                              "compute",
                                              "leaf_a",
                                              "fib",
                                              "leaf_b",
                                              "Worker.run",
                                              "helper (demo.c)",
                                              "helper (util.c)",
                                              "libc.so.6+0x2234"};
    check_order("sorted by total", &f, total_order, sizeof total_order / sizeof total_order[0]);
    spa_flat_free(&f);
    spa_groups_free(g);
    spa_model_free(m);
}

static void test_known_by_other_keys(const char *path) {
    spa_model *m = load(path);
    if (!m)
        return;
    spa_groups *g = NULL;
    spa_flat f;
    if (flat_of(m, SPA_BY_LINE, SPA_SORT_SELF, &g, &f) == 0) {
        static const expect_row rows[] = {
            {"leaf_a (demo.c:30)", 50, 45, 50, 45},
            {"fib (demo.c:45)", 20, 20, 20, 20},
            {"fib (demo.c:43)", 0, 0, 15, 15}, /* twice in S3, counted once */
            {"leaf_b (util.c:5)", 20, 20, 20, 20},
            {"helper (demo.c:50)", 6, 6, 6, 6},
            {"helper (util.c:60)", 4, 4, 4, 4},
            {"libc.so.6+0x2234", 3, 3, 3, 3},
            {"main (demo.c:10)", 2, 2, 95, 90},
            {"compute (demo.c:20)", 0, 0, 63, 58},
            {"Worker.run (/app/worker.py:12)", 0, 0, 10, 10},
        };
        check_rows("by line", &f, rows, sizeof rows / sizeof rows[0]);
        spa_flat_free(&f);
        spa_groups_free(g);
    }
    if (flat_of(m, SPA_BY_FILE, SPA_SORT_SELF, &g, &f) == 0) {
        static const expect_row rows[] = {
            {"demo.c", 78, 73, 105, 100},
            {"util.c", 24, 24, 24, 24},
            {"[libc.so.6]", 3, 3, 3, 3},
            {"/app/worker.py", 0, 0, 10, 10},
        };
        check_rows("by file", &f, rows, sizeof rows / sizeof rows[0]);
        spa_flat_free(&f);
        spa_groups_free(g);
    }
    if (flat_of(m, SPA_BY_MODULE, SPA_SORT_SELF, &g, &f) == 0) {
        static const expect_row rows[] = {
            {"demo", 102, 97, 105, 100},
            {"libc.so.6", 3, 3, 3, 3},
            {"/app/worker.py", 0, 0, 10, 10},
        };
        check_rows("by module", &f, rows, sizeof rows / sizeof rows[0]);
        static const char *const order[] = {"demo", "libc.so.6", "/app/worker.py"};
        check_order("modules by self", &f, order, 3);
        spa_flat_free(&f);
        spa_groups_free(g);
    }
    spa_model_free(m);
}

/* ---------------------------------------------------------------------------------------------
 * Other shapes: deep recursion, stackless and aggregated samples, a cut file, non-traces.
 * ------------------------------------------------------------------------------------------- */
static void test_deep_recursion(void) {
    char path[4096];
    tk_tmp_path("recursion.sptrace", path, sizeof path);
    spt_header h = tu_header();
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK) {
        CHECK("the writer opens", 0);
        spt_writer_close(w, NULL);
        return;
    }
    spt_frame fr;
    memset(&fr, 0, sizeof fr);
    fr.kind = SPT_FRAME_NATIVE;
    fr.function = spt_writer_cstring(w, "walk");
    fr.file = spt_writer_cstring(w, "tree.c");
    /* walk calls itself 1000 deep through two call sites, then runs at a third line. */
    uint32_t frames[1001];
    for (int i = 0; i < 1000; i++) {
        fr.line = 100 + (uint32_t)(i % 2);
        fr.address = 0x1000 + (uint64_t)(i % 2);
        frames[i] = spt_writer_frame(w, &fr);
    }
    fr.line = 200;
    fr.address = 0x2000;
    frames[1000] = spt_writer_frame(w, &fr);
    uint32_t deep = spt_writer_stack_path(w, frames, 1001);
    uint32_t shallow = spt_writer_stack_path(w, frames, 1);
    uint32_t t = spt_writer_thread(w, 7, 0, 0);
    for (int i = 0; i < 7; i++)
        spt_writer_sample(w, t, (uint64_t)i * 1000, deep, 1, 0);
    spt_writer_sample(w, t, 8000, shallow, 3, 0);
    CHECK("the recursion trace closes", spt_writer_close(w, NULL) == SPT_OK);

    spa_model *m = load(path);
    spa_groups *g = NULL;
    spa_flat f;
    if (!m || flat_of(m, SPA_BY_FUNCTION, SPA_SORT_SELF, &g, &f)) {
        spa_model_free(m);
        return;
    }
    static const expect_row fn[] = {{"walk", 10, 8, 10, 8}};
    check_rows("1001-deep recursion by function", &f, fn, 1);
    spa_flat_free(&f);
    spa_groups_free(g);
    if (flat_of(m, SPA_BY_LINE, SPA_SORT_TOTAL, &g, &f) == 0) {
        static const expect_row lines[] = {
            {"walk (tree.c:100)", 3, 1, 10, 8}, /* on every path, once per sample */
            {"walk (tree.c:101)", 0, 0, 7, 7},
            {"walk (tree.c:200)", 7, 7, 7, 7},
        };
        check_rows("1001-deep recursion by line", &f, lines, 3);
        spa_flat_free(&f);
        spa_groups_free(g);
    }
    spa_model_free(m);
}

static void test_stackless_and_aggregated(void) {
    char path[4096];
    tk_tmp_path("aggregated.sptrace", path, sizeof path);
    spt_header h = tu_header();
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK) {
        CHECK("the writer opens", 0);
        spt_writer_close(w, NULL);
        return;
    }
    spt_frame fr;
    memset(&fr, 0, sizeof fr);
    fr.kind = SPT_FRAME_NATIVE;
    fr.function = spt_writer_cstring(w, "busy");
    uint32_t busy = spt_writer_frame(w, &fr);
    fr.function = spt_writer_cstring(w, "[truncated]");
    fr.flags = SPT_FRAME_SYNTHETIC;
    uint32_t cut = spt_writer_frame(w, &fr);
    const uint32_t path_frames[] = {cut, busy};
    uint32_t s = spt_writer_stack_path(w, path_frames, 2);
    uint32_t t = spt_writer_thread(w, 9, 0, 0);
    CHECK("an aggregated total is written",
          spt_writer_sample_total(w, t, 0, s, 10, 12, 0) == SPT_OK);
    CHECK("a sample with the empty stack is written",
          spt_writer_sample(w, t, 1000, 0, 1, 0) == SPT_OK);
    CHECK("the aggregated trace closes", spt_writer_close(w, NULL) == SPT_OK);

    spa_model *m = load(path);
    spa_groups *g = NULL;
    spa_flat f;
    if (!m || flat_of(m, SPA_BY_MODULE, SPA_SORT_SELF, &g, &f)) {
        spa_model_free(m);
        return;
    }
    CHECK_EQ_U64("an aggregated record counts its samples", spa_model_totals(m)->samples.count, 11);
    static const expect_row rows[] = {
        {"[unknown]", 12, 10, 12, 10}, /* a native frame without a mapping */
        {"[truncated]", 0, 0, 12, 10}, /* synthetic frames keep their own name */
        {"[no stack]", 1, 1, 1, 1},
    };
    check_rows("aggregated and stackless samples", &f, rows, 3);
    spa_flat_free(&f);
    spa_groups_free(g);
    spa_model_free(m);
}

static int warnings;
static char last_warning[512];

static void count_warning(void *ctx, const char *message) {
    (void)ctx;
    warnings++;
    snprintf(last_warning, sizeof last_warning, "%s", message);
}

static void test_truncated_copy(const char *known) {
    size_t len;
    char *bytes = tk_read_file(known, &len);
    CHECK("the known trace can be read back", bytes != NULL && len > 64);
    if (!bytes)
        return;
    char path[4096];
    tk_tmp_path("cut.sptrace", path, sizeof path);
    CHECK("a cut copy is written", tk_write_file(path, bytes, len - 20) == 0);
    free(bytes);

    spa_model_options o;
    memset(&o, 0, sizeof o);
    o.warn = count_warning;
    spa_model *m = NULL;
    spt_status st = spa_model_load(path, &o, &m);
    CHECK("a cut trace still loads", st == SPT_OK);
    if (st != SPT_OK) {
        fprintf(stderr, "cut: %s\n", spa_model_error(m));
        spa_model_free(m);
        return;
    }
    CHECK_EQ_U64("the reader warned once", warnings, 1);
    CHECK("the warning names the file", strstr(last_warning, path) != NULL);
    const spt_reader_stats *s = spa_model_stats(m);
    CHECK("the cut trace did not end cleanly", !s->ended_cleanly);
    CHECK("the cut trace is reported truncated", s->truncated);
    uint64_t n = spa_model_totals(m)->samples.count;
    CHECK("the flushed groups before the cut survive", n >= 90 && n <= 100);
    CHECK("without END the duration is the last event's time",
          spa_model_duration_ns(m) == spa_model_totals(m)->last_time_ns);
    spa_model_free(m);
}

static void test_not_traces(void) {
    spa_model *m = NULL;
    char missing[4096], text[4096];
    tk_tmp_path("does-not-exist.sptrace", missing, sizeof missing);
    CHECK("a missing file is an I/O error", spa_model_load(missing, NULL, &m) == SPT_E_IO);
    CHECK("the error names the missing file", strstr(spa_model_error(m), missing) != NULL);
    CHECK("the error is one line", strchr(spa_model_error(m), '\n') == NULL);
    spa_model_free(m);

    tk_tmp_path("notes.txt", text, sizeof text);
    static const char words[] = "these are notes, not a trace; long enough to hold a header\n";
    tk_write_file(text, words, sizeof words - 1);
    m = NULL;
    CHECK("a text file is refused as not a trace",
          spa_model_load(text, NULL, &m) == SPT_E_BAD_MAGIC);
    CHECK("the error names the text file", strstr(spa_model_error(m), text) != NULL);
    spa_model_free(m);
}

static void test_group_by_names(void) {
    static const char *const names[] = {"function", "file", "line", "module"};
    for (size_t i = 0; i < 4; i++) {
        spa_group_by by;
        CHECK("a grouping key parses", spa_group_by_parse(names[i], &by) == 0);
        CHECK("and names itself the same way", strcmp(spa_group_by_name(by), names[i]) == 0);
    }
    spa_group_by by;
    CHECK("an unknown grouping key is refused", spa_group_by_parse("symbol", &by) == -1);
}

int main(void) {
    char path[4096];
    tk_tmp_path("known.sptrace", path, sizeof path);
    CHECK("the known trace is written", tu_write_known_trace(path, TU_END_CLEAN, 0) == 0);
    test_known_totals(path);
    test_known_by_function(path);
    test_known_by_other_keys(path);

    /* The same content in many small chunks, each restating the definitions it uses: the reader
     * must give restated stacks their first id, so every number stays the same. */
    char chunked[4096];
    tk_tmp_path("chunked.sptrace", chunked, sizeof chunked);
    CHECK("the chunked trace is written", tu_write_known_trace(chunked, TU_END_CLEAN, 256) == 0);
    spa_model *m = load(chunked);
    if (m) {
        CHECK("the chunked trace has several chunks", spa_model_stats(m)->chunks > 1);
        spa_model_free(m);
    }
    test_known_totals(chunked);
    test_known_by_function(chunked);
    test_known_by_other_keys(chunked);
    test_deep_recursion();
    test_stackless_and_aggregated();
    test_truncated_copy(path);
    test_not_traces();
    test_group_by_names();
    return CHECK_DONE();
}
