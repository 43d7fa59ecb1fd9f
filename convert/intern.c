/* intern.c: interning byte strings by content (FNV-1a, open addressing), for pprof's string
 * table, functions and locations. Work per key is one hash and usually one comparison. */
#include "convert/convert_int.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const unsigned char *p, size_t len) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int rehash(spc_intern *t, size_t n_slots) {
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t i = 0; i < t->n; i++) {
        size_t s = (size_t)t->hash[i] & (n_slots - 1);
        while (slots[s])
            s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return 0;
}

uint32_t spc_intern_put(spc_intern *t, const void *key, size_t len, int *added) {
    const unsigned char *k = key;
    *added = 0;
    if (!t->slots && rehash(t, 1024))
        return UINT32_MAX;
    uint64_t h = hash_bytes(k, len);
    size_t s = (size_t)h & (t->n_slots - 1);
    for (; t->slots[s]; s = (s + 1) & (t->n_slots - 1)) {
        uint32_t i = t->slots[s] - 1;
        if (t->hash[i] == h && t->off[i + 1] - t->off[i] == len &&
            memcmp(t->keys.p + t->off[i], k, len) == 0)
            return i;
    }
    if (t->n + 1 >= t->cap) {
        if (t->cap > UINT32_MAX / 4)
            return UINT32_MAX;
        uint32_t cap = t->cap ? t->cap * 2 : 256;
        size_t *off = realloc(t->off, ((size_t)cap + 1) * sizeof *off);
        if (!off)
            return UINT32_MAX;
        t->off = off;
        uint64_t *hash = realloc(t->hash, (size_t)cap * sizeof *hash);
        if (!hash)
            return UINT32_MAX;
        t->hash = hash;
        t->cap = cap;
    }
    if (t->n == 0)
        t->off[0] = 0;
    spc_buf_add(&t->keys, k, len);
    if (t->keys.failed)
        return UINT32_MAX;
    uint32_t i = t->n++;
    t->hash[i] = h;
    t->off[i + 1] = t->keys.len;
    t->slots[s] = i + 1;
    if ((size_t)t->n * 2 > t->n_slots && rehash(t, t->n_slots * 2))
        return UINT32_MAX;
    *added = 1;
    return i;
}

const unsigned char *spc_intern_key(const spc_intern *t, uint32_t i, size_t *len) {
    *len = t->off[i + 1] - t->off[i];
    return t->keys.p ? t->keys.p + t->off[i] : (const unsigned char *)"";
}

void spc_intern_free(spc_intern *t) {
    spc_buf_free(&t->keys);
    free(t->off);
    free(t->hash);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
