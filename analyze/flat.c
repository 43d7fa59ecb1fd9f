/* flat.c: the flat profile (self and total per group) from the model's per-stack totals.
 * Works on the stack prefix tree once, in time linear in its nodes: subtree sums bottom-up, then
 * a depth-first walk that credits each group once per path, so recursion is not double-counted. */
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

/* Scratch arrays for one build, all indexed by stack id (0 = the root) unless noted. */
typedef struct {
    uint32_t n;         /* stack ids run 1..n */
    uint32_t *parent;   /* parent id, forced below the node's own id */
    uint32_t *group_of; /* group of the node's innermost frame; UINT32_MAX if unknown */
    spa_value *subtree; /* samples at the node or below it */
    uint32_t *first;    /* children of node p are child[first[p] .. first[p + 1]) */
    uint32_t *child;    /* n entries */
    uint32_t *active;   /* [group]: how many nodes of the current path belong to it */
    uint32_t *path;     /* the DFS path: node ids */
    uint32_t *cursor;   /* the DFS path: next child index to visit at each level */
    size_t path_cap;
} scratch;

static void scratch_free(scratch *s) {
    free(s->parent);
    free(s->group_of);
    free(s->subtree);
    free(s->first);
    free(s->child);
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
static int credit_totals(scratch *s, spa_value *total) {
    size_t depth = 0;
    if (push(s, 0, 0))
        return -1;
    for (;;) {
        uint32_t node = s->path[depth];
        if (s->cursor[depth] == s->first[node + 1]) {
            /* Leaving node: its group is no longer on the path. */
            if (node != 0 && s->group_of[node] != UINT32_MAX)
                s->active[s->group_of[node]]--;
            if (depth == 0)
                return 0;
            depth--;
            continue;
        }
        uint32_t c = s->child[s->cursor[depth]++];
        if (is_zero(s->subtree[c]))
            continue; /* no samples down there: skip the whole branch */
        uint32_t grp = s->group_of[c];
        if (grp != UINT32_MAX && s->active[grp]++ == 0)
            add_value(&total[grp], s->subtree[c]);
        if (push(s, depth + 1, c))
            return -1;
        depth++;
    }
}

spt_status spa_flat_build(const spa_model *m, const spa_groups *g, spa_flat *out) {
    memset(out, 0, sizeof *out);
    const spt_reader *r = spa_model_reader(m);
    uint32_t n_groups = spa_groups_count(g);
    scratch s;
    memset(&s, 0, sizeof s);
    s.n = spa_model_stack_count(m);
    size_t nodes = (size_t)s.n + 1;
    s.parent = malloc(nodes * sizeof *s.parent);
    s.group_of = malloc(nodes * sizeof *s.group_of);
    s.subtree = malloc(nodes * sizeof *s.subtree);
    s.first = calloc(nodes + 1, sizeof *s.first);
    s.child = malloc(nodes * sizeof *s.child);
    s.active = calloc((size_t)n_groups + 1, sizeof *s.active);
    spa_value *self = calloc((size_t)n_groups + 1, sizeof *self);
    spa_value *total = calloc((size_t)n_groups + 1, sizeof *total);
    if (!s.parent || !s.group_of || !s.subtree || !s.first || !s.child || !s.active || !self ||
        !total)
        goto nomem;

    s.parent[0] = 0;
    s.group_of[0] = UINT32_MAX;
    s.subtree[0] = spa_model_stack_value(m, 0);
    for (uint32_t id = 1; id <= s.n; id++) {
        const spt_stack *st = spt_reader_stack(r, id);
        /* The reader numbers a parent before its children (format.md 5.3, STACK); a table that
         * says otherwise is treated as a root here, so it can never make the walk loop. */
        uint32_t parent = st && st->parent < id ? st->parent : 0;
        s.parent[id] = parent;
        s.group_of[id] = st ? spa_groups_of_frame(g, st->frame) : UINT32_MAX;
        s.subtree[id] = spa_model_stack_value(m, id);
        if (s.group_of[id] != UINT32_MAX)
            add_value(&self[s.group_of[id]], s.subtree[id]);
        s.first[parent + 1]++;
    }
    /* Children before parents: ids only grow away from the root. */
    for (uint32_t id = s.n; id >= 1; id--)
        add_value(&s.subtree[s.parent[id]], s.subtree[id]);
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
            s.child[fill[s.parent[id]]++] = id;
        free(fill);
    }
    if (credit_totals(&s, total))
        goto nomem;

    spa_value empty = spa_model_stack_value(m, 0);
    out->rows = malloc(((size_t)n_groups + 1) * sizeof *out->rows);
    if (!out->rows)
        goto nomem;
    for (uint32_t i = 0; i < n_groups; i++) {
        if (is_zero(total[i]))
            continue;
        spa_flat_row *row = &out->rows[out->n_rows++];
        row->label = spa_groups_label(g, i, &row->label_len);
        row->self = self[i];
        row->total = total[i];
    }
    /* Samples without a stack still count in the denominator; show where they went. */
    if (!is_zero(empty)) {
        spa_flat_row *row = &out->rows[out->n_rows++];
        row->label = no_stack_label;
        row->label_len = sizeof no_stack_label - 1;
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
