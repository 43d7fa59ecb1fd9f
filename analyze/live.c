/* live.c: the live-allocation table, keyed by address. Linear probing with backward-shift
 * deletion, so frees leave no tombstones and a long run of malloc/free keeps probes short.
 * Memory grows with the allocations live at one time, never with all allocations made. */
#include "analyze/model.h"

#include <stdlib.h>
#include <string.h>

struct spa_live {
    spa_live_entry *slots; /* an entry is used when used[i] is set */
    unsigned char *used;
    size_t cap; /* a power of two */
    size_t n;
};

/* A 64-bit mix (splitmix64's finalizer): allocator addresses share their low bits. */
static size_t slot_of(uint64_t address, size_t cap) {
    uint64_t x = address;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)x & (cap - 1);
}

spa_live *spa_live_new(void) {
    spa_live *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->cap = 1024;
    l->slots = malloc(l->cap * sizeof *l->slots);
    l->used = calloc(l->cap, 1);
    if (!l->slots || !l->used) {
        spa_live_free(l);
        return NULL;
    }
    return l;
}

void spa_live_free(spa_live *l) {
    if (!l)
        return;
    free(l->slots);
    free(l->used);
    free(l);
}

static int grow(spa_live *l) {
    size_t cap = l->cap * 2;
    spa_live_entry *slots = malloc(cap * sizeof *slots);
    unsigned char *used = calloc(cap, 1);
    if (!slots || !used) {
        free(slots);
        free(used);
        return -1;
    }
    for (size_t i = 0; i < l->cap; i++) {
        if (!l->used[i])
            continue;
        size_t s = slot_of(l->slots[i].address, cap);
        while (used[s])
            s = (s + 1) & (cap - 1);
        slots[s] = l->slots[i];
        used[s] = 1;
    }
    free(l->slots);
    free(l->used);
    l->slots = slots;
    l->used = used;
    l->cap = cap;
    return 0;
}

int spa_live_insert(spa_live *l, const spa_live_entry *e, spa_live_entry *replaced) {
    /* Kept at most half full: probes stay short even with clustered addresses. */
    if ((l->n + 1) * 2 > l->cap && grow(l))
        return -1;
    size_t s = slot_of(e->address, l->cap);
    while (l->used[s]) {
        if (l->slots[s].address == e->address) {
            *replaced = l->slots[s];
            l->slots[s] = *e;
            return 1;
        }
        s = (s + 1) & (l->cap - 1);
    }
    l->slots[s] = *e;
    l->used[s] = 1;
    l->n++;
    return 0;
}

int spa_live_remove(spa_live *l, uint64_t address, spa_live_entry *removed) {
    size_t mask = l->cap - 1;
    size_t s = slot_of(address, l->cap);
    while (l->used[s] && l->slots[s].address != address)
        s = (s + 1) & mask;
    if (!l->used[s])
        return 0;
    *removed = l->slots[s];
    /* Backward shift: move later members of the probe run into the hole when their home slot
     * does not lie cyclically between the hole and their current slot. */
    size_t hole = s;
    for (size_t j = (s + 1) & mask; l->used[j]; j = (j + 1) & mask) {
        size_t home = slot_of(l->slots[j].address, l->cap);
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        l->slots[hole] = l->slots[j];
        hole = j;
    }
    l->used[hole] = 0;
    l->n--;
    return 1;
}

size_t spa_live_count(const spa_live *l) {
    return l->n;
}

void spa_live_each(const spa_live *l, void (*fn)(void *ctx, const spa_live_entry *e), void *ctx) {
    for (size_t i = 0; i < l->cap; i++) {
        if (l->used[i])
            fn(ctx, &l->slots[i]);
    }
}
