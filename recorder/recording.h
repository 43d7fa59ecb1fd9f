/* recording.h: one recording from start to end: the clock decision, the writer, the registry,
 * the sampling signal, the fatal handlers; and what happens to it at exit, _exit, fork and
 * exec. init.c (the preloaded library's constructor) and api.c (spprof_start) start it; the
 * interposed libc functions (interpose.c) end, continue or fork it. Normal context only. */
#ifndef SPPROF_RECORDER_RECORDING_H
#define SPPROF_RECORDER_RECORDING_H

#include <stddef.h>
#include <sys/types.h>

#include "recorder/follow.h"
#include "recorder/options.h"
#include "recorder/writer_thread.h"

/* How a recording was started. */
typedef enum {
    SP_START_PRELOAD = 1, /* libspprof.so preloaded: lineage from and to SPPROF_* variables */
    SP_START_API = 2      /* spprof_start(): the program's own settings, nothing published */
} sp_start_kind;

/* Starts recording into lin->path with options o. summary: print the summary line at the end.
 * Returns 0, or -1 with a one-line reason in err ("already recording", "cannot create ...").
 * A program that owns the sampling signal gets a warning and a trace without samples.
 * Not async-signal-safe. */
int sp_recording_start(const sp_options *o, const sp_lineage *lin, sp_start_kind kind,
                       int summary, char *err, size_t err_len);

/* Ends the recording of this process: stops sampling, writes END (reason, status), closes the
 * trace and prints the summary line if asked at start (never for an exec). Fills *out when not
 * NULL. Returns 0, or -1 when nothing was recording. Not async-signal-safe. */
int sp_recording_finish(spt_end_reason reason, int status, sp_writer_summary *out);

/* Is this process recording (a trace open and not ended by --max-size or an error)?
 * Not async-signal-safe. */
int sp_recording_active(void);

/* Has this process a recording at all, active or ended by itself but not yet finished?
 * Not async-signal-safe. */
int sp_recording_started(void);

/* The options and lineage of the current (or last) recording. Not async-signal-safe. */
const sp_options *sp_recording_options(void);

/* Registers the pthread_atfork handlers (once per process; sp_recording_start does it).
 * Not async-signal-safe. */
void sp_recording_install_atfork(void);

/* The interposed fork's parent side: a CHILD record for the child's trace.
 * Not async-signal-safe. */
void sp_recording_forked(pid_t child);

/* posix_spawn's parent side: a CHILD record for the spawned program's trace.
 * Not async-signal-safe. */
void sp_recording_spawned(pid_t child);

/* Before an exec* call. In the recording process: writes CHILD (kind exec) and END (reason
 * exec), and remembers to continue in a fresh trace if the exec fails. In a vfork child: only
 * notes the child's pid for the parent (no lock, no allocation: the vfork-child path touches
 * only atomics). Returns 1 when sp_recording_exec_failed must be called if the exec returns.
 * Not async-signal-safe. */
int sp_recording_before_exec(void);

/* The exec returned (it failed): the process goes on in a new trace linked to the ended one.
 * Not async-signal-safe. */
void sp_recording_exec_failed(void);

/* Should an exec'd or spawned program's environment carry the recorder's variables? (preload
 * mode, following, recording). Not async-signal-safe. */
int sp_recording_follows_children(void);

/* The program installed its own handler for the sampling signal: stop sampling, say so once.
 * Not async-signal-safe. */
void sp_recording_signal_taken(int signo);

/* _exit and quick_exit: end the trace (status as the program gave it) before the process goes.
 * Only in the recording process, never in a vfork child. Not async-signal-safe. */
void sp_recording_exiting(int status);

/* The pid of the recording process, or 0 (two atomic loads). Async-signal-safe. */
pid_t sp_recording_pid(void);

#endif /* SPPROF_RECORDER_RECORDING_H */
