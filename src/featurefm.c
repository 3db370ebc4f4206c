/*
 * featurefm.c — the feature-aware factorisation kernel: BPR and WARP by SGD
 * with Adagrad (featurefm.h).
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "featurefm.h"

/* BPR's draws for a negative the user has not interacted with */
#define BPR_MAX_DRAWS 16

/*
 * Pairs a thread takes per round.  Within a round no thread sees another's
 * updates, so rounds must stay a small part of an epoch (at least
 * MIN_ROUNDS of them); but threads wait for each other at the end of every
 * round, and two idle cores gave 2 threads 1.04x one thread's speed with
 * rounds of 128, 1.45-1.6x with 4,096 (1.1M pairs, docs/benchmarks.md).
 * Small data keep 128, and so the models they gave before.
 */
#define ROUND_STEPS_MIN 128
#define ROUND_STEPS_MAX 4096
#define MIN_ROUNDS 64

static int64_t
round_steps(int64_t nnz, int32_t threads)
{
	int64_t		steps = nnz / ((int64_t) (threads > 1 ? threads : 1) * MIN_ROUNDS);

	return steps < ROUND_STEPS_MIN ? ROUND_STEPS_MIN : steps > ROUND_STEPS_MAX ? ROUND_STEPS_MAX : steps;
}

/* Adagrad's accumulators start at 1, as LightFM's do: the first steps are the base step */
#define ADAGRAD_INIT 1.0f

/*
 * What a thread changed this round in the feature rows it wrote.  Rows are
 * numbered users' features first, then items'; a change holds the
 * embedding's, its Adagrad accumulators', the bias's and its accumulator's
 * (ROW_WIDTH floats).  The thread sees the row as the shared value plus its
 * change; the shared rows do not move until the round ends.  (Copies of the
 * rows, with their originals to subtract, cost 40% more CPU at 64 factors.)
 */
typedef struct Overlay
{
	int32_t    *slot;			/* per row: its change, or -1 */
	int32_t    *rows;			/* the rows changed, in order */
	int32_t		n;
	float	   *delta;
} Overlay;

#define ROW_WIDTH(k) (2 * (size_t) (k) + 2)

/* the state of a fit: parameters, their Adagrad accumulators, vectors of one step */
typedef struct Step
{
	const FrFmOptions *opt;
	const FrFmParams *p;
	const FrCsr *uf;
	const FrCsr *itf;
	FrFmParams *acc;			/* accumulators shaped like p; NULL when computing a gradient */
	Overlay    *ov;				/* where a thread's writes go; NULL: into p and acc */
	float	   *pu;
	float	   *qi;
	float	   *qj;
	float	   *diff;			/* qi - qj */
	float	   *gp;				/* dL/dpu */
	float	   *work;			/* WARP: a candidate negative's vector */
	float		bi;				/* the positive's bias */
	float	   *vectors;		/* the allocation of pu ... work */
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

/*
 * The weighted sum of a row's feature embeddings (and biases).  A feature
 * that a thread wrote this round is read with its change in ov, where the
 * rows of these features are numbered from base.
 */
static void
row_sum(const FrCsr *features, int32_t row, const float *emb, const float *biases,
		const Overlay *ov, int32_t base, int32_t k, float *out, float *bias)
{
	float		b = 0.0f;

	memset(out, 0, sizeof(float) * k);
	for (int64_t q = features->indptr[row]; q < features->indptr[row + 1]; q++)
	{
		int32_t		f = features->indices[q];
		const float *e = emb + (size_t) f * k;
		const float *fb = biases ? biases + f : NULL;
		float		w = features->values[q];

		if (ov && ov->slot[base + f] >= 0)
		{
			const float *d = ov->delta + ov->slot[base + f] * ROW_WIDTH(k);

			for (int32_t l = 0; l < k; l++)
				out[l] += w * (e[l] + d[l]);
			if (biases)
				b += w * (*fb + d[2 * k]);
			continue;
		}
		for (int32_t l = 0; l < k; l++)
			out[l] += w * e[l];
		if (biases)
			b += w * *fb;
	}
	if (bias)
		*bias = b;
}

static void
user_sum(const Step *s, int32_t u, float *out)
{
	row_sum(s->uf, u, s->p->user_emb, NULL, s->ov, 0, s->p->factors, out, NULL);
}

static void
item_sum(const Step *s, int32_t i, float *out, float *bias)
{
	row_sum(s->itf, i, s->p->item_emb, s->p->item_bias, s->ov, s->p->n_user_features,
			s->p->factors, out, bias);
}

void
fr_fm_represent(const FrCsr *features, const float *emb, const float *biases,
				int32_t factors, float *out, float *bias)
{
	for (int32_t r = 0; r < features->nrows; r++)
		row_sum(features, r, emb, biases, NULL, 0, factors, out + (size_t) r * factors,
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

/* row's change in ov, zero on the round's first write */
static float *
change_of(Overlay *ov, int32_t row, int32_t k)
{
	size_t		width = ROW_WIDTH(k);
	float	   *d;

	if (ov->slot[row] >= 0)
		return ov->delta + ov->slot[row] * width;
	d = ov->delta + ov->n * width;
	memset(d, 0, sizeof(float) * width);
	ov->slot[row] = ov->n;
	ov->rows[ov->n++] = row;
	return d;
}

/*
 * A thread's step on one feature (e, h, b, hb shared, d its change): the
 * step of distribute() on the values the thread sees.  Returns the L2 loss.
 */
static double
step_change(int32_t k, float lr, float w, const float *g, float gb, float a,
			const float *e, const float *h, const float *b, const float *hb, float *d)
{
	double		reg = 0.0;

	if (a > 0)
	{
		for (int32_t l = 0; l < k; l++)
			reg += 0.5 * a * (e[l] + d[l]) * (e[l] + d[l]);
		if (b)
			reg += 0.5 * a * (*b + d[2 * k]) * (*b + d[2 * k]);
	}
	for (int32_t l = 0; l < k; l++)
	{
		float		gl = w * g[l] + a * (e[l] + d[l]);

		d[k + l] += gl * gl;
		d[l] -= lr * gl / sqrtf(h[l] + d[k + l]);
	}
	if (b)
	{
		float		gl = w * gb + a * (*b + d[2 * k]);

		d[2 * k + 1] += gl * gl;
		d[2 * k] -= lr * gl / sqrtf(*hb + d[2 * k + 1]);
	}
	return reg;
}

/*
 * Apply (or, computing a gradient, add) the step of one row of features:
 * each feature f of weight w gets w * g (and w * gb on its bias) plus its
 * L2 pull.  Returns the L2 terms' loss.
 */
static double
distribute(Step *s, bool item, int32_t row, const float *g, float gb, double alpha,
		   float *grad_emb, float *grad_bias)
{
	const FrCsr *features = item ? s->itf : s->uf;
	float	   *emb = item ? s->p->item_emb : s->p->user_emb;
	float	   *biases = item ? s->p->item_bias : NULL;
	int32_t		base = item ? s->p->n_user_features : 0;
	int32_t		k = s->opt->factors;
	float		lr = (float) s->opt->learning_rate;
	float		a = (float) alpha;
	double		reg = 0.0;

	for (int64_t q = features->indptr[row]; q < features->indptr[row + 1]; q++)
	{
		int32_t		f = features->indices[q];
		float		w = features->values[q];
		float	   *e = emb + (size_t) f * k;
		float	   *b = biases ? biases + f : NULL;
		float	   *h = NULL,
				   *hb = NULL;

		if (s->acc)
		{
			h = (item ? s->acc->item_emb : s->acc->user_emb) + (size_t) f * k;
			hb = item ? s->acc->item_bias + f : NULL;
			if (s->ov)
			{
				reg += step_change(k, lr, w, g, gb, a, e, h, b, hb,
								   change_of(s->ov, base + f, k));
				continue;
			}
		}
		if (alpha > 0)
		{
			reg += 0.5 * alpha * dot(k, e, e);
			if (b)
				reg += 0.5 * alpha * *b * *b;
		}
		if (grad_emb)
		{
			float	   *ge = grad_emb + (size_t) f * k;

			for (int32_t l = 0; l < k; l++)
				ge[l] += w * g[l] + a * e[l];
			if (b)
				grad_bias[f] += w * gb + a * *b;
			continue;
		}
		if (h == NULL)
			continue;			/* the loss alone */
		for (int32_t l = 0; l < k; l++)
		{
			float		gl = w * g[l] + a * e[l];

			h[l] += gl * gl;
			e[l] -= lr * gl / sqrtf(h[l]);
		}
		if (b)
		{
			float		gl = w * gb + a * *b;

			*hb += gl * gl;
			*b -= lr * gl / sqrtf(*hb);
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
	int32_t		k = s->p->factors;
	float		bj;
	double		x,
				loss,
				d,
				reg = 0.0;

	if (!have_pos)
	{
		user_sum(s, u, s->pu);
		item_sum(s, i, s->qi, &s->bi);
	}
	item_sum(s, j, s->qj, &bj);
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
	reg += distribute(s, false, u, s->gp, 0.0f, s->opt->user_alpha,
					  grad ? grad->user_emb : NULL, NULL);
	reg += distribute(s, true, i, s->pu, (float) d, s->opt->item_alpha,
					  grad ? grad->item_emb : NULL, grad ? grad->item_bias : NULL);
	for (int32_t l = 0; l < k; l++)
		s->pu[l] = -s->pu[l];
	reg += distribute(s, true, j, s->pu, (float) -d, s->opt->item_alpha,
					  grad ? grad->item_emb : NULL, grad ? grad->item_bias : NULL);
	return loss + reg;
}

static void
step_init(Step *s, const FrFmOptions *opt, const FrFmParams *p,
		  const FrCsr *uf, const FrCsr *itf, FrFmParams *acc)
{
	size_t		k = (size_t) opt->factors;

	memset(s, 0, sizeof(*s));
	s->opt = opt;
	s->p = p;
	s->uf = uf;
	s->itf = itf;
	s->acc = acc;
	/* a cache line either side: another thread's vectors may be next */
	s->vectors = fr_alloc(fr_mul_size(6 * k + 32, sizeof(float)));
	s->pu = s->vectors + 16;
	s->qi = s->pu + k;
	s->qj = s->qi + k;
	s->diff = s->qj + k;
	s->gp = s->diff + k;
	s->work = s->gp + k;
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
	fr_free(s.vectors);
	return loss;
}

/* WARP's search for user u (s->pu) against a positive scoring pos, in s->work */
static int32_t
warp_sample(const Step *s, const FrCsr *ui, int32_t u, double pos, FrRng *rng, int32_t *neg)
{
	int32_t		k = s->p->factors;

	for (int32_t t = 1; t <= s->opt->max_sampled; t++)
	{
		int32_t		j = (int32_t) fr_rng_below(rng, (uint64_t) ui->ncols);
		float		bj;

		if (is_positive(ui, u, j))
			continue;
		item_sum(s, j, s->work, &bj);
		if ((double) dot(k, s->pu, s->work) + bj > pos - 1.0)
		{
			*neg = j;
			return t;
		}
	}
	return 0;
}

int32_t
fr_fm_warp_sample(const FrFmOptions *opt, const FrFmParams *p, const FrCsr *ui,
				  const FrCsr *item_features, int32_t u, const float *pu, double pos,
				  FrRng *rng, float *work, int32_t *neg)
{
	Step		s = {.opt = opt, .p = p, .itf = item_features, .pu = (float *) pu, .work = work};

	return warp_sample(&s, ui, u, pos, rng, neg);
}

int32_t
fr_fm_step_rows(const FrCsr *user_features, const FrCsr *item_features)
{
	int64_t		most_u = 0,
				most_i = 0;

	for (int32_t r = 0; r < user_features->nrows; r++)
		if (user_features->indptr[r + 1] - user_features->indptr[r] > most_u)
			most_u = user_features->indptr[r + 1] - user_features->indptr[r];
	for (int32_t r = 0; r < item_features->nrows; r++)
		if (item_features->indptr[r + 1] - item_features->indptr[r] > most_i)
			most_i = item_features->indptr[r + 1] - item_features->indptr[r];
	return (int32_t) (most_u + 2 * most_i > INT32_MAX ? INT32_MAX : most_u + 2 * most_i);
}

/* rows a thread can write in a round: each of its steps writes a user's and two items' */
static size_t
overlay_rows(int32_t n_user_features, int32_t n_item_features, int32_t step_rows, int64_t steps)
{
	size_t		rows = (size_t) n_user_features + (size_t) n_item_features;
	size_t		most = fr_mul_size((size_t) steps, (size_t) step_rows);

	return most < rows ? most : rows;
}

size_t
fr_fm_workspace_bytes(const FrFmOptions *opt, int32_t n_user_features,
					  int32_t n_item_features, int64_t nnz, int32_t step_rows)
{
	size_t		rows = fr_add_size((size_t) n_user_features, (size_t) n_item_features);
	size_t		acc = fr_mul_size(fr_add_size(fr_mul_size(rows, (size_t) opt->factors),
											  (size_t) n_item_features), sizeof(float));
	size_t		order = fr_mul_size((size_t) nnz, sizeof(int64_t) + sizeof(int32_t));
	size_t		changed = overlay_rows(n_user_features, n_item_features, step_rows,
										   round_steps(nnz, opt->threads));
	size_t		thread;

	if (opt->threads <= 1)
		return fr_add_size(acc, order);
	/* per slice: its slot per row, its changes and their rows, its step's vectors */
	thread = fr_add_size(fr_mul_size(fr_add_size(rows, changed), sizeof(int32_t)),
						 fr_mul_size(fr_add_size(fr_mul_size(changed, ROW_WIDTH(opt->factors)),
												 6 * (size_t) opt->factors + 32), sizeof(float)));
	return fr_add_size(fr_add_size(acc, order), fr_mul_size(thread, (size_t) opt->threads));
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

/* ---- training on several threads --------------------------------------------- */

/*
 * An epoch's shuffled positives are cut into rounds of threads x
 * round_steps(); in a round, slice t takes the t-th share of them, with
 * its own random stream (from the seed, the epoch and t), reading the
 * parameters as they were when the round began plus its own changes, which
 * it keeps apart (Overlay).  At the end of the round every slice's changes
 * are added to the parameters, slice 0's first: each row has one
 * thread that adds them all, in slice order.  Nothing depends on which
 * thread runs first, nor on how many run: the slices are shared out among
 * at most as many POSIX threads as the machine has cores, so a seed and a
 * thread count give one model, bit for bit, on any machine.  One slice
 * writes the parameters directly and is the sequential algorithm.  Only
 * thread 0 — the caller's — calls a kernel service, and only
 * fr_interrupt_pending() while others run: when it says yes every thread
 * stops after the round, and the caller joins them before
 * fr_check_interrupts() (which may not return).
 */
typedef struct Fit Fit;

typedef struct Worker
{
	Fit		   *fit;
	int32_t		t;
	Step		step;
	Overlay		ov;
	FrRng		own_rng;
	FrRng	   *rng;			/* own_rng; with one thread, the stream that shuffles */
	double		sum;			/* the epoch's loss and steps so far */
	int64_t		steps;
	pthread_t	thread;
} Worker;

struct Fit
{
	const FrFmOptions *opt;
	const FrCsr *ui;
	const int32_t *user_of;
	const int64_t *order;
	FrFmParams *p;
	FrFmParams *acc;
	int32_t		threads;		/* slices */
	int32_t		running;		/* POSIX threads that run them */
	int64_t		round_steps;	/* pairs per slice and round */
	int64_t		n_rounds;
	int64_t		first_round;	/* where the threads started */
	int64_t		round;			/* the next round to run */
	bool		stop;			/* an interrupt is pending: leave after this round */
	Worker	   *workers;
	/* a barrier, and the gate started threads wait at until all are started */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int32_t		waiting;
	uint64_t	generation;
	int32_t		gate;			/* 0 closed, 1 open, -1 leave */
};

static void
barrier(Fit *f)
{
	uint64_t	generation;

	if (f->running == 1)
		return;
	pthread_mutex_lock(&f->mu);
	generation = f->generation;
	if (++f->waiting == f->running)
	{
		f->waiting = 0;
		f->generation++;
		pthread_cond_broadcast(&f->cv);
	}
	else
		while (generation == f->generation)
			pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

/* row's (numbered as in Overlay) shared parameters; *b and *hb NULL for a user feature */
static void
shared_row(const Fit *f, int32_t row, float **e, float **h, float **b, float **hb)
{
	int32_t		k = f->p->factors;
	int32_t		n_uf = f->p->n_user_features;

	*b = *hb = NULL;
	if (row < n_uf)
	{
		*e = f->p->user_emb + (size_t) row * k;
		*h = f->acc->user_emb + (size_t) row * k;
		return;
	}
	*e = f->p->item_emb + (size_t) (row - n_uf) * k;
	*h = f->acc->item_emb + (size_t) (row - n_uf) * k;
	*b = f->p->item_bias + (row - n_uf);
	*hb = f->acc->item_bias + (row - n_uf);
}

/* a += b: a change and the shared row never overlap, so the compiler may vectorise */
static void
add(float *restrict a, const float *restrict b, int32_t k)
{
	for (int32_t l = 0; l < k; l++)
		a[l] += b[l];
}

/* slice w's share of a round */
static void
run_slice(Worker *w, int64_t round)
{
	Fit		   *f = w->fit;
	const FrFmOptions *opt = f->opt;
	const FrCsr *ui = f->ui;
	Step	   *s = &w->step;
	int32_t		k = opt->factors;
	int32_t		n_items = ui->ncols;
	int64_t		lo = (round * f->threads + w->t) * f->round_steps;
	int64_t		hi = lo + f->round_steps < ui->nnz ? lo + f->round_steps : ui->nnz;

	/* what changes at every step is kept here, off the cache lines other threads use */
	FrRng		rng = *w->rng;
	double		sum = w->sum;
	int64_t		steps = w->steps;

	if (s->ov)
	{
		for (int32_t x = 0; x < s->ov->n; x++)
			s->ov->slot[s->ov->rows[x]] = -1;
		s->ov->n = 0;
	}
	for (int64_t n = lo; n < hi; n++)
	{
		int64_t		q = f->order[n];
		int32_t		u = f->user_of[q];
		int32_t		i = ui->indices[q];
		int32_t		j = -1;
		double		weight = 1.0;

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

			user_sum(s, u, s->pu);
			item_sum(s, i, s->qi, &s->bi);
			draws = warp_sample(s, ui, u, (double) dot(k, s->pu, s->qi) + s->bi, &rng, &j);
			if (draws > 0)
				weight = log(fmax(1.0, floor((double) (n_items - 1) / draws)));
		}
		steps++;
		if (j < 0)
			continue;			/* WARP: no violation, nothing to learn; BPR: no negative */
		sum += triple(s, u, i, j, weight, opt->loss == FR_FM_WARP, NULL);
	}
	*w->rng = rng;
	w->sum = sum;
	w->steps = steps;
}

/* add the round's changes to the rows thread o owns, in slice order */
static void
merge(Fit *f, int32_t o)
{
	int32_t		k = f->p->factors;
	int64_t		n_rows = (int64_t) f->p->n_user_features + f->p->n_item_features;

	for (int32_t from = 0; from < f->threads; from++)
	{
		const Overlay *ov = &f->workers[from].ov;

		for (int32_t x = 0; x < ov->n; x++)
		{
			const float *d = ov->delta + x * ROW_WIDTH(k);
			float	   *e,
					   *h,
					   *b,
					   *hb;

			if ((int64_t) ov->rows[x] * f->running / n_rows != o)
				continue;
			shared_row(f, ov->rows[x], &e, &h, &b, &hb);
			add(e, d, k);
			add(h, d + k, k);
			if (b)
			{
				*b += d[2 * k];
				*hb += d[2 * k + 1];
			}
		}
	}
}

/* what thread o does: slices o, o + running, ... of each round, then its rows' merge */
static void
run_rounds(Fit *f, int32_t o)
{
	for (int64_t r = f->first_round; r < f->n_rounds; r++)
	{
		for (int32_t t = o; t < f->threads; t += f->running)
			run_slice(&f->workers[t], r);
		barrier(f);
		if (f->threads > 1)
			merge(f, o);
		if (o == 0)
		{
			f->round = r + 1;
			f->stop = fr_interrupt_pending();
		}
		barrier(f);
		if (f->stop)
			break;
	}
}

static void *
worker_main(void *arg)
{
	Worker	   *w = arg;
	Fit		   *f = w->fit;
	bool		go;

	pthread_mutex_lock(&f->mu);
	while (f->gate == 0)
		pthread_cond_wait(&f->cv, &f->mu);
	go = f->gate > 0;
	pthread_mutex_unlock(&f->mu);
	if (go)
		run_rounds(f, w->t);
	return NULL;
}

/*
 * Run the epoch's rounds from f->round on, until its end or a pending
 * interrupt; no other thread runs when this returns.
 */
static void
run_threads(Fit *f)
{
	int32_t		started = 1;
	int			err = 0;

	f->first_round = f->round;
	f->stop = false;
	f->gate = 0;
	if (f->running > 1)
	{
		sigset_t	all,
					old;

		/* signals must reach the backend's own thread: its handlers expect it */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (; started < f->running; started++)
			if ((err = pthread_create(&f->workers[started].thread, NULL, worker_main,
									  &f->workers[started])) != 0)
				break;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_mutex_lock(&f->mu);
		f->gate = err ? -1 : 1;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
	}
	if (err == 0)
		run_rounds(f, 0);
	for (int32_t t = 1; t < started; t++)
		pthread_join(f->workers[t].thread, NULL);
	if (err != 0)
		fr_fail(FR_FAIL_RESOURCES, "featurefm could not start training thread %d of %d: %s",
				started + 1, f->running, strerror(err));
}

/* threads beyond the cores would only wait for each other */
static int32_t
running_max(const FrFmOptions *opt)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (opt->max_running > 0)
		return opt->max_running;
	return cores < 1 ? 1 : cores > INT32_MAX ? INT32_MAX : (int32_t) cores;
}

static uint64_t
thread_seed(uint64_t seed, int32_t epoch, int32_t t)
{
	return seed ^ (UINT64_C(0xd1b54a32d192ed03) * (((uint64_t) epoch << 16) + (uint64_t) t + 1));
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
	Fit			f = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	FrRng		rng;
	double		loss = NAN;
	double		started = fr_now();
	size_t		n_rows = (size_t) p->n_user_features + (size_t) p->n_item_features;
	size_t		changed = 0;

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
	for (int32_t u = 0; u < ui->nrows; u++)
		for (int64_t q = ui->indptr[u]; q < ui->indptr[u + 1]; q++)
			user_of[q] = u;
	for (int64_t q = 0; q < nnz; q++)
		order[q] = q;

	f.opt = opt;
	f.ui = ui;
	f.user_of = user_of;
	f.order = order;
	f.p = p;
	f.acc = &acc;
	f.threads = opt->threads > 1 ? opt->threads : 1;
	f.running = f.threads < running_max(opt) ? f.threads : running_max(opt);
	f.round_steps = round_steps(nnz, f.threads);
	f.n_rounds = (nnz + f.threads * f.round_steps - 1) / (f.threads * f.round_steps);
	f.workers = fr_alloc(fr_mul_size((size_t) f.threads, sizeof(Worker)));
	if (f.threads > 1)
		changed = overlay_rows(p->n_user_features, p->n_item_features,
							  fr_fm_step_rows(user_features, item_features), f.round_steps);
	for (int32_t t = 0; t < f.threads; t++)
	{
		Worker	   *w = &f.workers[t];

		w->fit = &f;
		w->t = t;
		step_init(&w->step, opt, p, user_features, item_features, &acc);
		w->rng = f.threads > 1 ? &w->own_rng : &rng;
		if (f.threads == 1)
			continue;
		w->ov.slot = fr_alloc(fr_mul_size(n_rows, sizeof(int32_t)));
		for (size_t r = 0; r < n_rows; r++)
			w->ov.slot[r] = -1;
		w->ov.rows = fr_alloc(fr_mul_size(changed, sizeof(int32_t)));
		w->ov.delta = fr_alloc(fr_mul_size(fr_mul_size(changed, ROW_WIDTH(k)), sizeof(float)));
		w->step.ov = &w->ov;
	}

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
		for (int32_t t = 0; t < f.threads; t++)
		{
			f.workers[t].sum = 0.0;
			f.workers[t].steps = 0;
			if (f.threads > 1)
				fr_rng_seed(&f.workers[t].own_rng, thread_seed(opt->seed, ep, t));
		}
		for (f.round = 0; f.round < f.n_rounds;)
		{
			run_threads(&f);
			fr_check_interrupts();
		}
		for (int32_t t = 0; t < f.threads; t++)
		{
			sum += f.workers[t].sum;
			steps += f.workers[t].steps;
		}
		loss = steps > 0 ? sum / steps : 0.0;
		fr_progress("featurefm epoch %d of %d: loss %.6f, %.3f s",
					ep + 1, opt->epochs, loss, fr_now() - started);
		fr_progress_step("featurefm epochs", ep + 1, opt->epochs, loss);
	}
	for (int32_t t = 0; t < f.threads; t++)
	{
		fr_free(f.workers[t].step.vectors);
		fr_free(f.workers[t].ov.slot);
		fr_free(f.workers[t].ov.rows);
		fr_free(f.workers[t].ov.delta);
	}
	fr_free(f.workers);
	fr_free(order);
	fr_free(user_of);
	fr_free(acc.user_emb);
	fr_free(acc.item_emb);
	fr_free(acc.item_bias);
	return loss;
}
