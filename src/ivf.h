/*
 * ivf.h — an inverted-file index (IVF) for approximate top-k over item
 * vectors: a k-means coarse quantizer and, per centroid, the list of items
 * nearest to it.  A query scores the centroids, scans the lists of the best
 * `probes` of them and keeps the top k with a heap.
 *
 * Every array is flat (offsets, item indices, vectors reordered list by
 * list), so an index is a handful of artifacts that the shared model store
 * maps like a model's factors, and a list is one contiguous block of rows
 * scored with one matrix-vector product.
 */
#ifndef FR_IVF_H
#define FR_IVF_H

#include <stdbool.h>
#include <stdint.h>

/*
 * How the index was clustered.  Inner product (factor models): k-means on
 * the raw vectors, sampled by squared norm so that the few long vectors
 * (the top k of most queries) get lists of their own.  Cosine (content and embedding models): spherical
 * k-means on unit vectors, so that a list gathers items of one direction
 * whatever their length.
 */
typedef enum FrIvfMetric
{
	FR_IVF_INNER_PRODUCT = 0,
	FR_IVF_COSINE = 1
} FrIvfMetric;

/* Bounds of a build; lists also at most the number of items. */
#define FR_IVF_MAX_LISTS		65536
/* k-means iterations: FAISS's count for an IVF quantizer */
#define FR_IVF_ITERATIONS		10
/*
 * k-means trains on at most this many items per list: at 1M items and 4,000
 * lists, 64 gave the recall of 256 at 64 probes (docs/benchmarks.md) for a
 * quarter of the work per iteration
 */
#define FR_IVF_TRAIN_PER_LIST	64
/* calibration: recall@10 of a sample of this many queries (fr_ivf_calibrate) */
#define FR_IVF_CALIBRATE_K		10
#define FR_IVF_CALIBRATE_QUERIES 200

typedef struct FrIvf
{
	int32_t		n_lists;
	int32_t		dim;
	int32_t		n_items;
	FrIvfMetric metric;
	int32_t		max_list;		/* the longest list: the scan buffer's size */
	const float *centroids;		/* n_lists x dim */
	const int64_t *offsets;		/* n_lists + 1: list l is positions offsets[l] .. offsets[l+1]-1 */
	const int32_t *items;		/* n_items: the item index at each position */
	const float *vectors;		/* n_items x dim: the item vectors in position order */
	const float *norms;			/* n_items: their Euclidean norms, for cosine queries */
} FrIvf;

/*
 * Cluster the n x dim row-major vectors into n_lists lists (1 .. min(n,
 * FR_IVF_MAX_LISTS)) and fill *out with arrays from fr_alloc().  Seeded:
 * the same vectors, lists and seed give the same index on every platform
 * with the same BLAS results.  Reports progress per k-means iteration and
 * honours cancellation.
 */
extern void fr_ivf_build(const float *x, int32_t n, int32_t dim, int32_t n_lists,
						 FrIvfMetric metric, uint64_t seed, FrIvf *out);

/* The longest list of offsets (for FrIvf.max_list of a loaded index). */
extern int32_t fr_ivf_max_list(const int64_t *offsets, int32_t n_lists);

/*
 * The k best items for query q (dim floats), best first, ties to the lower
 * item index as in fr_topk().  score: the inner product q.v, or with cosine
 * q.v / (|q| |v|) (an item of length 0 is never returned).  Lists are
 * probed best centroid first; items with skip[item] set are passed over
 * (skip may be NULL).  With until_k, probing goes on past `probes` lists
 * until k items have been found or every list was probed, so that filtered
 * items cost no recall.  Returns how many items were written; *probed (if
 * not NULL) is how many lists were scanned.
 */
extern int	fr_ivf_search(const FrIvf *ivf, const float *q, bool cosine, int probes,
						  bool until_k, const uint8_t *skip, int k,
						  int32_t *out_items, float *out_scores, int *probed);

/*
 * The smallest probes in 1, 2, 4, ..., n_lists at which both kinds of query
 * reach a mean recall@k (k = FR_IVF_CALIBRATE_K, or items - 1) of target;
 * returns it (n_lists if none does) and sets *recall and *user_recall to the
 * two recalls there (1 for a kind without queries).  The item queries are a
 * seeded sample of n_queries of the index's own items, each left out of its
 * own answer as similar items leave it.  The user queries are
 * n_user_queries rows of dim floats (may be 0), users' vectors as
 * recommend() searches with them, each leaving out its seen items
 * (user_seen[user_seen_indptr[u] ..], item indexes, in any order).  Each is
 * searched as a serving call would (cosine for a cosine index, inner
 * product otherwise, probing on until k are found) against its exact top k
 * over the items it does not leave out.  Honours cancellation.
 */
extern int	fr_ivf_calibrate(const FrIvf *ivf, double target, int n_queries,
							 const float *user_queries, const int64_t *user_seen_indptr,
							 const int32_t *user_seen, int n_user_queries, uint64_t seed,
							 double *recall, double *user_recall);

#endif							/* FR_IVF_H */
