/*
 * svd.h — truncated SVD of the interaction matrix by randomized range
 * finding (Halko, Martinsson & Tropp, SIAM Review 2011, algorithms 4.4 and
 * 5.1), for PureSVD recommendations (Cremonesi, Koren & Turrin, RecSys 2010).
 *
 * X (users x items, sparse) ~ U S V^T with k factors.  PureSVD scores a user
 * by projecting the history onto the item space, x_u V V^T, so only the
 * item factors V (items x k) and the user projections x_u V are kept.
 */
#ifndef FR_SVD_H
#define FR_SVD_H

#include "csr.h"

typedef struct FrSvdOptions
{
	int32_t		factors;		/* k >= 1 */
	int32_t		oversampling;	/* extra random directions, >= 0 */
	int32_t		power_iterations;	/* subspace iterations, >= 0 */
	uint64_t	seed;
} FrSvdOptions;

/* Factors actually computed: k limited by the matrix's smaller side. */
extern int32_t fr_svd_rank(int32_t n_users, int32_t n_items, const FrSvdOptions *opt);

/* Bytes fr_svd_fit allocates (dense blocks and LAPACK output). */
extern size_t fr_svd_memory(int32_t n_users, int32_t n_items, const FrSvdOptions *opt);

/*
 * Fit: item_factors (n_items x rank, row-major) receives the leading right
 * singular vectors, singular_values (rank) the singular values, descending.
 * ui and iu are X and X^T with the values to factorise.  Returns the share
 * of ||X||_F^2 the rank factors capture.
 */
extern double fr_svd_fit(const FrCsr *ui, const FrCsr *iu, const FrSvdOptions *opt,
						 float *item_factors, float *singular_values);

/* out (nrows x k) = A V for a sparse A (nrows x n_items) and dense V (n_items x k). */
extern void fr_svd_project(const FrCsr *a, const float *v, int32_t k, float *out);

/*
 * Fold-in of a bag of items: p (k) = sum weight * V[item]; scores[n_items] =
 * V p.  weights NULL means 1 each.
 */
extern void fr_svd_score_items(const float *v, int32_t n_items, int32_t k,
							   const int32_t *items, const float *weights, int n,
							   float *scores);

#endif							/* FR_SVD_H */
