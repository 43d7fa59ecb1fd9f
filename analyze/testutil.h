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

#endif /* SPPROF_ANALYZE_TESTUTIL_H */
