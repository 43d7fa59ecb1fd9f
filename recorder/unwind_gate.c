/* unwind_gate.c: the fork gate around libunwind's local unwinder (unwind.h). Debian's libunwind
 * keeps its unwind-info cache behind one process-wide mutex (it ignores UNW_CACHE_PER_THREAD),
 * taken inside unw_step and unw_backtrace: a fork while another thread holds it leaves the
 * child a mutex nobody will release, and the child's first recorded allocation hangs (seen in
 * alloc_test's storm with forks). So every local unwind raises its thread's flag, and fork's
 * prepare handler closes the gate and waits until every flag is down.
 *
 * The unwinding side is hot (every allocation under --alloc-sample all), so it pays no atomic
 * read-modify-write and no fence: a plain store of its flag, then a load of the gate. The fork
 * side pays instead, with membarrier(2), which runs a full barrier on every thread of the
 * process (userspace RCU's asymmetric fence): a thread that read the gate open before that
 * barrier has its flag visible after it. Without membarrier the unwinding side fences. */
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder/unwind.h"
#include "recorder/wake.h"

#define FORK_WAIT_LIMIT_NS 1000000000ull /* a thread stopped mid-unwind must not hang fork */

static _Atomic int fork_pending;
static int asymmetric; /* registered for membarrier: the unwinding side needs no fence */

void sp_unwind_gate_init(void) {
    asymmetric = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

SP_SIGNAL_SAFE int sp_unwind_enter(_Atomic int *inside) {
    atomic_store_explicit(inside, 1, memory_order_relaxed);
    if (asymmetric) {
        atomic_signal_fence(memory_order_seq_cst); /* the compiler keeps the order */
    } else {
        atomic_thread_fence(memory_order_seq_cst); /* and so does the CPU */
    }
    if (atomic_load_explicit(&fork_pending, memory_order_relaxed)) {
        atomic_store_explicit(inside, 0, memory_order_relaxed);
        return 0;
    }
    return 1;
}

SP_SIGNAL_SAFE void sp_unwind_leave(_Atomic int *inside) {
    atomic_store_explicit(inside, 0, memory_order_release);
}

uint64_t sp_unwind_gate_close(void) {
    atomic_store(&fork_pending, 1);
    if (asymmetric) {
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    }
    return sp_monotonic_ns() + FORK_WAIT_LIMIT_NS;
}

void sp_unwind_gate_wait(const _Atomic int *inside, uint64_t deadline_ns) {
    while (atomic_load_explicit(inside, memory_order_acquire) && sp_monotonic_ns() < deadline_ns) {
        sched_yield();
    }
}

void sp_unwind_gate_open(int in_child) {
    if (in_child) {
        sp_unwind_gate_init(); /* membarrier registration does not survive fork */
    }
    atomic_store(&fork_pending, 0);
}
