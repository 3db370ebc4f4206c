/*
 * test_csr.c — fr_dense_ids against sorting and binary search (ids of every
 * size and sign, many repeats, the extremes of int64), and fr_csr_from_coo
 * against a dense matrix: duplicates summed, the latest time kept, columns
 * ascending, on rows shorter and longer than its insertion-sort limit.
 */
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "kernel.h"
#include "tap.h"

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* 1 when fr_dense_ids agrees with sort + unique + binary search */
static int
dense_agrees(const int64_t *ids, int64_t n)
{
	int32_t    *dense = malloc(sizeof(int32_t) * (n ? n : 1));
	int64_t    *sorted = malloc(sizeof(int64_t) * (n ? n : 1));
	int64_t		m = 0,
				got_m;
	int64_t    *got = fr_dense_ids(ids, n, dense, &got_m);
	int			good = 1;

	memcpy(sorted, ids, sizeof(int64_t) * n);
	qsort(sorted, n, sizeof(int64_t), cmp_i64);
	for (int64_t i = 0; i < n; i++)
		if (i == 0 || sorted[i] != sorted[m - 1])
			sorted[m++] = sorted[i];
	good = got_m == m && memcmp(got, sorted, sizeof(int64_t) * m) == 0;
	for (int64_t i = 0; i < n && good; i++)
		good = dense[i] >= 0 && dense[i] < m && sorted[dense[i]] == ids[i];
	fr_free(got);
	free(dense);
	free(sorted);
	return good;
}

int
main(void)
{
	FrRng		rng;
	static int64_t ids[200000];

	fr_rng_seed(&rng, 7);
	for (int i = 0; i < 200000; i++)
		ids[i] = (int64_t) fr_rng_below(&rng, 5000) + 1;
	ok(dense_agrees(ids, 200000), "200000 ids under 5001: one radix pass");
	for (int i = 0; i < 200000; i++)
		ids[i] = (int64_t) fr_rng_next(&rng);
	ok(dense_agrees(ids, 200000), "200000 ids over the whole int64 range, negatives included: every pass");
	for (int i = 0; i < 1000; i++)
		ids[i] = (i % 3 == 0) ? INT64_MIN : (i % 3 == 1) ? INT64_MAX : -1;
	ok(dense_agrees(ids, 1000), "INT64_MIN, -1 and INT64_MAX repeated");
	for (int i = 0; i < 1000; i++)
		ids[i] = 42;
	ok(dense_agrees(ids, 1000), "one id repeated: no pass at all");
	ok(dense_agrees(ids, 1), "one id");
	ok(dense_agrees(ids, 0), "no ids");

	/* fr_csr_from_coo against a dense matrix */
	{
		enum { NR = 40, NC = 30, N = 3000 };
		static int32_t rows[N], cols[N];
		static float vals[N];
		static double times[N];
		static float want[NR][NC];
		static double want_t[NR][NC];
		static int	present[NR][NC];
		FrCsr		m;
		double	   *t_out;
		int			good = 1;

		memset(want, 0, sizeof(want));
		for (int i = 0; i < N; i++)
		{
			/* row 0 is long (a third of the entries), the others short */
			rows[i] = i % 3 == 0 ? 0 : (int32_t) fr_rng_below(&rng, NR);
			cols[i] = (int32_t) fr_rng_below(&rng, NC);
			vals[i] = (float) (1 + fr_rng_below(&rng, 4));
			times[i] = (double) fr_rng_below(&rng, 1000);
			want[rows[i]][cols[i]] += vals[i];
			if (!present[rows[i]][cols[i]] || times[i] > want_t[rows[i]][cols[i]])
				want_t[rows[i]][cols[i]] = times[i];
			present[rows[i]][cols[i]] = 1;
		}
		fr_csr_from_coo(&m, NR, NC, N, rows, cols, vals, times, &t_out);
		for (int r = 0; r < NR && good; r++)
		{
			int			c_prev = -1;

			for (int64_t j = m.indptr[r]; j < m.indptr[r + 1] && good; j++)
			{
				int			c = m.indices[j];

				good = c > c_prev && present[r][c] && m.values[j] == want[r][c] && t_out[j] == want_t[r][c];
				c_prev = c;
			}
			for (int c = 0, n = 0; c < NC && good; c++)
				n += present[r][c], good = c < NC - 1 || n == m.indptr[r + 1] - m.indptr[r];
		}
		ok(good, "COO to CSR: sums, latest times, ascending columns, on a long row and short ones");
	}
	return done_testing();
}
