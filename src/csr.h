/*
 * csr.h — compressed sparse row matrices of interactions.
 *
 * Training data arrive as (user, item, weight) triples; every algorithm reads
 * them as a user x item CSR matrix and, where it sweeps over items, its
 * transpose.  Rows are sorted by column index and hold no duplicates.
 */
#ifndef FR_CSR_H
#define FR_CSR_H

#include "kernel.h"

typedef struct FrCsr
{
	int32_t		nrows;
	int32_t		ncols;
	int64_t		nnz;
	int64_t    *indptr;			/* nrows + 1 offsets into indices/values */
	int32_t    *indices;		/* nnz column indices, ascending per row */
	float	   *values;			/* nnz values */
} FrCsr;

/*
 * Build a CSR matrix from coordinate triples; duplicate (row, col) pairs are
 * summed.  rows/cols must be in range.  times, when not NULL, is reduced to
 * the latest time per pair into *times_out (nnz entries, CSR order).
 */
extern void fr_csr_from_coo(FrCsr *out, int32_t nrows, int32_t ncols, int64_t n,
							const int32_t *rows, const int32_t *cols,
							const float *vals, const double *times,
							double **times_out);

extern void fr_csr_transpose(const FrCsr *in, FrCsr *out);

/*
 * Dense indices for n ids: dense[r] is the rank of ids[r] among the distinct
 * ids in ascending order, which are returned (fr_alloc, *n_distinct of
 * them).  A radix sort: linear in n, where a binary search per id costs a
 * cache miss per level.  n above INT32_MAX fails with FR_FAIL_LIMIT.
 */
extern int64_t *fr_dense_ids(const int64_t *ids, int64_t n, int32_t *dense,
							 int64_t *n_distinct);

/* Position of id in the ascending array ids[n], or -1. */
extern int64_t fr_find_id(const int64_t *ids, int64_t n, int64_t id);

/* Bytes needed by a CSR matrix with these dimensions (for memory budgets). */
extern size_t fr_csr_bytes(int32_t nrows, int64_t nnz);

#endif							/* FR_CSR_H */
