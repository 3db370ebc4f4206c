/*
 * test_svec.c — sparse vector kernels: validation statuses, the merge-based
 * operations against dense brute force, and content scoring through
 * postings against dense dot products.
 */
#include <stdlib.h>
#include <string.h>

#include "svec_ops.h"
#include "tap.h"

#define DIM 40

/* a random sparse vector: about density * DIM entries, ascending */
static int32_t
random_svec(FrRng *rng, double density, int32_t *idx, float *val, double *dense)
{
	int32_t		n = 0;

	for (int32_t i = 0; i < DIM; i++)
	{
		dense[i] = 0;
		if (fr_rng_uniform(rng) < density)
		{
			idx[n] = i;
			val[n] = (float) (fr_rng_uniform(rng) * 4 - 2);
			dense[i] = val[n];
			n++;
		}
	}
	return n;
}

static void
test_checks(void)
{
	int32_t		idx[4] = {0, 2, 5, 7};
	float		val[4] = {1, -2, 0.5f, 3};
	int32_t		bad;

	ok(fr_svec_check_shape(1, 0) == FR_SVEC_OK, "shape 1/0 is fine");
	ok(fr_svec_check_shape(0, 0) == FR_SVEC_DIM_TOO_SMALL, "dimension 0");
	ok(fr_svec_check_shape(-3, 0) == FR_SVEC_DIM_TOO_SMALL, "negative dimension");
	ok(fr_svec_check_shape(FR_SVEC_MAX_DIM, 0) == FR_SVEC_OK, "largest dimension");
	ok(fr_svec_check_shape((int64_t) FR_SVEC_MAX_DIM + 1, 0) == FR_SVEC_DIM_TOO_LARGE, "dimension limit");
	ok(fr_svec_check_shape(5, -1) == FR_SVEC_NNZ_NEGATIVE, "negative nnz");
	ok(fr_svec_check_shape(FR_SVEC_MAX_DIM, FR_SVEC_MAX_NNZ) == FR_SVEC_OK, "largest nnz");
	ok(fr_svec_check_shape(FR_SVEC_MAX_DIM, (int64_t) FR_SVEC_MAX_NNZ + 1) == FR_SVEC_NNZ_TOO_LARGE, "nnz limit");
	ok(fr_svec_check_shape(3, 4) == FR_SVEC_NNZ_ABOVE_DIM, "nnz above dim");

	ok(fr_svec_check(8, 4, idx, val, &bad) == FR_SVEC_OK, "a valid vector");
	ok(fr_svec_check(7, 4, idx, val, &bad) == FR_SVEC_INDEX_RANGE && bad == 3, "index = dim, at entry 3");
	idx[1] = -1;
	ok(fr_svec_check(8, 4, idx, val, &bad) == FR_SVEC_INDEX_RANGE && bad == 1, "negative index, at entry 1");
	idx[1] = 6;
	ok(fr_svec_check(8, 4, idx, val, &bad) == FR_SVEC_INDEX_ORDER && bad == 2, "descending indices, at entry 2");
	idx[1] = 5;
	ok(fr_svec_check(8, 4, idx, val, &bad) == FR_SVEC_INDEX_DUPLICATE && bad == 2, "duplicate index, at entry 2");
	idx[1] = 2;
	val[2] = NAN;
	ok(fr_svec_check(8, 4, idx, val, &bad) == FR_SVEC_VALUE_NAN && bad == 2, "NaN, at entry 2");
	val[2] = -INFINITY;
	ok(fr_svec_check(8, 4, idx, val, &bad) == FR_SVEC_VALUE_INF && bad == 2, "infinity, at entry 2");
	val[2] = 0;
	ok(fr_svec_check(8, 4, idx, val, &bad) == FR_SVEC_OK, "zeros are valid (dropped later)");
	ok(fr_svec_drop_zeros(4, idx, val) == 3 && idx[2] == 7 && val[2] == 3, "drop_zeros compacts in order");
}

static void
test_against_dense(void)
{
	FrRng		rng;
	int			bad_dot = 0,
				bad_l2 = 0,
				bad_cos = 0;

	fr_rng_seed(&rng, 7);
	for (int trial = 0; trial < 500; trial++)
	{
		int32_t		ia[DIM],
					ib[DIM];
		float		va[DIM],
					vb[DIM];
		double		da[DIM],
					db[DIM];
		int32_t		na = random_svec(&rng, 0.05 + 0.9 * fr_rng_uniform(&rng), ia, va, da);
		int32_t		nb = random_svec(&rng, 0.05 + 0.9 * fr_rng_uniform(&rng), ib, vb, db);
		double		dot = 0,
					l2 = 0,
					naa = 0,
					nbb = 0;

		for (int i = 0; i < DIM; i++)
		{
			dot += da[i] * db[i];
			l2 += (da[i] - db[i]) * (da[i] - db[i]);
			naa += da[i] * da[i];
			nbb += db[i] * db[i];
		}
		bad_dot += fabs(fr_svec_dot(na, ia, va, nb, ib, vb) - dot) > 1e-9;
		bad_l2 += fabs(fr_svec_l2_distance(na, ia, va, nb, ib, vb) - sqrt(l2)) > 1e-9;
		if (naa > 0 && nbb > 0)
			bad_cos += fabs(fr_svec_cosine_distance(na, ia, va, nb, ib, vb) -
							(1 - dot / sqrt(naa * nbb))) > 1e-9;
		else
			bad_cos += !isnan(fr_svec_cosine_distance(na, ia, va, nb, ib, vb));
	}
	ok(bad_dot == 0, "dot product = dense, 500 random pairs (%d off)", bad_dot);
	ok(bad_l2 == 0, "L2 distance = dense, 500 random pairs (%d off)", bad_l2);
	ok(bad_cos == 0, "cosine distance = dense, 500 random pairs (%d off)", bad_cos);
}

static void
test_hand_values(void)
{
	/* a = (1, 2, 0), b = (0, 2, 3) */
	int32_t		ia[2] = {0, 1},
				ib[2] = {1, 2};
	float		va[2] = {1, 2},
				vb[2] = {2, 3};
	float		v[2] = {3, 4};
	float		big[2] = {1.8e38f, 2.4e38f};

	ok_near(fr_svec_dot(2, ia, va, 2, ib, vb), 4, 1e-12, "a.b = 4");
	ok_near(fr_svec_l2_distance(2, ia, va, 2, ib, vb), sqrt(10), 1e-12, "|a - b| = sqrt 10");
	ok_near(fr_svec_cosine_distance(2, ia, va, 2, ib, vb), 1 - 4 / sqrt(65), 1e-12, "cosine distance");
	ok_near(fr_svec_cosine_distance(2, ia, va, 2, ia, va), 0, 1e-12, "cosine distance to itself");
	ok(isnan(fr_svec_cosine_distance(0, ia, va, 2, ib, vb)), "cosine with a zero vector is NaN");
	ok_near(fr_svec_l2_distance(0, ia, va, 2, ib, vb), sqrt(13), 1e-12, "L2 to the zero vector is the norm");
	fr_svec_l2_normalize(2, v);
	ok(fabs(v[0] - 0.6) < 1e-7 && fabs(v[1] - 0.8) < 1e-7, "(3, 4) normalises to (0.6, 0.8)");
	fr_svec_l2_normalize(2, big);
	ok(fabs(big[0] - 0.6) < 1e-7 && fabs(big[1] - 0.8) < 1e-7, "no overflow near FLT_MAX: norms run in double");
}

/* postings scoring and profiles against dense arithmetic */
#define NI 60
#define NF 25

static void
test_postings(void)
{
	FrRng		rng;
	static int32_t rows[NI * NF],
				cols[NI * NF];
	static float vals[NI * NF];
	static double dense[NI][NF];
	int64_t		n = 0;
	FrCsr		x,
				xt;
	float		scores[NI];
	int32_t		feat[NF];
	float		pval[NF];
	int			bad_sim = 0,
				bad_nan = 0,
				bad_profile = 0;

	fr_rng_seed(&rng, 11);
	for (int i = 0; i < NI; i++)
	{
		double		norm = 0;

		for (int f = 0; f < NF; f++)
		{
			dense[i][f] = fr_rng_uniform(&rng) < 0.15 ? fr_rng_uniform(&rng) + 0.1 : 0;
			norm += dense[i][f] * dense[i][f];
		}
		for (int f = 0; f < NF; f++)
			if (dense[i][f] != 0)
			{
				dense[i][f] /= sqrt(norm);
				rows[n] = i;
				cols[n] = f;
				vals[n++] = (float) dense[i][f];
			}
	}
	fr_csr_from_coo(&x, NI, NF, n, rows, cols, vals, NULL, NULL);
	fr_csr_transpose(&x, &xt);

	for (int q = 0; q < NI; q++)
	{
		int64_t		lo = x.indptr[q];

		fr_svec_score_postings(&xt, (int32_t) (x.indptr[q + 1] - lo), x.indices + lo, x.values + lo,
							   NI, scores);
		for (int j = 0; j < NI; j++)
		{
			double		dot = 0;
			int			shares = 0;

			for (int f = 0; f < NF; f++)
			{
				dot += dense[q][f] * dense[j][f];
				shares |= dense[q][f] != 0 && dense[j][f] != 0;
			}
			if (!shares)
				bad_nan += !isnan(scores[j]);
			else
				bad_sim += !(fabs(scores[j] - dot) < 1e-5);
		}
	}
	ok(bad_sim == 0, "postings scores = dense cosine for items sharing a feature (%d off)", bad_sim);
	ok(bad_nan == 0, "items sharing no feature score NaN (%d off)", bad_nan);

	/* profile of items {3, 8, 20} with weights {1, 2, 0.5} */
	{
		int32_t		items[3] = {3, 8, 20};
		float		w[3] = {1, 2, 0.5f};
		double		sum[NF] = {0},
					norm = 0;
		int32_t		m = fr_svec_profile(&x, items, w, 3, NF, feat, pval);

		for (int k = 0; k < 3; k++)
			for (int f = 0; f < NF; f++)
				sum[f] += w[k] * dense[items[k]][f];
		for (int f = 0; f < NF; f++)
			norm += sum[f] * sum[f];
		norm = sqrt(norm);
		for (int q = 0; q < m; q++)
			bad_profile += !(fabs(pval[q] - sum[feat[q]] / norm) < 1e-6);
		/* exactly the features with a non-zero sum */
		for (int f = 0; f < NF; f++)
		{
			int			found = 0;

			for (int q = 0; q < m; q++)
				found |= feat[q] == f;
			bad_profile += (sum[f] != 0) != found;
		}
		ok(bad_profile == 0 && m > 0, "profile = normalised weighted sum (%d features, %d off)", m, bad_profile);
	}
	{
		int32_t		items[2] = {3, 999};
		float		w[2] = {0, 1};

		ok(fr_svec_profile(&x, items, w, 2, NF, feat, pval) == 0,
		   "zero weights and out-of-range items give an empty profile");
	}
	fr_free(x.indptr);
	fr_free(x.indices);
	fr_free(x.values);
	fr_free(xt.indptr);
	fr_free(xt.indices);
	fr_free(xt.values);
}

int
main(void)
{
	test_checks();
	test_against_dense();
	test_hand_values();
	test_postings();
	return done_testing();
}
