/* unwind.c: walks the interrupted thread's native stack with libunwind's local unwinder.
 * Runs in SIGPROF context: no malloc, no locks, no stdio (see sigsafe.h). */
#define _GNU_SOURCE
#include "recorder/unwind.h"

#include <string.h> /* memmove */

/* Local-only: unwind this process without the remote-access machinery (and its allocations). */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

int sp_unwind_init(void) {
    sp_unwind_gate_init();
    /* The global cache is guarded by a lock that a sample could interrupt; a per-thread cache
     * needs none, which is what a handler on every thread (issue 3) requires. */
    return unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

/* The careful walk: one unw_step per frame from a context. Debian's libunwind 1.6 makes two
 * sigprocmask calls per step, ~2.5 us a frame here: a 10,000-frame stack took 25 ms, longer than
 * the sampling interval, and the program made no progress at all. It is the fallback when the
 * fast walk cannot be matched to a signal's context (init_flags UNW_INIT_SIGNAL_FRAME), and the
 * walk from here under TSan (init_flags 0, a context from unw_getcontext). */
SP_SIGNAL_SAFE static int step_from_context(void *context, int init_flags, uint64_t *pcs,
                                            uint32_t max_frames, int *truncated) {
    unw_cursor_t cursor;
    *truncated = 0;
    /* On x86-64 and aarch64 unw_context_t is ucontext_t, so the kernel's signal context can seed
     * the cursor directly. UNW_INIT_SIGNAL_FRAME says its PC is exact, not a return address, so
     * libunwind looks up the unwind info of that very instruction (gperftools takes the first PC
     * from the ucontext for the same reason). Our own handler frames are never walked. */
    if (unw_init_local2(&cursor, (unw_context_t *)context, init_flags) < 0) {
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

SP_SIGNAL_SAFE int sp_unwind_find(const uint64_t *pcs, uint32_t n, uint64_t pc) {
    for (uint32_t i = 0; i < n && i < SP_UNWIND_SLACK; i++) {
        if (pcs[i] == pc) {
            return (int)i;
        }
    }
    return -1;
}

SP_SIGNAL_SAFE uint32_t sp_unwind_keep(uint64_t *pcs, uint32_t n, uint32_t first, uint32_t capacity,
                                       uint32_t max_frames, int *truncated) {
    uint32_t kept = n - first;
    *truncated = n == capacity || kept > max_frames;
    if (kept > max_frames) {
        kept = max_frames;
    }
    memmove(pcs, pcs + first, kept * sizeof *pcs);
    return kept;
}

SP_SIGNAL_SAFE int sp_unwind_here(uint64_t fp_stack_hi, _Atomic int *inside, uint64_t *pcs,
                                  uint32_t capacity) {
    if (fp_stack_hi != 0) {
        uint64_t fp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
        int truncated = 0;
        int n = sp_unwind_fp_from((uint64_t)(uintptr_t)&sp_unwind_here, fp, fp, fp_stack_hi, pcs,
                                  capacity, &truncated);
        return n > 0 ? n : 0;
    }
    if (!sp_unwind_enter(inside)) {
        return -1;
    }
    int n = 0;
#if defined(__SANITIZE_THREAD__)
    unw_context_t context;
    int truncated = 0;
    if (unw_getcontext(&context) == 0) {
        n = step_from_context(&context, 0, pcs, capacity, &truncated);
    }
#else
    n = unw_backtrace((void **)(void *)pcs, (int)capacity);
#endif
    sp_unwind_leave(inside);
    return n > 0 ? n : 0;
}

SP_SIGNAL_SAFE int sp_unwind_native(void *ucontext, uint64_t *pcs, uint32_t max_frames,
                                    int *truncated) {
#if defined(__SANITIZE_THREAD__)
    /* unw_backtrace's per-thread cache frees itself after TSan has torn the thread down (see
     * backtrace_here in heap.c). */
    return step_from_context(ucontext, UNW_INIT_SIGNAL_FRAME, pcs, max_frames, truncated);
#else
    /* The fast walk: unw_backtrace from this frame, through the kernel's signal frame (which
     * libunwind's trace recognizes), into the interrupted code, with libunwind's per-thread
     * cache of frame layouts: no system call once a frame's layout is known, 60 us for 10,000
     * frames instead of 25 ms. The interrupted PC marks where the program's frames start; the
     * frames before it (this function, the handler, the signal trampoline) are dropped. */
    uint32_t capacity = max_frames + SP_UNWIND_SLACK;
    int got = unw_backtrace((void **)(void *)pcs, (int)capacity);
    uint32_t n = got > 0 ? (uint32_t)got : 0;
    int first = sp_unwind_find(pcs, n, sp_unwind_context_pc(ucontext));
    if (first >= 0) {
        return (int)sp_unwind_keep(pcs, n, (uint32_t)first, capacity, max_frames, truncated);
    }
    /* The trace did not reach the interrupted frame (a frame it cannot describe): walk from
     * the context itself. */
    return step_from_context(ucontext, UNW_INIT_SIGNAL_FRAME, pcs, max_frames, truncated);
#endif
}
