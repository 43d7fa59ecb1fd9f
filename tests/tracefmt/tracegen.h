/* tracegen.h: drives the public writer API while keeping a mirror of every definition and the
 * events a reader should return, so tests can compare a read-back trace with what was written.
 * Test-only; knows nothing of tracefmt's internals. */
#ifndef SPPROF_TESTS_TRACEGEN_H
#define SPPROF_TESTS_TRACEGEN_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/sptrace.h"

/* One interned string as the test gave it to the writer. */
typedef struct {
    char *bytes; /* owned copy (NUL-terminated for convenience, may hold NULs) */
    size_t len;  /* length in bytes */
} tg_string_def;

/* One thread as defined through tg_thread. */
typedef struct {
    spt_thread def; /* os_tid, current name, start_ns, end_ns (0 while running) */
    int ended;      /* tg_thread_end was called */
} tg_thread_def;

/* The mirror of one writer. Tables are indexed by the writer's ids (index 0 unused). */
typedef struct {
    spt_writer *w;                   /* the writer being driven; tg_close frees it */
    tg_string_def *strings;          /* by string id */
    uint32_t n_strings, cap_strings; /* highest string id seen; slots allocated */
    spt_mapping *mappings;           /* by mapping id */
    uint32_t n_mappings, cap_mappings;
    spt_frame *frames; /* by frame id */
    uint32_t n_frames, cap_frames;
    spt_stack *stacks; /* by stack id, depth filled in */
    uint32_t n_stacks, cap_stacks;
    tg_thread_def *threads; /* by thread id */
    uint32_t n_threads, cap_threads;
    spt_event *events; /* expected events in call order, writer ids */
    size_t n_events;
    size_t cap_events;
    uint64_t samples;       /* END totals the writer must fill in */
    uint64_t sample_weight; /* wraps like the writer's uint64_t sum */
    uint64_t allocs;
    uint64_t frees;
    int failures;            /* writer calls that failed unexpectedly */
    char first_failure[512]; /* what the first one was */
} tg_model;

/* Starts a model around an open writer. */
void tg_model_init(tg_model *m, spt_writer *w);

/* Frees the mirror (not the writer). */
void tg_model_free(tg_model *m);

/* Wrappers: call the writer, check the id it returned against the mirror (new ids must be
 * fresh, known ids must carry equal content), and append the expected event. They return what
 * the writer returned; an unexpected failure is also counted in m->failures. */
uint32_t tg_string(tg_model *m, const void *bytes, size_t len);
uint32_t tg_cstring(tg_model *m, const char *s);
uint32_t tg_mapping(tg_model *m, const spt_mapping *mapping);
uint32_t tg_frame(tg_model *m, const spt_frame *frame);
uint32_t tg_stack(tg_model *m, uint32_t parent, uint32_t frame);
/* Interns frames[0..n) through spt_writer_stack_path and checks that building it node by node
 * with spt_writer_stack gives the same id (so every node is in the mirror). */
uint32_t tg_stack_path(tg_model *m, const uint32_t *frames, size_t n);
uint32_t tg_thread(tg_model *m, uint32_t os_tid, uint32_t name, uint64_t start_ns);
spt_status tg_thread_name(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t name);
spt_status tg_thread_end(tg_model *m, uint32_t thread, uint64_t time_ns);
spt_status tg_sample(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t stack,
                     uint64_t weight, uint32_t flags);
spt_status tg_sample_total(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t stack,
                           uint64_t count, uint64_t weight, uint32_t flags);
spt_status tg_alloc(tg_model *m, uint32_t thread, uint64_t time_ns, uint64_t address,
                    uint64_t size_bytes, uint64_t weight_bytes, uint32_t stack);
spt_status tg_free(tg_model *m, uint32_t thread, uint64_t time_ns, uint64_t address);
spt_status tg_alloc_total(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t stack,
                          uint64_t alloc_count, uint64_t alloc_bytes, uint64_t live_count,
                          uint64_t live_bytes);
spt_status tg_marker(tg_model *m, uint32_t thread, uint64_t time_ns, uint32_t text);
spt_status tg_drops(tg_model *m, uint64_t time_ns, spt_drop_reason reason, uint64_t count);
spt_status tg_child(tg_model *m, uint64_t time_ns, spt_child_kind kind, uint32_t pid,
                    uint32_t trace_path);
spt_status tg_metadata(tg_model *m, uint64_t time_ns, uint32_t key, uint32_t value);
spt_status tg_flush(tg_model *m);

/* Closes the writer (m->w becomes NULL). With end != NULL the expected END event is appended,
 * with the totals the writer must fill in. Returns what spt_writer_close returned. */
spt_status tg_close(tg_model *m, const spt_end *end);

/* A small deterministic PRNG (splitmix64) so every seed gives the same trace everywhere. */
typedef struct {
    uint64_t state;
} tg_rng;
uint64_t tg_rand(tg_rng *rng);
uint64_t tg_rand_below(tg_rng *rng, uint64_t bound); /* uniform in [0, bound); bound > 0 */

/* What tg_generate writes. */
typedef struct {
    uint64_t seed;
    size_t n_events;    /* timed events to write (threads and definitions come on top) */
    size_t flush_every; /* spt_writer_flush after this many events; 0 = never */
    uint32_t max_depth; /* deepest random stack */
    int extremes;       /* also use UINT64_MAX values, UINT32_MAX lines, a 1 MiB string,
                           64-byte build ids and times far apart and out of order */
} tg_gen_options;

/* Writes a random but reproducible stream of every kind of record through the model. Leaves the
 * writer open (call tg_close). Returns 0, or -1 if a writer call failed (see m->first_failure). */
int tg_generate(tg_model *m, const tg_gen_options *options);

/* A header with every field set, tick_ns as given (1 keeps times exact). */
spt_header tg_default_header(uint64_t tick_ns);

/* An END record with every field the caller fills set to a distinctive value. */
spt_end tg_default_end(void);

#endif /* SPPROF_TESTS_TRACEGEN_H */
