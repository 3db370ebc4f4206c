/*
 * batch.h — top k for many users of a factor model at once (recommend_all,
 * recommend_all_into): blocked GEMM fused with a per-user top k, so a
 * block's scores live in cache one tile at a time and the users x items
 * score matrix never exists.
 */
#ifndef FR_BATCH_H
#define FR_BATCH_H

#include <stdint.h>

/*
 * A factor model as the batch kernel sees it: score(u, i) = user_factors[u]
 * . item_factors[i] + ((constant + user_bias[u]) + item_bias[i]), the biases
 * only when given (MF has them; ALS and SVD do not), added in the order the
 * models' own score_user adds them.
 */
typedef struct FrBatchFactors
{
	int32_t		k;				/* factors */
	const float *user_factors;	/* the model's users x k */
	const float *user_bias;		/* the model's users, or NULL */
	float		constant;
	int32_t		n_items;		/* rows of item_factors: the items scored */
	const float *item_factors;	/* n_items x k */
	const float *item_bias;		/* n_items, or NULL */

	/*
	 * The model item of each row, ascending (a candidate list, or the
	 * catalogue without the excluded items), and the row of each model item
	 * (-1: not scored).  Both NULL: row j is model item j.
	 */
	const int32_t *item_index;
	const int32_t *item_row;

	/* each model user's items never to return (seen), CSR; NULL: none */
	const int64_t *seen_indptr;
	const int32_t *seen_indices;
} FrBatchFactors;

/*
 * The shape of one multiplication: a block of users times a tile of items
 * (batch.c says why); test/bench/batch_kernel.c times the bare sgemm of the
 * same tiles.
 */
#define FR_BATCH_BLOCK_USERS 512
#define FR_BATCH_TILE_ITEMS 512

/*
 * The top k model items of each of the n users (model user indices), best
 * first, ties to the lower item index — what fr_topk() returns on the user's
 * score vector: out_items and out_scores hold k slots per user,
 * out_counts[u] how many are filled.
 */
extern void fr_batch_topk(const FrBatchFactors *f, const int32_t *users, int n, int k,
						  int32_t *out_items, float *out_scores, int32_t *out_counts);

#endif							/* FR_BATCH_H */
