/* cli.h: internal to spprof-analyze and spprof-diff. The options every command parses the same way,
 * the commands themselves, the profile every command builds (model, grouping, view, values), and
 * output helpers (human units, colour, JSON/CSV quoting) shared between them. */
#ifndef SPPROF_ANALYZE_CLI_H
#define SPPROF_ANALYZE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze/model.h"

/* Exit statuses (issue 4). */
#define SPA_EXIT_OK    0
#define SPA_EXIT_GATE  1 /* spprof-diff: a --fail-if-* gate tripped */
#define SPA_EXIT_USAGE 2 /* bad usage, or a file that cannot be read or written */

/* The program name errors start with: "spprof-analyze" or "spprof-diff" (set by each main). */
extern const char spa_prog[];

typedef enum { SPA_FORMAT_TEXT = 0, SPA_FORMAT_JSON = 1, SPA_FORMAT_CSV = 2 } spa_format;

/* Options a command accepts, as bits; opts.c parses them all in one place. */
#define SPA_OPT_FORMAT      0x0001u /* --format, --json, --csv */
#define SPA_OPT_NO_COLOR    0x0002u
#define SPA_OPT_BY          0x0004u
#define SPA_OPT_SORT        0x0008u
#define SPA_OPT_LIMIT       0x0010u
#define SPA_OPT_THREAD      0x0020u
#define SPA_OPT_WINDOW      0x0040u /* --from, --to */
#define SPA_OPT_FOCUS       0x0080u
#define SPA_OPT_IGNORE      0x0100u
#define SPA_OPT_METRIC      0x0200u
#define SPA_OPT_MIN_PERCENT 0x0400u
#define SPA_OPT_INVERTED    0x0800u
#define SPA_OPT_AT          0x1000u
#define SPA_OPT_OUTPUT      0x2000u /* -o, --output */
#define SPA_OPT_ABSOLUTE    0x4000u
#define SPA_OPT_GATES       0x8000u /* --fail-if-slower, --fail-if-more-alloc */
/* The exports (convert/cmd.c): spprof-convert and spprof-analyze's flamegraph and collapsed. */
#define SPA_OPT_EXPORT_FORMAT 0x10000u  /* -f, --format FMT: speedscope, collapsed, pprof, ... */
#define SPA_OPT_EXPORT_OUTPUT 0x20000u  /* -o OUT ('-' = standard output), --force */
#define SPA_OPT_PER_THREAD    0x40000u  /* --per-thread */
#define SPA_OPT_SVG           0x80000u  /* --color-by, --title */
#define SPA_OPT_DIFF          0x100000u /* --diff: BEFORE and AFTER */

/* The filters every analysis command takes. */
#define SPA_OPT_FILTERS (SPA_OPT_THREAD | SPA_OPT_WINDOW | SPA_OPT_FOCUS | SPA_OPT_IGNORE)

#define SPA_MAX_FILES 256

/* The parsed command line of one command. */
typedef struct {
    const char *command; /* "info", "top", ... */
    const char *files[SPA_MAX_FILES];
    size_t n_files;
    const char *file;   /* files[0] */
    const char *output; /* -o */
    spa_format format;
    int color; /* resolved: text output to a terminal, no --no-color, no NO_COLOR */
    spa_group_by by;
    spa_sort sort;
    uint64_t limit; /* rows to print; 0 = all */
    const char *thread;
    uint64_t from_ns, to_ns; /* to_ns 0 = no end */
    int has_window;
    spa_regex *focus, *ignore;
    spa_metric metric;
    int metric_set; /* --metric given; otherwise the trace decides (spa_prof_open) */
    double min_percent;
    int inverted;
    uint64_t at_ns;
    int has_at;
    int absolute;
    double fail_slower, fail_alloc; /* percentage points; < 0 = no gate */
    /* The exports. Values are kept as given; convert/cmd.c checks them against the format. */
    const char *export_format; /* -f; NULL = the command's default */
    int force;                 /* --force: replace an existing OUT */
    int per_thread;            /* --per-thread */
    const char *color_by;      /* --color-by: "kind" or "module"; NULL = kind */
    const char *title;         /* --title */
    int diff;                  /* --diff */
} spa_cli;

/* One command: its name, help and options, how many files it takes and what runs it. */
typedef struct {
    const char *name;
    const char *summary; /* one line for the command list */
    const char *usage;   /* after the program and command name: "[options] FILE" */
    const char *help;    /* the paragraphs `<command> --help` ends with */
    unsigned options;    /* SPA_OPT_* */
    size_t min_files, max_files;
    int (*run)(const spa_cli *cli);
} spa_command;

/* Parses argv[0..argc) (the arguments after the command name) for command c into cli. Returns -1
 * after printing help (exit 0), 0 to run, or 1 after printing a usage error (exit 2). */
int spa_cli_parse(const spa_command *c, int argc, char **argv, spa_cli *cli);

/* Frees what spa_cli_parse allocated (the compiled patterns). */
void spa_cli_free(spa_cli *cli);

/* Prints "usage: ..." and the options of command c. */
void spa_cli_print_help(FILE *f, const spa_command *c);

/* Whether paths a and b name the same existing file (same device and inode, so a link or another
 * spelling of the path counts), for refusing an -o that would overwrite an input. 0 when either
 * cannot be stat()ed, as for an OUT that does not exist yet. In opts.c. */
int spa_same_file(const char *a, const char *b);

/* When the trace at file holds little of its process's work, says where the rest is, as one line
 * on stderr: for a trace that ended in exec, the trace of the program the process finally became
 * (the exec chain OUT.<pid>.1, .2, ... followed through the headers); for a trace with no samples
 * and no allocations whose process started children, the first child's trace. Traces moved to
 * another directory are looked for next to file. Prints nothing otherwise. In family.c. */
void spa_cli_note_elsewhere(const spa_model *m, const char *file);

/* The commands. Each returns the exit status, having printed any error line itself. */
int spa_cmd_info(const spa_cli *cli);
int spa_cmd_top(const spa_cli *cli);
int spa_cmd_tree(const spa_cli *cli);
int spa_cmd_threads(const spa_cli *cli);
int spa_cmd_heap(const spa_cli *cli);
int spa_cmd_leaks(const spa_cli *cli);
int spa_cmd_aggregate(const spa_cli *cli);
int spa_cmd_merge(const spa_cli *cli);
int spa_cmd_diff(const spa_cli *cli);

/* Prints "<prog>: <message>" as one line on stderr (newlines in the message become spaces, so
 * the error is always exactly one line). */
__attribute__((format(printf, 1, 2))) void spa_cli_error(const char *fmt, ...);

/* Model options for file with the cli's thread filter and time window, `keep` bits and reader
 * warnings printed as they come. */
spa_model_options spa_cli_model_options(const spa_cli *cli, unsigned keep);

/* Loads file with spa_cli_model_options(cli, keep). On failure prints the one error line and
 * returns NULL. Warns (once) when a time window meets an aggregated trace. */
spa_model *spa_cli_load(const spa_cli *cli, const char *file, unsigned keep);

/* The same with model options of the caller's (say, with an on_event hook). */
spa_model *spa_cli_load_opts(const spa_cli *cli, const char *file, const spa_model_options *mo);

/* ---------------------------------------------------------------------------------------------
 * Writing traces (aggregate, merge; in cmd_aggregate.c).
 * ------------------------------------------------------------------------------------------- */

/* Opens OUT for writing with header h and writes the METADATA that marks it aggregated. Returns
 * the writer, or NULL after printing the one error line naming OUT. */
spt_writer *spa_out_open(const char *path, const spt_header *h);

/* Finishes OUT (with an END record when end is not NULL) and frees the writer; *bytes receives the
 * file's size. Returns 0, or -1 after printing the one error line naming OUT. */
int spa_out_finish(spt_writer *w, const char *path, const spt_end *end, uint64_t *bytes);

/* Reports what was written: samples, allocations, the records holding them, and sizes in and out
 * with the ratio, as text (sizes on their own "size" line) or JSON/CSV fields. */
void spa_out_report(const spa_cli *cli, size_t n_inputs, const spa_value *samples, uint64_t allocs,
                    uint64_t records, uint64_t in_bytes, uint64_t out_bytes);

/* ---------------------------------------------------------------------------------------------
 * The profile most commands work on: a model, its grouping, the view and per-node values.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    spa_model *m;
    spa_groups *g;
    spa_view *v;
    spa_value *self; /* [view node] */
    spa_metric metric;
} spa_prof;

/* The metric for model m: --metric if given; otherwise wall for a wall-clock trace, cpu for a
 * CPU-time trace, or alloc-bytes for a trace with allocations and no samples. */
spa_metric spa_cli_metric(const spa_cli *cli, const spa_model *m);

/* Loads file and builds the grouping, the view and the metric's values. Returns 0, or -1 after
 * printing the one error line (everything is freed then). */
int spa_prof_open(const spa_cli *cli, const char *file, unsigned keep, spa_prof *p);

/* The same with model options of the caller's (from spa_cli_model_options, plus a hook). */
int spa_prof_open_opts(const spa_cli *cli, const char *file, const spa_model_options *mo,
                       spa_prof *p);

/* Frees a profile. Accepts a zeroed one. */
void spa_prof_close(spa_prof *p);

/* Whether the metric is a time (cpu, wall). */
int spa_metric_is_time(spa_metric metric);

/* A metric's weight in human units: time ("1.05 s", weight x interval), bytes ("1.5 KiB") or a
 * count ("1,024"). A time without a known interval is a sample count. */
void spa_fmt_weight(char *buf, size_t size, const spt_header *h, spa_metric metric,
                    uint64_t weight);

/* "100 samples standing for 105 intervals (1.05 s of CPU time)", "12.0 MiB in 1,024 allocations
 * (estimated)", ...: what `all` holds under the metric, for headings. */
void spa_fmt_all(char *buf, size_t size, const spt_header *h, spa_metric metric, spa_value all);

/* Prints one text line describing the active filters ("filtered: thread worker, ..."), or nothing
 * when there are none. */
void spa_print_filters(const spa_cli *cli);

/* ---------------------------------------------------------------------------------------------
 * Output helpers.
 * ------------------------------------------------------------------------------------------- */

/* Human units into buf: "850 ns", "12.3 us", "45.6 ms", "7.89 s", "12m 05s", "3h 07m". */
void spa_fmt_duration(char *buf, size_t size, uint64_t ns);

/* "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB". */
void spa_fmt_bytes(char *buf, size_t size, uint64_t bytes);

/* A count with thousands separators: "10,000,000". */
void spa_fmt_count(char *buf, size_t size, uint64_t n);

/* Parses a time like "1.5s", "250ms", "40us", "100ns", "2m", "1h" or a bare number of seconds
 * into nanoseconds. Returns 0, or -1 for anything else (negative, no digits, unknown unit). */
int spa_parse_duration(const char *text, uint64_t *ns);

/* Writes len bytes for a terminal: control characters and invalid UTF-8 become '?'. */
void spa_put_text(FILE *f, const char *s, size_t len);

/* Writes len bytes as a JSON string with its quotes; invalid UTF-8 becomes U+FFFD. */
void spa_put_json_string(FILE *f, const char *s, size_t len);

/* Writes len bytes as one CSV field (RFC 4180 quoting when needed). */
void spa_put_csv_field(FILE *f, const char *s, size_t len);

/* a x b, saturating at UINT64_MAX: weight x interval from a hostile header must not wrap. */
uint64_t spa_mul_sat(uint64_t a, uint64_t b);

/* 100 * part / whole, or 0 when whole is 0. */
double spa_percent(uint64_t part, uint64_t whole);

/* The machine name of a sampling clock: "cpu-thread", "cpu-process" or "wall". */
const char *spa_clock_key(spt_clock clock);

/* ANSI colour codes, or "" when colour is off. */
const char *spa_color(int on, const char *code);
#define SPA_BOLD  "\033[1m"
#define SPA_RED   "\033[31m"
#define SPA_GREEN "\033[32m"
#define SPA_DIM   "\033[2m"
#define SPA_RESET "\033[0m"

/* perf report's thresholds: red from 5%, green from 0.5% (or nothing when colour is off). */
const char *spa_pct_color(int on, double percent);

/* A structured writer for records of named fields, emitted as indented JSON or as CSV
 * "key,value" rows whose keys are dotted paths ("header.pid"). Arrays take their index as key. */
typedef struct {
    FILE *f;
    spa_format format;
    int depth;
    int first[16];      /* per level: nothing emitted yet (JSON commas) */
    int is_array[16];   /* per level */
    uint32_t index[16]; /* per level: next array index (CSV keys) */
    char path[512];     /* CSV: dotted key prefix */
    size_t path_len[16];
} spa_emit;

/* Starts a document on f: "{" for JSON, the "key,value" header row for CSV. */
void spa_emit_begin(spa_emit *e, FILE *f, spa_format format);

/* Ends the document ("}" for JSON). */
void spa_emit_end(spa_emit *e);

/* Opens a nested object or array under key (ignored inside arrays); close with spa_emit_close. */
void spa_emit_object(spa_emit *e, const char *key);
void spa_emit_array(spa_emit *e, const char *key);
void spa_emit_close(spa_emit *e);

/* One field each: numbers (doubles with 3 decimals), booleans, null and strings (any bytes). */
void spa_emit_u64(spa_emit *e, const char *key, uint64_t v);
void spa_emit_i64(spa_emit *e, const char *key, int64_t v);
void spa_emit_double(spa_emit *e, const char *key, double v);
void spa_emit_bool(spa_emit *e, const char *key, int v);
void spa_emit_null(spa_emit *e, const char *key);
void spa_emit_str(spa_emit *e, const char *key, const char *s, size_t len);
void spa_emit_cstr(spa_emit *e, const char *key, const char *s);

/* Emits the active filters as a "filters" object (every key, null when unset), and "metric". */
void spa_emit_filters(spa_emit *e, const spa_cli *cli, spa_metric metric);

#endif /* SPPROF_ANALYZE_CLI_H */
