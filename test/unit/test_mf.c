/*
 * test_mf.c — the biased matrix factorisation kernel on planted ratings, and
 * on MovieLens 100k u1..u5 when /work/shared/data holds it (skipped
 * otherwise).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mf.h"
#include "tap.h"

#define NU 80
#define NI 50
#define RANK 3

typedef struct Planted
{
	FrCsr		ui,
				iu;
	/* held-out pairs and their noiseless ratings */
	int			n_test;
	int32_t		tu[NU * NI],
				ti[NU * NI];
	float		tr[NU * NI];
} Planted;

/*
 * r = 3 + b_u + b_i + x_u . y_i (rank 3) + N(0, 0.1^2); 40% of the pairs are
 * observed, 10% held out.
 */
static void
planted(Planted *p)
{
	static int32_t rows[NU * NI],
				cols[NU * NI];
	static float vals[NU * NI];
	float		x[NU][RANK],
				y[NI][RANK],
				bu[NU],
				bi[NI];
	int64_t		n = 0;
	FrRng		rng;

	fr_rng_seed(&rng, 11);
	for (int u = 0; u < NU; u++)
	{
		bu[u] = (float) (0.5 * fr_rng_normal(&rng));
		for (int l = 0; l < RANK; l++)
			x[u][l] = (float) fr_rng_normal(&rng);
	}
	for (int i = 0; i < NI; i++)
	{
		bi[i] = (float) (0.5 * fr_rng_normal(&rng));
		for (int l = 0; l < RANK; l++)
			y[i][l] = (float) (0.5 * fr_rng_normal(&rng));
	}
	p->n_test = 0;
	for (int u = 0; u < NU; u++)
		for (int i = 0; i < NI; i++)
		{
			double		r = 3 + bu[u] + bi[i];
			double		c = fr_rng_uniform(&rng);

			for (int l = 0; l < RANK; l++)
				r += x[u][l] * y[i][l];
			if (c < 0.4)
			{
				rows[n] = u;
				cols[n] = i;
				vals[n++] = (float) (r + 0.1 * fr_rng_normal(&rng));
			}
			else if (c < 0.5)
			{
				p->tu[p->n_test] = u;
				p->ti[p->n_test] = i;
				p->tr[p->n_test++] = (float) r;
			}
		}
	fr_csr_from_coo(&p->ui, NU, NI, n, rows, cols, vals, NULL, NULL);
	fr_csr_transpose(&p->ui, &p->iu);
}

static void
free_csr(FrCsr *m)
{
	fr_free(m->indptr);
	fr_free(m->indices);
	fr_free(m->values);
}

static FrMfOptions
options(FrMfSolver solver)
{
	FrMfOptions o;

	memset(&o, 0, sizeof(o));
	o.factors = 5;
	o.iterations = solver == FR_MF_ALS ? 10 : 200;
	o.regularization = 0.02;
	o.bias_regularization = 0.01;
	o.solver = solver;
	o.learning_rate = 0.02;
	o.init_std = 0.1;
	o.seed = 42;
	return o;
}

static void
alloc_factors(FrMfFactors *f, int nu, int ni, int k)
{
	f->user_bias = calloc(nu, sizeof(float));
	f->item_bias = calloc(ni, sizeof(float));
	f->user_factors = calloc((size_t) nu * k, sizeof(float));
	f->item_factors = calloc((size_t) ni * k, sizeof(float));
}

static void
free_factors(FrMfFactors *f)
{
	free(f->user_bias);
	free(f->item_bias);
	free(f->user_factors);
	free(f->item_factors);
}

static double
test_rmse(const Planted *p, const FrMfFactors *f, int k)
{
	double		sse = 0;

	for (int t = 0; t < p->n_test; t++)
	{
		double		e = fr_mf_predict(f, k, p->tu[t], p->ti[t]) - p->tr[t];

		sse += e * e;
	}
	return sqrt(sse / p->n_test);
}

/* the regularised objective of mf.h */
static double
objective(const FrMfOptions *o, const FrCsr *ui, const FrCsr *iu, const FrMfFactors *f)
{
	int			k = o->factors;
	double		obj = 0;

	for (int32_t u = 0; u < ui->nrows; u++)
	{
		int64_t		n = ui->indptr[u + 1] - ui->indptr[u];
		double		sq = 0;

		for (int64_t j = ui->indptr[u]; j < ui->indptr[u + 1]; j++)
		{
			double		e = ui->values[j] - fr_mf_predict(f, k, u, ui->indices[j]);

			obj += e * e;
		}
		for (int l = 0; l < k; l++)
			sq += (double) f->user_factors[u * k + l] * f->user_factors[u * k + l];
		obj += n * (o->regularization * sq + o->bias_regularization * f->user_bias[u] * f->user_bias[u]);
	}
	for (int32_t i = 0; i < iu->nrows; i++)
	{
		int64_t		n = iu->indptr[i + 1] - iu->indptr[i];
		double		sq = 0;

		for (int l = 0; l < k; l++)
			sq += (double) f->item_factors[i * k + l] * f->item_factors[i * k + l];
		obj += n * (o->regularization * sq + o->bias_regularization * f->item_bias[i] * f->item_bias[i]);
	}
	return obj;
}

static double
max_abs_diff(const float *a, const float *b, size_t n)
{
	double		m = 0;

	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs((double) a[i] - b[i]));
	return m;
}

static void
test_planted(void)
{
	static Planted p;
	FrMfOptions als = options(FR_MF_ALS);
	FrMfOptions sgd = options(FR_MF_SGD);
	int			k = als.factors;
	FrMfFactors f,
				g;
	double		rmse[200],
				prev = INFINITY,
				worst = 0;
	bool		monotone = true;
	float		xf[5],
				bf;

	planted(&p);
	alloc_factors(&f, NU, NI, k);
	alloc_factors(&g, NU, NI, k);

	/* exact alternating ridge solves never increase the objective */
	for (int it = 1; it <= 6; it++)
	{
		double		obj;

		als.iterations = it;
		fr_mf_fit(&als, &p.ui, &p.iu, &f, NULL);
		obj = objective(&als, &p.ui, &p.iu, &f);
		monotone &= obj <= prev * (1 + 1e-5);
		prev = obj;
	}
	ok(monotone, "als: objective never increases over 6 sweeps (final %.4f)", prev);

	als.iterations = 10;
	fr_mf_fit(&als, &p.ui, &p.iu, &f, rmse);
	ok(rmse[9] < 0.12 && rmse[9] < rmse[0], "als: training rmse %.4f -> %.4f, near the noise 0.1",
	   rmse[0], rmse[9]);
	ok(test_rmse(&p, &f, k) < 0.2, "als: held-out rmse %.4f < 0.2 (ratings sd about 1.4)",
	   test_rmse(&p, &f, k));
	ok_near(f.mean, 3.0, 0.3, "als: global mean");

	/* fold-in of a user's ratings reproduces the trained bias and factors */
	for (int u = 0; u < NU; u++)
	{
		int64_t		lo = p.ui.indptr[u],
					hi = p.ui.indptr[u + 1];

		fr_mf_fold_in(&als, &f, p.ui.indices + lo, p.ui.values + lo, (int) (hi - lo), &bf, xf);
		worst = fmax(worst, fmax(fabs(bf - f.user_bias[u]),
								 max_abs_diff(xf, f.user_factors + u * k, k)));
	}
	ok(worst < 1e-4, "fold-in equals the trained users (max diff %.2g)", worst);
	fr_mf_fold_in(&als, &f, NULL, NULL, 0, &bf, xf);
	ok(bf == 0 && max_abs_diff(xf, (float[5]) {0}, k) == 0, "fold-in of nothing is zero");

	/* SGD reaches the same quality */
	fr_mf_fit(&sgd, &p.ui, &p.iu, &g, rmse);
	ok(rmse[199] < rmse[0] && rmse[199] < 0.15, "sgd: training rmse %.4f -> %.4f", rmse[0], rmse[199]);
	ok(test_rmse(&p, &g, k) < 0.25, "sgd: held-out rmse %.4f < 0.25", test_rmse(&p, &g, k));

	/* determinism by seed, for both solvers */
	{
		FrMfFactors h;

		alloc_factors(&h, NU, NI, k);
		fr_mf_fit(&als, &p.ui, &p.iu, &h, NULL);
		ok(memcmp(h.user_factors, f.user_factors, sizeof(float) * NU * k) == 0 &&
		   memcmp(h.item_bias, f.item_bias, sizeof(float) * NI) == 0,
		   "als: same seed, identical model");
		fr_mf_fit(&sgd, &p.ui, &p.iu, &h, NULL);
		ok(memcmp(h.user_factors, g.user_factors, sizeof(float) * NU * k) == 0,
		   "sgd: same seed, identical model");
		sgd.seed = 43;
		fr_mf_fit(&sgd, &p.ui, &p.iu, &h, NULL);
		ok(memcmp(h.user_factors, g.user_factors, sizeof(float) * NU * k) != 0,
		   "sgd: another seed, another model");
		free_factors(&h);
	}

	free_factors(&f);
	free_factors(&g);
	free_csr(&p.ui);
	free_csr(&p.iu);
}

/* biases alone: r = mean + b_u + b_i exactly, recovered up to the shrinkage */
static void
test_biases(void)
{
	int32_t		rows[6] = {0, 0, 1, 1, 2, 2};
	int32_t		cols[6] = {0, 1, 0, 1, 0, 1};
	float		vals[6];
	float		bu[3] = {1.0f, 0.0f, -1.0f},
				bi[2] = {0.5f, -0.5f};
	FrCsr		ui,
				iu;
	FrMfOptions o = options(FR_MF_ALS);
	FrMfFactors f;
	int32_t		r2[1] = {0},
				c2[1] = {0};
	float		v2[1] = {4.0f};
	FrCsr		one,
				one_t;
	FrMfFactors g;

	for (int t = 0; t < 6; t++)
		vals[t] = 3.0f + bu[rows[t]] + bi[cols[t]];
	fr_csr_from_coo(&ui, 3, 2, 6, rows, cols, vals, NULL, NULL);
	fr_csr_transpose(&ui, &iu);
	o.factors = 2;
	o.regularization = 1e-3;
	o.bias_regularization = 1e-4;
	o.iterations = 30;
	alloc_factors(&f, 3, 2, o.factors);
	fr_mf_fit(&o, &ui, &iu, &f, NULL);
	free_csr(&ui);
	free_csr(&iu);
	ok_near(f.mean, 3.0, 1e-6, "mean of the ratings");
	ok(fabs(fr_mf_predict(&f, 2, 0, 0) - 4.5) < 0.01 && fabs(fr_mf_predict(&f, 2, 2, 1) - 1.5) < 0.01,
	   "additive ratings reproduced (%.4f, want 4.5; %.4f, want 1.5)",
	   fr_mf_predict(&f, 2, 0, 0), fr_mf_predict(&f, 2, 2, 1));
	free_factors(&f);

	/* a user and an item without ratings get zeros; negative ratings are fine */
	fr_csr_from_coo(&one, 2, 2, 1, r2, c2, v2, NULL, NULL);
	fr_csr_transpose(&one, &one_t);
	alloc_factors(&g, 2, 2, 2);
	fr_mf_fit(&o, &one, &one_t, &g, NULL);
	ok(g.user_bias[1] == 0 && g.item_bias[1] == 0 && g.user_factors[2] == 0 && g.item_factors[3] == 0,
	   "row and column without ratings get zero bias and factors");
	ok_near(fr_mf_predict(&g, 2, 1, 1), 4.0, 1e-6, "their prediction is the mean");
	v2[0] = -2.0f;
	free_csr(&one);
	free_csr(&one_t);
	fr_csr_from_coo(&one, 2, 2, 1, r2, c2, v2, NULL, NULL);
	fr_csr_transpose(&one, &one_t);
	fr_mf_fit(&o, &one, &one_t, &g, NULL);
	ok_near(fr_mf_predict(&g, 2, 0, 0), -2.0, 1e-3, "a negative rating is fitted");
	free_factors(&g);
	free_csr(&one);
	free_csr(&one_t);
}

/* ---- MovieLens 100k u1..u5 ---------------------------------------------- */

static int
read_split(const char *path, int32_t **u, int32_t **i, float **r)
{
	FILE	   *f = fopen(path, "r");
	int			n = 0,
				uu,
				ii,
				rr;
	long		t;

	if (f == NULL)
		return -1;
	*u = malloc(sizeof(int32_t) * 100000);
	*i = malloc(sizeof(int32_t) * 100000);
	*r = malloc(sizeof(float) * 100000);
	while (n < 100000 && fscanf(f, "%d %d %d %ld", &uu, &ii, &rr, &t) == 4)
	{
		(*u)[n] = uu - 1;
		(*i)[n] = ii - 1;
		(*r)[n++] = (float) rr;
	}
	fclose(f);
	return n;
}

static void
test_movielens(void)
{
	/* the defaults of the SQL "mf" algorithm */
	FrMfOptions o = options(FR_MF_ALS);
	double		sum = 0;
	int			folds = 0;
	double		u1 = 0;

	o.factors = 50;
	o.iterations = 10;
	o.regularization = 0.12;
	o.bias_regularization = 0.05;
	for (int fold = 1; fold <= 5; fold++)
	{
		char		path[128];
		int32_t    *u,
				   *i,
				   *tu,
				   *ti;
		float	   *r,
				   *tr;
		int			n,
					nt;
		FrCsr		ui,
					iu;
		FrMfFactors f;
		float		lo = INFINITY,
					hi = -INFINITY;
		double		sse = 0,
					t0,
					secs;

		snprintf(path, sizeof(path), "/work/shared/data/movielens-100k/u%d.base", fold);
		n = read_split(path, &u, &i, &r);
		snprintf(path, sizeof(path), "/work/shared/data/movielens-100k/u%d.test", fold);
		nt = n < 0 ? -1 : read_split(path, &tu, &ti, &tr);
		if (n < 0 || nt < 0)
		{
			printf("ok %d # skip MovieLens 100k u%d not present\n", ++tap_count, fold);
			continue;
		}
		fr_csr_from_coo(&ui, 943, 1682, n, u, i, r, NULL, NULL);
		fr_csr_transpose(&ui, &iu);
		for (int t = 0; t < n; t++)
		{
			lo = fminf(lo, r[t]);
			hi = fmaxf(hi, r[t]);
		}
		alloc_factors(&f, 943, 1682, o.factors);
		t0 = fr_now();
		fr_mf_fit(&o, &ui, &iu, &f, NULL);
		secs = fr_now() - t0;
		for (int t = 0; t < nt; t++)
		{
			/* clipped to the observed range, as the SQL predict() does */
			double		e = fminf(fmaxf(fr_mf_predict(&f, o.factors, tu[t], ti[t]), lo), hi) - tr[t];

			sse += e * e;
		}
		printf("# movielens-100k u%d: rmse %.4f, fit %.3f s\n", fold, sqrt(sse / nt), secs);
		if (fold == 1)
			u1 = sqrt(sse / nt);
		sum += sqrt(sse / nt);
		folds++;
		free_factors(&f);
		free_csr(&ui);
		free_csr(&iu);
		free(u);
		free(i);
		free(r);
		free(tu);
		free(ti);
		free(tr);
	}
	if (folds == 5)
	{
		ok(u1 <= 0.925, "movielens-100k u1 rmse %.4f <= 0.925", u1);
		ok(sum / 5 <= 0.915, "movielens-100k u1..u5 mean rmse %.4f <= 0.915", sum / 5);
	}
}

int
main(void)
{
	test_planted();
	test_biases();
	test_movielens();
	return done_testing();
}
