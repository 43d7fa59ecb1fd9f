/* writer_thread.h: the recorder's background thread. It owns the trace file: it drains the
 * sampled threads' rings, symbolizes, and records through the spt_writer API. It is the only
 * code that writes the trace; nothing here may be called from a signal handler. */
#ifndef SPPROF_RECORDER_WRITER_THREAD_H
#define SPPROF_RECORDER_WRITER_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "recorder/sampler.h"
#include "tracefmt/sptrace.h"

/* What the trace header records about this recording (docs/format.md section 3). The writer
 * thread adds what it can learn about the process itself: pid, executable, argv, host. */
typedef struct {
    const char *output_path; /* trace file to create (truncated if it exists) */
    uint64_t interval_ns;    /* sampling interval of the CPU-time timers */
    uint32_t max_depth;      /* frames captured per sample */
    const char *trace_id;    /* run id, hex */
    uint64_t start_wall_ns;  /* CLOCK_REALTIME at the start of recording */
    uint64_t start_mono_ns;  /* CLOCK_MONOTONIC at the same moment; trace times count from it */
} sp_writer_config;

/* What the recording amounted to, for the one-line summary printed at exit. */
typedef struct {
    uint64_t duration_ns;     /* from start_mono_ns to the END record */
    uint64_t samples;         /* SAMPLE records written */
    uint64_t dropped_samples; /* samples lost to a full ring or a failed unwind */
    uint64_t file_bytes;      /* size of the finished trace */
    uint64_t recorder_cpu_ns; /* writer thread + signal handlers + setup */
    uint64_t process_cpu_ns;  /* the whole process, recorder included */
    int ok;                   /* 1 when the trace ended cleanly with an END record */
    char error[512];          /* why not, when ok is 0 */
} sp_writer_summary;

/* Creates the trace file, writes its header and starts the writer thread with every signal
 * blocked (so SIGPROF and the program's own signals never land on it). Returns 0, or -1 with a
 * one-line reason in err (e.g. "cannot create run.sptrace: Permission denied"), in which case no
 * file is left behind. Call once. Not async-signal-safe. */
int sp_writer_thread_start(const sp_writer_config *config, char *err, size_t err_len);

/* Hands a sampled thread to the writer: from now on it drains t->ring and records the thread
 * (named from /proc/self/task/<tid>/comm) at its next wake-up. t must stay valid until
 * sp_writer_thread_finish. Returns 0, or -1 when memory ran out. Thread-safe (takes the writer's
 * mutex). Not async-signal-safe. */
int sp_writer_thread_add(sp_sampler_thread *t);

/* Finishes the recording: stops every sampled thread's timer, wakes the writer thread, which
 * drains what is left, writes the END record (reason and status as given; duration, drops and
 * CPU totals measured), closes the file and exits; then joins it and fills *summary.
 * setup_cpu_ns is CPU time the recorder spent outside the writer thread and the handlers.
 * Idempotent: later calls return at once with summary->ok = 0. Not async-signal-safe. */
void sp_writer_thread_finish(spt_end_reason reason, int32_t status, uint64_t setup_cpu_ns,
                             sp_writer_summary *summary);

#endif /* SPPROF_RECORDER_WRITER_THREAD_H */
