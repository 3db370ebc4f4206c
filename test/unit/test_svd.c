/*
 * test_svd.c — randomized SVD recovers a planted low-rank matrix.
 *
 * X = A diag(s) C^T with orthonormal A (users) and C (items) and known
 * singular values; the kernel must return those singular values, item
 * factors spanning C, and X V V^T = X.  A noisy sparse variant checks the
 * leading factors against a dense SVD of the same matrix.
 */
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "svd.h"
#include "tap.h"

#define M 120
#define N 70
#define R 4

static const double S_TRUE[R] = {40.0, 17.0, 6.0, 2.5};

/* Gram-Schmidt on random columns: rows x cols, orthonormal columns */
static void
random_orthonormal(FrRng *rng, int rows, int cols, double *a)
{
	for (int c = 0; c < cols; c++)
	{
		for (int r = 0; r < rows; r++)
			a[r * cols + c] = fr_rng_normal(rng);
		for (int pass = 0; pass < 2; pass++)
			for (int d = 0; d < c; d++)
			{
				double		dot = 0;

				for (int r = 0; r < rows; r++)
					dot += a[r * cols + c] * a[r * cols + d];
				for (int r = 0; r < rows; r++)
					a[r * cols + c] -= dot * a[r * cols + d];
			}
		{
			double		norm = 0;

			for (int r = 0; r < rows; r++)
				norm += a[r * cols + c] * a[r * cols + c];
			norm = sqrt(norm);
			for (int r = 0; r < rows; r++)
				a[r * cols + c] /= norm;
		}
	}
}

static void
csr_free(FrCsr *m)
{
	fr_free(m->indptr);
	fr_free(m->indices);
	fr_free(m->values);
}

static void
dense_to_csr(const double *x, int rows, int cols, FrCsr *ui, FrCsr *iu)
{
	int32_t    *ri = malloc(sizeof(int32_t) * rows * cols);
	int32_t    *ci = malloc(sizeof(int32_t) * rows * cols);
	float	   *v = malloc(sizeof(float) * rows * cols);
	int			n = 0;

	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			if (x[r * cols + c] != 0)
			{
				ri[n] = r;
				ci[n] = c;
				v[n++] = (float) x[r * cols + c];
			}
	fr_csr_from_coo(ui, rows, cols, n, ri, ci, v, NULL, NULL);
	fr_csr_transpose(ui, iu);
	free(ri);
	free(ci);
	free(v);
}

/* ||X - X V V^T||_F / ||X||_F for dense X (rows x cols), V (cols x k) */
static double
residual(const double *x, int rows, int cols, const float *v, int k)
{
	double		num = 0,
				den = 0;
	double	   *p = malloc(sizeof(double) * k);

	for (int r = 0; r < rows; r++)
	{
		const double *xr = x + r * cols;

		for (int f = 0; f < k; f++)
		{
			p[f] = 0;
			for (int c = 0; c < cols; c++)
				p[f] += xr[c] * v[c * k + f];
		}
		for (int c = 0; c < cols; c++)
		{
			double		y = 0;

			for (int f = 0; f < k; f++)
				y += p[f] * v[c * k + f];
			num += (xr[c] - y) * (xr[c] - y);
			den += xr[c] * xr[c];
		}
	}
	free(p);
	return sqrt(num / den);
}

int
main(void)
{
	FrRng		rng;
	double	   *a = malloc(sizeof(double) * M * R);
	double	   *c = malloc(sizeof(double) * N * R);
	double	   *x = calloc(M * N, sizeof(double));
	FrCsr		ui,
				iu;
	FrSvdOptions opt = {R, 6, 2, 42};
	float		v[N * (R + 2)];
	float		s[R + 2];
	double		captured;
	double		err;

	fr_rng_seed(&rng, 1234);
	random_orthonormal(&rng, M, R, a);
	random_orthonormal(&rng, N, R, c);
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++)
			for (int f = 0; f < R; f++)
				x[i * N + j] += a[i * R + f] * S_TRUE[f] * c[j * R + f];
	dense_to_csr(x, M, N, &ui, &iu);

	/* exact rank: everything is recovered */
	ok(fr_svd_rank(M, N, &opt) == R, "rank is the requested factors");
	captured = fr_svd_fit(&ui, &iu, &opt, v, s);
	err = 0;
	for (int f = 0; f < R; f++)
		err = fmax(err, fabs(s[f] - S_TRUE[f]) / S_TRUE[f]);
	ok(err < 1e-4, "singular values 40, 17, 6, 2.5 recovered (max rel error %g; got %g %g %g %g)",
	   err, s[0], s[1], s[2], s[3]);
	ok_near(captured, 1.0, 1e-4, "all the energy captured");
	err = residual(x, M, N, v, R);
	ok(err < 1e-4, "X V V^T reconstructs X (relative residual %g)", err);

	/* V has orthonormal columns aligned with the planted ones (up to sign) */
	err = 0;
	for (int f = 0; f < R; f++)
	{
		double		dot = 0;

		for (int j = 0; j < N; j++)
			dot += v[j * R + f] * c[j * R + f];
		err = fmax(err, fabs(fabs(dot) - 1.0));
	}
	ok(err < 1e-4, "each factor matches a planted item direction (|cos| - 1 = %g)", err);

	/* fewer factors: the best rank-2 approximation leaves the tail energy */
	{
		FrSvdOptions o2 = {2, 4, 3, 7};
		double		tail = (S_TRUE[2] * S_TRUE[2] + S_TRUE[3] * S_TRUE[3]);
		double		total = 0;

		for (int f = 0; f < R; f++)
			total += S_TRUE[f] * S_TRUE[f];
		captured = fr_svd_fit(&ui, &iu, &o2, v, s);
		ok_near(captured, 1.0 - tail / total, 1e-4, "rank 2 captures (40^2 + 17^2) / total");
		ok_near(residual(x, M, N, v, 2), sqrt(tail / total), 1e-4, "rank 2 residual is the optimal one");
	}

	/* more factors than the smaller side: clamped */
	{
		FrSvdOptions big = {500, 10, 1, 1};

		ok(fr_svd_rank(M, N, &big) == N, "factors clamp to min(users, items) = %d", N);
	}

	/* fold-in of one history equals x V V^T computed by hand */
	{
		int32_t		items[] = {3, 10, 11};
		float		w[] = {1.0f, 0.5f, 2.0f};
		float		scores[N];
		double		e = 0;

		fr_svd_fit(&ui, &iu, &opt, v, s);
		fr_svd_score_items(v, N, R, items, w, 3, scores);
		for (int j = 0; j < N; j++)
		{
			double		want = 0;

			for (int f = 0; f < R; f++)
			{
				double		p = 0;

				for (int t = 0; t < 3; t++)
					p += w[t] * v[items[t] * R + f];
				want += p * v[j * R + f];
			}
			e = fmax(e, fabs(scores[j] - want));
		}
		ok(e < 1e-5, "fold-in scores are x V V^T (max error %g)", e);
	}

	/* sparse noisy matrix: leading singular values agree with a dense SVD */
	{
		double	   *y = calloc(M * N, sizeof(double));
		float	   *yd = malloc(sizeof(float) * M * N);
		float		sd[N],
					ud[M * N],
					vt[N * N];
		FrCsr		yu,
					yi;
		FrSvdOptions o3 = {5, 10, 4, 99};

		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++)
				if (fr_rng_uniform(&rng) < 0.15 + 0.5 * ((i % 3) == (j % 3)))
					y[i * N + j] = 1.0;
		for (int i = 0; i < M * N; i++)
			yd[i] = (float) y[i];
		fr_sgesdd(M, N, yd, sd, ud, vt);
		dense_to_csr(y, M, N, &yu, &yi);
		fr_svd_fit(&yu, &yi, &o3, v, s);
		err = 0;
		for (int f = 0; f < 3; f++)
			err = fmax(err, fabs(s[f] - sd[f]) / sd[f]);
		ok(err < 1e-4, "binary block matrix: the 3 block singular values match dense gesdd (max rel error %g)", err);

		/*
		 * The next ones are noise with tiny gaps, where a randomized method
		 * converges slowly; it can only underestimate them (the singular
		 * values of Q^T X are bounded by those of X).
		 */
		{
			bool		bounded = true;

			for (int f = 3; f < 5; f++)
				bounded = bounded && s[f] <= sd[f] * (1 + 1e-5) && s[f] >= sd[f] * 0.99;
			ok(bounded, "noise singular values 4, 5 within 1%% below dense gesdd (%g <= %g, %g <= %g)",
			   s[3], sd[3], s[4], sd[4]);
		}
		free(y);
		free(yd);
		csr_free(&yu);
		csr_free(&yi);
	}

	free(a);
	free(c);
	free(x);
	csr_free(&ui);
	csr_free(&iu);
	return done_testing();
}
