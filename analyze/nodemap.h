/* nodemap.h: internal to the model library. A hash map from (parent node, group) to a child node,
 * for building prefix trees of groups (the view, the inverted tree) in time linear in their nodes.
 * Nodes are numbered 1..n in creation order; node 0 is the root. */
#ifndef SPPROF_ANALYZE_NODEMAP_H
#define SPPROF_ANALYZE_NODEMAP_H

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint32_t *parent; /* [node] */
    uint32_t *group;  /* [node]; UINT32_MAX for the root */
    uint32_t n;       /* nodes 1..n exist */
    uint32_t cap;     /* entries allocated in parent and group */
    uint32_t *slots;  /* open addressing: node, 0 = empty */
    size_t n_slots;   /* a power of two, at most half full */
} spa_nodemap;

static inline size_t spa_nodemap_hash(uint32_t parent, uint32_t group, size_t n_slots) {
    uint64_t x = ((uint64_t)parent << 32 | group) * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 17) & (n_slots - 1);
}

/* Sets up an empty map (only the root) with room for about `hint` nodes. Returns 0 or -1. */
static inline int spa_nodemap_init(spa_nodemap *nm, uint32_t hint) {
    nm->n = 0;
    nm->cap = hint > 16 ? hint + 1 : 17;
    nm->n_slots = 64;
    while (nm->n_slots < (size_t)nm->cap * 2)
        nm->n_slots *= 2;
    nm->parent = malloc((size_t)nm->cap * sizeof *nm->parent);
    nm->group = malloc((size_t)nm->cap * sizeof *nm->group);
    nm->slots = calloc(nm->n_slots, sizeof *nm->slots);
    if (!nm->parent || !nm->group || !nm->slots)
        return -1;
    nm->parent[0] = 0;
    nm->group[0] = UINT32_MAX;
    return 0;
}

static inline void spa_nodemap_free(spa_nodemap *nm) {
    free(nm->parent);
    free(nm->group);
    free(nm->slots);
    nm->parent = nm->group = nm->slots = NULL;
}

static inline int spa_nodemap_rehash(spa_nodemap *nm, size_t n_slots) {
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t node = 1; node <= nm->n; node++) {
        size_t s = spa_nodemap_hash(nm->parent[node], nm->group[node], n_slots);
        while (slots[s])
            s = (s + 1) & (n_slots - 1);
        slots[s] = node;
    }
    free(nm->slots);
    nm->slots = slots;
    nm->n_slots = n_slots;
    return 0;
}

/* The child of `parent` in `group`, created when new (so a child always has a larger number than
 * its parent). Returns UINT32_MAX when out of memory. */
static inline uint32_t spa_nodemap_child(spa_nodemap *nm, uint32_t parent, uint32_t group) {
    size_t s = spa_nodemap_hash(parent, group, nm->n_slots);
    for (; nm->slots[s]; s = (s + 1) & (nm->n_slots - 1)) {
        uint32_t node = nm->slots[s];
        if (nm->parent[node] == parent && nm->group[node] == group)
            return node;
    }
    if (nm->n + 1 >= nm->cap) {
        if (nm->cap > UINT32_MAX / 2)
            return UINT32_MAX;
        uint32_t cap = nm->cap * 2;
        uint32_t *p = realloc(nm->parent, (size_t)cap * sizeof *p);
        if (!p)
            return UINT32_MAX;
        nm->parent = p;
        uint32_t *g = realloc(nm->group, (size_t)cap * sizeof *g);
        if (!g)
            return UINT32_MAX;
        nm->group = g;
        nm->cap = cap;
    }
    uint32_t node = ++nm->n;
    nm->parent[node] = parent;
    nm->group[node] = group;
    nm->slots[s] = node;
    if ((size_t)nm->n * 2 > nm->n_slots && spa_nodemap_rehash(nm, nm->n_slots * 2))
        return UINT32_MAX;
    return node;
}

#endif /* SPPROF_ANALYZE_NODEMAP_H */
