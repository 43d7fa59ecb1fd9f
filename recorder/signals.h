/* signals.h: the recorder and the program sharing signal dispositions. The recorder installs a
 * handler for each fatal signal the program left at its default, so that a crash or a kill
 * first ends the trace cleanly (END reason signal) and then dies exactly as it would have. The
 * interposed sigaction and signal come here: they show the program the disposition it set (not
 * ours), let it take any signal, and, when it takes the sampling signal, stop sampling rather
 * than break it. */
#ifndef SPPROF_RECORDER_SIGNALS_H
#define SPPROF_RECORDER_SIGNALS_H

#include <signal.h>
#include <stdint.h>

#include "recorder/sigsafe.h"

/* Called when the program installs its own handler for the sampling signal, before that
 * handler is installed; set by recording.c, which moves sampling to another signal (or stops
 * it) and says so. */
typedef void (*sp_signal_taken_fn)(int signo);

/* Notes that the recorder's handler is installed for the sampling signal signo (shadowing
 * `previous`, the disposition the program had), and who to tell if the program takes it.
 * Not async-signal-safe. */
void sp_signals_own_sampling(int signo, const struct sigaction *previous,
                             sp_signal_taken_fn taken);

/* A real-time signal the program leaves alone (default action, no handler, not ignored) and the
 * recorder does not hold, other than avoid: where sampling can move when the program takes its
 * signal. Returns 0 when there is none. Not async-signal-safe. */
int sp_signals_free_realtime(int avoid);

/* Installs the fatal-signal handler for every fatal signal (but except_signo) whose disposition
 * is the default. Not async-signal-safe. */
void sp_signals_install_fatal(int except_signo);

/* Gives back every fatal signal the recorder still holds (default action again).
 * Not async-signal-safe. */
void sp_signals_uninstall_fatal(void);

/* The interposed sigaction's logic: the real sigaction for signals the recorder does not hold;
 * for those it holds, the program's view. Returns what sigaction returns. A program calling
 * sigaction from its own handler is served the same way (the bookkeeping takes no lock).
 * Not async-signal-safe. */
int sp_signals_sigaction(int signo, const struct sigaction *act, struct sigaction *oldact);

/* Does the recorder hold signo right now (its handler installed, hidden from the program)?
 * Async-signal-safe. */
SP_SIGNAL_SAFE int sp_signals_held(int signo);

#endif /* SPPROF_RECORDER_SIGNALS_H */
