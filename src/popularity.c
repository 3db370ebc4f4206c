/*
 * popularity.c — the baseline every recommender must beat, and the fallback
 * for users a model has never seen.
 */
#include <math.h>
#include <string.h>

#include "popularity.h"

void
fr_popularity(const FrCsr *iu, const double *times, double now,
			  double half_life_seconds, float *scores)
{
	bool		decay = times != NULL && half_life_seconds > 0;

	for (int32_t i = 0; i < iu->nrows; i++)
	{
		double		sum = 0;

		for (int64_t j = iu->indptr[i]; j < iu->indptr[i + 1]; j++)
		{
			double		w = iu->values[j];

			if (decay)
				w *= exp2(-fmax(now - times[j], 0.0) / half_life_seconds);
			sum += w;
		}
		scores[i] = (float) sum;
		if ((i & 8191) == 0)
			fr_check_interrupts();
	}
}

int32_t
fr_context_index(const char *const *names, int32_t n, const char *context)
{
	int32_t		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;
		int			c = strcmp(names[mid], context);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}
