/* writer_state.h: the writer thread's state and helpers, shared by writer_thread.c (the
 * thread, its loop, start and finish, allocations) and writer_samples.c (samples, threads,
 * events and drops written in each drain pass). Internal to those two files; writer thread only
 * unless a field says otherwise. Not async-signal-safe. */
#ifndef SPPROF_RECORDER_WRITER_STATE_H
#define SPPROF_RECORDER_WRITER_STATE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "recorder/sampler.h"
#include "recorder/symbols.h"
#include "recorder/threads.h"
#include "recorder/writer_thread.h"
#include "tracefmt/sptrace.h"

#define CAP_MARGIN 8192u /* bytes kept free under --max-size for END and framing */

typedef struct {
    pthread_mutex_t lock; /* serializes start and finish */
    pthread_mutex_t work; /* held by the writer while it drains; fork holds it across fork() */
    atomic_int stop;      /* finish asked the writer to end the trace */
    atomic_int fatal_signo; /* a fatal signal asked the writer to end the trace */
    _Atomic uint32_t ended; /* futex word: 1 once the trace is closed */
    _Atomic uint32_t drain_req;  /* sync requests made */
    _Atomic uint32_t drain_done; /* futex word: requests served */
    spt_end_reason end_reason;
    int32_t end_status;
    uint64_t setup_cpu_ns;
    atomic_int state; /* 0 idle, 1 running (the trace may have ended), 2 finishing */
    pthread_t thread;
    _Atomic int writer_tid;
    int fd;
    spt_writer *w;
    sp_writer_config config;
    sp_symbols *symbols;      /* created by the writer thread itself, at the first sample */
    uint32_t truncated_frame; /* frame id of "[truncated]", 0 until first needed */
    uint32_t *frames;         /* scratch: one sample's frame ids, outermost first */
    size_t n_frames;
    size_t cap_frames;
    sp_thread **snap;         /* scratch: the registry's live list */
    size_t snap_cap;
    uint64_t start_mono_ns;
    uint32_t max_depth;
    _Atomic uint64_t samples;   /* SAMPLE records written */
    uint64_t sample_weight;     /* their weights */
    _Atomic uint64_t dropped;   /* samples dropped, all reasons, as reported */
    _Atomic uint64_t threads;   /* THREAD records written */
    _Atomic uint64_t file_bytes;
    uint64_t children;          /* CHILD records written */
    uint64_t truncated_pending; /* truncated stacks not yet written as a DROPS record */
    uint64_t dropped_remote;    /* remote-ring drops already reported */
    uint64_t handler_ns_recycled; /* handler time of threads already recycled */
    uint64_t tramp_lo, tramp_hi;  /* sp_threads_trampoline's code, left out of stacks */
    uint64_t own_lo, own_hi;      /* the recorder's code (sp_own_text); own_hi 0 until looked up */
    uint64_t hook_weight;         /* sample weight whose innermost frame is the recorder's code */
    uint64_t pass;                /* drain passes so far */
    int main_exited;              /* the main thread called pthread_exit */
    int last_thread_gone;         /* ... and every other program thread has ended since */
    uint64_t last_flush_ns;
    uint64_t raw_at_flush; /* spt_writer_raw_bytes at the last flush */
    int failed;
    int capped;            /* --max-size ended the trace */
    int signal_warned;     /* the program's handler replaced ours: said once */
    char error[512];
    char path[PATH_MAX];
    char parent_trace[PATH_MAX];
    dev_t fd_dev;          /* the trace file's identity, for check_fd */
    ino_t fd_ino;
    sp_writer_summary summary; /* filled by the writer thread as it exits */
} sp_writer_state;

extern sp_writer_state sp_writer_g;

/* The two writer files call the state g, as writer_thread.c always has. */
#define g sp_writer_g

/* CLOCK_* in nanoseconds. */
uint64_t sp_writer_clock_ns(clockid_t clock);

/* Nanoseconds since the trace started; the trace time of a CLOCK_MONOTONIC instant. */
uint64_t sp_writer_trace_now_ns(void);
uint64_t sp_writer_trace_time(uint64_t mono_ns);

/* Stops every source of samples (writer_thread.c). */
void sp_writer_stop_all_sampling(void);

/* Records the first error once, says so, stops sampling (writer_thread.c). */
void sp_writer_fail(const char *why);

/* writer_samples.c: one drain pass's pieces. */
int sp_writer_check_fd(void);
void sp_writer_define_thread(sp_thread *t);
int sp_writer_at_cap(void);
int sp_writer_reserve_frames(size_t n);
uint32_t sp_writer_record_sample(sp_thread *t, const sp_sample_entry *e);
void sp_writer_write_drops(spt_drop_reason reason, uint64_t count);
void sp_writer_write_events(size_t n_threads);
void sp_writer_drain_remote(void);
void sp_writer_drain_thread(sp_thread *t);
void sp_writer_resolve_stack_tops(size_t n_threads);

/* The short names both files use. */
static inline uint64_t clock_ns(clockid_t clock) {
    return sp_writer_clock_ns(clock);
}
static inline uint64_t trace_now_ns(void) {
    return sp_writer_trace_now_ns();
}
static inline uint64_t trace_time(uint64_t mono_ns) {
    return sp_writer_trace_time(mono_ns);
}
static inline void stop_all_sampling(void) {
    sp_writer_stop_all_sampling();
}
static inline void fail(const char *why) {
    sp_writer_fail(why);
}
static inline int check_fd(void) {
    return sp_writer_check_fd();
}
static inline void define_thread(sp_thread *t) {
    sp_writer_define_thread(t);
}
static inline int at_cap(void) {
    return sp_writer_at_cap();
}
static inline int reserve_frames(size_t n) {
    return sp_writer_reserve_frames(n);
}
static inline uint32_t record_sample(sp_thread *t, const sp_sample_entry *e) {
    return sp_writer_record_sample(t, e);
}
static inline void write_drops(spt_drop_reason reason, uint64_t count) {
    sp_writer_write_drops(reason, count);
}
static inline void write_events(size_t n_threads) {
    sp_writer_write_events(n_threads);
}
static inline void drain_remote(void) {
    sp_writer_drain_remote();
}
static inline void drain_thread(sp_thread *t) {
    sp_writer_drain_thread(t);
}
static inline void resolve_stack_tops(size_t n_threads) {
    sp_writer_resolve_stack_tops(n_threads);
}

#endif /* SPPROF_RECORDER_WRITER_STATE_H */
