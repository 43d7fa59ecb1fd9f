/* intern.c: the open-addressing id map behind interning (writer) and id translation (reader).
 * Linear probing, power-of-two capacity, grown at half load so probes stay short. */
#include "tracefmt/intern.h"

#include <string.h>
#include "tracefmt/xalloc.h"

uint32_t spt_map_find(const spt_map *m, uint64_t key, int (*eq)(const void *ctx, uint32_t id),
                      const void *ctx) {
    if (!m->slots)
        return 0;
    size_t i = (size_t)spt_mix64(key) & m->mask;
    for (;;) {
        const spt_map_slot *s = &m->slots[i];
        if (s->id == 0)
            return 0;
        if (s->key == key && (!eq || eq(ctx, s->id)))
            return s->id;
        i = (i + 1) & m->mask;
    }
}

static void place(spt_map_slot *slots, size_t mask, uint64_t key, uint32_t id) {
    size_t i = (size_t)spt_mix64(key) & mask;
    while (slots[i].id != 0)
        i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].id = id;
}

int spt_map_insert(spt_map *m, const spt_allocator *a, uint64_t key, uint32_t id) {
    size_t cap = m->slots ? m->mask + 1 : 0;
    if ((m->count + 1) * 2 > cap) {
        size_t ncap = cap ? cap * 2 : 64;
        if (ncap > SIZE_MAX / sizeof(spt_map_slot))
            return -1;
        spt_map_slot *ns = spt_xmalloc(a, ncap * sizeof(spt_map_slot));
        if (!ns)
            return -1;
        memset(ns, 0, ncap * sizeof(spt_map_slot));
        for (size_t i = 0; i < cap; i++)
            if (m->slots[i].id)
                place(ns, ncap - 1, m->slots[i].key, m->slots[i].id);
        spt_xfree(a, m->slots);
        m->slots = ns;
        m->mask = ncap - 1;
    }
    place(m->slots, m->mask, key, id);
    m->count++;
    return 0;
}

size_t spt_map_bytes(const spt_map *m) {
    return m->slots ? (m->mask + 1) * sizeof(spt_map_slot) : 0;
}

void spt_map_free(spt_map *m, const spt_allocator *a) {
    spt_xfree(a, m->slots);
    memset(m, 0, sizeof(*m));
}
