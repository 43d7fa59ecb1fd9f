/* interpose.h: the libc functions libspprof.so interposes (pthread_create, fork, exec*, _exit,
 * sigaction, dlopen, ...; see interpose.c) and the real ones behind them. The recorder's own
 * code calls the real functions through these pointers, so that its writer thread is never
 * registered as a program thread and its own sigaction calls are never mistaken for the
 * program's. */
#ifndef SPPROF_RECORDER_INTERPOSE_H
#define SPPROF_RECORDER_INTERPOSE_H

#include <pthread.h>
#include <signal.h>

#include "recorder/sigsafe.h"

/* Looks up every real function (dlsym RTLD_NEXT). Idempotent; interposers also resolve lazily
 * when called before the constructor. Not async-signal-safe. */
void sp_interpose_init(void);

/* The real sigaction. Resolved by sp_interpose_init, so calling it is async-signal-safe
 * afterwards (the fatal-signal handler restores default actions with it); before, it makes the
 * raw system call. Async-signal-safe. */
SP_SIGNAL_SAFE int sp_real_sigaction(int signo, const struct sigaction *act,
                                     struct sigaction *oldact);

/* Creates a recorder thread (writer, wall-clock sampler) with the real pthread_create: it is
 * never registered, sampled or recorded, and it starts with every signal blocked so that the
 * program's signals and the sampling signal never land on it. Returns 0 or an errno value.
 * Not async-signal-safe. */
int sp_create_internal_thread(pthread_t *thread, void *(*start)(void *), void *arg);

/* The real _exit, for paths that must not finish the trace twice. Async-signal-safe. */
SP_SIGNAL_SAFE __attribute__((noreturn)) void sp_real_exit(int status);

#endif /* SPPROF_RECORDER_INTERPOSE_H */
