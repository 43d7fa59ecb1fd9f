/* cli.h: internal to spprof-analyze. The options every command parses the same way, the commands
 * themselves, and output helpers (human units, colour, JSON/CSV quoting) shared between them. */
#ifndef SPPROF_ANALYZE_CLI_H
#define SPPROF_ANALYZE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze/model.h"

/* Exit statuses (issue 4): 1 is kept for a diff gate that trips. */
#define SPA_EXIT_OK    0
#define SPA_EXIT_USAGE 2

typedef enum { SPA_FORMAT_TEXT = 0, SPA_FORMAT_JSON = 1, SPA_FORMAT_CSV = 2 } spa_format;

/* Options a command accepts, as bits; main.c parses them all in one place. */
#define SPA_OPT_FORMAT   0x01u
#define SPA_OPT_NO_COLOR 0x02u
#define SPA_OPT_BY       0x04u
#define SPA_OPT_SORT     0x08u
#define SPA_OPT_LIMIT    0x10u

/* The parsed command line of one command. */
typedef struct {
    const char *command; /* "info", "top" */
    const char *file;    /* the trace */
    spa_format format;
    int color; /* resolved: text output to a terminal, no --no-color, no NO_COLOR */
    spa_group_by by;
    spa_sort sort;
    uint64_t limit; /* rows to print; 0 = all */
} spa_cli;

/* The commands. Each returns the exit status, having printed any error line itself. */
int spa_cmd_info(const spa_cli *cli);
int spa_cmd_top(const spa_cli *cli);

/* Prints "spprof-analyze: <message>" as one line on stderr (newlines in the message become
 * spaces, so the error is always exactly one line). */
__attribute__((format(printf, 1, 2))) void spa_cli_error(const char *fmt, ...);

/* Loads the model of cli->file, printing reader warnings as they come. On failure prints the one
 * error line and returns NULL. */
spa_model *spa_cli_load(const spa_cli *cli);

/* Human units into buf: "850 ns", "12.3 us", "45.6 ms", "7.89 s", "12m 05s", "3h 07m". */
void spa_fmt_duration(char *buf, size_t size, uint64_t ns);

/* "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB". */
void spa_fmt_bytes(char *buf, size_t size, uint64_t bytes);

/* A count with thousands separators: "10,000,000". */
void spa_fmt_count(char *buf, size_t size, uint64_t n);

/* Writes len bytes for a terminal: control characters and invalid UTF-8 become '?'. */
void spa_put_text(FILE *f, const char *s, size_t len);

/* Writes len bytes as a JSON string with its quotes; invalid UTF-8 becomes U+FFFD. */
void spa_put_json_string(FILE *f, const char *s, size_t len);

/* Writes len bytes as one CSV field (RFC 4180 quoting when needed). */
void spa_put_csv_field(FILE *f, const char *s, size_t len);

/* a x b, saturating at UINT64_MAX: weight x interval from a hostile header must not wrap. */
uint64_t spa_mul_sat(uint64_t a, uint64_t b);

/* The machine name of a sampling clock: "cpu-thread", "cpu-process" or "wall". */
const char *spa_clock_key(spt_clock clock);

/* ANSI colour codes, or "" when colour is off. */
const char *spa_color(int on, const char *code);
#define SPA_BOLD  "\033[1m"
#define SPA_RED   "\033[31m"
#define SPA_GREEN "\033[32m"
#define SPA_DIM   "\033[2m"
#define SPA_RESET "\033[0m"

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

void spa_emit_begin(spa_emit *e, FILE *f, spa_format format);
void spa_emit_end(spa_emit *e);
void spa_emit_object(spa_emit *e, const char *key);
void spa_emit_array(spa_emit *e, const char *key);
void spa_emit_close(spa_emit *e);
void spa_emit_u64(spa_emit *e, const char *key, uint64_t v);
void spa_emit_i64(spa_emit *e, const char *key, int64_t v);
void spa_emit_double(spa_emit *e, const char *key, double v);
void spa_emit_bool(spa_emit *e, const char *key, int v);
void spa_emit_null(spa_emit *e, const char *key);
void spa_emit_str(spa_emit *e, const char *key, const char *s, size_t len);
void spa_emit_cstr(spa_emit *e, const char *key, const char *s);

#endif /* SPPROF_ANALYZE_CLI_H */
