/* cmd_tree.c: `spprof-analyze tree`, the call tree top-down or (--inverted) bottom-up, with the
 * children of each node heaviest first and those below --min-percent folded into one line. The
 * walk is iterative, so a 65,536-deep stack cannot overflow the C stack. */
#include "analyze/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const spa_cli *cli;
    const spa_prof *p;
    const spa_tree *t;
    const spt_header *h;
    uint64_t all;
    /* the walk */
    uint32_t *path;   /* node at each depth (1-based; path[0] is the root) */
    uint32_t *cursor; /* next child index to visit at each depth */
    uint32_t *shown;  /* children shown (not folded) at each depth */
    size_t cap;
    /* text: the tree-drawing prefix; csv: the ';'-joined path of labels */
    char *line;
    size_t line_used, line_cap;
    size_t *mark;                   /* line_used before each depth added its part */
    size_t width_total, width_self; /* text: the figure columns, set by the heading */
    int failed;                     /* line_append ran out of memory */
} walk;

/* Children of a node that reach --min-percent form a prefix of its (heaviest-first) children. */
static uint32_t shown_children(const walk *w, const spa_tree_node *node) {
    uint32_t n = 0;
    for (; n < node->n_children; n++) {
        const spa_tree_node *c = &w->t->nodes[w->t->children[node->first_child + n]];
        if (spa_percent(c->total.weight, w->all) < w->cli->min_percent)
            break;
    }
    return n;
}

static int line_append(walk *w, const char *s, size_t len) {
    if (w->line_used + len + 1 > w->line_cap) {
        size_t cap = w->line_cap ? w->line_cap * 2 : 1024;
        while (cap < w->line_used + len + 1)
            cap *= 2;
        char *p = realloc(w->line, cap);
        if (!p)
            return -1;
        w->line = p;
        w->line_cap = cap;
    }
    memcpy(w->line + w->line_used, s, len);
    w->line_used += len;
    w->line[w->line_used] = '\0';
    return 0;
}

static void line_truncate(walk *w, size_t len) {
    w->line_used = len;
    if (w->line)
        w->line[len] = '\0';
}

static int grow_walk(walk *w, size_t depth) {
    if (depth < w->cap)
        return 0;
    size_t cap = w->cap ? w->cap * 2 : 64;
    while (cap <= depth)
        cap *= 2;
    uint32_t *a = realloc(w->path, cap * sizeof *a);
    if (a)
        w->path = a;
    uint32_t *b = realloc(w->cursor, cap * sizeof *b);
    if (b)
        w->cursor = b;
    uint32_t *c = realloc(w->shown, cap * sizeof *c);
    if (c)
        w->shown = c;
    size_t *d = realloc(w->mark, cap * sizeof *d);
    if (d)
        w->mark = d;
    if (!a || !b || !c || !d)
        return -1;
    w->cap = cap;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The three outputs share one walk; each gets the node entered or the folded rest of a parent.
 * ------------------------------------------------------------------------------------------- */
typedef enum { EV_ENTER, EV_LEAVE, EV_FOLD } walk_event;

typedef void (*visit_fn)(walk *w, walk_event ev, size_t depth, uint32_t node, int last,
                         uint32_t n_folded, spa_value folded);

/* Visits every shown node depth-first, children heaviest first. Returns 0 or -1 (no memory). */
static int run_walk(walk *w, visit_fn visit) {
    const spa_tree *t = w->t;
    if (grow_walk(w, 1))
        return -1;
    w->path[0] = 0;
    w->cursor[0] = 0;
    w->shown[0] = shown_children(w, &t->nodes[0]);
    size_t depth = 0;
    for (;;) {
        const spa_tree_node *node = &t->nodes[w->path[depth]];
        if (w->cursor[depth] < w->shown[depth]) {
            uint32_t i = w->cursor[depth]++;
            uint32_t c = t->children[node->first_child + i];
            int folds = w->shown[depth] < node->n_children;
            int last = i + 1 == w->shown[depth] && !folds;
            if (grow_walk(w, depth + 2))
                return -1;
            visit(w, EV_ENTER, depth + 1, c, last, 0, node->self);
            depth++;
            w->path[depth] = c;
            w->cursor[depth] = 0;
            w->shown[depth] = shown_children(w, &t->nodes[c]);
            continue;
        }
        if (w->cursor[depth] == w->shown[depth] && w->shown[depth] < node->n_children) {
            spa_value rest = {0, 0};
            for (uint32_t i = w->shown[depth]; i < node->n_children; i++) {
                const spa_tree_node *c = &t->nodes[t->children[node->first_child + i]];
                rest.count += c->total.count;
                rest.weight += c->total.weight;
            }
            visit(w, EV_FOLD, depth + 1, w->path[depth], 1, node->n_children - w->shown[depth],
                  rest);
            w->cursor[depth]++;
            continue;
        }
        if (depth == 0)
            return 0;
        visit(w, EV_LEAVE, depth, w->path[depth], 0, 0, node->self);
        depth--;
    }
}

static const char *figure_name(spa_metric metric, const spt_header *h) {
    switch (metric) {
    case SPA_METRIC_CPU:
    case SPA_METRIC_WALL:
        return h->interval_ns ? "time" : "samples";
    case SPA_METRIC_ALLOC_BYTES:
        return "bytes";
    case SPA_METRIC_ALLOC_COUNT:
        return "allocs";
    case SPA_METRIC_LIVE_BYTES:
        return "live";
    }
    return "samples";
}

static void label_of(const walk *w, uint32_t node, const char **s, size_t *len) {
    uint32_t g = w->t->nodes[node].group;
    *s = spa_groups_label(w->p->g, g, len);
}

/* ---------------------------------------------------------------------------------------------
 * Text.
 * ------------------------------------------------------------------------------------------- */
static void text_row(walk *w, size_t depth, spa_value total, spa_value self, int has_self, int last,
                     const char *label, size_t label_len, int dim) {
    char a[32], b[32];
    int color = w->cli->color;
    double tp = spa_percent(total.weight, w->all), sp = spa_percent(self.weight, w->all);
    spa_fmt_weight(a, sizeof a, w->h, w->p->metric, total.weight);
    spa_fmt_weight(b, sizeof b, w->h, w->p->metric, self.weight);
    const char *on = spa_pct_color(color, tp);
    printf("%s%5.1f%%%s  ", on, tp, *on ? spa_color(color, SPA_RESET) : "");
    if (has_self) {
        on = spa_pct_color(color, sp);
        printf("%s%5.1f%%%s  ", on, sp, *on ? spa_color(color, SPA_RESET) : "");
    } else {
        printf("%6s  ", "");
    }
    printf("%*s  %*s  ", (int)w->width_total, a, (int)w->width_self, has_self ? b : "");
    /* Top-level nodes start at the margin; below them, connectors show who called whom. */
    if (depth > 1) {
        fputs(w->line ? w->line : "", stdout);
        fputs(last ? "\u2514\u2500 " : "\u251c\u2500 ", stdout);
    }
    printf("%s", spa_color(dim, SPA_DIM));
    spa_put_text(stdout, label, label_len);
    printf("%s\n", spa_color(dim, SPA_RESET));
}

static void visit_text(walk *w, walk_event ev, size_t depth, uint32_t node, int last,
                       uint32_t n_folded, spa_value folded) {
    if (ev == EV_LEAVE) {
        line_truncate(w, w->mark[depth]);
        return;
    }
    if (ev == EV_FOLD) {
        char label[96];
        snprintf(label, sizeof label, "[%" PRIu32 " more, each below %g%%]", n_folded,
                 w->cli->min_percent);
        spa_value none = {0, 0};
        text_row(w, depth, folded, none, 0, 1, label, strlen(label), w->cli->color);
        return;
    }
    const spa_tree_node *n = &w->t->nodes[node];
    const char *label;
    size_t len;
    label_of(w, node, &label, &len);
    text_row(w, depth, n->total, n->self, 1, last, label, len, 0);
    /* What this level contributes to the prefix of its children's lines. */
    w->mark[depth] = w->line_used;
    if (depth > 1 && line_append(w, last ? "   " : "\u2502  ", last ? 3 : 5))
        w->failed = 1;
}

static void print_heading(walk *w) {
    const spa_cli *cli = w->cli;
    char what[160], a[32], b[32];
    spa_fmt_all(what, sizeof what, w->h, w->p->metric, w->t->all);
    printf("%s", spa_color(cli->color, SPA_BOLD));
    spa_put_text(stdout, cli->file, strlen(cli->file));
    printf("%s: %s, %s", spa_color(cli->color, SPA_RESET), what,
           cli->inverted ? "bottom-up (callers below each function)" : "top-down");
    if (cli->min_percent > 0)
        printf(", nodes below %g%% folded", cli->min_percent);
    printf("\n");
    spa_print_filters(cli);
    if (w->t->n_nodes <= 1 && w->t->nodes[0].self.weight == 0)
        return;
    /* The widest figure decides the column: the root's total is the largest. */
    spa_fmt_weight(a, sizeof a, w->h, w->p->metric, w->all);
    snprintf(b, sizeof b, "total-%s", figure_name(w->p->metric, w->h));
    w->width_total = strlen(a) > strlen(b) ? strlen(a) : strlen(b);
    snprintf(b, sizeof b, "self-%s", figure_name(w->p->metric, w->h));
    w->width_self = strlen(a) > strlen(b) ? strlen(a) : strlen(b);
    char head_total[32];
    snprintf(head_total, sizeof head_total, "total-%s", figure_name(w->p->metric, w->h));
    printf("%s%6s  %6s  %*s  %*s  %s%s\n", spa_color(cli->color, SPA_BOLD), "total%", "self%",
           (int)w->width_total, head_total, (int)w->width_self, b, spa_group_by_name(cli->by),
           spa_color(cli->color, SPA_RESET));
}

/* ---------------------------------------------------------------------------------------------
 * JSON (nested) and CSV (one row per node, with its path).
 * ------------------------------------------------------------------------------------------- */
static void json_fields(const walk *w, spa_value self, spa_value total) {
    printf("\"total_percent\": %.3f, \"total_weight\": %" PRIu64 ", \"total_count\": %" PRIu64
           ", \"self_percent\": %.3f, \"self_weight\": %" PRIu64 ", \"self_count\": %" PRIu64,
           spa_percent(total.weight, w->all), total.weight, total.count,
           spa_percent(self.weight, w->all), self.weight, self.count);
}

static void json_indent(size_t depth) {
    printf("\n%*s", (int)(depth < 40 ? depth * 2 + 2 : 82), "");
}

static void visit_json(walk *w, walk_event ev, size_t depth, uint32_t node, int last,
                       uint32_t n_folded, spa_value folded) {
    (void)last;
    if (ev == EV_LEAVE) {
        printf("]}");
        return;
    }
    /* A comma unless this is the first thing printed under the parent. */
    if (w->cursor[depth - 1] > 1 || (ev == EV_FOLD && w->shown[depth - 1] > 0))
        printf(",");
    json_indent(depth);
    if (ev == EV_FOLD) {
        printf("{\"folded\": %" PRIu32 ", \"total_percent\": %.3f, \"total_weight\": %" PRIu64
               ", \"total_count\": %" PRIu64 "}",
               n_folded, spa_percent(folded.weight, w->all), folded.weight, folded.count);
        return;
    }
    const spa_tree_node *n = &w->t->nodes[node];
    const char *label;
    size_t len;
    label_of(w, node, &label, &len);
    printf("{\"name\": ");
    spa_put_json_string(stdout, label, len);
    printf(", ");
    json_fields(w, n->self, n->total);
    printf(", \"children\": [");
}

static void visit_csv(walk *w, walk_event ev, size_t depth, uint32_t node, int last,
                      uint32_t n_folded, spa_value folded) {
    (void)last;
    (void)n_folded;
    (void)folded;
    if (ev == EV_FOLD)
        return;
    if (ev == EV_LEAVE) {
        line_truncate(w, w->mark[depth]);
        return;
    }
    const spa_tree_node *n = &w->t->nodes[node];
    const char *label;
    size_t len;
    label_of(w, node, &label, &len);
    w->mark[depth] = w->line_used;
    if ((depth > 1 && line_append(w, ";", 1)) || line_append(w, label, len)) {
        w->failed = 1;
        return;
    }
    printf("%zu,", depth);
    spa_put_csv_field(stdout, label, len);
    printf(",%.3f,%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64 ",%" PRIu64 ",",
           spa_percent(n->total.weight, w->all), n->total.weight, n->total.count,
           spa_percent(n->self.weight, w->all), n->self.weight, n->self.count);
    spa_put_csv_field(stdout, w->line, w->line_used);
    printf("\n");
}

int spa_cmd_tree(const spa_cli *cli) {
    spa_prof p;
    if (spa_prof_open(cli, cli->file, 0, &p))
        return SPA_EXIT_USAGE;
    spa_tree t;
    walk w;
    memset(&w, 0, sizeof w);
    if (spa_tree_build(p.v, p.self, cli->inverted, &t) != SPT_OK) {
        spa_cli_error("%s: out of memory while building the tree", cli->file);
        spa_prof_close(&p);
        return SPA_EXIT_USAGE;
    }
    w.cli = cli;
    w.p = &p;
    w.t = &t;
    w.h = spa_model_header(p.m);
    w.all = t.all.weight;
    int rc = 0;
    const spa_tree_node *root = &t.nodes[0];
    if (cli->format == SPA_FORMAT_JSON) {
        spa_emit e;
        spa_emit_begin(&e, stdout, SPA_FORMAT_JSON);
        spa_emit_cstr(&e, "file", cli->file);
        spa_emit_cstr(&e, "by", spa_group_by_name(cli->by));
        spa_emit_filters(&e, cli, p.metric);
        spa_emit_bool(&e, "inverted", cli->inverted);
        spa_emit_double(&e, "min_percent", cli->min_percent);
        spa_emit_u64(&e, "interval_ns", w.h->interval_ns);
        spa_emit_object(&e, "total");
        spa_emit_u64(&e, "weight", t.all.weight);
        spa_emit_u64(&e, "count", t.all.count);
        spa_emit_close(&e);
        spa_emit_object(&e, "no_stack");
        spa_emit_u64(&e, "weight", root->self.weight);
        spa_emit_u64(&e, "count", root->self.count);
        spa_emit_close(&e);
        printf(",\n  \"children\": [");
        rc = run_walk(&w, visit_json);
        printf("%s]\n}\n", root->n_children ? "\n  " : "");
    } else if (cli->format == SPA_FORMAT_CSV) {
        printf("depth,name,total_percent,total_weight,total_count,self_percent,self_weight,"
               "self_count,path\n");
        rc = run_walk(&w, visit_csv);
    } else {
        print_heading(&w);
        rc = run_walk(&w, visit_text);
        if (rc == 0 && (root->self.weight || root->self.count)) {
            static const char none[] = "[no stack]";
            text_row(&w, 1, root->self, root->self, 1, 1, none, sizeof none - 1, 0);
        }
    }
    if (rc || w.failed)
        spa_cli_error("%s: out of memory while printing the tree", cli->file);
    free(w.path);
    free(w.cursor);
    free(w.shown);
    free(w.line);
    free(w.mark);
    spa_tree_free(&t);
    spa_prof_close(&p);
    return rc || w.failed ? SPA_EXIT_USAGE : SPA_EXIT_OK;
}
