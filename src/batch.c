/*
 * batch.c — blocked GEMM fused with a per-user top k (batch.h).
 *
 * A block of users times a tile of items is one sgemm whose result (512 x
 * 512 floats, 1 MB) stays in the core's L2 while each user's heap takes
 * what beats its k-th best; fr_topk_feed() rejects 64 scores at a time
 * with one branch, so after the first tiles the scan costs far less than
 * the multiplication.  Scoring whole rows of the catalogue instead writes and
 * reads the scores through memory, which at 100k items costs as much as the
 * GEMM itself.  The block is square because OpenBLAS packs both operands
 * again for every call: at 64 factors, 512 x 512 spends a quarter less time
 * in the sgemm than 128 users x 2,048 items did for the same products.
 */
#include <math.h>
#include <string.h>

#include "batch.h"
#include "kernel.h"
#include "linalg.h"
#include "topk.h"

#define BLOCK_USERS FR_BATCH_BLOCK_USERS
#define TILE_ITEMS FR_BATCH_TILE_ITEMS

/*
 * The rows of user u's seen items, ascending, into rows; returns how many.
 * Training stores them in id order already, so the sort is rarely needed.
 */
static int64_t
seen_rows(const FrBatchFactors *f, int32_t u, int32_t *rows)
{
	int64_t		n = 0;
	int			sorted = 1;

	for (int64_t j = f->seen_indptr[u]; j < f->seen_indptr[u + 1]; j++)
	{
		int32_t		item = f->seen_indices[j];
		int32_t		row = f->item_row ? f->item_row[item] : item;

		if (row < 0)
			continue;
		if (n > 0 && row < rows[n - 1])
			sorted = 0;
		rows[n++] = row;
	}
	if (!sorted)
		fr_sort_items(rows, n);
	return n;
}

/* the biases of one user's tile, in the order the models' score_user adds them */
static void
add_biases(const FrBatchFactors *f, int32_t u, float *scores, int32_t first, int32_t n)
{
	float		base = f->constant + (f->user_bias ? f->user_bias[u] : 0.0f);

	if (f->item_bias)
		for (int32_t j = 0; j < n; j++)
			scores[j] += base + f->item_bias[first + j];
	else if (base != 0.0f)
		for (int32_t j = 0; j < n; j++)
			scores[j] += base;
}

static void
block_topk(const FrBatchFactors *f, const int32_t *users, int n, int k,
		   float *x, float *tile, FrTopkEntry *heaps, int *sizes,
		   int64_t *seen_at, int64_t *seen_end, int32_t *seen,
		   int32_t *out_items, float *out_scores, int32_t *out_counts)
{
	int64_t		n_seen = 0;

	for (int b = 0; b < n; b++)
	{
		memcpy(x + (size_t) b * f->k, f->user_factors + (size_t) users[b] * f->k,
			   sizeof(float) * f->k);
		sizes[b] = 0;
		seen_at[b] = n_seen;
		if (f->seen_indptr)
			n_seen += seen_rows(f, users[b], seen + n_seen);
		seen_end[b] = n_seen;
	}

	for (int32_t first = 0; first < f->n_items; first += TILE_ITEMS)
	{
		int32_t		m = f->n_items - first < TILE_ITEMS ? f->n_items - first : TILE_ITEMS;

		fr_check_interrupts();
		fr_sgemm(false, true, n, m, f->k, 1.0f, x, f->k,
				 f->item_factors + (size_t) first * f->k, f->k, 0.0f, tile, m);
		for (int b = 0; b < n; b++)
		{
			float	   *row = tile + (size_t) b * m;

			if (f->item_bias || f->user_bias || f->constant != 0.0f)
				add_biases(f, users[b], row, first, m);
			/* seen items become NaN, which the heap never takes */
			while (seen_at[b] < seen_end[b] && seen[seen_at[b]] < first + m)
				row[seen[seen_at[b]++] - first] = NAN;
			fr_topk_feed(heaps + (size_t) b * k, &sizes[b], k, row, m, first);
		}
	}

	for (int b = 0; b < n; b++)
	{
		int32_t    *items = out_items + (size_t) b * k;

		out_counts[b] = fr_topk_drain(heaps + (size_t) b * k, sizes[b], items,
									  out_scores + (size_t) b * k);
		if (f->item_index)
			for (int r = 0; r < out_counts[b]; r++)
				items[r] = f->item_index[items[r]];
	}
}

void
fr_batch_topk(const FrBatchFactors *f, const int32_t *users, int n, int k,
			  int32_t *out_items, float *out_scores, int32_t *out_counts)
{
	int			block = n < BLOCK_USERS ? n : BLOCK_USERS;
	int64_t		max_seen = 0;
	float	   *x;
	float	   *tile;
	FrTopkEntry *heaps;
	int		   *sizes;
	int64_t    *seen_at;
	int64_t    *seen_end;
	int32_t    *seen;

	if (n <= 0)
		return;
	if (k <= 0 || f->n_items <= 0)
	{
		memset(out_counts, 0, sizeof(int32_t) * n);
		return;
	}
	/* the most seen items any block holds: the n_seen of its users summed */
	for (int start = 0; start < n && f->seen_indptr; start += block)
	{
		int64_t		in_block = 0;

		for (int b = start; b < n && b < start + block; b++)
			in_block += f->seen_indptr[users[b] + 1] - f->seen_indptr[users[b]];
		if (in_block > max_seen)
			max_seen = in_block;
	}
	x = fr_alloc(fr_mul_size(fr_mul_size(block, f->k), sizeof(float)));
	tile = fr_alloc(fr_mul_size((size_t) block * TILE_ITEMS, sizeof(float)));
	heaps = fr_alloc(fr_mul_size(fr_mul_size(block, k), sizeof(FrTopkEntry)));
	sizes = fr_alloc(sizeof(int) * block);
	seen_at = fr_alloc(sizeof(int64_t) * block);
	seen_end = fr_alloc(sizeof(int64_t) * block);
	seen = fr_alloc(fr_mul_size(max_seen > 0 ? max_seen : 1, sizeof(int32_t)));

	for (int start = 0; start < n; start += block)
	{
		int			m = n - start < block ? n - start : block;

		block_topk(f, users + start, m, k, x, tile, heaps, sizes, seen_at, seen_end, seen,
				   out_items + (size_t) start * k, out_scores + (size_t) start * k,
				   out_counts + start);
	}
	fr_free(x);
	fr_free(tile);
	fr_free(heaps);
	fr_free(sizes);
	fr_free(seen_at);
	fr_free(seen_end);
	fr_free(seen);
}
