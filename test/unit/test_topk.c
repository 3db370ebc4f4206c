/*
 * test_topk.c — fr_topk against a brute-force sort of the eligible items on
 * seeded random score vectors (many ties, NaN, ±Inf, skip masks, candidate
 * subsets, k from 0 to past the catalogue), then the edge cases one by one.
 *
 * The contract (topk.h): best first, ties to the lower item index; only the
 * subset's items when one is given; skipped items and NaN scores never; the
 * count written is min(k, eligible).  Callers (recommend.c via
 * fr_apply_filters, hybrid_serve.c) pass subsets of distinct in-range
 * indices, so subsets with repeats are outside the contract and not tested.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "tap.h"
#include "topk.h"

#define MAXN 300
#define SENTINEL_ITEM (-7)

typedef struct Ref
{
	float		score;
	int32_t		item;
} Ref;

/* best first: higher score, then lower index; +Inf and -Inf compare as numbers */
static int
ref_cmp(const void *a, const void *b)
{
	const Ref  *x = a;
	const Ref  *y = b;

	if (x->score > y->score)
		return -1;
	if (x->score < y->score)
		return 1;
	return (x->item > y->item) - (x->item < y->item);
}

/* the answer by definition: collect what is eligible, sort it all, cut at k */
static int
reference(const float *scores, int32_t n_items, const int32_t *subset, int32_t n_subset,
		  const uint8_t *skip, int k, int32_t *items, float *best)
{
	static Ref	all[MAXN];
	int			m = 0;
	int			n;

	for (int32_t i = 0; i < n_items; i++)
	{
		bool		listed = subset == NULL;

		for (int32_t s = 0; subset && s < n_subset; s++)
			listed |= subset[s] == i;
		if (!listed || (skip && skip[i]) || isnan(scores[i]))
			continue;
		all[m].score = scores[i];
		all[m++].item = i;
	}
	qsort(all, m, sizeof(Ref), ref_cmp);
	n = k < m ? (k > 0 ? k : 0) : m;
	for (int r = 0; r < n; r++)
	{
		items[r] = all[r].item;
		best[r] = all[r].score;
	}
	return n;
}

/*
 * Run fr_topk with sentinel-filled outputs one longer than k, compare with
 * the reference: the count, every item, every score bit for bit, and that
 * nothing past the count was written.  Returns 1 when all agree.
 */
static int
agrees(const float *scores, int32_t n_items, const int32_t *subset, int32_t n_subset,
	   const uint8_t *skip, int k, char *why, size_t whylen)
{
	static int32_t items[2 * MAXN + 2],
				want_items[2 * MAXN + 2];
	static float best[2 * MAXN + 2],
				want_best[2 * MAXN + 2];
	int			got,
				want;

	for (int r = 0; r < k + 1; r++)
	{
		items[r] = SENTINEL_ITEM;
		best[r] = -12345.0f;
	}
	got = fr_topk(scores, n_items, subset, n_subset, skip, k, items, best);
	want = reference(scores, n_items, subset, n_subset, skip, k, want_items, want_best);
	if (got != want)
	{
		snprintf(why, whylen, "returned %d, want %d", got, want);
		return 0;
	}
	for (int r = 0; r < got; r++)
		if (items[r] != want_items[r] || memcmp(&best[r], &want_best[r], sizeof(float)) != 0)
		{
			snprintf(why, whylen, "rank %d: item %d score %g, want item %d score %g",
					 r + 1, items[r], best[r], want_items[r], want_best[r]);
			return 0;
		}
	for (int r = got; r < k + 1; r++)
		if (items[r] != SENTINEL_ITEM || best[r] != -12345.0f)
		{
			snprintf(why, whylen, "slot %d past the count was written", r);
			return 0;
		}
	snprintf(why, whylen, "ok");
	return 1;
}

/* a score drawn from few values (ties) with some NaN and ±Inf, or continuous */
static float
random_score(FrRng *rng, bool discrete)
{
	double		u = fr_rng_uniform(rng);

	if (u < 0.05)
		return NAN;
	if (u < 0.08)
		return INFINITY;
	if (u < 0.11)
		return -INFINITY;
	if (u < 0.13)
		return (fr_rng_below(rng, 2) ? 0.0f : -0.0f);
	if (discrete)
		return (float) fr_rng_below(rng, 7) - 3.0f;
	return (float) fr_rng_normal(rng);
}

int
main(void)
{
	static float scores[MAXN];
	static uint8_t skip[MAXN];
	static int32_t subset[MAXN];
	int32_t		out_items[MAXN + 1];
	float		out_best[MAXN + 1];
	char		why[160];
	FrRng		rng;
	int			n;

	/*
	 * Random cases: 1,500 draws of size, k, ties or not, with and without a
	 * skip mask and a shuffled candidate subset.  Count the cases that
	 * disagree and report the first.
	 */
	{
		int			trials = 1500,
					bad = 0,
					with_subset = 0,
					truncated = 0,
					short_lists = 0;
		char		first_bad[200] = "";

		fr_rng_seed(&rng, 18);
		for (int t = 0; t < trials; t++)
		{
			int32_t		n_items = (int32_t) fr_rng_below(&rng, MAXN + 1);
			bool		discrete = fr_rng_below(&rng, 2);
			bool		use_skip = fr_rng_below(&rng, 2);
			bool		use_subset = fr_rng_below(&rng, 3) == 0;
			int32_t		n_subset = 0;
			int			k = (int) fr_rng_below(&rng, n_items + 3);
			int			want;

			if (t % 10 == 0)
				k = 0;
			else if (t % 10 == 1)
				k = 1;
			else if (t % 10 == 2)
				k = n_items + 1 + (int) fr_rng_below(&rng, MAXN);
			for (int32_t i = 0; i < n_items; i++)
			{
				scores[i] = random_score(&rng, discrete);
				skip[i] = use_skip && fr_rng_uniform(&rng) < 0.3;
			}
			if (use_subset)
			{
				/* distinct indices in random order, like fr_apply_filters gives */
				for (int32_t i = 0; i < n_items; i++)
					if (fr_rng_uniform(&rng) < 0.4)
						subset[n_subset++] = i;
				for (int32_t i = n_subset - 1; i > 0; i--)
				{
					int32_t		j = (int32_t) fr_rng_below(&rng, (uint64_t) i + 1),
								tmp = subset[i];

					subset[i] = subset[j];
					subset[j] = tmp;
				}
				with_subset++;
			}
			if (!agrees(scores, n_items, use_subset ? subset : NULL, n_subset,
						use_skip ? skip : NULL, k, why, sizeof(why)))
			{
				if (bad++ == 0)
					snprintf(first_bad, sizeof(first_bad), "trial %d (n %d, k %d): %s",
							 t, n_items, k, why);
			}
			want = reference(scores, n_items, use_subset ? subset : NULL, n_subset,
							 use_skip ? skip : NULL, k, out_items, out_best);
			truncated += want == k && k > 0;
			short_lists += want < k;
		}
		ok(bad == 0, "random scores: %d of %d cases match brute force %s", trials - bad, trials,
		   first_bad);
		/* the draw must have exercised both regimes and subsets, or the test says little */
		ok(truncated > 300 && short_lists > 300 && with_subset > 300,
		   "random cases cover k < eligible (%d), k >= eligible (%d), subsets (%d)",
		   truncated, short_lists, with_subset);
	}

	/* k = 0 and negative k: nothing, and nothing written */
	{
		float		s[] = {1, 2, 3};

		out_items[0] = SENTINEL_ITEM;
		n = fr_topk(s, 3, NULL, 0, NULL, 0, out_items, out_best);
		ok(n == 0 && out_items[0] == SENTINEL_ITEM, "k = 0 returns 0 and writes nothing (got %d)", n);
		n = fr_topk(s, 3, NULL, 0, NULL, -5, out_items, out_best);
		ok(n == 0 && out_items[0] == SENTINEL_ITEM, "k < 0 returns 0 (got %d)", n);
	}

	/* k = 1: the maximum; among equal maxima the lowest index */
	{
		float		s[] = {0.5f, 3.0f, -1.0f, 3.0f, 2.9f};

		n = fr_topk(s, 5, NULL, 0, NULL, 1, out_items, out_best);
		ok(n == 1 && out_items[0] == 1 && out_best[0] == 3.0f,
		   "k = 1 gives the first of two maxima: item %d score %g", out_items[0], out_best[0]);
	}

	/* k beyond the eligible items: all of them, in order */
	{
		float		s[] = {0.1f, NAN, 0.3f, 0.2f};
		uint8_t		sk[] = {0, 0, 0, 1};

		n = fr_topk(s, 4, NULL, 0, sk, 10, out_items, out_best);
		ok(n == 2 && out_items[0] == 2 && out_items[1] == 0,
		   "k 10 over 2 eligible (one NaN, one skipped): %d items, %d then %d", n,
		   out_items[0], out_items[1]);
	}

	/* all equal: items in index order, for every k, including past the heap's first fill */
	{
		float		s[40];
		int			in_order = 1;

		for (int i = 0; i < 40; i++)
			s[i] = 2.5f;
		n = fr_topk(s, 40, NULL, 0, NULL, 13, out_items, out_best);
		for (int r = 0; r < n; r++)
			in_order &= out_items[r] == r && out_best[r] == 2.5f;
		ok(n == 13 && in_order, "40 equal scores, k 13: items 0..12 in order");
	}

	/* ties at the cut: a later equal score must not displace an earlier one */
	{
		float		s[] = {1, 5, 1, 1, 5, 1};

		n = fr_topk(s, 6, NULL, 0, NULL, 3, out_items, out_best);
		ok(n == 3 && out_items[0] == 1 && out_items[1] == 4 && out_items[2] == 0,
		   "ties at the cut go to the lower index: %d %d %d", out_items[0], out_items[1],
		   out_items[2]);
	}

	/* NaN never ranks, not even when it is all there is */
	{
		float		s[] = {NAN, NAN, NAN};

		n = fr_topk(s, 3, NULL, 0, NULL, 2, out_items, out_best);
		ok(n == 0, "all NaN: nothing (got %d)", n);
	}

	/* +Inf first, -Inf last but still eligible; equal infinities by index */
	{
		float		s[] = {-INFINITY, 1.0f, INFINITY, NAN, INFINITY, -INFINITY, -3.0e38f};

		n = fr_topk(s, 7, NULL, 0, NULL, 7, out_items, out_best);
		ok(n == 6 && out_items[0] == 2 && out_items[1] == 4 && out_items[2] == 1 &&
		   out_items[3] == 6 && out_items[4] == 0 && out_items[5] == 5 &&
		   isinf(out_best[0]) && out_best[0] > 0 && isinf(out_best[5]) && out_best[5] < 0,
		   "infinities: %d %d %d %d %d %d (want 2 4 1 6 0 5)", out_items[0], out_items[1],
		   out_items[2], out_items[3], out_items[4], out_items[5]);
	}

	/* -0 and +0 are equal scores: the lower index first, each keeps its sign */
	{
		float		s[] = {-1.0f, 0.0f, -0.0f};
		float		s2[] = {-0.0f, 0.0f};

		n = fr_topk(s, 3, NULL, 0, NULL, 3, out_items, out_best);
		ok(n == 3 && out_items[0] == 1 && out_items[1] == 2 && out_items[2] == 0,
		   "+0 (item 1) and -0 (item 2) tie by index: %d %d %d", out_items[0], out_items[1],
		   out_items[2]);
		n = fr_topk(s2, 2, NULL, 0, NULL, 2, out_items, out_best);
		ok(n == 2 && out_items[0] == 0 && signbit(out_best[0]) && !signbit(out_best[1]),
		   "-0 (item 0) ties with +0 (item 1) and comes first, sign kept");
	}

	/* skip masks: everything skipped, and a skipped best item */
	{
		float		s[] = {9, 8, 7};
		uint8_t		all[] = {1, 1, 1};
		uint8_t		top[] = {1, 0, 0};

		n = fr_topk(s, 3, NULL, 0, all, 3, out_items, out_best);
		ok(n == 0, "everything skipped: nothing (got %d)", n);
		n = fr_topk(s, 3, NULL, 0, top, 1, out_items, out_best);
		ok(n == 1 && out_items[0] == 1, "the skipped best item gives way to the next (%d)",
		   out_items[0]);
	}

	/* subsets: only listed items, order of the list irrelevant, skip still applies */
	{
		float		s[] = {10, 9, 8, 7, 6, 5};
		int32_t		sub[] = {5, 3, 1};
		uint8_t		sk[] = {0, 0, 0, 1, 0, 0};

		n = fr_topk(s, 6, sub, 3, NULL, 5, out_items, out_best);
		ok(n == 3 && out_items[0] == 1 && out_items[1] == 3 && out_items[2] == 5,
		   "subset {5,3,1}: 1 3 5 (got %d items: %d %d %d)", n, out_items[0], out_items[1],
		   out_items[2]);
		n = fr_topk(s, 6, sub, 3, sk, 5, out_items, out_best);
		ok(n == 2 && out_items[0] == 1 && out_items[1] == 5,
		   "subset {5,3,1} with 3 skipped: 1 5 (got %d items)", n);
		n = fr_topk(s, 6, sub, 0, NULL, 5, out_items, out_best);
		ok(n == 0, "an empty subset (non-NULL, n_subset 0) ranks nothing, not everything (got %d)", n);
	}

	/* the kernel's own guard: subset entries out of range are ignored, not read */
	{
		float		s[] = {1, 2, 3};
		int32_t		sub[] = {-1, 2, 3, 1000000, 0};

		n = fr_topk(s, 3, sub, 5, NULL, 5, out_items, out_best);
		ok(n == 2 && out_items[0] == 2 && out_items[1] == 0,
		   "out-of-range subset entries are ignored (got %d items)", n);
	}

	/* n_items = 0: nothing, with or without a subset; scores are never read */
	{
		int32_t		sub[] = {0};

		n = fr_topk(NULL, 0, NULL, 0, NULL, 4, out_items, out_best);
		ok(n == 0, "n_items 0: nothing (got %d)", n);
		n = fr_topk(NULL, 0, sub, 1, NULL, 4, out_items, out_best);
		ok(n == 0, "n_items 0 with a subset naming item 0: nothing (got %d)", n);
	}

	/* ascending and descending inputs: the heap's worst cases for replacement */
	{
		static float up[MAXN],
					down[MAXN];
		int			good_up,
					good_down;

		for (int i = 0; i < MAXN; i++)
		{
			up[i] = (float) i;
			down[i] = (float) (MAXN - i);
		}
		good_up = agrees(up, MAXN, NULL, 0, NULL, 17, why, sizeof(why));
		ok(good_up, "ascending scores, k 17: %s", why);
		good_down = agrees(down, MAXN, NULL, 0, NULL, 17, why, sizeof(why));
		ok(good_down, "descending scores, k 17: %s", why);
		n = fr_topk(up, MAXN, NULL, 0, NULL, 3, out_items, out_best);
		ok(n == 3 && out_items[0] == MAXN - 1 && out_items[2] == MAXN - 3,
		   "ascending: the last three, best first (%d .. %d)", out_items[0], out_items[2]);
	}

	return done_testing();
}
