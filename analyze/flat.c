/* flat.c: the flat profile (self and total per group) from a view's per-node values. Works on the
 * view's prefix tree once, in time linear in its nodes: subtree sums bottom-up, then a depth-first
 * walk that credits each group once per path, so recursion is not double-counted. */
#include "analyze/model.h"

#include <stdlib.h>
#include <string.h>

static const char no_stack_label[] = "[no stack]";

static void add_value(spa_value *to, spa_value v) {
    to->count += v.count;
    to->weight += v.weight;
}

static int is_zero(spa_value v) {
    return v.count == 0 && v.weight == 0;
}

/* Scratch arrays for one build, indexed by view node (0 = the root) unless noted. */
typedef struct {
    uint32_t n;         /* nodes run 1..n */
    uint32_t *first;    /* children of node p are child[first[p] .. first[p + 1]) */
    uint32_t *child;    /* n entries */
    spa_value *subtree; /* samples at the node or below it */
    uint32_t *active;   /* [group]: how many nodes of the current path belong to it */
    uint32_t *path;     /* the DFS path: node ids */
    uint32_t *cursor;   /* the DFS path: next child index to visit at each level */
    size_t path_cap;
} scratch;

static void scratch_free(scratch *s) {
    free(s->first);
    free(s->child);
    free(s->subtree);
    free(s->active);
    free(s->path);
    free(s->cursor);
}

static int push(scratch *s, size_t depth, uint32_t node) {
    if (depth == s->path_cap) {
        size_t cap = s->path_cap ? s->path_cap * 2 : 256;
        uint32_t *p = realloc(s->path, cap * sizeof *p);
        if (!p)
            return -1;
        s->path = p;
        uint32_t *c = realloc(s->cursor, cap * sizeof *c);
        if (!c)
            return -1;
        s->cursor = c;
        s->path_cap = cap;
    }
    s->path[depth] = node;
    s->cursor[depth] = s->first[node];
    return 0;
}

/* Credits total[group] with a node's subtree when no node above it on the path belongs to the
 * same group: the first occurrence already counts every sample below, including the recursion. */
static int credit_totals(scratch *s, const spa_view *v, spa_value *total) {
    size_t depth = 0;
    if (push(s, 0, 0))
        return -1;
    for (;;) {
        uint32_t node = s->path[depth];
        if (s->cursor[depth] == s->first[node + 1]) {
            /* Leaving node: its group is no longer on the path. */
            if (node != 0)
                s->active[spa_view_group(v, node)]--;
            if (depth == 0)
                return 0;
            depth--;
            continue;
        }
        uint32_t c = s->child[s->cursor[depth]++];
        if (is_zero(s->subtree[c]))
            continue; /* no samples down there: skip the whole branch */
        uint32_t grp = spa_view_group(v, c);
        if (s->active[grp]++ == 0)
            add_value(&total[grp], s->subtree[c]);
        if (push(s, depth + 1, c))
            return -1;
        depth++;
    }
}

spt_status spa_flat_build(const spa_view *v, const spa_value *self_of_node, spa_flat *out) {
    memset(out, 0, sizeof *out);
    const spa_groups *g = spa_view_groups(v);
    uint32_t n_groups = spa_groups_count(g);
    scratch s;
    memset(&s, 0, sizeof s);
    s.n = spa_view_count(v);
    size_t nodes = (size_t)s.n + 1;
    s.subtree = malloc(nodes * sizeof *s.subtree);
    s.first = calloc(nodes + 1, sizeof *s.first);
    s.child = malloc(nodes * sizeof *s.child);
    s.active = calloc((size_t)n_groups + 1, sizeof *s.active);
    spa_value *self = calloc((size_t)n_groups + 1, sizeof *self);
    spa_value *total = calloc((size_t)n_groups + 1, sizeof *total);
    if (!s.subtree || !s.first || !s.child || !s.active || !self || !total)
        goto nomem;

    memcpy(s.subtree, self_of_node, nodes * sizeof *s.subtree);
    for (uint32_t id = 1; id <= s.n; id++) {
        add_value(&self[spa_view_group(v, id)], self_of_node[id]);
        s.first[spa_view_parent(v, id) + 1]++;
    }
    /* Children before parents: node numbers only grow away from the root. */
    for (uint32_t id = s.n; id >= 1; id--)
        add_value(&s.subtree[spa_view_parent(v, id)], s.subtree[id]);
    out->all = s.subtree[0];

    /* Counting sort of the nodes by parent gives each node's children as one run. */
    for (size_t p = 1; p <= nodes; p++)
        s.first[p] += s.first[p - 1];
    {
        uint32_t *fill = malloc(nodes * sizeof *fill);
        if (!fill)
            goto nomem;
        memcpy(fill, s.first, nodes * sizeof *fill);
        for (uint32_t id = 1; id <= s.n; id++)
            s.child[fill[spa_view_parent(v, id)]++] = id;
        free(fill);
    }
    if (credit_totals(&s, v, total))
        goto nomem;

    spa_value empty = self_of_node[0];
    out->rows = malloc(((size_t)n_groups + 1) * sizeof *out->rows);
    if (!out->rows)
        goto nomem;
    for (uint32_t i = 0; i < n_groups; i++) {
        if (is_zero(total[i]))
            continue;
        spa_flat_row *row = &out->rows[out->n_rows++];
        row->label = spa_groups_label(g, i, &row->label_len);
        row->group = i;
        row->self = self[i];
        row->total = total[i];
    }
    /* Samples without a stack (or whose frames are all hidden) still count in the denominator;
     * show where they went. */
    if (!is_zero(empty)) {
        spa_flat_row *row = &out->rows[out->n_rows++];
        row->label = no_stack_label;
        row->label_len = sizeof no_stack_label - 1;
        row->group = UINT32_MAX;
        row->self = empty;
        row->total = empty;
    }
    scratch_free(&s);
    free(self);
    free(total);
    return SPT_OK;

nomem:
    scratch_free(&s);
    free(self);
    free(total);
    spa_flat_free(out);
    return SPT_E_NOMEM;
}

static int cmp_u64_desc(uint64_t a, uint64_t b) {
    return (a < b) - (a > b);
}

static int cmp_label(const spa_flat_row *x, const spa_flat_row *y) {
    int c = memcmp(x->label, y->label, x->label_len < y->label_len ? x->label_len : y->label_len);
    if (c)
        return c;
    return (x->label_len > y->label_len) - (x->label_len < y->label_len);
}

static int cmp_self(const void *a, const void *b) {
    const spa_flat_row *x = a, *y = b;
    int c = cmp_u64_desc(x->self.weight, y->self.weight);
    if (!c)
        c = cmp_u64_desc(x->total.weight, y->total.weight);
    if (!c)
        c = cmp_u64_desc(x->self.count, y->self.count);
    return c ? c : cmp_label(x, y);
}

static int cmp_total(const void *a, const void *b) {
    const spa_flat_row *x = a, *y = b;
    int c = cmp_u64_desc(x->total.weight, y->total.weight);
    if (!c)
        c = cmp_u64_desc(x->self.weight, y->self.weight);
    if (!c)
        c = cmp_u64_desc(x->total.count, y->total.count);
    return c ? c : cmp_label(x, y);
}

void spa_flat_sort(spa_flat *flat, spa_sort by) {
    if (flat->n_rows > 1)
        qsort(flat->rows, flat->n_rows, sizeof *flat->rows,
              by == SPA_SORT_TOTAL ? cmp_total : cmp_self);
}

void spa_flat_free(spa_flat *flat) {
    free(flat->rows);
    memset(flat, 0, sizeof *flat);
}
