/* alloc_drain.h: the writer thread's half of allocation recording. It merges the per-thread
 * allocation rings in time order (so that a FREE on one thread and the ALLOC that reuses the
 * address on another reach the trace in the order they happened), interns stacks through the
 * writer's own frame and stack tables, writes ALLOC/FREE/DROPS records, and reclaims the state
 * of threads that have exited. Writer thread only: nothing here is async-signal-safe. */
#ifndef SPPROF_RECORDER_ALLOC_DRAIN_H
#define SPPROF_RECORDER_ALLOC_DRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/sptrace.h"

/* What the drain needs from the writer thread: its tracefmt writer and two interning
 * callbacks, so that allocation stacks share the CPU samples' frame and stack ids. */
typedef struct {
    spt_writer *w;
    uint64_t start_mono_ns; /* CLOCK_MONOTONIC at trace time 0 */
    /* Interns a stack given as n_pcs return addresses, innermost first (each is looked up at
     * pc - 1, the call), with a "[truncated]" outermost frame when truncated is set. Returns
     * the stack id, or 0 when the writer failed. */
    uint32_t (*stack_of)(void *ctx, const uint64_t *pcs, uint32_t n_pcs, int truncated);
    /* The trace's thread id for kernel thread os_tid as of mono_ns (CLOCK_MONOTONIC of its
     * first event), defining the thread if needed, in which case *defined_here is set to 1 (the
     * drain then writes its THREAD_END when the thread is gone). Returns 0 when the writer
     * failed. */
    uint32_t (*thread_of)(void *ctx, int os_tid, uint64_t mono_ns, int *defined_here);
    /* Returns 0 when nothing more may be written (--max-size reached); NULL = always 1. */
    int (*can_write)(void *ctx);
    void *ctx;
} sp_alloc_sink;

/* Writes every allocation event committed before now (final = 0) or every event at all
 * (final = 1, once the hooks have stopped), in time order across threads, until can_write
 * says stop; then DROPS records for events lost and stacks cut at max_depth since the last
 * drain, and reclaims exited threads. Returns 0, or -1 when a spt_writer call failed
 * (spt_writer_error says why). Not async-signal-safe. */
int sp_alloc_drain(const sp_alloc_sink *sink, int final);

/* Releases every ring entry without writing it (after the writer failed, so that the hooks
 * keep finding room). Not async-signal-safe. */
void sp_alloc_drain_discard(void);

/* Fills end->allocs_seen and end->dropped_allocs. Call after the last drain.
 * Not async-signal-safe. */
void sp_alloc_drain_end(spt_end *end);

/* ALLOC records written since the recording started (for the summary line).
 * Not async-signal-safe. */
uint64_t sp_alloc_drain_recorded(void);

/* In "all" mode, the blocks whose ALLOC the current writer wrote and whose FREE it has not
 * (0 under sampling, where the hooks' table holds them). Not async-signal-safe. */
size_t sp_alloc_drain_live_blocks(void);

/* Frees the drain's caches (their ids belong to the writer that just finished). Not
 * async-signal-safe. */
void sp_alloc_drain_release(void);

#endif /* SPPROF_RECORDER_ALLOC_DRAIN_H */
