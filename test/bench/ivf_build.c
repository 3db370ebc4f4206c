/*
 * ivf_build.c — the IVF build (fr_ivf_build) alone, without the server:
 * clustered synthetic unit vectors shaped like test/bench/ann.py's (about
 * sqrt(n) clusters of Pareto sizes and uneven spread), the build timed with
 * its phases (the progress lines), then recall@10 of fr_ivf_search at the
 * given probes against the exact scan over QUERIES items (the item itself
 * left out, as similar_items does).
 *
 *   cc -O2 -Isrc -o /tmp/ivf_build test/bench/ivf_build.c test/unit/kernel_stub.c \
 *      src/ivf.c src/topk.c src/linalg.c src/rng.c -lopenblas -llapacke -lm
 *   /tmp/ivf_build ITEMS DIM LISTS QUERIES PROBES...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivf.h"
#include "kernel.h"
#include "linalg.h"
#include "topk.h"

extern int	fr_stub_verbose;

int
main(int argc, char **argv)
{
	int32_t		n = argc > 1 ? atoi(argv[1]) : 200000;
	int32_t		dim = argc > 2 ? atoi(argv[2]) : 64;
	int32_t		lists = argc > 3 ? atoi(argv[3]) : (int32_t) rint(4 * sqrt(n));
	int			queries = argc > 4 ? atoi(argv[4]) : 200;
	int32_t		n_clusters = (int32_t) sqrt((double) n);
	float	   *centres = fr_alloc(sizeof(float) * (size_t) n_clusters * dim);
	double	   *weights = fr_alloc(sizeof(double) * n_clusters);
	float	   *spread = fr_alloc(sizeof(float) * n_clusters);
	float	   *x = fr_alloc(sizeof(float) * (size_t) n * dim);
	float	   *all = fr_alloc(sizeof(float) * (size_t) n);
	uint8_t    *skip = fr_alloc(n);
	int32_t		want[11], got[11];
	float		want_s[11], got_s[11];
	double		total = 0, t;
	FrRng		rng;
	FrIvf		ivf;

	fr_rng_seed(&rng, (uint64_t) dim);
	for (size_t i = 0; i < (size_t) n_clusters * dim; i++)
		centres[i] = (float) fr_rng_normal(&rng);
	for (int c = 0; c < n_clusters; c++)
	{
		/* Pareto(1.5) + 1, as numpy's pareto */
		weights[c] = pow(1 - fr_rng_uniform(&rng), -1 / 1.5);
		total += weights[c];
		spread[c] = (float) (0.3 + 0.6 * fr_rng_uniform(&rng));
	}
	for (int32_t i = 0; i < n; i++)
	{
		double		u = fr_rng_uniform(&rng) * total;
		int			c = 0;
		float	   *row = x + (size_t) i * dim;

		while (c < n_clusters - 1 && (u -= weights[c]) > 0)
			c++;
		for (int j = 0; j < dim; j++)
			row[j] = centres[(size_t) c * dim + j] + spread[c] * (float) fr_rng_normal(&rng);
		float		norm = fr_snrm2(dim, row);

		for (int j = 0; j < dim; j++)
			row[j] /= norm;
	}

	fr_stub_verbose = 1;
	t = fr_now();
	fr_ivf_build(x, n, dim, lists, FR_IVF_COSINE, 20190, &ivf);
	printf("build %d x %d, %d lists: %.2f s\n", n, dim, lists, fr_now() - t);
	fr_stub_verbose = 0;

	for (int a = 5; a < argc; a++)
	{
		int			probes = atoi(argv[a]);
		int			hits = 0;
		double		search = 0;

		for (int q = 0; q < queries; q++)
		{
			int32_t		qi = (int32_t) ((int64_t) q * (n / queries));
			const float *qv = x + (size_t) qi * dim;
			int			nw, ng;

			skip[qi] = 1;
			fr_sgemv(false, n, dim, 1.0f, x, dim, qv, 0.0f, all);
			nw = fr_topk(all, n, NULL, 0, skip, 10, want, want_s);
			t = fr_now();
			ng = fr_ivf_search(&ivf, qv, true, probes, true, skip, 10, got, got_s, NULL);
			search += fr_now() - t;
			skip[qi] = 0;
			for (int i = 0; i < ng; i++)
				for (int j = 0; j < nw; j++)
					hits += got[i] == want[j];
		}
		printf("probes %d: recall@10 %.4f, %.3f ms/query\n", probes, hits / (10.0 * queries),
			   search * 1000 / queries);
	}
	return 0;
}
