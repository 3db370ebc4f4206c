/*
 * sequence_model.c — the "sequence" algorithm (item -> next item within
 * sessions, sequence.c) and fashionrec.next_items().
 *
 * Trained from (user, item[, weight], time): a time column is required, as
 * the order of events is the whole signal.  Each user's events, in time
 * order, are cut into sessions at pauses longer than session_gap_minutes.
 * Duplicate (user, item) pairs are merged by train() with their latest time,
 * so an item re-visited counts once, at its last visit.
 *
 *   next_items / recommend_for_items   successors of the given items, the
 *                                      most recent (last) weighted most
 *   recommend                          the same from the user's last items
 *   similar_items                      the item's successors
 *
 * Artifacts: "trans_indptr", "trans_indices", "trans_values" (items x items
 * transition probabilities), "recent_indptr", "recent_indices" (each user's
 * last items, oldest first), "sequence_config" (recency decay).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "arrays.h"
#include "fashionrec.h"
#include "model.h"
#include "scratch.h"
#include "serving.h"
#include "sequence.h"
#include "skipmask.h"
#include "topk.h"

typedef struct SequenceParams
{
	double		session_gap_minutes;
	int32		window;
	int32		max_neighbors;
	int32		recent_items;
	double		recency_decay;
} SequenceParams;

static const FrParamSpec sequence_specs[] = {
	{"session_gap_minutes", FR_PARAM_REAL, offsetof(SequenceParams, session_gap_minutes), 0, 525600 * 10},
	{"window", FR_PARAM_INT, offsetof(SequenceParams, window), 1, 100},
	{"max_neighbors", FR_PARAM_INT, offsetof(SequenceParams, max_neighbors), 1, 10000},
	{"recent_items", FR_PARAM_INT, offsetof(SequenceParams, recent_items), 1, 1000},
	{"recency_decay", FR_PARAM_REAL, offsetof(SequenceParams, recency_decay), 0, 1},
	{NULL}
};

static const SequenceParams sequence_defaults = {
	.session_gap_minutes = 60,
	.window = 3,
	.max_neighbors = 100,
	.recent_items = 5,
	.recency_decay = 0.5,
};

typedef struct SequenceState
{
	FrCsr		trans;
	int64	   *recent_indptr;
	int32	   *recent_indices;
	double		decay;
} SequenceState;

static size_t
sequence_estimate_memory(const FrTrainData *data, const void *params)
{
	const SequenceParams *p = params;

	/* the (from, to, weight) triples, their CSR, and the kept rows */
	return mul_size(mul_size(Max(data->ui.nnz, 1), p->window), 3 * (sizeof(int32) + sizeof(float)));
}

static void
sequence_train(FrTrainJob *job)
{
	const FrTrainData *data = job->data;
	const SequenceParams *p = job->params;
	FrSequenceOptions opt;
	FrCsr		trans;
	int64	   *rptr;
	int32	   *ridx;
	double		config[1];

	if (data->times == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("algorithm \"sequence\" needs the time of each interaction"),
				 errhint("Return (user, item, weight, time) from the source, or name the column with \"time_column\".")));
	opt.gap_seconds = p->session_gap_minutes * 60.0;
	opt.window = p->window;
	opt.max_neighbors = p->max_neighbors;
	opt.recent = p->recent_items;
	fr_sequence_fit(&opt, &data->ui, data->times, &trans, &rptr, &ridx);

	config[0] = p->recency_decay;
	fr_artifact_put(job->model_id, "trans_indptr", FR_I64, (int64) data->n_items + 1, 1, trans.indptr);
	fr_artifact_put(job->model_id, "trans_indices", FR_I32, trans.nnz, 1, trans.indices);
	fr_artifact_put(job->model_id, "trans_values", FR_F32, trans.nnz, 1, trans.values);
	fr_artifact_put(job->model_id, "recent_indptr", FR_I64, (int64) data->n_users + 1, 1, rptr);
	fr_artifact_put(job->model_id, "recent_indices", FR_I32, rptr[data->n_users], 1, ridx);
	fr_artifact_put(job->model_id, "sequence_config", FR_F64, 1, 1, config);
	fr_info_add_int(job, "transitions", trans.nnz);
}

static void *
sequence_load(FrModel *model)
{
	SequenceState *st = palloc0(sizeof(SequenceState));
	int64		n,
				nnz,
				nv;
	double	   *config;

	st->trans.indptr = fr_model_artifact(model, "trans_indptr", FR_I64, &n, NULL, false);
	st->trans.indices = fr_model_artifact(model, "trans_indices", FR_I32, &nnz, NULL, false);
	st->trans.values = fr_model_artifact(model, "trans_values", FR_F32, &nv, NULL, false);
	fr_check_csr(model, "trans", st->trans.indptr, n, model->n_items, st->trans.indices, nnz,
				 model->n_items);
	fr_check_shape(model, "trans_values", nv, 1, nnz, 1);
	fr_check_finite(model, "trans_values", st->trans.values, nv);
	st->trans.nrows = model->n_items;
	st->trans.ncols = model->n_items;
	st->trans.nnz = nnz;
	st->recent_indptr = fr_model_artifact(model, "recent_indptr", FR_I64, &n, NULL, false);
	st->recent_indices = fr_model_artifact(model, "recent_indices", FR_I32, &nnz, NULL, false);
	fr_check_csr(model, "recent", st->recent_indptr, n, model->n_users, st->recent_indices, nnz,
				 model->n_items);
	config = fr_model_artifact(model, "sequence_config", FR_F64, &n, NULL, false);
	fr_check_shape(model, "sequence_config", n, 1, 1, 1);
	fr_check_setting(model, "sequence_config", "recency_decay", config[0], 0, 1, false);
	st->decay = config[0];
	return st;
}

static void
sequence_score_items(const FrModel *model, const int32 *items, const float *weights,
					 int n, float *scores)
{
	const SequenceState *st = model->state;

	fr_sequence_score(&st->trans, items, weights, n, st->decay, scores);
}

static void
sequence_score_user(const FrModel *model, int32 user, float *scores)
{
	const SequenceState *st = model->state;
	int64		lo = st->recent_indptr[user];

	fr_sequence_score(&st->trans, st->recent_indices + lo, NULL,
					  (int) (st->recent_indptr[user + 1] - lo), st->decay, scores);
}

static void
sequence_score_similar(const FrModel *model, int32 item, float *scores)
{
	const SequenceState *st = model->state;

	fr_sequence_score(&st->trans, &item, NULL, 1, 1.0, scores);
}

const FrAlgorithm fr_sequence_algorithm = {
	.name = "sequence",
	.summary = "item-to-next-item transitions within sessions (events closer than session_gap_minutes), "
	"for next_items(); needs a time column",
	.param_specs = sequence_specs,
	.params_size = sizeof(SequenceParams),
	.param_defaults = &sequence_defaults,
	.estimate_memory = sequence_estimate_memory,
	.train = sequence_train,
	.load = sequence_load,
	.score_user = sequence_score_user,
	.score_items = sequence_score_items,
	.score_similar = sequence_score_similar,
};

/*
 * next_items(name, recent_item_ids, k, exclude_seen, candidates, exclude,
 * version) returns table(item_id bigint, score real, rank int)
 *
 * recent_item_ids in the order they happened, the latest last: they are the
 * "seen" items.  Any model that folds in a history answers; for a sequence
 * model (or a hybrid with a sequence signal) the order matters.
 */
static Datum
next_items_serve(FunctionCallInfo fcinfo, const FrServingShape *shape)
{
	FrServingArgs args;
	FrModel    *model;
	int64	   *ids;
	int			n_ids;
	int32	   *items;
	int			n = 0;
	float	   *scores;
	uint8	   *skip;
	int32	   *subset;
	int			n_subset;

	fr_serving_args(fcinfo, shape, &args);
	if (PG_ARGISNULL(shape->subject))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("recent_item_ids must not be NULL"),
				 errhint("Pass an empty array for a session with no items yet.")));
	ids = fr_int8_array(PG_GETARG_ARRAYTYPE_P(shape->subject), "recent_item_ids", &n_ids);

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(args.name, args.version);
	if (model->algo->score_items == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" cannot score a list of items",
						model->algo->name, args.name),
				 errhint("Serve the list with a model of another algorithm; fashionrec.algorithms() lists them.")));

	/* known items in the given order; unknown ones say nothing */
	items = palloc(sizeof(int32) * Max(n_ids, 1));
	for (int i = 0; i < n_ids; i++)
	{
		int32		j = fr_model_item_index(model, ids[i]);

		if (j >= 0)
			items[n++] = j;
	}

	scores = fr_scratch_floats(model->n_items);
	skip = fr_skip_acquire(model->n_items);
	if (n > 0)
		model->algo->score_items(model, items, NULL, n, scores);
	else
		memcpy(scores, model->item_popularity, sizeof(float) * model->n_items);
	if (args.exclude_seen)
		for (int i = 0; i < n; i++)
			fr_skip_set(skip, items[i]);

	subset = fr_apply_filters(model, &args, skip, &n_subset);
	fr_emit_topk(fcinfo, model, scores, subset, n_subset, skip, args.k);
	fr_skip_release(skip);
	fr_scratch_release(scores);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(fashionrec_next_items_0_2);
Datum
fashionrec_next_items_0_2(PG_FUNCTION_ARGS)
{
	return next_items_serve(fcinfo, &fr_next_items_shape);
}

/* 0.1's next_items(name, recent_item_ids, k, exclude_given, candidates, version) */
PG_FUNCTION_INFO_V1(fashionrec_next_items);
Datum
fashionrec_next_items(PG_FUNCTION_ARGS)
{
	return next_items_serve(fcinfo, &fr_next_items_shape_0_1);
}
