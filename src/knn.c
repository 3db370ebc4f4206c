/*
 * knn.c — item-item neighbour graph (cosine or BM25) and its scoring.
 *
 * For item i the co-occurrence with every other item is accumulated by
 * walking the users of i and, for each, that user's items: the work is the
 * sum of squared history lengths, the memory one dense row of accumulators
 * plus the kept neighbours.  A bounded heap keeps the best `neighbors` per
 * item so the candidates never need sorting.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knn.h"

typedef struct Neighbor
{
	float		sim;
	int32_t		item;
} Neighbor;

/* true when a ranks below b: lower similarity, or equal and higher index */
static inline bool
worse(const Neighbor *a, const Neighbor *b)
{
	if (a->sim != b->sim)
		return a->sim < b->sim;
	return a->item > b->item;
}

/* min-heap on worse(): the root is the weakest neighbour kept so far */
static void
sift_down(Neighbor *heap, int n, int pos)
{
	for (;;)
	{
		int			l = 2 * pos + 1;
		int			r = l + 1;
		int			m = pos;
		Neighbor	tmp;

		if (l < n && worse(&heap[l], &heap[m]))
			m = l;
		if (r < n && worse(&heap[r], &heap[m]))
			m = r;
		if (m == pos)
			return;
		tmp = heap[pos];
		heap[pos] = heap[m];
		heap[m] = tmp;
		pos = m;
	}
}

static void
sift_up(Neighbor *heap, int pos)
{
	while (pos > 0)
	{
		int			parent = (pos - 1) / 2;
		Neighbor	tmp;

		if (!worse(&heap[pos], &heap[parent]))
			return;
		tmp = heap[pos];
		heap[pos] = heap[parent];
		heap[parent] = tmp;
		pos = parent;
	}
}

static int
neighbor_by_item(const void *a, const void *b)
{
	const Neighbor *x = a;
	const Neighbor *y = b;

	return (x->item > y->item) - (x->item < y->item);
}

/*
 * BM25 weights (Robertson's formula with items as documents and users as
 * terms, as popularised for recommenders by Ben Frederickson's implicit):
 * heavy users carry little information (low idf), and an item's weight is
 * saturated and normalised by its popularity relative to the average.
 */
static void
bm25_weights(const FrCsr *ui, const FrCsr *iu, const FrKnnOptions *opt,
			 float *w_ui, float *w_iu)
{
	int32_t		n_items = iu->nrows;
	int32_t		n_users = ui->nrows;
	double	   *len_norm = fr_alloc(fr_mul_size((size_t) n_items + 1, sizeof(double)));
	double	   *idf = fr_alloc(fr_mul_size((size_t) n_users + 1, sizeof(double)));
	double		total = 0;
	double		avg;
	double		k1 = opt->bm25_k1;

	for (int32_t i = 0; i < n_items; i++)
	{
		double		len = 0;

		for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++)
			len += iu->values[p];
		len_norm[i] = len;
		total += len;
	}
	avg = n_items > 0 ? total / n_items : 0;
	for (int32_t i = 0; i < n_items; i++)
		len_norm[i] = (1.0 - opt->bm25_b) +
			opt->bm25_b * (avg > 0 ? len_norm[i] / avg : 1.0);
	for (int32_t u = 0; u < n_users; u++)
	{
		double		count = (double) (ui->indptr[u + 1] - ui->indptr[u]);

		/* a user who touched nearly every item says nothing about any pair */
		idf[u] = fmax(0.0, log((double) n_items) - log1p(count));
	}
	for (int32_t u = 0; u < n_users; u++)
		for (int64_t p = ui->indptr[u]; p < ui->indptr[u + 1]; p++)
		{
			double		w = ui->values[p];
			int32_t		i = ui->indices[p];

			w_ui[p] = w > 0 ? (float) (w * (k1 + 1.0) / (k1 * len_norm[i] + w) * idf[u]) : 0.0f;
		}
	for (int32_t i = 0; i < n_items; i++)
		for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++)
		{
			double		w = iu->values[p];
			int32_t		u = iu->indices[p];

			w_iu[p] = w > 0 ? (float) (w * (k1 + 1.0) / (k1 * len_norm[i] + w) * idf[u]) : 0.0f;
		}
	fr_free(len_norm);
	fr_free(idf);
}

size_t
fr_knn_memory(int32_t n_items, int64_t nnz, const FrKnnOptions *opt)
{
	size_t		k = (size_t) (opt->neighbors < n_items ? opt->neighbors : n_items);
	size_t		bytes;

	/* the neighbour CSR at its upper bound: k per item */
	bytes = fr_csr_bytes(n_items, (int64_t) fr_mul_size(n_items, k));
	/* accumulator, stamps, touched list, norms */
	bytes = fr_add_size(bytes, fr_mul_size((size_t) n_items + 1,
										   sizeof(float) + 2 * sizeof(int32_t) + sizeof(double)));
	bytes = fr_add_size(bytes, fr_mul_size(k + 1, sizeof(Neighbor)));
	/* BM25 re-weights both copies of the interactions */
	if (opt->similarity == FR_KNN_BM25)
		bytes = fr_add_size(bytes, fr_mul_size((size_t) nnz, 2 * sizeof(float)));
	return bytes;
}

void
fr_knn_fit(const FrCsr *ui, const FrCsr *iu, const FrKnnOptions *opt,
		   FrCsr *out)
{
	int32_t		n_items = iu->nrows;
	int32_t		k = opt->neighbors < n_items - 1 ? opt->neighbors : n_items - 1;
	const float *w_ui = ui->values;
	const float *w_iu = iu->values;
	float	   *own_ui = NULL;
	float	   *own_iu = NULL;
	double	   *norm = NULL;
	float	   *acc;
	int32_t    *stamp;
	int32_t    *touched;
	Neighbor   *heap;
	int64_t		nnz = 0;
	double		started = fr_now();
	double		reported = started;

	if (k < 0)
		k = 0;
	out->nrows = n_items;
	out->ncols = n_items;
	out->indptr = fr_alloc(fr_mul_size((size_t) n_items + 1, sizeof(int64_t)));
	out->indices = fr_alloc(fr_mul_size(fr_mul_size(n_items, k) + 1, sizeof(int32_t)));
	out->values = fr_alloc(fr_mul_size(fr_mul_size(n_items, k) + 1, sizeof(float)));

	if (opt->similarity == FR_KNN_BM25)
	{
		own_ui = fr_alloc(fr_mul_size((size_t) ui->nnz + 1, sizeof(float)));
		own_iu = fr_alloc(fr_mul_size((size_t) iu->nnz + 1, sizeof(float)));
		bm25_weights(ui, iu, opt, own_ui, own_iu);
		w_ui = own_ui;
		w_iu = own_iu;
	}
	else
	{
		norm = fr_alloc(fr_mul_size((size_t) n_items + 1, sizeof(double)));
		for (int32_t i = 0; i < n_items; i++)
		{
			double		s = 0;

			for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++)
				s += (double) w_iu[p] * w_iu[p];
			norm[i] = sqrt(s);
		}
	}

	acc = fr_alloc(fr_mul_size((size_t) n_items + 1, sizeof(float)));
	stamp = fr_alloc(fr_mul_size((size_t) n_items + 1, sizeof(int32_t)));
	touched = fr_alloc(fr_mul_size((size_t) n_items + 1, sizeof(int32_t)));
	heap = fr_alloc(fr_mul_size((size_t) k + 1, sizeof(Neighbor)));

	for (int32_t i = 0; i < n_items; i++)
	{
		int32_t		n_touched = 0;
		int			n_heap = 0;

		if ((i & 255) == 0)
		{
			fr_check_interrupts();
			if (fr_now() - reported >= 5.0)
			{
				reported = fr_now();
				fr_progress("itemknn: %d of %d items, %.1f s",
							i, n_items, reported - started);
				fr_progress_step("itemknn neighbours", i, n_items, NAN);
			}
		}
		out->indptr[i] = nnz;
		if (k == 0)
			continue;

		/* co-occurrence of i with every item sharing a user */
		for (int64_t p = iu->indptr[i]; p < iu->indptr[i + 1]; p++)
		{
			int32_t		u = iu->indices[p];
			float		a = w_iu[p];

			for (int64_t q = ui->indptr[u]; q < ui->indptr[u + 1]; q++)
			{
				int32_t		j = ui->indices[q];

				if (stamp[j] != i + 1)
				{
					stamp[j] = i + 1;
					acc[j] = 0;
					touched[n_touched++] = j;
				}
				acc[j] += a * w_ui[q];
			}
		}

		for (int32_t t = 0; t < n_touched; t++)
		{
			int32_t		j = touched[t];
			Neighbor	cand;

			if (j == i)
				continue;
			if (norm)
			{
				double		denom = norm[i] * norm[j] + opt->shrinkage;

				cand.sim = denom > 0 ? (float) (acc[j] / denom) : 0.0f;
			}
			else
				cand.sim = acc[j];	/* shrinkage would only rescale a dot product */
			cand.item = j;
			if (!(cand.sim > 0))
				continue;
			if (n_heap < k)
			{
				heap[n_heap] = cand;
				sift_up(heap, n_heap++);
			}
			else if (worse(&heap[0], &cand))
			{
				heap[0] = cand;
				sift_down(heap, n_heap, 0);
			}
		}

		/* CSR rows are kept by column ascending */
		qsort(heap, n_heap, sizeof(Neighbor), neighbor_by_item);
		for (int h = 0; h < n_heap; h++)
		{
			out->indices[nnz] = heap[h].item;
			out->values[nnz] = heap[h].sim;
			nnz++;
		}
	}
	out->indptr[n_items] = nnz;
	out->nnz = nnz;
	fr_progress("itemknn: %d items, %lld neighbour pairs, %.1f s",
				n_items, (long long) nnz, fr_now() - started);

	fr_free(heap);
	fr_free(touched);
	fr_free(stamp);
	fr_free(acc);
	if (norm)
		fr_free(norm);
	if (own_ui)
		fr_free(own_ui);
	if (own_iu)
		fr_free(own_iu);
}

void
fr_knn_score(const FrCsr *sim, const int32_t *items, const float *weights,
			 int n, float *scores)
{
	for (int t = 0; t < n; t++)
	{
		int32_t		i = items[t];
		float		w = weights ? weights[t] : 1.0f;

		for (int64_t p = sim->indptr[i]; p < sim->indptr[i + 1]; p++)
			scores[sim->indices[p]] += w * sim->values[p];
	}
}
