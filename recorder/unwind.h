/* unwind.h: native stack capture with libunwind (UNW_LOCAL_ONLY), from a signal's ucontext.
 * sp_unwind_native runs in SIGPROF context; see sigsafe.h for what that forbids. */
#ifndef SPPROF_RECORDER_UNWIND_H
#define SPPROF_RECORDER_UNWIND_H

#include <stdint.h>

#include "recorder/sigsafe.h"

/* Configures libunwind for use from signal handlers (per-thread caches, so unwinding takes no
 * lock that an interrupted unwind could hold). Call once before the first sample. Returns 0, or a
 * negative libunwind error code. Not async-signal-safe. */
int sp_unwind_init(void);

/* Captures the native stack of the code interrupted by a signal: ucontext is the handler's third
 * argument. Stores up to max_frames instruction addresses in pcs, innermost first: the exact PC
 * for the interrupted frame, return addresses for its callers. Sets *truncated to 1 when more
 * frames existed beyond max_frames, else 0. Returns the number of frames stored (0 when none
 * could be found), or -1 when libunwind could not start from the context. Not re-entrant per
 * thread. Safe as far as libunwind's local unwinder is: it calls no malloc, but finds unwind
 * tables with dl_iterate_phdr, whose loader lock a sample taken inside dlopen could meet (the
 * per-thread cache makes that lookup rare). Async-signal-safe. */
SP_SIGNAL_SAFE int sp_unwind_native(void *ucontext, uint64_t *pcs, uint32_t max_frames,
                                    int *truncated);

#endif /* SPPROF_RECORDER_UNWIND_H */
