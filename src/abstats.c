/*
 * abstats.c — distributions, tests and the assignment hash of A/B testing.
 *
 * The normal CDF is erfc() from libm (accurate to an ulp or two); its
 * inverse is Wichura's AS 241 (PPND16, relative error about 1e-16).  The
 * t and chi-square distributions are the regularized incomplete beta and
 * gamma functions, evaluated by the series and Lentz continued fractions
 * of Numerical Recipes (3rd ed., 6.2 and 6.4) to a relative tolerance of
 * 1e-15; test/unit/test_abstats.c compares them with mpmath at 50 digits.
 */
#include <math.h>

#include "abstats.h"
#include "kernel.h"

#define EPS			1e-15
#define TINY		1e-300
/* the continued fractions need O(sqrt(max(a, b))) terms near the mean */
#define MAX_TERMS	1000000

double
fr_normal_cdf(double x)
{
	return 0.5 * erfc(-x * M_SQRT1_2);
}

/*
 * AS 241 (Wichura 1988, Applied Statistics 37, 477-484), the PPND16 variant
 * that R's qnorm() also uses.
 */
double
fr_normal_quantile(double p)
{
	double		q,
				r,
				val;

	if (isnan(p) || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;

	q = p - 0.5;
	if (fabs(q) <= 0.425)
	{
		r = 0.180625 - q * q;
		return q * (((((((r * 2509.0809287301226727 +
						  33430.575583588128105) * r + 67265.770927008700853) * r +
						45921.953931549871457) * r + 13731.693765509461125) * r +
					  1971.5909503065514427) * r + 133.14166789178437745) * r +
					3.387132872796366608)
			/ (((((((r * 5226.495278852545925 +
					 28729.085735721942674) * r + 39307.89580009271061) * r +
				   21213.794301586595867) * r + 5394.1960214247511077) * r +
				 687.1870074920579083) * r + 42.313330701600911252) * r + 1.0);
	}

	r = sqrt(-log(q < 0.0 ? p : 1.0 - p));
	if (r <= 5.0)
	{
		r -= 1.6;
		val = (((((((r * 7.7454501427834140764e-4 +
					 .0227238449892691845833) * r + .24178072517745061177) *
				   r + 1.27045825245236838258) * r +
				  3.64784832476320460504) * r + 5.7694972214606914055) *
				r + 4.6303378461565452959) * r +
			   1.42343711074968357734)
			/ (((((((r *
					 1.05075007164441684324e-9 + 5.475938084995344946e-4) *
					r + .0151986665636164571966) * r +
				   .14810397642748007459) * r + .68976733498510000455) *
				 r + 1.6763848301838038494) * r +
				2.05319162663775882187) * r + 1.0);
	}
	else
	{
		r -= 5.0;
		val = (((((((r * 2.01033439929228813265e-7 +
					 2.71155556874348757815e-5) * r +
					.0012426609473880784386) * r + .026532189526576123093) *
				  r + .29656057182850489123) * r +
				 1.7848265399172913358) * r + 5.4637849111641143699) *
			   r + 6.6579046435011037772)
			/ (((((((r *
					 2.04426310338993978564e-15 + 1.4215117583164458887e-7) *
					r + 1.8463183175100546818e-5) * r +
				   7.868691311456132591e-4) * r + .0148753612908506148525)
				 * r + .13692988092273580531) * r +
				.59983220655588793769) * r + 1.0);
	}
	return q < 0.0 ? -val : val;
}

/* P(a, x) by its series; converges quickly for x < a + 1 */
static double
gamma_p_series(double a, double x)
{
	double		ap = a,
				del = 1.0 / a,
				sum = del;

	for (int n = 0; n < MAX_TERMS; n++)
	{
		ap += 1.0;
		del *= x / ap;
		sum += del;
		if (fabs(del) < fabs(sum) * EPS)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) by its continued fraction (modified Lentz); for x >= a + 1 */
static double
gamma_q_cf(double a, double x)
{
	double		b = x + 1.0 - a,
				c = 1.0 / TINY,
				d = 1.0 / b,
				h = d;

	for (int i = 1; i < MAX_TERMS; i++)
	{
		double		an = -i * (i - a);
		double		del;

		b += 2.0;
		d = an * d + b;
		if (fabs(d) < TINY)
			d = TINY;
		c = b + an / c;
		if (fabs(c) < TINY)
			c = TINY;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < EPS)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

double
fr_gamma_p(double a, double x)
{
	if (isnan(a) || isnan(x) || a <= 0.0 || x < 0.0)
		return NAN;
	if (x == 0.0)
		return 0.0;
	if (isinf(x))
		return 1.0;
	if (x < a + 1.0)
		return gamma_p_series(a, x);
	return 1.0 - gamma_q_cf(a, x);
}

double
fr_gamma_q(double a, double x)
{
	if (isnan(a) || isnan(x) || a <= 0.0 || x < 0.0)
		return NAN;
	if (x == 0.0)
		return 1.0;
	if (isinf(x))
		return 0.0;
	if (x < a + 1.0)
		return 1.0 - gamma_p_series(a, x);
	return gamma_q_cf(a, x);
}

/* the continued fraction of I_x(a, b) (modified Lentz), for x < (a + 1) / (a + b + 2) */
static double
beta_cf(double a, double b, double x)
{
	double		qab = a + b,
				qap = a + 1.0,
				qam = a - 1.0,
				c = 1.0,
				d = 1.0 - qab * x / qap,
				h;

	if (fabs(d) < TINY)
		d = TINY;
	d = 1.0 / d;
	h = d;
	for (int m = 1; m < MAX_TERMS; m++)
	{
		int			m2 = 2 * m;
		double		aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		double		del;

		d = 1.0 + aa * d;
		if (fabs(d) < TINY)
			d = TINY;
		c = 1.0 + aa / c;
		if (fabs(c) < TINY)
			c = TINY;
		d = 1.0 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < TINY)
			d = TINY;
		c = 1.0 + aa / c;
		if (fabs(c) < TINY)
			c = TINY;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < EPS)
			break;
	}
	return h;
}

/* the remainder of Stirling's series for log Gamma(x), for x >= 100 (error < 1e-19) */
static double
stirling_rest(double x)
{
	double		x2 = x * x;

	return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * x2)) / x2) / x2) / x;
}

/*
 * log B(a, b).  With one argument large (the t distribution with many
 * degrees of freedom has a = df / 2, b = 1 / 2) the difference
 * lgamma(a + b) - lgamma(a) of two huge numbers would keep few digits;
 * Stirling's series gives it directly.
 */
static double
log_beta(double a, double b)
{
	double		lo = a < b ? a : b;
	double		hi = a < b ? b : a;

	if (hi < 100.0)
		return lgamma(a) + lgamma(b) - lgamma(a + b);
	/* lgamma(hi + lo) - lgamma(hi) */
	return lgamma(lo) -
		((hi - 0.5) * log1p(lo / hi) + lo * log(hi + lo) - lo +
		 stirling_rest(hi + lo) - stirling_rest(hi));
}

double
fr_beta_inc(double a, double b, double x, double y)
{
	double		front,
				log_x,
				log_y;

	if (isnan(a) || isnan(b) || isnan(x) || isnan(y) || a <= 0.0 || b <= 0.0 ||
		x < 0.0 || y < 0.0)
		return NAN;
	if (x == 0.0)
		return 0.0;
	if (y == 0.0)
		return 1.0;
	/*
	 * x^a y^b / B(a, b), in logs so large a and b do not overflow; log(x)
	 * of an x near 1 is taken as log1p(-y), which keeps the digits of y
	 */
	log_x = x < 0.5 ? log(x) : log1p(-y);
	log_y = y < 0.5 ? log(y) : log1p(-x);
	front = exp(a * log_x + b * log_y - log_beta(a, b));
	/* the fraction converges fast on the near side of the mean; use symmetry on the far side */
	if (x < (a + 1.0) / (a + b + 2.0))
		return front * beta_cf(a, b, x) / a;
	return 1.0 - front * beta_cf(b, a, y) / b;
}

double
fr_t_two_sided(double t, double df)
{
	double		t2;

	if (isnan(t) || isnan(df) || df <= 0.0)
		return NAN;
	if (isinf(t))
		return 0.0;
	t2 = t * t;
	/*
	 * Many degrees of freedom: the continued fraction would need O(sqrt(df))
	 * terms and lose digits.  The normal approximation with the first
	 * correction term (as R's pt() uses beyond 4e5) errs by O(1 / df^2).
	 */
	if (df > 4e5)
	{
		double		c = 0.25 / df;

		return erfc(fabs(t) * (1.0 - c) / sqrt(1.0 + t2 * 2.0 * c) * M_SQRT1_2);
	}
	/* P(|T| >= |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2), both halves computed directly */
	return fr_beta_inc(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2));
}

double
fr_t_cdf(double t, double df)
{
	double		tail = 0.5 * fr_t_two_sided(t, df);

	return t > 0.0 ? 1.0 - tail : tail;
}

double
fr_chisq_cdf(double x, double df)
{
	if (isnan(x) || isnan(df) || df <= 0.0)
		return NAN;
	if (x <= 0.0)
		return 0.0;
	return fr_gamma_p(0.5 * df, 0.5 * x);
}

double
fr_chisq_sf(double x, double df)
{
	if (isnan(x) || isnan(df) || df <= 0.0)
		return NAN;
	if (x <= 0.0)
		return 1.0;
	return fr_gamma_q(0.5 * df, 0.5 * x);
}

void
fr_proportion_test(int64_t x_a, int64_t n_a, int64_t x_b, int64_t n_b,
				   double alpha, FrProportionTest *out)
{
	double		pa,
				pb,
				pooled,
				se_pooled,
				se,
				zcrit;

	out->rate_a = out->rate_b = out->diff = NAN;
	out->ci_low = out->ci_high = out->z = out->p_value = NAN;
	if (n_a <= 0 || n_b <= 0)
		return;
	pa = (double) x_a / n_a;
	pb = (double) x_b / n_b;
	out->rate_a = pa;
	out->rate_b = pb;
	out->diff = pb - pa;

	se = sqrt(pa * (1.0 - pa) / n_a + pb * (1.0 - pb) / n_b);
	zcrit = fr_normal_quantile(1.0 - alpha / 2.0);
	out->ci_low = out->diff - zcrit * se;
	out->ci_high = out->diff + zcrit * se;

	pooled = (double) (x_a + x_b) / (double) (n_a + n_b);
	se_pooled = sqrt(pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b));
	if (!(se_pooled > 0.0))
		return;
	out->z = out->diff / se_pooled;
	/* 2 (1 - Phi(|z|)) without the cancellation of 1 - Phi */
	out->p_value = erfc(fabs(out->z) * M_SQRT1_2);
}

void
fr_welch_test(double mean_a, double var_a, double n_a,
			  double mean_b, double var_b, double n_b, FrWelchTest *out)
{
	double		sa,
				sb,
				se2;

	out->diff = out->t = out->df = out->p_value = NAN;
	if (!(n_a >= 2.0 && n_b >= 2.0))
		return;
	out->diff = mean_b - mean_a;
	sa = var_a / n_a;
	sb = var_b / n_b;
	se2 = sa + sb;
	if (!(se2 > 0.0))
		return;
	out->t = out->diff / sqrt(se2);
	out->df = se2 * se2 / (sa * sa / (n_a - 1.0) + sb * sb / (n_b - 1.0));
	out->p_value = fr_t_two_sided(out->t, out->df);
}

double
fr_srm_p_value(const int64_t *observed, const double *weights, int n, double *chi2)
{
	double		total_w = 0.0,
				total_n = 0.0,
				stat = 0.0;

	*chi2 = NAN;
	if (n < 2)
		return NAN;
	for (int i = 0; i < n; i++)
	{
		total_w += weights[i];
		total_n += (double) observed[i];
	}
	if (!(total_n > 0.0) || !(total_w > 0.0))
		return NAN;
	for (int i = 0; i < n; i++)
	{
		double		expected = total_n * weights[i] / total_w;
		double		d = (double) observed[i] - expected;

		stat += d * d / expected;
	}
	*chi2 = stat;
	return fr_chisq_sf(stat, n - 1);
}

double
fr_sample_size(double p1, double p2, double alpha, double power)
{
	double		za = fr_normal_quantile(1.0 - alpha / 2.0);
	double		zb = fr_normal_quantile(power);
	double		pbar = 0.5 * (p1 + p2);
	double		num = za * sqrt(2.0 * pbar * (1.0 - pbar)) +
		zb * sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2));
	double		d = p2 - p1;

	if (d == 0.0)
		return NAN;
	return num * num / (d * d);
}

/* splitmix64's finalizer: every input bit flips each output bit with probability 1/2 */
static inline uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

uint64_t
fr_ab_hash(const char *salt, size_t salt_len, int64_t user_id)
{
	/* FNV-1a over the salt's bytes, so the result does not depend on endianness */
	uint64_t	h = UINT64_C(0xCBF29CE484222325);

	for (size_t i = 0; i < salt_len; i++)
	{
		h ^= (unsigned char) salt[i];
		h *= UINT64_C(0x100000001B3);
	}
	/* consecutive user ids must land in unrelated buckets: mix both */
	return mix64(mix64(h) ^ mix64((uint64_t) user_id + UINT64_C(0x9E3779B97F4A7C15)));
}

double
fr_ab_unit(uint64_t hash)
{
	return (hash >> 11) * 0x1.0p-53;
}

int
fr_ab_choose(double u, double holdout, const double *weights, int n)
{
	double		total = 0.0,
				acc = 0.0,
				v;

	if (n <= 0 || u < holdout)
		return -1;
	/* the rest of [0, 1), stretched back onto [0, 1) */
	v = (u - holdout) / (1.0 - holdout);
	for (int i = 0; i < n; i++)
		total += weights[i];
	for (int i = 0; i < n - 1; i++)
	{
		acc += weights[i];
		if (v * total < acc)
			return i;
	}
	/* also catches v * total rounding up to total */
	return n - 1;
}
