/*
 * als.h — implicit-feedback alternating least squares (Hu, Koren & Volinsky
 * 2008), solved per row either exactly (Cholesky) or approximately with a few
 * warm-started conjugate-gradient steps (Takács, Pilászy & Tikk 2011).
 *
 * The model minimises
 *
 *     sum over all (u, i) of c_ui (p_ui - x_u . y_i)^2
 *         + regularization * (sum |x_u|^2 + sum |y_i|^2)
 *
 * where p_ui = 1 for an observed pair with positive weight and 0 otherwise,
 * and c_ui = 1 for unobserved pairs.  Observed pairs get their confidence
 * from the weight w through FrAlsConfidence.  The regularisation is the plain
 * lambda of Hu et al. and of the `implicit` library (not scaled by the number
 * of interactions of a row).
 *
 * Factor matrices are row-major float32, n x factors.  Kernel code: no
 * PostgreSQL headers.
 */
#ifndef FR_ALS_H
#define FR_ALS_H

#include "csr.h"

typedef enum FrAlsSolver
{
	FR_ALS_CG = 0,				/* cg_steps conjugate-gradient steps per row */
	FR_ALS_CHOLESKY = 1			/* exact solve per row */
} FrAlsSolver;

typedef enum FrAlsConfidence
{
	FR_ALS_CONF_LINEAR = 0,		/* c = 1 + alpha * w */
	FR_ALS_CONF_LOG = 1,		/* c = 1 + alpha * ln(1 + w) */
	FR_ALS_CONF_PLAIN = 2		/* c = alpha * w, as the `implicit` library */
} FrAlsConfidence;

typedef struct FrAlsOptions
{
	int			factors;
	int			iterations;
	double		regularization;
	double		alpha;
	FrAlsConfidence confidence;
	FrAlsSolver solver;
	int			cg_steps;
	uint64_t	seed;
} FrAlsOptions;

/* Confidence of one observed weight; negative weights count as zero. */
extern float fr_als_confidence(const FrAlsOptions *opt, float weight);

/* Bytes fr_als_fit allocates besides the two factor matrices. */
extern size_t fr_als_workspace_bytes(const FrAlsOptions *opt,
									 int32_t n_users, int32_t n_items,
									 int64_t nnz);

/*
 * Fit user_factors (n_users x factors) and item_factors (n_items x factors)
 * to ui and its transpose iu.  Every iteration solves the items, then the
 * users, so the returned user vectors are the (CG: approximate) least-squares
 * answers for the returned items — what fr_als_fold_in() computes for a new
 * history.  losses, when not NULL, receives one training loss per iteration
 * (normalised like `implicit`: by the total confidence of all pairs).
 * Returns the final loss.
 */
extern double fr_als_fit(const FrAlsOptions *opt, const FrCsr *ui, const FrCsr *iu,
						 float *user_factors, float *item_factors,
						 double *losses);

/* gram (factors x factors) = Y^T Y + regularization * I, for fold-in. */
extern void fr_als_gram(int n, int factors, const float *y, double regularization,
						float *gram);

/*
 * The exact least-squares user vector x (factors) for an ad-hoc history of n
 * items with raw weights (duplicates are summed, as in training), given the
 * item factors and their gram from fr_als_gram().  Items must be in range.
 */
extern void fr_als_fold_in(const FrAlsOptions *opt, const float *item_factors,
						   const float *gram, const int32_t *items,
						   const float *weights, int n, float *x);

#endif							/* FR_ALS_H */
