/*
 * test_linalg.c — the blocked SPD inverse (fr_spd_inverse) against LAPACK's
 * spotrf + spotri on random SPD matrices of sizes around the block size,
 * and A * A^-1 = I.
 */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "linalg.h"
#include "tap.h"

/* a random SPD matrix: B B^T / n + I, full (both triangles) */
static void
random_spd(int n, float *a, uint64_t seed)
{
	float	   *b = fr_alloc((size_t) n * n * sizeof(float));
	FrRng		rng;

	fr_rng_seed(&rng, seed);
	for (size_t i = 0; i < (size_t) n * n; i++)
		b[i] = (float) fr_rng_normal(&rng);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
		{
			double		s = 0;

			for (int k = 0; k < n; k++)
				s += (double) b[(size_t) i * n + k] * b[(size_t) j * n + k];
			a[(size_t) i * n + j] = (float) (s / n + (i == j ? 1.0 : 0.0));
		}
	fr_free(b);
}

static void
check_size(int n)
{
	size_t		nn = (size_t) n * n;
	float	   *a = fr_alloc(nn * sizeof(float));
	float	   *inv = fr_alloc(nn * sizeof(float));
	float	   *ref = fr_alloc(nn * sizeof(float));
	double		diff = 0,
				scale = 0,
				ident = 0;

	random_spd(n, a, 1000 + n);
	memcpy(inv, a, nn * sizeof(float));
	memcpy(ref, a, nn * sizeof(float));
	/* the lower row-major triangle is garbage to the routine: prove it */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			inv[(size_t) i * n + j] = NAN;
	fr_spd_inverse(n, inv);
	LAPACKE_spotrf(LAPACK_ROW_MAJOR, 'U', n, ref, n);
	LAPACKE_spotri(LAPACK_ROW_MAJOR, 'U', n, ref, n);
	for (int i = 0; i < n; i++)
		for (int j = i; j < n; j++)
		{
			diff = fmax(diff, fabs(inv[(size_t) i * n + j] - ref[(size_t) i * n + j]));
			scale = fmax(scale, fabs(ref[(size_t) i * n + j]));
		}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
		{
			double		s = 0;

			for (int k = 0; k < n; k++)
				s += (double) a[(size_t) i * n + k] * inv[(size_t) k * n + j];
			ident = fmax(ident, fabs(s - (i == j ? 1.0 : 0.0)));
		}
	ok(diff <= 1e-4 * scale, "n=%d: blocked inverse matches spotri (max diff %.2g, scale %.2g)", n, diff, scale);
	ok(ident < 1e-3, "n=%d: A * A^-1 = I within %.2g", n, ident);
	{
		int			sym = 1;

		for (int i = 0; i < n && sym; i++)
			for (int j = 0; j < i; j++)
				if (inv[(size_t) i * n + j] != inv[(size_t) j * n + i])
				{
					sym = 0;
					break;
				}
		ok(sym, "n=%d: the result is symmetric", n);
	}
	fr_free(a);
	fr_free(inv);
	fr_free(ref);
}

int
main(void)
{
	int			sizes[] = {1, 2, 17, 63, 64, 65, 128, 200, 333};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		check_size(sizes[s]);
	return done_testing();
}
