/* hot_split.c: a CPU-bound test program whose three hot functions split its CPU time 60/30/10.
 * The split comes from iteration counts (6:3:1 of one identical loop), never from timing, so it
 * holds on any machine. It prints one line and exits with status 3, which spprof must pass on.
 * It is also the README's demo program. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* One round of the three functions is ~0.15 s on a current x86-64 core (about 1.6 ns per
 * iteration); ten rounds make ~1.5 s.
 * Interleaving short rounds spreads clock-frequency drift evenly over the three. */
#define ROUNDS               10
#define ITERATIONS_PER_TENTH 9000000ull /* iterations that make 10% of one round */

/* The loop every hot function runs. A macro, not an inline function: the samples must land in
 * the hot function itself, and a profiler that expands inlined calls from DWARF (spprof does)
 * would show an inlined helper as a frame of its own. A xorshift step is a serial dependency
 * chain: the same cost per iteration in all three functions, and nothing to vectorize. */
#define BURN(x, iterations)                                                                        \
    do {                                                                                           \
        for (uint64_t i_ = 0; i_ < (iterations); i_++) {                                           \
            (x) ^= (x) << 13;                                                                      \
            (x) ^= (x) >> 7;                                                                       \
            (x) ^= (x) << 17;                                                                      \
            (x) += i_;                                                                             \
        }                                                                                          \
    } while (0)

__attribute__((noinline)) uint64_t hot_sixty(uint64_t x);
__attribute__((noinline)) uint64_t hot_thirty(uint64_t x);
__attribute__((noinline)) uint64_t hot_ten(uint64_t x);

__attribute__((noinline)) uint64_t hot_sixty(uint64_t x) {
    BURN(x, 6 * ITERATIONS_PER_TENTH);
    return x;
}

__attribute__((noinline)) uint64_t hot_thirty(uint64_t x) {
    BURN(x, 3 * ITERATIONS_PER_TENTH);
    return x;
}

__attribute__((noinline)) uint64_t hot_ten(uint64_t x) {
    BURN(x, 1 * ITERATIONS_PER_TENTH);
    return x;
}

int main(int argc, char **argv) {
    /* Seeded from argc so the compiler cannot fold the loops; the checksum is still the same on
     * every run with the same arguments, so a test can compare outputs byte for byte. */
    uint64_t x = 0x9E3779B97F4A7C15ull + (uint64_t)argc;
    (void)argv;
    for (int round = 0; round < ROUNDS; round++) {
        x = hot_sixty(x);
        x = hot_thirty(x);
        x = hot_ten(x);
    }
    printf("hot_split: checksum %016llx\n", (unsigned long long)x);
    return 3;
}
