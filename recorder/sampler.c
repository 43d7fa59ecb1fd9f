/* sampler.c: per-thread CPU timers and the SIGPROF handler. The handler runs in signal context:
 * it writes only to the preallocated ring and never calls malloc, stdio or a lock (sigsafe.h). */
#define _GNU_SOURCE
#include "recorder/sampler.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h> /* memset only */
#include <unistd.h>

#include "recorder/unwind.h"

/* initial-exec: libspprof.so is only ever preloaded, so its TLS sits in the static block and an
 * access is one %fs-relative load; the general-dynamic model could call __tls_get_addr, which may
 * allocate, from the handler. */
static __thread sp_sampler_thread *tls_thread __attribute__((tls_model("initial-exec")));
static __thread int tls_busy __attribute__((tls_model("initial-exec")));

SP_SIGNAL_SAFE static uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe per POSIX; a vDSO call here */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

SP_SIGNAL_SAFE size_t sp_sampler_entry_bytes(uint32_t max_depth) {
    return sizeof(sp_sample_entry) + (size_t)max_depth * sizeof(uint64_t);
}

SP_SIGNAL_SAFE int sp_sampler_set_busy(int busy) {
    int previous = tls_busy;
    tls_busy = busy;
    return previous;
}

SP_SIGNAL_SAFE static void take_sample(sp_sampler_thread *t, void *ucontext) {
    uint64_t start_ns = monotonic_ns();
    /* Overruns are the expirations the kernel merged into this one signal (CPU timers are checked
     * on the scheduler tick, so short intervals arrive in bursts); counting them keeps the CPU
     * time of a sample exact: weight x interval. */
    int overrun = timer_getoverrun(t->timer);
    sp_sample_entry *e = sp_ring_reserve(t->ring, sp_sampler_entry_bytes(t->max_depth));
    if (e != NULL) {
        int truncated = 0;
        int n = sp_unwind_native(ucontext, e->pcs, t->max_depth, &truncated);
        if (n <= 0) {
            sp_ring_count_drop(t->ring); /* leave the reservation uncommitted */
        } else {
            e->time_ns = start_ns;
            e->weight = 1u + (overrun > 0 ? (uint64_t)overrun : 0u);
            e->n_pcs = (uint32_t)n;
            e->flags = truncated ? SP_SAMPLE_TRUNCATED : 0u;
            sp_ring_commit(t->ring, sp_sampler_entry_bytes((uint32_t)n));
        }
    }
    atomic_fetch_add_explicit(&t->handler_ns, monotonic_ns() - start_ns, memory_order_relaxed);
}

SP_SIGNAL_SAFE static void on_sigprof(int signo, siginfo_t *info, void *ucontext) {
    (void)signo;
    int saved_errno = errno; /* the interrupted code may be between a call and its errno check */
    sp_sampler_thread *t = tls_thread;
    /* Only our own timers' signals are samples: a SIGPROF from kill(2) or another timer carries
     * another si_code or value. */
    if (t != NULL && info->si_code == SI_TIMER && info->si_value.sival_ptr == t) {
        atomic_store(&t->in_handler, 1);
        if (!atomic_load(&t->stopped)) {
            if (tls_busy) {
                sp_ring_count_drop(t->ring); /* inside the recorder already: do not re-enter */
            } else {
                tls_busy = 1;
                take_sample(t, ucontext);
                tls_busy = 0;
            }
        }
        atomic_store(&t->in_handler, 0);
    }
    errno = saved_errno;
}

int sp_sampler_install(sp_sampler_error *err) {
    struct sigaction old;
    if (sigaction(SIGPROF, NULL, &old) != 0) {
        *err = (sp_sampler_error){"cannot read the SIGPROF action", errno};
        return -1;
    }
    int has_handler = (old.sa_flags & SA_SIGINFO)
                          ? old.sa_sigaction != NULL
                          : (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    if (has_handler && old.sa_sigaction != on_sigprof) {
        *err = (sp_sampler_error){"SIGPROF already has a handler in this process", 0};
        return -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigprof;
    /* SA_RESTART: a sample must not make the program's read() fail with EINTR. SIGPROF itself is
     * blocked while the handler runs (no SA_NODEFER), so a thread never nests samples. */
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) != 0) {
        *err = (sp_sampler_error){"cannot install the SIGPROF handler", errno};
        return -1;
    }
    return 0;
}

int sp_sampler_start_thread(sp_sampler_thread *t, uint64_t interval_ns, sp_sampler_error *err) {
    t->os_tid = (int)gettid();
    tls_thread = t;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    /* SIGEV_THREAD_ID: deliver to this thread, the one whose CPU clock the timer follows; a
     * process-directed signal could land on any thread and sample the wrong stack. */
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_value.sival_ptr = t;
#ifdef sigev_notify_thread_id
    sev.sigev_notify_thread_id = t->os_tid;
#else
    sev._sigev_un._tid = t->os_tid; /* glibc before 2.37 does not name the field */
#endif
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t->timer) != 0) {
        *err = (sp_sampler_error){"cannot create a CPU-time timer", errno};
        tls_thread = NULL;
        return -1;
    }
    atomic_store(&t->timer_armed, 1);
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)(interval_ns / 1000000000u);
    its.it_interval.tv_nsec = (long)(interval_ns % 1000000000u);
    its.it_value = its.it_interval;
    if (timer_settime(t->timer, 0, &its, NULL) != 0) {
        *err = (sp_sampler_error){"cannot arm the CPU-time timer", errno};
        sp_sampler_stop_thread(t);
        tls_thread = NULL;
        return -1;
    }
    return 0;
}

void sp_sampler_stop_thread(sp_sampler_thread *t) {
    atomic_store(&t->stopped, 1);
    /* The writer thread (on a write error) and the exit path may both stop a thread. */
    if (atomic_exchange(&t->timer_armed, 0)) {
        timer_delete(t->timer);
    }
    /* A handler that started before `stopped` was set may still be writing to the ring. Wait for
     * it, unless it is this very thread's handler that we interrupted (exit() called from another
     * signal handler during a sample): that one cannot finish until we return. */
    if (tls_thread == t && tls_busy) {
        return;
    }
    while (atomic_load(&t->in_handler)) {
        sched_yield();
    }
}
