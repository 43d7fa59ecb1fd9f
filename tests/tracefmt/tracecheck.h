/* tracecheck.h: compares events by content, not by id. Reader ids and writer ids differ, so
 * every event is reduced to a 64-bit key over its resolved content (strings, frames, whole stacks,
 * threads by (os_tid, start_ns)). Also: read a whole trace into keys, and find its zstd frames. */
#ifndef SPPROF_TESTS_TRACECHECK_H
#define SPPROF_TESTS_TRACECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "tests/tracefmt/tracegen.h"
#include "tracefmt/sptrace.h"

/* Where definitions come from: a reader, or a tg_model (writer ids). NULL for unknown ids. */
typedef struct {
    const void *ctx;
    const char *(*string)(const void *ctx, uint32_t id, size_t *len);
    const spt_mapping *(*mapping)(const void *ctx, uint32_t id);
    const spt_frame *(*frame)(const void *ctx, uint32_t id);
    const spt_stack *(*stack)(const void *ctx, uint32_t id);
    const spt_thread *(*thread)(const void *ctx, uint32_t id);
} tc_resolver;

tc_resolver tc_reader_resolver(const spt_reader *r);
tc_resolver tc_model_resolver(const tg_model *m);

/* Computes keys through a resolver, remembering stack keys by id (stacks may be 65,536 deep). */
typedef struct {
    tc_resolver res;
    uint64_t *stack_keys;   /* by stack id; 0 = not computed yet */
    uint32_t *stack_depths; /* by stack id: frames counted by walking parents */
    uint32_t cap;
    int unresolved; /* an id did not resolve, or a parent chain was broken */
    int bad_depth;  /* a stack's depth field disagreed with its parent chain */
} tc_canon;

void tc_canon_init(tc_canon *c, tc_resolver res);
void tc_canon_free(tc_canon *c);

uint64_t tc_string_key(tc_canon *c, uint32_t id);
uint64_t tc_frame_key(tc_canon *c, uint32_t id);
uint64_t tc_stack_key(tc_canon *c, uint32_t id);
uint64_t tc_thread_key(tc_canon *c, uint32_t id);

/* The key of an event's whole content. END's time is left out: the writer picks it. */
uint64_t tc_event_key(tc_canon *c, const spt_event *ev);

/* One line describing the event, for failure messages (content, not ids). */
void tc_event_describe(tc_canon *c, const spt_event *ev, char *buf, size_t cap);

/* One line rendering the event for golden files: times in ns, threads by os tid, strings
 * quoted with C escapes, stacks as function names outermost first joined by '>'. */
void tc_event_render(const spt_reader *r, const spt_event *ev, char *buf, size_t cap);

/* One line with every header field, for golden files. */
void tc_header_render(const spt_header *h, char *buf, size_t cap);

/* One line describing frame `id` of the reader with its strings and mapping, for golden files. */
void tc_frame_render(const spt_reader *r, uint32_t id, char *buf, size_t cap);

/* Warnings collected through spt_reader_options.warn. */
typedef struct {
    char **items;
    size_t n;
    size_t cap;
} tc_warnings;
void tc_warn_collect(void *ctx, const char *message); /* the warn callback; ctx = tc_warnings */
void tc_warnings_free(tc_warnings *w);
/* Index of the first warning containing needle, or -1. */
long tc_warnings_find(const tc_warnings *w, const char *needle);

/* Everything a full read of a trace produced. */
typedef struct {
    spt_status open_status;
    char open_error[1024];
    spt_status last_status; /* what ended the loop: SPT_END, or the error */
    char last_error[1024];
    uint64_t *keys;        /* event keys, in the order returned */
    uint64_t *thread_keys; /* tc_thread_key of each event's thread */
    char **descriptions;   /* with keep_descriptions: tc_event_describe of each */
    spt_event_kind *kinds; /* kind of each event */
    size_t n;
    spt_reader_stats stats; /* after the loop */
    tc_warnings warnings;
    int unresolved; /* an event referred to an id the reader could not resolve */
    int bad_depth;
    spt_header header; /* scalar fields only; strings are not kept */
} tc_read_result;

typedef struct {
    size_t max_memory_bytes;        /* 0 = reader default */
    const spt_allocator *allocator; /* NULL = libc */
    int keep_descriptions;
} tc_read_options;

/* Opens data as `name` and reads every event. Returns 0 if open succeeded. */
int tc_read_memory(const void *data, size_t size, const char *name, const tc_read_options *o,
                   tc_read_result *out);
void tc_read_result_free(tc_read_result *res);

/* The events the model expects, as keys (descriptions optional, like tc_read_result). */
typedef struct {
    uint64_t *keys;
    uint64_t *thread_keys;
    char **descriptions;
    spt_event_kind *kinds;
    size_t n;
} tc_expected;
void tc_expected_from_model(const tg_model *m, tc_expected *out);
void tc_expected_free(tc_expected *e);

/* Compares a read with the model: the sequences must be equal except that THREAD_START events
 * may sit anywhere before the thread's first use (the writer may define threads lazily).
 * Returns 0 if equal, else prints the first difference to stderr (prefixed by label). */
int tc_compare_with_model(const char *label, const tc_expected *e, const tc_read_result *res,
                          size_t n_expected);

/* zstd frames in a file: header frame first, then chunks and other skippable frames. */
typedef struct {
    size_t offset; /* where the frame starts */
    size_t size;   /* its compressed size; 0 if it does not finish in the data */
    int skippable; /* a skippable frame (the header is one) */
} tc_frame_info;

/* Lists the frames of data; returns how many were found (up to max). A frame that does not end
 * within data is listed last with size 0. */
size_t tc_list_frames(const uint8_t *data, size_t size, tc_frame_info *frames, size_t max);

#endif /* SPPROF_TESTS_TRACECHECK_H */
