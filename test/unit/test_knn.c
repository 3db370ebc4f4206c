/*
 * test_knn.c — item-KNN neighbour lists against a brute-force computation
 * over the dense matrix (cosine with and without shrinkage, BM25), tie
 * breaking, and scoring as the sum of neighbour rows.
 */
#include <stdlib.h>
#include <string.h>

#include "knn.h"
#include "tap.h"

#define NU 90
#define NI 45

static double X[NU][NI];

typedef struct Pair
{
	double		sim;
	int			item;
} Pair;

static int
pair_cmp(const void *a, const void *b)
{
	const Pair *x = a;
	const Pair *y = b;

	if (x->sim != y->sim)
		return x->sim > y->sim ? -1 : 1;
	return x->item - y->item;
}

static void
csr_free(FrCsr *m)
{
	fr_free(m->indptr);
	fr_free(m->indices);
	fr_free(m->values);
}

static void
to_csr(FrCsr *ui, FrCsr *iu)
{
	static int32_t rows[NU * NI],
				cols[NU * NI];
	static float vals[NU * NI];
	int			n = 0;

	for (int u = 0; u < NU; u++)
		for (int i = 0; i < NI; i++)
			if (X[u][i] != 0)
			{
				rows[n] = u;
				cols[n] = i;
				vals[n++] = (float) X[u][i];
			}
	fr_csr_from_coo(ui, NU, NI, n, rows, cols, vals, NULL, NULL);
	fr_csr_transpose(ui, iu);
}

/* the similarity matrix the kernel should approximate, in doubles */
static void
brute_force(const FrKnnOptions *opt, double sim[NI][NI])
{
	double		w[NU][NI];

	memcpy(w, X, sizeof(w));
	if (opt->similarity == FR_KNN_BM25)
	{
		double		len[NI] = {0},
					avg = 0;

		for (int i = 0; i < NI; i++)
		{
			for (int u = 0; u < NU; u++)
				len[i] += X[u][i];
			avg += len[i] / NI;
		}
		for (int u = 0; u < NU; u++)
		{
			int			cnt = 0;
			double		idf;

			for (int i = 0; i < NI; i++)
				cnt += X[u][i] != 0;
			idf = fmax(0.0, log((double) NI) - log(1.0 + cnt));
			for (int i = 0; i < NI; i++)
			{
				double		ln = 1 - opt->bm25_b + opt->bm25_b * len[i] / avg;

				w[u][i] = X[u][i] * (opt->bm25_k1 + 1) / (opt->bm25_k1 * ln + X[u][i]) * idf;
			}
		}
	}
	for (int i = 0; i < NI; i++)
		for (int j = 0; j < NI; j++)
		{
			double		dot = 0,
						ni = 0,
						nj = 0;

			for (int u = 0; u < NU; u++)
			{
				dot += w[u][i] * w[u][j];
				ni += w[u][i] * w[u][i];
				nj += w[u][j] * w[u][j];
			}
			if (opt->similarity == FR_KNN_COSINE)
				sim[i][j] = dot / (sqrt(ni) * sqrt(nj) + opt->shrinkage);
			else
				sim[i][j] = dot;
		}
}

/* compare the kernel's rows with the brute-force top-k; returns max value error or -1 on a set mismatch */
static double
compare(const FrKnnOptions *opt, const FrCsr *got, int *bad_item)
{
	static double sim[NI][NI];
	double		err = 0;

	brute_force(opt, sim);
	for (int i = 0; i < NI; i++)
	{
		Pair		pairs[NI];
		int			n = 0,
					k;

		for (int j = 0; j < NI; j++)
			if (j != i && sim[i][j] > 0)
			{
				pairs[n].sim = sim[i][j];
				pairs[n++].item = j;
			}
		qsort(pairs, n, sizeof(Pair), pair_cmp);
		k = n < opt->neighbors ? n : opt->neighbors;
		if (got->indptr[i + 1] - got->indptr[i] != k)
		{
			*bad_item = i;
			return -1;
		}
		for (int t = 0; t < k; t++)
		{
			bool		found = false;

			for (int64_t p = got->indptr[i]; p < got->indptr[i + 1]; p++)
				if (got->indices[p] == pairs[t].item)
				{
					found = true;
					err = fmax(err, fabs(got->values[p] - pairs[t].sim) / fmax(1.0, fabs(pairs[t].sim)));
				}
			if (!found)
			{
				*bad_item = i;
				return -1;
			}
		}
		for (int64_t p = got->indptr[i] + 1; p < got->indptr[i + 1]; p++)
			if (got->indices[p] <= got->indices[p - 1])
			{
				*bad_item = i;
				return -1;
			}
	}
	return err;
}

int
main(void)
{
	FrRng		rng;
	FrCsr		ui,
				iu,
				sim;
	int			bad = -1;
	double		err;

	/* random weights: ties have probability zero */
	fr_rng_seed(&rng, 2024);
	for (int u = 0; u < NU; u++)
		for (int i = 0; i < NI; i++)
			if (fr_rng_uniform(&rng) < 0.08 + 0.25 * ((u % 4) == (i % 4)))
				X[u][i] = 0.5 + 2.5 * fr_rng_uniform(&rng);
	to_csr(&ui, &iu);

	{
		FrKnnOptions opt = {7, FR_KNN_COSINE, 0.0, 1.2, 0.75};

		fr_knn_fit(&ui, &iu, &opt, &sim);
		err = compare(&opt, &sim, &bad);
		ok(err >= 0 && err < 1e-5, "cosine, 7 neighbours: lists match brute force (error %g, item %d)", err, bad);
		ok(sim.nnz == (int64_t) NI * 7, "every item has 7 neighbours (%lld pairs)", (long long) sim.nnz);

		/* scores are the weighted sum of the history's neighbour rows */
		{
			int32_t		hist[] = {2, 9, 30};
			float		w[] = {1.0f, 3.0f, 0.5f};
			float		scores[NI] = {0};
			double		want[NI] = {0};
			double		e = 0;

			fr_knn_score(&sim, hist, w, 3, scores);
			for (int t = 0; t < 3; t++)
				for (int64_t p = sim.indptr[hist[t]]; p < sim.indptr[hist[t] + 1]; p++)
					want[sim.indices[p]] += w[t] * sim.values[p];
			for (int j = 0; j < NI; j++)
				e = fmax(e, fabs(scores[j] - want[j]));
			ok(e < 1e-6, "scores are the weighted sum of neighbour rows (error %g)", e);
		}

		opt.shrinkage = 3.0;
		csr_free(&sim);
		fr_knn_fit(&ui, &iu, &opt, &sim);
		err = compare(&opt, &sim, &bad);
		ok(err >= 0 && err < 1e-5, "cosine with shrinkage 3: lists match brute force (error %g, item %d)", err, bad);

		opt.shrinkage = 0.0;
		opt.neighbors = 1000;
		csr_free(&sim);
		fr_knn_fit(&ui, &iu, &opt, &sim);
		err = compare(&opt, &sim, &bad);
		ok(err >= 0 && err < 1e-5, "neighbours beyond the catalogue keep every co-occurring item (error %g, item %d)", err, bad);
	}
	{
		FrKnnOptions opt = {5, FR_KNN_BM25, 0.0, 1.2, 0.75};

		csr_free(&sim);
		fr_knn_fit(&ui, &iu, &opt, &sim);
		err = compare(&opt, &sim, &bad);
		ok(err >= 0 && err < 1e-4, "bm25 k1 1.2 b 0.75: lists match brute force (error %g, item %d)", err, bad);
		opt.bm25_k1 = 100;
		opt.bm25_b = 0.2;
		csr_free(&sim);
		fr_knn_fit(&ui, &iu, &opt, &sim);
		err = compare(&opt, &sim, &bad);
		ok(err >= 0 && err < 1e-4, "bm25 k1 100 b 0.2: lists match brute force (error %g, item %d)", err, bad);
	}

	/* ties: items 1, 2, 3 have identical users, so 0 is equally close to all */
	{
		memset(X, 0, sizeof(X));
		for (int u = 0; u < 10; u++)
		{
			X[u][0] = 1;
			X[u][1] = X[u][2] = X[u][3] = (u < 5);
		}
		X[20][4] = 1;			/* an item sharing no user */
		csr_free(&ui);
		csr_free(&iu);
		csr_free(&sim);
		to_csr(&ui, &iu);
		{
			FrKnnOptions opt = {2, FR_KNN_COSINE, 0.0, 1.2, 0.75};

			fr_knn_fit(&ui, &iu, &opt, &sim);
			ok(sim.indptr[1] - sim.indptr[0] == 2 && sim.indices[0] == 1 && sim.indices[1] == 2,
			   "ties go to the lower item index (item 0 -> 1, 2)");
			ok(sim.indptr[5] == sim.indptr[4], "an item without co-occurrence has no neighbours");
			ok_near(sim.values[0], 1.0 / sqrt(2.0), 1e-6, "cos(item 0, item 1)");
		}
	}

	csr_free(&sim);
	csr_free(&ui);
	csr_free(&iu);
	return done_testing();
}
