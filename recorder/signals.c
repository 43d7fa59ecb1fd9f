/* signals.c: fatal-signal handling and the bookkeeping behind the interposed sigaction. The
 * fatal handler runs in signal context: it hands the trace to the writer thread through futex
 * words (writer_thread.h), waits a bounded time, restores the default action and lets the signal
 * kill the process. No malloc, no locks, no stdio (sigsafe.h). */
#define _GNU_SOURCE
#include "recorder/signals.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h> /* memset only */
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder/interpose.h"
#include "recorder/sampler.h"
#include "recorder/writer_thread.h"

#define MAX_SIGNO          65
#define FATAL_WAIT_NS      3000000000u /* flush budget before dying anyway (a lock may be held) */

/* Signals whose default action ends the process, which may therefore end a trace. */
static const int fatal_signals[] = {SIGHUP,  SIGINT,  SIGQUIT,   SIGILL,  SIGTRAP, SIGABRT,
                                    SIGBUS,  SIGFPE,  SIGUSR1,   SIGSEGV, SIGUSR2, SIGPIPE,
                                    SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM,
                                    SIGSYS,  SIGPWR};

enum { HELD_NONE = 0, HELD_FATAL = 1, HELD_SAMPLING = 2 };

static _Atomic int held[MAX_SIGNO];            /* HELD_* per signal */
static struct sigaction shadow[MAX_SIGNO];     /* what the program believes is installed */
static sp_signal_taken_fn taken_fn;

SP_SIGNAL_SAFE int sp_signals_held(int signo) {
    return signo > 0 && signo < MAX_SIGNO && atomic_load(&held[signo]) != HELD_NONE;
}

SP_SIGNAL_SAFE static void on_fatal(int signo, siginfo_t *info, void *ucontext) {
    (void)ucontext;
    sp_sampler_set_busy(1); /* no sample of this thread while it hands over */
    if (atomic_load(&held[signo]) == HELD_FATAL) {
        /* Flushing from here would be unsafe (the writer allocates, the crash may hold malloc's
         * lock): the writer thread does it, and we wait a bounded time. */
        sp_writer_thread_end_from_signal(signo, FATAL_WAIT_NS);
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sp_real_sigaction(signo, &dfl, NULL);
    atomic_store(&held[signo], HELD_NONE);
    /* A fault the kernel raised happens again when we return to the faulting instruction, now
     * with the default action: the same death, the same core dump. Anything else is sent again;
     * it stays blocked (it is in our sa_mask) until we return. */
    int fault = signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL;
    if (!(fault && info != NULL && info->si_code > 0)) {
        syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), signo);
    }
}

void sp_signals_own_sampling(int signo, const struct sigaction *previous,
                             sp_signal_taken_fn taken) {
    if (signo <= 0 || signo >= MAX_SIGNO) {
        return;
    }
    shadow[signo] = *previous;
    taken_fn = taken;
    atomic_store(&held[signo], HELD_SAMPLING);
}

int sp_signals_free_realtime(int avoid) {
    /* From the top: programs that use real-time signals tend to count up from SIGRTMIN. */
    for (int signo = SIGRTMAX; signo >= SIGRTMIN; signo--) {
        struct sigaction old;
        if (signo == avoid || signo >= MAX_SIGNO || atomic_load(&held[signo]) != HELD_NONE ||
            sp_real_sigaction(signo, NULL, &old) != 0) {
            continue;
        }
        int in_use = (old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != NULL
                                                 : old.sa_handler != SIG_DFL; /* SIG_IGN too */
        if (!in_use) {
            return signo;
        }
    }
    return 0;
}

void sp_signals_install_fatal(int except_signo) {
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        int signo = fatal_signals[i];
        struct sigaction old;
        if (signo == except_signo || atomic_load(&held[signo]) != HELD_NONE ||
            sp_real_sigaction(signo, NULL, &old) != 0 ||
            (!(old.sa_flags & SA_SIGINFO) && old.sa_handler != SIG_DFL)) {
            continue; /* the program's choice (a handler, or SIG_IGN): leave it alone */
        }
        if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction != NULL) {
            continue;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fatal;
        /* SA_ONSTACK: a program with an alternate stack gets its stack overflows flushed too.
         * Every signal blocked while we hand over: no sample, no second fatal signal midway. */
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        sigfillset(&sa.sa_mask);
        shadow[signo] = old;
        atomic_store(&held[signo], HELD_FATAL);
        if (sp_real_sigaction(signo, &sa, NULL) != 0) {
            atomic_store(&held[signo], HELD_NONE);
        }
    }
}

void sp_signals_uninstall_fatal(void) {
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        int signo = fatal_signals[i];
        int expected = HELD_FATAL;
        if (atomic_compare_exchange_strong(&held[signo], &expected, HELD_NONE)) {
            sp_real_sigaction(signo, &shadow[signo], NULL);
        }
    }
}

/* Does act install a function (rather than SIG_DFL or SIG_IGN)? */
static int installs_handler(const struct sigaction *act) {
    if (act->sa_flags & SA_SIGINFO) {
        return act->sa_sigaction != NULL;
    }
    return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

int sp_signals_sigaction(int signo, const struct sigaction *act, struct sigaction *oldact) {
    int h = signo > 0 && signo < MAX_SIGNO ? atomic_load(&held[signo]) : HELD_NONE;
    if (h == HELD_NONE) {
        return sp_real_sigaction(signo, act, oldact);
    }
    struct sigaction previous = shadow[signo];
    if (act != NULL) {
        if (h == HELD_SAMPLING && installs_handler(act)) {
            /* The program wants the sampling signal: sampling stops first, then it gets it. */
            atomic_store(&held[signo], HELD_NONE);
            if (taken_fn != NULL) {
                taken_fn(signo);
            }
            int rc = sp_real_sigaction(signo, act, NULL);
            if (rc == 0 && oldact != NULL) {
                *oldact = previous;
            }
            return rc;
        }
        if (h == HELD_FATAL && (installs_handler(act) || act->sa_handler == SIG_IGN)) {
            /* Its own handler, or ignoring it: the program's choice wins from now on. */
            atomic_store(&held[signo], HELD_NONE);
            int rc = sp_real_sigaction(signo, act, NULL);
            if (rc == 0 && oldact != NULL) {
                *oldact = previous;
            }
            return rc;
        }
        /* SIG_DFL (or SIG_IGN for the sampling signal): what our handler already does for the
         * program, so ours stays and the program's view changes. */
        shadow[signo] = *act;
    }
    if (oldact != NULL) {
        *oldact = previous;
    }
    return 0;
}
