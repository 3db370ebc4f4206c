/*
 * topk.h — exact top-k selection over a score vector.
 */
#ifndef FR_TOPK_H
#define FR_TOPK_H

#include <stdint.h>

/*
 * The k best items by score, best first; ties go to the lower item index
 * (which is the lower item id, as indices follow id order).  Only the items
 * listed in subset (n_subset of them) are considered, or all n_items when
 * subset is NULL; items with skip[i] set, and NaN scores, never are.
 * Returns how many were written (fewer than k when fewer are eligible).
 */
extern int	fr_topk(const float *scores, int32_t n_items,
					const int32_t *subset, int32_t n_subset,
					const uint8_t *skip, int k,
					int32_t *out_items, float *out_scores);

#endif							/* FR_TOPK_H */
