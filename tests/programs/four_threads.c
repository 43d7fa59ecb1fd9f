/* four_threads.c: four threads burn CPU in four different functions, in the proportions
 * 10/20/30/40 (by iteration count, never by timing), while the main thread waits. Two threads
 * are named with pthread_setname_np, two with prctl(PR_SET_NAME); the fourth starts as
 * "first-name" and is renamed "worker-4" when its work is done. Prints one checksum line and
 * exits 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

/* ~0.35 s per 10% on one current core; the test machine has two cores for four threads. */
#define ITERATIONS_PER_TENTH 200000000ull

#define BURN(x, iterations)                                                                        \
    do {                                                                                           \
        for (uint64_t i_ = 0; i_ < (iterations); i_++) {                                           \
            (x) ^= (x) << 13;                                                                      \
            (x) ^= (x) >> 7;                                                                       \
            (x) ^= (x) << 17;                                                                      \
            (x) += i_;                                                                             \
        }                                                                                          \
    } while (0)

__attribute__((noinline)) uint64_t burn_one(uint64_t x);
__attribute__((noinline)) uint64_t burn_two(uint64_t x);
__attribute__((noinline)) uint64_t burn_three(uint64_t x);
__attribute__((noinline)) uint64_t burn_four(uint64_t x);

__attribute__((noinline)) uint64_t burn_one(uint64_t x) {
    BURN(x, 1 * ITERATIONS_PER_TENTH);
    return x;
}

__attribute__((noinline)) uint64_t burn_two(uint64_t x) {
    BURN(x, 2 * ITERATIONS_PER_TENTH);
    return x;
}

__attribute__((noinline)) uint64_t burn_three(uint64_t x) {
    BURN(x, 3 * ITERATIONS_PER_TENTH);
    return x;
}

__attribute__((noinline)) uint64_t burn_four(uint64_t x) {
    BURN(x, 4 * ITERATIONS_PER_TENTH);
    return x;
}

static uint64_t results[4];

static void *worker(void *arg) {
    uintptr_t k = (uintptr_t)arg;
    uint64_t x = 0x9E3779B97F4A7C15ull + k;
    if (k == 2) {
        prctl(PR_SET_NAME, "worker-3", 0, 0, 0);
    } else if (k == 3) {
        prctl(PR_SET_NAME, "first-name", 0, 0, 0);
    }
    switch (k) {
    case 0:
        x = burn_one(x);
        break;
    case 1:
        x = burn_two(x);
        break;
    case 2:
        x = burn_three(x);
        break;
    default:
        x = burn_four(x);
        break;
    }
    if (k == 3) {
        prctl(PR_SET_NAME, "worker-4", 0, 0, 0); /* a rename, long after the thread started */
    }
    results[k] = x;
    return NULL;
}

int main(void) {
    pthread_t threads[4];
    for (uintptr_t k = 0; k < 4; k++) {
        if (pthread_create(&threads[k], NULL, worker, (void *)k) != 0) {
            return 1;
        }
    }
    pthread_setname_np(threads[0], "worker-1");
    pthread_setname_np(threads[1], "worker-2");
    for (int k = 0; k < 4; k++) {
        pthread_join(threads[k], NULL);
    }
    printf("four_threads: checksum %016llx\n",
           (unsigned long long)(results[0] ^ results[1] ^ results[2] ^ results[3]));
    return 0;
}
