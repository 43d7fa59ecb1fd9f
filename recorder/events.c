/* events.c: the queue of markers and child records for the writer thread. Program threads push
 * under a mutex (marking themselves busy, so the allocation hooks ignore the recorder's own
 * allocations); vfork children only store a pid in a static array. */
#define _GNU_SOURCE
#include "recorder/events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder/sampler.h"
#include "recorder/wake.h"

#define MAX_SPAWNS 256 /* vfork children noted between two drains; more are not linked */

static struct {
    pthread_mutex_t lock;
    sp_event *head; /* oldest first */
    sp_event *tail;
    _Atomic int enabled;
    sp_child_namer namer;
    _Atomic int spawns[MAX_SPAWNS];
} q = {.lock = PTHREAD_MUTEX_INITIALIZER};

void sp_events_enable(int enabled, sp_child_namer namer) {
    if (namer != NULL) {
        q.namer = namer;
    }
    atomic_store(&q.enabled, enabled);
}

/* Queues one event; force queues it even after sp_events_enable(0) (the writer's last drain
 * turning noted spawns into events). */
static int push(sp_event_kind kind, spt_child_kind child_kind, int pid, const char *text,
                int force) {
    if (!force && !atomic_load(&q.enabled)) {
        return -1;
    }
    size_t len = strlen(text);
    int prev = sp_sampler_set_busy(1);
    sp_event *e = malloc(sizeof *e + len + 1);
    sp_sampler_set_busy(prev);
    if (e == NULL) {
        return -1;
    }
    e->kind = kind;
    e->time_ns = sp_monotonic_ns();
    e->tid = (int)syscall(SYS_gettid);
    e->child_kind = child_kind;
    e->pid = pid;
    e->next = NULL;
    memcpy(e->text, text, len + 1);
    pthread_mutex_lock(&q.lock);
    if (q.tail != NULL) {
        q.tail->next = e;
    } else {
        q.head = e;
    }
    q.tail = e;
    pthread_mutex_unlock(&q.lock);
    return 0;
}

int sp_events_marker(const char *text) {
    return push(SP_EVENT_MARKER, SPT_CHILD_FORK, 0, text, 0);
}

int sp_events_child(spt_child_kind kind, int pid, const char *trace_path) {
    return push(SP_EVENT_CHILD, kind, pid, trace_path, 0);
}

SP_SIGNAL_SAFE void sp_events_note_spawn(int pid) {
    if (!atomic_load(&q.enabled)) {
        return;
    }
    for (int i = 0; i < MAX_SPAWNS; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&q.spawns[i], &expected, pid)) {
            return;
        }
    }
}

sp_event *sp_events_take(void) {
    /* Noted spawns first become ordinary CHILD events (this is the writer: it may allocate). */
    for (int i = 0; i < MAX_SPAWNS; i++) {
        int pid = atomic_exchange(&q.spawns[i], 0);
        if (pid > 0 && q.namer != NULL) {
            char path[4096];
            q.namer(pid, path, sizeof path);
            push(SP_EVENT_CHILD, SPT_CHILD_SPAWN, pid, path, 1);
        }
    }
    pthread_mutex_lock(&q.lock);
    sp_event *list = q.head;
    q.head = q.tail = NULL;
    pthread_mutex_unlock(&q.lock);
    return list;
}

void sp_events_free(sp_event *list) {
    while (list != NULL) {
        sp_event *next = list->next;
        free(list);
        list = next;
    }
}

void sp_events_after_fork_child(void) {
    pthread_mutex_init(&q.lock, NULL);
    sp_event *list = q.head;
    q.head = q.tail = NULL;
    sp_events_free(list);
    atomic_store(&q.enabled, 0);
    for (int i = 0; i < MAX_SPAWNS; i++) {
        atomic_store(&q.spawns[i], 0);
    }
}

void sp_events_lock(void) {
    pthread_mutex_lock(&q.lock);
}

void sp_events_unlock(void) {
    pthread_mutex_unlock(&q.lock);
}
