/* threads.c: the registry of sampled threads: slots in one never-unmapped mapping, a free list,
 * a ring pool bounded by the memory limit, the TLS destructor that ends a thread, and adoption
 * of threads found in /proc/self/task. Normal context only; the handler reads slots through
 * sampler.h and nothing here runs in a handler. */
#define _GNU_SOURCE
#include "recorder/threads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder/log.h"
#include "recorder/unwind.h"
#include "recorder/wake.h"

#define MAX_SLOTS        32768u       /* threads alive (or ended, unrecorded) at once */
#define MIN_RING_BYTES   (256u << 10) /* 256 KiB: ~800 samples of 30 frames between drains */
#define SAMPLES_PER_RING 16u          /* a ring holds at least this many maximal samples */
#define MAX_INTERNAL     8u

/* The main thread's initial stack pointer (ld.so): its frames all lie below it. */
extern void *__libc_stack_end;

typedef struct {
    void *(*start)(void *);
    void *arg;
} launch_record;

static struct {
    pthread_mutex_t lock;
    sp_thread *slots;    /* MAX_SLOTS slots, mapped once and never unmapped */
    _Atomic size_t used; /* slots ever handed out (the handler scans this many) */
    sp_thread *free_list;
    sp_thread *live;
    pthread_key_t key;
    int key_ok;
    _Atomic int enabled;
    uint32_t max_depth;
    size_t ring_bytes;
    size_t max_rings; /* the pool never maps more */
    size_t rings_mapped;
    sp_ring **free_rings; /* max_rings entries */
    size_t n_free_rings;
    _Atomic uint64_t seen;
    _Atomic uint64_t refused;
    _Atomic int internal_tids[MAX_INTERNAL];
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t pow2_at_least(uint64_t n) {
    uint64_t p = 4096;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

static int gettid_now(void) {
    return (int)syscall(SYS_gettid);
}

/* The TLS destructor: runs when a registered thread returns from its start routine, calls
 * pthread_exit, or is cancelled. */
static void on_thread_exit(void *slot) {
    sp_thread *t = slot;
    if (t != NULL && t->s.os_tid == gettid_now()) {
        sp_threads_end_self();
    }
}

int sp_threads_setup(const sp_threads_config *config, char *err, size_t err_len) {
    if (reg.slots == NULL) {
        /* MAP_NORESERVE: only the slots actually used ever cost memory. */
        void *mem = mmap(NULL, MAX_SLOTS * sizeof(sp_thread), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) {
            snprintf(err, err_len, "cannot map the thread table: %s", strerror(errno));
            return -1;
        }
        reg.slots = mem;
        sp_sampler_set_registry(reg.slots, sizeof(sp_thread), MAX_SLOTS, &reg.used);
    }
    if (!reg.key_ok) {
        if (pthread_key_create(&reg.key, on_thread_exit) != 0) {
            snprintf(err, err_len, "cannot create the thread-exit key");
            return -1;
        }
        reg.key_ok = 1;
    }
    uint64_t entry = sp_sampler_entry_bytes(config->max_depth + SP_UNWIND_SLACK) + 64;
    uint64_t ring = pow2_at_least(SAMPLES_PER_RING * entry);
    if (ring < MIN_RING_BYTES) {
        ring = MIN_RING_BYTES;
    }
    uint64_t budget = config->memory_limit_bytes > config->extra_ring_bytes
                          ? config->memory_limit_bytes - config->extra_ring_bytes
                          : 0;
    /* A small limit shrinks the rings before it refuses: each must still hold two samples. */
    while (ring > budget && ring / 2 >= 2 * entry && ring > 4096) {
        ring /= 2;
    }
    if (ring > budget) {
        snprintf(err, err_len,
                 "--memory-limit-mb is too small for --max-depth %u (one thread needs %llu KiB)",
                 config->max_depth, (unsigned long long)((ring + 1023) / 1024));
        return -1;
    }
    size_t max_rings = (size_t)(budget / ring);
    sp_ring **free_rings = calloc(max_rings, sizeof *free_rings);
    if (free_rings == NULL) {
        snprintf(err, err_len, "out of memory for the ring pool");
        return -1;
    }
    pthread_mutex_lock(&reg.lock);
    free(reg.free_rings);
    reg.free_rings = free_rings;
    reg.n_free_rings = 0;
    reg.rings_mapped = 0;
    reg.max_rings = max_rings;
    reg.ring_bytes = (size_t)ring;
    reg.max_depth = config->max_depth;
    atomic_store(&reg.seen, 0);
    atomic_store(&reg.refused, 0);
    pthread_mutex_unlock(&reg.lock);
    return 0;
}

size_t sp_threads_ring_bytes(void) {
    return reg.ring_bytes;
}

void sp_threads_enable(void) {
    atomic_store(&reg.enabled, 1);
}

void sp_threads_disable(void) {
    atomic_store(&reg.enabled, 0);
}

int sp_threads_enabled(void) {
    return atomic_load(&reg.enabled);
}

/* Takes a ring from the pool, mapping a new one while the limit allows. Lock held. */
static sp_ring *ring_get(void) {
    if (reg.n_free_rings > 0) {
        return reg.free_rings[--reg.n_free_rings];
    }
    if (reg.rings_mapped >= reg.max_rings) {
        return NULL; /* the memory limit: this thread's samples are dropped and counted */
    }
    sp_ring *r = sp_ring_create(reg.ring_bytes);
    if (r != NULL) {
        reg.rings_mapped++;
    }
    return r;
}

/* Lock held. */
static void ring_put(sp_ring *r) {
    if (r == NULL) {
        return;
    }
    sp_ring_reset(r);
    if (reg.n_free_rings < reg.max_rings) {
        reg.free_rings[reg.n_free_rings++] = r;
    } else {
        sp_ring_destroy(r);
        reg.rings_mapped--;
    }
}

/* Takes a free slot, or NULL. The caller fills it and links it with link_live, so the writer
 * never sees a slot without its tid and name. Lock held. */
static sp_thread *slot_get(void) {
    sp_thread *t = reg.free_list;
    if (t != NULL) {
        reg.free_list = t->next_free;
    } else {
        size_t used = atomic_load(&reg.used);
        if (used == MAX_SLOTS) {
            return NULL;
        }
        t = &reg.slots[used];
        atomic_store(&reg.used, used + 1);
    }
    uint64_t incarnation = t->incarnation + 1;
    memset(t, 0, sizeof *t);
    t->incarnation = incarnation;
    t->state = SP_THREAD_RUNNING;
    t->s.max_depth = reg.max_depth;
    t->s.ring = ring_get();
    t->start_ns = sp_monotonic_ns();
    return t;
}

/* Puts t on the live list, where the writer and renames find it. Lock held. */
static void link_live_locked(sp_thread *t) {
    t->next = reg.live;
    reg.live = t;
    atomic_fetch_add(&reg.seen, 1);
}

/* Returns a slot that was never linked. Lock held. */
static void slot_unget(sp_thread *t) {
    ring_put(t->s.ring);
    t->s.ring = NULL;
    t->s.os_tid = 0;
    t->state = SP_THREAD_FREE;
    t->next_free = reg.free_list;
    reg.free_list = t;
}

/* Unlinks t from the live list and frees it. Lock held. */
static void slot_put(sp_thread *t) {
    for (sp_thread **p = &reg.live; *p != NULL; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    ring_put(t->s.ring);
    t->s.ring = NULL;
    t->s.os_tid = 0;
    t->state = SP_THREAD_FREE;
    t->next_free = reg.free_list;
    reg.free_list = t;
}

static uint64_t own_stack_hi(void) {
    if (getpid() == gettid_now()) {
        return (uint64_t)(uintptr_t)__libc_stack_end;
    }
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    int prev = sp_sampler_set_busy(1); /* pthread_getattr_np allocates */
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
    }
    sp_sampler_set_busy(prev);
    return addr != NULL ? (uint64_t)(uintptr_t)addr + size : 0;
}

sp_thread *sp_threads_register_self(uint64_t stack_hi) {
    if (!atomic_load(&reg.enabled)) {
        return NULL;
    }
    sp_thread *t = (sp_thread *)sp_sampler_self();
    if (t != NULL && t->s.os_tid == gettid_now() && atomic_load(&t->s.live)) {
        return t; /* already registered (adopted, or the API's starting thread) */
    }
    pthread_mutex_lock(&reg.lock);
    t = atomic_load(&reg.enabled) ? slot_get() : NULL;
    pthread_mutex_unlock(&reg.lock);
    if (t == NULL) {
        if (atomic_load(&reg.enabled)) {
            atomic_fetch_add(&reg.refused, 1);
        }
        return NULL;
    }
    t->has_pthread = 1;
    t->pthread = pthread_self();
    t->s.os_tid = gettid_now();
    t->s.stack_hi = stack_hi != 0 ? stack_hi : own_stack_hi();
    /* The kernel copies the creator's name into a new thread; read what it is now, under the
     * lock that links the thread. A rename from another thread (pthread_setname_np just after
     * pthread_create) then either finds the thread linked (sp_threads_renamed) or reached the
     * kernel before this read. Read before taking the lock, such a rename was lost now and then:
     * the thread kept the creator's name in the trace. */
    pthread_mutex_lock(&reg.lock);
    prctl(PR_GET_NAME, (unsigned long)t->name, 0, 0, 0);
    t->name[sizeof t->name - 1] = '\0';
    link_live_locked(t);
    /* Timers are armed under the lock, so that moving sampling to another signal (recording.c)
     * re-arms every timer exactly once: each is armed either before the move, which then sees
     * it, or after, on the new signal. */
    sp_sampler_error err = {NULL, 0};
    int started = sp_sampler_start_self(&t->s, &err);
    pthread_mutex_unlock(&reg.lock);
    if (reg.key_ok) {
        pthread_setspecific(reg.key, t);
    }
    if (started != 0) {
        /* The thread stays in the trace (start, name, end) but is not sampled: say so once. */
        static _Atomic int said;
        if (!atomic_exchange(&said, 1)) {
            sp_log("spprof: %s%s%s; some threads are not sampled", err.what, err.errnum ? ": " : "",
                   err.errnum ? strerror(err.errnum) : "");
        }
        t->s.os_tid = gettid_now();
    }
    return t;
}

void sp_threads_end_self(void) {
    sp_thread *t = (sp_thread *)sp_sampler_self();
    if (t == NULL || t->s.os_tid != gettid_now()) {
        return;
    }
    sp_sampler_stop_thread(&t->s);
    sp_sampler_forget_self();
    if (reg.key_ok) {
        pthread_setspecific(reg.key, NULL);
    }
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&t->end_ns, &zero, sp_monotonic_ns());
}

void *sp_threads_launch_prepare(void *(*start)(void *), void *arg) {
    if (!atomic_load(&reg.enabled)) {
        return NULL;
    }
    int prev = sp_sampler_set_busy(1); /* the recorder's allocation, not the program's */
    launch_record *l = malloc(sizeof *l);
    sp_sampler_set_busy(prev);
    if (l != NULL) {
        l->start = start;
        l->arg = arg;
    }
    return l;
}

void sp_threads_launch_cancel(void *launch) {
    int prev = sp_sampler_set_busy(1);
    free(launch);
    sp_sampler_set_busy(prev);
}

/* Without a frame pointer (Bazel builds with -fno-omit-frame-pointer): its CFA is then
 * rsp-based, so the wall-clock sampler can unwind through it from outside without rbp. */
__attribute__((optimize("omit-frame-pointer"))) void *sp_threads_trampoline(void *launch) {
    launch_record *l = launch;
    void *(*start)(void *) = l->start;
    void *arg = l->arg;
    sp_threads_launch_cancel(l);
    /* This local sits above every frame of the thread's own code: the top of the stack that
     * frame-pointer unwinding may read. (Not __builtin_frame_address: that would force a
     * frame pointer here, and unwinding this frame from outside would then need rbp.) */
    char anchor;
    __asm__ volatile("" : : "r"(&anchor) : "memory");
    sp_threads_register_self((uint64_t)(uintptr_t)&anchor);
    void *result = start(arg);
    /* Returning runs the TLS destructor (on_thread_exit), which ends the registration. */
    __asm__ volatile("" ::: "memory"); /* keep this frame: no tail call into start */
    return result;
}

static int is_internal(int tid) {
    for (unsigned i = 0; i < MAX_INTERNAL; i++) {
        if (atomic_load(&reg.internal_tids[i]) == tid) {
            return 1;
        }
    }
    return 0;
}

int sp_threads_program_threads_left(void) {
    int prev = sp_sampler_set_busy(1); /* opendir allocates */
    DIR *dir = opendir("/proc/self/task");
    int left = dir == NULL; /* cannot tell: assume some are */
    struct dirent *d;
    while (dir != NULL && !left && (d = readdir(dir)) != NULL) {
        int tid = atoi(d->d_name);
        if (tid <= 0 || is_internal(tid)) {
            continue;
        }
        /* A thread that called pthread_exit as the main thread stays as a zombie ('Z') until
         * the whole process goes; it no longer runs. */
        char path[64], stat[256];
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
        if (fd >= 0) {
            close(fd);
        }
        if (n <= 0) {
            continue; /* gone meanwhile */
        }
        stat[n] = '\0';
        const char *paren = strrchr(stat, ')'); /* the name may hold spaces and parentheses */
        left = paren == NULL || (paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X');
    }
    if (dir != NULL) {
        closedir(dir);
    }
    sp_sampler_set_busy(prev);
    return left;
}

void sp_threads_note_internal(int tid) {
    for (unsigned i = 0; i < MAX_INTERNAL; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&reg.internal_tids[i], &expected, tid)) {
            return;
        }
    }
}

/* Reads /proc/self/task/<tid>/comm into name[16]. */
static void read_comm(int tid, char name[16]) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, name, 15) : -1;
    if (fd >= 0) {
        close(fd);
    }
    n = n > 0 ? n : 0;
    while (n > 0 && name[n - 1] == '\n') {
        n--;
    }
    name[n] = '\0';
}

void sp_threads_adopt_existing(void) {
    int prev = sp_sampler_set_busy(1); /* opendir allocates */
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL) {
        sp_sampler_set_busy(prev);
        return;
    }
    int self = gettid_now();
    struct dirent *d;
    while ((d = readdir(dir)) != NULL) {
        int tid = atoi(d->d_name);
        if (tid <= 0 || tid == self || is_internal(tid)) {
            continue;
        }
        pthread_mutex_lock(&reg.lock);
        int known = 0;
        for (sp_thread *t = reg.live; t != NULL; t = t->next) {
            known |= t->s.os_tid == tid && t->state == SP_THREAD_RUNNING;
        }
        sp_thread *t = known ? NULL : slot_get();
        pthread_mutex_unlock(&reg.lock);
        if (t == NULL) {
            continue;
        }
        t->adopted = 1;
        t->s.os_tid = tid;
        /* The main thread's stack top is known; another thread's is found by the writer from
         * the first stack pointer its handler reports (frame-pointer unwinding only). */
        t->s.stack_hi = tid == getpid() ? (uint64_t)(uintptr_t)__libc_stack_end : 0;
        read_comm(tid, t->name);
        if (syscall(SYS_tgkill, getpid(), tid, 0) != 0) {
            pthread_mutex_lock(&reg.lock);
            slot_unget(t); /* it ended while we looked */
            pthread_mutex_unlock(&reg.lock);
            continue;
        }
        sp_sampler_error err = {NULL, 0};
        pthread_mutex_lock(&reg.lock);
        link_live_locked(t);
        int started = sp_sampler_start_other(&t->s, tid, &err); /* under the lock, as above */
        pthread_mutex_unlock(&reg.lock);
        if (started != 0) {
            t->s.os_tid = tid; /* recorded, not sampled */
        }
    }
    closedir(dir);
    sp_sampler_set_busy(prev);
}

void sp_threads_renamed(int self, pthread_t th, const char *name) {
    if (!atomic_load(&reg.enabled) || name == NULL) {
        return;
    }
    int tid = gettid_now();
    pthread_mutex_lock(&reg.lock);
    for (sp_thread *t = reg.live; t != NULL; t = t->next) {
        if (t->state != SP_THREAD_RUNNING ||
            !(self ? t->s.os_tid == tid : t->has_pthread && pthread_equal(t->pthread, th))) {
            continue;
        }
        snprintf(t->name, sizeof t->name, "%s", name); /* the kernel keeps 15 bytes too */
        t->name_seq++;
        t->name_ns = sp_monotonic_ns();
        break;
    }
    pthread_mutex_unlock(&reg.lock);
}

void sp_threads_wait_unwinders(uint64_t deadline_ns) {
    int self = (int)gettid();
    size_t used = atomic_load(&reg.used);
    for (size_t i = 0; i < used; i++) {
        if (reg.slots[i].s.os_tid != self) {
            sp_unwind_gate_wait(&reg.slots[i].s.unwinding, deadline_ns);
        }
    }
}

void sp_threads_lock(void) {
    pthread_mutex_lock(&reg.lock);
}

void sp_threads_unlock(void) {
    pthread_mutex_unlock(&reg.lock);
}

sp_thread *sp_threads_head(void) {
    return reg.live;
}

void sp_threads_poll_liveness(sp_thread *t) {
    if (atomic_load(&t->end_ns) != 0 || t->s.os_tid == 0) {
        return;
    }
    /* Signal 0 checks that the tid is still a thread of this process. */
    if (syscall(SYS_tgkill, getpid(), t->s.os_tid, 0) != 0 && errno == ESRCH) {
        sp_sampler_stop_thread(&t->s);
        uint64_t zero = 0;
        atomic_compare_exchange_strong(&t->end_ns, &zero, sp_monotonic_ns());
    }
}

void sp_threads_recycle(sp_thread *t) {
    pthread_mutex_lock(&reg.lock);
    slot_put(t);
    pthread_mutex_unlock(&reg.lock);
}

size_t sp_threads_snapshot(sp_thread ***array, size_t *cap) {
    pthread_mutex_lock(&reg.lock);
    size_t n = 0;
    for (sp_thread *t = reg.live; t != NULL; t = t->next) {
        n++;
    }
    if (n > *cap) {
        size_t want = n + n / 2 + 16;
        sp_thread **grown = realloc(*array, want * sizeof *grown);
        if (grown == NULL) {
            pthread_mutex_unlock(&reg.lock);
            return 0;
        }
        *array = grown;
        *cap = want;
    }
    n = 0;
    for (sp_thread *t = reg.live; t != NULL; t = t->next) {
        (*array)[n++] = t;
    }
    pthread_mutex_unlock(&reg.lock);
    return n;
}

void sp_threads_teardown(void) {
    atomic_store(&reg.enabled, 0);
    pthread_mutex_lock(&reg.lock);
    while (reg.live != NULL) {
        sp_thread *t = reg.live;
        sp_sampler_stop_thread(&t->s);
        slot_put(t);
    }
    for (size_t i = 0; i < reg.n_free_rings; i++) {
        sp_ring_destroy(reg.free_rings[i]);
    }
    reg.n_free_rings = 0;
    reg.rings_mapped = 0;
    pthread_mutex_unlock(&reg.lock);
}

void sp_threads_after_fork_child(void) {
    pthread_mutex_init(&reg.lock, NULL);
    atomic_store(&reg.enabled, 0);
    sp_sampler_forget_self();
    /* The parent's rings are private copies here: unmap them. Timers are not inherited. */
    while (reg.live != NULL) {
        sp_thread *t = reg.live;
        atomic_store(&t->s.timer_armed, 0);
        atomic_store(&t->s.live, 0);
        atomic_store(&t->s.in_handler, 0);
        slot_put(t);
    }
    for (size_t i = 0; i < reg.n_free_rings; i++) {
        sp_ring_destroy(reg.free_rings[i]);
    }
    reg.n_free_rings = 0;
    reg.rings_mapped = 0;
    for (unsigned i = 0; i < MAX_INTERNAL; i++) {
        atomic_store(&reg.internal_tids[i], 0);
    }
}

uint64_t sp_threads_seen(void) {
    return atomic_load(&reg.seen);
}

uint64_t sp_threads_refused(void) {
    return atomic_load(&reg.refused);
}
