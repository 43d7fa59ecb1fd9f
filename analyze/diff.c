/* diff.c: two flat profiles matched group by group, and the change of one group with its
 * confidence interval. Matching is by the groups' identity (name and disambiguator), sorted once,
 * so it costs O(rows log rows) and never depends on how either trace labels its groups. */
#include "analyze/model.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name, *dis;
    size_t name_len, dis_len;
    int side;
    const spa_flat_row *row;
} item;

static int cmp_bytes(const char *a, size_t la, const char *b, size_t lb) {
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int cmp_item(const void *pa, const void *pb) {
    const item *a = pa, *b = pb;
    int c = cmp_bytes(a->name, a->name_len, b->name, b->name_len);
    if (!c)
        c = cmp_bytes(a->dis, a->dis_len, b->dis, b->dis_len);
    return c ? c : a->side - b->side;
}

static void fill(item *it, const spa_flat_row *row, const spa_groups *g, int side) {
    it->side = side;
    it->row = row;
    if (row->group == UINT32_MAX) { /* "[no stack]" */
        it->name = row->label;
        it->name_len = row->label_len;
        it->dis = "";
        it->dis_len = 0;
        return;
    }
    it->name = spa_groups_name(g, row->group, &it->name_len);
    it->dis = spa_groups_disambiguator(g, row->group, &it->dis_len);
}

static int is_zero(spa_value v) {
    return v.count == 0 && v.weight == 0;
}

/* The second round of matching. A group whose disambiguator differs between the traces (a frame
 * without a source file is told apart by its module, and a binary's name often changes between
 * builds; a function may move to another file) is left unmatched by identity. Within each run of
 * same-named rows, when exactly one is only in the before trace and exactly one only in the
 * after trace, they are the same function: merge them. */
static void match_by_name(spa_diff *d) {
    size_t out = 0;
    for (size_t i = 0; i < d->n_rows;) {
        size_t j = i + 1;
        while (j < d->n_rows && cmp_bytes(d->rows[j].name, d->rows[j].name_len, d->rows[i].name,
                                          d->rows[i].name_len) == 0)
            j++;
        size_t only_before = SIZE_MAX, only_after = SIZE_MAX, n_before = 0, n_after = 0;
        for (size_t k = i; k < j; k++) {
            int in_before = !is_zero(d->rows[k].total[0]) || !is_zero(d->rows[k].self[0]);
            int in_after = !is_zero(d->rows[k].total[1]) || !is_zero(d->rows[k].self[1]);
            if (in_before && !in_after) {
                only_before = k;
                n_before++;
            } else if (in_after && !in_before) {
                only_after = k;
                n_after++;
            }
        }
        int merge = n_before == 1 && n_after == 1;
        if (merge) {
            d->rows[only_before].self[1] = d->rows[only_after].self[1];
            d->rows[only_before].total[1] = d->rows[only_after].total[1];
        }
        for (size_t k = i; k < j; k++) {
            if (!merge || k != only_after)
                d->rows[out++] = d->rows[k];
        }
        i = j;
    }
    d->n_rows = out;
}

spt_status spa_diff_build(const spa_flat *before, const spa_groups *gb, const spa_flat *after,
                          const spa_groups *ga, spa_diff *out) {
    memset(out, 0, sizeof *out);
    size_t n = before->n_rows + after->n_rows;
    item *items = malloc((n + 1) * sizeof *items);
    out->rows = calloc(n + 1, sizeof *out->rows);
    if (!items || !out->rows) {
        free(items);
        spa_diff_free(out);
        return SPT_E_NOMEM;
    }
    for (size_t i = 0; i < before->n_rows; i++)
        fill(&items[i], &before->rows[i], gb, 0);
    for (size_t i = 0; i < after->n_rows; i++)
        fill(&items[before->n_rows + i], &after->rows[i], ga, 1);
    qsort(items, n, sizeof *items, cmp_item);
    for (size_t i = 0; i < n; i++) {
        spa_diff_row *r;
        if (i > 0 &&
            cmp_bytes(items[i].name, items[i].name_len, items[i - 1].name, items[i - 1].name_len) ==
                0 &&
            cmp_bytes(items[i].dis, items[i].dis_len, items[i - 1].dis, items[i - 1].dis_len) ==
                0) {
            r = &out->rows[out->n_rows - 1]; /* the same group in the other trace */
        } else {
            r = &out->rows[out->n_rows++];
            r->name = items[i].name;
            r->name_len = items[i].name_len;
            r->dis = items[i].dis;
            r->dis_len = items[i].dis_len;
        }
        int s = items[i].side;
        r->self[s].count += items[i].row->self.count;
        r->self[s].weight += items[i].row->self.weight;
        r->total[s].count += items[i].row->total.count;
        r->total[s].weight += items[i].row->total.weight;
    }
    match_by_name(out);
    /* Rows are sorted by name: same names are neighbours. */
    for (size_t i = 1; i < out->n_rows; i++) {
        if (cmp_bytes(out->rows[i].name, out->rows[i].name_len, out->rows[i - 1].name,
                      out->rows[i - 1].name_len) == 0)
            out->rows[i].shared_name = out->rows[i - 1].shared_name = 1;
    }
    out->all[0] = before->all;
    out->all[1] = after->all;
    free(items);
    return SPT_OK;
}

void spa_diff_free(spa_diff *d) {
    free(d->rows);
    memset(d, 0, sizeof *d);
}

void spa_diff_change(spa_value before, spa_value after, spa_value all_before, spa_value all_after,
                     double n_before, double n_after, int absolute, spa_change *out) {
    if (absolute) {
        double wb = (double)before.weight, wa = (double)after.weight;
        double ub = n_before > 0 ? (double)all_before.weight / n_before : 0;
        double ua = n_after > 0 ? (double)all_after.weight / n_after : 0;
        double half = SPA_Z95 * sqrt(ub * wb + ua * wa);
        out->before = wb;
        out->after = wa;
        out->change = wa - wb;
        out->lo = out->change - half;
        out->hi = out->change + half;
    } else {
        double pb = all_before.weight ? (double)before.weight / (double)all_before.weight : 0;
        double pa = all_after.weight ? (double)after.weight / (double)all_after.weight : 0;
        double lo, hi;
        spa_diff_interval(pb * n_before, n_before, pa * n_after, n_after, SPA_Z95, &lo, &hi);
        out->before = 100 * pb;
        out->after = 100 * pa;
        out->change = 100 * (pa - pb);
        out->lo = 100 * lo;
        out->hi = 100 * hi;
    }
    out->noise = out->lo <= 0 && out->hi >= 0;
}
