/* live_set.c: the writer-side set of live recorded blocks (see live_set.h). */
#include "recorder/live_set.h"

#include <stdlib.h>

#include "recorder/alloc_table.h" /* sp_alloc_hash: the same address mixing as the hooks' table */

#define INITIAL_SLOTS 4096u

static size_t home_of(const sp_live_set *s, uint64_t address) {
    return (size_t)sp_alloc_hash(address) & s->mask;
}

/* Doubles the slots (or makes the first ones) and re-inserts every address. */
static int grow(sp_live_set *s) {
    size_t slots = s->mask ? (s->mask + 1) * 2 : INITIAL_SLOTS;
    uint64_t *grown = calloc(slots, sizeof *grown);
    if (grown == NULL) {
        return -1;
    }
    sp_live_set old = *s;
    s->slots = grown;
    s->mask = slots - 1;
    for (size_t i = 0; old.mask && i <= old.mask; i++) {
        if (old.slots[i] != 0) {
            size_t j = home_of(s, old.slots[i]);
            while (grown[j] != 0) {
                j = (j + 1) & s->mask;
            }
            grown[j] = old.slots[i];
        }
    }
    free(old.slots);
    return 0;
}

int sp_live_set_insert(sp_live_set *s, uint64_t address) {
    if ((s->count + 1) * 2 > s->mask + 1 && grow(s) != 0) {
        return -1;
    }
    size_t i = home_of(s, address);
    for (; s->slots[i] != 0; i = (i + 1) & s->mask) {
        if (s->slots[i] == address) {
            return 1;
        }
    }
    s->slots[i] = address;
    s->count++;
    return 0;
}

int sp_live_set_remove(sp_live_set *s, uint64_t address) {
    if (s->count == 0) {
        return 0;
    }
    size_t i = home_of(s, address);
    while (s->slots[i] != address) {
        if (s->slots[i] == 0) {
            return 0;
        }
        i = (i + 1) & s->mask;
    }
    /* Backward-shift deletion: move later members of the probe run into the hole whenever the
     * hole lies on their way from their home slot, so every lookup still finds them. */
    size_t hole = i;
    for (size_t j = (i + 1) & s->mask; s->slots[j] != 0; j = (j + 1) & s->mask) {
        size_t home = home_of(s, s->slots[j]);
        /* j's entry may move to the hole when home is not cyclically within (hole, j]. */
        if (((j - home) & s->mask) >= ((j - hole) & s->mask)) {
            s->slots[hole] = s->slots[j];
            hole = j;
        }
    }
    s->slots[hole] = 0;
    s->count--;
    return 1;
}

void sp_live_set_clear(sp_live_set *s) {
    free(s->slots);
    s->slots = NULL;
    s->mask = 0;
    s->count = 0;
}
