/*
 * svec_ops.h — the arithmetic of sparse float4 vectors, free of PostgreSQL.
 *
 * A sparse vector is (dim, nnz, indices[nnz], values[nnz]) with 0-based
 * indices strictly ascending and below dim, and finite values.  The SQL type
 * fashionrec.svec (svec.h) stores exactly these arrays; the content models
 * keep their item rows in the same form inside a CSR matrix.  Sums run in
 * double so that results do not depend on the order of accumulation more
 * than float rounding of the inputs requires.
 */
#ifndef FR_SVEC_OPS_H
#define FR_SVEC_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "csr.h"

/*
 * Limits.  The dimension is a vocabulary size, not a memory size, so it may be
 * large; nnz is bounded so that a vector (16 + 8 * nnz bytes) stays well below
 * PostgreSQL's 1 GB datum limit.
 */
#define FR_SVEC_MAX_DIM 1000000000
#define FR_SVEC_MAX_NNZ 100000000

typedef enum FrSvecStatus
{
	FR_SVEC_OK = 0,
	FR_SVEC_DIM_TOO_SMALL,		/* dim < 1 */
	FR_SVEC_DIM_TOO_LARGE,		/* dim > FR_SVEC_MAX_DIM */
	FR_SVEC_NNZ_NEGATIVE,
	FR_SVEC_NNZ_TOO_LARGE,		/* nnz > FR_SVEC_MAX_NNZ */
	FR_SVEC_NNZ_ABOVE_DIM,		/* more entries than dimensions */
	FR_SVEC_INDEX_RANGE,		/* an index outside [0, dim) */
	FR_SVEC_INDEX_ORDER,		/* indices not ascending */
	FR_SVEC_INDEX_DUPLICATE,	/* an index repeated */
	FR_SVEC_VALUE_NAN,
	FR_SVEC_VALUE_INF
} FrSvecStatus;

/* dim and nnz alone (before the arrays are read). */
extern FrSvecStatus fr_svec_check_shape(int64_t dim, int64_t nnz);

/*
 * The whole vector; *bad receives the position of the first offending entry
 * (0 when the shape itself is wrong).
 */
extern FrSvecStatus fr_svec_check(int64_t dim, int64_t nnz, const int32_t *indices,
								  const float *values, int32_t *bad);

/* Remove explicit zeros in place; returns the new nnz. */
extern int32_t fr_svec_drop_zeros(int32_t nnz, int32_t *indices, float *values);

extern double fr_svec_dot(int32_t na, const int32_t *ia, const float *va,
						  int32_t nb, const int32_t *ib, const float *vb);
extern double fr_svec_norm(int32_t n, const float *v);
extern double fr_svec_l2_distance(int32_t na, const int32_t *ia, const float *va,
								  int32_t nb, const int32_t *ib, const float *vb);

/* 1 - cos(a, b), NaN when either vector is zero. */
extern double fr_svec_cosine_distance(int32_t na, const int32_t *ia, const float *va,
									  int32_t nb, const int32_t *ib, const float *vb);

/* Scale to unit L2 norm in place; a zero vector stays zero. */
extern void fr_svec_l2_normalize(int32_t n, float *v);

/* ---- many vectors at once: rows of a CSR matrix ------------------------ */

/*
 * Score every item against a sparse query through the postings (features x
 * items, the transpose of the item rows): scores[j] = sum_q qv[q] * x_j[qf[q]].
 * Items that share no feature with the query get NaN — "not similar at all",
 * which serving never ranks — rather than a tie at zero.  Costs the summed
 * length of the query features' postings, not n_items * nnz.
 */
extern void fr_svec_score_postings(const FrCsr *postings, int32_t n, const int32_t *qf,
								   const float *qv, int32_t n_items, float *scores);

/*
 * The weighted sum of some rows (weights NULL: 1 each), scaled to unit L2
 * norm: writes its non-zero features and values (at most n_features) and
 * returns how many; 0 when the sum is zero.  Rows must be unit-norm already
 * for the result to be "the direction of the weighted mean".
 */
extern int32_t fr_svec_profile(const FrCsr *rows, const int32_t *items, const float *weights,
							   int32_t n, int32_t n_features, int32_t *out_features,
							   float *out_values);

#endif							/* FR_SVEC_OPS_H */
