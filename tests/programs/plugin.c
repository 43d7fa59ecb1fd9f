/* plugin.c: a shared library that dl_user loads with dlopen and burns CPU in, so that a trace
 * must name a function from a library mapped after the recorder started. Its constructor burns
 * CPU too, inside dlopen, where the recorder cannot unwind: those samples must still count. */
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

/* ~40 ms of CPU on every load, run by dlopen itself. */
__attribute__((constructor)) static void plugin_setup(void) {
    volatile uint64_t sink = plugin_work(7, 20000000ull);
    (void)sink;
}
