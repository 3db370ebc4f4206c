/*
 * metrics.h — offline evaluation metrics over plain arrays.
 *
 * The ranking metrics compare one user's recommendation list with the set of
 * items that user actually interacted with in the test period; the rating
 * metrics compare predicted with actual ratings.  The SQL functions
 * (metrics_sql.c) and evaluate() both call these, so a figure computed by
 * hand in SQL and one reported by evaluate() agree to the last bit.
 *
 * Conventions (docs/evaluation.md explains why):
 *   - positions are 1-based; only the first k recommendations count;
 *   - an item recommended twice is a hit at its first position only, the
 *     repeat still occupies its slot (the user saw it twice);
 *   - duplicates in the relevant set are ignored;
 *   - with no relevant items every ranking metric is undefined (the caller
 *     returns NULL so that avg() skips such users).
 */
#ifndef FR_METRICS_H
#define FR_METRICS_H

#include "kernel.h"

typedef struct FrRankMetrics
{
	int64_t		hits;			/* distinct relevant items in the top k */
	double		precision;		/* hits / k */
	double		recall;			/* hits / |relevant| */
	double		ndcg;			/* DCG / ideal DCG over min(|relevant|, k) */
	double		ap;				/* average precision, / min(|relevant|, k) */
	double		hit;			/* 1 if hits > 0, else 0 */
} FrRankMetrics;

/*
 * Sort ids ascending in place and drop duplicates; returns the new length.
 * Relevant sets must be passed through this before fr_rank_metrics().
 */
extern int64_t fr_sort_unique_ids(int64_t *ids, int64_t n);

/*
 * Ranking metrics at k (k >= 1) of one recommendation list.  relevant must
 * be sorted and distinct (fr_sort_unique_ids).  Returns false, leaving *out
 * zeroed, when n_relevant is 0: the metrics are undefined.
 */
extern bool fr_rank_metrics(const int64_t *recommended, int64_t n_recommended,
							const int64_t *relevant, int64_t n_relevant,
							int32_t k, FrRankMetrics *out);

/*
 * Sums for the rating metrics: count, squared and absolute errors.  Kept as
 * sums so that partial results (aggregate states, parallel workers) combine
 * exactly by adding.  NaN and infinities propagate as in IEEE arithmetic.
 */
typedef struct FrErrorSums
{
	double		n;
	double		sum_sq;
	double		sum_abs;
} FrErrorSums;

extern void fr_error_sums(const double *predicted, const double *actual,
						  int64_t n, FrErrorSums *sums);
/* NaN-free callers check n > 0 first: both are undefined for n == 0 */
extern double fr_rmse(const FrErrorSums *sums);
extern double fr_mae(const FrErrorSums *sums);

#endif							/* FR_METRICS_H */
