/*
 * featurefm.c — the feature-aware factorisation kernel: BPR and WARP by SGD
 * with Adagrad (featurefm.h).
 */
#include <math.h>
#include <string.h>

#include "featurefm.h"

/* BPR's draws for a negative the user has not interacted with */
#define BPR_MAX_DRAWS 16
/* how many steps between checks for a cancel */
#define INTERRUPT_EVERY 4096

/* Adagrad's accumulators start at 1, as LightFM's do: the first steps are the base step */
#define ADAGRAD_INIT 1.0f

/* the state of a fit: parameters, their Adagrad accumulators, vectors of one step */
typedef struct Step
{
	const FrFmOptions *opt;
	const FrFmParams *p;
	const FrCsr *uf;
	const FrCsr *itf;
	FrFmParams *acc;			/* accumulators shaped like p; NULL when computing a gradient */
	float	   *pu;
	float	   *qi;
	float	   *qj;
	float	   *diff;			/* qi - qj */
	float	   *gp;				/* dL/dpu */
	float		bi;				/* the positive's bias */
} Step;

/*
 * Eight partial sums, so that the compiler vectorises the loop without
 * reassociating floats itself: the order is fixed, so results do not
 * depend on the build.
 */
static float
dot(int32_t k, const float *a, const float *b)
{
	float		p[8] = {0};
	float		s = 0.0f;
	int32_t		l = 0;

	for (; l + 8 <= k; l += 8)
		for (int j = 0; j < 8; j++)
			p[j] += a[l + j] * b[l + j];
	for (; l < k; l++)
		s += a[l] * b[l];
	return s + ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

/* the weighted sum of a row's feature embeddings (and biases) */
static void
row_sum(const FrCsr *features, int32_t row, const float *emb, const float *biases,
		int32_t k, float *out, float *bias)
{
	float		b = 0.0f;

	memset(out, 0, sizeof(float) * k);
	for (int64_t q = features->indptr[row]; q < features->indptr[row + 1]; q++)
	{
		const float *e = emb + (size_t) features->indices[q] * k;
		float		w = features->values[q];

		for (int32_t l = 0; l < k; l++)
			out[l] += w * e[l];
		if (biases)
			b += w * biases[features->indices[q]];
	}
	if (bias)
		*bias = b;
}

void
fr_fm_represent(const FrCsr *features, const float *emb, const float *biases,
				int32_t factors, float *out, float *bias)
{
	for (int32_t r = 0; r < features->nrows; r++)
		row_sum(features, r, emb, biases, factors, out + (size_t) r * factors,
				bias ? bias + r : NULL);
}

static bool
is_positive(const FrCsr *ui, int32_t u, int32_t item)
{
	int64_t		lo = ui->indptr[u],
				hi = ui->indptr[u + 1];

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (ui->indices[mid] < item)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ui->indptr[u + 1] && ui->indices[lo] == item;
}

/*
 * Apply (or, computing a gradient, add) the step of one row of features:
 * each feature f of weight w gets w * g (and w * gb on its bias) plus its
 * L2 pull.  Returns the L2 terms' loss.
 */
static double
distribute(Step *s, const FrCsr *features, int32_t row, float *emb, float *biases,
		   float *acc_emb, float *acc_bias, const float *g, float gb, double alpha,
		   float *grad_emb, float *grad_bias)
{
	int32_t		k = s->opt->factors;
	float		lr = (float) s->opt->learning_rate;
	float		a = (float) alpha;
	double		reg = 0.0;

	for (int64_t q = features->indptr[row]; q < features->indptr[row + 1]; q++)
	{
		int32_t		f = features->indices[q];
		float		w = features->values[q];
		float	   *e = emb + (size_t) f * k;

		if (alpha > 0)
		{
			reg += 0.5 * alpha * dot(k, e, e);
			if (biases)
				reg += 0.5 * alpha * biases[f] * biases[f];
		}
		if (grad_emb)
		{
			float	   *ge = grad_emb + (size_t) f * k;

			for (int32_t l = 0; l < k; l++)
				ge[l] += w * g[l] + a * e[l];
			if (biases)
				grad_bias[f] += w * gb + a * biases[f];
			continue;
		}
		if (acc_emb == NULL)
			continue;			/* the loss alone */
		for (int32_t l = 0; l < k; l++)
		{
			float		gl = w * g[l] + a * e[l];
			float	   *h = acc_emb + (size_t) f * k + l;

			*h += gl * gl;
			e[l] -= lr * gl / sqrtf(*h);
		}
		if (biases)
		{
			float		gl = w * gb + a * biases[f];

			acc_bias[f] += gl * gl;
			biases[f] -= lr * gl / sqrtf(acc_bias[f]);
		}
	}
	return reg;
}

/*
 * One triple's loss; a step on the parameters (s->acc set) or the gradient
 * added to grad.  Every direction is computed from the parameters before
 * any of them moves.  With have_pos, s->pu, s->qi and s->bi hold the user's
 * and the positive's vectors already (WARP computed them to search).
 */
static double
triple(Step *s, int32_t u, int32_t i, int32_t j, double rank_weight, bool have_pos,
	   FrFmParams *grad)
{
	const FrFmParams *p = s->p;
	int32_t		k = p->factors;
	float		bj;
	double		x,
				loss,
				d,
				reg = 0.0;

	if (!have_pos)
	{
		row_sum(s->uf, u, p->user_emb, NULL, k, s->pu, NULL);
		row_sum(s->itf, i, p->item_emb, p->item_bias, k, s->qi, &s->bi);
	}
	row_sum(s->itf, j, p->item_emb, p->item_bias, k, s->qj, &bj);
	for (int32_t l = 0; l < k; l++)
		s->diff[l] = s->qi[l] - s->qj[l];
	x = (double) dot(k, s->pu, s->diff) + s->bi - bj;

	if (s->opt->loss == FR_FM_BPR)
	{
		/* -log sigmoid(x), without overflow on either side */
		loss = x > 0 ? log1p(exp(-x)) : -x + log1p(exp(x));
		d = -1.0 / (1.0 + exp(x));
	}
	else
	{
		double		hinge = 1.0 - x;

		loss = hinge > 0 ? rank_weight * hinge : 0.0;
		d = hinge > 0 ? -rank_weight : 0.0;
	}

	/* dL/dpu = d (qi - qj); dL/dqi = d pu = -dL/dqj; dL/dbi = d = -dL/dbj */
	for (int32_t l = 0; l < k; l++)
		s->gp[l] = (float) d * s->diff[l];
	for (int32_t l = 0; l < k; l++)
		s->pu[l] *= (float) d;
	reg += distribute(s, s->uf, u, p->user_emb, NULL,
					  s->acc ? s->acc->user_emb : NULL, NULL,
					  s->gp, 0.0f, s->opt->user_alpha,
					  grad ? grad->user_emb : NULL, NULL);
	reg += distribute(s, s->itf, i, p->item_emb, p->item_bias,
					  s->acc ? s->acc->item_emb : NULL, s->acc ? s->acc->item_bias : NULL,
					  s->pu, (float) d, s->opt->item_alpha,
					  grad ? grad->item_emb : NULL, grad ? grad->item_bias : NULL);
	for (int32_t l = 0; l < k; l++)
		s->pu[l] = -s->pu[l];
	reg += distribute(s, s->itf, j, p->item_emb, p->item_bias,
					  s->acc ? s->acc->item_emb : NULL, s->acc ? s->acc->item_bias : NULL,
					  s->pu, (float) -d, s->opt->item_alpha,
					  grad ? grad->item_emb : NULL, grad ? grad->item_bias : NULL);
	return loss + reg;
}

static void
step_init(Step *s, const FrFmOptions *opt, const FrFmParams *p,
		  const FrCsr *uf, const FrCsr *itf, FrFmParams *acc)
{
	size_t		k = (size_t) opt->factors;

	s->opt = opt;
	s->p = p;
	s->uf = uf;
	s->itf = itf;
	s->acc = acc;
	s->pu = fr_alloc(fr_mul_size(5 * k, sizeof(float)));
	s->qi = s->pu + k;
	s->qj = s->qi + k;
	s->diff = s->qj + k;
	s->gp = s->diff + k;
}

double
fr_fm_triple(const FrFmOptions *opt, const FrFmParams *p,
			 const FrCsr *user_features, const FrCsr *item_features,
			 int32_t u, int32_t i, int32_t j, double rank_weight, FrFmParams *grad)
{
	Step		s;
	double		loss;

	/* computing a gradient moves nothing: the step writes into grad only */
	step_init(&s, opt, p, user_features, item_features, NULL);
	loss = triple(&s, u, i, j, rank_weight, false, grad);
	fr_free(s.pu);
	return loss;
}

int32_t
fr_fm_warp_sample(const FrFmOptions *opt, const FrFmParams *p, const FrCsr *ui,
				  const FrCsr *item_features, int32_t u, const float *pu, double pos,
				  FrRng *rng, float *work, int32_t *neg)
{
	int32_t		k = p->factors;

	for (int32_t t = 1; t <= opt->max_sampled; t++)
	{
		int32_t		j = (int32_t) fr_rng_below(rng, (uint64_t) ui->ncols);
		float		bj;

		if (is_positive(ui, u, j))
			continue;
		row_sum(item_features, j, p->item_emb, p->item_bias, k, work, &bj);
		if ((double) dot(k, pu, work) + bj > pos - 1.0)
		{
			*neg = j;
			return t;
		}
	}
	return 0;
}

size_t
fr_fm_workspace_bytes(const FrFmOptions *opt, int32_t n_user_features,
					  int32_t n_item_features, int64_t nnz)
{
	size_t		rows = fr_add_size((size_t) n_user_features, (size_t) n_item_features);
	size_t		acc = fr_mul_size(fr_add_size(fr_mul_size(rows, (size_t) opt->factors),
											  (size_t) n_item_features), sizeof(float));
	size_t		order = fr_mul_size((size_t) nnz, sizeof(int64_t) + sizeof(int32_t));

	return fr_add_size(acc, order);
}

void
fr_fm_init(FrFmParams *p, const FrFmOptions *opt, int32_t n_user_features, int32_t n_item_features)
{
	int32_t		k = opt->factors;
	size_t		nu = fr_mul_size((size_t) n_user_features, (size_t) k);
	size_t		ni = fr_mul_size((size_t) n_item_features, (size_t) k);
	FrRng		rng;

	p->factors = k;
	p->n_user_features = n_user_features;
	p->n_item_features = n_item_features;
	p->user_emb = fr_alloc(fr_mul_size(nu, sizeof(float)));
	p->item_emb = fr_alloc(fr_mul_size(ni, sizeof(float)));
	p->item_bias = fr_alloc(fr_mul_size((size_t) n_item_features, sizeof(float)));
	/* small uniform vectors, as LightFM: (U(0,1) - 0.5) / factors; biases 0 */
	fr_rng_seed(&rng, opt->seed);
	for (size_t x = 0; x < nu; x++)
		p->user_emb[x] = (float) ((fr_rng_uniform(&rng) - 0.5) / k);
	for (size_t x = 0; x < ni; x++)
		p->item_emb[x] = (float) ((fr_rng_uniform(&rng) - 0.5) / k);
}

static void
fill(float *a, size_t n, float v)
{
	for (size_t x = 0; x < n; x++)
		a[x] = v;
}

double
fr_fm_fit(const FrFmOptions *opt, const FrCsr *ui, const FrCsr *user_features,
		  const FrCsr *item_features, FrFmParams *p)
{
	int32_t		k = opt->factors;
	int64_t		nnz = ui->nnz;
	int64_t    *order;
	int32_t    *user_of;
	FrFmParams	acc = *p;
	Step		s;
	FrRng		rng;
	float	   *work;
	double		loss = NAN;
	double		started = fr_now();
	int32_t		n_items = ui->ncols;

	if (ui->ncols != item_features->nrows || ui->nrows != user_features->nrows)
		fr_fail(FR_FAIL_INTERNAL, "featurefm: %d x %d interactions for %d users and %d items with features",
				ui->nrows, ui->ncols, user_features->nrows, item_features->nrows);

	acc.user_emb = fr_alloc(fr_mul_size(fr_mul_size((size_t) p->n_user_features, k), sizeof(float)));
	acc.item_emb = fr_alloc(fr_mul_size(fr_mul_size((size_t) p->n_item_features, k), sizeof(float)));
	acc.item_bias = fr_alloc(fr_mul_size((size_t) p->n_item_features, sizeof(float)));
	fill(acc.user_emb, (size_t) p->n_user_features * k, ADAGRAD_INIT);
	fill(acc.item_emb, (size_t) p->n_item_features * k, ADAGRAD_INIT);
	fill(acc.item_bias, (size_t) p->n_item_features, ADAGRAD_INIT);
	order = fr_alloc(fr_mul_size((size_t) nnz, sizeof(int64_t)));
	user_of = fr_alloc(fr_mul_size((size_t) nnz, sizeof(int32_t)));
	work = fr_alloc(fr_mul_size((size_t) k, sizeof(float)));
	for (int32_t u = 0; u < ui->nrows; u++)
		for (int64_t q = ui->indptr[u]; q < ui->indptr[u + 1]; q++)
			user_of[q] = u;
	for (int64_t q = 0; q < nnz; q++)
		order[q] = q;

	step_init(&s, opt, p, user_features, item_features, &acc);
	/* the init drew from the same seed: move the stream on so the order is not the init's */
	fr_rng_seed(&rng, opt->seed ^ UINT64_C(0x9e3779b97f4a7c15));
	for (int32_t ep = 0; ep < opt->epochs; ep++)
	{
		double		sum = 0.0;
		int64_t		steps = 0;

		fr_check_interrupts();
		/* Fisher-Yates: each epoch visits the positives in its own order */
		for (int64_t q = nnz - 1; q > 0; q--)
		{
			int64_t		r = (int64_t) fr_rng_below(&rng, (uint64_t) q + 1);
			int64_t		t = order[q];

			order[q] = order[r];
			order[r] = t;
		}
		for (int64_t n = 0; n < nnz; n++)
		{
			int64_t		q = order[n];
			int32_t		u = user_of[q];
			int32_t		i = ui->indices[q];
			int32_t		j = -1;
			double		weight = 1.0;

			if ((n & (INTERRUPT_EVERY - 1)) == 0)
				fr_check_interrupts();
			if (ui->values[q] <= 0.0f)
				continue;
			if (opt->loss == FR_FM_BPR)
			{
				for (int d = 0; d < BPR_MAX_DRAWS && j < 0; d++)
				{
					int32_t		c = (int32_t) fr_rng_below(&rng, (uint64_t) n_items);

					if (!is_positive(ui, u, c))
						j = c;
				}
			}
			else
			{
				int32_t		draws;

				row_sum(user_features, u, p->user_emb, NULL, k, s.pu, NULL);
				row_sum(item_features, i, p->item_emb, p->item_bias, k, s.qi, &s.bi);
				draws = fr_fm_warp_sample(opt, p, ui, item_features, u, s.pu,
										  (double) dot(k, s.pu, s.qi) + s.bi, &rng, work, &j);
				if (draws > 0)
					weight = log(fmax(1.0, floor((double) (n_items - 1) / draws)));
			}
			steps++;
			if (j < 0)
				continue;		/* WARP: no violation, nothing to learn; BPR: no negative */
			sum += triple(&s, u, i, j, weight, opt->loss == FR_FM_WARP, NULL);
		}
		loss = steps > 0 ? sum / steps : 0.0;
		fr_progress("featurefm epoch %d of %d: loss %.6f, %.3f s",
					ep + 1, opt->epochs, loss, fr_now() - started);
		fr_progress_step("featurefm epochs", ep + 1, opt->epochs, loss);
	}
	fr_free(s.pu);
	fr_free(work);
	fr_free(order);
	fr_free(user_of);
	fr_free(acc.user_emb);
	fr_free(acc.item_emb);
	fr_free(acc.item_bias);
	return loss;
}
