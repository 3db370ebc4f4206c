/*
 * als_model.c — the "als" algorithm (implicit-feedback ALS): parameters,
 * training, serving.
 *
 * Artifacts: "user_factors" (users x factors), "item_factors" (items x
 * factors) and "als_fold_in" (regularization, alpha, confidence form: what a
 * fold-in needs besides the item factors).  Scores are x_u . y_i; an
 * anonymous history is folded in by the exact least-squares solve against
 * the cached Y^T Y + lambda I, so a session equal to a user's history scores
 * (up to the CG tolerance) like that user.
 */
#include "postgres.h"

#include <math.h>

#include "als.h"
#include "linalg.h"
#include "model.h"

typedef struct AlsParams
{
	int32		factors;
	int32		iterations;
	double		regularization;
	double		alpha;
	int32		confidence;		/* FrAlsConfidence */
	int32		solver;			/* FrAlsSolver */
	int32		cg_steps;
	int32		seed;
} AlsParams;

/* in FrAlsConfidence / FrAlsSolver order */
static const char *const als_confidences[] = {"linear", "log", "plain", NULL};
static const char *const als_solvers[] = {"cg", "cholesky", NULL};

static const FrParamSpec als_specs[] = {
	{"factors", FR_PARAM_INT, offsetof(AlsParams, factors), 1, 2048},
	{"iterations", FR_PARAM_INT, offsetof(AlsParams, iterations), 1, 1000},
	{"regularization", FR_PARAM_REAL, offsetof(AlsParams, regularization), 0, 1e6},
	{"alpha", FR_PARAM_REAL, offsetof(AlsParams, alpha), 0, 1e6},
	{"confidence", FR_PARAM_CHOICE, offsetof(AlsParams, confidence), 0, 0, als_confidences},
	{"solver", FR_PARAM_CHOICE, offsetof(AlsParams, solver), 0, 0, als_solvers},
	{"cg_steps", FR_PARAM_INT, offsetof(AlsParams, cg_steps), 1, 100},
	{"seed", FR_PARAM_INT, offsetof(AlsParams, seed), 0, PG_INT32_MAX},
	{NULL}
};

static const AlsParams als_defaults = {
	.factors = 64,
	.iterations = 15,
	.regularization = 0.05,
	.alpha = 1.0,
	.confidence = FR_ALS_CONF_LINEAR,
	.solver = FR_ALS_CG,
	.cg_steps = 3,
	.seed = 42,
};

/* index of the fold-in settings in the "als_fold_in" artifact */
enum
{
	FOLD_REGULARIZATION,
	FOLD_ALPHA,
	FOLD_CONFIDENCE,
	FOLD_N
};

typedef struct AlsState
{
	FrAlsOptions opt;			/* factors and the fold-in settings */
	float	   *user_factors;
	float	   *item_factors;
	float	   *gram;			/* Y^T Y + lambda I */
	float	   *item_norms;		/* for cosine similarity */
} AlsState;

static void
als_options(const AlsParams *p, FrAlsOptions *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->factors = p->factors;
	opt->iterations = p->iterations;
	opt->regularization = p->regularization;
	opt->alpha = p->alpha;
	opt->confidence = (FrAlsConfidence) p->confidence;
	opt->solver = (FrAlsSolver) p->solver;
	opt->cg_steps = p->cg_steps;
	opt->seed = (uint64) p->seed;
}

static size_t
als_estimate_memory(const FrTrainData *data, const void *params)
{
	FrAlsOptions opt;
	size_t		factors;

	als_options(params, &opt);
	factors = mul_size(mul_size(add_size(data->n_users, data->n_items), opt.factors),
					   sizeof(float));
	return add_size(factors, fr_als_workspace_bytes(&opt, data->n_users, data->n_items,
													data->ui.nnz));
}

static void
als_train(FrTrainJob *job)
{
	const FrTrainData *data = job->data;
	FrAlsOptions opt;
	float	   *users;
	float	   *items;
	double		fold[FOLD_N];
	double		loss;

	als_options(job->params, &opt);
	users = fr_alloc(mul_size(mul_size(data->n_users, opt.factors), sizeof(float)));
	items = fr_alloc(mul_size(mul_size(data->n_items, opt.factors), sizeof(float)));
	loss = fr_als_fit(&opt, &data->ui, &data->iu, users, items, NULL);

	fold[FOLD_REGULARIZATION] = opt.regularization;
	fold[FOLD_ALPHA] = opt.alpha;
	fold[FOLD_CONFIDENCE] = opt.confidence;
	fr_artifact_put(job->model_id, "user_factors", FR_F32, data->n_users, opt.factors, users);
	fr_artifact_put(job->model_id, "item_factors", FR_F32, data->n_items, opt.factors, items);
	fr_artifact_put(job->model_id, "als_fold_in", FR_F64, FOLD_N, 1, fold);
	fr_info_add_real(job, "final_loss", loss);
}

static void *
als_load(FrModel *model)
{
	AlsState   *st = palloc0(sizeof(AlsState));
	int64		n_users,
				n_items,
				n_fold;
	int32		k_users,
				k_items;
	double	   *fold;

	st->user_factors = fr_model_artifact(model, "user_factors", FR_F32, &n_users, &k_users, false);
	st->item_factors = fr_model_artifact(model, "item_factors", FR_F32, &n_items, &k_items, false);
	fold = fr_model_artifact(model, "als_fold_in", FR_F64, &n_fold, NULL, false);
	fr_check_shape(model, "item_factors", n_items, k_items, model->n_items, Max(k_items, 1));
	fr_check_shape(model, "user_factors", n_users, k_users, model->n_users, k_items);
	/* one NaN or infinity in Y makes the Gram matrix, so every fold-in, NaN */
	fr_check_finite(model, "item_factors", st->item_factors, n_items * k_items);
	fr_check_finite(model, "user_factors", st->user_factors, n_users * k_users);
	fr_check_shape(model, "als_fold_in", n_fold, 1, FOLD_N, 1);
	fr_check_setting(model, "als_fold_in", "regularization", fold[FOLD_REGULARIZATION], 0, 1e6, false);
	fr_check_setting(model, "als_fold_in", "alpha", fold[FOLD_ALPHA], 0, 1e6, false);
	fr_check_setting(model, "als_fold_in", "confidence", fold[FOLD_CONFIDENCE],
					 FR_ALS_CONF_LINEAR, FR_ALS_CONF_PLAIN, true);

	st->opt.factors = k_items;
	st->opt.regularization = fold[FOLD_REGULARIZATION];
	st->opt.alpha = fold[FOLD_ALPHA];
	st->opt.confidence = (FrAlsConfidence) fold[FOLD_CONFIDENCE];

	/* the fold-in solve reuses this for every request; built once per server */
	st->gram = fr_model_derived(model, "als_gram", NULL, NULL);
	if (st->gram == NULL)
	{
		st->gram = palloc(mul_size(mul_size(k_items, k_items), sizeof(float)));
		fr_als_gram(model->n_items, k_items, st->item_factors, st->opt.regularization, st->gram);
		fr_model_keep(model, "als_gram", FR_F32, k_items, k_items, st->gram);
	}
	st->item_norms = fr_item_norms(model, st->item_factors, k_items);
	return st;
}

static void
als_score_user(const FrModel *model, int32 user, float *scores)
{
	const AlsState *st = model->state;
	int			k = st->opt.factors;

	fr_sgemv(false, model->n_items, k, 1.0f, st->item_factors, k,
			 st->user_factors + (size_t) user * k, 0.0f, scores);
}

/* the user vector of an ad-hoc history: one least-squares solve (als.c) */
static void
als_fold_in_vector(const FrModel *model, const int32 *items,
				   const float *weights, int n, float *x)
{
	const AlsState *st = model->state;

	fr_als_fold_in(&st->opt, st->item_factors, st->gram, items, weights, n, x);
}

static void
als_score_items(const FrModel *model, const int32 *items,
				const float *weights, int n, float *scores)
{
	const AlsState *st = model->state;
	int			k = st->opt.factors;
	float	   *x = palloc(sizeof(float) * k);

	als_fold_in_vector(model, items, weights, n, x);
	fr_sgemv(false, model->n_items, k, 1.0f, st->item_factors, k, x, 0.0f, scores);
	pfree(x);
}

/* cosine of the item factors; an item with a zero vector is like nothing */
static void
als_score_similar(const FrModel *model, int32 item, float *scores)
{
	const AlsState *st = model->state;
	int			k = st->opt.factors;
	float		norm = st->item_norms[item];

	fr_sgemv(false, model->n_items, k, 1.0f, st->item_factors, k,
			 st->item_factors + (size_t) item * k, 0.0f, scores);
	for (int32 i = 0; i < model->n_items; i++)
	{
		float		d = norm * st->item_norms[i];

		scores[i] = d > 0 ? scores[i] / d : NAN;
	}
}

static float
als_predict(const FrModel *model, int32 user, int32 item)
{
	const AlsState *st = model->state;
	int			k = st->opt.factors;

	return fr_sdot(k, st->user_factors + (size_t) user * k,
				   st->item_factors + (size_t) item * k);
}

static int32
als_embedding(const FrModel *model, bool of_user, int32 index, float *out)
{
	const AlsState *st = model->state;
	int			k = st->opt.factors;

	if (out)
		memcpy(out, (of_user ? st->user_factors : st->item_factors) + (size_t) index * k,
			   sizeof(float) * k);
	return k;
}

/* a few candidates: one dot product each instead of a pass over the catalog */
static void
als_score_user_items(const FrModel *model, int32 user, const int32 *items, int n, float *scores)
{
	const AlsState *st = model->state;
	int			k = st->opt.factors;
	const float *x = st->user_factors + (size_t) user * k;

	for (int i = 0; i < n; i++)
		scores[i] = fr_sdot(k, x, st->item_factors + (size_t) items[i] * k);
}

static void
als_factors(const FrModel *model, FrBatchFactors *out)
{
	const AlsState *st = model->state;

	out->k = st->opt.factors;
	out->user_factors = st->user_factors;
	out->n_items = model->n_items;
	out->item_factors = st->item_factors;
}

const FrAlgorithm fr_als_algorithm = {
	.name = "als",
	.summary = "implicit-feedback matrix factorisation by alternating least squares (Hu, Koren & Volinsky 2008), CG or Cholesky solves",
	.param_specs = als_specs,
	.params_size = sizeof(AlsParams),
	.param_defaults = &als_defaults,
	.predicts_ratings = false,
	.allows_negative_weights = false,
	.estimate_memory = als_estimate_memory,
	.train = als_train,
	.load = als_load,
	.score_user = als_score_user,
	.score_items = als_score_items,
	.score_similar = als_score_similar,
	.predict = als_predict,
	.embedding = als_embedding,
	.score_user_items = als_score_user_items,
	.factors = als_factors,
	.fold_in_vector = als_fold_in_vector,
	.similar_cosine = true,
};
