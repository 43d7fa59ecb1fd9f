/* alloc_table.h: the set of addresses whose allocation was recorded and not yet freed, so that a
 * free is recorded exactly when its allocation was. One process-wide table used from the malloc
 * hooks of every thread: striped spinlocks (never needed by a signal handler), storage from
 * mmap (never malloc), and under sampling a lock-free counting filter small enough to stay in
 * cache, which answers "certainly not recorded" for almost every free without a lock. */
#ifndef SPPROF_RECORDER_ALLOC_TABLE_H
#define SPPROF_RECORDER_ALLOC_TABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "recorder/sigsafe.h"

/* Marks a function the malloc hooks may call: no malloc, no stdio, no lock a signal handler
 * could need. It may take the table's stripe spinlocks and call mmap/munmap, so it is not
 * async-signal-safe; the hooks' reentrancy guard keeps a thread from re-entering it. */
#define SP_HOOK_SAFE

#define SP_ALLOC_FILTER_BITS 16 /* 64 KiB of counters */

/* The filter: counter i counts stored addresses in the 256-byte granules that map to i,
 * saturating (and then sticking) at 255. NULL when there is no filter. Read by
 * sp_alloc_table_maybe_contains. */
extern _Atomic uint8_t *sp_alloc_filter;

/* The filter counter of an address: its 256-byte granule, folded with the bits above 16 MiB so
 * that thread arenas (64 MiB-aligned heaps) do not pile onto the same counters. By address, not
 * by a hash of it: blocks freed one after the other mostly lie close together, so the check hits
 * the same cache line; a hashed index missed L1 on almost every free (measured: half of the
 * free hook's time). The price is that a recorded block makes the frees of blocks sharing its
 * granule look up the table: with 1 KiB granules half of the lookups on alloc_bench found
 * nothing (85k for 42k sampled blocks); with 256 bytes a quarter do (55k), at no cost to the
 * free hook that 12 interleaved runs could tell. Async-signal-safe. */
SP_SIGNAL_SAFE static inline size_t sp_alloc_filter_index(uint64_t address) {
    return (size_t)(((address >> 8) ^ (address >> 24) * 0x9E37u) &
                    ((1u << SP_ALLOC_FILTER_BITS) - 1));
}

/* murmur3's 64-bit finalizer: allocator addresses share their low 4 bits and cluster by arena,
 * so every bit of the hash must depend on every bit of the address. Async-signal-safe. */
SP_SIGNAL_SAFE static inline uint64_t sp_alloc_hash(uint64_t address) {
    uint64_t h = address;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Prepares the table, which must be empty. use_filter (sampling) maps the 64 KiB filter, worth
 * it when almost no freed block was recorded, and uses few stripes; without it ("all": every
 * free is looked up anyway) many stripes keep threads apart. Idempotent for the mapping.
 * Returns 0, or -1 with errno set when the mapping fails. Not async-signal-safe. */
int sp_alloc_table_init(int use_filter);

/* Adds address (not 0). Returns 0 when added, 1 when it was already there (a free went
 * unrecorded: the caller records that free first), -1 when a stripe could not grow (mmap
 * failed; the address is not added). Not async-signal-safe. */
SP_HOOK_SAFE int sp_alloc_table_insert(uint64_t address);

/* Lock-free pre-check for a free, inlined into free(): returns 0 when address is certainly not
 * in the table, 1 when it may be (then call sp_alloc_table_remove); always 1 without a filter.
 * A thread always sees its own inserts and those that happened before it obtained the pointer.
 * Async-signal-safe. */
SP_SIGNAL_SAFE static inline int sp_alloc_table_maybe_contains(uint64_t address) {
    _Atomic uint8_t *f = sp_alloc_filter;
    if (f == NULL) {
        return 1;
    }
    return atomic_load_explicit(&f[sp_alloc_filter_index(address)], memory_order_relaxed) != 0;
}

/* Removes address. Returns 1 when it was there, 0 when not. Not async-signal-safe. */
SP_HOOK_SAFE int sp_alloc_table_remove(uint64_t address);

/* Number of addresses in the table (a sum over stripes, exact only when no thread is changing
 * it). Not async-signal-safe. */
size_t sp_alloc_table_count(void);

/* Empties the table and returns its stripes' memory; the filter stays mapped. No other thread
 * may use the table meanwhile (the child after fork). Not async-signal-safe. */
void sp_alloc_table_clear(void);

/* Empties the table while other threads may be using it (a new recording starts): takes every
 * stripe lock, clears, releases. Not async-signal-safe. */
void sp_alloc_table_reset(void);

/* pthread_atfork support. lock_all takes every stripe lock, so that the child never inherits a
 * stripe in the middle of a change; unlock_all releases them in the parent; reset_in_child
 * releases them in the child without touching memory another thread was changing, then
 * clears the table (the child's trace starts without live allocations). Not
 * async-signal-safe. */
void sp_alloc_table_lock_all(void);
void sp_alloc_table_unlock_all(void);
void sp_alloc_table_reset_in_child(void);

#endif /* SPPROF_RECORDER_ALLOC_TABLE_H */
