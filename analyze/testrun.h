/* testrun.h: running the built binaries from analyze's and convert's tests: finding them among
 * the runfiles, capturing what they print, and comparing text with golden files. Test-only. */
#ifndef SPPROF_ANALYZE_TESTRUN_H
#define SPPROF_ANALYZE_TESTRUN_H

#include <stdarg.h>
#include <stddef.h>

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

/* tu_runv with the arguments as a va_list, for helpers that take arguments of their own. */
int tu_runva(const char *bin, tu_run_result *res, va_list ap);

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

/* Whether the two-column list that follows the line `heading` in help text (up to the next empty
 * line) starts its second column at the same place on every line, at least two spaces after the
 * first column. 0 too when there is no such heading or the list is empty. */
int tu_columns_aligned(const char *text, const char *heading);

#endif /* SPPROF_ANALYZE_TESTRUN_H */
