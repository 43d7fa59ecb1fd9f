/* cpu_bound.c: the overhead benchmark's workload: THREADS threads (argv[1], default 1) each burn
 * a fixed amount of CPU (argv[2] x 10^8 xorshift steps, default 20) spread over a few functions
 * and a shallow call chain, so samples have real stacks to unwind. The work is fixed, never
 * timed, so any slowdown is the profiler's. Prints one checksum line. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t steps_per_thread;

__attribute__((noinline)) static uint64_t mix(uint64_t x, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x += i;
    }
    return x;
}

__attribute__((noinline)) static uint64_t stage_a(uint64_t x, uint64_t n) {
    return mix(x, n) + 1;
}

__attribute__((noinline)) static uint64_t stage_b(uint64_t x, uint64_t n) {
    return stage_a(x, n / 2) ^ mix(x, n / 2);
}

__attribute__((noinline)) static uint64_t stage_c(uint64_t x, uint64_t n) {
    return stage_b(x, n) + 3;
}

static void *worker(void *arg) {
    uint64_t x = 0x9E3779B97F4A7C15ull + (uintptr_t)arg;
    uint64_t chunk = steps_per_thread / 100;
    for (int i = 0; i < 100; i++) {
        x = (i % 3 == 0) ? stage_c(x, chunk) : (i % 3 == 1) ? stage_b(x, chunk) : mix(x, chunk);
    }
    return (void *)(uintptr_t)x;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    steps_per_thread = (argc > 2 ? strtoull(argv[2], NULL, 10) : 20) * 100000000ull;
    if (threads < 1 || threads > 64) {
        return 2;
    }
    pthread_t t[64];
    uint64_t sum = 0;
    for (int i = 0; i < threads; i++) {
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    }
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum ^= (uint64_t)(uintptr_t)r;
    }
    printf("cpu_bound: %d threads, checksum %016llx\n", threads, (unsigned long long)sum);
    return 0;
}
