/*
 * test_featurefm.c — the feature-aware factorisation kernel: the step's
 * gradient against finite differences (BPR and WARP, with L2), the same
 * seed giving the same model, WARP's search stopping at max_sampled, a
 * planted genre structure recovered for items never interacted with, and
 * training on several threads: the same seed and thread count giving the
 * same model, stopped and resumed or not.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "featurefm.h"
#include "tap.h"

/* a features CSR from dense rows (0 = absent) */
static void
features_from_dense(FrCsr *out, int32_t nrows, int32_t ncols, const float *dense)
{
	int32_t    *r = malloc(sizeof(int32_t) * nrows * ncols);
	int32_t    *c = malloc(sizeof(int32_t) * nrows * ncols);
	float	   *v = malloc(sizeof(float) * nrows * ncols);
	int64_t		n = 0;

	for (int32_t i = 0; i < nrows; i++)
		for (int32_t j = 0; j < ncols; j++)
			if (dense[i * ncols + j] != 0.0f)
			{
				r[n] = i;
				c[n] = j;
				v[n++] = dense[i * ncols + j];
			}
	fr_csr_from_coo(out, nrows, ncols, n, r, c, v, NULL, NULL);
	free(r);
	free(c);
	free(v);
}

/* ---- gradient check ------------------------------------------------------ */

/* 3 users (identity + a shared feature), 4 items (identity + 2 genres) */
static const float user_dense[3 * 4] = {
	1, 0, 0, 0.5f,
	0, 1, 0, 0.5f,
	0, 0, 1, 0,
};
static const float item_dense[4 * 6] = {
	0.5f, 0, 0, 0, 0.5f, 0,
	0, 0.5f, 0, 0, 0.5f, 0,
	0, 0, 0.5f, 0, 0, 0.5f,
	0, 0, 0, 0.4f, 0.3f, 0.3f,		/* item 3 shares both genres with 0..2 */
};

static double
numeric_check(FrFmOptions *opt, FrFmParams *p, const FrCsr *uf, const FrCsr *itf,
			  int32_t u, int32_t i, int32_t j, double w, const char *what)
{
	FrFmParams	g = *p;
	float	   *arrays[3] = {p->user_emb, p->item_emb, p->item_bias};
	float	   *grads[3];
	size_t		lens[3] = {(size_t) p->n_user_features * p->factors,
		(size_t) p->n_item_features * p->factors, (size_t) p->n_item_features};
	double		worst = 0.0;
	const double h = 1e-3;

	g.user_emb = calloc(lens[0], sizeof(float));
	g.item_emb = calloc(lens[1], sizeof(float));
	g.item_bias = calloc(lens[2], sizeof(float));
	grads[0] = g.user_emb;
	grads[1] = g.item_emb;
	grads[2] = g.item_bias;
	fr_fm_triple(opt, p, uf, itf, u, i, j, w, &g);
	for (int a = 0; a < 3; a++)
		for (size_t x = 0; x < lens[a]; x++)
		{
			float		keep = arrays[a][x];
			double		up,
						down,
						num;

			arrays[a][x] = keep + (float) h;
			up = fr_fm_triple(opt, p, uf, itf, u, i, j, w, NULL);
			arrays[a][x] = keep - (float) h;
			down = fr_fm_triple(opt, p, uf, itf, u, i, j, w, NULL);
			arrays[a][x] = keep;
			num = (up - down) / (2 * h);
			worst = fmax(worst, fabs(num - grads[a][x]));
		}
	ok(worst < 2e-3, "%s: analytic gradient matches finite differences (worst difference %.2g)",
	   what, worst);
	free(g.user_emb);
	free(g.item_emb);
	free(g.item_bias);
	return worst;
}

static void
test_gradient(void)
{
	FrCsr		uf,
				itf;
	FrFmOptions opt = {.factors = 3, .epochs = 1, .learning_rate = 0.05,
	.item_alpha = 0.01, .user_alpha = 0.02, .max_sampled = 10, .seed = 7};
	FrFmParams	p;
	FrRng		rng;

	features_from_dense(&uf, 3, 4, user_dense);
	features_from_dense(&itf, 4, 6, item_dense);
	fr_fm_init(&p, &opt, 4, 6);
	/* larger values than the init's, so that every term matters */
	fr_rng_seed(&rng, 3);
	for (int x = 0; x < 4 * 3; x++)
		p.user_emb[x] = (float) fr_rng_normal(&rng) * 0.5f;
	for (int x = 0; x < 6 * 3; x++)
		p.item_emb[x] = (float) fr_rng_normal(&rng) * 0.5f;
	for (int x = 0; x < 6; x++)
		p.item_bias[x] = (float) fr_rng_normal(&rng) * 0.3f;

	opt.loss = FR_FM_BPR;
	numeric_check(&opt, &p, &uf, &itf, 0, 1, 3, 1.0, "BPR, items sharing a genre");
	numeric_check(&opt, &p, &uf, &itf, 2, 2, 0, 1.0, "BPR, disjoint items");
	opt.loss = FR_FM_WARP;
	/* the hinge must be active for a gradient: shrink the vectors so the margin is violated */
	for (int x = 0; x < 6 * 3; x++)
		p.item_emb[x] *= 0.2f;
	ok(fr_fm_triple(&opt, &p, &uf, &itf, 1, 3, 2, 2.5, NULL) > 0.0,
	   "WARP: the chosen triple violates the margin");
	numeric_check(&opt, &p, &uf, &itf, 1, 3, 2, 2.5, "WARP with rank weight 2.5");
}

/* ---- training ---------------------------------------------------------- */

/*
 * 60 users, 40 items in two genres: users of even index like genre 0,
 * others genre 1; each user interacted with 6 items of their genre among
 * items 0..29.  Items 30..39 are never interacted with ("new"): features
 * are the genre only, so only what the genres learned can score them.
 */
#define NU 60
#define NI 40
#define N_WARM 30

typedef struct Planted
{
	FrCsr		ui,
				uf,
				itf;
} Planted;

static int
genre_of(int32_t item)
{
	return item % 2;
}

static void
planted(Planted *pl)
{
	static float udense[NU * NU];
	static float idense[NI * 2];
	int32_t		rows[NU * 6],
				cols[NU * 6];
	float		vals[NU * 6];
	int64_t		n = 0;
	FrRng		rng;

	fr_rng_seed(&rng, 5);
	for (int32_t u = 0; u < NU; u++)
	{
		int			have = 0;

		udense[u * NU + u] = 1.0f;
		while (have < 6)
		{
			int32_t		i = (int32_t) fr_rng_below(&rng, N_WARM);
			bool		dup = false;

			if (genre_of(i) != u % 2)
				continue;
			for (int64_t q = n - have; q < n; q++)
				dup |= cols[q] == i;
			if (dup)
				continue;
			rows[n] = u;
			cols[n] = i;
			vals[n++] = 1.0f;
			have++;
		}
	}
	for (int32_t i = 0; i < NI; i++)
		idense[i * 2 + genre_of(i)] = 1.0f;
	fr_csr_from_coo(&pl->ui, NU, NI, n, rows, cols, vals, NULL, NULL);
	features_from_dense(&pl->uf, NU, NU, udense);
	features_from_dense(&pl->itf, NI, 2, idense);
}

/* share of (user, new item of their genre, new item of the other) pairs ranked right */
static double
cold_auc(const Planted *pl, const FrFmParams *p)
{
	int32_t		k = p->factors;
	float	   *pu = malloc(sizeof(float) * NU * k);
	float	   *qi = malloc(sizeof(float) * NI * k);
	float		bi[NI];
	int64_t		right = 0,
				all = 0;

	fr_fm_represent(&pl->uf, p->user_emb, NULL, k, pu, NULL);
	fr_fm_represent(&pl->itf, p->item_emb, p->item_bias, k, qi, bi);
	for (int32_t u = 0; u < NU; u++)
		for (int32_t a = N_WARM; a < NI; a++)
			for (int32_t b = N_WARM; b < NI; b++)
			{
				float		sa,
							sb;

				if (genre_of(a) != u % 2 || genre_of(b) == u % 2)
					continue;
				sa = bi[a];
				sb = bi[b];
				for (int32_t l = 0; l < k; l++)
				{
					sa += pu[u * k + l] * qi[a * k + l];
					sb += pu[u * k + l] * qi[b * k + l];
				}
				right += sa > sb;
				all++;
			}
	free(pu);
	free(qi);
	return (double) right / all;
}

extern int	fr_stub_pending_every;

static void
fit_threads(const Planted *pl, FrFmLoss loss, uint64_t seed, int32_t threads, int32_t running,
			FrFmParams *p, double *final_loss)
{
	FrFmOptions opt = {.factors = 8, .epochs = 20, .loss = loss, .learning_rate = 0.05,
		.item_alpha = 1e-4, .user_alpha = 1e-4, .max_sampled = 20, .seed = seed,
	.threads = threads, .max_running = running};

	fr_fm_init(p, &opt, pl->uf.ncols, pl->itf.ncols);
	*final_loss = fr_fm_fit(&opt, &pl->ui, &pl->uf, &pl->itf, p);
}

static void
fit(const Planted *pl, FrFmLoss loss, uint64_t seed, FrFmParams *p, double *final_loss)
{
	fit_threads(pl, loss, seed, 1, 0, p, final_loss);
}

static bool
same_params(const FrFmParams *a, const FrFmParams *b)
{
	return memcmp(a->user_emb, b->user_emb, sizeof(float) * a->n_user_features * a->factors) == 0 &&
		memcmp(a->item_emb, b->item_emb, sizeof(float) * a->n_item_features * a->factors) == 0 &&
		memcmp(a->item_bias, b->item_bias, sizeof(float) * a->n_item_features) == 0;
}

static void
test_training(void)
{
	Planted		pl;
	FrFmParams	a,
				b,
				c,
				untrained;
	FrFmOptions opt = {.factors = 8, .seed = 9};
	double		la,
				lb,
				lc;

	planted(&pl);
	fr_fm_init(&untrained, &opt, NU, 2);
	for (int loss = FR_FM_BPR; loss <= FR_FM_WARP; loss++)
	{
		const char *name = loss == FR_FM_BPR ? "BPR" : "WARP";

		fit(&pl, loss, 9, &a, &la);
		fit(&pl, loss, 9, &b, &lb);
		fit(&pl, loss, 10, &c, &lc);
		ok(same_params(&a, &b) && la == lb, "%s: the same seed gives the same model", name);
		ok(!same_params(&a, &c), "%s: another seed gives another model", name);
		ok(isfinite(la), "%s: final loss %.4f is finite", name, la);
		ok(cold_auc(&pl, &a) > 0.95,
		   "%s: new items of the user's genre rank above the other genre's (AUC %.3f, untrained %.3f)",
		   name, cold_auc(&pl, &a), cold_auc(&pl, &untrained));
	}
}

/*
 * Several threads: the planted data hold 360 positives, fewer than one
 * round of two threads, so the 20 x 60 users' positives of a bigger copy
 * are used: 20 blocks of the planted users, the same items.
 */
static void
bigger(const Planted *pl, Planted *out, int32_t copies)
{
	int64_t		nnz = pl->ui.nnz * copies;
	int32_t    *r = malloc(sizeof(int32_t) * nnz),
			   *c = malloc(sizeof(int32_t) * nnz),
			   *ur = malloc(sizeof(int32_t) * NU * copies);
	float	   *v = malloc(sizeof(float) * nnz),
			   *uv = malloc(sizeof(float) * NU * copies);
	int64_t		n = 0;

	for (int32_t b = 0; b < copies; b++)
		for (int32_t u = 0; u < NU; u++)
		{
			for (int64_t q = pl->ui.indptr[u]; q < pl->ui.indptr[u + 1]; q++)
			{
				r[n] = b * NU + u;
				c[n] = pl->ui.indices[q];
				v[n++] = 1.0f;
			}
			ur[b * NU + u] = b * NU + u;
			uv[b * NU + u] = 1.0f;
		}
	fr_csr_from_coo(&out->ui, NU * copies, NI, n, r, c, v, NULL, NULL);
	fr_csr_from_coo(&out->uf, NU * copies, NU * copies, NU * copies, ur, ur, uv, NULL, NULL);
	out->itf = pl->itf;
	free(r);
	free(c);
	free(v);
	free(ur);
	free(uv);
}

static void
test_threads(void)
{
	Planted		pl,
				big;
	FrFmParams	one,
				a,
				b,
				c;
	double		lone,
				la,
				lb,
				lc;

	planted(&pl);
	bigger(&pl, &big, 20);
	for (int loss = FR_FM_BPR; loss <= FR_FM_WARP; loss++)
	{
		const char *name = loss == FR_FM_BPR ? "BPR" : "WARP";
		Planted		pb = big;
		int32_t		n_uf = big.uf.ncols;

		fit_threads(&pb, loss, 9, 1, 0, &one, &lone);
		fit_threads(&pb, loss, 9, 2, 2, &a, &la);
		fit_threads(&pb, loss, 9, 2, 2, &b, &lb);
		ok(a.n_user_features == n_uf && same_params(&a, &b) && la == lb,
		   "%s, 2 threads: the same seed gives the same model", name);
		ok(!same_params(&a, &one), "%s: 2 threads split the work (another model than 1 thread's)", name);
		/* a cancel check that says yes stops every thread after the round; they resume where they were */
		fr_stub_pending_every = 3;
		fit_threads(&pb, loss, 9, 2, 2, &c, &lc);
		fr_stub_pending_every = 0;
		ok(same_params(&a, &c) && la == lc, "%s, 2 threads: stopped and resumed, the same model", name);
		/* on one core, the two slices run one after the other: the same model */
		fit_threads(&pb, loss, 9, 2, 1, &c, &lc);
		ok(same_params(&a, &c) && la == lc, "%s, 2 threads on 1 core: the same model as on 2", name);
		fit_threads(&pb, loss, 9, 3, 3, &c, &lc);
		fit_threads(&pb, loss, 9, 3, 2, &b, &lb);
		ok(same_params(&b, &c) && lb == lc, "%s, 3 threads on 2 cores: the same model as on 3", name);
		ok(!same_params(&a, &c), "%s: 3 threads give another model than 2", name);
		ok(fabs(la - lone) < 0.25 * fabs(lone) + 0.05,
		   "%s: 2 threads' final loss %.4f near 1 thread's %.4f", name, la, lone);
		/* the first block of users is the planted one, their identities the first features */
		ok(cold_auc(&pl, &a) > 0.95,
		   "%s, 2 threads: new items of the user's genre rank above the other genre's (AUC %.3f)",
		   name, cold_auc(&pl, &a));
	}
}

/* ---- WARP's search -------------------------------------------------------- */

static void
test_warp_sample(void)
{
	Planted		pl;
	FrFmParams	p;
	FrFmOptions opt = {.factors = 4, .loss = FR_FM_WARP, .max_sampled = 7, .seed = 1};
	float		pu[NU * 4],
				work[4];
	FrRng		rng,
				twin;
	int32_t		neg = -1,
				draws;
	bool		moved_alike = true;

	planted(&pl);
	fr_fm_init(&p, &opt, NU, 2);
	fr_fm_represent(&pl.uf, p.user_emb, NULL, 4, pu, NULL); /* user 0's vector: pu[0..3] */

	/* a positive far above every item: no draw violates, the search gives up after 7 */
	fr_rng_seed(&rng, 77);
	twin = rng;
	draws = fr_fm_warp_sample(&opt, &p, &pl.ui, &pl.itf, 0, pu, 100.0, &rng, work, &neg);
	ok(draws == 0 && neg == -1, "WARP: no violating negative found (draws %d)", draws);
	for (int t = 0; t < opt.max_sampled; t++)
		fr_rng_below(&twin, NI);
	for (int w = 0; w < 4; w++)
		moved_alike &= rng.s[w] == twin.s[w];
	ok(moved_alike, "WARP: the search stopped after exactly max_sampled = %d draws", opt.max_sampled);

	/* a positive far below every item: the first draw that is not a positive violates */
	draws = fr_fm_warp_sample(&opt, &p, &pl.ui, &pl.itf, 0, pu, -100.0, &rng, work, &neg);
	ok(draws >= 1 && draws <= opt.max_sampled && neg >= 0 && neg < NI,
	   "WARP: a violating negative found after %d draws", draws);
	for (int64_t q = pl.ui.indptr[0]; q < pl.ui.indptr[1]; q++)
		moved_alike &= pl.ui.indices[q] != neg;
	ok(moved_alike, "WARP: the negative %d is not one of the user's items", neg);
}

int
main(void)
{
	test_gradient();
	test_training();
	test_threads();
	test_warp_sample();
	return done_testing();
}
