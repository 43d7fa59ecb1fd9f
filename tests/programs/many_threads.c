/* many_threads.c: starts 1,000 short-lived threads, 50 at a time, each burning a little CPU and
 * leaving in a different way (return, pthread_exit). At the end it prints how many POSIX timers
 * the process still has (/proc/self/timers), so a recorder that leaked one per thread shows.
 * Exits 0 when all 1,000 threads ran. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define THREADS 1000
#define BATCH   50

static volatile uint64_t sink;
static uint64_t ran;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static uint64_t short_work(uint64_t x) {
    for (uint64_t i = 0; i < 2000000u; i++) { /* ~3 ms */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static void *worker(void *arg) {
    uintptr_t k = (uintptr_t)arg;
    sink += short_work(k + 1);
    pthread_mutex_lock(&lock);
    ran++;
    pthread_mutex_unlock(&lock);
    if (k % 2) {
        pthread_exit(NULL);
    }
    return NULL;
}

static int count_timers(void) {
    FILE *f = fopen("/proc/self/timers", "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        n += strncmp(line, "ID:", 3) == 0;
    }
    fclose(f);
    return n;
}

int main(void) {
    for (int started = 0; started < THREADS; started += BATCH) {
        pthread_t t[BATCH];
        for (int i = 0; i < BATCH; i++) {
            if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(started + i)) != 0) {
                return 1;
            }
        }
        for (int i = 0; i < BATCH; i++) {
            pthread_join(t[i], NULL);
        }
    }
    printf("many_threads: %llu threads ran, timers %d\n", (unsigned long long)ran, count_timers());
    return ran == THREADS ? 0 : 1;
}
