/*
 * svec_ops.c — validation and arithmetic of sparse vectors (svec_ops.h).
 *
 * Every binary operation is one merge of the two sorted index lists, so it
 * costs O(nnz_a + nnz_b) whatever the dimension.
 */
#include <math.h>

#include "kernel.h"
#include "svec_ops.h"

FrSvecStatus
fr_svec_check_shape(int64_t dim, int64_t nnz)
{
	if (dim < 1)
		return FR_SVEC_DIM_TOO_SMALL;
	if (dim > FR_SVEC_MAX_DIM)
		return FR_SVEC_DIM_TOO_LARGE;
	if (nnz < 0)
		return FR_SVEC_NNZ_NEGATIVE;
	if (nnz > FR_SVEC_MAX_NNZ)
		return FR_SVEC_NNZ_TOO_LARGE;
	if (nnz > dim)
		return FR_SVEC_NNZ_ABOVE_DIM;
	return FR_SVEC_OK;
}

FrSvecStatus
fr_svec_check(int64_t dim, int64_t nnz, const int32_t *indices,
			  const float *values, int32_t *bad)
{
	FrSvecStatus st = fr_svec_check_shape(dim, nnz);

	*bad = 0;
	if (st != FR_SVEC_OK)
		return st;
	for (int32_t i = 0; i < (int32_t) nnz; i++)
	{
		*bad = i;
		if (indices[i] < 0 || indices[i] >= dim)
			return FR_SVEC_INDEX_RANGE;
		if (i > 0 && indices[i] == indices[i - 1])
			return FR_SVEC_INDEX_DUPLICATE;
		if (i > 0 && indices[i] < indices[i - 1])
			return FR_SVEC_INDEX_ORDER;
		if (isnan(values[i]))
			return FR_SVEC_VALUE_NAN;
		if (isinf(values[i]))
			return FR_SVEC_VALUE_INF;
	}
	*bad = 0;
	return FR_SVEC_OK;
}

int32_t
fr_svec_drop_zeros(int32_t nnz, int32_t *indices, float *values)
{
	int32_t		m = 0;

	for (int32_t i = 0; i < nnz; i++)
		if (values[i] != 0.0f)
		{
			indices[m] = indices[i];
			values[m++] = values[i];
		}
	return m;
}

double
fr_svec_dot(int32_t na, const int32_t *ia, const float *va,
			int32_t nb, const int32_t *ib, const float *vb)
{
	double		sum = 0.0;
	int32_t		i = 0,
				j = 0;

	while (i < na && j < nb)
	{
		if (ia[i] == ib[j])
			sum += (double) va[i++] * vb[j++];
		else if (ia[i] < ib[j])
			i++;
		else
			j++;
	}
	return sum;
}

double
fr_svec_norm(int32_t n, const float *v)
{
	double		sum = 0.0;

	for (int32_t i = 0; i < n; i++)
		sum += (double) v[i] * v[i];
	return sqrt(sum);
}

double
fr_svec_l2_distance(int32_t na, const int32_t *ia, const float *va,
					int32_t nb, const int32_t *ib, const float *vb)
{
	double		sum = 0.0;
	int32_t		i = 0,
				j = 0;

	while (i < na || j < nb)
	{
		double		d;

		if (j >= nb || (i < na && ia[i] < ib[j]))
			d = va[i++];
		else if (i >= na || ib[j] < ia[i])
			d = vb[j++];
		else
			d = (double) va[i++] - vb[j++];
		sum += d * d;
	}
	return sqrt(sum);
}

double
fr_svec_cosine_distance(int32_t na, const int32_t *ia, const float *va,
						int32_t nb, const int32_t *ib, const float *vb)
{
	double		norms = fr_svec_norm(na, va) * fr_svec_norm(nb, vb);
	double		sim;

	if (!(norms > 0.0))
		return NAN;
	sim = fr_svec_dot(na, ia, va, nb, ib, vb) / norms;
	/* rounding can push |cos| a hair past 1 */
	if (sim > 1.0)
		sim = 1.0;
	else if (sim < -1.0)
		sim = -1.0;
	return 1.0 - sim;
}

void
fr_svec_l2_normalize(int32_t n, float *v)
{
	double		norm = fr_svec_norm(n, v);

	if (!(norm > 0.0))
		return;
	for (int32_t i = 0; i < n; i++)
		v[i] = (float) (v[i] / norm);
}

void
fr_svec_score_postings(const FrCsr *postings, int32_t n, const int32_t *qf,
					   const float *qv, int32_t n_items, float *scores)
{
	for (int32_t j = 0; j < n_items; j++)
		scores[j] = NAN;
	for (int32_t q = 0; q < n; q++)
	{
		int32_t		f = qf[q];
		float		v = qv[q];

		if (f < 0 || f >= postings->nrows)
			continue;			/* a feature no item has */
		for (int64_t p = postings->indptr[f]; p < postings->indptr[f + 1]; p++)
		{
			int32_t		j = postings->indices[p];
			float		s = scores[j];

			scores[j] = (isnan(s) ? 0.0f : s) + v * postings->values[p];
		}
		if ((q & 255) == 255)
			fr_check_interrupts();
	}
}

int32_t
fr_svec_profile(const FrCsr *rows, const int32_t *items, const float *weights,
				int32_t n, int32_t n_features, int32_t *out_features, float *out_values)
{
	double	   *sum = fr_alloc(fr_mul_size(n_features > 0 ? n_features : 1, sizeof(double)));
	uint8_t    *used = fr_alloc(n_features > 0 ? n_features : 1);
	int32_t		m = 0;
	double		norm = 0.0;

	for (int32_t k = 0; k < n; k++)
	{
		int32_t		i = items[k];
		double		w = weights ? weights[k] : 1.0;

		if (i < 0 || i >= rows->nrows || !(w > 0))
			continue;
		for (int64_t p = rows->indptr[i]; p < rows->indptr[i + 1]; p++)
		{
			int32_t		f = rows->indices[p];

			if (f < 0 || f >= n_features)
				continue;
			if (!used[f])
			{
				used[f] = 1;
				out_features[m++] = f;
			}
			sum[f] += w * rows->values[p];
		}
	}
	for (int32_t q = 0; q < m; q++)
		norm += sum[out_features[q]] * sum[out_features[q]];
	norm = sqrt(norm);
	if (!(norm > 0))
		m = 0;
	for (int32_t q = 0; q < m; q++)
		out_values[q] = (float) (sum[out_features[q]] / norm);
	fr_free(sum);
	fr_free(used);
	return m;
}
