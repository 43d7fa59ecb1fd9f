/* testlib.h: helpers for convert's tests (test-only): running the two binaries (testlib.c), a
 * trace whose names hold everything a format cares about (testlib_names.c), and readers for the
 * exports: gunzip and a protobuf decoder for pprof (testlib_pprof.c), a small XML reader for the
 * SVGs (testlib_xml.c), folded lines (testlib_folded.c). Traces of known content otherwise come
 * from analyze/testutil.h, scratch files from tests/tracekit.h. */
#ifndef SPPROF_CONVERT_TESTLIB_H
#define SPPROF_CONVERT_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/testrun.h"

/* ---------------------------------------------------------------------------------------------
 * Running the binaries.
 * ------------------------------------------------------------------------------------------- */
extern char ct_convert[]; /* the built spprof-convert */
extern char ct_analyze[]; /* the built spprof-analyze */
extern char ct_golden[];  /* testdata/convert */

/* Finds the binaries and the golden files among the runfiles and changes into $TEST_TMPDIR (or
 * /tmp). Returns 0, or -1 after printing what is missing. */
int ct_setup(void);

/* Runs spprof-convert with the NULL-terminated arguments (at most 30), as tu_runv does. */
int ct_run(tu_run_result *r, ...);

/* Runs spprof-convert and reads the file it wrote: 0 when it exited 0 with nothing on stdout or
 * stderr and out was written (*text: a heap copy, *len its length); -1 otherwise, with what it
 * said printed. The arguments end with NULL and must contain -o out. */
int ct_export(const char *out, char **text, size_t *len, ...);

/* Whether r is an error as spprof prints them: exit status 2, one line on stderr starting with
 * prefix, nothing on stdout. Prints what differs, naming `what`. */
int ct_check_error(const char *what, const tu_run_result *r, const char *prefix);

/* Whether xmllint (or, without it, python3's xml.etree) reads path as well-formed XML; 1 yes,
 * 0 no, -1 neither tool exists (say so and skip). */
int ct_xml_wellformed(const char *path);

/* ---------------------------------------------------------------------------------------------
 * The awkward trace: thread 1 (os tid 7001, named CT_THREAD_NAME) samples main > NAME[k] with
 * weight k + 1 (one sample each, 10 ms interval), for every name of ct_names; thread 2 (7002,
 * "plain") samples main > NAME[0] > NAME[2] twice. Frames are native, in file CT_FILE_NAME line
 * 10 + k, in /usr/lib/odd dir/libodd.so. Each name comes with what each format must show for it.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const char *raw; /* the bytes in the trace */
    size_t raw_len;
    const char *json;   /* what a JSON parser reads back (UTF-8) */
    const char *folded; /* the frame in folded stacks */
    const char *xml;    /* what an XML parser reads back */
    const char *pprof;  /* the string in pprof's table */
} ct_name;

extern const ct_name ct_names[];
extern const size_t ct_n_names;

#define CT_THREAD_NAME "thr;ead \"one\" <&>\x01"
#define CT_FILE_NAME   "dir with space/a;b\xff.c"

/* Writes the awkward trace to path. Returns 0, or -1 after printing why. */
int ct_write_awkward_trace(const char *path);

/* ---------------------------------------------------------------------------------------------
 * pprof: profile.proto decoded (gunzipped first), every field spprof writes.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    uint64_t *locations;
    size_t n_locations;
    int64_t values[8];
    size_t n_values;
    int64_t label_key[4], label_str[4], label_num[4];
    size_t n_labels;
} ct_sample;

typedef struct {
    uint64_t id, mapping_id, address;
    uint64_t function[16];
    int64_t line[16];
    size_t n_lines;
} ct_location;

typedef struct {
    uint64_t id;
    int64_t name, system_name, filename, start_line;
} ct_function;

typedef struct {
    uint64_t id, start, limit, offset;
    int64_t filename, build_id;
    int has_functions, has_filenames, has_line_numbers, has_inline_frames;
} ct_mapping;

typedef struct {
    char **strings; /* NUL-terminated copies; lengths in string_lens */
    size_t *string_lens;
    size_t n_strings;
    int64_t types[8][2]; /* sample_type: (type, unit) string indexes */
    size_t n_types;
    ct_sample *samples;
    size_t n_samples;
    ct_location *locations;
    size_t n_locations;
    ct_function *functions;
    size_t n_functions;
    ct_mapping *mappings;
    size_t n_mappings;
    int64_t time_nanos, duration_nanos, period, period_type[2], default_sample_type;
    int64_t comments[8];
    size_t n_comments;
    int gzip; /* the file started with the gzip magic */
} ct_profile;

/* Reads path (gzip-compressed or not) into p. Returns 0, or -1 on any malformed input (bad
 * varint, field overrunning its message, wrong wire type for a known field). */
int ct_pprof_read(const char *path, ct_profile *p);
void ct_pprof_free(ct_profile *p);

/* String i of the table ("<bad index>" when out of range). */
const char *ct_pprof_str(const ct_profile *p, int64_t i);

/* The location and function with an id; NULL when there is none. */
const ct_location *ct_pprof_location(const ct_profile *p, uint64_t id);
const ct_function *ct_pprof_function(const ct_profile *p, uint64_t id);

/* The index of sample type `type` (by name), or -1. */
int ct_pprof_type(const ct_profile *p, const char *type);

/* ---------------------------------------------------------------------------------------------
 * XML: elements in document order with their attributes and their own text (entities and CDATA
 * decoded). Enough for the SVGs spprof writes; not a validating parser (xmllint does that).
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    char *name;
    char **keys, **values;
    size_t n_attrs;
    char *text;    /* character data directly inside the element */
    size_t parent; /* index of the parent element; SIZE_MAX for the root */
} ct_el;

typedef struct {
    ct_el *els;
    size_t n;
} ct_xml;

/* Parses text. Returns 0, or -1 on malformed markup (unbalanced tags, a bad entity, '<' or '&'
 * in the wrong place). */
int ct_xml_parse(const char *text, ct_xml *out);
void ct_xml_free(ct_xml *x);

/* The value of attribute key, or NULL. */
const char *ct_xml_attr(const ct_el *e, const char *key);

/* The first child of element i named `name` (index), or SIZE_MAX. */
size_t ct_xml_child(const ct_xml *x, size_t i, const char *name);

/* The element with attribute id="id", or SIZE_MAX. */
size_t ct_xml_by_id(const ct_xml *x, const char *id);

/* ---------------------------------------------------------------------------------------------
 * Folded stacks.
 * ------------------------------------------------------------------------------------------- */

/* Splits folded text into lines and finds the count of the line whose stack part (before the
 * last space) equals stack; returns it, or -1 when no line has it. */
long long ct_folded_count(const char *text, const char *stack);

/* Whether every line is "STACK COUNT" with a whole COUNT > 0, and the stack parts are strictly
 * increasing in byte order. *total receives the sum of the counts, *lines their number. */
int ct_folded_valid(const char *text, unsigned long long *total, size_t *lines);

#endif /* SPPROF_CONVERT_TESTLIB_H */
