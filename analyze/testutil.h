/* testutil.h: helpers for analyze's tests: traces of known content written through the tracefmt
 * writer, running the spprof-analyze binary with captured output, and a small strict JSON parser
 * for reading its output back. Test-only. */
#ifndef SPPROF_ANALYZE_TESTUTIL_H
#define SPPROF_ANALYZE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/sptrace.h"

/* Returns "$TEST_TMPDIR/name" (or /tmp/name outside Bazel) in a static buffer per call slot;
 * the result must be copied before the 8th following call. */
const char *tu_tmp_path(const char *name);

/* A header with fixed, documented values (pid 4242, 10 ms interval, start 2023-11-14 22:13:20.123
 * UTC, ...), so that text output is byte-for-byte reproducible under TZ=UTC. */
spt_header tu_header(void);

/* How tu_write_known_trace ends the file. */
typedef enum {
    TU_END_CLEAN = 0, /* END record written: the trace is complete */
    TU_END_NONE = 1,  /* closed without END: "did not finish cleanly" */
} tu_end;

/* Writes the known trace described in testutil.c (nine stacks, two threads, recursion, two
 * same-named statics, an unnamed libc frame, a Python frame; 100 samples of weight 105) to path.
 * chunk_bytes is passed to the writer (0 = its default, one chunk; small values make the writer
 * restate definitions in many chunks). Returns 0, or -1 after printing the writer's error. */
int tu_write_known_trace(const char *path, tu_end end, size_t chunk_bytes);

/* One group of samples for tu_write_samples: `count` samples of `stack` (function names,
 * outermost first, separated by ';'; all in file "prog.c" of /usr/bin/prog), each of weight
 * `weight`, with SPT_SAMPLE_* `flags`, on thread `thread` (1 or 2: os tids 2001 "main" and 2002
 * "worker"), 10 ms apart from time_ns on. */
typedef struct {
    const char *stack;
    uint32_t thread;
    uint64_t count;
    uint64_t weight;
    uint32_t flags;
    uint64_t time_ns;
} tu_samples;

/* Writes a trace of the given sample groups with the tu_header() header, but clock `clock`; ends
 * it cleanly with duration_ns. Returns 0, or -1 after printing the writer's error. */
int tu_write_samples(const char *path, spt_clock clock, const tu_samples *groups, size_t n,
                     uint64_t duration_ns);

/* The same with a header of the caller's. */
int tu_write_samples_h(const char *path, const spt_header *h, const tu_samples *groups, size_t n,
                       uint64_t duration_ns);

/* The diff fixture. Before (1,015 samples): main > hot_a 600, main > hot_b 100, main 300 on
 * thread "main", main > x 15 on thread "worker". After (1,017 samples, started 3 s later): hot_a
 * 100, hot_b 600, main 300, x 17: the hot function moved, x wobbled within the noise. */
int tu_write_diff_pair(const char *before, const char *after);

/* Writes the known heap trace described in testutil.c (allocations and frees on two threads with
 * a peak of 3600 bytes at 50 ms and 900 bytes in 3 allocations live at the end). With sampled
 * set, the header says SPT_ALLOC_SAMPLED every 512 bytes and every allocation carries 4x its
 * size as weight (so it stands for 4 allocations). Returns 0 or -1. */
int tu_write_heap_trace(const char *path, int sampled);

/* Reads a whole file into a NUL-terminated heap buffer; *len (if not NULL) gets its length.
 * Returns NULL if it cannot be read. */
char *tu_read_file(const char *path, size_t *len);

/* Writes len bytes to path, replacing it. Returns 0 or -1. */
int tu_write_file(const char *path, const void *data, size_t len);

/* The result of running a program: exit status (or 128 + signal) and everything it printed. */
typedef struct {
    int status;
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
} tu_run_result;

/* Runs argv[0] (a path) with argv and the environment {"TZ=UTC"}, from the current directory,
 * capturing stdout and stderr. Returns 0, or -1 if it could not be started. */
int tu_run(char *const argv[], tu_run_result *res);

/* Frees the captured output. */
void tu_run_free(tu_run_result *res);

/* Runs bin with the NULL-terminated arguments that follow (at most 30), as tu_run does. */
int tu_runv(const char *bin, tu_run_result *res, ...);

/* Resolves the runfile $TEST_SRCDIR/$TEST_WORKSPACE/rel into out (size bytes). Returns 0 or -1. */
int tu_runfile(const char *rel, char *out, size_t size);

/* Whether out (len bytes) equals the golden file dir/name once masked: every line starting with
 * one of the NULL-terminated prefixes in masks (may be NULL) becomes that prefix and "<masked>"
 * in both, so figures that depend on the writer's compression stay out of golden text. On a
 * mismatch the masked actual output is written to $TEST_UNDECLARED_OUTPUTS_DIR/name (ready to
 * replace the golden file after review) and printed to stderr. */
int tu_golden_equal(const char *dir, const char *name, const char *out, size_t len,
                    const char *const *masks);

/* Counts '\n' in s. */
size_t tu_count_lines(const char *s);

/* ---------------------------------------------------------------------------------------------
 * A strict JSON parser: rejects trailing garbage, bad escapes and unquoted keys.
 * ------------------------------------------------------------------------------------------- */
typedef struct tu_json tu_json;

/* Parses text; returns NULL on any syntax error. Free with tu_json_free. */
tu_json *tu_json_parse(const char *text);
void tu_json_free(tu_json *v);

/* Member `key` of an object, element i of an array; NULL when absent or of the wrong type. */
const tu_json *tu_json_get(const tu_json *obj, const char *key);
const tu_json *tu_json_at(const tu_json *arr, size_t i);

/* Number of elements of an array or members of an object; 0 for anything else. */
size_t tu_json_len(const tu_json *v);

/* A number's value (-1 when v is not a number), a string's bytes (NULL when not a string),
 * whether v is null. */
double tu_json_num(const tu_json *v);
const char *tu_json_str(const tu_json *v);
int tu_json_is_null(const tu_json *v);

/* Whether v is the JSON literal true. */
int tu_json_is_true(const tu_json *v);

#endif /* SPPROF_ANALYZE_TESTUTIL_H */
