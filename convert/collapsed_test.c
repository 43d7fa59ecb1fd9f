/* collapsed_test.c: folded stacks (`-f collapsed` and `spprof-analyze collapsed`) on traces of
 * known content: golden files, every line "STACK COUNT" with the lines sorted and no duplicate,
 * counts summing to the trace's total, --per-thread, --by, metrics and filters. */
#define _XOPEN_SOURCE 700
#include "analyze/testrun.h"
#include "analyze/testutil.h"
#include "convert/testlib.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <stdlib.h>
#include <string.h>

static char *folded(const char *out, const char *a1, const char *a2, const char *a3,
                    const char *a4) {
    char *text;
    size_t len;
    const char *args[4] = {a1, a2, a3, a4};
    /* ct_export stops at the first NULL, so unused arguments pass as NULL. */
    if (ct_export(out, &text, &len, "-f", "collapsed", "-o", out, args[0], args[1], args[2],
                  args[3], NULL))
        return NULL;
    return text;
}

static void test_golden(void) {
    char *text;
    size_t len;
    if (ct_export("known.folded", &text, &len, "known.sptrace", "-f", "collapsed", "-o",
                  "known.folded", NULL) == 0) {
        CHECK("known trace: matches the golden folded stacks",
              tu_golden_equal(ct_golden, "known.collapsed", text, len, NULL));
        unsigned long long total;
        size_t lines;
        CHECK("every line is STACK COUNT, sorted, without duplicates",
              ct_folded_valid(text, &total, &lines));
        CHECK_EQ_U64("the counts add up to the trace's 105 intervals", total, 105);
        CHECK_EQ_U64("one line per stack", lines, 9);
        free(text);
    } else {
        CHECK("known trace exports as folded stacks", 0);
    }
    if (ct_export("known_pt.folded", &text, &len, "known.sptrace", "-f", "collapsed",
                  "--per-thread", "-o", "known_pt.folded", NULL) == 0) {
        CHECK("--per-thread: matches the golden folded stacks",
              tu_golden_equal(ct_golden, "known_per_thread.collapsed", text, len, NULL));
        unsigned long long total;
        size_t lines;
        CHECK("--per-thread: valid and sorted", ct_folded_valid(text, &total, &lines));
        CHECK_EQ_U64("--per-thread: the same total", total, 105);
        free(text);
    } else {
        CHECK("known trace exports as folded stacks per thread", 0);
    }

    /* The analyser's subcommand is the same implementation: the same bytes, on stdout. */
    tu_run_result r;
    tu_runv(ct_analyze, &r, "collapsed", "known.sptrace", NULL);
    char *want = tk_read_file("known.folded", NULL);
    CHECK("spprof-analyze collapsed prints the same bytes on stdout",
          r.status == 0 && want && r.out && strcmp(r.out, want) == 0 && r.err_len == 0);
    free(want);
    tu_run_free(&r);
    ct_run(&r, "known.sptrace", "-f", "folded", "-o", "-", NULL);
    want = tk_read_file("known.folded", NULL);
    CHECK("-o - writes to stdout; 'folded' is a name for collapsed",
          r.status == 0 && want && r.out && strcmp(r.out, want) == 0);
    free(want);
    tu_run_free(&r);
}

static void test_options(void) {
    char *text = folded("by_file.folded", "known.sptrace", "--by", "file", NULL);
    CHECK("--by file: main > compute > leaf_a is demo.c three times",
          text && ct_folded_count(text, "demo.c;demo.c;demo.c") == 40);
    CHECK("--by file: leaf_b is in util.c",
          text && ct_folded_count(text, "demo.c;demo.c;util.c") == 20);
    CHECK("--by file: the unnamed libc frame is [libc.so.6]",
          text && ct_folded_count(text, "demo.c;demo.c;[libc.so.6]") == 3);
    free(text);

    text = folded("focus.folded", "known.sptrace", "--focus", "helper", NULL);
    unsigned long long total = 0;
    size_t lines = 0;
    CHECK("--focus helper: the two helpers only",
          text && ct_folded_valid(text, &total, &lines) && lines == 2 && total == 10);
    free(text);

    text = folded("ignore.folded", "known.sptrace", "--ignore", "^(main|compute)$", NULL);
    CHECK("--ignore main|compute: main > compute > leaf_a is leaf_a alone",
          text && ct_folded_count(text, "leaf_a") == 40);
    CHECK("--ignore: a stack with nothing left is [no stack]",
          text && ct_folded_count(text, "[no stack]") == 2);
    CHECK("--ignore keeps the total",
          text && ct_folded_valid(text, &total, &lines) && total == 105);
    free(text);

    text = folded("thread.folded", "known.sptrace", "--thread", "1001", NULL);
    CHECK("--thread 1001: worker's one stack", text && strcmp(text, "Worker.run;leaf_a 10\n") == 0);
    free(text);

    text = folded("alloc.folded", "heap.sptrace", "--metric", "alloc-bytes", NULL);
    CHECK("--metric alloc-bytes: the bytes each stack allocated",
          text && strcmp(text, "main;cache_put;malloc 800\nmain;load_config;malloc 100\n"
                               "main;parse;make_buffer;malloc 4000\n") == 0);
    free(text);
    text = folded("live.folded", "heap.sptrace", "--metric", "live-bytes", NULL);
    CHECK("--metric live-bytes: what is live at the end",
          text && strcmp(text, "main;cache_put;malloc 800\nmain;load_config;malloc 100\n") == 0);
    free(text);
    text = folded("count.folded", "heap_sampled.sptrace", "--metric", "alloc-count", NULL);
    CHECK("--metric alloc-count: estimated allocations (4 per sampled one)",
          text && ct_folded_count(text, "main;parse;make_buffer;malloc") == 12);
    free(text);
    text = folded("heapcpu.folded", "heap.sptrace", NULL, NULL, NULL);
    CHECK("a trace with samples and allocations folds its CPU samples by default",
          text && strcmp(text, "main;parse 10\n") == 0);
    free(text);
}

/* Names that sort differently as strings than frame by frame: ' ' and '.' sort before ';'. */
static void test_byte_order(void) {
    const tu_samples groups[] = {{"a;b", 1, 1, 1, 0, 0},   {"a.x;c", 1, 2, 1, 0, 0},
                                 {"a x;d", 1, 3, 1, 0, 0}, {"a", 1, 4, 1, 0, 0},
                                 {"a;b;c", 2, 5, 1, 0, 0}, {"B", 1, 6, 1, 0, 0}};
    CHECK("the ordering trace is written",
          tu_write_samples("order.sptrace", SPT_CLOCK_CPU_THREAD, groups, 6, 100000000) == 0);
    char *text = folded("order.folded", "order.sptrace", NULL, NULL, NULL);
    CHECK("lines are in byte order of their stacks, as inferno and sort(1) give them",
          text && strcmp(text, "B 6\na 4\na x;d 3\na.x;c 2\na;b 1\na;b;c 5\n") == 0);
    free(text);
}

int main(void) {
    int ok = ct_setup() == 0 && tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) == 0 &&
             tu_write_heap_trace("heap.sptrace", 0) == 0 &&
             tu_write_heap_trace("heap_sampled.sptrace", 1) == 0;
    CHECK("the binaries and traces are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_golden();
    test_options();
    test_byte_order();
    return CHECK_DONE();
}
