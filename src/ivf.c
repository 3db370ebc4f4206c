/*
 * ivf.c — the inverted-file index (ivf.h): k-means build and probed search.
 *
 * Build: Lloyd's k-means on a seeded sample of at most
 * FR_IVF_TRAIN_PER_LIST items per list (more points move the centroids
 * little and cost linearly) — uniform for cosine, weighted by squared norm
 * for inner product (sample_by_norm) —, assignments by one GEMM per tile of points and
 * centroids with a vectorised argmax, then every item assigned once.  An emptied list
 * takes half of the largest one (FAISS's rule), so no list is wasted.
 *
 * Search: the centroids are scored with one matrix-vector product and the
 * lists taken best first; each list's rows are contiguous, so scoring a list
 * is again one matrix-vector product, and a bounded heap (topk.c) keeps the
 * best k.
 */
#include <math.h>
#include <string.h>

#include "ivf.h"
#include "kernel.h"
#include "linalg.h"
#include "simd.h"
#include "topk.h"

/*
 * Assignment tiles: ASSIGN_POINTS points against ASSIGN_LISTS centroids, so
 * that the GEMM writes and the argmax reads 1 MB (a core's L2) instead of
 * a block of points against all the lists (16 MB at 4,000 lists, read back
 * from memory).
 */
#define ASSIGN_POINTS 256
#define ASSIGN_LISTS 1024

typedef int32_t v8si_ivf __attribute__((vector_size(32)));

static void
normalize_rows(float *x, int64_t n, int32_t dim)
{
	for (int64_t i = 0; i < n; i++)
	{
		float	   *row = x + i * dim;
		float		norm = fr_snrm2(dim, row);

		if (norm > 0)
			for (int32_t j = 0; j < dim; j++)
				row[j] /= norm;
	}
}

/*
 * For each of the m rows of a tile (n scores from list `first` on), the
 * largest score - half_sq and its list, if above the row's best so far;
 * ties to the lower list, as a scalar scan with ">" would.  Eight lanes
 * each keep their own first maximum, then the lanes are merged: at 4,000
 * lists the scalar scan cost more than the GEMM that made the scores.
 */
FR_SIMD static void
tile_argmax(const float *scores, int m, int32_t n, int32_t first, const float *half_sq,
			float *best_score, int32_t *best)
{
	const v8si_ivf step = {16, 16, 16, 16, 16, 16, 16, 16};
	const v8sf	none = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
						-INFINITY, -INFINITY, -INFINITY, -INFINITY};

	for (int b = 0; b < m; b++)
	{
		const float *row = scores + (int64_t) b * n;
		/* two chains of lanes (even and odd runs of 8), so that one's compare waits less on the other's */
		v8sf		top[2] = {none, none};
		v8si_ivf	at[2] = {{0}, {0}};
		v8si_ivf	lane[2] = {{0, 1, 2, 3, 4, 5, 6, 7}, {8, 9, 10, 11, 12, 13, 14, 15}};
		float		s_best = best_score[b];
		int32_t		l_best = best[b];
		int32_t		l = 0;

		for (; l + 16 <= n; l += 16)
			for (int c = 0; c < 2; c++)
			{
				v8sf		s = v8_load(row + l + 8 * c) - v8_load(half_sq + l + 8 * c);
				v8si_ivf	gt = (v8si_ivf) (s > top[c]);

				top[c] = (v8sf) (((v8si_ivf) s & gt) | ((v8si_ivf) top[c] & ~gt));
				at[c] = (lane[c] & gt) | (at[c] & ~gt);
				lane[c] += step;
			}
		for (int c = 0; c < 2; c++)
			for (int j = 0; j < 8; j++)
				if (top[c][j] > s_best || (top[c][j] == s_best && first + at[c][j] < l_best))
				{
					s_best = top[c][j];
					l_best = first + at[c][j];
				}
		for (; l < n; l++)
		{
			float		s = row[l] - half_sq[l];

			if (s > s_best)
			{
				s_best = s;
				l_best = first + l;
			}
		}
		best_score[b] = s_best;
		best[b] = l_best;
	}
}

/*
 * The list of each of the n points: the nearest centroid in Euclidean
 * distance, i.e. the largest x.c - |c|^2/2 (cosine: the largest x.c, all of
 * unit length).  Returns the sum of the winning x.c - |c|^2/2, whose
 * negative (plus the constant sum of |x|^2/2) is the k-means objective.
 * With a phase, the points done are reported as its steps: the assignment of
 * a whole catalogue takes as long as several k-means iterations.
 */
static double
assign(const float *x, int64_t n, int32_t dim, const float *centroids, int32_t n_lists,
	   FrIvfMetric metric, float *scores, int32_t *list_of, const char *phase)
{
	float	   *half_sq = fr_alloc(fr_mul_size(n_lists, sizeof(float)));
	float		best_score[ASSIGN_POINTS];
	double		total = 0;

	for (int32_t l = 0; l < n_lists; l++)
	{
		const float *c = centroids + (int64_t) l * dim;

		half_sq[l] = metric == FR_IVF_COSINE ? 0.0f : 0.5f * fr_sdot(dim, c, c);
	}
	for (int64_t start = 0; start < n; start += ASSIGN_POINTS)
	{
		int			m = (int) (n - start < ASSIGN_POINTS ? n - start : ASSIGN_POINTS);

		fr_check_interrupts();
		if (phase && start % (64 * ASSIGN_POINTS) == 0)
			fr_progress_step(phase, start, n, NAN);
		for (int b = 0; b < m; b++)
		{
			best_score[b] = -INFINITY;
			list_of[start + b] = 0;
		}
		for (int32_t first = 0; first < n_lists; first += ASSIGN_LISTS)
		{
			int32_t		w = n_lists - first < ASSIGN_LISTS ? n_lists - first : ASSIGN_LISTS;

			fr_sgemm(false, true, m, w, dim, 1.0f, x + start * dim, dim,
					 centroids + (int64_t) first * dim, dim, 0.0f, scores, w);
			tile_argmax(scores, m, w, first, half_sq + first, best_score, list_of + start);
		}
		for (int b = 0; b < m; b++)
			total += best_score[b];
	}
	fr_free(half_sq);
	return total;
}

/* New centroids: the means of their points; an empty list splits the largest. */
static void
update(const float *x, int64_t n, int32_t dim, const int32_t *list_of, int32_t n_lists,
	   FrIvfMetric metric, FrRng *rng, float *centroids)
{
	double	   *sums = fr_alloc(fr_mul_size(fr_mul_size(n_lists, dim), sizeof(double)));
	int64_t    *counts = fr_alloc(fr_mul_size(n_lists, sizeof(int64_t)));

	for (int64_t i = 0; i < n; i++)
	{
		const float *row = x + i * dim;
		double	   *sum = sums + (int64_t) list_of[i] * dim;

		counts[list_of[i]]++;
		for (int32_t j = 0; j < dim; j++)
			sum[j] += row[j];
	}
	for (int32_t l = 0; l < n_lists; l++)
		if (counts[l] > 0)
			for (int32_t j = 0; j < dim; j++)
				centroids[(int64_t) l * dim + j] = (float) (sums[(int64_t) l * dim + j] / counts[l]);
	for (int32_t l = 0; l < n_lists; l++)
	{
		int32_t		big = 0;

		if (counts[l] > 0)
			continue;
		for (int32_t m = 1; m < n_lists; m++)
			if (counts[m] > counts[big])
				big = m;
		/* two slightly different copies of the largest centroid share its points next time */
		for (int32_t j = 0; j < dim; j++)
		{
			float		c = centroids[(int64_t) big * dim + j];
			float		eps = (float) (1e-4 * (fr_rng_uniform(rng) - 0.5));

			centroids[(int64_t) l * dim + j] = c * (1 + eps);
			centroids[(int64_t) big * dim + j] = c * (1 - eps);
		}
		counts[l] = counts[big] / 2;
		counts[big] -= counts[l];
	}
	if (metric == FR_IVF_COSINE)
		normalize_rows(centroids, n_lists, dim);
	fr_free(sums);
	fr_free(counts);
}

/*
 * The first n_train entries of order: a seeded sample of the items without
 * repeats, drawn with weight 1 + |x|^2 / mean |x|^2 (Efraimidis-Spirakis
 * keys), in key order, so that the first n_lists seed the centroids.
 *
 * Inner-product top k are the long vectors, and in factor models they are
 * few (ALS at 1M items: 911 of norm above 0.5, the median 0.004).  A uniform
 * sample seeds nearly every centroid among the short ones, so the long
 * vectors end up a handful per list around a mean that points nowhere, and
 * such a list ranks last for the very queries it serves
 * (docs/benchmarks.md, "ALS on a 1M-product shop").  Weighted by squared
 * norm, their share of the k-means error, they get centroids of their own;
 * the short ones still fill most of the sample.
 */
static void
sample_by_norm(const float *x, int32_t n, int32_t dim, int32_t n_train, FrRng *rng,
			   int32_t *order)
{
	float	   *sq = fr_alloc(fr_mul_size(n, sizeof(float)));
	float	   *keys = fr_alloc(fr_mul_size(n, sizeof(float)));
	float	   *kept = fr_alloc(fr_mul_size(n_train, sizeof(float)));
	double		mean = 0;

	for (int32_t i = 0; i < n; i++)
	{
		if (i % 65536 == 0)
			fr_check_interrupts();
		sq[i] = fr_sdot(dim, x + (int64_t) i * dim, x + (int64_t) i * dim);
		mean += sq[i];
	}
	mean /= n;
	for (int32_t i = 0; i < n; i++)
	{
		double		w = 1 + (mean > 0 ? sq[i] / mean : 0);

		/* log(u) / w: the largest n_train keys are the weighted sample */
		keys[i] = (float) (log(1 - fr_rng_uniform(rng)) / w);
	}
	fr_topk(keys, n, NULL, 0, NULL, n_train, order, kept);
	fr_free(kept);
	fr_free(keys);
	fr_free(sq);
}

/* The first n_take entries of order: a uniform sample of 0 .. n-1 without repeats (partial Fisher-Yates). */
static void
sample_uniform(int32_t n, int64_t n_take, FrRng *rng, int32_t *order)
{
	for (int32_t i = 0; i < n; i++)
		order[i] = i;
	for (int64_t i = 0; i < n_take; i++)
	{
		int64_t		j = i + (int64_t) fr_rng_below(rng, (uint64_t) (n - i));
		int32_t		t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

int32_t
fr_ivf_max_list(const int64_t *offsets, int32_t n_lists)
{
	int64_t		longest = 0;

	for (int32_t l = 0; l < n_lists; l++)
		if (offsets[l + 1] - offsets[l] > longest)
			longest = offsets[l + 1] - offsets[l];
	return (int32_t) longest;
}

void
fr_ivf_build(const float *x, int32_t n, int32_t dim, int32_t n_lists,
			 FrIvfMetric metric, uint64_t seed, FrIvf *out)
{
	FrRng		rng;
	int64_t		n_train;
	int32_t    *order;
	float	   *train;
	float	   *centroids;
	float	   *scores;
	int32_t    *list_of;
	int64_t    *offsets;
	int64_t    *fill;
	int32_t    *items;
	float	   *vectors;
	float	   *norms;
	double		started = fr_now();

	if (n < 1 || dim < 1)
		fr_fail(FR_FAIL_PARAM, "an index needs items with vectors, got %d items of dimension %d", n, dim);
	if (n_lists < 1 || n_lists > n || n_lists > FR_IVF_MAX_LISTS)
		fr_fail(FR_FAIL_PARAM, "lists must be from 1 to %d for %d items, got %d",
				n < FR_IVF_MAX_LISTS ? n : FR_IVF_MAX_LISTS, n, n_lists);

	fr_rng_seed(&rng, seed);
	n_train = (int64_t) n_lists * FR_IVF_TRAIN_PER_LIST;
	if (n_train > n)
		n_train = n;
	order = fr_alloc(fr_mul_size(n, sizeof(int32_t)));
	if (metric == FR_IVF_INNER_PRODUCT)
		sample_by_norm(x, n, dim, (int32_t) n_train, &rng, order);
	else
		sample_uniform(n, n_train, &rng, order);
	train = fr_alloc(fr_mul_size(fr_mul_size(n_train, dim), sizeof(float)));
	for (int64_t i = 0; i < n_train; i++)
		memcpy(train + i * dim, x + (int64_t) order[i] * dim, sizeof(float) * dim);
	if (metric == FR_IVF_COSINE)
		normalize_rows(train, n_train, dim);

	/* the first n_lists sampled points start as centroids */
	centroids = fr_alloc(fr_mul_size(fr_mul_size(n_lists, dim), sizeof(float)));
	memcpy(centroids, train, sizeof(float) * (size_t) n_lists * dim);
	scores = fr_alloc(fr_mul_size(ASSIGN_POINTS * ASSIGN_LISTS, sizeof(float)));
	list_of = fr_alloc(fr_mul_size(n, sizeof(int32_t)));
	for (int it = 0; it < FR_IVF_ITERATIONS; it++)
	{
		double		fit = assign(train, n_train, dim, centroids, n_lists, metric, scores, list_of, NULL);

		update(train, n_train, dim, list_of, n_lists, metric, &rng, centroids);
		fr_progress_step("ann k-means", it + 1, FR_IVF_ITERATIONS, -fit / (double) n_train);
		fr_progress("ann k-means iteration %d of %d: fit %.6g, %.1f s", it + 1,
					FR_IVF_ITERATIONS, fit / (double) n_train, fr_now() - started);
	}
	fr_free(train);
	fr_free(order);

	/* every item into its list, in ascending item order within a list */
	if (metric == FR_IVF_COSINE)
	{
		float	   *unit = fr_alloc(fr_mul_size(fr_mul_size(n, dim), sizeof(float)));

		memcpy(unit, x, sizeof(float) * (size_t) n * dim);
		normalize_rows(unit, n, dim);
		assign(unit, n, dim, centroids, n_lists, metric, scores, list_of, "ann assigning items");
		fr_free(unit);
	}
	else
		assign(x, n, dim, centroids, n_lists, metric, scores, list_of, "ann assigning items");
	fr_free(scores);
	fr_progress_step("ann assigning items", n, n, NAN);
	fr_progress("ann: %d items assigned to %d lists, %.1f s", n, n_lists, fr_now() - started);

	offsets = fr_alloc(fr_mul_size((size_t) n_lists + 1, sizeof(int64_t)));
	fill = fr_alloc(fr_mul_size(n_lists, sizeof(int64_t)));
	for (int32_t i = 0; i < n; i++)
		offsets[list_of[i] + 1]++;
	for (int32_t l = 0; l < n_lists; l++)
		offsets[l + 1] += offsets[l];
	items = fr_alloc(fr_mul_size(n, sizeof(int32_t)));
	vectors = fr_alloc(fr_mul_size(fr_mul_size(n, dim), sizeof(float)));
	norms = fr_alloc(fr_mul_size(n, sizeof(float)));
	for (int32_t i = 0; i < n; i++)
	{
		int64_t		p = offsets[list_of[i]] + fill[list_of[i]]++;

		items[p] = i;
		memcpy(vectors + p * dim, x + (int64_t) i * dim, sizeof(float) * dim);
		norms[p] = fr_snrm2(dim, vectors + p * dim);
	}
	fr_free(fill);
	fr_free(list_of);

	out->n_lists = n_lists;
	out->dim = dim;
	out->n_items = n;
	out->metric = metric;
	out->max_list = fr_ivf_max_list(offsets, n_lists);
	out->centroids = centroids;
	out->offsets = offsets;
	out->items = items;
	out->vectors = vectors;
	out->norms = norms;
}

int
fr_ivf_search(const FrIvf *ivf, const float *q, bool cosine, int probes,
			  bool until_k, const uint8_t *skip, int k,
			  int32_t *out_items, float *out_scores, int *probed)
{
	int32_t		n_lists = ivf->n_lists;
	int32_t		dim = ivf->dim;
	float	   *centroid_scores = fr_alloc(fr_mul_size(n_lists, sizeof(float)));
	uint8_t    *done = fr_alloc(n_lists);
	int32_t    *order = fr_alloc(fr_mul_size(n_lists, sizeof(int32_t)));
	float	   *order_scores = fr_alloc(fr_mul_size(n_lists, sizeof(float)));
	float	   *scores = fr_alloc(fr_mul_size(ivf->max_list > 0 ? ivf->max_list : 1, sizeof(float)));
	float		q_norm = cosine ? fr_snrm2(dim, q) : 1.0f;
	FrTopkHeap	heap;
	int			n_probed = 0;

	if (probes < 1)
		probes = 1;
	if (k > ivf->n_items)
		k = ivf->n_items;
	fr_sgemv(false, n_lists, dim, 1.0f, ivf->centroids, dim, q, 0.0f, centroid_scores);
	/* cosine against an inner-product index: rank lists by angle, not length */
	if (cosine && ivf->metric == FR_IVF_INNER_PRODUCT)
		for (int32_t l = 0; l < n_lists; l++)
		{
			float		c_norm = fr_snrm2(dim, ivf->centroids + (int64_t) l * dim);

			centroid_scores[l] = c_norm > 0 ? centroid_scores[l] / c_norm : -INFINITY;
		}

	fr_topk_init(&heap, k);
	while (n_probed < n_lists)
	{
		/* the next `probes` lists, best centroid first */
		int			batch = fr_topk(centroid_scores, n_lists, NULL, 0, done, probes,
									order, order_scores);

		if (batch == 0)
			break;				/* the rest have NaN centroid scores: nothing to rank them by */
		for (int b = 0; b < batch; b++)
		{
			int32_t		l = order[b];
			int64_t		lo = ivf->offsets[l];
			int32_t		len = (int32_t) (ivf->offsets[l + 1] - lo);

			done[l] = 1;
			n_probed++;
			fr_sgemv(false, len, dim, 1.0f, ivf->vectors + lo * dim, dim, q, 0.0f, scores);
			for (int32_t p = 0; p < len; p++)
			{
				int32_t		item = ivf->items[lo + p];
				float		s = scores[p];

				if (skip && skip[item])
					continue;
				if (cosine)
				{
					float		d = q_norm * ivf->norms[lo + p];

					s = d > 0 ? s / d : NAN;
				}
				fr_topk_push(&heap, item, s);
			}
		}
		if (!until_k || heap.size >= k)
			break;
	}
	if (probed)
		*probed = n_probed;
	fr_free(scores);
	fr_free(order_scores);
	fr_free(order);
	fr_free(done);
	fr_free(centroid_scores);
	return fr_topk_finish(&heap, out_items, out_scores);
}

static bool
listed(const int32_t *sorted, int64_t n, int32_t item)
{
	int64_t		lo = 0;
	int64_t		hi = n;

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (sorted[mid] < item)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sorted[lo] == item;
}

/*
 * Exact top k of each query over every item but those of its skip list
 * (skip_items[skip_indptr[q] ..], sorted): the rows of the index scored a
 * block at a time with one GEMM (all items at once would be n_queries x n
 * floats, 800 MB at 1M items), kept in one heap per query of k plus its
 * skip list's length, which the skipped items then leave.
 */
static void
exact_topk(const FrIvf *ivf, const float *queries, int n_queries, const int64_t *skip_indptr,
		   const int32_t *skip_items, int k, int32_t *out_items)
{
	const int32_t block = 4096;
	int32_t		dim = ivf->dim;
	bool		cosine = ivf->metric == FR_IVF_COSINE;
	int64_t		longest = 0;
	float	   *scores = fr_alloc(fr_mul_size(fr_mul_size(n_queries, block), sizeof(float)));
	FrTopkHeap *heaps = fr_alloc(fr_mul_size(n_queries, sizeof(FrTopkHeap)));
	int32_t    *best;
	float	   *kept;

	for (int q = 0; q < n_queries; q++)
	{
		int64_t		n_skip = skip_indptr[q + 1] - skip_indptr[q];

		longest = n_skip > longest ? n_skip : longest;
		fr_topk_init(&heaps[q], (int) (k + n_skip < ivf->n_items ? k + n_skip : ivf->n_items));
	}
	best = fr_alloc(fr_mul_size(k + longest, sizeof(int32_t)));
	kept = fr_alloc(fr_mul_size(k + longest, sizeof(float)));
	for (int64_t lo = 0; lo < ivf->n_items; lo += block)
	{
		int32_t		w = (int32_t) (ivf->n_items - lo < block ? ivf->n_items - lo : block);

		fr_check_interrupts();
		fr_sgemm(false, true, n_queries, w, dim, 1.0f, queries, dim,
				 ivf->vectors + lo * dim, dim, 0.0f, scores, w);
		for (int q = 0; q < n_queries; q++)
			for (int32_t j = 0; j < w; j++)
			{
				float		s = scores[(int64_t) q * w + j];

				/* queries are unit vectors for cosine, as search makes them */
				if (cosine)
					s = ivf->norms[lo + j] > 0 ? s / ivf->norms[lo + j] : NAN;
				fr_topk_push(&heaps[q], ivf->items[lo + j], s);
			}
	}
	for (int q = 0; q < n_queries; q++)
	{
		const int32_t *skipped = skip_items + skip_indptr[q];
		int64_t		n_skip = skip_indptr[q + 1] - skip_indptr[q];
		int			got = fr_topk_finish(&heaps[q], best, kept);
		int			j = 0;

		for (int b = 0; b < got && j < k; b++)
			if (!listed(skipped, n_skip, best[b]))
				out_items[(int64_t) q * k + j++] = best[b];
		for (; j < k; j++)
			out_items[(int64_t) q * k + j] = -1;
	}
	fr_free(kept);
	fr_free(best);
	fr_free(heaps);
	fr_free(scores);
}

/*
 * Mean recall@k at probes of the queries against their exact top k, each
 * searched with its skip list's items left out, as a serving call leaves
 * out a similar-items query's own item or a user's seen items.
 */
static double
queries_recall(const FrIvf *ivf, const float *queries, int n_queries, const int64_t *skip_indptr,
			   const int32_t *skip_items, const int32_t *exact, int k, int probes,
			   uint8_t *skip, int32_t *found, float *found_scores)
{
	int64_t		hits = 0;
	int64_t		wanted = 0;

	for (int q = 0; q < n_queries; q++)
	{
		int			got;

		fr_check_interrupts();
		for (int64_t s = skip_indptr[q]; s < skip_indptr[q + 1]; s++)
			skip[skip_items[s]] = 1;
		/* as a serving call: probing on until k are found */
		got = fr_ivf_search(ivf, queries + (int64_t) q * ivf->dim, ivf->metric == FR_IVF_COSINE,
							probes, true, skip, k, found, found_scores, NULL);
		for (int64_t s = skip_indptr[q]; s < skip_indptr[q + 1]; s++)
			skip[skip_items[s]] = 0;
		for (int j = 0; j < k && exact[(int64_t) q * k + j] >= 0; j++)
		{
			wanted++;
			for (int f = 0; f < got; f++)
				if (found[f] == exact[(int64_t) q * k + j])
				{
					hits++;
					break;
				}
		}
	}
	return wanted > 0 ? (double) hits / wanted : 1.0;
}

int
fr_ivf_calibrate(const FrIvf *ivf, double target, int n_queries, const float *user_queries,
				 const int64_t *user_seen_indptr, const int32_t *user_seen, int n_user_queries,
				 uint64_t seed, double *recall, double *user_recall)
{
	int32_t		n = ivf->n_items;
	int32_t		dim = ivf->dim;
	int			k = n - 1 < FR_IVF_CALIBRATE_K ? n - 1 : FR_IVF_CALIBRATE_K;
	int			n_all;
	FrRng		rng;
	float	   *queries;
	int64_t    *skip_indptr;
	int32_t    *skip_items;
	int32_t    *exact;
	int32_t    *found;
	float	   *found_scores;
	uint8_t    *skip;
	int			probes = 1;

	*recall = 1.0;
	*user_recall = 1.0;
	if (k < 1 || n_queries < 1)
		return 1;
	if (n_queries > n)
		n_queries = n;
	n_all = n_queries + n_user_queries;

	/*
	 * The item queries, a seeded sample of the index's positions, each
	 * skipping itself; then the users', each skipping its seen items (sorted,
	 * for exact_topk's look-ups).
	 */
	queries = fr_alloc(fr_mul_size(fr_mul_size(n_all, dim), sizeof(float)));
	skip_indptr = fr_alloc(fr_mul_size(n_all + 1, sizeof(int64_t)));
	skip_items = fr_alloc(fr_mul_size(n_queries + (n_user_queries > 0 ? user_seen_indptr[n_user_queries] : 0),
									  sizeof(int32_t)));
	fr_rng_seed(&rng, seed);
	{
		int32_t    *order = fr_alloc(fr_mul_size(n, sizeof(int32_t)));

		sample_uniform(n, n_queries, &rng, order);
		for (int q = 0; q < n_queries; q++)
		{
			memcpy(queries + (int64_t) q * dim, ivf->vectors + (int64_t) order[q] * dim, sizeof(float) * dim);
			skip_indptr[q] = q;
			skip_items[q] = ivf->items[order[q]];
		}
		fr_free(order);
	}
	if (n_user_queries > 0)
		memcpy(queries + (int64_t) n_queries * dim, user_queries,
			   fr_mul_size(fr_mul_size(n_user_queries, dim), sizeof(float)));
	skip_indptr[n_queries] = n_queries;
	for (int u = 1; u <= n_user_queries; u++)
		skip_indptr[n_queries + u] = n_queries + user_seen_indptr[u];
	for (int u = 0; u < n_user_queries; u++)
	{
		int32_t    *seen = skip_items + skip_indptr[n_queries + u];
		int64_t		n_seen = user_seen_indptr[u + 1] - user_seen_indptr[u];

		memcpy(seen, user_seen + user_seen_indptr[u], fr_mul_size(n_seen, sizeof(int32_t)));
		fr_sort_items(seen, n_seen);
	}
	if (ivf->metric == FR_IVF_COSINE)
		normalize_rows(queries, n_all, dim);

	exact = fr_alloc(fr_mul_size(fr_mul_size(n_all, k), sizeof(int32_t)));
	exact_topk(ivf, queries, n_all, skip_indptr, skip_items, k, exact);

	found = fr_alloc(fr_mul_size(k, sizeof(int32_t)));
	found_scores = fr_alloc(fr_mul_size(k, sizeof(float)));
	skip = fr_alloc(n);
	for (probes = 1;; probes = probes * 2 < ivf->n_lists ? probes * 2 : ivf->n_lists)
	{
		*recall = queries_recall(ivf, queries, n_queries, skip_indptr, skip_items, exact, k,
								 probes, skip, found, found_scores);
		if (n_user_queries > 0)
			*user_recall = queries_recall(ivf, queries + (int64_t) n_queries * dim, n_user_queries,
										  skip_indptr + n_queries, skip_items,
										  exact + (int64_t) n_queries * k, k, probes, skip,
										  found, found_scores);
		fr_progress_step("ann calibrating probes", probes, ivf->n_lists,
						 *recall < *user_recall ? *recall : *user_recall);
		if ((*recall >= target && *user_recall >= target) || probes >= ivf->n_lists)
			break;
	}
	fr_free(skip);
	fr_free(found_scores);
	fr_free(found);
	fr_free(exact);
	fr_free(skip_items);
	fr_free(skip_indptr);
	fr_free(queries);
	return probes;
}
