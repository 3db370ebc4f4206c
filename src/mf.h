/*
 * mf.h — biased matrix factorisation of explicit ratings.
 *
 * The model predicts
 *
 *     r_ui = mean + b_u + b_i + x_u . y_i
 *
 * fitted to the observed ratings only (unobserved pairs carry no
 * information, unlike implicit ALS), minimising
 *
 *     sum over observed (r_ui - prediction)^2
 *         + regularization * (n_u |x_u|^2 + n_i |y_i|^2)
 *         + bias_regularization * (n_u b_u^2 + n_i b_i^2)
 *
 * with n_u, n_i the rating counts ("weighted-lambda" regularisation, Zhou et
 * al. 2008).  Two solvers: alternating ridge regressions that solve each
 * user's (bias, factors) exactly for fixed items and vice versa, and
 * stochastic gradient descent (Funk / Koren) over the ratings in a seeded
 * random order, whose per-rating penalty adds up to the same objective.
 *
 * Kernel code: no PostgreSQL headers.  Factor matrices are row-major float32.
 */
#ifndef FR_MF_H
#define FR_MF_H

#include "csr.h"

typedef enum FrMfSolver
{
	FR_MF_ALS = 0,
	FR_MF_SGD = 1
} FrMfSolver;

typedef struct FrMfOptions
{
	int			factors;
	int			iterations;		/* ALS sweeps or SGD epochs */
	double		regularization; /* on the factors, per rating */
	double		bias_regularization;	/* on the biases, per rating */
	FrMfSolver	solver;
	double		learning_rate;	/* SGD only */
	double		init_std;		/* sd of the random initial factors */
	uint64_t	seed;
} FrMfOptions;

typedef struct FrMfFactors
{
	float		mean;			/* global mean rating */
	float	   *user_bias;		/* n_users */
	float	   *item_bias;		/* n_items */
	float	   *user_factors;	/* n_users x factors */
	float	   *item_factors;	/* n_items x factors */
} FrMfFactors;

/* Bytes fr_mf_fit allocates besides the output arrays. */
extern size_t fr_mf_workspace_bytes(const FrMfOptions *opt, int32_t n_users,
									int32_t n_items, int64_t nnz);

/*
 * Fit to ui (ratings as values) and its transpose iu; out's arrays are
 * allocated by the caller.  With ALS every sweep solves the items, then the
 * users, so the user part is the exact ridge answer for the returned items,
 * what fr_mf_fold_in() computes.  rmse, when not NULL, receives the training
 * RMSE after each iteration.  Returns the final training RMSE.
 */
extern double fr_mf_fit(const FrMfOptions *opt, const FrCsr *ui, const FrCsr *iu,
						FrMfFactors *out, double *rmse);

/* mean + b_u + b_i + x_u . y_i, unclipped */
extern float fr_mf_predict(const FrMfFactors *f, int factors, int32_t user, int32_t item);

/*
 * The ridge (bias, factors) of a new user from n ratings of known items
 * (duplicates are summed, as in training), for fixed item biases and
 * factors.  Writes *bias and x (factors); no ratings give zeros.
 */
extern void fr_mf_fold_in(const FrMfOptions *opt, const FrMfFactors *f,
						  const int32_t *items, const float *ratings, int n,
						  float *bias, float *x);

#endif							/* FR_MF_H */
