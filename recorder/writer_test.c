/* writer_test.c: the registry, the rings and the writer thread's drain, driven from plain
 * threads without signals (the tsan config checks their synchronization): four threads
 * register, fill their rings with samples of known stacks, rename themselves, leave a marker
 * and end, while the writer drains and a sync request comes in; the trace read back must hold
 * every sample that was not counted as dropped, every thread with its end and new name, and
 * the markers. The recorder's libc interposition (interpose.c) is left out: its few entry
 * points used here are defined below with the real functions. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recorder/events.h"
#include "recorder/interpose.h"
#include "recorder/threads.h"
#include "recorder/wake.h"
#include "recorder/writer_thread.h"
#include "tests/check.h"

#define PRODUCERS        4
#define SAMPLES_EACH     3000
#define FRAMES_PER_STACK 3

/* ---- what interpose.c provides in the library ---- */

void sp_interpose_init(void) {
}

int sp_real_sigaction(int signo, const struct sigaction *act, struct sigaction *oldact) {
    return sigaction(signo, act, oldact);
}

void sp_real_exit(int status) {
    _exit(status);
}

static void *internal_start(void *arg) {
    void **pair = arg;
    void *(*start)(void *) = (void *(*)(void *))pair[0];
    void *start_arg = pair[1];
    free(pair);
    sp_threads_note_internal((int)gettid());
    return start(start_arg);
}

int sp_create_internal_thread(pthread_t *thread, void *(*start)(void *), void *arg) {
    void **pair = malloc(2 * sizeof *pair);
    pair[0] = (void *)start;
    pair[1] = arg;
    return pthread_create(thread, NULL, internal_start, pair);
}

/* ---- the producers ---- */

__attribute__((noinline)) void fake_root(void);
__attribute__((noinline)) void fake_mid(void);
__attribute__((noinline)) void fake_leaf(void);
__attribute__((noinline)) void fake_root(void) {
    __asm__ volatile("nop; nop; nop; nop");
}
__attribute__((noinline)) void fake_mid(void) {
    __asm__ volatile("nop; nop; nop; nop; nop");
}
__attribute__((noinline)) void fake_leaf(void) {
    __asm__ volatile("nop; nop; nop; nop; nop; nop");
}

static atomic_ullong produced;   /* samples committed */
static atomic_ullong refused;    /* reservations the ring refused (counted there as full) */
static atomic_int registered;

static void *producer(void *arg) {
    uintptr_t k = (uintptr_t)arg;
    sp_thread *t = sp_threads_register_self(0);
    if (t == NULL) {
        return NULL;
    }
    atomic_fetch_add(&registered, 1);
    sp_events_marker(k % 2 ? "odd producer" : "even producer");
    for (int i = 0; i < SAMPLES_EACH; i++) {
        sp_sample_entry *e = sp_ring_reserve(t->s.ring, sp_sampler_entry_bytes(FRAMES_PER_STACK));
        if (e == NULL) {
            atomic_fetch_add(&refused, 1);
            sched_yield(); /* let the writer drain */
            continue;
        }
        e->time_ns = sp_monotonic_ns();
        e->weight = 1 + (uint64_t)(i % 3);
        e->n_pcs = FRAMES_PER_STACK;
        e->flags = 0;
        /* Innermost first: the exact pc in fake_leaf, then return addresses into the others. */
        e->pcs[0] = (uint64_t)(uintptr_t)fake_leaf + 1 + (uint64_t)(i % 4);
        e->pcs[1] = (uint64_t)(uintptr_t)fake_mid + 2;
        e->pcs[2] = (uint64_t)(uintptr_t)fake_root + 2;
        sp_ring_commit(t->s.ring, sp_sampler_entry_bytes(FRAMES_PER_STACK));
        atomic_fetch_add(&produced, 1);
        if (i == SAMPLES_EACH / 2) {
            char name[16];
            snprintf(name, sizeof name, "producer-%u", (unsigned)k);
            sp_threads_renamed(1, pthread_self(), name);
        }
    }
    sp_threads_end_self();
    return NULL;
}

int main(void) {
    char path[256];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/writer_test.sptrace", tmp != NULL ? tmp : "/tmp");
    sp_threads_config tc = {64, 100u << 20, 0};
    char err[512];
    CHECK("the registry sets up", sp_threads_setup(&tc, err, sizeof err) == 0);
    sp_sampler_set_mode(SP_SAMPLER_OFF); /* no timers, no signals: the producers are plain */
    sp_writer_config wc = {
        .output_path = path,
        .interval_ns = 1000000,
        .max_depth = 64,
        .trace_id = "00112233445566778899aabbccddeeff",
        .start_wall_ns = 1,
        .start_mono_ns = sp_monotonic_ns(),
        .clock = SPT_CLOCK_CPU_THREAD,
        .parent_trace = "",
    };
    CHECK("the writer starts", sp_writer_thread_start(&wc, err, sizeof err) == 0);
    sp_events_enable(1, NULL);
    sp_threads_enable();
    pthread_t threads[PRODUCERS];
    for (uintptr_t k = 0; k < PRODUCERS; k++) {
        pthread_create(&threads[k], NULL, producer, (void *)k);
    }
    sp_writer_thread_sync(1000000000u); /* a drain on request, racing the producers */
    for (int k = 0; k < PRODUCERS; k++) {
        pthread_join(threads[k], NULL);
    }
    sp_threads_disable();
    sp_events_enable(0, NULL);
    sp_writer_summary s;
    sp_writer_thread_finish(SPT_END_STOPPED, 0, 0, &s);
    sp_threads_teardown();
    CHECK("the trace finished cleanly", s.ok);
    CHECK_EQ_U64("every producer registered", atomic_load(&registered), PRODUCERS);

    spt_reader *r = NULL;
    CHECK("the trace opens", spt_reader_open(path, NULL, &r) == SPT_OK);
    uint64_t samples = 0, full_drops = 0, markers = 0, ends = 0, renames = 0, named_ok = 0;
    uint64_t stacks_ok = 0;
    spt_event ev;
    while (spt_reader_next(r, &ev) == SPT_OK) {
        if (ev.kind == SPT_EV_SAMPLE) {
            samples++;
            const spt_stack *st = spt_reader_stack(r, ev.u.sample.stack);
            const char *names[3] = {"fake_leaf", "fake_mid", "fake_root"};
            int ok = st != NULL && st->depth == 3;
            for (int i = 0; ok && i < 3; i++) {
                const spt_frame *f = spt_reader_frame(r, st->frame);
                ok = f != NULL && strcmp(spt_reader_string(r, f->function), names[i]) == 0;
                st = st->parent != 0 ? spt_reader_stack(r, st->parent) : NULL;
            }
            stacks_ok += ok;
        } else if (ev.kind == SPT_EV_DROPS && ev.u.drops.reason == SPT_DROP_RING_FULL) {
            full_drops += ev.u.drops.count;
        } else if (ev.kind == SPT_EV_MARKER) {
            markers++;
        } else if (ev.kind == SPT_EV_THREAD_END) {
            ends++;
        } else if (ev.kind == SPT_EV_THREAD_NAME) {
            renames++;
            named_ok += strncmp(spt_reader_string(r, ev.u.thread_info.name), "producer-", 9) == 0;
        }
    }
    fprintf(stderr, "%llu produced, %llu refused; trace: %llu samples, %llu ring-full drops\n",
            (unsigned long long)atomic_load(&produced), (unsigned long long)atomic_load(&refused),
            (unsigned long long)samples, (unsigned long long)full_drops);
    CHECK_EQ_U64("every committed sample is in the trace", samples, atomic_load(&produced));
    CHECK_EQ_U64("every refused one is counted as ring-full", full_drops, atomic_load(&refused));
    CHECK_EQ_U64("every stack reads fake_leaf < fake_mid < fake_root", stacks_ok, samples);
    CHECK_EQ_U64("four threads are defined", spt_reader_thread_count(r), PRODUCERS);
    CHECK_EQ_U64("and all four ended", ends, PRODUCERS);
    /* A rename before the writer first saw the thread is in its THREAD record; after, in a
     * THREAD_NAME record. Either way every thread ends up named producer-<k>. */
    uint64_t final_ok = 0;
    for (uint32_t id = 1; id <= spt_reader_thread_count(r); id++) {
        const spt_thread *th = spt_reader_thread(r, id);
        final_ok += th != NULL && strncmp(spt_reader_string(r, th->name), "producer-", 9) == 0;
    }
    CHECK("every rename is recorded", final_ok == PRODUCERS && named_ok == renames);
    CHECK_EQ_U64("each marker is recorded", markers, PRODUCERS);
    CHECK_EQ_U64("END counts the samples", spt_reader_get_stats(r)->end.samples, samples);
    spt_reader_close(r);
    return CHECK_DONE();
}
