/*
 * svd.c — randomized truncated SVD of a sparse matrix (see svd.h).
 *
 * Range finder: Q = orth(X W) for a Gaussian W with k + oversampling
 * columns, refined by power (subspace) iterations Q = orth(X orth(X^T Q)),
 * re-orthonormalised at every step so small singular values survive float
 * arithmetic.  Then C = X^T Q (items x l) is small enough for a dense SVD,
 * C = U' S W'^T, and X ~ Q W' S U'^T: the right singular vectors of X are
 * the columns of U'.  Only products of X with tall dense blocks are needed,
 * O(nnz * l) each, computed here from the CSR rows.
 */
#include <math.h>
#include <string.h>

#include "linalg.h"
#include "svd.h"

int32_t
fr_svd_rank(int32_t n_users, int32_t n_items, const FrSvdOptions *opt)
{
	int32_t		small = n_users < n_items ? n_users : n_items;

	return opt->factors < small ? opt->factors : small;
}

/* columns of the random sketch: k + oversampling, at most the smaller side */
static int32_t
sketch_width(int32_t n_users, int32_t n_items, const FrSvdOptions *opt)
{
	int32_t		small = n_users < n_items ? n_users : n_items;
	int64_t		l = (int64_t) fr_svd_rank(n_users, n_items, opt) + opt->oversampling;

	return l < small ? (int32_t) l : small;
}

size_t
fr_svd_memory(int32_t n_users, int32_t n_items, const FrSvdOptions *opt)
{
	size_t		l = (size_t) sketch_width(n_users, n_items, opt);
	size_t		big = (size_t) (n_users > n_items ? n_users : n_items);
	size_t		bytes;

	/* user block, item block, SVD's U' and W'^T, and LAPACK's workspace */
	bytes = fr_mul_size(fr_mul_size(l, big), 3 * sizeof(float));
	bytes = fr_add_size(bytes, fr_mul_size(fr_mul_size(l, (size_t) n_items), 2 * sizeof(float)));
	bytes = fr_add_size(bytes, fr_mul_size(fr_mul_size(l, l), 5 * sizeof(float)));
	return bytes;
}

void
fr_svd_project(const FrCsr *a, const float *v, int32_t k, float *out)
{
	memset(out, 0, fr_mul_size(fr_mul_size((size_t) a->nrows, (size_t) k), sizeof(float)));
	for (int32_t r = 0; r < a->nrows; r++)
	{
		float	   *dst = out + (size_t) r * k;

		if ((r & 4095) == 0)
			fr_check_interrupts();
		/* BLAS's axpy is vectorised, PGXS's -O2 loop would not be */
		for (int64_t p = a->indptr[r]; p < a->indptr[r + 1]; p++)
			fr_saxpy(k, a->values[p], v + (size_t) a->indices[p] * k, dst);
	}
}

static double
frobenius2(const float *a, size_t n)
{
	double		s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double) a[i] * a[i];
	return s;
}

double
fr_svd_fit(const FrCsr *ui, const FrCsr *iu, const FrSvdOptions *opt,
		   float *item_factors, float *singular_values)
{
	int32_t		m = ui->nrows;
	int32_t		n = ui->ncols;
	int32_t		k = fr_svd_rank(m, n, opt);
	int32_t		l = sketch_width(m, n, opt);
	float	   *q;				/* m x l: range of X */
	float	   *z;				/* n x l: range of X^T */
	float	   *s;
	float	   *u;
	float	   *wt;
	double		total = 0;
	double		captured = 0;
	double		started = fr_now();
	FrRng		rng;

	if (k <= 0 || l <= 0)
		return 0.0;
	for (int64_t p = 0; p < ui->nnz; p++)
		total += (double) ui->values[p] * ui->values[p];

	q = fr_alloc(fr_mul_size(fr_mul_size((size_t) m, (size_t) l), sizeof(float)));
	z = fr_alloc(fr_mul_size(fr_mul_size((size_t) n, (size_t) l), sizeof(float)));

	fr_rng_seed(&rng, opt->seed);
	for (size_t i = 0; i < (size_t) n * l; i++)
		z[i] = (float) fr_rng_normal(&rng);

	fr_svd_project(ui, z, l, q);	/* Y = X W */
	fr_sorthonormalize(m, l, q);
	for (int it = 0; it < opt->power_iterations; it++)
	{
		fr_check_interrupts();
		fr_svd_project(iu, q, l, z);	/* X^T Q */
		/* ||Q^T X||_F^2 / ||X||_F^2: how much of X the subspace holds */
		captured = frobenius2(z, (size_t) n * l);
		fr_progress("svd: power iteration %d of %d, the %d-dimensional sketch holds %.6f of the energy, %.1f s",
					it + 1, opt->power_iterations, l,
					total > 0 ? captured / total : 0.0, fr_now() - started);
		fr_progress_step("svd power iterations", it + 1, opt->power_iterations, NAN);
		fr_sorthonormalize(n, l, z);
		fr_svd_project(ui, z, l, q);	/* X Z */
		fr_sorthonormalize(m, l, q);
	}
	fr_check_interrupts();

	/* C = X^T Q (n x l) = U' S W'^T */
	fr_svd_project(iu, q, l, z);
	fr_free(q);
	s = fr_alloc(fr_mul_size((size_t) l, sizeof(float)));
	u = fr_alloc(fr_mul_size(fr_mul_size((size_t) n, (size_t) l), sizeof(float)));
	wt = fr_alloc(fr_mul_size(fr_mul_size((size_t) l, (size_t) l), sizeof(float)));
	fr_sgesdd(n, l, z, s, u, wt);
	fr_free(z);
	fr_free(wt);

	captured = 0;
	for (int32_t c = 0; c < k; c++)
	{
		singular_values[c] = s[c];
		captured += (double) s[c] * s[c];
	}
	for (int32_t i = 0; i < n; i++)
		memcpy(item_factors + (size_t) i * k, u + (size_t) i * l, sizeof(float) * k);
	fr_free(u);
	fr_free(s);

	fr_progress("svd: %d factors of a %d x %d matrix, captured %.6f of the energy, %.1f s",
				k, m, n, total > 0 ? captured / total : 0.0, fr_now() - started);
	return total > 0 ? captured / total : 0.0;
}

void
fr_svd_score_items(const float *v, int32_t n_items, int32_t k,
				   const int32_t *items, const float *weights, int n,
				   float *scores)
{
	float	   *p = fr_alloc(fr_mul_size((size_t) k + 1, sizeof(float)));

	for (int t = 0; t < n; t++)
		fr_saxpy(k, weights ? weights[t] : 1.0f, v + (size_t) items[t] * k, p);
	fr_sgemv(false, n_items, k, 1.0f, v, k, p, 0.0f, scores);
	fr_free(p);
}
