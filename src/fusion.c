/*
 * fusion.c — score normalisation, dynamic weights, weighted fusion and the
 * content-to-latent ridge regression of the hybrid recommender.
 *
 * Scores of different models live on unrelated scales (ALS dot products,
 * cosines in [-1, 1], popularity counts in the thousands), so they are
 * normalised per signal over the catalog before they are weighted.  Z-scores
 * keep how far apart the scores are; ranks only their order, which is robust
 * to a heavy tail (popularity) at the cost of an O(n log n) sort.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fusion.h"
#include "kernel.h"
#include "linalg.h"

typedef struct ScoredItem
{
	float		score;
	int64_t		index;
} ScoredItem;

/* best first; equal scores by index, so the order is the same on every run */
static int
cmp_scored(const void *a, const void *b)
{
	const ScoredItem *x = a;
	const ScoredItem *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

static int64_t
normalize_rank(const float *raw, int64_t n, float *out)
{
	ScoredItem *s = fr_alloc(fr_mul_size((size_t) (n > 0 ? n : 1), sizeof(ScoredItem)));
	int64_t		m = 0;

	for (int64_t i = 0; i < n; i++)
		if (isfinite(raw[i]))
		{
			s[m].score = raw[i];
			s[m].index = i;
			m++;
		}
	qsort(s, m, sizeof(ScoredItem), cmp_scored);
	for (int64_t i = 0; i < n; i++)
		out[i] = 0.0f;
	for (int64_t lo = 0; lo < m;)
	{
		int64_t		hi = lo;
		double		rank;

		while (hi + 1 < m && s[hi + 1].score == s[lo].score)
			hi++;
		/* ties share the average of their ranks lo..hi */
		rank = (lo + hi) / 2.0;
		for (int64_t j = lo; j <= hi; j++)
			out[s[j].index] = m > 1 ? (float) (0.5 - rank / (double) (m - 1)) : 0.0f;
		lo = hi + 1;
	}
	fr_free(s);
	return m;
}

static int64_t
normalize_zscore(const float *raw, int64_t n, float *out)
{
	double		sum = 0,
				sumsq = 0,
				mean,
				sd;
	int64_t		m = 0;

	for (int64_t i = 0; i < n; i++)
		if (isfinite(raw[i]))
		{
			sum += raw[i];
			m++;
		}
	mean = m > 0 ? sum / m : 0;
	/* two passes: the one-pass formula loses everything on large offsets */
	for (int64_t i = 0; i < n; i++)
		if (isfinite(raw[i]))
			sumsq += (raw[i] - mean) * (raw[i] - mean);
	sd = m > 1 ? sqrt(sumsq / m) : 0;
	for (int64_t i = 0; i < n; i++)
		out[i] = isfinite(raw[i]) && sd > 0 ? (float) ((raw[i] - mean) / sd) : 0.0f;
	return m;
}

int64_t
fr_normalize_scores(const float *raw, int64_t n, FrNormalization method, float *out)
{
	if (method == FR_NORM_RANK)
		return normalize_rank(raw, n, out);
	return normalize_zscore(raw, n, out);
}

void
fr_fusion_weights(int n_signals, const double *base, const bool *is_cf,
				  const bool *available, double history, double n0, double *out)
{
	double		g,
				lost = 0,
				others = 0;

	if (history <= 0)
		g = 0;
	else if (n0 <= 0)
		g = 1;
	else
		g = history / (history + n0);
	for (int s = 0; s < n_signals; s++)
	{
		out[s] = 0;
		if (!available[s])
			continue;
		if (is_cf[s])
		{
			out[s] = base[s] * g;
			lost += base[s] - out[s];
		}
		else
		{
			out[s] = base[s];
			others += base[s];
		}
	}
	if (others > 0)
		for (int s = 0; s < n_signals; s++)
			if (available[s] && !is_cf[s])
				out[s] += lost * base[s] / others;
}

void
fr_fuse(int n_signals, int64_t n, const float *const *norm, const double *weights, float *out)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = 0.0f;
	for (int s = 0; s < n_signals; s++)
	{
		float		w = (float) weights[s];

		if (norm[s] == NULL || w == 0.0f)
			continue;
		for (int64_t i = 0; i < n; i++)
			out[i] += w * norm[s][i];
	}
}

double
fr_ridge_fit(int64_t n, int d, int k, const float *x, const float *y,
			 double lambda, float *w)
{
	double	   *a = fr_alloc(fr_mul_size(fr_mul_size(d, d), sizeof(double)));
	double	   *b = fr_alloc(fr_mul_size(fr_mul_size(d, k), sizeof(double)));
	double	   *mean = fr_alloc(fr_mul_size(k, sizeof(double)));
	double	   *ss_tot = fr_alloc(fr_mul_size(k, sizeof(double)));
	double	   *ss_res = fr_alloc(fr_mul_size(k, sizeof(double)));
	double		r2 = 0;
	int			used = 0;

	if (n <= 0 || d <= 0 || k <= 0)
		fr_fail(FR_FAIL_PARAM, "ridge regression needs rows and columns (n %lld, d %d, k %d)",
				(long long) n, d, k);
	if (!(lambda >= 0) || !isfinite(lambda))
		fr_fail(FR_FAIL_PARAM, "ridge penalty must be finite and non-negative, got %g", lambda);

	/* normal equations X^T X + lambda I and X^T Y in double precision */
	for (int64_t r = 0; r < n; r++)
	{
		const float *xr = x + r * d;
		const float *yr = y + r * k;

		if ((r & 4095) == 0)
			fr_check_interrupts();
		for (int i = 0; i < d; i++)
		{
			double		xi = xr[i];

			if (xi == 0)
				continue;
			for (int j = i; j < d; j++)
				a[(size_t) i * d + j] += xi * xr[j];
			for (int c = 0; c < k; c++)
				b[(size_t) i * k + c] += xi * yr[c];
		}
		for (int c = 0; c < k; c++)
			mean[c] += yr[c];
	}
	for (int i = 0; i < d; i++)
	{
		a[(size_t) i * d + i] += lambda;
		for (int j = 0; j < i; j++)
			a[(size_t) i * d + j] = a[(size_t) j * d + i];
	}
	if (!fr_dposv(d, k, a, b))
		fr_fail(FR_FAIL_NUMERIC,
				"ridge regression is singular: the content vectors are linearly dependent; raise the penalty");
	for (size_t i = 0; i < (size_t) d * k; i++)
		w[i] = (float) b[i];

	for (int c = 0; c < k; c++)
		mean[c] /= n;
	for (int64_t r = 0; r < n; r++)
	{
		const float *xr = x + r * d;
		const float *yr = y + r * k;

		for (int c = 0; c < k; c++)
		{
			double		pred = 0;

			for (int i = 0; i < d; i++)
				pred += (double) xr[i] * w[(size_t) i * k + c];
			ss_res[c] += (yr[c] - pred) * (yr[c] - pred);
			ss_tot[c] += (yr[c] - mean[c]) * (yr[c] - mean[c]);
		}
	}
	for (int c = 0; c < k; c++)
		if (ss_tot[c] > 0)
		{
			r2 += 1.0 - ss_res[c] / ss_tot[c];
			used++;
		}
	fr_free(a);
	fr_free(b);
	fr_free(mean);
	fr_free(ss_tot);
	fr_free(ss_res);
	return used > 0 ? r2 / used : 0;
}

void
fr_gram_add(int k, const float *y, double *gram)
{
	for (int a = 0; a < k; a++)
		for (int b = 0; b < k; b++)
			gram[a * k + b] += (double) y[a] * y[b];
}

void
fr_gram_regularize(int k, double *gram)
{
	double		trace = 0;

	for (int a = 0; a < k; a++)
		trace += gram[a * k + a];
	for (int a = 0; a < k; a++)
		gram[a * k + a] += 1e-6 * trace / k + 1e-12;
}

void
fr_scores_add(int k, float s, const float *y, double *yts)
{
	for (int c = 0; c < k; c++)
		yts[c] += (double) s * y[c];
}

void
fr_factors_from_scores(int k, const double *gram, const double *yts, float *x)
{
	double	   *a = fr_alloc(fr_mul_size(fr_mul_size(k, k), sizeof(double)));
	double	   *b = fr_alloc(fr_mul_size(k, sizeof(double)));

	memcpy(a, gram, sizeof(double) * k * k);
	memcpy(b, yts, sizeof(double) * k);
	if (!fr_dposv(k, 1, a, b))
		memset(b, 0, sizeof(double) * k);
	for (int c = 0; c < k; c++)
		x[c] = (float) b[c];
	fr_free(a);
	fr_free(b);
}

void
fr_mapped_scores(int k, int32_t n, const int32_t *items, const float *factors,
				 const float *x, float *vals)
{
	for (int32_t c = 0; c < n; c++)
		vals[items[c]] = fr_sdot(k, x, factors + (size_t) c * k);
}
