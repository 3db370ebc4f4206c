/*
 * csr.c — building and transposing interaction matrices.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csr.h"

int64_t
fr_find_id(const int64_t *ids, int64_t n, int64_t id)
{
	int64_t		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else if (ids[mid] > id)
			hi = mid - 1;
		else
			return mid;
	}
	return -1;
}

/* bits of the key sorted per pass: 2048 buckets stay in L1 while scattering */
#define RADIX_BITS 11
#define RADIX_MASK ((1u << RADIX_BITS) - 1)

int64_t *
fr_dense_ids(const int64_t *ids, int64_t n, int32_t *dense, int64_t *n_distinct)
{
	uint64_t   *key,
			   *key2;
	uint32_t   *pos,
			   *pos2;
	int64_t    *count;
	uint64_t	differ = 0;
	int64_t		m = 0;
	int64_t    *distinct;

	if (n > INT32_MAX)
		fr_fail(FR_FAIL_LIMIT, "too many rows to index: %lld", (long long) n);
	*n_distinct = 0;
	if (n <= 0)
		return fr_alloc(sizeof(int64_t));
	key = fr_alloc(fr_mul_size((size_t) n, sizeof(uint64_t)));
	key2 = fr_alloc(fr_mul_size((size_t) n, sizeof(uint64_t)));
	pos = fr_alloc(fr_mul_size((size_t) n, sizeof(uint32_t)));
	pos2 = fr_alloc(fr_mul_size((size_t) n, sizeof(uint32_t)));
	count = fr_alloc(sizeof(int64_t) * (RADIX_MASK + 1));

	/* flipping the sign bit orders signed ids as unsigned keys */
	for (int64_t i = 0; i < n; i++)
	{
		key[i] = (uint64_t) ids[i] ^ (UINT64_C(1) << 63);
		pos[i] = (uint32_t) i;
		differ |= key[i] ^ key[0];
	}
	/* digits above the highest bit where any two keys differ need no pass */
	for (int shift = 0; shift < 64 && (differ >> shift) != 0; shift += RADIX_BITS)
	{
		uint64_t   *kt;
		uint32_t   *pt;
		int64_t		sum = 0;

		fr_check_interrupts();
		memset(count, 0, sizeof(int64_t) * (RADIX_MASK + 1));
		for (int64_t i = 0; i < n; i++)
			count[(key[i] >> shift) & RADIX_MASK]++;
		for (uint32_t d = 0; d <= RADIX_MASK; d++)
		{
			int64_t		c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (int64_t i = 0; i < n; i++)
		{
			int64_t		j = count[(key[i] >> shift) & RADIX_MASK]++;

			key2[j] = key[i];
			pos2[j] = pos[i];
		}
		kt = key, key = key2, key2 = kt;
		pt = pos, pos = pos2, pos2 = pt;
	}

	for (int64_t i = 0; i < n; i++)
	{
		if (i == 0 || key[i] != key[i - 1])
			key2[m++] = key[i];
		dense[pos[i]] = (int32_t) (m - 1);
	}
	distinct = fr_alloc(fr_mul_size((size_t) m, sizeof(int64_t)));
	for (int64_t i = 0; i < m; i++)
		distinct[i] = (int64_t) (key2[i] ^ (UINT64_C(1) << 63));
	*n_distinct = m;
	fr_free(key);
	fr_free(key2);
	fr_free(pos);
	fr_free(pos2);
	fr_free(count);
	return distinct;
}

size_t
fr_csr_bytes(int32_t nrows, int64_t nnz)
{
	size_t		bytes = fr_mul_size((size_t) nrows + 1, sizeof(int64_t));

	return fr_add_size(bytes, fr_mul_size((size_t) nnz,
										  sizeof(int32_t) + sizeof(float)));
}

/* Sort one row's entries by column: rows are short, insertion sort on long
 * ones would be quadratic, so qsort above SHORT_ROW entries. */
#define SHORT_ROW 32
typedef struct ColEntry
{
	int32_t		col;
	int64_t		src;			/* position in the input triples */
} ColEntry;

static int
col_entry_cmp(const void *a, const void *b)
{
	const ColEntry *x = a;
	const ColEntry *y = b;

	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->src < y->src ? -1 : (x->src > y->src);
}

void
fr_csr_from_coo(FrCsr *out, int32_t nrows, int32_t ncols, int64_t n,
				const int32_t *rows, const int32_t *cols,
				const float *vals, const double *times, double **times_out)
{
	int64_t    *start = fr_alloc(fr_mul_size((size_t) nrows + 1, sizeof(int64_t)));
	int64_t    *fill;
	ColEntry   *entries = fr_alloc(fr_mul_size((size_t) (n > 0 ? n : 1), sizeof(ColEntry)));
	int64_t		nnz = 0;

	/* counting sort of the triples by row */
	for (int64_t i = 0; i < n; i++)
		start[rows[i] + 1]++;
	for (int32_t r = 0; r < nrows; r++)
		start[r + 1] += start[r];
	fill = fr_alloc(fr_mul_size((size_t) nrows + 1, sizeof(int64_t)));
	memcpy(fill, start, sizeof(int64_t) * ((size_t) nrows + 1));
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		pos = fill[rows[i]]++;

		entries[pos].col = cols[i];
		entries[pos].src = i;
	}
	fr_free(fill);

	out->nrows = nrows;
	out->ncols = ncols;
	out->indptr = fr_alloc(fr_mul_size((size_t) nrows + 1, sizeof(int64_t)));

	/* first pass: sort each row and count distinct columns */
	for (int32_t r = 0; r < nrows; r++)
	{
		int64_t		lo = start[r],
					hi = start[r + 1];

		if ((r & 4095) == 0)
			fr_check_interrupts();
		if (hi - lo > SHORT_ROW)
			qsort(entries + lo, hi - lo, sizeof(ColEntry), col_entry_cmp);
		else
			/* stable: the counting sort left each row in input order */
			for (int64_t j = lo + 1; j < hi; j++)
			{
				ColEntry	e = entries[j];
				int64_t		q = j;

				for (; q > lo && entries[q - 1].col > e.col; q--)
					entries[q] = entries[q - 1];
				entries[q] = e;
			}
		for (int64_t j = lo; j < hi; j++)
			if (j == lo || entries[j].col != entries[j - 1].col)
				nnz++;
	}

	out->nnz = nnz;
	out->indices = fr_alloc(fr_mul_size((size_t) (nnz > 0 ? nnz : 1), sizeof(int32_t)));
	out->values = fr_alloc(fr_mul_size((size_t) (nnz > 0 ? nnz : 1), sizeof(float)));
	if (times_out)
		*times_out = times ? fr_alloc(fr_mul_size((size_t) (nnz > 0 ? nnz : 1), sizeof(double))) : NULL;

	/* second pass: merge duplicates, summing weights and keeping the latest time */
	nnz = 0;
	for (int32_t r = 0; r < nrows; r++)
	{
		out->indptr[r] = nnz;
		for (int64_t j = start[r]; j < start[r + 1]; j++)
		{
			int64_t		src = entries[j].src;
			float		v = vals ? vals[src] : 1.0f;

			if (j == start[r] || entries[j].col != entries[j - 1].col)
			{
				out->indices[nnz] = entries[j].col;
				out->values[nnz] = v;
				if (times_out && times)
					(*times_out)[nnz] = times[src];
				nnz++;
			}
			else
			{
				out->values[nnz - 1] += v;
				if (times_out && times && times[src] > (*times_out)[nnz - 1])
					(*times_out)[nnz - 1] = times[src];
			}
		}
	}
	out->indptr[nrows] = nnz;
	fr_free(entries);
	fr_free(start);
}

void
fr_csr_transpose(const FrCsr *in, FrCsr *out)
{
	int64_t    *fill;
	size_t		nnz_alloc = (size_t) (in->nnz > 0 ? in->nnz : 1);

	out->nrows = in->ncols;
	out->ncols = in->nrows;
	out->nnz = in->nnz;
	out->indptr = fr_alloc(fr_mul_size((size_t) in->ncols + 1, sizeof(int64_t)));
	out->indices = fr_alloc(fr_mul_size(nnz_alloc, sizeof(int32_t)));
	out->values = fr_alloc(fr_mul_size(nnz_alloc, sizeof(float)));

	for (int64_t j = 0; j < in->nnz; j++)
		out->indptr[in->indices[j] + 1]++;
	for (int32_t c = 0; c < in->ncols; c++)
		out->indptr[c + 1] += out->indptr[c];

	fill = fr_alloc(fr_mul_size((size_t) in->ncols + 1, sizeof(int64_t)));
	memcpy(fill, out->indptr, sizeof(int64_t) * ((size_t) in->ncols + 1));
	/* walking rows in order keeps each output row sorted by column */
	for (int32_t r = 0; r < in->nrows; r++)
		for (int64_t j = in->indptr[r]; j < in->indptr[r + 1]; j++)
		{
			int64_t		pos = fill[in->indices[j]]++;

			out->indices[pos] = r;
			out->values[pos] = in->values[j];
		}
	fr_free(fill);
}
