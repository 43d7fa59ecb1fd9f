/* model.h: the profile model that spprof-analyze (and later convert/) builds from one trace.
 * Loading streams the reader once; memory grows with unique stacks and threads, never with samples.
 * Grouping frames into functions/files/lines/modules and the flat profile are built on top of it.
 */
#ifndef SPPROF_ANALYZE_MODEL_H
#define SPPROF_ANALYZE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/sptrace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * The model: per-stack and per-thread sample totals, plus counters for `info`.
 * ------------------------------------------------------------------------------------------- */

/* A sample total: raw samples and the sampling intervals they stand for (weight >= count when
 * the timer overran). CPU or wall time is weight x spt_header.interval_ns. */
typedef struct {
    uint64_t count;  /* raw samples (SAMPLE records count 1, SAMPLE_TOTAL records their count) */
    uint64_t weight; /* sampling intervals */
} spa_value;

/* Counters gathered while streaming, for `info` and for shares. */
typedef struct {
    spa_value samples;       /* every SAMPLE and SAMPLE_TOTAL, stack 0 included */
    uint64_t sample_records; /* SAMPLE plus SAMPLE_TOTAL records */
    uint64_t drops[8];       /* DROPS counts summed, indexed by spt_drop_reason (1..4) */
    uint64_t allocs;         /* ALLOC records, plus ALLOC_TOTAL alloc_count */
    uint64_t alloc_bytes;    /* estimated bytes: ALLOC weight_bytes, ALLOC_TOTAL alloc_bytes */
    uint64_t frees;          /* FREE records */
    uint64_t markers;        /* MARKER records */
    uint64_t children;       /* CHILD records */
    uint64_t first_time_ns;  /* earliest event time seen (0 if none) */
    uint64_t last_time_ns;   /* latest event time seen */
} spa_totals;

/* One METADATA fact; the ids are the reader's string ids (see spa_model_reader). */
typedef struct {
    uint32_t key;
    uint32_t value;
} spa_metadata;

typedef struct spa_model spa_model;

typedef struct {
    /* Called once per reader warning (damaged chunk, truncated tail); message names the file.
     * NULL prints "spprof: <message>" to stderr, as the reader does. */
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
    size_t max_memory_bytes; /* passed to the reader; 0 = its default */
} spa_model_options;

/* Opens the trace at path, streams every event into the model and keeps the reader open for
 * definition lookups. Returns SPT_OK, or the reader's error (SPT_E_IO, SPT_E_BAD_MAGIC, ...) or
 * SPT_E_NOMEM. On failure *out is still set when memory allowed, so spa_model_error() can say
 * why; free it with spa_model_free. A truncated or damaged trace loads up to where it is
 * readable, with warnings through options->warn. options may be NULL. */
spt_status spa_model_load(const char *path, const spa_model_options *options, spa_model **out);

/* Frees the model and its reader. Accepts NULL. */
void spa_model_free(spa_model *m);

/* The last error as one line, "<file>: <what went wrong>". Never NULL; accepts NULL. */
const char *spa_model_error(const spa_model *m);

/* The path the model was loaded from. */
const char *spa_model_path(const spa_model *m);

/* The reader the model was streamed from, for definitions (strings, frames, stacks, threads,
 * mappings). Owned by the model; valid until spa_model_free. Do not call spt_reader_next on it. */
const spt_reader *spa_model_reader(const spa_model *m);

/* Shorthands for spt_reader_header / spt_reader_get_stats on the model's reader. */
const spt_header *spa_model_header(const spa_model *m);
const spt_reader_stats *spa_model_stats(const spa_model *m);

/* Totals gathered while loading. */
const spa_totals *spa_model_totals(const spa_model *m);

/* Number of stack ids (reader ids run 1..n; id 0 is the empty stack). */
uint32_t spa_model_stack_count(const spa_model *m);

/* The samples whose innermost stack node is exactly `stack` (0 = samples with an empty stack).
 * Unknown ids read as zero. */
spa_value spa_model_stack_value(const spa_model *m, uint32_t stack);

/* Number of thread ids (reader ids run 1..n). */
uint32_t spa_model_thread_count(const spa_model *m);

/* The samples recorded for thread id `thread` (0 = samples not tied to a thread). */
spa_value spa_model_thread_value(const spa_model *m, uint32_t thread);

/* Duration of the recording: the END record's duration when the trace ended cleanly, else the
 * time of the latest event (a lower bound). */
uint64_t spa_model_duration_ns(const spa_model *m);

/* The METADATA facts in file order; *n receives their number. */
const spa_metadata *spa_model_metadata(const spa_model *m, size_t *n);

/* ---------------------------------------------------------------------------------------------
 * Grouping frames. Each frame id maps to one group; a group has one printable label.
 *
 *   function  the function name. Same-named functions from different source files (or, without
 *             a file, different modules) are separate groups, labelled "name (file)" only when a
 *             name is shared, so statics in two files do not merge but common names stay short.
 *   file      the source file; native frames without one group by "[module]".
 *   line      "name (file:line)"; frames without a line fall back to the function grouping.
 *   module    native: the basename of the mapped file ("libc.so.6"); Python: the source file.
 *
 * Native frames without a name are labelled "module+0xOFFSET" (the offset in the mapped file)
 * for every key but `module` and `file`, or "0xADDRESS" when no mapping is known. Synthetic
 * frames ("[truncated]") keep their own name for every key.
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    SPA_BY_FUNCTION = 0,
    SPA_BY_FILE = 1,
    SPA_BY_LINE = 2,
    SPA_BY_MODULE = 3
} spa_group_by;

/* Parses "function", "file", "line" or "module". Returns 0 on success, -1 otherwise. */
int spa_group_by_parse(const char *text, spa_group_by *out);

/* The name of a grouping key, as spa_group_by_parse accepts it. */
const char *spa_group_by_name(spa_group_by by);

typedef struct spa_groups spa_groups;

/* Builds the frame-to-group mapping for every frame of the model. Work is per unique frame.
 * Returns SPT_OK or SPT_E_NOMEM (then *out is NULL). */
spt_status spa_groups_build(const spa_model *m, spa_group_by by, spa_groups **out);

/* Frees the groups. Accepts NULL. */
void spa_groups_free(spa_groups *g);

/* Number of groups; group indexes run 0..n-1. */
uint32_t spa_groups_count(const spa_groups *g);

/* The group of frame id `frame` (1..frame count), or UINT32_MAX for an unknown id. */
uint32_t spa_groups_of_frame(const spa_groups *g, uint32_t frame);

/* The label of group index i: *len bytes at the returned pointer (any bytes; names from the
 * trace are not sanitized). Valid until spa_groups_free. */
const char *spa_groups_label(const spa_groups *g, uint32_t i, size_t *len);

/* ---------------------------------------------------------------------------------------------
 * Flat profile: self and total per group.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const char *label; /* the group's label, or "[no stack]" for samples with an empty stack */
    size_t label_len;
    spa_value self;  /* samples whose innermost frame is in this group */
    spa_value total; /* samples with a frame of this group anywhere in the stack, counted once
                        per sample however often the group recurs */
} spa_flat_row;

typedef struct {
    spa_flat_row *rows; /* groups with any self or total samples, in group order */
    size_t n_rows;
    spa_value all; /* every sample: the denominator of shares */
} spa_flat;

typedef enum { SPA_SORT_SELF = 0, SPA_SORT_TOTAL = 1 } spa_sort;

/* Computes the flat profile of the model under the grouping g (which must come from the same
 * model). Work is proportional to the stack nodes, not to the samples. Labels point into g, so
 * free the flat profile before g. Returns SPT_OK or SPT_E_NOMEM (then *out is empty). */
spt_status spa_flat_build(const spa_model *m, const spa_groups *g, spa_flat *out);

/* Sorts rows by self (or total) weight, descending; ties by the other weight, then by count,
 * then by label bytes, so output is deterministic. */
void spa_flat_sort(spa_flat *flat, spa_sort by);

/* Frees the rows. Accepts a zeroed spa_flat. */
void spa_flat_free(spa_flat *flat);

#ifdef __cplusplus
}
#endif
#endif /* SPPROF_ANALYZE_MODEL_H */
