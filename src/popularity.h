/*
 * popularity.h — item popularity, optionally recency-weighted.
 */
#ifndef FR_POPULARITY_H
#define FR_POPULARITY_H

#include "csr.h"

/*
 * scores[i] = sum over item i's interactions of weight * 0.5^(age / half_life),
 * age = now - time in seconds; half_life <= 0 or times NULL: plain sums.
 * iu is items x users; times follows iu's entry order.
 */
extern void fr_popularity(const FrCsr *iu, const double *times, double now,
						  double half_life_seconds, float *scores);

/*
 * Position of a context value in names[n], sorted in strcmp order (how the
 * popularity model and the hybrid store their contexts), or -1.
 */
extern int32_t fr_context_index(const char *const *names, int32_t n, const char *context);

#endif
