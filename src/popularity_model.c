/*
 * popularity_model.c — the "popularity" algorithm: overall or
 * recency-weighted item popularity, the same list for every user.
 */
#include "postgres.h"

#include "model.h"
#include "popularity.h"

typedef struct PopularityParams
{
	double		half_life_days; /* 0: no decay */
} PopularityParams;

static const FrParamSpec popularity_specs[] = {
	{"half_life_days", FR_PARAM_REAL, offsetof(PopularityParams, half_life_days), 0, 36500},
	{NULL}
};

static const PopularityParams popularity_defaults = {.half_life_days = 0};

/* the time series of a pair is its latest time, following the data's iu order */
static double *
times_in_iu_order(const FrTrainData *data)
{
	double	   *out = palloc_extended(mul_size(Max(data->ui.nnz, 1), sizeof(double)), MCXT_ALLOC_HUGE);
	int64	   *fill = palloc_extended(mul_size((size_t) data->n_items + 1, sizeof(int64)), MCXT_ALLOC_HUGE);

	memcpy(fill, data->iu.indptr, sizeof(int64) * ((size_t) data->n_items + 1));
	for (int32 u = 0; u < data->n_users; u++)
		for (int64 j = data->ui.indptr[u]; j < data->ui.indptr[u + 1]; j++)
			out[fill[data->ui.indices[j]]++] = data->times[j];
	pfree(fill);
	return out;
}

static void
popularity_train(FrTrainJob *job)
{
	const PopularityParams *p = job->params;
	const FrTrainData *data = job->data;
	float	   *scores = palloc_extended(mul_size(Max(data->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	double	   *times = NULL;

	if (p->half_life_days > 0)
	{
		if (data->times == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("half_life_days needs a time column in the source"),
					 errhint("Return (user, item, weight, time) or set \"time_column\".")));
		times = times_in_iu_order(data);
	}
	fr_popularity(&data->iu, times, data->max_time, p->half_life_days * 86400.0, scores);
	fr_artifact_put(job->model_id, "scores", FR_F32, data->n_items, 1, scores);
	if (times)
		fr_info_add_real(job, "reference_time_epoch", data->max_time);
}

static void *
popularity_load(FrModel *model)
{
	int64		n;
	float	   *scores = fr_artifact_get(model->model_id, "scores", FR_F32, &n, NULL, false);

	if (n != model->n_items)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("popularity model \"%s\" has %lld scores for %d items",
						model->name, (long long) n, model->n_items)));
	/* unknown users get the same (possibly recency-weighted) ranking as everyone */
	model->item_popularity = scores;
	return scores;
}

static void
popularity_score_user(const FrModel *model, int32 user, float *scores)
{
	memcpy(scores, model->state, sizeof(float) * model->n_items);
}

static void
popularity_score_items(const FrModel *model, const int32 *items,
					   const float *weights, int n, float *scores)
{
	memcpy(scores, model->state, sizeof(float) * model->n_items);
}

static float
popularity_predict(const FrModel *model, int32 user, int32 item)
{
	return ((const float *) model->state)[item];
}

const FrAlgorithm fr_popularity_algorithm = {
	.name = "popularity",
	.summary = "most popular items, optionally recency-weighted (half_life_days)",
	.param_specs = popularity_specs,
	.params_size = sizeof(PopularityParams),
	.param_defaults = &popularity_defaults,
	.train = popularity_train,
	.load = popularity_load,
	.score_user = popularity_score_user,
	.score_items = popularity_score_items,
	.predict = popularity_predict,
};
