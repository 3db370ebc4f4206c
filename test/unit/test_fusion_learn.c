/*
 * test_fusion_learn.c — the hybrid's learned fusion (fusion_learn.c) against
 * known answers: logistic regression's closed-form maximum likelihood on a
 * binary feature, a separable problem it must solve, XOR that only the MLP
 * can, NDCG by hand, chunked forward passes equal to row-by-row ones, and
 * bit-for-bit determinism by seed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_learn.h"
#include "kernel.h"
#include "tap.h"

static void
test_logistic_closed_form(void)
{
	/*
	 * One binary feature: the unpenalised MLE predicts the observed rates,
	 * logit(1/4) = -ln 3 at x = 0 and logit(3/4) = ln 3 at x = 1.
	 */
	float		x[8] = {0, 0, 0, 0, 1, 1, 1, 1};
	float		y[8] = {1, 0, 0, 0, 1, 1, 1, 0};
	int64_t		group[2] = {0, 8};
	FrFusionSet set = {8, 1, x, y, 1, group};
	FrFusionNet net;
	float		two[2] = {0, 1},
				out[2];
	double		loss = fr_fusion_fit_logistic(&set, 0.0, &net);

	fr_fusion_forward(&net, 2, two, out);
	ok_near(out[0], -log(3.0), 1e-4, "logistic: logit at x = 0 is logit(1/4)");
	ok_near(out[1], log(3.0), 1e-4, "logistic: logit at x = 1 is logit(3/4)");
	ok_near(loss, -(0.25 * log(0.25) + 0.75 * log(0.75)), 1e-6, "logistic: mean log loss of the MLE");

	/* a penalty pulls the two logits together */
	fr_fusion_fit_logistic(&set, 4.0, &net);
	fr_fusion_forward(&net, 2, two, out);
	ok(out[1] - out[0] > 0 && out[1] - out[0] < 2 * log(3.0) - 0.1,
	   "logistic: L2 shrinks the slope (%.4f < %.4f)", out[1] - out[0], 2 * log(3.0));
}

static void
test_logistic_separable(void)
{
	/* 200 points labelled by the sign of 2 x0 - x1 + 0.5: every one on its side */
	enum
	{
		N = 200
	};
	float		x[N * 3],
				y[N],
				s[N];
	int64_t		group[2] = {0, N};
	FrFusionSet set = {N, 3, x, y, 1, group};
	FrFusionNet net;
	FrRng		rng;
	int			right = 0;

	fr_rng_seed(&rng, 7);
	for (int i = 0; i < N; i++)
	{
		x[i * 3] = (float) fr_rng_normal(&rng);
		x[i * 3 + 1] = (float) fr_rng_normal(&rng);
		x[i * 3 + 2] = 5;		/* a constant column must not break the solve */
		y[i] = 2 * x[i * 3] - x[i * 3 + 1] + 0.5 > 0;
	}
	fr_fusion_fit_logistic(&set, 1e-3, &net);
	fr_fusion_forward(&net, N, x, s);
	for (int i = 0; i < N; i++)
		right += (s[i] > 0) == (y[i] > 0);
	ok(right == N, "logistic: a separable problem is separated (%d of %d)", right, N);
	ok(fr_fusion_ndcg(&set, s, 10) == 1.0, "logistic: its top 10 are all positives");
}

/* XOR of two signs, with jitter: no linear score ranks it, one hidden layer does */
static void
xor_data(int n, uint64_t seed, float *x, float *y)
{
	FrRng		rng;

	fr_rng_seed(&rng, seed);
	for (int i = 0; i < n; i++)
	{
		int			a = (int) fr_rng_below(&rng, 2),
					b = (int) fr_rng_below(&rng, 2);

		x[i * 2] = (a ? 1.0f : -1.0f) + 0.1f * (float) fr_rng_normal(&rng);
		x[i * 2 + 1] = (b ? 1.0f : -1.0f) + 0.1f * (float) fr_rng_normal(&rng);
		y[i] = a != b;
	}
}

static void
test_mlp_xor(void)
{
	enum
	{
		N = 800
	};
	static float x[N * 2],
				y[N],
				xs[N * 2],
				ys[N],
				s[N];
	int64_t		group[9],
				sgroup[9];
	FrFusionSet fit = {N, 2, x, y, 8, group};
	FrFusionSet stop = {N, 2, xs, ys, 8, sgroup};
	FrMlpOptions opt = {1e-4, 0.01, 200, 20, 64, N / 8, 42, NULL};	/* NDCG over whole groups */
	FrFusionNet net,
				lr,
				twin,
				other;
	FrFusionFitInfo info,
				info2;
	int			hidden[1] = {8};
	int			right = 0;
	int64_t		size = fr_fusion_net_size(2, 1, hidden);

	for (int g = 0; g <= 8; g++)
		group[g] = sgroup[g] = (int64_t) g * N / 8;
	xor_data(N, 1, x, y);
	xor_data(N, 2, xs, ys);

	fr_fusion_fit_logistic(&fit, 1e-3, &lr);
	fr_fusion_forward(&lr, N, xs, s);
	ok(fr_fusion_ndcg(&stop, s, 10) < 0.9, "XOR: logistic regression cannot rank it (NDCG %.3f)",
	   fr_fusion_ndcg(&stop, s, 10));

	/* without early stopping, all epochs: calibrated enough to classify */
	fr_fusion_net_alloc(&net, 2, 1, hidden);
	opt.max_epochs = 60;
	fr_fusion_fit_mlp(&fit, NULL, &opt, &net, &info);
	fr_fusion_forward(&net, N, xs, s);
	for (int i = 0; i < N; i++)
		right += (s[i] > 0) == (ys[i] > 0);
	ok(right >= N * 99 / 100 && info.epochs == 60 && info.best_epoch == 60,
	   "XOR: the MLP classifies held-out points (%d of %d)", right, N);
	opt.max_epochs = 200;

	fr_fusion_fit_mlp(&fit, &stop, &opt, &net, &info);
	fr_fusion_forward(&net, N, xs, s);
	ok(fr_fusion_ndcg(&stop, s, N / 8) > 0.99, "XOR: the MLP ranks positives first (NDCG %.4f)", fr_fusion_ndcg(&stop, s, N / 8));
	ok(info.best_epoch >= 1 && info.best_epoch <= info.epochs && info.epochs <= opt.max_epochs,
	   "early stopping: kept epoch %d of %d run", info.best_epoch, info.epochs);
	ok(info.epochs < opt.max_epochs, "early stopping: stopped before the epoch limit (%d)", info.epochs);
	ok_near(info.stop_ndcg, fr_fusion_ndcg(&stop, s, N / 8), 1e-12, "the kept weights are the best epoch's");

	/* the same seed: the same weights, bit for bit; another seed: others */
	fr_fusion_net_alloc(&twin, 2, 1, hidden);
	fr_fusion_fit_mlp(&fit, &stop, &opt, &twin, &info2);
	ok(memcmp(net.params, twin.params, sizeof(float) * size) == 0 && info2.epochs == info.epochs,
	   "MLP: same seed, identical weights");
	opt.seed = 43;
	fr_fusion_net_alloc(&other, 2, 1, hidden);
	fr_fusion_fit_mlp(&fit, &stop, &opt, &other, &info2);
	ok(memcmp(net.params, other.params, sizeof(float) * size) != 0, "MLP: another seed, other weights");

	{
		/* two hidden layers learn it too */
		int			h2[2] = {8, 4};
		FrFusionNet deep;

		opt.seed = 42;
		fr_fusion_net_alloc(&deep, 2, 2, h2);
		fr_fusion_fit_mlp(&fit, &stop, &opt, &deep, &info2);
		fr_fusion_forward(&deep, N, xs, s);
		ok(fr_fusion_ndcg(&stop, s, N / 8) > 0.99, "XOR: two hidden layers (NDCG %.3f)",
		   fr_fusion_ndcg(&stop, s, N / 8));
	}
}

static void
test_forward_blocks(void)
{
	/* many chunks and a partial last one: the same as one row at a time */
	enum
	{
		N = 9000, D = 5
	};
	static float x[N * D],
				all[N];
	int			hidden[2] = {7, 3};
	FrFusionNet net;
	FrRng		rng;
	int64_t		size;
	int			same = 1;

	fr_fusion_net_alloc(&net, D, 2, hidden);
	size = fr_fusion_net_size(D, 2, hidden);
	ok(size == 2 * D + (D * 7 + 7) + (7 * 3 + 3) + (3 + 1), "net size counts every layer (%lld)",
	   (long long) size);
	fr_rng_seed(&rng, 3);
	for (int64_t i = 0; i < size; i++)
		net.params[i] = (float) fr_rng_normal(&rng);
	for (int i = 0; i < N * D; i++)
		x[i] = (float) fr_rng_normal(&rng);
	fr_fusion_forward(&net, N, x, all);
	for (int i = 0; i < N; i += 997)
	{
		float		one;

		fr_fusion_forward(&net, 1, x + (size_t) i * D, &one);
		same &= fabsf(one - all[i]) <= 1e-5f * (1 + fabsf(one));
	}
	ok(same, "forward: chunks (and the padded last one) give the row-by-row scores");

	{
		/* by hand: one hidden unit relu(2 z) then 3 h - 1, with z = (x - 1) * 0.5 */
		FrFusionNet tiny;
		int			one[1] = {1};
		float		in[2] = {4, 0},
					out[2];

		fr_fusion_net_alloc(&tiny, 1, 1, one);
		tiny.params[0] = 1;		/* shift */
		tiny.params[1] = 0.5f;	/* scale */
		tiny.params[2] = 2;		/* W0 */
		tiny.params[3] = 0;		/* b0 */
		tiny.params[4] = 3;		/* W1 */
		tiny.params[5] = -1;	/* b1 */
		fr_fusion_forward(&tiny, 2, in, out);
		ok_near(out[0], 3 * 2 * 1.5 - 1, 1e-6, "forward by hand: x = 4");
		ok_near(out[1], -1, 1e-6, "forward by hand: x = 0 (the ReLU cuts)");
	}
}

static void
test_ndcg(void)
{
	/* group 0: the positive second of 3 -> 1/log2(3); group 1: none, skipped; group 2: 2 of 2 first */
	float		y[7] = {0, 1, 0, 0, 0, 1, 1};
	float		s[7] = {3, 2, 1, 5, 4, 9, 9};
	int64_t		group[4] = {0, 3, 5, 7};
	FrFusionSet set = {7, 1, y, y, 3, group};

	ok_near(fr_fusion_ndcg(&set, s, 10), (1 / log2(3.0) + 1.0) / 2, 1e-12, "NDCG by hand");
	ok_near(fr_fusion_ndcg(&set, s, 1), (0 + 1.0) / 2, 1e-12, "NDCG@1 by hand");
	{
		double		per[3];

		ok_near(fr_fusion_ndcg_groups(&set, s, 10, per), fr_fusion_ndcg(&set, s, 10), 1e-15,
				"per group: the same mean");
		ok(isnan(per[1]) && fabs(per[0] - 1 / log2(3.0)) < 1e-12 && per[2] == 1.0,
		   "per group: NaN without positives, each group's NDCG");
	}
}

static void
test_paired_se(void)
{
	/* differences 1, 3 (the NaN pair left out): mean 2, sd sqrt(2), se sqrt(2) / sqrt(2) = 1 */
	double		a[3] = {0, NAN, 1};
	double		b[3] = {1, 5, 4};
	double		one[1] = {0};

	ok_near(fr_fusion_paired_se(3, a, b), 1.0, 1e-12, "paired standard error by hand");
	ok(isinf(fr_fusion_paired_se(1, one, one)), "one pair: infinite noise");
}

static void
test_choose(void)
{
	/*
	 * weighted 0.5 for every user; logistic 0.6 for every user (better, no
	 * noise); mlp 0.9, 0.3, 0.7: a higher mean (0.633) but differences of
	 * 0.3, -0.3, 0.1 to the logistic fusion, standard error 0.176
	 */
	double		w[3] = {0.5, 0.5, 0.5};
	double		lr[3] = {0.6, 0.6, 0.6};
	double		mlp[3] = {0.9, 0.3, 0.7};
	double	   *per[3] = {w, lr, mlp};
	double		ndcg[3] = {0.5, 0.6, (0.9 + 0.3 + 0.7) / 3};
	double		noise[3];

	ok(fr_fusion_choose(3, ndcg, per, 3, noise) == 1, "choose: logistic kept, the MLP wins within its noise");
	ok_near(noise[2], sqrt((pow(0.3 - 1 / 30.0, 2) + pow(-0.3 - 1 / 30.0, 2) + pow(0.1 - 1 / 30.0, 2)) / 2 / 3),
			1e-12, "choose: the MLP's noise against the logistic fusion");
	ok(noise[1] == 0 && isinf(noise[0]), "choose: no noise between constant differences");
	mlp[1] = 0.65;				/* differences 0.3, 0.05, 0.1: beyond the noise */
	ndcg[2] = (0.9 + 0.65 + 0.7) / 3;
	ok(fr_fusion_choose(3, ndcg, per, 3, noise) == 2, "choose: the MLP kept when it wins beyond its noise");
	ndcg[1] = -1;				/* logistic not fitted: the MLP against weighted */
	ok(fr_fusion_choose(3, ndcg, per, 3, noise) == 2 && isinf(noise[1]), "choose: a fusion not fitted is skipped");
}

/*
 * A bag scores the mean of its members' logits: each member refitted alone
 * with fr_fusion_bag_seed's seed, on its own rotation of the users (member
 * b stops on third b % 3 of the pool: the stop groups, then each half of the
 * fit groups) and bag 0's standardisation, with one and two hidden layers;
 * one bag is the single MLP on (fit, stop) bit for bit.
 */
enum
{
	BAG_N = 400, BAG_GROUPS = 8, BAG_FIT = 4, BAG_BAGS = 3
};

/* groups [g0, g1) of the pool (all BAG_N / 4 rows) as stop, the others in order as fit */
static void
bag_member_sets(const float *px, const float *py, const int64_t *group, int g0, int g1,
				float *fx, float *fy, FrFusionSet *fit, FrFusionSet *stop)
{
	int64_t		lo = group[g0],
				hi = group[g1],
				n = group[BAG_GROUPS];

	memcpy(fx, px, sizeof(float) * 2 * lo);
	memcpy(fx + 2 * lo, px + 2 * hi, sizeof(float) * 2 * (n - hi));
	memcpy(fy, py, sizeof(float) * lo);
	memcpy(fy + lo, py + hi, sizeof(float) * (n - hi));
	*fit = (FrFusionSet) {n - (hi - lo), 2, fx, fy, BAG_GROUPS - (g1 - g0), group};
	*stop = (FrFusionSet) {hi - lo, 2, px + 2 * lo, py + lo, g1 - g0, group};
}

static void
test_mlp_bag(void)
{
	static float px[BAG_N * 4],
				py[BAG_N * 2],
				fx[BAG_N * 4],
				fy[BAG_N * 2],
				s[BAG_N * 2],
				mean[BAG_N * 2],
				one[BAG_N * 2],
				same_users[BAG_N * 2];
	int64_t		group[BAG_GROUPS + 1];
	FrFusionSet pool = {2 * BAG_N, 2, px, py, BAG_GROUPS, group};
	FrMlpOptions opt = {1e-4, 0.01, 40, 5, 64, 10, 7, NULL};
	int			shapes[2][2] = {{6, 0}, {6, 3}};
	int			third_lo[3] = {BAG_FIT, 0, BAG_FIT / 2},
				third_hi[3] = {BAG_GROUPS, BAG_FIT / 2, BAG_FIT};

	for (int g = 0; g <= BAG_GROUPS; g++)
		group[g] = (int64_t) g * BAG_N / 4;
	xor_data(BAG_N, 5, px, py);
	xor_data(BAG_N, 6, px + 2 * BAG_N, py + BAG_N);
	ok(fr_fusion_bag_seed(7, 0) == 7 && fr_fusion_bag_seed(7, 1) != 8,
	   "bag seeds: bag 0 is the seed, bag 1 is not the next seed");
	for (int n_hidden = 1; n_hidden <= 2; n_hidden++)
	{
		const int  *hidden = shapes[n_hidden - 1];
		FrFusionNet bag,
					single;
		FrFusionFitInfo info,
					bag_info;
		FrMlpOptions o = opt;
		int			epochs = 0;
		double		worst = 0;
		bool		differ = false,
					rotation_matters = false;
		float		standardisation[4];

		memset(mean, 0, sizeof(mean));
		fr_fusion_net_alloc(&single, 2, n_hidden, hidden);
		for (int b = 0; b < BAG_BAGS; b++)
		{
			FrFusionSet fit,
						stop;

			o.seed = fr_fusion_bag_seed(opt.seed, b);
			if (b == 1)
			{
				/* member 1 as if it stopped on bag 0's users: not what the bag fits */
				bag_member_sets(px, py, group, third_lo[0], third_hi[0], fx, fy, &fit, &stop);
				fr_fusion_fit_mlp(&fit, &stop, &o, &single, &info);
				fr_fusion_forward(&single, 2 * BAG_N, px, same_users);
			}
			bag_member_sets(px, py, group, third_lo[b % 3], third_hi[b % 3], fx, fy, &fit, &stop);
			fr_fusion_fit_mlp(&fit, &stop, &o, &single, &info);
			if (b == 0)
			{
				memcpy(standardisation, single.params, sizeof(standardisation));
				o.standardisation = standardisation;
			}
			epochs += info.epochs;
			fr_fusion_forward(&single, 2 * BAG_N, px, s);
			for (int i = 0; i < 2 * BAG_N; i++)
			{
				if (b == 0)
					one[i] = s[i];
				else
					differ |= s[i] != one[i];
				if (b == 1)
					rotation_matters |= s[i] != same_users[i];
				mean[i] += s[i] / BAG_BAGS;
			}
		}
		ok(rotation_matters, "bag, %d hidden layers: member 1 stops on other users than member 0", n_hidden);
		fr_fusion_fit_mlp_bag(&pool, BAG_FIT, &opt, BAG_BAGS, n_hidden, hidden, &bag, &bag_info);
		ok(bag.hidden[0] == BAG_BAGS * hidden[0] && (n_hidden == 1 || bag.hidden[1] == BAG_BAGS * hidden[1]),
		   "bag of %d, %d hidden layers: the members side by side (%d units)", BAG_BAGS, n_hidden, bag.hidden[0]);
		fr_fusion_forward(&bag, 2 * BAG_N, px, s);
		for (int i = 0; i < 2 * BAG_N; i++)
			worst = fmax(worst, fabs(s[i] - mean[i]) / (1 + fabs(mean[i])));
		ok(differ && worst < 1e-5,
		   "bag of %d, %d hidden layers: the mean of its members' logits (worst relative difference %.2g)",
		   BAG_BAGS, n_hidden, worst);
		ok(bag_info.epochs == epochs, "bag: epochs summed over the members (%d)", bag_info.epochs);
		fr_fusion_fit_mlp_bag(&pool, BAG_FIT, &opt, BAG_BAGS, n_hidden, hidden, &single, &info);
		fr_fusion_forward(&single, 2 * BAG_N, px, mean);
		ok(memcmp(s, mean, sizeof(float) * 2 * BAG_N) == 0, "bag of %d, %d hidden layers: the same again bit for bit",
		   BAG_BAGS, n_hidden);
		fr_fusion_fit_mlp_bag(&pool, BAG_FIT, &opt, 1, n_hidden, hidden, &bag, &bag_info);
		fr_fusion_forward(&bag, 2 * BAG_N, px, s);
		ok(memcmp(s, one, sizeof(float) * 2 * BAG_N) == 0, "a bag of one, %d hidden layers: the single MLP", n_hidden);
	}
}

int
main(void)
{
	test_logistic_closed_form();
	test_logistic_separable();
	test_mlp_xor();
	test_forward_blocks();
	test_mlp_bag();
	test_ndcg();
	test_paired_se();
	test_choose();
	return done_testing();
}
