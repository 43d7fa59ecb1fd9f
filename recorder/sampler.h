/* sampler.h: per-thread CPU-time timers that deliver SIGPROF, and the SIGPROF handler that
 * unwinds the interrupted stack into the thread's ring. The handler is async-signal-safe. */
#ifndef SPPROF_RECORDER_SAMPLER_H
#define SPPROF_RECORDER_SAMPLER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "recorder/ring.h"
#include "recorder/sigsafe.h"

/* sp_sample_entry.flags bits. */
#define SP_SAMPLE_TRUNCATED 0x1u /* the stack had more frames than max_depth */

/* One sample as the handler stores it in a ring. The writer thread turns it into frames, a stack
 * and a SAMPLE record (docs/format.md section 5.3). */
typedef struct {
    uint64_t time_ns; /* CLOCK_MONOTONIC when the sample was taken */
    uint64_t weight;  /* sampling intervals it stands for: 1 + timer overruns */
    uint32_t n_pcs;   /* entries in pcs */
    uint32_t flags;   /* SP_SAMPLE_* bits */
    uint64_t pcs[];   /* instruction addresses, innermost first (see sp_unwind_native) */
} sp_sample_entry;

/* What the sampler keeps per sampled thread. The owner allocates it (never freed while the
 * process may still receive its timer's signal) and the sampler fills it. */
typedef struct {
    sp_ring *ring;               /* where this thread's samples go; one producer: its handler */
    uint32_t max_depth;          /* frames captured per sample */
    int os_tid;                  /* kernel thread id */
    timer_t timer;               /* CLOCK_THREAD_CPUTIME_ID timer that signals this thread */
    _Atomic int timer_armed;     /* timer exists and must be deleted (exactly once) */
    _Atomic int in_handler;      /* the handler is running on this thread right now */
    _Atomic int stopped;         /* set by sp_sampler_stop_thread; the handler then does nothing */
    _Atomic uint64_t handler_ns; /* wall time spent in the handler, a proxy for its CPU time */
} sp_sampler_thread;

/* Why a sampler setup call failed: a constant phrase ("cannot create a CPU-time timer") and the
 * errno value behind it, 0 when there is none. Kept free of formatting so that this file needs
 * no stdio (sigsafe.h); the caller prints it. */
typedef struct {
    const char *what;
    int errnum;
} sp_sampler_error;

/* Installs the process-wide SIGPROF handler (SA_SIGINFO | SA_RESTART, so the profiled program's
 * system calls restart). Fails when another SIGPROF handler is already installed, because the
 * program owns that signal then. Returns 0, or -1 with *err filled. Not async-signal-safe. */
int sp_sampler_install(sp_sampler_error *err);

/* Starts sampling the calling thread: stores t in the thread's initial-exec TLS slot, creates a
 * CLOCK_THREAD_CPUTIME_ID timer that sends SIGPROF to this thread (SIGEV_THREAD_ID) and arms it
 * every interval_ns of the thread's CPU time. t->ring and t->max_depth must be set; each entry
 * reserved is sized for max_depth frames. Returns 0, or -1 with *err filled.
 * Not async-signal-safe. */
int sp_sampler_start_thread(sp_sampler_thread *t, uint64_t interval_ns, sp_sampler_error *err);

/* Stops sampling thread t from any thread: deletes its timer (the kernel discards a signal still
 * queued for it) and waits until a handler running on t has finished, so the ring has no
 * producer afterwards. Idempotent. Not async-signal-safe. */
void sp_sampler_stop_thread(sp_sampler_thread *t);

/* Bytes one ring reservation needs for a sample of max_depth frames. Async-signal-safe. */
SP_SIGNAL_SAFE size_t sp_sampler_entry_bytes(uint32_t max_depth);

/* Sets or clears the calling thread's "inside the recorder" flag. While it is set the handler
 * drops samples instead of re-entering libunwind or the ring (the malloc hooks of issue 3 set it,
 * as gperftools' `recursive` flag). Returns the previous value. Async-signal-safe. */
SP_SIGNAL_SAFE int sp_sampler_set_busy(int busy);

#endif /* SPPROF_RECORDER_SAMPLER_H */
