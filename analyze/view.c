/* view.c: the model's stack tree seen through a grouping and the --focus/--ignore filters. One pass
 * over the stack ids in increasing order (a parent always comes first): each frame is matched
 * against the patterns once, each stack is mapped to a node of a prefix tree of groups. */
#include "analyze/model.h"
#include "analyze/nodemap.h"

#include <string.h>

struct spa_view {
    const spa_groups *groups;
    spa_nodemap nodes;
    uint32_t n_stacks;
    uint32_t *node_of; /* [stack id]: view node, or SPA_VIEW_EXCLUDED */
};

/* Per-frame memo of a pattern's answer: 0 not asked yet, 1 no, 2 yes. */
static int frame_matches(const spa_regex *re, const spt_reader *r, unsigned char *memo,
                         uint32_t frame) {
    if (!memo[frame])
        memo[frame] = spa_regex_frame_matches(re, r, frame) ? 2 : 1;
    return memo[frame] == 2;
}

spt_status spa_view_build(const spa_model *m, const spa_groups *g, const spa_regex *focus,
                          const spa_regex *ignore, spa_view **out) {
    *out = NULL;
    const spt_reader *r = spa_model_reader(m);
    uint32_t n_frames = spt_reader_frame_count(r);
    spa_view *v = calloc(1, sizeof *v);
    if (!v)
        return SPT_E_NOMEM;
    v->groups = g;
    v->n_stacks = spa_model_stack_count(m);
    size_t n = (size_t)v->n_stacks + 1;
    uint32_t *base = malloc(n * sizeof *base); /* the node, focus aside */
    unsigned char *pass = calloc(n, 1);        /* a frame on the path matches focus */
    unsigned char *focus_memo = calloc((size_t)n_frames + 1, 1);
    unsigned char *ignore_memo = calloc((size_t)n_frames + 1, 1);
    v->node_of = malloc(n * sizeof *v->node_of);
    int failed = !base || !pass || !focus_memo || !ignore_memo || !v->node_of ||
                 spa_nodemap_init(&v->nodes, v->n_stacks);

    if (!failed) {
        base[0] = 0;
        v->node_of[0] = focus ? SPA_VIEW_EXCLUDED : 0;
    }
    for (uint32_t id = 1; id <= v->n_stacks && !failed; id++) {
        const spt_stack *st = spt_reader_stack(r, id);
        /* The reader numbers a parent before its children (format.md 5.3, STACK); a table that
         * says otherwise is treated as a root here, so it can never make a loop. */
        uint32_t parent = st && st->parent < id ? st->parent : 0;
        uint32_t frame = st ? st->frame : 0;
        uint32_t group = spa_groups_of_frame(g, frame);
        int hidden =
            group == UINT32_MAX || (ignore && frame_matches(ignore, r, ignore_memo, frame));
        if (hidden) {
            base[id] = base[parent];
        } else {
            base[id] = spa_nodemap_child(&v->nodes, base[parent], group);
            failed = base[id] == UINT32_MAX;
        }
        pass[id] = pass[parent] ||
                   (focus && group != UINT32_MAX && frame_matches(focus, r, focus_memo, frame));
        v->node_of[id] = !focus || pass[id] ? base[id] : SPA_VIEW_EXCLUDED;
    }
    free(base);
    free(pass);
    free(focus_memo);
    free(ignore_memo);
    if (failed) {
        spa_view_free(v);
        return SPT_E_NOMEM;
    }
    *out = v;
    return SPT_OK;
}

void spa_view_free(spa_view *v) {
    if (!v)
        return;
    spa_nodemap_free(&v->nodes);
    free(v->node_of);
    free(v);
}

const spa_groups *spa_view_groups(const spa_view *v) {
    return v->groups;
}

uint32_t spa_view_count(const spa_view *v) {
    return v->nodes.n;
}

uint32_t spa_view_node_of(const spa_view *v, uint32_t stack) {
    return stack <= v->n_stacks ? v->node_of[stack] : SPA_VIEW_EXCLUDED;
}

uint32_t spa_view_parent(const spa_view *v, uint32_t node) {
    return v->nodes.parent[node];
}

uint32_t spa_view_group(const spa_view *v, uint32_t node) {
    return v->nodes.group[node];
}

void spa_view_values(const spa_view *v, const spa_model *m, spa_metric metric, spa_value *self) {
    memset(self, 0, ((size_t)v->nodes.n + 1) * sizeof *self);
    for (uint32_t id = 0; id <= v->n_stacks; id++) {
        uint32_t node = v->node_of[id];
        if (node == SPA_VIEW_EXCLUDED)
            continue;
        spa_value x = spa_data_metric(spa_model_stack_data(m, id), metric);
        self[node].count += x.count;
        self[node].weight += x.weight;
    }
}
