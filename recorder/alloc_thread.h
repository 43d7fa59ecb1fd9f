/* alloc_thread.h: internal to the allocation recorder (heap.c produces, alloc_drain.c consumes).
 * The per-thread state of the malloc hooks, the list the writer thread walks, and the layout of
 * one allocation event in a thread's ring. */
#ifndef SPPROF_RECORDER_ALLOC_THREAD_H
#define SPPROF_RECORDER_ALLOC_THREAD_H

#include <stdatomic.h>
#include <stdint.h>

#include "recorder/ring.h"
#include "recorder/sigsafe.h"

/* sp_alloc_event.kind */
#define SP_ALLOC_EVENT_ALLOC 1u
#define SP_ALLOC_EVENT_FREE  2u

/* sp_alloc_event.flags */
#define SP_ALLOC_EVENT_TRUNCATED 0x1u /* the stack had more frames than max_depth */

/* One event as a hook stores it in its thread's ring. FREE events carry no stack. The stack
 * is stored as unwound, recorder frames included: pcs[skip] is the caller of malloc. Moving the
 * frames down instead cost 5% of a fully traced program's time. */
typedef struct {
    uint64_t stamp;      /* sp_stamp_now() when committed; the drain merges threads by it */
    uint64_t address;    /* the block's address */
    uint64_t size_bytes; /* ALLOC: bytes the program asked for; FREE: 0 */
    uint16_t kind;       /* SP_ALLOC_EVENT_* */
    uint16_t flags;      /* SP_ALLOC_EVENT_* flags */
    uint16_t skip;       /* leading entries of pcs that are the recorder's own frames */
    uint16_t n_pcs;      /* the program's frames: pcs[skip] .. pcs[skip + n_pcs - 1] */
    uint64_t pcs[];      /* return addresses, innermost first */
} sp_alloc_event;

/* Bytes of an event with n entries in pcs (skipped ones included). Async-signal-safe. */
SP_SIGNAL_SAFE static inline size_t sp_alloc_event_bytes(uint32_t n) {
    return sizeof(sp_alloc_event) + (size_t)n * sizeof(uint64_t);
}

/* The program's frames of an event. Async-signal-safe. */
SP_SIGNAL_SAFE static inline const uint64_t *sp_alloc_event_pcs(const sp_alloc_event *e) {
    return e->pcs + e->skip;
}

/* One thread that allocated while recording. Created by the thread itself on its first hook
 * call (mmap'ed, never malloc'ed), pushed onto the list, and unmapped by the writer thread once
 * the thread is gone and its ring is empty. Fields are grouped by who writes them. */
typedef struct sp_alloc_thread {
    /* Written by the owning thread only. */
    uint64_t countdown_bytes;    /* bytes to allocate before the next sample */
    uint64_t prng;               /* xorshift64* state */
    uint64_t no_wait_until_ns;   /* "all": the writer kept it waiting in vain; drop until then */
    _Atomic(sp_ring *) ring;     /* created on the first recorded event; NULL before */
    _Atomic uint64_t seen;       /* allocations observed on this thread */
    _Atomic uint64_t lost;       /* events lost without reaching the ring (no ring, no memory) */
    _Atomic uint64_t drops_base; /* drops (ring full + lost) when this recording started */
    _Atomic uint64_t generation; /* sp_alloc_generation that seen and drops_base belong to */
    int os_tid;                  /* kernel thread id */
    _Atomic int unwinding;       /* inside libunwind right now (the fork gate, unwind.h) */
    /* Written by the writer thread, read by the owner: on a cache line of their own, as the
     * owner writes its fields above on every allocation (sharing a line with these cost 6%
     * of a fully traced program's time). */
    _Alignas(64) _Atomic int wake_pending; /* the owner asked the writer to drain early */
    /* Writer thread only. */
    uint32_t trace_thread;        /* thread id in the trace; 0 until the first event is written */
    int own_definition;           /* the drain defined that thread itself (so it ends it too) */
    uint64_t reported_drops;      /* drops already written as DROPS records... */
    uint64_t reported_generation; /* ...in this recording (sp_alloc_generation) */
    uint64_t seen_at_check;       /* seen when liveness was last checked */
    uint64_t checked_ns;          /* when liveness was last checked */
    struct sp_alloc_thread *next; /* set before publication; later changed by the writer only */
} sp_alloc_thread;

/* Posted (sp_futex_post) by the drain after every pass, when it has handed ring space back: a
 * hook waiting for room in "all" mode sleeps on it. */
extern _Atomic uint32_t sp_alloc_drained;

/* Head of the list of sp_alloc_thread, newest first. Threads push themselves with a CAS; only
 * the writer thread unlinks. */
extern _Atomic(sp_alloc_thread *) sp_alloc_threads;

/* Totals of threads the writer has already unlinked, so END still counts them. Written by the
 * writer thread only (and reset in a forked child). */
extern uint64_t sp_alloc_reclaimed_seen;
extern uint64_t sp_alloc_reclaimed_drops;

/* Bumped when a recording starts (sp_heap_start) and in a forked child. Each thread, at its
 * next hook call, zeroes its counts for the new recording (its own job: the counts would race
 * otherwise); the drain drops its caches and each thread's trace id (they belong to the
 * previous writer) and ignores threads still on an older generation. */
extern _Atomic uint64_t sp_alloc_generation;

/* Unmaps a thread's state and ring. Writer thread only, after unlinking it. Not
 * async-signal-safe. */
void sp_alloc_thread_destroy(sp_alloc_thread *t);

#endif /* SPPROF_RECORDER_ALLOC_THREAD_H */
