/* wall_test.c: --clock wall end to end with tests/programs/sleeper, whose threads wait in
 * nanosleep, poll, select and epoll_wait while one burns CPU. Sampling every 1 ms must cut none
 * of those waits short (no EINTR, no early return: sleeper checks), every waiting thread must be
 * sampled idle in its waiting function for about its whole life, and the burner sampled as
 * running. Usage: wall_test SPPROF_RECORD SLEEPER. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "tests/e2e/e2e_util.h"

static char record_bin[PATH_MAX];
static char sleeper[PATH_MAX];

static const e2e_thread *thread_named(const e2e_trace *t, const char *name) {
    for (size_t i = 0; i < t->n_threads; i++) {
        if (strcmp(t->threads[i].last_name, name) == 0) {
            return &t->threads[i];
        }
    }
    return NULL;
}

/* Share of thread's samples (by weight) whose innermost frame is inner and whose kept frames
 * include caller. */
static double share_in(const e2e_trace *t, uint32_t thread, const char *inner, const char *caller) {
    uint64_t hit = 0, all = 0;
    for (size_t i = 0; i < t->n_samples; i++) {
        const e2e_sample *s = &t->samples[i];
        if (s->thread != thread || s->n_names == 0) {
            continue;
        }
        all += s->weight;
        int has_caller = 0;
        for (uint32_t k = 0; k < s->n_names; k++) {
            has_caller |= strcmp(s->names[k], caller) == 0;
        }
        hit += strcmp(s->names[0], inner) == 0 && has_caller ? s->weight : 0;
    }
    return all > 0 ? (double)hit / (double)all : 0.0;
}

static void run_case(const char *interval, double interval_s) {
    char trace[PATH_MAX], name[64];
    snprintf(name, sizeof name, "wall-%s.sptrace", interval);
    e2e_path(trace, name);
    const char *argv[] = {record_bin,   "-o",     trace, "--clock", "wall",
                          "--interval", interval, "--",  sleeper,   NULL};
    e2e_run_result r = e2e_run(argv, NULL, NULL);
    fprintf(stderr, "[%s ms] %s%s", interval, r.out, r.err);
    CHECK_EQ_U64("sleeper exits 0: no wait ended in EINTR or early, at most 2 of 40 were late",
                 r.status, 0);
    CHECK("it reports 40 waits, none interrupted, none cut short",
          strncmp(r.out, "sleeper: 40 waits, 0 interrupted, 0 cut short, ", 47) == 0);
    e2e_trace t;
    e2e_read_trace(trace, NULL, &t);
    CHECK("the trace ends cleanly", t.open_status == SPT_OK && t.stats.ended_cleanly);
    CHECK_EQ_U64("header: wall clock", t.header.clock, SPT_CLOCK_WALL);
    CHECK_EQ_U64("six threads recorded (main, four waiters, the burner; not the recorder's)",
                 t.n_threads, 6);
    static const char *const waiters[4][3] = {
        {"nanosleeper", "clock_nanosleep", "wait_in_nanosleep"},
        {"poller", "__poll", "wait_in_poll"},
        {"selecter", "__select", "wait_in_select"},
        {"epoller", "epoll_wait", "wait_in_epoll"},
    };
    for (int i = 0; i < 4; i++) {
        const e2e_thread *th = thread_named(&t, waiters[i][0]);
        char what[200];
        snprintf(what, sizeof what, "[%s ms] thread %s is recorded", interval, waiters[i][0]);
        CHECK(what, th != NULL);
        if (th == NULL) {
            continue;
        }
        uint64_t all = e2e_weight(&t, th->id, 0, 0);
        uint64_t idle = e2e_weight(&t, th->id, SPT_SAMPLE_IDLE, SPT_SAMPLE_IDLE);
        double seconds = (double)all * interval_s;
        double in_wait = share_in(&t, th->id, waiters[i][1], waiters[i][2]);
        fprintf(stderr, "[%s ms] %s: %.2f s sampled, %.0f%% idle, %.0f%% in %s < %s\n", interval,
                waiters[i][0], seconds, 100.0 * (double)idle / (double)(all ? all : 1),
                100.0 * in_wait, waiters[i][1], waiters[i][2]);
        snprintf(what, sizeof what, "[%s ms] %s is sampled for its whole life (~1 s)", interval,
                 waiters[i][0]);
        CHECK(what, seconds > 0.8 && seconds < 1.3);
        snprintf(what, sizeof what, "[%s ms] %s's samples are 80%% idle", interval, waiters[i][0]);
        CHECK(what, idle * 10 >= all * 8);
        snprintf(what, sizeof what, "[%s ms] 90%% of %s's time is in %s called from %s", interval,
                 waiters[i][0], waiters[i][1], waiters[i][2]);
        CHECK(what, in_wait >= 0.9);
        snprintf(what, sizeof what, "[%s ms] %s's stacks reach start_thread", interval,
                 waiters[i][0]);
        CHECK(what, e2e_stack_has(&t, th->id, "start_thread"));
    }
    const e2e_thread *burner = thread_named(&t, "burner");
    CHECK("the burner is recorded", burner != NULL);
    if (burner != NULL) {
        uint64_t all = e2e_weight(&t, burner->id, 0, 0);
        uint64_t running = e2e_weight(&t, burner->id, SPT_SAMPLE_IDLE, 0);
        fprintf(stderr, "[%s ms] burner: %.2f s sampled, %.0f%% running\n", interval,
                (double)all * interval_s, 100.0 * (double)running / (double)(all ? all : 1));
        CHECK("the burner's samples are 90% running (not idle)", running * 10 >= all * 9);
        CHECK("and in burn_for_a_second", e2e_stack_has(&t, burner->id, "burn_for_a_second"));
    }
    CHECK("the summary reports the rate achieved", strstr(r.err, " Hz asked") != NULL);
    e2e_free_trace(&t);
    e2e_free_result(&r);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: wall_test SPPROF_RECORD SLEEPER\n");
        return 2;
    }
    e2e_absolute(argv[1], record_bin);
    e2e_absolute(argv[2], sleeper);
    e2e_init("wall_test");
    run_case("1", 0.001);
    run_case("10", 0.010);
    return CHECK_DONE();
}
