/* heap.c: the allocation recorder's hook side. Decides which allocations to record (Poisson
 * sampling by bytes), keeps the live-address table, unwinds, and commits events to the
 * thread's own ring. Runs inside malloc and free: no malloc, no stdio, no lock that a signal
 * handler could need; the sampler's per-thread "busy" flag guards against re-entry. */
#define _GNU_SOURCE
#include "recorder/heap.h"

#include <errno.h>
#include <pthread.h>
#include <string.h> /* strcmp */
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "recorder/alloc_sampler.h"
#include "recorder/alloc_thread.h"
#include "recorder/procinfo.h"
#include "recorder/sampler.h"
#include "recorder/stamp.h"
#include "recorder/unwind.h"
#include "recorder/wake.h"

/* Frames the hook itself adds before the program's (unw_backtrace, this file, preload.c); the
 * caller's frame is looked for among the first SKIP_SLACK. */
#define SKIP_SLACK 16u
/* Ring per thread, mapped but only paid for where written. Sampled: ~2,000 events of 64
 * frames, far more than a 100 ms drain period brings. All: one thread allocating flat out
 * commits ~270 KB of events per ms, and the writer's first drain can stall for ~20 ms while
 * the symbolizer reads libc's debug information; 32 MiB rides that out (8 MiB dropped 40% of a
 * C++ test program's events). */
#define RING_BYTES_SAMPLED (1u << 20)
#define RING_BYTES_ALL     (32u << 20)
#define WAKE_FRACTION      8u /* ask for an early drain when a ring is 1/8 full */
/* "all" promises every event: a full ring makes the hook wait for the writer (heaptrack's pipe
 * blocks the same way) rather than drop. The wait is bounded, because the thread may hold
 * something the writer needs (the loader's lock, inside the program's dl_iterate_phdr
 * callback): after WAIT_LIMIT_NS in vain the event is dropped, counted, and the thread drops
 * rather than waits for as long again. */
#define WAIT_LIMIT_NS (1000u * 1000u * 1000u)
#define WAIT_SLICE_NS (10u * 1000u * 1000u)

atomic_int sp_heap_active;
_Atomic(sp_alloc_thread *) sp_alloc_threads;
uint64_t sp_alloc_reclaimed_seen;
uint64_t sp_alloc_reclaimed_drops;
_Atomic uint64_t sp_alloc_generation;
_Atomic uint32_t sp_alloc_drained;

/* Written by sp_heap_configure before sp_heap_start publishes them. */
static spt_alloc_mode mode = SPT_ALLOC_OFF;
static uint64_t mean_bytes;      /* 0 in "all" mode: every allocation is sampled */
static uint32_t max_depth = 128; /* frames per stack */
static size_t ring_bytes = RING_BYTES_SAMPLED;
static void (*wake_writer)(void);
static int unwind_fp; /* --unwind fp: allocation stacks from frame pointers too */
static uint64_t own_text_start, own_text_end; /* this library's code, to skip our frames */
static int fork_locked;                       /* the prepare handler took the table's locks */

__thread sp_alloc_thread *sp_heap_tls __attribute__((tls_model("initial-exec")));

/* ---- per-thread state ---------------------------------------------------------------------- */

/* The calling thread's state, created on its first use (one mmap'ed page, pushed onto the
 * list). NULL when mmap fails. */
SP_HOOK_SAFE static sp_alloc_thread *thread_state(void);

SP_HOOK_SAFE static uint64_t drops_now(const sp_alloc_thread *t) {
    sp_ring *ring = atomic_load_explicit(&t->ring, memory_order_relaxed);
    return (ring != NULL ? sp_ring_dropped_full(ring) : 0) +
           atomic_load_explicit(&t->lost, memory_order_relaxed);
}

/* A new recording started since this thread last counted: its counts start again from zero.
 * The thread does it itself, before its first event of the new recording, so no count of the
 * new recording can be lost to a race with the writer. generation is stored last (release):
 * the writer that sees it sees the zeroed counts. */
SP_HOOK_SAFE static void renew(sp_alloc_thread *t, uint64_t generation) {
    atomic_store_explicit(&t->seen, 0, memory_order_relaxed);
    atomic_store_explicit(&t->drops_base, drops_now(t), memory_order_relaxed);
    atomic_store_explicit(&t->generation, generation, memory_order_release);
}

SP_HOOK_SAFE static sp_alloc_thread *state_of_this_thread(void) {
    sp_alloc_thread *t = sp_heap_tls;
    if (t == NULL) {
        t = thread_state();
    }
    if (t != NULL) {
        uint64_t generation = atomic_load_explicit(&sp_alloc_generation, memory_order_relaxed);
        if (atomic_load_explicit(&t->generation, memory_order_relaxed) != generation) {
            renew(t, generation);
        }
    }
    return t;
}

SP_HOOK_SAFE static sp_alloc_thread *thread_state(void) {
    sp_alloc_thread *t = sp_heap_tls;
    if (t != NULL) {
        return t;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = (sizeof *t + page - 1) & ~(page - 1);
    int saved_errno = errno;
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved_errno;
    if (mem == MAP_FAILED) {
        return NULL;
    }
    t = mem; /* zero-filled: no ring, counters at 0 */
    t->os_tid = (int)gettid();
    t->prng = sp_alloc_prng_seed((uint64_t)t->os_tid ^ (uint64_t)(uintptr_t)t, sp_monotonic_ns());
    /* The first gap is drawn too: starting at 0 would sample every thread's first allocation,
     * which the weights do not account for. */
    t->countdown_bytes = sp_alloc_draw_countdown(&t->prng, mean_bytes);
    sp_alloc_thread *head = atomic_load_explicit(&sp_alloc_threads, memory_order_relaxed);
    do {
        t->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&sp_alloc_threads, &head, t,
                                                    memory_order_release, memory_order_relaxed));
    sp_heap_tls = t;
    return t;
}

void sp_alloc_thread_destroy(sp_alloc_thread *t) {
    sp_ring_destroy(atomic_load_explicit(&t->ring, memory_order_acquire));
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    munmap(t, (sizeof *t + page - 1) & ~(page - 1));
}

/* The thread's ring, created (mmap) on its first recorded event. */
SP_HOOK_SAFE static sp_ring *thread_ring(sp_alloc_thread *t) {
    sp_ring *ring = atomic_load_explicit(&t->ring, memory_order_relaxed);
    if (ring == NULL) {
        ring = sp_ring_create(ring_bytes);
        /* release: the writer that loads the pointer sees an initialized ring. */
        atomic_store_explicit(&t->ring, ring, memory_order_release);
    }
    return ring;
}

SP_HOOK_SAFE static void count_lost(sp_alloc_thread *t) {
    atomic_store_explicit(&t->lost, atomic_load_explicit(&t->lost, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Publishes the reserved event and, when the ring is filling, asks the writer to drain now
 * rather than at its next 100 ms tick (once per drain: wake_pending). */
SP_HOOK_SAFE static void commit(sp_alloc_thread *t, sp_ring *ring, sp_alloc_event *e,
                                size_t bytes) {
    /* The stamp orders this event against the other threads' (alloc_drain.c): an ALLOC comes
     * after the unwinder, which orders its stamp in practice; a FREE's needs the fence
     * (stamp.h). Fencing both cost 10% of a fully traced program's time. */
    e->stamp = e->kind == SP_ALLOC_EVENT_FREE ? sp_stamp_now() : sp_stamp_now_unordered();
    sp_ring_commit(ring, bytes);
    if (wake_writer != NULL && !atomic_load_explicit(&t->wake_pending, memory_order_relaxed) &&
        sp_ring_used_above(ring, ring_bytes / WAKE_FRACTION)) {
        atomic_store_explicit(&t->wake_pending, 1, memory_order_relaxed);
        wake_writer();
    }
}

/* ---- recording ----------------------------------------------------------------------------- */

/* Room for an event of up to bytes, or NULL when it must be dropped (counted by the ring). Under
 * sampling a full ring drops at once: the program is never kept waiting. In "all" mode the
 * thread waits for the writer, within WAIT_LIMIT_NS. */
SP_HOOK_SAFE static void *reserve_event(sp_alloc_thread *t, sp_ring *ring, size_t bytes) {
    void *e = sp_ring_try_reserve(ring, bytes);
    if (e != NULL || mode != SPT_ALLOC_ALL || wake_writer == NULL) {
        if (e == NULL) {
            sp_ring_count_full(ring);
        }
        return e;
    }
    uint64_t start = sp_monotonic_ns();
    uint64_t now = start;
    while (now >= t->no_wait_until_ns && now - start < WAIT_LIMIT_NS &&
           atomic_load_explicit(&sp_heap_active, memory_order_acquire)) {
        /* Read before the retry: a pass that ends between the retry and the wait ends the
         * wait at once. */
        uint32_t passes = atomic_load_explicit(&sp_alloc_drained, memory_order_acquire);
        e = sp_ring_try_reserve(ring, bytes);
        if (e != NULL) {
            return e;
        }
        wake_writer();
        sp_futex_wait(&sp_alloc_drained, passes, WAIT_SLICE_NS);
        now = sp_monotonic_ns();
    }
    if (now - start >= WAIT_LIMIT_NS) {
        t->no_wait_until_ns = now + WAIT_LIMIT_NS;
    }
    sp_ring_count_full(ring);
    return NULL;
}

/* Returns 1 when the FREE is in the ring, 0 when the ring was full (the ring counts it). */
SP_HOOK_SAFE static int record_free(sp_alloc_thread *t, sp_ring *ring, uint64_t address) {
    sp_alloc_event *e = reserve_event(t, ring, sizeof *e);
    if (e == NULL) {
        return 0;
    }
    e->address = address;
    e->size_bytes = 0;
    e->kind = SP_ALLOC_EVENT_FREE;
    e->flags = 0;
    e->skip = 0;
    e->n_pcs = 0;
    commit(t, ring, e, sizeof *e);
    return 1;
}

/* Keeps the program's frames: from the hook's caller outwards. The caller is found by its
 * return address; failing that, every leading frame inside this library is dropped. Returns
 * the index of the first frame to keep. */
SP_HOOK_SAFE static uint32_t first_program_frame(const uint64_t *pcs, uint32_t n,
                                                 uintptr_t caller) {
    for (uint32_t i = 0; i < n && i < SKIP_SLACK; i++) {
        if (pcs[i] == (uint64_t)caller) {
            return i;
        }
    }
    uint32_t first = n > 0 ? 1 : 0; /* frame 0 is inside unw_backtrace itself */
    for (uint32_t i = 0; i < n && i < SKIP_SLACK; i++) {
        if (pcs[i] >= own_text_start && pcs[i] < own_text_end) {
            first = i + 1;
        }
    }
    return first;
}

/* The calling thread's return addresses, innermost first (the first are the recorder's own):
 * libunwind's fast walk, or with --unwind fp the frame-pointer chain as the CPU samples walk it,
 * up to the top of the thread's stack (known for threads the recorder saw start; others, until
 * the writer has found their stack, fall back to libunwind). */
SP_HOOK_SAFE static int backtrace_here(sp_alloc_thread *t, uint64_t *pcs, int max,
                                       uintptr_t caller) {
    const sp_sampler_thread *self = unwind_fp ? sp_sampler_self() : NULL;
    uint64_t fp_stack_hi = self != NULL ? self->stack_hi : 0;
    int n = sp_unwind_here(fp_stack_hi, &t->unwinding, pcs, (uint32_t)max);
    if (n < 0) {
        /* A fork is under way (unwind.h): the allocation's caller alone. */
        pcs[0] = (uint64_t)caller;
        return 1;
    }
    return n;
}

__attribute__((always_inline)) SP_HOOK_SAFE static inline void
record_alloc(sp_alloc_thread *t, uint64_t address, uint64_t size, uintptr_t caller) {
    sp_ring *ring = thread_ring(t);
    if (ring == NULL) {
        count_lost(t);
        return;
    }
    /* Under sampling the hooks' table decides which frees are recorded. In "all" mode every
     * free is, and the drain keeps the live set instead (live_set.h). */
    int use_table = mode == SPT_ALLOC_SAMPLED;
    int inserted = use_table ? sp_alloc_table_insert(address) : 0;
    if (inserted < 0) {
        count_lost(t); /* without a table entry its free could not be recorded */
        return;
    }
    /* Already in the table: the address was freed without its FREE reaching a ring (the ring
     * was full, or the free came from a signal handler nested in the recorder). Record that
     * FREE now, before the new ALLOC, so the trace alternates. If even that does not fit, the
     * old entry stands for the new block and this ALLOC is dropped. */
    if (inserted == 1 && !record_free(t, ring, address)) {
        return;
    }
    uint32_t capacity = max_depth + SKIP_SLACK;
    sp_alloc_event *e = reserve_event(t, ring, sp_alloc_event_bytes(capacity));
    if (e == NULL) {
        if (use_table) {
            sp_alloc_table_remove(address); /* dropped (counted): its free is not ours */
        }
        return;
    }
    /* A SIGPROF meanwhile finds the busy flag set: it is deferred to the hook's end rather
     * than re-entering libunwind here. */
    int got = backtrace_here(t, e->pcs, (int)capacity, caller);
    uint32_t n = got > 0 ? (uint32_t)got : 0;
    uint32_t first = first_program_frame(e->pcs, n, caller);
    uint32_t kept = n - first;
    uint16_t flags = n == capacity ? SP_ALLOC_EVENT_TRUNCATED : 0;
    if (kept > max_depth) {
        kept = max_depth;
        flags = SP_ALLOC_EVENT_TRUNCATED;
    }
    e->address = address;
    e->size_bytes = size;
    e->kind = SP_ALLOC_EVENT_ALLOC;
    e->flags = flags;
    e->skip = (uint16_t)first;
    e->n_pcs = (uint16_t)kept;
    commit(t, ring, e, sp_alloc_event_bytes(first + kept));
}

/* Leaves an allocation hook (sp_sampler_set_busy(SP_SAMPLER_BUSY_HOOK) at its start) and takes
 * the CPU sample that landed in it, if one did, with caller (the hook's return address) as the
 * frame its stack is kept from. */
__attribute__((always_inline)) SP_HOOK_SAFE static inline void end_hook(uintptr_t caller) {
    sp_sampler_set_busy(0);
    if (sp_sampler_deferred_pending()) {
        sp_sampler_take_deferred(caller, 0);
    }
}

SP_HOOK_SAFE void sp_heap_after_alloc(void *p, size_t size_bytes, uintptr_t caller) {
    /* busy: the writer thread (marked for good) or recorder code on this thread (libunwind,
     * a nested signal handler's malloc): not the program's allocation, or not safe to record. */
    if (p == NULL || sp_sampler_busy()) {
        return;
    }
    sp_alloc_thread *t = state_of_this_thread();
    if (t == NULL) {
        return;
    }
    atomic_store_explicit(&t->seen, atomic_load_explicit(&t->seen, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (size_bytes < t->countdown_bytes) {
        t->countdown_bytes -= size_bytes;
        return;
    }
    sp_heap_sampled(p, size_bytes, caller);
}

SP_HOOK_SAFE void sp_heap_sampled(void *p, size_t size_bytes, uintptr_t caller) {
    sp_alloc_thread *t = sp_heap_tls;
    t->countdown_bytes = sp_alloc_draw_countdown(&t->prng, mean_bytes);
    int saved_errno = errno; /* a failed mmap in here is ours, not the program's */
    sp_sampler_set_busy(SP_SAMPLER_BUSY_HOOK);
    record_alloc(t, (uint64_t)(uintptr_t)p, size_bytes, caller);
    end_hook(caller);
    errno = saved_errno;
}

SP_HOOK_SAFE int sp_heap_before_free(void *p, uintptr_t caller) {
    uint64_t address = (uint64_t)(uintptr_t)p;
    /* Under sampling almost every free stops at the lock-free filter (free() checks it inline
     * first; realloc comes straight here). */
    if (!sp_alloc_table_maybe_contains(address) || sp_sampler_busy()) {
        return 0;
    }
    int saved_errno = errno; /* free() must leave errno alone (POSIX.1-2024, glibc 2.33) */
    sp_alloc_thread *t = state_of_this_thread();
    sp_sampler_set_busy(SP_SAMPLER_BUSY_HOOK);
    int recorded = 0;
    if (mode == SPT_ALLOC_ALL) {
        /* No table: the drain drops the FREE of a block it never wrote (live_set.h). */
        sp_ring *ring = t != NULL ? thread_ring(t) : NULL;
        recorded = ring != NULL && record_free(t, ring, address);
        if (ring == NULL && t != NULL) {
            count_lost(t);
        }
    } else if (sp_alloc_table_remove(address)) {
        sp_ring *ring = t != NULL ? thread_ring(t) : NULL;
        recorded = ring != NULL && record_free(t, ring, address);
        if (!recorded) {
            /* The FREE is lost (counted). The entry goes back: whichever thread is handed this
             * address next finds it and records the FREE first (record_alloc), so ALLOC and
             * FREE still alternate; until then the block reads as live. */
            if (ring == NULL && t != NULL) {
                count_lost(t);
            }
            sp_alloc_table_insert(address);
        }
    }
    end_hook(caller);
    errno = saved_errno;
    return recorded;
}

SP_HOOK_SAFE void sp_heap_realloc_failed(void *old, size_t usable_bytes, uintptr_t caller) {
    if (old == NULL || sp_sampler_busy()) {
        return;
    }
    int saved_errno = errno; /* realloc's ENOMEM must reach the program */
    sp_alloc_thread *t = state_of_this_thread();
    if (t != NULL) {
        sp_sampler_set_busy(SP_SAMPLER_BUSY_HOOK);
        record_alloc(t, (uint64_t)(uintptr_t)old, usable_bytes, caller);
        end_hook(caller);
    }
    errno = saved_errno;
}

/* ---- configuration, start and stop --------------------------------------------------------- */

SP_SIGNAL_SAFE spt_alloc_mode sp_heap_mode(void) {
    return mode;
}

SP_SIGNAL_SAFE uint64_t sp_heap_sample_bytes(void) {
    return mode == SPT_ALLOC_SAMPLED ? mean_bytes : 0;
}

SP_SIGNAL_SAFE uint32_t sp_heap_max_depth(void) {
    return max_depth;
}

void sp_heap_start(void) {
    static int started_before;
    if (mode == SPT_ALLOC_OFF) {
        return;
    }
    /* A new recording (the C API may stop and start again) begins with nothing live: the
     * frees of blocks recorded in the previous trace are not this trace's. */
    if (started_before) {
        sp_alloc_table_reset();
    }
    started_before = 1;
    atomic_fetch_add(&sp_alloc_generation, 1);
    atomic_store_explicit(&sp_heap_active, 1, memory_order_release);
}

SP_SIGNAL_SAFE void sp_heap_stop(void) {
    atomic_store_explicit(&sp_heap_active, 0, memory_order_release);
}

/* Parses "off", "all" or a decimal byte count into mode and mean_bytes. Returns 0 or -1. */
static int parse_spec(const char *spec) {
    if (spec == NULL || spec[0] == '\0') {
        mode = SPT_ALLOC_SAMPLED;
        mean_bytes = SP_HEAP_DEFAULT_SAMPLE_BYTES;
        return 0;
    }
    if (strcmp(spec, "off") == 0) {
        mode = SPT_ALLOC_OFF;
        mean_bytes = 0;
        return 0;
    }
    if (strcmp(spec, "all") == 0) {
        mode = SPT_ALLOC_ALL;
        mean_bytes = 0;
        return 0;
    }
    uint64_t v = 0;
    for (const char *c = spec; *c != '\0'; c++) {
        if (*c < '0' || *c > '9' || v > SP_HEAP_MAX_SAMPLE_BYTES) {
            return -1;
        }
        v = v * 10 + (uint64_t)(*c - '0');
    }
    if (v < 1 || v > SP_HEAP_MAX_SAMPLE_BYTES) {
        return -1;
    }
    mode = SPT_ALLOC_SAMPLED;
    mean_bytes = v;
    return 0;
}

/* ---- fork ---------------------------------------------------------------------------------- */

void sp_heap_wait_unwinders(uint64_t deadline_ns) {
    for (sp_alloc_thread *t = atomic_load_explicit(&sp_alloc_threads, memory_order_acquire);
         t != NULL; t = t->next) {
        if (t != sp_heap_tls) {
            sp_unwind_gate_wait(&t->unwinding, deadline_ns);
        }
    }
}

/* A fork from a signal handler that interrupted this thread inside the recorder must not wait
 * for (or reset) what the interrupted code holds: nothing is touched then. */
static void before_fork(void) {
    fork_locked = !sp_sampler_busy();
    if (fork_locked) {
        sp_alloc_table_lock_all();
    }
}

static void after_fork_in_parent(void) {
    if (fork_locked) {
        sp_alloc_table_unlock_all();
    }
}

/* The child has one thread and a trace of its own (or none): it starts with an empty table and
 * no per-thread state. Whether it records is the lifecycle code's choice (sp_heap_stop or
 * not); sp_heap_active is left as it was. */
static void after_fork_in_child(void) {
    if (!fork_locked) {
        return;
    }
    sp_alloc_table_reset_in_child();
    sp_alloc_thread *t = atomic_exchange(&sp_alloc_threads, NULL);
    while (t != NULL) {
        sp_alloc_thread *next = t->next;
        sp_alloc_thread_destroy(t);
        t = next;
    }
    sp_heap_tls = NULL;
    sp_alloc_reclaimed_seen = 0;
    sp_alloc_reclaimed_drops = 0;
    atomic_fetch_add(&sp_alloc_generation, 1);
}

int sp_heap_configure(const sp_heap_config *config, const char **why) {
    static int atfork_registered;
    if (parse_spec(config->spec) != 0) {
        *why = "SPPROF_ALLOC is not 'all', 'off' or a number of bytes from 1 to 1099511627776";
        return -1;
    }
    max_depth = config->max_depth > 0 ? config->max_depth : 1;
    unwind_fp = config->unwind_fp;
    ring_bytes = mode == SPT_ALLOC_ALL ? RING_BYTES_ALL : RING_BYTES_SAMPLED;
    wake_writer = config->wake_writer;
    if (mode == SPT_ALLOC_OFF) {
        return 0;
    }
    sp_stamp_init();
    if (sp_alloc_table_init(mode == SPT_ALLOC_SAMPLED) != 0) {
        *why = "cannot map the live-allocation table";
        return -1;
    }
    sp_own_text(&own_text_start, &own_text_end);
    if (!atfork_registered &&
        pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child) == 0) {
        atfork_registered = 1;
    }
    return 0;
}
