/* alloc_storm.c: a multi-threaded allocation storm. Eight threads each run OPS operations
 * (default 400,000; argv[1] overrides) over 512 slots: malloc, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign and free, and every tenth block goes to another
 * thread to be freed there. Each block carries a pattern derived from its address and size,
 * checked before it is freed or moved: a recorder that corrupted the heap or returned a wrong
 * block shows up as a mismatch. Then 200 short-lived threads allocate and free a little each.
 * With "fork" as argv[2], the main thread also forks 20 children while the storm runs; each
 * allocates and frees in the child and exits 0 (a child that inherited a lock held by a storm
 * thread would hang: the fork handlers must prevent that). Prints "allocations <n>" (a number
 * that depends only on the seeds), "corrupt <n>" and, with fork, "children <n> ok"; exits with
 * status 0 when nothing was corrupt and every child exited 0. Usage: alloc_storm [OPS [fork]] */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS     8
#define SLOTS       512
#define EXCHANGE    256
#define SHORT_LIVED 200

static long ops = 400000;
static _Atomic(void *) exchange[EXCHANGE];
static atomic_ulong allocations;
static atomic_ulong corrupt;

/* The first word holds the address mixed with the size, the last byte the size's low byte. */
static void stamp(void *p, size_t size) {
    uint64_t tag = (uint64_t)(uintptr_t)p ^ (size * 0x9E3779B97F4A7C15ull);
    memcpy(p, &tag, sizeof tag);
    ((unsigned char *)p)[size - 1] = (unsigned char)size;
}

static void check(const void *p, size_t size) {
    uint64_t tag;
    memcpy(&tag, p, sizeof tag);
    if (tag != ((uint64_t)(uintptr_t)p ^ (size * 0x9E3779B97F4A7C15ull)) ||
        ((const unsigned char *)p)[size - 1] != (unsigned char)size) {
        atomic_fetch_add(&corrupt, 1);
    }
}

/* A block handed between threads carries its size in a small header. */
typedef struct {
    size_t size;
} handoff;

static void *storm(void *arg) {
    uint64_t x = 0x2545F4914F6CDD1Dull * (uint64_t)(uintptr_t)arg;
    void *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    unsigned long made = 0;
    for (long op = 0; op < ops; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t i = (size_t)(x % SLOTS);
        size_t n = sizeof(handoff) + 8 + (size_t)((x >> 12) % ((x >> 40) % 8 == 0 ? 65536 : 512));
        unsigned kind = (unsigned)((x >> 24) % 16);
        if (slot[i] == NULL) {
            void *p = NULL;
            if (kind < 6) {
                p = malloc(n);
            } else if (kind < 8) {
                p = calloc(1, n);
            } else if (kind < 10) {
                if (posix_memalign(&p, 64, n) != 0) {
                    p = NULL;
                }
            } else if (kind < 12) {
                p = aligned_alloc(128, (n + 127) & ~(size_t)127);
            } else if (kind < 14) {
                p = memalign(32, n);
            } else {
                p = reallocarray(NULL, 1, n);
            }
            if (p == NULL) {
                atomic_fetch_add(&corrupt, 1);
                continue;
            }
            made++;
            stamp(p, n);
            slot[i] = p;
            size[i] = n;
        } else if (kind < 4) {
            check(slot[i], size[i]);
            void *p = kind < 2 ? realloc(slot[i], n) : reallocarray(slot[i], 1, n);
            if (p == NULL) {
                atomic_fetch_add(&corrupt, 1);
                continue;
            }
            made++;
            stamp(p, n);
            slot[i] = p;
            size[i] = n;
        } else if (kind < 6) {
            /* Hand the block to whichever thread takes this exchange slot next, and free what
             * another thread left there. */
            check(slot[i], size[i]);
            ((handoff *)slot[i])->size = size[i];
            ((unsigned char *)slot[i])[size[i] - 1] = (unsigned char)size[i];
            handoff *other = atomic_exchange(&exchange[(x >> 48) % EXCHANGE], slot[i]);
            if (other != NULL) {
                size_t s = other->size;
                if (((unsigned char *)other)[s - 1] != (unsigned char)s) {
                    atomic_fetch_add(&corrupt, 1);
                }
                free(other);
            }
            slot[i] = NULL;
        } else {
            check(slot[i], size[i]);
            free(slot[i]);
            slot[i] = NULL;
        }
    }
    for (size_t i = 0; i < SLOTS; i++) {
        if (slot[i] != NULL) {
            check(slot[i], size[i]);
            free(slot[i]);
        }
    }
    atomic_fetch_add(&allocations, made);
    return NULL;
}

static void *short_lived(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++) {
        char *p = malloc(100 + (size_t)i);
        stamp(p, 100 + (size_t)i);
        check(p, 100 + (size_t)i);
        free(p);
    }
    atomic_fetch_add(&allocations, 50);
    return NULL;
}

/* Forks while the storm threads allocate: the child allocates, frees and exits. */
static int fork_children(int n) {
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int k = 0; k < 1000; k++) {
                char *p = malloc(16 + (size_t)k);
                stamp(p, 16 + (size_t)k);
                check(p, 16 + (size_t)k);
                free(p);
            }
            _exit(atomic_load(&corrupt) == 0 ? 0 : 1);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0) {
            ok++;
        }
    }
    return ok;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        ops = strtol(argv[1], NULL, 10);
    }
    int forks = argc > 2 && strcmp(argv[2], "fork") == 0 ? 20 : 0;
    pthread_t threads[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++) {
        pthread_create(&threads[t], NULL, storm, (void *)(t + 1));
    }
    int children_ok = fork_children(forks);
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
    }
    for (int i = 0; i < EXCHANGE; i++) {
        free(atomic_exchange(&exchange[i], NULL));
    }
    for (int round = 0; round < SHORT_LIVED / 10; round++) {
        pthread_t batch[10];
        for (int t = 0; t < 10; t++) {
            pthread_create(&batch[t], NULL, short_lived, NULL);
        }
        for (int t = 0; t < 10; t++) {
            pthread_join(batch[t], NULL);
        }
    }
    printf("allocations %lu\ncorrupt %lu\n", atomic_load(&allocations), atomic_load(&corrupt));
    if (forks > 0) {
        printf("children %d ok\n", children_ok);
    }
    return atomic_load(&corrupt) == 0 && children_ok == forks ? 0 : 1;
}
