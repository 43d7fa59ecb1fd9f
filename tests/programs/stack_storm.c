/* stack_storm.c: four threads walk random paths through sixteen functions, 24 calls deep, for
 * a few seconds of CPU, so samples land on many different stacks and a trace grows quickly (for
 * --max-size). Prints one line and exits 0. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEPTH 24

static volatile uint64_t sink;

typedef uint64_t (*step_fn)(uint64_t state, int depth);
static step_fn steps[16];

static uint64_t next_step(uint64_t state, int depth) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    if (depth == 0) {
        for (int i = 0; i < 20000; i++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
        }
        return state;
    }
    uint64_t r = steps[state % 16](state, depth - 1);
    sink += r; /* no tail call: every step keeps its frame */
    return r;
}

#define STEP(n)                                                                                    \
    __attribute__((noinline)) static uint64_t step_##n(uint64_t state, int depth) {                \
        return next_step(state + n, depth) + 1;                                                    \
    }
STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)
STEP(8) STEP(9) STEP(10) STEP(11) STEP(12) STEP(13) STEP(14) STEP(15)

static void *walker(void *arg) {
    uint64_t state = 0x9E3779B97F4A7C15ull + (uintptr_t)arg;
    for (int i = 0; i < 6000; i++) {
        state = next_step(state, DEPTH);
    }
    return NULL;
}

int main(void) {
    step_fn all[16] = {step_0, step_1, step_2,  step_3,  step_4,  step_5,  step_6,  step_7,
                       step_8, step_9, step_10, step_11, step_12, step_13, step_14, step_15};
    for (int i = 0; i < 16; i++) {
        steps[i] = all[i];
    }
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, walker, (void *)i);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    printf("stack_storm: done\n");
    return 0;
}
