/*
 * registry.c — the C half of training and data validation.
 *
 * fashionrec.train() (PL/pgSQL, src/sql/10_registry.sql) does the catalog
 * bookkeeping — version numbers, status, activation — and calls
 * fashionrec._train_artifacts() here for the heavy part: read the source,
 * validate, check the memory budget, run the algorithm and store its
 * artifacts.  Everything happens inside the caller's transaction, so a
 * training that fails or is cancelled leaves no row behind.
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "fashionrec.h"
#include "progress.h"
#include "source.h"

void
fr_check_memory(size_t bytes, const char *what)
{
	size_t		budget = (size_t) fr_max_memory_kb * 1024;

	if (bytes > budget)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s needs about %.1f MB, more than fashionrec.max_memory (%.1f MB)",
						what, bytes / 1048576.0, budget / 1048576.0),
				 errhint("A superuser can raise fashionrec.max_memory (SET fashionrec.max_memory = '4GB', "
						 "or ALTER SYSTEM); or train on less data or with smaller parameters.")));
}

static void
parse_all_params(const FrAlgorithm *algo, Jsonb *params,
				 void *algo_params, FrSourceParams *source_params)
{
	memcpy(algo_params, algo->param_defaults, algo->params_size);
	*source_params = fr_source_param_defaults;
	fr_params_parse(params, algo->name, algo->param_specs, algo_params,
					fr_source_param_specs, source_params);
}

/* Refuse data the algorithm cannot learn from, saying what was wrong. */
static void
check_training_data(const FrAlgorithm *algo, const FrTrainData *data,
					const FrSourceStats *stats)
{
	if (stats->null_ids > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source has %lld rows with a NULL user or item id",
						(long long) stats->null_ids),
				 errhint("Filter them out in the source query (WHERE user_id IS NOT NULL AND item_id IS NOT NULL).")));
	if (stats->null_weights > 0 || stats->nonfinite_weights > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source has %lld NULL and %lld NaN or infinite weights",
						(long long) stats->null_weights, (long long) stats->nonfinite_weights),
				 errhint("Run fashionrec.validate() on the source to see the report.")));
	if (stats->negative_weights > 0 && !algo->allows_negative_weights)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source has %lld negative weights, which algorithm \"%s\" cannot use",
						(long long) stats->negative_weights, algo->name),
				 errhint("Implicit-feedback algorithms need weights >= 0; use \"mf\" for signed ratings.")));
	if (data->ui.nnz == 0 && algo->read_items == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("source has no usable interactions"),
				 errdetail("%lld rows were read.", (long long) stats->rows),
				 errhint("Check the source query and min_user_interactions/min_item_interactions.")));
}

/* A content model without interactions: its items and no users. */
static void
empty_data(FrTrainData *data, FrSourceStats *stats, int64 *item_ids, int32 n_items)
{
	memset(data, 0, sizeof(*data));
	memset(stats, 0, sizeof(*stats));
	data->n_items = n_items;
	data->item_ids = item_ids;
	data->ui.ncols = n_items;
	data->ui.indptr = palloc0(sizeof(int64));
	data->ui.indices = palloc0(sizeof(int32));
	data->ui.values = palloc0(sizeof(float));
	fr_csr_transpose(&data->ui, &data->iu);
}

/* Artifacts every model has, whatever its algorithm. */
static void
store_common_artifacts(int64 model_id, const FrTrainData *data)
{
	float	   *popularity = palloc_extended(mul_size(Max(data->n_items, 1), sizeof(float)),
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	for (int32 i = 0; i < data->n_items; i++)
		for (int64 j = data->iu.indptr[i]; j < data->iu.indptr[i + 1]; j++)
			popularity[i] += data->iu.values[j];

	fr_artifact_put(model_id, "user_ids", FR_I64, data->n_users, 1, data->user_ids);
	fr_artifact_put(model_id, "item_ids", FR_I64, data->n_items, 1, data->item_ids);
	fr_artifact_put(model_id, "seen_indptr", FR_I64, (int64) data->n_users + 1, 1, data->ui.indptr);
	fr_artifact_put(model_id, "seen_indices", FR_I32, data->ui.nnz, 1, data->ui.indices);
	fr_artifact_put(model_id, "item_popularity", FR_F32, data->n_items, 1, popularity);
}

static void
push_int(JsonbParseState **st, const char *key, int64 value)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(value)));
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
push_text(JsonbParseState **st, const char *key, const char *value)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
	v.type = jbvString;
	v.val.string.val = (char *) value;
	v.val.string.len = strlen(value);
	pushJsonbValue(st, WJB_VALUE, &v);
}

/*
 * fashionrec._train_artifacts(model_id bigint, algorithm text, source text,
 *                             params jsonb) returns jsonb
 *
 * Returns the data fingerprint and the algorithm's facts as one jsonb object.
 */
PG_FUNCTION_INFO_V1(fashionrec_train_artifacts);
Datum
fashionrec_train_artifacts(PG_FUNCTION_ARGS)
{
	int64		model_id = PG_GETARG_INT64(0);
	char	   *algorithm = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Jsonb	   *params = PG_GETARG_JSONB_P(3);
	const FrAlgorithm *algo = fr_algorithm_lookup(algorithm, false);
	MemoryContext train_cxt,
				old;
	void	   *algo_params;
	FrSourceParams source_params;
	FrSourceStats stats;
	FrTrainData data;
	FrTrainJob	job = {0};
	JsonbParseState *result = NULL;
	JsonbValue *info;
	JsonbValue	k;
	Jsonb	   *out;
	double		started = fr_now();

	fr_require_own_training(model_id);
	fr_training_begin(model_id, algorithm);
	train_cxt = AllocSetContextCreate(CurrentMemoryContext, "fashionrec training",
									  ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(train_cxt);

	algo_params = palloc0(algo->params_size);
	parse_all_params(algo, params, algo_params, &source_params);

	if (source_params.context_column && !algo->uses_context)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("algorithm \"%s\" does not use \"context_column\"", algo->name),
				 errhint("Context columns are for \"popularity\" (popularity within a season, gender, ...) and \"hybrid\" (context signals).")));
	if (algo->read_items)
	{
		int64	   *universe;
		int32		n_universe;

		job.items = algo->read_items(source, algo_params, &universe, &n_universe);
		if (source_params.interactions)
			fr_source_read(source_params.interactions, &source_params, &data, &stats,
						   universe, n_universe);
		else
			empty_data(&data, &stats, universe, n_universe);
	}
	else
	{
		int64	   *catalog = NULL;
		int32		n_catalog = 0;

		if (source_params.interactions)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("algorithm \"%s\" reads interactions from its source; \"interactions\" is for content algorithms",
							algo->name)));
		if (algo->read_catalog)
			job.items = algo->read_catalog(algo_params, &catalog, &n_catalog);
		fr_source_read(source, &source_params, &data, &stats, n_catalog > 0 ? catalog : NULL, n_catalog);
	}
	check_training_data(algo, &data, &stats);
	ereport(NOTICE,
			(errmsg("read %lld rows: %d users, %d items, %lld interactions in %.1f s",
					(long long) stats.rows, data.n_users, data.n_items,
					(long long) data.ui.nnz, fr_now() - started)));

	if (algo->estimate_memory)
		fr_check_memory(algo->estimate_memory(&data, algo_params),
						psprintf("training \"%s\"", algo->name));

	fr_training_phase("training");
	job.model_id = model_id;
	job.algo = algo;
	job.data = &data;
	job.params = algo_params;
	job.has_context = source_params.context_column != NULL;
	job.context_column = source_params.context_column;
	/* an item-source algorithm's interactions carry its context */
	if (job.has_context && algo->read_items)
		job.source_query = source_params.interactions
			? fr_source_typed_query(source_params.interactions, &source_params) : NULL;
	else if (job.has_context)
		job.source_query = fr_source_typed_query(source, &source_params);
	pushJsonbValue(&job.info, WJB_BEGIN_OBJECT, NULL);
	algo->train(&job);
	fr_training_push_loss_history(&job.info);
	info = pushJsonbValue(&job.info, WJB_END_OBJECT, NULL);

	fr_training_phase("storing artifacts");
	store_common_artifacts(model_id, &data);

	/* the fingerprint: counts, checksum, and what the algorithm reported */
	MemoryContextSwitchTo(old);
	pushJsonbValue(&result, WJB_BEGIN_OBJECT, NULL);
	push_int(&result, "rows", stats.rows);
	push_int(&result, "users", data.n_users);
	push_int(&result, "items", data.n_items);
	push_int(&result, "interactions", data.ui.nnz);
	push_int(&result, "duplicate_pairs", stats.duplicate_pairs);
	push_int(&result, "dropped_users", stats.dropped_users);
	push_int(&result, "dropped_items", stats.dropped_items);
	push_text(&result, "checksum", psprintf("%016llx", (unsigned long long) fr_data_checksum(&data)));
	k.type = jbvString;
	k.val.string.val = "info";
	k.val.string.len = 4;
	pushJsonbValue(&result, WJB_KEY, &k);
	pushJsonbValue(&result, WJB_VALUE, info);
	out = JsonbValueToJsonb(pushJsonbValue(&result, WJB_END_OBJECT, NULL));

	MemoryContextDelete(train_cxt);
	fr_training_end();
	PG_RETURN_JSONB_P(out);
}

/*
 * fashionrec.validate(source text, params jsonb) returns table(check_name text,
 *     affected bigint, verdict text, detail text)
 */
PG_FUNCTION_INFO_V1(fashionrec_validate);
Datum
fashionrec_validate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *source;
	Jsonb	   *params;
	FrSourceParams source_params = fr_source_param_defaults;
	FrSourceStats stats;
	FrTrainData data;
	MemoryContext work,
				old;
	struct
	{
		const char *name;
		int64		count;
		const char *verdict;
		const char *detail;
	}			checks[12];
	int			n = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be NULL")));
	source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	params = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);

	InitMaterializedSRF(fcinfo, 0);

	work = AllocSetContextCreate(CurrentMemoryContext, "fashionrec validate",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	fr_params_parse(params, "validate", fr_source_param_specs, &source_params, NULL, NULL);
	fr_source_read(source, &source_params, &data, &stats, NULL, 0);

#define CHECK(nm, cnt, bad, dt) \
	(checks[n].name = (nm), checks[n].count = (cnt), \
	 checks[n].verdict = (cnt) > 0 ? (bad) : "ok", checks[n].detail = (dt), n++)

	checks[n].name = "rows";
	checks[n].count = stats.rows;
	checks[n].verdict = stats.rows > 0 ? "ok" : "error";
	checks[n].detail = stats.rows > 0 ? "rows read from the source" : "the source returned no rows";
	n++;
	CHECK("null_ids", stats.null_ids, "error", "rows with a NULL user or item id; train() refuses them");
	CHECK("null_weights", stats.null_weights, "error", "rows with a NULL weight; train() refuses them");
	CHECK("nonfinite_weights", stats.nonfinite_weights, "error", "NaN or infinite weights; train() refuses them");
	CHECK("negative_weights", stats.negative_weights, "warning", "negative weights: allowed for \"mf\" only");
	CHECK("duplicate_pairs", stats.duplicate_pairs, "info", "repeated (user, item) rows: their weights are summed");
	CHECK("future_times", stats.future_times, "warning", "times later than now");
	CHECK("null_times", stats.null_times, "warning", "NULL times: treated as the oldest");
	CHECK("users_below_min", stats.dropped_users, "info", "users under min_user_interactions: dropped");
	CHECK("items_below_min", stats.dropped_items, "info", "items under min_item_interactions: dropped");
	checks[n].name = "users";
	checks[n].count = data.n_users;
	checks[n].verdict = "info";
	checks[n].detail = "distinct users kept";
	n++;
	checks[n].name = "items";
	checks[n].count = data.n_items;
	checks[n].verdict = "info";
	checks[n].detail = "distinct items kept";
	n++;
#undef CHECK

	MemoryContextSwitchTo(old);
	for (int i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = CStringGetTextDatum(checks[i].name);
		values[1] = Int64GetDatum(checks[i].count);
		values[2] = CStringGetTextDatum(checks[i].verdict);
		values[3] = CStringGetTextDatum(checks[i].detail);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(work);
	return (Datum) 0;
}
