/* lifecycle_test.c: how recordings end and carry on, end to end, with tests/programs/lifecycle:
 * exit statuses and output unchanged (exit, return, _exit, exit from a thread, pthread_exit in
 * main), deaths by signal unchanged with END reason signal, fork, exec, a failed exec,
 * posix_spawn and vfork children traced and linked, --no-follow, SIGKILL losing at most the
 * last second, --max-size, a program that owns SIGPROF (with and without --signal), and
 * dlopen/dlclose while sampling.
 * Usage: lifecycle_test SPPROF_RECORD LIFECYCLE STACK_STORM SIGPROF_OWNER DL_USER PLUGIN. */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "tests/e2e/e2e_util.h"

static char record_bin[PATH_MAX];
static char lifecycle[PATH_MAX];
static char stack_storm[PATH_MAX];
static char sigprof_owner[PATH_MAX];
static char dl_user[PATH_MAX];
static char plugin[PATH_MAX];

/* Are a and b equal once every run of digits counts as one character (child pids differ)? */
static int same_but_digits(const char *a, const char *b) {
    for (;;) {
        int da = *a >= '0' && *a <= '9', db = *b >= '0' && *b <= '9';
        if (da != db) {
            return 0;
        }
        if (da) {
            while (*a >= '0' && *a <= '9') {
                a++;
            }
            while (*b >= '0' && *b <= '9') {
                b++;
            }
            continue;
        }
        if (*a != *b) {
            return 0;
        }
        if (*a == '\0') {
            return 1;
        }
        a++;
        b++;
    }
}

/* Runs lifecycle MODE [ARG] plainly and under the recorder into trace; checks status, stdout and
 * stderr are the same (stderr plus the recorder's summary line). Returns the recorded run. */
static e2e_run_result run_both(const char *mode, const char *arg, const char *trace,
                               const char *const *extra, int expect_status) {
    const char *plain_argv[] = {lifecycle, mode, arg, NULL};
    e2e_run_result plain = e2e_run(plain_argv, NULL, NULL);
    const char *argv[16] = {record_bin, "-o", trace};
    int n = 3;
    for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
        argv[n++] = extra[i];
    }
    argv[n++] = "--";
    argv[n++] = lifecycle;
    argv[n++] = mode;
    argv[n++] = arg;
    argv[n] = NULL;
    e2e_run_result rec = e2e_run(argv, NULL, NULL);
    char what[200];
    snprintf(what, sizeof what, "[%s] the program alone ends with %d", mode, expect_status);
    CHECK_EQ_U64(what, plain.status, expect_status);
    snprintf(what, sizeof what, "[%s] recorded, it ends the same way", mode);
    CHECK_EQ_U64(what, rec.status, plain.status);
    CHECK("(killed by the same signal, or not killed)", rec.signaled == plain.signaled);
    snprintf(what, sizeof what, "[%s] its stdout is unchanged (pids aside)", mode);
    CHECK(what, same_but_digits(rec.out, plain.out));
    snprintf(what, sizeof what, "[%s] its stderr is unchanged but for spprof's lines", mode);
    CHECK(what, strncmp(rec.err, plain.err, strlen(plain.err)) == 0 &&
                    e2e_count_lines(rec.err + strlen(plain.err), "spprof: ") ==
                        e2e_count_lines(rec.err + strlen(plain.err), ""));
    if (rec.status != plain.status || !same_but_digits(rec.out, plain.out)) {
        fprintf(stderr, "[%s] plain: %d %s%s recorded: %d %s%s", mode, plain.status, plain.out,
                plain.err, rec.status, rec.out, rec.err);
    }
    e2e_free_result(&plain);
    return rec;
}

/* A run that ends by exit: END reason exit with the status, samples in main_work. */
static void test_exit_mode(const char *mode, const char *arg, int status) {
    char trace[PATH_MAX], name[64];
    snprintf(name, sizeof name, "exit-%s.sptrace", mode);
    e2e_path(trace, name);
    e2e_run_result r = run_both(mode, arg, trace, NULL, status);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    char what[160];
    snprintf(what, sizeof what, "[%s] the trace ends cleanly with END reason exit", mode);
    CHECK(what, t.open_status == SPT_OK && t.stats.ended_cleanly &&
                    t.stats.end.reason == SPT_END_EXIT);
    snprintf(what, sizeof what, "[%s] END records status %d", mode, status);
    CHECK_EQ_U64(what, t.stats.end.status, status);
    snprintf(what, sizeof what, "[%s] main_work was sampled", mode);
    CHECK(what, e2e_self_weight(&t, "main_work", 0) >= 10);
    snprintf(what, sizeof what, "[%s] one summary line on stderr", mode);
    CHECK_EQ_U64(what, e2e_count_lines(r.err, "spprof: "), 1);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

/* A run that dies of signo: the same death, and END reason signal with the signal number. */
static void test_signal_mode(const char *mode, int signo) {
    char trace[PATH_MAX], name[64];
    snprintf(name, sizeof name, "signal-%s.sptrace", mode);
    e2e_path(trace, name);
    e2e_run_result r = run_both(mode, NULL, trace, NULL, 128 + signo);
    CHECK("it was killed by the signal", r.signaled);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    char what[160];
    snprintf(what, sizeof what, "[%s] the trace ends cleanly with END reason signal", mode);
    CHECK(what, t.open_status == SPT_OK && t.stats.ended_cleanly &&
                    t.stats.end.reason == SPT_END_SIGNAL);
    snprintf(what, sizeof what, "[%s] END records signal %d", mode, signo);
    CHECK_EQ_U64(what, t.stats.end.status, signo);
    snprintf(what, sizeof what, "[%s] main_work was sampled", mode);
    CHECK(what, e2e_self_weight(&t, "main_work", 0) >= 10);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

/* The first trace has exactly one CHILD of kind; the child's trace is OUT.<pid> (gen 0) or
 * OUT.<pid>.<gen> (after an exec), links back, ends with exit status child_status and has
 * samples in child_fn. */
static void check_child(const char *label, const char *trace, spt_child_kind kind, int gen,
                        const char *child_fn, int child_status) {
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    char what[200];
    snprintf(what, sizeof what, "[%s] the first trace ends cleanly", label);
    CHECK(what, t.open_status == SPT_OK && t.stats.ended_cleanly);
    snprintf(what, sizeof what, "[%s] it holds one CHILD record of kind %d", label, kind);
    CHECK(what, t.n_children == 1 && t.children[0].kind == kind);
    if (t.n_children != 1) {
        e2e_free_trace(&t);
        return;
    }
    char expected[PATH_MAX + 64];
    if (gen == 0) {
        snprintf(expected, sizeof expected, "%s.%u", trace, t.children[0].pid);
    } else {
        snprintf(expected, sizeof expected, "%s.%u.%d", trace, t.header.pid, gen);
    }
    snprintf(what, sizeof what, "[%s] the CHILD record names OUT.<pid>%s", label,
             gen ? ".<n>" : "");
    CHECK(what, strcmp(t.children[0].path, expected) == 0);
    e2e_trace c;
    e2e_read_trace(expected, NULL, &c);
    snprintf(what, sizeof what, "[%s] the child's trace ends cleanly, exit status %d", label,
             child_status);
    CHECK(what, c.open_status == SPT_OK && c.stats.ended_cleanly &&
                    c.stats.end.reason == SPT_END_EXIT && c.stats.end.status == child_status);
    snprintf(what, sizeof what, "[%s] the child's header links back to the first trace", label);
    CHECK(what, c.open_status == SPT_OK && strcmp(c.parent_trace, trace) == 0);
    snprintf(what, sizeof what, "[%s] the child's pid is the CHILD record's", label);
    CHECK(what, c.header.pid == t.children[0].pid);
    snprintf(what, sizeof what, "[%s] both traces share the run's trace id", label);
    CHECK(what, strcmp(c.trace_id, t.trace_id) == 0 && strlen(t.trace_id) == 32);
    snprintf(what, sizeof what, "[%s] the child was sampled in %s", label, child_fn);
    CHECK(what, e2e_self_weight(&c, child_fn, 0) >= 10);
    e2e_free_trace(&c);
    e2e_free_trace(&t);
}

static void test_children(void) {
    char trace[PATH_MAX];
    e2e_path(trace, "fork.sptrace");
    e2e_run_result r = run_both("fork", NULL, trace, NULL, 0);
    check_child("fork", trace, SPT_CHILD_FORK, 0, "child_work", 7);
    CHECK_EQ_U64("[fork] children print no summary: one line in all", e2e_count_lines(r.err,
                                                                                     "spprof: "),
                 1);
    e2e_free_result(&r);

    e2e_path(trace, "exec.sptrace");
    r = run_both("exec", NULL, trace, NULL, 4);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    CHECK("[exec] the first trace ends with END reason exec",
          t.open_status == SPT_OK && t.stats.ended_cleanly && t.stats.end.reason == SPT_END_EXEC);
    CHECK("[exec] main_work before the exec is in it", e2e_self_weight(&t, "main_work", 0) >= 10);
    CHECK("[exec] its CHILD record has the same pid",
          t.n_children == 1 && t.children[0].pid == t.header.pid);
    e2e_free_trace(&t);
    check_child("exec", trace, SPT_CHILD_EXEC, 1, "exec_image_work", 4);
    e2e_free_result(&r);

    e2e_path(trace, "exec-fail.sptrace");
    r = run_both("exec-fail", NULL, trace, NULL, 5);
    check_child("exec-fail", trace, SPT_CHILD_EXEC, 1, "after_exec_fail", 5);
    e2e_free_result(&r);

    e2e_path(trace, "spawn.sptrace");
    r = run_both("spawn", NULL, trace, NULL, 0);
    check_child("spawn", trace, SPT_CHILD_SPAWN, 0, "exec_image_work", 4);
    e2e_free_result(&r);

    e2e_path(trace, "vfork.sptrace");
    r = run_both("vfork", NULL, trace, NULL, 0);
    check_child("vfork", trace, SPT_CHILD_SPAWN, 0, "exec_image_work", 4);
    e2e_free_result(&r);

    /* --no-follow: the child runs, unrecorded. */
    e2e_path(trace, "nofollow.sptrace");
    const char *no_follow[] = {"--no-follow", NULL};
    r = run_both("fork", NULL, trace, no_follow, 0);
    e2e_read_trace(trace, NULL, &t);
    CHECK("[no-follow] the trace ends cleanly, without CHILD records",
          t.open_status == SPT_OK && t.stats.ended_cleanly && t.n_children == 0);
    int child_pid = 0;
    const char *at = strstr(r.out, "child ");
    char child_trace[PATH_MAX + 32];
    if (at != NULL && sscanf(at, "child %d", &child_pid) == 1) {
        snprintf(child_trace, sizeof child_trace, "%s.%d", trace, child_pid);
    }
    CHECK("[no-follow] and no child trace was written",
          child_pid > 0 && e2e_file_size(child_trace) < 0);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

static void test_sigkill(void) {
    char trace[PATH_MAX];
    e2e_path(trace, "killed.sptrace");
    const char *argv[] = {record_bin, "-o", trace, "--", lifecycle, "forever", NULL};
    e2e_run_result r = e2e_run_and_kill(argv, NULL, 1500);
    CHECK("the run was killed by SIGKILL", r.signaled && r.status == 128 + SIGKILL);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    double covered = (double)t.stats.last_time_ns / 1e9;
    fprintf(stderr, "[sigkill] ran %.2f s, the trace covers %.2f s in %zu samples, "
                    "truncated %d\n",
            r.seconds, covered, t.n_samples, t.stats.truncated);
    CHECK("the killed trace opens and reads to its end",
          t.open_status == SPT_OK && t.last_status == SPT_END);
    CHECK("it did not end cleanly (no END record)", !t.stats.ended_cleanly);
    /* CPU-time samples: how many fit in the covered time depends on the CPU the machine gave
     * the program (a quarter of a core when the suite runs tests in parallel on two), so this
     * asks for some, and the coverage check below asks for the time. */
    CHECK("it holds samples of forever_work", e2e_self_weight(&t, "forever_work", 0) >= 10);
    /* Flushed at least once a second, the writer waking every 100 ms: at most ~1.1 s lost. */
    CHECK("at most the last second (plus one drain) is lost", covered >= r.seconds - 1.25);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

static void test_max_size(void) {
    char trace[PATH_MAX];
    e2e_path(trace, "capped.sptrace");
    const char *argv[] = {record_bin, "-o", trace, "--max-size", "0.02", "--interval", "1", "--",
                          stack_storm, NULL};
    e2e_run_result r = e2e_run(argv, NULL, NULL);
    CHECK_EQ_U64("the capped program runs on and exits 0", r.status, 0);
    CHECK("and finishes its work", strcmp(r.out, "stack_storm: done\n") == 0);
    CHECK_EQ_U64("the cap is said once on stderr", e2e_count_lines(r.err, "spprof: trace "), 1);
    CHECK("naming --max-size", strstr(r.err, "reached --max-size") != NULL);
    long long size = e2e_file_size(trace);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    fprintf(stderr, "[max-size] %lld bytes (cap 20972), %zu samples\n", size, t.n_samples);
    CHECK("the file stays within the cap", size > 0 && size <= 20972);
    CHECK("and fills at least half of it", size >= 10486);
    CHECK("the trace ends cleanly with END reason max size",
          t.open_status == SPT_OK && t.stats.ended_cleanly &&
              t.stats.end.reason == SPT_END_MAX_SIZE && t.n_samples > 0);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

/* The program takes the sampling signal (SIGPROF) once recording runs: with per-thread timers
 * sampling moves to a free real-time signal and goes on; with the process-wide timer, which
 * only sends SIGPROF, it stops. In both the program's handler works and a line names it. */
static void test_sigprof_owner(void) {
    static const char *const variants[3] = {"sigaction", "signal", "process timer"};
    for (int v = 0; v < 3; v++) {
        char trace[PATH_MAX], name[64];
        snprintf(name, sizeof name, "owner-%d.sptrace", v);
        e2e_path(trace, name);
        const char *argv[] = {
            record_bin, "-o", trace, "--", sigprof_owner, v == 1 ? "signal" : "sigaction", NULL};
        const char *process_timer[] = {"SPPROF_TEST_PROCESS_TIMER=1", NULL};
        e2e_run_result r = e2e_run(argv, NULL, v == 2 ? process_timer : NULL);
        int moves = v < 2;
        char what[160];
        snprintf(what, sizeof what, "[owner %s] its own SIGPROF handler keeps working",
                 variants[v]);
        CHECK(what, r.status == 0 && strstr(r.out, "handler saw") != NULL);
        snprintf(what, sizeof what, "[owner %s] one line names the program and says %s",
                 variants[v], moves ? "where sampling moved" : "that sampling stopped");
        CHECK(what, e2e_count_lines(r.err, "spprof: sigprof_owner (pid ") == 1 &&
                        strstr(r.err, "installs its own handler for signal 27") != NULL &&
                        strstr(r.err, moves ? "sampling moved to signal 6" : "--signal") != NULL);
        if (!(r.status == 0 && e2e_count_lines(r.err, "spprof: sigprof_owner (pid ") == 1))
            fprintf(stderr, "  stderr was: %s", r.err);
        e2e_trace t;
        e2e_read_trace(trace, NULL, &t);
        uint64_t owner = e2e_self_weight(&t, "owner_work", 0);
        fprintf(stderr, "[owner %s] %llu intervals in owner_work\n", variants[v],
                (unsigned long long)owner);
        snprintf(what, sizeof what, "[owner %s] the trace ends cleanly, %s", variants[v],
                 moves ? "sampled on the new signal throughout owner_work (0.6 s)"
                       : "without samples of owner_work");
        CHECK(what, t.open_status == SPT_OK && t.stats.ended_cleanly &&
                        (moves ? owner >= 30 : owner <= 2));
        e2e_free_trace(&t);
        e2e_free_result(&r);
    }
    /* A fork child inherits the program's handler: its recording starts on a free real-time
     * signal rather than without samples. */
    {
        char trace[PATH_MAX];
        e2e_path(trace, "owner-fork.sptrace");
        const char *argv[] = {record_bin, "-o", trace, "--", sigprof_owner, "fork", NULL};
        e2e_run_result r = e2e_run(argv, NULL, NULL);
        CHECK("[owner fork] both handlers work", r.status == 0);
        /* The parent moved first (to the highest free signal); the child keeps that one. */
        const char *moved = strstr(r.err, "sampling moved to signal ");
        const char *kept = strstr(r.err, "has its own handler for signal 27");
        kept = kept != NULL ? strstr(kept, "sampling on signal ") : NULL;
        CHECK("[owner fork] the child samples on the signal its parent moved to",
              moved != NULL && kept != NULL &&
                  atoi(moved + strlen("sampling moved to signal ")) ==
                      atoi(kept + strlen("sampling on signal ")));
        e2e_trace parent, child;
        e2e_read_trace(trace, NULL, &parent);
        const char *child_path = parent.n_children == 1 ? parent.children[0].path : "";
        e2e_read_trace(child_path, NULL, &child);
        uint64_t owner = e2e_self_weight(&child, "owner_work", 0);
        fprintf(stderr, "[owner fork] %llu intervals in the child's owner_work\n",
                (unsigned long long)owner);
        CHECK("[owner fork] the child's trace samples owner_work",
              child.open_status == SPT_OK && child.stats.ended_cleanly && owner >= 30);
        e2e_free_trace(&child);
        e2e_free_trace(&parent);
        e2e_free_result(&r);
    }
    char trace[PATH_MAX];
    e2e_path(trace, "owner-rt.sptrace");
    const char *argv[] = {record_bin,   "-o", trace,         "--signal",
                          "SIGRTMIN+3", "--", sigprof_owner, NULL};
    e2e_run_result r = e2e_run(argv, NULL, NULL);
    CHECK("[owner --signal SIGRTMIN+3] the program's handler works", r.status == 0);
    CHECK("[owner --signal SIGRTMIN+3] no warning",
          strstr(r.err, "installs its own handler") == NULL);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    CHECK("[owner --signal SIGRTMIN+3] and the recorder samples it on the other signal",
          t.open_status == SPT_OK && t.stats.ended_cleanly &&
              e2e_self_weight(&t, "owner_work", 0) >= 20);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

/* dlopen and dlclose while sampling every 1 ms: no deadlock in libunwind, and the plugin's
 * function is named although its library was mapped (and unmapped) after the recorder began. */
static void test_dlopen(void) {
    char trace[PATH_MAX];
    e2e_path(trace, "dl.sptrace");
    const char *argv[] = {record_bin, "-o", trace, "--interval", "1", "--", dl_user, plugin, NULL};
    e2e_run_result r = e2e_run(argv, NULL, NULL);
    CHECK_EQ_U64("[dlopen] dl_user loads and unloads its plugin five times", r.status, 0);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    uint64_t in_plugin = e2e_self_weight(&t, "plugin_work", 0);
    uint64_t in_dlopen = e2e_self_weight(&t, "dlopen", 0);
    fprintf(stderr,
            "[dlopen] %llu intervals in plugin_work, %llu in dlopen (its constructor), %llu "
            "samples dropped as busy\n",
            (unsigned long long)in_plugin, (unsigned long long)in_dlopen,
            (unsigned long long)t.drops[5]);
    CHECK("[dlopen] the trace ends cleanly", t.open_status == SPT_OK && t.stats.ended_cleanly);
    CHECK("[dlopen] the plugin's function is named in the samples", in_plugin >= 100);
    /* The plugin's constructor burns ~40 ms per load inside dlopen, where the handler cannot
     * unwind: its samples are taken when dlopen returns, innermost frame dlopen. */
    CHECK("[dlopen] CPU time inside dlopen (the constructor) is kept, as dlopen's",
          in_dlopen >= 30);
    CHECK("[dlopen] no sample inside dlopen is dropped", t.drops[5] <= 2);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

/* Below 1 ms: accepted, with one warning, and the weights keep the CPU time right. */
static void test_fine_interval(void) {
    char trace[PATH_MAX];
    e2e_path(trace, "fine.sptrace");
    const char *argv[] = {record_bin, "-o", trace, "--interval", "0.5", "--", lifecycle, "exit",
                          "0", NULL};
    e2e_run_result r = e2e_run(argv, NULL, NULL);
    CHECK_EQ_U64("[0.5 ms] the program runs", r.status, 0);
    CHECK_EQ_U64("[0.5 ms] spprof-record warns once",
                 e2e_count_lines(r.err, "spprof-record: warning: --interval 0.5 ms is below 1 ms"),
                 1);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    uint64_t weight = e2e_self_weight(&t, "main_work", 0);
    fprintf(stderr, "[0.5 ms] %zu samples, main_work weight %llu (%.0f ms)\n", t.n_samples,
            (unsigned long long)weight, (double)weight * 0.5);
    CHECK_EQ_U64("[0.5 ms] the header has the interval", t.header.interval_ns, 500000);
    /* main_work burns 300 ms of CPU; the tick delivers ~250 signals a second, weighted. */
    CHECK("[0.5 ms] weight x interval is main_work's 300 ms, within 15%",
          weight * 5 >= 2550 && weight * 5 <= 3450);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: lifecycle_test SPPROF_RECORD LIFECYCLE STACK_STORM "
                        "SIGPROF_OWNER DL_USER PLUGIN\n");
        return 2;
    }
    e2e_absolute(argv[5], dl_user);
    e2e_absolute(argv[6], plugin);
    e2e_absolute(argv[1], record_bin);
    e2e_absolute(argv[2], lifecycle);
    e2e_absolute(argv[3], stack_storm);
    e2e_absolute(argv[4], sigprof_owner);
    e2e_init("lifecycle_test");
    test_exit_mode("exit", "3", 3);
    test_exit_mode("return", "4", 4);
    test_exit_mode("_exit", "5", 5);
    test_exit_mode("thread-exit", "6", 6);
    test_exit_mode("pthread-exit", NULL, 0);
    test_signal_mode("segv", SIGSEGV);
    test_signal_mode("abort", SIGABRT);
    test_signal_mode("term", SIGTERM);
    test_children();
    test_sigkill();
    test_max_size();
    test_sigprof_owner();
    test_dlopen();
    test_fine_interval();
    return CHECK_DONE();
}
