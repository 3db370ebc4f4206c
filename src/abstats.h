/*
 * abstats.h — the statistics and the assignment hash of A/B testing.
 *
 * Distribution functions (normal, Student t, chi-square), the tests that
 * experiment_results() reports (two-proportion z-test, Welch's t-test,
 * sample-ratio-mismatch chi-square), the sample size of a two-proportion
 * test, and the hash that puts a user into a weighted bucket.  Plain C, no
 * PostgreSQL: abstats_sql.c is the glue, test/unit/test_abstats.c checks
 * every function against independently computed values.
 *
 * Functions return NaN where a result is undefined (a zero standard error,
 * a probability outside (0, 1)); the glue turns NaN into SQL NULL or an
 * error, whichever the SQL function documents.
 */
#ifndef FR_ABSTATS_H
#define FR_ABSTATS_H

#include <stddef.h>
#include <stdint.h>

/* standard normal: Phi(x), and Phi^-1(p) for 0 < p < 1 */
extern double fr_normal_cdf(double x);
extern double fr_normal_quantile(double p);

/* regularized incomplete gamma P(a, x) and Q(a, x) = 1 - P(a, x), a > 0, x >= 0 */
extern double fr_gamma_p(double a, double x);
extern double fr_gamma_q(double a, double x);

/*
 * Regularized incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1.  y must be
 * 1 - x; passing it separately keeps the digits a caller has when it can
 * compute 1 - x without cancellation.
 */
extern double fr_beta_inc(double a, double b, double x, double y);

/* Student t with df > 0 degrees of freedom (df need not be an integer) */
extern double fr_t_cdf(double t, double df);
/* P(|T| >= |t|): the two-sided p-value of a t statistic */
extern double fr_t_two_sided(double t, double df);

/* chi-square with df > 0 degrees of freedom: P(X <= x) and P(X > x) */
extern double fr_chisq_cdf(double x, double df);
extern double fr_chisq_sf(double x, double df);

/*
 * Two-proportion z-test of treatment b against control a (x conversions out
 * of n users each).  diff = rate_b - rate_a; the confidence interval of
 * diff at level 1 - alpha uses the unpooled (Wald) standard error, the test
 * the pooled one.  z and p_value are NaN when the pooled standard error is
 * zero (no conversions at all, or everybody converted).
 */
typedef struct FrProportionTest
{
	double		rate_a;
	double		rate_b;
	double		diff;
	double		ci_low;
	double		ci_high;
	double		z;
	double		p_value;		/* two-sided */
} FrProportionTest;

extern void fr_proportion_test(int64_t x_a, int64_t n_a, int64_t x_b, int64_t n_b,
							   double alpha, FrProportionTest *out);

/*
 * Welch's unequal-variance t-test of mean_b against mean_a from the sample
 * means and variances (n - 1 denominators).  Everything is NaN when either
 * group has fewer than two observations or both variances are zero.
 */
typedef struct FrWelchTest
{
	double		diff;			/* mean_b - mean_a */
	double		t;
	double		df;				/* Welch-Satterthwaite */
	double		p_value;		/* two-sided */
} FrWelchTest;

extern void fr_welch_test(double mean_a, double var_a, double n_a,
						  double mean_b, double var_b, double n_b,
						  FrWelchTest *out);

/*
 * Sample-ratio mismatch: the chi-square goodness-of-fit p-value of observed
 * counts against the shares weights[i] / sum(weights), with n - 1 degrees of
 * freedom.  NaN when n < 2 or nothing was observed.  *chi2 gets the statistic.
 */
extern double fr_srm_p_value(const int64_t *observed, const double *weights, int n,
							 double *chi2);

/*
 * Users per group for a two-sided two-proportion z-test at level alpha to
 * detect rate p2 against baseline p1 with the given power (the normal
 * approximation, pooled variance under the null), not rounded.
 */
extern double fr_sample_size(double p1, double p2, double alpha, double power);

/*
 * Assignment.  fr_ab_hash() mixes a salt and a user id into 64 bits that
 * are the same on every platform; fr_ab_unit() maps them onto [0, 1).
 * fr_ab_choose() returns -1 when u falls in the first `holdout` fraction,
 * otherwise the index of the weighted bucket the rest of [0, 1) maps u to.
 */
extern uint64_t fr_ab_hash(const char *salt, size_t salt_len, int64_t user_id);
extern double fr_ab_unit(uint64_t hash);
extern int	fr_ab_choose(double u, double holdout, const double *weights, int n);

#endif							/* FR_ABSTATS_H */
