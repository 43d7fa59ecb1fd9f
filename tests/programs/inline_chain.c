/* inline_chain.c: a hot loop two inlined calls deep, for the recorder's inline expansion. All of
 * its CPU time is in mix_inner, inlined into mix_outer, inlined into run_chain, so every sample
 * should read main > run_chain > mix_outer > mix_inner, with each call's line. The test finds
 * those lines by the CALL_* markers below. It runs ~0.4 s and exits with status 0. */
#include <stdint.h>
#include <stdio.h>

#define ITERATIONS 250000000ull

static inline __attribute__((always_inline)) uint64_t mix_inner(uint64_t x, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x += i;
    }
    return x;
}

static inline __attribute__((always_inline)) uint64_t mix_outer(uint64_t x, uint64_t n) {
    return mix_inner(x, n) * 3; /* CALL_INNER */
}

__attribute__((noinline)) uint64_t run_chain(uint64_t x);

__attribute__((noinline)) uint64_t run_chain(uint64_t x) {
    return mix_outer(x, ITERATIONS) + 1; /* CALL_OUTER */
}

int main(int argc, char **argv) {
    (void)argv;
    printf("inline_chain: %016llx\n", (unsigned long long)run_chain((uint64_t)argc)); /* CALL_RUN */
    return 0;
}
