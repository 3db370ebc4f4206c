/*
 * svd_model.c — the "svd" algorithm (PureSVD): parameters, training, serving.
 *
 * Artifacts: "svd_item_factors" (items x k, the right singular vectors V),
 * "svd_user_factors" (users x k, x_u V from the raw training weights) and
 * "svd_singular_values" (k).  Scores are x_u V V^T.
 *
 * The normalisation only changes which subspace is found: users are always
 * projected with their weights as given, which measured better than
 * projecting the normalised rows (docs/algorithms-ease-svd-knn.md).
 */
#include "postgres.h"

#include <math.h>

#include "linalg.h"
#include "model.h"
#include "svd.h"

typedef enum SvdNormalization
{
	SVD_NORM_NONE,
	SVD_NORM_USER,				/* each user's row scaled to unit length */
	SVD_NORM_ITEM				/* column i scaled by popularity_i^-exponent */
} SvdNormalization;

typedef struct SvdParams
{
	int32		factors;
	int32		oversampling;
	int32		power_iterations;
	int32		seed;
	int32		normalization;	/* SvdNormalization */
	double		popularity_exponent;
} SvdParams;

static const char *const svd_normalizations[] = {"none", "user", "item", NULL};

static const FrParamSpec svd_specs[] = {
	{"factors", FR_PARAM_INT, offsetof(SvdParams, factors), 1, 10000},
	{"oversampling", FR_PARAM_INT, offsetof(SvdParams, oversampling), 0, 10000},
	{"power_iterations", FR_PARAM_INT, offsetof(SvdParams, power_iterations), 0, 100},
	{"seed", FR_PARAM_INT, offsetof(SvdParams, seed), 0, PG_INT32_MAX},
	{"normalization", FR_PARAM_CHOICE, offsetof(SvdParams, normalization), 0, 0, svd_normalizations},
	{"popularity_exponent", FR_PARAM_REAL, offsetof(SvdParams, popularity_exponent), 0, 2},
	{NULL}
};

static const SvdParams svd_defaults = {
	.factors = 64,
	.oversampling = 64,
	.power_iterations = 7,
	.seed = 42,
	.normalization = SVD_NORM_NONE,
	.popularity_exponent = 0.25,
};

typedef struct SvdState
{
	int32		k;
	float	   *item_factors;
	float	   *user_factors;
	float	   *item_norms;		/* for cosine similarity */
} SvdState;

static void
svd_options(const SvdParams *p, FrSvdOptions *opt)
{
	opt->factors = p->factors;
	opt->oversampling = p->oversampling;
	opt->power_iterations = p->power_iterations;
	opt->seed = (uint64) p->seed;
}

static size_t
svd_estimate_memory(const FrTrainData *data, const void *params)
{
	const SvdParams *p = params;
	FrSvdOptions opt;
	size_t		k;
	size_t		bytes;

	svd_options(p, &opt);
	k = (size_t) fr_svd_rank(data->n_users, data->n_items, &opt);
	bytes = fr_svd_memory(data->n_users, data->n_items, &opt);
	bytes = add_size(bytes, mul_size(mul_size((size_t) data->n_users + data->n_items, k),
									 sizeof(float)));
	if (p->normalization != SVD_NORM_NONE)
		bytes = add_size(bytes, mul_size((size_t) data->ui.nnz, 2 * sizeof(float)));
	return bytes;
}

/* copies of X and X^T sharing the structure, with normalised values */
static void
normalised_copies(const FrTrainData *data, const SvdParams *p, FrCsr *ui, FrCsr *iu)
{
	int64		nnz = data->ui.nnz;
	double	   *scale;

	*ui = data->ui;
	*iu = data->iu;
	ui->values = fr_alloc(mul_size((size_t) nnz + 1, sizeof(float)));
	iu->values = fr_alloc(mul_size((size_t) nnz + 1, sizeof(float)));

	if (p->normalization == SVD_NORM_USER)
	{
		scale = fr_alloc(mul_size((size_t) data->n_users + 1, sizeof(double)));
		for (int32 u = 0; u < data->n_users; u++)
		{
			double		s = 0;

			for (int64 j = data->ui.indptr[u]; j < data->ui.indptr[u + 1]; j++)
				s += (double) data->ui.values[j] * data->ui.values[j];
			scale[u] = s > 0 ? 1.0 / sqrt(s) : 0.0;
		}
		for (int32 u = 0; u < data->n_users; u++)
			for (int64 j = data->ui.indptr[u]; j < data->ui.indptr[u + 1]; j++)
				ui->values[j] = (float) (data->ui.values[j] * scale[u]);
		for (int32 i = 0; i < data->n_items; i++)
			for (int64 j = data->iu.indptr[i]; j < data->iu.indptr[i + 1]; j++)
				iu->values[j] = (float) (data->iu.values[j] * scale[data->iu.indices[j]]);
	}
	else
	{
		scale = fr_alloc(mul_size((size_t) data->n_items + 1, sizeof(double)));
		for (int32 i = 0; i < data->n_items; i++)
		{
			double		s = 0;

			for (int64 j = data->iu.indptr[i]; j < data->iu.indptr[i + 1]; j++)
				s += data->iu.values[j];
			scale[i] = s > 0 ? pow(s, -p->popularity_exponent) : 0.0;
		}
		for (int32 u = 0; u < data->n_users; u++)
			for (int64 j = data->ui.indptr[u]; j < data->ui.indptr[u + 1]; j++)
				ui->values[j] = (float) (data->ui.values[j] * scale[data->ui.indices[j]]);
		for (int32 i = 0; i < data->n_items; i++)
			for (int64 j = data->iu.indptr[i]; j < data->iu.indptr[i + 1]; j++)
				iu->values[j] = (float) (data->iu.values[j] * scale[i]);
	}
	fr_free(scale);
}

static void
svd_train(FrTrainJob *job)
{
	const SvdParams *p = job->params;
	const FrTrainData *data = job->data;
	FrSvdOptions opt;
	FrCsr		ui = data->ui;
	FrCsr		iu = data->iu;
	int32		k;
	float	   *v;
	float	   *users;
	float	   *s;
	double		captured;

	svd_options(p, &opt);
	k = fr_svd_rank(data->n_users, data->n_items, &opt);
	if (p->normalization != SVD_NORM_NONE)
		normalised_copies(data, p, &ui, &iu);

	v = fr_alloc(mul_size(mul_size((size_t) data->n_items, (size_t) k), sizeof(float)));
	s = fr_alloc(mul_size((size_t) k, sizeof(float)));
	captured = fr_svd_fit(&ui, &iu, &opt, v, s);
	if (p->normalization != SVD_NORM_NONE)
	{
		fr_free(ui.values);
		fr_free(iu.values);
	}

	/* users as the serving path sees them: their weights, unnormalised */
	users = fr_alloc(mul_size(mul_size((size_t) data->n_users, (size_t) k), sizeof(float)));
	fr_svd_project(&data->ui, v, k, users);

	fr_artifact_put(job->model_id, "svd_item_factors", FR_F32, data->n_items, k, v);
	fr_artifact_put(job->model_id, "svd_user_factors", FR_F32, data->n_users, k, users);
	fr_artifact_put(job->model_id, "svd_singular_values", FR_F32, k, 1, s);
	fr_info_add_int(job, "factors", k);
	fr_info_add_real(job, "explained_energy", captured);
	fr_info_add_real(job, "largest_singular_value", k > 0 ? s[0] : 0.0);
	fr_info_add_real(job, "smallest_singular_value", k > 0 ? s[k - 1] : 0.0);
}

static void *
svd_load(FrModel *model)
{
	SvdState   *st = palloc0(sizeof(SvdState));
	int64		n_items,
				n_users;
	int32		k_items,
				k_users;

	st->item_factors = fr_model_artifact(model, "svd_item_factors", FR_F32, &n_items, &k_items, false);
	st->user_factors = fr_model_artifact(model, "svd_user_factors", FR_F32, &n_users, &k_users, false);
	fr_check_shape(model, "svd_item_factors", n_items, k_items, model->n_items, Max(k_items, 1));
	fr_check_shape(model, "svd_user_factors", n_users, k_users, model->n_users, k_items);
	/* a fold-in projects onto V: one NaN there would reach every score */
	fr_check_finite(model, "svd_item_factors", st->item_factors, n_items * k_items);
	fr_check_finite(model, "svd_user_factors", st->user_factors, n_users * k_users);
	st->k = k_items;
	st->item_norms = fr_item_norms(model, st->item_factors, st->k);
	return st;
}

static void
svd_score_user(const FrModel *model, int32 user, float *scores)
{
	const SvdState *st = model->state;

	fr_sgemv(false, model->n_items, st->k, 1.0f, st->item_factors, st->k,
			 st->user_factors + (size_t) user * st->k, 0.0f, scores);
}

static void
svd_score_items(const FrModel *model, const int32 *items,
				const float *weights, int n, float *scores)
{
	const SvdState *st = model->state;

	fr_svd_score_items(st->item_factors, model->n_items, st->k, items, weights, n, scores);
}

/* cosine of the item factors; an item with a zero vector is like nothing */
/* the history's vector: its items' factors summed, as fr_svd_score_items scores with */
static void
svd_fold_in_vector(const FrModel *model, const int32 *items, const float *weights, int n, float *p)
{
	const SvdState *st = model->state;

	memset(p, 0, sizeof(float) * st->k);
	for (int t = 0; t < n; t++)
		fr_saxpy(st->k, weights ? weights[t] : 1.0f, st->item_factors + (size_t) items[t] * st->k, p);
}

static void
svd_score_similar(const FrModel *model, int32 item, float *scores)
{
	const SvdState *st = model->state;
	float		norm = st->item_norms[item];

	fr_sgemv(false, model->n_items, st->k, 1.0f, st->item_factors, st->k,
			 st->item_factors + (size_t) item * st->k, 0.0f, scores);
	for (int32 i = 0; i < model->n_items; i++)
	{
		float		d = norm * st->item_norms[i];

		scores[i] = d > 0 ? scores[i] / d : NAN;
	}
}

static float
svd_predict(const FrModel *model, int32 user, int32 item)
{
	const SvdState *st = model->state;

	return fr_sdot(st->k, st->user_factors + (size_t) user * st->k,
				   st->item_factors + (size_t) item * st->k);
}

/*
 * Vectors whose dot product is the score: x_u V for a user, the row of V
 * for an item.
 */
static int32
svd_embedding(const FrModel *model, bool of_user, int32 index, float *out)
{
	const SvdState *st = model->state;

	if (out)
		memcpy(out, (of_user ? st->user_factors : st->item_factors) + (size_t) index * st->k,
			   sizeof(float) * st->k);
	return st->k;
}

static void
svd_score_user_items(const FrModel *model, int32 user, const int32 *items,
					 int n, float *scores)
{
	const SvdState *st = model->state;
	const float *p = st->user_factors + (size_t) user * st->k;

	for (int i = 0; i < n; i++)
		scores[i] = fr_sdot(st->k, p, st->item_factors + (size_t) items[i] * st->k);
}

static void
svd_factors(const FrModel *model, FrBatchFactors *out)
{
	const SvdState *st = model->state;

	out->k = st->k;
	out->user_factors = st->user_factors;
	out->n_items = model->n_items;
	out->item_factors = st->item_factors;
}

const FrAlgorithm fr_svd_algorithm = {
	.name = "svd",
	.summary = "PureSVD: truncated SVD of the interactions by randomized range finding, factors",
	.param_specs = svd_specs,
	.params_size = sizeof(SvdParams),
	.param_defaults = &svd_defaults,
	.estimate_memory = svd_estimate_memory,
	.train = svd_train,
	.load = svd_load,
	.score_user = svd_score_user,
	.score_items = svd_score_items,
	.score_similar = svd_score_similar,
	.predict = svd_predict,
	.embedding = svd_embedding,
	.score_user_items = svd_score_user_items,
	.factors = svd_factors,
	.fold_in_vector = svd_fold_in_vector,
	.similar_cosine = true,
};
