/*
 * ease.h — EASE, the embarrassingly shallow autoencoder (Steck, WWW 2019).
 *
 * With binary user x item matrix X the item-item weight matrix is
 *     P = (X^T X + lambda I)^-1,   B = I - P diag(1 / diag P)
 * so B[i][j] = -P[i][j] / P[j][j] off the diagonal and 0 on it, and a user's
 * scores are x_u B.  The closed form costs one dense items x items matrix,
 * so training may be restricted to the `n_keep` most popular items.
 */
#ifndef FR_EASE_H
#define FR_EASE_H

#include "csr.h"

/*
 * Choose the items EASE models: all of them when max_items is 0 or not
 * smaller than the catalogue, otherwise the max_items with most users (ties
 * to the lower index).  item_to_col[n_items] receives each item's column or
 * -1, col_to_item[n_keep] the reverse, ascending.  Returns n_keep.
 */
extern int32_t fr_ease_select_items(const FrCsr *iu, int32_t max_items,
									int32_t *item_to_col, int32_t *col_to_item);

/* Bytes fr_ease_fit allocates: the dense matrix itself. */
extern size_t fr_ease_memory(int32_t n_keep);

/*
 * Fit B (n_keep x n_keep, row-major, caller-allocated) from the users x items
 * matrix ui; every stored entry counts as 1, whatever its weight, as
 * serving only knows which items a user has.  item_to_col maps
 * items to columns (-1 for items left out), ascending with the item index,
 * or is NULL for all items.  lambda > 0.
 */
extern void fr_ease_fit(const FrCsr *ui, int32_t n_keep,
						const int32_t *item_to_col, double lambda, float *b);

/*
 * scores[n_items] += sum over the given items of weight * row of B, mapped
 * back to item indices (weights NULL means 1 each).  Items left out of the
 * model contribute nothing and receive nothing.  item_to_col/col_to_item are
 * NULL when every item is modelled.
 */
extern void fr_ease_score(const float *b, int32_t n_keep,
						  const int32_t *item_to_col, const int32_t *col_to_item,
						  const int32_t *items, const float *weights, int n,
						  float *scores);

#endif							/* FR_EASE_H */
