/* convert.h: the public API of convert/. Exports one trace, as the analyser's model sees it through
 * its filters (--thread, --from/--to, --focus, --ignore, --metric, --by), to the formats other
 * viewers read: speedscope JSON, folded stacks, gzip-compressed pprof profile.proto, a
 * self-contained interactive SVG flame graph (also a differential one of two traces), and an SVG
 * chart of the live heap over time. docs/USAGE.md ("Exporting") documents each format, what it
 * holds and how awkward names are escaped in it.
 *
 * Memory grows with unique stacks, frames and threads, never with samples: exports that keep time
 * order (speedscope) or replay allocations (heap-svg) spill the events they need to an unlinked
 * temporary file while the trace streams, and read them back once. Nothing here is thread-safe;
 * use one conversion per thread.
 */
#ifndef SPPROF_CONVERT_H
#define SPPROF_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Formats and options.
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    SPC_SPEEDSCOPE = 0, /* speedscope's JSON file format, one sampled profile per thread */
    SPC_COLLAPSED = 1,  /* folded stacks, "root;child;leaf COUNT" per line */
    SPC_PPROF = 2,      /* gzip-compressed profile.proto, as `go tool pprof` reads it */
    SPC_SVG = 3,        /* an interactive flame graph (differential with two inputs) */
    SPC_HEAP_SVG = 4    /* a chart of the estimated live heap over time */
} spc_format;

/* Parses "speedscope", "collapsed" (or "folded"), "pprof", "svg" (or "flamegraph") or
 * "heap-svg". Returns 0, or -1 for anything else. */
int spc_format_parse(const char *text, spc_format *out);

/* The canonical name of a format, as spc_format_parse accepts it. Never NULL. */
const char *spc_format_name(spc_format format);

/* What the frames of an SVG flame graph are coloured by. */
typedef enum {
    SPC_COLOR_KIND = 0,  /* Python frames green, native frames warm, placeholders grey */
    SPC_COLOR_MODULE = 1 /* one hue per module (native: the mapped file; Python: the source) */
} spc_color_by;

/* Parses "kind" or "module". Returns 0, or -1. */
int spc_color_by_parse(const char *text, spc_color_by *out);

typedef struct {
    spc_format format;
    spa_group_by by;         /* frame grouping for speedscope, collapsed and svg (not pprof) */
    const spa_regex *focus;  /* keep stacks through a matching frame; NULL = all */
    const spa_regex *ignore; /* splice matching frames out; NULL = none */
    int metric_set;          /* metric was asked for; otherwise the trace decides */
    spa_metric metric;
    int per_thread;          /* collapsed: the thread ("name/tid") as the root frame */
    spc_color_by color_by;   /* svg */
    const char *title;       /* svg and heap-svg: the title; NULL = a default */
    const char *name;        /* how the input is named in titles; NULL = its path */
    const char *name_before; /* svg diff: how BEFORE is named; NULL = its path */
} spc_options;

/* Options with every field at its default: speedscope, grouped by function, no filters. */
spc_options spc_options_default(void);

/* ---------------------------------------------------------------------------------------------
 * Converting.
 * ------------------------------------------------------------------------------------------- */

/* Loads the trace at path through spa_model_load with model options mo (filters, warnings; may
 * be NULL; convert adds the keep bits and the event hook it needs, and calls mo's own hook
 * first) and writes it to out in o->format. Returns SPT_OK, a reader error (SPT_E_IO,
 * SPT_E_BAD_MAGIC, ...), SPT_E_NOMEM, or SPT_E_USAGE when the trace cannot be shown that way
 * (say, heap-svg of an aggregated trace); err (err_size bytes) then holds one line naming the
 * file. Errors writing to out are not detected here: check ferror(out) (spc_output does). */
spt_status spc_convert(const char *path, const spa_model_options *mo, const spc_options *o,
                       FILE *out, char *err, size_t err_size);

/* Writes a differential flame graph (o->format must be SPC_SVG): AFTER's flame graph coloured by
 * how each frame's share of its trace's total changed from BEFORE (grown red, shrunk blue). The
 * same filters apply to both traces. Returns and fails as spc_convert. */
spt_status spc_convert_diff(const char *before, const char *after, const spa_model_options *mo,
                            const spc_options *o, FILE *out, char *err, size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Output files: written to "OUT.tmp-XXXXXX" beside OUT and renamed over it only once complete,
 * so OUT is never left half-written, and replaced only when asked to. Devices and pipes (say,
 * /dev/stdout or /dev/full) are written in place; "-" is standard output.
 * ------------------------------------------------------------------------------------------- */
typedef struct spc_output spc_output;

/* Opens OUT for writing. Fails (-1, err holds one line naming OUT) when OUT is an existing regular
 * file and force is 0, when it is a directory, or when the temporary file cannot be created; on
 * success *out is the handle and 0 is returned. Until commit or abort, a SIGINT, SIGTERM or
 * SIGHUP removes the temporary file before the program dies. */
int spc_output_open(const char *path, int force, spc_output **out, char *err, size_t err_size);

/* The stream to write to. Valid until commit or abort. */
FILE *spc_output_file(spc_output *o);

/* Whether the output goes to a terminal (callers refuse to write binary data there). */
int spc_output_is_terminal(const spc_output *o);

/* Flushes and closes the stream, then renames the temporary file to OUT (without force, failing
 * if OUT appeared meanwhile). On any write or rename error the temporary file is removed, err
 * says why in one line naming OUT, and -1 is returned; 0 on success. Frees o either way. */
int spc_output_commit(spc_output *o, char *err, size_t err_size);

/* Closes the stream, removes the temporary file and frees o. Accepts NULL. */
void spc_output_abort(spc_output *o);

#ifdef __cplusplus
}
#endif
#endif /* SPPROF_CONVERT_H */
