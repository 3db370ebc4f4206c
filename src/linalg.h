/*
 * linalg.h — the one door to BLAS and LAPACK.
 *
 * Every call into OpenBLAS/LAPACKE in fashionrec goes through here, so the
 * thread policy, dimension checks and the mapping of LAPACK's info codes to
 * errors live in one place.  Matrices are row-major float32 unless a name
 * says otherwise; "ld" arguments are leading dimensions as in CBLAS.
 *
 * No PostgreSQL headers: kernels call these and stay testable alone.
 * Failures go through fr_fail() (kernel.h).
 */
#ifndef FR_LINALG_H
#define FR_LINALG_H

#include <stdbool.h>
#include <stdint.h>

/* Threads OpenBLAS may use for the next calls (GUC fashionrec.blas_threads). */
extern void fr_linalg_set_threads(int threads);
extern int	fr_linalg_threads(void);

/*
 * Which kernel OpenBLAS runs and whether it fits the CPU.  Debian 12's
 * OpenBLAS 0.3.21 does not recognise some current CPUs and falls back to a
 * generic SSE kernel, 4-6x slower on every GEMM; OPENBLAS_CORETYPE in the
 * server's environment overrides its choice.
 */
typedef struct FrBlasCore
{
	const char *core;			/* openblas_get_corename() */
	const char *config;			/* openblas_get_config(): version and build */
	int			threads;		/* openblas_get_num_threads() */
	bool		avx2;			/* what the CPU supports */
	bool		fma;
	bool		avx512f;
	const char *better;			/* the OPENBLAS_CORETYPE to set, or NULL when the kernel fits */
} FrBlasCore;

extern void fr_blas_core(FrBlasCore *out);
/* single-precision GEMM GFLOP/s measured for about `seconds` */
extern double fr_blas_probe(double seconds);

/* C = alpha * op(A) * op(B) + beta * C, row-major. */
extern void fr_sgemm(bool trans_a, bool trans_b, int m, int n, int k,
					 float alpha, const float *a, int lda,
					 const float *b, int ldb, float beta, float *c, int ldc);

/* y = alpha * op(A) * x + beta * y, A is m x n row-major. */
extern void fr_sgemv(bool trans, int m, int n, float alpha, const float *a,
					 int lda, const float *x, float beta, float *y);

/* C (n x n, full matrix written) = alpha * A^T A + beta * C, A is k x n. */
extern void fr_ssyrk_ata(int n, int k, float alpha, const float *a, int lda,
						 float beta, float *c);

extern float fr_sdot(int n, const float *x, const float *y);
extern void fr_saxpy(int n, float alpha, const float *x, float *y);
extern float fr_snrm2(int n, const float *x);

/*
 * Solve A x = b for symmetric positive definite A (n x n, overwritten by its
 * Cholesky factor), b overwritten by x; nrhs right-hand sides, row-major.
 * Returns false when A is not positive definite (caller decides).
 */
extern bool fr_sposv(int n, int nrhs, float *a, float *b);
extern bool fr_dposv(int n, int nrhs, double *a, double *b);

/*
 * fr_sposv for one right-hand side and a symmetric A given in full (both
 * triangles), without LAPACKE's row-major copies: for the many small
 * per-row solves of ALS and MF, where those copies cost more than the solve.
 */
extern bool fr_sposv_sym(int n, float *a, float *b);

/* In-place inverse of a symmetric positive definite matrix (full matrix written). */
extern void fr_spd_inverse(int n, float *a);
extern void fr_dspd_inverse(int n, double *a);

/* Thin QR: A (m x n, m >= n) replaced by Q with orthonormal columns. */
extern void fr_sorthonormalize(int m, int n, float *a);

/*
 * Symmetric eigen-decomposition (n x n row-major): eigenvalues ascending into
 * w, eigenvectors replace A as columns.
 */
extern void fr_ssyevd(int n, float *a, float *w);

/* Thin SVD of A (m x n): s (min(m,n)), U (m x min), VT (min x n). A destroyed. */
extern void fr_sgesdd(int m, int n, float *a, float *s, float *u, float *vt);

#endif							/* FR_LINALG_H */
