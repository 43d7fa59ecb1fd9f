/* writer_thread.h: the recorder's background thread. It owns the trace file: it drains the
 * sampled threads' rings, symbolizes, and records through the spt_writer API. It is the only
 * code that writes the trace; only the functions marked async-signal-safe may be called from a
 * signal handler. */
#ifndef SPPROF_RECORDER_WRITER_THREAD_H
#define SPPROF_RECORDER_WRITER_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "recorder/ring.h"
#include "recorder/sigsafe.h"
#include "tracefmt/sptrace.h"

/* What the trace header records about this recording (docs/format.md section 3). The writer
 * thread adds what it can learn about the process itself: pid, executable, argv, host. */
typedef struct {
    const char *output_path;  /* trace file to create (truncated if it exists) */
    uint64_t interval_ns;     /* sampling interval of the CPU-time timers */
    uint32_t max_depth;       /* frames captured per sample */
    const char *trace_id;     /* run id, hex */
    uint64_t start_wall_ns;   /* CLOCK_REALTIME at the start of recording */
    uint64_t start_mono_ns;   /* CLOCK_MONOTONIC at the same moment; trace times count from it */
    spt_clock clock;          /* the clock actually used (decided before the header) */
    const char *parent_trace; /* the parent process's trace path; "" if none */
    uint64_t max_size_bytes;  /* --max-size: end the trace before the file passes this; 0 none */
    sp_ring *remote_ring;     /* wall clock: the sampler thread's ring (wall.h), else NULL */
    uint64_t (*extra_cpu_ns)(void); /* CPU of other recorder threads (wall sampler), or NULL */
    int summary_on_signal;          /* print the summary line when a fatal signal ends the trace */
    int unwind_fp;    /* frame-pointer unwinding: resolve adopted threads' stack tops */
    int system_lines; /* files and lines for system libraries too (symbols.h) */
} sp_writer_config;

/* What the recording amounted to, for the one-line summary printed at exit. */
typedef struct {
    uint64_t duration_ns;        /* from start_mono_ns to the END record */
    uint64_t samples;            /* SAMPLE records written */
    uint64_t sample_weight;      /* the sum of their weights (intervals) */
    uint64_t hook_sample_weight; /* the part of it whose innermost frame is the recorder's code:
                                  * its malloc hooks (the time they cost the program) */
    uint64_t dropped_samples;    /* samples lost: full rings, failed unwinds, busy, fork, no ring */
    uint64_t file_bytes;         /* size of the finished trace */
    uint64_t recorder_cpu_ns;    /* writer thread + signal handlers + setup + wall sampler */
    uint64_t process_cpu_ns;     /* the whole process, recorder included */
    uint64_t threads;            /* threads defined in the trace */
    uint64_t children;           /* CHILD records written */
    uint64_t allocs_seen;        /* allocation tracking: allocations observed (END.allocs_seen) */
    uint64_t allocs_recorded;    /* allocation tracking: ALLOC records written */
    uint64_t interval_ns;        /* the sampling interval asked for */
    spt_clock clock;             /* the clock used */
    spt_end_reason reason;       /* why the trace ended */
    int32_t status;              /* exit code or signal number */
    int ok;                      /* 1 when the trace ended cleanly with an END record */
    char path[4096];             /* the trace file */
    char error[512];             /* why not, when ok is 0 */
} sp_writer_summary;

/* Figures while recording, for spprof_stats(). */
typedef struct {
    uint64_t samples;         /* SAMPLE records written so far */
    uint64_t dropped_samples; /* samples dropped so far (all reasons) */
    uint64_t file_bytes;      /* bytes on disk so far */
    uint64_t threads;         /* threads defined so far */
} sp_writer_stats;

/* Creates the trace file, writes its header and starts the writer thread with every signal
 * blocked (so the sampling signal and the program's own signals never land on it). From then on
 * it drains every registered thread's ring (threads.h) and the remote ring, and writes queued
 * events (events.h). Returns 0, or -1 with a one-line reason in err (e.g. "cannot create
 * run.sptrace: Permission denied"), in which case no file is left behind. Once per recording.
 * Not async-signal-safe. */
int sp_writer_thread_start(const sp_writer_config *config, char *err, size_t err_len);

/* Finishes the recording: wakes the writer thread, which drains what is left, writes the END
 * record (reason and status as given; duration, drops and CPU totals measured), closes the file
 * and exits; then joins it and fills *summary. The caller has stopped sampling first, so the
 * last drain sees every sample. setup_cpu_ns is CPU time the recorder spent outside the writer
 * thread and the handlers. When the writer already ended the trace itself (--max-size, a write
 * error), this joins it and returns that summary. Afterwards a new recording may start. When
 * nothing is recording, returns at once with summary->ok = 0 and error "not recording".
 * Not async-signal-safe. */
void sp_writer_thread_finish(spt_end_reason reason, int32_t status, uint64_t setup_cpu_ns,
                             sp_writer_summary *summary);

/* Is a trace open and still being written (not ended by --max-size or an error)?
 * Async-signal-safe. */
SP_SIGNAL_SAFE int sp_writer_thread_active(void);

/* From a fatal signal's handler: asks the writer to stop sampling, write END (reason signal,
 * status signo) and close the trace, then waits for that up to timeout_ns. Returns 1 when the
 * trace was finished, 0 when there was none, the calling thread is the writer, or the time ran
 * out. Async-signal-safe. */
SP_SIGNAL_SAFE int sp_writer_thread_end_from_signal(int signo, uint64_t timeout_ns);

/* Makes the writer drain every ring now and waits until it has (or timeout_ns passed), so the
 * addresses of a library are symbolized before dlclose unmaps it. Not async-signal-safe. */
void sp_writer_thread_sync(uint64_t timeout_ns);

/* Figures so far. Not async-signal-safe. */
void sp_writer_thread_stats(sp_writer_stats *stats);

/* Fork: prepare holds the writer between two drains (so the child never inherits a
 * half-updated table or a lock the writer held), parent releases it, child forgets the parent's
 * writer and trace without writing to them. Not async-signal-safe. */
void sp_writer_thread_fork_prepare(void);
void sp_writer_thread_fork_parent(void);
void sp_writer_thread_fork_child(void);

#endif /* SPPROF_RECORDER_WRITER_THREAD_H */
