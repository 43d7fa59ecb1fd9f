/* alloc_drain.c: turns the per-thread allocation rings into ALLOC, FREE and DROPS records.
 * Runs on the writer thread only, which the hooks never record (its busy flag is set for good),
 * so it may allocate freely. */
#define _GNU_SOURCE
#include "recorder/alloc_drain.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "recorder/alloc_sampler.h"
#include "recorder/alloc_thread.h"
#include "recorder/heap.h"
#include "recorder/live_set.h"
#include "recorder/stamp.h"
#include "recorder/wake.h"

/* A thread whose counters stood still this long is asked whether it still exists. */
#define LIVENESS_PERIOD_NS 1000000000u

/* One cached stack: the raw addresses (in the arena) and the stack id they interned to. */
typedef struct {
    uint64_t hash;  /* 0 = empty slot */
    size_t offset;  /* first address in the arena */
    uint32_t n_pcs; /* addresses */
    uint32_t flags; /* SP_ALLOC_EVENT_TRUNCATED or 0 */
    uint32_t stack; /* stack id in the current writer */
} stack_entry;

/* One thread's next event in the merge. */
typedef struct {
    uint64_t stamp;   /* the event's, which orders the merge */
    uint64_t time_ns; /* the same instant in CLOCK_MONOTONIC */
    sp_alloc_thread *t;
    sp_ring *ring;
    const sp_alloc_event *e;
    size_t size_bytes;
} head;

static struct {
    uint64_t generation; /* sp_alloc_generation these caches belong to */
    spt_writer *writer;  /* the writer whose ids they hold; NULL after a release */
    /* Raw stack -> stack id. A hash of the addresses avoids re-symbolizing and re-interning
     * every frame of every allocation: at full tracing this is the drain's hot path. */
    stack_entry *stacks;
    size_t stacks_mask; /* slots - 1; 0 before the first insert */
    size_t stacks_used;
    uint64_t *arena;
    size_t arena_len;
    size_t arena_cap;
    sp_stamp_clock clock; /* converts the hooks' stamps (stamp.h) */
    head *heap;           /* min-heap on stamp */
    size_t heap_len;
    size_t heap_cap;
    sp_live_set live;           /* "all": blocks whose ALLOC is written and FREE is not */
    uint64_t recorded;          /* ALLOC records written this recording */
    uint64_t truncated_pending; /* ALLOC stacks cut at max_depth, not yet in a DROPS record */
} d;

void sp_alloc_drain_release(void) {
    d.writer = NULL;
    free(d.stacks);
    free(d.arena);
    free(d.heap);
    d.stacks = NULL;
    d.arena = NULL;
    d.heap = NULL;
    sp_live_set_clear(&d.live);
    d.stacks_mask = d.stacks_used = d.arena_len = d.arena_cap = 0;
    d.heap_len = d.heap_cap = 0;
    d.recorded = 0;
    d.truncated_pending = 0;
}

/* ---- the stack cache ----------------------------------------------------------------------- */

static int stacks_grow(void) {
    size_t slots = d.stacks_mask ? (d.stacks_mask + 1) * 2 : 4096;
    stack_entry *grown = calloc(slots, sizeof *grown);
    if (grown == NULL) {
        return -1;
    }
    for (size_t i = 0; d.stacks_mask && i <= d.stacks_mask; i++) {
        if (d.stacks[i].hash != 0) {
            size_t j = (size_t)d.stacks[i].hash & (slots - 1);
            while (grown[j].hash != 0) {
                j = (j + 1) & (slots - 1);
            }
            grown[j] = d.stacks[i];
        }
    }
    free(d.stacks);
    d.stacks = grown;
    d.stacks_mask = slots - 1;
    return 0;
}

/* The stack id of an event's addresses: from the cache, or interned through the sink and
 * cached. Returns 0 on failure (the writer's, or out of memory). */
static uint32_t stack_of(const sp_alloc_sink *s, const sp_alloc_event *e) {
    uint32_t flags = e->flags & SP_ALLOC_EVENT_TRUNCATED;
    const uint64_t *pcs = sp_alloc_event_pcs(e);
    size_t bytes = (size_t)e->n_pcs * sizeof(uint64_t);
    uint64_t h = XXH3_64bits_withSeed(pcs, bytes, flags) | 1u; /* never 0: 0 is "empty" */
    if ((d.stacks_used + 1) * 2 > d.stacks_mask + 1 && stacks_grow() != 0) {
        return 0;
    }
    size_t i = (size_t)h & d.stacks_mask;
    for (; d.stacks[i].hash != 0; i = (i + 1) & d.stacks_mask) {
        const stack_entry *c = &d.stacks[i];
        if (c->hash == h && c->n_pcs == e->n_pcs && c->flags == flags &&
            memcmp(d.arena + c->offset, pcs, bytes) == 0) {
            return c->stack;
        }
    }
    uint32_t stack = s->stack_of(s->ctx, pcs, e->n_pcs, flags != 0);
    if (stack == 0 && e->n_pcs > 0) {
        return 0;
    }
    if (d.arena_len + e->n_pcs > d.arena_cap) {
        size_t cap = d.arena_cap ? d.arena_cap * 2 : 65536;
        while (cap < d.arena_len + e->n_pcs) {
            cap *= 2;
        }
        uint64_t *grown = realloc(d.arena, cap * sizeof *grown);
        if (grown == NULL) {
            return stack; /* correct, just not cached */
        }
        d.arena = grown;
        d.arena_cap = cap;
    }
    memcpy(d.arena + d.arena_len, pcs, bytes);
    d.stacks[i] = (stack_entry){h, d.arena_len, e->n_pcs, flags, stack};
    d.arena_len += e->n_pcs;
    d.stacks_used++;
    return stack;
}

/* ---- the merge ----------------------------------------------------------------------------- */

static void heap_sift_down(size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < d.heap_len && d.heap[l].stamp < d.heap[m].stamp) {
            m = l;
        }
        if (r < d.heap_len && d.heap[r].stamp < d.heap[m].stamp) {
            m = r;
        }
        if (m == i) {
            return;
        }
        head tmp = d.heap[i];
        d.heap[i] = d.heap[m];
        d.heap[m] = tmp;
        i = m;
    }
}

static void heap_sift_up(size_t i) {
    while (i > 0 && d.heap[(i - 1) / 2].stamp > d.heap[i].stamp) {
        head tmp = d.heap[i];
        d.heap[i] = d.heap[(i - 1) / 2];
        d.heap[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

/* Loads t's oldest event into *h. Returns 1 when there is one at or before cutoff. Malformed
 * entries (which only a bug could make) are released and skipped. */
static int peek_event(sp_alloc_thread *t, sp_ring *ring, uint64_t start_ns, uint64_t cutoff,
                      head *h) {
    for (;;) {
        size_t size = 0;
        const sp_alloc_event *e = sp_ring_peek(ring, &size);
        if (e == NULL) {
            return 0;
        }
        if (size < sizeof *e || size < sp_alloc_event_bytes((uint32_t)e->skip + e->n_pcs)) {
            sp_ring_release(ring);
            continue;
        }
        if (e->stamp > cutoff) {
            return 0; /* left for the next drain: an older event may still be on its way */
        }
        uint64_t time_ns = sp_stamp_to_mono_ns(&d.clock, e->stamp);
        if (time_ns < start_ns) {
            sp_ring_release(ring); /* committed by a hook still running when the previous
                                      recording stopped: not this trace's */
            continue;
        }
        *h = (head){e->stamp, time_ns, t, ring, e, size};
        return 1;
    }
}

static int write_event(const sp_alloc_sink *s, const head *h) {
    sp_alloc_thread *t = h->t;
    const sp_alloc_event *e = h->e;
    uint64_t time_ns = h->time_ns > s->start_mono_ns ? h->time_ns - s->start_mono_ns : 0;
    if (t->trace_thread == 0) {
        t->trace_thread = s->thread_of(s->ctx, t->os_tid, h->time_ns, &t->own_definition);
        if (t->trace_thread == 0) {
            return -1;
        }
    }
    /* In "all" mode the hooks record every free; only those of blocks this trace holds are
     * written. An ALLOC of an address still live means its FREE was dropped (a full ring): it is
     * written first, so ALLOC and FREE alternate as under sampling (heap.c). If the set cannot
     * grow, the ALLOC is still written and its block will read as live. */
    int track_live = sp_heap_mode() == SPT_ALLOC_ALL;
    if (e->kind == SP_ALLOC_EVENT_FREE) {
        if (track_live && !sp_live_set_remove(&d.live, e->address)) {
            return 0;
        }
        return spt_writer_free(s->w, t->trace_thread, time_ns, e->address) == SPT_OK ? 0 : -1;
    }
    if (track_live && sp_live_set_insert(&d.live, e->address) == 1 &&
        spt_writer_free(s->w, t->trace_thread, time_ns, e->address) != SPT_OK) {
        return -1;
    }
    uint32_t stack = stack_of(s, e);
    if (stack == 0 && e->n_pcs > 0) {
        return -1;
    }
    uint64_t weight = sp_heap_mode() == SPT_ALLOC_ALL
                          ? e->size_bytes
                          : sp_alloc_weight(e->size_bytes, sp_heap_sample_bytes());
    if (spt_writer_alloc(s->w, t->trace_thread, time_ns, e->address, e->size_bytes, weight,
                         stack) != SPT_OK) {
        return -1;
    }
    d.recorded++;
    d.truncated_pending += (e->flags & SP_ALLOC_EVENT_TRUNCATED) != 0;
    return 0;
}

/* Merges every thread's events up to cutoff by time. Events of one thread keep their ring
 * order (one head per thread in the heap). */
static int merge(const sp_alloc_sink *s, uint64_t cutoff) {
    d.heap_len = 0;
    for (sp_alloc_thread *t = atomic_load_explicit(&sp_alloc_threads, memory_order_acquire);
         t != NULL; t = t->next) {
        sp_ring *ring = atomic_load_explicit(&t->ring, memory_order_acquire);
        head h;
        if (ring == NULL || !peek_event(t, ring, s->start_mono_ns, cutoff, &h)) {
            continue;
        }
        if (d.heap_len == d.heap_cap) {
            size_t cap = d.heap_cap ? d.heap_cap * 2 : 64;
            head *grown = realloc(d.heap, cap * sizeof *grown);
            if (grown == NULL) {
                return -1;
            }
            d.heap = grown;
            d.heap_cap = cap;
        }
        d.heap[d.heap_len++] = h;
        heap_sift_up(d.heap_len - 1);
    }
    while (d.heap_len > 0) {
        head *top = &d.heap[0];
        if (s->can_write != NULL && !s->can_write(s->ctx)) {
            return 0; /* the trace is full: what is left stays in the rings */
        }
        if (write_event(s, top) != 0) {
            return -1;
        }
        sp_ring_release(top->ring);
        if (peek_event(top->t, top->ring, s->start_mono_ns, cutoff, top)) {
            heap_sift_down(0);
        } else {
            d.heap[0] = d.heap[--d.heap_len];
            heap_sift_down(0);
        }
    }
    return 0;
}

/* ---- drops and exited threads -------------------------------------------------------------- */

/* Does t count in the current recording? Only once it has zeroed its counts for it (renew in
 * heap.c); until then its counts belong to an older recording. */
static int in_recording(const sp_alloc_thread *t) {
    return atomic_load_explicit(&t->generation, memory_order_acquire) == d.generation;
}

/* Events t lost in the current recording (ring full, or no ring or table memory). */
static uint64_t drops_of(sp_alloc_thread *t) {
    if (!in_recording(t)) {
        return 0;
    }
    sp_ring *ring = atomic_load_explicit(&t->ring, memory_order_acquire);
    return (ring != NULL ? sp_ring_dropped_full(ring) : 0) +
           atomic_load_explicit(&t->lost, memory_order_relaxed) -
           atomic_load_explicit(&t->drops_base, memory_order_relaxed);
}

/* Allocations t made in the current recording. */
static uint64_t seen_of(sp_alloc_thread *t) {
    return in_recording(t) ? atomic_load_explicit(&t->seen, memory_order_relaxed) : 0;
}

/* A thread that allocated nothing for a while, has an empty ring and no longer exists: its
 * state can go. tgkill with signal 0 checks existence without sending anything; a recycled
 * tid only delays the reclaim. */
static int is_gone(sp_alloc_thread *t, uint64_t now) {
    uint64_t seen = atomic_load_explicit(&t->seen, memory_order_relaxed);
    if (seen != t->seen_at_check || t->checked_ns == 0) {
        t->seen_at_check = seen;
        t->checked_ns = now;
        return 0;
    }
    if (now - t->checked_ns < LIVENESS_PERIOD_NS) {
        return 0;
    }
    t->checked_ns = now;
    sp_ring *ring = atomic_load_explicit(&t->ring, memory_order_acquire);
    size_t size = 0;
    if (ring != NULL && sp_ring_peek(ring, &size) != NULL) {
        return 0;
    }
    return syscall(SYS_tgkill, getpid(), t->os_tid, 0) != 0 && errno == ESRCH;
}

/* Unlinks t (prev is its predecessor as last seen, NULL when it was the head). Producers only
 * ever push at the head, so when the head moved on, t's predecessor is found from the new
 * head. */
static void unlink_thread(sp_alloc_thread *prev, sp_alloc_thread *t) {
    if (prev == NULL) {
        sp_alloc_thread *expected = t;
        if (atomic_compare_exchange_strong(&sp_alloc_threads, &expected, t->next)) {
            return;
        }
        prev = expected;
        while (prev->next != t) {
            prev = prev->next;
        }
    }
    prev->next = t->next;
}

static int report_and_reclaim(const sp_alloc_sink *s, uint64_t now) {
    uint64_t new_drops = 0;
    sp_alloc_thread *prev = NULL;
    sp_alloc_thread *t = atomic_load_explicit(&sp_alloc_threads, memory_order_acquire);
    while (t != NULL) {
        sp_alloc_thread *next = t->next;
        uint64_t drops = drops_of(t);
        if (t->reported_generation != d.generation) {
            t->reported_generation = d.generation; /* drops_of counts from 0 again */
            t->reported_drops = 0;
        }
        new_drops += drops - t->reported_drops;
        t->reported_drops = drops;
        atomic_store_explicit(&t->wake_pending, 0, memory_order_relaxed);
        if (is_gone(t, now)) {
            sp_alloc_reclaimed_seen += seen_of(t);
            sp_alloc_reclaimed_drops += drops;
            if (t->own_definition && t->trace_thread != 0 &&
                spt_writer_thread_end(s->w, t->trace_thread,
                                      now > s->start_mono_ns ? now - s->start_mono_ns : 0) !=
                    SPT_OK) {
                return -1;
            }
            unlink_thread(prev, t);
            sp_alloc_thread_destroy(t);
        } else {
            prev = t;
        }
        t = next;
    }
    uint64_t time_ns = now > s->start_mono_ns ? now - s->start_mono_ns : 0;
    if (new_drops > 0 &&
        spt_writer_drops(s->w, time_ns, SPT_DROP_ALLOC_RING_FULL, new_drops) != SPT_OK) {
        return -1;
    }
    if (d.truncated_pending > 0 &&
        spt_writer_drops(s->w, time_ns, SPT_DROP_TRUNCATED_STACK, d.truncated_pending) != SPT_OK) {
        return -1;
    }
    d.truncated_pending = 0;
    return 0;
}

/* ---- public -------------------------------------------------------------------------------- */

/* A new writer drains: the stack and thread ids the drain holds are the previous writer's. */
static void start_writer(spt_writer *writer) {
    sp_alloc_drain_release();
    d.writer = writer;
    sp_stamp_clock_start(&d.clock);
    for (sp_alloc_thread *t = atomic_load_explicit(&sp_alloc_threads, memory_order_acquire);
         t != NULL; t = t->next) {
        t->trace_thread = 0;
        t->own_definition = 0;
    }
}

/* A new recording started (or this is a forked child): counts start again. Trace ids stay:
 * the writer may already have written this recording's first events. */
static void start_generation(uint64_t generation) {
    d.generation = generation;
    sp_alloc_reclaimed_seen = 0;
    sp_alloc_reclaimed_drops = 0;
}

int sp_alloc_drain(const sp_alloc_sink *sink, int final) {
    /* Checked separately: a new writer may drain before sp_heap_start moves the generation
     * on, and write the new recording's first events before the next drain notices that. */
    if (sink->w != d.writer) {
        start_writer(sink->w);
    }
    uint64_t generation = atomic_load(&sp_alloc_generation);
    if (generation != d.generation) {
        start_generation(generation);
    }
    /* The cutoff is read before any ring: an event stamped at or before it was committed
     * before its stamp was taken, hence before this read, so the peeks below see it. Any event
     * that must come after it (the ALLOC that reuses a freed address) is stamped later. */
    uint64_t now;
    uint64_t cutoff = sp_stamp_calibrate(&d.clock, &now);
    atomic_thread_fence(memory_order_seq_cst);
    int merged = merge(sink, final ? UINT64_MAX : cutoff);
    /* The merge may stop at an entry it leaves for later (a cutoff, a full trace): what it
     * released before that goes back to the producers now, not at the next batch. */
    for (sp_alloc_thread *t = atomic_load_explicit(&sp_alloc_threads, memory_order_acquire);
         t != NULL; t = t->next) {
        sp_ring *ring = atomic_load_explicit(&t->ring, memory_order_acquire);
        if (ring != NULL) {
            sp_ring_pause(ring);
        }
    }
    sp_futex_post(&sp_alloc_drained); /* hooks waiting for room try again */
    if (merged != 0) {
        return -1;
    }
    return report_and_reclaim(sink, now);
}

void sp_alloc_drain_discard(void) {
    for (sp_alloc_thread *t = atomic_load_explicit(&sp_alloc_threads, memory_order_acquire);
         t != NULL; t = t->next) {
        sp_ring *ring = atomic_load_explicit(&t->ring, memory_order_acquire);
        size_t size = 0;
        while (ring != NULL && sp_ring_peek(ring, &size) != NULL) {
            sp_ring_release(ring);
        }
    }
    sp_futex_post(&sp_alloc_drained);
}

void sp_alloc_drain_end(spt_end *end) {
    uint64_t seen = sp_alloc_reclaimed_seen;
    uint64_t dropped = sp_alloc_reclaimed_drops;
    for (sp_alloc_thread *t = atomic_load_explicit(&sp_alloc_threads, memory_order_acquire);
         t != NULL; t = t->next) {
        seen += seen_of(t);
        dropped += drops_of(t);
    }
    end->allocs_seen = seen;
    end->dropped_allocs = dropped;
}

uint64_t sp_alloc_drain_recorded(void) {
    return d.recorded;
}

size_t sp_alloc_drain_live_blocks(void) {
    return d.live.count;
}
