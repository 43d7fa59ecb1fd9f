/* threads.h: the registry of the program's sampled threads. Each thread gets a slot (its
 * sampler state, name, start and end) and a ring from a pool bounded by --memory-limit-mb.
 * Threads register themselves as they start (the interposed pthread_create runs them through a
 * trampoline), end through a TLS destructor (return, pthread_exit, cancellation), and threads
 * that existed before recording started are adopted from /proc/self/task. Slots live in one
 * mapping that is never unmapped, so a late signal never reads freed memory. */
#ifndef SPPROF_RECORDER_THREADS_H
#define SPPROF_RECORDER_THREADS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "recorder/sampler.h"

typedef enum {
    SP_THREAD_FREE = 0,    /* slot unused */
    SP_THREAD_RUNNING = 1, /* registered, being sampled */
    SP_THREAD_ENDED = 2    /* ended; the writer records THREAD_END and then recycles it */
} sp_thread_state;

typedef struct sp_thread {
    sp_sampler_thread s; /* first member: the handler sees the slot as a sp_sampler_thread */

    /* Registry fields, changed under the registry lock. */
    struct sp_thread *next;      /* the live list (running and ended-but-unrecorded slots) */
    struct sp_thread *next_free; /* the free list */
    uint64_t incarnation;        /* bumped each time the slot is reused */
    sp_thread_state state;
    int adopted;             /* found in /proc/self/task: no TLS destructor, the writer polls it */
    int has_pthread;         /* pthread is valid (registered by the thread itself) */
    pthread_t pthread;       /* for pthread_setname_np(other_thread, ...) */
    uint64_t start_ns;       /* CLOCK_MONOTONIC when registered */
    _Atomic uint64_t end_ns; /* CLOCK_MONOTONIC when it ended; 0 while running */
    char name[16];           /* current name (comm), NUL-terminated */
    uint32_t name_seq;       /* bumped on each rename */
    uint64_t name_ns;        /* CLOCK_MONOTONIC of the last rename */

    /* Writer thread only. */
    uint32_t w_id;             /* thread id in the trace; 0 until defined */
    uint32_t w_name_seq;       /* name_seq last written */
    int w_end_written;         /* THREAD_END written; recycled on the writer's next pass */
    uint64_t w_full, w_other;  /* ring drops already reported */
    uint64_t w_busy, w_fork, w_noring; /* busy, fork and no-ring drops already reported */
    uint32_t w_last_remote;    /* stack id of the last wall-clock remote sample (REPEAT) */

    /* Wall-clock sampler thread only (wall.c). */
    uint64_t wall_cpu_ns; /* the thread's CPU clock at the previous tick */
    uint64_t wall_carry;  /* ticks not yet attributed to a sample */
    int wall_has_remote;  /* a remote sample of its current wait was taken (REPEAT allowed) */
    int wall_seen;        /* wall_cpu_ns is valid */
} sp_thread;

typedef struct {
    uint32_t max_depth;          /* frames per sample: sizes ring entries */
    uint64_t memory_limit_bytes; /* for all rings together (--memory-limit-mb) */
    size_t extra_ring_bytes;     /* a ring the caller keeps outside the pool (wall sampler) */
} sp_threads_config;

/* Prepares the registry for a recording: the slot mapping (once per process), the TLS key, and
 * the ring pool: each ring holds at least 16 samples of max_depth frames and the pool never
 * maps more than the limit. Returns 0, or -1 with a reason in err. Not async-signal-safe. */
int sp_threads_setup(const sp_threads_config *config, char *err, size_t err_len);

/* Size of each thread's ring, as chosen by sp_threads_setup. Not async-signal-safe. */
size_t sp_threads_ring_bytes(void);

/* Starts recording threads: registration is allowed from now on. Not async-signal-safe. */
void sp_threads_enable(void);

/* Stops registering new threads (before the last drain). Not async-signal-safe. */
void sp_threads_disable(void);

/* Is registration enabled? Not async-signal-safe. */
int sp_threads_enabled(void);

/* Releases every slot and ring after a recording (the writer has finished). Threads still
 * running keep stale TLS pointers, which every user checks against their tid.
 * Not async-signal-safe. */
void sp_threads_teardown(void);

/* In a fork child: reinitialises the lock, unmaps the parent's rings and frees every slot (only
 * the calling thread exists). Not async-signal-safe. */
void sp_threads_after_fork_child(void);

/* Registers the calling thread and starts sampling it. stack_hi is the top of its stack for
 * frame-pointer unwinding (0: found with pthread_getattr_np). Returns the slot, or NULL when
 * registration is disabled or no slot is left (counted). Not async-signal-safe. */
sp_thread *sp_threads_register_self(uint64_t stack_hi);

/* Adopts every thread in /proc/self/task that is neither registered nor the recorder's own.
 * Not async-signal-safe. */
void sp_threads_adopt_existing(void);

/* The interposed pthread_create's trampoline: registers the new thread, then runs start(arg).
 * launch is what sp_threads_launch_prepare returned. Not async-signal-safe. */
void *sp_threads_trampoline(void *launch);

/* Packs start and arg for sp_threads_trampoline, or returns NULL when registration is off (the
 * caller then creates the thread unchanged). Not async-signal-safe. */
void *sp_threads_launch_prepare(void *(*start)(void *), void *arg);

/* Frees a launch record whose thread could not be created. Not async-signal-safe. */
void sp_threads_launch_cancel(void *launch);

/* Records a rename: of the calling thread (self = 1) or of thread th. Not async-signal-safe. */
void sp_threads_renamed(int self, pthread_t th, const char *name);

/* Ends the calling thread's registration now (before pthread_exit unwinds, or from its TLS
 * destructor). Idempotent. Not async-signal-safe. */
void sp_threads_end_self(void);

/* fork's prepare handler: waits until no other thread's sampling handler is inside libunwind
 * (the fork gate, unwind.h), or until deadline_ns on CLOCK_MONOTONIC. Not async-signal-safe. */
void sp_threads_wait_unwinders(uint64_t deadline_ns);

/* Locks and unlocks the registry; while it is held, sp_threads_head() and the next links are
 * stable and no slot is recycled. Not async-signal-safe. */
void sp_threads_lock(void);
void sp_threads_unlock(void);
sp_thread *sp_threads_head(void);

/* Writer: marks thread t ended now if its tid is gone (adopted threads, and threads that
 * exited without running destructors). Takes no lock. Not async-signal-safe. */
void sp_threads_poll_liveness(sp_thread *t);

/* Writer: returns slot t (ended, THREAD_END written, ring drained) to the free list and its
 * ring to the pool. Not async-signal-safe. */
void sp_threads_recycle(sp_thread *t);

/* Copies the live list into *array (grown with realloc, *cap entries) and returns the count.
 * The slots stay valid until the caller recycles them. Returns 0 when memory ran out.
 * Not async-signal-safe. */
size_t sp_threads_snapshot(sp_thread ***array, size_t *cap);

/* Counters for the summary: threads registered since setup, and threads that found no slot.
 * Not async-signal-safe. */
uint64_t sp_threads_seen(void);
uint64_t sp_threads_refused(void);

/* Does any thread of the program (not the recorder's own) still run? After the main thread
 * called pthread_exit, glibc ends the process when the last thread exits, but our writer thread
 * counts as one: the writer asks this to end the process in its stead.
 * Not async-signal-safe. */
int sp_threads_program_threads_left(void);

/* Records tid as one of the recorder's own threads, never adopted. Not async-signal-safe. */
void sp_threads_note_internal(int tid);

#endif /* SPPROF_RECORDER_THREADS_H */
