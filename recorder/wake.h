/* wake.h: futex words that a signal handler may post and a normal thread may wait on. Condition
 * variables cannot be signalled from a handler; a futex wake is one system call and takes no
 * lock, so the SIGPROF handler (ring half full), the fatal-signal handler (flush and die) and
 * the program's threads (exit, fork, exec) all wake the writer thread through here. */
#ifndef SPPROF_RECORDER_WAKE_H
#define SPPROF_RECORDER_WAKE_H

#include <stdatomic.h>
#include <stdint.h>

#include "recorder/sigsafe.h"

/* Adds one to *word and wakes every thread waiting on it. Preserves errno.
 * Async-signal-safe. */
SP_SIGNAL_SAFE void sp_futex_post(_Atomic uint32_t *word);

/* Wakes every thread waiting on word without changing it (the caller stored a new value).
 * Preserves errno. Async-signal-safe. */
SP_SIGNAL_SAFE void sp_futex_wake(_Atomic uint32_t *word);

/* Waits until *word differs from seen, a post arrives, or timeout_ns passes (0 = no timeout).
 * Returns at once when *word already differs. Spurious returns are possible: callers re-check
 * their condition. Preserves errno. Async-signal-safe. */
SP_SIGNAL_SAFE void sp_futex_wait(_Atomic uint32_t *word, uint32_t seen, uint64_t timeout_ns);

/* The word the writer thread sleeps on between drains. Posting it makes the writer drain at
 * once instead of at its next 100 ms tick. Async-signal-safe. */
SP_SIGNAL_SAFE void sp_wake_writer(void);

/* The writer's side: the current value of its wake word, and a wait on it (see sp_futex_wait).
 * Async-signal-safe. */
SP_SIGNAL_SAFE uint32_t sp_wake_writer_seen(void);
SP_SIGNAL_SAFE void sp_wake_writer_wait(uint32_t seen, uint64_t timeout_ns);

/* CLOCK_MONOTONIC in nanoseconds (a vDSO call). Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_monotonic_ns(void);

#endif /* SPPROF_RECORDER_WAKE_H */
