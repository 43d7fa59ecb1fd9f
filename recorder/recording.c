/* recording.c: starts and ends recordings, and carries them across fork and exec. It decides
 * the sampling clock before the header is written (per-thread CPU timers, or the process-wide
 * fallback when timer_create is refused, or the wall-clock sampler), and it never stops the
 * program: every failure is one stderr line and the program runs on. */
#define _GNU_SOURCE
#include "recorder/recording.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recorder/events.h"
#include "recorder/heap.h"
#include "recorder/interpose.h"
#include "recorder/log.h"
#include "recorder/signals.h"
#include "recorder/summary.h"
#include "recorder/threads.h"
#include "recorder/unwind.h"
#include "recorder/wake.h"
#include "recorder/wall.h"

#define SIGNAL_DRAIN_NS 100000000u /* wait for queued sampling requests before handing over */

static struct {
    pthread_mutex_t lock; /* serializes start and finish */
    _Atomic int started;  /* a recording exists in process `pid` */
    _Atomic pid_t pid;
    sp_start_kind kind;
    sp_options opt;
    sp_lineage lin;
    int summary;
    uint64_t setup_cpu_ns;
    int exec_restart; /* an exec was prepared: continue in `next` if it fails */
    sp_lineage next;
    _Atomic int taken_warned;
    int fork_locked;     /* the atfork prepare handler took the locks */
    int fork_was_active; /* the forking process was recording (set in prepare) */
} rec = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void name_child(int pid, char *out, size_t out_len) {
    sp_follow_name(&rec.opt, pid, 0, out, out_len);
}

/* Messages that every process of a run would repeat are printed by the first one only. */
static int chatty(void) {
    return rec.kind == SP_START_API || rec.opt.root_pid == 0 || getpid() == rec.opt.root_pid;
}

/* Stops every source of samples, so the writer's last drain sees every sample there will be. */
static void stop_sampling(void) {
    sp_heap_stop();
    sp_sampler_set_mode(SP_SAMPLER_OFF);
    sp_sampler_error ignored;
    sp_sampler_process_timer(0, &ignored);
    sp_wall_stop();
    sp_threads_disable();
    sp_threads_lock();
    for (sp_thread *t = sp_threads_head(); t != NULL; t = t->next) {
        sp_sampler_stop_thread(&t->s);
    }
    sp_threads_unlock();
}

/* Picks how samples are triggered. Per-thread CPU timers unless the wall clock was asked for;
 * where timer_create is refused (seccomp), the process-wide ITIMER_PROF. */
static sp_sampler_mode choose_mode(const sp_options *o, spt_clock *clock) {
    if (o->clock_wall) {
        *clock = SPT_CLOCK_WALL;
        return SP_SAMPLER_WALL;
    }
    sp_sampler_error err = {NULL, 0};
    if (sp_sampler_probe_thread_timer(o->force_process_timer, &err) == 0) {
        *clock = SPT_CLOCK_CPU_THREAD;
        return SP_SAMPLER_THREAD_CPU;
    }
    *clock = SPT_CLOCK_CPU_PROCESS;
    if (chatty()) {
        sp_log("spprof: %s: %s; sampling with one process-wide timer (ITIMER_PROF, SIGPROF) "
               "instead",
               err.what, strerror(err.errnum));
    }
    return SP_SAMPLER_PROCESS_CPU;
}

/* Where to sample when the program already has a handler for signal `taken` at start: in a
 * fork child of a process whose sampling moved, the signal it moved to (our handler is still
 * there); otherwise a free real-time signal. 0 when there is none. */
static int signal_to_start_on(int taken) {
    int inherited = sp_sampler_signo();
    if (inherited != 0 && inherited != taken && sp_sampler_handler_installed(inherited)) {
        return inherited;
    }
    return sp_signals_free_realtime(taken);
}

int sp_recording_start(const sp_options *o, const sp_lineage *lin, sp_start_kind kind, int summary,
                       char *err, size_t err_len) {
    uint64_t cpu_start = thread_cpu_ns();
    pthread_mutex_lock(&rec.lock);
    if (atomic_load(&rec.started) && atomic_load(&rec.pid) == getpid()) {
        pthread_mutex_unlock(&rec.lock);
        snprintf(err, err_len, "already recording into %s", rec.lin.path);
        return -1;
    }
    if (sp_options_check(o, err, err_len) != 0) {
        pthread_mutex_unlock(&rec.lock);
        return -1;
    }
    rec.opt = *o;
    rec.lin = *lin;
    rec.kind = kind;
    /* One summary line per run, from its first process; followed children stay quiet. */
    rec.summary = summary && !o->quiet && (o->root_pid == 0 || getpid() == o->root_pid);
    sp_interpose_init();
    int rc = sp_unwind_init();
    if (rc != 0) {
        snprintf(err, err_len, "cannot configure libunwind (error %d)", rc);
        pthread_mutex_unlock(&rec.lock);
        return -1;
    }
    spt_clock clock = SPT_CLOCK_CPU_THREAD;
    sp_sampler_mode mode = choose_mode(o, &clock);
    int signo = mode == SP_SAMPLER_PROCESS_CPU ? SIGPROF : o->signo; /* setitimer: SIGPROF */

    /* The wall-clock sampler's ring comes out of the same memory limit as the threads'. */
    size_t wall_ring = mode == SP_SAMPLER_WALL ? (size_t)(o->memory_limit_bytes / 8) : 0;
    size_t pow2 = 4096;
    while (pow2 * 2 <= wall_ring) {
        pow2 *= 2;
    }
    wall_ring = wall_ring > 0 ? pow2 : 0;
    sp_threads_config tc = {o->max_depth, o->memory_limit_bytes, wall_ring};
    if (sp_threads_setup(&tc, err, err_len) != 0) {
        pthread_mutex_unlock(&rec.lock);
        return -1;
    }
    if (mode == SP_SAMPLER_WALL &&
        sp_wall_start(o->interval_ns, o->max_depth, wall_ring, err, err_len) != 0) {
        pthread_mutex_unlock(&rec.lock);
        return -1;
    }
    /* ---- allocation recording (heap.h): configured before the writer writes the header's
     * allocation mode, started once the writer runs. ---- */
    sp_heap_config hc = {o->alloc_spec[0] != '\0' ? o->alloc_spec : NULL, o->max_depth,
                         sp_wake_writer, o->unwind == SP_UNWIND_FP};
    const char *why = NULL;
    if (sp_heap_configure(&hc, &why) != 0) {
        snprintf(err, err_len, "%s", why != NULL ? why : "cannot configure allocation recording");
        sp_wall_stop();
        sp_wall_release();
        pthread_mutex_unlock(&rec.lock);
        return -1;
    }
    /* After sp_heap_configure registered the allocation hooks' fork handlers: ours then run
     * after theirs in the child (registration order), when malloc's hooks work again. */
    sp_recording_install_atfork();
    struct timespec wall_ts, mono_ts;
    clock_gettime(CLOCK_REALTIME, &wall_ts);
    clock_gettime(CLOCK_MONOTONIC, &mono_ts);
    sp_writer_config wc = {
        .output_path = lin->path,
        .interval_ns = o->interval_ns,
        .max_depth = o->max_depth,
        .trace_id = o->trace_id,
        .start_wall_ns = (uint64_t)wall_ts.tv_sec * 1000000000u + (uint64_t)wall_ts.tv_nsec,
        .start_mono_ns = (uint64_t)mono_ts.tv_sec * 1000000000u + (uint64_t)mono_ts.tv_nsec,
        .clock = clock,
        .parent_trace = lin->parent,
        .max_size_bytes = o->max_size_bytes,
        .remote_ring = sp_wall_ring(),
        .extra_cpu_ns = mode == SP_SAMPLER_WALL ? sp_wall_cpu_ns : NULL,
        .summary_on_signal = rec.summary,
        .unwind_fp = o->unwind == SP_UNWIND_FP,
        .system_lines = o->system_lines,
    };
    if (sp_writer_thread_start(&wc, err, err_len) != 0) {
        sp_wall_stop();
        sp_wall_release();
        pthread_mutex_unlock(&rec.lock);
        return -1;
    }
    atomic_store(&rec.pid, getpid());
    atomic_store(&rec.started, 1);
    rec.exec_restart = 0;

    struct sigaction previous;
    sp_real_sigaction(signo, NULL, &previous);
    sp_sampler_config sc = {mode, signo, o->unwind, o->interval_ns};
    sp_sampler_error serr = {NULL, 0};
    int installed = sp_sampler_install(&sc, &serr);
    /* errnum 0: the program has a handler there (a failing sigaction sets errnum). The program
     * owns the signal already (a library constructor, or a handler inherited across fork):
     * sample on a real-time signal it leaves alone, as when it takes the signal later
     * (sp_recording_signal_taken). */
    int to = installed != 0 && serr.errnum == 0 && mode != SP_SAMPLER_PROCESS_CPU
                 ? signal_to_start_on(signo)
                 : 0;
    if (to != 0) {
        sc.signo = to;
        sp_real_sigaction(to, NULL, &previous);
        installed = sp_sampler_install(&sc, &serr);
        if (installed == 0) {
            sp_log("spprof: %s (pid %d) has its own handler for signal %d (%s); sampling on "
                   "signal %d (%s) instead",
                   program_invocation_short_name, (int)getpid(), signo, strsignal(signo), to,
                   strsignal(to));
            signo = to;
        }
    }
    if (installed != 0) {
        /* The program owns the signal and there is nowhere to move (the process-wide timer
         * sends only SIGPROF, or every real-time signal is taken): record without samples
         * rather than take it away. */
        sp_sampler_set_mode(SP_SAMPLER_OFF);
        mode = SP_SAMPLER_OFF;
        sp_log("spprof: %s (pid %d): %s%s%s; recording without CPU samples (spprof-record "
               "--signal picks another signal)",
               program_invocation_short_name, (int)getpid(), serr.what, serr.errnum ? ": " : "",
               serr.errnum ? strerror(serr.errnum) : "");
    } else if (!sp_signals_held(signo)) {
        sp_signals_own_sampling(signo, &previous, sp_recording_signal_taken);
    }
    sp_events_enable(1, name_child);
    sp_threads_enable();
    sp_threads_register_self(0);
    sp_threads_adopt_existing();
    if (mode == SP_SAMPLER_PROCESS_CPU && sp_sampler_process_timer(o->interval_ns, &serr) != 0) {
        sp_log("spprof: %s: %s; recording without CPU samples", serr.what, strerror(serr.errnum));
        sp_sampler_set_mode(SP_SAMPLER_OFF);
    }
    sp_signals_install_fatal(signo);
    if (kind == SP_START_PRELOAD) {
        sp_follow_publish(&rec.opt, &rec.lin);
    }
    /* Allocation recording (heap.h), last: the writer runs now, and the recorder's own setenv
     * calls above must not be recorded as the program's allocations. */
    sp_heap_start();
    rec.setup_cpu_ns = thread_cpu_ns() - cpu_start;
    pthread_mutex_unlock(&rec.lock);
    return 0;
}

int sp_recording_finish(spt_end_reason reason, int status, sp_writer_summary *out) {
    pthread_mutex_lock(&rec.lock);
    if (!atomic_load(&rec.started) || atomic_load(&rec.pid) != getpid()) {
        pthread_mutex_unlock(&rec.lock);
        return -1;
    }
    stop_sampling();
    sp_events_enable(0, NULL);
    sp_writer_summary s;
    sp_writer_thread_finish(reason, status, rec.setup_cpu_ns, &s);
    sp_wall_release();
    sp_threads_teardown();
    sp_signals_uninstall_fatal();
    atomic_store(&rec.started, 0);
    int print = rec.summary && reason != SPT_END_EXEC;
    pthread_mutex_unlock(&rec.lock);
    if (print && strcmp(s.error, "not recording") != 0) {
        sp_summary_print(&s);
    }
    if (out != NULL) {
        *out = s;
    }
    return 0;
}

int sp_recording_active(void) {
    return atomic_load(&rec.started) && atomic_load(&rec.pid) == getpid() &&
           sp_writer_thread_active();
}

int sp_recording_started(void) {
    return atomic_load(&rec.started) && atomic_load(&rec.pid) == getpid();
}

const sp_options *sp_recording_options(void) {
    return &rec.opt;
}

pid_t sp_recording_pid(void) {
    return atomic_load(&rec.started) ? atomic_load(&rec.pid) : 0;
}

int sp_recording_follows_children(void) {
    return rec.kind == SP_START_PRELOAD && rec.opt.follow && sp_recording_active();
}

/* Waits (at most SIGNAL_DRAIN_NS) until no wall-clock request is on its way to any thread, so
 * that none queued on the sampling signal reaches the program's handler once it has the signal.
 * Registry lock held. */
static void wait_for_queued_requests(void) {
    for (uint64_t waited = 0; waited < SIGNAL_DRAIN_NS; waited += 1000000u) {
        int pending = 0;
        for (sp_thread *t = sp_threads_head(); t != NULL; t = t->next) {
            pending |= atomic_load(&t->s.wall_pending);
        }
        if (!pending) {
            break;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

/* Moves sampling off signal `from`, which the program is taking, to a real-time signal it leaves
 * alone: the handler there, then every armed timer re-created on it under the registry lock
 * (threads arm theirs under it too), then wall-clock requests already queued on `from` given a
 * moment to arrive while our handler still has it. Returns the new signal, or 0 when there is
 * none to move to. */
static int move_sampling(int from) {
    int to = sp_signals_free_realtime(from);
    struct sigaction previous;
    if (to == 0 || sp_real_sigaction(to, NULL, &previous) != 0) {
        return 0;
    }
    sp_sampler_error err = {NULL, 0};
    int unsampled = 0;
    sp_threads_lock();
    if (sp_sampler_move_signal(to, &err) != 0) {
        sp_threads_unlock();
        return 0;
    }
    for (sp_thread *t = sp_threads_head(); t != NULL; t = t->next) {
        unsampled += sp_sampler_rearm(&t->s, &err) != 0;
    }
    wait_for_queued_requests();
    sp_threads_unlock();
    sp_signals_own_sampling(to, &previous, sp_recording_signal_taken);
    if (unsampled > 0) {
        sp_log("spprof: %s%s%s; %d threads are no longer sampled", err.what, err.errnum ? ": " : "",
               err.errnum ? strerror(err.errnum) : "", unsampled);
    }
    return to;
}

void sp_recording_signal_taken(int signo) {
    if (!sp_recording_started()) {
        return;
    }
    sp_sampler_mode mode = sp_sampler_get_mode();
    int to = mode == SP_SAMPLER_THREAD_CPU || mode == SP_SAMPLER_WALL ? move_sampling(signo) : 0;
    if (to != 0) {
        /* Named, because in a pipeline or a build the user cannot tell which program it was
         * (GNU sort, for one, installs a cleanup handler for SIGPROF). */
        sp_log("spprof: %s (pid %d) installs its own handler for signal %d (%s), which sampling "
               "used; sampling moved to signal %d (%s)",
               program_invocation_short_name, (int)getpid(), signo, strsignal(signo), to,
               strsignal(to));
        return;
    }
    sp_sampler_set_mode(SP_SAMPLER_OFF);
    sp_sampler_error ignored;
    sp_sampler_process_timer(0, &ignored);
    sp_threads_lock();
    for (sp_thread *t = sp_threads_head(); t != NULL; t = t->next) {
        sp_sampler_stop_thread(&t->s);
    }
    /* Wall-clock requests already queued would reach the program's new handler: give them a
     * moment to be delivered to ours (which ignores them now). */
    wait_for_queued_requests();
    sp_threads_unlock();
    if (!atomic_exchange(&rec.taken_warned, 1)) {
        sp_log("spprof: %s (pid %d) installs its own handler for signal %d (%s), which sampling "
               "uses; sampling stopped, its trace goes on without CPU samples "
               "(spprof-record --signal picks another signal)",
               program_invocation_short_name, (int)getpid(), signo, strsignal(signo));
    }
}

void sp_recording_exiting(int status) {
    if (sp_recording_started()) {
        sp_recording_finish(SPT_END_EXIT, status & 0xff, NULL);
    }
}

/* ---- fork ---------------------------------------------------------------------------------- */

/* Holds every lock the recorder's threads take, so the child never inherits one held by a
 * thread that does not exist there (the writer mid-drain, the sampler mid-tick). */
static void fork_prepare(void) {
    pthread_mutex_lock(&rec.lock);
    rec.fork_locked = 1;
    rec.fork_was_active =
        atomic_load(&rec.started) && atomic_load(&rec.pid) == getpid() && sp_writer_thread_active();
    sp_wall_hold();
    sp_writer_thread_fork_prepare();
    sp_threads_lock();
    sp_events_lock();
    /* Last, once the writer is held: no thread may be inside libunwind (unwind.h). */
    uint64_t deadline_ns = sp_unwind_gate_close();
    sp_threads_wait_unwinders(deadline_ns);
    sp_heap_wait_unwinders(deadline_ns);
}

static void fork_parent(void) {
    sp_unwind_gate_open(0);
    sp_events_unlock();
    sp_threads_unlock();
    sp_writer_thread_fork_parent();
    sp_wall_release_hold();
    rec.fork_locked = 0;
    pthread_mutex_unlock(&rec.lock);
}

static void fork_child(void) {
    int was_recording = rec.fork_was_active;
    sp_unwind_gate_open(1);
    pthread_mutex_init(&rec.lock, NULL);
    rec.fork_locked = 0;
    sp_events_after_fork_child();
    sp_threads_after_fork_child();
    sp_writer_thread_fork_child();
    sp_wall_after_fork_child();
    sp_signals_uninstall_fatal();
    atomic_store(&rec.started, 0);
    atomic_store(&rec.pid, 0);
    sp_sampler_set_mode(SP_SAMPLER_OFF);
    sp_heap_stop(); /* allocation recording (heap.h): restarted below if the child is followed */
    if (!was_recording || !rec.opt.follow) {
        return;
    }
    sp_lineage child;
    sp_follow_fork_child(&rec.opt, &rec.lin, (int)getpid(), &child);
    char err[512];
    if (sp_recording_start(&rec.opt, &child, rec.kind, rec.summary, err, sizeof err) != 0) {
        sp_log("spprof: fork child %d: %s; running unprofiled", (int)getpid(), err);
    }
}

void sp_recording_install_atfork(void) {
    static _Atomic int done;
    if (!atomic_exchange(&done, 1)) {
        pthread_atfork(fork_prepare, fork_parent, fork_child);
    }
}

void sp_recording_forked(pid_t child) {
    if (child > 0 && rec.opt.follow && sp_recording_active()) {
        char path[PATH_MAX];
        sp_follow_name(&rec.opt, (int)child, 0, path, sizeof path);
        sp_events_child(SPT_CHILD_FORK, (int)child, path);
    }
}

void sp_recording_spawned(pid_t child) {
    if (child > 0 && sp_recording_follows_children()) {
        char path[PATH_MAX];
        sp_follow_name(&rec.opt, (int)child, 0, path, sizeof path);
        sp_events_child(SPT_CHILD_SPAWN, (int)child, path);
    }
}

/* ---- exec ---------------------------------------------------------------------------------- */

int sp_recording_before_exec(void) {
    if (!atomic_load(&rec.started)) {
        return 0;
    }
    if (atomic_load(&rec.pid) != getpid()) {
        /* A vfork child (it shares the parent's memory and must not lock or allocate), or a
         * child cloned behind fork's back: only tell the parent's writer about it. */
        if (rec.kind == SP_START_PRELOAD && rec.opt.follow) {
            sp_events_note_spawn((int)getpid());
        }
        return 0;
    }
    sp_lineage next;
    sp_follow_next_exec(&rec.opt, &rec.lin, &next);
    if (rec.kind == SP_START_PRELOAD && rec.opt.follow && sp_recording_active()) {
        sp_events_child(SPT_CHILD_EXEC, (int)getpid(), next.path);
    }
    /* A pending sampling request would outlive the exec and kill the new image (its default
     * action): stop sampling, then take any that is still queued for this thread. */
    sp_recording_finish(SPT_END_EXEC, 0, NULL);
    int signo = sp_sampler_signo();
    if (signo > 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, signo);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&set, NULL, &zero) == signo) {
        }
    }
    rec.next = next;
    rec.exec_restart = 1;
    return 1;
}

void sp_recording_exec_failed(void) {
    if (!rec.exec_restart) {
        return;
    }
    rec.exec_restart = 0;
    sp_lineage next = rec.next;
    char err[512];
    int saved_errno = errno; /* the caller returns exec's errno to the program */
    if (sp_recording_start(&rec.opt, &next, rec.kind, rec.summary, err, sizeof err) != 0) {
        sp_log("spprof: %s; running unprofiled", err);
    }
    errno = saved_errno;
}
