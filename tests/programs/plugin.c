/* plugin.c: a shared library that dl_user loads with dlopen and burns CPU in, so that a trace
 * must name a function from a library mapped after the recorder started. */
#include <stdint.h>

uint64_t plugin_work(uint64_t x, uint64_t iterations);

__attribute__((noinline)) uint64_t plugin_work(uint64_t x, uint64_t iterations) {
    for (uint64_t i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x += i;
    }
    return x;
}
