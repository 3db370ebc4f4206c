/*
 * test_popularity.c — fr_popularity against a direct sum over a dense
 * weight/time table (seeded random, with empty items, negative weights and
 * events after `now`), with and without recency decay, the role of `now`,
 * and decay worked out by hand.
 *
 * The contract (popularity.h): scores[i] = sum over item i's entries of
 * weight * 0.5^(age / half_life), age = now - time clamped at 0 (an event
 * after `now` counts in full, never more); times NULL or half_life <= 0 give
 * plain sums.  iu is items x users and times follows iu's entry order, as
 * popularity_model.c's times_in_iu_order() builds it.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "popularity.h"
#include "tap.h"

#define NI 40
#define NU 70
#define DAY 86400.0

static double W[NI][NU];
static double T[NI][NU];
static bool M[NI][NU];

/* items x users CSR of the table's marked cells, times in entry order */
static void
to_iu(FrCsr *iu, double **times)
{
	int64_t		nnz = 0;

	iu->nrows = NI;
	iu->ncols = NU;
	iu->indptr = fr_alloc(sizeof(int64_t) * (NI + 1));
	iu->indices = fr_alloc(sizeof(int32_t) * NI * NU);
	iu->values = fr_alloc(sizeof(float) * NI * NU);
	*times = fr_alloc(sizeof(double) * NI * NU);
	for (int i = 0; i < NI; i++)
	{
		for (int u = 0; u < NU; u++)
			if (M[i][u])
			{
				iu->indices[nnz] = u;
				iu->values[nnz] = (float) W[i][u];
				(*times)[nnz++] = T[i][u];
			}
		iu->indptr[i + 1] = nnz;
	}
	iu->nnz = nnz;
}

/*
 * Largest error of scores against the table, relative to the sum of the
 * terms' magnitudes (weights can be negative, so the sum itself can be
 * near 0).  decay false: plain sums.
 */
static double
max_error(const float *scores, bool decay, double now, double half_life, int *worst)
{
	double		err = 0;

	*worst = -1;
	for (int i = 0; i < NI; i++)
	{
		double		sum = 0,
					mag = 0,
					e;

		for (int u = 0; u < NU; u++)
			if (M[i][u])
			{
				/* (float) W: the kernel sees the weights as stored, in single precision */
				double		w = (float) W[i][u];
				double		age = now - T[i][u];

				if (decay)
					w *= pow(0.5, (age > 0 ? age : 0) / half_life);
				sum += w;
				mag += fabs(w);
			}
		e = fabs(scores[i] - sum) / (mag > 1 ? mag : 1);
		if (e > err || isnan(scores[i]))
		{
			err = isnan(scores[i]) ? INFINITY : e;
			*worst = i;
		}
	}
	return err;
}

static void
fill_nan(float *scores, int n)
{
	for (int i = 0; i < n; i++)
		scores[i] = NAN;
}

int
main(void)
{
	const double now = 1700000000.0;	/* an epoch in 2023: large, like real data */
	const double half_life = 3 * DAY;
	FrRng		rng;
	FrCsr		iu;
	double	   *times;
	float		scores[NI];
	int			worst;
	double		err;
	int			empty = 0,
				future = 0,
				negative = 0;

	/* every 9th item (and the first and last) has no interaction at all */
	fr_rng_seed(&rng, 1818);
	for (int i = 0; i < NI; i++)
		for (int u = 0; u < NU; u++)
		{
			M[i][u] = i % 9 != 4 && i != 0 && i != NI - 1 && fr_rng_uniform(&rng) < 0.3;
			W[i][u] = fr_rng_uniform(&rng) < 0.05 ? -1.0 : 0.2 + 4.8 * fr_rng_uniform(&rng);
			/* one event in ten is up to 1.5 days after now */
			T[i][u] = fr_rng_uniform(&rng) < 0.1 ? now + 1.5 * DAY * fr_rng_uniform(&rng)
				: now - 20 * DAY * fr_rng_uniform(&rng);
			if (M[i][u])
			{
				future += T[i][u] > now;
				negative += W[i][u] < 0;
			}
		}
	for (int i = 0; i < NI; i++)
	{
		bool		any = false;

		for (int u = 0; u < NU; u++)
			any |= M[i][u];
		empty += !any;
	}
	to_iu(&iu, &times);
	ok(empty == 6 && future > 40 && negative > 10 && iu.nnz > 500,
	   "the table has empty items (%d), events after now (%d), negative weights (%d), %lld entries",
	   empty, future, negative, (long long) iu.nnz);

	fill_nan(scores, NI);
	fr_popularity(&iu, times, now, half_life, scores);
	err = max_error(scores, true, now, half_life, &worst);
	ok(err < 1e-6, "half-life 3 days: decayed sums match the table (error %g, item %d)", err, worst);
	ok(scores[0] == 0 && scores[4] == 0 && scores[NI - 1] == 0,
	   "items without interactions score 0 (first, middle, last: %g %g %g)",
	   scores[0], scores[4], scores[NI - 1]);

	fill_nan(scores, NI);
	fr_popularity(&iu, times, now, 0.5 * DAY, scores);
	err = max_error(scores, true, now, 0.5 * DAY, &worst);
	ok(err < 1e-6, "half-life 12 hours: decayed sums match the table (error %g, item %d)", err, worst);

	fill_nan(scores, NI);
	fr_popularity(&iu, NULL, now, half_life, scores);
	err = max_error(scores, false, now, half_life, &worst);
	ok(err < 1e-6, "times NULL: plain sums although a half-life is given (error %g, item %d)", err, worst);

	fill_nan(scores, NI);
	fr_popularity(&iu, times, now, 0, scores);
	err = max_error(scores, false, now, half_life, &worst);
	ok(err < 1e-6, "half-life 0: plain sums although times are given (error %g, item %d)", err, worst);

	fill_nan(scores, NI);
	fr_popularity(&iu, times, now, -DAY, scores);
	err = max_error(scores, false, now, half_life, &worst);
	ok(err < 1e-6, "negative half-life: plain sums (error %g, item %d)", err, worst);

	/*
	 * `now` is the reference: once every event is in the past, moving now
	 * one half-life later halves every score.
	 */
	{
		float		a[NI],
					b[NI];
		double		later = now + 2 * DAY;	/* after the latest event (now + 1.5 days) */
		double		e = 0;
		int			at = -1;

		fr_popularity(&iu, times, later, half_life, a);
		fr_popularity(&iu, times, later + half_life, half_life, b);
		for (int i = 0; i < NI; i++)
		{
			double		d = fabs(b[i] - 0.5 * a[i]);

			if (d > e)
			{
				e = d;
				at = i;
			}
		}
		ok(e < 1e-5, "now one half-life later halves every score (error %g, item %d)", e, at);
		err = max_error(a, true, later, half_life, &worst);
		ok(err < 1e-6, "now after every event: decayed sums match the table (error %g, item %d)",
		   err, worst);
	}

	fr_free(iu.indptr);
	fr_free(iu.indices);
	fr_free(iu.values);
	fr_free(times);

	/*
	 * By hand, half-life h: item 0 has weight 4 at now, now - h, now - 2h and
	 * now + 5h: 4 + 2 + 1 + 4 (the future event is not amplified) = 11;
	 * item 1 has nothing; item 2 has 3 at now - 10h: 3/1024 = 0.0029296875;
	 * item 3 has 1 at now - 0.5h and -1 at now - 0.5h: 0.  Without decay:
	 * 16, 0, 3, 0.
	 */
	{
		int64_t		indptr[] = {0, 4, 4, 5, 7};
		int32_t		indices[] = {0, 1, 2, 3, 2, 0, 1};
		float		values[] = {4, 4, 4, 4, 3, 1, -1};
		double		h = 7200;
		double		t[] = {now, now - h, now - 2 * h, now + 5 * h, now - 10 * h, now - 0.5 * h, now - 0.5 * h};
		FrCsr		m = {4, 4, 7, indptr, indices, values};
		float		s[4] = {NAN, NAN, NAN, NAN};

		fr_popularity(&m, t, now, h, s);
		ok(s[0] == 11.0f && s[1] == 0 && s[2] == 0.0029296875f && fabs(s[3]) < 1e-7,
		   "by hand with decay: %.9g %g %.9g %g (want 11 0 0.0029296875 0)", s[0], s[1], s[2], s[3]);
		fr_popularity(&m, NULL, now, h, s);
		ok(s[0] == 16.0f && s[1] == 0 && s[2] == 3.0f && s[3] == 0,
		   "by hand without decay: %g %g %g %g (want 16 0 3 0)", s[0], s[1], s[2], s[3]);

		/* the same events seen from one half-life earlier: item 0 = 4 + 4 + 2 + 4 */
		fr_popularity(&m, t, now - h, h, s);
		ok(s[0] == 14.0f && s[2] == 0.005859375f,
		   "now one half-life earlier: %.9g %.9g (want 14 0.005859375)", s[0], s[2]);
	}

	/* no items at all: nothing written, nothing read */
	{
		int64_t		indptr[] = {0};
		FrCsr		m = {0, 5, 0, indptr, NULL, NULL};
		float		s[1] = {-42};

		fr_popularity(&m, NULL, now, 0, s);
		fr_popularity(&m, NULL, now, DAY, s);
		ok(s[0] == -42, "no items: scores untouched");
	}

	/* items but no interactions at all: every score written as 0 */
	{
		int64_t		indptr[] = {0, 0, 0, 0};
		FrCsr		m = {3, 5, 0, indptr, NULL, NULL};
		float		s[3] = {NAN, NAN, NAN};
		double		dummy = now;

		fr_popularity(&m, &dummy, now, DAY, s);
		ok(s[0] == 0 && s[1] == 0 && s[2] == 0, "no interactions: every item scores 0");
	}

	/* context names in strcmp order: each found at its place, others not, none in an empty list */
	{
		const char *names[] = {"Fall", "Spring", "Summer", "Winter"};

		ok(fr_context_index(names, 4, "Fall") == 0 && fr_context_index(names, 4, "Winter") == 3 &&
		   fr_context_index(names, 4, "Summer") == 2, "context names found at their index");
		ok(fr_context_index(names, 4, "Monsoon") == -1 && fr_context_index(names, 4, "") == -1 &&
		   fr_context_index(names, 4, "winter") == -1 && fr_context_index(names, 0, "Fall") == -1,
		   "unknown, empty, differently cased names and an empty list: -1");
	}

	return done_testing();
}
