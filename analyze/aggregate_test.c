/* aggregate_test.c: `aggregate` and `merge` through the built binaries: exact totals in the
 * reports, the same answers from top, tree, threads, leaks and spprof-diff on the aggregated
 * trace as on the original, filters applied while aggregating, merged inputs kept apart and
 * aligned in time, and the one-line errors (same file, unwritable OUT, mismatched intervals). */
#define _GNU_SOURCE /* memmem */
#include "analyze/testjson.h"
#include "analyze/testrun.h"
#include "analyze/testutil.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bin[PATH_MAX], diff_bin[PATH_MAX], golden_dir[PATH_MAX];
static const char *const size_masks[] = {"size ", NULL};

#define RUN(r, ...) ran(tu_runv(bin, (r), __VA_ARGS__, NULL))

static int ran(int rc) {
    CHECK("the binary runs", rc == 0);
    return rc == 0;
}

static double num(const tu_json *obj, const char *key) {
    return tu_json_num(tu_json_get(obj, key));
}

/* Output after its first line (which names the file). */
static const char *body(const char *out) {
    const char *nl = strchr(out, '\n');
    return nl ? nl + 1 : "";
}

/* A copy of out without the lines that name `file` (headings, the JSON "file" field). */
static char *without(const char *out, const char *file) {
    size_t len = strlen(out);
    char *copy = malloc(len + 1);
    size_t o = 0;
    if (!copy)
        return NULL;
    for (const char *line = out; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
        char *hit = memmem(line, n, file, strlen(file));
        if (!hit) {
            memcpy(copy + o, line, n);
            o += n;
        }
        line += n;
    }
    copy[o] = '\0';
    return copy;
}

/* Runs argv against the original and the aggregate (the last argument is the file) and checks
 * that everything but the first line is the same. */
static void same_answer(const char *what, const char *bin_path, char *const *args, const char *orig,
                        const char *agg) {
    char *argv[2][16];
    tu_run_result r[2];
    for (int k = 0; k < 2; k++) {
        int n = 0;
        argv[k][n++] = (char *)bin_path;
        for (; args[n - 1] && n < 13; n++)
            argv[k][n] = args[n - 1];
        argv[k][n++] = (char *)(k ? agg : orig);
        argv[k][n] = NULL;
    }
    if (tu_run(argv[0], &r[0]) != 0)
        return;
    if (tu_run(argv[1], &r[1]) != 0) {
        tu_run_free(&r[0]);
        return;
    }
    char d[256];
    char *a = without(r[0].out, orig), *b = without(r[1].out, agg);
    int same = a && b && strcmp(a, b) == 0;
    snprintf(d, sizeof d, "%s: same answer on the aggregated trace", what);
    CHECK(d, r[0].status == r[1].status && same);
    if (!same)
        fprintf(stderr, "  original:\n%s  aggregated:\n%s", r[0].out, r[1].out);
    free(a);
    free(b);
    tu_run_free(&r[0]);
    tu_run_free(&r[1]);
}

static tu_json *report(const char *what, tu_run_result *r) {
    char d[256];
    snprintf(d, sizeof d, "%s: exits 0", what);
    CHECK_EQ_U64(d, r->status, 0);
    tu_json *j = tu_json_parse(r->out);
    snprintf(d, sizeof d, "%s: the report parses", what);
    CHECK(d, j != NULL);
    if (!j)
        fprintf(stderr, "  output:\n%s  stderr:\n%s", r->out, r->err);
    return j;
}

static void test_aggregate(void) {
    tu_run_result r;
    if (RUN(&r, "aggregate", "--no-color", "known.sptrace", "-o", "known.agg")) {
        CHECK_EQ_U64("aggregate exits 0", r.status, 0);
        CHECK("aggregate: golden report",
              tu_golden_equal(golden_dir, "aggregate.txt", r.out, r.out_len, size_masks));
        tu_run_free(&r);
    }
    if (RUN(&r, "aggregate", "--json", "known.sptrace", "--output=known2.agg")) {
        tu_json *j = report("aggregate json", &r);
        CHECK_EQ_U64("aggregate: 100 samples", num(j, "sample_count"), 100);
        CHECK_EQ_U64("aggregate: weighing 105", num(j, "sample_weight"), 105);
        CHECK_EQ_U64("aggregate: one total per thread and stack", num(j, "records"), 9);
        CHECK("aggregate: the sizes are reported",
              num(j, "input_bytes") > 0 && num(j, "output_bytes") > 0 && num(j, "ratio") > 0);
        tu_json_free(j);
        tu_run_free(&r);
    }
    static char *const commands[][6] = {
        {"top", "--no-color", "--limit", "0", NULL},
        {"top", "--by", "line", "--sort", "total", NULL},
        {"tree", "--no-color", "--min-percent", "0", NULL},
        {"tree", "--inverted", "--json", NULL},
        {"threads", "--no-color", NULL},
        {"threads", "--json", NULL},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        same_answer(commands[i][0], bin, commands[i], "known.sptrace", "known.agg");

    if (RUN(&r, "info", "--no-color", "known.agg")) {
        CHECK("info knows an aggregate",
              strstr(r.out, "\naggregated   yes: 9 stack totals, time order given up\n") != NULL);
        CHECK("info: the threads, markers and drops are kept",
              strstr(r.out, "\nthreads      2\nmarkers      2\n") != NULL &&
                  strstr(r.out, "\ndropped      7 samples (buffers full)\n") != NULL);
        CHECK("info: the END record is kept", strstr(r.out, "\nduration     2.00 s\n") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "top", "--no-color", "--from", "0.5s", "known.agg")) {
        CHECK_EQ_U64("a window on an aggregate still answers", r.status, 0);
        CHECK("with a one-line warning",
              tu_count_lines(r.err) == 1 &&
                  strstr(r.err, "known.agg: an aggregated trace") != NULL);
        tu_run_free(&r);
    }

    /* Allocations: totals and live-at-end survive aggregation. */
    if (RUN(&r, "aggregate", "heap.sptrace", "-o", "heap.agg"))
        tu_run_free(&r);
    same_answer("leaks", bin, (char *[]){"leaks", "--json", NULL}, "heap.sptrace", "heap.agg");
    same_answer("alloc-bytes", bin, (char *[]){"top", "--metric", "alloc-bytes", NULL},
                "heap.sptrace", "heap.agg");
    same_answer("alloc-count", bin, (char *[]){"tree", "--metric", "alloc-count", NULL},
                "heap.sptrace", "heap.agg");
    if (RUN(&r, "heap", "heap.agg")) {
        CHECK_EQ_U64("heap on an aggregate: exit 2", r.status, 2);
        CHECK("heap on an aggregate: one line naming it",
              tu_count_lines(r.err) == 1 && strncmp(r.err, "spprof-analyze: heap.agg: ", 26) == 0);
        tu_run_free(&r);
    }

    /* spprof-diff gives the same answer on aggregates. */
    char *argv[] = {diff_bin, "before.sptrace", "after.sptrace", NULL};
    char *argv_agg[] = {diff_bin, "before.agg", "after.agg", NULL};
    if (RUN(&r, "aggregate", "before.sptrace", "-o", "before.agg"))
        tu_run_free(&r);
    if (RUN(&r, "aggregate", "after.sptrace", "-o", "after.agg"))
        tu_run_free(&r);
    tu_run_result a, b;
    if (tu_run(argv, &a) == 0 && tu_run(argv_agg, &b) == 0) {
        CHECK("spprof-diff: same answer on aggregates", strcmp(body(a.out), body(b.out)) == 0);
        tu_run_free(&a);
        tu_run_free(&b);
    }
}

static void test_aggregate_filters(void) {
    tu_run_result r;
    if (RUN(&r, "aggregate", "--json", "--thread", "worker", "known.sptrace", "-o", "worker.agg")) {
        tu_json *j = report("aggregate --thread", &r);
        CHECK_EQ_U64("--thread worker keeps its 10 samples", num(j, "sample_count"), 10);
        tu_json_free(j);
        tu_run_free(&r);
    }
    if (RUN(&r, "threads", "--json", "worker.agg")) {
        tu_json *j = tu_json_parse(r.out);
        CHECK_EQ_U64("and only that thread", tu_json_len(tu_json_get(j, "threads")), 1);
        tu_json_free(j);
        tu_run_free(&r);
    }
    if (RUN(&r, "aggregate", "--json", "--focus", "^fib$", "known.sptrace", "-o", "fib.agg")) {
        tu_json *j = report("aggregate --focus", &r);
        CHECK_EQ_U64("--focus fib keeps 20 samples", num(j, "sample_count"), 20);
        tu_json_free(j);
        tu_run_free(&r);
    }
    if (RUN(&r, "aggregate", "--ignore", "^compute$", "known.sptrace", "-o", "nocompute.agg"))
        tu_run_free(&r);
    if (RUN(&r, "top", "--format", "csv", "--limit", "0", "nocompute.agg")) {
        CHECK("--ignore: compute is spliced out of the written stacks",
              strstr(r.out, "compute") == NULL);
        CHECK("--ignore: its callees keep their samples",
              strstr(r.out, "\nleaf_a,47.619,50,45,") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "aggregate", "--no-color", "cut.sptrace", "-o", "cut.agg")) {
        CHECK_EQ_U64("a truncated trace aggregates", r.status, 0);
        CHECK("with the reader's warning", strstr(r.err, "truncated") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "info", "--no-color", "cut.agg")) {
        CHECK("and its aggregate does not claim a clean end",
              strstr(r.out, "\nend          did not finish cleanly") != NULL);
        tu_run_free(&r);
    }
}

static void test_merge(void) {
    tu_run_result r;
    if (RUN(&r, "merge", "--no-color", "before.sptrace", "after.sptrace", "-o", "both.agg")) {
        CHECK_EQ_U64("merge exits 0", r.status, 0);
        CHECK("merge: golden report",
              tu_golden_equal(golden_dir, "merge.txt", r.out, r.out_len, size_masks));
        tu_run_free(&r);
    }
    if (RUN(&r, "top", "--format", "csv", "both.agg")) {
        CHECK("merged: hot_a 600 + 100", strstr(r.out, "\nhot_a,34.449,700,700,") != NULL);
        CHECK("merged: hot_b 100 + 600", strstr(r.out, "\nhot_b,34.449,700,700,") != NULL);
        CHECK("merged: x 15 + 17", strstr(r.out, "\nx,1.575,32,32,") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "threads", "--json", "both.agg")) {
        tu_json *j = tu_json_parse(r.out);
        const tu_json *ts = tu_json_get(j, "threads");
        CHECK_EQ_U64("merged: each input keeps its two threads", tu_json_len(ts), 4);
        CHECK_EQ_U64("merged: the later trace's threads start when it started",
                     num(tu_json_at(ts, 1), "start_ns"), 3000000000u);
        tu_json_free(j);
        tu_run_free(&r);
    }
    /* A merge of a merge and a trace with allocations keeps everything. */
    if (RUN(&r, "merge", "--json", "both.agg", "heap.sptrace", "-o", "all.agg")) {
        tu_json *j = report("merge json", &r);
        CHECK_EQ_U64("merge: 2032 + 10 samples", num(j, "sample_count"), 2042);
        CHECK_EQ_U64("merge: the heap trace's 6 allocations", num(j, "allocs"), 6);
        CHECK_EQ_U64("merge: the report lists both inputs", tu_json_len(tu_json_get(j, "inputs")),
                     2);
        tu_json_free(j);
        tu_run_free(&r);
    }
    same_answer("leaks after merge", bin, (char *[]){"leaks", "--json", NULL}, "heap.sptrace",
                "all.agg");
    if (RUN(&r, "merge", "known.sptrace", "fast.sptrace", "-o", "bad.agg")) {
        CHECK_EQ_U64("merge of different intervals: exit 2", r.status, 2);
        static const char want[] = "spprof-analyze: fast.sptrace: sampled every 1.0 ms but "
                                   "known.sptrace every 10.0 ms";
        CHECK("one line naming the odd trace",
              tu_count_lines(r.err) == 1 && strncmp(r.err, want, sizeof want - 1) == 0);
        tu_run_free(&r);
    }
}

static void test_errors(void) {
    static const struct {
        const char *what;
        const char *args[6];
        const char *prefix;
    } cases[] = {
        {"no -o", {"aggregate", "known.sptrace"}, "spprof-analyze: aggregate: missing -o OUT"},
        {"-o is the input",
         {"aggregate", "known.sptrace", "-o", "known.sptrace"},
         "spprof-analyze: known.sptrace: -o names the input trace"},
        {"unwritable OUT",
         {"aggregate", "known.sptrace", "-o", "no/such/dir/x.agg"},
         "spprof-analyze: no/such/dir/x.agg: "},
        {"a missing input to merge",
         {"merge", "known.sptrace", "missing.sptrace", "-o", "m.agg"},
         "spprof-analyze: missing.sptrace: "},
        {"merge without inputs", {"merge", "-o", "m.agg"}, "spprof-analyze: merge: missing FILE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_run_result r;
        const char *const *a = cases[i].args;
        if (!RUN(&r, (char *)a[0], (char *)a[1], (char *)a[2], (char *)a[3], (char *)a[4]))
            continue;
        char d[256];
        snprintf(d, sizeof d, "%s: exit 2 with one line", cases[i].what);
        CHECK(d, r.status == 2 && tu_count_lines(r.err) == 1 && r.out_len == 0);
        snprintf(d, sizeof d, "%s: the line starts '%s'", cases[i].what, cases[i].prefix);
        CHECK(d, strncmp(r.err, cases[i].prefix, strlen(cases[i].prefix)) == 0);
        if (strncmp(r.err, cases[i].prefix, strlen(cases[i].prefix)) != 0)
            fprintf(stderr, "  stderr was: %s", r.err);
        tu_run_free(&r);
    }
}

static int setup(void) {
    if (tu_runfile("analyze/spprof-analyze", bin, sizeof bin) ||
        tu_runfile("analyze/spprof-diff", diff_bin, sizeof diff_bin) ||
        tu_runfile("testdata/analyze", golden_dir, sizeof golden_dir))
        return -1;
    if (tk_enter_tmp_dir() != 0)
        return -1;
    if (tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) ||
        tu_write_heap_trace("heap.sptrace", 0) ||
        tu_write_diff_pair("before.sptrace", "after.sptrace"))
        return -1;
    /* A trace sampled at 1 ms cannot merge with the 10 ms ones. */
    const tu_samples fast[] = {{"main", 1, 5, 1, 0, 0}};
    spt_header h = tu_header();
    h.interval_ns = 1000000;
    if (tu_write_samples_h("fast.sptrace", &h, fast, 1, 1000000000))
        return -1;
    size_t len;
    char *bytes = tk_read_file("known.sptrace", &len);
    if (!bytes || len < 64)
        return -1;
    int rc = tk_write_file("cut.sptrace", bytes, len - 20);
    free(bytes);
    return rc;
}

int main(void) {
    int ok = setup() == 0;
    CHECK("the binaries, golden files and traces are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_aggregate();
    test_aggregate_filters();
    test_merge();
    test_errors();
    return CHECK_DONE();
}
