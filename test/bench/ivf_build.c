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
 *
 * Factors mode: an inner-product index over exported factors (ann.py raw:
 * DIR/items.f32, users.f32, seen.txt), queried by the user vectors with
 * their seen items left out, as recommend() does, recall@10 against the
 * exact scan:
 *   /tmp/ivf_build factors DIR DIM LISTS PROBES...
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

static void *
read_all(const char *dir, const char *name, size_t *size)
{
	char		path[4096];
	FILE	   *f;
	void	   *data;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
	{
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	*size = (size_t) ftell(f);
	rewind(f);
	data = fr_alloc(*size + 1);
	if (fread(data, 1, *size, f) != *size)
	{
		perror(path);
		exit(1);
	}
	fclose(f);
	return data;
}

static int
factors(int argc, char **argv)
{
	const char *dir = argv[2];
	int32_t		dim = atoi(argv[3]);
	int32_t		lists = atoi(argv[4]);
	size_t		size;
	float	   *x = read_all(dir, "items.f32", &size);
	int32_t		n = (int32_t) (size / sizeof(float) / dim);
	float	   *users = read_all(dir, "users.f32", &size);
	int			n_users = (int) (size / sizeof(float) / dim);
	char	   *seen_text = read_all(dir, "seen.txt", &size);
	int32_t   **seen = fr_alloc(sizeof(int32_t *) * n_users);
	int		   *n_seen = fr_alloc(sizeof(int) * n_users);
	int32_t   (*want)[10] = fr_alloc(sizeof(int32_t[10]) * n_users);
	int		   *n_want = fr_alloc(sizeof(int) * n_users);
	float	   *all = fr_alloc(sizeof(float) * (size_t) n);
	uint8_t    *skip = fr_alloc(n);
	char	   *at = seen_text;
	float		scores[10];
	double		t;
	FrIvf		ivf;

	for (int u = 0; u < n_users; u++)
	{
		n_seen[u] = (int) strtol(at, &at, 10);
		seen[u] = fr_alloc(sizeof(int32_t) * (n_seen[u] + 1));
		for (int s = 0; s < n_seen[u]; s++)
			seen[u][s] = (int32_t) strtol(at, &at, 10);
	}
	/* the reference: each user's exact top 10 among the unseen items */
	for (int u = 0; u < n_users; u++)
	{
		for (int s = 0; s < n_seen[u]; s++)
			skip[seen[u][s]] = 1;
		fr_sgemv(false, n, dim, 1.0f, x, dim, users + (size_t) u * dim, 0.0f, all);
		n_want[u] = fr_topk(all, n, NULL, 0, skip, 10, want[u], scores);
		for (int s = 0; s < n_seen[u]; s++)
			skip[seen[u][s]] = 0;
	}

	fr_stub_verbose = 1;
	t = fr_now();
	fr_ivf_build(x, n, dim, lists, FR_IVF_INNER_PRODUCT, 20190, &ivf);
	printf("build %d x %d, %d lists (inner product): %.2f s, longest list %d\n", n, dim, lists,
		   fr_now() - t, ivf.max_list);
	fr_stub_verbose = 0;
	for (int a = 5; a < argc; a++)
	{
		int			probes = atoi(argv[a]);
		int			hits = 0;
		double		search = 0;

		for (int u = 0; u < n_users; u++)
		{
			int32_t		got[10];
			int			ng;

			for (int s = 0; s < n_seen[u]; s++)
				skip[seen[u][s]] = 1;
			t = fr_now();
			ng = fr_ivf_search(&ivf, users + (size_t) u * dim, false, probes, true, skip, 10,
							   got, scores, NULL);
			search += fr_now() - t;
			for (int s = 0; s < n_seen[u]; s++)
				skip[seen[u][s]] = 0;
			for (int i = 0; i < ng; i++)
				for (int j = 0; j < n_want[u]; j++)
					hits += got[i] == want[u][j];
		}
		printf("probes %d: recall@10 %.4f, %.3f ms/query\n", probes, hits / (10.0 * n_users),
			   search * 1000 / n_users);
	}
	return 0;
}

static int
synthetic(int argc, char **argv)
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

int
main(int argc, char **argv)
{
	if (argc > 4 && strcmp(argv[1], "factors") == 0)
		return factors(argc, argv);
	return synthetic(argc, argv);
}
