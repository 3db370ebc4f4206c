/*
 * test_fusion.c — the hybrid's maths (fusion.c) and session transitions
 * (sequence.c) against hand-computed answers: z-score and rank
 * normalisation with undefined scores and ties, history-dependent weights,
 * the weighted sum, ridge regression against the closed form and a planted
 * linear map, a folded-in user's factors recovered from their scores, and
 * the transition counts of two small sessions.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fusion.h"
#include "sequence.h"
#include "tap.h"

static void
test_zscore(void)
{
	float		raw[5] = {1, 2, NAN, 3, INFINITY};
	float		out[5];
	int64_t		m = fr_normalize_scores(raw, 5, FR_NORM_ZSCORE, out);
	double		sd = sqrt(2.0 / 3.0);	/* population sd of 1, 2, 3 */

	ok(m == 3, "zscore: 3 defined scores, got %lld", (long long) m);
	ok_near(out[0], -1 / sd, 1e-6, "zscore of 1");
	ok_near(out[1], 0, 1e-6, "zscore of the mean");
	ok_near(out[3], 1 / sd, 1e-6, "zscore of 3");
	ok(out[2] == 0 && out[4] == 0, "undefined scores are neutral (0)");

	{
		float		flat[3] = {7, 7, 7};

		fr_normalize_scores(flat, 3, FR_NORM_ZSCORE, flat);
		ok(flat[0] == 0 && flat[1] == 0 && flat[2] == 0, "constant scores: all 0, no division by 0");
	}
	{
		/*
		 * not clipped: clipping a sparse signal's outliers also flattens the
		 * top of a dense one, the part that decides a top-10 list
		 */
		float		sparse[100] = {0};

		sparse[7] = 1;
		fr_normalize_scores(sparse, 100, FR_NORM_ZSCORE, sparse);
		ok_near(sparse[7], sqrt(99.0), 1e-4, "an outlier keeps its z-score");
	}
	{
		/* a large offset must not destroy the spread (two-pass variance) */
		float		big[3] = {1e7f, 1e7f + 2, 1e7f + 4};

		fr_normalize_scores(big, 3, FR_NORM_ZSCORE, big);
		ok_near(big[2], sqrt(1.5), 1e-3, "zscore survives an offset of 1e7");
	}
}

static void
test_rank(void)
{
	float		raw[6] = {5, 9, NAN, 5, 1, 7};
	float		out[6];
	int64_t		m = fr_normalize_scores(raw, 6, FR_NORM_RANK, out);

	/* order: 9 (rank 0), 7 (1), 5 5 (2 and 3, share 2.5), 1 (4); m - 1 = 4 */
	ok(m == 5, "rank: 5 defined scores");
	ok_near(out[1], 0.5, 1e-7, "best is 0.5");
	ok_near(out[5], 0.25, 1e-7, "second is 0.5 - 1/4");
	ok_near(out[0], 0.5 - 2.5 / 4, 1e-7, "tie shares the average rank");
	ok(out[0] == out[3], "tied scores get equal values");
	ok_near(out[4], -0.5, 1e-7, "worst is -0.5");
	ok(out[2] == 0, "undefined is the middle (0)");
	{
		float		one[2] = {3, NAN};

		fr_normalize_scores(one, 2, FR_NORM_RANK, one);
		ok(one[0] == 0 && one[1] == 0, "a single defined score is 0");
	}
}

static void
test_weights(void)
{
	double		base[4] = {1.0, 0.3, 0.6, 0.5};
	bool		is_cf[4] = {true, false, false, false};
	bool		avail[4] = {true, true, true, false};
	double		w[4];
	double		g;

	/* n = 5, n0 = 5: cf keeps half (0.5); the lost 0.5 goes 1:2 to 0.3 and 0.6 */
	fr_fusion_weights(4, base, is_cf, avail, 5, 5, w);
	ok_near(w[0], 0.5, 1e-12, "cf weight n/(n+n0)");
	ok_near(w[1], 0.3 + 0.5 / 3, 1e-12, "content takes its share of the lost weight");
	ok_near(w[2], 0.6 + 1.0 / 3, 1e-12, "image takes its share");
	ok(w[3] == 0, "an unavailable signal weighs 0");
	ok_near(w[0] + w[1] + w[2], 1.9, 1e-12, "the total is kept");

	fr_fusion_weights(4, base, is_cf, avail, 0, 5, w);
	ok(w[0] == 0, "no history: no cf");
	fr_fusion_weights(4, base, is_cf, avail, 3, 0, w);
	ok(w[0] == 1.0 && w[1] == 0.3, "n0 = 0: static weights");
	g = 1000.0 / 1005.0;
	fr_fusion_weights(4, base, is_cf, avail, 1000, 5, w);
	ok_near(w[0], g, 1e-12, "a long history: cf near its base weight");

	{
		bool		only_cf[4] = {true, false, false, false};

		fr_fusion_weights(4, base, is_cf, only_cf, 5, 5, w);
		ok_near(w[0], 0.5, 1e-12, "cf alone: the lost weight goes nowhere");
	}
}

static void
test_fuse(void)
{
	float		a[3] = {1, 0, -1};
	float		b[3] = {0, 2, 0};
	const float *norm[3] = {a, NULL, b};
	double		w[3] = {2, 100, 0.5};
	float		out[3];

	fr_fuse(3, 3, norm, w, out);
	ok(out[0] == 2 && out[1] == 1 && out[2] == -2, "weighted sum, NULL signals skipped: %g %g %g",
	   out[0], out[1], out[2]);
}

static void
test_ridge(void)
{
	/* planted W (3 x 2); Y = X W exactly: lambda 0 recovers it, R^2 = 1 */
	enum
	{
		N = 50, D = 3, K = 2
	};
	float		x[N * D],
				y[N * K],
				w[D * K];
	float		planted[D * K] = {1, -2, 0.5f, 3, -1, 0.25f};
	double		r2;
	FrRng		rng;

	fr_rng_seed(&rng, 1);
	for (int i = 0; i < N * D; i++)
		x[i] = (float) fr_rng_normal(&rng);
	for (int r = 0; r < N; r++)
		for (int c = 0; c < K; c++)
		{
			double		s = 0;

			for (int i = 0; i < D; i++)
				s += x[r * D + i] * planted[i * K + c];
			y[r * K + c] = (float) s;
		}
	r2 = fr_ridge_fit(N, D, K, x, y, 0.0, w);
	for (int i = 0; i < D * K; i++)
		ok_near(w[i], planted[i], 1e-4, "planted coefficient recovered");
	ok_near(r2, 1.0, 1e-6, "exact fit: R^2 = 1");

	/* closed form in 1-d: w = sum(xy) / (sum(x^2) + lambda) */
	{
		float		x1[3] = {1, 2, 3},
					y1[3] = {2, 4, 7},
					w1;

		fr_ridge_fit(3, 1, 1, x1, y1, 2.0, &w1);
		ok_near(w1, (2 + 8 + 21) / (14.0 + 2.0), 1e-6, "1-d ridge closed form");
	}
}

static void
test_sequence(void)
{
	/*
	 * user 0: items 0, 1, 2 at t = 0, 60, 120; user 1: 2 at t = 0, then 0 a
	 * day later (another session).  window 2, gap 10 minutes.
	 */
	int64_t		indptr[3] = {0, 3, 5};
	int32_t		indices[5] = {0, 1, 2, 0, 2};
	float		values[5] = {1, 1, 1, 1, 1};
	double		times[5] = {0, 60, 120, 86400, 0};
	FrCsr		ui = {2, 3, 5, indptr, indices, values};
	FrSequenceOptions opt = {600, 2, 10, 2};
	FrCsr		t;
	int64_t    *rptr;
	int32_t    *ridx;
	float		scores[3];

	fr_sequence_fit(&opt, &ui, times, &t, &rptr, &ridx);
	/* 0 -> 1 (1), 0 -> 2 (1/2), 1 -> 2 (1); rows scaled to sum 1 */
	ok(t.nnz == 3, "three transitions, none across the day's pause (got %lld)", (long long) t.nnz);
	ok(t.indptr[1] - t.indptr[0] == 2 && t.indices[0] == 1 && t.indices[1] == 2,
	   "item 0 leads to 1 and 2");
	ok_near(t.values[0], 2.0 / 3, 1e-6, "0 -> 1 is 1 / 1.5");
	ok_near(t.values[1], 1.0 / 3, 1e-6, "0 -> 2 (distance 2) is 0.5 / 1.5");
	ok(t.indptr[2] - t.indptr[1] == 1 && t.values[t.indptr[1]] == 1.0f, "1 -> 2 with probability 1");
	ok(t.indptr[3] == t.indptr[2], "nothing follows 2");
	ok(rptr[1] == 2 && ridx[0] == 1 && ridx[1] == 2, "user 0's last two items, oldest first");
	ok(rptr[2] - rptr[1] == 2 && ridx[2] == 2 && ridx[3] == 0, "user 1's items in time order");

	/* history 0 then 1, decay 0.5: 1's row counts 1, 0's row 0.5 */
	{
		int32_t		hist[2] = {0, 1};

		fr_sequence_score(&t, hist, NULL, 2, 0.5, scores);
		ok_near(scores[1], 0.5 * 2.0 / 3, 1e-6, "older item's successors decayed");
		ok_near(scores[2], 1.0 + 0.5 / 3, 1e-6, "latest item's successors in full");
		ok(scores[0] == 0, "nothing leads back to 0");
	}
	{
		/* max_neighbors 1 keeps the strongest successor only */
		FrSequenceOptions one = {600, 2, 1, 2};
		FrCsr		t1;
		int64_t    *p1;
		int32_t    *i1;

		fr_sequence_fit(&one, &ui, times, &t1, &p1, &i1);
		ok(t1.indptr[1] == 1 && t1.indices[0] == 1 && t1.values[0] == 1.0f,
		   "pruned to the strongest successor, rescaled to 1");
	}
}

/* a user the CF model does not know: factors from scores, then new items' scores */
static void
test_factors_from_scores(void)
{
	enum
	{
		N = 6,
		K = 2
	};
	float		y[N * K] = {1, 0, 0, 1, 1, 1, 2, -1, -1, 3, 0.5f, 0.5f};
	float		want[K] = {0.7f, -1.2f};
	double		gram[K * K] = {0},
				yts[K] = {0},
				zero[K * K] = {0};
	float		x[K];
	float		cold[2 * K] = {1, 1, 2, 0};
	int32_t		cold_items[2] = {4, 1};
	float		vals[6] = {0, 0, 0, 0, 0, 0};

	for (int i = 0; i < N; i++)
	{
		float		s = want[0] * y[i * K] + want[1] * y[i * K + 1];

		fr_gram_add(K, y + i * K, gram);
		fr_scores_add(K, s, y + i * K, yts);
	}
	ok(gram[0] == 1 + 0 + 1 + 4 + 1 + 0.25 && gram[1] == gram[2] && gram[1] == 0 + 0 + 1 - 2 - 3 + 0.25,
	   "gram: Y^T Y summed item by item");
	{
		double		before = gram[0],
					off = gram[1],
					trace = gram[0] + gram[3];

		fr_gram_regularize(K, gram);
		ok_near(gram[0] - before, 1e-6 * trace / K + 1e-12, 1e-15,
				"regularised: 1e-6 of the mean diagonal added to the diagonal");
		ok(gram[1] == off && gram[2] == off, "regularised: off the diagonal unchanged");
	}
	fr_factors_from_scores(K, gram, yts, x);
	ok_near(x[0], want[0], 1e-4, "factors recovered from scores (first)");
	ok_near(x[1], want[1], 1e-4, "factors recovered from scores (second)");
	fr_factors_from_scores(K, zero, yts, x);
	ok(x[0] == 0 && x[1] == 0, "a Gram matrix that is not positive definite gives factors 0");

	x[0] = 2;
	x[1] = 3;
	fr_mapped_scores(K, 2, cold_items, cold, x, vals);
	ok(vals[4] == 5 && vals[1] == 4 && vals[0] == 0 && vals[5] == 0,
	   "new items score x . their mapped factors; the others are untouched");
}

int
main(void)
{
	test_zscore();
	test_rank();
	test_weights();
	test_fuse();
	test_ridge();
	test_factors_from_scores();
	test_sequence();
	return done_testing();
}
