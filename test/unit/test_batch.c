/*
 * test_batch.c — fr_batch_topk against fr_topk on each user's full score
 * vector, computed one dot product at a time.  Factors and biases are small
 * integers and halves, so every score is exact in float whatever order the
 * GEMM adds in, and ties are frequent: the lists must agree item for item
 * and bit for bit.  Sizes cross the kernel's block of users and tile of
 * items; seen lists come unsorted; candidate subsets and biases (MF) too.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "kernel.h"
#include "tap.h"
#include "topk.h"

#define FACTORS 6

typedef struct Case
{
	int32_t		users;
	int32_t		items;
	int			k;
	bool		biases;
	bool		subset;			/* score every third item only */
	bool		seen;
} Case;

static float
small(FrRng *rng)
{
	return (float) ((int) fr_rng_below(rng, 7) - 3);
}

static int
run_case(const Case *c, uint64_t seed, char *why, size_t whylen)
{
	FrRng		rng;
	float	   *uf = malloc(sizeof(float) * c->users * FACTORS);
	float	   *itf = malloc(sizeof(float) * c->items * FACTORS);
	float	   *ub = malloc(sizeof(float) * c->users);
	float	   *ib = malloc(sizeof(float) * c->items);
	int64_t    *indptr = malloc(sizeof(int64_t) * (c->users + 1));
	int32_t    *indices = malloc(sizeof(int32_t) * c->users * 40);
	int32_t    *index = malloc(sizeof(int32_t) * c->items);
	int32_t    *row = malloc(sizeof(int32_t) * c->items);
	float	   *rows_f = malloc(sizeof(float) * c->items * FACTORS);
	float	   *rows_b = malloc(sizeof(float) * c->items);
	int32_t    *users = malloc(sizeof(int32_t) * c->users);
	int32_t    *got_items = malloc(sizeof(int32_t) * c->users * c->k);
	float	   *got_scores = malloc(sizeof(float) * c->users * c->k);
	int32_t    *got_counts = malloc(sizeof(int32_t) * c->users);
	float	   *scores = malloc(sizeof(float) * c->items);
	uint8_t    *skip = malloc(c->items);
	int32_t    *want_items = malloc(sizeof(int32_t) * c->k);
	float	   *want_scores = malloc(sizeof(float) * c->k);
	int32_t		n_rows = 0;
	FrBatchFactors f = {0};
	int			good = 1;

	fr_rng_seed(&rng, seed);
	for (int i = 0; i < c->users * FACTORS; i++)
		uf[i] = small(&rng);
	for (int i = 0; i < c->items * FACTORS; i++)
		itf[i] = small(&rng);
	for (int i = 0; i < c->users; i++)
		ub[i] = small(&rng) / 2;
	for (int i = 0; i < c->items; i++)
		ib[i] = small(&rng) / 2;
	indptr[0] = 0;
	for (int u = 0; u < c->users; u++)
	{
		int			n = c->seen ? (int) fr_rng_below(&rng, 40) : 0;

		/* unsorted, possibly repeated: the kernel must not rely on order */
		for (int j = 0; j < n; j++)
			indices[indptr[u] + j] = (int32_t) fr_rng_below(&rng, c->items);
		indptr[u + 1] = indptr[u] + n;
	}
	for (int i = 0; i < c->items; i++)
	{
		row[i] = -1;
		if (!c->subset || i % 3 == 0)
		{
			index[n_rows] = i;
			row[i] = n_rows;
			memcpy(rows_f + (size_t) n_rows * FACTORS, itf + (size_t) i * FACTORS, sizeof(float) * FACTORS);
			rows_b[n_rows++] = ib[i];
		}
	}
	for (int u = 0; u < c->users; u++)
		users[u] = c->users - 1 - u;	/* any order */

	f.k = FACTORS;
	f.user_factors = uf;
	f.user_bias = c->biases ? ub : NULL;
	f.constant = c->biases ? 1.5f : 0.0f;
	f.n_items = n_rows;
	f.item_factors = rows_f;
	f.item_bias = c->biases ? rows_b : NULL;
	f.item_index = c->subset ? index : NULL;
	f.item_row = c->subset ? row : NULL;
	f.seen_indptr = c->seen ? indptr : NULL;
	f.seen_indices = c->seen ? indices : NULL;
	fr_batch_topk(&f, users, c->users, c->k, got_items, got_scores, got_counts);

	for (int b = 0; b < c->users && good; b++)
	{
		int32_t		u = users[b];
		int			want;

		memset(skip, 0, c->items);
		for (int64_t j = indptr[u]; c->seen && j < indptr[u + 1]; j++)
			skip[indices[j]] = 1;
		for (int i = 0; i < c->items; i++)
		{
			float		dot = 0;

			for (int q = 0; q < FACTORS; q++)
				dot += uf[u * FACTORS + q] * itf[i * FACTORS + q];
			scores[i] = c->biases ? dot + ((1.5f + ub[u]) + ib[i]) : dot;
		}
		want = fr_topk(scores, c->items, c->subset ? index : NULL, n_rows, skip, c->k,
					   want_items, want_scores);
		if (got_counts[b] != want)
		{
			snprintf(why, whylen, "user %d: %d items, want %d", u, got_counts[b], want);
			good = 0;
		}
		for (int r = 0; r < want && good; r++)
			if (got_items[b * c->k + r] != want_items[r] ||
				memcmp(&got_scores[b * c->k + r], &want_scores[r], sizeof(float)) != 0)
			{
				snprintf(why, whylen, "user %d rank %d: item %d (%g), want %d (%g)", u, r + 1,
						 got_items[b * c->k + r], got_scores[b * c->k + r], want_items[r], want_scores[r]);
				good = 0;
			}
	}
	if (good)
		snprintf(why, whylen, "ok");
	free(uf); free(itf); free(ub); free(ib); free(indptr); free(indices); free(index);
	free(row); free(rows_f); free(rows_b); free(users); free(got_items); free(got_scores);
	free(got_counts); free(scores); free(skip); free(want_items); free(want_scores);
	return good;
}

int
main(void)
{
	static const Case cases[] = {
		/* crosses blocks and tiles, seen items; the last tile's length no multiple of 64 */
		{2 * FR_BATCH_BLOCK_USERS + 44, 5000, 10, false, false, true},
		{FR_BATCH_BLOCK_USERS + 44, 5000, 10, true, false, true},	/* MF's biases */
		{FR_BATCH_BLOCK_USERS + 20, 4500, 7, false, true, true},	/* candidates: every third item */
		/* k 1, one user past a block and one item past two tiles */
		{FR_BATCH_BLOCK_USERS + 1, 2 * FR_BATCH_TILE_ITEMS + 1, 1, false, false, false},
		{5, 30, 25, false, false, true},		/* k near the catalogue: seen items leave fewer */
		{3, 10, 50, true, true, false},			/* k past the items scored */
		{1, 1, 1, false, false, false},
	};
	char		why[200];

	for (int i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++)
	{
		const Case *c = &cases[i];

		ok(run_case(c, 42 + i, why, sizeof(why)),
		   "%d users x %d items, k %d%s%s%s: %s", c->users, c->items, c->k,
		   c->biases ? ", biases" : "", c->subset ? ", candidates" : "",
		   c->seen ? ", seen excluded" : "", why);
	}

	/* no items scored (no candidate known): nothing, for every user */
	{
		FrBatchFactors f = {0};
		float		uf[FACTORS] = {1};
		int32_t		user = 0,
					items[3],
					counts[1] = {99};
		float		scores[3];

		f.k = FACTORS;
		f.user_factors = uf;
		fr_batch_topk(&f, &user, 1, 3, items, scores, counts);
		ok(counts[0] == 0, "no items: no rows (got %d)", counts[0]);
	}
	return done_testing();
}
