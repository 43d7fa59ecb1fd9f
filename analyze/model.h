/* model.h: the profile model that spprof-analyze and convert/ build from one trace.
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
 * The model: per-stack and per-thread totals of every metric, plus counters for `info`.
 * ------------------------------------------------------------------------------------------- */

/* A total of one metric: how many things were counted and what they weigh. For CPU and wall
 * time, count is raw samples and weight the sampling intervals they stand for (weight >= count
 * when the timer overran; time is weight x spt_header.interval_ns). For allocation metrics both
 * are estimates (see spa_metric). */
typedef struct {
    uint64_t count;  /* raw samples (SAMPLE records count 1, SAMPLE_TOTAL records their count) */
    uint64_t weight; /* sampling intervals, or bytes, or allocations */
} spa_value;

/* What a profile measures. */
typedef enum {
    SPA_METRIC_CPU = 0,         /* samples without SPT_SAMPLE_IDLE: time spent running */
    SPA_METRIC_WALL = 1,        /* every sample: running or waiting */
    SPA_METRIC_ALLOC_BYTES = 2, /* estimated bytes allocated (ALLOC weight_bytes) */
    SPA_METRIC_ALLOC_COUNT = 3, /* estimated allocations (weight_bytes / size per ALLOC) */
    SPA_METRIC_LIVE_BYTES = 4   /* estimated bytes allocated and never freed (live at the end) */
} spa_metric;

/* Parses "cpu", "wall", "alloc-bytes", "alloc-count" or "live-bytes". Returns 0, or -1. */
int spa_metric_parse(const char *text, spa_metric *out);

/* The name of a metric, as spa_metric_parse accepts it. */
const char *spa_metric_name(spa_metric metric);

/* Whether a metric counts allocations (bytes or counts) rather than samples. */
int spa_metric_is_alloc(spa_metric metric);

/* Everything recorded for one stack, one thread, or one (thread, stack) pair. Allocation counts
 * are estimates and so fractional: an ALLOC of size s standing for w bytes stands for w / s
 * allocations (exactly 1 when every allocation is recorded). */
typedef struct {
    spa_value run;        /* samples without SPT_SAMPLE_IDLE */
    spa_value idle;       /* samples with SPT_SAMPLE_IDLE (wall-clock traces) */
    uint64_t alloc_bytes; /* estimated bytes allocated */
    uint64_t live_bytes;  /* estimated bytes still live at the end */
    double alloc_count;   /* estimated allocations */
    double live_count;    /* estimated allocations still live at the end */
} spa_data;

/* The value of one metric in d. Estimated counts are rounded to the nearest whole number. For
 * cpu and wall, count is raw samples and weight sampling intervals; for alloc-bytes and
 * live-bytes, weight is bytes and count the estimated allocations; for alloc-count both are the
 * estimated allocations. */
spa_value spa_data_metric(const spa_data *d, spa_metric metric);

/* Adds every field of b to a. */
void spa_data_add(spa_data *a, const spa_data *b);

/* Counters gathered while streaming, for `info`: the whole file, whatever the filters select. */
typedef struct {
    spa_value samples;       /* every SAMPLE and SAMPLE_TOTAL, stack 0 included */
    uint64_t sample_records; /* SAMPLE plus SAMPLE_TOTAL records */
    uint64_t drops[8];       /* DROPS counts summed, indexed by spt_drop_reason (1..6, 7 not
                              * yet used); [0] sums reasons 0 and 8 on */
    uint64_t allocs;         /* ALLOC records, plus ALLOC_TOTAL alloc_count */
    uint64_t alloc_bytes;    /* estimated bytes: ALLOC weight_bytes, ALLOC_TOTAL alloc_bytes */
    uint64_t frees;          /* FREE records */
    uint64_t markers;        /* MARKER records */
    uint64_t children;       /* CHILD records */
    uint64_t alloc_events;   /* ALLOC and FREE records (a timeline exists when nonzero) */
    uint64_t total_records;  /* SAMPLE_TOTAL-like samples (count != 1) and ALLOC_TOTAL records */
    uint64_t first_time_ns;  /* earliest event time seen (0 if none) */
    uint64_t last_time_ns;   /* latest event time seen */
} spa_totals;

/* One METADATA fact; the ids are the reader's string ids (see spa_model_reader). */
typedef struct {
    uint32_t key;
    uint32_t value;
} spa_metadata;

/* One MARKER, one THREAD_NAME, or one CHILD, kept for `threads`, `aggregate` and `merge`. The
 * string ids are the reader's. */
typedef struct {
    uint64_t time_ns;
    uint32_t thread; /* the marker's or renamed thread; 0 for children */
    uint32_t text;   /* marker text, new thread name, or the child's trace path */
    uint32_t pid;    /* children: the child's pid */
    uint32_t kind;   /* children: spt_child_kind */
} spa_note;

/* A per-(thread, stack) total, kept when SPA_KEEP_THREADS is asked for. */
typedef struct {
    uint32_t thread; /* reader thread id; 0 = samples tied to no thread */
    uint32_t stack;  /* reader stack id; 0 = the empty stack */
    spa_data data;
} spa_entry;

typedef struct spa_model spa_model;

/* What the model keeps beyond per-stack and per-thread totals (spa_model_options.keep). */
#define SPA_KEEP_THREADS 0x1u /* per-(thread, stack) totals: spa_model_entries */
#define SPA_KEEP_LIVE                                                                              \
    0x2u /* a live-allocation table while streaming, for live-at-end totals                        \
            (grows with the allocations live at any one time) */

typedef struct {
    /* Called once per reader warning (damaged chunk, truncated tail); message names the file.
     * NULL prints "spprof: <message>" to stderr, as the reader does. */
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
    size_t max_memory_bytes; /* passed to the reader; 0 = its default */
    unsigned keep;           /* SPA_KEEP_* bits */

    /* Filters applied while streaming. thread: NULL for every thread; otherwise the threads whose
     * kernel id (when the text is a number) or name, at any time of the recording, equals it.
     * Samples and allocations outside [from_ns, to_ns) are left out (to_ns 0 = no end); frees are
     * always applied, so live-at-end totals count the window's allocations that were never
     * freed. Aggregated records (SAMPLE_TOTAL, ALLOC_TOTAL) have no meaningful time and are kept
     * whatever the window. */
    const char *thread;
    uint64_t from_ns;
    uint64_t to_ns;

    /* Called for every event after the model has taken it in, e.g. for a heap timeline. Use
     * spa_model_thread_selected to apply the thread filter as it stands at that moment. */
    void (*on_event)(void *ctx, const spa_model *m, const spt_event *ev);
    void *event_ctx;

    /* Called once the whole trace is in m, before spa_model_load returns SPT_OK: for remarks on
     * the trace as a whole, such as where its process went on (analyze/family.c). */
    void (*on_loaded)(void *ctx, const spa_model *m, const char *path);
    void *loaded_ctx;
} spa_model_options;

/* Opens the trace at path, streams every event into the model and keeps the reader open for
 * definition lookups. Returns SPT_OK, or the reader's error (SPT_E_IO, SPT_E_BAD_MAGIC, ...) or
 * SPT_E_NOMEM. On failure *out is still set when memory allowed, so spa_model_error() can say
 * why; free it with spa_model_free. A truncated or damaged trace loads up to where it is
 * readable, with warnings through options->warn. options may be NULL. Memory grows with unique
 * stacks and threads (and, with SPA_KEEP_LIVE, with live allocations), never with samples. */
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

/* Totals of the whole file gathered while loading, whatever the filters select. */
const spa_totals *spa_model_totals(const spa_model *m);

/* The sum over every stack of what the filters selected: the denominator of shares. */
const spa_data *spa_model_selected(const spa_model *m);

/* Whether the trace holds aggregated records (written by `aggregate` or `merge`), whose times
 * mean nothing: true after a METADATA "spprof.aggregated", an ALLOC_TOTAL, or a sample that
 * stands for several. */
int spa_model_is_aggregated(const spa_model *m);

/* Number of stack ids (reader ids run 1..n; id 0 is the empty stack). */
uint32_t spa_model_stack_count(const spa_model *m);

/* What the filters selected for the stack whose innermost node is exactly `stack` (0 = the empty
 * stack). Unknown ids read as zero. */
const spa_data *spa_model_stack_data(const spa_model *m, uint32_t stack);

/* Shorthand: every selected sample (the wall metric) of `stack`. */
spa_value spa_model_stack_value(const spa_model *m, uint32_t stack);

/* Number of thread ids (reader ids run 1..n). */
uint32_t spa_model_thread_count(const spa_model *m);

/* What was recorded for thread id `thread` (0 = not tied to a thread) inside the time window,
 * whether or not the thread filter selects it. Unknown ids read as zero. */
const spa_data *spa_model_thread_data(const spa_model *m, uint32_t thread);

/* Shorthand: every sample (the wall metric) of `thread` inside the time window. */
spa_value spa_model_thread_value(const spa_model *m, uint32_t thread);

/* Whether the thread filter selects thread id `thread`. While loading (from an on_event hook)
 * this is the answer so far: a thread renamed to the selected name counts from the rename on;
 * once loaded it is final. Thread 0 is selected only when there is no thread filter. */
int spa_model_thread_selected(const spa_model *m, uint32_t thread);

/* The name (a reader string id) thread id `thread` had when it was first defined; the reader's
 * thread table holds its latest name and spa_model_renames the renames in between. */
uint32_t spa_model_thread_first_name(const spa_model *m, uint32_t thread);

/* The per-(thread, stack) totals, in no particular order, when loaded with SPA_KEEP_THREADS;
 * otherwise none. The time window applies to them, the thread filter does not. */
const spa_entry *spa_model_entries(const spa_model *m, size_t *n);

/* Whether an event at time_ns falls inside the time window, decided as the model decides it for
 * samples and allocations (aggregated traces: always). From an on_event hook this is the answer
 * the model just gave for that event, so an exporter replaying events later (convert/) selects
 * exactly what the model counted. */
int spa_model_in_window(const spa_model *m, uint64_t time_ns);

/* The metric a trace is shown by when none is asked for: wall for a wall-clock trace, cpu for a
 * CPU-time trace, or alloc-bytes for a trace with allocations and no samples. */
spa_metric spa_model_default_metric(const spa_model *m);

/* Duration of the recording: the END record's duration when the trace ended cleanly, else the
 * time of the latest event (a lower bound). */
uint64_t spa_model_duration_ns(const spa_model *m);

/* The METADATA facts in file order; *n receives their number. */
const spa_metadata *spa_model_metadata(const spa_model *m, size_t *n);

/* MARKERs, THREAD_NAMEs (renames) and CHILD records in file order; *n receives their number. */
const spa_note *spa_model_markers(const spa_model *m, size_t *n);
const spa_note *spa_model_renames(const spa_model *m, size_t *n);
const spa_note *spa_model_children(const spa_model *m, size_t *n);

/* ---------------------------------------------------------------------------------------------
 * Live allocations: an address-keyed table, as `heap` and live-at-end totals need it. Memory
 * grows with the allocations live at one time (about 64 bytes each), not with all allocations.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    uint64_t address;
    uint64_t weight_bytes; /* estimated bytes the allocation stands for */
    double count;          /* estimated allocations it stands for */
    uint32_t stack;
    uint32_t thread;
} spa_live_entry;

typedef struct spa_live spa_live;

/* A new empty table, or NULL when out of memory. */
spa_live *spa_live_new(void);

/* Frees the table. Accepts NULL. */
void spa_live_free(spa_live *l);

/* Adds e. If its address was already live (its FREE was lost), the old entry is replaced and
 * copied to *replaced, and 1 is returned; 0 when the address was new; -1 when out of memory. */
int spa_live_insert(spa_live *l, const spa_live_entry *e, spa_live_entry *replaced);

/* Removes the entry at address into *removed. Returns 1, or 0 when the address is not live. */
int spa_live_remove(spa_live *l, uint64_t address, spa_live_entry *removed);

/* Number of live entries. */
size_t spa_live_count(const spa_live *l);

/* Calls fn for every live entry, in no particular order. */
void spa_live_each(const spa_live *l, void (*fn)(void *ctx, const spa_live_entry *e), void *ctx);

/* ---------------------------------------------------------------------------------------------
 * Grouping frames. Each frame id maps to one group; a group has one printable label.
 *
 *   function  the function name (C++ names demangled). Same-named functions from different source
 * files (or, without a file, different modules) are separate groups, labelled "name (file)" only
 * when a name is shared, so statics in two files do not merge but common names stay short. file the
 * source file; native frames without one group by "[module]". line      "name (file:line)"; frames
 * without a line fall back to the function grouping. module    native: the basename of the mapped
 * file ("libc.so.6"); Python: the source file.
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

/* The readable form of a C++ (Itanium ABI) linkage name of len bytes, malloc'ed (free it), or
 * NULL when name is not one (C and Python names) or cannot be demangled. Group labels, focus
 * and ignore patterns and the pprof export use it; traces keep the linkage names. */
char *spa_demangle(const char *name, size_t len);

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

/* The name part of group i's label (without any " (disambiguator)") and the disambiguator (the
 * source file or module that keeps same-named groups apart; may be empty). Together they are the
 * group's identity across traces, which `diff` matches on. Valid until spa_groups_free. */
const char *spa_groups_name(const spa_groups *g, uint32_t i, size_t *len);
const char *spa_groups_disambiguator(const spa_groups *g, uint32_t i, size_t *len);

/* ---------------------------------------------------------------------------------------------
 * Frame filters (--focus, --ignore): a POSIX extended regular expression, unanchored, matched
 * against a frame's function name, its source file and the path of its module. Callers ask once
 * per unique frame and remember the answer; nothing is matched per sample.
 * ------------------------------------------------------------------------------------------- */
typedef struct spa_regex spa_regex;

/* Compiles pattern (REG_EXTENDED | REG_NOSUB). Returns 0 and sets *out, or -1 with regerror's
 * message in err (NUL-terminated, at most err_size bytes). */
int spa_regex_compile(const char *pattern, spa_regex **out, char *err, size_t err_size);

/* Frees a compiled expression. Accepts NULL. */
void spa_regex_free(spa_regex *re);

/* The pattern it was compiled from. */
const char *spa_regex_pattern(const spa_regex *re);

/* Whether frame id `frame` of reader r matches (its function, file or module path). */
int spa_regex_frame_matches(const spa_regex *re, const spt_reader *r, uint32_t frame);

/* ---------------------------------------------------------------------------------------------
 * The view: the model's stack tree seen through a grouping and the --focus/--ignore filters. Each
 * view node is a path of groups from the root; stacks whose frames map to the same groups share a
 * node, frames matching `ignore` are spliced out (their samples go to the caller), and stacks
 * with no frame matching `focus` are left out. Built once per unique stack.
 * ------------------------------------------------------------------------------------------- */
typedef struct spa_view spa_view;

#define SPA_VIEW_EXCLUDED UINT32_MAX /* spa_view_node_of: the stack is left out by --focus */

/* Builds the view of model m under grouping g (from the same model). focus and ignore may be
 * NULL. Returns SPT_OK or SPT_E_NOMEM (then *out is NULL). */
spt_status spa_view_build(const spa_model *m, const spa_groups *g, const spa_regex *focus,
                          const spa_regex *ignore, spa_view **out);

/* Frees the view. Accepts NULL. */
void spa_view_free(spa_view *v);

/* The grouping the view was built with. */
const spa_groups *spa_view_groups(const spa_view *v);

/* Number of view nodes; nodes run 1..n, node 0 is the root (no frames left). A node's parent
 * always has a smaller number. */
uint32_t spa_view_count(const spa_view *v);

/* The node of reader stack id `stack` (0 for the empty stack or a stack whose frames are all
 * ignored), or SPA_VIEW_EXCLUDED when --focus leaves it out or the id is unknown. */
uint32_t spa_view_node_of(const spa_view *v, uint32_t stack);

/* A node's parent node (0 for outermost nodes and the root) and group index (UINT32_MAX for the
 * root). */
uint32_t spa_view_parent(const spa_view *v, uint32_t node);
uint32_t spa_view_group(const spa_view *v, uint32_t node);

/* Fills self[0..spa_view_count] (which the caller allocates) with the model's per-stack values of
 * `metric`, summed per view node. */
void spa_view_values(const spa_view *v, const spa_model *m, spa_metric metric, spa_value *self);

/* ---------------------------------------------------------------------------------------------
 * Flat profile: self and total per group.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const char *label; /* the group's label, or "[no stack]" for the root's own samples */
    size_t label_len;
    uint32_t group;  /* group index; UINT32_MAX for "[no stack]" */
    spa_value self;  /* samples whose innermost (shown) frame is in this group */
    spa_value total; /* samples with a frame of this group anywhere in the stack, counted once
                        per sample however often the group recurs */
} spa_flat_row;

typedef struct {
    spa_flat_row *rows; /* groups with any self or total samples, in group order */
    size_t n_rows;
    spa_value all; /* every selected sample: the denominator of shares */
} spa_flat;

typedef enum { SPA_SORT_SELF = 0, SPA_SORT_TOTAL = 1 } spa_sort;

/* Computes the flat profile from per-node values self[0..spa_view_count(v)] (spa_view_values).
 * Work is proportional to the view's nodes, not to the samples. Labels point into the view's
 * groups, so free the flat profile before them. Returns SPT_OK or SPT_E_NOMEM (then *out is
 * empty). */
spt_status spa_flat_build(const spa_view *v, const spa_value *self, spa_flat *out);

/* Sorts rows by self (or total) weight, descending; ties by the other weight, then by count,
 * then by label bytes, so output is deterministic. */
void spa_flat_sort(spa_flat *flat, spa_sort by);

/* Frees the rows. Accepts a zeroed spa_flat. */
void spa_flat_free(spa_flat *flat);

/* ---------------------------------------------------------------------------------------------
 * Call trees: top-down (callers above callees) or inverted (bottom-up: innermost frames at the
 * top, their callers below).
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    uint32_t parent;      /* node index; 0 for the root's children and the root itself */
    uint32_t group;       /* group index; UINT32_MAX for the root */
    uint32_t depth;       /* 0 for the root */
    uint32_t first_child; /* children are spa_tree.children[first_child .. + n_children) */
    uint32_t n_children;
    spa_value self;  /* top-down: samples whose innermost frame is this node; inverted: samples
                        whose outermost frame is this node (the caller chain ends here) */
    spa_value total; /* samples at this node or below it */
} spa_tree_node;

typedef struct {
    spa_tree_node *nodes; /* node 0 is the root */
    uint32_t n_nodes;
    uint32_t *children; /* node indexes, each node's children sorted by total, heaviest first */
    spa_value all;      /* the root's total: every selected sample */
} spa_tree;

/* Builds the top-down tree, or the inverted one, from per-node values self[0..spa_view_count(v)].
 * Ties between children are broken by label. Returns SPT_OK or SPT_E_NOMEM (*out is empty). */
spt_status spa_tree_build(const spa_view *v, const spa_value *self, int inverted, spa_tree *out);

/* Frees the tree. Accepts a zeroed spa_tree. */
void spa_tree_free(spa_tree *t);

/* ---------------------------------------------------------------------------------------------
 * Statistics for diffs. A share is k of n draws (samples, or allocation sample points); the
 * interval of a change in share is Newcombe's hybrid score interval (method 10 of Newcombe,
 * Statistics in Medicine 17:873-890, 1998), built from one Wilson score interval per trace. For
 * absolute changes, counts are taken as Poisson: the change d = k2 - k1 has variance k1 + k2.
 * ------------------------------------------------------------------------------------------- */
#define SPA_Z95 1.959963984540054 /* the two-sided 95% normal quantile */

/* The Wilson score interval of a proportion k/n at normal quantile z into *lo, *hi (0..1). For
 * n = 0 the interval is [0, 1]. */
void spa_wilson(double k, double n, double z, double *lo, double *hi);

/* The interval of p2 - p1, where p1 = k1/n1 (before) and p2 = k2/n2 (after), at quantile z, as
 * fractions (-1..1). */
void spa_diff_interval(double k1, double n1, double k2, double n2, double z, double *lo,
                       double *hi);

/* The interval of k2 - k1 for Poisson counts, at quantile z. */
void spa_poisson_diff_interval(double k1, double k2, double z, double *lo, double *hi);

/* ---------------------------------------------------------------------------------------------
 * Diffs: two flat profiles matched group by group on the groups' identity (name and
 * disambiguator, see spa_groups_name), not on their labels, which depend on each trace's names.
 * A group found in only one trace then matches a same-named group found only in the other when
 * each is the only such one: a frame without a source file is told apart by its module, whose
 * name often changes between builds, and functions move between files.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const char *name; /* the group's name (from whichever trace has it) */
    size_t name_len;
    const char *dis; /* its disambiguator, printed only when shared_name is set */
    size_t dis_len;
    int shared_name;   /* another row has the same name */
    spa_value self[2]; /* [0] before, [1] after */
    spa_value total[2];
} spa_diff_row;

typedef struct {
    spa_diff_row *rows; /* the union of both profiles' rows, sorted by name then disambiguator */
    size_t n_rows;
    spa_value all[2]; /* each profile's denominator */
} spa_diff;

/* Matches before (grouped by gb) with after (grouped by ga). Names point into the groups, which
 * must outlive the diff. Returns SPT_OK or SPT_E_NOMEM (then *out is empty). */
spt_status spa_diff_build(const spa_flat *before, const spa_groups *gb, const spa_flat *after,
                          const spa_groups *ga, spa_diff *out);

/* Frees the rows. Accepts a zeroed spa_diff. */
void spa_diff_free(spa_diff *d);

/* One change, before -> after. Share mode: before and after are percentages of each trace's
 * total, change and [lo, hi] (its 95% interval, Newcombe) in percentage points, where each trace
 * is n draws and the value stands for share x n of them. Absolute mode: weights and their
 * difference, the interval from Poisson counts (a weight w drawn in units of u = all / n has
 * variance u x w). noise: the interval contains 0, so sampling alone can explain the change. */
typedef struct {
    double before, after, change, lo, hi;
    int noise;
} spa_change;

void spa_diff_change(spa_value before, spa_value after, spa_value all_before, spa_value all_after,
                     double n_before, double n_after, int absolute, spa_change *out);

/* ---------------------------------------------------------------------------------------------
 * Writing aggregated traces (`aggregate`, `merge`): a model's per-(thread, stack) totals as
 * SAMPLE_TOTAL and ALLOC_TOTAL records, with the definitions, threads, renames, markers,
 * metadata, children and drops they need.
 * ------------------------------------------------------------------------------------------- */

/* Appends model m (loaded with SPA_KEEP_THREADS, and SPA_KEEP_LIVE for live totals) to writer w
 * as aggregated records. Only what the thread filter selects is written; stacks that focus
 * excludes are left out and frames that ignore matches are spliced out (either may be NULL).
 * Every time is shifted by offset_ns (merge aligns traces by their start); aggregated records
 * are stamped with the model's last event time. *out (if not NULL) receives what was written.
 * Returns SPT_OK, SPT_E_NOMEM, or an error of the writer's (spt_writer_error says why). */
typedef struct {
    uint64_t records;  /* SAMPLE_TOTAL and ALLOC_TOTAL records */
    spa_value samples; /* the samples they stand for */
    uint64_t allocs;   /* the estimated allocations they stand for */
} spa_export_stats;

spt_status spa_export(const spa_model *m, spt_writer *w, uint64_t offset_ns, const spa_regex *focus,
                      const spa_regex *ignore, spa_export_stats *out);

#ifdef __cplusplus
}
#endif
/* Length of the valid UTF-8 sequence at s (at most left bytes; 1-4), or 0 if it is not one.
 * Rejects overlong forms and surrogates. Names in a trace are any bytes; the analyser's text and
 * JSON output and every export format use this one test to decide what passes as text. */
size_t spa_utf8_len(const unsigned char *s, size_t left);

#endif /* SPPROF_ANALYZE_MODEL_H */
