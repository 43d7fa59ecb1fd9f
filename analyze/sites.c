/* sites.c: allocation sites for `heap` and `leaks`: per-stack bytes and counts summed per view node
 * (so --by, --focus and --ignore apply), largest first, printed with their stacks innermost
 * frame first. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Deep recursion would print thousands of frames per site; the innermost ones say the most. */
#define MAX_FRAMES_SHOWN 24

static int cmp_sites(const void *a, const void *b) {
    const spa_site *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->node > y->node) - (x->node < y->node);
}

int spa_sites_collect(const spa_prof *p, spa_site_get get, void *ctx, spa_site **out,
                      size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    uint32_t n_nodes = spa_view_count(p->v);
    spa_site *by_node = calloc((size_t)n_nodes + 1, sizeof *by_node);
    if (!by_node)
        return -1;
    uint32_t n_stacks = spa_model_stack_count(p->m);
    for (uint32_t s = 0; s <= n_stacks; s++) {
        uint32_t node = spa_view_node_of(p->v, s);
        if (node == SPA_VIEW_EXCLUDED)
            continue;
        uint64_t bytes;
        double count;
        get(ctx, s, &bytes, &count);
        by_node[node].bytes += bytes;
        by_node[node].count += count;
    }
    size_t n = 0;
    for (uint32_t node = 0; node <= n_nodes; node++) {
        if (by_node[node].bytes == 0 && !(by_node[node].count > 0))
            continue;
        by_node[n] = by_node[node];
        by_node[n].node = node;
        n++;
    }
    qsort(by_node, n, sizeof *by_node, cmp_sites);
    *out = by_node;
    *n_out = n;
    return 0;
}

static uint64_t rounded(double c) {
    return c > 0 ? (uint64_t)(c + 0.5) : 0;
}

void spa_sites_print(const spa_cli *cli, const spa_prof *p, const spa_site *sites, size_t n,
                     uint64_t total_bytes) {
    size_t shown = cli->limit && cli->limit < n ? (size_t)cli->limit : n;
    char a[32], b[32];
    for (size_t i = 0; i < shown; i++) {
        const spa_site *s = &sites[i];
        spa_fmt_bytes(a, sizeof a, s->bytes);
        spa_fmt_count(b, sizeof b, rounded(s->count));
        double pct = spa_percent(s->bytes, total_bytes);
        const char *on = spa_pct_color(cli->color, pct);
        printf("%s#%zu%s  %s%s (%.1f%%)%s in %s allocation%s\n", spa_color(cli->color, SPA_BOLD),
               i + 1, spa_color(cli->color, SPA_RESET), on, a, pct,
               *on ? spa_color(cli->color, SPA_RESET) : "", b, rounded(s->count) == 1 ? "" : "s");
        if (s->node == 0) {
            printf("      [no stack]\n");
            continue;
        }
        uint32_t depth = 0;
        for (uint32_t x = s->node; x != 0; x = spa_view_parent(p->v, x))
            depth++;
        uint32_t k = 0;
        for (uint32_t x = s->node; x != 0 && k < MAX_FRAMES_SHOWN; x = spa_view_parent(p->v, x)) {
            size_t len;
            const char *label = spa_groups_label(p->g, spa_view_group(p->v, x), &len);
            printf("      ");
            spa_put_text(stdout, label, len);
            printf("\n");
            k++;
        }
        if (depth > k)
            printf("      %s[%" PRIu32 " more frames]%s\n", spa_color(cli->color, SPA_DIM),
                   depth - k, spa_color(cli->color, SPA_RESET));
    }
    if (shown < n)
        printf("(%zu more site%s; --limit 0 shows all)\n", n - shown, n - shown == 1 ? "" : "s");
}

void spa_sites_emit(spa_emit *e, const spa_cli *cli, const spa_prof *p, const spa_site *sites,
                    size_t n, uint64_t total_bytes) {
    size_t shown = cli->limit && cli->limit < n ? (size_t)cli->limit : n;
    spa_emit_u64(e, "sites_total", n);
    spa_emit_array(e, "sites");
    for (size_t i = 0; i < shown; i++) {
        const spa_site *s = &sites[i];
        spa_emit_object(e, "");
        spa_emit_u64(e, "bytes", s->bytes);
        spa_emit_double(e, "percent", spa_percent(s->bytes, total_bytes));
        spa_emit_u64(e, "count", rounded(s->count));
        spa_emit_array(e, "frames");
        for (uint32_t x = s->node; x != 0; x = spa_view_parent(p->v, x)) {
            size_t len;
            const char *label = spa_groups_label(p->g, spa_view_group(p->v, x), &len);
            spa_emit_str(e, "", label, len);
        }
        spa_emit_close(e);
        spa_emit_close(e);
    }
    spa_emit_close(e);
}

void spa_sites_csv(const spa_cli *cli, const spa_prof *p, const spa_site *sites, size_t n,
                   uint64_t total_bytes) {
    size_t shown = cli->limit && cli->limit < n ? (size_t)cli->limit : n;
    printf("rank,bytes,percent,count,stack\n");
    uint32_t *path = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < shown; i++) {
        const spa_site *s = &sites[i];
        printf("%zu,%" PRIu64 ",%.3f,%" PRIu64 ",", i + 1, s->bytes,
               spa_percent(s->bytes, total_bytes), rounded(s->count));
        /* Outermost frame first, as in tree's CSV and collapsed stacks. */
        size_t depth = 0;
        for (uint32_t x = s->node; x != 0; x = spa_view_parent(p->v, x)) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                uint32_t *np = realloc(path, ncap * sizeof *np);
                if (!np)
                    break;
                path = np;
                cap = ncap;
            }
            path[depth++] = x;
        }
        char *joined = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&joined, &len);
        for (size_t k = depth; f && k-- > 0;) {
            size_t l;
            const char *label = spa_groups_label(p->g, spa_view_group(p->v, path[k]), &l);
            fwrite(label, 1, l, f);
            if (k)
                fputc(';', f);
        }
        if (f && fclose(f) == 0)
            spa_put_csv_field(stdout, joined, len);
        free(joined);
        printf("\n");
    }
    free(path);
}
