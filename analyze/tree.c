/* tree.c: call trees from a view's per-node values: top-down (the view's own prefix tree, pruned to
 * the nodes that carry samples) or inverted (each stack walked from its innermost frame outwards
 * into a second prefix tree). Work is per view node times depth, never per sample. */
#include "analyze/model.h"
#include "analyze/nodemap.h"

#include <stdlib.h>
#include <string.h>

static void add_value(spa_value *to, spa_value v) {
    to->count += v.count;
    to->weight += v.weight;
}

static int is_zero(spa_value v) {
    return v.count == 0 && v.weight == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Children in order: heaviest total first, then by label, so output is deterministic.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    uint64_t weight, count;
    uint32_t rank; /* the group's position in label order */
    uint32_t node;
} child_key;

static int cmp_child(const void *a, const void *b) {
    const child_key *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight < y->weight ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return (x->node > y->node) - (x->node < y->node);
}

static const spa_groups *rank_groups; /* for cmp_label only, during one qsort */

static int cmp_label(const void *a, const void *b) {
    size_t la, lb;
    const char *sa = spa_groups_label(rank_groups, *(const uint32_t *)a, &la);
    const char *sb = spa_groups_label(rank_groups, *(const uint32_t *)b, &lb);
    int c = memcmp(sa, sb, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* rank[group] = position of the group's label in byte order. */
static uint32_t *label_ranks(const spa_groups *g) {
    uint32_t n = spa_groups_count(g);
    uint32_t *order = malloc(((size_t)n + 1) * sizeof *order);
    uint32_t *rank = malloc(((size_t)n + 1) * sizeof *rank);
    if (!order || !rank) {
        free(order);
        free(rank);
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    rank_groups = g;
    qsort(order, n, sizeof *order, cmp_label);
    rank_groups = NULL;
    for (uint32_t i = 0; i < n; i++)
        rank[order[i]] = i;
    free(order);
    return rank;
}

/* Fills depth and the sorted child lists of t, whose nodes have parent, group, self and total
 * set and whose parents are numbered below their children. */
static int link_children(spa_tree *t, const spa_groups *g) {
    uint32_t n = t->n_nodes;
    uint32_t *rank = label_ranks(g);
    child_key *keys = malloc((size_t)n * sizeof *keys);
    uint32_t *fill = calloc((size_t)n + 1, sizeof *fill);
    t->children = malloc((size_t)n * sizeof *t->children);
    if (!rank || !keys || !fill || !t->children) {
        free(rank);
        free(keys);
        free(fill);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        t->nodes[i].n_children = 0;
        t->nodes[i].depth = i ? t->nodes[t->nodes[i].parent].depth + 1 : 0;
    }
    for (uint32_t i = 1; i < n; i++)
        t->nodes[t->nodes[i].parent].n_children++;
    uint32_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        t->nodes[i].first_child = at;
        fill[i] = at;
        at += t->nodes[i].n_children;
    }
    for (uint32_t i = 1; i < n; i++) {
        const spa_tree_node *node = &t->nodes[i];
        child_key *k = &keys[fill[node->parent]++];
        k->weight = node->total.weight;
        k->count = node->total.count;
        k->rank = rank[node->group];
        k->node = i;
    }
    for (uint32_t i = 0; i < n; i++) {
        const spa_tree_node *node = &t->nodes[i];
        if (node->n_children > 1)
            qsort(keys + node->first_child, node->n_children, sizeof *keys, cmp_child);
    }
    for (uint32_t i = 0; i + 1 < n; i++)
        t->children[i] = keys[i].node;
    free(rank);
    free(keys);
    free(fill);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Top-down.
 * ------------------------------------------------------------------------------------------- */
static int build_top_down(const spa_view *v, const spa_value *self, spa_tree *t) {
    uint32_t n = spa_view_count(v);
    spa_value *subtree = malloc(((size_t)n + 1) * sizeof *subtree);
    uint32_t *index = malloc(((size_t)n + 1) * sizeof *index);
    if (!subtree || !index) {
        free(subtree);
        free(index);
        return -1;
    }
    memcpy(subtree, self, ((size_t)n + 1) * sizeof *subtree);
    for (uint32_t id = n; id >= 1; id--)
        add_value(&subtree[spa_view_parent(v, id)], subtree[id]);
    uint32_t kept = 1;
    for (uint32_t id = 1; id <= n; id++)
        kept += !is_zero(subtree[id]);
    t->nodes = calloc(kept, sizeof *t->nodes);
    if (!t->nodes) {
        free(subtree);
        free(index);
        return -1;
    }
    t->nodes[0].group = UINT32_MAX;
    t->nodes[0].self = self[0];
    t->nodes[0].total = subtree[0];
    index[0] = 0;
    t->n_nodes = 1;
    /* A node with samples below it has a parent with samples too, met earlier. */
    for (uint32_t id = 1; id <= n; id++) {
        if (is_zero(subtree[id]))
            continue;
        spa_tree_node *node = &t->nodes[t->n_nodes];
        node->parent = index[spa_view_parent(v, id)];
        node->group = spa_view_group(v, id);
        node->self = self[id];
        node->total = subtree[id];
        index[id] = t->n_nodes++;
    }
    free(subtree);
    free(index);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Inverted: every node's own samples walk from it to the root, creating the reversed path.
 * ------------------------------------------------------------------------------------------- */
static int build_inverted(const spa_view *v, const spa_value *self, spa_tree *t) {
    uint32_t n = spa_view_count(v);
    spa_nodemap nm;
    spa_value *val_self = NULL, *val_total = NULL;
    size_t val_cap = 0;
    int failed = spa_nodemap_init(&nm, n);
    spa_value root_total = self[0];
    for (uint32_t id = 1; id <= n && !failed; id++) {
        spa_value s = self[id];
        if (is_zero(s))
            continue;
        add_value(&root_total, s);
        uint32_t cur = 0;
        for (uint32_t x = id; x != 0 && !failed; x = spa_view_parent(v, x)) {
            cur = spa_nodemap_child(&nm, cur, spa_view_group(v, x));
            if (cur == UINT32_MAX) {
                failed = 1;
                break;
            }
            if (cur >= val_cap) {
                size_t cap = val_cap ? val_cap * 2 : 1024;
                while (cap <= cur)
                    cap *= 2;
                spa_value *a = realloc(val_self, cap * sizeof *a);
                if (a)
                    val_self = a;
                spa_value *b = realloc(val_total, cap * sizeof *b);
                if (b)
                    val_total = b;
                if (!a || !b) {
                    failed = 1;
                    break;
                }
                memset(val_self + val_cap, 0, (cap - val_cap) * sizeof *a);
                memset(val_total + val_cap, 0, (cap - val_cap) * sizeof *b);
                val_cap = cap;
            }
            add_value(&val_total[cur], s);
        }
        if (!failed)
            add_value(&val_self[cur], s); /* the caller chain ends here */
    }
    if (!failed) {
        t->n_nodes = nm.n + 1;
        t->nodes = calloc(t->n_nodes, sizeof *t->nodes);
        failed = !t->nodes;
    }
    if (!failed) {
        t->nodes[0].group = UINT32_MAX;
        t->nodes[0].self = self[0];
        t->nodes[0].total = root_total;
        for (uint32_t i = 1; i <= nm.n; i++) {
            t->nodes[i].parent = nm.parent[i];
            t->nodes[i].group = nm.group[i];
            t->nodes[i].self = val_self[i];
            t->nodes[i].total = val_total[i];
        }
    }
    spa_nodemap_free(&nm);
    free(val_self);
    free(val_total);
    return failed ? -1 : 0;
}

spt_status spa_tree_build(const spa_view *v, const spa_value *self, int inverted, spa_tree *out) {
    memset(out, 0, sizeof *out);
    int rc = inverted ? build_inverted(v, self, out) : build_top_down(v, self, out);
    if (rc == 0)
        rc = link_children(out, spa_view_groups(v));
    if (rc) {
        spa_tree_free(out);
        return SPT_E_NOMEM;
    }
    out->all = out->nodes[0].total;
    return SPT_OK;
}

void spa_tree_free(spa_tree *t) {
    free(t->nodes);
    free(t->children);
    memset(t, 0, sizeof *t);
}
