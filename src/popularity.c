/*
 * popularity.c — the baseline every recommender must beat, and the fallback
 * for users a model has never seen.
 */
#include <math.h>

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
