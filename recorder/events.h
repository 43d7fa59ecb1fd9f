/* events.h: the records program threads ask the writer to write (markers, followed children):
 * a small locked queue, drained by the writer thread. Children that a vfork child starts are
 * noted without locking or allocating, because a vfork child shares the parent's memory and
 * must not touch its heap. */
#ifndef SPPROF_RECORDER_EVENTS_H
#define SPPROF_RECORDER_EVENTS_H

#include <stdint.h>

#include "recorder/sigsafe.h"
#include "tracefmt/sptrace.h"

typedef enum {
    SP_EVENT_MARKER = 1, /* text on thread tid */
    SP_EVENT_CHILD = 2   /* a followed child: child_kind, pid, text = its trace path */
} sp_event_kind;

typedef struct sp_event {
    sp_event_kind kind;
    uint64_t time_ns;         /* CLOCK_MONOTONIC */
    int tid;                  /* the thread that asked (markers) */
    spt_child_kind child_kind;
    int pid;
    struct sp_event *next;
    char text[];              /* NUL-terminated */
} sp_event;

/* Turns a child's pid into its trace path (follow.c knows the naming scheme). */
typedef void (*sp_child_namer)(int pid, char *out, size_t out_len);

/* Accepts events from now on (enabled = 1) or drops them (0), and sets how spawned children
 * are named. Not async-signal-safe. */
void sp_events_enable(int enabled, sp_child_namer namer);

/* Queues a marker with text on the calling thread. Returns 0, or -1 when not recording or
 * memory ran out. Not async-signal-safe. */
int sp_events_marker(const char *text);

/* Queues a CHILD record: kind, the child's pid and its trace path. Returns 0 or -1.
 * Not async-signal-safe. */
int sp_events_child(spt_child_kind kind, int pid, const char *trace_path);

/* Notes that a vfork child (pid) is about to exec; the writer records it as a spawned child.
 * Touches only a static array of atomics. Async-signal-safe. */
SP_SIGNAL_SAFE void sp_events_note_spawn(int pid);

/* Writer: takes every queued event, oldest first, turning noted spawns into CHILD events.
 * The caller frees the list with sp_events_free. Not async-signal-safe. */
sp_event *sp_events_take(void);

/* Frees a list from sp_events_take. Not async-signal-safe. */
void sp_events_free(sp_event *list);

/* In a fork child: reinitialises the lock and drops the parent's queue. Not async-signal-safe. */
void sp_events_after_fork_child(void);

/* Fork prepare/parent: holds the queue's lock across fork. Not async-signal-safe. */
void sp_events_lock(void);
void sp_events_unlock(void);

#endif /* SPPROF_RECORDER_EVENTS_H */
