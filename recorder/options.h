/* options.h: the recorder's settings, from SPPROF_* environment variables (set by spprof-record
 * for a preloaded library) or from spprof_start() (a linked library). One struct, so both ways
 * in validate the same limits. */
#ifndef SPPROF_RECORDER_OPTIONS_H
#define SPPROF_RECORDER_OPTIONS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "recorder/sampler.h"

#define SP_DEFAULT_INTERVAL_NS 10000000u   /* 10 ms: 100 Hz, as py-spy and gperftools */
#define SP_MIN_INTERVAL_NS     10000u      /* 10 us; below 1 ms spprof-record warns */
#define SP_MAX_INTERVAL_NS     1000000000u /* 1 s */
#define SP_DEFAULT_MAX_DEPTH   128u
#define SP_MAX_MAX_DEPTH       65535u /* the format allows 65,536 frames, "[truncated]" one */
#define SP_DEFAULT_MEMORY_MB   100u
#define SP_MAX_MEMORY_MB       (1u << 20)

typedef struct {
    char output[PATH_MAX];       /* the first trace's path; children's names derive from it */
    uint64_t interval_ns;        /* sampling interval */
    int clock_wall;              /* --clock wall */
    uint32_t max_depth;          /* frames per sample */
    uint64_t memory_limit_bytes; /* all sample buffers together */
    uint64_t max_size_bytes;     /* --max-size; 0 = no cap */
    sp_unwind_method unwind;     /* --unwind */
    int signo;                   /* --signal */
    int follow;                  /* follow fork and exec (--no-follow clears it) */
    int system_lines;            /* files and lines for system libraries too (--no-system-lines clears it) */
    int force_process_timer;     /* SPPROF_TEST_PROCESS_TIMER: act as if timer_create failed */
    int quiet;                   /* no summary line */
    int root_pid;                /* the process spprof-record started (SPPROF_ROOT_PID), or 0 */
    char trace_id[33];           /* run id shared by every trace of the run */
    char alloc_spec[32];         /* SPPROF_ALLOC for allocation recording (heap.h); "" default */
} sp_options;

/* Fills the defaults (output "spprof-<pid>.sptrace" in the cwd, made absolute, a new random
 * trace id). Not async-signal-safe. */
void sp_options_defaults(sp_options *o);

/* Reads SPPROF_* over the defaults. Returns 0, or -1 with a one-line reason in err when a
 * variable is set to something invalid. Not async-signal-safe. */
int sp_options_from_env(sp_options *o, char *err, size_t err_len);

/* Checks the limits documented in docs/USAGE.md ("Recording"). Returns 0, or -1 with a reason.
 * Not async-signal-safe. */
int sp_options_check(const sp_options *o, char *err, size_t err_len);

#endif /* SPPROF_RECORDER_OPTIONS_H */
