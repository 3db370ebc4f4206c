/*
 * sequence.c — first-order item transitions within sessions.
 *
 * A session is a run of a user's events with no pause longer than the gap.
 * Within it, every item "leads to" the next few items, the nearer the more
 * (1 / distance): a windowed first-order Markov chain, the classic baseline
 * for session-based recommendation, which stays competitive with neural
 * models on short sessions and costs one sparse row per request.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "sequence.h"

typedef struct TimedItem
{
	double		time;
	int32_t		item;
} TimedItem;

static int
cmp_timed(const void *a, const void *b)
{
	const TimedItem *x = a;
	const TimedItem *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

typedef struct Successor
{
	float		weight;
	int32_t		item;
} Successor;

/* strongest first, ties by item */
static int
cmp_successor(const void *a, const void *b)
{
	const Successor *x = a;
	const Successor *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

static int
cmp_successor_item(const void *a, const void *b)
{
	const Successor *x = a;
	const Successor *y = b;

	return (x->item > y->item) - (x->item < y->item);
}

void
fr_sequence_fit(const FrSequenceOptions *opt, const FrCsr *ui, const double *times,
				FrCsr *trans, int64_t **recent_indptr, int32_t **recent_indices)
{
	int32_t		n_users = ui->nrows;
	int32_t		n_items = ui->ncols;
	int64_t		max_row = 0;
	int64_t		cap;
	int64_t		n = 0;
	int32_t    *rows,
			   *cols;
	float	   *vals;
	TimedItem  *seq;
	FrCsr		counts;
	int64_t		kept = 0;
	int64_t    *rptr;
	int32_t    *ridx;
	double		started = fr_now();

	if (opt->window < 1 || opt->max_neighbors < 1 || opt->recent < 1 || !(opt->gap_seconds >= 0))
		fr_fail(FR_FAIL_PARAM, "invalid sequence options");
	for (int32_t u = 0; u < n_users; u++)
		if (ui->indptr[u + 1] - ui->indptr[u] > max_row)
			max_row = ui->indptr[u + 1] - ui->indptr[u];
	cap = fr_mul_size((size_t) (ui->nnz > 0 ? ui->nnz : 1), (size_t) opt->window);
	rows = fr_alloc(fr_mul_size(cap, sizeof(int32_t)));
	cols = fr_alloc(fr_mul_size(cap, sizeof(int32_t)));
	vals = fr_alloc(fr_mul_size(cap, sizeof(float)));
	seq = fr_alloc(fr_mul_size((size_t) (max_row > 0 ? max_row : 1), sizeof(TimedItem)));
	rptr = fr_alloc(fr_mul_size((size_t) n_users + 1, sizeof(int64_t)));
	ridx = fr_alloc(fr_mul_size((size_t) (ui->nnz > 0 ? ui->nnz : 1), sizeof(int32_t)));

	for (int32_t u = 0; u < n_users; u++)
	{
		int64_t		lo = ui->indptr[u];
		int			len = (int) (ui->indptr[u + 1] - lo);
		int			start;

		if ((u & 1023) == 0)
			fr_check_interrupts();
		for (int p = 0; p < len; p++)
		{
			seq[p].time = times[lo + p];
			seq[p].item = ui->indices[lo + p];
		}
		qsort(seq, len, sizeof(TimedItem), cmp_timed);
		for (int p = 0; p < len; p++)
			for (int q = p + 1; q < len && q - p <= opt->window; q++)
			{
				/* the pause q-1 -> q ends the session */
				if (seq[q].time - seq[q - 1].time > opt->gap_seconds)
					break;
				rows[n] = seq[p].item;
				cols[n] = seq[q].item;
				vals[n] = 1.0f / (float) (q - p);
				n++;
			}
		start = len > opt->recent ? len - opt->recent : 0;
		rptr[u + 1] = rptr[u] + (len - start);
		for (int p = start; p < len; p++)
			ridx[rptr[u] + (p - start)] = seq[p].item;
	}
	fr_free(seq);

	fr_csr_from_coo(&counts, n_items, n_items, n, rows, cols, vals, NULL, NULL);
	fr_free(rows);
	fr_free(cols);
	fr_free(vals);

	/* strongest successors, scaled to probabilities, rows back in index order */
	trans->nrows = n_items;
	trans->ncols = n_items;
	trans->indptr = fr_alloc(fr_mul_size((size_t) n_items + 1, sizeof(int64_t)));
	for (int32_t i = 0; i < n_items; i++)
	{
		int64_t		len = counts.indptr[i + 1] - counts.indptr[i];

		trans->indptr[i + 1] = trans->indptr[i] + (len < opt->max_neighbors ? len : opt->max_neighbors);
	}
	trans->nnz = trans->indptr[n_items];
	trans->indices = fr_alloc(fr_mul_size((size_t) (trans->nnz > 0 ? trans->nnz : 1), sizeof(int32_t)));
	trans->values = fr_alloc(fr_mul_size((size_t) (trans->nnz > 0 ? trans->nnz : 1), sizeof(float)));
	{
		Successor  *row = fr_alloc(fr_mul_size((size_t) n_items + 1, sizeof(Successor)));

		for (int32_t i = 0; i < n_items; i++)
		{
			int64_t		lo = counts.indptr[i];
			int			len = (int) (counts.indptr[i + 1] - lo);
			int			keep = (int) (trans->indptr[i + 1] - trans->indptr[i]);
			double		total = 0;
			int64_t		out = trans->indptr[i];

			if ((i & 1023) == 0)
				fr_check_interrupts();
			for (int j = 0; j < len; j++)
			{
				row[j].weight = counts.values[lo + j];
				row[j].item = counts.indices[lo + j];
			}
			if (keep < len)
				qsort(row, len, sizeof(Successor), cmp_successor);
			for (int j = 0; j < keep; j++)
				total += row[j].weight;
			/* index order inside the row, as CSR promises */
			qsort(row, keep, sizeof(Successor), cmp_successor_item);
			for (int j = 0; j < keep; j++)
			{
				trans->indices[out + j] = row[j].item;
				trans->values[out + j] = total > 0 ? (float) (row[j].weight / total) : 0.0f;
			}
			kept += keep;
		}
		fr_free(row);
	}
	fr_free(counts.indptr);
	fr_free(counts.indices);
	fr_free(counts.values);
	fr_progress("sequence: %lld transitions from %lld steps, %lld kept in %.1f s",
				(long long) counts.nnz, (long long) n, (long long) kept, fr_now() - started);
	*recent_indptr = rptr;
	*recent_indices = ridx;
}

void
fr_sequence_score(const FrCsr *trans, const int32_t *items, const float *weights,
				  int n, double decay, float *scores)
{
	double		w = 1.0;

	memset(scores, 0, sizeof(float) * (size_t) trans->ncols);
	for (int r = n - 1; r >= 0; r--)
	{
		int32_t		i = items[r];
		float		f = (float) (w * (weights ? weights[r] : 1.0f));

		for (int64_t j = trans->indptr[i]; j < trans->indptr[i + 1]; j++)
			scores[trans->indices[j]] += f * trans->values[j];
		w *= decay;
	}
}
