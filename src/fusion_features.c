/*
 * fusion_features.c — a learned fusion's input rows and its scores over a
 * catalogue (fusion_features.h).
 *
 * Serving calls these once per request over every item, so the linear case
 * folds the inputs' standardisation into its weights instead of building
 * rows, and the MLP runs on a pool rather than the catalogue.
 */
#include <math.h>
#include <string.h>

#include "fusion_features.h"
#include "kernel.h"
#include "topk.h"

void
fr_fusion_item_features(int32_t n_items, int64_t nnz, const int32_t *indices,
						const double *times, double max_time, float *out)
{
	double	   *first = NULL;

	memset(out, 0, sizeof(float) * FR_FUSION_ITEM_FEATURES * (size_t) n_items);
	if (times)
	{
		first = fr_alloc(fr_mul_size((size_t) (n_items > 0 ? n_items : 1), sizeof(double)));
		for (int32_t i = 0; i < n_items; i++)
			first[i] = INFINITY;
	}
	for (int64_t p = 0; p < nnz; p++)
	{
		int32_t		i = indices[p];

		out[2 * (size_t) i] += 1;
		if (first && isfinite(times[p]) && times[p] < first[i])
			first[i] = times[p];
	}
	for (int32_t i = 0; i < n_items; i++)
	{
		out[2 * (size_t) i] = (float) log1p(out[2 * (size_t) i]);
		if (first && isfinite(first[i]))
		{
			double		age = max_time - first[i];

			out[2 * (size_t) i + 1] = (float) log1p((0 > age ? 0 : age) / 86400.0);
		}
	}
	fr_free(first);
}

/*
 * Counted from the user's own latest event, so every user's latest items
 * weigh 1 whether they were active yesterday or a year ago (a dormant
 * customer's last session is still the best guide to them), and the weights
 * are the same at training and serving, which knows no "now".
 */
void
fr_history_decay(int32_t n_users, const int64_t *indptr, const double *times,
				 double half_life_days, float *out)
{
	double		scale = half_life_days * 86400.0;

	for (int32_t u = 0; u < n_users; u++)
	{
		double		latest = -INFINITY;

		for (int64_t p = indptr[u]; p < indptr[u + 1]; p++)
			if (isfinite(times[p]) && times[p] > latest)
				latest = times[p];
		for (int64_t p = indptr[u]; p < indptr[u + 1]; p++)
			out[p] = isfinite(times[p]) && isfinite(latest)
				? (float) pow(0.5, (latest - times[p]) / scale) : 1.0f;
	}
}

int
fr_fusion_inputs(int n_signals, bool history_terms)
{
	return (history_terms ? 2 * n_signals : n_signals) + FR_FUSION_EXTRA;
}

void
fr_fusion_row(int n_signals, bool history_terms, const float *const *norm,
			  int n_hist, const float *item_feat, int32_t h, float *x)
{
	for (int s = 0; s < n_signals; s++)
		x[s] = norm[s] ? norm[s][h] : 0.0f;
	x[n_signals + FR_FUSION_HISTORY] = (float) log1p(n_hist);
	x[n_signals + FR_FUSION_POPULARITY] = item_feat ? item_feat[2 * (size_t) h] : 0.0f;
	x[n_signals + FR_FUSION_AGE] = item_feat ? item_feat[2 * (size_t) h + 1] : 0.0f;
	if (history_terms)
		for (int s = 0; s < n_signals; s++)
			x[n_signals + FR_FUSION_EXTRA + s] = x[s] / (1.0f + (float) n_hist);
}

void
fr_fusion_linear_scores(const FrFusionNet *net, int n_signals, int32_t n_items,
						const float *const *norm, const float *item_feat,
						int n_hist, float *out)
{
	int			d = net->d;
	bool		terms = d == fr_fusion_inputs(n_signals, true);
	const float *shift = net->params;
	const float *scale = net->params + d;
	const float *w = net->params + 2 * d;
	double	   *a = fr_alloc(sizeof(double) * d);
	double		c = w[d];		/* the bias */
	float		a_pop,
				a_age;

	for (int j = 0; j < d; j++)
	{
		a[j] = (double) w[j] * scale[j];
		c -= a[j] * shift[j];
	}
	c += a[n_signals + FR_FUSION_HISTORY] * log1p(n_hist);
	for (int32_t h = 0; h < n_items; h++)
		out[h] = (float) c;
	for (int s = 0; s < n_signals; s++)
		if (norm[s])
		{
			float		as = (float) (a[s] + (terms ? a[n_signals + FR_FUSION_EXTRA + s] / (1.0 + n_hist) : 0.0));

			for (int32_t h = 0; h < n_items; h++)
				out[h] += as * norm[s][h];
		}
	a_pop = (float) a[n_signals + FR_FUSION_POPULARITY];
	a_age = (float) a[n_signals + FR_FUSION_AGE];
	if (item_feat)
		for (int32_t h = 0; h < n_items; h++)
			out[h] += a_pop * item_feat[2 * (size_t) h] + a_age * item_feat[2 * (size_t) h + 1];
	fr_free(a);
}

float
fr_fusion_linear_weight(const FrFusionNet *net, int n_signals, int s, int n_hist)
{
	const float *scale = net->params + net->d;
	const float *w = net->params + 2 * net->d;
	double		a = (double) w[s] * scale[s];

	if (net->d == fr_fusion_inputs(n_signals, true))
		a += (double) w[n_signals + FR_FUSION_EXTRA + s] * scale[n_signals + FR_FUSION_EXTRA + s] / (1.0 + n_hist);
	return (float) a;
}

/*
 * The net was fitted on the union of the signals' top lists, so that is
 * where it is trusted (far down every list it would extrapolate) and where
 * it is worth its cost (an MLP over 100k items costs more than the rest of
 * the fusion).  The pool is one selection over each item's best signal, not
 * one per signal: the selection is most of the cost.
 */
void
fr_fusion_pool_scores(const FrFusionNet *net, int n_signals, int32_t n_items,
					  const float *const *norm, const float *item_feat,
					  int n_hist, const int32_t *exact, int n_exact,
					  int pool_size, float *out)
{
	int			d = net->d;
	bool		terms = d == fr_fusion_inputs(n_signals, true);
	size_t		n_alloc = (size_t) (n_items > 0 ? n_items : 1);
	int			m = pool_size < n_items ? pool_size : n_items;
	float	   *best_signal = fr_alloc(fr_mul_size(n_alloc, sizeof(float)));
	uint8_t    *in_pool = fr_alloc(n_alloc);
	int32_t    *pool = fr_alloc(sizeof(int32_t) * ((size_t) m + (n_exact > 0 ? n_exact : 0) + 1));
	float	   *pool_best = fr_alloc(sizeof(float) * (m > 0 ? m : 1));
	int			n_pool;
	float	   *x,
			   *y;
	float		lowest = INFINITY,
				best_weighted = -INFINITY;

	for (int32_t h = 0; h < n_items; h++)
		best_signal[h] = -INFINITY;
	for (int s = 0; s < n_signals; s++)
		if (norm[s])
			for (int32_t h = 0; h < n_items; h++)
				best_signal[h] = best_signal[h] > norm[s][h] ? best_signal[h] : norm[s][h];
	n_pool = fr_topk(best_signal, n_items, NULL, 0, NULL, m, pool, pool_best);
	for (int i = 0; i < n_pool; i++)
		in_pool[pool[i]] = 1;
	for (int i = 0; i < n_exact; i++)
		if (exact[i] >= 0 && exact[i] < n_items && !in_pool[exact[i]])
		{
			in_pool[exact[i]] = 1;
			pool[n_pool++] = exact[i];
		}

	x = fr_alloc(fr_mul_size(sizeof(float) * d, (size_t) (n_pool > 0 ? n_pool : 1)));
	y = fr_alloc(sizeof(float) * (n_pool > 0 ? n_pool : 1));
	for (int i = 0; i < n_pool; i++)
		fr_fusion_row(n_signals, terms, norm, n_hist, item_feat, pool[i], x + (size_t) i * d);
	fr_fusion_forward(net, n_pool, x, y);
	for (int i = 0; i < n_pool; i++)
		lowest = lowest < y[i] ? lowest : y[i];
	for (int32_t h = 0; h < n_items; h++)
		best_weighted = best_weighted > out[h] ? best_weighted : out[h];
	for (int32_t h = 0; h < n_items; h++)
		if (!in_pool[h])
			out[h] = lowest - 1.0f - (best_weighted - out[h]);
	for (int i = 0; i < n_pool; i++)
		out[pool[i]] = y[i];
	fr_free(best_signal);
	fr_free(in_pool);
	fr_free(pool);
	fr_free(pool_best);
	fr_free(x);
	fr_free(y);
}

void
fr_fusion_contributions(const FrFusionNet *net, int n_signals, const float *const *norm,
						const float *item_feat, int n_hist, int32_t h,
						float *base, float *contrib)
{
	int			d = net->d;
	bool		terms = d == fr_fusion_inputs(n_signals, true);
	float	   *full = fr_alloc(sizeof(float) * d);
	float	   *x = fr_alloc(sizeof(float) * (size_t) (n_signals + 1) * d);
	float	   *out = fr_alloc(sizeof(float) * (n_signals + 1));

	/* row r has signals r .. n_signals - 1 switched off */
	fr_fusion_row(n_signals, terms, norm, n_hist, item_feat, h, full);
	for (int r = 0; r <= n_signals; r++)
	{
		memcpy(x + (size_t) r * d, full, sizeof(float) * d);
		for (int s = r; s < n_signals; s++)
		{
			x[(size_t) r * d + s] = 0.0f;
			if (terms)
				x[(size_t) r * d + n_signals + FR_FUSION_EXTRA + s] = 0.0f;
		}
	}
	fr_fusion_forward(net, n_signals + 1, x, out);
	*base = out[0];
	for (int s = 0; s < n_signals; s++)
		contrib[s] = out[s + 1] - out[s];
	fr_free(full);
	fr_free(x);
	fr_free(out);
}

int32_t
fr_fusion_candidates(int n_signals, const float *const *norm, int32_t n_items,
					 const uint8_t *skip, int m, int32_t *cand)
{
	uint8_t    *taken = fr_alloc((size_t) (n_items > 0 ? n_items : 1));
	int32_t    *top = fr_alloc(sizeof(int32_t) * (m > 0 ? m : 1));
	float	   *best = fr_alloc(sizeof(float) * (m > 0 ? m : 1));
	int32_t		n_cand = 0;

	for (int s = 0; s < n_signals; s++)
	{
		int			got;

		if (norm[s] == NULL)
			continue;
		got = fr_topk(norm[s], n_items, NULL, 0, skip, m, top, best);
		for (int r = 0; r < got; r++)
			if (!taken[top[r]])
			{
				taken[top[r]] = 1;
				cand[n_cand++] = top[r];
			}
	}
	fr_free(taken);
	fr_free(top);
	fr_free(best);
	return n_cand;
}

FrFusionSet
fr_fusion_set_slice(const FrFusionSet *set, int32_t g0, int32_t g1)
{
	FrFusionSet slice;
	int64_t    *group = fr_alloc(sizeof(int64_t) * (size_t) (g1 - g0 + 1));
	int64_t		base = set->group[g0];

	for (int32_t g = g0; g <= g1; g++)
		group[g - g0] = set->group[g] - base;
	slice.n = set->group[g1] - base;
	slice.d = set->d;
	slice.x = set->x + base * set->d;
	slice.y = set->y + base;
	slice.n_groups = g1 - g0;
	slice.group = group;
	return slice;
}
