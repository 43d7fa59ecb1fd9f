/* alloc_bench.c: the allocation-heavy program the allocation benchmarks time. THREADS threads
 * (default 4) each keep a window of 4,096 live blocks and replace a random one OPS times
 * (default 2,000,000): free it, allocate a new block of a mixed size (16 B to 4 KiB, log-
 * uniform, with one block in 64 of 4 to 64 KiB) and write its first and last cache lines (or,
 * with "full", all of it, as a program that fills what it allocates). Every 16th replacement
 * goes through calloc or realloc instead of malloc. Deterministic (fixed seeds); prints the
 * number of allocations and a checksum. Usage: alloc_bench [THREADS [OPS [full]]] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 4096

static long ops = 2000000;
static int fill; /* write whole blocks, not just their ends */

static size_t mixed_size(uint64_t x) {
    unsigned lo = 4, hi = 12; /* 16 B .. 4 KiB */
    if ((x >> 50) % 64 == 0) {
        lo = 12, hi = 16; /* 4 .. 64 KiB */
    }
    unsigned octave = lo + (unsigned)((x >> 8) % (hi - lo));
    return ((size_t)1 << octave) + (size_t)((x >> 20) % ((uint64_t)1 << octave));
}

static void touch(unsigned char *p, size_t size, uint64_t x) {
    if (fill) {
        memset(p, (int)(x & 0xff), size);
        return;
    }
    size_t head = size < 64 ? size : 64;
    memset(p, (int)(x & 0xff), head);
    memset(p + size - head, (int)(x & 0xff), head);
}

static void *run(void *arg) {
    uint64_t x = 0x9E3779B97F4A7C15ull * ((uint64_t)(uintptr_t)arg + 1);
    unsigned char *window[WINDOW];
    size_t sizes[WINDOW];
    uint64_t sum = 0;
    for (int i = 0; i < WINDOW; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sizes[i] = mixed_size(x);
        window[i] = malloc(sizes[i]);
        touch(window[i], sizes[i], x);
    }
    for (long op = 0; op < ops; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t i = (size_t)(x % WINDOW);
        size_t size = mixed_size(x);
        sum += window[i][sizes[i] - 1];
        if (op % 16 == 0) {
            window[i] = realloc(window[i], size);
        } else if (op % 16 == 8) {
            free(window[i]);
            window[i] = calloc(1, size);
        } else {
            free(window[i]);
            window[i] = malloc(size);
        }
        touch(window[i], size, x);
        sizes[i] = size;
    }
    for (int i = 0; i < WINDOW; i++) {
        sum += window[i][0];
        free(window[i]);
    }
    return (void *)(uintptr_t)sum;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2) {
        ops = atol(argv[2]);
    }
    fill = argc > 3 && strcmp(argv[3], "full") == 0;
    if (threads < 1 || threads > 256 || ops < 1) {
        fprintf(stderr, "usage: alloc_bench [THREADS [OPS]]\n");
        return 2;
    }
    pthread_t t[256];
    for (int i = 0; i < threads; i++) {
        pthread_create(&t[i], NULL, run, (void *)(uintptr_t)i);
    }
    uint64_t sum = 0;
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (uint64_t)(uintptr_t)r;
    }
    printf("allocations %ld checksum %llu\n", (long)threads * (ops + WINDOW),
           (unsigned long long)sum);
    return 0;
}
