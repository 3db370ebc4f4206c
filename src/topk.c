/*
 * topk.c — partial selection with a bounded min-heap: O(n log k) and one
 * pass over the scores, which for serving is the cost that matters.
 */
#include <math.h>
#include <stdlib.h>

#include "kernel.h"
#include "simd.h"
#include "topk.h"

/* a ranks below b: lower score, or equal score and higher item index */
static inline int
worse(const FrTopkEntry *a, const FrTopkEntry *b)
{
	return a->score < b->score || (a->score == b->score && a->item > b->item);
}

static void
sift_down(FrTopkEntry *heap, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					m = i;
		FrTopkEntry t;

		if (l < n && worse(&heap[l], &heap[m]))
			m = l;
		if (r < n && worse(&heap[r], &heap[m]))
			m = r;
		if (m == i)
			return;
		t = heap[i];

		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
}

static void
sift_up(FrTopkEntry *heap, int i)
{
	while (i > 0)
	{
		int			p = (i - 1) / 2;
		FrTopkEntry t;

		if (!worse(&heap[i], &heap[p]))
			return;
		t = heap[i];

		heap[i] = heap[p];
		heap[p] = t;
		i = p;
	}
}

void
fr_topk_init(FrTopkHeap *h, int k)
{
	h->k = k;
	h->size = 0;
	h->heap = fr_alloc(fr_mul_size((size_t) (k > 0 ? k : 1), sizeof(FrTopkEntry)));
}

void
fr_topk_push(FrTopkHeap *h, int32_t item, float score)
{
	FrTopkEntry e;

	if (isnan(score))
		return;
	e.item = item;
	e.score = score;
	if (h->size < h->k)
	{
		h->heap[h->size] = e;
		sift_up(h->heap, h->size++);
	}
	else if (h->k > 0 && worse(&h->heap[0], &e))
	{
		h->heap[0] = e;
		sift_down(h->heap, h->size, 0);
	}
}

int
fr_topk_finish(FrTopkHeap *h, int32_t *out_items, float *out_scores)
{
	int			size = fr_topk_drain(h->heap, h->size, out_items, out_scores);

	fr_free(h->heap);
	h->heap = NULL;
	h->size = 0;
	return size;
}

int
fr_topk(const float *scores, int32_t n_items,
		const int32_t *subset, int32_t n_subset,
		const uint8_t *skip, int k,
		int32_t *out_items, float *out_scores)
{
	int32_t		n = subset ? n_subset : n_items;
	FrTopkHeap	h;

	if (k <= 0 || n <= 0)
		return 0;
	if (k > n)
		k = n;					/* the heap never needs more than the candidates */
	fr_topk_init(&h, k);
	for (int32_t j = 0; j < n; j++)
	{
		int32_t		item = subset ? subset[j] : j;

		if (item < 0 || item >= n_items || (skip && skip[item]))
			continue;
		fr_topk_push(&h, item, scores[item]);
	}
	return fr_topk_finish(&h, out_items, out_scores);
}

int
fr_topk_drain(FrTopkEntry *heap, int size, int32_t *out_items, float *out_scores)
{
	/* pop worst-first into the output from the back */
	for (int i = size - 1; i >= 0; i--)
	{
		out_items[i] = heap[0].item;
		out_scores[i] = heap[0].score;
		heap[0] = heap[i];
		sift_down(heap, i, 0);
	}
	return size;
}

/*
 * Once the heap is full, a score enters only if it beats the worst kept one
 * strictly (a later item loses a tie), and in a GEMM tile almost none does:
 * 64 scores are tested against the worst with eight 8-lane compares OR-ed
 * together and one branch, and only a run that holds a winner is looked at
 * again, 8 lanes at a time, before any score touches the heap: on a row in
 * cache a third less time per score than a branch per 16.
 */
#define FEED_LANES 8
#define FEED_RUN (8 * FEED_LANES)

/* offer scores[0 .. n) one by one, as items first .. first + n - 1, to a full heap */
static inline void
feed_scalar(FrTopkEntry *heap, int k, const float *scores, int32_t n, int32_t first)
{
	for (int32_t q = 0; q < n; q++)
		if (scores[q] > heap[0].score)
		{
			heap[0].score = scores[q];
			heap[0].item = first + q;
			sift_down(heap, k, 0);
		}
}

FR_SIMD static void
topk_feed(FrTopkEntry *heap, int *size, int k, const float *scores, int32_t n, int32_t first)
{
	int32_t		j = 0;

	for (; j < n && *size < k; j++)
		if (!isnan(scores[j]))
		{
			heap[*size].score = scores[j];
			heap[*size].item = first + j;
			sift_up(heap, (*size)++);
		}
	if (*size < k)
		return;
	for (; j + FEED_RUN <= n; j += FEED_RUN)
	{
		const float *s = scores + j;
		/* NaN compares false: a seen item never passes */
		v8sf		worst = (v8sf) {0} + heap[0].score;
		v8si		hit = ((v8_load(s) > worst) | (v8_load(s + 8) > worst)) |
			((v8_load(s + 16) > worst) | (v8_load(s + 24) > worst)) |
			((v8_load(s + 32) > worst) | (v8_load(s + 40) > worst)) |
			((v8_load(s + 48) > worst) | (v8_load(s + 56) > worst));

		if (!V8_ANY(hit))
			continue;
		for (int q = 0; q < FEED_RUN; q += FEED_LANES)
		{
			/* the worst only rises as scores enter: a stale one lets more through, never fewer */
			v8si		lane = v8_load(s + q) > worst;

			if (V8_ANY(lane))
				feed_scalar(heap, k, s + q, FEED_LANES, first + j + q);
		}
	}
	feed_scalar(heap, k, scores + j, n - j, first + j);
}

/*
 * The exported entry calls the cloned static one: clang 14 emits no
 * resolver for an exported target_clones function called from other files
 * (the sanitizer build failed to load with fr_topk_feed undefined).
 */
void
fr_topk_feed(FrTopkEntry *heap, int *size, int k, const float *scores, int32_t n, int32_t first)
{
	topk_feed(heap, size, k, scores, n, first);
}

static int
cmp_item(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

void
fr_sort_items(int32_t *items, int64_t n)
{
	qsort(items, (size_t) n, sizeof(int32_t), cmp_item);
}
