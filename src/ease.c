/*
 * ease.c — EASE closed form: Gram matrix, Cholesky inverse, weight matrix.
 *
 * The Gram matrix is built from the sparse rows (one pass over every pair of
 * items in each history), then inverted in place through LAPACK's potrf/potri
 * and turned into B in place, so training holds exactly one dense
 * n_keep x n_keep float matrix.  LAPACK cannot be interrupted, so interrupts
 * are checked between the phases and while building the Gram matrix.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ease.h"
#include "linalg.h"

typedef struct Popular
{
	int64_t		users;
	int32_t		item;
} Popular;

static int
popular_cmp(const void *a, const void *b)
{
	const Popular *x = a;
	const Popular *y = b;

	if (x->users != y->users)
		return x->users > y->users ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

int32_t
fr_ease_select_items(const FrCsr *iu, int32_t max_items,
					 int32_t *item_to_col, int32_t *col_to_item)
{
	int32_t		n_items = iu->nrows;
	int32_t		n_keep;
	Popular    *pop;

	if (max_items <= 0 || max_items >= n_items)
	{
		for (int32_t i = 0; i < n_items; i++)
			item_to_col[i] = col_to_item[i] = i;
		return n_items;
	}

	pop = fr_alloc(fr_mul_size((size_t) n_items, sizeof(Popular)));
	for (int32_t i = 0; i < n_items; i++)
	{
		pop[i].item = i;
		pop[i].users = iu->indptr[i + 1] - iu->indptr[i];
		item_to_col[i] = -1;
	}
	qsort(pop, n_items, sizeof(Popular), popular_cmp);
	for (int32_t c = 0; c < max_items; c++)
		item_to_col[pop[c].item] = 0;
	fr_free(pop);

	/* columns in item order keep B's rows in the same order as the items */
	n_keep = 0;
	for (int32_t i = 0; i < n_items; i++)
		if (item_to_col[i] == 0)
		{
			item_to_col[i] = n_keep;
			col_to_item[n_keep++] = i;
		}
	return n_keep;
}

size_t
fr_ease_memory(int32_t n_keep)
{
	return fr_mul_size(fr_mul_size((size_t) n_keep, (size_t) n_keep), sizeof(float));
}

void
fr_ease_fit(const FrCsr *ui, int32_t n_keep, const int32_t *item_to_col,
			double lambda, float *b)
{
	size_t		n = (size_t) n_keep;
	int32_t    *cols;
	double		started = fr_now();
	double		diag_sum = 0;

	if (!(lambda > 0))
		fr_fail(FR_FAIL_PARAM, "lambda must be greater than zero");
	memset(b, 0, fr_mul_size(n * n, sizeof(float)));
	cols = fr_alloc(fr_mul_size((size_t) ui->ncols + 1, sizeof(int32_t)));

	/*
	 * X^T X of the binary matrix: only the upper triangle, since potrf/potri
	 * read no more; the counts are exact in float up to 2^24 users per pair.
	 */
	for (int32_t u = 0; u < ui->nrows; u++)
	{
		int			len = 0;

		if ((u & 1023) == 0)
			fr_check_interrupts();
		for (int64_t p = ui->indptr[u]; p < ui->indptr[u + 1]; p++)
		{
			int32_t		c = item_to_col ? item_to_col[ui->indices[p]] : ui->indices[p];

			if (c >= 0)
				cols[len++] = c;
		}
		/* columns ascend with items, so c_a <= c_b below */
		for (int a = 0; a < len; a++)
		{
			float	   *row = b + (size_t) cols[a] * n;

			for (int q = a; q < len; q++)
				row[cols[q]] += 1.0f;
		}
	}
	fr_free(cols);
	for (size_t i = 0; i < n; i++)
	{
		diag_sum += b[i * n + i];
		b[i * n + i] += (float) lambda;
	}
	fr_progress("ease: gram matrix of %d items (%.0f interactions), %.1f s",
				n_keep, diag_sum, fr_now() - started);
	fr_check_interrupts();

	fr_spd_inverse(n_keep, b);
	fr_progress("ease: inverse by cholesky, %.1f s", fr_now() - started);
	fr_progress_step("ease: inverse done", 2, 3, NAN);
	fr_check_interrupts();

	/* B = -P / diag(P) column-wise, zero diagonal */
	{
		float	   *inv_diag = fr_alloc(fr_mul_size(n + 1, sizeof(float)));

		for (size_t j = 0; j < n; j++)
			inv_diag[j] = 1.0f / b[j * n + j];
		for (size_t i = 0; i < n; i++)
		{
			float	   *row = b + i * n;

			if ((i & 1023) == 0)
				fr_check_interrupts();
			for (size_t j = 0; j < n; j++)
				row[j] = -row[j] * inv_diag[j];
			row[i] = 0.0f;
		}
		fr_free(inv_diag);
	}
	fr_progress("ease: weights of %d items, %.1f s", n_keep, fr_now() - started);
	fr_progress_step("ease: weights done", 3, 3, NAN);
}

void
fr_ease_score(const float *b, int32_t n_keep, const int32_t *item_to_col,
			  const int32_t *col_to_item, const int32_t *items,
			  const float *weights, int n, float *scores)
{
	size_t		nk = (size_t) n_keep;
	float	   *acc;

	/* every item modelled: columns are item indices, add rows directly */
	if (item_to_col == NULL)
	{
		for (int t = 0; t < n; t++)
			fr_saxpy(n_keep, weights ? weights[t] : 1.0f,
					 b + (size_t) items[t] * nk, scores);
		return;
	}

	acc = fr_alloc(fr_mul_size(nk + 1, sizeof(float)));
	for (int t = 0; t < n; t++)
	{
		int32_t		c = item_to_col[items[t]];

		if (c >= 0)
			fr_saxpy(n_keep, weights ? weights[t] : 1.0f, b + (size_t) c * nk, acc);
	}
	for (size_t c = 0; c < nk; c++)
		scores[col_to_item[c]] += acc[c];
	fr_free(acc);
}
