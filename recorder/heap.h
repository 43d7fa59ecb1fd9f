/* heap.h: allocation recording. The malloc hooks (preload.c) call sp_heap_after_alloc and
 * sp_heap_before_free around the real allocator; sampling decides which allocations are
 * recorded, the live-address table (alloc_table.h) which frees; events go to per-thread rings
 * that the writer thread drains (alloc_drain.h). The hook-side calls never malloc, never use
 * stdio and never block on anything a signal handler holds. */
#ifndef SPPROF_RECORDER_HEAP_H
#define SPPROF_RECORDER_HEAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "recorder/alloc_table.h" /* SP_HOOK_SAFE */
#include "recorder/alloc_thread.h"
#include "recorder/sampler.h"
#include "tracefmt/sptrace.h"

#define SP_HEAP_DEFAULT_SAMPLE_BYTES 524288u /* 512 KiB, tcmalloc's default sampling period */
#define SP_HEAP_MAX_SAMPLE_BYTES     (1ull << 40)

typedef struct {
    const char *spec;          /* SPPROF_ALLOC: NULL or "" = default, "off", "all", or bytes */
    uint32_t max_depth;        /* frames captured per allocation stack */
    void (*wake_writer)(void); /* asks the writer thread to drain soon; NULL = never asked */
    int unwind_fp;             /* --unwind fp: frame pointers, as the CPU samples use */
} sp_heap_config;

/* Nonzero while allocations are being recorded: the hooks test it before anything else (an
 * acquire load: configuration written before sp_heap_start is then visible). */
extern atomic_int sp_heap_active;

/* Reads the configuration and prepares the live-address table. Does not start recording.
 * Registers the fork handlers (once). Returns 0, or -1 with *why set to a constant phrase
 * ("SPPROF_ALLOC is not 'all', 'off' or a number of bytes from 1 to 1099511627776", "cannot
 * map the live-allocation table"). Call before sp_writer_thread_start, which writes the mode
 * into the header. Not async-signal-safe. */
int sp_heap_configure(const sp_heap_config *config, const char **why);

/* The configured mode and mean sampling period (bytes; 0 unless SPT_ALLOC_SAMPLED), as the
 * trace header records them. Async-signal-safe. */
SP_SIGNAL_SAFE spt_alloc_mode sp_heap_mode(void);
SP_SIGNAL_SAFE uint64_t sp_heap_sample_bytes(void);

/* The configured stack depth. Async-signal-safe. */
SP_SIGNAL_SAFE uint32_t sp_heap_max_depth(void);

/* Starts recording (no-op when the mode is off). Call once the writer thread runs. A later
 * start (after sp_heap_stop) begins a new recording: the live table is emptied and the drain
 * counts from zero. Not async-signal-safe. */
void sp_heap_start(void);

/* fork's prepare handler: waits until no other thread's allocation hook is inside libunwind
 * (the fork gate, unwind.h), or until deadline_ns on CLOCK_MONOTONIC. Not async-signal-safe. */
void sp_heap_wait_unwinders(uint64_t deadline_ns);

/* Stops recording: hooks pass straight through from now on. Events already in the rings stay
 * there for the writer's last drain. A forked child that is not followed should call this.
 * Async-signal-safe. */
SP_SIGNAL_SAFE void sp_heap_stop(void);

/* The calling thread's allocation state (alloc_thread.h), NULL until its first counted
 * allocation. initial-exec, as sampler.c's: one %fs-relative load, and no __tls_get_addr (which
 * may allocate) inside malloc. */
extern __thread sp_alloc_thread *sp_heap_tls __attribute__((tls_model("initial-exec")));

/* Hook, slow path: the program just got block p of size bytes from the real allocator (p may
 * be NULL: nothing happens). Counts it, and records it when sampling picks it. caller is the
 * hook's return address (__builtin_return_address(0)): the recorded stack starts at that frame.
 * Not async-signal-safe (stripe locks, mmap); safe in malloc hooks. */
SP_HOOK_SAFE void sp_heap_after_alloc(void *p, size_t size_bytes, uintptr_t caller);

/* Hook, slow path: the calling thread, which counted the block already, must sample it (its
 * countdown ran out). Not async-signal-safe; safe in malloc hooks. */
SP_HOOK_SAFE void sp_heap_sampled(void *p, size_t size_bytes, uintptr_t caller);

/* Hook, inlined into malloc and friends: what sp_heap_after_alloc does, with the common case
 * (the thread counts in this recording, is not inside the recorder, and the block is not
 * sampled: a few loads and compares, two stores) here. Not async-signal-safe; safe in malloc
 * hooks. */
SP_HOOK_SAFE static inline void sp_heap_on_alloc(void *p, size_t size_bytes, uintptr_t caller) {
    sp_alloc_thread *t = sp_heap_tls;
    if (t != NULL && p != NULL &&
        atomic_load_explicit(&t->generation, memory_order_relaxed) ==
            atomic_load_explicit(&sp_alloc_generation, memory_order_relaxed) &&
        !sp_sampler_busy()) {
        /* One writer per counter (this thread): a plain load and store, no locked insn. */
        atomic_store_explicit(&t->seen, atomic_load_explicit(&t->seen, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        if (size_bytes < t->countdown_bytes) {
            t->countdown_bytes -= size_bytes;
            return;
        }
        sp_heap_sampled(p, size_bytes, caller);
        return;
    }
    sp_heap_after_alloc(p, size_bytes, caller);
}

/* Hook: the program is about to free (or realloc) p. Records the free when p's allocation was
 * recorded, before the real allocator can hand p out again. Returns 1 when it did (p was
 * recorded), else 0. free() calls it only when sp_alloc_table_maybe_contains(p). caller is the
 * hook's return address, as for sp_heap_after_alloc (the stack of a CPU sample deferred to the
 * hook's end starts there). Not async-signal-safe; safe in malloc hooks. */
SP_HOOK_SAFE int sp_heap_before_free(void *p, uintptr_t caller);

/* Hook: realloc(old, n > 0) failed after sp_heap_before_free(old) recorded old's free; old is
 * still live, so it is recorded again, with the usable size the allocator reports.
 * Not async-signal-safe; safe in malloc hooks. */
SP_HOOK_SAFE void sp_heap_realloc_failed(void *old, size_t usable_bytes, uintptr_t caller);

#endif /* SPPROF_RECORDER_HEAP_H */
