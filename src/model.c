/*
 * model.c — finding the version to serve, and the per-backend model cache.
 *
 * Which version serves is read from fashionrec.model on every call, under
 * the statement's snapshot: after a transaction that activates a version
 * commits, every session's next call sees it, with no invalidation message
 * needed.  What is cached is keyed by the model row's id, and a version's
 * artifacts never change after its training committed, so a cached entry can
 * never be stale — only unused, and the least recently used one is dropped
 * when the cache holds fashionrec.cache_models versions.
 *
 * The one exception is a model that reads a feature set live (the feature
 * store, src/sql/85_features.sql): its items are the trained ones plus the
 * feature rows written since.  The same lookup returns the sum of its
 * feature sets' generations, which every write to a set increases in commit
 * order; when it differs from the cached copy's, the model is loaded again
 * under the statement's snapshot.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "artifact_check.h"
#include "fashionrec.h"
#include "model.h"
#include "stats.h"

typedef struct CacheSlot
{
	FrModel    *model;
	uint64		last_used;
} CacheSlot;

static CacheSlot *cache = NULL;
static int	cache_len = 0;
static uint64 cache_clock = 0;
static SPIPlanPtr lookup_plan = NULL;

/*
 * The models being loaded, outermost first: a hybrid loads its components
 * while it loads.  Components are never hybrids, so a model met again here
 * was named by damaged pins, and loading it would recurse without end.
 */
#define MAX_LOAD_DEPTH 8
static int64 loading[MAX_LOAD_DEPTH];
static int	n_loading = 0;

/* ---- reading and checking artifacts ------------------------------------ */

typedef struct ArtifactRead
{
	const FrModel *model;
	const char *artifact;
} ArtifactRead;

/* the artifact reader knows the model's row id only: say which model it is */
static void
artifact_read_context(void *arg)
{
	const ArtifactRead *read = arg;

	errcontext("reading artifact \"%s\" of model \"%s\" version %d",
			   read->artifact, read->model->name, read->model->version);
}

void *
fr_model_artifact(const FrModel *model, const char *artifact, FrDtype dtype,
				  int64 *nrows, int32 *ncols, bool missing_ok)
{
	ArtifactRead read = {model, artifact};
	ErrorContextCallback callback;
	int64		rows = 0;
	int32		cols = 0;
	void	   *data;

	callback.callback = artifact_read_context;
	callback.arg = &read;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	data = fr_artifact_get(model->model_id, artifact, dtype, &rows, &cols, missing_ok);
	error_context_stack = callback.previous;

	if (data != NULL && ncols == NULL && cols != 1)
		fr_artifact_corrupt(model, artifact, "It has %d columns where a vector has 1.", cols);
	if (nrows)
		*nrows = rows;
	if (ncols)
		*ncols = cols;
	return data;
}

void
fr_artifact_corrupt(const FrModel *model, const char *artifact, const char *detail_fmt,...)
{
	char		detail[256];
	va_list		args;

	va_start(args, detail_fmt);
	vsnprintf(detail, sizeof(detail), detail_fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model \"%s\" version %d has a corrupt artifact \"%s\"",
					model->name, model->version, artifact),
			 errdetail_internal("%s", detail),
			 errhint("A damaged model is never served: train it again with fashionrec.train('%s', ...), or activate another version with fashionrec.activate('%s', version).",
					 model->name, model->name)));
}

void
fr_check_shape(const FrModel *model, const char *artifact, int64 nrows, int32 ncols,
			   int64 want_rows, int32 want_cols)
{
	if (want_cols >= 0 && ncols != want_cols)
		fr_artifact_corrupt(model, artifact, "It is %lld x %d where %lld x %d is expected.",
							(long long) nrows, ncols, (long long) want_rows, want_cols);
	if (nrows != want_rows)
		fr_artifact_corrupt(model, artifact, "It has %lld rows where %lld are expected.",
							(long long) nrows, (long long) want_rows);
}

void
fr_check_offsets(const FrModel *model, const char *artifact, const int64 *indptr,
				 int64 indptr_len, int64 n_rows, int64 nnz)
{
	FrArtifactFault fault;

	fr_check_shape(model, artifact, indptr_len, 1, n_rows + 1, -1);
	if (!fr_offsets_valid(indptr, n_rows, nnz, &fault))
		fr_artifact_corrupt(model, artifact, "%s", fault.detail);
}

void
fr_check_csr(const FrModel *model, const char *prefix, const int64 *indptr, int64 indptr_len,
			 int64 n_rows, const int32 *indices, int64 nnz, int32 n_cols)
{
	char	   *offsets = psprintf("%s_indptr", prefix);
	char	   *columns = psprintf("%s_indices", prefix);

	fr_check_offsets(model, offsets, indptr, indptr_len, n_rows, nnz);
	fr_check_index_array(model, columns, indices, nnz, 0, n_cols, false);
	pfree(offsets);
	pfree(columns);
}

void
fr_check_index_array(const FrModel *model, const char *artifact, const int32 *indices,
					 int64 n, int32 lo, int32 bound, bool ascending)
{
	FrArtifactFault fault;

	if (!fr_indices_valid(indices, n, lo, bound, ascending, &fault))
		fr_artifact_corrupt(model, artifact, "%s", fault.detail);
}

void
fr_check_ids(const FrModel *model, const char *artifact, const int64 *ids, int64 n)
{
	FrArtifactFault fault;

	/* a model indexes its users and items with int32 */
	if (n > PG_INT32_MAX - 1)
		fr_artifact_corrupt(model, artifact, "It has %lld ids, more than a model can index.",
							(long long) n);
	if (!fr_ids_ascending(ids, n, &fault))
		fr_artifact_corrupt(model, artifact, "%s", fault.detail);
}

void
fr_check_finite(const FrModel *model, const char *artifact, const float *values, int64 n)
{
	FrArtifactFault fault;

	if (!fr_floats_finite(values, n, &fault))
		fr_artifact_corrupt(model, artifact, "%s", fault.detail);
}

void
fr_check_finite_f64(const FrModel *model, const char *artifact, const double *values, int64 n)
{
	FrArtifactFault fault;

	if (!fr_doubles_finite(values, n, &fault))
		fr_artifact_corrupt(model, artifact, "%s", fault.detail);
}

void
fr_check_setting(const FrModel *model, const char *artifact, const char *setting,
				 double value, double lo, double hi, bool integral)
{
	if (!fr_setting_valid(value, lo, hi, integral))
		fr_artifact_corrupt(model, artifact, "Its \"%s\" is %g; it must be %s from %g to %g.",
							setting, value, integral ? "a whole number" : "a number", lo, hi);
}

/*
 * What every model stores (registry.c): the id maps, popularity and, with
 * with_seen, each user's training items.  Ids are binary-searched, so they
 * must ascend; "seen" indexes the item arrays of every serving call.
 */
static void
read_profile(FrModel *model, bool with_seen)
{
	int64		n,
				n_ptr,
				nnz;

	model->user_ids = fr_model_artifact(model, "user_ids", FR_I64, &n, NULL, false);
	fr_check_ids(model, "user_ids", model->user_ids, n);
	model->n_users = (int32) n;
	model->item_ids = fr_model_artifact(model, "item_ids", FR_I64, &n, NULL, false);
	fr_check_ids(model, "item_ids", model->item_ids, n);
	model->n_items = (int32) n;
	if (with_seen)
	{
		model->seen_indptr = fr_model_artifact(model, "seen_indptr", FR_I64, &n_ptr, NULL, false);
		model->seen_indices = fr_model_artifact(model, "seen_indices", FR_I32, &nnz, NULL, false);
		fr_check_csr(model, "seen", model->seen_indptr, n_ptr, model->n_users,
					 model->seen_indices, nnz, model->n_items);
	}
	/* scores, where NaN means "never recommend": only the length matters */
	model->item_popularity = fr_model_artifact(model, "item_popularity", FR_F32, &n, NULL, false);
	fr_check_shape(model, "item_popularity", n, 1, model->n_items, 1);
}

/* Not a model that is being loaded already (see "loading" above). */
static void
check_not_loading(int64 model_id, const char *name, int32 version)
{
	for (int i = 0; i < n_loading; i++)
		if (loading[i] == model_id)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\" version %d needs itself to load", name, version),
					 errdetail("The components it names lead back to it."),
					 errhint("A damaged model is never served: train it again with fashionrec.train('%s', ...), or activate another version with fashionrec.activate('%s', version).",
							 name, name)));
	if (n_loading == MAX_LOAD_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" version %d is a component nested %d deep", name, version, n_loading),
				 errdetail("Only a hybrid names components, and they are never hybrids.")));
}

static FrModel *
load_model(int64 model_id, const char *name, int32 version, const char *algorithm,
		   int64 live_token, ArrayType *feature_sets)
{
	const FrAlgorithm *algo = fr_algorithm_lookup(algorithm, false);
	MemoryContext cxt;
	MemoryContext old;
	FrModel    *model;
	double		started = fr_now();

	fr_check_artifact_format(model_id, name, version);
	cxt = AllocSetContextCreate(TopMemoryContext, "fashionrec model", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	model = palloc0(sizeof(FrModel));

	model->model_id = model_id;
	model->version = version;
	strlcpy(model->name, name, NAMEDATALEN);
	model->algo = algo;
	model->cxt = cxt;
	model->live_token = live_token;
	if (feature_sets)
	{
		model->n_feature_sets = ArrayGetNItems(ARR_NDIM(feature_sets), ARR_DIMS(feature_sets));
		model->feature_sets = palloc(sizeof(int32) * Max(model->n_feature_sets, 1));
		memcpy(model->feature_sets, ARR_DATA_PTR(feature_sets), sizeof(int32) * model->n_feature_sets);
	}

	PG_TRY();
	{
		loading[n_loading++] = model_id;
		read_profile(model, true);
		model->state = algo->load ? algo->load(model) : NULL;
		n_loading--;
	}
	PG_CATCH();
	{
		n_loading--;
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	MemoryContextSwitchTo(old);
	model->load_ms = (fr_now() - started) * 1000.0;
	return model;
}

static void
cache_evict_to(int size)
{
	while (cache_len > size)
	{
		int			oldest = 0;

		for (int i = 1; i < cache_len; i++)
			if (cache[i].last_used < cache[oldest].last_used)
				oldest = i;
		MemoryContextDelete(cache[oldest].model->cxt);
		cache[oldest] = cache[--cache_len];
	}
}

static void
cache_remove(int64 model_id)
{
	for (int i = 0; i < cache_len; i++)
		if (cache[i].model->model_id == model_id)
		{
			MemoryContextDelete(cache[i].model->cxt);
			cache[i] = cache[--cache_len];
			return;
		}
}

static FrModel *
cache_get(int64 model_id)
{
	for (int i = 0; i < cache_len; i++)
		if (cache[i].model->model_id == model_id)
		{
			cache[i].last_used = ++cache_clock;
			return cache[i].model;
		}
	return NULL;
}

static void
cache_put(FrModel *model)
{
	if (cache == NULL)
		cache = MemoryContextAllocZero(TopMemoryContext, sizeof(CacheSlot) * 1000);
	cache_evict_to(Max(fr_cache_models - 1, 0));
	cache[cache_len].model = model;
	cache[cache_len].last_used = ++cache_clock;
	cache_len++;
}

/* No row: say whether the model, the version or an active version is missing. */
static void
report_missing(const char *name, int32 version, bool has_version)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		exists;

	SPI_execute_with_args("SELECT 1 FROM fashionrec.model WHERE name = $1 LIMIT 1",
						  1, argtypes, values, NULL, true, 1);
	exists = SPI_processed > 0;
	if (!exists)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Train it with fashionrec.train('%s', ...); SELECT * FROM fashionrec.models lists the models.", name)));
	if (has_version)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version),
				 errhint("SELECT * FROM fashionrec.models WHERE name = '%s' lists its versions.", name)));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("model \"%s\" has no active version", name),
			 errhint("Activate one with fashionrec.activate('%s', version).", name)));
}

FrModel *
fr_model_open(const char *name, int32 version)
{
	bool		has_version = version > 0;
	Datum		values[2];
	char		nulls[2] = {' ', has_version ? ' ' : 'n'};
	int64		model_id;
	int32		found_version;
	char	   *algorithm;
	int64		live_token;
	Datum		sets;
	ArrayType  *feature_sets;
	FrModel    *model;
	bool		isnull;
	MemoryContext caller = CurrentMemoryContext;

	fr_stats_open_begin();
	SPI_connect();
	if (lookup_plan == NULL)
	{
		Oid			argtypes[2] = {TEXTOID, INT4OID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT m.id, m.version, m.algorithm, s.token, s.sets"
						   "  FROM fashionrec.model m,"
						   "  LATERAL (SELECT pg_catalog.sum(fs.generation)::int8 AS token,"
						   "                  pg_catalog.array_agg(f.id::int4) AS sets"
						   "             FROM pg_catalog.jsonb_array_elements_text("
						   "                      CASE WHEN pg_catalog.jsonb_typeof(m.info -> 'feature_sets') = 'array'"
						   "                           THEN m.info -> 'feature_sets' END) AS f(id)"
						   "             LEFT JOIN fashionrec.feature_set fs ON fs.id = f.id::int4) s"
						   " WHERE m.name = $1 AND m.status <> 'training'"
						   "   AND CASE WHEN $2 IS NULL THEN m.active ELSE m.version = $2 END",
						   2, argtypes);

		if (plan == NULL)
			elog(ERROR, "could not prepare model lookup: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		lookup_plan = plan;
	}
	values[0] = CStringGetTextDatum(name);
	values[1] = Int32GetDatum(version);
	if (SPI_execute_plan(lookup_plan, values, nulls, true, 2) != SPI_OK_SELECT)
		elog(ERROR, "model lookup failed");
	if (SPI_processed == 0)
		report_missing(name, version, has_version);

	model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	found_version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	algorithm = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
	live_token = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	if (isnull)
		live_token = -1;
	sets = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull);
	feature_sets = isnull ? NULL : DatumGetArrayTypeP(sets);

	model = cache_get(model_id);
	if (model != NULL && model->live_token != live_token)
	{
		cache_remove(model_id);
		model = NULL;
	}
	if (model == NULL)
	{
		check_not_loading(model_id, name, found_version);
		model = load_model(model_id, name, found_version, algorithm, live_token, feature_sets);
		cache_put(model);
		fr_stats_note_model(model, true);
	}
	else
		fr_stats_note_model(model, false);
	SPI_finish();
	return model;
}

FrModel *
fr_model_open_profile(int64 model_id, bool with_seen)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};
	MemoryContext caller = CurrentMemoryContext;
	FrModel    *model = palloc0(sizeof(FrModel));
	bool		isnull;

	SPI_connect();
	if (SPI_execute_with_args("SELECT name, version FROM fashionrec.model WHERE id = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "model lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model row %lld does not exist", (long long) model_id)));
	strlcpy(model->name, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), NAMEDATALEN);
	model->version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();

	model->model_id = model_id;
	model->cxt = caller;
	fr_check_artifact_format(model_id, model->name, model->version);
	read_profile(model, with_seen);
	return model;
}

int32
fr_model_user_index(const FrModel *model, int64 user_id)
{
	return (int32) fr_find_id(model->user_ids, model->n_users, user_id);
}

int32
fr_model_item_index(const FrModel *model, int64 item_id)
{
	return (int32) fr_find_id(model->item_ids, model->n_items, item_id);
}

/*
 * Replace the model's items with item_ids[n_items] (ascending), where
 * old_to_new[i] is the new index of old item i or -1 if it is gone: the
 * "seen" lists drop the gone items, popularity follows, new items have none.
 * For algorithms whose load() adds live items (features, hybrid); their own
 * state must follow the same map.  Allocates in CurrentMemoryContext.
 */
void
fr_model_remap_items(FrModel *model, int64 *item_ids, int32 n_items, const int32 *old_to_new)
{
	int64	   *indptr = palloc(sizeof(int64) * ((Size) model->n_users + 1));
	int32	   *indices = palloc_extended(mul_size(Max(model->seen_indptr[model->n_users], 1),
												   sizeof(int32)), MCXT_ALLOC_HUGE);
	float	   *popularity = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)),
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	int64		nnz = 0;

	indptr[0] = 0;
	for (int32 u = 0; u < model->n_users; u++)
	{
		for (int64 p = model->seen_indptr[u]; p < model->seen_indptr[u + 1]; p++)
			if (old_to_new[model->seen_indices[p]] >= 0)
				indices[nnz++] = old_to_new[model->seen_indices[p]];
		indptr[u + 1] = nnz;
	}
	for (int32 i = 0; i < model->n_items; i++)
		if (old_to_new[i] >= 0)
			popularity[old_to_new[i]] = model->item_popularity[i];
	model->seen_indptr = indptr;
	model->seen_indices = indices;
	model->item_popularity = popularity;
	model->item_ids = item_ids;
	model->n_items = n_items;
}

/*
 * fashionrec.cache_info() returns table(model_id bigint, name text, version int,
 *     algorithm text, load_ms float8): what this backend holds.
 */
PG_FUNCTION_INFO_V1(fashionrec_cache_info);
Datum
fashionrec_cache_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < cache_len; i++)
	{
		FrModel    *m = cache[i].model;
		Datum		values[5];
		bool		nulls[5] = {0};

		values[0] = Int64GetDatum(m->model_id);
		values[1] = CStringGetTextDatum(m->name);
		values[2] = Int32GetDatum(m->version);
		values[3] = CStringGetTextDatum(m->algo->name);
		values[4] = Float8GetDatum(m->load_ms);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
