/* writer_thread.c: the background thread that turns ring entries into trace records; the only
 * code that writes the trace file. It runs with every signal blocked and never in a handler;
 * handlers reach it only through futex words (sp_writer_thread_end_from_signal). */
#define _GNU_SOURCE
#include "recorder/writer_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "recorder/alloc_drain.h"
#include "recorder/events.h"
#include "recorder/heap.h"
#include "recorder/interpose.h"
#include "recorder/log.h"
#include "recorder/procinfo.h"
#include "recorder/summary.h"
#include "recorder/symbols.h"
#include "recorder/threads.h"
#include "recorder/version.h"
#include "recorder/wake.h"
#include "recorder/wall.h"
#include "recorder/writer_state.h"

#define WAKE_PERIOD_NS  100000000u  /* drain every 100 ms: ~10 samples per ring at 100 Hz */
#define FLUSH_PERIOD_NS 1000000000u /* docs/format.md section 1: lose at most ~1 s on SIGKILL */

/* The writer's state (writer_state.h), shared with writer_samples.c. */
sp_writer_state sp_writer_g = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_MUTEX_INITIALIZER,
    .fd = -1,
};

uint64_t sp_writer_clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sp_writer_trace_now_ns(void) {
    return clock_ns(CLOCK_MONOTONIC) - g.start_mono_ns;
}

/* Trace time of a CLOCK_MONOTONIC instant (times before the start count as the start). */
uint64_t sp_writer_trace_time(uint64_t mono_ns) {
    return mono_ns > g.start_mono_ns ? mono_ns - g.start_mono_ns : 0;
}

/* Stops every source of samples: handlers see the mode off at once, timers are deleted, new
 * threads are no longer registered. Used when the writer itself ends the trace (a fatal
 * signal, --max-size, a write error); the normal end is stopped by recording.c first. */
void sp_writer_stop_all_sampling(void) {
    sp_heap_stop();
    sp_sampler_set_mode(SP_SAMPLER_OFF);
    sp_threads_disable();
    sp_sampler_error ignored;
    sp_sampler_process_timer(0, &ignored);
    sp_threads_lock();
    for (sp_thread *t = sp_threads_head(); t != NULL; t = t->next) {
        sp_sampler_stop_thread(&t->s);
    }
    sp_threads_unlock();
}

/* Records the first error once (why, or the writer's own message when why is NULL), says so on
 * stderr, and stops sampling: with nowhere to put samples the program should stop paying for
 * them. The program keeps running. */
void sp_writer_fail(const char *why) {
    if (g.failed) {
        return;
    }
    g.failed = 1;
    if (why != NULL) {
        snprintf(g.error, sizeof g.error, "%.300s: %s", g.path, why);
    } else {
        snprintf(g.error, sizeof g.error, "%s", spt_writer_error(g.w));
    }
    sp_log("spprof: %s; recording stopped", g.error);
    stop_all_sampling();
}

/* ---- allocations: the sink alloc_drain.c writes through ---------------------------------- */

/* Interns an allocation stack (return addresses, innermost first) with the samples' symbolizer,
 * so both share frame and stack ids. Every address is a return address: looked up at pc - 1. */
static uint32_t alloc_stack(void *ctx, const uint64_t *pcs, uint32_t n_pcs, int truncated) {
    (void)ctx;
    if (g.symbols == NULL && (g.symbols = sp_symbols_create(g.w, g.config.system_lines)) == NULL) {
        fail("out of memory for the symbol tables");
        return 0;
    }
    g.n_frames = 0;
    if (truncated) {
        if (g.truncated_frame == 0) {
            g.truncated_frame = sp_symbols_synthetic(g.symbols, "[truncated]");
        }
        if (g.truncated_frame == 0 || reserve_frames(1) != 0) {
            fail(NULL);
            return 0;
        }
        g.frames[g.n_frames++] = g.truncated_frame;
    }
    for (uint32_t i = n_pcs; i-- > 0;) {
        const uint32_t *ids = NULL;
        size_t n = sp_symbols_frames(g.symbols, pcs[i], 1, &ids);
        if (n == 0 || reserve_frames(n) != 0) {
            fail(n == 0 ? NULL : "out of memory for a stack");
            return 0;
        }
        memcpy(g.frames + g.n_frames, ids, n * sizeof *ids);
        g.n_frames += n;
    }
    size_t skip = g.n_frames > SPT_MAX_STACK_DEPTH ? g.n_frames - SPT_MAX_STACK_DEPTH : 0;
    return spt_writer_stack_path(g.w, g.frames + skip, g.n_frames - skip);
}

/* The trace id of the thread that allocated: the registry slot with that tid whose lifetime
 * covers the event (a recycled tid has an older, ended slot too); a thread the registry does
 * not know (started by a raw clone, or already recycled) is defined here, named from /proc. */
static uint32_t alloc_thread(void *ctx, int os_tid, uint64_t mono_ns, int *defined_here) {
    size_t n = *(const size_t *)ctx;
    sp_thread *best = NULL;
    uint64_t best_end = 0;
    for (size_t i = 0; i < n; i++) {
        sp_thread *t = g.snap[i];
        uint64_t end = atomic_load(&t->end_ns);
        if (t->s.os_tid == os_tid && t->w_id != 0 && (end == 0 || end >= mono_ns) &&
            (best == NULL || (end != 0 && (best_end == 0 || end < best_end)))) {
            best = t;
            best_end = end;
        }
    }
    *defined_here = best == NULL;
    if (best != NULL) {
        return best->w_id;
    }
    char path[64], name[17] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", os_tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t len = fd >= 0 ? read(fd, name, 16) : 0;
    if (fd >= 0) {
        close(fd);
    }
    while (len > 0 && (name[len - 1] == '\n' || name[len - 1] == '\0')) {
        len--;
    }
    name[len > 0 ? len : 0] = '\0';
    uint32_t name_id = spt_writer_cstring(g.w, name);
    uint32_t id = name_id != 0 || name[0] == '\0'
                      ? spt_writer_thread(g.w, (uint32_t)os_tid, name_id, trace_time(mono_ns))
                      : 0;
    if (id == 0) {
        fail(NULL);
        return 0;
    }
    atomic_fetch_add(&g.threads, 1);
    return id;
}

static int alloc_can_write(void *ctx) {
    (void)ctx;
    if (!g.capped && at_cap()) {
        g.capped = 1; /* as record_sample: the caller ends the trace after this pass */
    }
    return !g.capped;
}

/* Allocation events of every thread, merged in time order (alloc_drain.c). The final drain
 * (finish) takes everything: the hooks were stopped first. */
static void drain_allocs(size_t n_threads) {
    if (sp_heap_mode() == SPT_ALLOC_OFF) {
        return;
    }
    if (g.failed || g.capped) {
        sp_alloc_drain_discard(); /* keep the rings from filling: nothing will be written */
        return;
    }
    sp_alloc_sink sink = {g.w,          g.start_mono_ns, alloc_stack,
                          alloc_thread, alloc_can_write, &n_threads};
    if (sp_alloc_drain(&sink, atomic_load(&g.stop) != 0) != 0) {
        fail(NULL);
    }
}

/* One pass: threads defined and renamed, events, every ring drained, ended threads recorded
 * and (one pass later, when no sample can still name them) recycled. */
static void drain(void) {
    g.pass++;
    if (!g.failed && check_fd() != 0) {
        return;
    }
    size_t n = sp_threads_snapshot(&g.snap, &g.snap_cap);
    /* Slots whose THREAD_END went out in an earlier pass: nothing refers to them any more. */
    for (size_t i = 0; i < n; i++) {
        if (g.snap[i]->w_end_written) {
            g.handler_ns_recycled += atomic_load(&g.snap[i]->s.handler_ns);
            sp_threads_recycle(g.snap[i]);
            g.snap[i] = NULL;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (g.snap[i] != NULL) {
            g.snap[k++] = g.snap[i];
        }
    }
    n = k;
    for (size_t i = 0; i < n && !g.failed && !g.capped; i++) {
        define_thread(g.snap[i]);
    }
    if (!g.failed && !g.capped) {
        write_events(n);
    }
    drain_allocs(n);
    if (g.config.remote_ring != NULL) {
        drain_remote();
    }
    if (g.config.unwind_fp) {
        resolve_stack_tops(n);
    }
    for (size_t i = 0; i < n; i++) {
        drain_thread(g.snap[i]);
    }
    write_drops(SPT_DROP_TRUNCATED_STACK, g.truncated_pending);
    g.truncated_pending = 0;
}

static void maybe_flush(void) {
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    if (g.failed || now - g.last_flush_ns < FLUSH_PERIOD_NS) {
        return;
    }
    g.last_flush_ns = now;
    if (spt_writer_raw_bytes(g.w) == g.raw_at_flush) {
        return; /* nothing new: an idle program costs no flush records */
    }
    if (spt_writer_flush(g.w) != SPT_OK) {
        fail(NULL);
    }
    g.raw_at_flush = spt_writer_raw_bytes(g.w);
}

/* A program that installed its own handler for the sampling signal without going through the
 * interposed sigaction (a raw system call, sigset): stop sampling rather than feed it our
 * signals, and say so once. */
static void check_signal_owner(void) {
    sp_sampler_mode mode = sp_sampler_get_mode();
    if (mode == SP_SAMPLER_OFF || g.signal_warned ||
        sp_sampler_handler_installed(sp_sampler_signo())) {
        return;
    }
    g.signal_warned = 1;
    stop_all_sampling();
    sp_log("spprof: the program replaced the handler of signal %d, which sampling uses; "
           "sampling stopped (choose another with --signal)",
           sp_sampler_signo());
}

/* Writes END and closes the file (docs/format.md section 5.4); fills g.summary. */
static void finish_trace(void) {
    if (!g.capped && !g.failed) {
        drain(); /* at the cap nothing more may be written but END */
    }
    spt_end end;
    memset(&end, 0, sizeof end);
    end.reason = g.end_reason;
    end.status = g.end_status;
    end.duration_ns = trace_now_ns();
    end.dropped_samples = atomic_load(&g.dropped);
    uint64_t handler_ns = g.handler_ns_recycled;
    size_t n = sp_threads_snapshot(&g.snap, &g.snap_cap);
    for (size_t i = 0; i < n; i++) {
        handler_ns += atomic_load_explicit(&g.snap[i]->s.handler_ns, memory_order_relaxed);
    }
    end.recorder_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) + handler_ns + g.setup_cpu_ns +
                          (g.config.extra_cpu_ns != NULL ? g.config.extra_cpu_ns() : 0);
    end.process_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    sp_alloc_drain_end(&end); /* allocs_seen, dropped_allocs */
    uint64_t allocs_recorded = sp_alloc_drain_recorded();
    int was_failed = g.failed;
    spt_status st = spt_writer_close(g.w, was_failed ? NULL : &end);
    if (st != SPT_OK && !was_failed) {
        /* The writer is freed by close, so only its status is left to report. */
        snprintf(g.error, sizeof g.error, "%.300s: cannot finish the trace (%s)", g.path,
                 spt_status_name(st));
    }
    g.w = NULL;
    sp_alloc_drain_release();
    sp_symbols_destroy(g.symbols);
    g.symbols = NULL;
    free(g.frames);
    g.frames = NULL;
    g.n_frames = g.cap_frames = 0;
    free(g.snap);
    g.snap = NULL;
    g.snap_cap = 0;
    sp_writer_summary *s = &g.summary;
    memset(s, 0, sizeof *s);
    struct stat sb;
    s->file_bytes = fstat(g.fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    atomic_store(&g.file_bytes, s->file_bytes);
    close(g.fd);
    g.fd = -1;
    s->duration_ns = end.duration_ns;
    s->samples = atomic_load(&g.samples);
    s->sample_weight = g.sample_weight;
    s->hook_sample_weight = g.hook_weight;
    s->dropped_samples = end.dropped_samples;
    s->recorder_cpu_ns = end.recorder_cpu_ns;
    s->process_cpu_ns = end.process_cpu_ns;
    s->threads = atomic_load(&g.threads);
    s->children = g.children;
    s->allocs_seen = end.allocs_seen;
    s->allocs_recorded = allocs_recorded;
    s->interval_ns = g.config.interval_ns;
    s->clock = g.config.clock;
    s->reason = end.reason;
    s->status = end.status;
    s->ok = st == SPT_OK && !was_failed;
    snprintf(s->path, sizeof s->path, "%s", g.path);
    snprintf(s->error, sizeof s->error, "%s", s->ok ? "" : g.error);
}

static void *writer_main(void *arg) {
    (void)arg;
    /* Marks this thread as inside the recorder for good, so the allocation hooks never record
     * the writer's own allocations. */
    sp_sampler_set_busy(1);
    atomic_store(&g.writer_tid, (int)gettid());
    for (;;) {
        /* Read the wake word before looking at the conditions, so a post that comes after the
         * look ends the wait below at once. */
        uint32_t seen = sp_wake_writer_seen();
        if (atomic_load(&g.stop) || atomic_load(&g.fatal_signo) != 0) {
            break;
        }
        pthread_mutex_lock(&g.work);
        uint32_t req = atomic_load(&g.drain_req);
        drain();
        maybe_flush();
        check_signal_owner();
        if (g.w != NULL) {
            atomic_store(&g.file_bytes, spt_writer_file_bytes(g.w));
        }
        pthread_mutex_unlock(&g.work);
        atomic_store(&g.drain_done, req);
        sp_futex_wake(&g.drain_done);
        if (g.capped || g.failed) {
            break; /* the writer ends the trace itself; the program runs on */
        }
        if (g.main_exited && !sp_threads_program_threads_left()) {
            /* glibc would now end the process (the last thread exited), but this thread and
             * the wall-clock sampler keep it alive: end it as glibc would, with exit(0). */
            g.last_thread_gone = 1;
            g.end_reason = SPT_END_EXIT;
            g.end_status = 0;
            break;
        }
        sp_wake_writer_wait(seen, WAKE_PERIOD_NS);
    }
    int signo = atomic_load(&g.fatal_signo);
    if (signo != 0 && !atomic_load(&g.stop)) {
        g.end_reason = SPT_END_SIGNAL;
        g.end_status = signo;
    } else if (g.capped && !atomic_load(&g.stop)) {
        g.end_reason = SPT_END_MAX_SIZE;
        g.end_status = 0;
    }
    if (signo != 0 || g.capped || g.failed) {
        stop_all_sampling();
    }
    pthread_mutex_lock(&g.work);
    finish_trace();
    pthread_mutex_unlock(&g.work);
    if (g.capped) {
        sp_log("spprof: trace %s reached --max-size (%.2f MB); recording stopped, the program "
               "runs on",
               g.path, (double)g.config.max_size_bytes / 1048576.0);
    }
    if (signo != 0 && g.config.summary_on_signal) {
        sp_summary_print(&g.summary); /* the handler that asked cannot format it */
    }
    atomic_store(&g.drain_done, atomic_load(&g.drain_req));
    sp_futex_wake(&g.drain_done);
    atomic_store(&g.ended, 1);
    sp_futex_wake(&g.ended);
    if (g.last_thread_gone) {
        /* Runs the program's atexit handlers here, then ours, which find the trace ended. */
        exit(0);
    }
    return NULL;
}

/* ---- public -------------------------------------------------------------------------------- */

int sp_writer_thread_start(const sp_writer_config *config, char *err, size_t err_len) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&g.state, &expected, 1)) {
        snprintf(err, err_len, "the writer thread was already started");
        return -1;
    }
    snprintf(g.path, sizeof g.path, "%s", config->output_path);
    snprintf(g.parent_trace, sizeof g.parent_trace, "%s",
             config->parent_trace != NULL ? config->parent_trace : "");
    g.config = *config;
    g.config.output_path = g.path;
    g.config.parent_trace = g.parent_trace;
    g.start_mono_ns = config->start_mono_ns;
    g.max_depth = config->max_depth;
    /* O_CLOEXEC: programs we exec must not inherit (and hold open) the trace. */
    g.fd = open(g.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (g.fd < 0) {
        snprintf(err, err_len, "cannot create %s: %s", g.path, strerror(errno));
        goto fail_early;
    }
    /* Away from the low numbers programs reuse, and remembered, so that a program that closes
     * descriptors it did not open makes the trace fail cleanly rather than receive our bytes
     * in a file of its own (see check_fd). */
    int high_fd = fcntl(g.fd, F_DUPFD_CLOEXEC, 100);
    if (high_fd >= 0) {
        close(g.fd);
        g.fd = high_fd;
    }
    struct stat fd_st;
    if (fstat(g.fd, &fd_st) == 0) {
        g.fd_dev = fd_st.st_dev;
        g.fd_ino = fd_st.st_ino;
    }

    sp_procinfo info;
    sp_procinfo_get(&info);

    spt_header h;
    memset(&h, 0, sizeof h);
    h.recorder_version = SP_RECORDER_VERSION;
    h.start_wall_ns = config->start_wall_ns;
    h.start_mono_ns = config->start_mono_ns;
    h.pid = (uint32_t)getpid();
    h.ppid = (uint32_t)getppid();
    h.executable = info.exe;
    h.argc = info.argc;
    h.argv = info.argv;
    h.hostname = info.uts.nodename;
    h.arch = info.uts.machine;
    h.clock = config->clock;
    h.interval_ns = config->interval_ns;
    h.alloc_mode = sp_heap_mode();
    h.alloc_sample_bytes = sp_heap_sample_bytes();
    h.max_depth = config->max_depth;
    h.trace_id = config->trace_id;
    h.parent_trace = g.parent_trace;
    /* The writer's CPU is the program's CPU, and zstd is most of it once allocations are
     * recorded: their addresses hardly compress, and level 3 searches them for matches anyway.
     * Recording every allocation (~9 bytes of events per allocation and free, and the thread
     * the program waits for): level -4. Default sampling on an allocation-heavy program: level
     * 1 took the writer from ~40 to ~25 ms per 42k sampled blocks, for 17% more bytes. */
    spt_writer_options writer_options = {0};
    writer_options.compression_level = sp_heap_mode() == SPT_ALLOC_ALL ? -4 : 1;
    spt_status st = spt_writer_open_fd(g.fd, g.path, &h, &writer_options, &g.w);
    sp_procinfo_release(&info);
    if (st != SPT_OK) {
        snprintf(err, err_len, "%s", g.w != NULL ? spt_writer_error(g.w) : spt_status_name(st));
        goto fail_open;
    }
    g.last_flush_ns = clock_ns(CLOCK_MONOTONIC);
    /* A header bigger than the cap: the trace is capped before its first sample. */
    atomic_store(&g.file_bytes, spt_writer_file_bytes(g.w));

    /* With every signal blocked, the program's own signals (SIGINT, SIGCHLD, a process-wide
     * SIGPROF) are delivered to its threads, not to ours. */
    int rc = sp_create_internal_thread(&g.thread, writer_main, NULL);
    if (rc != 0) {
        snprintf(err, err_len, "cannot start the writer thread: %s", strerror(rc));
        goto fail_open;
    }
    pthread_setname_np(g.thread, "spprof-writer");
    return 0;

fail_open:
    spt_writer_close(g.w, NULL);
    g.w = NULL;
fail_early:
    if (g.fd >= 0) {
        close(g.fd);
        unlink(g.path); /* running unprofiled: leave no half-made trace behind */
        g.fd = -1;
    }
    atomic_store(&g.state, 0);
    return -1;
}

/* Back to idle after the writer thread was joined, ready for another recording. */
static void reset_for_next(void) {
    atomic_store(&g.stop, 0);
    atomic_store(&g.fatal_signo, 0);
    atomic_store(&g.ended, 0);
    atomic_store(&g.samples, 0);
    atomic_store(&g.dropped, 0);
    atomic_store(&g.threads, 0);
    atomic_store(&g.writer_tid, 0);
    g.sample_weight = 0;
    g.hook_weight = 0;
    g.children = 0;
    g.truncated_pending = 0;
    g.truncated_frame = 0;
    g.dropped_remote = 0;
    g.handler_ns_recycled = 0;
    g.raw_at_flush = 0;
    g.failed = 0;
    g.capped = 0;
    g.main_exited = 0;
    g.last_thread_gone = 0;
    g.signal_warned = 0;
    g.error[0] = '\0';
    atomic_store(&g.state, 0);
}

void sp_writer_thread_finish(spt_end_reason reason, int32_t status, uint64_t setup_cpu_ns,
                             sp_writer_summary *summary) {
    pthread_mutex_lock(&g.lock);
    int expected = 1;
    if (!atomic_compare_exchange_strong(&g.state, &expected, 2)) {
        pthread_mutex_unlock(&g.lock);
        memset(summary, 0, sizeof *summary);
        snprintf(summary->error, sizeof summary->error, "not recording");
        return;
    }
    if (atomic_load(&g.writer_tid) == (int)gettid()) {
        /* exit(0) from the writer itself (the last program thread is gone): the trace is
         * already ended and the process is going. */
        *summary = g.summary;
        pthread_mutex_unlock(&g.lock);
        return;
    }
    /* The caller stopped the producers first, so the final drain sees every sample. A writer
     * that already ended the trace (cap, error) keeps its own reason. */
    g.end_reason = reason;
    g.end_status = status;
    g.setup_cpu_ns = setup_cpu_ns;
    atomic_store(&g.stop, 1);
    sp_wake_writer();
    pthread_join(g.thread, NULL);
    *summary = g.summary;
    reset_for_next();
    pthread_mutex_unlock(&g.lock);
}

SP_SIGNAL_SAFE int sp_writer_thread_active(void) {
    return atomic_load(&g.state) == 1 && !atomic_load(&g.ended);
}

SP_SIGNAL_SAFE int sp_writer_thread_end_from_signal(int signo, uint64_t timeout_ns) {
    if (atomic_load(&g.state) == 0 || atomic_load(&g.writer_tid) == (int)gettid()) {
        return 0; /* nothing to finish, or the writer itself crashed: it cannot finish */
    }
    int zero = 0;
    atomic_compare_exchange_strong(&g.fatal_signo, &zero, signo);
    sp_wake_writer();
    uint64_t deadline = sp_monotonic_ns() + timeout_ns;
    while (!atomic_load(&g.ended)) {
        uint64_t now = sp_monotonic_ns();
        if (now >= deadline) {
            return 0;
        }
        sp_futex_wait(&g.ended, 0, deadline - now);
    }
    return 1;
}

void sp_writer_thread_sync(uint64_t timeout_ns) {
    if (!sp_writer_thread_active() || atomic_load(&g.writer_tid) == (int)gettid()) {
        return;
    }
    uint32_t ticket = atomic_fetch_add(&g.drain_req, 1) + 1;
    sp_wake_writer();
    uint64_t deadline = sp_monotonic_ns() + timeout_ns;
    for (;;) {
        uint32_t done = atomic_load(&g.drain_done);
        uint64_t now = sp_monotonic_ns();
        /* The writer reads drain_req before a pass and publishes it after: wrap-safe compare. */
        if ((int32_t)(done - ticket) >= 0 || now >= deadline || !sp_writer_thread_active()) {
            return;
        }
        sp_futex_wait(&g.drain_done, done, deadline - now);
    }
}

void sp_writer_thread_stats(sp_writer_stats *stats) {
    stats->samples = atomic_load(&g.samples);
    stats->dropped_samples = atomic_load(&g.dropped);
    stats->file_bytes = atomic_load(&g.file_bytes);
    stats->threads = atomic_load(&g.threads);
}

static int fork_held; /* prepare took g.work */

void sp_writer_thread_fork_prepare(void) {
    if (atomic_load(&g.state) != 0 && !atomic_load(&g.ended)) {
        pthread_mutex_lock(&g.work);
        fork_held = 1;
    }
}

void sp_writer_thread_fork_parent(void) {
    if (fork_held) {
        fork_held = 0;
        pthread_mutex_unlock(&g.work);
    }
}

void sp_writer_thread_fork_child(void) {
    /* Only the forking thread exists here: the writer thread did not come along. Its trace
     * file is the parent's; close our descriptor without writing a byte. The writer's tables
     * are left allocated: they belong to a trace this process no longer writes. */
    fork_held = 0;
    pthread_mutex_init(&g.work, NULL);
    pthread_mutex_init(&g.lock, NULL);
    if (g.fd >= 0) {
        close(g.fd);
        g.fd = -1;
    }
    g.w = NULL;
    g.symbols = NULL;
    g.frames = NULL;
    g.n_frames = g.cap_frames = 0;
    g.snap = NULL;
    g.snap_cap = 0;
    reset_for_next();
}
