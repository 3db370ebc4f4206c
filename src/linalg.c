/*
 * linalg.c — the one door to OpenBLAS and LAPACKE (see linalg.h).
 *
 * A PostgreSQL backend is single-threaded and ereport() longjmps, so no
 * PostgreSQL call may happen on a BLAS thread: nothing here calls back into
 * the server, and failures are raised with fr_fail() after BLAS returned, on
 * the backend's own thread.
 */
#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "kernel.h"
#include "linalg.h"
#include "simd.h"

/* Not in every cblas.h (the reference one lacks them); OpenBLAS exports them. */
extern void openblas_set_num_threads(int num_threads);
extern int	openblas_get_num_threads(void);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

static int	blas_threads = 0;	/* 0: not set yet, OpenBLAS uses all cores */

void
fr_linalg_set_threads(int threads)
{
	if (threads < 1)
		threads = 1;
	if (threads != blas_threads)
	{
		openblas_set_num_threads(threads);
		blas_threads = threads;
	}
}

int
fr_linalg_threads(void)
{
	return blas_threads;
}

/* OpenBLAS cores whose kernels use AVX2 and FMA (its names, any case) */
static const char *const avx2_cores[] = {
	"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", NULL
};

void
fr_blas_core(FrBlasCore *out)
{
	bool		fits = false;
	FrCpuFeatures cpu;

	memset(out, 0, sizeof(*out));
	out->core = openblas_get_corename();
	out->config = openblas_get_config();
	out->threads = openblas_get_num_threads();
	cpu = fr_cpu_features();
	out->avx2 = cpu.avx2;
	out->fma = cpu.fma;
	out->avx512f = cpu.avx512f;
	for (int i = 0; avx2_cores[i] && out->core; i++)
		if (strcasecmp(out->core, avx2_cores[i]) == 0)
			fits = true;
	if (out->avx2 && out->fma && !fits)
		out->better = out->avx512f ? "SkylakeX" : "Haswell";
}

double
fr_blas_probe(double seconds)
{
	const int	n = 512;
	float	   *a = fr_alloc(sizeof(float) * n * n);
	float	   *b = fr_alloc(sizeof(float) * n * n);
	float	   *c = fr_alloc(sizeof(float) * n * n);
	double		started,
				elapsed;
	long		reps = 0;

	for (long i = 0; i < (long) n * n; i++)
	{
		a[i] = (float) (i % 7) * 0.1f;
		b[i] = (float) (i % 5) * 0.1f;
	}
	/* one product first: OpenBLAS sets up its buffers on the first call */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
	started = fr_now();
	do
	{
		fr_check_interrupts();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		reps++;
		elapsed = fr_now() - started;
	} while (elapsed < seconds);
	fr_free(a);
	fr_free(b);
	fr_free(c);
	return 2.0 * n * n * (double) n * reps / elapsed / 1e9;
}

static void
check_dims(const char *what, long m, long n)
{
	if (m < 0 || n < 0 || m > INT_MAX || n > INT_MAX)
		fr_fail(FR_FAIL_LIMIT, "%s: dimension %ld x %ld out of range", what, m, n);
}

static void
check_lapack(const char *what, lapack_int info)
{
	if (info < 0)
		fr_fail(FR_FAIL_INTERNAL, "%s: argument %d had an illegal value", what, (int) -info);
	if (info > 0)
		fr_fail(FR_FAIL_NUMERIC, "%s failed to converge or found a singular matrix (info %d)",
				what, (int) info);
}

void
fr_sgemm(bool trans_a, bool trans_b, int m, int n, int k,
		 float alpha, const float *a, int lda,
		 const float *b, int ldb, float beta, float *c, int ldc)
{
	check_dims("sgemm", m, n);
	if (m == 0 || n == 0)
		return;
	cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
				trans_b ? CblasTrans : CblasNoTrans,
				m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/*
 * y = A x for row-major A with short rows — scoring a catalog against one
 * user vector, the serving hot path.  OpenBLAS builds that do not know the
 * CPU fall back to SSE kernels that are compute-bound here; eight-lane
 * vectors compiled for x86-64-v3 (AVX2 + FMA, chosen at load time, with a
 * baseline copy) keep the scan at memory speed.  Four rows at a time share
 * each load of x; each row's sum is formed in a fixed order, so the result
 * does not depend on the machine's clone.
 */
FR_SIMD
static void
matvec_rows(int m, int n, const float *a, int lda, const float *x, float *y)
{
	int			n8 = n & ~7;
	int			i = 0;

	for (; i + 4 <= m; i += 4)
	{
		const float *r0 = a + (size_t) i * lda;
		const float *r1 = r0 + lda;
		const float *r2 = r1 + lda;
		const float *r3 = r2 + lda;
		v8sf		s0 = {0},
					s1 = {0},
					s2 = {0},
					s3 = {0};
		float		t0,
					t1,
					t2,
					t3;

		for (int j = 0; j < n8; j += 8)
		{
			v8sf		xv = v8_load(x + j);

			s0 += v8_load(r0 + j) * xv;
			s1 += v8_load(r1 + j) * xv;
			s2 += v8_load(r2 + j) * xv;
			s3 += v8_load(r3 + j) * xv;
		}
		t0 = V8_SUM(s0);
		t1 = V8_SUM(s1);
		t2 = V8_SUM(s2);
		t3 = V8_SUM(s3);
		for (int j = n8; j < n; j++)
		{
			t0 += r0[j] * x[j];
			t1 += r1[j] * x[j];
			t2 += r2[j] * x[j];
			t3 += r3[j] * x[j];
		}
		y[i] = t0;
		y[i + 1] = t1;
		y[i + 2] = t2;
		y[i + 3] = t3;
	}
	for (; i < m; i++)
	{
		const float *r = a + (size_t) i * lda;
		v8sf		s = {0};
		float		t;

		for (int j = 0; j < n8; j += 8)
			s += v8_load(r + j) * v8_load(x + j);
		t = V8_SUM(s);
		for (int j = n8; j < n; j++)
			t += r[j] * x[j];
		y[i] = t;
	}
}

void
fr_sgemv(bool trans, int m, int n, float alpha, const float *a,
		 int lda, const float *x, float beta, float *y)
{
	if (m == 0 || n == 0)
		return;
	if (!trans && alpha == 1.0f && beta == 0.0f && n <= 1024)
	{
		matvec_rows(m, n, a, lda, x, y);
		return;
	}
	cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans,
				m, n, alpha, a, lda, x, 1, beta, y, 1);
}

void
fr_ssyrk_ata(int n, int k, float alpha, const float *a, int lda,
			 float beta, float *c)
{
	if (n == 0)
		return;
	/* upper triangle of C = A^T A, then mirrored so callers see a full matrix */
	cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, alpha, a, lda, beta, c, n);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			c[(long) i * n + j] = c[(long) j * n + i];
}

float
fr_sdot(int n, const float *x, const float *y)
{
	return cblas_sdot(n, x, 1, y, 1);
}

void
fr_saxpy(int n, float alpha, const float *x, float *y)
{
	cblas_saxpy(n, alpha, x, 1, y, 1);
}

float
fr_snrm2(int n, const float *x)
{
	return cblas_snrm2(n, x, 1);
}

bool
fr_sposv(int n, int nrhs, float *a, float *b)
{
	lapack_int	info = LAPACKE_sposv(LAPACK_ROW_MAJOR, 'U', n, nrhs, a, n, b, nrhs);

	if (info < 0)
		check_lapack("sposv", info);
	return info == 0;
}

bool
fr_sposv_sym(int n, float *a, float *b)
{
	/* symmetric: the row-major matrix is its column-major self */
	lapack_int	info = LAPACKE_sposv_work(LAPACK_COL_MAJOR, 'L', n, 1, a, n, b, n);

	if (info < 0)
		check_lapack("sposv", info);
	return info == 0;
}

bool
fr_dposv(int n, int nrhs, double *a, double *b)
{
	lapack_int	info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', n, nrhs, a, n, b, nrhs);

	if (info < 0)
		check_lapack("dposv", info);
	return info == 0;
}

/*
 * Inverse of a symmetric positive definite matrix, blocked so that a cancel
 * is seen between blocks: one spotrf + spotri call on an 8000 x 8000 matrix
 * runs for a minute with no way to stop it.  The three steps are LAPACK's
 * own blocked algorithms (spotrf, strtri, slauum, lower, column-major — the
 * row-major upper triangle given), spelled out over BLAS 3 calls of at most
 * n^2 * SPD_NB / 2 flops each (8000 items: 0.2 s on one core), with
 * fr_check_interrupts() between them.  Same flop count as spotrf + spotri,
 * and no transposed copy of the matrix (LAPACKE's row-major path makes one,
 * outside fashionrec.max_memory).
 */
#define SPD_NB 64
#define A_(r, c) (a + (size_t) (r) + (size_t) (c) * n)

void
fr_spd_inverse(int n, float *a)
{
	lapack_int	info;

	/* Cholesky: A = L L^T, right-looking */
	for (int k = 0; k < n; k += SPD_NB)
	{
		int			b = n - k < SPD_NB ? n - k : SPD_NB;

		fr_check_interrupts();
		info = LAPACKE_spotrf_work(LAPACK_COL_MAJOR, 'L', b, A_(k, k), n);
		if (info > 0)
			info += k;
		check_lapack("spotrf", info);
		if (k + b == n)
			break;
		cblas_strsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit,
					n - k - b, b, 1.0f, A_(k, k), n, A_(k + b, k), n);
		for (int j = k + b; j < n; j += SPD_NB)
		{
			int			bj = n - j < SPD_NB ? n - j : SPD_NB;

			fr_check_interrupts();
			cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, bj, b,
						-1.0f, A_(j, k), n, 1.0f, A_(j, j), n);
			if (j + bj < n)
				cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, n - j - bj, bj, b,
							-1.0f, A_(j + bj, k), n, A_(j, k), n, 1.0f, A_(j + bj, j), n);
		}
	}

	/* L^-1 in place (strtri), last block column first */
	for (int j = ((n - 1) / SPD_NB) * SPD_NB; j >= 0; j -= SPD_NB)
	{
		int			jb = n - j < SPD_NB ? n - j : SPD_NB;
		int			m = n - j - jb;

		if (m > 0)
		{
			/* L22^-1 L21, a few columns per call: each costs m^2 per column */
			for (int c = 0; c < jb; c += 16)
			{
				fr_check_interrupts();
				cblas_strmm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
							m, jb - c < 16 ? jb - c : 16, 1.0f, A_(j + jb, j + jb), n,
							A_(j + jb, j + c), n);
			}
			cblas_strsm(CblasColMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit,
						m, jb, -1.0f, A_(j, j), n, A_(j + jb, j), n);
		}
		check_lapack("strtri", LAPACKE_strtri_work(LAPACK_COL_MAJOR, 'L', 'N', jb, A_(j, j), n));
	}

	/* A^-1 = L^-T L^-1 (slauum) */
	for (int i = 0; i < n; i += SPD_NB)
	{
		int			ib = n - i < SPD_NB ? n - i : SPD_NB;

		fr_check_interrupts();
		cblas_strmm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit,
					ib, i, 1.0f, A_(i, i), n, A_(i, 0), n);
		check_lapack("slauum", LAPACKE_slauum_work(LAPACK_COL_MAJOR, 'L', ib, A_(i, i), n));
		if (i + ib < n)
		{
			cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, ib, i, n - i - ib,
						1.0f, A_(i + ib, i), n, A_(i + ib, 0), n, 1.0f, A_(i, 0), n);
			cblas_ssyrk(CblasColMajor, CblasLower, CblasTrans, ib, n - i - ib,
						1.0f, A_(i + ib, i), n, 1.0f, A_(i, i), n);
		}
	}

	/* the column-major lower triangle is the row-major upper one: mirror it */
	for (long i = 0; i < n; i++)
		for (long j = 0; j < i; j++)
			a[i * n + j] = a[j * n + i];
}
#undef A_

void
fr_dspd_inverse(int n, double *a)
{
	check_lapack("dpotrf", LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', n, a, n));
	check_lapack("dpotri", LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', n, a, n));
	for (long i = 0; i < n; i++)
		for (long j = 0; j < i; j++)
			a[i * n + j] = a[j * n + i];
}

void
fr_sorthonormalize(int m, int n, float *a)
{
	float	   *tau;

	if (n > m)
		fr_fail(FR_FAIL_INTERNAL, "orthonormalize: %d columns exceed %d rows", n, m);
	if (n == 0)
		return;
	tau = fr_alloc(fr_mul_size(n, sizeof(float)));
	check_lapack("sgeqrf", LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, m, n, a, n, tau));
	check_lapack("sorgqr", LAPACKE_sorgqr(LAPACK_ROW_MAJOR, m, n, n, a, n, tau));
	fr_free(tau);
}

void
fr_ssyevd(int n, float *a, float *w)
{
	check_lapack("ssyevd", LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', 'U', n, a, n, w));
}

void
fr_sgesdd(int m, int n, float *a, float *s, float *u, float *vt)
{
	int			r = m < n ? m : n;

	check_dims("sgesdd", m, n);
	check_lapack("sgesdd", LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', m, n, a, n,
										  s, u, r, vt, n));
}
