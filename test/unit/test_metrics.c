/*
 * test_metrics.c — the ranking and rating metrics against values worked out
 * by hand.  Each case writes its arithmetic in a comment; the decimal
 * constants were evaluated independently (python3 math.log2), not with the
 * code under test.  d(p) = 1/log2(p+1) is the discount of position p:
 * d(1) = 1, d(2) = 0.6309297535714575, d(3) = 0.5, d(4) = 0.43067655807339306,
 * d(5) = 0.38685280723454163.
 */
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "metrics.h"
#include "tap.h"

#define TOL 1e-12
#define LEN(a) ((int64_t) (sizeof(a) / sizeof((a)[0])))

static FrRankMetrics
rank(const int64_t *rec, int64_t n_rec, const int64_t *rel_in, int64_t n_rel,
	 int32_t k, bool *defined)
{
	int64_t		rel[64];
	FrRankMetrics m;

	if (n_rel > 0)
		memcpy(rel, rel_in, n_rel * sizeof(int64_t));
	n_rel = fr_sort_unique_ids(rel, n_rel);
	*defined = fr_rank_metrics(rec, n_rec, rel, n_rel, k, &m);
	return m;
}

static void
check(const char *name, FrRankMetrics m, int64_t hits, double p, double r,
	  double ndcg, double ap, double hit)
{
	char		what[128];

	ok(m.hits == hits, "%s: hits %lld, want %lld", name, (long long) m.hits,
	   (long long) hits);
	snprintf(what, sizeof(what), "%s: precision", name);
	ok_near(m.precision, p, TOL, what);
	snprintf(what, sizeof(what), "%s: recall", name);
	ok_near(m.recall, r, TOL, what);
	snprintf(what, sizeof(what), "%s: ndcg", name);
	ok_near(m.ndcg, ndcg, TOL, what);
	snprintf(what, sizeof(what), "%s: ap", name);
	ok_near(m.ap, ap, TOL, what);
	snprintf(what, sizeof(what), "%s: hit", name);
	ok_near(m.hit, hit, 0, what);
}

int
main(void)
{
	bool		defined;

	/* sort/unique: {5,3,5,1,3} -> {1,3,5} */
	{
		int64_t		ids[] = {5, 3, 5, 1, 3};
		int64_t		n = fr_sort_unique_ids(ids, LEN(ids));

		ok(n == 3 && ids[0] == 1 && ids[1] == 3 && ids[2] == 5,
		   "sort_unique gives {1,3,5} (n=%lld)", (long long) n);
	}

	/*
	 * A: rec 1 2 3 4 5, rel {2,5,9}, k 5.  Hits at positions 2 and 5.
	 * P = 2/5; R = 2/3; DCG = d(2) + d(5) = 1.0177825608059991;
	 * IDCG over min(3,5) = 3: d(1)+d(2)+d(3) = 2.1309297535714575;
	 * NDCG = 0.4776237035032179; AP = (1/2 + 2/5) / 3 = 0.3.
	 */
	{
		int64_t		rec[] = {1, 2, 3, 4, 5};
		int64_t		rel[] = {2, 5, 9};

		check("A", rank(rec, LEN(rec), rel, LEN(rel), 5, &defined),
			  2, 0.4, 2.0 / 3.0, 0.4776237035032179, 0.3, 1);
		ok(defined, "A: defined");
	}

	/*
	 * B: a repeated recommendation is a hit once.  rec 7 7 8, rel {7}, k 3:
	 * hit at 1 only; P = 1/3; R = 1; DCG = d(1) = 1 = IDCG (min(1,3) = 1);
	 * AP = (1/1) / 1 = 1.
	 */
	{
		int64_t		rec[] = {7, 7, 8};
		int64_t		rel[] = {7};

		check("B", rank(rec, LEN(rec), rel, LEN(rel), 3, &defined),
			  1, 1.0 / 3.0, 1, 1, 1, 1);
	}

	/*
	 * B2: repeats in relevant are ignored and k cuts the list.
	 * rec 3 7 7, rel {7,7,8} = {7,8}, k 2: hit at 2; P = 1/2; R = 1/2;
	 * NDCG = d(2) / (d(1) + d(2)) = 0.38685280723454163; AP = (1/2) / 2.
	 */
	{
		int64_t		rec[] = {3, 7, 7};
		int64_t		rel[] = {7, 7, 8};

		check("B2", rank(rec, LEN(rec), rel, LEN(rel), 2, &defined),
			  1, 0.5, 0.5, 0.38685280723454163, 0.25, 1);
	}

	/*
	 * C: fewer recommendations than k; missing slots are misses.
	 * rec 4, rel {4,5}, k 10: P = 1/10; R = 1/2;
	 * NDCG = d(1) / (d(1) + d(2)) = 0.6131471927654584; AP = 1 / min(2,10).
	 */
	{
		int64_t		rec[] = {4};
		int64_t		rel[] = {4, 5};

		check("C", rank(rec, LEN(rec), rel, LEN(rel), 10, &defined),
			  1, 0.1, 0.5, 0.6131471927654584, 0.5, 1);
	}

	/* D: no hit at all: everything 0. */
	{
		int64_t		rec[] = {1, 2};
		int64_t		rel[] = {3};

		check("D", rank(rec, LEN(rec), rel, LEN(rel), 2, &defined),
			  0, 0, 0, 0, 0, 0);
		ok(defined, "D: defined");
	}

	/* E: no relevant item: undefined. */
	{
		int64_t		rec[] = {1, 2};

		(void) rank(rec, LEN(rec), NULL, 0, 2, &defined);
		ok(!defined, "E: undefined without relevant items");
	}

	/* F: empty recommendation list with relevant items: all 0, defined. */
	{
		int64_t		rel[] = {1};

		check("F", rank(NULL, 0, rel, LEN(rel), 3, &defined), 0, 0, 0, 0, 0, 0);
		ok(defined, "F: defined");
	}

	/* G: the hit is below the cut-off: rec 1 2 3, rel {3}, k 2 -> 0. */
	{
		int64_t		rec[] = {1, 2, 3};
		int64_t		rel[] = {3};

		check("G", rank(rec, LEN(rec), rel, LEN(rel), 2, &defined),
			  0, 0, 0, 0, 0, 0);
	}

	/* H: a perfect list in any order of the relevant set: all 1. */
	{
		int64_t		rec[] = {3, 1, 2};
		int64_t		rel[] = {1, 2, 3};

		check("H", rank(rec, LEN(rec), rel, LEN(rel), 3, &defined),
			  3, 1, 1, 1, 1, 1);
	}

	/*
	 * I: rec 1 9 2 8 3, rel {1,2,3,4}, k 5.  Hits at 1, 3, 5.
	 * P = 3/5; R = 3/4; DCG = d(1)+d(3)+d(5) = 1.8868528072345416;
	 * IDCG over min(4,5) = 4 = d(1)+..+d(4) = 2.5616063116448506;
	 * NDCG = 0.7365896932159578; AP = (1/1 + 2/3 + 3/5) / 4 = 0.5666666666666667.
	 */
	{
		int64_t		rec[] = {1, 9, 2, 8, 3};
		int64_t		rel[] = {1, 2, 3, 4};

		check("I", rank(rec, LEN(rec), rel, LEN(rel), 5, &defined),
			  3, 0.6, 0.75, 0.7365896932159578, 0.5666666666666667, 1);
	}

	/* J: extreme ids sort and match: rec -5 MAX, rel {MIN, MAX}, k 2: hit at 2. */
	{
		int64_t		rec[] = {-5, INT64_MAX};
		int64_t		rel[] = {INT64_MAX, INT64_MIN};

		check("J", rank(rec, LEN(rec), rel, LEN(rel), 2, &defined),
			  1, 0.5, 0.5, 0.38685280723454163, 0.25, 1);
	}

	/*
	 * Rating errors: predicted 3 4 5, actual 2.5 4 7 -> errors .5 0 -2;
	 * RMSE = sqrt((.25 + 0 + 4) / 3) = 1.1902380714238083;
	 * MAE = (.5 + 0 + 2) / 3 = 0.8333333333333334.
	 */
	{
		double		pred[] = {3, 4, 5};
		double		act[] = {2.5, 4, 7};
		FrErrorSums s;

		fr_error_sums(pred, act, 3, &s);
		ok_near(s.n, 3, 0, "errors: n");
		ok_near(fr_rmse(&s), 1.1902380714238083, TOL, "errors: rmse");
		ok_near(fr_mae(&s), 0.8333333333333334, TOL, "errors: mae");
	}

	/* NaN propagates instead of being skipped. */
	{
		double		pred[] = {1, NAN};
		double		act[] = {1, 2};
		FrErrorSums s;

		fr_error_sums(pred, act, 2, &s);
		ok(isnan(fr_rmse(&s)) && isnan(fr_mae(&s)), "errors: NaN propagates");
	}

	return done_testing();
}
