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

#endif
