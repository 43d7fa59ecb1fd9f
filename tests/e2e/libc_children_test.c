/* libc_children_test.c: the children glibc starts by itself, end to end, with
 * tests/programs/libc_children: system() and popen() spawn the shell and daemon() forks through
 * glibc's internal functions, past the recorder's posix_spawn and fork. Recorded, the program
 * prints exactly what it prints alone (system's and pclose's statuses, errno, signal handling,
 * popen's descriptors), the first trace holds a CHILD record for each of the nine children and
 * ends cleanly although daemon's parent exits inside daemon(), and every child's trace exists,
 * names the first trace as its parent and ends as the child did. --no-follow records none.
 * Usage: libc_children_test SPPROF_RECORD SPPROF_ANALYZE LIBC_CHILDREN. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/check.h"
#include "tests/e2e/e2e_util.h"

#define N_CHILDREN    9    /* five system() calls, three popen() calls, one daemon() */
#define DAEMON_WAIT_S 20.0 /* the daemon child outlives the run: wait for its END this long */

static char record_bin[PATH_MAX];
static char analyze_bin[PATH_MAX];
static char program[PATH_MAX];

/* The children in the order the program starts them: kind, and how each one's trace ends (its
 * exit status, or -1 when it is not checked). */
static const struct {
    const char *what;
    spt_child_kind kind;
    int status;
} expected[N_CHILDREN] = {
    {"system(NULL)", SPT_CHILD_SPAWN, 0},
    {"system(\"exit 3\")", SPT_CHILD_SPAWN, 3},
    {"system(\"kill -INT $PPID\")", SPT_CHILD_SPAWN, 0},
    /* dash killed by SIGINT does not always end its own trace (it is not this test's topic). */
    {"system(\"kill -INT $$\")", SPT_CHILD_SPAWN, -1},
    {"system(\"exit 4\")", SPT_CHILD_SPAWN, 4},
    {"popen(\"r\")", SPT_CHILD_SPAWN, 5},
    {"popen(\"w\")", SPT_CHILD_SPAWN, 6},
    {"popen(\"re\")", SPT_CHILD_SPAWN, 0},
    {"daemon()", SPT_CHILD_FORK, 8},
};

/* What the program prints alone (checked on the plain run, then compared with the recorded). */
static const char *const lines[] = {
    "system NULL = 1 (errno 4242)\n",
    "system exit 3 = 768 (errno 4242)\n",
    "system SIGINT to the caller = 0 (errno 4242)\n",
    "system SIGINT to the shell = 2 (errno 4242)\n",
    "system with a reaping SIGCHLD handler = 1024 (errno 4242)\n",
    "the SIGCHLD handler reaped 0\n",
    "SIGINT is back at its default: 1\n",
    "popen r: open (errno 4242)\n",
    "popen r read \"popen-line\", pclose = 1280 (errno 4242)\n",
    "popen w: open (errno 4242)\n",
    "popen re: open, FD_CLOEXEC 1 (errno 4242)\n",
    "popen re: the shell holds the \"w\" pipe 0 times, pclose = 0\n",
    "popen w: pclose = 1536 (errno 4242)\n",
    "popen with mode \"x\": NULL, errno EINVAL\n",
    "daemon: next\n",
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads path into *t, waiting up to seconds for it to end cleanly (a child still running). */
static void read_ended(const char *path, double seconds, e2e_trace *t) {
    double deadline = now_s() + seconds;
    for (;;) {
        e2e_read_trace(path, NULL, t);
        if ((t->open_status == SPT_OK && t->stats.ended_cleanly) || now_s() > deadline) {
            return;
        }
        e2e_free_trace(t);
        struct timespec ms = {0, 50000000};
        nanosleep(&ms, NULL);
    }
}

static void check_output(const char *label, const e2e_run_result *r) {
    char what[200];
    snprintf(what, sizeof what, "[%s] the program exits 0 (daemon's parent, inside daemon)", label);
    CHECK_EQ_U64(what, r->status, 0);
    size_t at = 0;
    int in_order = 1;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        size_t len = strlen(lines[i]);
        if (strncmp(r->out + at, lines[i], len) != 0) {
            fprintf(stderr, "[%s] expected \"%.*s\" at: %s\n", label, (int)len - 1, lines[i],
                    r->out + at);
            in_order = 0;
            break;
        }
        at += len;
    }
    snprintf(what, sizeof what,
             "[%s] it prints every status, errno and check as glibc alone gives them", label);
    CHECK(what, in_order && r->out[at] == '\0');
}

static void test_plain(void) {
    const char *argv[] = {program, NULL};
    e2e_run_result r = e2e_run(argv, NULL, NULL);
    check_output("plain", &r);
    CHECK("[plain] nothing on stderr", r.err[0] == '\0');
    e2e_free_result(&r);
}

static void check_child_trace(size_t i, const char *trace, const e2e_trace *t, const e2e_child *c) {
    char what[240], expected_path[PATH_MAX + 32];
    snprintf(what, sizeof what, "[%s] a CHILD record of kind %s", expected[i].what,
             expected[i].kind == SPT_CHILD_FORK ? "fork" : "spawn");
    CHECK(what, c->kind == expected[i].kind);
    snprintf(expected_path, sizeof expected_path, "%s.%u", trace, c->pid);
    snprintf(what, sizeof what, "[%s] the CHILD record names OUT.<pid>", expected[i].what);
    CHECK(what, c->pid > 0 && c->pid != t->header.pid && strcmp(c->path, expected_path) == 0);
    e2e_trace ct;
    read_ended(expected_path, i == N_CHILDREN - 1 ? DAEMON_WAIT_S : 2.0, &ct);
    snprintf(what, sizeof what, "[%s] the child's trace exists and is its own", expected[i].what);
    CHECK(what, ct.open_status == SPT_OK && ct.header.pid == c->pid);
    snprintf(what, sizeof what, "[%s] the child's header names the first trace as its parent",
             expected[i].what);
    CHECK(what, ct.open_status == SPT_OK && strcmp(ct.parent_trace, trace) == 0);
    snprintf(what, sizeof what, "[%s] both traces share the run's trace id", expected[i].what);
    CHECK(what, ct.open_status == SPT_OK && strcmp(ct.trace_id, t->trace_id) == 0);
    if (expected[i].status >= 0) {
        snprintf(what, sizeof what, "[%s] the child's trace ends cleanly with exit status %d",
                 expected[i].what, expected[i].status);
        CHECK(what, ct.open_status == SPT_OK && ct.stats.ended_cleanly &&
                        ct.stats.end.reason == SPT_END_EXIT &&
                        ct.stats.end.status == expected[i].status);
    }
    if (expected[i].kind == SPT_CHILD_FORK) {
        CHECK("[daemon()] the daemon child was sampled in daemon_work",
              e2e_self_weight(&ct, "daemon_work", 0) >= 10);
    }
    e2e_free_trace(&ct);
}

static void test_recorded(void) {
    char trace[PATH_MAX];
    e2e_path(trace, "children.sptrace");
    const char *argv[] = {record_bin, "-o", trace, "--", program, NULL};
    e2e_run_result r = e2e_run(argv, NULL, NULL);
    check_output("recorded", &r);
    CHECK_EQ_U64("[recorded] stderr holds the summary line only", e2e_count_lines(r.err, ""),
                 e2e_count_lines(r.err, "spprof: "));
    CHECK("[recorded] the summary counts nine child traces",
          strstr(r.err, ", 9 child traces,") != NULL);

    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    CHECK("[recorded] the first trace ends cleanly: END exit 0, from daemon's parent",
          t.open_status == SPT_OK && t.stats.ended_cleanly && t.stats.end.reason == SPT_END_EXIT &&
              t.stats.end.status == 0);
    CHECK("[recorded] main_work was sampled before the children",
          e2e_self_weight(&t, "main_work", 0) >= 10);
    CHECK_EQ_U64("[recorded] one CHILD record per child", t.n_children, N_CHILDREN);
    for (size_t i = 0; i < t.n_children && i < N_CHILDREN; i++) {
        check_child_trace(i, trace, &t, &t.children[i]);
    }
    e2e_free_trace(&t);

    const char *info_argv[] = {analyze_bin, "info", trace, NULL};
    e2e_run_result info = e2e_run(info_argv, NULL, NULL);
    int listed = 0;
    for (const char *line = info.out; line != NULL && *line != '\0';) {
        unsigned n = 0;
        if (sscanf(line, "children %u", &n) == 1) {
            listed = (int)n;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    CHECK_EQ_U64("[recorded] spprof-analyze info lists the nine children", listed, N_CHILDREN);
    e2e_free_result(&info);
    e2e_free_result(&r);
}

/* --no-follow: the same program, one trace, no CHILD record. */
static void test_no_follow(void) {
    char trace[PATH_MAX];
    e2e_path(trace, "no-follow.sptrace");
    const char *argv[] = {record_bin, "-o", trace, "--no-follow", "--", program, NULL};
    e2e_run_result r = e2e_run(argv, NULL, NULL);
    check_output("no-follow", &r);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    CHECK("[no-follow] the trace ends cleanly, without CHILD records",
          t.open_status == SPT_OK && t.stats.ended_cleanly && t.n_children == 0);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: libc_children_test SPPROF_RECORD SPPROF_ANALYZE LIBC_CHILDREN\n");
        return 2;
    }
    e2e_absolute(argv[1], record_bin);
    e2e_absolute(argv[2], analyze_bin);
    e2e_absolute(argv[3], program);
    e2e_init("libc_children_test");
    test_plain();
    test_recorded();
    test_no_follow();
    return CHECK_DONE();
}
