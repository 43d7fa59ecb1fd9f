/* unwind_fp.c: frame-pointer unwinding from a signal's ucontext (--unwind fp). Runs in the
 * sampling signal's handler: it reads only the interrupted thread's live stack, bounded by the
 * interrupted stack pointer below and the thread's stack top above, so a garbage frame pointer
 * ends the walk instead of faulting. No malloc, no locks, no stdio (sigsafe.h). */
#define _GNU_SOURCE
#include <stdint.h>
#include <ucontext.h>

#include "recorder/unwind.h"

SP_SIGNAL_SAFE static void context_regs(const void *ucontext, uint64_t *pc, uint64_t *sp,
                                        uint64_t *fp) {
    const ucontext_t *uc = (const ucontext_t *)ucontext;
#if defined(__x86_64__)
    *pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    *sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
    *fp = (uint64_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
    *pc = (uint64_t)uc->uc_mcontext.pc;
    *sp = (uint64_t)uc->uc_mcontext.sp;
    *fp = (uint64_t)uc->uc_mcontext.regs[29]; /* x29, the AAPCS64 frame pointer */
#else
#error "frame-pointer unwinding knows x86_64 and aarch64 only"
#endif
}

SP_SIGNAL_SAFE uint64_t sp_unwind_context_sp(const void *ucontext) {
    uint64_t pc, sp, fp;
    context_regs(ucontext, &pc, &sp, &fp);
    return sp;
}

SP_SIGNAL_SAFE uint64_t sp_unwind_context_pc(const void *ucontext) {
    uint64_t pc, sp, fp;
    context_regs(ucontext, &pc, &sp, &fp);
    return pc;
}

SP_SIGNAL_SAFE int sp_unwind_fp(const void *ucontext, uint64_t stack_hi, uint64_t *pcs,
                                uint32_t max_frames, int *truncated) {
    uint64_t pc, sp, fp;
    context_regs(ucontext, &pc, &sp, &fp);
    return sp_unwind_fp_from(pc, sp, fp, stack_hi, pcs, max_frames, truncated);
}

SP_SIGNAL_SAFE int sp_unwind_fp_from(uint64_t pc, uint64_t sp, uint64_t fp, uint64_t stack_hi,
                                     uint64_t *pcs, uint32_t max_frames, int *truncated) {
    *truncated = 0;
    if (pc == 0 || max_frames == 0) {
        return 0;
    }
    uint32_t n = 0;
    pcs[n++] = pc;
    /* A frame record is two words, {saved frame pointer, return address}, on both x86-64
     * (push rbp; mov rbp, rsp) and aarch64 (stp x29, x30). Everything between the interrupted
     * sp and stack_hi is mapped stack, and each record must sit above the previous one, so
     * every read below is of live stack and the loop ends. */
    uint64_t lo = sp;
    while (fp >= lo && fp % 8 == 0 && stack_hi >= 16 && fp <= stack_hi - 16) {
        const uint64_t *record = (const uint64_t *)(uintptr_t)fp;
        uint64_t next = record[0];
        uint64_t ret = record[1];
        if (ret == 0) {
            break; /* the outermost frame (_start, clone) stores a zero link */
        }
        if (n == max_frames) {
            *truncated = 1;
            break;
        }
        pcs[n++] = ret;
        if (next <= fp) {
            break;
        }
        lo = fp + 16;
        fp = next;
    }
    return (int)n;
}
