/* diff_test.c: spprof-diff through the built binary: golden text, exact shares and changes in JSON
 * and CSV, the noise marking (a wobble on 300 samples is not a regression), both gates with
 * their exit statuses and one line per tripped function, --absolute, the allocation table, and
 * the one-line errors. */
#define _XOPEN_SOURCE 700
#include "analyze/testjson.h"
#include "analyze/testrun.h"
#include "analyze/testutil.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bin[PATH_MAX], golden_dir[PATH_MAX];

#define RUN(r, ...) ran(tu_runv(bin, (r), __VA_ARGS__, NULL))

static int ran(int rc) {
    CHECK("the binary runs", rc == 0);
    return rc == 0;
}

static double num(const tu_json *obj, const char *key) {
    return tu_json_num(tu_json_get(obj, key));
}

static int near(double a, double b) {
    return fabs(a - b) < 0.0015;
}

static const tu_json *row(const tu_json *table, const char *name) {
    const tu_json *rows = tu_json_get(table, "rows");
    for (size_t i = 0; i < tu_json_len(rows); i++) {
        const char *s = tu_json_str(tu_json_get(tu_json_at(rows, i), "name"));
        if (s && strcmp(s, name) == 0)
            return tu_json_at(rows, i);
    }
    return NULL;
}

static void test_golden_and_json(void) {
    tu_run_result r;
    if (RUN(&r, "--no-color", "before.sptrace", "after.sptrace")) {
        CHECK_EQ_U64("a diff without gates exits 0", r.status, 0);
        CHECK_EQ_U64("and prints nothing on stderr", r.err_len, 0);
        CHECK("diff: golden text", tu_golden_equal(golden_dir, "diff.txt", r.out, r.out_len, NULL));
        tu_run_free(&r);
    }
    if (!RUN(&r, "--format", "json", "before.sptrace", "after.sptrace"))
        return;
    tu_json *j = tu_json_parse(r.out);
    CHECK("diff json parses", j != NULL);
    const tu_json *t = tu_json_at(tu_json_get(j, "tables"), 0);
    CHECK("json: the first table is cpu",
          tu_json_str(tu_json_get(t, "metric")) &&
              strcmp(tu_json_str(tu_json_get(t, "metric")), "cpu") == 0);
    CHECK_EQ_U64("json: no allocation table without allocations",
                 tu_json_len(tu_json_get(j, "tables")), 1);
    CHECK_EQ_U64("json: before's total", num(tu_json_get(t, "before_total"), "weight"), 1015);
    CHECK_EQ_U64("json: after's draws are its samples", num(tu_json_get(t, "after_total"), "draws"),
                 1017);
    CHECK_EQ_U64("json: four functions", num(t, "rows_total"), 4);
    const tu_json *first = tu_json_at(tu_json_get(t, "rows"), 0);
    CHECK("json: the largest change first (hot_a: -49.28 points)",
          tu_json_str(tu_json_get(first, "name")) &&
              strcmp(tu_json_str(tu_json_get(first, "name")), "hot_a") == 0);
    const tu_json *hb = tu_json_get(row(t, "hot_b"), "self");
    CHECK("json: hot_b before = 100 / 1015", near(num(hb, "before"), 9.852));
    CHECK("json: hot_b after = 600 / 1017", near(num(hb, "after"), 58.997));
    CHECK("json: hot_b change", near(num(hb, "change"), 49.145));
    CHECK("json: hot_b interval around it", num(hb, "low") > 45 && num(hb, "low") < 49.145 &&
                                                num(hb, "high") > 49.145 && num(hb, "high") < 53);
    CHECK("json: hot_b is not noise", !tu_json_is_true(tu_json_get(hb, "noise")));
    const tu_json *x = tu_json_get(row(t, "x"), "self");
    CHECK("json: x moved 15 -> 17 of ~1000", near(num(x, "change"), 0.194));
    CHECK("json: which noise explains",
          tu_json_is_true(tu_json_get(x, "noise")) && num(x, "low") < 0 && num(x, "high") > 0);
    const tu_json *mt = tu_json_get(row(t, "main"), "total");
    CHECK("json: main is on every stack, before and after",
          near(num(mt, "before"), 100) && near(num(mt, "after"), 100));
    tu_json_free(j);
    tu_run_free(&r);

    if (RUN(&r, "--csv", "--limit", "1", "before.sptrace", "after.sptrace")) {
        static const char head[] = "metric,name,self_before,self_after,self_change,";
        CHECK("csv: header", strncmp(r.out, head, sizeof head - 1) == 0);
        CHECK("csv: the first row", strstr(r.out, "\ncpu,hot_a,59.113,9.833,-49.280,") != NULL);
        CHECK_EQ_U64("csv: --limit 1", tu_count_lines(r.out), 2);
        tu_run_free(&r);
    }
}

static void test_gates(void) {
    tu_run_result r;
    if (RUN(&r, "--fail-if-slower", "5", "before.sptrace", "after.sptrace")) {
        CHECK_EQ_U64("hot_b grew 49 points: the gate trips (exit 1)", r.status, 1);
        CHECK_EQ_U64("one line per function that tripped", tu_count_lines(r.err), 1);
        static const char want[] = "spprof-diff: slower: hot_b: self share grew by +49.1 points";
        CHECK("the line names hot_b and its self share",
              strncmp(r.err, want, sizeof want - 1) == 0);
        CHECK("the table is still printed", strstr(r.out, "hot_b") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "--fail-if-slower", "50", "before.sptrace", "after.sptrace")) {
        CHECK_EQ_U64("50 points: the gate holds", r.status, 0);
        tu_run_free(&r);
    }
    if (RUN(&r, "--fail-if-slower=1", "after.sptrace", "before.sptrace")) {
        CHECK_EQ_U64("the other way round, hot_a grew", r.status, 1);
        CHECK("and is named", strstr(r.err, "slower: hot_a: self share") != NULL);
        CHECK("x shrank by noise: not named", strstr(r.err, ": x:") == NULL);
        tu_run_free(&r);
    }
    /* A 0.5-point wobble on 300 samples is no regression: 150 -> 152 of 300 samples. */
    if (RUN(&r, "--fail-if-slower", "0", "wobble1.sptrace", "wobble2.sptrace")) {
        CHECK_EQ_U64("a wobble within the noise does not trip even a 0 gate", r.status, 0);
        CHECK("it is marked as noise", strstr(r.out, "~+0.7") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "--absolute", "--fail-if-slower", "40", "--format", "json", "before.sptrace",
            "after.sptrace")) {
        tu_json *j = tu_json_parse(r.out);
        const tu_json *hb =
            tu_json_get(row(tu_json_at(tu_json_get(j, "tables"), 0), "hot_b"), "self");
        CHECK("--absolute: hot_b in sampling intervals",
              near(num(hb, "before"), 100) && near(num(hb, "after"), 600));
        CHECK("--absolute: +500 intervals", near(num(hb, "change"), 500));
        CHECK("--absolute: Poisson interval, 1.96 x sqrt(700)",
              near(num(hb, "high") - num(hb, "change"), 1.959964 * sqrt(700.0)));
        CHECK_EQ_U64("--absolute gate: 500 of 1015 is 49% of the before total", r.status, 1);
        tu_json_free(j);
        tu_run_free(&r);
    }
    if (RUN(&r, "--no-color", "--absolute", "before.sptrace", "after.sptrace")) {
        CHECK("--absolute text shows times", strstr(r.out, "+5.00 s") != NULL);
        tu_run_free(&r);
    }
}

static void test_allocations(void) {
    tu_run_result r;
    if (RUN(&r, "--format", "json", "alloc1.sptrace", "alloc2.sptrace")) {
        tu_json *j = tu_json_parse(r.out);
        const tu_json *tables = tu_json_get(j, "tables");
        CHECK_EQ_U64("two tables: cpu, then allocated bytes", tu_json_len(tables), 2);
        const tu_json *t = tu_json_at(tables, 1);
        CHECK("the second is alloc-bytes",
              tu_json_str(tu_json_get(t, "metric")) &&
                  strcmp(tu_json_str(tu_json_get(t, "metric")), "alloc-bytes") == 0);
        const tu_json *b = tu_json_get(row(t, "grow"), "self");
        CHECK("grow: 50% -> 75% of the bytes",
              near(num(b, "before"), 50) && near(num(b, "after"), 75));
        CHECK_EQ_U64("every allocation recorded: draws are allocations",
                     num(tu_json_get(t, "after_total"), "draws"), 400);
        tu_json_free(j);
        tu_run_free(&r);
    }
    if (RUN(&r, "--fail-if-more-alloc", "10", "alloc1.sptrace", "alloc2.sptrace")) {
        CHECK_EQ_U64("the allocation gate trips", r.status, 1);
        CHECK("naming grow",
              strstr(r.err, "spprof-diff: more allocation: grow: self share") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "--fail-if-more-alloc", "30", "alloc1.sptrace", "alloc2.sptrace")) {
        CHECK_EQ_U64("but not beyond 30 points", r.status, 0);
        tu_run_free(&r);
    }
    if (RUN(&r, "--fail-if-more-alloc", "1", "before.sptrace", "after.sptrace")) {
        CHECK_EQ_U64("the allocation gate on traces without allocations: exit 2", r.status, 2);
        CHECK("one line",
              tu_count_lines(r.err) == 1 && strstr(r.err, "no allocations recorded") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "--metric", "alloc-count", "--csv", "alloc1.sptrace", "alloc2.sptrace")) {
        CHECK("--metric alloc-count: one table of counts",
              strstr(r.out, "\nalloc-count,grow,50.000,75.000,25.000,") != NULL &&
                  strstr(r.out, "\ncpu,") == NULL);
        tu_run_free(&r);
    }
}

static void test_errors(void) {
    static const struct {
        const char *what;
        const char *args[4];
        const char *prefix;
    } cases[] = {
        {"one trace", {"before.sptrace"}, "spprof-diff: expected two traces"},
        {"three traces",
         {"before.sptrace", "after.sptrace", "after.sptrace"},
         "spprof-diff: expected BEFORE and AFTER"},
        {"a missing trace",
         {"before.sptrace", "missing.sptrace"},
         "spprof-diff: missing.sptrace: "},
        {"a bad gate", {"--fail-if-slower", "lots", "a", "b"}, "spprof-diff: --fail-if-slower"},
        {"a bad regex", {"--focus", "(", "a", "b"}, "spprof-diff: --focus: bad regular expression"},
        {"an unknown option", {"--frob", "a", "b"}, "spprof-diff: unknown option '--frob'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_run_result r;
        const char *const *a = cases[i].args;
        if (!RUN(&r, (char *)a[0], (char *)a[1], (char *)a[2], (char *)a[3]))
            continue;
        char d[256];
        snprintf(d, sizeof d, "%s: exit 2, one line, nothing on stdout", cases[i].what);
        CHECK(d, r.status == 2 && tu_count_lines(r.err) == 1 && r.out_len == 0);
        snprintf(d, sizeof d, "%s: '%s'", cases[i].what, cases[i].prefix);
        CHECK(d, strncmp(r.err, cases[i].prefix, strlen(cases[i].prefix)) == 0);
        if (strncmp(r.err, cases[i].prefix, strlen(cases[i].prefix)) != 0)
            fprintf(stderr, "  stderr was: %s", r.err);
        tu_run_free(&r);
    }
    tu_run_result r;
    if (RUN(&r, "--help")) {
        static const char usage[] = "usage: spprof-diff [options] BEFORE AFTER\n";
        CHECK("--help: usage on stdout, exit 0",
              r.status == 0 && strncmp(r.out, usage, sizeof usage - 1) == 0);
        CHECK("--help lines the options' help up, --fail-if-more-alloc PCT included",
              tu_columns_aligned(r.out, "Options:") &&
                  strstr(r.out, "\n  --fail-if-more-alloc PCT  the same") != NULL);
        tu_run_free(&r);
    }
}

/* Allocation traces: `keep` allocations of 100 bytes in main > keep and `grow` in main > grow,
 * every allocation recorded, one CPU sample each so that the trace has a time table too. */
static int write_allocs(const char *path, int keep, int grow) {
    spt_header h = tu_header();
    h.alloc_mode = SPT_ALLOC_ALL;
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK) {
        spt_writer_close(w, NULL);
        return -1;
    }
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_cstring(w, "main");
    uint32_t fm = spt_writer_frame(w, &f);
    f.function = spt_writer_cstring(w, "keep");
    uint32_t fk = spt_writer_frame(w, &f);
    f.function = spt_writer_cstring(w, "grow");
    uint32_t fg = spt_writer_frame(w, &f);
    uint32_t sk = spt_writer_stack_path(w, (uint32_t[]){fm, fk}, 2);
    uint32_t sg = spt_writer_stack_path(w, (uint32_t[]){fm, fg}, 2);
    uint32_t t = spt_writer_thread(w, 1, spt_writer_cstring(w, "main"), 0);
    uint64_t addr = 0x10000;
    for (int i = 0; i < keep + grow; i++) {
        uint32_t s = i < keep ? sk : sg;
        spt_writer_alloc(w, t, (uint64_t)i * 1000, addr += 128, 100, 100, s);
        spt_writer_sample(w, t, (uint64_t)i * 1000, s, 1, 0);
    }
    return spt_writer_close(w, NULL) == SPT_OK ? 0 : -1;
}

static int setup(void) {
    if (tu_runfile("analyze/spprof-diff", bin, sizeof bin) ||
        tu_runfile("testdata/analyze", golden_dir, sizeof golden_dir))
        return -1;
    if (tk_enter_tmp_dir() != 0)
        return -1;
    const tu_samples w1[] = {{"main;f", 1, 150, 1, 0, 0}, {"main;g", 1, 150, 1, 0, 0}};
    const tu_samples w2[] = {{"main;f", 1, 152, 1, 0, 0}, {"main;g", 1, 148, 1, 0, 0}};
    return tu_write_diff_pair("before.sptrace", "after.sptrace") ||
                   tu_write_samples("wobble1.sptrace", SPT_CLOCK_CPU_THREAD, w1, 2, 3000000000) ||
                   tu_write_samples("wobble2.sptrace", SPT_CLOCK_CPU_THREAD, w2, 2, 3000000000) ||
                   write_allocs("alloc1.sptrace", 100, 100) ||
                   write_allocs("alloc2.sptrace", 100, 300)
               ? -1
               : 0;
}

int main(void) {
    int ok = setup() == 0;
    CHECK("the binary, golden files and traces are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_golden_and_json();
    test_gates();
    test_allocations();
    test_errors();
    return CHECK_DONE();
}
