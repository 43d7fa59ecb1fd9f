/* alloc_sampler_test.c: the arithmetic of allocation sampling (alloc_sampler.c) against libm
 * and against simulation: the log and the probability to double precision, the gaps'
 * exponential distribution, each size sampled at rate 1 - exp(-size/mean), and the weights'
 * sum estimating the bytes allocated without bias. Plain C: runs under ASan and TSan too. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "recorder/alloc_sampler.h"
#include "tests/check.h"

#define MEAN 524288u /* the default sampling period */

static double rel_err(double got, double want) {
    return want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
}

static void test_log(void) {
    double worst = 0;
    /* Powers of two, their neighbours, the folding point sqrt(2), tiny and huge values, and a
     * sweep over (0, 1] where the sampler uses it. */
    static const double fixed[] = {1.0, 2.0, 0.5, 1.4142135623730951, 1.4142135623730949,
                                   0.7071067811865476, 1e-300, 4.9e-324, 1e300,
                                   1.0 / 9007199254740992.0, 0.9999999999999999};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        double e = fixed[i] == 1.0 ? fabs(sp_alloc_log(1.0)) : rel_err(sp_alloc_log(fixed[i]),
                                                                        log(fixed[i]));
        worst = e > worst ? e : worst;
    }
    uint64_t state = sp_alloc_prng_seed(1, 2);
    for (int i = 0; i < 200000; i++) {
        double x = (double)((sp_alloc_prng_next(&state) >> 11) + 1) / 9007199254740992.0;
        double want = log(x);
        double e = fabs(want) < 1e-3 ? fabs(sp_alloc_log(x) - want) : rel_err(sp_alloc_log(x), want);
        worst = e > worst ? e : worst;
    }
    printf("log: worst relative error %.3g\n", worst);
    CHECK("sp_alloc_log agrees with libm's log to 1e-14", worst < 1e-14);
}

static void test_probability_and_weight(void) {
    double worst = 0;
    for (uint64_t size = 1; size < (1ull << 36); size = size * 3 / 2 + 1) {
        double want = -expm1(-(double)size / MEAN);
        double e = rel_err(sp_alloc_sample_probability(size, MEAN), want);
        worst = e > worst ? e : worst;
    }
    printf("probability: worst relative error %.3g\n", worst);
    CHECK("1 - exp(-size/mean) agrees with libm's -expm1 to 1e-13", worst < 1e-13);
    CHECK("a 16-byte block is sampled with probability 16/mean, to first order",
          rel_err(sp_alloc_sample_probability(16, MEAN), 16.0 / MEAN) < 1e-4);
    CHECK("size 0 is never sampled", sp_alloc_sample_probability(0, MEAN) == 0.0);
    CHECK("every allocation is sampled in 'all' mode (mean 0)",
          sp_alloc_sample_probability(12345, 0) == 1.0);
    CHECK_EQ_U64("weight is the size itself in 'all' mode", sp_alloc_weight(12345, 0), 12345);
    CHECK_EQ_U64("a block 64x the mean weighs exactly its size", sp_alloc_weight(64ull * MEAN, MEAN),
                 64ull * MEAN);
    uint64_t w = sp_alloc_weight(16, MEAN);
    CHECK("a 16-byte sample stands for about mean bytes (size / p)",
          w > MEAN - 16 && w < MEAN + 16);
    CHECK_EQ_U64("weight of a mean-sized block is size / (1 - 1/e)", sp_alloc_weight(MEAN, MEAN),
                 (uint64_t)((double)MEAN / -expm1(-1.0) + 0.5));
}

static void test_prng_and_gaps(void) {
    uint64_t a = sp_alloc_prng_seed(0, 0);
    uint64_t b = sp_alloc_prng_seed(0, 1);
    CHECK("seeds are never 0 and differ for nearby inputs", a != 0 && b != 0 && a != b);
    uint64_t state = sp_alloc_prng_seed(42, 7);
    CHECK_EQ_U64("'all' mode draws a countdown of 0", sp_alloc_draw_countdown(&state, 0), 0);

    /* Gaps: 1 + floor(Exp(mean)). Check the mean and three quantiles of the exponential. */
    const int n = 400000;
    double sum = 0;
    int below_median = 0, below_q90 = 0, below_q10 = 0;
    uint64_t min_gap = UINT64_MAX;
    for (int i = 0; i < n; i++) {
        uint64_t g = sp_alloc_draw_countdown(&state, MEAN);
        min_gap = g < min_gap ? g : min_gap;
        sum += (double)g;
        below_q10 += (double)g <= -log(0.9) * MEAN;
        below_median += (double)g <= log(2.0) * MEAN;
        below_q90 += (double)g <= -log(0.1) * MEAN;
    }
    double mean = sum / n;
    printf("gaps: mean %.0f (expected %u + 0.5), q10 %.4f, median %.4f, q90 %.4f\n", mean, MEAN,
           (double)below_q10 / n, (double)below_median / n, (double)below_q90 / n);
    /* Standard error of the mean: mean / sqrt(n) = 0.16%; allow 4 standard errors. */
    CHECK("gaps average the mean within 0.7%", rel_err(mean, MEAN + 0.5) < 0.007);
    CHECK("10% of gaps fall below the exponential's 10% quantile (+-0.5 points)",
          fabs((double)below_q10 / n - 0.1) < 0.005);
    CHECK("half the gaps fall below its median (+-0.5 points)",
          fabs((double)below_median / n - 0.5) < 0.005);
    CHECK("90% fall below its 90% quantile (+-0.5 points)",
          fabs((double)below_q90 / n - 0.9) < 0.005);
    CHECK("a gap is at least one byte", min_gap >= 1);
}

/* Runs the hook's countdown logic over a stream of allocations: sampled when size >= countdown,
 * else the countdown shrinks by size. */
typedef struct {
    uint64_t state;
    uint64_t countdown;
} sim;

static int sim_sampled(sim *s, uint64_t size, uint64_t mean) {
    if (size < s->countdown) {
        s->countdown -= size;
        return 0;
    }
    s->countdown = sp_alloc_draw_countdown(&s->state, mean);
    return 1;
}

static void test_rates_and_unbiased_estimate(void) {
    sim s = {sp_alloc_prng_seed(3, 4), 0};
    s.countdown = sp_alloc_draw_countdown(&s.state, MEAN);
    /* Per size, interleaved so that each sees the others' leftovers: the sampled fraction must
     * match p = 1 - exp(-size/mean). */
    static const uint64_t sizes[] = {4096, 65536, 524288, 2097152};
    uint64_t sampled[4] = {0}, count[4] = {0};
    uint64_t state = sp_alloc_prng_seed(5, 6);
    for (int i = 0; i < 2000000; i++) {
        int k = (int)(sp_alloc_prng_next(&state) % 4);
        count[k]++;
        sampled[k] += (uint64_t)sim_sampled(&s, sizes[k], MEAN);
    }
    for (int k = 0; k < 4; k++) {
        double p = sp_alloc_sample_probability(sizes[k], MEAN);
        double rate = (double)sampled[k] / (double)count[k];
        double se = sqrt(p * (1 - p) / (double)count[k]);
        printf("size %8llu: sampled %.5f, p %.5f (%.1f standard errors)\n",
               (unsigned long long)sizes[k], rate, p, se > 0 ? fabs(rate - p) / se : 0.0);
        CHECK("each size is sampled at rate 1 - exp(-size/mean), within 4 standard errors",
              fabs(rate - p) <= 4 * se + 1e-12);
    }

    /* The estimate: 20 independent runs of 1 GiB each in mixed sizes (16 B to 1 MiB, a heavy
     * tail like real programs); the weights' sum must average the truth (unbiased) and each run
     * should land within 10%. */
    double total_ratio = 0;
    double worst = 0;
    for (int run = 0; run < 20; run++) {
        sim r = {sp_alloc_prng_seed(100 + (uint64_t)run, 9), 0};
        r.countdown = sp_alloc_draw_countdown(&r.state, MEAN);
        uint64_t truth = 0;
        double estimate = 0;
        while (truth < (1ull << 30)) {
            uint64_t x = sp_alloc_prng_next(&r.state);
            uint64_t size = (16u << (x % 17)) + (x >> 40) % 64; /* 16 B .. 1 MiB, log-uniform */
            truth += size;
            if (sim_sampled(&r, size, MEAN)) {
                estimate += (double)sp_alloc_weight(size, MEAN);
            }
        }
        double ratio = estimate / (double)truth;
        total_ratio += ratio;
        worst = fabs(ratio - 1) > worst ? fabs(ratio - 1) : worst;
    }
    printf("estimate over 20 x 1 GiB: mean ratio %.4f, worst run off by %.2f%%\n",
           total_ratio / 20, worst * 100);
    /* One run's relative error is about sqrt(mean / bytes) = 2.2%, so the average of 20 has a
     * standard error of 0.5%: 1.5% is three of them. */
    CHECK("the estimate is unbiased: 20 runs average the truth within 1.5%",
          fabs(total_ratio / 20 - 1) < 0.015);
    CHECK("every 1 GiB run is within 10% of the truth", worst < 0.10);
}

int main(void) {
    test_log();
    test_probability_and_weight();
    test_prng_and_gaps();
    test_rates_and_unbiased_estimate();
    return CHECK_DONE();
}
