/*
 * ease_model.c — the "ease" algorithm: parameters, training, serving.
 *
 * Artifacts: "ease_b" (n_keep x n_keep float weights) and, when max_items
 * leaves items out, "ease_items" (the n_keep modelled item indices,
 * ascending).  Items left out score NaN, which serving never recommends.
 */
#include "postgres.h"

#include <math.h>

#include "ease.h"
#include "fashionrec.h"
#include "model.h"

typedef struct EaseParams
{
	double		lambda;
	int32		max_items;		/* 0: every item */
} EaseParams;

static const FrParamSpec ease_specs[] = {
	{"lambda", FR_PARAM_REAL, offsetof(EaseParams, lambda), 0, 1e12},
	{"max_items", FR_PARAM_INT, offsetof(EaseParams, max_items), 0, PG_INT32_MAX},
	{NULL}
};

static const EaseParams ease_defaults = {.lambda = 500.0, .max_items = 0};

typedef struct EaseState
{
	int32		n_keep;
	float	   *b;
	int32	   *item_to_col;	/* NULL when every item is modelled */
	int32	   *col_to_item;
} EaseState;

static int32
modelled_items(const FrTrainData *data, const EaseParams *p)
{
	if (p->max_items > 0 && p->max_items < data->n_items)
		return p->max_items;
	return data->n_items;
}

/*
 * The dense matrix is the whole cost, so refuse here with the way out that
 * fits: the largest max_items within the budget.
 */
static size_t
ease_estimate_memory(const FrTrainData *data, const void *params)
{
	const EaseParams *p = params;
	int32		n_keep = modelled_items(data, p);
	size_t		budget = (size_t) fr_max_memory_kb * 1024;
	size_t		maps = mul_size((size_t) data->n_items + 1, 2 * sizeof(int32));
	size_t		bytes = add_size(fr_ease_memory(n_keep), maps);

	if (bytes > budget)
	{
		double		fits = budget > maps ? floor(sqrt((double) (budget - maps) / sizeof(float))) : 0;

		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training \"ease\" on %d items needs about %.1f MB, more than fashionrec.max_memory (%.1f MB)",
						n_keep, bytes / 1048576.0, budget / 1048576.0),
				 errdetail("EASE holds a dense items x items matrix of 4-byte floats."),
				 errhint("Set \"max_items\" to model only the most popular items (at most %.0f fit), "
						 "or raise fashionrec.max_memory.", fits)));
	}
	return bytes;
}

static void
ease_train(FrTrainJob *job)
{
	const EaseParams *p = job->params;
	const FrTrainData *data = job->data;
	int32	   *item_to_col;
	int32	   *col_to_item;
	int32		n_keep;
	float	   *b;

	if (!(p->lambda > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameter \"lambda\" of algorithm \"ease\" must be greater than zero"),
				 errdetail("Without regularisation the Gram matrix is usually singular.")));

	item_to_col = fr_alloc(mul_size((size_t) data->n_items + 1, sizeof(int32)));
	col_to_item = fr_alloc(mul_size((size_t) data->n_items + 1, sizeof(int32)));
	n_keep = fr_ease_select_items(&data->iu, p->max_items, item_to_col, col_to_item);
	b = fr_alloc(fr_ease_memory(n_keep));
	fr_ease_fit(&data->ui, n_keep, n_keep < data->n_items ? item_to_col : NULL,
				p->lambda, b);

	fr_artifact_put(job->model_id, "ease_b", FR_F32, n_keep, n_keep, b);
	if (n_keep < data->n_items)
		fr_artifact_put(job->model_id, "ease_items", FR_I32, n_keep, 1, col_to_item);
	fr_info_add_int(job, "items_modelled", n_keep);
	fr_info_add_int(job, "items_left_out", data->n_items - n_keep);
}

static void *
ease_load(FrModel *model)
{
	EaseState  *st = palloc0(sizeof(EaseState));
	int64		rows,
				n_keep;
	int32		cols;

	st->b = fr_model_artifact(model, "ease_b", FR_F32, &rows, &cols, false);
	fr_check_shape(model, "ease_b", rows, cols, cols, cols);
	fr_check_finite(model, "ease_b", st->b, rows * cols);
	st->n_keep = cols;
	st->col_to_item = fr_model_artifact(model, "ease_items", FR_I32, &n_keep, NULL, true);
	if (st->col_to_item == NULL)
		fr_check_shape(model, "ease_b", rows, cols, model->n_items, model->n_items);
	else if ((st->item_to_col = fr_model_derived(model, "ease_item_to_col", NULL, NULL)) == NULL)
	{
		/* attached, the inverse map above is the loading backend's */
		fr_check_shape(model, "ease_items", n_keep, 1, cols, 1);
		/* ascending as trained, so no item takes two columns and n_keep <= n_items */
		fr_check_index_array(model, "ease_items", st->col_to_item, n_keep, 0, model->n_items, true);
		st->item_to_col = palloc_extended(mul_size((size_t) model->n_items + 1, sizeof(int32)),
										  MCXT_ALLOC_HUGE);
		for (int32 i = 0; i < model->n_items; i++)
			st->item_to_col[i] = -1;
		for (int32 c = 0; c < st->n_keep; c++)
			st->item_to_col[st->col_to_item[c]] = c;
		fr_model_keep(model, "ease_item_to_col", FR_I32, model->n_items, 1, st->item_to_col);
	}
	return st;
}

/* Items outside the model cannot be recommended: NaN is never ranked. */
static void
mark_left_out(const FrModel *model, const EaseState *st, float *scores)
{
	if (st->item_to_col == NULL)
		return;
	for (int32 i = 0; i < model->n_items; i++)
		if (st->item_to_col[i] < 0)
			scores[i] = NAN;
}

static void
ease_score_items(const FrModel *model, const int32 *items,
				 const float *weights, int n, float *scores)
{
	const EaseState *st = model->state;

	memset(scores, 0, sizeof(float) * model->n_items);
	fr_ease_score(st->b, st->n_keep, st->item_to_col, st->col_to_item,
				  items, weights, n, scores);
	mark_left_out(model, st, scores);
}

/* the training items, each once: EASE is trained on presence, not weight */
static void
ease_score_user(const FrModel *model, int32 user, float *scores)
{
	int64		lo = model->seen_indptr[user];
	int64		hi = model->seen_indptr[user + 1];

	ease_score_items(model, model->seen_indices + lo, NULL, (int) (hi - lo), scores);
}

/* row i of B: what owning i alone predicts, the fold-in of {i} */
static void
ease_score_similar(const FrModel *model, int32 item, float *scores)
{
	const EaseState *st = model->state;

	if (st->item_to_col && st->item_to_col[item] < 0)
	{
		/* an item outside the model has no row: nothing is similar */
		for (int32 i = 0; i < model->n_items; i++)
			scores[i] = NAN;
		return;
	}
	ease_score_items(model, &item, NULL, 1, scores);
}

const FrAlgorithm fr_ease_algorithm = {
	.name = "ease",
	.summary = "EASE shallow linear autoencoder (Steck 2019): closed-form item-item weights, lambda",
	.param_specs = ease_specs,
	.params_size = sizeof(EaseParams),
	.param_defaults = &ease_defaults,
	.estimate_memory = ease_estimate_memory,
	.train = ease_train,
	.load = ease_load,
	.score_user = ease_score_user,
	.score_items = ease_score_items,
	.score_similar = ease_score_similar,
};
