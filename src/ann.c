/*
 * ann.c — approximate top-k: a version's IVF index (ivf.c) built from its
 * item vectors, stored as artifacts, checked and loaded with the model, and
 * searched by recommend(), similar_items() and recommend_for_items().
 *
 * An index is built at training (train() calls _train_ann: on request with
 * "ann" in params, or when the catalog reaches fashionrec.ann_min_items) or
 * later by build_ann().  Versions are otherwise immutable, and a served
 * version is cached per backend and shared per server under its row id; so
 * build_ann() counts its builds in the version's info ("ann"."build"), and
 * model.c makes that count part of both keys: the next call of every
 * backend loads the version again, with the index, instead of serving a
 * copy without it.
 *
 * An index serves an algorithm whose scores are inner products with its
 * item embeddings (model.h, fold_in_vector): the factor models and the
 * embedding model.  Factor models are clustered by inner product, content
 * models (item-source algorithms) by cosine.
 */
#include "postgres.h"

#include <math.h>

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "ann.h"
#include "artifact_check.h"
#include "catalog.h"
#include "fashionrec.h"
#include "progress.h"

/* the k-means seed: an index is a function of the version and its lists */
#define ANN_SEED 20190

/*
 * "ann_settings": the metric the index was clustered by, then its calibrated
 * default probes, the sample's recall@10 at them and the target they were
 * calibrated to.  An index built before calibration has the metric only.
 */
enum
{
	ANN_SETTING_METRIC,
	ANN_SETTING_PROBES,
	ANN_SETTING_RECALL,
	ANN_SETTING_TARGET,
	ANN_N_SETTINGS
};

/* an index without calibrated probes: 0.3's first fixed default */
#define ANN_UNCALIBRATED_PROBES 64
/* the recall@10 a build calibrates its default probes to unless told */
#define ANN_DEFAULT_RECALL 0.98

int			fr_ann_probes = 0;
int			fr_ann_min_items = 200000;

void
fr_ann_init(void)
{
	DefineCustomIntVariable("fashionrec.ann_probes",
							"Lists of an approximate top-k index a query probes; 0: the index's calibrated default.",
							"0 (the default) probes as many lists as the index's build found for its recall target (64 for an index built before calibration); a positive value overrides that for every index, and a serving call's probes argument overrides both.",
							&fr_ann_probes,
							0, 0, FR_IVF_MAX_LISTS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("fashionrec.ann_min_items",
							"Catalog size from which a training builds an approximate top-k index.",
							"0 never builds one unless params ask with \"ann\".",
							&fr_ann_min_items,
							200000, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/* ---- loading ------------------------------------------------------------ */

FrAnn *
fr_ann_load(FrModel *model)
{
	const FrAlgorithm *algo = model->algo;
	FrAnn	   *ann = palloc0(sizeof(FrAnn));
	FrIvf	   *ivf = &ann->ivf;
	double	   *settings;
	int64		rows;
	int32		cols;
	int32		dim;
	int64		n_settings;

	if (algo->fold_in_vector == NULL || algo->embedding == NULL)
		fr_artifact_corrupt(model, "ann_settings",
							"Algorithm \"%s\" has no item vectors for an index to serve.", algo->name);
	dim = algo->embedding(model, false, 0, NULL);

	settings = fr_model_artifact(model, "ann_settings", FR_F64, &rows, NULL, false);
	fr_check_shape(model, "ann_settings", rows, 1, rows == 1 ? 1 : ANN_N_SETTINGS, 1);
	fr_check_setting(model, "ann_settings", "metric", settings[ANN_SETTING_METRIC],
					 FR_IVF_INNER_PRODUCT, FR_IVF_COSINE, true);
	n_settings = rows;

	ivf->centroids = fr_model_artifact(model, "ann_centroids", FR_F32, &rows, &cols, false);
	if (rows < 1 || rows > Min(model->n_items, FR_IVF_MAX_LISTS))
		fr_artifact_corrupt(model, "ann_centroids", "It has %lld lists for %d items.",
							(long long) rows, model->n_items);
	fr_check_shape(model, "ann_centroids", rows, cols, rows, dim);
	fr_check_finite(model, "ann_centroids", ivf->centroids, rows * dim);
	ivf->n_lists = (int32) rows;
	ann->probes = 0;
	if (n_settings == ANN_N_SETTINGS)
	{
		fr_check_setting(model, "ann_settings", "probes", settings[ANN_SETTING_PROBES],
						 1, ivf->n_lists, true);
		ann->probes = (int32) settings[ANN_SETTING_PROBES];
	}

	ivf->offsets = fr_model_artifact(model, "ann_offsets", FR_I64, &rows, NULL, false);
	fr_check_offsets(model, "ann_offsets", ivf->offsets, rows, ivf->n_lists, model->n_items);

	ivf->items = fr_model_artifact(model, "ann_items", FR_I32, &rows, NULL, false);
	fr_check_shape(model, "ann_items", rows, 1, model->n_items, 1);
	/* attached: the loading backend checked these very bytes */
	if (!fr_model_attaching(model))
	{
		FrArtifactFault fault;
		uint8	   *seen = palloc0(Max(model->n_items, 1));

		if (!fr_indices_permutation(ivf->items, rows, seen, &fault))
			fr_artifact_corrupt(model, "ann_items", "%s", fault.detail);
		pfree(seen);
	}

	ivf->vectors = fr_model_artifact(model, "ann_vectors", FR_F32, &rows, &cols, false);
	fr_check_shape(model, "ann_vectors", rows, cols, model->n_items, dim);
	fr_check_finite(model, "ann_vectors", ivf->vectors, rows * dim);
	ivf->norms = fr_model_artifact(model, "ann_norms", FR_F32, &rows, NULL, false);
	fr_check_shape(model, "ann_norms", rows, 1, model->n_items, 1);
	fr_check_finite(model, "ann_norms", ivf->norms, rows);

	ivf->dim = dim;
	ivf->n_items = model->n_items;
	ivf->metric = (FrIvfMetric) settings[ANN_SETTING_METRIC];
	ivf->max_list = fr_ivf_max_list(ivf->offsets, ivf->n_lists);
	return ann;
}

int
fr_ann_topk(const FrModel *model, const float *q, bool cosine, int probes,
			const uint8 *skip, int k, int32 *items, float *scores)
{
	const FrIvf *ivf = &model->ann->ivf;

	/* 0: neither the call nor the GUC chose */
	if (probes == 0)
		probes = model->ann->probes > 0 ? model->ann->probes : ANN_UNCALIBRATED_PROBES;
	return fr_ivf_search(ivf, q, cosine, Min(probes, ivf->n_lists), true, skip, k,
						 items, scores, NULL);
}

/* ---- building ----------------------------------------------------------- */

/* About 4 sqrt(n) lists: FAISS's low end, which keeps the probed share small. */
static int32
default_lists(int32 n_items)
{
	int32		lists = (int32) rint(4.0 * sqrt((double) n_items));

	return Max(1, Min(lists, Min(n_items, FR_IVF_MAX_LISTS)));
}

static void
check_lists(const FrModel *model, int32 lists)
{
	int32		most = Min(model->n_items, FR_IVF_MAX_LISTS);

	if (lists < 1 || lists > most)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lists must be from 1 to %d for model \"%s\" version %d, got %d",
						most, model->name, model->version, lists),
				 errdetail("The version has %d items, and an index has at most %d lists.",
						   model->n_items, FR_IVF_MAX_LISTS),
				 errhint("About 4 x sqrt(items) lists is a good start (%d here); leave lists out for that.",
						 default_lists(model->n_items))));
}

static void
check_indexable(const FrModel *model)
{
	if (model->algo->fold_in_vector == NULL || model->algo->embedding == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" cannot have an approximate top-k index",
						model->algo->name, model->name),
				 errdetail("Its scores are not inner products of item vectors."),
				 errhint("Approximate top-k serves models scored by inner products of item vectors "
						 "(als, svd, embedding); this model is always scored exactly.")));
	if (model->n_items < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" version %d has no items to index", model->name, model->version),
				 errhint("Train it on data with items first.")));
}

/* A recall target: above 0, at most 1. */
static void
check_recall(double recall)
{
	if (!(recall > 0 && recall <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recall must be above 0 and at most 1, got %g", recall),
				 errhint("recall is the mean recall@10 against the exact scan that the index's default "
						 "probes must reach on a sample of its items; leave it out for %.2f.",
						 ANN_DEFAULT_RECALL)));
}

/*
 * A factor model's recommend() searches with users' vectors, which sit
 * elsewhere than its items' and leave out what each user has seen (on an
 * ALS shop the customers' recall was a point under the items'), so its
 * probes are calibrated on users too: this many, evenly spaced over the
 * user index (a sample that needs no seed); 0 for a model without user
 * vectors.
 */
static int
calibration_users(const FrModel *model, int32 dim)
{
	if (model->n_users < 1 || model->algo->embedding(model, true, 0, NULL) != dim)
		return 0;
	return Min(model->n_users, FR_IVF_CALIBRATE_QUERIES);
}

static int32
calibration_user(const FrModel *model, int q, int n_sample)
{
	return (int32) ((int64) q * model->n_users / n_sample);
}

static int64
seen_count(const FrModel *model, int32 u)
{
	return model->seen_indptr ? model->seen_indptr[u + 1] - model->seen_indptr[u] : 0;
}

/*
 * Build the index of model_id with lists lists (0: the default), calibrate
 * its default probes to recall@10 `recall` (0: the default) and store its
 * artifacts, replacing an older index.  Returns the index's description for
 * the version's info, as jsonb text without the build count.
 */
static char *
build_index(int64 model_id, int32 lists, double recall)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "fashionrec ann build",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	FrModel    *model = fr_model_open_private(model_id);
	int32		n = model->n_items;
	int32		dim;
	size_t		vectors_size;
	float	   *x;
	FrIvf		ivf;
	FrIvfMetric metric;
	double		settings[ANN_N_SETTINGS];
	int			probes;
	double		sample_recall;
	double		user_recall;
	int			n_user_queries;
	int64		n_user_seen = 0;
	float	   *user_queries = NULL;
	int64	   *user_seen_indptr = NULL;
	int32	   *user_seen = NULL;
	double		calibrating;
	double		started = fr_now();
	char	   *description;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};
	FrCatalogWrite w;

	/* the private copy goes with the build's memory, on error too */
	MemoryContextSetParent(model->cxt, cxt);
	check_indexable(model);
	if (recall == 0)
		recall = ANN_DEFAULT_RECALL;
	check_recall(recall);
	if (lists == 0)
		lists = default_lists(n);
	check_lists(model, lists);
	dim = model->algo->embedding(model, false, 0, NULL);
	/*
	 * the vectors, their reordered copy, k-means' sample and (cosine) a unit
	 * copy; the centroids' sums and a 1 MB tile of assignment scores.  The
	 * calibration after them (5 bytes an item, 3 MB of exact scores) fits
	 * in what the freed sample and unit copy leave, but for 4 MB.
	 */
	vectors_size = mul_size(mul_size(n, dim), sizeof(float));
	n_user_queries = calibration_users(model, dim);
	for (int q = 0; q < n_user_queries; q++)
		n_user_seen += seen_count(model, calibration_user(model, q, n_user_queries));
	/*
	 * and each seen item of the users' sample: its copy, the calibration's
	 * sorted copy and an entry of its exact top k (heaps of k + seen)
	 */
	fr_check_memory(add_size(add_size(mul_size(4, vectors_size),
									  add_size(mul_size(mul_size(lists, dim), sizeof(double)),
											   (Size) 5 << 20)),
							 mul_size(n_user_seen, 16)),
					"building the ANN index");
	/* a k-means over the catalog can take minutes: watched in training_progress */
	fr_training_begin(model_id, model->algo->name);
	fr_training_phase("ann index");

	x = palloc_extended(vectors_size, MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < n; i++)
		model->algo->embedding(model, false, i, x + (size_t) i * dim);
	metric = model->algo->read_items ? FR_IVF_COSINE : FR_IVF_INNER_PRODUCT;
	fr_ivf_build(x, n, dim, lists, metric, ANN_SEED, &ivf);
	calibrating = fr_now();
	if (n_user_queries > 0)
	{
		user_queries = palloc(mul_size(mul_size(n_user_queries, dim), sizeof(float)));
		user_seen_indptr = palloc(mul_size(n_user_queries + 1, sizeof(int64)));
		user_seen = palloc_extended(mul_size(Max(n_user_seen, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
		user_seen_indptr[0] = 0;
		for (int q = 0; q < n_user_queries; q++)
		{
			int32		u = calibration_user(model, q, n_user_queries);
			int64		n_seen = seen_count(model, u);

			model->algo->embedding(model, true, u, user_queries + (size_t) q * dim);
			if (n_seen > 0)
				memcpy(user_seen + user_seen_indptr[q], model->seen_indices + model->seen_indptr[u],
					   n_seen * sizeof(int32));
			user_seen_indptr[q + 1] = user_seen_indptr[q] + n_seen;
		}
	}
	probes = fr_ivf_calibrate(&ivf, recall, FR_IVF_CALIBRATE_QUERIES, user_queries, user_seen_indptr,
							  user_seen, n_user_queries, ANN_SEED, &sample_recall, &user_recall);
	calibrating = fr_now() - calibrating;

	SPI_connect();
	fr_catalog_begin(&w);
	if (SPI_execute_with_args("DELETE FROM fashionrec.artifact"
							  " WHERE model_id = $1 AND name LIKE 'ann\\_%'",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not remove the old index of model row %lld", (long long) model_id);
	fr_catalog_end(&w);
	SPI_finish();
	settings[ANN_SETTING_METRIC] = metric;
	settings[ANN_SETTING_PROBES] = probes;
	settings[ANN_SETTING_RECALL] = Min(sample_recall, user_recall);
	settings[ANN_SETTING_TARGET] = recall;
	fr_artifact_put(model_id, "ann_settings", FR_F64, ANN_N_SETTINGS, 1, settings);
	fr_artifact_put(model_id, "ann_centroids", FR_F32, lists, dim, ivf.centroids);
	fr_artifact_put(model_id, "ann_offsets", FR_I64, (int64) lists + 1, 1, ivf.offsets);
	fr_artifact_put(model_id, "ann_items", FR_I32, n, 1, ivf.items);
	fr_artifact_put(model_id, "ann_vectors", FR_F32, n, dim, ivf.vectors);
	fr_artifact_put(model_id, "ann_norms", FR_F32, n, 1, ivf.norms);

	fr_training_end();
	ereport(NOTICE,
			(errmsg("ANN index of model \"%s\" version %d: %d lists over %d items in %.1f s",
					model->name, model->version, lists, n, fr_now() - started),
			 n_user_queries > 0 ?
			 errdetail("Default probes %d: recall@10 %.3f on %d sampled items, %.3f on %d users (target %.3f).",
					   probes, sample_recall, Min(n, FR_IVF_CALIBRATE_QUERIES), user_recall,
					   n_user_queries, recall) :
			 errdetail("Default probes %d: recall@10 %.3f on %d sampled items (target %.3f).",
					   probes, sample_recall, Min(n, FR_IVF_CALIBRATE_QUERIES), recall)));
	MemoryContextSwitchTo(old);
	description = psprintf("{\"lists\": %d, \"metric\": \"%s\", \"dimension\": %d, \"longest_list\": %d,"
						   " \"probes\": %d, \"recall\": %.4f, \"item_recall\": %.4f, %s\"recall_target\": %.4g,"
						   " \"calibration_seconds\": %.3f, \"seconds\": %.3f}",
						   lists, metric == FR_IVF_COSINE ? "cosine" : "inner_product", dim,
						   ivf.max_list, probes, Min(sample_recall, user_recall), sample_recall,
						   n_user_queries > 0 ? psprintf("\"user_recall\": %.4f, ", user_recall) : "",
						   recall, calibrating, fr_now() - started);
	MemoryContextDelete(cxt);
	return description;
}

static Jsonb *
jsonb_of(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

/* The lists and recall target in params' "ann" object: 0 for the defaults. */
static void
ann_params(Jsonb *ann, int32 *lists_out, double *recall_out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int32		lists = 0;

	if (!JB_ROOT_IS_OBJECT(ann))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameter \"ann\" must be an object"),
				 errhint("Write \"ann\": {\"lists\": 1000}, or \"ann\": {} for the default number of lists.")));
	it = JsonbIteratorInit(&ann->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		double		d = 0;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "lists") != 0 && strcmp(key, "recall") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%s\" in parameter \"ann\"", key),
					 errhint("\"ann\" takes \"lists\" and \"recall\" only.")));
		if (v.type == jbvNumeric)
			d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
												   NumericGetDatum(v.val.numeric)));
		if (strcmp(key, "recall") == 0)
		{
			if (v.type != jbvNumeric || !(d > 0 && d <= 1))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("\"ann\".\"recall\" must be a number above 0 and at most 1"),
						 errhint("Write \"ann\": {\"recall\": 0.98}: the mean recall@10 the index's default "
								 "probes must reach on a sample of its items.")));
			*recall_out = d;
			continue;
		}
		if (v.type != jbvNumeric || d != rint(d) || fabs(d) > FR_IVF_MAX_LISTS * 2.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"ann\".\"lists\" must be a whole number from 1 to %d", FR_IVF_MAX_LISTS),
					 errhint("Write \"ann\": {\"lists\": 1000}.")));
		lists = (int32) d;
		if (lists < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"ann\".\"lists\" must be positive, got %d", lists),
					 errhint("About 4 x sqrt(items) lists is a good start; leave it out for that.")));
	}
	*lists_out = lists;
}

/*
 * fashionrec._train_ann(model_id bigint, algorithm text, items integer, ann
 * jsonb) returns jsonb: train()'s step after the artifacts, for the caller's
 * own training.  params' "ann" asks for an index: an object ({"lists": n},
 * or {} for the default lists) or true; false refuses one.  Without it (or
 * null), a catalog of fashionrec.ann_min_items items or more gets one when
 * its algorithm has item vectors.  Returns the index's description for
 * info, or NULL.
 */
PG_FUNCTION_INFO_V1(fashionrec_train_ann);
Datum
fashionrec_train_ann(PG_FUNCTION_ARGS)
{
	int64		model_id = PG_GETARG_INT64(0);
	const FrAlgorithm *algo = fr_algorithm_lookup(text_to_cstring(PG_GETARG_TEXT_PP(1)), false);
	int32		n_items = PG_GETARG_INT32(2);
	bool		asked = false;
	int32		lists = 0;
	double		recall = 0;
	char	   *description;

	fr_require_own_training(model_id);
	if (!PG_ARGISNULL(3))
	{
		Jsonb	   *ann = PG_GETARG_JSONB_P(3);
		JsonbValue	v;

		if (JB_ROOT_IS_SCALAR(ann) && JsonbExtractScalar(&ann->root, &v) &&
			(v.type == jbvNull || v.type == jbvBool))
		{
			/* null: as if absent; false: no index whatever the size; true: the default lists */
			if (v.type == jbvBool && !v.val.boolean)
				PG_RETURN_NULL();
			asked = v.type == jbvBool;
		}
		else
		{
			ann_params(ann, &lists, &recall);
			asked = true;
		}
	}
	if (!asked &&
		(fr_ann_min_items == 0 || n_items < fr_ann_min_items || algo->fold_in_vector == NULL))
		PG_RETURN_NULL();

	description = build_index(model_id, lists, recall);
	PG_RETURN_JSONB_P(jsonb_of(psprintf("%.*s, \"build\": 1}", (int) strlen(description) - 1,
										description)));
}

/*
 * fashionrec.build_ann(name text, version integer, lists integer) returns
 * jsonb: add an index to a trained version (the active one when version is
 * NULL), or build it again with other lists; returns its description, as
 * the version's info records it under "ann".  Trainers only (granted).
 */
PG_FUNCTION_INFO_V1(fashionrec_build_ann);
Datum
fashionrec_build_ann(PG_FUNCTION_ARGS)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	char		nulls[2] = {' ', PG_ARGISNULL(1) ? 'n' : ' '};
	char	   *name;
	int32		lists = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
	double		recall = PG_ARGISNULL(3) ? 0 : PG_GETARG_FLOAT8(3);
	int64		model_id;
	char	   *description;
	Jsonb	   *result;
	bool		isnull;
	FrCatalogWrite w;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL"),
				 errhint("Pass the name of a trained model; SELECT * FROM fashionrec.models lists them.")));
	if (!PG_ARGISNULL(1) && PG_GETARG_INT32(1) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be positive, got %d", PG_GETARG_INT32(1)),
				 errhint("Pass a version number of the model, or NULL for its active version.")));
	if (!PG_ARGISNULL(2) && lists <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lists must be positive, got %d", lists),
				 errhint("About 4 x sqrt(items) lists is a good start; pass NULL for that.")));
	if (!PG_ARGISNULL(3))
		check_recall(recall);
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot build an index on a standby"),
				 errhint("Build it on the primary; the standby serves it after replay.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);

	/* the row stays locked to the end: concurrent builds of a version queue */
	SPI_connect();
	fr_catalog_begin(&w);
	if (SPI_execute_with_args("SELECT m.id FROM fashionrec.model m"
							  " WHERE m.name = $1 AND m.status <> 'training'"
							  "   AND CASE WHEN $2 IS NULL THEN m.active ELSE m.version = $2 END"
							  " FOR UPDATE",
							  2, argtypes, values, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "model lookup failed");
	fr_catalog_end(&w);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 PG_ARGISNULL(1)
				 ? errmsg("model \"%s\" has no active version", name)
				 : errmsg("model \"%s\" has no version %d", name, PG_GETARG_INT32(1)),
				 errhint("SELECT * FROM fashionrec.models lists the trained versions.")));
	model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	description = build_index(model_id, lists, recall);

	{
		Oid			types[2] = {INT8OID, JSONBOID};
		Datum		args[2] = {Int64GetDatum(model_id), JsonbPGetDatum(jsonb_of(description))};

		SPI_connect();
		fr_catalog_begin(&w);
		if (SPI_execute_with_args("UPDATE fashionrec.model m"
								  "   SET info = pg_catalog.jsonb_set(COALESCE(m.info, '{}'), '{ann}',"
								  "         $2 || pg_catalog.jsonb_build_object('build',"
								  "               COALESCE((m.info -> 'ann' ->> 'build')::int4, 0) + 1))"
								  " WHERE m.id = $1 RETURNING m.info -> 'ann'",
								  2, types, args, NULL, false, 1) != SPI_OK_UPDATE_RETURNING ||
			SPI_processed != 1)
			elog(ERROR, "could not record the index of model row %lld", (long long) model_id);
		fr_catalog_end(&w);
		old = MemoryContextSwitchTo(caller);
		result = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContextSwitchTo(old);
		SPI_finish();
	}
	PG_RETURN_JSONB_P(result);
}
