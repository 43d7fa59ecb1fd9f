/* stamp.h: the time stamps allocation events carry. Recording every allocation stamps ~10M
 * events a second per thread, and a vDSO clock_gettime was a fifth of the hook's cost there
 * (~20 ns). Where the kernel itself keeps time with the TSC (its clocksource is "tsc": constant
 * rate, synchronized across CPUs), a stamp is an ordered TSC read instead (~7 ns), which the
 * drain converts to CLOCK_MONOTONIC with a rate it measures between its passes. Elsewhere a
 * stamp is simply CLOCK_MONOTONIC in nanoseconds. Either way stamps are comparable across
 * threads: the drain merges threads by them. */
#ifndef SPPROF_RECORDER_STAMP_H
#define SPPROF_RECORDER_STAMP_H

#include <stdint.h>
#include <time.h>

#include "recorder/sigsafe.h"

/* Set once by sp_stamp_init: stamps are TSC ticks (1) or nanoseconds (0). */
extern int sp_stamp_is_tsc;

/* Chooses the stamp source: the TSC when the kernel's clocksource is "tsc", or kvm-clock on an
 * invariant TSC that the hypervisor keeps in step across vCPUs (stamp.c), else the clock.
 * Call once before any stamp is taken (the hooks are not recording yet). Not
 * async-signal-safe. */
void sp_stamp_init(void);

/* A stamp of now. The TSC read waits for every earlier instruction (lfence), so a stamp taken
 * after this thread observed another thread's store is later than any stamp that thread took
 * before the store: the FREE of a block is stamped after its ALLOC on another thread, though
 * the pointer reached this thread only a few instructions before the stamp. The wait costs
 * ~9 ns. Async-signal-safe. */
SP_SIGNAL_SAFE static inline uint64_t sp_stamp_now(void) {
#if defined(__x86_64__)
    if (sp_stamp_is_tsc) {
        uint32_t lo, hi;
        __asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
        return ((uint64_t)hi << 32) | lo;
    }
#endif
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A stamp of now without the wait: the TSC read may execute ahead of earlier instructions,
 * as far as the reorder window reaches (a few hundred instructions). For an ALLOC that is still
 * after the allocator handed out the block: the unwinder's thousands of instructions lie
 * between, so the allocator's lock and loads have retired before the read can even issue, and
 * the block's previous FREE on another thread (stamped before its real free) comes first.
 * Async-signal-safe. */
SP_SIGNAL_SAFE static inline uint64_t sp_stamp_now_unordered(void) {
#if defined(__x86_64__)
    if (sp_stamp_is_tsc) {
        uint32_t lo, hi;
        __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
        return ((uint64_t)hi << 32) | lo;
    }
#endif
    return sp_stamp_now();
}

/* Converts stamps to CLOCK_MONOTONIC nanoseconds: a reference pair and a rate. */
typedef struct {
    uint64_t stamp0, mono0; /* taken together when the converter was started */
    double ns_per_stamp;    /* measured from stamp0 to the latest sp_stamp_calibrate */
} sp_stamp_clock;

/* Starts a converter with a stamp and the clock read together now. Not async-signal-safe. */
void sp_stamp_clock_start(sp_stamp_clock *c);

/* Takes a stamp and the clock together, refines the rate, and returns the stamp (so that the
 * caller can use it as a cutoff); the clock reading goes to *mono_ns. Not async-signal-safe. */
uint64_t sp_stamp_calibrate(sp_stamp_clock *c, uint64_t *mono_ns);

/* The CLOCK_MONOTONIC nanoseconds of a stamp. Not async-signal-safe (it is plain arithmetic,
 * but only the drain needs it). */
uint64_t sp_stamp_to_mono_ns(const sp_stamp_clock *c, uint64_t stamp);

#endif /* SPPROF_RECORDER_STAMP_H */
