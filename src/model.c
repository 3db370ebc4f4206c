/*
 * model.c — finding the version to serve, and the per-backend model cache.
 *
 * Which version serves is read from fashionrec.model on every call, under
 * the statement's snapshot: after a transaction that activates a version
 * commits, every session's next call sees it, with no invalidation message
 * needed.  It is read through the table's unique indexes rather than a
 * query, and so is a user's refreshed history: a query is parsed and
 * planned again by every new backend, and that was most of a new
 * connection's first call besides its scoring pass once the version itself
 * came from the store (docs/benchmarks.md).
 * What is cached is keyed by the model row's id, and a version's artifacts
 * never change after its training committed, so a cached entry can never be
 * stale — only unused, and the least recently used one is dropped when the
 * cache holds fashionrec.cache_models versions.
 *
 * The one exception is a model that reads a feature set live (the feature
 * store, src/sql/85_features.sql): its items are the trained ones plus the
 * feature rows written since.  The same lookup returns the sum of its
 * feature sets' generations, which every write to a set increases in commit
 * order; when it differs from the cached copy's, the model is loaded again
 * under the statement's snapshot.
 *
 * Preloaded, the versions themselves live in the shared model store
 * (store.c): the private cache then holds, per version, a mapping and the
 * loader's small structs, and one backend per server loads each version.
 * The loading backend records every array its loader keeps; each other
 * backend runs the loader in attach mode, where artifact reads return the
 * mapping's arrays (fr_model_share_read) and derived arrays come from
 * fr_model_derived() instead of being built again.
 */
#include "postgres.h"

#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ann.h"
#include "artifact_check.h"
#include "fashionrec.h"
#include "linalg.h"
#include "model.h"
#include "scratch.h"
#include "stats.h"
#include "store.h"

typedef struct CacheSlot
{
	FrModel    *model;
	uint64		last_used;
} CacheSlot;

/* How a load treats the arrays it reads and keeps. */
typedef enum ShareMode
{
	SHARE_PRIVATE,				/* a private copy: nothing recorded */
	SHARE_RECORD,				/* loading for the store: record what the loader keeps */
	SHARE_ATTACH				/* attaching: arrays come from the mapping */
} ShareMode;

typedef struct FrModelShare
{
	ShareMode	mode;
	int64		model_id;
	FrStoreArray *arrays;		/* SHARE_RECORD */
	int			n_arrays;
	int			cap;
	FrStoreRef *ref;			/* SHARE_ATTACH */
	struct FrModelShare *outer; /* the load this one is nested in (a hybrid's component) */
} FrModelShare;

/* the innermost load in progress, for artifact.c's reads */
static FrModelShare *loading_share = NULL;

static CacheSlot *cache = NULL;
static int	cache_len = 0;
static uint64 cache_clock = 0;
static SPIPlanPtr token_plan = NULL;

/*
 * fashionrec.model and fashionrec.user_refresh as every serving call reads
 * them (find_version, fr_model_refreshed): found by name once per backend.
 */
typedef struct ModelCatalog
{
	bool		valid;
	Oid			rel;
	Oid			by_version;		/* unique (name, version) */
	Oid			by_active;		/* unique (name) WHERE active */
	Oid			name_collation; /* the indexes' own: the scan key must compare as they do */
	AttrNumber	id,
				name,
				version,
				algorithm,
				status,
				active,
				info;
	Oid			refresh_rel;
	Oid			refresh_key;	/* primary key (model_id, user_id) */
	AttrNumber	r_model,
				r_user,
				r_items,
				r_weights;
} ModelCatalog;

static ModelCatalog model_catalog;

/* the row fr_model_open() serves */
typedef struct VersionRow
{
	int64		model_id;
	int32		version;
	char	   *algorithm;
	Jsonb	   *feature_sets;	/* info's "feature_sets" when it is an array, else NULL */
	int32		ann_build;		/* info's "ann"."build": build_ann() calls so far, 0 if none */
} VersionRow;

/*
 * A serving call over a large catalog allocates a score and a flag per item
 * (5 MB at 1M items), freed when its statement ends.  glibc keeps that
 * memory in the backend's heap for the next call (its mmap threshold rises
 * to the first large block freed), so each idle connection of a pool held
 * ~5 MB more than the shared model costs it (docs/benchmarks.md).  After a
 * transaction that served a model of at least FR_TRIM_ITEMS items, the
 * heap is given back; the next call faults its scratch in again, a few
 * percent of a scan of that many items.
 */
static bool trim_at_commit = false;

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
	/* attached: the loading backend checked these very bytes */
	if (fr_model_attaching(model))
		return;
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

	/* attached: the loading backend checked these very bytes */
	if (fr_model_attaching(model))
		return;

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

	/* attached: the loading backend checked these very bytes */
	if (fr_model_attaching(model))
		return;

	if (!fr_indices_valid(indices, n, lo, bound, ascending, &fault))
		fr_artifact_corrupt(model, artifact, "%s", fault.detail);
}

void
fr_check_ids(const FrModel *model, const char *artifact, const int64 *ids, int64 n)
{
	FrArtifactFault fault;

	/* attached: the loading backend checked these very bytes */
	if (fr_model_attaching(model))
		return;

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

	/* attached: the loading backend checked these very bytes */
	if (fr_model_attaching(model))
		return;

	if (!fr_floats_finite(values, n, &fault))
		fr_artifact_corrupt(model, artifact, "%s", fault.detail);
}

void
fr_check_finite_f64(const FrModel *model, const char *artifact, const double *values, int64 n)
{
	FrArtifactFault fault;

	/* attached: the loading backend checked these very bytes */
	if (fr_model_attaching(model))
		return;

	if (!fr_doubles_finite(values, n, &fault))
		fr_artifact_corrupt(model, artifact, "%s", fault.detail);
}

void
fr_check_setting(const FrModel *model, const char *artifact, const char *setting,
				 double value, double lo, double hi, bool integral)
{
	/* attached: the loading backend checked these very bytes */
	if (fr_model_attaching(model))
		return;
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


/* ---- recording and attaching arrays ------------------------------------- */

static FrModelShare *
share_of(int64 model_id)
{
	for (FrModelShare *s = loading_share; s != NULL; s = s->outer)
		if (s->model_id == model_id)
			return s;
	return NULL;
}

static void
record_array(FrModelShare *share, const char *name, FrDtype dtype, int64 nrows, int32 ncols,
			 const void *data)
{
	FrStoreArray *a = NULL;

	if (strlen(name) >= FR_STORE_NAME_LEN)
		elog(ERROR, "array name \"%s\" is too long for the model store", name);
	for (int i = 0; i < share->n_arrays; i++)
		if (strcmp(share->arrays[i].name, name) == 0)
			a = &share->arrays[i];
	if (a == NULL)
	{
		if (share->n_arrays == share->cap)
		{
			share->cap = Max(share->cap * 2, 16);
			share->arrays = share->arrays
				? repalloc(share->arrays, sizeof(FrStoreArray) * share->cap)
				: palloc(sizeof(FrStoreArray) * share->cap);
		}
		a = &share->arrays[share->n_arrays++];
	}
	memset(a, 0, sizeof(*a));
	strlcpy(a->name, name, FR_STORE_NAME_LEN);
	a->dtype = (char) dtype;
	a->absent = data == NULL;
	a->nrows = Max(nrows, 0);
	a->ncols = ncols;
	a->bytes = data ? mul_size(mul_size((Size) a->nrows, (Size) Max(ncols, 0)), fr_dtype_size(dtype)) : 0;
	a->data = data;
}

static const FrStoreArray *
attached_array(const FrModelShare *share, const char *name)
{
	const FrStoreArray *a = fr_store_array(share->ref, name);

	/* the loader asked for something its loading run did not keep: a loader bug */
	if (a == NULL)
		elog(ERROR, "model %lld: array \"%s\" is not in its shared copy",
			 (long long) share->model_id, name);
	return a;
}

bool
fr_model_share_read(int64 model_id, const char *name, FrDtype dtype,
					int64 *nrows, int32 *ncols, void **data)
{
	FrModelShare *share = share_of(model_id);
	const FrStoreArray *a;

	if (share == NULL || share->mode != SHARE_ATTACH)
		return false;
	a = attached_array(share, name);
	if (a->dtype != (char) dtype)
		elog(ERROR, "model %lld: array \"%s\" has another type in its shared copy",
			 (long long) model_id, name);
	if (nrows)
		*nrows = a->nrows;
	if (ncols)
		*ncols = a->ncols;
	*data = (void *) a->data;
	return true;
}

void
fr_model_share_note(int64 model_id, const char *name, FrDtype dtype,
					int64 nrows, int32 ncols, const void *data)
{
	FrModelShare *share = share_of(model_id);

	if (share != NULL && share->mode == SHARE_RECORD)
		record_array(share, name, dtype, nrows, ncols, data);
}

bool
fr_model_attaching(const FrModel *model)
{
	return model->share != NULL && model->share->mode == SHARE_ATTACH;
}

void *
fr_model_derived(const FrModel *model, const char *name, int64 *nrows, int32 *ncols)
{
	const FrStoreArray *a;

	if (!fr_model_attaching(model))
		return NULL;
	a = attached_array(model->share, name);
	if (nrows)
		*nrows = a->nrows;
	if (ncols)
		*ncols = a->ncols;
	return (void *) a->data;
}

void
fr_model_keep(FrModel *model, const char *name, FrDtype dtype, int64 nrows, int32 ncols,
			  const void *data)
{
	if (model->share != NULL && model->share->mode == SHARE_RECORD)
		record_array(model->share, name, dtype, nrows, ncols, data);
}

float *
fr_item_norms(FrModel *model, const float *factors, int32 k)
{
	float	   *norms = fr_model_derived(model, "item_norms", NULL, NULL);

	if (norms != NULL)
		return norms;
	norms = palloc_extended(mul_size((size_t) model->n_items + 1, sizeof(float)), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < model->n_items; i++)
		norms[i] = fr_snrm2(k, factors + (size_t) i * k);
	fr_model_keep(model, "item_norms", FR_F32, model->n_items, 1, norms);
	return norms;
}

void
fr_item_cosines(const FrModel *model, const float *factors, int32 k, const float *norms,
				int32 item, float *scores)
{
	float		norm = norms[item];

	fr_sgemv(false, model->n_items, k, 1.0f, factors, k, factors + (size_t) item * k, 0.0f, scores);
	for (int32 i = 0; i < model->n_items; i++)
	{
		float		d = norm * norms[i];

		scores[i] = d > 0 ? scores[i] / d : NAN;
	}
}

/*
 * What the serving path reads from FrModel itself, as it is after the
 * loader: a loader that adds live items (features, hybrid) replaced these.
 */
static void
keep_profile(FrModel *model)
{
	fr_model_keep(model, "user_ids", FR_I64, model->n_users, 1, model->user_ids);
	fr_model_keep(model, "item_ids", FR_I64, model->n_items, 1, model->item_ids);
	fr_model_keep(model, "seen_indptr", FR_I64, (int64) model->n_users + 1, 1, model->seen_indptr);
	fr_model_keep(model, "seen_indices", FR_I32, model->seen_indptr[model->n_users], 1,
				  model->seen_indices);
	fr_model_keep(model, "item_popularity", FR_F32, model->n_items, 1, model->item_popularity);
}

/* ---- loading ------------------------------------------------------------- */

/*
 * Load a version: privately, recording for the store, or attached to the
 * store's copy (ref).  Returns the model in its own memory context.
 */
static FrModel *
load_model(int64 model_id, const char *name, int32 version, const char *algorithm,
		   int64 live_token, int32 ann_build, ArrayType *feature_sets, ShareMode mode,
		   FrStoreRef *ref)
{
	const FrAlgorithm *algo = fr_algorithm_lookup(algorithm, false);
	MemoryContext cxt;
	MemoryContext old;
	FrModel    *model;
	FrModelShare *share;
	double		started = fr_now();

	/* attached: the loading backend checked the version's format */
	if (mode != SHARE_ATTACH)
		fr_check_artifact_format(model_id, name, version);
	/* attached, only the loader's small structs live here: a few KB per backend */
	cxt = mode == SHARE_ATTACH
		? AllocSetContextCreate(TopMemoryContext, "fashionrec model", ALLOCSET_SMALL_SIZES)
		: AllocSetContextCreate(TopMemoryContext, "fashionrec model", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	model = palloc0(sizeof(FrModel));
	share = palloc0(sizeof(FrModelShare));
	share->mode = mode;
	share->model_id = model_id;
	share->ref = ref;
	share->outer = loading_share;
	model->share = share;

	model->model_id = model_id;
	model->version = version;
	strlcpy(model->name, name, NAMEDATALEN);
	model->algo = algo;
	model->cxt = cxt;
	model->live_token = live_token;
	model->ann_build = ann_build;
	if (feature_sets)
	{
		model->n_feature_sets = ArrayGetNItems(ARR_NDIM(feature_sets), ARR_DIMS(feature_sets));
		model->feature_sets = palloc(sizeof(int32) * Max(model->n_feature_sets, 1));
		memcpy(model->feature_sets, ARR_DATA_PTR(feature_sets), sizeof(int32) * model->n_feature_sets);
	}

	PG_TRY();
	{
		loading_share = share;
		loading[n_loading++] = model_id;
		read_profile(model, true);
		model->state = algo->load ? algo->load(model) : NULL;
		if (ann_build > 0)
			model->ann = fr_ann_load(model);
		keep_profile(model);
		n_loading--;
		loading_share = share->outer;
	}
	PG_CATCH();
	{
		n_loading--;
		loading_share = share->outer;
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	MemoryContextSwitchTo(old);
	model->load_ms = (fr_now() - started) * 1000.0;
	model->loaded_at = GetCurrentTimestamp();
	return model;
}

/* The loader run against the store's copy; ref belongs to the model from here. */
static FrModel *
attach_model(int64 model_id, const char *name, int32 version, const char *algorithm,
			 int64 live_token, int32 ann_build, ArrayType *feature_sets, FrStoreRef *ref)
{
	FrModel    *model;

	PG_TRY();
	{
		model = load_model(model_id, name, version, algorithm, live_token, ann_build, feature_sets,
						   SHARE_ATTACH, ref);
	}
	PG_CATCH();
	{
		fr_store_detach(ref);
		PG_RE_THROW();
	}
	PG_END_TRY();
	model->store = ref;
	model->share = NULL;
	return model;
}

/*
 * A version not in this backend's cache: attach to the store's copy, or
 * load it — into the store when this backend is the first to need it.
 */
static FrModel *
open_version(int64 model_id, const char *name, int32 version, const char *algorithm,
			 int64 live_token, int32 ann_build, ArrayType *feature_sets, FrStatsOpen *how)
{
	FrStoreRef *ref;
	FrModel    *volatile model = NULL;
	FrStoreRef *volatile published = NULL;
	double		load_ms;

	/*
	 * A copy built before build_ann() added the index must not be attached
	 * to as if it had it: the build count goes into the store's token, above
	 * any feature-set generation sum.
	 */
	int64		store_token = live_token + ((int64) ann_build << 48);

	switch (fr_store_claim(model_id, store_token, name, version, &ref))
	{
		case FR_STORE_OFF:
		case FR_STORE_TOO_BIG:
			*how = FR_OPEN_LOADED;
			model = load_model(model_id, name, version, algorithm, live_token, ann_build,
							   feature_sets, SHARE_PRIVATE, NULL);
			model->share = NULL;
			return model;
		case FR_STORE_ATTACHED:
			*how = FR_OPEN_ATTACHED;
			return attach_model(model_id, name, version, algorithm, live_token, ann_build,
								feature_sets, ref);
		case FR_STORE_LOAD:
			break;
	}

	/* this backend loads it: privately first, recording what the loader keeps */
	PG_TRY();
	{
		FrStoreRef *r;

		model = load_model(model_id, name, version, algorithm, live_token, ann_build,
						   feature_sets, SHARE_RECORD, NULL);
		if (fr_store_publish(model->share->arrays, model->share->n_arrays, model->load_ms, &r))
			published = r;
	}
	PG_CATCH();
	{
		/* nothing half-built stays in the store: waiters load it themselves */
		fr_store_abandon(model_id, store_token);
		if (model != NULL)
			MemoryContextDelete(model->cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (published == NULL)
	{
		/* too big for the store (a NOTICE said so): serve the private copy */
		*how = FR_OPEN_LOADED;
		model->share = NULL;
		return model;
	}
	/* the private copy goes; this backend maps the shared one like every other */
	load_ms = model->load_ms;
	MemoryContextDelete(model->cxt);
	*how = FR_OPEN_LOADED_SHARED;
	model = attach_model(model_id, name, version, algorithm, live_token, ann_build, feature_sets,
						 published);
	model->load_ms = load_ms;
	return model;
}

static void
drop_model(FrModel *model)
{
	if (model->store)
		fr_store_detach(model->store);
	MemoryContextDelete(model->cxt);
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
		drop_model(cache[oldest].model);
		cache[oldest] = cache[--cache_len];
	}
}

static void
cache_remove(int64 model_id)
{
	for (int i = 0; i < cache_len; i++)
		if (cache[i].model->model_id == model_id)
		{
			drop_model(cache[i].model);
			cache[i] = cache[--cache_len];
			return;
		}
}

/*
 * Versions evicted from the store stay mapped here until let go: at each
 * open after an eviction, so that their memory returns to the system.
 */
static void
cache_drop_evicted(void)
{
	for (int i = 0; i < cache_len;)
	{
		FrModel    *m = cache[i].model;

		if (m->store && !fr_store_current(m->store))
		{
			drop_model(m);
			cache[i] = cache[--cache_len];
		}
		else
			i++;
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

static void
model_catalog_invalidate(Datum arg, Oid relid)
{
	ModelCatalog *c = &model_catalog;

	if (relid == InvalidOid || relid == c->rel || relid == c->by_version || relid == c->by_active ||
		relid == c->refresh_rel || relid == c->refresh_key)
		c->valid = false;
}

static Oid
model_relid(Oid nsp, const char *name)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "relation " FR_SCHEMA ".%s does not exist", name);
	return relid;
}

static AttrNumber
model_attnum(Oid relid, const char *column)
{
	AttrNumber	attnum = get_attnum(relid, column);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column %s of %s does not exist", column, get_rel_name(relid));
	return attnum;
}

static ModelCatalog *
model_catalog_get(void)
{
	static bool registered = false;
	ModelCatalog *c = &model_catalog;
	Oid			nsp;
	Oid			previous;
	Relation	idx;

	if (c->valid)
		return c;
	if (!registered)
	{
		CacheRegisterRelcacheCallback(model_catalog_invalidate, (Datum) 0);
		registered = true;
	}
	nsp = get_namespace_oid(FR_SCHEMA, false);
	previous = c->rel;
	c->rel = model_relid(nsp, "model");
	/* the extension was dropped and made again: its model ids start over */
	if (OidIsValid(previous) && previous != c->rel)
		cache_evict_to(0);
	c->by_version = model_relid(nsp, "model_name_version_key");
	c->by_active = model_relid(nsp, "model_one_active");
	c->refresh_rel = model_relid(nsp, "user_refresh");
	c->refresh_key = model_relid(nsp, "user_refresh_pkey");
	{
		const struct
		{
			AttrNumber *attnum;
			Oid			relid;
			const char *column;
		}			columns[] = {
			{&c->id, c->rel, "id"}, {&c->name, c->rel, "name"}, {&c->version, c->rel, "version"},
			{&c->algorithm, c->rel, "algorithm"}, {&c->status, c->rel, "status"},
			{&c->active, c->rel, "active"}, {&c->info, c->rel, "info"},
			{&c->r_model, c->refresh_rel, "model_id"}, {&c->r_user, c->refresh_rel, "user_id"},
			{&c->r_items, c->refresh_rel, "item_ids"}, {&c->r_weights, c->refresh_rel, "weights"},
		};

		for (int i = 0; i < lengthof(columns); i++)
			*columns[i].attnum = model_attnum(columns[i].relid, columns[i].column);
	}
	/* both indexes lead with name in its column's collation; the active one is the one served */
	idx = index_open(c->by_active, AccessShareLock);
	c->name_collation = idx->rd_indcollation[0];
	index_close(idx, AccessShareLock);
	c->valid = true;
	return c;
}

/* fashionrec.model's oid: with a row's id, what names a version across re-creations of the extension */
Oid
fr_model_catalog_relid(void)
{
	return model_catalog_get()->rel;
}

/* a query would check the caller's right to read the table: so does a read by index */
static Relation
open_readable(Oid relid)
{
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(relid));
	return table_open(relid, AccessShareLock);
}

/* info's "feature_sets" when it is a jsonb array (a model that reads feature sets live) */
static Jsonb *
info_feature_sets(Datum info)
{
	Jsonb	   *jb = DatumGetJsonbP(info);
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(jb))
		return NULL;
	v = getKeyJsonValueFromContainer(&jb->root, "feature_sets", strlen("feature_sets"), NULL);
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		return NULL;
	return JsonbValueToJsonb(v);
}

/*
 * How many times build_ann() has (re)built the version's index: part of the
 * cache and store keys, so a rebuilt index reaches every backend.
 */
static int32
info_ann_build(Datum info)
{
	Jsonb	   *jb = DatumGetJsonbP(info);
	JsonbValue *ann;
	JsonbValue *build;

	if (!JB_ROOT_IS_OBJECT(jb))
		return 0;
	ann = getKeyJsonValueFromContainer(&jb->root, "ann", strlen("ann"), NULL);
	if (ann == NULL || ann->type != jbvBinary || !JsonContainerIsObject(ann->val.binary.data))
		return 0;
	build = getKeyJsonValueFromContainer(ann->val.binary.data, "build", strlen("build"), NULL);
	if (build == NULL || build->type != jbvNumeric)
		return 0;
	return DatumGetInt32(DirectFunctionCall1(numeric_int4, NumericGetDatum(build->val.numeric)));
}

/*
 * The row of name's given version (version > 0) or of its active one,
 * trained (not 'training'), under the statement's snapshot; false when there
 * is none.
 */
static bool
find_version(const char *name, int32 version, VersionRow *row)
{
	ModelCatalog *c = model_catalog_get();
	Relation	rel = open_readable(c->rel);
	TupleDesc	td = RelationGetDescr(rel);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&keys[0], c->name, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(name));
	keys[0].sk_collation = c->name_collation;
	ScanKeyInit(&keys[1], c->version, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(version));
	scan = systable_beginscan(rel, version > 0 ? c->by_version : c->by_active, true,
							  GetActiveSnapshot(), version > 0 ? 2 : 1, keys);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		char	   *status = TextDatumGetCString(heap_getattr(tup, c->status, td, &isnull));
		Datum		info;

		/* the active index is partial: the row still says so (a heap scan when indexes are ignored) */
		if (strcmp(status, "training") == 0 ||
			(version <= 0 && !DatumGetBool(heap_getattr(tup, c->active, td, &isnull))))
			continue;
		row->model_id = DatumGetInt64(heap_getattr(tup, c->id, td, &isnull));
		row->version = DatumGetInt32(heap_getattr(tup, c->version, td, &isnull));
		row->algorithm = TextDatumGetCString(heap_getattr(tup, c->algorithm, td, &isnull));
		info = heap_getattr(tup, c->info, td, &isnull);
		row->feature_sets = isnull ? NULL : info_feature_sets(info);
		row->ann_build = isnull ? 0 : info_ann_build(info);
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

bool
fr_model_refreshed(const FrModel *model, int64 user_id, ArrayType **item_ids, ArrayType **weights)
{
	ModelCatalog *c = model_catalog_get();
	Relation	rel = open_readable(c->refresh_rel);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;

	ScanKeyInit(&keys[0], c->r_model, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(model->model_id));
	ScanKeyInit(&keys[1], c->r_user, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(user_id));
	scan = systable_beginscan(rel, c->refresh_key, true, GetActiveSnapshot(), 2, keys);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;

		/* copied: the tuple goes with the scan */
		*item_ids = DatumGetArrayTypePCopy(heap_getattr(tup, c->r_items, RelationGetDescr(rel), &isnull));
		*weights = DatumGetArrayTypePCopy(heap_getattr(tup, c->r_weights, RelationGetDescr(rel), &isnull));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return HeapTupleIsValid(tup);
}

/* An error leaves the scratch allocated until cleanup: the next commit trims it. */
static void
trim_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_COMMIT || !trim_at_commit)
		return;
	trim_at_commit = false;
	fr_scratch_trim();
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void
trim_after_serving(const FrModel *model)
{
	static bool registered = false;

	if (model->n_items < FR_TRIM_ITEMS)
		return;
	if (!registered)
	{
		RegisterXactCallback(trim_xact_callback, NULL);
		registered = true;
	}
	trim_at_commit = true;
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

/*
 * The sum of the generations of the feature sets in sets_json (a jsonb array
 * of ids) under the statement's snapshot, and the ids (NULL without any);
 * -1 when none of them exists any more.
 */
static int64
feature_set_token(Datum sets_json, ArrayType **feature_sets)
{
	Datum		values[1] = {sets_json};
	Datum		d;
	bool		isnull;
	int64		token;

	if (token_plan == NULL)
	{
		Oid			argtypes[1] = {JSONBOID};
		SPIPlanPtr	plan = SPI_prepare("SELECT pg_catalog.sum(fs.generation)::int8,"
									   "       pg_catalog.array_agg(f.id::int4)"
									   "  FROM pg_catalog.jsonb_array_elements_text($1) AS f(id)"
									   "  LEFT JOIN fashionrec.feature_set fs ON fs.id = f.id::int4",
									   1, argtypes);

		if (plan == NULL)
			elog(ERROR, "could not prepare feature set lookup: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		token_plan = plan;
	}
	if (SPI_execute_plan(token_plan, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "feature set lookup failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	token = isnull ? -1 : DatumGetInt64(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*feature_sets = isnull ? NULL : DatumGetArrayTypeP(d);
	return token;
}

FrModel *
fr_model_open(const char *name, int32 version)
{
	VersionRow	row;
	int64		live_token;
	ArrayType  *feature_sets;
	FrModel    *model;

	fr_stats_open_begin();
	SPI_connect();
	if (!find_version(name, version, &row))
		report_missing(name, version, version > 0);
	live_token = -1;
	feature_sets = NULL;
	if (row.feature_sets != NULL)
		live_token = feature_set_token(JsonbPGetDatum(row.feature_sets), &feature_sets);

	if (fr_store_evictions_since_last())
		cache_drop_evicted();
	model = cache_get(row.model_id);
	/* a shared version counts as used (pinned) from here to the end of the transaction */
	if (model != NULL &&
		(model->live_token != live_token || model->ann_build != row.ann_build ||
		 (model->store && !fr_store_use(model->store))))
	{
		cache_remove(row.model_id);
		model = NULL;
	}
	if (model == NULL)
	{
		FrStatsOpen how;

		/* before any claim: a version that needs itself would wait for its own load */
		check_not_loading(row.model_id, name, row.version);
		model = open_version(row.model_id, name, row.version, row.algorithm, live_token, row.ann_build,
							 feature_sets, &how);
		cache_put(model);
		fr_stats_note_model(model, how);
	}
	else
	{
		model->hits++;
		fr_stats_note_model(model, FR_OPEN_CACHED);
	}
	trim_after_serving(model);
	SPI_finish();
	return model;
}

/* A model row's name, version and algorithm by its id, in the caller's context. */
static void
read_model_row(int64 model_id, char **name, int32 *version, char **algorithm)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};
	MemoryContext caller = CurrentMemoryContext;
	bool		isnull;

	SPI_connect();
	if (SPI_execute_with_args("SELECT name, version, algorithm FROM fashionrec.model WHERE id = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "model lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model row %lld does not exist", (long long) model_id)));
	*name = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	*version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*algorithm = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
	SPI_finish();
}

FrModel *
fr_model_open_profile(int64 model_id, bool with_seen)
{
	FrModel    *model = palloc0(sizeof(FrModel));
	char	   *name;
	char	   *algorithm;

	read_model_row(model_id, &name, &model->version, &algorithm);
	strlcpy(model->name, name, NAMEDATALEN);
	model->model_id = model_id;
	model->cxt = CurrentMemoryContext;
	fr_check_artifact_format(model_id, model->name, model->version);
	read_profile(model, with_seen);
	return model;
}

FrModel *
fr_model_open_private(int64 model_id)
{
	char	   *name;
	char	   *algorithm;
	int32		version;
	FrModel    *model;

	read_model_row(model_id, &name, &version, &algorithm);
	model = load_model(model_id, name, version, algorithm, -1, 0, NULL, SHARE_PRIVATE, NULL);
	model->share = NULL;
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
 * Add user_ids[n_users] (ascending, none the model's already) as users with
 * no training items: their "seen" lists are empty.  origin[] (the new
 * n_users entries) receives, per user, its old index or -1 - its index in
 * user_ids.  For algorithms whose load() serves users the interactions
 * never saw (featurefm's customers known by their features); their own
 * state must follow the same map.  Allocates in CurrentMemoryContext.
 */
void
fr_model_add_users(FrModel *model, const int64 *user_ids, int32 n_users, int32 *origin)
{
	int32		n = model->n_users + n_users;
	int64	   *ids = palloc_extended(mul_size(Max(n, 1), sizeof(int64)), MCXT_ALLOC_HUGE);
	int64	   *indptr = palloc_extended(mul_size((Size) n + 1, sizeof(int64)), MCXT_ALLOC_HUGE);
	int32		i = 0,
				j = 0;

	indptr[0] = 0;
	for (int32 u = 0; u < n; u++)
	{
		bool		old = j >= n_users || (i < model->n_users && model->user_ids[i] < user_ids[j]);

		ids[u] = old ? model->user_ids[i] : user_ids[j];
		origin[u] = old ? i : -1 - j;
		indptr[u + 1] = old ? indptr[u] + model->seen_indptr[i + 1] - model->seen_indptr[i] : indptr[u];
		if (old)
			i++;
		else
			j++;
	}
	/* the seen items keep their order: only the row offsets move */
	model->user_ids = ids;
	model->n_users = n;
	model->seen_indptr = indptr;
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

#define MODEL_CACHE_COLS 9

/*
 * fashionrec._model_cache() returns table(model_id bigint, name text,
 *     version int, bytes bigint, "where" text, loaded_at timestamptz,
 *     load_ms float8, hits bigint, backends int): this database's versions
 * in the shared store, and the private copies this backend holds.
 */
PG_FUNCTION_INFO_V1(fashionrec_model_cache);
Datum
fashionrec_model_cache(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FrStoreInfo *info;
	int			n = fr_store_list(&info);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		Datum		values[MODEL_CACHE_COLS];
		bool		nulls[MODEL_CACHE_COLS] = {0};

		values[0] = Int64GetDatum(info[i].model_id);
		values[1] = CStringGetTextDatum(info[i].name);
		values[2] = Int32GetDatum(info[i].version);
		values[3] = Int64GetDatum((int64) info[i].bytes);
		values[4] = CStringGetTextDatum(info[i].state);
		values[5] = TimestampTzGetDatum(info[i].loaded_at);
		nulls[5] = info[i].loaded_at == 0;
		values[6] = Float8GetDatum(info[i].load_ms);
		values[7] = Int64GetDatum(info[i].hits);
		values[8] = Int32GetDatum(info[i].attached);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	for (int i = 0; i < cache_len; i++)
	{
		FrModel    *m = cache[i].model;
		Datum		values[MODEL_CACHE_COLS];
		bool		nulls[MODEL_CACHE_COLS] = {0};

		if (m->store != NULL)
			continue;			/* the store's row above counts it */
		values[0] = Int64GetDatum(m->model_id);
		values[1] = CStringGetTextDatum(m->name);
		values[2] = Int32GetDatum(m->version);
		values[3] = Int64GetDatum((int64) MemoryContextMemAllocated(m->cxt, true));
		values[4] = CStringGetTextDatum("private");
		values[5] = TimestampTzGetDatum(m->loaded_at);
		values[6] = Float8GetDatum(m->load_ms);
		values[7] = Int64GetDatum(m->hits);
		values[8] = Int32GetDatum(1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * fashionrec._model_cache_drop(model_id bigint) returns int: evicts the
 * model row's versions from the shared store (and this backend's cache);
 * the number of store entries dropped.  Backends serving it keep their
 * mapping until their statement ends, then load it again when asked.
 */
PG_FUNCTION_INFO_V1(fashionrec_model_cache_drop);
Datum
fashionrec_model_cache_drop(PG_FUNCTION_ARGS)
{
	int64		model_id = PG_GETARG_INT64(0);

	cache_remove(model_id);
	PG_RETURN_INT32(fr_store_drop(model_id));
}
