/*
 * metrics.c — ranking and rating metrics for offline evaluation.
 *
 * Definitions follow the usual binary-relevance formulas (Järvelin &
 * Kekäläinen for NDCG, the TREC form of average precision truncated at k);
 * docs/evaluation.md states them with worked examples.  Everything here is
 * O(k log |relevant|) per list, so evaluate() can afford it for every user.
 */
#include <math.h>
#include <stdlib.h>

#include "csr.h"
#include "metrics.h"

static int
cmp_int64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

int64_t
fr_sort_unique_ids(int64_t *ids, int64_t n)
{
	int64_t		m = 0;

	if (n <= 1)
		return n;
	qsort(ids, (size_t) n, sizeof(int64_t), cmp_int64);
	for (int64_t i = 1; i < n; i++)
		if (ids[i] != ids[m])
			ids[++m] = ids[i];
	return m + 1;
}

bool
fr_rank_metrics(const int64_t *recommended, int64_t n_recommended,
				const int64_t *relevant, int64_t n_relevant,
				int32_t k, FrRankMetrics *out)
{
	int64_t		depth;
	int64_t		ideal_depth;
	bool	   *found;
	double		dcg = 0.0;
	double		idcg = 0.0;
	double		ap_sum = 0.0;
	int64_t		hits = 0;

	if (k < 1)
		fr_fail(FR_FAIL_PARAM, "k must be at least 1, not %d", (int) k);

	out->hits = 0;
	out->precision = out->recall = out->ndcg = out->ap = out->hit = 0.0;
	if (n_relevant <= 0)
		return false;

	depth = n_recommended < k ? n_recommended : k;
	ideal_depth = n_relevant < k ? n_relevant : k;

	/*
	 * A relevant item counts once, at its first position: marking it found
	 * makes a repeated recommendation a miss without a quadratic scan.
	 */
	found = fr_alloc(fr_mul_size((size_t) n_relevant, sizeof(bool)));
	for (int64_t i = 0; i < depth; i++)
	{
		int64_t		j;

		if ((i & 0xFFFFF) == 0xFFFFF)
			fr_check_interrupts();
		j = fr_find_id(relevant, n_relevant, recommended[i]);
		if (j < 0 || found[j])
			continue;
		found[j] = true;
		hits++;
		/* position p = i + 1 is discounted by log2(p + 1) */
		dcg += 1.0 / log2((double) i + 2.0);
		ap_sum += (double) hits / ((double) i + 1.0);
	}
	fr_free(found);

	for (int64_t i = 0; i < ideal_depth; i++)
		idcg += 1.0 / log2((double) i + 2.0);

	out->hits = hits;
	out->precision = (double) hits / (double) k;
	out->recall = (double) hits / (double) n_relevant;
	out->ndcg = dcg / idcg;
	out->ap = ap_sum / (double) ideal_depth;
	out->hit = hits > 0 ? 1.0 : 0.0;
	return true;
}

void
fr_error_sums(const double *predicted, const double *actual, int64_t n,
			  FrErrorSums *sums)
{
	sums->n = (double) n;
	sums->sum_sq = 0.0;
	sums->sum_abs = 0.0;
	for (int64_t i = 0; i < n; i++)
	{
		double		e = predicted[i] - actual[i];

		if ((i & 0xFFFFF) == 0xFFFFF)
			fr_check_interrupts();
		sums->sum_sq += e * e;
		sums->sum_abs += fabs(e);
	}
}

double
fr_rmse(const FrErrorSums *sums)
{
	return sqrt(sums->sum_sq / sums->n);
}

double
fr_mae(const FrErrorSums *sums)
{
	return sums->sum_abs / sums->n;
}
