/* svg_flame.c: a self-contained interactive flame graph (the root at the bottom, callees above
 * their callers, siblings in name order) with its script inline: hover shows a frame's name and
 * share, a click zooms into it, Search highlights the frames matching a regular expression and
 * shows the share they cover, Reset Zoom (or Escape) goes back. Frames narrower than 0.1 px are
 * left out with everything above them, as flamegraph.pl does, so the file stays small. The
 * differential graph is AFTER's, coloured by how each frame's share of its trace's total changed
 * from BEFORE (frames matched by their path of names): red grew, blue shrank, white unchanged. */
#include "convert/convert_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH   1200
#define PAD     10
#define FRAME_H 16
#define CHAR_W  7.08 /* 12 px Verdana, about 0.59 em per character */
#define TOP     72   /* title, subtitle and legend */
#define BOTTOM  34   /* the details line */
#define MIN_PX  0.1

typedef struct {
    spc_job *j;
    spa_value *self; /* [view node] */
    spa_tree t;
    uint64_t all;
    double *before; /* diff: [tree node] BEFORE's share (0..1) on the same path; NULL otherwise */
    double gone;    /* diff: BEFORE's share in stacks AFTER lacks */
    double max_change;
} flame;

/* ---------------------------------------------------------------------------------------------
 * The tree, siblings in label order (byte order, then group), as flame graphs lay them out.
 * ------------------------------------------------------------------------------------------- */
static const spa_tree *cmp_tree; /* cmp_siblings' context, during one qsort */
static const spa_groups *cmp_groups;

static int cmp_siblings(const void *a, const void *b) {
    uint32_t ga = cmp_tree->nodes[*(const uint32_t *)a].group;
    uint32_t gb = cmp_tree->nodes[*(const uint32_t *)b].group;
    size_t la, lb;
    const char *sa = spa_groups_label(cmp_groups, ga, &la);
    const char *sb = spa_groups_label(cmp_groups, gb, &lb);
    int c = memcmp(sa, sb, la < lb ? la : lb);
    if (c)
        return c;
    if (la != lb)
        return la < lb ? -1 : 1;
    return (ga > gb) - (ga < gb);
}

static int build_tree(flame *fl, spc_job *j) {
    memset(fl, 0, sizeof *fl);
    fl->j = j;
    fl->self = malloc(((size_t)j->n_nodes + 1) * sizeof *fl->self);
    if (!fl->self)
        return -1;
    spa_view_values(j->v, j->m, j->metric, fl->self);
    if (spa_tree_build(j->v, fl->self, 0, &fl->t) != SPT_OK)
        return -1;
    cmp_tree = &fl->t;
    cmp_groups = j->g;
    for (uint32_t n = 0; n < fl->t.n_nodes; n++) {
        const spa_tree_node *tn = &fl->t.nodes[n];
        qsort(fl->t.children + tn->first_child, tn->n_children, sizeof *fl->t.children,
              cmp_siblings);
    }
    cmp_tree = NULL;
    cmp_groups = NULL;
    fl->all = fl->t.all.weight;
    return 0;
}

static void free_tree(flame *fl) {
    free(fl->self);
    free(fl->before);
    spa_tree_free(&fl->t);
}

/* ---------------------------------------------------------------------------------------------
 * The diff: BEFORE's nodes matched to AFTER's on the path of group identities (name, then the
 * disambiguator; a name alone when only one child has it, as a module renamed between builds).
 * ------------------------------------------------------------------------------------------- */
static uint64_t fnv(const char *s, size_t len) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t slot_of(uint32_t parent, uint64_t name_hash, size_t mask) {
    uint64_t x = (name_hash ^ ((uint64_t)parent * 0x9E3779B97F4A7C15ull)) * 0xbf58476d1ce4e5b9ull;
    return (size_t)(x >> 17) & mask;
}

static int same(const char *a, size_t la, const char *b, size_t lb) {
    return la == lb && memcmp(a, b, la) == 0;
}

/* AFTER's child of `parent` matching BEFORE's group gb, or 0. */
static uint32_t find_child(const flame *a, const uint32_t *slots, size_t mask, uint32_t parent,
                           const spa_groups *bg, uint32_t gb) {
    size_t nl, dl;
    const char *name = spa_groups_name(bg, gb, &nl);
    const char *dis = spa_groups_disambiguator(bg, gb, &dl);
    uint32_t only = 0;
    int n_named = 0;
    for (size_t s = slot_of(parent, fnv(name, nl), mask); slots[s]; s = (s + 1) & mask) {
        uint32_t node = slots[s];
        if (a->t.nodes[node].parent != parent)
            continue;
        uint32_t g = a->t.nodes[node].group;
        size_t l2, d2;
        const char *n2 = spa_groups_name(a->j->g, g, &l2);
        if (!same(name, nl, n2, l2))
            continue;
        const char *dis2 = spa_groups_disambiguator(a->j->g, g, &d2);
        if (same(dis, dl, dis2, d2))
            return node;
        only = node;
        n_named++;
    }
    return n_named == 1 ? only : 0;
}

static int match_before(flame *a, const flame *b) {
    size_t n_slots = 64;
    while (n_slots < (size_t)a->t.n_nodes * 2)
        n_slots *= 2;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    uint32_t *queue = malloc(((size_t)b->t.n_nodes + 1) * 2 * sizeof *queue);
    a->before = calloc((size_t)a->t.n_nodes + 1, sizeof *a->before);
    if (!slots || !queue || !a->before) {
        free(slots);
        free(queue);
        return -1;
    }
    size_t mask = n_slots - 1;
    for (uint32_t n = 1; n < a->t.n_nodes; n++) {
        size_t len;
        const char *name = spa_groups_name(a->j->g, a->t.nodes[n].group, &len);
        size_t s = slot_of(a->t.nodes[n].parent, fnv(name, len), mask);
        while (slots[s])
            s = (s + 1) & mask;
        slots[s] = n;
    }
    double b_all = b->all ? (double)b->all : 1.0;
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    queue[tail++] = 0;
    a->before[0] = b->all ? 1.0 : 0.0;
    while (head < tail) {
        uint32_t bn = queue[head++], an = queue[head++];
        const spa_tree_node *tn = &b->t.nodes[bn];
        for (uint32_t k = 0; k < tn->n_children; k++) {
            uint32_t bc = b->t.children[tn->first_child + k];
            double share = (double)b->t.nodes[bc].total.weight / b_all;
            uint32_t ac = find_child(a, slots, mask, an, b->j->g, b->t.nodes[bc].group);
            if (ac) {
                a->before[ac] += share;
                queue[tail++] = bc;
                queue[tail++] = ac;
            } else {
                a->gone += share;
            }
        }
    }
    free(slots);
    free(queue);
    return 0;
}

/* Change in share of node n, AFTER minus BEFORE (-1..1). */
static double change_of(const flame *fl, uint32_t n) {
    double after = fl->all ? (double)fl->t.nodes[n].total.weight / (double)fl->all : 0.0;
    return after - fl->before[n];
}

/* ---------------------------------------------------------------------------------------------
 * Colours.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    int r, g, b;
} rgb;

/* A stable pseudo-random fraction (0..1) from a name, so a frame keeps its colour. */
static double vary(const char *s, size_t len, int salt) {
    uint64_t h = fnv(s, len) + (uint64_t)salt * 0x9E3779B97F4A7C15ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (double)(h >> 11) / 9007199254740992.0;
}

static rgb hsl(double h, double s, double l) {
    double c = (1 - fabs(2 * l - 1)) * s, hp = h / 60.0;
    double x = c * (1 - fabs(fmod(hp, 2.0) - 1)), m = l - c / 2, r = 0, g = 0, b = 0;
    if (hp < 1) {
        r = c, g = x;
    } else if (hp < 2) {
        r = x, g = c;
    } else if (hp < 3) {
        g = c, b = x;
    } else if (hp < 4) {
        g = x, b = c;
    } else if (hp < 5) {
        r = x, b = c;
    } else {
        r = c, b = x;
    }
    rgb out = {(int)lround((r + m) * 255), (int)lround((g + m) * 255), (int)lround((b + m) * 255)};
    return out;
}

static rgb color_of(const flame *fl, uint32_t n) {
    const spc_job *j = fl->j;
    rgb grey = {200, 200, 200};
    if (n == 0)
        return grey;
    uint32_t g = fl->t.nodes[n].group;
    const spc_group_info *gi = &j->info[g];
    if (fl->before) {
        double d = fl->max_change > 0 ? change_of(fl, n) / fl->max_change : 0;
        int k = (int)lround(fabs(d) * 210);
        rgb c = {250, 250, 250};
        if (d > 0)
            c.g = c.b = 250 - k;
        else if (d < 0)
            c.r = c.g = 250 - k;
        return c;
    }
    if (gi->kind == SPC_KIND_SYNTHETIC)
        return grey;
    if (j->o->color_by == SPC_COLOR_MODULE)
        return hsl(360.0 * vary(gi->module, gi->module_len, 1), 0.55,
                   0.62 + 0.08 * vary(gi->module, gi->module_len, 2));
    size_t len;
    const char *label = spa_groups_label(j->g, g, &len);
    double v1 = vary(label, len, 1), v2 = vary(label, len, 2), v3 = vary(label, len, 3);
    rgb c;
    if (gi->kind == SPC_KIND_PYTHON) { /* greens: Python */
        c.r = 60 + (int)(70 * v1);
        c.g = 170 + (int)(60 * v2);
        c.b = 90 + (int)(60 * v3);
    } else { /* flamegraph.pl's warm "hot" palette: native code */
        c.r = 205 + (int)(50 * v3);
        c.g = (int)(230 * v1);
        c.b = (int)(55 * v2);
    }
    return c;
}

/* ---------------------------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------------------------- */
static double px_of(const flame *fl, uint64_t v) {
    return fl->all ? (double)v * (WIDTH - 2 * PAD) / (double)fl->all : 0;
}

static void write_frame(const flame *fl, FILE *out, uint32_t n, uint64_t offset, uint32_t depth,
                        uint32_t max_depth) {
    const spc_job *j = fl->j;
    const spa_tree_node *tn = &fl->t.nodes[n];
    size_t len;
    const char *name = n == 0 ? "all" : spa_groups_label(j->g, tn->group, &len);
    if (n == 0)
        len = 3;
    double x = PAD + px_of(fl, offset), w = px_of(fl, tn->total.weight);
    double y = TOP + (double)(max_depth - depth) * FRAME_H;
    fprintf(out,
            "<g class=\"f\" data-o=\"%" PRIu64 "\" data-v=\"%" PRIu64 "\" data-d=\"%" PRIu32
            "\"><title>",
            offset, tn->total.weight, depth);
    spc_put_xml(out, name, len, SIZE_MAX);
    char value[48];
    spc_fmt_value(value, sizeof value, j->metric, tn->total.weight, j->h->interval_ns);
    double pct = fl->all ? 100.0 * (double)tn->total.weight / (double)fl->all : 0;
    fprintf(out, "\n%s (%.2f%%)", value, pct);
    if (spa_metric_is_alloc(j->metric) || j->h->interval_ns)
        fprintf(out, ", %" PRIu64 " %s", tn->total.count,
                spa_metric_is_alloc(j->metric) ? "allocations" : "samples");
    if (fl->before) {
        double d = 100.0 * change_of(fl, n);
        fprintf(out, "\nwas %.2f%%: %s%.2f points", 100.0 * fl->before[n], d >= 0 ? "+" : "", d);
    }
    if (n != 0 && j->o->color_by == SPC_COLOR_MODULE && !fl->before &&
        j->info[tn->group].module_len) {
        fputs("\nmodule: ", out);
        spc_put_xml(out, j->info[tn->group].module, j->info[tn->group].module_len, SIZE_MAX);
    }
    rgb c = color_of(fl, n);
    fprintf(out,
            "</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" rx=\"2\" "
            "fill=\"rgb(%d,%d,%d)\"/><text x=\"%.2f\" y=\"%.1f\">",
            x, y, w, FRAME_H - 1, c.r, c.g, c.b, x + 3, y + 11.5);
    /* The same fitting as the script's, so viewers without scripts show names too. */
    double max = floor((w - 6) / CHAR_W);
    if (max >= 3) {
        size_t chars = spc_char_count(name, len);
        if ((double)chars <= max) {
            spc_put_xml(out, name, len, SIZE_MAX);
        } else {
            spc_put_xml(out, name, len, (size_t)max - 2);
            fputs("..", out);
        }
    }
    fputs("</text></g>\n", out);
}

/* Walks the tree depth first, children left to right from their parent's left edge, leaving
 * out frames under MIN_PX and all above them. With out NULL it only measures the depth. */
static uint32_t walk(const flame *fl, FILE *out, uint32_t max_depth, uint32_t *stack,
                     uint64_t *offsets) {
    uint32_t deepest = 0;
    size_t top = 0;
    if (fl->all == 0)
        return 0;
    stack[top] = 0;
    offsets[top++] = 0;
    while (top > 0) {
        top--;
        uint32_t n = stack[top];
        uint64_t offset = offsets[top];
        const spa_tree_node *tn = &fl->t.nodes[n];
        if (n != 0 && px_of(fl, tn->total.weight) < MIN_PX)
            continue;
        if (tn->depth > deepest)
            deepest = tn->depth;
        if (out)
            write_frame(fl, out, n, offset, tn->depth, max_depth);
        uint64_t child_offset = offset;
        for (uint32_t k = 0; k < tn->n_children; k++)
            child_offset += fl->t.nodes[fl->t.children[tn->first_child + k]].total.weight;
        for (uint32_t k = tn->n_children; k > 0; k--) { /* pushed right to left: popped in order */
            uint32_t c = fl->t.children[tn->first_child + k - 1];
            child_offset -= fl->t.nodes[c].total.weight;
            stack[top] = c;
            offsets[top++] = child_offset;
        }
    }
    return deepest;
}

static void swatch(FILE *out, double x, rgb c, const char *text) {
    fprintf(out,
            "<rect x=\"%.1f\" y=\"54\" width=\"10\" height=\"10\" fill=\"rgb(%d,%d,%d)\"/>"
            "<text class=\"legend\" x=\"%.1f\" y=\"63\">%s</text>\n",
            x, c.r, c.g, c.b, x + 14, text);
}

static void write_head(const flame *fl, const spc_job *before, FILE *out, uint32_t height) {
    const spc_job *j = fl->j;
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%" PRIu32 "\" viewBox=\"0 0 %d %" PRIu32 "\">\n"
            "<style type=\"text/css\"><![CDATA[\n%s]]></style>\n"
            "<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
            "<stop stop-color=\"#eeeeee\" offset=\"5%%\"/><stop stop-color=\"#eeeeb0\" "
            "offset=\"95%%\"/></linearGradient></defs>\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%" PRIu32 "\" fill=\"url(#bg)\"/>\n",
            WIDTH, height, WIDTH, height, spc_svg_flame_css, WIDTH, height);
    const char *title = j->o->title ? j->o->title
                        : before    ? "Differential Flame Graph"
                                    : "Flame Graph";
    fprintf(out, "<text id=\"title\" x=\"%d\" y=\"24\">", WIDTH / 2);
    spc_put_xml(out, title, strlen(title), SIZE_MAX);
    fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"42\">", WIDTH / 2);
    spc_buf b = {0};
    char value[48];
    if (before) {
        spc_buf_str(&b, before->name);
        spc_buf_str(&b, " \xe2\x86\x92 ");
    }
    spc_buf_str(&b, j->name);
    spc_fmt_value(value, sizeof value, j->metric, fl->all, j->h->interval_ns);
    spc_buf_fmt(&b, ": %s %s", spc_metric_title(j->metric), value);
    if (before)
        spc_buf_fmt(&b, "; shares of each trace's total; %.2f%% of before is in stacks after lacks",
                    100.0 * fl->gone);
    size_t mark = b.len;
    spc_job_filters(j, &b);
    if (b.len > mark) {
        /* "filtered: ..." after the figures */
        spc_buf tail = {0};
        spc_buf_add(&tail, b.p + mark, b.len - mark);
        b.len = mark;
        spc_buf_str(&b, "; filtered: ");
        spc_buf_add(&b, tail.p, tail.len);
        spc_buf_free(&tail);
    }
    spc_put_xml(out, (const char *)b.p, b.failed ? 0 : b.len, SIZE_MAX);
    spc_buf_free(&b);
    fputs("</text>\n", out);
    if (before) {
        rgb up = {250, 40, 40}, down = {40, 40, 250};
        swatch(out, PAD, up, "grown share");
        swatch(out, PAD + 110, down, "shrunk share");
    } else if (j->o->color_by == SPC_COLOR_KIND) {
        rgb native = {240, 120, 20}, python = {95, 200, 120}, other = {200, 200, 200};
        swatch(out, PAD, native, "native");
        swatch(out, PAD + 80, python, "Python");
        swatch(out, PAD + 160, other, "placeholder");
    } else {
        fprintf(out,
                "<text class=\"legend\" x=\"%d\" y=\"63\">coloured by module (hover for "
                "its name)</text>\n",
                PAD);
    }
    fprintf(out,
            "<text id=\"unzoom\" class=\"button hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
            "<text id=\"search\" class=\"button\" x=\"%d\" y=\"24\">Search</text>\n",
            PAD, WIDTH - PAD);
}

spt_status spc_write_svg(spc_job *j, spc_job *before, FILE *out) {
    flame fl, fb;
    memset(&fb, 0, sizeof fb);
    uint32_t *stack = NULL;
    uint64_t *offsets = NULL;
    spt_status st = SPT_OK;
    if (build_tree(&fl, j) || (before && (build_tree(&fb, before) || match_before(&fl, &fb)))) {
        st = spc_job_fail(j, SPT_E_NOMEM, "out of memory while building the flame graph");
        goto done;
    }
    stack = malloc(((size_t)fl.t.n_nodes + 1) * sizeof *stack);
    offsets = malloc(((size_t)fl.t.n_nodes + 1) * sizeof *offsets);
    if (!stack || !offsets) {
        st = spc_job_fail(j, SPT_E_NOMEM, "out of memory while laying out the flame graph");
        goto done;
    }
    if (fl.before) {
        for (uint32_t n = 1; n < fl.t.n_nodes; n++) {
            double d = fabs(change_of(&fl, n));
            if (d > fl.max_change)
                fl.max_change = d;
        }
    }
    uint32_t depth = walk(&fl, NULL, 0, stack, offsets);
    uint32_t height = TOP + (depth + 1) * FRAME_H + BOTTOM;
    write_head(&fl, before, out, height);
    fputs("<g id=\"frames\">\n", out);
    if (fl.all == 0)
        fprintf(out,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">Nothing to show: no %s in "
                "what the filters selected.</text>\n",
                WIDTH / 2, TOP + 12, spc_metric_title(j->metric));
    walk(&fl, out, depth, stack, offsets);
    fprintf(out,
            "</g>\n<text id=\"details\" x=\"%d\" y=\"%" PRIu32 "\"> </text>\n"
            "<text id=\"matched\" x=\"%d\" y=\"%" PRIu32 "\"> </text>\n"
            "<script type=\"text/ecmascript\"><![CDATA[\n"
            "var spConf = {w: %d, pad: %d, cw: %.2f, total: %" PRIu64 "};\n%s]]></script>\n"
            "</svg>\n",
            PAD, height - 12, WIDTH - PAD, height - 12, WIDTH, PAD, CHAR_W, fl.all,
            spc_svg_flame_js);
done:
    free(stack);
    free(offsets);
    free_tree(&fl);
    free_tree(&fb);
    return st;
}
