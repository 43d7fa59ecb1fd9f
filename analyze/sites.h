/* sites.h: internal to spprof-analyze. Allocation sites, shared by `heap` (sites live at the peak
 * or at --at) and `leaks` (sites live at the end): per-stack bytes and counts summed per view node
 * and printed with their stacks. */
#ifndef SPPROF_ANALYZE_SITES_H
#define SPPROF_ANALYZE_SITES_H

#include "analyze/cli.h"

/* One site: a view node (an allocation stack as grouped and filtered) and what it holds. */
typedef struct {
    uint32_t node;
    uint64_t bytes; /* estimated bytes */
    double count;   /* estimated allocations */
} spa_site;

/* Gives the bytes and count held by reader stack id `stack`. */
typedef void (*spa_site_get)(void *ctx, uint32_t stack, uint64_t *bytes, double *count);

/* Sums get() over every stack of p's model into the view's nodes (stacks --focus leaves out are
 * skipped) and returns the sites holding anything, largest first, in a heap array. Returns 0, or
 * -1 when out of memory. */
int spa_sites_collect(const spa_prof *p, spa_site_get get, void *ctx, spa_site **out, size_t *n);

/* Prints the first cli->limit sites ("#1  4.0 MiB (40.0%) in 12 allocations" and the stack,
 * innermost frame first); percentages are of total_bytes. */
void spa_sites_print(const spa_cli *cli, const spa_prof *p, const spa_site *sites, size_t n,
                     uint64_t total_bytes);

/* Emits "sites_total" and the first cli->limit sites as a "sites" array of objects (bytes,
 * percent, count, frames innermost first). */
void spa_sites_emit(spa_emit *e, const spa_cli *cli, const spa_prof *p, const spa_site *sites,
                    size_t n, uint64_t total_bytes);

/* Prints the first cli->limit sites as CSV: rank,bytes,percent,count,stack (outermost first,
 * joined by ';'). */
void spa_sites_csv(const spa_cli *cli, const spa_prof *p, const spa_site *sites, size_t n,
                   uint64_t total_bytes);

#endif /* SPPROF_ANALYZE_SITES_H */
