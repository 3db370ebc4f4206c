/*
 * mf_model.c — the "mf" algorithm (biased matrix factorisation of explicit
 * ratings): parameters, training, serving.
 *
 * Artifacts: "user_factors" / "item_factors" (n x factors), "user_bias" /
 * "item_bias" (n) and "mf_scalars" (global mean, observed rating range,
 * regularisation: what prediction and fold-in need).  Predictions are
 * mean + b_u + b_i + x_u . y_i clipped to the observed rating range; ranking
 * scores are the same value unclipped, so clipping creates no ties.
 */
#include "postgres.h"

#include <math.h>

#include "linalg.h"
#include "mf.h"
#include "model.h"

typedef struct MfParams
{
	int32		factors;
	int32		iterations;
	double		regularization;
	double		bias_regularization;
	int32		solver;			/* FrMfSolver */
	int32		epochs;
	double		learning_rate;
	int32		seed;
} MfParams;

/* in FrMfSolver order */
static const char *const mf_solvers[] = {"als", "sgd", NULL};

static const FrParamSpec mf_specs[] = {
	{"factors", FR_PARAM_INT, offsetof(MfParams, factors), 1, 1024},
	{"iterations", FR_PARAM_INT, offsetof(MfParams, iterations), 1, 1000},
	{"regularization", FR_PARAM_REAL, offsetof(MfParams, regularization), 0, 1e6},
	{"bias_regularization", FR_PARAM_REAL, offsetof(MfParams, bias_regularization), 0, 1e6},
	{"solver", FR_PARAM_CHOICE, offsetof(MfParams, solver), 0, 0, mf_solvers},
	{"epochs", FR_PARAM_INT, offsetof(MfParams, epochs), 1, 10000},
	{"learning_rate", FR_PARAM_REAL, offsetof(MfParams, learning_rate), 1e-6, 1},
	{"seed", FR_PARAM_INT, offsetof(MfParams, seed), 0, PG_INT32_MAX},
	{NULL}
};

/* tuned on MovieLens 100k u1..u5 (docs/algorithms-als-mf.md) */
static const MfParams mf_defaults = {
	.factors = 50,
	.iterations = 10,
	.regularization = 0.12,
	.bias_regularization = 0.05,
	.solver = FR_MF_ALS,
	.epochs = 60,
	.learning_rate = 0.01,
	.seed = 42,
};

/* the "mf_scalars" artifact */
enum
{
	SC_MEAN,
	SC_MIN_RATING,
	SC_MAX_RATING,
	SC_REGULARIZATION,
	SC_BIAS_REGULARIZATION,
	SC_N
};

typedef struct MfState
{
	FrMfOptions opt;			/* factors and regularisation, for fold-in */
	FrMfFactors f;
	float		min_rating;
	float		max_rating;
	float	   *item_norms;		/* for cosine similarity */
} MfState;

static void
mf_options(const MfParams *p, FrMfOptions *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->factors = p->factors;
	opt->solver = (FrMfSolver) p->solver;
	opt->iterations = opt->solver == FR_MF_SGD ? p->epochs : p->iterations;
	opt->regularization = p->regularization;
	opt->bias_regularization = p->bias_regularization;
	opt->learning_rate = p->learning_rate;
	opt->init_std = 0.1;
	opt->seed = (uint64) p->seed;
}

static size_t
mf_estimate_memory(const FrTrainData *data, const void *params)
{
	FrMfOptions opt;
	size_t		out;

	mf_options(params, &opt);
	out = mul_size(mul_size(add_size(data->n_users, data->n_items), opt.factors + 1),
				   sizeof(float));
	return add_size(out, fr_mf_workspace_bytes(&opt, data->n_users, data->n_items,
											   data->ui.nnz));
}

static void
mf_train(FrTrainJob *job)
{
	const FrTrainData *data = job->data;
	FrMfOptions opt;
	FrMfFactors f;
	double		sc[SC_N];
	double		rmse;

	mf_options(job->params, &opt);
	f.user_bias = fr_alloc(mul_size(data->n_users, sizeof(float)));
	f.item_bias = fr_alloc(mul_size(data->n_items, sizeof(float)));
	f.user_factors = fr_alloc(mul_size(mul_size(data->n_users, opt.factors), sizeof(float)));
	f.item_factors = fr_alloc(mul_size(mul_size(data->n_items, opt.factors), sizeof(float)));
	rmse = fr_mf_fit(&opt, &data->ui, &data->iu, &f, NULL);

	sc[SC_MEAN] = f.mean;
	sc[SC_MIN_RATING] = data->min_weight;
	sc[SC_MAX_RATING] = data->max_weight;
	sc[SC_REGULARIZATION] = opt.regularization;
	sc[SC_BIAS_REGULARIZATION] = opt.bias_regularization;
	fr_artifact_put(job->model_id, "user_factors", FR_F32, data->n_users, opt.factors,
					f.user_factors);
	fr_artifact_put(job->model_id, "item_factors", FR_F32, data->n_items, opt.factors,
					f.item_factors);
	fr_artifact_put(job->model_id, "user_bias", FR_F32, data->n_users, 1, f.user_bias);
	fr_artifact_put(job->model_id, "item_bias", FR_F32, data->n_items, 1, f.item_bias);
	fr_artifact_put(job->model_id, "mf_scalars", FR_F64, SC_N, 1, sc);
	fr_info_add_real(job, "train_rmse", rmse);
	fr_info_add_real(job, "mean_rating", f.mean);
}

static void *
mf_load(FrModel *model)
{
	MfState    *st = palloc0(sizeof(MfState));
	int64		n_users,
				n_items,
				n_ub,
				n_ib,
				n_sc;
	int32		k_users,
				k_items;
	double	   *sc;

	st->f.user_factors = fr_model_artifact(model, "user_factors", FR_F32, &n_users, &k_users, false);
	st->f.item_factors = fr_model_artifact(model, "item_factors", FR_F32, &n_items, &k_items, false);
	st->f.user_bias = fr_model_artifact(model, "user_bias", FR_F32, &n_ub, NULL, false);
	st->f.item_bias = fr_model_artifact(model, "item_bias", FR_F32, &n_ib, NULL, false);
	sc = fr_model_artifact(model, "mf_scalars", FR_F64, &n_sc, NULL, false);
	fr_check_shape(model, "item_factors", n_items, k_items, model->n_items, Max(k_items, 1));
	fr_check_shape(model, "user_factors", n_users, k_users, model->n_users, k_items);
	fr_check_shape(model, "user_bias", n_ub, 1, model->n_users, 1);
	fr_check_shape(model, "item_bias", n_ib, 1, model->n_items, 1);
	fr_check_shape(model, "mf_scalars", n_sc, 1, SC_N, 1);
	/* predictions add these up: one NaN would spread to every fold-in */
	fr_check_finite(model, "item_factors", st->f.item_factors, n_items * k_items);
	fr_check_finite(model, "user_factors", st->f.user_factors, n_users * k_users);
	fr_check_finite(model, "user_bias", st->f.user_bias, n_ub);
	fr_check_finite(model, "item_bias", st->f.item_bias, n_ib);
	fr_check_finite_f64(model, "mf_scalars", sc, n_sc);
	fr_check_setting(model, "mf_scalars", "regularization", sc[SC_REGULARIZATION], 0, 1e6, false);
	fr_check_setting(model, "mf_scalars", "bias_regularization", sc[SC_BIAS_REGULARIZATION],
					 0, 1e6, false);

	st->opt.factors = k_items;
	st->opt.regularization = sc[SC_REGULARIZATION];
	st->opt.bias_regularization = sc[SC_BIAS_REGULARIZATION];
	st->f.mean = (float) sc[SC_MEAN];
	st->min_rating = (float) sc[SC_MIN_RATING];
	st->max_rating = (float) sc[SC_MAX_RATING];

	st->item_norms = fr_item_norms(model, st->f.item_factors, k_items);
	return st;
}

/* scores = mean + bias + b_i + Y x, the unclipped predicted ratings */
static void
score_vector(const FrModel *model, const MfState *st, float bias, const float *x,
			 float *scores)
{
	int			k = st->opt.factors;
	float		base = st->f.mean + bias;

	fr_sgemv(false, model->n_items, k, 1.0f, st->f.item_factors, k, x, 0.0f, scores);
	for (int32 i = 0; i < model->n_items; i++)
		scores[i] += base + st->f.item_bias[i];
}

static void
mf_score_user(const FrModel *model, int32 user, float *scores)
{
	const MfState *st = model->state;

	score_vector(model, st, st->f.user_bias[user],
				 st->f.user_factors + (size_t) user * st->opt.factors, scores);
}

/* the weights are the visitor's ratings of the given items */
static void
mf_score_items(const FrModel *model, const int32 *items,
			   const float *weights, int n, float *scores)
{
	const MfState *st = model->state;
	float	   *x = palloc(sizeof(float) * st->opt.factors);
	float		bias;

	fr_mf_fold_in(&st->opt, &st->f, items, weights, n, &bias, x);
	score_vector(model, st, bias, x, scores);
	pfree(x);
}

/* cosine of the item factors; an item with a zero vector is like nothing */
static void
mf_score_similar(const FrModel *model, int32 item, float *scores)
{
	const MfState *st = model->state;
	int			k = st->opt.factors;
	float		norm = st->item_norms[item];

	fr_sgemv(false, model->n_items, k, 1.0f, st->f.item_factors, k,
			 st->f.item_factors + (size_t) item * k, 0.0f, scores);
	for (int32 i = 0; i < model->n_items; i++)
	{
		float		d = norm * st->item_norms[i];

		scores[i] = d > 0 ? scores[i] / d : NAN;
	}
}

/* a rating outside what training saw is never predicted */
static float
mf_predict(const FrModel *model, int32 user, int32 item)
{
	const MfState *st = model->state;
	float		r = fr_mf_predict(&st->f, st->opt.factors, user, item);

	return Min(Max(r, st->min_rating), st->max_rating);
}

/* the latent factors only; biases are not part of the embedding */
static int32
mf_embedding(const FrModel *model, bool of_user, int32 index, float *out)
{
	const MfState *st = model->state;
	int			k = st->opt.factors;

	if (out)
		memcpy(out, (of_user ? st->f.user_factors : st->f.item_factors) + (size_t) index * k,
			   sizeof(float) * k);
	return k;
}

/* mean + b_u + b_i + x_u . y_i, unclipped as score_user ranks */
static void
mf_factors(const FrModel *model, FrBatchFactors *out)
{
	const MfState *st = model->state;

	out->k = st->opt.factors;
	out->user_factors = st->f.user_factors;
	out->user_bias = st->f.user_bias;
	out->constant = st->f.mean;
	out->n_items = model->n_items;
	out->item_factors = st->f.item_factors;
	out->item_bias = st->f.item_bias;
}

const FrAlgorithm fr_mf_algorithm = {
	.name = "mf",
	.summary = "explicit-rating biased matrix factorisation (mean + biases + factors) by ALS or SGD; predicts ratings",
	.param_specs = mf_specs,
	.params_size = sizeof(MfParams),
	.param_defaults = &mf_defaults,
	.predicts_ratings = true,
	.allows_negative_weights = true,
	.estimate_memory = mf_estimate_memory,
	.train = mf_train,
	.load = mf_load,
	.score_user = mf_score_user,
	.score_items = mf_score_items,
	.score_similar = mf_score_similar,
	.predict = mf_predict,
	.embedding = mf_embedding,
	.factors = mf_factors,
};
