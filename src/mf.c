/*
 * mf.c — biased matrix factorisation of explicit ratings (see mf.h).
 *
 * ALS: for fixed items, a user's (b_u, x_u) is one ridge regression of the
 * residual ratings r_ui - mean - b_i on z_i = (1, y_i):
 *
 *     (sum z_i z_i^T + n_u diag(bias_reg, reg, ..., reg)) (b_u, x_u) =
 *         sum (r_ui - mean - b_i) z_i
 *
 * built with BLAS syrk over gathered z rows and solved by Cholesky; items
 * likewise.  SGD visits the ratings in a seeded random order each epoch.
 * Both run on the calling thread in a fixed order, so a seed reproduces a
 * model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "mf.h"
#include "simd.h"

/* z rows gathered at once for one syrk */
#define MF_CHUNK 256

/*
 * a += sum over t < nz of z_t z_t^T, upper triangle (what the Cholesky
 * reads) in 8-column blocks; z rows have stride ld >= d, padded with zeros
 * up to a multiple of 8, and a has stride lda (a multiple of 8).  Most of
 * an ALS sweep, hence compiled for AVX2+FMA too (simd.h).
 */
FR_SIMD static void
rank_update(int d, int lda, float *a, const float *z, int ld, int nz)
{
	int			t = 0;

	for (; t + 4 <= nz; t += 4)
	{
		const float *z0 = z + (size_t) t * ld;
		const float *z1 = z0 + ld;
		const float *z2 = z1 + ld;
		const float *z3 = z2 + ld;

		for (int l = 0; l < d; l++)
		{
			float	   *al = a + (size_t) l * lda;
			float		c0 = z0[l],
						c1 = z1[l],
						c2 = z2[l],
						c3 = z3[l];

			for (int c = l & ~7; c < d; c += 8)
				v8_store(al + c, v8_load(al + c) +
						 ((c0 * v8_load(z0 + c) + c1 * v8_load(z1 + c)) +
						  (c2 * v8_load(z2 + c) + c3 * v8_load(z3 + c))));
		}
	}
	for (; t < nz; t++)
	{
		const float *z0 = z + (size_t) t * ld;

		for (int l = 0; l < d; l++)
		{
			float	   *al = a + (size_t) l * lda;
			float		c0 = z0[l];

			for (int c = l & ~7; c < d; c += 8)
				v8_store(al + c, v8_load(al + c) + c0 * v8_load(z0 + c));
		}
	}
}

/* floats of scratch for solve_row() */
static size_t
row_work_floats(int k)
{
	size_t		d = (size_t) k + 1;
	size_t		dp = (d + 7) & ~(size_t) 7;

	return fr_add_size(fr_mul_size(dp, dp + MF_CHUNK + 1), fr_mul_size(d, d));
}

size_t
fr_mf_workspace_bytes(const FrMfOptions *opt, int32_t n_users, int32_t n_items,
					  int64_t nnz)
{
	if (opt->solver == FR_MF_SGD)
		/* the visiting order and the row of every rating */
		return fr_mul_size((size_t) nnz + 1, sizeof(int64_t) + sizeof(int32_t));
	return fr_mul_size(row_work_floats(opt->factors), sizeof(float));
}

float
fr_mf_predict(const FrMfFactors *f, int factors, int32_t user, int32_t item)
{
	const float *x = f->user_factors + (size_t) user * factors;
	const float *y = f->item_factors + (size_t) item * factors;
	float		s = f->mean + f->user_bias[user] + f->item_bias[item];

	for (int l = 0; l < factors; l++)
		s += x[l] * y[l];
	return s;
}

/*
 * One row's ridge regression: n entries with columns idx and ratings val
 * against the other side's biases and factors.  work holds row_work_floats().
 */
static void
solve_row(int k, double reg, double bias_reg, float mean,
		  const int32_t *idx, const float *val, int64_t n,
		  const float *other_bias, const float *other_factors,
		  float *work, float *bias, float *x)
{
	int			d = k + 1;
	int			dp = (d + 7) & ~7;	/* padded for 8-lane blocks */
	float	   *a = work;		/* dp x dp accumulator */
	float	   *s = a + (size_t) dp * dp;	/* d x d system */
	float	   *b = s + (size_t) d * d;
	float	   *z = b + dp;		/* MF_CHUNK rows of (1, v, 0...) */

	if (n == 0)
	{
		/* no ratings: the regularised answer is zero */
		*bias = 0.0f;
		memset(x, 0, sizeof(float) * k);
		return;
	}

	memset(a, 0, sizeof(float) * dp * dp);
	memset(b, 0, sizeof(float) * dp);
	for (int64_t lo = 0; lo < n; lo += MF_CHUNK)
	{
		int			nc = (int) (n - lo < MF_CHUNK ? n - lo : MF_CHUNK);

		for (int t = 0; t < nc; t++)
		{
			int32_t		c = idx[lo + t];
			float	   *zt = z + (size_t) t * dp;
			float		target = val[lo + t] - mean - other_bias[c];

			zt[0] = 1.0f;
			memcpy(zt + 1, other_factors + (size_t) c * k, sizeof(float) * k);
			for (int l = d; l < dp; l++)
				zt[l] = 0.0f;
			for (int l = 0; l < d; l++)
				b[l] += target * zt[l];
		}
		rank_update(d, dp, a, z, dp, nc);
	}

	for (int l = 0; l < d; l++)
		for (int c = l; c < d; c++)
			s[(size_t) l * d + c] = s[(size_t) c * d + l] = a[(size_t) l * dp + c];
	s[0] += (float) (n * bias_reg);
	for (int l = 1; l < d; l++)
		s[(size_t) l * d + l] += (float) (n * reg);
	if (!fr_sposv_sym(d, s, b))
		fr_fail(FR_FAIL_NUMERIC,
				"mf: the ridge system of a row is singular; use regularization and bias_regularization above 0");
	*bias = b[0];
	memcpy(x, b + 1, sizeof(float) * k);
}

static void
als_half(const FrMfOptions *opt, const FrCsr *m, float mean,
		 const float *other_bias, const float *other_factors,
		 float *bias, float *factors, float *work)
{
	int			k = opt->factors;

	for (int32_t r = 0; r < m->nrows; r++)
	{
		int64_t		lo = m->indptr[r];

		if ((r & 255) == 0)
			fr_check_interrupts();
		solve_row(k, opt->regularization, opt->bias_regularization, mean,
				  m->indices + lo, m->values + lo, m->indptr[r + 1] - lo,
				  other_bias, other_factors, work, bias + r, factors + (size_t) r * k);
	}
}

/* one SGD epoch over the ratings in order[] (positions in ui) */
static void
sgd_epoch(const FrMfOptions *opt, const FrCsr *ui, const int32_t *row_of,
		  const int64_t *order, FrMfFactors *f)
{
	int			k = opt->factors;
	float		lr = (float) opt->learning_rate;
	float		reg = (float) opt->regularization;
	float		bias_reg = (float) opt->bias_regularization;

	for (int64_t t = 0; t < ui->nnz; t++)
	{
		int64_t		j = order[t];
		int32_t		u = row_of[j];
		int32_t		i = ui->indices[j];
		float	   *x = f->user_factors + (size_t) u * k;
		float	   *y = f->item_factors + (size_t) i * k;
		float		e = ui->values[j] - fr_mf_predict(f, k, u, i);

		if ((t & 65535) == 0)
			fr_check_interrupts();
		f->user_bias[u] += lr * (e - bias_reg * f->user_bias[u]);
		f->item_bias[i] += lr * (e - bias_reg * f->item_bias[i]);
		for (int l = 0; l < k; l++)
		{
			float		xl = x[l];

			x[l] += lr * (e * y[l] - reg * xl);
			y[l] += lr * (e * xl - reg * y[l]);
		}
	}
}

static double
train_rmse(const FrMfOptions *opt, const FrCsr *ui, const FrMfFactors *f)
{
	double		sse = 0.0;

	for (int32_t u = 0; u < ui->nrows; u++)
		for (int64_t j = ui->indptr[u]; j < ui->indptr[u + 1]; j++)
		{
			double		e = ui->values[j] - fr_mf_predict(f, opt->factors, u, ui->indices[j]);

			sse += e * e;
		}
	return ui->nnz > 0 ? sqrt(sse / ui->nnz) : 0.0;
}

double
fr_mf_fit(const FrMfOptions *opt, const FrCsr *ui, const FrCsr *iu,
		  FrMfFactors *out, double *rmse)
{
	int			k = opt->factors;
	FrRng		rng;
	double		sum = 0.0;
	double		err = 0.0;
	double		start = fr_now();
	float	   *work = NULL;
	int64_t    *order = NULL;
	int32_t    *row_of = NULL;

	if (k < 1 || ui->nrows != iu->ncols || ui->ncols != iu->nrows)
		fr_fail(FR_FAIL_INTERNAL, "fr_mf_fit: inconsistent arguments");

	for (int64_t j = 0; j < ui->nnz; j++)
		sum += ui->values[j];
	out->mean = ui->nnz > 0 ? (float) (sum / ui->nnz) : 0.0f;
	memset(out->user_bias, 0, sizeof(float) * ui->nrows);
	memset(out->item_bias, 0, sizeof(float) * ui->ncols);
	fr_rng_seed(&rng, opt->seed);
	for (size_t a = 0; a < (size_t) ui->nrows * k; a++)
		out->user_factors[a] = (float) (opt->init_std * fr_rng_normal(&rng));
	for (size_t a = 0; a < (size_t) ui->ncols * k; a++)
		out->item_factors[a] = (float) (opt->init_std * fr_rng_normal(&rng));

	if (opt->solver == FR_MF_SGD)
	{
		size_t		nnz = (size_t) ui->nnz + 1;

		order = fr_alloc(fr_mul_size(nnz, sizeof(int64_t)));
		row_of = fr_alloc(fr_mul_size(nnz, sizeof(int32_t)));
		for (int32_t u = 0; u < ui->nrows; u++)
			for (int64_t j = ui->indptr[u]; j < ui->indptr[u + 1]; j++)
				row_of[j] = u;
		for (int64_t j = 0; j < ui->nnz; j++)
			order[j] = j;
	}
	else
		work = fr_alloc(fr_mul_size(row_work_floats(k), sizeof(float)));

	for (int it = 0; it < opt->iterations; it++)
	{
		fr_check_interrupts();
		if (opt->solver == FR_MF_SGD)
		{
			/* Fisher-Yates: a fresh seeded order every epoch */
			for (int64_t j = ui->nnz - 1; j > 0; j--)
			{
				int64_t		s = (int64_t) fr_rng_below(&rng, (uint64_t) j + 1);
				int64_t		tmp = order[j];

				order[j] = order[s];
				order[s] = tmp;
			}
			sgd_epoch(opt, ui, row_of, order, out);
		}
		else
		{
			als_half(opt, iu, out->mean, out->user_bias, out->user_factors,
					 out->item_bias, out->item_factors, work);
			als_half(opt, ui, out->mean, out->item_bias, out->item_factors,
					 out->user_bias, out->user_factors, work);
		}
		err = train_rmse(opt, ui, out);
		if (!isfinite(err))
			fr_fail(FR_FAIL_NUMERIC, "mf: the fit diverged (non-finite training error); %s",
					opt->solver == FR_MF_SGD ? "lower learning_rate" : "raise regularization");
		if (rmse)
			rmse[it] = err;
		fr_progress("mf iteration %d of %d: training rmse %.6f, %.3f s",
					it + 1, opt->iterations, err, fr_now() - start);
		fr_progress_step("mf iterations (training rmse)", it + 1, opt->iterations, err);
	}

	if (work)
		fr_free(work);
	if (order)
		fr_free(order);
	if (row_of)
		fr_free(row_of);
	return err;
}

/* order of (item, rating) pairs for merging duplicates */
typedef struct FoldEntry
{
	int32_t		item;
	float		rating;
} FoldEntry;

static int
fold_entry_cmp(const void *a, const void *b)
{
	const FoldEntry *x = a;
	const FoldEntry *y = b;

	return (x->item > y->item) - (x->item < y->item);
}

void
fr_mf_fold_in(const FrMfOptions *opt, const FrMfFactors *f,
			  const int32_t *items, const float *ratings, int n,
			  float *bias, float *x)
{
	int			k = opt->factors;
	size_t		cap = (size_t) (n > 0 ? n : 1);
	FoldEntry  *e = fr_alloc(fr_mul_size(cap, sizeof(FoldEntry)));
	int32_t    *idx = fr_alloc(fr_mul_size(cap, sizeof(int32_t)));
	float	   *val = fr_alloc(fr_mul_size(cap, sizeof(float)));
	float	   *work = fr_alloc(fr_mul_size(row_work_floats(k), sizeof(float)));
	int			m = 0;

	for (int t = 0; t < n; t++)
	{
		e[t].item = items[t];
		e[t].rating = ratings[t];
	}
	qsort(e, n, sizeof(FoldEntry), fold_entry_cmp);
	for (int t = 0; t < n; t++)
	{
		if (m > 0 && idx[m - 1] == e[t].item)
			val[m - 1] += e[t].rating;
		else
		{
			idx[m] = e[t].item;
			val[m++] = e[t].rating;
		}
	}
	solve_row(k, opt->regularization, opt->bias_regularization, f->mean, idx, val, m,
			  f->item_bias, f->item_factors, work, bias, x);

	fr_free(work);
	fr_free(val);
	fr_free(idx);
	fr_free(e);
}
