/* unwind.c: walks the interrupted thread's native stack with libunwind's local unwinder.
 * Runs in SIGPROF context: no malloc, no locks, no stdio (see sigsafe.h). */
#define _GNU_SOURCE
#include "recorder/unwind.h"

/* Local-only: unwind this process without the remote-access machinery (and its allocations). */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

int sp_unwind_init(void) {
    /* The global cache is guarded by a lock that a sample could interrupt; a per-thread cache
     * needs none, which is what a handler on every thread (issue 3) requires. */
    return unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

SP_SIGNAL_SAFE int sp_unwind_native(void *ucontext, uint64_t *pcs, uint32_t max_frames,
                                    int *truncated) {
    unw_cursor_t cursor;
    *truncated = 0;
    /* On x86-64 and aarch64 unw_context_t is ucontext_t, so the kernel's signal context can seed
     * the cursor directly. UNW_INIT_SIGNAL_FRAME says its PC is exact, not a return address, so
     * libunwind looks up the unwind info of that very instruction (gperftools takes the first PC
     * from the ucontext for the same reason). Our own handler frames are never walked. */
    if (unw_init_local2(&cursor, (unw_context_t *)ucontext, UNW_INIT_SIGNAL_FRAME) < 0) {
        return -1;
    }
    uint32_t n = 0;
    for (;;) {
        unw_word_t ip = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) {
            break;
        }
        if (n == max_frames) {
            *truncated = 1; /* a real frame exists beyond the cap */
            break;
        }
        pcs[n++] = (uint64_t)ip;
        /* 0 is the end of the stack; a negative error mid-stack keeps what we have: the inner
         * frames, which carry the self time, are right even when an outer frame is not. */
        if (unw_step(&cursor) <= 0) {
            break;
        }
    }
    return (int)n;
}
