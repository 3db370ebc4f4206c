/*
 * popularity_model.c — the "popularity" algorithm: overall or
 * recency-weighted item popularity, the same list for every user, and
 * optionally one list per context value (popularity within a season, a
 * gender, a store) when the source names a context_column.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "model.h"
#include "popularity.h"

#define MAX_CONTEXT_LEN 255

typedef struct PopularityParams
{
	double		half_life_days; /* 0: no decay */
} PopularityParams;

static const FrParamSpec popularity_specs[] = {
	{"half_life_days", FR_PARAM_REAL, offsetof(PopularityParams, half_life_days), 0, 36500},
	{NULL}
};

static const PopularityParams popularity_defaults = {.half_life_days = 0};

typedef struct PopularityState
{
	float	   *scores;			/* n_items */
	int32		n_contexts;
	char	  **context_names;	/* sorted */
	float	   *context_scores; /* n_contexts x n_items */
} PopularityState;

typedef struct ContextEntry
{
	char		name[MAX_CONTEXT_LEN + 1];	/* hash key */
	int32		index;
} ContextEntry;

/* each pair's weight decays from the pair's latest time, in iu order */
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

static int
cmp_entry_name(const void *a, const void *b)
{
	return strcmp((*(ContextEntry *const *) a)->name, (*(ContextEntry *const *) b)->name);
}

/*
 * A second pass over the source, this time row by row with the context
 * value: per-(context, item) sums with the same decay as the overall list.
 */
static void
train_contexts(FrTrainJob *job, double half_life_seconds)
{
	const FrTrainData *data = job->data;
	MemoryContext caller = CurrentMemoryContext;
	HASHCTL		ctl = {0};
	HTAB	   *contexts;
	int32		n_contexts = 0;
	int32		cap = 16;
	float	  **rows = palloc(sizeof(float *) * cap);
	Portal		portal;
	HASH_SEQ_STATUS seq;
	ContextEntry *e;
	ContextEntry **sorted;
	StringInfoData names;
	float	   *matrix;

	ctl.keysize = MAX_CONTEXT_LEN + 1;
	ctl.entrysize = sizeof(ContextEntry);
	ctl.hcxt = caller;
	contexts = hash_create("fashionrec popularity contexts", 64, &ctl,
						   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	SPI_connect();
	portal = SPI_cursor_open_with_args(NULL,
									   psprintf("SELECT q.context, q.item_id, q.weight, q.event_epoch"
												" FROM (%s) q WHERE q.context IS NOT NULL"
												" AND q.user_id IS NOT NULL AND q.item_id IS NOT NULL",
												job->source_query),
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull,
						tnull,
						found;
			char	   *name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
			int32		item = (int32) fr_find_id(data->item_ids, data->n_items,
												   DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)));
			Datum		w = SPI_getbinval(tup, desc, 3, &isnull);
			Datum		t = SPI_getbinval(tup, desc, 4, &tnull);
			double		weight = isnull ? 0 : DatumGetFloat8(w);

			if (item < 0 || !isfinite(weight))
				continue;		/* dropped by min counts, or refused already */
			if (strlen(name) > MAX_CONTEXT_LEN)
				ereport(ERROR,
						(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
						 errmsg("context value longer than %d bytes", MAX_CONTEXT_LEN)));
			e = hash_search(contexts, name, HASH_ENTER, &found);
			if (!found)
			{
				MemoryContext old = MemoryContextSwitchTo(caller);

				if (n_contexts == 10000)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("context column has more than 10000 distinct values"),
							 errhint("Use a coarser context, such as a category rather than a product.")));
				fr_check_memory(mul_size(mul_size(n_contexts + 1, data->n_items), sizeof(float)),
								"popularity per context");
				if (n_contexts == cap)
				{
					cap *= 2;
					rows = repalloc(rows, sizeof(float *) * cap);
				}
				rows[n_contexts] = palloc0(sizeof(float) * Max(data->n_items, 1));
				e->index = n_contexts++;
				MemoryContextSwitchTo(old);
			}
			if (half_life_seconds > 0 && !tnull)
				weight *= exp2(-fmax(data->max_time - DatumGetFloat8(t), 0.0) / half_life_seconds);
			rows[e->index][item] += (float) weight;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();

	/* contexts sorted by name, so serving finds one by binary search */
	sorted = palloc(sizeof(ContextEntry *) * Max(n_contexts, 1));
	hash_seq_init(&seq, contexts);
	while ((e = hash_seq_search(&seq)) != NULL)
		sorted[e->index] = e;
	qsort(sorted, n_contexts, sizeof(ContextEntry *), cmp_entry_name);

	initStringInfo(&names);
	matrix = palloc_extended(mul_size(mul_size(Max(n_contexts, 1), Max(data->n_items, 1)), sizeof(float)),
							 MCXT_ALLOC_HUGE);
	for (int32 c = 0; c < n_contexts; c++)
	{
		appendBinaryStringInfo(&names, sorted[c]->name, strlen(sorted[c]->name) + 1);
		memcpy(matrix + (size_t) c * data->n_items, rows[sorted[c]->index],
			   sizeof(float) * data->n_items);
	}
	fr_artifact_put(job->model_id, "context_names", FR_BYTES, names.len, 1, names.data);
	fr_artifact_put(job->model_id, "context_scores", FR_F32, n_contexts, data->n_items, matrix);
	fr_info_add_int(job, "contexts", n_contexts);
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
	if (job->has_context)
		train_contexts(job, p->half_life_days * 86400.0);
}

static void *
popularity_load(FrModel *model)
{
	PopularityState *st = palloc0(sizeof(PopularityState));
	int64		n;
	int32		ncols;
	char	   *names;

	st->scores = fr_model_artifact(model, "scores", FR_F32, &n, NULL, false);
	fr_check_shape(model, "scores", n, 1, model->n_items, 1);
	/* unknown users get the same (possibly recency-weighted) ranking as everyone */
	model->item_popularity = st->scores;

	names = fr_model_artifact(model, "context_names", FR_BYTES, &n, NULL, true);
	if (names)
	{
		int64		rows;
		int64		c = 0;

		st->context_scores = fr_model_artifact(model, "context_scores", FR_F32, &rows, &ncols, false);
		/* contexts are counted in int32 */
		fr_check_shape(model, "context_scores", rows, ncols, Min(rows, PG_INT32_MAX), model->n_items);
		st->n_contexts = (int32) rows;
		st->context_names = palloc(sizeof(char *) * Max(rows, 1));
		/* serving binary-searches the names: one per row, each terminated, ascending */
		if (n > 0 && names[n - 1] != '\0')
			fr_artifact_corrupt(model, "context_names", "Its last name is not terminated.");
		for (int64 off = 0; off < n; off += strlen(names + off) + 1)
		{
			if (c == rows)
				fr_artifact_corrupt(model, "context_names",
									"It holds more names than \"context_scores\" has rows (%lld).",
									(long long) rows);
			st->context_names[c] = names + off;
			if (c > 0 && strcmp(st->context_names[c - 1], st->context_names[c]) >= 0)
				fr_artifact_corrupt(model, "context_names",
									"Name %lld does not follow name %lld in ascending order.",
									(long long) c, (long long) c - 1);
			c++;
		}
		if (c != rows)
			fr_artifact_corrupt(model, "context_names",
								"It holds %lld names for %lld rows of \"context_scores\".",
								(long long) c, (long long) rows);
	}
	return st;
}

static void
popularity_score_user(const FrModel *model, int32 user, float *scores)
{
	memcpy(scores, ((PopularityState *) model->state)->scores, sizeof(float) * model->n_items);
}

static void
popularity_score_items(const FrModel *model, const int32 *items,
					   const float *weights, int n, float *scores)
{
	popularity_score_user(model, -1, scores);
}

static bool
popularity_score_context(const FrModel *model, const char *context, float *scores)
{
	const PopularityState *st = model->state;
	int32		c = fr_context_index((const char *const *) st->context_names, st->n_contexts, context);

	if (c < 0)
		return false;
	memcpy(scores, st->context_scores + (size_t) c * model->n_items, sizeof(float) * model->n_items);
	return true;
}

static float
popularity_predict(const FrModel *model, int32 user, int32 item)
{
	return ((PopularityState *) model->state)->scores[item];
}

const FrAlgorithm fr_popularity_algorithm = {
	.name = "popularity",
	.summary = "most popular items, optionally recency-weighted (half_life_days) and per context (context_column)",
	.param_specs = popularity_specs,
	.params_size = sizeof(PopularityParams),
	.param_defaults = &popularity_defaults,
	.uses_context = true,
	.train = popularity_train,
	.load = popularity_load,
	.score_user = popularity_score_user,
	.score_items = popularity_score_items,
	.score_context = popularity_score_context,
	.predict = popularity_predict,
};
