/* e2e_hot.c: the program diff_e2e_test.sh profiles in two builds. Built with -DMOVED=0, hot_old
 * runs 70% of the iterations, hot_new 10% and steady 20%; with -DMOVED=1 the 70% moves to hot_new.
 * The split comes from iteration counts, never from timing, so it holds on any machine. */
#include <stdint.h>
#include <stdio.h>

#ifndef MOVED
#define MOVED 0
#endif
#define ROUNDS    10
#define PER_TENTH 6000000ull /* iterations that make 10% of one round */

/* A serial xorshift chain: the same cost per iteration everywhere, nothing to vectorize. */
#define BURN(x, n)                                                                                 \
    do {                                                                                           \
        for (uint64_t i_ = 0; i_ < (n); i_++) {                                                    \
            (x) ^= (x) << 13;                                                                      \
            (x) ^= (x) >> 7;                                                                       \
            (x) ^= (x) << 17;                                                                      \
            (x) += i_;                                                                             \
        }                                                                                          \
    } while (0)

__attribute__((noinline)) uint64_t hot_old(uint64_t x);
__attribute__((noinline)) uint64_t hot_new(uint64_t x);
__attribute__((noinline)) uint64_t steady(uint64_t x);

__attribute__((noinline)) uint64_t hot_old(uint64_t x) {
    BURN(x, (MOVED ? 1 : 7) * PER_TENTH);
    return x;
}

__attribute__((noinline)) uint64_t hot_new(uint64_t x) {
    BURN(x, (MOVED ? 7 : 1) * PER_TENTH);
    return x;
}

__attribute__((noinline)) uint64_t steady(uint64_t x) {
    BURN(x, 2 * PER_TENTH);
    return x;
}

int main(void) {
    uint64_t x = 88172645463325252ull;
    for (int r = 0; r < ROUNDS; r++)
        x = steady(hot_new(hot_old(x)));
    printf("e2e_hot: %s build, checksum %016llx\n", MOVED ? "moved" : "original",
           (unsigned long long)x);
    return 0;
}
