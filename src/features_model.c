/*
 * features_model.c — the "features" algorithm: a content model over a
 * feature set of the feature store (src/sql/85_features.sql, docs/features.md)
 * that serves products added or changed after it was trained.
 *
 *   SELECT fashionrec.create_feature_set('product-text', 'tfidf', 'shop.products',
 *                                        '{"id_column": "id", "text_columns": ["name"]}');
 *   SELECT fashionrec.train('shop-text', 'features', 'product-text',
 *                           '{"interactions": "shop.train"}');
 *
 * Its source is the feature set's name.  Training copies the set's vectors
 * (scaled to unit length) into artifacts together with the set's generation
 * at that moment, so a version always has the same base.  Loading adds what
 * the set gained since: every item_feature row written after that generation
 * replaces an item's vector, adds a new item, or (a tombstone) removes the
 * item.  model.c loads the model again whenever the set's generation moves
 * on, so a product inserted with the feature set's realtime trigger is
 * recommendable by the next statement that starts after its commit.  Rows
 * computed with another vocabulary (after a rebuild) do not fit the trained
 * space and are left out: retrain after fashionrec.refresh_features(...,
 * rebuild => true).
 *
 * Serving is content_model.c's: cosine similarity through an inverted
 * index.  Item vectors of at most FEATURES_MAX_DENSE dimensions are also
 * dense embeddings, which the hybrid maps into a collaborative model's
 * factor space for new items.
 *
 * Artifacts: "feature_indptr", "feature_indices", "feature_values" (item rows
 * as CSR, 0-based feature indices) and "feature_base" (set id, generation,
 * vocabulary version, dimension).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "content_model.h"
#include "fashionrec.h"
#include "model.h"
#include "svec.h"

/* beyond this, item vectors are a sparse vocabulary, not an embedding */
#define FEATURES_MAX_DENSE 4096
#define FEATURES_FETCH_ROWS 10000

typedef struct FeaturesParams
{
	bool		normalize;
} FeaturesParams;

static const FrParamSpec features_specs[] = {
	{"normalize", FR_PARAM_BOOL, offsetof(FeaturesParams, normalize)},
	{NULL}
};

static const FeaturesParams features_defaults = {
	.normalize = true,
};

enum
{
	BASE_SET_ID,
	BASE_GENERATION,
	BASE_VOCABULARY,
	BASE_DIMENSION,
	BASE_NORMALIZED,
	BASE_N
};

/* what a row of item_feature says about its item */
typedef enum RowKind
{
	ROW_VECTOR,					/* the item's vector */
	ROW_GONE,					/* a tombstone: the item left the catalog */
	ROW_OTHER_SPACE				/* computed with another vocabulary: unusable here */
} RowKind;

/* item rows read from item_feature, in item-id order */
typedef struct FeatureRows
{
	MemoryContext cxt;
	int64		n;
	int64		cap;
	int64	   *ids;
	char	   *kind;			/* RowKind */
	int64	   *indptr;			/* n + 1 */
	int64		nnz;
	int64		nnz_cap;
	int32	   *indices;
	float	   *values;
} FeatureRows;

/* what read_items() found, for train() */
typedef struct FeatureItems
{
	int64		base[BASE_N];
	char	   *set_name;
	FeatureRows rows;
} FeatureItems;

static void
rows_init(FeatureRows *r, MemoryContext cxt)
{
	memset(r, 0, sizeof(*r));
	r->cxt = cxt;
	r->cap = 1024;
	r->nnz_cap = 16384;
	r->ids = MemoryContextAllocHuge(cxt, sizeof(int64) * r->cap);
	r->kind = MemoryContextAllocHuge(cxt, r->cap);
	r->indptr = MemoryContextAllocHuge(cxt, sizeof(int64) * (r->cap + 1));
	r->indices = MemoryContextAllocHuge(cxt, sizeof(int32) * r->nnz_cap);
	r->values = MemoryContextAllocHuge(cxt, sizeof(float) * r->nnz_cap);
	r->indptr[0] = 0;
}

static void
rows_add(FeatureRows *r, int64 id, RowKind kind, const FrSvec *v, bool normalize)
{
	int32		nnz = (kind == ROW_VECTOR) ? v->nnz : 0;

	if (r->n == r->cap)
	{
		if (r->cap >= PG_INT32_MAX / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a feature set cannot have more than %d items in a model", PG_INT32_MAX / 2)));
		r->cap *= 2;
		r->ids = repalloc_huge(r->ids, sizeof(int64) * r->cap);
		r->kind = repalloc_huge(r->kind, r->cap);
		r->indptr = repalloc_huge(r->indptr, sizeof(int64) * (r->cap + 1));
	}
	if (r->nnz + nnz > r->nnz_cap)
	{
		while (r->nnz + nnz > r->nnz_cap)
			r->nnz_cap *= 2;
		fr_check_memory(mul_size(r->nnz_cap, sizeof(int32) + sizeof(float)), "reading the feature set");
		r->indices = repalloc_huge(r->indices, sizeof(int32) * r->nnz_cap);
		r->values = repalloc_huge(r->values, sizeof(float) * r->nnz_cap);
	}
	r->ids[r->n] = id;
	r->kind[r->n] = (char) kind;
	if (nnz > 0)
	{
		memcpy(r->indices + r->nnz, v->indices, sizeof(int32) * nnz);
		memcpy(r->values + r->nnz, FR_SVEC_VALUES(v), sizeof(float) * nnz);
		if (normalize)
			fr_svec_l2_normalize(nnz, r->values + r->nnz);
	}
	r->nnz += nnz;
	r->n++;
	r->indptr[r->n] = r->nnz;
}

/*
 * Run a query of (item_id int8, features svec, vocabulary_version int4)
 * ordered by item_id and append its rows.  Vectors must have the set's
 * dimension: anything else is damage to the feature store, not user data.
 */
static void
rows_fetch(FeatureRows *r, const char *query, Datum *args, const int64 *base,
		   const char *set_name, bool normalize)
{
	Oid			argtypes[2] = {INT4OID, INT8OID};
	Portal		portal;

	portal = SPI_cursor_open_with_args(NULL, query, 2, argtypes, args, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FEATURES_FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull,
						vnull,
						vernull;
			int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			Datum		d = SPI_getbinval(tup, desc, 2, &vnull);
			int32		version = DatumGetInt32(SPI_getbinval(tup, desc, 3, &vernull));
			FrSvec	   *v = NULL;
			RowKind		kind = ROW_VECTOR;

			if (vnull)
				kind = ROW_GONE;
			else if (vernull || version != base[BASE_VOCABULARY])
				kind = ROW_OTHER_SPACE;
			else
			{
				v = DatumGetFrSvec(d);
				if (v->dim != base[BASE_DIMENSION])
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("feature set \"%s\" has a vector of dimension %d for item %lld, expected %lld",
									set_name, v->dim, (long long) id, (long long) base[BASE_DIMENSION]),
							 errhint("Rebuild it: SELECT fashionrec.refresh_features('%s', rebuild => true).",
									 set_name)));
			}
			rows_add(r, id, kind, v, normalize);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

/* ---- training ------------------------------------------------------------------ */

/*
 * A feature set's id, generation, vocabulary version and dimension into
 * base[0..3] (the caller is connected to SPI), refusing a set that does not
 * exist or has no vectors yet: what a model over the set's rows starts from
 * (features and featurefm models).
 */
void
fr_feature_set_base(const char *name, int64 *base)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;

	args[0] = CStringGetTextDatum(name);
	SPI_execute_with_args("SELECT id, generation, vocabulary_version, dimension"
						  "  FROM fashionrec.feature_set WHERE name = $1",
						  1, argtypes, args, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set \"%s\" does not exist", name),
				 errhint("Create it with fashionrec.create_feature_set(); SELECT * FROM fashionrec.feature_sets lists them.")));
	for (int c = 0; c < 4; c++)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, c + 1, &isnull);

		base[c] = isnull ? 0 : (c == 1 ? DatumGetInt64(d) : DatumGetInt32(d));
	}
	if (base[3] <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("feature set \"%s\" has no vectors yet", name),
				 errhint("Run SELECT fashionrec.refresh_features('%s') first.", name)));
}

static void *
features_read_items(const char *source, const void *params_in,
					int64 **item_ids, int32 *n_items)
{
	const FeaturesParams *params = params_in;
	FeatureItems *fi = palloc0(sizeof(FeatureItems));
	Datum		args[2];

	if (source == NULL || *source == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("algorithm \"features\" needs a feature set as its source"),
				 errhint("fashionrec.train(name, 'features', 'product-text', ...) with the name of a feature set; SELECT * FROM fashionrec.feature_sets lists them.")));
	fi->set_name = pstrdup(source);
	rows_init(&fi->rows, CurrentMemoryContext);

	SPI_connect();
	/*
	 * The generation before the rows: under one snapshot they agree, and if
	 * they did not, a row newer than the generation would be served again
	 * from the overlay, which is harmless, rather than missed.
	 */
	fr_feature_set_base(source, fi->base);
	fi->base[BASE_NORMALIZED] = params->normalize;

	args[0] = Int32GetDatum((int32) fi->base[BASE_SET_ID]);
	args[1] = Int64GetDatum(fi->base[BASE_VOCABULARY]);
	rows_fetch(&fi->rows,
			   "SELECT item_id, features, vocabulary_version FROM fashionrec.item_feature"
			   " WHERE feature_set = $1 AND features IS NOT NULL AND vocabulary_version = $2"
			   " ORDER BY item_id",
			   args, fi->base, source, params->normalize);
	SPI_finish();

	if (fi->rows.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature set \"%s\" has no items", source),
				 errhint("Check its source table, or fashionrec.feature_errors('%s') for rows that failed.", source)));
	*item_ids = fi->rows.ids;
	*n_items = (int32) fi->rows.n;
	return fi;
}

static void
features_train(FrTrainJob *job)
{
	const FeatureItems *fi = job->items;
	const FeatureRows *r;
	int32		set_id;
	int64		empty = 0;

	if (fi == NULL || fi->rows.n != job->data->n_items)
		elog(ERROR, "features training without its items");
	r = &fi->rows;
	set_id = (int32) fi->base[BASE_SET_ID];
	for (int64 i = 0; i < r->n; i++)
		empty += (r->indptr[i + 1] == r->indptr[i]);
	fr_artifact_put(job->model_id, "feature_indptr", FR_I64, r->n + 1, 1, r->indptr);
	fr_artifact_put(job->model_id, "feature_indices", FR_I32, r->nnz, 1, r->indices);
	fr_artifact_put(job->model_id, "feature_values", FR_F32, r->nnz, 1, r->values);
	fr_artifact_put(job->model_id, "feature_base", FR_I64, BASE_N, 1, fi->base);

	fr_info_add_int_array(job, "feature_sets", &set_id, 1);
	fr_info_add_int(job, "dimension", fi->base[BASE_DIMENSION]);
	fr_info_add_int(job, "generation", fi->base[BASE_GENERATION]);
	fr_info_add_int(job, "vocabulary_version", fi->base[BASE_VOCABULARY]);
	fr_info_add_int(job, "items_without_features", empty);
	fr_info_add_real(job, "mean_features_per_item", r->n > 0 ? (double) r->nnz / r->n : 0.0);
}

/* ---- loading: the trained rows plus what the set gained since -------------------- */

/*
 * Merge the trained rows with the live ones (both in id order): a live row
 * wins, a tombstone removes, a row of another vocabulary leaves the trained
 * row as it was.  Replaces the model's items when anything changed.
 */
static void
apply_live_rows(FrModel *model, FrCsr *rows, const FeatureRows *live)
{
	int64		cap = (int64) model->n_items + live->n;
	int64	   *ids = palloc_extended(mul_size(Max(cap, 1), sizeof(int64)), MCXT_ALLOC_HUGE);
	int32	   *old_to_new = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	FrCsr		out = {0};
	int64		i = 0,
				j = 0,
				n = 0;

	out.indptr = palloc_extended(mul_size(cap + 1, sizeof(int64)), MCXT_ALLOC_HUGE);
	out.indices = palloc_extended(mul_size(Max(rows->nnz + live->nnz, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	out.values = palloc_extended(mul_size(Max(rows->nnz + live->nnz, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	out.indptr[0] = 0;
	while (i < model->n_items || j < live->n)
	{
		bool		take_live = j < live->n &&
			(i >= model->n_items || live->ids[j] <= model->item_ids[i]);
		bool		same = take_live && i < model->n_items && live->ids[j] == model->item_ids[i];
		const FrCsr *src = rows;
		int64		row = i;

		if (take_live && live->kind[j] != ROW_VECTOR)
		{
			/* a tombstone drops the trained item; another vocabulary keeps it */
			bool		keep = same && live->kind[j] == ROW_OTHER_SPACE;

			j++;
			if (!same)
				continue;
			if (!keep)
			{
				old_to_new[i++] = -1;
				continue;
			}
			take_live = false;
		}
		if (take_live)
		{
			int64		lo = live->indptr[j];
			int64		len = live->indptr[j + 1] - lo;

			memcpy(out.indices + out.nnz, live->indices + lo, sizeof(int32) * len);
			memcpy(out.values + out.nnz, live->values + lo, sizeof(float) * len);
			out.nnz += len;
			ids[n] = live->ids[j++];
			if (same)
				old_to_new[i++] = (int32) n;
		}
		else
		{
			int64		lo = src->indptr[row];
			int64		len = src->indptr[row + 1] - lo;

			memcpy(out.indices + out.nnz, src->indices + lo, sizeof(int32) * len);
			memcpy(out.values + out.nnz, src->values + lo, sizeof(float) * len);
			out.nnz += len;
			ids[n] = model->item_ids[i];
			old_to_new[i++] = (int32) n;
		}
		n++;
		out.indptr[n] = out.nnz;
	}
	out.nrows = (int32) n;
	out.ncols = rows->ncols;
	fr_model_remap_items(model, ids, (int32) n, old_to_new);
	*rows = out;
}

static void
read_live_rows(FrModel *model, const int64 *base, FrCsr *rows, bool normalized)
{
	FeatureRows live;
	Datum		args[2];
	MemoryContext cxt = CurrentMemoryContext;

	rows_init(&live, cxt);
	SPI_connect();
	args[0] = Int32GetDatum((int32) base[BASE_SET_ID]);
	args[1] = Int64GetDatum(base[BASE_GENERATION]);
	rows_fetch(&live,
			   "SELECT item_id, features, vocabulary_version FROM fashionrec.item_feature"
			   " WHERE feature_set = $1 AND generation > $2 ORDER BY item_id",
			   args, base, model->name, normalized);
	SPI_finish();
	if (live.n > 0)
		apply_live_rows(model, rows, &live);
}

static void *
features_load(FrModel *model)
{
	FrContentState *st = palloc0(sizeof(FrContentState));
	FrCsr	   *rows = &st->rows;
	int64	   *base;
	int64		n_base,
				n_ptr,
				n_idx,
				n_val;

	base = fr_model_artifact(model, "feature_base", FR_I64, &n_base, NULL, false);
	rows->indptr = fr_model_artifact(model, "feature_indptr", FR_I64, &n_ptr, NULL, false);
	rows->indices = fr_model_artifact(model, "feature_indices", FR_I32, &n_idx, NULL, false);
	rows->values = fr_model_artifact(model, "feature_values", FR_F32, &n_val, NULL, false);
	if (fr_model_attaching(model))
	{
		/* the rows as merged with the live ones by the loading backend (kept below) */
		rows->nrows = model->n_items;
		rows->ncols = (int32) base[BASE_DIMENSION];
		rows->nnz = n_idx;
		fr_content_postings(model, st);
		return st;
	}
	fr_check_shape(model, "feature_base", n_base, 1, BASE_N, 1);
	fr_check_setting(model, "feature_base", "dimension", base[BASE_DIMENSION], 1, FR_SVEC_MAX_DIM, true);
	fr_check_setting(model, "feature_base", "set", base[BASE_SET_ID], PG_INT32_MIN, PG_INT32_MAX, true);
	fr_check_csr(model, "feature", rows->indptr, n_ptr, model->n_items, rows->indices, n_idx,
				 (int32) base[BASE_DIMENSION]);
	fr_check_shape(model, "feature_values", n_val, 1, n_idx, 1);
	fr_check_finite(model, "feature_values", rows->values, n_val);
	rows->nrows = model->n_items;
	rows->ncols = (int32) base[BASE_DIMENSION];
	rows->nnz = n_idx;

	/* a set dropped since training has no rows to add: serve what was trained */
	if (model->n_feature_sets > 0 && model->live_token >= 0)
	{
		read_live_rows(model, base, rows, base[BASE_NORMALIZED] != 0);
		/* the shared copy holds the merged rows in place of the trained ones */
		fr_model_keep(model, "feature_indptr", FR_I64, (int64) rows->nrows + 1, 1, rows->indptr);
		fr_model_keep(model, "feature_indices", FR_I32, rows->nnz, 1, rows->indices);
		fr_model_keep(model, "feature_values", FR_F32, rows->nnz, 1, rows->values);
	}
	fr_content_postings(model, st);
	return st;
}

/* An item's vector, or a user's profile, as a dense embedding. */
static int32
features_vector(const FrModel *model, bool of_user, int32 index, float *out)
{
	const FrContentState *st = model->state;
	int32		dim = st->n_features;

	if (dim > FEATURES_MAX_DENSE)
		return 0;
	if (out == NULL)
		return dim;
	memset(out, 0, sizeof(float) * dim);
	if (of_user)
	{
		int64		lo = model->seen_indptr[index];
		int32	   *features = palloc(sizeof(int32) * dim);
		float	   *values = palloc(sizeof(float) * dim);
		int32		m = fr_svec_profile(&st->rows, model->seen_indices + lo, NULL,
										(int32) (model->seen_indptr[index + 1] - lo),
										dim, features, values);

		for (int32 k = 0; k < m; k++)
			out[features[k]] = values[k];
		pfree(features);
		pfree(values);
	}
	else
		for (int64 p = st->rows.indptr[index]; p < st->rows.indptr[index + 1]; p++)
			out[st->rows.indices[p]] = st->rows.values[p];
	return dim;
}

const FrAlgorithm fr_features_algorithm = {
	.name = "features",
	.summary = "content: cosine similarity over a feature set of the feature store (source: its name); "
	"serves products added or changed after training",
	.param_specs = features_specs,
	.params_size = sizeof(FeaturesParams),
	.param_defaults = &features_defaults,
	.read_items = features_read_items,
	.train = features_train,
	.load = features_load,
	.score_user = fr_content_score_user,
	.score_items = fr_content_score_items,
	.score_similar = fr_content_score_similar,
	.predict = fr_content_predict,
	.embedding = features_vector,
};
