/* alloc_sampler.h: the arithmetic of allocation sampling by bytes (tcmalloc's heap sampler):
 * a per-thread xorshift PRNG, exponentially distributed gaps between sampled bytes, and the
 * unbiased weight of a sample. Pure functions on caller-owned state: no locks, no libm, no
 * allocation, so the malloc hooks and a signal handler may call all of them. */
#ifndef SPPROF_RECORDER_ALLOC_SAMPLER_H
#define SPPROF_RECORDER_ALLOC_SAMPLER_H

#include <stdint.h>

#include "recorder/sigsafe.h"

/* Seeds a PRNG state from any two numbers (a thread id, a clock reading, an address) through
 * splitmix64, so that similar seeds give unrelated sequences. Never returns 0, which xorshift
 * would keep forever. Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_alloc_prng_seed(uint64_t a, uint64_t b);

/* Advances the xorshift64* state and returns 64 random bits. Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_alloc_prng_next(uint64_t *state);

/* Natural logarithm of x for 0 < x <= 2^1023, to about 1e-15 relative error; -inf-free: x must
 * be positive. Our own so that the hooks do not pull in libm. Async-signal-safe. */
SP_SIGNAL_SAFE double sp_alloc_log(double x);

/* Draws the number of bytes until the next sampled byte: 1 + floor(E) where E is exponential
 * with mean mean_bytes. An allocation of size bytes is then sampled when size >= the countdown,
 * which happens with probability exactly 1 - exp(-size / mean_bytes) (see
 * sp_alloc_sample_probability); the bytes left over are forgotten, which the exponential's lack
 * of memory makes exact. mean_bytes 0 means "sample everything" and returns 0.
 * Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_alloc_draw_countdown(uint64_t *state, uint64_t mean_bytes);

/* The probability that an allocation of size_bytes is sampled: 1 - exp(-size/mean), computed
 * without cancellation for small sizes. 1 when mean_bytes is 0 ("all"); 0 for size 0.
 * Async-signal-safe. */
SP_SIGNAL_SAFE double sp_alloc_sample_probability(uint64_t size_bytes, uint64_t mean_bytes);

/* The unbiased weight of a sampled allocation: size / p, rounded to the nearest byte, so that
 * summing weights over the samples estimates the bytes allocated (Horvitz-Thompson). size_bytes
 * itself when mean_bytes is 0 ("all"). Async-signal-safe. */
SP_SIGNAL_SAFE uint64_t sp_alloc_weight(uint64_t size_bytes, uint64_t mean_bytes);

#endif /* SPPROF_RECORDER_ALLOC_SAMPLER_H */
