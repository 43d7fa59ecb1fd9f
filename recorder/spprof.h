/* spprof.h: the C API of the spprof recorder, for programs that link the recorder library
 * (//recorder:spprof) instead of running under spprof-record. A linked program records only
 * between spprof_start() and spprof_stop() (or its exit); a program run under spprof-record
 * with the library preloaded is already recording, and may still call spprof_marker() and
 * spprof_stats() through this header.
 *
 * Every function returns SPPROF_OK (0) or a negative SPPROF_E_* code and never crashes on
 * misuse: starting twice, stopping when idle, a NULL argument. None of them may be called from
 * a signal handler. */
#ifndef SPPROF_H
#define SPPROF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. Values are stable. */
#define SPPROF_OK          0
#define SPPROF_E_ACTIVE    (-1) /* spprof_start: already recording */
#define SPPROF_E_IDLE      (-2) /* not recording (stop, marker, stats before any start) */
#define SPPROF_E_INVALID   (-3) /* an option out of range, or a NULL argument */
#define SPPROF_E_SYSTEM    (-4) /* the trace file, a timer or a thread could not be created */

#define SPPROF_CLOCK_CPU  0 /* CPU time of each thread (default) */
#define SPPROF_CLOCK_WALL 1 /* wall-clock time: waiting threads are sampled too */

#define SPPROF_UNWIND_LIBUNWIND 0 /* DWARF unwinding: every frame (default) */
#define SPPROF_UNWIND_FP        1 /* frame pointers: faster, needs -fno-omit-frame-pointer */

/* Recording settings. A zeroed struct means every default. */
typedef struct spprof_options {
    const char *output;       /* trace path; NULL = "spprof-<pid>.sptrace" in the cwd */
    uint64_t interval_ns;     /* sampling interval; 0 = 10 ms; 10 us to 1 s */
    int clock;                /* SPPROF_CLOCK_CPU or SPPROF_CLOCK_WALL */
    uint32_t max_depth;       /* frames per stack; 0 = 128; at most 65535 */
    uint32_t memory_limit_mb; /* all sample buffers together; 0 = 100 */
    uint32_t max_size_mb;     /* end the trace cleanly at this file size; 0 = no cap */
    int unwind;               /* SPPROF_UNWIND_LIBUNWIND or SPPROF_UNWIND_FP */
    int signal;               /* the sampling signal; 0 = SIGPROF */
    int follow_fork;          /* 1: fork children record into "<output>.<pid>" */
    int quiet;                /* 1: no summary line on stderr at the end */
} spprof_options;

/* Figures of the current (or, when idle, the last) recording. A struct tag, not a typedef: the
 * function that fills it is called spprof_stats too. */
struct spprof_stats {
    int active;               /* 1 while recording */
    uint64_t samples;         /* SAMPLE records written so far */
    uint64_t dropped_samples; /* samples dropped so far, for any reason */
    uint64_t threads;         /* threads recorded so far */
    uint64_t file_bytes;      /* trace bytes on disk so far */
    uint64_t duration_ns;     /* time since spprof_start (to the stop, when idle) */
};

/* Starts recording this process with options (NULL = all defaults): every thread, from the
 * calling one and those that exist now to every thread created later. Returns SPPROF_OK,
 * SPPROF_E_ACTIVE when already recording, SPPROF_E_INVALID for a bad option, or
 * SPPROF_E_SYSTEM when the trace cannot be created (a line on stderr says why).
 * Not async-signal-safe. */
int spprof_start(const spprof_options *options);

/* Stops recording: the trace gets its END record (reason "stopped") and is closed, and one
 * summary line goes to stderr unless options.quiet. Returns SPPROF_OK, or SPPROF_E_IDLE when
 * nothing was recording. Not async-signal-safe. */
int spprof_stop(void);

/* Returns 1 while recording, 0 otherwise (never started, stopped, or the trace reached its
 * --max-size cap). Not async-signal-safe. */
int spprof_is_active(void);

/* Fills *stats. Returns SPPROF_OK, SPPROF_E_INVALID for NULL, or SPPROF_E_IDLE when this
 * process never recorded. Not async-signal-safe. */
int spprof_stats(struct spprof_stats *stats);

/* Writes a MARKER record with text (for example a test's name) at this moment, on the calling
 * thread. Returns SPPROF_OK, SPPROF_E_INVALID for NULL, or SPPROF_E_IDLE when not recording.
 * Not async-signal-safe. */
int spprof_marker(const char *text);

/* Returns a short constant description of a result code ("already recording", ...). Never
 * NULL. Async-signal-safe. */
const char *spprof_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif /* SPPROF_H */
