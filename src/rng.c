/*
 * rng.c — deterministic random numbers for kernels and the shop generator.
 *
 * xoshiro256** (Blackman & Vigna) seeded through splitmix64.  Results depend
 * only on the seed, so training with a given seed and thread count is
 * reproducible and the synthetic shop is the same on every machine.
 */
#include <math.h>

#include "kernel.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
fr_rng_seed(FrRng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

uint64_t
fr_rng_next(FrRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
fr_rng_uniform(FrRng *rng)
{
	/* 53 random bits mapped onto [0, 1) */
	return (fr_rng_next(rng) >> 11) * 0x1.0p-53;
}

double
fr_rng_normal(FrRng *rng)
{
	/* Box-Muller; 1 - u keeps log() away from zero */
	double		u = 1.0 - fr_rng_uniform(rng);
	double		v = fr_rng_uniform(rng);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

uint64_t
fr_rng_below(FrRng *rng, uint64_t n)
{
	/* Lemire's multiply-shift; the tiny bias is irrelevant at our n */
	return (uint64_t) (((unsigned __int128) fr_rng_next(rng) * n) >> 64);
}
