/* live_set.h: the writer thread's set of block addresses whose ALLOC went into the trace and
 * whose FREE has not, for full allocation tracing. In "all" mode the hooks record every free
 * without a lookup (a shared table cost the program ~16 ns per event in locks); the drain, which
 * sees every event in time order on one thread, keeps the trace's promise instead: a FREE is
 * written exactly when its ALLOC was. Open addressing with linear probing and backward-shift
 * deletion (no tombstones, so a long run of alloc/free churn never degrades the probes).
 * Writer thread only: it allocates with malloc, which the hooks never record there. */
#ifndef SPPROF_RECORDER_LIVE_SET_H
#define SPPROF_RECORDER_LIVE_SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *slots; /* 0 = empty (no block lives at address 0) */
    size_t mask;     /* slots - 1; 0 before the first insert */
    size_t count;
} sp_live_set;

/* Adds address (not 0). Returns 0 when added, 1 when it was already there, -1 when the set
 * could not grow (out of memory; the address is not added). Not async-signal-safe. */
int sp_live_set_insert(sp_live_set *s, uint64_t address);

/* Removes address. Returns 1 when it was there, 0 when not. Not async-signal-safe. */
int sp_live_set_remove(sp_live_set *s, uint64_t address);

/* Frees the set's memory and empties it (a zeroed sp_live_set is an empty set).
 * Not async-signal-safe. */
void sp_live_set_clear(sp_live_set *s);

#endif /* SPPROF_RECORDER_LIVE_SET_H */
