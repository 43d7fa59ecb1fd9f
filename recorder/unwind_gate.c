/* unwind_gate.c: the fork gate around libunwind's local unwinder (unwind.h). Debian's libunwind
 * keeps its unwind-info cache behind one process-wide mutex (it ignores UNW_CACHE_PER_THREAD),
 * taken inside unw_step and unw_backtrace: a fork while another thread holds it leaves the
 * child a mutex nobody will release, and the child's first recorded allocation hangs (seen in
 * alloc_test's storm with forks). So every local unwind passes the gate, and fork's prepare
 * handler closes it and waits until no thread is inside libunwind. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "recorder/unwind.h"

static _Atomic int threads_unwinding;
static _Atomic int fork_pending;
#define FORK_WAIT_LIMIT_NS 1000000000ull /* a thread stopped mid-unwind must not hang fork */

SP_SIGNAL_SAFE int sp_unwind_enter(void) {
    if (atomic_load(&fork_pending)) {
        return 0;
    }
    /* seq_cst on both sides (Dekker): either fork sees this thread or it sees fork. */
    atomic_fetch_add(&threads_unwinding, 1);
    if (atomic_load(&fork_pending)) {
        atomic_fetch_sub(&threads_unwinding, 1);
        return 0;
    }
    return 1;
}

SP_SIGNAL_SAFE void sp_unwind_leave(void) {
    atomic_fetch_sub(&threads_unwinding, 1);
}

void sp_unwind_fork_prepare(int caller_is_unwinding) {
    atomic_store(&fork_pending, 1);
    /* A fork from a signal handler that interrupted this very thread's unwind cannot wait for
     * it: its own count stays, and so does the old risk. */
    int own = caller_is_unwinding ? 1 : 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (atomic_load(&threads_unwinding) > own) {
        sched_yield();
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t waited = (uint64_t)(now.tv_sec - start.tv_sec) * 1000000000ull +
                          (uint64_t)now.tv_nsec - (uint64_t)start.tv_nsec;
        if (waited > FORK_WAIT_LIMIT_NS) {
            break;
        }
    }
}

void sp_unwind_fork_done(int in_child) {
    if (in_child) {
        atomic_store(&threads_unwinding, 0); /* the other threads are gone */
    }
    atomic_store(&fork_pending, 0);
}
