/* wall.c: the wall-clock sampler thread. It never runs in a signal handler; it sends the
 * sampling signal only to threads that are running, and samples blocked threads from outside
 * through /proc/self/task/<tid>/syscall and unwind_remote.c. */
#define _GNU_SOURCE
#include "recorder/wall.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recorder/interpose.h"
#include "recorder/sampler.h"
#include "recorder/threads.h"
#include "recorder/unwind_remote.h"
#include "recorder/wake.h"

#define MAX_CARRY_TICKS 10 /* a thread seen running but idle this many ticks is signalled anyway */

static struct {
    pthread_mutex_t tick; /* held during a tick; dlclose and fork take it */
    pthread_t thread;
    int running;
    atomic_int stop;
    _Atomic int tid;
    _Atomic int mappings_changed;
    _Atomic uint64_t final_cpu_ns; /* the thread's CPU time when it stopped */
    uint64_t interval_ns;
    uint32_t max_depth;
    sp_ring *ring;
    sp_thread **snap;
    size_t snap_cap;
} w = {.tick = PTHREAD_MUTEX_INITIALIZER};

/* The CPU time of thread tid: the kernel's per-thread CPU clock id (see sampler.c). Returns -1
 * when the thread is gone. */
static int64_t thread_cpu_ns(int tid) {
    clockid_t clock = (clockid_t)((~(unsigned)tid << 3) | 4u | 2u);
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) {
        return -1;
    }
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Reads /proc/self/task/<tid>/syscall. Returns 1 with *sp and *pc when the thread is blocked
 * (in a system call, or "-1 sp pc" outside one), 0 when it is running, -1 when unreadable. */
static int blocked_at(int tid, uint64_t *sp, uint64_t *pc) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    if (strncmp(buf, "running", 7) == 0) {
        return 0;
    }
    /* "nr arg1 ... arg6 sp pc" or "-1 sp pc": the last two fields. */
    char *last = strrchr(buf, ' ');
    if (last == NULL || last == buf) {
        return -1;
    }
    *last = '\0';
    char *prev = strrchr(buf, ' ');
    if (prev == NULL) {
        return -1;
    }
    *pc = strtoull(last + 1, NULL, 16);
    *sp = strtoull(prev + 1, NULL, 16);
    return *pc != 0 && *sp != 0 ? 1 : -1;
}

/* Writes one sample of t into the sampler's ring: a REPEAT of its last remote stack, or a stack
 * unwound from (sp, pc). */
static void emit(sp_thread *t, uint64_t weight, uint32_t flags, uint64_t sp, uint64_t pc) {
    size_t need = sizeof(sp_remote_entry) +
                  sp_sampler_entry_bytes((flags & SP_SAMPLE_REPEAT) ? 0 : w.max_depth);
    sp_remote_entry *r = sp_ring_reserve(w.ring, need);
    if (r == NULL) {
        return; /* counted as ring-full by the ring */
    }
    sp_sample_entry *e = (sp_sample_entry *)(void *)(r + 1);
    int n = 0;
    int truncated = 0;
    if (!(flags & SP_SAMPLE_REPEAT)) {
        n = sp_unwind_remote(sp, pc, t->s.stack_hi, e->pcs, w.max_depth, &truncated);
        if (n <= 0) {
            sp_ring_count_drop(w.ring);
            return;
        }
    }
    r->thread = t;
    r->incarnation = t->incarnation;
    e->time_ns = sp_monotonic_ns();
    e->weight = weight;
    e->n_pcs = (uint32_t)n;
    e->flags = flags | (truncated ? SP_SAMPLE_TRUNCATED : 0u);
    sp_ring_commit(w.ring, sizeof(sp_remote_entry) + sp_sampler_entry_bytes((uint32_t)n));
}

/* One tick for thread t, standing for `ticks` intervals. */
static void tick_thread(sp_thread *t, uint64_t ticks) {
    if (t->state != SP_THREAD_RUNNING || atomic_load(&t->end_ns) != 0 ||
        !atomic_load(&t->s.live) || t->s.os_tid == 0) {
        return;
    }
    int64_t cpu = thread_cpu_ns(t->s.os_tid);
    if (cpu < 0) {
        return; /* gone; the writer will see it end */
    }
    int ran = !t->wall_seen || (uint64_t)cpu != t->wall_cpu_ns;
    uint64_t busy_ns = t->wall_seen ? (uint64_t)cpu - t->wall_cpu_ns : 0;
    t->wall_cpu_ns = (uint64_t)cpu;
    t->wall_seen = 1;
    uint64_t weight = ticks + t->wall_carry;
    if (!ran && t->wall_has_remote) {
        /* Not on the CPU since the last tick: still in the same wait, same stack. */
        emit(t, weight, SP_SAMPLE_IDLE | SP_SAMPLE_REPEAT, 0, 0);
        t->wall_carry = 0;
        return;
    }
    uint64_t sp = 0, pc = 0;
    int state = blocked_at(t->s.os_tid, &sp, &pc);
    if (state == 1) {
        emit(t, weight, ran ? 0u : SP_SAMPLE_IDLE, sp, pc);
        t->wall_carry = 0;
        t->wall_has_remote = 1;
        return;
    }
    if (state < 0) {
        return;
    }
    /* Running. Signal it only when it is busy: a thread that mostly waits and happens to be
     * running right now may enter its next wait before the signal lands, and that wait would
     * end in EINTR. Its tick goes to its next sample instead. */
    t->wall_has_remote = 0;
    if (busy_ns * 2 >= ticks * w.interval_ns || t->wall_carry >= MAX_CARRY_TICKS) {
        if (sp_sampler_request(&t->s, weight) == 0) {
            t->wall_carry = 0;
        }
    } else {
        t->wall_carry += ticks;
    }
}

static void *wall_main(void *arg) {
    (void)arg;
    sp_sampler_set_busy(1); /* the allocation hooks ignore this thread */
    atomic_store(&w.tid, (int)gettid());
    uint64_t next = sp_monotonic_ns() + w.interval_ns;
    while (!atomic_load(&w.stop)) {
        struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
            continue;
        }
        uint64_t now = sp_monotonic_ns();
        /* Ticks missed while we were late count into this one's weight. */
        uint64_t ticks = 1 + (now > next ? (now - next) / w.interval_ns : 0);
        next += ticks * w.interval_ns;
        if (atomic_load(&w.stop)) {
            break;
        }
        pthread_mutex_lock(&w.tick);
        if (atomic_exchange(&w.mappings_changed, 0)) {
            sp_unwind_remote_flush();
        }
        if (sp_sampler_get_mode() == SP_SAMPLER_WALL) {
            /* A snapshot, not the registry lock: unwinding takes long enough to delay the
             * program's pthread_create. Slots stay valid; a recycled one is caught by its
             * incarnation in the writer and by its tid in the handler. */
            size_t n = sp_threads_snapshot(&w.snap, &w.snap_cap);
            for (size_t i = 0; i < n; i++) {
                tick_thread(w.snap[i], ticks);
            }
            if (sp_ring_half_full(w.ring)) {
                sp_wake_writer();
            }
        }
        pthread_mutex_unlock(&w.tick);
    }
    struct timespec cpu;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    atomic_store(&w.final_cpu_ns, (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec);
    return NULL;
}

int sp_wall_start(uint64_t interval_ns, uint32_t max_depth, size_t ring_bytes, char *err,
                  size_t err_len) {
    if (sp_unwind_remote_init() != 0) {
        snprintf(err, err_len, "cannot set up libunwind for blocked threads");
        return -1;
    }
    w.ring = sp_ring_create(ring_bytes);
    if (w.ring == NULL) {
        snprintf(err, err_len, "cannot map the wall-clock sampler's ring: %s", strerror(errno));
        return -1;
    }
    w.interval_ns = interval_ns;
    w.max_depth = max_depth;
    atomic_store(&w.stop, 0);
    atomic_store(&w.final_cpu_ns, 0);
    int rc = sp_create_internal_thread(&w.thread, wall_main, NULL);
    if (rc != 0) {
        snprintf(err, err_len, "cannot start the wall-clock sampler thread: %s", strerror(rc));
        sp_ring_destroy(w.ring);
        w.ring = NULL;
        return -1;
    }
    pthread_setname_np(w.thread, "spprof-wall");
    w.running = 1;
    return 0;
}

sp_ring *sp_wall_ring(void) {
    return w.ring;
}

void sp_wall_stop(void) {
    if (!w.running) {
        return;
    }
    atomic_store(&w.stop, 1);
    pthread_join(w.thread, NULL);
    w.running = 0;
}

void sp_wall_release(void) {
    sp_ring_destroy(w.ring);
    w.ring = NULL;
    free(w.snap);
    w.snap = NULL;
    w.snap_cap = 0;
}

uint64_t sp_wall_cpu_ns(void) {
    int tid = atomic_load(&w.tid);
    int64_t cpu = tid > 0 && w.running ? thread_cpu_ns(tid) : -1;
    return cpu > 0 ? (uint64_t)cpu : atomic_load(&w.final_cpu_ns);
}

void sp_wall_hold(void) {
    pthread_mutex_lock(&w.tick);
}

void sp_wall_release_hold(void) {
    pthread_mutex_unlock(&w.tick);
}

void sp_wall_mappings_changed(void) {
    atomic_store(&w.mappings_changed, 1);
}

void sp_wall_after_fork_child(void) {
    pthread_mutex_init(&w.tick, NULL);
    w.running = 0;
    atomic_store(&w.tid, 0);
    if (w.ring != NULL) {
        sp_ring_destroy(w.ring); /* the parent's, copied */
        w.ring = NULL;
    }
    w.snap = NULL; /* the parent's copy: leave it */
    w.snap_cap = 0;
}
