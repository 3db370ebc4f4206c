/*
 * knn.h — item-item nearest neighbours from co-occurrence.
 *
 * Similarities between items are computed from the users they share, one item
 * at a time with a dense accumulator, so time is proportional to the sum over
 * users of their history length squared and memory to items x neighbours,
 * never items squared.  Each item keeps its `neighbors` most similar items as
 * a row of a sparse (CSR) items x items matrix S; a user's scores are
 * x_u S, the sum of the neighbour rows of the items in the history.
 */
#ifndef FR_KNN_H
#define FR_KNN_H

#include "csr.h"

typedef enum FrKnnSimilarity
{
	FR_KNN_COSINE,				/* dot / (|i| |j| + shrinkage) */
	FR_KNN_BM25					/* dot of BM25-weighted columns */
} FrKnnSimilarity;

typedef struct FrKnnOptions
{
	int32_t		neighbors;		/* kept per item, >= 1 */
	FrKnnSimilarity similarity;
	double		shrinkage;		/* added to the cosine denominator, >= 0 */
	double		bm25_k1;		/* term-frequency saturation, > 0 */
	double		bm25_b;			/* length normalisation, 0..1 */
} FrKnnOptions;

/*
 * Fit the neighbour graph.  ui is users x items, iu its transpose, both with
 * the interaction weights (non-negative).  out receives an items x items CSR
 * matrix: row i holds i's neighbours with positive similarity, by column
 * ascending; the diagonal is never stored.  Ties in similarity are broken by
 * the lower item index.
 */
extern void fr_knn_fit(const FrCsr *ui, const FrCsr *iu,
					   const FrKnnOptions *opt, FrCsr *out);

/* Bytes fr_knn_fit allocates beyond its inputs (for memory budgets). */
extern size_t fr_knn_memory(int32_t n_items, int64_t nnz,
							const FrKnnOptions *opt);

/*
 * scores[ncols] += sum over the given items of weight * row of S.  Items out
 * of range are the caller's problem.
 */
extern void fr_knn_score(const FrCsr *sim, const int32_t *items,
						 const float *weights, int n, float *scores);

#endif							/* FR_KNN_H */
