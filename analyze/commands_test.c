/* commands_test.c: runs the built spprof-analyze's tree, threads, heap and leaks on traces of known
 * content (testutil.c): golden text for the default format, JSON read back and checked against
 * exact numbers, CSV rows, and the filters (--thread with a rename, --from/--to, --focus, --ignore,
 * --metric) on each. */
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

static char bin[PATH_MAX];
static char golden_dir[PATH_MAX];

/* Runs the binary with the given arguments; true when it could be run. */
#define RUN(r, ...) ran(tu_runv(bin, (r), __VA_ARGS__, NULL))

static int ran(int rc) {
    CHECK("the binary runs", rc == 0);
    return rc == 0;
}

static double num(const tu_json *obj, const char *key) {
    return tu_json_num(tu_json_get(obj, key));
}

static int str_is(const tu_json *v, const char *want) {
    const char *s = tu_json_str(v);
    return s && strcmp(s, want) == 0;
}

/* Runs a command expected to succeed quietly and parses its JSON; NULL (and a failed check) if
 * it does not. */
static tu_json *json_of(const char *what, char *const *args) {
    char *argv[16];
    int n = 0;
    argv[n++] = bin;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    tu_run_result r;
    if (tu_run(argv, &r) != 0) {
        CHECK("the binary runs", 0);
        return NULL;
    }
    char d[256];
    snprintf(d, sizeof d, "%s: exits 0", what);
    CHECK_EQ_U64(d, r.status, 0);
    snprintf(d, sizeof d, "%s: nothing on stderr", what);
    CHECK_EQ_U64(d, r.err_len, 0);
    tu_json *j = tu_json_parse(r.out);
    snprintf(d, sizeof d, "%s: the JSON parses", what);
    CHECK(d, j != NULL);
    if (!j)
        fprintf(stderr, "  output was:\n%s\n  stderr:\n%s", r.out, r.err);
    tu_run_free(&r);
    return j;
}

static void golden(const char *name, char *const *args) {
    char *argv[16];
    int n = 0;
    argv[n++] = bin;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    tu_run_result r;
    if (tu_run(argv, &r) != 0) {
        CHECK("the binary runs", 0);
        return;
    }
    char d[256];
    snprintf(d, sizeof d, "%s: exits 0 with nothing on stderr", name);
    CHECK(d, r.status == 0 && r.err_len == 0);
    snprintf(d, sizeof d, "output matches golden %s", name);
    CHECK(d, tu_golden_equal(golden_dir, name, r.out, r.out_len, NULL));
    tu_run_free(&r);
}

/* The child of a JSON tree node by name. */
static const tu_json *child(const tu_json *node, const char *name) {
    const tu_json *kids = tu_json_get(node, "children");
    for (size_t i = 0; i < tu_json_len(kids); i++) {
        if (str_is(tu_json_get(tu_json_at(kids, i), "name"), name))
            return tu_json_at(kids, i);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * tree
 * ------------------------------------------------------------------------------------------- */
static void test_tree(void) {
    golden("tree.txt", (char *[]){"tree", "--no-color", "known.sptrace", NULL});
    golden("tree_inverted.txt", (char *[]){"tree", "--inverted", "known.sptrace", NULL});

    tu_json *j = json_of("tree json", (char *[]){"tree", "--json", "known.sptrace", NULL});
    if (j) {
        CHECK_EQ_U64("tree json: total weight", num(tu_json_get(j, "total"), "weight"), 105);
        const tu_json *m = child(j, "main");
        CHECK_EQ_U64("tree json: main total", num(m, "total_weight"), 95);
        CHECK_EQ_U64("tree json: main self", num(m, "self_weight"), 2);
        const tu_json *c = child(m, "compute");
        CHECK_EQ_U64("tree json: main > compute", num(c, "total_weight"), 63);
        CHECK_EQ_U64("tree json: main > compute > leaf_a weight",
                     num(child(c, "leaf_a"), "self_weight"), 40);
        CHECK_EQ_U64("tree json: main > compute > leaf_a samples",
                     num(child(c, "leaf_a"), "self_count"), 35);
        const tu_json *f = child(m, "fib");
        CHECK_EQ_U64("tree json: recursion stays nested: fib", num(f, "total_weight"), 20);
        CHECK_EQ_U64("tree json: fib > fib", num(child(f, "fib"), "total_weight"), 15);
        CHECK_EQ_U64("tree json: fib > fib > fib",
                     num(child(child(f, "fib"), "fib"), "self_weight"), 15);
        CHECK_EQ_U64("tree json: Worker.run > leaf_a",
                     num(child(child(j, "Worker.run"), "leaf_a"), "self_weight"), 10);
        CHECK("tree json: shares", fabs(num(m, "total_percent") - 90.476) < 0.001);
    }
    tu_json_free(j);

    /* At 5%, helper (util.c) (3.8%) folds under main and libc (2.9%) under compute. */
    j = json_of("tree --min-percent 5",
                (char *[]){"tree", "--json", "--min-percent", "5", "known.sptrace", NULL});
    if (j) {
        const tu_json *kids = tu_json_get(child(j, "main"), "children");
        const tu_json *last = tu_json_at(kids, tu_json_len(kids) - 1);
        CHECK_EQ_U64("min-percent 5: main shows compute, fib, helper (demo.c) and a fold",
                     tu_json_len(kids), 4);
        CHECK_EQ_U64("min-percent 5: one node folded under main", num(last, "folded"), 1);
        CHECK_EQ_U64("min-percent 5: the folded helper (util.c) weighs 4",
                     num(last, "total_weight"), 4);
        CHECK("min-percent 5: libc folded under compute",
              num(tu_json_at(tu_json_get(child(child(j, "main"), "compute"), "children"), 2),
                  "folded") == 1);
    }
    tu_json_free(j);

    j = json_of("tree --inverted json",
                (char *[]){"tree", "--inverted", "--json", "known.sptrace", NULL});
    if (j) {
        const tu_json *leaf = child(j, "leaf_a");
        CHECK_EQ_U64("inverted: leaf_a at the top", num(leaf, "total_weight"), 50);
        CHECK_EQ_U64("inverted: leaf_a called from compute",
                     num(child(leaf, "compute"), "total_weight"), 40);
        CHECK_EQ_U64("inverted: ... from main, where the chain ends",
                     num(child(child(leaf, "compute"), "main"), "self_weight"), 40);
        CHECK_EQ_U64("inverted: leaf_a called from Worker.run",
                     num(child(leaf, "Worker.run"), "self_weight"), 10);
    }
    tu_json_free(j);

    tu_run_result r;
    if (RUN(&r, "tree", "--csv", "--min-percent", "0", "known.sptrace")) {
        CHECK("tree csv: header", strncmp(r.out, "depth,name,total_percent,", 25) == 0);
        CHECK("tree csv: a nested row with its path",
              strstr(r.out, "\n3,leaf_a,38.095,40,35,38.095,40,35,main;compute;leaf_a\n") != NULL);
        CHECK("tree csv: recursion in the path",
              strstr(r.out, "\n4,fib,14.286,15,15,14.286,15,15,main;fib;fib;fib\n") != NULL);
        CHECK_EQ_U64("tree csv: 12 nodes and the header", tu_count_lines(r.out), 13);
        tu_run_free(&r);
    }
    if (RUN(&r, "tree", "--no-color", "--ignore", "^compute$", "known.sptrace")) {
        CHECK("--ignore splices compute out: leaf_a sits under main",
              strstr(r.out, "\n 38.1%   38.1%    400.0 ms   400.0 ms  \u251c\u2500 leaf_a\n") !=
                  NULL);
        CHECK("--ignore: no compute line", strstr(r.out, "\u2500 compute") == NULL);
        tu_run_free(&r);
    }
}

/* ---------------------------------------------------------------------------------------------
 * threads
 * ------------------------------------------------------------------------------------------- */
static void test_threads(void) {
    golden("threads.txt", (char *[]){"threads", "--no-color", "known.sptrace", NULL});
    tu_json *j = json_of("threads json", (char *[]){"threads", "--json", "known.sptrace", NULL});
    if (j) {
        const tu_json *ts = tu_json_get(j, "threads");
        CHECK_EQ_U64("threads json: two threads", tu_json_len(ts), 2);
        const tu_json *t0 = tu_json_at(ts, 0), *t1 = tu_json_at(ts, 1);
        CHECK_EQ_U64("threads json: main first", num(t0, "tid"), 1000);
        CHECK_EQ_U64("threads json: main weight", num(t0, "weight"), 95);
        CHECK_EQ_U64("threads json: main samples", num(t0, "count"), 90);
        CHECK("threads json: main has not ended", tu_json_is_null(tu_json_get(t0, "end_ns")));
        CHECK_EQ_U64("threads json: main lives to the end", num(t0, "lifetime_ns"), 2000000000);
        CHECK("threads json: main's hottest is leaf_a",
              str_is(tu_json_get(tu_json_get(t0, "hottest"), "name"), "leaf_a"));
        CHECK_EQ_U64("threads json: leaf_a's weight in main",
                     num(tu_json_get(t0, "hottest"), "weight"), 40);
        CHECK("threads json: worker named", str_is(tu_json_get(t1, "name"), "worker"));
        CHECK_EQ_U64("threads json: worker started at 100 ms", num(t1, "start_ns"), 100000000);
        CHECK_EQ_U64("threads json: worker ended at 995 ms", num(t1, "end_ns"), 995000000);
        CHECK_EQ_U64("threads json: worker lived 895 ms", num(t1, "lifetime_ns"), 895000000);
        CHECK("threads json: shares", fabs(num(t1, "percent") - 9.524) < 0.001);
    }
    tu_json_free(j);

    /* A wall-clock trace: the idle share per thread, cpu against wall. */
    j = json_of("threads wall", (char *[]){"threads", "--json", "wall.sptrace", NULL});
    if (j) {
        const tu_json *t0 = tu_json_at(tu_json_get(j, "threads"), 0);
        CHECK("wall: the default metric is wall", str_is(tu_json_get(j, "metric"), "wall"));
        CHECK_EQ_U64("wall: main has 80 samples", num(t0, "weight"), 80);
        CHECK_EQ_U64("wall: 50 of them idle", num(t0, "idle_weight"), 50);
    }
    tu_json_free(j);
    j = json_of("threads cpu",
                (char *[]){"threads", "--json", "--metric", "cpu", "wall.sptrace", NULL});
    if (j) {
        const tu_json *t0 = tu_json_at(tu_json_get(j, "threads"), 0);
        CHECK_EQ_U64("cpu: main ran for 30 samples", num(t0, "weight"), 30);
        CHECK_EQ_U64("cpu: no idle part", num(t0, "idle_weight"), 0);
    }
    tu_json_free(j);
    tu_run_result r;
    if (RUN(&r, "threads", "--no-color", "wall.sptrace")) {
        CHECK("wall text: an idle column", strstr(r.out, " idle ") != NULL);
        CHECK("wall text: main waited 62.5%", strstr(r.out, "62.5%") != NULL);
        tu_run_free(&r);
    }

    /* A thread renamed after 5 of its 10 samples counts whole under its later name; the rename
     * history is shown. */
    j = json_of("threads renamed",
                (char *[]){"threads", "--json", "--thread", "worker", "renamed.sptrace", NULL});
    if (j) {
        const tu_json *ts = tu_json_get(j, "threads");
        CHECK_EQ_U64("--thread NAME selects only the renamed thread", tu_json_len(ts), 1);
        CHECK_EQ_U64("and all of its 10 samples", num(tu_json_at(ts, 0), "weight"), 10);
        const tu_json *names = tu_json_get(tu_json_at(ts, 0), "names");
        CHECK("its names, oldest first", tu_json_len(names) == 2 &&
                                             str_is(tu_json_at(names, 0), "Thread-1") &&
                                             str_is(tu_json_at(names, 1), "worker"));
    }
    tu_json_free(j);
    if (RUN(&r, "top", "--format", "csv", "--thread", "7", "renamed.sptrace")) {
        CHECK("--thread ID selects by kernel id",
              strstr(r.out, "\nspin,100.000,10,10,100000000,") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "threads", "--no-color", "renamed.sptrace")) {
        CHECK("text: the earlier name follows", strstr(r.out, "worker (was Thread-1)") != NULL);
        tu_run_free(&r);
    }
}

/* ---------------------------------------------------------------------------------------------
 * heap and leaks
 * ------------------------------------------------------------------------------------------- */
static const tu_json *site(const tu_json *j, size_t i) {
    return tu_json_at(tu_json_get(j, "sites"), i);
}

static int frames_are(const tu_json *s, const char *const *want, size_t n) {
    const tu_json *f = tu_json_get(s, "frames");
    if (tu_json_len(f) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!str_is(tu_json_at(f, i), want[i]))
            return 0;
    }
    return 1;
}

static void test_heap(void) {
    golden("heap.txt", (char *[]){"heap", "--no-color", "heap.sptrace", NULL});
    tu_json *j = json_of("heap json", (char *[]){"heap", "--json", "heap.sptrace", NULL});
    if (j) {
        const tu_json *peak = tu_json_get(j, "peak");
        CHECK("heap: every allocation recorded, not estimated",
              !tu_json_is_true(tu_json_get(j, "estimated")));
        CHECK_EQ_U64("heap: 6 allocations replayed", num(j, "allocs"), 6);
        CHECK_EQ_U64("heap: 3 frees matched (one unknown address ignored)", num(j, "frees"), 3);
        CHECK_EQ_U64("heap: the peak is 3600 bytes", num(peak, "bytes"), 3600);
        CHECK_EQ_U64("heap: in 4 allocations", num(peak, "count"), 4);
        CHECK_EQ_U64("heap: at 50 ms", num(peak, "time_ns"), 50000000);
        CHECK_EQ_U64("heap: 900 bytes live at the end", num(tu_json_get(j, "end"), "bytes"), 900);
        CHECK_EQ_U64("heap: three sites at the peak", num(j, "sites_total"), 3);
        static const char *const b[] = {"malloc", "make_buffer", "parse", "main"};
        CHECK("heap: the largest site's stack, innermost first", frames_are(site(j, 0), b, 4));
        CHECK_EQ_U64("heap: make_buffer holds 3000 at the peak", num(site(j, 0), "bytes"), 3000);
        CHECK_EQ_U64("heap: in 2 allocations", num(site(j, 0), "count"), 2);
        CHECK_EQ_U64("heap: cache_put 500", num(site(j, 1), "bytes"), 500);
        CHECK_EQ_U64("heap: load_config 100", num(site(j, 2), "bytes"), 100);
        /* The timeline: slices of 100 us over 0 .. 100 ms. */
        const tu_json *tl = tu_json_get(j, "timeline");
        CHECK_EQ_U64("heap: 100 us slices", num(j, "slice_ns"), 100000);
        CHECK("heap: a point per slice", tu_json_len(tl) >= 950 && tu_json_len(tl) <= 1001);
        CHECK_EQ_U64("heap: live after 25 ms", num(tu_json_at(tl, 250), "live_bytes"), 2100);
        CHECK_EQ_U64("heap: the slice at 50 ms holds the peak",
                     num(tu_json_at(tl, 500), "max_bytes"), 3600);
        CHECK_EQ_U64("heap: live after 75 ms", num(tu_json_at(tl, 750), "live_bytes"), 600);
    }
    tu_json_free(j);

    j = json_of("heap --at", (char *[]){"heap", "--json", "--at", "45ms", "heap.sptrace", NULL});
    if (j) {
        CHECK_EQ_U64("--at 45ms: 1600 bytes live", num(tu_json_get(j, "at"), "bytes"), 1600);
        CHECK_EQ_U64("--at 45ms: make_buffer holds 1000", num(site(j, 0), "bytes"), 1000);
        CHECK_EQ_U64("--at 45ms: cache_put 500", num(site(j, 1), "bytes"), 500);
    }
    tu_json_free(j);
    j = json_of("heap window", (char *[]){"heap", "--json", "--from", "55ms", "--to", "1",
                                          "--thread", "main", "heap.sptrace", NULL});
    if (j) {
        /* From 55 ms on, main's allocations: 3100 live when the window opens, then frees. */
        CHECK_EQ_U64("window: the peak is the level at the window's start",
                     num(tu_json_get(j, "peak"), "bytes"), 3100);
        CHECK_EQ_U64("window: at its start", num(tu_json_get(j, "peak"), "time_ns"), 55000000);
        CHECK_EQ_U64("window: main's 100 bytes live at the end",
                     num(tu_json_get(j, "end"), "bytes"), 100);
    }
    tu_json_free(j);
    j = json_of("heap sampled", (char *[]){"heap", "--json", "heaps.sptrace", NULL});
    if (j) {
        CHECK("sampled: marked estimated", tu_json_is_true(tu_json_get(j, "estimated")));
        CHECK_EQ_U64("sampled: weights count 4x", num(tu_json_get(j, "peak"), "bytes"), 14400);
        CHECK_EQ_U64("sampled: each record stands for 4", num(tu_json_get(j, "peak"), "count"), 16);
    }
    tu_json_free(j);

    tu_run_result r;
    if (RUN(&r, "heap", "--csv", "heap.sptrace")) {
        CHECK("heap csv: header", strncmp(r.out, "time_ns,live_bytes,max_bytes\n", 29) == 0);
        CHECK("heap csv: the peak slice", strstr(r.out, "\n50000000,3600,3600\n") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "heap", "--no-color", "known.sptrace")) {
        CHECK("heap on a trace without allocations says so",
              strcmp(r.out, "known.sptrace: no allocations were recorded\n") == 0);
        tu_run_free(&r);
    }
}

static void test_leaks(void) {
    golden("leaks.txt", (char *[]){"leaks", "--no-color", "heap.sptrace", NULL});
    tu_json *j = json_of("leaks json", (char *[]){"leaks", "--json", "heap.sptrace", NULL});
    if (j) {
        CHECK_EQ_U64("leaks: 900 bytes", num(tu_json_get(j, "live"), "bytes"), 900);
        CHECK_EQ_U64("leaks: 3 allocations", num(tu_json_get(j, "live"), "count"), 3);
        CHECK_EQ_U64("leaks: two sites", num(j, "sites_total"), 2);
        CHECK_EQ_U64("leaks: cache_put first with 800", num(site(j, 0), "bytes"), 800);
        CHECK_EQ_U64("leaks: in 2", num(site(j, 0), "count"), 2);
        CHECK_EQ_U64("leaks: then load_config with 100", num(site(j, 1), "bytes"), 100);
    }
    tu_json_free(j);
    j = json_of("leaks sampled",
                (char *[]){"leaks", "--json", "--ignore", "^malloc$", "heaps.sptrace", NULL});
    if (j) {
        /* Sampled at 4x: each allocation of size S with weight 4S stands for 4. */
        CHECK_EQ_U64("sampled leaks: estimated bytes", num(tu_json_get(j, "live"), "bytes"), 3600);
        CHECK_EQ_U64("sampled leaks: estimated count", num(tu_json_get(j, "live"), "count"), 12);
        static const char *const c[] = {"cache_put", "main"};
        CHECK("--ignore hides malloc from the sites", frames_are(site(j, 0), c, 2));
    }
    tu_json_free(j);
    j = json_of("leaks window",
                (char *[]){"leaks", "--json", "--from", "45ms", "heap.sptrace", NULL});
    if (j) {
        CHECK_EQ_U64("leaks in a window: only its allocations (0x6000)",
                     num(tu_json_get(j, "live"), "bytes"), 300);
    }
    tu_json_free(j);
    j = json_of("leaks focus",
                (char *[]){"leaks", "--json", "--focus", "load_", "heap.sptrace", NULL});
    if (j)
        CHECK_EQ_U64("leaks --focus: load_config's 100", num(tu_json_get(j, "live"), "bytes"), 100);
    tu_json_free(j);
    tu_run_result r;
    if (RUN(&r, "leaks", "--csv", "heap.sptrace")) {
        static const char want[] = "rank,bytes,percent,count,stack\n"
                                   "1,800,88.889,2,main;cache_put;malloc\n"
                                   "2,100,11.111,1,main;load_config;malloc\n";
        CHECK("leaks csv is exact", strcmp(r.out, want) == 0);
        tu_run_free(&r);
    }
    if (RUN(&r, "top", "--format", "csv", "--metric", "live-bytes", "heap.sptrace")) {
        CHECK("top --metric live-bytes: malloc holds all 900",
              strstr(r.out, "\nmalloc,100.000,900,3,100.000,900,3\n") != NULL);
        tu_run_free(&r);
    }
    if (RUN(&r, "top", "--format", "csv", "--metric", "alloc-count", "heaps.sptrace")) {
        CHECK("top --metric alloc-count: 6 records of weight 4x stand for 24",
              strstr(r.out, "\nmain,0.000,0,0,100.000,24,24\n") != NULL);
        tu_run_free(&r);
    }
}

/* A thread defined as "Thread-1" (tid 7) and renamed "worker" halfway through its samples. */
static int write_renamed(const char *path) {
    spt_header h = tu_header();
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK) {
        spt_writer_close(w, NULL);
        return -1;
    }
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_cstring(w, "spin");
    uint32_t frame = spt_writer_frame(w, &f);
    uint32_t stack = spt_writer_stack_path(w, &frame, 1);
    uint32_t main_t = spt_writer_thread(w, 6, spt_writer_cstring(w, "main"), 0);
    uint32_t t = spt_writer_thread(w, 7, spt_writer_cstring(w, "Thread-1"), 0);
    for (uint64_t i = 0; i < 10; i++) {
        if (i == 5)
            spt_writer_thread_name(w, t, i * 1000000, spt_writer_cstring(w, "worker"));
        spt_writer_sample(w, t, i * 1000000, stack, 1, 0);
        spt_writer_sample(w, main_t, i * 1000000, stack, 1, 0);
    }
    return spt_writer_close(w, NULL) == SPT_OK ? 0 : -1;
}

/* ---------------------------------------------------------------------------------------------
 * C++ names: shown demangled, and matched by --focus in that form
 * ------------------------------------------------------------------------------------------- */
static void test_demangle(void) {
    const tu_samples cxx[] = {
        {"main;_ZN3foo3barEi", 1, 5, 1, 0, 0},
        {"main;_Zebra", 1, 2, 1, 0, 0}, /* starts like a mangled name but is not one */
    };
    CHECK("the C++ trace is written",
          tu_write_samples("cxx.sptrace", SPT_CLOCK_CPU_THREAD, cxx, 2, 1000000000) == 0);
    tu_json *j =
        json_of("tree json of C++ names", (char *[]){"tree", "--json", "cxx.sptrace", NULL});
    if (j) {
        const tu_json *m = child(j, "main");
        CHECK_EQ_U64("a mangled name is shown demangled: foo::bar(int)",
                     num(child(m, "foo::bar(int)"), "total_weight"), 5);
        CHECK_EQ_U64("a name that does not demangle is shown as it is",
                     num(child(m, "_Zebra"), "total_weight"), 2);
    }
    tu_json_free(j);
    j = json_of("tree --focus on a demangled name",
                (char *[]){"tree", "--json", "--focus", "foo::bar\\(int\\)", "cxx.sptrace", NULL});
    if (j)
        CHECK_EQ_U64("--focus matches the demangled name", num(tu_json_get(j, "total"), "weight"),
                     5);
    tu_json_free(j);
}

static int setup(void) {
    if (tu_runfile("analyze/spprof-analyze", bin, sizeof bin) ||
        tu_runfile("testdata/analyze", golden_dir, sizeof golden_dir))
        return -1;
    if (tk_enter_tmp_dir() != 0)
        return -1;
    const tu_samples wall[] = {
        {"main;work", 1, 30, 1, 0, 0},
        {"main;wait", 1, 50, 1, SPT_SAMPLE_IDLE, 0},
        {"main;work", 2, 10, 1, 0, 0},
        {"main;wait", 2, 10, 1, SPT_SAMPLE_IDLE, 0},
    };
    return tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) ||
                   tu_write_heap_trace("heap.sptrace", 0) ||
                   tu_write_heap_trace("heaps.sptrace", 1) ||
                   tu_write_samples("wall.sptrace", SPT_CLOCK_WALL, wall, 4, 1000000000) ||
                   write_renamed("renamed.sptrace")
               ? -1
               : 0;
}

int main(void) {
    int ok = setup() == 0;
    CHECK("the binary, golden files and traces are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_tree();
    test_threads();
    test_heap();
    test_leaks();
    test_demangle();
    return CHECK_DONE();
}
