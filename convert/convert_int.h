/* convert_int.h: internal to convert/. The job every format works on (a model loaded with the
 * filters, its grouping and view, per-group facts) and the helpers the formats share: a growable
 * buffer, text escaping per format, the event spill, value formatting. */
#ifndef SPPROF_CONVERT_INT_H
#define SPPROF_CONVERT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "convert/convert.h"

/* ---------------------------------------------------------------------------------------------
 * A growable byte buffer (buf.c). Once an allocation fails, `failed` stays set and further adds
 * do nothing, so callers check once at the end.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    unsigned char *p;
    size_t len;
    size_t cap;
    int failed;
} spc_buf;

void spc_buf_add(spc_buf *b, const void *bytes, size_t len);
void spc_buf_byte(spc_buf *b, unsigned char c);
void spc_buf_str(spc_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void spc_buf_fmt(spc_buf *b, const char *fmt, ...);
void spc_buf_varint(spc_buf *b, uint64_t v); /* unsigned LEB128, as protobuf and the spill use */
void spc_buf_free(spc_buf *b);

/* a x b, saturating at UINT64_MAX (weight x interval from a hostile header must not wrap). */
uint64_t spc_mul_sat(uint64_t a, uint64_t b);

/* ---------------------------------------------------------------------------------------------
 * Text (text_esc.c, json_out.c). Names in a trace are any bytes. Every format reads them as
 * UTF-8: an invalid byte becomes U+FFFD, one byte at a time, in every format alike. What else a
 * format cannot hold is mapped as docs/USAGE.md documents; spa_utf8_len (analyze/model.h) says what
 * is text.
 * ------------------------------------------------------------------------------------------- */

/* The code point at s[*i] (len bytes in all), advancing *i past it; an invalid byte reads as
 * U+FFFD and advances by one. */
uint32_t spc_next_char(const char *s, size_t len, size_t *i);

/* Appends code point cp as UTF-8. */
void spc_buf_utf8(spc_buf *b, uint32_t cp);

/* The visible stand-in for a control character: C0 controls become the Control Pictures
 * U+2400..U+241F and DEL U+2421; anything else is returned unchanged. */
uint32_t spc_visible_char(uint32_t cp);

/* Appends s as valid UTF-8 (invalid bytes as U+FFFD), otherwise byte for byte (pprof). */
void spc_esc_utf8(spc_buf *b, const char *s, size_t len);

/* Appends s as one folded-stack frame: ';' becomes ':', control characters their Control
 * Pictures, invalid bytes U+FFFD. */
void spc_esc_folded(spc_buf *b, const char *s, size_t len);

/* Writes s as XML character data or attribute text: & < > " ' as entities, control characters
 * as Control Pictures, invalid bytes and U+FFFE/U+FFFF (not XML characters) as U+FFFD. At most
 * max_chars characters are written (SIZE_MAX for all). */
void spc_put_xml(FILE *f, const char *s, size_t len, size_t max_chars);

/* Number of characters (code points, an invalid byte counting one) in s. */
size_t spc_char_count(const char *s, size_t len);

/* Writes v in decimal into buf (at least 20 bytes, no NUL) and returns the length: much faster
 * than printf for the millions of numbers in a speedscope file. */
size_t spc_fmt_u64(char *buf, uint64_t v);

/* Writes s as a JSON string with its quotes: '"' and '\' escaped, control characters, DEL,
 * U+2028 and U+2029 as \uXXXX, invalid bytes as \ufffd; everything else as UTF-8. */
void spc_put_json(FILE *f, const char *s, size_t len);

/* A metric's weight in human units: "1.23 s" (weight x interval_ns; a sample count when the
 * interval is unknown), "1.5 MiB" or "1,024". */
void spc_fmt_value(char *buf, size_t size, spa_metric metric, uint64_t weight,
                   uint64_t interval_ns);

/* What a metric's weight counts, for headings: "CPU time", "wall-clock time", "bytes
 * allocated", "allocations", "bytes live at the end". */
const char *spc_metric_title(spa_metric metric);

/* ---------------------------------------------------------------------------------------------
 * The spill (spill.c): numbered append-only byte streams kept in one unlinked temporary file
 * ($TMPDIR, else /tmp) in blocks of up to 4 KiB, so that a stream can be read back in order
 * without holding it in memory. Memory per stream is its unwritten block (at most 4 KiB) and one
 * offset per written block.
 * ------------------------------------------------------------------------------------------- */
typedef struct spc_spill spc_spill;

spc_spill *spc_spill_new(void);
void spc_spill_free(spc_spill *s);

/* Appends len bytes to stream. Returns 0, or -1 (out of memory or the file failed; see
 * spc_spill_error), after which the spill stays failed. */
int spc_spill_put(spc_spill *s, uint32_t stream, const void *bytes, size_t len);

/* Why the spill failed: "temporary file: <strerror>" or "out of memory". */
const char *spc_spill_error(const spc_spill *s);

/* Reads one stream back from its start. */
typedef struct {
    spc_spill *s;
    uint32_t stream;
    size_t block;        /* next block to load */
    unsigned char *data; /* the loaded block */
    size_t len, pos;
    unsigned char io[4096];
    int failed;
} spc_spill_reader;

void spc_spill_read_begin(spc_spill_reader *rd, spc_spill *s, uint32_t stream);

/* Reads one varint (1), or says the stream has ended (0) or failed (-1: a read error, or a
 * varint cut off). */
int spc_spill_read_varint(spc_spill_reader *rd, uint64_t *v);

/* ---------------------------------------------------------------------------------------------
 * Interning byte strings (intern.c): a key's index (0, 1, 2, ... in the order keys were first
 * put) by content, for pprof's string table, functions and locations.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    spc_buf keys;    /* the keys' bytes, one after another */
    size_t *off;     /* [index] offset in keys; [n] = end */
    uint64_t *hash;  /* [index] */
    uint32_t n, cap; /* keys, and room in off/hash */
    uint32_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t n_slots;  /* a power of two, at most half full */
} spc_intern;

/* The index of key (len bytes), adding it if new (*added set then). Returns UINT32_MAX when out
 * of memory. */
uint32_t spc_intern_put(spc_intern *t, const void *key, size_t len, int *added);

/* The bytes of key index i. */
const unsigned char *spc_intern_key(const spc_intern *t, uint32_t i, size_t *len);

void spc_intern_free(spc_intern *t);

/* ---------------------------------------------------------------------------------------------
 * Protobuf and gzip (proto.c): profile.proto's wire format written by hand (varints, and
 * length-delimited fields for strings, messages and packed repeated numbers), gzip through zlib.
 * ------------------------------------------------------------------------------------------- */
#define SPC_PB_VARINT 0
#define SPC_PB_LEN    2

void spc_pb_tag(spc_buf *b, uint32_t field, unsigned wire);
void spc_pb_uint(spc_buf *b, uint32_t field, uint64_t v); /* a varint field, even when 0 */
void spc_pb_int(spc_buf *b, uint32_t field, int64_t v);   /* int64: two's complement varint */
void spc_pb_bytes(spc_buf *b, uint32_t field, const void *bytes, size_t len);
void spc_pb_packed(spc_buf *b, uint32_t field, const uint64_t *v, size_t n);

typedef struct spc_gzip spc_gzip;

/* A gzip stream (RFC 1952, zlib's deflate) onto out. NULL when out of memory. */
spc_gzip *spc_gzip_open(FILE *out);

/* Compresses len bytes. Returns 0, or -1 once zlib or out failed. */
int spc_gzip_write(spc_gzip *g, const void *bytes, size_t len);

/* Finishes the stream (the trailer with CRC-32 and size) and frees g. Returns 0 or -1. */
int spc_gzip_close(spc_gzip *g);

/* ---------------------------------------------------------------------------------------------
 * The job (job.c): a model loaded with the filters, its grouping and view, per-group facts.
 * ------------------------------------------------------------------------------------------- */

/* Per-group facts, from the first frame of the group (group.c gives labels, not these). */
typedef enum { SPC_KIND_NATIVE = 0, SPC_KIND_PYTHON = 1, SPC_KIND_SYNTHETIC = 2 } spc_kind;

typedef struct {
    uint8_t kind;       /* spc_kind */
    uint8_t line_clash; /* frames of the group disagree on the line */
    uint32_t file;      /* reader string id of the source file; 0 = none */
    uint32_t line;      /* the one line all its frames share (Python: the function's first
                           line under --by function); 0 = none, or not one line */
    const char *module; /* native: basename of the mapped file; Python: the source file */
    size_t module_len;
} spc_group_info;

/* What the job spills while the trace streams. */
#define SPC_SPILL_NONE    0
#define SPC_SPILL_THREADS 1 /* per thread, in the window: samples (stream 2t), allocs (2t+1) */
#define SPC_SPILL_HEAP    2 /* every ALLOC and FREE, in file order, in stream 0 */

/* Spill record tags (SPC_SPILL_HEAP). */
#define SPC_REC_ALLOC 1
#define SPC_REC_FREE  2

typedef struct {
    const spc_options *o;
    const char *path; /* as given */
    const char *name; /* how titles name it */
    spa_model *m;
    const spt_reader *r;
    const spt_header *h;
    spa_groups *g;
    spa_view *v;
    spa_metric metric;         /* o->metric, or the trace's default */
    uint64_t from_ns, to_ns;   /* the time window (to_ns 0 = no end) */
    const char *thread_filter; /* --thread, or NULL */
    uint32_t n_nodes;          /* view nodes run 1..n_nodes; 0 is the root */
    uint32_t *depth;           /* [node]: groups on its path */
    uint32_t max_depth;
    spc_group_info *info; /* [group] */
    spc_spill *spill;
    int spill_mode;
    int hook_failed; /* the spill failed while streaming */
    void (*user_hook)(void *ctx, const spa_model *m, const spt_event *ev);
    void *user_ctx;
    char err[512];
} spc_job;

/* Loads path with mo's filters plus `keep`, spilling as spill_mode says, and builds the grouping
 * (o->by), the view (o->focus, o->ignore) and the per-group facts. Returns SPT_OK, or an error
 * with j->err set to one line naming the file; close the job either way. */
spt_status spc_job_open(spc_job *j, const char *path, const char *name, const spa_model_options *mo,
                        const spc_options *o, unsigned keep, int spill_mode);

/* Frees everything the job holds. Accepts a zeroed job. */
void spc_job_close(spc_job *j);

/* Sets j->err to "<path>: <message>" and returns status. */
__attribute__((format(printf, 3, 4))) spt_status spc_job_fail(spc_job *j, spt_status status,
                                                              const char *fmt, ...);

/* Fills groups[0..depth) with the groups on view node's path, outermost first (groups must have
 * room for j->max_depth), and returns the depth (0 for the root). */
uint32_t spc_job_path(const spc_job *j, uint32_t node, uint32_t *groups);

/* The name of thread id t (its latest name) and its kernel id; "" and 0 for thread 0. */
const char *spc_job_thread_name(const spc_job *j, uint32_t t, size_t *len, uint32_t *os_tid);

/* Appends what the filters select, for titles: "thread main, from 1.00 s to 2.00 s, focus 're',
 * ignore 're'"; nothing when there are no filters. */
void spc_job_filters(const spc_job *j, spc_buf *b);

/* The selected threads' totals per (thread, view node): the model's per-(thread, stack) entries
 * (the job must be loaded with SPA_KEEP_THREADS) mapped through the view, stacks --focus leaves
 * out dropped, stacks that became the same node merged. Sorted by thread, then node. */
typedef struct {
    uint32_t thread;
    uint32_t node;
    spa_data data;
} spc_cell;

/* Fills *out (a heap array; free it) and *n. Returns 0, or -1 when out of memory. */
int spc_job_cells(const spc_job *j, spc_cell **out, size_t *n);

/* The formats. Each writes to out and returns SPT_OK, SPT_E_NOMEM or SPT_E_USAGE (j->err set);
 * write errors are left in ferror(out). */
spt_status spc_write_speedscope(spc_job *j, FILE *out);
spt_status spc_write_collapsed(spc_job *j, FILE *out);
spt_status spc_write_pprof(spc_job *j, FILE *out);
spt_status spc_write_svg(spc_job *j, spc_job *before, FILE *out); /* before: NULL, or diff */
spt_status spc_write_heap_svg(spc_job *j, FILE *out);

/* The inline script and style every SVG carries (svg_script.c). */
extern const char spc_svg_flame_css[];
extern const char spc_svg_flame_js[];
extern const char spc_svg_heap_js[];

#endif /* SPPROF_CONVERT_INT_H */
