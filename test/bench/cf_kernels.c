/*
 * cf_kernels.c — the EASE, PureSVD and item-KNN kernels on MovieLens 100K
 * outside the server, with the protocol of reference_cf.py, so a kernel
 * change can be checked against the numpy reference in seconds.
 *
 *   cc -O2 -Isrc -o /tmp/cf_kernels test/bench/cf_kernels.c test/unit/kernel_stub.c \
 *      src/csr.c src/rng.c src/linalg.c src/knn.c src/ease.c src/svd.c \
 *      -lopenblas -llapacke -lm && /tmp/cf_kernels [u.data]
 *
 * Prints "model<TAB>ndcg<TAB>precision<TAB>seconds".  Exits 0 without output
 * rows when the data file is absent.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ease.h"
#include "kernel.h"
#include "knn.h"
#include "svd.h"

#define K 10

typedef struct Rating
{
	long		user;
	long		item;
	long		rating;
	long		ts;
} Rating;

static int
rating_cmp(const void *a, const void *b)
{
	const Rating *x = a;
	const Rating *y = b;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return (x->rating > y->rating) - (x->rating < y->rating);
}

static int
long_cmp(const void *a, const void *b)
{
	long		x = *(const long *) a;
	long		y = *(const long *) b;

	return (x > y) - (x < y);
}

static int32_t
index_of(const long *ids, int32_t n, long id)
{
	long	   *hit = bsearch(&id, ids, n, sizeof(long), long_cmp);

	return hit ? (int32_t) (hit - ids) : -1;
}

/* the data of one run */
static FrCsr ui, iu;
static int32_t n_users, n_items;
static long *item_ids;
static long *test_items;		/* per user, CSR over test_ptr */
static long *test_ptr;

typedef void (*ScoreFn) (int32_t user, float *scores);

static void
evaluate(const char *name, ScoreFn fn, double seconds)
{
	float	   *scores = malloc(sizeof(float) * n_items);
	char	   *seen = malloc(n_items);
	double		ndcg = 0,
				prec = 0;
	int			users = 0;

	for (int32_t u = 0; u < n_users; u++)
	{
		long		n_rel = test_ptr[u + 1] - test_ptr[u];
		int			top[K];
		int			n_top = 0;
		double		dcg = 0,
					idcg = 0;
		int			hits = 0;

		if (n_rel == 0)
			continue;
		memset(scores, 0, sizeof(float) * n_items);
		memset(seen, 0, n_items);
		fn(u, scores);
		for (int64_t p = ui.indptr[u]; p < ui.indptr[u + 1]; p++)
			seen[ui.indices[p]] = 1;
		/* selection of the K best, ties by index (= id) ascending */
		for (int r = 0; r < K; r++)
		{
			int			best = -1;

			for (int32_t i = 0; i < n_items; i++)
			{
				bool		taken = seen[i];

				for (int t = 0; t < n_top && !taken; t++)
					taken = top[t] == i;
				if (taken)
					continue;
				if (best < 0 || scores[i] > scores[best])
					best = i;
			}
			if (best < 0)
				break;
			top[n_top++] = best;
		}
		for (int r = 0; r < n_top; r++)
		{
			bool		rel = false;

			for (long t = test_ptr[u]; t < test_ptr[u + 1] && !rel; t++)
				rel = test_items[t] == item_ids[top[r]];
			if (rel)
			{
				hits++;
				dcg += 1.0 / log2(r + 2.0);
			}
		}
		for (int r = 0; r < (n_rel < K ? n_rel : K); r++)
			idcg += 1.0 / log2(r + 2.0);
		ndcg += dcg / idcg;
		prec += (double) hits / K;
		users++;
	}
	printf("%s\t%.4f\t%.4f\t%.2f\n", name, ndcg / users, prec / users, seconds);
	fflush(stdout);
	free(scores);
	free(seen);
}

static float *ease_b;
static FrCsr knn_sim;
static float *svd_v;
static float *svd_p;
static int32_t svd_k;

static void
score_ease(int32_t u, float *scores)
{
	fr_ease_score(ease_b, n_items, NULL, NULL, ui.indices + ui.indptr[u], NULL,
				  (int) (ui.indptr[u + 1] - ui.indptr[u]), scores);
}

static void
score_knn(int32_t u, float *scores)
{
	fr_knn_score(&knn_sim, ui.indices + ui.indptr[u], NULL,
				 (int) (ui.indptr[u + 1] - ui.indptr[u]), scores);
}

static void
score_svd(int32_t u, float *scores)
{
	for (int32_t i = 0; i < n_items; i++)
	{
		double		s = 0;

		for (int32_t c = 0; c < svd_k; c++)
			s += svd_v[(size_t) i * svd_k + c] * svd_p[(size_t) u * svd_k + c];
		scores[i] = (float) s;
	}
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/work/shared/data/movielens-100k/u.data";
	FILE	   *f = fopen(path, "r");
	Rating	   *r;
	long		n = 0,
				cap = 1 << 17;
	long	   *user_ids;
	int32_t    *rows,
			   *cols;
	long		n_train = 0;
	double		t0;

	if (!f)
	{
		fprintf(stderr, "cf_kernels: %s not found, skipping\n", path);
		return 0;
	}
	r = malloc(sizeof(Rating) * cap);
	while (fscanf(f, "%ld %ld %ld %ld", &r[n].user, &r[n].item, &r[n].rating, &r[n].ts) == 4)
		if (++n == cap)
			r = realloc(r, sizeof(Rating) * (cap *= 2));
	fclose(f);
	qsort(r, n, sizeof(Rating), rating_cmp);

	/* temporal split: the last floor(20%) of each user's ratings are test */
	{
		char	   *is_test = calloc(n, 1);
		long	   *tu = malloc(sizeof(long) * n);
		long	   *ti = malloc(sizeof(long) * n);

		for (long s = 0; s < n;)
		{
			long		e = s;

			while (e < n && r[e].user == r[s].user)
				e++;
			for (long j = e - (e - s) * 20 / 100; j < e; j++)
				is_test[j] = 1;
			s = e;
		}
		for (long j = 0; j < n; j++)
			if (!is_test[j])
			{
				tu[n_train] = r[j].user;
				ti[n_train++] = r[j].item;
			}
		user_ids = malloc(sizeof(long) * n_train);
		item_ids = malloc(sizeof(long) * n_train);
		memcpy(user_ids, tu, sizeof(long) * n_train);
		memcpy(item_ids, ti, sizeof(long) * n_train);
		qsort(user_ids, n_train, sizeof(long), long_cmp);
		qsort(item_ids, n_train, sizeof(long), long_cmp);
		n_users = n_items = 0;
		for (long j = 0; j < n_train; j++)
		{
			if (j == 0 || user_ids[j] != user_ids[j - 1])
				user_ids[n_users++] = user_ids[j];
			if (j == 0 || item_ids[j] != item_ids[j - 1])
				item_ids[n_items++] = item_ids[j];
		}
		rows = malloc(sizeof(int32_t) * n_train);
		cols = malloc(sizeof(int32_t) * n_train);
		for (long j = 0; j < n_train; j++)
		{
			rows[j] = index_of(user_ids, n_users, tu[j]);
			cols[j] = index_of(item_ids, n_items, ti[j]);
		}
		test_ptr = calloc(n_users + 1, sizeof(long));
		test_items = malloc(sizeof(long) * n);
		for (long j = 0; j < n; j++)
			if (is_test[j])
			{
				int32_t		u = index_of(user_ids, n_users, r[j].user);

				if (u >= 0)
					test_ptr[u + 1]++;
			}
		for (int32_t u = 0; u < n_users; u++)
			test_ptr[u + 1] += test_ptr[u];
		{
			long	   *fill = malloc(sizeof(long) * (n_users + 1));

			memcpy(fill, test_ptr, sizeof(long) * (n_users + 1));
			for (long j = 0; j < n; j++)
				if (is_test[j])
				{
					int32_t		u = index_of(user_ids, n_users, r[j].user);

					if (u >= 0)
						test_items[fill[u]++] = r[j].item;
				}
			free(fill);
		}
		free(is_test);
		free(tu);
		free(ti);
	}
	fr_csr_from_coo(&ui, n_users, n_items, n_train, rows, cols, NULL, NULL, NULL);
	fr_csr_transpose(&ui, &iu);
	fprintf(stderr, "# %d users, %d items, %lld training interactions\n",
			n_users, n_items, (long long) ui.nnz);
	printf("model\tndcg\tprecision\tseconds\n");

	{
		FrKnnOptions opt = {100, FR_KNN_COSINE, 0.0, 1.2, 0.75};

		t0 = fr_now();
		fr_knn_fit(&ui, &iu, &opt, &knn_sim);
		evaluate("itemknn", score_knn, fr_now() - t0);
		opt.similarity = FR_KNN_BM25;
		t0 = fr_now();
		fr_knn_fit(&ui, &iu, &opt, &knn_sim);
		evaluate("itemknn-bm25", score_knn, fr_now() - t0);
	}
	{
		FrSvdOptions opt = {64, 64, 7, 42};	/* the defaults of svd_model.c */

		t0 = fr_now();
		svd_k = fr_svd_rank(n_users, n_items, &opt);
		svd_v = malloc(sizeof(float) * n_items * svd_k);
		svd_p = malloc(sizeof(float) * n_users * svd_k);
		{
			float	   *s = malloc(sizeof(float) * svd_k);

			fr_svd_fit(&ui, &iu, &opt, svd_v, s);
			free(s);
		}
		fr_svd_project(&ui, svd_v, svd_k, svd_p);
		evaluate("svd", score_svd, fr_now() - t0);
	}
	{
		t0 = fr_now();
		ease_b = malloc(fr_ease_memory(n_items));
		fr_ease_fit(&ui, n_items, NULL, 500.0, ease_b);
		evaluate("ease", score_ease, fr_now() - t0);
	}
	return 0;
}
