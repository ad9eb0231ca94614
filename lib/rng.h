/* rng.h: seeded random numbers: a sequential generator (xoshiro256**) for shuffles, bootstrap
 * samples and weight initialization, and a counter-based hash (splitmix64) for dropout masks, so
 * that a mask depends on (seed, step, place) and not on thread count or order. */
#ifndef ELSA_RNG_H
#define ELSA_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n), without bias; n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);
/* Standard normal (Box-Muller). */
double rng_normal(struct rng *r);
/* Shuffles idx[0..n) (Fisher-Yates). */
void rng_shuffle(struct rng *r, uint32_t *idx, uint32_t n);

/* splitmix64's finalizer: a well-mixed 64-bit hash of x. */
static inline uint64_t mix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

#endif
