/* follow.h: which trace a process writes and how it links to its parent's. The first process
 * writes OUT (the launcher's -o); a child process writes OUT.<pid>; a program that a process
 * exec'd writes OUT.<pid>.<n> (n = 1, 2, ... for successive execs of that pid). Every trace
 * names its parent's in its header (parent_trace) and the parent names it in a CHILD record.
 * Each recording process publishes "pid gen path" in SPPROF_SELF, so the program it execs (same
 * pid) or a child started behind the recorder's back (vfork, posix_spawn, system, popen) finds
 * out who it is. Normal context only. */
#ifndef SPPROF_RECORDER_FOLLOW_H
#define SPPROF_RECORDER_FOLLOW_H

#include <limits.h>
#include <stddef.h>

#include "recorder/options.h"

typedef struct {
    char path[PATH_MAX];   /* this process's trace */
    char parent[PATH_MAX]; /* the trace it links back to; "" for the first */
    unsigned gen;          /* how many execs this pid made before this image */
    int pid;
} sp_lineage;

/* The trace path for pid's gen-th image: OUT for the first process's first image, OUT.<pid>
 * for another process's first image, OUT.<pid>.<gen> after an exec. Not async-signal-safe. */
void sp_follow_name(const sp_options *o, int pid, unsigned gen, char *out, size_t out_len);

/* Decides, from SPPROF_SELF, what this freshly loaded image records: returns 1 and fills *lin,
 * or 0 when it stays passive (--no-follow in any process but the first image of the first).
 * Not async-signal-safe. */
int sp_follow_from_env(const sp_options *o, sp_lineage *lin);

/* The lineage of a fork child (child_pid) of a process with lineage parent.
 * Not async-signal-safe. */
void sp_follow_fork_child(const sp_options *o, const sp_lineage *parent, int child_pid,
                          sp_lineage *out);

/* The lineage of the image that follows cur in the same process (exec, or a failed exec that
 * continues in a fresh trace). Not async-signal-safe. */
void sp_follow_next_exec(const sp_options *o, const sp_lineage *cur, sp_lineage *out);

/* Sets SPPROF_SELF (and SPPROF_OUTPUT, SPPROF_TRACE_ID, SPPROF_ROOT_PID) for images and
 * children to come.
 * Not async-signal-safe. */
void sp_follow_publish(const sp_options *o, const sp_lineage *lin);

#endif /* SPPROF_RECORDER_FOLLOW_H */
