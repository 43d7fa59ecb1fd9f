/* testutil.h: traces of known content, written through the tracefmt writer, that analyze's and
 * convert's tests compute their exact expectations from. Test-only. Running the binaries is in
 * testrun.h, reading JSON back in testjson.h; scratch files are in tests/tracekit.h. */
#ifndef SPPROF_ANALYZE_TESTUTIL_H
#define SPPROF_ANALYZE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/sptrace.h"

/* A header with fixed, documented values (pid 4242, 10 ms interval, start 2023-11-14 22:13:20.123
 * UTC, ...), so that text output is byte-for-byte reproducible under TZ=UTC. */
spt_header tu_header(void);

/* How tu_write_known_trace ends the file. */
typedef enum {
    TU_END_CLEAN = 0, /* END record written: the trace is complete */
    TU_END_NONE = 1,  /* closed without END: "did not finish cleanly" */
} tu_end;

/* Writes the known trace described in testutil.c (nine stacks, two threads, recursion, two
 * same-named statics, an unnamed libc frame, a Python frame; 100 samples of weight 105) to path.
 * chunk_bytes is passed to the writer (0 = its default, one chunk; small values make the writer
 * restate definitions in many chunks). Returns 0, or -1 after printing the writer's error. */
int tu_write_known_trace(const char *path, tu_end end, size_t chunk_bytes);

/* One group of samples for tu_write_samples: `count` samples of `stack` (function names,
 * outermost first, separated by ';'; all in file "prog.c" of /usr/bin/prog), each of weight
 * `weight`, with SPT_SAMPLE_* `flags`, on thread `thread` (1 or 2: os tids 2001 "main" and 2002
 * "worker"), 10 ms apart from time_ns on. */
typedef struct {
    const char *stack;
    uint32_t thread;
    uint64_t count;
    uint64_t weight;
    uint32_t flags;
    uint64_t time_ns;
} tu_samples;

/* Writes a trace of the given sample groups with the tu_header() header, but clock `clock`; ends
 * it cleanly with duration_ns. Returns 0, or -1 after printing the writer's error. */
int tu_write_samples(const char *path, spt_clock clock, const tu_samples *groups, size_t n,
                     uint64_t duration_ns);

/* The same with a header of the caller's. */
int tu_write_samples_h(const char *path, const spt_header *h, const tu_samples *groups, size_t n,
                       uint64_t duration_ns);

/* The diff fixture. Before (1,015 samples): main > hot_a 600, main > hot_b 100, main 300 on
 * thread "main", main > x 15 on thread "worker". After (1,017 samples, started 3 s later): hot_a
 * 100, hot_b 600, main 300, x 17: the hot function moved, x wobbled within the noise. */
int tu_write_diff_pair(const char *before, const char *after);

/* Writes the known heap trace described in testutil.c (allocations and frees on two threads with
 * a peak of 3600 bytes at 50 ms and 900 bytes in 3 allocations live at the end). With sampled
 * set, the header says SPT_ALLOC_SAMPLED every 512 bytes and every allocation carries 4x its
 * size as weight (so it stands for 4 allocations). Returns 0 or -1. */
int tu_write_heap_trace(const char *path, int sampled);

#endif /* SPPROF_ANALYZE_TESTUTIL_H */
