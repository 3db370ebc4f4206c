/*
 * als.c — implicit-feedback ALS kernel (see als.h).
 *
 * One half-sweep solves every row of X for fixed Y:
 *
 *     (G + Y_u^T (C_u - I) Y_u) x_u = Y_u^T C_u p_u,   G = Y^T Y + lambda I
 *
 * G is formed once per half-sweep with BLAS syrk, so a row only pays for its
 * own observed entries.  The conjugate-gradient solver advances a block of
 * ALS_BLOCK rows step by step: the dense G * p products of the block run in
 * one register-blocked loop, and the sparse corrections are dot/axpy loops
 * over each row's item vectors, four entries at a time.  These loops are
 * most of the work: they are written on 8-lane vector types and compiled
 * for AVX2+FMA as well as baseline x86-64 (simd.h).  The exact solver
 * builds each row's matrix with syrk and solves it with LAPACK.  The kernel's own loops run on the calling thread
 * in a fixed order (BLAS may use its threads), so a seed gives the same
 * factors on every run on the same machine.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "als.h"
#include "linalg.h"
#include "simd.h"

/* rows advanced together by CG: their work vectors stay in cache */
#define ALS_BLOCK 128
/* item vectors gathered at once when a Cholesky row builds its matrix */
#define ALS_CHUNK 256
/* CG stops early on a row whose squared residual falls below this */
#define ALS_CG_EPS 1e-20f

/*
 * The four lane sums of d0..d3 at once: two rounds of pairwise shuffles
 * and adds instead of four separate horizontal reductions.
 */
static inline __attribute__((always_inline)) void
v8_sum4(const v8sf *d0, const v8sf *d1, const v8sf *d2, const v8sf *d3, float *s)
{
	v8sf		e01 = V8_SHUFFLE(*d0, *d1, 0, 8, 2, 10, 4, 12, 6, 14) +
		V8_SHUFFLE(*d0, *d1, 1, 9, 3, 11, 5, 13, 7, 15);
	v8sf		e23 = V8_SHUFFLE(*d2, *d3, 0, 8, 2, 10, 4, 12, 6, 14) +
		V8_SHUFFLE(*d2, *d3, 1, 9, 3, 11, 5, 13, 7, 15);
	v8sf		f = V8_SHUFFLE(e01, e23, 0, 1, 8, 9, 4, 5, 12, 13) +
		V8_SHUFFLE(e01, e23, 2, 3, 10, 11, 6, 7, 14, 15);

	s[0] = f[0] + f[4];
	s[1] = f[1] + f[5];
	s[2] = f[2] + f[6];
	s[3] = f[3] + f[7];
}

static inline __attribute__((always_inline)) float
vdot(const float *restrict a, const float *restrict b, int k)
{
	v8sf		acc = {0};
	float		s;
	int			j = 0;

	for (; j + 8 <= k; j += 8)
		acc += v8_load(a + j) * v8_load(b + j);
	s = V8_SUM(acc);
	for (; j < k; j++)
		s += a[j] * b[j];
	return s;
}

static inline __attribute__((always_inline)) void
vaxpy(float alpha, const float *restrict x, float *restrict y, int k)
{
	int			j = 0;

	for (; j + 8 <= k; j += 8)
		v8_store(y + j, v8_load(y + j) + alpha * v8_load(x + j));
	for (; j < k; j++)
		y[j] += alpha * x[j];
}

/*
 * q += sum over a row's entries j of (a_j + sign * b_j * (y_j . p)) y_j, with
 * a NULL meaning zero: the sparse part of both the residual (a = c p,
 * b = c - 1, sign -1) and the CG product (a = 0, b = c - 1, sign +1).
 * Four entries at a time give four independent dot chains and one pass over
 * q instead of four.
 */
static inline __attribute__((always_inline)) void
row_update(int k, const float *y, const int32_t *idx, const float *a,
		   const float *b, float sign, int64_t n, const float *restrict p,
		   float *restrict q)
{
	int64_t		j = 0;

	for (; j + 4 <= n; j += 4)
	{
		const float *y0 = y + (size_t) idx[j] * k;
		const float *y1 = y + (size_t) idx[j + 1] * k;
		const float *y2 = y + (size_t) idx[j + 2] * k;
		const float *y3 = y + (size_t) idx[j + 3] * k;
		v8sf		d0 = {0},
					d1 = {0},
					d2 = {0},
					d3 = {0};
		float		sum[4],
					s0,
					s1,
					s2,
					s3;
		int			l = 0;

		for (; l + 8 <= k; l += 8)
		{
			v8sf		pv = v8_load(p + l);

			d0 += v8_load(y0 + l) * pv;
			d1 += v8_load(y1 + l) * pv;
			d2 += v8_load(y2 + l) * pv;
			d3 += v8_load(y3 + l) * pv;
		}
		v8_sum4(&d0, &d1, &d2, &d3, sum);
		s0 = sum[0];
		s1 = sum[1];
		s2 = sum[2];
		s3 = sum[3];
		for (int t = l; t < k; t++)
		{
			s0 += y0[t] * p[t];
			s1 += y1[t] * p[t];
			s2 += y2[t] * p[t];
			s3 += y3[t] * p[t];
		}
		s0 = (a ? a[j] : 0.0f) + sign * b[j] * s0;
		s1 = (a ? a[j + 1] : 0.0f) + sign * b[j + 1] * s1;
		s2 = (a ? a[j + 2] : 0.0f) + sign * b[j + 2] * s2;
		s3 = (a ? a[j + 3] : 0.0f) + sign * b[j + 3] * s3;
		for (l = 0; l + 8 <= k; l += 8)
			v8_store(q + l, v8_load(q + l) + ((s0 * v8_load(y0 + l) + s1 * v8_load(y1 + l)) +
											  (s2 * v8_load(y2 + l) + s3 * v8_load(y3 + l))));
		for (; l < k; l++)
			q[l] += (s0 * y0[l] + s1 * y1[l]) + (s2 * y2[l] + s3 * y3[l]);
	}
	for (; j < n; j++)
	{
		const float *yj = y + (size_t) idx[j] * k;

		vaxpy((a ? a[j] : 0.0f) + sign * b[j] * vdot(yj, p, k), yj, q, k);
	}
}

/*
 * Q = scale * P G for nb rows of P (G symmetric k x k): the dense part of
 * the CG products.  Written out rather than sgemm: at these sizes (128 rows
 * times a 64 x 64 gram) and with an OpenBLAS that does not recognise the CPU
 * (0.3.21 on the development machine falls back to its SSE3 kernels) sgemm
 * was a fifth of the fit time; this loop is several times faster.
 */
static inline __attribute__((always_inline)) void
gram_product(int nb, int k, float scale, const float *pm, const float *g, float *qm)
{
	for (int t = 0; t < nb; t++)
	{
		const float *p = pm + (size_t) t * k;
		float	   *q = qm + (size_t) t * k;
		int			c = 0;

		/* eight independent FMA chains hide their latency */
		for (; c + 64 <= k; c += 64)
		{
			v8sf		q0 = {0},
						q1 = {0},
						q2 = {0},
						q3 = {0},
						q4 = {0},
						q5 = {0},
						q6 = {0},
						q7 = {0};

			for (int a = 0; a < k; a++)
			{
				const float *ga = g + (size_t) a * k + c;
				float		pa = p[a];

				q0 += pa * v8_load(ga);
				q1 += pa * v8_load(ga + 8);
				q2 += pa * v8_load(ga + 16);
				q3 += pa * v8_load(ga + 24);
				q4 += pa * v8_load(ga + 32);
				q5 += pa * v8_load(ga + 40);
				q6 += pa * v8_load(ga + 48);
				q7 += pa * v8_load(ga + 56);
			}
			v8_store(q + c, scale * q0);
			v8_store(q + c + 8, scale * q1);
			v8_store(q + c + 16, scale * q2);
			v8_store(q + c + 24, scale * q3);
			v8_store(q + c + 32, scale * q4);
			v8_store(q + c + 40, scale * q5);
			v8_store(q + c + 48, scale * q6);
			v8_store(q + c + 56, scale * q7);
		}
		for (; c + 32 <= k; c += 32)
		{
			v8sf		q0 = {0},
						q1 = {0},
						q2 = {0},
						q3 = {0};

			for (int a = 0; a < k; a++)
			{
				const float *ga = g + (size_t) a * k + c;
				float		pa = p[a];

				q0 += pa * v8_load(ga);
				q1 += pa * v8_load(ga + 8);
				q2 += pa * v8_load(ga + 16);
				q3 += pa * v8_load(ga + 24);
			}
			v8_store(q + c, scale * q0);
			v8_store(q + c + 8, scale * q1);
			v8_store(q + c + 16, scale * q2);
			v8_store(q + c + 24, scale * q3);
		}
		for (; c + 8 <= k; c += 8)
		{
			v8sf		q0 = {0};

			for (int a = 0; a < k; a++)
				q0 += p[a] * v8_load(g + (size_t) a * k + c);
			v8_store(q + c, scale * q0);
		}
		for (; c < k; c++)
		{
			float		s = 0.0f;

			for (int a = 0; a < k; a++)
				s += p[a] * g[(size_t) a * k + c];
			q[c] = scale * s;
		}
	}
}

float
fr_als_confidence(const FrAlsOptions *opt, float weight)
{
	/* "!(w > 0)" also maps NaN to zero */
	double		w = weight > 0 ? weight : 0.0;

	switch (opt->confidence)
	{
		case FR_ALS_CONF_LINEAR:
			return (float) (1.0 + opt->alpha * w);
		case FR_ALS_CONF_LOG:
			return (float) (1.0 + opt->alpha * log1p(w));
		case FR_ALS_CONF_PLAIN:
			return (float) (opt->alpha * w);
	}
	fr_fail(FR_FAIL_INTERNAL, "unknown ALS confidence form %d", (int) opt->confidence);
}

/*
 * Per observed entry the solvers need c - 1 (the weight on top of the
 * all-items gram) and c * p (the right-hand side); computing them once beats
 * a log1p per entry per CG step.
 */
static void
confidence_terms(const FrAlsOptions *opt, const FrCsr *m, float *cm1, float *cp)
{
	for (int64_t j = 0; j < m->nnz; j++)
	{
		float		c = fr_als_confidence(opt, m->values[j]);

		cm1[j] = c - 1.0f;
		cp[j] = m->values[j] > 0 ? c : 0.0f;
	}
}

size_t
fr_als_workspace_bytes(const FrAlsOptions *opt, int32_t n_users, int32_t n_items,
					   int64_t nnz)
{
	size_t		k = (size_t) opt->factors;
	size_t		floats;

	/* c - 1 and c * p for ui and iu */
	floats = fr_mul_size(4, (size_t) nnz);
	/* gram, X^T X, Y^T Y, a row system */
	floats = fr_add_size(floats, fr_mul_size(4 * k + 1, k + 1));
	/* CG block (R, P, AP) or Cholesky gather buffers */
	floats = fr_add_size(floats, fr_mul_size(3 * ALS_BLOCK + 2 * ALS_CHUNK, k));
	return fr_add_size(fr_mul_size(floats, sizeof(float)), ALS_BLOCK * sizeof(float));
}

/* gram = yty + lambda I */
static void
add_ridge(int k, const float *yty, double regularization, float *gram)
{
	memcpy(gram, yty, sizeof(float) * k * k);
	for (int a = 0; a < k; a++)
		gram[(size_t) a * k + a] += (float) regularization;
}

void
fr_als_gram(int n, int factors, const float *y, double regularization, float *gram)
{
	fr_ssyrk_ata(factors, n, 1.0f, y, factors, 0.0f, gram);
	for (int a = 0; a < factors; a++)
		gram[(size_t) a * factors + a] += (float) regularization;
}

/*
 * Exact solve of one row: A = G + sum (c-1) y y^T built chunk by chunk with
 * syrk (sgemm where a c - 1 is negative) on gathered item vectors, then
 * Cholesky.  a (k*k), b (k), yc and ys (ALS_CHUNK*k) are scratch.
 */
static void
solve_row_exact(int k, const float *y, const float *gram,
				const int32_t *idx, const float *cm1, const float *cp, int64_t n,
				float *a, float *b, float *yc, float *ys, float *x)
{
	memcpy(a, gram, sizeof(float) * k * k);
	memset(b, 0, sizeof(float) * k);
	for (int64_t lo = 0; lo < n; lo += ALS_CHUNK)
	{
		int			nc = (int) (n - lo < ALS_CHUNK ? n - lo : ALS_CHUNK);

		bool		nonneg = true;

		for (int t = 0; t < nc; t++)
			nonneg &= cm1[lo + t] >= 0;
		for (int t = 0; t < nc; t++)
		{
			const float *yi = y + (size_t) idx[lo + t] * k;
			float		w = nonneg ? sqrtf(cm1[lo + t]) : cm1[lo + t];

			for (int l = 0; l < k; l++)
			{
				yc[(size_t) t * k + l] = yi[l];
				ys[(size_t) t * k + l] = w * yi[l];
			}
			vaxpy(cp[lo + t], yi, b, k);
		}
		/* syrk does half the work of gemm but needs the weights' square roots */
		if (nonneg)
			fr_ssyrk_ata(k, nc, 1.0f, ys, k, 1.0f, a);
		else
			fr_sgemm(true, false, k, k, nc, 1.0f, ys, k, yc, k, 1.0f, a, k);
	}
	if (!fr_sposv_sym(k, a, b))
		fr_fail(FR_FAIL_NUMERIC,
				"als: the least-squares system of a row is singular; use a regularization above 0");
	memcpy(x, b, sizeof(float) * k);
}

static void
solve_cholesky(int k, const FrCsr *m, const float *cm1, const float *cp,
			   const float *y, const float *gram, float *x, float *work)
{
	float	   *a = work;
	float	   *b = a + (size_t) k * k;
	float	   *yc = b + k;
	float	   *ys = yc + (size_t) ALS_CHUNK * k;

	for (int32_t r = 0; r < m->nrows; r++)
	{
		int64_t		lo = m->indptr[r],
					hi = m->indptr[r + 1];
		float	   *xr = x + (size_t) r * k;

		if ((r & 255) == 0)
			fr_check_interrupts();
		if (lo == hi)
		{
			/* no data: the regularised optimum is zero */
			memset(xr, 0, sizeof(float) * k);
			continue;
		}
		solve_row_exact(k, y, gram, m->indices + lo, cm1 + lo, cp + lo, hi - lo,
						a, b, yc, ys, xr);
	}
}

/*
 * A few conjugate-gradient steps per row, warm-started from the current x
 * (Takács et al. 2011): each step costs one G * p plus one pass over the
 * row's entries.
 */
FR_SIMD static void
solve_cg(int k, int steps, const FrCsr *m, const float *cm1, const float *cp,
		 const float *y, const float *gram, float *x, float *work)
{
	float	   *rr = work;
	float	   *pp = rr + (size_t) ALS_BLOCK * k;
	float	   *ap = pp + (size_t) ALS_BLOCK * k;
	float	   *rs = ap + (size_t) ALS_BLOCK * k;

	for (int32_t r0 = 0; r0 < m->nrows; r0 += ALS_BLOCK)
	{
		int			nb = m->nrows - r0 < ALS_BLOCK ? m->nrows - r0 : ALS_BLOCK;
		float	   *xb = x + (size_t) r0 * k;

		fr_check_interrupts();

		/* residual r = b - A x, dense part first */
		gram_product(nb, k, -1.0f, xb, gram, rr);
		for (int t = 0; t < nb; t++)
		{
			int64_t		lo = m->indptr[r0 + t],
						hi = m->indptr[r0 + t + 1];
			float	   *xr = xb + (size_t) t * k;
			float	   *r = rr + (size_t) t * k;

			if (lo == hi)
			{
				memset(xr, 0, sizeof(float) * k);
				memset(pp + (size_t) t * k, 0, sizeof(float) * k);
				rs[t] = 0.0f;
				continue;
			}
			row_update(k, y, m->indices + lo, cp + lo, cm1 + lo, -1.0f, hi - lo, xr, r);
			memcpy(pp + (size_t) t * k, r, sizeof(float) * k);
			rs[t] = vdot(r, r, k);
		}

		for (int step = 0; step < steps; step++)
		{
			gram_product(nb, k, 1.0f, pp, gram, ap);
			for (int t = 0; t < nb; t++)
			{
				int64_t		lo = m->indptr[r0 + t],
							hi = m->indptr[r0 + t + 1];
				float	   *xr = xb + (size_t) t * k;
				float	   *r = rr + (size_t) t * k;
				float	   *p = pp + (size_t) t * k;
				float	   *q = ap + (size_t) t * k;
				float		alpha,
							rsnew;

				if (!(rs[t] >= ALS_CG_EPS))
					continue;
				row_update(k, y, m->indices + lo, NULL, cm1 + lo, 1.0f, hi - lo, p, q);
				alpha = rs[t] / vdot(p, q, k);
				vaxpy(alpha, p, xr, k);
				vaxpy(-alpha, q, r, k);
				rsnew = vdot(r, r, k);
				if (rsnew >= ALS_CG_EPS)
				{
					float		beta = rsnew / rs[t];

					for (int l = 0; l < k; l++)
						p[l] = r[l] + beta * p[l];
				}
				rs[t] = rsnew;
			}
		}
	}
}

/*
 * Training loss of als.h, normalised by the total confidence of all pairs
 * as `implicit` does.  sum_u x_u^T (Y^T Y) x_u is <X^T X, Y^T Y>, so given
 * the two grams (which the sweeps need anyway) only observed entries need
 * a pass.
 */
FR_SIMD static double
als_loss(const FrAlsOptions *opt, const FrCsr *ui, const float *cm1, const float *cp,
		 const float *x, const float *y, const float *xtx, const float *yty)
{
	int			k = opt->factors;
	double		loss = 0.0,
				total_conf = 0.0,
				norms = 0.0;

	for (int a = 0; a < k * k; a++)
		loss += (double) xtx[a] * yty[a];
	for (int a = 0; a < k; a++)
		norms += (double) xtx[a * k + a] + yty[a * k + a];

	for (int32_t u = 0; u < ui->nrows; u++)
	{
		const float *xu = x + (size_t) u * k;

		if ((u & 4095) == 0)
			fr_check_interrupts();
		for (int64_t j = ui->indptr[u]; j < ui->indptr[u + 1]; j++)
		{
			double		s = vdot(xu, y + (size_t) ui->indices[j] * k, k);

			/* c (p - s)^2 replaces the s^2 the gram term counted */
			loss += cp[j] - 2.0 * cp[j] * s + cm1[j] * s * s;
			total_conf += cm1[j] + 1.0;
		}
	}
	loss += opt->regularization * norms;
	return loss / (total_conf + (double) ui->nrows * ui->ncols - (double) ui->nnz);
}

double
fr_als_fit(const FrAlsOptions *opt, const FrCsr *ui, const FrCsr *iu,
		   float *user_factors, float *item_factors, double *losses)
{
	int			k = opt->factors;
	size_t		nnz = (size_t) (ui->nnz > 0 ? ui->nnz : 1);
	float	   *ui_cm1 = fr_alloc(fr_mul_size(nnz, sizeof(float)));
	float	   *ui_cp = fr_alloc(fr_mul_size(nnz, sizeof(float)));
	float	   *iu_cm1 = fr_alloc(fr_mul_size(nnz, sizeof(float)));
	float	   *iu_cp = fr_alloc(fr_mul_size(nnz, sizeof(float)));
	float	   *gram = fr_alloc(fr_mul_size((size_t) k * k, sizeof(float)));
	float	   *xtx = fr_alloc(fr_mul_size((size_t) k * k, sizeof(float)));
	float	   *yty = fr_alloc(fr_mul_size((size_t) k * k, sizeof(float)));
	float	   *work;
	size_t		work_floats;
	FrRng		rng;
	double		loss = 0.0;
	double		start = fr_now();

	if (k < 1 || opt->iterations < 0 || ui->nrows != iu->ncols || ui->ncols != iu->nrows)
		fr_fail(FR_FAIL_INTERNAL, "fr_als_fit: inconsistent arguments");

	if (opt->solver == FR_ALS_CG)
		work_floats = (size_t) 3 * ALS_BLOCK * k + ALS_BLOCK;
	else
		work_floats = (size_t) k * k + k + (size_t) 2 * ALS_CHUNK * k;
	work = fr_alloc(fr_mul_size(work_floats, sizeof(float)));

	confidence_terms(opt, ui, ui_cm1, ui_cp);
	confidence_terms(opt, iu, iu_cm1, iu_cp);

	/*
	 * Small random start as in `implicit`, but centred: the first sweep then
	 * does not favour one orthant.
	 */
	fr_rng_seed(&rng, opt->seed);
	for (size_t a = 0; a < (size_t) ui->nrows * k; a++)
		user_factors[a] = (float) (0.01 * fr_rng_normal(&rng));
	for (size_t a = 0; a < (size_t) ui->ncols * k; a++)
		item_factors[a] = (float) (0.01 * fr_rng_normal(&rng));

	/* X^T X of the start; afterwards each sweep leaves the grams it made */
	fr_ssyrk_ata(k, ui->nrows, 1.0f, user_factors, k, 0.0f, xtx);
	for (int it = 0; it < opt->iterations; it++)
	{
		fr_check_interrupts();

		add_ridge(k, xtx, opt->regularization, gram);
		if (opt->solver == FR_ALS_CG)
			solve_cg(k, opt->cg_steps, iu, iu_cm1, iu_cp, user_factors, gram,
					 item_factors, work);
		else
			solve_cholesky(k, iu, iu_cm1, iu_cp, user_factors, gram,
						   item_factors, work);

		fr_ssyrk_ata(k, ui->ncols, 1.0f, item_factors, k, 0.0f, yty);
		add_ridge(k, yty, opt->regularization, gram);
		if (opt->solver == FR_ALS_CG)
			solve_cg(k, opt->cg_steps, ui, ui_cm1, ui_cp, item_factors, gram,
					 user_factors, work);
		else
			solve_cholesky(k, ui, ui_cm1, ui_cp, item_factors, gram,
						   user_factors, work);

		fr_ssyrk_ata(k, ui->nrows, 1.0f, user_factors, k, 0.0f, xtx);
		loss = als_loss(opt, ui, ui_cm1, ui_cp, user_factors, item_factors, xtx, yty);
		if (!isfinite(loss))
			fr_fail(FR_FAIL_NUMERIC,
					"als: the fit diverged (non-finite loss); raise regularization");
		if (losses)
			losses[it] = loss;
		fr_progress("als iteration %d of %d: loss %.6f, %.3f s",
					it + 1, opt->iterations, loss, fr_now() - start);
		fr_progress_step("als iterations", it + 1, opt->iterations, loss);
	}

	fr_free(work);
	fr_free(yty);
	fr_free(xtx);
	fr_free(gram);
	fr_free(iu_cp);
	fr_free(iu_cm1);
	fr_free(ui_cp);
	fr_free(ui_cm1);
	return loss;
}

/* order of (item, weight) pairs for merging duplicates */
typedef struct FoldEntry
{
	int32_t		item;
	float		weight;
} FoldEntry;

static int
fold_entry_cmp(const void *a, const void *b)
{
	const FoldEntry *x = a;
	const FoldEntry *y = b;

	return (x->item > y->item) - (x->item < y->item);
}

void
fr_als_fold_in(const FrAlsOptions *opt, const float *item_factors,
			   const float *gram, const int32_t *items,
			   const float *weights, int n, float *x)
{
	int			k = opt->factors;
	FoldEntry  *e = fr_alloc(fr_mul_size((size_t) (n > 0 ? n : 1), sizeof(FoldEntry)));
	int32_t    *idx = fr_alloc(fr_mul_size((size_t) (n > 0 ? n : 1), sizeof(int32_t)));
	float	   *cm1 = fr_alloc(fr_mul_size((size_t) (n > 0 ? n : 1), sizeof(float)));
	float	   *cp = fr_alloc(fr_mul_size((size_t) (n > 0 ? n : 1), sizeof(float)));
	float	   *work = fr_alloc(fr_mul_size((size_t) k * k + k + (size_t) 2 * ALS_CHUNK * k,
											sizeof(float)));
	int			m = 0;

	for (int t = 0; t < n; t++)
	{
		e[t].item = items[t];
		e[t].weight = weights ? weights[t] : 1.0f;
	}
	qsort(e, n, sizeof(FoldEntry), fold_entry_cmp);
	/* duplicates are summed before the confidence, as fr_csr_from_coo does */
	for (int t = 0; t < n; t++)
	{
		if (m > 0 && idx[m - 1] == e[t].item)
			cm1[m - 1] += e[t].weight;
		else
		{
			idx[m] = e[t].item;
			cm1[m++] = e[t].weight;
		}
	}
	for (int t = 0; t < m; t++)
	{
		float		w = cm1[t];
		float		c = fr_als_confidence(opt, w);

		cm1[t] = c - 1.0f;
		cp[t] = w > 0 ? c : 0.0f;
	}

	if (m == 0)
		memset(x, 0, sizeof(float) * k);
	else
		solve_row_exact(k, item_factors, gram, idx, cm1, cp, m,
						work, work + (size_t) k * k, work + (size_t) k * k + k,
						work + (size_t) k * k + k + (size_t) ALS_CHUNK * k, x);

	fr_free(work);
	fr_free(cp);
	fr_free(cm1);
	fr_free(idx);
	fr_free(e);
}
