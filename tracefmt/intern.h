/* intern.h: an open-addressing map from 64-bit keys to 32-bit ids (internal to tracefmt).
 * The writer keys it by xxHash of a definition's content and compares content on a hit; the
 * reader keys it by the file's ids. Id 0 marks an empty slot, so stored ids must be >= 1. */
#ifndef SPT_INTERN_H
#define SPT_INTERN_H

#include <stddef.h>
#include <stdint.h>
#include "tracefmt/sptrace.h"

typedef struct {
    uint64_t key;
    uint32_t id;
} spt_map_slot;

typedef struct {
    spt_map_slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
} spt_map;

/* Returns id for key, or 0. With eq, keeps probing past slots whose id eq rejects (hash
 * collisions between different contents); without eq the first slot with key wins. */
uint32_t spt_map_find(const spt_map *m, uint64_t key, int (*eq)(const void *ctx, uint32_t id),
                      const void *ctx);

/* Inserts (key, id); grows the table at half load. Returns 0, or -1 when memory runs out. */
int spt_map_insert(spt_map *m, const spt_allocator *a, uint64_t key, uint32_t id);

/* Bytes the map holds. */
size_t spt_map_bytes(const spt_map *m);

void spt_map_free(spt_map *m, const spt_allocator *a);

/* Mixes a 64-bit integer key into a well-spread hash (for keys that are small ids). */
static inline uint64_t spt_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

#endif /* SPT_INTERN_H */
