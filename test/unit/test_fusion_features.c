/*
 * test_fusion_features.c — the learned fusion's inputs and catalogue scores
 * (fusion_features.c): item features and recency weights against
 * hand-computed values, the folded linear scores and the MLP's pool against
 * fr_fusion_forward on explicit rows, contributions that add up to the
 * score, the examples' candidate lists, and group slices; nets with history
 * terms (0.3) and without (0.2).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_features.h"
#include "kernel.h"
#include "tap.h"

#define NS 3					/* signals in these tests */
#define D (2 * NS + FR_FUSION_EXTRA)	/* with history terms */
#define D_0_2 (NS + FR_FUSION_EXTRA)

static void
test_item_features(void)
{
	/* item 0 bought 3 times (first at day 1), item 1 never, item 2 once (undated) */
	int32_t		indices[4] = {0, 2, 0, 0};
	double		times[4] = {5 * 86400.0, NAN, 1 * 86400.0, 3 * 86400.0};
	float		f[6];

	fr_fusion_item_features(3, 4, indices, times, 11 * 86400.0, f);
	ok_near(f[0], log1p(3), 1e-6, "item 0: log(1 + 3 buyers)");
	ok_near(f[1], log1p(10), 1e-6, "item 0: log(1 + 10 days since its first time)");
	ok(f[2] == 0 && f[3] == 0, "an item nobody bought: 0, 0");
	ok_near(f[4], log1p(1), 1e-6, "item 2: log(1 + 1 buyer)");
	ok(f[5] == 0, "an item without a finite time has age 0");

	fr_fusion_item_features(3, 4, indices, NULL, 0, f);
	ok_near(f[0], log1p(3), 1e-6, "without times: the buyers still count");
	ok(f[1] == 0 && f[5] == 0, "without times: every age is 0");

	times[2] = 20 * 86400.0;	/* after max_time: age clamped to 0, not negative */
	times[0] = times[3] = 20 * 86400.0;
	fr_fusion_item_features(3, 4, indices, times, 11 * 86400.0, f);
	ok(f[1] == 0, "a first time after the latest time gives age 0");
}

static void
test_history_decay(void)
{
	/* user 0: days 10, 8, 10 - 14 = -4; user 1: no finite time; user 2: empty */
	int64_t		indptr[4] = {0, 3, 5, 5};
	double		times[5] = {10 * 86400.0, 8 * 86400.0, -4 * 86400.0, NAN, INFINITY};
	float		w[5];

	fr_history_decay(3, indptr, times, 2.0, w);
	ok(w[0] == 1.0f, "the user's latest item weighs 1");
	ok_near(w[1], 0.5, 1e-6, "one half-life older weighs 0.5");
	ok_near(w[2], pow(0.5, 7), 1e-9, "seven half-lives older weighs 0.5^7");
	ok(w[3] == 1.0f && w[4] == 1.0f, "entries without a finite time weigh 1");
}

/* a net of shape (d, n_hidden, hidden) with random parameters and scales near 1 */
static void
random_net_d(FrFusionNet *net, int d, int n_hidden, const int *hidden, uint64_t seed)
{
	FrRng		rng;
	int64_t		size;

	fr_fusion_net_alloc(net, d, n_hidden, hidden);
	size = fr_fusion_net_size(d, n_hidden, hidden);
	fr_rng_seed(&rng, seed);
	for (int64_t i = 0; i < size; i++)
		net->params[i] = (float) fr_rng_normal(&rng);
	for (int j = 0; j < d; j++)
		net->params[d + j] = 0.5f + (float) fr_rng_uniform(&rng);
}

static void
random_net(FrFusionNet *net, int n_hidden, const int *hidden, uint64_t seed)
{
	random_net_d(net, D, n_hidden, hidden, seed);
}

enum
{
	N_ITEMS = 50
};

static float sig0[N_ITEMS],
			sig2[N_ITEMS],
			feat[N_ITEMS * FR_FUSION_ITEM_FEATURES];

/* signal 1 absent, as a hybrid without that component */
static const float *const norm[NS] = {sig0, NULL, sig2};

static void
fill_inputs(void)
{
	FrRng		rng;

	fr_rng_seed(&rng, 3);
	for (int h = 0; h < N_ITEMS; h++)
	{
		sig0[h] = (float) fr_rng_normal(&rng);
		sig2[h] = (float) fr_rng_normal(&rng);
		feat[2 * h] = (float) fr_rng_uniform(&rng) * 5;
		feat[2 * h + 1] = (float) fr_rng_uniform(&rng) * 3;
	}
}

/* the net's score of item h, from its explicit row */
static float
row_score(const FrFusionNet *net, const float *item_feat, int n_hist, int32_t h)
{
	float		x[D],
				y;

	fr_fusion_row(NS, net->d == D, norm, n_hist, item_feat, h, x);
	fr_fusion_forward(net, 1, x, &y);
	return y;
}

static void
test_row(void)
{
	float		x[D];

	ok(fr_fusion_inputs(NS, true) == D && fr_fusion_inputs(NS, false) == D_0_2,
	   "inputs: 2 x signals + extras with history terms, signals + extras without");
	fr_fusion_row(NS, true, norm, 4, feat, 7, x);
	ok(x[0] == sig0[7] && x[1] == 0 && x[2] == sig2[7], "row: the signals' scores, 0 for an absent one");
	ok_near(x[NS + FR_FUSION_HISTORY], log1p(4), 1e-6, "row: log(1 + history length)");
	ok(x[NS + FR_FUSION_POPULARITY] == feat[14] && x[NS + FR_FUSION_AGE] == feat[15],
	   "row: the item's features");
	ok_near(x[NS + FR_FUSION_EXTRA], sig0[7] / 5.0, 1e-6, "row: history term = score / (1 + history length)");
	ok(x[NS + FR_FUSION_EXTRA + 1] == 0, "row: an absent signal's history term is 0");
	fr_fusion_row(NS, true, norm, 0, NULL, 7, x);
	ok(x[NS + FR_FUSION_EXTRA + 2] == sig2[7], "row: with no history the term is the score itself");
	fr_fusion_row(NS, false, norm, 4, feat, 7, x);
	ok(x[0] == sig0[7] && x[NS + FR_FUSION_AGE] == feat[15], "row without history terms: the 0.2 layout");
	fr_fusion_row(NS, true, norm, 0, NULL, 7, x);
	ok(x[NS + FR_FUSION_HISTORY] == 0 && x[NS + FR_FUSION_POPULARITY] == 0 && x[NS + FR_FUSION_AGE] == 0,
	   "row: no history, no item features: 0");
}

static void
test_linear_scores(void)
{
	FrFusionNet net;
	float		out[N_ITEMS];
	double		worst = 0,
				worst_nofeat = 0;

	random_net(&net, 0, NULL, 11);
	fr_fusion_linear_scores(&net, NS, N_ITEMS, norm, feat, 6, out);
	for (int h = 0; h < N_ITEMS; h++)
		worst = fmax(worst, fabs(out[h] - row_score(&net, feat, 6, h)));
	fr_fusion_linear_scores(&net, NS, N_ITEMS, norm, NULL, 0, out);
	for (int h = 0; h < N_ITEMS; h++)
		worst_nofeat = fmax(worst_nofeat, fabs(out[h] - row_score(&net, NULL, 0, h)));
	ok(worst < 1e-4, "linear scores = the net on each row (max error %g)", worst);
	ok(worst_nofeat < 1e-4, "linear scores without item features (max error %g)", worst_nofeat);
	for (int n_hist = 0; n_hist <= 9; n_hist += 9)
	{
		float		x0[D],
					x1[D],
					y0,
					y1;
		float		w = fr_fusion_linear_weight(&net, NS, 0, n_hist);

		/* the weight of signal 0 at this history length: the score's slope in it */
		fr_fusion_row(NS, true, norm, n_hist, feat, 3, x0);
		memcpy(x1, x0, sizeof(x1));
		x1[0] += 1.0f;
		x1[NS + FR_FUSION_EXTRA] += 1.0f / (1.0f + (float) n_hist);
		fr_fusion_forward(&net, 1, x0, &y0);
		fr_fusion_forward(&net, 1, x1, &y1);
		ok_near(w, y1 - y0, 1e-4, n_hist == 0 ? "linear weight, no history: the slope in the signal's score"
				: "linear weight, history 9: the slope in the signal's score");
	}
	ok(fabs(fr_fusion_linear_weight(&net, NS, 0, 0) - fr_fusion_linear_weight(&net, NS, 0, 9)) > 1e-3,
	   "with history terms the weight moves with the history length");

	fr_free(net.params);
	random_net_d(&net, D_0_2, 0, NULL, 11);
	fr_fusion_linear_scores(&net, NS, N_ITEMS, norm, feat, 6, out);
	worst = 0;
	for (int h = 0; h < N_ITEMS; h++)
		worst = fmax(worst, fabs(out[h] - row_score(&net, feat, 6, h)));
	ok(worst < 1e-4, "a 0.2 net without history terms: linear scores = the net on each row (max error %g)", worst);
	ok(fr_fusion_linear_weight(&net, NS, 0, 0) == fr_fusion_linear_weight(&net, NS, 0, 9),
	   "without history terms the weight does not move");
}

static void
test_pool_scores(void)
{
	FrFusionNet net;
	int			hidden[1] = {4};
	float		fallback[N_ITEMS],
				out[N_ITEMS];
	int32_t		exact[3] = {-1, 0, N_ITEMS};	/* out-of-range ones are ignored */
	uint8_t		pooled[N_ITEMS] = {0};
	int			n_pooled = 0,
				exact_ok,
				order_ok = 1,
				below_ok = 1,
				pool_ok = 1;
	float		lowest = INFINITY;
	int32_t		worst = 0;

	random_net(&net, 1, hidden, 12);
	for (int h = 0; h < N_ITEMS; h++)
		fallback[h] = (float) ((h * 37) % N_ITEMS);	/* distinct fallback scores */
	/* the pool: the 10 items with the best score in any signal */
	for (int h = 0; h < N_ITEMS; h++)
	{
		int			better = 0;
		float		mh = fmaxf(sig0[h], sig2[h]);

		for (int o = 0; o < N_ITEMS; o++)
			better += fmaxf(sig0[o], sig2[o]) > mh;
		if (better < 10)
		{
			pooled[h] = 1;
			n_pooled++;
		}
	}
	for (int h = 0; h < N_ITEMS; h++)
		if (fmaxf(sig0[h], sig2[h]) < fmaxf(sig0[worst], sig2[worst]))
			worst = h;
	/* item worst is the worst by every signal: only "exact" brings it into the pool */
	exact[1] = worst;
	memcpy(out, fallback, sizeof(out));
	fr_fusion_pool_scores(&net, NS, N_ITEMS, norm, feat, 2, exact, 3, 10, out);

	for (int h = 0; h < N_ITEMS; h++)
		if (pooled[h])
		{
			pool_ok &= out[h] == row_score(&net, feat, 2, h);
			lowest = fminf(lowest, out[h]);
		}
	exact_ok = !pooled[worst] && out[worst] == row_score(&net, feat, 2, worst);
	lowest = fminf(lowest, out[worst]);
	for (int h = 0; h < N_ITEMS; h++)
	{
		if (pooled[h] || h == worst)
			continue;
		below_ok &= out[h] < lowest;
		for (int o = 0; o < N_ITEMS; o++)
			if (!pooled[o] && o != worst && fallback[o] < fallback[h])
				order_ok &= out[o] < out[h];
	}
	ok(n_pooled == 10 && pool_ok, "pool: the 10 best items by any signal get the net's score");
	ok(exact_ok, "pool: an item to score exactly gets the net's score outside the top 10");
	ok(below_ok, "pool: every other item ranks below the pool");
	ok(order_ok, "pool: and keeps the fallback's order");
}

static void
test_contributions(void)
{
	FrFusionNet lr,
				mlp;
	int			hidden[2] = {5, 3};
	float		base,
				contrib[NS];
	double		sum;
	float		x[D],
				y;

	random_net(&lr, 0, NULL, 13);
	fr_fusion_contributions(&lr, NS, norm, feat, 3, 9, &base, contrib);
	sum = base + contrib[0] + contrib[1] + contrib[2];
	ok_near(sum, row_score(&lr, feat, 3, 9), 1e-4, "logistic: base + contributions = the score");
	ok_near(contrib[0], fr_fusion_linear_weight(&lr, NS, 0, 3) * sig0[9], 1e-4,
			"logistic: contribution = coefficient at this history length x normalised score");
	ok(contrib[1] == 0, "an absent signal contributes 0");

	random_net(&mlp, 2, hidden, 14);
	fr_fusion_contributions(&mlp, NS, norm, feat, 3, 9, &base, contrib);
	sum = base + contrib[0] + contrib[1] + contrib[2];
	ok_near(sum, row_score(&mlp, feat, 3, 9), 1e-4, "mlp: base + contributions = the score");
	fr_fusion_row(NS, true, norm, 3, feat, 9, x);
	x[0] = x[1] = x[2] = 0;
	x[NS + FR_FUSION_EXTRA] = x[NS + FR_FUSION_EXTRA + 1] = x[NS + FR_FUSION_EXTRA + 2] = 0;
	fr_fusion_forward(&mlp, 1, x, &y);
	ok_near(base, y, 1e-6, "mlp: base = the score with every signal neutral");
}

/*
 * The point of the history terms, planted: in users with one item the
 * positives are the best by signal 2 ("popularity"), in users with 20 the
 * best by signal 0 ("cf").  A logistic fit with the terms ranks both kinds
 * well; without them one set of weights must serve both and cannot.
 */
enum
{
	P_USERS = 200,
	P_CAND = 20
};

static double
planted_history_ndcg(bool terms)
{
	int			d = fr_fusion_inputs(NS, terms);
	float	   *x = fr_alloc(sizeof(float) * P_USERS * P_CAND * d);
	float	   *y = fr_alloc(sizeof(float) * P_USERS * P_CAND);
	float	   *out = fr_alloc(sizeof(float) * P_USERS * P_CAND);
	int64_t		group[P_USERS + 1];
	float		a[P_CAND],
				b[P_CAND];
	const float *const sig[NS] = {a, NULL, b};
	FrFusionSet all,
				fit,
				test;
	FrFusionNet net;
	FrRng		rng;
	double		ndcg;

	fr_rng_seed(&rng, 21);
	for (int u = 0; u < P_USERS; u++)
	{
		int			n_hist = u % 2 ? 20 : 1;
		const float *decides = n_hist == 1 ? b : a;

		group[u] = (int64_t) u * P_CAND;
		for (int i = 0; i < P_CAND; i++)
		{
			a[i] = (float) fr_rng_normal(&rng);
			b[i] = (float) fr_rng_normal(&rng);
		}
		for (int i = 0; i < P_CAND; i++)
		{
			int			better = 0;

			for (int o = 0; o < P_CAND; o++)
				better += decides[o] > decides[i];
			y[u * P_CAND + i] = better < 2;
			fr_fusion_row(NS, terms, sig, n_hist, NULL, i, x + ((size_t) u * P_CAND + i) * d);
		}
	}
	group[P_USERS] = (int64_t) P_USERS * P_CAND;
	/* fit on the first half of the users, measure on the second */
	all = (FrFusionSet) {(int64_t) P_USERS * P_CAND, d, x, y, P_USERS, group};
	fit = fr_fusion_set_slice(&all, 0, P_USERS / 2);
	test = fr_fusion_set_slice(&all, P_USERS / 2, P_USERS);
	fr_fusion_fit_logistic(&fit, 1.0, &net);
	fr_fusion_forward(&net, test.n, test.x, out);
	ndcg = fr_fusion_ndcg(&test, out, 10);
	fr_free(x);
	fr_free(y);
	fr_free(out);
	return ndcg;
}

static void
test_planted_history(void)
{
	double		with = planted_history_ndcg(true),
				without = planted_history_ndcg(false);

	ok(with > 0.9, "history terms: one logistic fit ranks both new and regular users (NDCG@10 %.3f)", with);
	ok(with > without + 0.1, "history terms: far better than one set of weights for all (%.3f against %.3f)",
	   with, without);
}

static void
test_candidates(void)
{
	float		a[6] = {5, 4, 3, 2, 1, 0},
				b[6] = {0, 1, 9, 3, 8, 7};
	const float *const sig[3] = {a, NULL, b};
	uint8_t		skip[6] = {0, 1, 0, 0, 0, 0};	/* item 1 already seen */
	int32_t		cand[6];
	int32_t		n = fr_fusion_candidates(3, sig, 6, skip, 3, cand);

	/* a's top 3 without item 1: 0, 2, 3; b's: 2, 4, 5, of which 4 and 5 are new */
	ok(n == 5 && cand[0] == 0 && cand[1] == 2 && cand[2] == 3 && cand[3] == 4 && cand[4] == 5,
	   "candidates: each signal's top 3, unseen, without repeats, in signal then rank order (%d)", n);
	n = fr_fusion_candidates(3, sig, 6, skip, 10, cand);
	ok(n == 5, "candidates: m above the catalogue gives every unseen item once (%d)", n);
}

static void
test_slice(void)
{
	float		x[10 * 2],
				y[10];
	int64_t		group[4] = {0, 3, 7, 10};
	FrFusionSet all = {10, 2, x, y, 3, group};
	FrFusionSet s = fr_fusion_set_slice(&all, 1, 3);

	ok(s.n == 7 && s.n_groups == 2 && s.d == 2, "slice: groups 1 and 2 hold 7 rows");
	ok(s.group[0] == 0 && s.group[1] == 4 && s.group[2] == 7, "slice: its offsets start at 0");
	ok(s.x == x + 3 * 2 && s.y == y + 3, "slice: its rows are the set's, not a copy");
	s = fr_fusion_set_slice(&all, 2, 2);
	ok(s.n == 0 && s.n_groups == 0, "slice: an empty range");
}

int
main(void)
{
	fill_inputs();
	test_item_features();
	test_history_decay();
	test_row();
	test_linear_scores();
	test_pool_scores();
	test_contributions();
	test_planted_history();
	test_candidates();
	test_slice();
	return done_testing();
}
