/* unwind_remote.h: unwinds a blocked thread of this process from the outside, for wall-clock
 * sampling without a signal. /proc/self/task/<tid>/syscall gives the stack pointer and program
 * counter of a thread blocked in a system call; libunwind then walks its stack through a custom
 * address space that reads our own memory. Only the wall-clock sampler thread calls these.
 *
 * Limits: only sp and pc are known, not the other registers. A frame whose canonical frame
 * address is computed from a register the kernel does not report (rbp-based CFA, the rule
 * gcc emits for code built with -fno-omit-frame-pointer) cannot be stepped over unless a frame
 * below it saved that register; there the stack ends early (we then try one guess of the frame
 * pointer, see unwind_remote.c). Not async-signal-safe. */
#ifndef SPPROF_RECORDER_UNWIND_REMOTE_H
#define SPPROF_RECORDER_UNWIND_REMOTE_H

#include <stdint.h>

/* Creates the address space. Returns 0, or -1 when libunwind refuses. Not async-signal-safe. */
int sp_unwind_remote_init(void);

/* Forgets cached unwind information (after dlopen or dlclose). Not async-signal-safe. */
void sp_unwind_remote_flush(void);

/* Unwinds a blocked thread whose user stack pointer is sp and program counter pc; stack_hi is
 * the top of its stack if known (0 otherwise). Same output contract as sp_unwind_native: up to
 * max_frames addresses in pcs, innermost first, *truncated when more existed. Returns the count
 * (at least 1: pc itself), or -1 when the cursor could not start. Not async-signal-safe. */
int sp_unwind_remote(uint64_t sp, uint64_t pc, uint64_t stack_hi, uint64_t *pcs,
                     uint32_t max_frames, int *truncated);

#endif /* SPPROF_RECORDER_UNWIND_REMOTE_H */
