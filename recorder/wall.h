/* wall.h: the wall-clock sampler thread (--clock wall). Every interval it looks at each
 * registered thread: one that did not run since the last tick is recorded idle with the stack
 * it is waiting in; one blocked in a system call is unwound from outside (unwind_remote.h), so
 * it is never signalled and its nanosleep, poll, select or epoll_wait is never cut short; only
 * a thread that is running and busy gets the sampling signal and unwinds itself.
 *
 * Limits: a thread seen running but not busy (under half the tick on the CPU) is not signalled;
 * its tick is carried to its next sample. A signal sent to a busy thread can still reach it
 * just as it enters a blocking call (the state was read microseconds before), and then that
 * call returns EINTR. */
#ifndef SPPROF_RECORDER_WALL_H
#define SPPROF_RECORDER_WALL_H

#include <stddef.h>
#include <stdint.h>

#include "recorder/ring.h"

struct sp_thread;

/* An entry of the sampler thread's ring: this header, then an sp_sample_entry. The writer
 * skips it when the slot was recycled since (incarnation differs). */
typedef struct {
    struct sp_thread *thread;
    uint64_t incarnation;
} sp_remote_entry;

/* Creates the sampler's ring (ring_bytes) and starts the thread, ticking every interval_ns.
 * Returns 0, or -1 with a reason in err. Not async-signal-safe. */
int sp_wall_start(uint64_t interval_ns, uint32_t max_depth, size_t ring_bytes, char *err,
                  size_t err_len);

/* The sampler's ring (for the writer), NULL when not started. Not async-signal-safe. */
sp_ring *sp_wall_ring(void);

/* Stops and joins the thread; the ring stays until sp_wall_release. Not async-signal-safe. */
void sp_wall_stop(void);

/* Unmaps the ring after the writer's last drain. Not async-signal-safe. */
void sp_wall_release(void);

/* CPU time the sampler thread has used. Not async-signal-safe. */
uint64_t sp_wall_cpu_ns(void);

/* Holds the sampler between two ticks: dlclose holds it while it unmaps a library, fork while
 * it forks. Not async-signal-safe. */
void sp_wall_hold(void);
void sp_wall_release_hold(void);

/* dlopen/dlclose changed the loaded objects: cached unwind information is stale.
 * Not async-signal-safe. */
void sp_wall_mappings_changed(void);

/* In a fork child: the thread did not come along; forget it. Not async-signal-safe. */
void sp_wall_after_fork_child(void);

#endif /* SPPROF_RECORDER_WALL_H */
