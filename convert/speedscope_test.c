/* speedscope_test.c: `spprof-convert -f speedscope` on traces of known content, read back with a
 * strict JSON parser: the exact $schema, one sampled profile per thread named after it, frames
 * with file and line, samples root-first in time order with weights in nanoseconds, per-frame
 * and total weights equal to the trace's, allocations as their own profiles in bytes, aggregated
 * traces as one sample per stack, and the filters. Also a golden file for the known trace. */
#define _XOPEN_SOURCE 700
#include "analyze/testjson.h"
#include "analyze/testrun.h"
#include "analyze/testutil.h"
#include "convert/testlib.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA "https://www.speedscope.app/file-format-schema.json"

static tu_json *load(const char *out, char **raw) {
    size_t len;
    *raw = tk_read_file(out, &len);
    return *raw ? tu_json_parse(*raw) : NULL;
}

static int str_is(const tu_json *v, const char *want) {
    const char *s = tu_json_str(v);
    return s && strcmp(s, want) == 0;
}

static long frame_named(const tu_json *doc, const char *name) {
    const tu_json *frames = tu_json_get(tu_json_get(doc, "shared"), "frames");
    for (size_t i = 0; i < tu_json_len(frames); i++) {
        if (str_is(tu_json_get(tu_json_at(frames, i), "name"), name))
            return (long)i;
    }
    return -1;
}

static const tu_json *profile_named(const tu_json *doc, const char *name) {
    const tu_json *profiles = tu_json_get(doc, "profiles");
    for (size_t i = 0; i < tu_json_len(profiles); i++) {
        if (str_is(tu_json_get(tu_json_at(profiles, i), "name"), name))
            return tu_json_at(profiles, i);
    }
    return NULL;
}

/* Sum of weights of the samples with frame f anywhere in the stack (counted once per sample), or
 * as the innermost frame when self is set. */
static double frame_weight(const tu_json *p, long f, int self) {
    const tu_json *samples = tu_json_get(p, "samples"), *weights = tu_json_get(p, "weights");
    double sum = 0;
    for (size_t i = 0; i < tu_json_len(samples); i++) {
        const tu_json *st = tu_json_at(samples, i);
        size_t n = tu_json_len(st);
        int hit = 0;
        for (size_t k = self && n ? n - 1 : 0; k < n; k++)
            hit |= tu_json_num(tu_json_at(st, k)) == (double)f;
        if (hit)
            sum += tu_json_num(tu_json_at(weights, i));
    }
    return sum;
}

static double total_weight(const tu_json *p) {
    const tu_json *weights = tu_json_get(p, "weights");
    double sum = 0;
    for (size_t i = 0; i < tu_json_len(weights); i++)
        sum += tu_json_num(tu_json_at(weights, i));
    return sum;
}

/* Every profile: sampled, samples and weights of one length, weights > 0, frame indexes valid. */
static int well_formed(const tu_json *doc) {
    const tu_json *profiles = tu_json_get(doc, "profiles");
    size_t n_frames = tu_json_len(tu_json_get(tu_json_get(doc, "shared"), "frames"));
    int ok = str_is(tu_json_get(doc, "$schema"), SCHEMA) && tu_json_len(profiles) > 0;
    for (size_t i = 0; i < tu_json_len(profiles); i++) {
        const tu_json *p = tu_json_at(profiles, i);
        const tu_json *samples = tu_json_get(p, "samples"), *weights = tu_json_get(p, "weights");
        ok &= str_is(tu_json_get(p, "type"), "sampled");
        ok &= tu_json_len(samples) == tu_json_len(weights);
        ok &= tu_json_num(tu_json_get(p, "startValue")) == 0;
        ok &= tu_json_num(tu_json_get(p, "endValue")) == total_weight(p);
        for (size_t k = 0; k < tu_json_len(weights); k++)
            ok &= tu_json_num(tu_json_at(weights, k)) > 0;
        for (size_t k = 0; k < tu_json_len(samples); k++) {
            const tu_json *st = tu_json_at(samples, k);
            for (size_t x = 0; x < tu_json_len(st); x++) {
                double f = tu_json_num(tu_json_at(st, x));
                ok &= f >= 0 && f < (double)n_frames;
            }
        }
    }
    return ok;
}

static void test_known(void) {
    char *text;
    size_t len;
    if (ct_export("known.json", &text, &len, "known.sptrace", "-o", "known.json", NULL)) {
        CHECK("speedscope export of the known trace", 0);
        return;
    }
    CHECK("the known trace matches the golden speedscope file",
          tu_golden_equal(ct_golden, "known.speedscope.json", text, len, NULL));
    tu_json *doc = tu_json_parse(text);
    CHECK("the speedscope file is strict JSON", doc != NULL);
    CHECK("$schema is exactly speedscope's", str_is(tu_json_get(doc, "$schema"), SCHEMA));
    CHECK("every profile is well formed", well_formed(doc));
    CHECK("the file is named after the program",
          str_is(tu_json_get(doc, "name"), "demo (pid 4242)"));
    CHECK_EQ_U64("one profile per thread", tu_json_len(tu_json_get(doc, "profiles")), 2);
    const tu_json *main_p = profile_named(doc, "Thread 1000 \"main\"");
    const tu_json *worker = profile_named(doc, "Thread 1001 \"worker\"");
    CHECK("a profile named after thread main", main_p != NULL);
    CHECK("a profile named after thread worker", worker != NULL);
    CHECK("time is in nanoseconds", str_is(tu_json_get(main_p, "unit"), "nanoseconds"));
    CHECK_EQ_U64("main: one sample per SAMPLE record", tu_json_len(tu_json_get(main_p, "samples")),
                 90);
    CHECK_EQ_U64("main: 95 intervals of 10 ms", (uint64_t)total_weight(main_p), 950000000);
    CHECK_EQ_U64("worker: 10 intervals of 10 ms", (uint64_t)total_weight(worker), 100000000);

    long fmain = frame_named(doc, "main"), compute = frame_named(doc, "compute");
    long leaf_a = frame_named(doc, "leaf_a"), fib = frame_named(doc, "fib");
    long run = frame_named(doc, "Worker.run"), libc = frame_named(doc, "libc.so.6+0x2234");
    CHECK("frames are the functions, with their labels",
          fmain >= 0 && compute >= 0 && leaf_a >= 0 && fib >= 0 && run >= 0 && libc >= 0 &&
              frame_named(doc, "helper (demo.c)") >= 0 && frame_named(doc, "helper (util.c)") >= 0);
    CHECK_EQ_U64("frames: one per function, shared",
                 tu_json_len(tu_json_get(tu_json_get(doc, "shared"), "frames")), 9);
    const tu_json *frames = tu_json_get(tu_json_get(doc, "shared"), "frames");
    const tu_json *f_compute = tu_json_at(frames, (size_t)compute);
    CHECK("compute's file and line", str_is(tu_json_get(f_compute, "file"), "demo.c") &&
                                         tu_json_num(tu_json_get(f_compute, "line")) == 20);
    const tu_json *f_run = tu_json_at(frames, (size_t)run);
    CHECK("a Python function's line is its first line",
          str_is(tu_json_get(f_run, "file"), "/app/worker.py") &&
              tu_json_num(tu_json_get(f_run, "line")) == 10);
    const tu_json *f_fib = tu_json_at(frames, (size_t)fib);
    CHECK("fib spans two lines: no line, but its file",
          tu_json_get(f_fib, "line") == NULL && str_is(tu_json_get(f_fib, "file"), "demo.c"));
    CHECK("an unnamed libc frame has no file",
          tu_json_get(tu_json_at(frames, (size_t)libc), "file") == NULL);

    CHECK_EQ_U64("main: leaf_a self 40 intervals", (uint64_t)frame_weight(main_p, leaf_a, 1),
                 400000000);
    CHECK_EQ_U64("main: compute total 63 intervals", (uint64_t)frame_weight(main_p, compute, 0),
                 630000000);
    CHECK_EQ_U64("main: fib total 20, recursion counted once",
                 (uint64_t)frame_weight(main_p, fib, 0), 200000000);
    CHECK_EQ_U64("main: main total 95", (uint64_t)frame_weight(main_p, fmain, 0), 950000000);
    CHECK_EQ_U64("worker: leaf_a self 10", (uint64_t)frame_weight(worker, leaf_a, 1), 100000000);
    CHECK_EQ_U64("worker: Worker.run total 10", (uint64_t)frame_weight(worker, run, 0), 100000000);

    /* Time order: 35 samples of main > compute > leaf_a (30 of one interval, then 5 of two),
     * then 20 of leaf_b. Stacks are root-first. */
    const tu_json *samples = tu_json_get(main_p, "samples"),
                  *weights = tu_json_get(main_p, "weights");
    const tu_json *first = tu_json_at(samples, 0);
    CHECK("samples are root-first", tu_json_len(first) == 3 &&
                                        tu_json_num(tu_json_at(first, 0)) == (double)fmain &&
                                        tu_json_num(tu_json_at(first, 1)) == (double)compute &&
                                        tu_json_num(tu_json_at(first, 2)) == (double)leaf_a);
    CHECK("samples in time order: the 30th weighs one interval, the 31st two",
          tu_json_num(tu_json_at(weights, 29)) == 10000000 &&
              tu_json_num(tu_json_at(weights, 30)) == 20000000);
    long leaf_b = frame_named(doc, "leaf_b");
    const tu_json *s35 = tu_json_at(samples, 35);
    CHECK("sample 36 is the first of leaf_b",
          tu_json_len(s35) == 3 && tu_json_num(tu_json_at(s35, 2)) == (double)leaf_b &&
              tu_json_num(tu_json_at(tu_json_at(samples, 34), 2)) == (double)leaf_a);
    tu_json_free(doc);
    free(text);
}

static void test_filters(void) {
    char *raw;
    tu_run_result r;
    ct_run(&r, "known.sptrace", "--thread", "worker", "-o", "worker.json", NULL);
    tu_run_free(&r);
    tu_json *doc = load("worker.json", &raw);
    CHECK("--thread worker: one profile, worker's",
          doc && tu_json_len(tu_json_get(doc, "profiles")) == 1 &&
              profile_named(doc, "Thread 1001 \"worker\""));
    CHECK("--thread worker: frames only from worker's stacks",
          doc && tu_json_len(tu_json_get(tu_json_get(doc, "shared"), "frames")) == 2);
    tu_json_free(doc);
    free(raw);

    ct_run(&r, "known.sptrace", "--focus", "^fib$", "-o", "focus.json", NULL);
    tu_run_free(&r);
    doc = load("focus.json", &raw);
    const tu_json *p = profile_named(doc, "Thread 1000 \"main\"");
    CHECK("--focus fib: only main has a profile",
          doc && tu_json_len(tu_json_get(doc, "profiles")) == 1);
    CHECK_EQ_U64("--focus fib: 20 samples", tu_json_len(tu_json_get(p, "samples")), 20);
    CHECK_EQ_U64("--focus fib: 200 ms", (uint64_t)total_weight(p), 200000000);
    tu_json_free(doc);
    free(raw);

    ct_run(&r, "known.sptrace", "--ignore", "^compute$", "-o", "ignore.json", NULL);
    tu_run_free(&r);
    doc = load("ignore.json", &raw);
    p = profile_named(doc, "Thread 1000 \"main\"");
    CHECK("--ignore compute: compute is no frame", doc && frame_named(doc, "compute") < 0);
    const tu_json *s0 = tu_json_at(tu_json_get(p, "samples"), 0);
    CHECK("--ignore compute: main > leaf_a, spliced",
          tu_json_len(s0) == 2 &&
              tu_json_num(tu_json_at(s0, 1)) == (double)frame_named(doc, "leaf_a"));
    CHECK_EQ_U64("--ignore keeps every sample's weight", (uint64_t)total_weight(p), 950000000);
    tu_json_free(doc);
    free(raw);

    /* Samples are 10 ms apart from 0: [500 ms, 700 ms) holds the last 5 of leaf_b and the 15
     * of main > fib > fib > fib. */
    ct_run(&r, "known.sptrace", "--from", "500ms", "--to", "0.7", "-o", "window.json", NULL);
    tu_run_free(&r);
    doc = load("window.json", &raw);
    p = profile_named(doc, "Thread 1000 \"main\"");
    CHECK_EQ_U64("--from/--to: 20 samples", tu_json_len(tu_json_get(p, "samples")), 20);
    CHECK_EQ_U64("--from/--to: 200 ms", (uint64_t)total_weight(p), 200000000);
    CHECK_EQ_U64("--from/--to: leaf_b 5 of them",
                 (uint64_t)frame_weight(p, frame_named(doc, "leaf_b"), 1), 50000000);
    tu_json_free(doc);
    free(raw);
}

static void test_aggregated(void) {
    tu_run_result r;
    tu_runv(ct_analyze, &r, "aggregate", "known.sptrace", "-o", "agg.sptrace", NULL);
    CHECK("the known trace is aggregated", r.status == 0);
    tu_run_free(&r);
    char *raw;
    ct_run(&r, "agg.sptrace", "-o", "agg.json", NULL);
    tu_run_free(&r);
    tu_json *doc = load("agg.json", &raw);
    const tu_json *p = profile_named(doc, "Thread 1000 \"main\"");
    CHECK("aggregated: well formed", doc && well_formed(doc));
    CHECK_EQ_U64("aggregated: one sample per stack total", tu_json_len(tu_json_get(p, "samples")),
                 8);
    CHECK_EQ_U64("aggregated: the same 950 ms", (uint64_t)total_weight(p), 950000000);
    CHECK_EQ_U64("aggregated: leaf_a's 40 intervals in one sample",
                 (uint64_t)frame_weight(p, frame_named(doc, "leaf_a"), 1), 400000000);
    tu_json_free(doc);
    free(raw);
}

static void test_heap(void) {
    char *raw;
    tu_run_result r;
    ct_run(&r, "heap.sptrace", "-o", "heap.json", NULL);
    CHECK("heap trace exports", r.status == 0);
    tu_run_free(&r);
    tu_json *doc = load("heap.json", &raw);
    CHECK("heap: well formed", doc && well_formed(doc));
    CHECK_EQ_U64("heap: time, allocated and live profiles for the threads",
                 tu_json_len(tu_json_get(doc, "profiles")), 5);
    const tu_json *cpu = profile_named(doc, "Thread 3001 \"main\"");
    const tu_json *am = profile_named(doc, "Thread 3001 \"main\" (bytes allocated)");
    const tu_json *ac = profile_named(doc, "Thread 3002 \"cache\" (bytes allocated)");
    const tu_json *lm = profile_named(doc, "Thread 3001 \"main\" (bytes live at the end)");
    const tu_json *lc = profile_named(doc, "Thread 3002 \"cache\" (bytes live at the end)");
    CHECK("heap: every profile is there", cpu && am && ac && lm && lc);
    CHECK_EQ_U64("heap: 10 CPU samples of 10 ms", (uint64_t)total_weight(cpu), 100000000);
    CHECK("allocations are in bytes", str_is(tu_json_get(am, "unit"), "bytes"));
    CHECK_EQ_U64("main allocated 4,100 bytes", (uint64_t)total_weight(am), 4100);
    CHECK_EQ_U64("cache allocated 800 bytes", (uint64_t)total_weight(ac), 800);
    const tu_json *w = tu_json_get(am, "weights");
    CHECK("main's allocations in time order: 100, 1000, 1000, 2000",
          tu_json_len(w) == 4 && tu_json_num(tu_json_at(w, 0)) == 100 &&
              tu_json_num(tu_json_at(w, 1)) == 1000 && tu_json_num(tu_json_at(w, 3)) == 2000);
    CHECK_EQ_U64("main has 100 bytes live at the end", (uint64_t)total_weight(lm), 100);
    CHECK_EQ_U64("cache has 800 bytes live at the end", (uint64_t)total_weight(lc), 800);
    CHECK_EQ_U64("live bytes: one sample per stack total", tu_json_len(tu_json_get(lc, "samples")),
                 1);
    CHECK_EQ_U64("make_buffer allocated 4,000 bytes",
                 (uint64_t)frame_weight(am, frame_named(doc, "make_buffer"), 0), 4000);
    tu_json_free(doc);
    free(raw);

    ct_run(&r, "heap_sampled.sptrace", "--metric", "alloc-bytes", "-o", "heap_s.json", NULL);
    tu_run_free(&r);
    doc = load("heap_s.json", &raw);
    CHECK_EQ_U64("--metric alloc-bytes: only allocation profiles",
                 doc ? tu_json_len(tu_json_get(doc, "profiles")) : 0, 2);
    CHECK_EQ_U64(
        "sampled: each allocation stands for 4x its size",
        (uint64_t)total_weight(profile_named(doc, "Thread 3001 \"main\" (bytes allocated)")),
        16400);
    tu_json_free(doc);
    free(raw);
}

static void test_wall(void) {
    /* A wall-clock trace: idle samples count for wall, not for cpu. */
    const tu_samples groups[] = {{"main;work", 1, 6, 1, 0, 0},
                                 {"main;wait", 1, 4, 1, 1 /* SPT_SAMPLE_IDLE */, 60000000}};
    CHECK("a wall-clock trace is written",
          tu_write_samples("wall.sptrace", SPT_CLOCK_WALL, groups, 2, 1000000000) == 0);
    char *raw;
    tu_run_result r;
    ct_run(&r, "wall.sptrace", "-o", "wall.json", NULL);
    tu_run_free(&r);
    tu_json *doc = load("wall.json", &raw);
    const tu_json *p = profile_named(doc, "Thread 2001 \"main\"");
    CHECK_EQ_U64("wall clock: idle samples count", (uint64_t)total_weight(p), 100000000);
    tu_json_free(doc);
    free(raw);
    ct_run(&r, "wall.sptrace", "--metric", "cpu", "-o", "wall_cpu.json", NULL);
    tu_run_free(&r);
    doc = load("wall_cpu.json", &raw);
    p = profile_named(doc, "Thread 2001 \"main\"");
    CHECK_EQ_U64("--metric cpu: idle samples left out", tu_json_len(tu_json_get(p, "samples")), 6);
    CHECK("--metric cpu: wait is no frame", doc && frame_named(doc, "wait") < 0);
    tu_json_free(doc);
    free(raw);
}

int main(void) {
    int ok = ct_setup() == 0 && tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) == 0 &&
             tu_write_heap_trace("heap.sptrace", 0) == 0 &&
             tu_write_heap_trace("heap_sampled.sptrace", 1) == 0;
    CHECK("the binaries and traces are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_known();
    test_filters();
    test_aggregated();
    test_heap();
    test_wall();
    return CHECK_DONE();
}
