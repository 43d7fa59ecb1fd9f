/* e2e_util.h: what the recorder's end-to-end tests share: running a command with its output
 * captured, and reading a whole trace back through the tracefmt reader into plain arrays
 * (samples with their stacks as function names, threads, children, drops, the END record). */
#ifndef SPPROF_TESTS_E2E_UTIL_H
#define SPPROF_TESTS_E2E_UTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tracefmt/sptrace.h"

/* ---- running programs ---- */

typedef struct {
    int status;     /* exit code, or 128 + the signal that killed it */
    int signaled;   /* killed by a signal */
    pid_t pid;
    double seconds; /* wall time */
    char *out;      /* everything written to stdout */
    char *err;      /* everything written to stderr */
} e2e_run_result;

/* The scratch directory of this test (under $TEST_TMPDIR). Created by e2e_init. */
extern char e2e_tmp[PATH_MAX];

/* Creates the scratch directory. Exits on failure. */
void e2e_init(const char *test_name);

/* Makes an absolute path of a Bazel rootpath argument. Exits on failure. */
void e2e_absolute(const char *in, char out[PATH_MAX]);

/* Runs argv (NULL-terminated) in cwd (NULL = ours) with the environment changes in env
 * ("NAME=value" sets, "NAME" unsets; NULL = none), capturing stdout and stderr. When
 * kill_after_ready is set, sends SIGKILL once stdout contains "ready" plus kill_delay_ms. */
e2e_run_result e2e_run(const char *const *argv, const char *cwd, const char *const *env);
e2e_run_result e2e_run_and_kill(const char *const *argv, const char *const *env,
                                int kill_delay_ms);
void e2e_free_result(e2e_run_result *r);

/* Writes the scratch path of name into out. */
void e2e_path(char out[PATH_MAX], const char *name);

/* Counts the lines of s that start with prefix. */
int e2e_count_lines(const char *s, const char *prefix);

/* ---- reading a trace ---- */

#define E2E_MAX_FRAMES 16 /* function names kept per sample, innermost first */

typedef struct {
    uint32_t thread;
    uint64_t time_ns;
    uint64_t weight;
    uint32_t flags;
    uint32_t depth;           /* frames in the whole stack */
    uint32_t n_names;         /* names kept (at most E2E_MAX_FRAMES) */
    const char *names[E2E_MAX_FRAMES];
    const char *outermost;    /* the outermost frame's function */
    uint32_t count_of_target; /* frames whose function is e2e_trace.count_function */
} e2e_sample;

typedef struct {
    uint32_t id;
    uint32_t os_tid;
    char first_name[64]; /* the name the THREAD record gave */
    char last_name[64];  /* after THREAD_NAME records */
    char names[4][64];   /* the first four names it bore, in order (THREAD, then THREAD_NAME) */
    int renames;
    int ended;
} e2e_thread;

typedef struct {
    spt_child_kind kind;
    uint32_t pid;
    char path[PATH_MAX];
} e2e_child;

typedef struct {
    spt_status open_status;
    spt_status last_status;
    spt_header header;         /* strings copied below */
    char executable[PATH_MAX];
    char parent_trace[PATH_MAX];
    char trace_id[64];
    e2e_sample *samples;
    size_t n_samples;
    e2e_thread *threads;
    size_t n_threads;
    e2e_child children[64];
    size_t n_children;
    uint64_t drops[8];      /* by spt_drop_reason */
    char *markers[64];
    uint32_t marker_threads[64];
    size_t n_markers;
    spt_reader_stats stats; /* ended_cleanly, end, truncated, ... */
    char **strings;         /* owned copies behind names */
    size_t n_strings;
} e2e_trace;

/* Reads the trace at path; count_function (may be NULL) is a function name whose frames are
 * counted per sample (deep recursion). Never fails: check open_status. */
void e2e_read_trace(const char *path, const char *count_function, e2e_trace *t);
void e2e_free_trace(e2e_trace *t);

/* Sum of sample weights whose innermost frame is function (all threads when thread is 0). */
uint64_t e2e_self_weight(const e2e_trace *t, const char *function, uint32_t thread);

/* Sum of all sample weights (of thread, or all when 0), and with flags matching (mask, want). */
uint64_t e2e_weight(const e2e_trace *t, uint32_t thread, uint32_t flag_mask, uint32_t flag_want);

/* Does any sample of thread (0 = any) have function among its kept frames? */
int e2e_stack_has(const e2e_trace *t, uint32_t thread, const char *function);

/* The thread whose samples' innermost function is most often function; NULL if none. */
const e2e_thread *e2e_thread_of(const e2e_trace *t, const char *function);

/* A thread by trace id. */
const e2e_thread *e2e_thread_by_id(const e2e_trace *t, uint32_t id);

/* Size of a file, or -1. */
long long e2e_file_size(const char *path);

#endif /* SPPROF_TESTS_E2E_UTIL_H */
