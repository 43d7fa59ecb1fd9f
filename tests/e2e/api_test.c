/* api_test.c: the C API (recorder/spprof.h) from a program that links the recorder instead of
 * preloading it: misuse returns error codes (stop or marker when idle, start twice, bad
 * options, NULL), a recording started and stopped by the program samples its threads and holds
 * its markers on the right threads, and a second recording after the first works. */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recorder/spprof.h"
#include "tests/check.h"
#include "tests/e2e/e2e_util.h"

static volatile uint64_t sink;

__attribute__((noinline)) static void burn_ms(int ms) {
    struct timespec start, now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
    uint64_t x = 1;
    do {
        for (int i = 0; i < 100000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
    sink += x;
}

/* Work after the burn: no tail call, so each keeps a frame of its own in the stacks. */
__attribute__((noinline)) static void api_phase_one(void) {
    burn_ms(300);
    sink++;
}

__attribute__((noinline)) static void api_thread_work(void) {
    burn_ms(310); /* not 300: identical bodies would be folded into one function */
    sink += 2;
}

__attribute__((noinline)) static void api_second_run(void) {
    burn_ms(200);
    sink += 3;
}

__attribute__((noinline)) static void api_early_work(void) {
    burn_ms(320);
    sink += 4;
}

static int marker_rc;
static atomic_int early_go;

/* Started before spprof_start: the recorder must find it in /proc/self/task. */
static void *early_thread(void *arg) {
    (void)arg;
    while (!atomic_load(&early_go)) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    api_early_work();
    return NULL;
}

static void *worker(void *arg) {
    (void)arg;
    marker_rc = spprof_marker("phase two");
    api_thread_work();
    return NULL;
}

static void test_misuse_when_idle(void) {
    struct spprof_stats st;
    CHECK_EQ_U64("stop when idle is SPPROF_E_IDLE", (unsigned)-spprof_stop(), -SPPROF_E_IDLE);
    CHECK_EQ_U64("a marker when idle is SPPROF_E_IDLE", (unsigned)-spprof_marker("x"),
                 -SPPROF_E_IDLE);
    CHECK_EQ_U64("stats before any start are SPPROF_E_IDLE", (unsigned)-spprof_stats(&st),
                 -SPPROF_E_IDLE);
    CHECK("not active before start", spprof_is_active() == 0);
    CHECK("NULL marker and stats are SPPROF_E_INVALID",
          spprof_marker(NULL) == SPPROF_E_INVALID && spprof_stats(NULL) == SPPROF_E_INVALID);
    spprof_options bad;
    memset(&bad, 0, sizeof bad);
    bad.clock = 7;
    CHECK("an unknown clock is SPPROF_E_INVALID", spprof_start(&bad) == SPPROF_E_INVALID);
    memset(&bad, 0, sizeof bad);
    bad.max_depth = 70000;
    CHECK("a depth over 65535 is SPPROF_E_INVALID", spprof_start(&bad) == SPPROF_E_INVALID);
    memset(&bad, 0, sizeof bad);
    bad.interval_ns = 5000000000ull;
    CHECK("an interval over 1 s is SPPROF_E_INVALID", spprof_start(&bad) == SPPROF_E_INVALID);
    memset(&bad, 0, sizeof bad);
    bad.output = "/nonexistent-dir/x.sptrace";
    CHECK("an output that cannot be created is SPPROF_E_SYSTEM",
          spprof_start(&bad) == SPPROF_E_SYSTEM);
    CHECK("still not active after failed starts", spprof_is_active() == 0);
    CHECK("every code has a message",
          strcmp(spprof_strerror(SPPROF_E_ACTIVE), "already recording") == 0 &&
              strcmp(spprof_strerror(SPPROF_E_IDLE), "not recording") == 0 &&
              spprof_strerror(12345) != NULL);
}

static void test_recording(void) {
    char trace[PATH_MAX];
    e2e_path(trace, "api.sptrace");
    spprof_options o;
    memset(&o, 0, sizeof o);
    o.output = trace;
    o.interval_ns = 1000000;
    pthread_t early;
    pthread_create(&early, NULL, early_thread, NULL);
    CHECK_EQ_U64("start succeeds", (unsigned)-spprof_start(&o), 0);
    atomic_store(&early_go, 1);
    CHECK("active after start", spprof_is_active() == 1);
    CHECK("starting twice is SPPROF_E_ACTIVE", spprof_start(&o) == SPPROF_E_ACTIVE);
    CHECK("a marker while recording succeeds", spprof_marker("phase one") == SPPROF_OK);
    api_phase_one();
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    pthread_join(early, NULL);
    CHECK("a marker from another thread succeeds", marker_rc == SPPROF_OK);
    struct timespec drain = {0, 300000000}; /* the writer drains every 100 ms */
    nanosleep(&drain, NULL);
    struct spprof_stats st;
    CHECK("stats while recording succeed", spprof_stats(&st) == SPPROF_OK && st.active == 1);
    fprintf(stderr, "stats: %llu samples, %llu threads, %llu bytes, %.2f s\n",
            (unsigned long long)st.samples, (unsigned long long)st.threads,
            (unsigned long long)st.file_bytes, (double)st.duration_ns / 1e9);
    CHECK("they count samples and the three threads", st.samples >= 50 && st.threads == 3);
    CHECK("stop succeeds", spprof_stop() == SPPROF_OK);
    CHECK("not active after stop", spprof_is_active() == 0);
    CHECK("stopping twice is SPPROF_E_IDLE", spprof_stop() == SPPROF_E_IDLE);
    CHECK("a marker after stop is SPPROF_E_IDLE", spprof_marker("late") == SPPROF_E_IDLE);
    CHECK("stats after stop give the last recording's, inactive",
          spprof_stats(&st) == SPPROF_OK && st.active == 0 && st.samples >= 50 &&
              st.file_bytes > 0);

    e2e_trace tr;
    e2e_read_trace(trace, NULL, &tr);
    CHECK("the trace ends cleanly with END reason stopped",
          tr.open_status == SPT_OK && tr.stats.ended_cleanly &&
              tr.stats.end.reason == SPT_END_STOPPED);
    CHECK_EQ_U64("its header has our pid", tr.header.pid, getpid());
    CHECK_EQ_U64("it samples at 1 ms", tr.header.interval_ns, 1000000);
    const e2e_thread *main_thread = NULL, *other = NULL;
    for (size_t i = 0; i < tr.n_threads; i++) {
        if (e2e_stack_has(&tr, tr.threads[i].id, "api_phase_one")) {
            main_thread = &tr.threads[i];
        }
        if (e2e_stack_has(&tr, tr.threads[i].id, "api_thread_work")) {
            other = &tr.threads[i];
        }
    }
    CHECK("both functions were sampled, on two threads",
          main_thread != NULL && other != NULL && main_thread->id != other->id);
    const e2e_thread *adopted = NULL;
    for (size_t i = 0; i < tr.n_threads; i++) {
        if (e2e_stack_has(&tr, tr.threads[i].id, "api_early_work")) {
            adopted = &tr.threads[i];
        }
    }
    CHECK("the thread started before spprof_start was found and sampled",
          adopted != NULL && adopted != main_thread && adopted != other);
    CHECK("and its end was seen", adopted != NULL && adopted->ended);
    CHECK_EQ_U64("two markers are recorded", tr.n_markers, 2);
    if (tr.n_markers == 2 && main_thread != NULL && other != NULL) {
        CHECK("'phase one' is on the main thread",
              strcmp(tr.markers[0], "phase one") == 0 && tr.marker_threads[0] == main_thread->id);
        CHECK("'phase two' is on the worker thread",
              strcmp(tr.markers[1], "phase two") == 0 && tr.marker_threads[1] == other->id);
    }
    CHECK("the stats' sample count is the trace's", st.samples == tr.n_samples);
    e2e_free_trace(&tr);

    /* A second recording in the same process. */
    e2e_path(trace, "api2.sptrace");
    o.output = trace;
    o.quiet = 1;
    CHECK("a second start succeeds", spprof_start(&o) == SPPROF_OK);
    api_second_run();
    CHECK("and its stop", spprof_stop() == SPPROF_OK);
    e2e_read_trace(trace, NULL, &tr);
    /* One check per condition, with the figures: CI once failed the combined check without a
     * clue which part (it did not recur in 10 local runs). */
    fprintf(stderr, "second recording: open %d, ended cleanly %d, %llu samples\n",
            (int)tr.open_status, tr.stats.ended_cleanly, (unsigned long long)tr.n_samples);
    CHECK("the second trace opens and ends cleanly",
          tr.open_status == SPT_OK && tr.stats.ended_cleanly);
    CHECK("it holds at least 10 samples (200 ms of CPU at 1 ms)", tr.n_samples >= 10);
    CHECK("and api_second_run", e2e_stack_has(&tr, 0, "api_second_run"));
    CHECK("and nothing of the first", !e2e_stack_has(&tr, 0, "api_phase_one"));
    e2e_free_trace(&tr);

    /* Defaults: NULL options write spprof-<pid>.sptrace in the current directory. */
    char cwd[PATH_MAX];
    char expected[PATH_MAX + 64];
    if (getcwd(cwd, sizeof cwd) != NULL && chdir(e2e_tmp) == 0) {
        CHECK("start(NULL) succeeds", spprof_start(NULL) == SPPROF_OK);
        api_second_run();
        CHECK("and stops", spprof_stop() == SPPROF_OK);
        snprintf(expected, sizeof expected, "%s/spprof-%d.sptrace", e2e_tmp, (int)getpid());
        CHECK("the default trace is spprof-<pid>.sptrace in the cwd", e2e_file_size(expected) > 0);
        if (chdir(cwd) != 0) {
            CHECK("back to the original directory", 0);
        }
    }
}

int main(void) {
    e2e_init("api_test");
    test_misuse_when_idle();
    test_recording();
    return CHECK_DONE();
}
