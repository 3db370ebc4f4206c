/*
 * fusion_learn.h — learned fusion for the hybrid recommender: a logistic
 * regression or a small multi-layer perceptron that turns per-item features
 * (the signals' normalised scores, history length, item popularity, item
 * age) into one score, fitted on interactions the components did not see.
 *
 * Both models are one "net": standardisation of the inputs, then 0, 1 or 2
 * hidden ReLU layers, then one linear output (the logit).  Logistic
 * regression is the net with no hidden layer, fitted exactly by Newton's
 * method; the MLP is fitted by Adam on mini-batches with early stopping on a
 * second set of users, scored by NDCG.
 *
 * Plain C over plain arrays (kernel.h, linalg.h); no PostgreSQL.
 */
#ifndef FR_FUSION_LEARN_H
#define FR_FUSION_LEARN_H

#include <stdbool.h>
#include <stdint.h>

#define FR_FUSION_MAX_HIDDEN 2
/* units of one hidden layer, a bag's layers side by side included */
#define FR_FUSION_MAX_UNITS 1024

/*
 * Examples grouped by user: rows group[g] .. group[g + 1] - 1 of x (n x d,
 * row-major) and y (1 = the user interacted with the item, 0 = not) are one
 * user's candidates, ranked together for NDCG.
 */
typedef struct FrFusionSet
{
	int64_t		n;
	int			d;
	const float *x;
	const float *y;
	int32_t		n_groups;
	const int64_t *group;		/* n_groups + 1 offsets */
} FrFusionSet;

/*
 * params layout (fr_fusion_net_size() floats): shift[d], scale[d] (input j
 * enters as (x_j - shift_j) * scale_j), then per layer l = 0 .. n_hidden its
 * weights W_l (in_l x out_l, row-major) and biases b_l (out_l); the last
 * layer has one output, the score.
 */
typedef struct FrFusionNet
{
	int			d;
	int			n_hidden;		/* 0: logistic regression */
	int			hidden[FR_FUSION_MAX_HIDDEN];
	float	   *params;
} FrFusionNet;

typedef struct FrMlpOptions
{
	double		l2;				/* penalty on the weights, as in sum of losses + l2/2 ||W||^2 */
	double		learning_rate;	/* Adam step size */
	int			max_epochs;
	int			patience;		/* epochs without a better early-stopping NDCG before stopping */
	int			batch;
	int			ndcg_k;
	uint64_t	seed;
	const float *standardisation;	/* shift[d], scale[d] to use; NULL: fitted on fit */
} FrMlpOptions;

typedef struct FrFusionFitInfo
{
	int			epochs;			/* run */
	int			best_epoch;		/* whose weights were kept (1-based; 0 = the initial ones) */
	double		fit_loss;		/* mean log loss on the fitting set */
	double		stop_ndcg;		/* NDCG of the kept weights on the early-stopping set */
} FrFusionFitInfo;

/* floats in params for this shape */
extern int64_t fr_fusion_net_size(int d, int n_hidden, const int *hidden);

/* net->params allocated (fr_alloc) for its shape */
extern void fr_fusion_net_alloc(FrFusionNet *net, int d, int n_hidden, const int *hidden);

/*
 * Logistic regression with an L2 penalty on the coefficients (not on the
 * intercept), on standardised inputs: minimises the summed log loss plus
 * l2/2 ||w||^2 by Newton's method with step halving.  Returns the mean log
 * loss.  net gets n_hidden 0.
 */
extern double fr_fusion_fit_logistic(const FrFusionSet *fit, double l2, FrFusionNet *net);

/*
 * MLP with net's shape (set by fr_fusion_net_alloc): He-initialised from the
 * seed, Adam on the log loss, inputs standardised on fit (or as
 * opt->standardisation says), and the weights of the epoch with the best
 * NDCG@k on stop kept.
 */
extern void fr_fusion_fit_mlp(const FrFusionSet *fit, const FrFusionSet *stop,
							  const FrMlpOptions *opt, FrFusionNet *net,
							  FrFusionFitInfo *info);

/*
 * Bagging: n_bags MLPs of the shape (d, n_hidden, hidden), each fitted by
 * fr_fusion_fit_mlp with its own seed and its own early-stopping users,
 * merged into one wider net whose logit is the mean of theirs: hidden layers
 * side by side (block-diagonal between two hidden layers), output weights
 * divided by n_bags.  pool is the fit groups [0, n_fit) then the stop groups
 * [n_fit, n_groups); it is cut in thirds, the stop groups and the two halves
 * of the fit groups, and bag b stops on third b % 3 and fits on the other
 * two.  Bag 0 is thus fitted as a single MLP (fit, stop) with opt->seed, and
 * one bag is that MLP bit for bit; the other bags take bag 0's
 * standardisation, so that they merge.  net gets layers of n_bags *
 * hidden[l] units (fr_fusion_net_alloc done here); info is the first bag's,
 * with epochs the sum over the bags.
 */
extern void fr_fusion_fit_mlp_bag(const FrFusionSet *pool, int32_t n_fit,
								  const FrMlpOptions *opt, int n_bags, int n_hidden,
								  const int *hidden, FrFusionNet *net, FrFusionFitInfo *info);

/* the seed of bag b of fr_fusion_fit_mlp_bag (bag 0: seed) */
extern uint64_t fr_fusion_bag_seed(uint64_t seed, int b);

/* out[n] = the net's score (logit) of each row of x (n x net->d); vectorised chunks */
extern void fr_fusion_forward(const FrFusionNet *net, int64_t n, const float *x, float *out);

/*
 * Mean NDCG@k over the groups that have a positive, ranking each group's
 * rows by scores (ties by row order, so the result is deterministic).
 */
extern double fr_fusion_ndcg(const FrFusionSet *set, const float *scores, int k);
/* ... and each group's NDCG in per_group[n_groups] (NaN for a group without positives) */
extern double fr_fusion_ndcg_groups(const FrFusionSet *set, const float *scores, int k,
									double *per_group);

/*
 * The standard error of the mean of b - a over the groups where both are
 * defined (paired: the same users ranked by two fusions); infinite with
 * fewer than two.
 */
extern double fr_fusion_paired_se(int32_t n, const double *a, const double *b);

/*
 * Which of n fusions, in order of complexity, to keep: each replaces the one
 * kept so far only when its mean NDCG (ndcg[k]; < 0: not fitted) is higher
 * by more than noise[k], the standard error of their per-group difference
 * (per_group[k][n_groups]).  Returns the index kept; noise[0] and the
 * noise of a fusion not fitted are infinite.
 */
extern int	fr_fusion_choose(int n, const double *ndcg, double *const *per_group, int32_t n_groups,
							 double *noise);

/* mean binary log loss of logits against labels */
extern double fr_fusion_logloss(int64_t n, const float *logits, const float *y);

#endif							/* FR_FUSION_LEARN_H */
