/*
 * fusion_learn.c — logistic regression and a small MLP over per-item
 * features, for the hybrid recommender's learned fusion (fusion_learn.h).
 *
 * The examples are few (a thousand users times a few hundred candidates) and
 * narrow (under a dozen features), so logistic regression is solved exactly
 * (Newton in double precision: the same answer on every run, no step size to
 * tune) and the MLP is small enough that an epoch takes milliseconds; its
 * mini-batch products go through fr_sgemm.  Serving, which scores a pool
 * of a few thousand items per request, has its own pass (fr_fusion_forward).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fusion_learn.h"
#include "kernel.h"
#include "linalg.h"

static int
layer_dims(const FrFusionNet *net, int *dims)
{
	int			layers = net->n_hidden + 1;

	dims[0] = net->d;
	for (int l = 0; l < net->n_hidden; l++)
		dims[l + 1] = net->hidden[l];
	dims[layers] = 1;
	return layers;
}

int64_t
fr_fusion_net_size(int d, int n_hidden, const int *hidden)
{
	int64_t		size = 2 * (int64_t) d;
	int			in = d;

	for (int l = 0; l <= n_hidden; l++)
	{
		int			out = l < n_hidden ? hidden[l] : 1;

		size += (int64_t) in * out + out;
		in = out;
	}
	return size;
}

void
fr_fusion_net_alloc(FrFusionNet *net, int d, int n_hidden, const int *hidden)
{
	if (d <= 0 || n_hidden < 0 || n_hidden > FR_FUSION_MAX_HIDDEN)
		fr_fail(FR_FAIL_PARAM, "a fusion net needs features and at most %d hidden layers",
				FR_FUSION_MAX_HIDDEN);
	for (int l = 0; l < n_hidden; l++)
		if (hidden[l] <= 0)
			fr_fail(FR_FAIL_PARAM, "hidden layer %d has %d units", l + 1, hidden[l]);
	memset(net, 0, sizeof(*net));
	net->d = d;
	net->n_hidden = n_hidden;
	for (int l = 0; l < n_hidden; l++)
		net->hidden[l] = hidden[l];
	net->params = fr_alloc(fr_mul_size((size_t) fr_fusion_net_size(d, n_hidden, hidden),
									   sizeof(float)));
}

/* where layer l's weights and biases start in params */
static void
layer_offsets(const FrFusionNet *net, int64_t *w_off, int64_t *b_off)
{
	int			dims[FR_FUSION_MAX_HIDDEN + 2];
	int			layers = layer_dims(net, dims);
	int64_t		off = 2 * (int64_t) net->d;

	for (int l = 0; l < layers; l++)
	{
		w_off[l] = off;
		off += (int64_t) dims[l] * dims[l + 1];
		b_off[l] = off;
		off += dims[l + 1];
	}
}

/* mean and 1/sd of each column; constant columns get scale 1 (they only move the bias) */
static void
standardise(const FrFusionSet *set, FrFusionNet *net)
{
	int			d = set->d;
	float	   *shift = net->params;
	float	   *scale = net->params + d;

	for (int j = 0; j < d; j++)
	{
		double		sum = 0,
					ss = 0,
					mean,
					sd;

		for (int64_t i = 0; i < set->n; i++)
			sum += set->x[i * d + j];
		mean = set->n > 0 ? sum / set->n : 0;
		for (int64_t i = 0; i < set->n; i++)
		{
			double		e = set->x[i * d + j] - mean;

			ss += e * e;
		}
		sd = set->n > 0 ? sqrt(ss / set->n) : 0;
		shift[j] = (float) mean;
		scale[j] = sd > 1e-9 ? (float) (1.0 / sd) : 1.0f;
	}
}

static inline double
log1pexp(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static inline double
sigmoid(double z)
{
	return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

double
fr_fusion_logloss(int64_t n, const float *logits, const float *y)
{
	double		loss = 0;

	for (int64_t i = 0; i < n; i++)
		loss += log1pexp(logits[i]) - y[i] * (double) logits[i];
	return n > 0 ? loss / n : 0;
}

/* ---- logistic regression ----------------------------------------------------- */

static double
lr_loss(const FrFusionSet *set, const double *z, const double *w, double l2)
{
	int			d = set->d;
	double		loss = 0;

	for (int64_t i = 0; i < set->n; i++)
	{
		double		t = w[d];

		for (int j = 0; j < d; j++)
			t += w[j] * z[i * d + j];
		loss += log1pexp(t) - set->y[i] * t;
	}
	for (int j = 0; j < d; j++)
		loss += 0.5 * l2 * w[j] * w[j];
	return loss;
}

double
fr_fusion_fit_logistic(const FrFusionSet *fit, double l2, FrFusionNet *net)
{
	int			d = fit->d;
	int			p = d + 1;		/* coefficients, then the intercept */
	double	   *z,
			   *w,
			   *h,
			   *g,
			   *trial;
	double		loss;
	double		started = fr_now();
	int64_t		w_off[1],
				b_off[1];

	if (fit->n <= 0)
		fr_fail(FR_FAIL_NUMERIC, "no examples to fit the fusion on");
	if (!(l2 >= 0) || !isfinite(l2))
		fr_fail(FR_FAIL_PARAM, "the L2 penalty must be finite and non-negative, got %g", l2);
	fr_fusion_net_alloc(net, d, 0, NULL);
	standardise(fit, net);

	z = fr_alloc(fr_mul_size(fr_mul_size((size_t) fit->n, d), sizeof(double)));
	for (int64_t i = 0; i < fit->n; i++)
		for (int j = 0; j < d; j++)
			z[i * d + j] = ((double) fit->x[i * d + j] - net->params[j]) * net->params[d + j];
	w = fr_alloc(sizeof(double) * p);
	trial = fr_alloc(sizeof(double) * p);
	h = fr_alloc(sizeof(double) * p * p);
	g = fr_alloc(sizeof(double) * p);
	loss = lr_loss(fit, z, w, l2);

	for (int iter = 0; iter < 100; iter++)
	{
		double		step = 1.0,
					new_loss,
					norm = 0;

		fr_check_interrupts();
		memset(h, 0, sizeof(double) * p * p);
		for (int j = 0; j < d; j++)
			g[j] = l2 * w[j];
		g[d] = 0;
		for (int64_t i = 0; i < fit->n; i++)
		{
			const double *zi = z + i * d;
			double		t = w[d],
						pr,
						c;

			for (int j = 0; j < d; j++)
				t += w[j] * zi[j];
			pr = sigmoid(t);
			c = pr * (1 - pr);
			for (int a = 0; a < p; a++)
			{
				double		za = a < d ? zi[a] : 1.0;

				g[a] += (pr - fit->y[i]) * za;
				for (int b = a; b < p; b++)
					h[a * p + b] += c * za * (b < d ? zi[b] : 1.0);
			}
		}
		for (int a = 0; a < p; a++)
		{
			/* a tiny ridge keeps the intercept's and a constant column's system solvable */
			h[a * p + a] += (a < d ? l2 : 0) + 1e-9 * fit->n + 1e-12;
			for (int b = 0; b < a; b++)
				h[a * p + b] = h[b * p + a];
		}
		if (!fr_dposv(p, 1, h, g))
			fr_fail(FR_FAIL_NUMERIC, "the logistic fusion's Hessian is singular");
		/* step halving: Newton from far away can overshoot on separable data */
		for (;;)
		{
			for (int a = 0; a < p; a++)
				trial[a] = w[a] - step * g[a];
			new_loss = lr_loss(fit, z, trial, l2);
			if (new_loss <= loss || step < 1e-6)
				break;
			step *= 0.5;
		}
		for (int a = 0; a < p; a++)
			norm += step * step * g[a] * g[a];
		memcpy(w, trial, sizeof(double) * p);
		fr_progress("logistic fusion: iteration %d, loss %.6f, step %.3g (%.2f s)",
					iter + 1, new_loss / fit->n, sqrt(norm), fr_now() - started);
		fr_progress_step("logistic fusion iterations", iter + 1, 0, new_loss / fit->n);
		if (loss - new_loss <= 1e-10 * (1 + loss) || sqrt(norm) < 1e-9)
		{
			loss = new_loss;
			break;
		}
		loss = new_loss;
	}

	layer_offsets(net, w_off, b_off);
	for (int j = 0; j < d; j++)
		net->params[w_off[0] + j] = (float) w[j];
	net->params[b_off[0]] = (float) w[d];
	fr_free(z);
	fr_free(w);
	fr_free(trial);
	fr_free(h);
	fr_free(g);
	/* the mean log loss without the penalty, comparable across l2 */
	{
		float	   *s = fr_alloc(fr_mul_size((size_t) fit->n, sizeof(float)));
		double		mean_loss;

		fr_fusion_forward(net, fit->n, fit->x, s);
		mean_loss = fr_fusion_logloss(fit->n, s, fit->y);
		fr_free(s);
		return mean_loss;
	}
}

/* ---- the net --------------------------------------------------------------------- */

/*
 * Training's forward pass of a mini-batch x[0 .. n) keeping every layer's
 * output in act[l + 1] (act[0] gets the standardised input): what backprop
 * needs.  The last layer's output (act[layers]) is the logit.
 */
static void
forward_block(const FrFusionNet *net, int n, const float *x, float **act)
{
	int			dims[FR_FUSION_MAX_HIDDEN + 2];
	int			layers = layer_dims(net, dims);
	int64_t		w_off[FR_FUSION_MAX_HIDDEN + 1],
				b_off[FR_FUSION_MAX_HIDDEN + 1];
	int			d = net->d;

	layer_offsets(net, w_off, b_off);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			act[0][(size_t) i * d + j] = (x[(size_t) i * d + j] - net->params[j]) * net->params[d + j];
	for (int l = 0; l < layers; l++)
	{
		int			in = dims[l],
					out = dims[l + 1];
		float	   *o = act[l + 1];
		const float *b = net->params + b_off[l];

		for (int i = 0; i < n; i++)
			memcpy(o + (size_t) i * out, b, sizeof(float) * out);
		fr_sgemm(false, false, n, out, in, 1.0f, act[l], in,
				 net->params + w_off[l], out, 1.0f, o, out);
		if (l < layers - 1)
			for (size_t i = 0; i < (size_t) n * out; i++)
				if (o[i] < 0)
					o[i] = 0;
	}
}

static float **
alloc_acts(const FrFusionNet *net, int rows)
{
	int			dims[FR_FUSION_MAX_HIDDEN + 2];
	int			layers = layer_dims(net, dims);
	float	  **act = fr_alloc(sizeof(float *) * (layers + 1));

	for (int l = 0; l <= layers; l++)
		act[l] = fr_alloc(fr_mul_size((size_t) rows, (size_t) dims[l] * sizeof(float)));
	return act;
}

static void
free_acts(const FrFusionNet *net, float **act)
{
	for (int l = 0; l <= net->n_hidden + 1; l++)
		fr_free(act[l]);
	fr_free(act);
}

/*
 * Serving scores a whole catalog per request.  Rows are taken in chunks that
 * fit in L1, transposed so that each input and each unit is a contiguous
 * vector over the chunk's items, and every weight becomes one saxpy over
 * that vector — vectorised whatever the net's (small) shape, where a GEMM
 * with 8 inputs and 16 units spends its time packing, and the
 * standardisation is folded into the first layer's weights
 * (W' = diag(scale) W, b' = b - shift' W').  Timing in docs/hybrid.md.
 */
#define FORWARD_CHUNK 256

/*
 * y += a x over one chunk, always FORWARD_CHUNK long (the last chunk is
 * padded): with a fixed trip count and no aliasing GCC's -O2 vectorises it
 * (its "very cheap" model refuses loops that need a remainder), which makes
 * the 8-16-1 net four times faster than a call to BLAS saxpy per weight.
 */
static inline void
chunk_axpy(float a, const float *restrict x, float *restrict y)
{
	for (int i = 0; i < FORWARD_CHUNK; i++)
		y[i] += a * x[i];
}

/* y[u] += a[u] x for four consecutive output vectors y[u] (u = 0..3) */
static inline void
chunk_axpy4(const float *a, const float *restrict x, float *restrict y)
{
	float		a0 = a[0],
				a1 = a[1],
				a2 = a[2],
				a3 = a[3];

	for (int i = 0; i < FORWARD_CHUNK; i++)
	{
		float		v = x[i];

		y[i] += a0 * v;
		y[FORWARD_CHUNK + i] += a1 * v;
		y[2 * FORWARD_CHUNK + i] += a2 * v;
		y[3 * FORWARD_CHUNK + i] += a3 * v;
	}
}

void
fr_fusion_forward(const FrFusionNet *net, int64_t n, const float *x, float *out)
{
	int			dims[FR_FUSION_MAX_HIDDEN + 2];
	int			layers = layer_dims(net, dims);
	int64_t		w_off[FR_FUSION_MAX_HIDDEN + 1],
				b_off[FR_FUSION_MAX_HIDDEN + 1];
	int			d = net->d;
	float	   *w0,
			   *b0,
			   *buf[FR_FUSION_MAX_HIDDEN + 2];

	layer_offsets(net, w_off, b_off);
	w0 = fr_alloc(fr_mul_size((size_t) d * dims[1], sizeof(float)));
	b0 = fr_alloc(fr_mul_size((size_t) dims[1], sizeof(float)));
	for (int c = 0; c < dims[1]; c++)
	{
		double		b = net->params[b_off[0] + c];

		for (int j = 0; j < d; j++)
		{
			float		w = net->params[w_off[0] + (int64_t) j * dims[1] + c] * net->params[d + j];

			w0[(size_t) j * dims[1] + c] = w;
			b -= (double) net->params[j] * w;
		}
		b0[c] = (float) b;
	}
	/* buf[l]: layer l's input, dims[l] vectors of FORWARD_CHUNK */
	for (int l = 0; l <= layers; l++)
		buf[l] = fr_alloc(fr_mul_size((size_t) dims[l] * FORWARD_CHUNK, sizeof(float)));

	for (int64_t lo = 0; lo < n; lo += FORWARD_CHUNK)
	{
		int			m = (int) (n - lo < FORWARD_CHUNK ? n - lo : FORWARD_CHUNK);

		for (int i = 0; i < FORWARD_CHUNK; i++)
			for (int j = 0; j < d; j++)
				buf[0][(size_t) j * FORWARD_CHUNK + i] = i < m ? x[(lo + i) * d + j] : 0.0f;
		for (int l = 0; l < layers; l++)
		{
			const float *w = l == 0 ? w0 : net->params + w_off[l];
			const float *b = l == 0 ? b0 : net->params + b_off[l];
			int			n_in = dims[l],
						n_out = dims[l + 1];

			int			c = 0;

			/* four units at a time share each load of an input vector */
			for (; c + 4 <= n_out; c += 4)
			{
				float	   *o = buf[l + 1] + (size_t) c * FORWARD_CHUNK;

				for (int u = 0; u < 4; u++)
					for (int i = 0; i < FORWARD_CHUNK; i++)
						o[u * FORWARD_CHUNK + i] = b[c + u];
				for (int j = 0; j < n_in; j++)
					chunk_axpy4(w + (size_t) j * n_out + c, buf[l] + (size_t) j * FORWARD_CHUNK, o);
			}
			for (; c < n_out; c++)
			{
				float	   *o = buf[l + 1] + (size_t) c * FORWARD_CHUNK;

				for (int i = 0; i < FORWARD_CHUNK; i++)
					o[i] = b[c];
				for (int j = 0; j < n_in; j++)
				{
					float		wjc = w[(size_t) j * n_out + c];

					if (wjc != 0.0f)
						chunk_axpy(wjc, buf[l] + (size_t) j * FORWARD_CHUNK, o);
				}
			}
			if (l < layers - 1)
			{
				float	   *o = buf[l + 1];

				for (size_t i = 0; i < (size_t) n_out * FORWARD_CHUNK; i++)
					o[i] = o[i] > 0.0f ? o[i] : 0.0f;
			}
		}
		memcpy(out + lo, buf[layers], sizeof(float) * m);
	}
	fr_free(w0);
	fr_free(b0);
	for (int l = 0; l <= layers; l++)
		fr_free(buf[l]);
}


/* ---- NDCG ------------------------------------------------------------------------- */

typedef struct Ranked
{
	float		score;
	int64_t		row;
} Ranked;

static int
cmp_ranked(const void *a, const void *b)
{
	const Ranked *x = a;
	const Ranked *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

double
fr_fusion_ndcg(const FrFusionSet *set, const float *scores, int k)
{
	return fr_fusion_ndcg_groups(set, scores, k, NULL);
}

double
fr_fusion_ndcg_groups(const FrFusionSet *set, const float *scores, int k, double *per_group)
{
	double		total = 0;
	int64_t		counted = 0;
	int64_t		widest = 1;
	Ranked	   *r;

	for (int32_t g = 0; g < set->n_groups; g++)
		if (set->group[g + 1] - set->group[g] > widest)
			widest = set->group[g + 1] - set->group[g];
	r = fr_alloc(fr_mul_size((size_t) widest, sizeof(Ranked)));
	for (int32_t g = 0; g < set->n_groups; g++)
	{
		int64_t		lo = set->group[g],
					m = set->group[g + 1] - lo;
		int64_t		positives = 0;
		double		dcg = 0,
					ideal = 0;

		for (int64_t i = 0; i < m; i++)
		{
			r[i].score = isfinite(scores[lo + i]) ? scores[lo + i] : -INFINITY;
			r[i].row = i;
			positives += set->y[lo + i] > 0;
		}
		if (per_group)
			per_group[g] = NAN;
		if (positives == 0)
			continue;
		qsort(r, m, sizeof(Ranked), cmp_ranked);
		for (int64_t i = 0; i < m && i < k; i++)
		{
			if (set->y[lo + r[i].row] > 0)
				dcg += 1.0 / log2(i + 2.0);
			if (i < positives)
				ideal += 1.0 / log2(i + 2.0);
		}
		total += dcg / ideal;
		counted++;
		if (per_group)
			per_group[g] = dcg / ideal;
	}
	fr_free(r);
	return counted > 0 ? total / counted : 0;
}

int
fr_fusion_choose(int n, const double *ndcg, double *const *per_group, int32_t n_groups, double *noise)
{
	int			kept = 0;

	noise[0] = INFINITY;
	for (int k = 1; k < n; k++)
	{
		noise[k] = INFINITY;
		if (ndcg[k] < 0)
			continue;
		noise[k] = fr_fusion_paired_se(n_groups, per_group[kept], per_group[k]);
		if (ndcg[k] - ndcg[kept] > noise[k])
			kept = k;
	}
	return kept;
}

double
fr_fusion_paired_se(int32_t n, const double *a, const double *b)
{
	double		sum = 0,
				sum2 = 0;
	int32_t		m = 0;

	for (int32_t i = 0; i < n; i++)
		if (isfinite(a[i]) && isfinite(b[i]))
		{
			double		d = b[i] - a[i];

			sum += d;
			sum2 += d * d;
			m++;
		}
	if (m < 2)
		return INFINITY;		/* one user says nothing about the noise */
	{
		double		mean = sum / m,
					var = (sum2 - m * mean * mean) / (m - 1);

		return sqrt(var > 0 ? var / m : 0);
	}
}

/* ---- the MLP ------------------------------------------------------------------------ */

void
fr_fusion_fit_mlp(const FrFusionSet *fit, const FrFusionSet *stop,
				  const FrMlpOptions *opt, FrFusionNet *net, FrFusionFitInfo *info)
{
	int			dims[FR_FUSION_MAX_HIDDEN + 2];
	int			layers;
	int64_t		w_off[FR_FUSION_MAX_HIDDEN + 1],
				b_off[FR_FUSION_MAX_HIDDEN + 1];
	int64_t		size = fr_fusion_net_size(net->d, net->n_hidden, net->hidden);
	int			batch = opt->batch > 0 ? opt->batch : 256;
	float	  **act;
	float	   *delta,
			   *delta_prev,
			   *grad,
			   *m1,
			   *m2,
			   *best,
			   *xb,
			   *stop_scores;
	float	   *yb;
	int64_t    *order;
	FrRng		rng;
	double		best_ndcg,
				started = fr_now();
	int			since_best = 0,
				widest = 1,
				step = 0;

	if (fit->n <= 0 || fit->d != net->d || (stop && stop->d != net->d))
		fr_fail(FR_FAIL_NUMERIC, "no examples to fit the fusion on");
	if (!(opt->learning_rate > 0) || !(opt->l2 >= 0) || opt->max_epochs < 1)
		fr_fail(FR_FAIL_PARAM, "invalid MLP options");
	layers = layer_dims(net, dims);
	layer_offsets(net, w_off, b_off);
	for (int l = 0; l <= layers; l++)
		if (dims[l] > widest)
			widest = dims[l];

	/* He initialisation from the seed; biases 0 */
	fr_rng_seed(&rng, opt->seed);
	memset(net->params, 0, sizeof(float) * size);
	if (opt->standardisation)
		memcpy(net->params, opt->standardisation, sizeof(float) * 2 * net->d);
	else
		standardise(fit, net);
	for (int l = 0; l < layers; l++)
	{
		double		sd = sqrt((l < layers - 1 ? 2.0 : 1.0) / dims[l]);

		for (int64_t i = 0; i < (int64_t) dims[l] * dims[l + 1]; i++)
			net->params[w_off[l] + i] = (float) (sd * fr_rng_normal(&rng));
	}

	act = alloc_acts(net, batch);
	delta = fr_alloc(fr_mul_size((size_t) batch, (size_t) widest * sizeof(float)));
	delta_prev = fr_alloc(fr_mul_size((size_t) batch, (size_t) widest * sizeof(float)));
	xb = fr_alloc(fr_mul_size((size_t) batch, (size_t) net->d * sizeof(float)));
	yb = fr_alloc(fr_mul_size((size_t) batch, sizeof(float)));
	grad = fr_alloc(fr_mul_size((size_t) size, sizeof(float)));
	m1 = fr_alloc(fr_mul_size((size_t) size, sizeof(float)));
	m2 = fr_alloc(fr_mul_size((size_t) size, sizeof(float)));
	best = fr_alloc(fr_mul_size((size_t) size, sizeof(float)));
	order = fr_alloc(fr_mul_size((size_t) fit->n, sizeof(int64_t)));
	stop_scores = fr_alloc(fr_mul_size((size_t) (stop && stop->n > 0 ? stop->n : 1), sizeof(float)));
	for (int64_t i = 0; i < fit->n; i++)
		order[i] = i;

	memcpy(best, net->params, sizeof(float) * size);
	best_ndcg = -1;
	if (stop && stop->n > 0)
	{
		fr_fusion_forward(net, stop->n, stop->x, stop_scores);
		best_ndcg = fr_fusion_ndcg(stop, stop_scores, opt->ndcg_k);
	}
	info->best_epoch = 0;
	info->epochs = 0;

	for (int epoch = 1; epoch <= opt->max_epochs; epoch++)
	{
		double		loss = 0,
					ndcg = -1;

		fr_check_interrupts();
		/* Fisher-Yates from the seeded stream: the same order on every run */
		for (int64_t i = fit->n - 1; i > 0; i--)
		{
			int64_t		j = (int64_t) fr_rng_below(&rng, (uint64_t) i + 1);
			int64_t		t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int64_t lo = 0; lo < fit->n; lo += batch)
		{
			int			m = (int) (fit->n - lo < batch ? fit->n - lo : batch);
			double		b1t,
						b2t,
						lr;

			for (int i = 0; i < m; i++)
			{
				memcpy(xb + (size_t) i * net->d, fit->x + order[lo + i] * net->d,
					   sizeof(float) * net->d);
				yb[i] = fit->y[order[lo + i]];
			}
			forward_block(net, m, xb, act);
			/* d loss / d logit of the mean log loss */
			for (int i = 0; i < m; i++)
			{
				double		t = act[layers][i];

				loss += log1pexp(t) - yb[i] * t;
				delta[i] = (float) ((sigmoid(t) - yb[i]) / m);
			}
			memset(grad, 0, sizeof(float) * size);
			for (int l = layers - 1; l >= 0; l--)
			{
				int			in = dims[l],
							out = dims[l + 1];
				float	   *gb = grad + b_off[l];

				fr_sgemm(true, false, in, out, m, 1.0f, act[l], in, delta, out,
						 0.0f, grad + w_off[l], out);
				for (int i = 0; i < m; i++)
					for (int c = 0; c < out; c++)
						gb[c] += delta[(size_t) i * out + c];
				if (l > 0)
				{
					float	   *t;

					fr_sgemm(false, true, m, in, out, 1.0f, delta, out,
							 net->params + w_off[l], out, 0.0f, delta_prev, in);
					for (size_t i = 0; i < (size_t) m * in; i++)
						if (act[l][i] <= 0)
							delta_prev[i] = 0;
					t = delta;
					delta = delta_prev;
					delta_prev = t;
				}
			}
			/* the penalty l2/2 ||W||^2 of the summed loss, per example */
			for (int l = 0; l < layers; l++)
				for (int64_t i = 0; i < (int64_t) dims[l] * dims[l + 1]; i++)
					grad[w_off[l] + i] += (float) (opt->l2 / fit->n) * net->params[w_off[l] + i];
			/* Adam (the standardisation, params[0 .. 2d), is not trained) */
			step++;
			b1t = 1 - pow(0.9, step);
			b2t = 1 - pow(0.999, step);
			lr = opt->learning_rate * sqrt(b2t) / b1t;
			for (int64_t i = 2 * (int64_t) net->d; i < size; i++)
			{
				m1[i] = 0.9f * m1[i] + 0.1f * grad[i];
				m2[i] = 0.999f * m2[i] + 0.001f * grad[i] * grad[i];
				net->params[i] -= (float) (lr * m1[i] / (sqrt(m2[i]) + 1e-8));
			}
		}
		info->epochs = epoch;
		info->fit_loss = loss / fit->n;
		if (stop && stop->n > 0)
		{
			fr_fusion_forward(net, stop->n, stop->x, stop_scores);
			ndcg = fr_fusion_ndcg(stop, stop_scores, opt->ndcg_k);
			if (ndcg > best_ndcg + 1e-9)
			{
				best_ndcg = ndcg;
				memcpy(best, net->params, sizeof(float) * size);
				info->best_epoch = epoch;
				since_best = 0;
			}
			else
				since_best++;
		}
		else
		{
			memcpy(best, net->params, sizeof(float) * size);
			info->best_epoch = epoch;
		}
		fr_progress("mlp fusion: epoch %d, loss %.6f, early-stopping NDCG@%d %.4f (%.2f s)",
					epoch, loss / fit->n, opt->ndcg_k, ndcg, fr_now() - started);
		fr_progress_step("mlp fusion epochs", epoch, 0, loss / fit->n);
		if (opt->patience > 0 && since_best >= opt->patience)
			break;
	}
	memcpy(net->params, best, sizeof(float) * size);
	info->stop_ndcg = best_ndcg;

	free_acts(net, act);
	fr_free(delta);
	fr_free(delta_prev);
	fr_free(xb);
	fr_free(yb);
	fr_free(grad);
	fr_free(m1);
	fr_free(m2);
	fr_free(best);
	fr_free(order);
	fr_free(stop_scores);
}

/* ---- bagging ------------------------------------------------------------------------ */

/*
 * Bags are spread over the seed space by the golden-ratio increment, so bag
 * b of seed s is not bag 0 of seed s + b: a user who tries seeds 42 and 43
 * gets two unrelated bags, not two that share all but one member.
 */
uint64_t
fr_fusion_bag_seed(uint64_t seed, int b)
{
	return seed + (uint64_t) b * UINT64_C(0x9E3779B97F4A7C15);
}

/*
 * The groups of set inside [g0, g1) (inside) or outside it, copied into a
 * set of their own (freed by set_free) in the order they had.
 */
static FrFusionSet
set_gather(const FrFusionSet *set, int32_t g0, int32_t g1, bool inside)
{
	int32_t		n_groups = inside ? g1 - g0 : set->n_groups - (g1 - g0);
	int64_t		n = inside ? set->group[g1] - set->group[g0]
		: set->n - (set->group[g1] - set->group[g0]);
	float	   *x = fr_alloc(fr_mul_size(fr_mul_size((size_t) (n > 0 ? n : 1), (size_t) set->d), sizeof(float)));
	float	   *y = fr_alloc(fr_mul_size((size_t) (n > 0 ? n : 1), sizeof(float)));
	int64_t    *group = fr_alloc(sizeof(int64_t) * ((size_t) n_groups + 1));
	int32_t		k = 0;

	group[0] = 0;
	for (int32_t g = 0; g < set->n_groups; g++)
	{
		int64_t		lo = set->group[g],
					rows = set->group[g + 1] - lo;

		if ((g >= g0 && g < g1) != inside)
			continue;
		memcpy(x + group[k] * set->d, set->x + lo * set->d, sizeof(float) * rows * set->d);
		memcpy(y + group[k], set->y + lo, sizeof(float) * rows);
		group[k + 1] = group[k] + rows;
		k++;
	}
	return (FrFusionSet) {n, set->d, x, y, n_groups, group};
}

static void
set_free(FrFusionSet *set)
{
	fr_free((void *) set->x);
	fr_free((void *) set->y);
	fr_free((void *) set->group);
}

void
fr_fusion_fit_mlp_bag(const FrFusionSet *pool, int32_t n_fit,
					  const FrMlpOptions *opt, int n_bags, int n_hidden,
					  const int *hidden, FrFusionNet *net, FrFusionFitInfo *info)
{
	int			wide[FR_FUSION_MAX_HIDDEN] = {0};
	int			dims[FR_FUSION_MAX_HIDDEN + 2],
				wdims[FR_FUSION_MAX_HIDDEN + 2];
	int64_t		w_off[FR_FUSION_MAX_HIDDEN + 1],
				b_off[FR_FUSION_MAX_HIDDEN + 1],
				ww_off[FR_FUSION_MAX_HIDDEN + 1],
				wb_off[FR_FUSION_MAX_HIDDEN + 1];
	int			layers;
	int			d = pool->d;
	/* the thirds: the stop groups, then the two halves of the fit groups */
	int32_t		third_lo[3] = {n_fit, 0, n_fit / 2},
				third_hi[3] = {pool->n_groups, n_fit / 2, n_fit};
	FrFusionNet one;
	FrMlpOptions bag_opt = *opt;

	if (n_bags < 1)
		fr_fail(FR_FAIL_PARAM, "a bag needs at least one MLP, got %d", n_bags);
	if (n_fit < 2 || n_fit >= pool->n_groups)
		fr_fail(FR_FAIL_PARAM, "a bag needs at least two fit groups and one stop group, got %d of %d",
				(int) n_fit, (int) pool->n_groups);
	for (int l = 0; l < n_hidden; l++)
		wide[l] = hidden[l] * n_bags;
	fr_fusion_net_alloc(net, d, n_hidden, wide);
	memset(net->params, 0, sizeof(float) * fr_fusion_net_size(d, n_hidden, wide));
	fr_fusion_net_alloc(&one, d, n_hidden, hidden);
	layers = layer_dims(&one, dims);
	layer_dims(net, wdims);
	layer_offsets(&one, w_off, b_off);
	layer_offsets(net, ww_off, wb_off);

	for (int b = 0; b < n_bags; b++)
	{
		FrFusionFitInfo bag_info;

		/*
		 * Each bag stops early on its own third of the users: with one
		 * stopping set for all, the bag would average the members'
		 * initialisations but not the luck of that one small draw of users,
		 * which moved the fusion as much as the seed did (docs/hybrid.md).
		 */
		int			t = b % 3;
		FrFusionSet fit = set_gather(pool, third_lo[t], third_hi[t], false),
					stop = set_gather(pool, third_lo[t], third_hi[t], true);

		bag_opt.seed = fr_fusion_bag_seed(opt->seed, b);
		fr_fusion_fit_mlp(&fit, &stop, &bag_opt, &one, &bag_info);
		set_free(&fit);
		set_free(&stop);
		if (b == 0)
		{
			*info = bag_info;
			/* one net, one standardisation: bag 0's, fitted on its fit users */
			memcpy(net->params, one.params, sizeof(float) * 2 * d);
			bag_opt.standardisation = net->params;
		}
		else
			info->epochs += bag_info.epochs;
		for (int l = 0; l < layers; l++)
		{
			bool		last = l == layers - 1;
			int			out = dims[l + 1];
			/* the bag's block: its own rows (inputs) past the first layer, its own columns before the last */
			int			row0 = l == 0 ? 0 : b * dims[l];
			int			col0 = last ? 0 : b * out;

			for (int i = 0; i < dims[l]; i++)
				for (int c = 0; c < out; c++)
				{
					float		w = one.params[w_off[l] + (int64_t) i * out + c];

					net->params[ww_off[l] + (int64_t) (row0 + i) * wdims[l + 1] + col0 + c] =
						last ? w / n_bags : w;
				}
			for (int c = 0; c < out; c++)
			{
				float		bias = one.params[b_off[l] + c];

				if (last)
					net->params[wb_off[l] + c] += bias / n_bags;
				else
					net->params[wb_off[l] + col0 + c] = bias;
			}
		}
	}
	fr_free(one.params);
}
