/* sampler.c: the sampling signal's handler and the timers that send it. The handler runs in
 * signal context: it writes only to the preallocated ring and never calls malloc, stdio or a
 * lock (sigsafe.h). Setup functions run in normal context and use the real sigaction (the
 * program's own calls go through interpose.c). */
#define _GNU_SOURCE
#include "recorder/sampler.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h> /* memset only */
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "recorder/interpose.h"
#include "recorder/unwind.h"
#include "recorder/wake.h"

/* initial-exec: libspprof.so is preloaded (or linked), so its TLS sits in the static block and
 * an access is one %fs-relative load; the general-dynamic model could call __tls_get_addr,
 * which may allocate, from the handler. */
static __thread sp_sampler_thread *tls_thread __attribute__((tls_model("initial-exec")));
__thread int sp_sampler_tls_busy __attribute__((tls_model("initial-exec")));
__thread _Atomic uint64_t sp_sampler_tls_deferred __attribute__((tls_model("initial-exec")));
static __thread int tls_in_dl __attribute__((tls_model("initial-exec")));

static _Atomic int g_mode;            /* sp_sampler_mode */
static _Atomic int g_signo;           /* 0 until installed; moves if the program takes it */
static int g_unwind;                  /* sp_unwind_method */
static uint64_t g_interval_ns;        /* for timers armed after install */
static unsigned char *g_base;         /* registry slots, for validating si_value */
static size_t g_stride;               /* bytes per slot */
static size_t g_capacity;             /* slots reserved */
static const _Atomic size_t *g_count; /* slots ever handed out */

SP_SIGNAL_SAFE static int current_tid(void) {
    return (int)syscall(SYS_gettid); /* a bare system call: safe in a handler */
}

SP_SIGNAL_SAFE size_t sp_sampler_entry_bytes(uint32_t max_depth) {
    return sizeof(sp_sample_entry) + (size_t)max_depth * sizeof(uint64_t);
}

SP_SIGNAL_SAFE int sp_sampler_set_in_dl(int in_dl) {
    int previous = tls_in_dl;
    tls_in_dl = in_dl;
    return previous;
}

SP_SIGNAL_SAFE sp_sampler_thread *sp_sampler_self(void) {
    return tls_thread;
}

SP_SIGNAL_SAFE void sp_sampler_forget_self(void) {
    tls_thread = NULL;
    /* A sample still deferred belongs to the thread's old slot (or to the parent's trace, in a
     * forked child): it must not land in whatever the thread records next. */
    atomic_store_explicit(&sp_sampler_tls_deferred, 0, memory_order_relaxed);
}

SP_SIGNAL_SAFE void sp_sampler_set_mode(sp_sampler_mode mode) {
    atomic_store(&g_mode, (int)mode);
}

SP_SIGNAL_SAFE sp_sampler_mode sp_sampler_get_mode(void) {
    return (sp_sampler_mode)atomic_load(&g_mode);
}

SP_SIGNAL_SAFE int sp_sampler_signo(void) {
    return atomic_load(&g_signo);
}

void sp_sampler_set_registry(void *base, size_t stride, size_t capacity,
                             const _Atomic size_t *count) {
    g_base = base;
    g_stride = stride;
    g_capacity = capacity;
    g_count = count;
}

/* Is p the address of a registry slot? Pointers come back in si_value, which a program could
 * also fill (sigqueue to itself): never dereference one that is not ours. */
SP_SIGNAL_SAFE static sp_sampler_thread *valid_slot(void *p) {
    uintptr_t a = (uintptr_t)p;
    uintptr_t base = (uintptr_t)g_base;
    if (g_base == NULL || a < base || a >= base + g_capacity * g_stride ||
        (a - base) % g_stride != 0) {
        return NULL;
    }
    return (sp_sampler_thread *)p;
}

/* ITIMER_PROF signals carry no pointer: find the calling thread's slot by tid (a scan, done once
 * per thread that was adopted rather than started through sp_sampler_start_self). */
SP_SIGNAL_SAFE static sp_sampler_thread *find_by_tid(int tid) {
    size_t n = g_count != NULL ? atomic_load(g_count) : 0;
    for (size_t i = 0; i < n; i++) {
        sp_sampler_thread *t = (sp_sampler_thread *)(void *)(g_base + i * g_stride);
        if (atomic_load(&t->live) && t->os_tid == tid) {
            return t;
        }
    }
    return NULL;
}

SP_SIGNAL_SAFE static void take_sample(sp_sampler_thread *t, void *ucontext, uint64_t weight) {
    uint64_t start_ns = sp_monotonic_ns();
    if (t->ring == NULL) {
        atomic_fetch_add_explicit(&t->dropped_noring, 1, memory_order_relaxed);
        return;
    }
    /* Room for the unwinder's scratch frames too (SP_UNWIND_SLACK); only what it keeps is
     * committed. */
    sp_sample_entry *e =
        sp_ring_reserve(t->ring, sp_sampler_entry_bytes(t->max_depth + SP_UNWIND_SLACK));
    if (e != NULL) {
        int truncated = 0;
        int forking = 0;
        int n;
        if (g_unwind == SP_UNWIND_FP) {
            if (t->stack_hi == 0) {
                /* Adopted thread: the writer finds the stack mapping holding this sp. */
                atomic_store_explicit(&t->sp_seen, sp_unwind_context_sp(ucontext),
                                      memory_order_relaxed);
            }
            n = sp_unwind_fp(ucontext, t->stack_hi, e->pcs, t->max_depth, &truncated);
        } else if (sp_unwind_enter(&t->unwinding)) {
            n = sp_unwind_native(ucontext, e->pcs, t->max_depth, &truncated);
            sp_unwind_leave(&t->unwinding);
        } else {
            forking = 1; /* a fork is under way (unwind.h): the sample is dropped */
            n = -1;
        }
        if (forking) {
            /* Nothing failed: a fork on some thread holds the unwinder (DROPS reason 6), not
             * an unwind failure. The reservation stays uncommitted. */
            atomic_fetch_add_explicit(&t->dropped_fork, 1, memory_order_relaxed);
        } else if (n <= 0) {
            sp_ring_count_drop(t->ring); /* leave the reservation uncommitted */
        } else {
            e->time_ns = start_ns;
            e->weight = weight;
            e->n_pcs = (uint32_t)n;
            e->flags = truncated ? SP_SAMPLE_TRUNCATED : 0u;
            sp_ring_commit(t->ring, sp_sampler_entry_bytes((uint32_t)n));
            /* Past half full, wake the writer now rather than at its next tick, so bursts
             * (short intervals, deep stacks) are drained before the ring overflows. */
            if (sp_ring_half_full(t->ring)) {
                sp_wake_writer();
            }
        }
    }
    atomic_fetch_add_explicit(&t->handler_ns, sp_monotonic_ns() - start_ns, memory_order_relaxed);
}

SP_SIGNAL_SAFE void sp_sampler_take_deferred(uintptr_t caller, uint32_t flags) {
    sp_sampler_thread *t = tls_thread;
    if (t == NULL || tls_in_dl || sp_sampler_tls_busy != 0) {
        return; /* not at a point where the sample can be taken: it stays pending */
    }
    sp_sampler_tls_busy = SP_SAMPLER_BUSY_HOOK; /* a signal meanwhile is deferred again */
    atomic_signal_fence(memory_order_seq_cst);
    /* One exchange: a signal between a read and a clear would lose its intervals. */
    uint64_t weight = atomic_exchange_explicit(&sp_sampler_tls_deferred, 0, memory_order_relaxed);
    sp_sample_entry *e = NULL;
    if (weight == 0 || atomic_load(&t->stopped)) {
        /* nothing waiting, or the recording ended meanwhile */
    } else if (t->ring == NULL) {
        atomic_fetch_add_explicit(&t->dropped_noring, 1, memory_order_relaxed);
    } else {
        e = sp_ring_reserve(t->ring, sp_sampler_entry_bytes(t->max_depth + SP_UNWIND_SLACK));
    }
    if (e != NULL) {
        uint64_t start_ns = sp_monotonic_ns();
        uint32_t capacity = t->max_depth + SP_UNWIND_SLACK;
        /* The frame-pointer chain under --unwind fp (for a thread whose stack top is known),
         * else libunwind through the fork gate; nothing while a fork is under way. */
        int got = sp_unwind_here(g_unwind == SP_UNWIND_FP ? t->stack_hi : 0, &t->unwinding, e->pcs,
                                 capacity);
        uint32_t n = got > 0 ? (uint32_t)got : 0;
        /* Keep the program's frames from the interposed function's caller outwards, and the
         * interposed function itself (malloc, free, dlopen...) as the innermost frame. */
        int at = sp_unwind_find(e->pcs, n, (uint64_t)caller);
        if (got < 0) {
            /* A fork is under way (unwind.h), as in the handler. */
            atomic_fetch_add_explicit(&t->dropped_fork, 1, memory_order_relaxed);
        } else if (at < 0) {
            sp_ring_count_drop(t->ring); /* the walk never reached the caller */
        } else {
            int truncated = 0;
            uint32_t kept = sp_unwind_keep(e->pcs, n, at > 0 ? (uint32_t)at - 1 : 0, capacity,
                                           t->max_depth, &truncated);
            e->time_ns = start_ns;
            e->weight = weight;
            e->n_pcs = kept;
            e->flags = (truncated ? SP_SAMPLE_TRUNCATED : 0u) | flags;
            sp_ring_commit(t->ring, sp_sampler_entry_bytes(kept));
            if (sp_ring_half_full(t->ring)) {
                sp_wake_writer();
            }
        }
        /* The recorder's time, as the handler's own is. */
        atomic_fetch_add_explicit(&t->handler_ns, sp_monotonic_ns() - start_ns,
                                  memory_order_relaxed);
    }
    atomic_signal_fence(memory_order_seq_cst);
    sp_sampler_tls_busy = 0;
}

SP_SIGNAL_SAFE static void on_signal(int signo, siginfo_t *info, void *ucontext) {
    int saved_errno = errno; /* the interrupted code may be between a call and its errno check */
    sp_sampler_thread *t = NULL;
    uint64_t weight = 1;
    int mode = atomic_load(&g_mode);
    /* Only our own timers' and requests' signals are samples; a signal from kill(2) or from a
     * timer of the program carries another si_code, value or sender. */
    if (mode == SP_SAMPLER_THREAD_CPU && info->si_code == SI_TIMER) {
        t = valid_slot(info->si_value.sival_ptr);
        if (t != NULL) {
            /* Overruns are the expirations the kernel merged into this one signal (CPU timers
             * are checked on the scheduler tick), so weight x interval is exact CPU time. */
            int overrun = timer_getoverrun(t->timer);
            weight = 1u + (overrun > 0 ? (uint64_t)overrun : 0u);
        }
    } else if (mode == SP_SAMPLER_WALL && info->si_code == SI_QUEUE && info->si_pid == getpid()) {
        t = valid_slot(info->si_value.sival_ptr);
        if (t != NULL) {
            weight = atomic_exchange(&t->wall_weight, 0);
        }
    } else if (mode == SP_SAMPLER_PROCESS_CPU && signo == SIGPROF && info->si_code == SI_KERNEL) {
        t = tls_thread;
    }
    int tid = t != NULL || mode == SP_SAMPLER_PROCESS_CPU ? current_tid() : 0;
    if (mode == SP_SAMPLER_PROCESS_CPU && (t == NULL || t->os_tid != tid)) {
        t = find_by_tid(tid);
    }
    /* A slot reused by another thread, or a request for a thread that has since ended: the tid
     * tells. Signals for a thread go to that thread only (SIGEV_THREAD_ID, rt_tgsigqueueinfo). */
    if (t != NULL && t->os_tid == tid) {
        atomic_store(&t->in_handler, 1);
        if (tls_thread != t) {
            tls_thread = t; /* adopted thread: remember it for later signals */
        }
        if (!atomic_load(&t->stopped) && weight > 0) {
            if (sp_sampler_tls_busy == SP_SAMPLER_BUSY_HOOK ||
                (sp_sampler_tls_busy == 0 && tls_in_dl)) {
                /* Inside an allocation hook (perhaps inside libunwind), or inside dlopen or
                 * dlclose (the loader lock libunwind would take): the interposed function
                 * takes the sample when it is done (sp_sampler_take_deferred), with the stack
                 * of its call. Dropping them lost up to half the samples of a fully traced
                 * thread, and every sample in a library's constructors. */
                atomic_fetch_add_explicit(&sp_sampler_tls_deferred, weight, memory_order_relaxed);
            } else if (sp_sampler_tls_busy) {
                /* Inside the recorder's own bookkeeping: do not re-enter, count it. */
                atomic_fetch_add_explicit(&t->dropped_busy, 1, memory_order_relaxed);
            } else {
                sp_sampler_tls_busy = 1;
                take_sample(t, ucontext, weight);
                sp_sampler_tls_busy = 0;
            }
        }
        atomic_store(&t->wall_pending, 0);
        atomic_store(&t->in_handler, 0);
    }
    errno = saved_errno;
}

int sp_sampler_handler_installed(int signo) {
    struct sigaction old;
    if (sp_real_sigaction(signo, NULL, &old) != 0) {
        return 0;
    }
    return (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_signal;
}

/* Installs on_signal for signo with the real sigaction. Returns 0, or -1 with *err filled. */
static int install_handler(int signo, sp_sampler_error *err) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    /* SA_RESTART: a sample must not make the program's read() fail with EINTR. The signal is
     * blocked while the handler runs (no SA_NODEFER), so a thread never nests samples. */
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sp_real_sigaction(signo, &sa, NULL) != 0) {
        *err = (sp_sampler_error){"cannot install the sampling signal's handler", errno};
        return -1;
    }
    return 0;
}

int sp_sampler_install(const sp_sampler_config *config, sp_sampler_error *err) {
    struct sigaction old;
    if (sp_real_sigaction(config->signo, NULL, &old) != 0) {
        *err = (sp_sampler_error){"cannot read the sampling signal's action", errno};
        return -1;
    }
    int has_handler = (old.sa_flags & SA_SIGINFO)
                          ? old.sa_sigaction != NULL
                          : (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    if (has_handler && old.sa_sigaction != on_signal) {
        *err = (sp_sampler_error){"the program has its own handler for the sampling signal", 0};
        return -1;
    }
    if (install_handler(config->signo, err) != 0) {
        return -1;
    }
    atomic_store(&g_signo, config->signo);
    g_unwind = (int)config->unwind;
    g_interval_ns = config->interval_ns;
    atomic_store(&g_mode, (int)config->mode);
    return 0;
}

static struct itimerspec interval_spec(uint64_t interval_ns) {
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)(interval_ns / 1000000000u);
    its.it_interval.tv_nsec = (long)(interval_ns % 1000000000u);
    its.it_value = its.it_interval;
    return its;
}

/* Creates and arms a timer on clock that sends the sampling signal to thread tid with t as its
 * value. Returns 0, or -1 with *err filled. */
static int arm_timer(sp_sampler_thread *t, clockid_t clock, int tid, sp_sampler_error *err) {
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    /* SIGEV_THREAD_ID: deliver to the thread whose CPU clock the timer follows; a
     * process-directed signal could land on any thread and sample the wrong stack. */
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = atomic_load(&g_signo);
    sev.sigev_value.sival_ptr = t;
#ifdef sigev_notify_thread_id
    sev.sigev_notify_thread_id = tid;
#else
    sev._sigev_un._tid = tid; /* glibc before 2.37 does not name the field */
#endif
    if (timer_create(clock, &sev, &t->timer) != 0) {
        *err = (sp_sampler_error){"cannot create a CPU-time timer", errno};
        return -1;
    }
    atomic_store(&t->timer_armed, 1);
    struct itimerspec its = interval_spec(g_interval_ns);
    if (timer_settime(t->timer, 0, &its, NULL) != 0) {
        *err = (sp_sampler_error){"cannot arm the CPU-time timer", errno};
        if (atomic_exchange(&t->timer_armed, 0)) {
            timer_delete(t->timer);
        }
        return -1;
    }
    return 0;
}

int sp_sampler_probe_thread_timer(int force_refuse, sp_sampler_error *err) {
    if (force_refuse) {
        *err =
            (sp_sampler_error){"per-thread CPU timers refused (SPPROF_TEST_PROCESS_TIMER)", EPERM};
        return -1;
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE; /* never fires: only whether timer_create is allowed */
    timer_t timer;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer) != 0) {
        *err = (sp_sampler_error){"per-thread CPU timers refused (timer_create)", errno};
        return -1;
    }
    timer_delete(timer);
    return 0;
}

int sp_sampler_start_self(sp_sampler_thread *t, sp_sampler_error *err) {
    int tid = current_tid();
    if (t->os_tid != tid) {
        t->os_tid = tid; /* the registry usually set it already, and the writer may read it */
    }
    atomic_store(&t->stopped, 0);
    tls_thread = t;
    atomic_store(&t->live, 1);
    if (atomic_load(&g_mode) == SP_SAMPLER_THREAD_CPU &&
        arm_timer(t, CLOCK_THREAD_CPUTIME_ID, t->os_tid, err) != 0) {
        atomic_store(&t->live, 0);
        tls_thread = NULL;
        return -1;
    }
    return 0;
}

/* The CPU clock of thread tid of this process, as pthread_getcpuclockid gives it: the kernel's
 * encoding ~tid << 3, per-thread bit 4, CPUCLOCK_SCHED 2. */
static clockid_t thread_cpu_clock(int tid) {
    return (clockid_t)((~(unsigned)tid << 3) | 4u | 2u);
}

int sp_sampler_move_signal(int signo, sp_sampler_error *err) {
    if (install_handler(signo, err) != 0) {
        return -1;
    }
    atomic_store(&g_signo, signo);
    return 0;
}

int sp_sampler_rearm(sp_sampler_thread *t, sp_sampler_error *err) {
    if (atomic_load(&g_mode) != SP_SAMPLER_THREAD_CPU || atomic_load(&t->stopped) ||
        !atomic_exchange(&t->timer_armed, 0)) {
        return 0; /* no timer of ours, or the thread is ending */
    }
    /* Deleting the timer also discards a signal of it still pending (Linux 6.13 on, where a
     * deleted timer's signal is dropped at delivery). */
    timer_delete(t->timer);
    return arm_timer(t, thread_cpu_clock(t->os_tid), t->os_tid, err);
}

int sp_sampler_start_other(sp_sampler_thread *t, int tid, sp_sampler_error *err) {
    t->os_tid = tid;
    atomic_store(&t->stopped, 0);
    atomic_store(&t->live, 1);
    if (atomic_load(&g_mode) == SP_SAMPLER_THREAD_CPU) {
        if (arm_timer(t, thread_cpu_clock(tid), tid, err) != 0) {
            atomic_store(&t->live, 0);
            return -1;
        }
    }
    return 0;
}

int sp_sampler_process_timer(uint64_t interval_ns, sp_sampler_error *err) {
    struct itimerval itv;
    memset(&itv, 0, sizeof itv);
    itv.it_interval.tv_sec = (time_t)(interval_ns / 1000000000u);
    itv.it_interval.tv_usec = (suseconds_t)(interval_ns % 1000000000u / 1000u);
    if (interval_ns > 0 && itv.it_interval.tv_sec == 0 && itv.it_interval.tv_usec == 0) {
        itv.it_interval.tv_usec = 1; /* below 1 us: the finest setitimer takes */
    }
    itv.it_value = itv.it_interval;
    if (setitimer(ITIMER_PROF, &itv, NULL) != 0) {
        *err = (sp_sampler_error){"cannot arm the process-wide timer (setitimer)", errno};
        return -1;
    }
    return 0;
}

void sp_sampler_stop_thread(sp_sampler_thread *t) {
    atomic_store(&t->stopped, 1);
    atomic_store(&t->live, 0);
    /* The writer thread (on a write error) and the exit path may both stop a thread. */
    if (atomic_exchange(&t->timer_armed, 0)) {
        timer_delete(t->timer);
    }
    /* A handler that started before `stopped` was set may still be writing to the ring. Wait for
     * it, unless it is this very thread's handler that we interrupted (exit() called from another
     * signal handler during a sample): that one cannot finish until we return. */
    if (tls_thread == t && sp_sampler_tls_busy) {
        return;
    }
    while (atomic_load(&t->in_handler)) {
        sched_yield();
    }
}

int sp_sampler_request(sp_sampler_thread *t, uint64_t weight) {
    atomic_fetch_add(&t->wall_weight, weight);
    if (atomic_exchange(&t->wall_pending, 1)) {
        return 0; /* the previous request has not been handled: it takes this weight too */
    }
    int signo = atomic_load(&g_signo);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = signo;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_ptr = t;
    /* rt_tgsigqueueinfo rather than tgkill: it carries t, which the handler checks, so a tid
     * reused by another thread meanwhile is not mistaken for this one. */
    if (syscall(SYS_rt_tgsigqueueinfo, getpid(), t->os_tid, signo, &si) != 0) {
        atomic_store(&t->wall_pending, 0);
        return -1;
    }
    return 0;
}
