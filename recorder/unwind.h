/* unwind.h: native stack capture from a signal's ucontext, with libunwind (UNW_LOCAL_ONLY,
 * unwind.c) or the frame-pointer chain (unwind_fp.c). Both run in the sampling signal's
 * handler; see sigsafe.h for what that forbids. */
#ifndef SPPROF_RECORDER_UNWIND_H
#define SPPROF_RECORDER_UNWIND_H

#include <stdatomic.h>
#include <stdint.h>

#include "recorder/sigsafe.h"

/* Configures libunwind for use from signal handlers (per-thread caches, so unwinding takes no
 * lock that an interrupted unwind could hold). Call once before the first sample. Returns 0, or a
 * negative libunwind error code. Not async-signal-safe. */
int sp_unwind_init(void);

/* The fork gate (unwind_gate.c). Every use of libunwind's local unwinder is bracketed by
 * sp_unwind_enter and sp_unwind_leave on a flag of the calling thread's own, so that fork can
 * wait until no thread holds libunwind's internal lock. enter returns 1 when the caller may
 * unwind, 0 while a fork is under way (the caller unwinds some other way or not at all, and
 * must not call leave). Both are async-signal-safe and cost a store and a load. */
SP_SIGNAL_SAFE int sp_unwind_enter(_Atomic int *inside);
SP_SIGNAL_SAFE void sp_unwind_leave(_Atomic int *inside);

/* Registers the process for membarrier(2), which keeps sp_unwind_enter free of fences. Call
 * once before the first unwind (sp_unwind_init does). Not async-signal-safe. */
void sp_unwind_gate_init(void);

/* fork's prepare handler, in three steps: close the gate (returns the deadline of the wait,
 * one second on CLOCK_MONOTONIC, so that a thread stopped mid-unwind cannot hang fork), wait
 * for each thread's flag but the forking thread's own, and, in the parent and child handlers,
 * open the gate again. Not async-signal-safe. */
uint64_t sp_unwind_gate_close(void);
void sp_unwind_gate_wait(const _Atomic int *inside, uint64_t deadline_ns);
void sp_unwind_gate_open(int in_child);

/* Entries beyond max_frames that sp_unwind_native needs in pcs as scratch: it walks from its own
 * frame, through the handler and the signal trampoline, and drops those frames afterwards. */
#define SP_UNWIND_SLACK 16u

/* Captures the native stack of the code interrupted by a signal: ucontext is the handler's third
 * argument. pcs must have room for max_frames + SP_UNWIND_SLACK entries. Stores up to
 * max_frames instruction addresses in pcs, innermost first: the exact PC
 * for the interrupted frame, return addresses for its callers. Sets *truncated to 1 when more
 * frames existed beyond max_frames, else 0. Returns the number of frames stored (0 when none
 * could be found), or -1 when libunwind could not start from the context. Not re-entrant per
 * thread. Safe as far as libunwind's local unwinder is: it calls no malloc, but finds unwind
 * tables with dl_iterate_phdr, whose loader lock a sample taken inside dlopen could meet (the
 * per-thread cache makes that lookup rare). The caller passes the fork gate around it
 * (sp_unwind_enter). Async-signal-safe. */
SP_SIGNAL_SAFE int sp_unwind_native(void *ucontext, uint64_t *pcs, uint32_t max_frames,
                                    int *truncated);

/* The index of pc among the first SP_UNWIND_SLACK of pcs[0..n), or -1: where a walk that began
 * inside the recorder reaches the frame it is after (the interrupted PC, the interposed
 * function's return address). Async-signal-safe. */
SP_SIGNAL_SAFE int sp_unwind_find(const uint64_t *pcs, uint32_t n, uint64_t pc);

/* Drops the first `first` of the n addresses in pcs (the recorder's own frames) and keeps at most
 * max_frames of the rest, moved to the front. Sets *truncated when frames were lost at the far
 * end: the walk filled its capacity, or more than max_frames remained. Returns the number kept.
 * Async-signal-safe. */
SP_SIGNAL_SAFE uint32_t sp_unwind_keep(uint64_t *pcs, uint32_t n, uint32_t first, uint32_t capacity,
                                       uint32_t max_frames, int *truncated);

/* The calling thread's own stack, from inside this function outwards: up to capacity return
 * addresses, innermost first (the first few are the caller's own frames, which it drops).
 * With fp_stack_hi nonzero (--unwind fp, the thread's stack top known) the frame-pointer chain
 * up to it; otherwise libunwind's per-thread trace cache (unw_backtrace), or, under TSan, a
 * cursor stepped from unw_getcontext (that cache frees itself after TSan has torn the thread
 * down), passing the fork gate with the thread's flag inside (sp_unwind_enter). Returns the
 * number stored (0 when none), or -1 when a fork is under way and libunwind must not be
 * entered. Async-signal-safe as far as sp_unwind_native is; used outside handlers, by the
 * allocation hooks and the deferred samples. */
SP_SIGNAL_SAFE int sp_unwind_here(uint64_t fp_stack_hi, _Atomic int *inside, uint64_t *pcs,
                                  uint32_t capacity);

/* Captures the native stack of the code interrupted by a signal by following the frame-pointer
 * chain (--unwind fp): each frame record is the saved frame pointer and the return address.
 * Every frame pointer must lie between the interrupted stack pointer and stack_hi, be aligned,
 * and grow strictly, so the walk only reads live stack and always ends; stack_hi = 0 (unknown)
 * gives the interrupted PC alone. Code built without frame pointers (most of libc) is skipped
 * over or ends the walk early, and a function interrupted before it set up its frame loses its
 * caller. Same output contract as sp_unwind_native. Async-signal-safe. */
SP_SIGNAL_SAFE int sp_unwind_fp(const void *ucontext, uint64_t stack_hi, uint64_t *pcs,
                                uint32_t max_frames, int *truncated);

/* sp_unwind_fp from registers rather than a ucontext: pc is the first frame's address, sp and
 * fp the stack and frame pointers there. The allocation hooks walk their own thread's stack this
 * way (pc: the hook itself; fp: __builtin_frame_address(0)). Async-signal-safe. */
SP_SIGNAL_SAFE int sp_unwind_fp_from(uint64_t pc, uint64_t sp, uint64_t fp, uint64_t stack_hi,
                                     uint64_t *pcs, uint32_t max_frames, int *truncated);

/* The interrupted stack pointer in a signal's ucontext. Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_unwind_context_sp(const void *ucontext);

/* The interrupted program counter in a signal's ucontext. Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_unwind_context_pc(const void *ucontext);

#endif /* SPPROF_RECORDER_UNWIND_H */
