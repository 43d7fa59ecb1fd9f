/* live_set_test.c: the writer-side live set against a plain array model, through growth and
 * long churn (backward-shift deletion must keep every member findable). */
#include <stdint.h>
#include <stdlib.h>

#include "recorder/live_set.h"
#include "tests/check.h"

#define UNIVERSE 20000u /* addresses 16 * (1..UNIVERSE), as an allocator would hand out */

int main(void) {
    sp_live_set s = {0};
    static unsigned char model[UNIVERSE + 1];
    size_t model_count = 0;
    int mismatches = 0;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    CHECK("an empty set removes nothing", sp_live_set_remove(&s, 16) == 0);
    for (int op = 0; op < 2000000; op++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* Clustered keys (a few hot ranges) make long probe runs, the case deletion must get
         * right. */
        uint64_t k = 1 + (x >> 8) % UNIVERSE;
        if ((x & 0xf) < 9) {
            k = 1 + ((x >> 40) % 64) * 256 + (x >> 20) % 32;
        }
        uint64_t address = k * 16;
        if (x & 0x10) {
            int r = sp_live_set_insert(&s, address);
            mismatches += r != (model[k] ? 1 : 0);
            model_count += !model[k];
            model[k] = 1;
        } else {
            int r = sp_live_set_remove(&s, address);
            mismatches += r != model[k];
            model_count -= model[k];
            model[k] = 0;
        }
    }
    CHECK_EQ_U64("insert and remove answer as the model does", mismatches, 0);
    CHECK_EQ_U64("the count follows the model", s.count, model_count);
    int found = 0;
    for (uint64_t k = 1; k <= UNIVERSE; k++) {
        if (model[k]) {
            found += sp_live_set_remove(&s, k * 16);
        }
    }
    CHECK_EQ_U64("every member is still findable after the churn", found, model_count);
    CHECK_EQ_U64("removing every member empties the set", s.count, 0);
    for (uint64_t k = 1; k <= UNIVERSE; k++) {
        mismatches += sp_live_set_insert(&s, k * 16) != 0;
    }
    CHECK_EQ_U64("the set grows past its first size", mismatches, 0);
    CHECK_EQ_U64("all inserted", s.count, UNIVERSE);
    sp_live_set_clear(&s);
    CHECK("a cleared set is empty", s.count == 0 && sp_live_set_remove(&s, 16) == 0);
    return CHECK_DONE();
}
