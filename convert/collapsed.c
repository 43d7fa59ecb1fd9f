/* collapsed.c: Brendan Gregg's folded stacks, as flamegraph.pl and inferno read them: one line per
 * stack, "root;child;leaf COUNT", frames root-first. Names are escaped for the format (';' becomes
 * ':', control characters their Control Pictures, invalid UTF-8 U+FFFD); stacks that become the
 * same line are merged. Lines are sorted by their stack part in byte order, as inferno writes them,
 * so the output is stable and diffable. The sort compares stacks frame by frame through the view's
 * parent links, so memory grows with the stacks, not with the text of their lines. */
#include "convert/convert_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NO_STACK UINT32_MAX /* the piece "[no stack]" */

typedef struct {
    uint32_t root; /* --per-thread: the thread's piece; NO_ROOT otherwise */
    uint32_t node;
    uint64_t weight;
} line;

#define NO_ROOT UINT32_MAX

typedef struct {
    spc_job *j;
    spc_buf text;      /* escaped pieces */
    size_t *off;       /* [piece] offset in text; [n_pieces] = end */
    uint32_t n_groups; /* pieces 0..n_groups-1 are groups, then one per thread, then [no stack] */
    uint32_t *pa, *pb; /* comparison scratch: pieces of two lines */
} folder;

static folder *sort_ctx; /* cmp_lines' context, during one qsort */

static uint32_t no_stack_piece(const folder *fo) {
    return fo->n_groups + spa_model_thread_count(fo->j->m) + 1;
}

/* The pieces of a line, root-first, into out; returns their number. */
static size_t pieces_of(const folder *fo, const line *l, uint32_t *out) {
    size_t n = 0;
    if (l->root != NO_ROOT)
        out[n++] = l->root;
    if (l->node == 0) {
        out[n++] = no_stack_piece(fo);
        return n;
    }
    return n + spc_job_path(fo->j, l->node, out + n);
}

/* A cursor over the joined text of pieces: piece bytes with ';' between them. */
typedef struct {
    const folder *fo;
    const uint32_t *ids;
    size_t n, k, pos;
} cursor;

/* The next byte, or -1 at the end. */
static int next_byte(cursor *c) {
    while (c->k < c->n) {
        size_t start = c->fo->off[c->ids[c->k]], len = c->fo->off[c->ids[c->k] + 1] - start;
        if (c->pos < len)
            return c->fo->text.p[start + c->pos++];
        c->k++;
        c->pos = 0;
        if (c->k < c->n)
            return ';';
    }
    return -1;
}

static int cmp_lines(const void *a, const void *b) {
    const folder *fo = sort_ctx;
    size_t na = pieces_of(fo, a, fo->pa), nb = pieces_of(fo, b, fo->pb);
    size_t k = 0;
    while (k < na && k < nb && fo->pa[k] == fo->pb[k])
        k++; /* the same pieces: the same text */
    if (k == na && k == nb)
        return 0;
    cursor ca = {fo, fo->pa + k, na - k, 0, 0}, cb = {fo, fo->pb + k, nb - k, 0, 0};
    for (;;) {
        int x = next_byte(&ca), y = next_byte(&cb);
        if (x != y)
            return x < y ? -1 : 1; /* -1 (the end) sorts first: a prefix before its extensions */
        if (x < 0)
            return 0;
    }
}

/* Escapes every group label, then every thread's "name/tid", then "[no stack]". */
static int build_pieces(folder *fo) {
    spc_job *j = fo->j;
    uint32_t n_threads = spa_model_thread_count(j->m);
    size_t n = (size_t)fo->n_groups + n_threads + 2;
    fo->off = malloc((n + 1) * sizeof *fo->off);
    if (!fo->off)
        return -1;
    size_t i = 0;
    for (uint32_t g = 0; g < fo->n_groups; g++) {
        size_t len;
        const char *label = spa_groups_label(j->g, g, &len);
        fo->off[i++] = fo->text.len;
        spc_esc_folded(&fo->text, label, len);
    }
    for (uint32_t t = 0; t <= n_threads; t++) {
        size_t len;
        uint32_t tid;
        const char *name = spc_job_thread_name(j, t, &len, &tid);
        fo->off[i++] = fo->text.len;
        if (t == 0) {
            spc_buf_str(&fo->text, "[no thread]");
        } else {
            spc_esc_folded(&fo->text, name, len);
            spc_buf_fmt(&fo->text, "/%" PRIu32, tid);
        }
    }
    fo->off[i++] = fo->text.len;
    spc_buf_str(&fo->text, "[no stack]");
    fo->off[i] = fo->text.len;
    return fo->text.failed ? -1 : 0;
}

/* The lines before sorting: per view node, or per (thread, node) with --per-thread. */
static int collect(folder *fo, line **out, size_t *n) {
    spc_job *j = fo->j;
    *out = NULL;
    *n = 0;
    if (j->o->per_thread) {
        spc_cell *cells;
        size_t n_cells;
        if (spc_job_cells(j, &cells, &n_cells))
            return -1;
        line *lines = malloc((n_cells + 1) * sizeof *lines);
        if (!lines) {
            free(cells);
            return -1;
        }
        for (size_t i = 0; i < n_cells; i++) {
            uint64_t w = spa_data_metric(&cells[i].data, j->metric).weight;
            if (w) {
                lines[*n].root = fo->n_groups + cells[i].thread;
                lines[*n].node = cells[i].node;
                lines[(*n)++].weight = w;
            }
        }
        free(cells);
        *out = lines;
        return 0;
    }
    spa_value *self = malloc(((size_t)j->n_nodes + 1) * sizeof *self);
    line *lines = malloc(((size_t)j->n_nodes + 1) * sizeof *lines);
    if (!self || !lines) {
        free(self);
        free(lines);
        return -1;
    }
    spa_view_values(j->v, j->m, j->metric, self);
    for (uint32_t node = 0; node <= j->n_nodes; node++) {
        if (self[node].weight) {
            lines[*n].root = NO_ROOT;
            lines[*n].node = node;
            lines[(*n)++].weight = self[node].weight;
        }
    }
    free(self);
    *out = lines;
    return 0;
}

static void write_line(const folder *fo, const line *l, uint64_t weight, FILE *out) {
    size_t n = pieces_of(fo, l, fo->pa);
    for (size_t k = 0; k < n; k++) {
        size_t start = fo->off[fo->pa[k]];
        if (k)
            fputc(';', out);
        fwrite(fo->text.p + start, 1, fo->off[fo->pa[k] + 1] - start, out);
    }
    fprintf(out, " %" PRIu64 "\n", weight);
}

spt_status spc_write_collapsed(spc_job *j, FILE *out) {
    folder fo;
    memset(&fo, 0, sizeof fo);
    fo.j = j;
    fo.n_groups = spa_groups_count(j->g);
    fo.pa = malloc(((size_t)j->max_depth + 2) * sizeof *fo.pa);
    fo.pb = malloc(((size_t)j->max_depth + 2) * sizeof *fo.pb);
    line *lines = NULL;
    size_t n = 0;
    spt_status st = SPT_OK;
    if (!fo.pa || !fo.pb || build_pieces(&fo) || collect(&fo, &lines, &n)) {
        st = spc_job_fail(j, SPT_E_NOMEM, "out of memory while folding stacks");
    } else {
        sort_ctx = &fo;
        qsort(lines, n, sizeof *lines, cmp_lines);
        sort_ctx = NULL;
        for (size_t i = 0; i < n;) {
            /* Stacks whose lines came out the same (names that differ only in what the format
             * escapes) are one line, as a folded-stack reader would add them up anyway. */
            uint64_t sum = 0;
            size_t k = i;
            sort_ctx = &fo;
            for (; k < n && (k == i || cmp_lines(&lines[i], &lines[k]) == 0); k++)
                sum = sum + lines[k].weight < sum ? UINT64_MAX : sum + lines[k].weight;
            sort_ctx = NULL;
            write_line(&fo, &lines[i], sum, out);
            i = k;
        }
    }
    free(lines);
    free(fo.pa);
    free(fo.pb);
    free(fo.off);
    spc_buf_free(&fo.text);
    return st;
}
