/* deep_recursion.c: recurses 10,000 calls deep (each a real frame: no inlining, no tail calls)
 * and burns CPU at the bottom, so every sample's stack is over 10,000 frames deep. Exits 0. */
#include <stdint.h>
#include <stdio.h>

#define DEPTH 10000

static volatile uint64_t sink;

__attribute__((noinline)) static uint64_t bottom(uint64_t x) {
    for (uint64_t i = 0; i < 300000000ull; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x += i;
    }
    return x;
}

__attribute__((noinline)) uint64_t recurse(int depth, uint64_t x);
__attribute__((noinline)) uint64_t recurse(int depth, uint64_t x) {
    uint64_t r = depth == 0 ? bottom(x) : recurse(depth - 1, x + 1);
    sink += r; /* work after the call: the call is not a tail call */
    return r ^ (uint64_t)depth;
}

int main(void) {
    /* main calls recurse(DEPTH - 1), which makes DEPTH recurse frames down to depth 0. */
    uint64_t r = recurse(DEPTH - 1, 1);
    printf("deep_recursion: %d frames, checksum %016llx\n", DEPTH, (unsigned long long)r);
    return 0;
}
