/* ring.h: a preallocated single-producer single-consumer ring of variable-size entries.
 * The producer is one thread's SIGPROF handler, the consumer is the writer thread. The producer
 * side never allocates, locks or blocks; a full ring drops the entry and counts it. */
#ifndef SPPROF_RECORDER_RING_H
#define SPPROF_RECORDER_RING_H

#include <stddef.h>
#include <stdint.h>

#include "recorder/sigsafe.h"

/* One ring per sampled thread, so each ring has exactly one producer (that thread's handler, or
 * the wall-clock sampler thread for its own ring) and needs no atomic read-modify-write on
 * shared positions. */
typedef struct sp_ring sp_ring;

/* Creates a ring holding capacity_bytes of entries (rounded up to a power of two, at least
 * 4 KiB) with mmap, so no malloc hook sees it and untouched pages cost no memory. Returns NULL
 * with errno set on failure. Not async-signal-safe. */
sp_ring *sp_ring_create(size_t capacity_bytes);

/* Unmaps the ring. Neither side may use it afterwards. Accepts NULL. Not async-signal-safe. */
void sp_ring_destroy(sp_ring *ring);

/* The largest payload sp_ring_reserve can ever grant for this ring (an empty ring). Bytes.
 * Async-signal-safe. */
SP_SIGNAL_SAFE size_t sp_ring_max_entry_bytes(const sp_ring *ring);

/* Producer: reserves room for an entry of up to max_bytes and returns where to write its payload
 * (8-byte aligned), or NULL when the ring is too full, in which case the drop is counted. Nothing
 * is visible to the consumer until sp_ring_commit; not committing abandons the reservation.
 * Producer only, not re-entrant. Async-signal-safe. */
SP_SIGNAL_SAFE void *sp_ring_reserve(sp_ring *ring, size_t max_bytes);

/* Producer: sp_ring_reserve without counting a drop when the ring is too full, for a producer
 * that will wait for room and try again (sp_ring_count_full when it gives up).
 * Async-signal-safe. */
SP_SIGNAL_SAFE void *sp_ring_try_reserve(sp_ring *ring, size_t max_bytes);

/* Producer: counts one entry dropped because the ring stayed full. Async-signal-safe. */
SP_SIGNAL_SAFE void sp_ring_count_full(sp_ring *ring);

/* Producer: publishes the entry last reserved, with its final size (at most the size reserved).
 * Async-signal-safe. */
SP_SIGNAL_SAFE void sp_ring_commit(sp_ring *ring, size_t size_bytes);

/* Producer: counts one entry dropped for a reason other than a full ring (e.g. the unwinder
 * failed), so the consumer can report it. Async-signal-safe. */
SP_SIGNAL_SAFE void sp_ring_count_drop(sp_ring *ring);

/* Consumer: returns the oldest committed entry and stores its size in *size_bytes, or NULL when
 * the ring is empty. The entry stays valid until sp_ring_release. Consumer only (the writer
 * thread); it takes no lock. Not async-signal-safe. */
const void *sp_ring_peek(sp_ring *ring, size_t *size_bytes);

/* Consumer: frees the entry returned by the last sp_ring_peek. The producer sees freed bytes in
 * batches (a sixteenth of the ring), at the latest when a peek finds the ring empty or at
 * sp_ring_pause. Not async-signal-safe. */
void sp_ring_release(sp_ring *ring);

/* Consumer: hands every released byte back to the producer now. Call it when leaving a ring
 * that is not empty (an entry left for later). Not async-signal-safe. */
void sp_ring_pause(sp_ring *ring);

/* Producer: are more than bytes of the ring in use? Cheap while the answer is no: it reads the
 * consumer's position only when its cached copy says yes. Async-signal-safe. */
SP_SIGNAL_SAFE int sp_ring_used_above(sp_ring *ring, size_t bytes);

/* Producer: is more than half of the ring in use? The producer then wakes the consumer early.
 * Async-signal-safe. */
SP_SIGNAL_SAFE int sp_ring_half_full(sp_ring *ring);

/* Empties the ring and zeroes its drop counters, for reuse by another thread. Neither side may
 * be using it. Not async-signal-safe. */
void sp_ring_reset(sp_ring *ring);

/* Bytes of entries the ring can hold (its capacity). Async-signal-safe. */
SP_SIGNAL_SAFE size_t sp_ring_capacity(const sp_ring *ring);

/* Entries the producer could not store because the ring was full, since creation.
 * Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_ring_dropped_full(const sp_ring *ring);

/* Entries counted with sp_ring_count_drop since creation. Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_ring_dropped_other(const sp_ring *ring);

#endif /* SPPROF_RECORDER_RING_H */
