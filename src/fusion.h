/*
 * fusion.h — the maths of the hybrid recommender (hybrid*.c): putting
 * the scores of different models on one scale, the weights that move with a
 * user's history length, the weighted sum, and the ridge regression that maps
 * content vectors into a collaborative model's latent space for new items.
 *
 * Plain C over plain arrays (kernel.h, linalg.h); no PostgreSQL.
 */
#ifndef FR_FUSION_H
#define FR_FUSION_H

#include <stdbool.h>
#include <stdint.h>

typedef enum FrNormalization
{
	FR_NORM_ZSCORE,				/* (s - mean) / sd over the defined scores */
	FR_NORM_RANK				/* 0.5 - rank / (m - 1): best 0.5, worst -0.5 */
} FrNormalization;

/*
 * Normalise raw[n] into out[n].  A non-finite raw score means "this signal
 * has no opinion on the item" and becomes 0, the neutral value of both
 * methods (the mean for z-scores, the middle rank for ranks).  Equal scores
 * get equal values (ties share their average rank).  Returns the number of
 * defined scores.  out may equal raw.
 */
extern int64_t fr_normalize_scores(const float *raw, int64_t n, FrNormalization method,
								   float *out);

/*
 * The weights to fuse with, given base weights and the user's history
 * length: collaborative signals (is_cf) are scaled by g = n / (n + n0)
 * (g = 1 when n0 = 0 and n > 0; g = 0 when n = 0), and the weight they lose
 * goes to the other available signals in proportion to their base weights,
 * so the total stays the same.  Unavailable signals get 0.
 */
extern void fr_fusion_weights(int n_signals, const double *base, const bool *is_cf,
							  const bool *available, double history, double n0,
							  double *out);

/* out[n] = sum_s weights[s] * norm[s][n]; norm[s] may be NULL (weight ignored) */
extern void fr_fuse(int n_signals, int64_t n, const float *const *norm,
					const double *weights, float *out);

/*
 * Ridge regression W (d x k) = argmin ||X W - Y||^2 + lambda ||W||^2 with X
 * (n x d) and Y (n x k) row-major, solved in double precision.  Returns the
 * coefficient of determination R^2 of the fit (averaged over the k columns,
 * each centred on its mean), a measure of how much of Y the content explains.
 */
extern double fr_ridge_fit(int64_t n, int d, int k, const float *x, const float *y,
						   double lambda, float *w);

/*
 * New items' collaborative scores for a user the collaborative model does
 * not know: the user's factors x are recovered from their scores s over
 * the model's items y_i by least squares, x = (Y^T Y)^-1 Y^T s, then each
 * new item scores x . its mapped factors.  The sums run one item at a time,
 * as the factors come from the model one item at a time.
 */

/* gram (k x k) += y y^T */
extern void fr_gram_add(int k, const float *y, double *gram);

/*
 * Adds 1e-6 of the mean diagonal (and 1e-12) to the diagonal, so that
 * Y^T Y stays positive definite with dependent factors or fewer items than
 * factors, without moving a well-conditioned solution.
 */
extern void fr_gram_regularize(int k, double *gram);

/* yts (k) += s y */
extern void fr_scores_add(int k, float s, const float *y, double *yts);

/* x (k) = gram^-1 yts, gram from fr_gram_regularize; 0 when the solve fails */
extern void fr_factors_from_scores(int k, const double *gram, const double *yts, float *x);

/* vals[items[c]] = x . factors[c] (n x k) for c < n */
extern void fr_mapped_scores(int k, int32_t n, const int32_t *items, const float *factors,
							 const float *x, float *vals);

#endif							/* FR_FUSION_H */
