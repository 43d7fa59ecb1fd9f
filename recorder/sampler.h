/* sampler.h: the sampling signal and its handler, and the timers that send it: a CPU-time timer
 * per thread (default), one process-wide ITIMER_PROF (fallback where per-thread timers are
 * refused), or requests from the wall-clock sampler thread (wall.c). The handler unwinds the
 * interrupted stack into the thread's ring; it is async-signal-safe. */
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
#define SP_SAMPLE_IDLE      0x2u /* wall clock: the thread did not run since its last sample */
#define SP_SAMPLE_REPEAT    0x4u /* wall clock: the stack of the thread's previous remote sample */
/* Recorder-internal, not written to the trace: taken at the end of dlopen or dlclose, so the
 * loader's time, though its innermost frame is in this library. */
#define SP_SAMPLE_LOADER 0x8u

/* One sample as it sits in a ring. The writer thread turns it into frames, a stack and a SAMPLE
 * record (docs/format.md section 5.3). */
typedef struct {
    uint64_t time_ns; /* CLOCK_MONOTONIC when the sample was taken */
    uint64_t weight;  /* sampling intervals it stands for: 1 + timer overruns */
    uint32_t n_pcs;   /* entries in pcs */
    uint32_t flags;   /* SP_SAMPLE_* bits */
    uint64_t pcs[];   /* instruction addresses, innermost first (see sp_unwind_native) */
} sp_sample_entry;

/* How samples are triggered. */
typedef enum {
    SP_SAMPLER_OFF = 0,         /* no sampling: idle, or the program took the signal */
    SP_SAMPLER_THREAD_CPU = 1,  /* a CLOCK_THREAD_CPUTIME_ID timer per thread, SIGEV_THREAD_ID */
    SP_SAMPLER_PROCESS_CPU = 2, /* one ITIMER_PROF for the whole process (always SIGPROF) */
    SP_SAMPLER_WALL = 3         /* the wall-clock sampler thread signals running threads */
} sp_sampler_mode;

/* How the handler unwinds. */
typedef enum {
    SP_UNWIND_LIBUNWIND = 0, /* DWARF CFI through libunwind: every frame, slower */
    SP_UNWIND_FP = 1         /* the frame-pointer chain: fast, needs -fno-omit-frame-pointer */
} sp_unwind_method;

/* The sampler's part of a thread's state. It lives at offset 0 of the registry's sp_thread
 * (threads.h), in memory that is never unmapped, so a late signal never reads freed memory. */
typedef struct {
    sp_ring *ring;      /* where samples go; NULL when the memory limit left no ring */
    uint32_t max_depth; /* frames captured per sample */
    int os_tid;         /* kernel thread id; 0 while the slot is free */
    uint64_t stack_hi;  /* frame-pointer unwinding: frames lie below this address; 0 = unknown */
    _Atomic uint64_t sp_seen;     /* stack_hi unknown: a stack pointer the handler saw there */
    timer_t timer;                /* CPU-time timer of this thread (SP_SAMPLER_THREAD_CPU) */
    _Atomic int timer_armed;      /* the timer exists and must be deleted (exactly once) */
    _Atomic int live;             /* sampled: set by sp_sampler_start_*, cleared by stop */
    _Atomic int in_handler;       /* the handler is running on this thread right now */
    _Atomic int unwinding;        /* the handler is inside libunwind (the fork gate, unwind.h) */
    _Atomic int stopped;          /* set by sp_sampler_stop_thread; the handler then does nothing */
    _Atomic uint64_t wall_weight; /* wall: intervals the next requested sample stands for */
    _Atomic int wall_pending;     /* wall: a request is on its way and not yet handled */
    _Atomic uint64_t handler_ns;  /* wall time spent in the handler, a proxy for its CPU */
    _Atomic uint64_t dropped_busy;   /* samples the recorder was too busy to take (DROPS 5) */
    _Atomic uint64_t dropped_fork;   /* samples lost while a fork held libunwind (DROPS 6) */
    _Atomic uint64_t dropped_noring; /* samples lost because the thread had no ring */
} sp_sampler_thread;

/* Why a sampler setup call failed: a constant phrase and the errno value behind it (0 if none).
 * Free of formatting so that this file needs no stdio (sigsafe.h); the caller prints it. */
typedef struct {
    const char *what;
    int errnum;
} sp_sampler_error;

/* What every thread shares. */
typedef struct {
    sp_sampler_mode mode;
    int signo; /* the signal timers and requests send (SIGPROF unless --signal) */
    sp_unwind_method unwind;
    uint64_t interval_ns;
} sp_sampler_config;

/* Tells the handler where registry slots live, so it can validate a pointer that arrives in a
 * signal's si_value and find the calling thread's slot by tid (ITIMER_PROF signals carry no
 * pointer). Slot i is at base + i * stride; *count slots are in use. Not async-signal-safe. */
void sp_sampler_set_registry(void *base, size_t stride, size_t capacity,
                             const _Atomic size_t *count);

/* Installs the handler for config->signo (real sigaction, SA_SIGINFO | SA_RESTART) and makes
 * config current. Fails when the program has its own handler for that signal (see
 * sp_sampler_signal_taken). Returns 0, or -1 with *err filled. Not async-signal-safe. */
int sp_sampler_install(const sp_sampler_config *config, sp_sampler_error *err);

/* Switches the mode (SP_SAMPLER_OFF stops every handler from sampling; timers must be stopped
 * separately). Async-signal-safe. */
SP_SIGNAL_SAFE void sp_sampler_set_mode(sp_sampler_mode mode);

/* The current mode. Async-signal-safe. */
SP_SIGNAL_SAFE sp_sampler_mode sp_sampler_get_mode(void);

/* The signal sampling uses. Async-signal-safe. */
SP_SIGNAL_SAFE int sp_sampler_signo(void);

/* Is our handler installed for signo right now? Used to notice a program that replaced it
 * without going through the interposed sigaction. Not async-signal-safe. */
int sp_sampler_handler_installed(int signo);

/* Checks whether per-thread CPU timers can be created here (a seccomp profile may refuse
 * timer_create). force_refuse simulates refusal (the SPPROF_TEST_PROCESS_TIMER hook). Returns
 * 0, or -1 with *err filled. Not async-signal-safe. */
int sp_sampler_probe_thread_timer(int force_refuse, sp_sampler_error *err);

/* Starts sampling the calling thread: stores t in its TLS slot and, in SP_SAMPLER_THREAD_CPU
 * mode, creates its CPU-time timer that signals this thread every interval of its CPU time.
 * t->ring and t->max_depth must be set. Returns 0, or -1 with *err filled.
 * Not async-signal-safe. */
int sp_sampler_start_self(sp_sampler_thread *t, sp_sampler_error *err);

/* Starts sampling another thread of this process (found in /proc/self/task): its CPU clock is
 * derived from its tid, and the timer signals that thread, whose handler adopts t on the first
 * signal. Returns 0, or -1 with *err filled. Not async-signal-safe. */
int sp_sampler_start_other(sp_sampler_thread *t, int tid, sp_sampler_error *err);

/* Moves sampling to signo: installs the handler there and makes it the signal that timers
 * created from now on and wall-clock requests send. Timers already armed keep the old signal
 * until sp_sampler_rearm. Returns 0, or -1 with *err filled. Not async-signal-safe. */
int sp_sampler_move_signal(int signo, sp_sampler_error *err);

/* Re-creates thread t's CPU-time timer on the current sampling signal, when t has one armed
 * (SP_SAMPLER_THREAD_CPU mode) and is not stopping. The caller holds the registry lock, under
 * which timers are armed (threads.c), so t's own thread does not arm it meanwhile. Returns 0,
 * or -1 with *err filled (t is then no longer sampled). Not async-signal-safe. */
int sp_sampler_rearm(sp_sampler_thread *t, sp_sampler_error *err);

/* Arms (interval_ns > 0) or disarms the process-wide ITIMER_PROF. Returns 0 or -1 with *err.
 * Not async-signal-safe. */
int sp_sampler_process_timer(uint64_t interval_ns, sp_sampler_error *err);

/* Stops sampling thread t from any thread: deletes its timer (the kernel discards a signal still
 * queued for a deleted timer) and waits until a handler running on t has finished, so its ring
 * has no producer afterwards. Idempotent. Not async-signal-safe. */
void sp_sampler_stop_thread(sp_sampler_thread *t);

/* Wall-clock mode: asks thread t for one sample that stands for `weight` intervals, by queueing
 * the sampling signal to it with t in si_value. A request still pending adds its weight to the
 * next instead. Returns 0, or -1 when the thread is gone. Not async-signal-safe. */
int sp_sampler_request(sp_sampler_thread *t, uint64_t weight);

/* Bytes one ring reservation needs for a sample of max_depth frames. Async-signal-safe. */
SP_SIGNAL_SAFE size_t sp_sampler_entry_bytes(uint32_t max_depth);

/* The flag behind sp_sampler_busy. Exposed (initial-exec: one %fs-relative load) only so that
 * the check and the setter inline into the malloc hooks, which use it on every allocation;
 * write it through sp_sampler_set_busy. */
extern __thread int sp_sampler_tls_busy __attribute__((tls_model("initial-exec")));

/* sp_sampler_set_busy values besides 0. SP_SAMPLER_BUSY: inside the recorder, a sample arriving
 * now is dropped (counted). SP_SAMPLER_BUSY_HOOK: inside an allocation hook, a sample arriving
 * now is deferred to the hook's end (sp_sampler_take_deferred), so that the CPU time the hooks
 * take stays in the profile. */
#define SP_SAMPLER_BUSY      1
#define SP_SAMPLER_BUSY_HOOK 2

/* Sampling intervals deferred on the calling thread by samples that arrived inside an allocation
 * hook or inside dlopen/dlclose; added to by the handler, taken by sp_sampler_take_deferred.
 * Exposed for the inline check below. */
extern __thread _Atomic uint64_t sp_sampler_tls_deferred __attribute__((tls_model("initial-exec")));

/* Nonzero when a sample is waiting for the calling thread's allocation hook, dlopen or dlclose
 * to end. They check it once they are done. Async-signal-safe. */
SP_SIGNAL_SAFE static inline int sp_sampler_deferred_pending(void) {
    return atomic_load_explicit(&sp_sampler_tls_deferred, memory_order_relaxed) != 0;
}

/* Takes the sample deferred on the calling thread (sp_sampler_deferred_pending), if any, as one
 * sample of the intervals waiting: its stack is unwound from here, and kept from the frame that
 * called the interposed function outwards, with the interposed function itself (malloc, free,
 * dlopen...) as the innermost frame. caller is that function's return address
 * (__builtin_return_address(0) in it); flags are SP_SAMPLE_* bits for the entry (SP_SAMPLE_LOADER
 * from the loader's wrappers). Call once the interposed function's work is done, with
 * the busy flag clear and outside dlopen; otherwise the sample stays pending for a later call.
 * The time it takes counts as the recorder's, as the handler's own does. Not re-entrant per
 * thread (it sets the busy flag itself); async-signal-safe as far as libunwind is. */
SP_SIGNAL_SAFE void sp_sampler_take_deferred(uintptr_t caller, uint32_t flags);

/* The calling thread's "inside the recorder" flag, as set by sp_sampler_set_busy: the malloc
 * hooks (heap.c) read it on every call. Async-signal-safe. */
SP_SIGNAL_SAFE static inline int sp_sampler_busy(void) {
    return sp_sampler_tls_busy;
}

/* Sets or clears the calling thread's "inside the recorder" flag (0, SP_SAMPLER_BUSY or
 * SP_SAMPLER_BUSY_HOOK). While it is set the handler does not re-enter libunwind or the ring: it
 * drops samples (counted as busy) or, inside an allocation hook, defers them; and the
 * allocation hooks ignore the thread's allocations (gperftools' `recursive` flag). Returns the
 * previous value. Inline: a fully traced program sets and clears it around every event. The
 * signal fences keep the compiler from moving the store across the code it guards (only this
 * thread's signal handler reads the flag). Async-signal-safe. */
SP_SIGNAL_SAFE static inline int sp_sampler_set_busy(int busy) {
    atomic_signal_fence(memory_order_seq_cst);
    int previous = sp_sampler_tls_busy;
    sp_sampler_tls_busy = busy;
    atomic_signal_fence(memory_order_seq_cst);
    return previous;
}

/* Sets or clears the calling thread's "inside dlopen/dlclose" flag: libunwind would need the
 * loader's lock, which this thread may hold, so samples are dropped (counted as busy). Returns
 * the previous value. Async-signal-safe. */
SP_SIGNAL_SAFE int sp_sampler_set_in_dl(int in_dl);

/* The calling thread's sampler state (its TLS slot), NULL if none. Async-signal-safe. */
SP_SIGNAL_SAFE sp_sampler_thread *sp_sampler_self(void);

/* Clears the calling thread's TLS slot and any sample deferred on it (thread exit, fork child).
 * Async-signal-safe. */
SP_SIGNAL_SAFE void sp_sampler_forget_self(void);

#endif /* SPPROF_RECORDER_SAMPLER_H */
