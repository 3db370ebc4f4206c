/*
 * featurefm.h — a feature-aware factorisation (LightFM's model, Kula 2015)
 * trained with ranking losses.
 *
 * A user's vector is the weighted sum of the embeddings of its features (an
 * identity feature, and attributes), and so is an item's; an item also has
 * a bias, the weighted sum of its features' biases.  The score is
 *
 *     s(u, i) = p_u . q_i + b_i,   p_u = sum_f w_uf e_f,   q_i = sum_g w_ig e_g,
 *                                   b_i = sum_g w_ig c_g
 *
 * (a user bias would cancel in every comparison a ranking loss makes, so
 * there is none).  An item that has features but no interactions is scored
 * from its features alone, which is what makes the model useful on day one
 * of a product.
 *
 * Training samples, for each observed (user, positive item) in a seeded
 * random order, a negative item and takes one stochastic gradient step with
 * Adagrad step sizes:
 *   BPR  (Rendle et al. 2009): -log sigmoid(s_ui - s_uj), one uniform
 *        negative that the user has not interacted with;
 *   WARP (Weston et al. 2011): negatives are drawn until one violates the
 *        margin (s_uj > s_ui - 1) or max_sampled draws were made; the hinge
 *        1 - s_ui + s_uj is weighted by log(floor((n_items - 1) / draws)),
 *        an estimate of the positive's rank, so positives far down the list
 *        move most.
 * Every feature embedding touched by a step is also pulled towards zero
 * (L2, item_alpha / user_alpha per touch).  Interaction weights are not
 * used: a positive weight means "interacted".
 *
 * Training may run on several POSIX threads (threads > 1): each epoch's
 * positives are cut into rounds of `threads` slices, each slice is stepped
 * through against the parameters as the round found them, and the slices'
 * changes are added in slice order when it ends (featurefm.c).  A seed and
 * a thread count give one model, bit for bit, however many cores run the
 * slices; one thread is the sequential algorithm.
 *
 * Kernel code: no PostgreSQL headers.  Embeddings are row-major float32.
 */
#ifndef FR_FEATUREFM_H
#define FR_FEATUREFM_H

#include <stdbool.h>

#include "csr.h"

typedef enum FrFmLoss
{
	FR_FM_BPR = 0,
	FR_FM_WARP = 1
} FrFmLoss;

typedef struct FrFmOptions
{
	int32_t		factors;
	int32_t		epochs;
	FrFmLoss	loss;
	double		learning_rate;	/* Adagrad's base step */
	double		item_alpha;		/* L2 on item feature embeddings and biases, per touch */
	double		user_alpha;		/* L2 on user feature embeddings, per touch */
	int32_t		max_sampled;	/* WARP: negatives drawn per positive at most */
	uint64_t	seed;
	int32_t		threads;		/* slices of a round (0 or 1: sequential); the model depends on it */
	int32_t		max_running;	/* POSIX threads that run them at most (0: the machine's cores) */
} FrFmOptions;

/* What is learned: one row per feature. */
typedef struct FrFmParams
{
	int32_t		factors;
	int32_t		n_user_features;
	int32_t		n_item_features;
	float	   *user_emb;		/* n_user_features x factors */
	float	   *item_emb;		/* n_item_features x factors */
	float	   *item_bias;		/* n_item_features */
} FrFmParams;

/*
 * Features of users or items: a CSR matrix, one row per user (item), whose
 * columns are feature indices and values the weights.
 */

/*
 * Bytes fr_fm_fit allocates besides the parameters (Adagrad state, order,
 * the threads' copies of the rows they write).  step_rows: the feature rows
 * one step writes at most, fr_fm_step_rows() of the features.
 */
extern size_t fr_fm_workspace_bytes(const FrFmOptions *opt, int32_t n_user_features,
									int32_t n_item_features, int64_t nnz, int32_t step_rows);
extern int32_t fr_fm_step_rows(const FrCsr *user_features, const FrCsr *item_features);

/* Allocate p's arrays (fr_alloc) and draw the initial embeddings from the seed. */
extern void fr_fm_init(FrFmParams *p, const FrFmOptions *opt,
					   int32_t n_user_features, int32_t n_item_features);

/*
 * Fit p (initialised by fr_fm_init) to the positives of ui (users x items;
 * ui->ncols == item_features->nrows, ui->nrows == user_features->nrows).
 * Negatives are drawn among all ui->ncols items.  Reports progress per
 * epoch and honours interrupts (between rounds; the threads joined first).
 * Fails with FR_FAIL_RESOURCES when a thread cannot be started.  Returns
 * the last epoch's mean loss.
 */
extern double fr_fm_fit(const FrFmOptions *opt, const FrCsr *ui,
						const FrCsr *user_features, const FrCsr *item_features,
						FrFmParams *p);

/*
 * The vectors of the rows of features: out[nrows x factors] = features x
 * emb; bias[nrows] = features x biases when both are not NULL.
 */
extern void fr_fm_represent(const FrCsr *features, const float *emb, const float *biases,
							int32_t factors, float *out, float *bias);

/*
 * One (user u, positive i, negative j) triple: its loss — BPR's, or WARP's
 * hinge times rank_weight — plus the L2 terms of the features it touches;
 * with grad (arrays shaped like p's, zeroed by the caller) not NULL, adds
 * the loss's gradient to it.  This is the step fr_fm_fit takes, exposed so
 * that it can be checked against finite differences.
 */
extern double fr_fm_triple(const FrFmOptions *opt, const FrFmParams *p,
						   const FrCsr *user_features, const FrCsr *item_features,
						   int32_t u, int32_t i, int32_t j, double rank_weight,
						   FrFmParams *grad);

/*
 * WARP's search for a negative of user u (vector pu) against a positive
 * scoring pos: draws until an item the user has not interacted with
 * violates the margin; returns the number of draws (*neg the item) or 0
 * when max_sampled draws found none.
 */
extern int32_t fr_fm_warp_sample(const FrFmOptions *opt, const FrFmParams *p,
								 const FrCsr *ui, const FrCsr *item_features,
								 int32_t u, const float *pu, double pos,
								 FrRng *rng, float *work, int32_t *neg);

#endif							/* FR_FEATUREFM_H */
