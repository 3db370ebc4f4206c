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

typedef struct FrTopkEntry
{
	float		score;
	int32_t		item;
} FrTopkEntry;

/*
 * The same selection fed one item at a time, for a caller that scores items
 * in pieces (ivf.c scans one inverted list after another): init, push each
 * (item, score) — NaN scores are dropped — and finish, which writes the
 * best first, frees the heap and returns how many.
 */
typedef struct FrTopkHeap
{
	FrTopkEntry *heap;
	int			size;
	int			k;
} FrTopkHeap;

extern void fr_topk_init(FrTopkHeap *h, int k);
extern void fr_topk_push(FrTopkHeap *h, int32_t item, float score);
extern int	fr_topk_finish(FrTopkHeap *h, int32_t *out_items, float *out_scores);

/*
 * A top k built in runs: the batch path (batch.c) scores the catalogue one
 * tile at a time and keeps each user's heap between tiles.  heap has room
 * for k entries, *size of them in use (0 to start).  fr_topk_feed offers
 * scores[j] as item first + j; runs must come in ascending item order (so a
 * later item loses a tie); NaN scores never enter.
 */
extern void fr_topk_feed(FrTopkEntry *heap, int *size, int k,
						 const float *scores, int32_t n, int32_t first);
/* The heap's entries best first into the outputs; returns how many. */
extern int	fr_topk_drain(FrTopkEntry *heap, int size,
						  int32_t *out_items, float *out_scores);

/*
 * items[n] in ascending order: the item lists a scan in item order walks
 * beside it, or searches, to leave them out (a user's seen items).
 */
extern void fr_sort_items(int32_t *items, int64_t n);

#endif							/* FR_TOPK_H */
