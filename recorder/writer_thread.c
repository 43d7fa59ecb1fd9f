/* writer_thread.c: the background thread that turns ring entries into trace records; the only
 * code that writes the trace file. It runs with every signal blocked and never in a handler. */
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

#include "recorder/log.h"
#include "recorder/symbols.h"
#include "recorder/version.h"

#define WAKE_PERIOD_NS  100000000u  /* drain every 100 ms: ~10 samples per ring at 100 Hz */
#define FLUSH_PERIOD_NS 1000000000u /* docs/format.md section 1: lose at most ~1 s on SIGKILL */

/* One sampled thread as the writer sees it. Slots are only ever prepended to a list, so the
 * writer walks it without the mutex while other threads add (issue 3: every new thread). */
typedef struct thread_slot {
    sp_sampler_thread *sampler;
    uint64_t added_ns;       /* trace time when it was handed over */
    uint32_t id;             /* thread id in the trace; 0 until defined */
    uint64_t reported_full;  /* ring-full drops already written as DROPS records */
    uint64_t reported_other; /* unwind-failure drops already written */
    struct thread_slot *next;
} thread_slot;

static struct {
    pthread_mutex_t lock; /* guards stop and the end_* fields, and serializes adders */
    pthread_cond_t wake;  /* CLOCK_MONOTONIC; signalled by finish */
    int stop;
    spt_end_reason end_reason;
    int32_t end_status;
    uint64_t setup_cpu_ns;
    _Atomic(thread_slot *) threads;
    atomic_int state; /* 0 idle, 1 running, 2 finished */
    pthread_t thread;
    int fd;
    spt_writer *w;
    sp_symbols *symbols;      /* created by the writer thread itself */
    uint32_t truncated_frame; /* frame id of "[truncated]", 0 until first needed */
    uint32_t *frames;         /* scratch: one sample's frame ids, outermost first */
    size_t n_frames;
    size_t cap_frames;
    uint64_t start_mono_ns;
    uint32_t max_depth;
    uint64_t samples;           /* SAMPLE records written */
    uint64_t truncated_pending; /* truncated stacks not yet written as a DROPS record */
    uint64_t last_flush_ns;
    uint64_t raw_at_flush; /* spt_writer_raw_bytes at the last flush */
    int failed;
    char error[512];
    char path[PATH_MAX];
    sp_writer_summary summary; /* filled by the writer thread as it exits */
} g = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .fd = -1,
};

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t trace_now_ns(void) {
    return clock_ns(CLOCK_MONOTONIC) - g.start_mono_ns;
}

/* Records the first error once (why, or the writer's own message when why is NULL), says so on
 * stderr, and stops sampling: with nowhere to put samples the program should stop paying for
 * them. The program keeps running. */
static void fail(const char *why) {
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
    for (thread_slot *t = atomic_load(&g.threads); t != NULL; t = t->next) {
        sp_sampler_stop_thread(t->sampler);
    }
}

/* Reads a whole small file (/proc/self/cmdline, .../comm) into a malloc'ed buffer. Returns NULL
 * on failure; *len_out is the byte count. */
static char *read_small_file(const char *path, size_t *len_out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    size_t cap = 256;
    size_t len = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        if (len == cap) {
            char *grown = realloc(buf, cap * 2 + 1);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (buf != NULL) {
        buf[len] = '\0';
        *len_out = len;
    }
    return buf;
}

/* ---- draining ------------------------------------------------------------------------------ */

static void define_thread(thread_slot *t) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", t->sampler->os_tid);
    size_t len = 0;
    char *name = read_small_file(path, &len);
    while (name != NULL && len > 0 && name[len - 1] == '\n') {
        name[--len] = '\0';
    }
    uint32_t name_id = name != NULL ? spt_writer_string(g.w, name, len) : 0;
    if (name_id == 0 && len > 0) {
        free(name);
        fail(NULL);
        return;
    }
    free(name);
    t->id = spt_writer_thread(g.w, (uint32_t)t->sampler->os_tid, name_id, t->added_ns);
    if (t->id == 0) {
        fail(NULL);
    }
}

/* Makes room for n more frame ids in g.frames. Returns 0, or -1 when memory ran out. */
static int reserve_frames(size_t n) {
    if (g.n_frames + n <= g.cap_frames) {
        return 0;
    }
    size_t cap = g.cap_frames ? g.cap_frames * 2 : 1024;
    while (cap < g.n_frames + n) {
        cap *= 2;
    }
    uint32_t *grown = realloc(g.frames, cap * sizeof *grown);
    if (grown == NULL) {
        return -1;
    }
    g.frames = grown;
    g.cap_frames = cap;
    return 0;
}

/* Turns one ring entry into frames, a stack and a SAMPLE (docs/format.md section 5.3). */
static void record_sample(thread_slot *t, const sp_sample_entry *e) {
    g.n_frames = 0;
    if (e->flags & SP_SAMPLE_TRUNCATED) {
        /* Outermost placeholder: tools then show where the cut was instead of a wrong root. */
        if (g.truncated_frame == 0) {
            g.truncated_frame = sp_symbols_synthetic(g.symbols, "[truncated]");
        }
        if (g.truncated_frame == 0) {
            fail(NULL);
            return;
        }
        if (reserve_frames(1) != 0) {
            fail("out of memory for a stack");
            return;
        }
        g.frames[g.n_frames++] = g.truncated_frame;
        g.truncated_pending++;
    }
    /* The ring holds the stack innermost first; the format wants it outermost first. Each
     * address may expand to several frames (inlined calls). */
    for (uint32_t i = e->n_pcs; i-- > 0;) {
        const uint32_t *ids = NULL;
        size_t n = sp_symbols_frames(g.symbols, e->pcs[i], i > 0, &ids);
        if (n == 0) {
            fail(NULL);
            return;
        }
        if (reserve_frames(n) != 0) {
            fail("out of memory for a stack");
            return;
        }
        memcpy(g.frames + g.n_frames, ids, n * sizeof *ids);
        g.n_frames += n;
    }
    /* Inlined frames can push a stack past the format's limit; keep its innermost part. */
    size_t skip = g.n_frames > SPT_MAX_STACK_DEPTH ? g.n_frames - SPT_MAX_STACK_DEPTH : 0;
    uint32_t stack = spt_writer_stack_path(g.w, g.frames + skip, g.n_frames - skip);
    uint64_t time_ns = e->time_ns > g.start_mono_ns ? e->time_ns - g.start_mono_ns : 0;
    if (stack == 0 || spt_writer_sample(g.w, t->id, time_ns, stack, e->weight, 0) != SPT_OK) {
        fail(NULL);
        return;
    }
    g.samples++;
}

static void write_drops(spt_drop_reason reason, uint64_t count) {
    if (count > 0 && !g.failed && spt_writer_drops(g.w, trace_now_ns(), reason, count) != SPT_OK) {
        fail(NULL);
    }
}

static void drain(void) {
    if (g.symbols == NULL && !g.failed) {
        g.symbols = sp_symbols_create(g.w);
        if (g.symbols == NULL) {
            fail("out of memory for the symbol tables");
        }
    }
    for (thread_slot *t = atomic_load(&g.threads); t != NULL; t = t->next) {
        if (t->id == 0 && !g.failed) {
            define_thread(t);
        }
        size_t size = 0;
        const sp_sample_entry *e;
        while ((e = sp_ring_peek(t->sampler->ring, &size)) != NULL) {
            if (!g.failed && size >= sizeof *e && size >= sp_sampler_entry_bytes(e->n_pcs) &&
                e->n_pcs <= g.max_depth) {
                record_sample(t, e);
            }
            sp_ring_release(t->sampler->ring);
        }
        uint64_t full = sp_ring_dropped_full(t->sampler->ring);
        uint64_t other = sp_ring_dropped_other(t->sampler->ring);
        write_drops(SPT_DROP_RING_FULL, full - t->reported_full);
        write_drops(SPT_DROP_UNWIND_FAILED, other - t->reported_other);
        t->reported_full = full;
        t->reported_other = other;
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

/* Writes END and closes the file (docs/format.md section 5.4); fills g.summary. */
static void finish_trace(void) {
    drain();
    spt_end end;
    memset(&end, 0, sizeof end);
    end.reason = g.end_reason;
    end.status = g.end_status;
    end.duration_ns = trace_now_ns();
    uint64_t handler_ns = 0;
    for (thread_slot *t = atomic_load(&g.threads); t != NULL; t = t->next) {
        end.dropped_samples += sp_ring_dropped_full(t->sampler->ring);
        end.dropped_samples += sp_ring_dropped_other(t->sampler->ring);
        handler_ns += atomic_load_explicit(&t->sampler->handler_ns, memory_order_relaxed);
    }
    end.recorder_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) + handler_ns + g.setup_cpu_ns;
    end.process_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    int was_failed = g.failed;
    spt_status st = spt_writer_close(g.w, was_failed ? NULL : &end);
    if (st != SPT_OK && !was_failed) {
        /* The writer is freed by close, so only its status is left to report. */
        snprintf(g.error, sizeof g.error, "%.300s: cannot finish the trace (%s)", g.path,
                 spt_status_name(st));
    }
    g.w = NULL;
    sp_symbols_destroy(g.symbols);
    g.symbols = NULL;
    free(g.frames);
    g.frames = NULL;
    sp_writer_summary *s = &g.summary;
    struct stat sb;
    s->file_bytes = fstat(g.fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    close(g.fd);
    g.fd = -1;
    s->duration_ns = end.duration_ns;
    s->samples = g.samples;
    s->dropped_samples = end.dropped_samples;
    s->recorder_cpu_ns = end.recorder_cpu_ns;
    s->process_cpu_ns = end.process_cpu_ns;
    s->ok = st == SPT_OK && !was_failed;
    snprintf(s->error, sizeof s->error, "%s", s->ok ? "" : g.error);
}

static void *writer_main(void *arg) {
    (void)arg;
    /* Marks this thread as inside the recorder for good, so hooks (issue 3) never record the
     * writer's own allocations. */
    sp_sampler_set_busy(1);
    pthread_mutex_lock(&g.lock);
    while (!g.stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += WAKE_PERIOD_NS;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&g.wake, &g.lock, &deadline);
        if (g.stop) {
            break;
        }
        pthread_mutex_unlock(&g.lock);
        drain();
        maybe_flush();
        pthread_mutex_lock(&g.lock);
    }
    pthread_mutex_unlock(&g.lock);
    finish_trace();
    return NULL;
}

/* ---- public -------------------------------------------------------------------------------- */

/* Splits /proc/self/cmdline (NUL-separated) into an argv array; *argc_out is its length. */
static const char **split_cmdline(char *buf, size_t len, uint32_t *argc_out) {
    uint32_t argc = 0;
    for (size_t i = 0; i < len; i++) {
        argc += buf[i] == '\0';
    }
    if (len > 0 && buf[len - 1] != '\0') {
        argc++; /* a program that rewrote its argv may drop the last NUL */
    }
    const char **argv = calloc(argc + 1u, sizeof *argv);
    if (argv == NULL) {
        return NULL;
    }
    uint32_t k = 0;
    for (size_t i = 0; i < len && k < argc; i += strlen(buf + i) + 1) {
        argv[k++] = buf + i;
    }
    *argc_out = k;
    return argv;
}

int sp_writer_thread_start(const sp_writer_config *config, char *err, size_t err_len) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&g.state, &expected, 1)) {
        snprintf(err, err_len, "the writer thread was already started");
        return -1;
    }
    snprintf(g.path, sizeof g.path, "%s", config->output_path);
    g.start_mono_ns = config->start_mono_ns;
    g.max_depth = config->max_depth;
    /* O_CLOEXEC: programs we exec must not inherit (and hold open) the trace. */
    g.fd = open(g.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (g.fd < 0) {
        snprintf(err, err_len, "cannot create %s: %s", g.path, strerror(errno));
        goto fail_early;
    }

    char exe[PATH_MAX];
    ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[exe_len > 0 ? exe_len : 0] = '\0';
    size_t cmdline_len = 0;
    char *cmdline = read_small_file("/proc/self/cmdline", &cmdline_len);
    uint32_t argc = 0;
    const char **argv = cmdline != NULL ? split_cmdline(cmdline, cmdline_len, &argc) : NULL;
    struct utsname uts;
    if (uname(&uts) != 0) {
        memset(&uts, 0, sizeof uts);
    }

    spt_header h;
    memset(&h, 0, sizeof h);
    h.recorder_version = SP_RECORDER_VERSION;
    h.start_wall_ns = config->start_wall_ns;
    h.start_mono_ns = config->start_mono_ns;
    h.pid = (uint32_t)getpid();
    h.ppid = (uint32_t)getppid();
    h.executable = exe;
    h.argc = argc;
    h.argv = argv;
    h.hostname = uts.nodename;
    h.arch = uts.machine;
    h.clock = SPT_CLOCK_CPU_THREAD;
    h.interval_ns = config->interval_ns;
    h.alloc_mode = SPT_ALLOC_OFF;
    h.max_depth = config->max_depth;
    h.trace_id = config->trace_id;
    h.parent_trace = "";
    spt_status st = spt_writer_open_fd(g.fd, g.path, &h, NULL, &g.w);
    free(argv);
    free(cmdline);
    if (st != SPT_OK) {
        snprintf(err, err_len, "%s", g.w != NULL ? spt_writer_error(g.w) : spt_status_name(st));
        goto fail_open;
    }
    g.last_flush_ns = clock_ns(CLOCK_MONOTONIC);

    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g.wake, &attr);
    pthread_condattr_destroy(&attr);
    /* The new thread inherits this mask: with every signal blocked, the program's own signals
     * (SIGINT, SIGCHLD, a process-wide SIGPROF) are delivered to its threads, not to ours. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&g.thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
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
    atomic_store(&g.state, 2);
    return -1;
}

int sp_writer_thread_add(sp_sampler_thread *t) {
    thread_slot *slot = calloc(1, sizeof *slot);
    if (slot == NULL) {
        return -1;
    }
    slot->sampler = t;
    slot->added_ns = trace_now_ns();
    pthread_mutex_lock(&g.lock);
    slot->next = atomic_load(&g.threads);
    atomic_store(&g.threads, slot); /* seq_cst: the slot is complete before the writer sees it */
    pthread_mutex_unlock(&g.lock);
    return 0;
}

void sp_writer_thread_finish(spt_end_reason reason, int32_t status, uint64_t setup_cpu_ns,
                             sp_writer_summary *summary) {
    int expected = 1;
    if (!atomic_compare_exchange_strong(&g.state, &expected, 2)) {
        memset(summary, 0, sizeof *summary);
        snprintf(summary->error, sizeof summary->error, "not recording");
        return;
    }
    /* Stop the producers first, so the final drain sees every sample that will ever exist. */
    for (thread_slot *t = atomic_load(&g.threads); t != NULL; t = t->next) {
        sp_sampler_stop_thread(t->sampler);
    }
    pthread_mutex_lock(&g.lock);
    g.stop = 1;
    g.end_reason = reason;
    g.end_status = status;
    g.setup_cpu_ns = setup_cpu_ns;
    pthread_cond_signal(&g.wake);
    pthread_mutex_unlock(&g.lock);
    pthread_join(g.thread, NULL);
    *summary = g.summary;
}
