/*
 * test_abstats.c — the A/B statistics against values computed elsewhere.
 *
 * Reference values come from mpmath at 50 significant digits (ncdf,
 * betainc, gammainc, findroot for quantiles) and scipy.stats, not from the
 * code under test; "table values" are the critical values printed in every
 * statistics textbook (z 1.96, t(10) 2.228, chi-square(1) 3.841 ...), here to
 * full precision, at which the CDF must return the table's level.  The issue
 * asks for 1e-6; the tolerances below are far tighter.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "abstats.h"
#include "kernel.h"
#include "tap.h"

#define LEN(a) ((int) (sizeof(a) / sizeof((a)[0])))

typedef struct
{
	double		x;
	double		want;
}			Pair;

typedef struct
{
	double		x;
	double		df;
	double		want;
}			Triple;

static void
near_rel(double got, double want, double rel, const char *what)
{
	ok(fabs(got - want) <= rel * fabs(want), "%s: got %.17g, want %.17g (rel %g)",
	   what, got, want, rel);
}

static void
test_normal(void)
{
	/* Phi(x), mpmath */
	static const Pair cdf[] = {
		{-8, 6.2209605742717841235e-16}, {-5, 2.8665157187919391167e-7},
		{-3, 0.0013498980316300945267}, {-1.96, 0.024997895148220434137},
		{-1, 0.15865525393145705141}, {-0.5, 0.30853753872598689636},
		{0, 0.5}, {0.5, 0.69146246127401310364}, {1, 0.84134474606854294859},
		{1.96, 0.97500210485177956586}, {3, 0.99865010196836990547},
		{5, 0.99999971334842812081}, {8, 0.9999999999999993779},
	};
	/* Phi^-1(p), mpmath; 0.975 -> 1.95996... is the table's 1.96 */
	static const Pair quantile[] = {
		{1e-50, -14.933337534788488981}, {1e-10, -6.3613409024040562047},
		{0.001, -3.0902323061678135415}, {0.01, -2.3263478740408411009},
		{0.025, -1.9599639845400542355}, {0.05, -1.6448536269514727149},
		{0.1, -1.281551565544600467}, {0.3, -0.52440051270804078404},
		{0.8, 0.84162123357291420518}, {0.9, 1.281551565544600467},
		{0.95, 1.6448536269514727149}, {0.975, 1.9599639845400542355},
		{0.99, 2.3263478740408411009}, {0.995, 2.575829303548900761},
		{0.999, 3.0902323061678135415},
	};
	char		what[96];

	for (int i = 0; i < LEN(cdf); i++)
	{
		snprintf(what, sizeof(what), "normal_cdf(%g)", cdf[i].x);
		/* relative, so the far tails are checked too */
		near_rel(fr_normal_cdf(cdf[i].x), cdf[i].want, 1e-13, what);
	}
	for (int i = 0; i < LEN(quantile); i++)
	{
		snprintf(what, sizeof(what), "normal_quantile(%g)", quantile[i].x);
		near_rel(fr_normal_quantile(quantile[i].x), quantile[i].want, 1e-14, what);
	}
	ok(fr_normal_quantile(0.5) == 0.0, "normal_quantile(0.5) is exactly 0");
	ok(isinf(fr_normal_quantile(0.0)) && fr_normal_quantile(0.0) < 0, "normal_quantile(0) is -inf");
	ok(isnan(fr_normal_quantile(1.5)) && isnan(fr_normal_quantile(-0.1)) && isnan(fr_normal_quantile(NAN)),
	   "normal_quantile outside [0, 1] is NaN");
	/* the inverse really inverts, across the whole range */
	{
		double		worst = 0.0;

		for (double p = 1e-6; p < 1.0; p += 0.000997)
		{
			double		d = fabs(fr_normal_cdf(fr_normal_quantile(p)) - p);

			if (d > worst)
				worst = d;
		}
		ok(worst < 1e-15, "Phi(Phi^-1(p)) = p over (0, 1): worst error %.3g", worst);
	}
}

static void
test_t(void)
{
	/* two-sided 5% critical values t(0.975, df): the table row everybody knows */
	static const Pair table[] = {
		{1, 12.706204736174704646}, {2, 4.3026527297494638523},
		{3, 3.1824463052837095927}, {5, 2.5705818356363155147},
		{10, 2.2281388519862747484}, {30, 2.04227245630123831},
		{120, 1.9799304050824408467},
	};
	/* (t, df, P(T <= t)), mpmath; non-integer df as Welch produces them */
	static const Triple cdf[] = {
		{1.5, 7.3, 0.91221845359845693778}, {-2.1, 3.7, 0.054632352541112374153},
		{0.3, 1000000, 0.61791139101050290022}, {2.5, 1e9, 0.99379033459479875303},
		{-4, 25.5, 0.00024053442054397990453}, {10, 2.2, 0.99644776814487077821},
		{0.001, 4, 0.50037499992187502051}, {1.96, 50000, 0.97499933194328450521},
	};
	char		what[96];
	double		worst1 = 0.0,
				worst2 = 0.0;

	for (int i = 0; i < LEN(table); i++)
	{
		snprintf(what, sizeof(what), "t_cdf(t(0.975, %g), %g) = 0.975", table[i].want, table[i].x);
		ok_near(fr_t_cdf(table[i].want, table[i].x), 0.975, 1e-13, what);
		snprintf(what, sizeof(what), "t_cdf(-t(0.975, %g), %g) = 0.025", table[i].want, table[i].x);
		ok_near(fr_t_cdf(-table[i].want, table[i].x), 0.025, 1e-13, what);
	}
	for (int i = 0; i < LEN(cdf); i++)
	{
		snprintf(what, sizeof(what), "t_cdf(%g, %g)", cdf[i].x, cdf[i].df);
		near_rel(fr_t_cdf(cdf[i].x, cdf[i].df), cdf[i].want, 1e-11, what);
	}
	/* closed forms: df = 1 is Cauchy, df = 2 is t / (2 sqrt(2 + t^2)) + 1/2 */
	for (double t = -50; t <= 50; t += 0.37)
	{
		double		d1 = fabs(fr_t_cdf(t, 1) - (0.5 + atan(t) / M_PI));
		double		d2 = fabs(fr_t_cdf(t, 2) - (0.5 + t / (2.0 * sqrt(2.0 + t * t))));

		worst1 = d1 > worst1 ? d1 : worst1;
		worst2 = d2 > worst2 ? d2 : worst2;
	}
	ok(worst1 < 1e-14, "t_cdf(df = 1) is the Cauchy CDF: worst error %.3g", worst1);
	ok(worst2 < 1e-14, "t_cdf(df = 2) matches its closed form: worst error %.3g", worst2);
	ok_near(fr_t_cdf(0.0, 3.0), 0.5, 0, "t_cdf(0) = 1/2");
	ok_near(fr_t_two_sided(2.2281388519862747484, 10), 0.05, 1e-13, "two-sided p at t(0.975, 10) is 0.05");
	ok(fr_t_cdf(INFINITY, 5) == 1.0 && fr_t_cdf(-INFINITY, 5) == 0.0, "t_cdf at infinities");
	ok(isnan(fr_t_cdf(1.0, 0.0)) && isnan(fr_t_cdf(1.0, -2.0)) && isnan(fr_t_cdf(NAN, 3.0)),
	   "t_cdf with df <= 0 or NaN is NaN");
}

static void
test_chisq(void)
{
	/* (critical value, df, level): chi-square table */
	static const Triple table[] = {
		{3.8414588206941259584, 1, 0.95}, {5.9914645471079819869, 2, 0.95},
		{7.8147279032511799553, 3, 0.95}, {18.307038053275146872, 10, 0.95},
		{124.34211340400408173, 100, 0.95}, {10.827566170662732293, 1, 0.999},
		{13.815510557964274104, 2, 0.999}, {13.276704135987624539, 4, 0.99},
	};
	/* (x, df, P(X <= x)) and P(X > x), mpmath */
	static const Triple cdf[] = {
		{0.5, 1, 0.52049987781304653768}, {25, 3, 0.99998455950170889864},
		{1000, 1000, 0.50594714617076035805}, {1100, 1000, 0.98538559187370480595},
		{100000, 100000, 0.50059470810479331139}, {0.001, 7, 2.4020490518976897577e-13},
		{45.2, 9.5, 0.99999868833283827867},
	};
	static const Triple sf[] = {
		{25, 3, 0.000015440498291101364902}, {1100, 1000, 0.014614408126295194045},
		{60, 2, 9.3576229688401746049e-14}, {45.2, 9.5, 1.3116671617213336846e-6},
		{0.5, 1, 0.47950012218695346232},
	};
	char		what[96];
	double		worst = 0.0;

	for (int i = 0; i < LEN(table); i++)
	{
		snprintf(what, sizeof(what), "chisq_cdf(%g, %g) = %g", table[i].x, table[i].df, table[i].want);
		ok_near(fr_chisq_cdf(table[i].x, table[i].df), table[i].want, 1e-13, what);
	}
	for (int i = 0; i < LEN(cdf); i++)
	{
		snprintf(what, sizeof(what), "chisq_cdf(%g, %g)", cdf[i].x, cdf[i].df);
		/* df 1e5: lgamma of 5e4 carries ~1e-12 of absolute error into the exponent */
		near_rel(fr_chisq_cdf(cdf[i].x, cdf[i].df), cdf[i].want, 1e-10, what);
	}
	for (int i = 0; i < LEN(sf); i++)
	{
		snprintf(what, sizeof(what), "chisq_sf(%g, %g) in the tail", sf[i].x, sf[i].df);
		near_rel(fr_chisq_sf(sf[i].x, sf[i].df), sf[i].want, 1e-10, what);
	}
	/* df = 2 is the exponential distribution */
	for (double x = 0.01; x < 80; x *= 1.21)
	{
		double		d = fabs(fr_chisq_sf(x, 2) - exp(-x / 2)) / exp(-x / 2);

		worst = d > worst ? d : worst;
	}
	ok(worst < 1e-12, "chisq_sf(df = 2) = exp(-x/2): worst relative error %.3g", worst);
	ok(fr_chisq_cdf(0.0, 3) == 0.0 && fr_chisq_cdf(-1.0, 3) == 0.0 && fr_chisq_sf(-1.0, 3) == 1.0,
	   "chi-square at and below 0");
	ok(isnan(fr_chisq_cdf(1.0, 0.0)), "chisq_cdf with df = 0 is NaN");
	ok_near(fr_gamma_p(3.0, 2.0) + fr_gamma_q(3.0, 2.0), 1.0, 1e-15, "P + Q = 1");
	/* P(1, x) = 1 - exp(-x) on both sides of the series/fraction switch */
	ok_near(fr_gamma_p(1.0, 0.7), 1.0 - exp(-0.7), 1e-15, "P(1, 0.7)");
	ok_near(fr_gamma_p(1.0, 7.0), 1.0 - exp(-7.0), 1e-15, "P(1, 7)");
	/* I_x(a, 1) = x^a and the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) */
	ok_near(fr_beta_inc(2.5, 1.0, 0.3, 0.7), pow(0.3, 2.5), 1e-15, "I_0.3(2.5, 1) = 0.3^2.5");
	ok_near(fr_beta_inc(2.0, 3.0, 0.4, 0.6) + fr_beta_inc(3.0, 2.0, 0.6, 0.4), 1.0, 1e-15,
			"I_x(a, b) + I_{1-x}(b, a) = 1");
}

static void
test_tests(void)
{
	FrProportionTest pt;
	FrWelchTest wt;
	double		chi2;
	int64_t		obs2[] = {5050, 4950};
	int64_t		obs_srm[] = {10300, 9700};
	int64_t		obs3[] = {3340, 3300, 3360};
	double		w2[] = {50, 50};
	double		w3[] = {1, 1, 1};
	double		w_wrong[] = {48, 52};

	/* 100/1000 against 130/1000: pooled 0.115; mpmath */
	fr_proportion_test(100, 1000, 130, 1000, 0.05, &pt);
	ok_near(pt.rate_a, 0.1, 1e-15, "proportion test: control rate");
	ok_near(pt.diff, 0.03, 1e-15, "proportion test: difference");
	near_rel(pt.z, 2.1027406056221142956, 1e-13, "proportion test: z");
	near_rel(pt.p_value, 0.035488450466474692269, 1e-12, "proportion test: p-value");
	near_rel(pt.ci_low, 0.0020679344393763642637, 1e-11, "proportion test: 95% CI low (Wald)");
	near_rel(pt.ci_high, 0.057932065560623635736, 1e-12, "proportion test: 95% CI high (Wald)");
	fr_proportion_test(130, 1000, 100, 1000, 0.05, &pt);
	near_rel(pt.z, -2.1027406056221142956, 1e-13, "proportion test: swapping the groups flips z");
	fr_proportion_test(0, 500, 0, 500, 0.05, &pt);
	ok(isnan(pt.p_value) && pt.diff == 0.0, "proportion test: no conversions anywhere has no p-value");
	fr_proportion_test(5, 0, 5, 10, 0.05, &pt);
	ok(isnan(pt.diff), "proportion test: an empty group gives NaN");

	/* scipy.stats.ttest_ind_from_stats(10, 2, 30, 11.5, 3, 25, equal_var=False) */
	fr_welch_test(10.0, 4.0, 30, 11.5, 9.0, 25, &wt);
	near_rel(wt.t, 2.1356054904431227395, 1e-13, "Welch: t");
	near_rel(wt.df, 40.475086020135083471, 1e-13, "Welch: Satterthwaite df");
	near_rel(wt.p_value, 0.038811971666310324912, 1e-11, "Welch: p-value (scipy 0.0388119716663103)");
	fr_welch_test(1.0, 0.0, 10, 1.0, 0.0, 10, &wt);
	ok(isnan(wt.p_value), "Welch: zero variances have no p-value");
	fr_welch_test(1.0, 1.0, 1, 2.0, 1.0, 10, &wt);
	ok(isnan(wt.t), "Welch: a group of one has no variance");

	/* sample-ratio mismatch: chi2 = sum (o - e)^2 / e */
	near_rel(fr_srm_p_value(obs2, w2, 2, &chi2), 0.31731050786291410283, 1e-12, "SRM 5050/4950 p");
	ok_near(chi2, 1.0, 1e-12, "SRM 5050/4950 chi2 = 1");
	near_rel(fr_srm_p_value(obs_srm, w2, 2, &chi2), 0.000022090496998585441373, 1e-10, "SRM 10300/9700 p");
	near_rel(fr_srm_p_value(obs3, w3, 3, &chi2), 0.75578374145572547214, 1e-12, "SRM three variants p");
	ok(fr_srm_p_value(obs2, w_wrong, 2, &chi2) < 1e-4, "SRM against the wrong weights is flagged");
	ok(isnan(fr_srm_p_value(obs2, w2, 1, &chi2)), "SRM of one variant is undefined");

	/* users per group, mpmath */
	near_rel(fr_sample_size(0.1, 0.11, 0.05, 0.8), 14750.790469044938889, 1e-12, "sample size 10% -> 11%");
	near_rel(fr_sample_size(0.2, 0.22, 0.05, 0.8), 6509.4666785137108547, 1e-12, "sample size 20% -> 22%");
	near_rel(fr_sample_size(0.05, 0.06, 0.01, 0.9), 15464.651047663944415, 1e-12, "sample size alpha 1%, power 90%");
	near_rel(fr_sample_size(0.5, 0.45, 0.05, 0.8), 1564.6720527749528818, 1e-12, "sample size, a drop");
	ok(isnan(fr_sample_size(0.1, 0.1, 0.05, 0.8)), "sample size for no effect is undefined");
}

static void
test_assignment(void)
{
	enum
	{
		USERS = 1000000
	};
	double		w[] = {50, 30, 20};
	double		even[] = {1, 1};
	int64_t		counts[3] = {0},
				held = 0,
				table[2][2] = {{0}};
	int64_t		in[2];
	double		chi2,
				p;
	uint64_t	h1 = fr_ab_hash("homepage", 8, 42);

	/* pinned: a platform or compiler that hashed differently would move users between variants */
	ok(h1 == fr_ab_hash("homepage", 8, 42), "hash is deterministic");
	ok(fr_ab_hash("homepagf", 8, 42) != h1 && fr_ab_hash("homepage", 8, 43) != h1,
	   "salt and user both change the hash");
	ok(fr_ab_unit(UINT64_MAX) < 1.0 && fr_ab_unit(0) == 0.0, "unit interval is [0, 1)");

	ok(fr_ab_choose(0.0, 0.0, w, 3) == 0, "u = 0 is the first bucket");
	ok(fr_ab_choose(0.4999, 0.0, w, 3) == 0 && fr_ab_choose(0.5, 0.0, w, 3) == 1, "50%% boundary");
	ok(fr_ab_choose(0.7999, 0.0, w, 3) == 1 && fr_ab_choose(0.8, 0.0, w, 3) == 2, "80%% boundary");
	ok(fr_ab_choose(0x1.fffffffffffffp-1, 0.0, w, 3) == 2, "u just below 1 is the last bucket");
	ok(fr_ab_choose(0.05, 0.1, w, 3) == -1, "holdout: u below the holdout share is held out");
	ok(fr_ab_choose(0.1, 0.1, w, 3) == 0 && fr_ab_choose(0.55, 0.1, w, 3) == 1,
	   "holdout: the rest is stretched over the weights (0.55 -> 0.5)");

	/* uniformity over consecutive user ids, by a chi-square test */
	for (int64_t u = 1; u <= USERS; u++)
	{
		int			v = fr_ab_choose(fr_ab_unit(fr_ab_hash("exp-1", 5, u)), 0.1, w, 3);

		if (v < 0)
			held++;
		else
			counts[v]++;
	}
	in[0] = held;
	in[1] = USERS - held;
	p = fr_srm_p_value(in, (double[]) {10, 90}, 2, &chi2);
	ok(p > 0.001, "holdout share 10%% of 1e6 users: %lld held out, p = %.3g", (long long) held, p);
	p = fr_srm_p_value(counts, w, 3, &chi2);
	ok(p > 0.001, "shares 50/30/20 of 9e5 users: %lld/%lld/%lld, chi2 = %.3f, p = %.3g",
	   (long long) counts[0], (long long) counts[1], (long long) counts[2], chi2, p);
	/* the same test notices a 1-point skew, so the check above can fail */
	p = fr_srm_p_value(counts, (double[]) {51, 29, 20}, 3, &chi2);
	ok(p < 1e-9, "the same counts against 51/29/20 are rejected: p = %.3g", p);

	/* two experiments (two salts) split users independently: 2x2 contingency chi-square */
	for (int64_t u = 1; u <= 200000; u++)
	{
		int			a = fr_ab_choose(fr_ab_unit(fr_ab_hash("exp-1", 5, u)), 0.0, even, 2);
		int			b = fr_ab_choose(fr_ab_unit(fr_ab_hash("exp-2", 5, u)), 0.0, even, 2);

		table[a][b]++;
	}
	{
		double		n = 200000.0,
					stat = 0.0;

		for (int i = 0; i < 2; i++)
			for (int j = 0; j < 2; j++)
			{
				double		e = (double) (table[i][0] + table[i][1]) *
					(double) (table[0][j] + table[1][j]) / n;

				stat += (table[i][j] - e) * (table[i][j] - e) / e;
			}
		p = fr_chisq_sf(stat, 1);
		ok(p > 0.001, "assignments of two salts are independent: chi2 = %.3f, p = %.3g", stat, p);
	}
}

int
main(void)
{
	test_normal();
	test_t();
	test_chisq();
	test_tests();
	test_assignment();
	return done_testing();
}
