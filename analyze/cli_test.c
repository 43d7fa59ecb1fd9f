/* cli_test.c: runs the built spprof-analyze on traces of known content: golden text for `info` and
 * `top`, JSON and CSV read back, --by/--sort/--limit, exit statuses and the one-line errors for
 * bad usage and unreadable files, and a truncated trace analysed up to its end. */
#define _XOPEN_SOURCE 700
#include "analyze/testjson.h"
#include "analyze/testrun.h"
#include "analyze/testutil.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char bin[PATH_MAX];
static char golden_dir[PATH_MAX];

/* Runs the binary with the given arguments (NULL-terminated) from the test's temp directory. */
static int run(tu_run_result *r, ...) {
    va_list ap;
    va_start(ap, r);
    int rc = tu_runva(bin, r, ap);
    va_end(ap);
    CHECK("the binary runs", rc == 0);
    return rc;
}

static int starts_with(const char *s, const char *prefix) {
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* An error must be exactly one line on stderr, start with the program and name what failed. */
static void check_one_line_error(const char *what, const tu_run_result *r, const char *prefix) {
    char d[256];
    snprintf(d, sizeof d, "%s: exit status 2", what);
    CHECK_EQ_U64(d, r->status, 2);
    snprintf(d, sizeof d, "%s: exactly one line on stderr", what);
    CHECK_EQ_U64(d, tu_count_lines(r->err), 1);
    snprintf(d, sizeof d, "%s: stderr starts with '%s'", what, prefix);
    CHECK(d, starts_with(r->err, prefix));
    if (!starts_with(r->err, prefix))
        fprintf(stderr, "  stderr was: %s", r->err);
    snprintf(d, sizeof d, "%s: nothing on stdout", what);
    CHECK_EQ_U64(d, r->out_len, 0);
}

/* Lines of `info` whose figures depend on the writer's compression and chunking. */
static const char *const size_masks[] = {"size ", "per sample ", "records ", NULL};

/* Compares output with testdata/analyze/<name> (masked by size_masks); on a mismatch the actual
 * output is left in the undeclared outputs directory, ready to be copied over the golden file
 * after review. */
static void check_golden(const char *name, const tu_run_result *r) {
    char d[256];
    snprintf(d, sizeof d, "output matches golden %s", name);
    CHECK(d, tu_golden_equal(golden_dir, name, r->out, r->out_len, size_masks));
}

static const tu_json *row_named(const tu_json *rows, const char *name) {
    for (size_t i = 0; i < tu_json_len(rows); i++) {
        const char *s = tu_json_str(tu_json_get(tu_json_at(rows, i), "name"));
        if (s && strcmp(s, name) == 0)
            return tu_json_at(rows, i);
    }
    return NULL;
}

static int str_is(const tu_json *v, const char *want) {
    const char *s = tu_json_str(v);
    return s && strcmp(s, want) == 0;
}

static double num(const tu_json *obj, const char *key) {
    return tu_json_num(tu_json_get(obj, key));
}

/* ---------------------------------------------------------------------------------------------
 * top
 * ------------------------------------------------------------------------------------------- */
static void test_top_golden(void) {
    tu_run_result r;
    if (run(&r, "top", "--no-color", "known.sptrace", NULL))
        return;
    CHECK_EQ_U64("top exits 0", r.status, 0);
    CHECK_EQ_U64("top prints nothing on stderr", r.err_len, 0);
    check_golden("top.txt", &r);
    tu_run_free(&r);

    /* Not a terminal: no colour even without --no-color. */
    if (run(&r, "top", "known.sptrace", NULL))
        return;
    CHECK("no escape codes when stdout is not a terminal", strchr(r.out, '\033') == NULL);
    tu_run_free(&r);
}

static void test_top_json(void) {
    tu_run_result r;
    if (run(&r, "top", "--format", "json", "--limit", "0", "known.sptrace", NULL))
        return;
    CHECK_EQ_U64("top --format json exits 0", r.status, 0);
    tu_json *j = tu_json_parse(r.out);
    CHECK("top's JSON parses", j != NULL);
    if (j) {
        CHECK("json: file", str_is(tu_json_get(j, "file"), "known.sptrace"));
        CHECK("json: by", str_is(tu_json_get(j, "by"), "function"));
        CHECK_EQ_U64("json: interval", num(j, "interval_ns"), 10000000);
        const tu_json *samples = tu_json_get(j, "samples");
        CHECK_EQ_U64("json: sample count", num(samples, "count"), 100);
        CHECK_EQ_U64("json: sample weight", num(samples, "weight"), 105);
        CHECK_EQ_U64("json: sample time", num(samples, "time_ns"), 1050000000);
        CHECK_EQ_U64("json: 9 functions", num(j, "rows_total"), 9);
        const tu_json *rows = tu_json_get(j, "rows");
        CHECK_EQ_U64("json: --limit 0 lists all 9", tu_json_len(rows), 9);
        const tu_json *first = tu_json_at(rows, 0);
        CHECK("json: leaf_a first by self", str_is(tu_json_get(first, "name"), "leaf_a"));
        CHECK_EQ_U64("json: leaf_a self weight", num(first, "self_weight"), 50);
        CHECK_EQ_U64("json: leaf_a self count", num(first, "self_count"), 45);
        CHECK_EQ_U64("json: leaf_a self time", num(first, "self_ns"), 500000000);
        CHECK("json: leaf_a self share", fabs(num(first, "self_percent") - 47.619) < 0.001);
        const tu_json *main_row = row_named(rows, "main");
        CHECK_EQ_U64("json: main self weight", num(main_row, "self_weight"), 2);
        CHECK_EQ_U64("json: main total weight", num(main_row, "total_weight"), 95);
        CHECK_EQ_U64("json: main total count", num(main_row, "total_count"), 90);
        CHECK("json: main total share", fabs(num(main_row, "total_percent") - 90.476) < 0.001);
        const tu_json *fib = row_named(rows, "fib");
        CHECK_EQ_U64("json: recursive fib total counted once", num(fib, "total_weight"), 20);
        CHECK("json: statics from two files stay apart",
              row_named(rows, "helper (demo.c)") && row_named(rows, "helper (util.c)"));
        CHECK("json: an unnamed native frame is module+offset",
              row_named(rows, "libc.so.6+0x2234") != NULL);
    }
    tu_json_free(j);
    tu_run_free(&r);
}

static void test_top_options(void) {
    tu_run_result r;
    if (run(&r, "top", "--limit=3", "--format=json", "--sort", "total", "known.sptrace", NULL))
        return;
    tu_json *j = tu_json_parse(r.out);
    CHECK("sorted JSON parses", j != NULL);
    const tu_json *rows = tu_json_get(j, "rows");
    CHECK_EQ_U64("--limit 3 keeps 3 rows", tu_json_len(rows), 3);
    CHECK_EQ_U64("rows_total still counts all 9", num(j, "rows_total"), 9);
    static const char *const order[] = {"main", "compute", "leaf_a"};
    for (size_t i = 0; i < 3; i++) {
        const char *name = tu_json_str(tu_json_get(tu_json_at(rows, i), "name"));
        CHECK("--sort total orders by total", name && strcmp(name, order[i]) == 0);
    }
    tu_json_free(j);
    tu_run_free(&r);

    if (run(&r, "top", "--limit", "3", "--no-color", "known.sptrace", NULL))
        return;
    CHECK_EQ_U64("text --limit 3: heading, column names and 3 rows", tu_count_lines(r.out), 5);
    CHECK("the heading says only some rows are shown",
          strstr(r.out, "in 9 functions, the first 3 by self") != NULL);
    tu_run_free(&r);

    if (run(&r, "top", "--by", "module", "--format", "csv", "known.sptrace", NULL))
        return;
    CHECK_EQ_U64("csv by module exits 0", r.status, 0);
    static const char want_csv[] =
        "name,self_percent,self_weight,self_count,self_ns,total_percent,total_weight,total_count,"
        "total_ns\n"
        "demo,97.143,102,97,1020000000,100.000,105,100,1050000000\n"
        "libc.so.6,2.857,3,3,30000000,2.857,3,3,30000000\n"
        "/app/worker.py,0.000,0,0,0,9.524,10,10,100000000\n";
    CHECK("csv by module is exact", strcmp(r.out, want_csv) == 0);
    tu_run_free(&r);

    if (run(&r, "top", "--by=line", "--format=json", "known.sptrace", NULL))
        return;
    j = tu_json_parse(r.out);
    rows = tu_json_get(j, "rows");
    CHECK_EQ_U64("by line: a recursive caller line counts once",
                 num(row_named(rows, "fib (demo.c:43)"), "total_weight"), 15);
    CHECK_EQ_U64("by line: the innermost fib line",
                 num(row_named(rows, "fib (demo.c:45)"), "self_weight"), 20);
    CHECK_EQ_U64("by line: the Python frame",
                 num(row_named(rows, "Worker.run (/app/worker.py:12)"), "total_weight"), 10);
    tu_json_free(j);
    tu_run_free(&r);

    if (run(&r, "top", "--by", "file", "--no-color", "known.sptrace", NULL))
        return;
    CHECK("by file: a native frame without a file groups by [module]",
          strstr(r.out, "  [libc.so.6]\n") != NULL);
    CHECK("by file: demo.c has 78 self samples and all 105 in total",
          strstr(r.out, "74.3%            78   780.0 ms  100.0%            105      1.05 s  "
                        "demo.c\n") != NULL);
    tu_run_free(&r);
}

/* ---------------------------------------------------------------------------------------------
 * info
 * ------------------------------------------------------------------------------------------- */
static void test_info(void) {
    tu_run_result r;
    if (run(&r, "info", "--no-color", "known.sptrace", NULL))
        return;
    CHECK_EQ_U64("info exits 0", r.status, 0);
    CHECK_EQ_U64("info prints nothing on stderr", r.err_len, 0);
    check_golden("info.txt", &r);
    tu_run_free(&r);

    if (run(&r, "info", "--format", "json", "known.sptrace", NULL))
        return;
    tu_json *j = tu_json_parse(r.out);
    CHECK("info's JSON parses", j != NULL);
    const tu_json *h = tu_json_get(j, "header");
    CHECK_EQ_U64("info json: pid", num(h, "pid"), 4242);
    CHECK_EQ_U64("info json: ppid", num(h, "ppid"), 1);
    CHECK_EQ_U64("info json: argc", tu_json_len(tu_json_get(h, "argv")), 3);
    CHECK("info json: argv keeps the quote", str_is(tu_json_at(tu_json_get(h, "argv"), 2), "it's"));
    CHECK("info json: start time in TZ=UTC",
          str_is(tu_json_get(h, "start_time"), "2023-11-14T22:13:20.123+00:00"));
    CHECK("info json: python version", str_is(tu_json_get(h, "python_version"), "3.11.4"));
    CHECK("info json: clock", str_is(tu_json_get(h, "clock"), "cpu-thread"));
    CHECK_EQ_U64("info json: duration", num(j, "duration_ns"), 2000000000);
    CHECK_EQ_U64("info json: samples", num(tu_json_get(j, "samples"), "count"), 100);
    CHECK_EQ_U64("info json: weight", num(tu_json_get(j, "samples"), "weight"), 105);
    CHECK_EQ_U64("info json: drops", num(tu_json_get(j, "drops"), "ring_full"), 7);
    CHECK_EQ_U64("info json: threads", num(j, "threads"), 2);
    CHECK_EQ_U64("info json: markers", num(j, "markers"), 2);
    CHECK("info json: at least one chunk", num(tu_json_get(j, "file_stats"), "chunks") >= 1);
    CHECK(
        "info json: metadata",
        str_is(tu_json_get(tu_json_at(tu_json_get(j, "metadata"), 0), "key"), "python.executable"));
    CHECK("info json: ended cleanly", strstr(r.out, "\"ended_cleanly\": true") != NULL);
    CHECK("info json: END reason", str_is(tu_json_get(tu_json_get(j, "end"), "reason"), "exit"));
    CHECK_EQ_U64("info json: END recorder CPU", num(tu_json_get(j, "end"), "recorder_cpu_ns"),
                 12000000);
    tu_json_free(j);
    tu_run_free(&r);

    if (run(&r, "info", "--format=csv", "known.sptrace", NULL))
        return;
    CHECK("info csv has a header row", starts_with(r.out, "key,value\n"));
    CHECK("info csv: dotted keys", strstr(r.out, "\nheader.pid,4242\n") != NULL);
    CHECK("info csv: array elements by index", strstr(r.out, "\nheader.argv.1,--fast\n") != NULL);
    tu_run_free(&r);

    if (run(&r, "info", "--no-color", "unfinished.sptrace", NULL))
        return;
    CHECK_EQ_U64("info on an unfinished trace exits 0", r.status, 0);
    CHECK("an unfinished trace says so", strstr(r.out, "\nend          did not finish cleanly\n"));
    CHECK("and its duration is a lower bound", strstr(r.out, "(up to the last event read)"));
    tu_run_free(&r);

    if (run(&r, "info", "--format", "json", "unfinished.sptrace", NULL))
        return;
    j = tu_json_parse(r.out);
    CHECK("unfinished: END is null", tu_json_is_null(tu_json_get(j, "end")));
    tu_json_free(j);
    tu_run_free(&r);
}

/* A header that says little: no interval, no host. Nothing is made up in its place. */
static void test_sparse_header(void) {
    spt_header h = tu_header();
    h.interval_ns = 0;
    h.hostname = "";
    h.arch = "";
    h.argc = 0;
    h.argv = NULL;
    spt_writer *w = NULL;
    if (spt_writer_open("sparse.sptrace", &h, NULL, &w) != SPT_OK) {
        CHECK("the sparse trace opens for writing", 0);
        spt_writer_close(w, NULL);
        return;
    }
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_cstring(w, "spin");
    uint32_t frame = spt_writer_frame(w, &f);
    uint32_t stack = spt_writer_stack_path(w, &frame, 1);
    uint32_t t = spt_writer_thread(w, 1, 0, 0);
    spt_writer_sample(w, t, 0, stack, 1, 0);
    spt_writer_sample(w, t, 1000, stack, 1, 0);
    CHECK("the sparse trace is written", spt_writer_close(w, NULL) == SPT_OK);

    tu_run_result r;
    if (run(&r, "top", "--no-color", "sparse.sptrace", NULL))
        return;
    static const char want[] = "sparse.sptrace: 2 samples in 1 function\n"
                               " self%  self-samples  total%  total-samples  function\n"
                               "100.0%             2  100.0%              2  spin\n";
    CHECK("without an interval, top shows no times", strcmp(r.out, want) == 0);
    if (strcmp(r.out, want) != 0)
        fprintf(stderr, "  got:\n%s", r.out);
    tu_run_free(&r);
    if (run(&r, "info", "--no-color", "sparse.sptrace", NULL))
        return;
    CHECK("info: no interval", strstr(r.out, "\nclock        CPU time of each thread, sampling "
                                             "interval unknown\n") != NULL);
    CHECK("info: no host", strstr(r.out, "\nhost         unknown (unknown)\n") != NULL);
    CHECK("info: no command line without arguments", strstr(r.out, "\ncommand ") == NULL);
    CHECK("info: samples without a time", strstr(r.out, "\nsamples      2\n") != NULL);
    tu_run_free(&r);
}

/* DROPS reasons a later recorder may add (format.md): counted and shown, not lost. */
static void test_unknown_drop_reasons(void) {
    spt_header h = tu_header();
    spt_writer *w = tk_open_writer("later.sptrace", &h, NULL);
    if (!w) {
        CHECK("the trace with later drop reasons is written", 0);
        return;
    }
    spt_writer_drops(w, 1000, (spt_drop_reason)7, 2);
    spt_writer_drops(w, 2000, (spt_drop_reason)12, 3);
    CHECK("the trace with later drop reasons is written", tk_close_exited(w, 1000000) == 0);
    tu_run_result r;
    if (run(&r, "info", "--no-color", "later.sptrace", NULL))
        return;
    CHECK("info shows drops for reasons it does not know",
          r.status == 0 &&
              strstr(r.out, "5 items (for a reason this spprof does not know)") != NULL);
    tu_run_free(&r);
    if (run(&r, "info", "--json", "later.sptrace", NULL))
        return;
    tu_json *j = tu_json_parse(r.out);
    CHECK_EQ_U64("info json: drops.unknown_reason", num(tu_json_get(j, "drops"), "unknown_reason"),
                 5);
    tu_json_free(j);
    tu_run_free(&r);
}

/* ---------------------------------------------------------------------------------------------
 * Where the work went: a wrapper's trace points at the program's.
 * ------------------------------------------------------------------------------------------- */

/* Writes one image of process 77, as the recorder does: its parent trace (the image before it),
 * its command line, `samples` samples, and, when exec_path is set, a CHILD (exec) record naming
 * the next image and END (exec); otherwise CHILD (fork) records for `forks` children and END
 * (exit). Paths are recorded under /gone/, as on a machine the traces were copied from. */
static int write_image(const char *path, const char *parent, const char *program, uint64_t samples,
                       const char *exec_path, int forks) {
    spt_header h = tu_header();
    h.pid = 77;
    h.parent_trace = parent;
    const char *argv[] = {program, "job.py"};
    h.argc = 2;
    h.argv = argv;
    spt_writer *w = tk_open_writer(path, &h, NULL);
    if (!w)
        return -1;
    uint32_t map = tk_mapping(w, "/usr/bin/prog", 0x400000, 0x500000, 0);
    uint32_t frame = tk_native_frame(w, "work", "job.c", 3, 0x401000, map);
    uint32_t stack = spt_writer_stack_path(w, &frame, 1);
    uint32_t t = spt_writer_thread(w, 77, spt_writer_cstring(w, "main"), 0);
    for (uint64_t k = 0; k < samples; k++)
        spt_writer_sample(w, t, k * 10000000, stack, 1, 0);
    char recorded[256];
    for (int i = 0; i < forks; i++) {
        snprintf(recorded, sizeof recorded, "/gone/%s.%d", path, 100 + i);
        spt_writer_child(w, 1000, SPT_CHILD_FORK, (uint32_t)(100 + i),
                         spt_writer_cstring(w, recorded));
    }
    if (exec_path != NULL) {
        snprintf(recorded, sizeof recorded, "/gone/%s", exec_path);
        spt_writer_child(w, 2000, SPT_CHILD_EXEC, 77, spt_writer_cstring(w, recorded));
    }
    spt_end e;
    memset(&e, 0, sizeof e);
    e.reason = exec_path != NULL ? SPT_END_EXEC : SPT_END_EXIT;
    e.duration_ns = 2000000;
    e.samples = samples;
    return tk_close_writer(w, &e);
}

static void test_elsewhere(void) {
    /* env -> a pyenv-like shim -> python3: the chain wrap.sptrace, wrap.sptrace.77.1, .77.2, and
     * a stray wrap.sptrace.77.3 of another process that must not be taken for the next image. */
    int ok =
        write_image("wrap.sptrace", "", "/usr/bin/env", 0, "wrap.sptrace.77.1", 0) == 0 &&
        write_image("wrap.sptrace.77.1", "/gone/wrap.sptrace", "/bin/bash", 0, "wrap.sptrace.77.2",
                    0) == 0 &&
        write_image("wrap.sptrace.77.2", "/gone/wrap.sptrace.77.1", "/usr/bin/python3", 30, NULL,
                    0) == 0 &&
        write_image("wrap.sptrace.77.3", "/gone/other.sptrace", "/bin/true", 0, NULL, 0) == 0 &&
        write_image("waits.sptrace", "", "/usr/bin/time", 0, NULL, 2) == 0 &&
        write_image("waits.sptrace.100", "/gone/waits.sptrace", "/bin/ls", 5, NULL, 0) == 0;
    CHECK("the wrapper traces are written", ok);
    if (!ok)
        return;
    static const char want_exec[] =
        "spprof-analyze: wrap.sptrace: this process exec'd after 2.0 ms; the program it became "
        "(python3 job.py) is recorded in wrap.sptrace.77.2\n";
    /* The analyses and an export (the note is the model's, so spprof-convert has it too). */
    static const char *const commands[] = {"top", "info", "tree", "threads", "collapsed"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        tu_run_result r;
        if (run(&r, commands[i], "wrap.sptrace", NULL))
            return;
        char d[160];
        snprintf(d, sizeof d,
                 "%s on a wrapper's trace names the program's trace, followed through the exec "
                 "chain",
                 commands[i]);
        CHECK(d, r.status == 0 && strcmp(r.err, want_exec) == 0);
        if (strcmp(r.err, want_exec) != 0)
            fprintf(stderr, "  stderr was: %s", r.err);
        tu_run_free(&r);
    }
    tu_run_result r;
    if (run(&r, "top", "--no-color", "wrap.sptrace.77.1", NULL))
        return;
    CHECK("the middle of the chain points at its end too",
          strstr(r.err, "wrap.sptrace.77.1: this process exec'd") != NULL &&
              strstr(r.err, "is recorded in wrap.sptrace.77.2\n") != NULL);
    tu_run_free(&r);
    if (run(&r, "top", "--no-color", "wrap.sptrace.77.2", NULL))
        return;
    CHECK_EQ_U64("the program's own trace gets no note", r.err_len, 0);
    tu_run_free(&r);
    if (run(&r, "top", "--no-color", "waits.sptrace", NULL))
        return;
    CHECK("a process that only waited for its children points at the first child's trace",
          r.status == 0 && strcmp(r.err, "spprof-analyze: waits.sptrace: nothing was recorded in "
                                         "this process itself; its 2 child processes are "
                                         "recorded in waits.sptrace.100 and others (spprof-"
                                         "analyze merge combines traces)\n") == 0);
    if (!starts_with(r.err, "spprof-analyze: waits.sptrace: nothing was recorded"))
        fprintf(stderr, "  stderr was: %s", r.err);
    tu_run_free(&r);
    if (remove("wrap.sptrace.77.1") != 0 || run(&r, "top", "--no-color", "wrap.sptrace", NULL))
        return;
    CHECK("a missing exec'd trace is named, and the profile still shown",
          r.status == 0 && strstr(r.err, "cannot be read") != NULL &&
              starts_with(r.out, "wrap.sptrace: 0 samples"));
    tu_run_free(&r);
    /* A path from the trace naming a FIFO must not be opened: it would block. */
    if (write_image("pipe.sptrace", "", "/usr/bin/env", 0, "pipe.sptrace.77.1", 0) != 0 ||
        mkfifo("pipe.sptrace.77.1", 0600) != 0 || run(&r, "top", "pipe.sptrace", NULL))
        return;
    CHECK("an exec'd trace that is a FIFO is not opened",
          r.status == 0 && strstr(r.err, "cannot be read") != NULL);
    tu_run_free(&r);
}

/* ---------------------------------------------------------------------------------------------
 * Bad input and bad usage.
 * ------------------------------------------------------------------------------------------- */
static void test_truncated(void) {
    tu_run_result r;
    if (run(&r, "top", "--no-color", "cut.sptrace", NULL))
        return;
    CHECK_EQ_U64("a truncated trace is still analysed", r.status, 0);
    CHECK_EQ_U64("with one warning line", tu_count_lines(r.err), 1);
    CHECK("the warning names the file", starts_with(r.err, "spprof-analyze: cut.sptrace: "));
    CHECK("the warning says truncated", strstr(r.err, "truncated") != NULL);
    CHECK("the profile follows", starts_with(r.out, "cut.sptrace: "));
    tu_run_free(&r);

    if (run(&r, "info", "--no-color", "cut.sptrace", NULL))
        return;
    CHECK_EQ_U64("info on a truncated trace exits 0", r.status, 0);
    CHECK("info says where it was cut", strstr(r.out, "did not finish cleanly: truncated") != NULL);
    tu_run_free(&r);
}

static void test_unreadable(void) {
    static const char *const commands[] = {"info", "top"};
    for (size_t i = 0; i < 2; i++) {
        tu_run_result r;
        if (run(&r, (char *)commands[i], "missing.sptrace", NULL))
            return;
        check_one_line_error("a missing file", &r, "spprof-analyze: missing.sptrace: ");
        tu_run_free(&r);
        if (run(&r, (char *)commands[i], "notes.txt", NULL))
            return;
        check_one_line_error("a text file", &r, "spprof-analyze: notes.txt: ");
        tu_run_free(&r);
    }
}

static void test_usage(void) {
    static const struct {
        const char *what;
        const char *args[4];
        const char *prefix;
    } cases[] = {
        {"no command", {NULL}, "spprof-analyze: missing command"},
        {"an unknown command", {"frob", "known.sptrace"}, "spprof-analyze: unknown command 'frob'"},
        {"an unknown option",
         {"top", "--frob", "known.sptrace"},
         "spprof-analyze: top: unknown option '--frob'"},
        {"an option of another command",
         {"info", "--limit", "3", "known.sptrace"},
         "spprof-analyze: info: unknown option '--limit'"},
        {"a bad --by", {"top", "--by", "symbol", "known.sptrace"}, "spprof-analyze: top: --by"},
        {"a bad --sort", {"top", "--sort=cum", "known.sptrace"}, "spprof-analyze: top: --sort"},
        {"a bad --limit",
         {"top", "--limit", "-1", "known.sptrace"},
         "spprof-analyze: top: --limit"},
        {"a bad --format",
         {"info", "--format", "xml", "known.sptrace"},
         "spprof-analyze: info: --format"},
        {"a missing value", {"top", "known.sptrace", "--by"}, "spprof-analyze: top: --by needs"},
        {"no FILE", {"top"}, "spprof-analyze: top: missing FILE"},
        {"two FILEs",
         {"top", "known.sptrace", "unfinished.sptrace"},
         "spprof-analyze: top: expected one FILE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_run_result r;
        if (run(&r, (char *)cases[i].args[0], (char *)cases[i].args[1], (char *)cases[i].args[2],
                (char *)cases[i].args[3], NULL))
            return;
        check_one_line_error(cases[i].what, &r, cases[i].prefix);
        tu_run_free(&r);
    }

    tu_run_result r;
    if (run(&r, "top", "--help", NULL))
        return;
    CHECK_EQ_U64("top --help exits 0", r.status, 0);
    CHECK("top --help prints usage on stdout", starts_with(r.out, "usage: spprof-analyze top"));
    CHECK("top --help lists --by", strstr(r.out, "--by KEY") != NULL);
    CHECK("top --help lines its options' help up", tu_columns_aligned(r.out, "Options:"));
    CHECK_EQ_U64("top --help prints nothing on stderr", r.err_len, 0);
    tu_run_free(&r);
    if (run(&r, "info", "-h", NULL))
        return;
    CHECK("info -h does not offer --limit", r.status == 0 && strstr(r.out, "--limit") == NULL);
    tu_run_free(&r);
    if (run(&r, "--help", NULL))
        return;
    CHECK("--help lists the commands", r.status == 0 && strstr(r.out, "\n  top ") != NULL);
    CHECK("--help lines the summaries up, two spaces after the longest command name",
          tu_columns_aligned(r.out, "Commands:") &&
              strstr(r.out, "\n  flamegraph  an interactive SVG flame graph") != NULL);
    tu_run_free(&r);
}

/* Finds the binary and golden files in the runfiles, then works from $TEST_TMPDIR so that the
 * traces have short relative names and the output does not depend on where the test runs. */
static int setup(void) {
    if (tu_runfile("analyze/spprof-analyze", bin, sizeof bin) ||
        tu_runfile("testdata/analyze", golden_dir, sizeof golden_dir) || tk_enter_tmp_dir() != 0)
        return -1;
    if (tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) ||
        tu_write_known_trace("unfinished.sptrace", TU_END_NONE, 0))
        return -1;
    size_t len;
    char *bytes = tk_read_file("known.sptrace", &len);
    if (!bytes || len < 64)
        return -1;
    /* Cut inside the last segment: the flushed groups before it stay readable. */
    int rc = tk_write_file("cut.sptrace", bytes, len - 20);
    free(bytes);
    static const char notes[] = "these are notes, not a trace; long enough to hold a header\n";
    return rc || tk_write_file("notes.txt", notes, sizeof notes - 1) ? -1 : 0;
}

int main(void) {
    int ok = setup() == 0;
    CHECK("the binary, golden files and traces are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_top_golden();
    test_top_json();
    test_top_options();
    test_info();
    test_sparse_header();
    test_unknown_drop_reasons();
    test_elsewhere();
    test_truncated();
    test_unreadable();
    test_usage();
    return CHECK_DONE();
}
