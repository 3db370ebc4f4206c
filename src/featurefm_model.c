/*
 * featurefm_model.c — the "featurefm" algorithm: users and items as sums of
 * learned feature embeddings (featurefm.h), trained on interactions with BPR
 * or WARP.
 *
 *   SELECT fashionrec.train('shop-fm', 'featurefm', 'shop.purchases',
 *          '{"item_features": "SELECT id, ''colour='' || colour FROM shop.products",
 *            "loss": "warp", "factors": 64}');
 *
 * Item features come from a query or table of (item_id, feature[, weight])
 * rows ("item_features") and/or a feature set's sparse vectors
 * ("item_feature_set"); user features likewise from "user_features".  Every
 * user and every item with interactions also has its identity feature
 * unless user_identity / item_identity is false.  With normalize, each row
 * of features is scaled to sum to 1.
 *
 * The model's items are the catalog the item features describe
 * (read_catalog, before the interactions): products without interactions
 * are items too, scored from their features at once; interactions with
 * products the features do not describe are dropped.  Without item
 * features, the items are those interacted with.  With a feature set, the
 * set's rows written after training are merged in at load (new items
 * added, changed ones re-embedded, tombstoned ones removed), as the
 * "features" algorithm does: model.c reloads when the set's generation
 * moves on.  Rows computed with another vocabulary keep the trained row.
 *
 * Artifacts: "fm_layout" (the feature space, below),
 * "item_feature_indptr/_indices/_values" (the items' raw feature rows),
 * "item_factors" and "item_bias" (their vectors and biases),
 * "user_factors", "feature_factors" and "feature_bias" (the item feature
 * embeddings), "feature_names" and "feature_name_offsets" (the named item
 * features, ascending), "new_user_ids" and "new_user_factors" (the
 * customers the user features describe who have no interactions: their
 * vectors, summed from the trained features; load() adds them to the
 * model's users).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "fashionrec.h"
#include "featurefm.h"
#include "linalg.h"
#include "model.h"
#include "progress.h"
#include "source.h"
#include "svec.h"
#include "topk.h"

#define FM_FETCH_ROWS 10000
/* the "threads" a training may ask for; more than the machine's cores are not started */
#define FM_MAX_THREADS 64

typedef struct FmParams
{
	int32		factors;
	int32		epochs;
	int32		loss;			/* FrFmLoss */
	double		learning_rate;
	double		item_alpha;
	double		user_alpha;
	int32		max_sampled;
	int32		seed;
	int32		threads;
	char	   *item_features;
	char	   *item_feature_set;
	char	   *user_features;
	bool		item_identity;
	bool		user_identity;
	bool		normalize;
} FmParams;

/* in FrFmLoss order */
static const char *const fm_losses[] = {"bpr", "warp", NULL};

static const FrParamSpec fm_specs[] = {
	{"factors", FR_PARAM_INT, offsetof(FmParams, factors), 1, 1024},
	{"epochs", FR_PARAM_INT, offsetof(FmParams, epochs), 1, 1000},
	{"loss", FR_PARAM_CHOICE, offsetof(FmParams, loss), 0, 0, fm_losses},
	{"learning_rate", FR_PARAM_REAL, offsetof(FmParams, learning_rate), 1e-6, 10},
	{"item_alpha", FR_PARAM_REAL, offsetof(FmParams, item_alpha), 0, 10},
	{"user_alpha", FR_PARAM_REAL, offsetof(FmParams, user_alpha), 0, 10},
	{"max_sampled", FR_PARAM_INT, offsetof(FmParams, max_sampled), 1, 100000},
	{"seed", FR_PARAM_INT, offsetof(FmParams, seed), 0, PG_INT32_MAX},
	{"threads", FR_PARAM_INT, offsetof(FmParams, threads), 1, FM_MAX_THREADS},
	{"item_features", FR_PARAM_TEXT, offsetof(FmParams, item_features)},
	{"item_feature_set", FR_PARAM_TEXT, offsetof(FmParams, item_feature_set)},
	{"user_features", FR_PARAM_TEXT, offsetof(FmParams, user_features)},
	{"item_identity", FR_PARAM_BOOL, offsetof(FmParams, item_identity)},
	{"user_identity", FR_PARAM_BOOL, offsetof(FmParams, user_identity)},
	{"normalize", FR_PARAM_BOOL, offsetof(FmParams, normalize)},
	{NULL}
};

static const FmParams fm_defaults = {
	.factors = 32,
	.epochs = 20,
	.loss = FR_FM_WARP,
	.learning_rate = 0.05,
	.item_alpha = 0.0,
	.user_alpha = 0.0,
	.max_sampled = 10,
	.seed = 42,
	.threads = 1,
	.item_identity = true,
	.user_identity = true,
	.normalize = false,
};

/*
 * The item feature space: columns [0, n_identity) are the identities of
 * the items with interactions, in item order, then n_named named features,
 * then the feature set's dimensions.  Stored as "fm_layout".
 */
enum
{
	LAYOUT_FACTORS,
	LAYOUT_IDENTITY,
	LAYOUT_NAMED,
	LAYOUT_SET_DIM,
	LAYOUT_SET_ID,
	LAYOUT_GENERATION,
	LAYOUT_VOCABULARY,
	LAYOUT_NORMALIZE,
	LAYOUT_N
};

typedef struct FmState
{
	int32		k;
	int64		layout[LAYOUT_N];
	float	   *user_factors;	/* n_users x k */
	float	   *item_factors;	/* n_items x k */
	float	   *item_bias;		/* n_items */
	float	   *item_norms;
	int32		n_features;		/* item features: identity + named + set */
	float	   *feature_factors;	/* n_features x k */
	float	   *feature_bias;
	int32		n_named;
	const char **names;			/* the named features, ascending */
} FmState;

/* (id, feature, weight) rows read from a features source */
typedef struct Pair
{
	int64		id;
	char	   *feature;
	float		weight;
} Pair;

typedef struct Pairs
{
	MemoryContext cxt;			/* the caller's, outside SPI */
	const char *param;			/* for errors: "item_features" or "user_features" */
	int64		n;
	int64		cap;
	Pair	   *rows;
	int32		n_names;
	char	  **names;			/* distinct features, ascending; rows[].feature index via fidx */
	int32	   *fidx;			/* per row: index of its feature in names */
} Pairs;

/* ---- reading features --------------------------------------------------------- */

typedef void (*RowFn) (HeapTuple tup, TupleDesc desc, void *arg);

/* Every row of an open cursor, in batches, then close it (inside SPI). */
static void
each_row(Portal portal, RowFn fn, void *arg)
{
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FM_FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
			fn(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, arg);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

static int
cmp_pair(const void *a, const void *b)
{
	const Pair *x = a,
			   *y = b;
	int			c = strcmp(x->feature, y->feature);

	if (c != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void
pair_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	Pairs	   *out = arg;
	bool		null_id,
				null_f,
				null_w;
	Datum		id = SPI_getbinval(tup, desc, 1, &null_id);
	Datum		f = SPI_getbinval(tup, desc, 2, &null_f);
	Datum		w = SPI_getbinval(tup, desc, 3, &null_w);
	Pair	   *p;

	if (null_id || null_f)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("\"%s\" returned a row with a NULL id or feature", out->param),
				 errhint("Filter them out in the query (WHERE ... IS NOT NULL).")));
	if (null_w || !isfinite(DatumGetFloat4(w)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("\"%s\" returned a NULL, NaN or infinite weight", out->param),
				 errhint("Weights are finite numbers; leave out the third column for weight 1.")));
	if (out->n == out->cap)
	{
		out->cap *= 2;
		fr_check_memory(mul_size(out->cap, sizeof(Pair)), "reading features");
		out->rows = repalloc_huge(out->rows, sizeof(Pair) * out->cap);
	}
	p = &out->rows[out->n++];
	p->id = DatumGetInt64(id);
	p->feature = MemoryContextStrdup(out->cxt, TextDatumGetCString(f));
	p->weight = DatumGetFloat4(w);
}

/*
 * Read a source of (id, feature[, weight]) rows as the caller, like any
 * training source: a table, view or read-only SELECT.  Features are text
 * (any type is cast); the weight, when there is a third column, numeric.
 */
static void
read_pairs(const char *source, const char *param, Pairs *out)
{
	char	   *query;
	TupleDesc	desc;
	StringInfoData sql;

	memset(out, 0, sizeof(*out));
	out->cxt = CurrentMemoryContext;
	out->param = param;
	out->cap = 1024;
	out->rows = palloc_extended(sizeof(Pair) * out->cap, MCXT_ALLOC_HUGE);
	SPI_connect();
	query = fr_source_sql(source);
	desc = fr_source_describe(query);
	if (desc->natts < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" must return (id, feature[, weight]), it returns %d column",
						param, desc->natts),
				 errhint("For example: SELECT id, 'colour=' || colour FROM products.")));
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT (s.%s)::pg_catalog.int8, (s.%s)::pg_catalog.text, ",
					 quote_identifier(NameStr(TupleDescAttr(desc, 0)->attname)),
					 quote_identifier(NameStr(TupleDescAttr(desc, 1)->attname)));
	if (desc->natts >= 3)
		appendStringInfo(&sql, "(s.%s)::pg_catalog.float4",
						 quote_identifier(NameStr(TupleDescAttr(desc, 2)->attname)));
	else
		appendStringInfoString(&sql, "1::pg_catalog.float4");
	appendStringInfo(&sql, " FROM (%s) s", query);

	each_row(SPI_cursor_open_with_args(NULL, sql.data, 0, NULL, NULL, NULL, true, 0), pair_row, out);
	SPI_finish();

	/* features in byte order: the same data give the same feature indices, so the same model */
	qsort(out->rows, out->n, sizeof(Pair), cmp_pair);
	out->names = palloc_extended(sizeof(char *) * Max(out->n, 1), MCXT_ALLOC_HUGE);
	out->fidx = palloc_extended(sizeof(int32) * Max(out->n, 1), MCXT_ALLOC_HUGE);
	for (int64 r = 0; r < out->n; r++)
	{
		if (out->n_names == 0 || strcmp(out->names[out->n_names - 1], out->rows[r].feature) != 0)
			out->names[out->n_names++] = out->rows[r].feature;
		out->fidx[r] = out->n_names - 1;
	}
}

/* A feature set's current vectors: (set id, generation, vocabulary, dimension) in base. */
typedef struct SetRows
{
	int64		base[4];
	MemoryContext cxt;			/* the caller's, outside SPI */
	int64		cap;
	int64		n;
	int64	   *ids;
	FrSvec	  **vectors;		/* NULL: a tombstone; (FrSvec *) 1: another vocabulary */
} SetRows;

#define OTHER_SPACE ((FrSvec *) 1)

static void
set_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	SetRows    *s = arg;
	bool		null_v,
				null_voc,
				isnull;
	int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	Datum		v = SPI_getbinval(tup, desc, 2, &null_v);
	int32		voc = DatumGetInt32(SPI_getbinval(tup, desc, 3, &null_voc));
	FrSvec	   *vec = NULL;

	if (!null_v && (null_voc || voc != s->base[2]))
		vec = OTHER_SPACE;
	else if (!null_v)
	{
		MemoryContext old = MemoryContextSwitchTo(s->cxt);

		vec = (FrSvec *) PG_DETOAST_DATUM_COPY(v);
		MemoryContextSwitchTo(old);
		if (vec->dim != s->base[3])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("feature set %lld has a vector of dimension %d for item %lld, expected %lld",
							(long long) s->base[0], vec->dim, (long long) id, (long long) s->base[3]),
					 errhint("Rebuild it with fashionrec.refresh_features(name, rebuild => true).")));
	}
	if (s->n == s->cap)
	{
		s->cap *= 2;
		s->ids = repalloc_huge(s->ids, sizeof(int64) * s->cap);
		s->vectors = repalloc_huge(s->vectors, sizeof(FrSvec *) * s->cap);
	}
	s->ids[s->n] = id;
	s->vectors[s->n++] = vec;
}

/*
 * Inside SPI; the rows are allocated in cxt (the caller's, outside SPI).
 * query's $1 is the set, $2 the vocabulary (training) or the generation
 * after which rows are wanted (loading).
 */
static void
fetch_set_rows(SetRows *s, MemoryContext cxt, const char *query, int64 arg2)
{
	Oid			argtypes[2] = {INT4OID, INT8OID};
	Datum		args[2];

	s->cxt = cxt;
	s->n = 0;
	s->cap = 1024;
	s->ids = MemoryContextAllocHuge(cxt, sizeof(int64) * s->cap);
	s->vectors = MemoryContextAllocHuge(cxt, sizeof(FrSvec *) * s->cap);
	args[0] = Int32GetDatum((int32) s->base[0]);
	args[1] = Int64GetDatum(arg2);
	each_row(SPI_cursor_open_with_args(NULL, query, 2, argtypes, args, NULL, true, 0), set_row, s);
}

static void
read_set(const char *name, SetRows *s)
{
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	fr_feature_set_base(name, s->base);
	/* the generation was read first: a row newer than it is merged again at load, never missed */
	fetch_set_rows(s, cxt, "SELECT item_id, features, vocabulary_version FROM fashionrec.item_feature"
				   " WHERE feature_set = $1 AND features IS NOT NULL AND vocabulary_version = $2"
				   " ORDER BY item_id", s->base[2]);
	SPI_finish();
}

/* ---- building feature rows ------------------------------------------------------ */

/* a COO list of (row, column, value) grown as rows are added */
typedef struct Coo
{
	int64		n;
	int64		cap;
	int32	   *rows;
	int32	   *cols;
	float	   *vals;
} Coo;

static void
coo_add(Coo *c, int32 row, int32 col, float val)
{
	if (c->n == c->cap)
	{
		c->cap = Max(c->cap * 2, 1024);
		fr_check_memory(mul_size(c->cap, 2 * sizeof(int32) + sizeof(float)), "building feature rows");
		c->rows = c->rows ? repalloc_huge(c->rows, sizeof(int32) * c->cap)
			: palloc_extended(sizeof(int32) * c->cap, MCXT_ALLOC_HUGE);
		c->cols = c->cols ? repalloc_huge(c->cols, sizeof(int32) * c->cap)
			: palloc_extended(sizeof(int32) * c->cap, MCXT_ALLOC_HUGE);
		c->vals = c->vals ? repalloc_huge(c->vals, sizeof(float) * c->cap)
			: palloc_extended(sizeof(float) * c->cap, MCXT_ALLOC_HUGE);
	}
	c->rows[c->n] = row;
	c->cols[c->n] = col;
	c->vals[c->n++] = val;
}

static void
coo_add_svec(Coo *c, int32 row, int32 offset, const FrSvec *v)
{
	const float *vals = FR_SVEC_VALUES(v);

	for (int32 q = 0; q < v->nnz; q++)
		coo_add(c, row, offset + v->indices[q], vals[q]);
}

/* Rows scaled to sum (of magnitudes) 1, in a copy: the stored rows stay raw. */
static void
normalized(const FrCsr *raw, bool normalize, FrCsr *out)
{
	*out = *raw;
	if (!normalize)
		return;
	out->values = palloc_extended(mul_size(Max(raw->nnz, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	for (int32 r = 0; r < raw->nrows; r++)
	{
		double		sum = 0.0;

		for (int64 q = raw->indptr[r]; q < raw->indptr[r + 1]; q++)
			sum += fabs(raw->values[q]);
		for (int64 q = raw->indptr[r]; q < raw->indptr[r + 1]; q++)
			out->values[q] = sum > 0 ? (float) (raw->values[q] / sum) : 0.0f;
	}
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/* ---- training ------------------------------------------------------------------- */

static void
fm_options(const FmParams *p, FrFmOptions *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->factors = p->factors;
	opt->epochs = p->epochs;
	opt->loss = (FrFmLoss) p->loss;
	opt->learning_rate = p->learning_rate;
	opt->item_alpha = p->item_alpha;
	opt->user_alpha = p->user_alpha;
	opt->max_sampled = p->max_sampled;
	opt->seed = (uint64) p->seed;
	opt->threads = p->threads;
}

/*
 * A lower bound: identities only (a step writes a user's row and two items');
 * fm_train checks again once the features are read
 */
static size_t
fm_estimate_memory(const FrTrainData *data, const void *params)
{
	FrFmOptions opt;
	int32		n = data->n_users + data->n_items;

	fm_options(params, &opt);
	return add_size(mul_size(mul_size(n, opt.factors + 1), 2 * sizeof(float)),
					fr_fm_workspace_bytes(&opt, data->n_users, data->n_items, data->ui.nnz, 3));
}

/* what fm_read_catalog() read, for fm_train() */
typedef struct FmCatalog
{
	Pairs		pairs;
	SetRows		set;
	bool		has_set;
} FmCatalog;

/*
 * The items are those the item features describe: read them before the
 * interactions, as the caller, so that the registry stores the catalog as
 * the model's items (new products included).  Without item features, the
 * interacted items.
 */
static void *
fm_read_catalog(const void *params, int64 **item_ids, int32 *n_items)
{
	const FmParams *prm = params;
	FmCatalog  *cat = palloc0(sizeof(FmCatalog));
	int64	   *ids;
	int64		n = 0,
				u = 0;

	fr_training_phase("reading features");
	if (prm->item_features)
		read_pairs(prm->item_features, "item_features", &cat->pairs);
	if (prm->item_feature_set)
	{
		read_set(prm->item_feature_set, &cat->set);
		cat->has_set = true;
	}
	ids = palloc_extended(mul_size(Max(cat->pairs.n + cat->set.n, 1), sizeof(int64)), MCXT_ALLOC_HUGE);
	for (int64 r = 0; r < cat->pairs.n; r++)
		ids[n++] = cat->pairs.rows[r].id;
	for (int64 r = 0; r < cat->set.n; r++)
		ids[n++] = cat->set.ids[r];
	qsort(ids, n, sizeof(int64), cmp_int64);
	for (int64 r = 0; r < n; r++)
		if (u == 0 || ids[u - 1] != ids[r])
			ids[u++] = ids[r];
	if (u > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("featurefm cannot have more than %d items", PG_INT32_MAX / 2)));
	if ((prm->item_features || prm->item_feature_set) && u == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the item features describe no item"),
				 errhint("Check the \"item_features\" query or the feature set: the model's items are the items they describe.")));
	*item_ids = ids;
	*n_items = (int32) u;
	return cat;
}

static void
fm_train(FrTrainJob *job)
{
	const FrTrainData *data = job->data;
	const FmParams *prm = job->params;
	const FmCatalog *cat = job->items;
	const Pairs *ipairs = &cat->pairs;
	Pairs		upairs = {0};
	FrFmOptions opt;
	int64		layout[LAYOUT_N] = {0};
	int32		n_if,
				n_uf,
				n_identity = 0,
				set_offset,
				k = prm->factors;
	Coo			ic = {0},
				uc = {0},
				nc = {0};
	FrCsr		iraw,
				inorm,
				uraw,
				unorm,
				nraw,
				nnorm;
	FrFmParams	fp;
	float	   *item_factors,
			   *item_bias,
			   *user_factors,
			   *new_factors;
	int64	   *new_ids;
	int64		n_new = 0;
	bool	   *trained;
	StringInfoData names;
	int64	   *offsets;
	int64		without = 0;
	double		loss;

	fm_options(prm, &opt);
	if (!prm->item_identity && !prm->item_features && !prm->item_feature_set)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("featurefm without item_identity needs item features"),
				 errhint("Give \"item_features\" (a query of (item_id, feature)) or \"item_feature_set\", or leave item_identity true.")));
	if (!prm->user_identity && !prm->user_features)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("featurefm without user_identity needs user features"),
				 errhint("Give \"user_features\" (a query of (user_id, feature)), or leave user_identity true.")));
	if (prm->user_features)
		read_pairs(prm->user_features, "user_features", &upairs);
	fr_training_phase("training");

	/* identities for the items with interactions: the others have nothing to learn one from */
	if (prm->item_identity)
		for (int32 i = 0; i < data->n_items; i++)
			if (data->iu.indptr[i + 1] > data->iu.indptr[i])
				coo_add(&ic, i, n_identity++, 1.0f);
	layout[LAYOUT_FACTORS] = k;
	layout[LAYOUT_IDENTITY] = n_identity;
	layout[LAYOUT_NAMED] = ipairs->n_names;
	layout[LAYOUT_SET_DIM] = cat->has_set ? cat->set.base[3] : 0;
	layout[LAYOUT_SET_ID] = cat->set.base[0];
	layout[LAYOUT_GENERATION] = cat->set.base[1];
	layout[LAYOUT_VOCABULARY] = cat->set.base[2];
	layout[LAYOUT_NORMALIZE] = prm->normalize;
	set_offset = (int32) (layout[LAYOUT_IDENTITY] + layout[LAYOUT_NAMED]);
	if ((int64) set_offset + layout[LAYOUT_SET_DIM] > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("featurefm cannot have more than %d item features", PG_INT32_MAX / 2)));
	n_if = (int32) (set_offset + layout[LAYOUT_SET_DIM]);
	n_uf = (prm->user_identity ? data->n_users : 0) + upairs.n_names;

	/*
	 * Customers with features and no interactions: nothing to train for
	 * them, but their features' embeddings place them at once (as new items)
	 */
	new_ids = palloc_extended(mul_size(Max(upairs.n, 1), sizeof(int64)), MCXT_ALLOC_HUGE);
	for (int64 r = 0; r < upairs.n; r++)
		if (fr_find_id(data->user_ids, data->n_users, upairs.rows[r].id) < 0)
			new_ids[n_new++] = upairs.rows[r].id;
	qsort(new_ids, n_new, sizeof(int64), cmp_int64);
	{
		int64		u = 0;

		for (int64 r = 0; r < n_new; r++)
			if (u == 0 || new_ids[u - 1] != new_ids[r])
				new_ids[u++] = new_ids[r];
		n_new = u;
	}
	if (data->n_users + n_new > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("featurefm cannot have more than %d customers", PG_INT32_MAX / 2),
				 errhint("Give \"user_features\" only for the customers to serve.")));

	/* item rows: identity, named features, the set's vector (the catalog is theirs: every id is found) */
	for (int64 r = 0; r < ipairs->n; r++)
		coo_add(&ic, (int32) fr_find_id(data->item_ids, data->n_items, ipairs->rows[r].id),
				n_identity + ipairs->fidx[r], ipairs->rows[r].weight);
	for (int64 r = 0; r < cat->set.n; r++)
		coo_add_svec(&ic, (int32) fr_find_id(data->item_ids, data->n_items, cat->set.ids[r]),
					 set_offset, cat->set.vectors[r]);
	fr_csr_from_coo(&iraw, data->n_items, n_if, ic.n, ic.rows, ic.cols, ic.vals, NULL, NULL);

	/* user rows: identity and named features; the new customers' apart, trained features only */
	if (prm->user_identity)
		for (int32 u = 0; u < data->n_users; u++)
			coo_add(&uc, u, u, 1.0f);
	trained = palloc0(Max(upairs.n_names, 1));
	for (int64 r = 0; r < upairs.n; r++)
	{
		int64		u = fr_find_id(data->user_ids, data->n_users, upairs.rows[r].id);

		if (u < 0)
			continue;
		coo_add(&uc, (int32) u, n_uf - upairs.n_names + upairs.fidx[r], upairs.rows[r].weight);
		trained[upairs.fidx[r]] = true;
	}
	/* a feature no customer with interactions has keeps its random start: it would add noise */
	for (int64 r = 0; r < upairs.n; r++)
		if (trained[upairs.fidx[r]] && fr_find_id(data->user_ids, data->n_users, upairs.rows[r].id) < 0)
			coo_add(&nc, (int32) fr_find_id(new_ids, n_new, upairs.rows[r].id),
					n_uf - upairs.n_names + upairs.fidx[r], upairs.rows[r].weight);
	fr_csr_from_coo(&uraw, data->n_users, n_uf, uc.n, uc.rows, uc.cols, uc.vals, NULL, NULL);
	fr_csr_from_coo(&nraw, (int32) n_new, n_uf, nc.n, nc.rows, nc.cols, nc.vals, NULL, NULL);
	normalized(&iraw, prm->normalize, &inorm);
	normalized(&uraw, prm->normalize, &unorm);
	normalized(&nraw, prm->normalize, &nnorm);

	/* parameters, Adagrad state, the threads' copies and the vectors served, before allocating any */
	fr_check_memory(add_size(mul_size(mul_size(add_size(add_size(n_if, n_uf),
														 add_size(data->n_items, data->n_users + n_new)), k + 1),
									  2 * sizeof(float)),
							 fr_fm_workspace_bytes(&opt, n_uf, n_if, data->ui.nnz,
												   fr_fm_step_rows(&unorm, &inorm))),
					"training \"featurefm\"");
	fr_fm_init(&fp, &opt, n_uf, n_if);
	loss = fr_fm_fit(&opt, &data->ui, &unorm, &inorm, &fp);

	item_factors = palloc_extended(mul_size(mul_size(Max(data->n_items, 1), k), sizeof(float)), MCXT_ALLOC_HUGE);
	item_bias = palloc_extended(mul_size(Max(data->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	user_factors = palloc_extended(mul_size(mul_size(Max(data->n_users, 1), k), sizeof(float)), MCXT_ALLOC_HUGE);
	fr_fm_represent(&inorm, fp.item_emb, fp.item_bias, k, item_factors, item_bias);
	fr_fm_represent(&unorm, fp.user_emb, NULL, k, user_factors, NULL);
	new_factors = palloc_extended(mul_size(mul_size(Max(n_new, 1), k), sizeof(float)), MCXT_ALLOC_HUGE);
	fr_fm_represent(&nnorm, fp.user_emb, NULL, k, new_factors, NULL);

	initStringInfo(&names);
	offsets = palloc(sizeof(int64) * (ipairs->n_names + 1));
	for (int32 f = 0; f < ipairs->n_names; f++)
	{
		offsets[f] = names.len;
		appendBinaryStringInfo(&names, ipairs->names[f], strlen(ipairs->names[f]) + 1);
	}
	offsets[ipairs->n_names] = names.len;

	fr_artifact_put(job->model_id, "fm_layout", FR_I64, LAYOUT_N, 1, layout);
	fr_artifact_put(job->model_id, "item_feature_indptr", FR_I64, (int64) data->n_items + 1, 1, iraw.indptr);
	fr_artifact_put(job->model_id, "item_feature_indices", FR_I32, iraw.nnz, 1, iraw.indices);
	fr_artifact_put(job->model_id, "item_feature_values", FR_F32, iraw.nnz, 1, iraw.values);
	fr_artifact_put(job->model_id, "item_factors", FR_F32, data->n_items, k, item_factors);
	fr_artifact_put(job->model_id, "item_bias", FR_F32, data->n_items, 1, item_bias);
	fr_artifact_put(job->model_id, "user_factors", FR_F32, data->n_users, k, user_factors);
	fr_artifact_put(job->model_id, "new_user_ids", FR_I64, n_new, 1, new_ids);
	fr_artifact_put(job->model_id, "new_user_factors", FR_F32, n_new, k, new_factors);
	fr_artifact_put(job->model_id, "feature_factors", FR_F32, n_if, k, fp.item_emb);
	fr_artifact_put(job->model_id, "feature_bias", FR_F32, n_if, 1, fp.item_bias);
	fr_artifact_put(job->model_id, "feature_names", FR_BYTES, names.len, 1, names.data);
	fr_artifact_put(job->model_id, "feature_name_offsets", FR_I64, (int64) ipairs->n_names + 1, 1, offsets);

	if (cat->has_set)
	{
		int32		set_id = (int32) cat->set.base[0];

		fr_info_add_int_array(job, "feature_sets", &set_id, 1);
		fr_info_add_int(job, "generation", cat->set.base[1]);
	}
	fr_info_add_real(job, "final_loss", loss);
	fr_info_add_int(job, "threads", opt.threads);
	for (int32 i = 0; i < data->n_items; i++)
		without += data->iu.indptr[i + 1] == data->iu.indptr[i];
	fr_info_add_int(job, "items_without_interactions", without);
	fr_info_add_int(job, "item_features", n_if);
	fr_info_add_int(job, "named_item_features", ipairs->n_names);
	fr_info_add_int(job, "user_features", n_uf);
	fr_info_add_int(job, "users_without_interactions", n_new);
}

/* ---- loading ---------------------------------------------------------------------- */

static void
load_names(FrModel *model, FmState *st)
{
	int64		n_bytes,
				n_off;
	char	   *bytes = fr_model_artifact(model, "feature_names", FR_BYTES, &n_bytes, NULL, false);
	int64	   *off = fr_model_artifact(model, "feature_name_offsets", FR_I64, &n_off, NULL, false);

	fr_check_shape(model, "feature_name_offsets", n_off, 1, st->n_named + 1, 1);
	st->names = palloc(sizeof(char *) * Max(st->n_named, 1));
	/* lookups binary-search the names: each in range, terminated, ascending */
	fr_check_offsets(model, "feature_name_offsets", off, n_off, st->n_named, n_bytes);
	for (int32 f = 0; f < st->n_named; f++)
	{
		if (off[f + 1] <= off[f] || bytes[off[f + 1] - 1] != '\0' ||
			strlen(bytes + off[f]) + 1 != (size_t) (off[f + 1] - off[f]))
			fr_artifact_corrupt(model, "feature_names", "Name %d is not one terminated string.", f);
		st->names[f] = bytes + off[f];
		if (f > 0 && strcmp(st->names[f - 1], st->names[f]) >= 0)
			fr_artifact_corrupt(model, "feature_names", "Names %d and %d are out of order.", f - 1, f);
	}
}

/*
 * The feature set's rows written since training, merged into the catalog:
 * a vector replaces the item's set features (its identity and named
 * features stay) or adds an item; a tombstone removes the item.  The merged
 * rows are embedded again with the trained feature embeddings.
 */
static void
apply_live_rows(FrModel *model, FmState *st, const FrCsr *raw)
{
	const int64 *catalog = model->item_ids;
	int32		n_cat = model->n_items;
	SetRows		live = {0};
	int32		set_offset = (int32) (st->layout[LAYOUT_IDENTITY] + st->layout[LAYOUT_NAMED]);
	int64		cap = (int64) n_cat + 1;
	int64	   *ids;
	int32	   *cat_to_new = palloc_extended(mul_size(Max(n_cat, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	Coo			c = {0};
	FrCsr		merged,
				norm;
	int64		i = 0,
				j = 0;
	int32		n = 0;
	MemoryContext cxt = CurrentMemoryContext;

	memcpy(live.base, &st->layout[LAYOUT_SET_ID], sizeof(int64) * 3);
	live.base[3] = st->layout[LAYOUT_SET_DIM];
	SPI_connect();
	fetch_set_rows(&live, cxt, "SELECT item_id, features, vocabulary_version FROM fashionrec.item_feature"
				   " WHERE feature_set = $1 AND generation > $2 ORDER BY item_id",
				   st->layout[LAYOUT_GENERATION]);
	SPI_finish();
	if (live.n == 0)
		return;

	cap += live.n;
	ids = palloc_extended(mul_size(cap, sizeof(int64)), MCXT_ALLOC_HUGE);
	while (i < n_cat || j < live.n)
	{
		bool		from_live = j < live.n && (i >= n_cat || live.ids[j] <= catalog[i]);
		bool		same = from_live && i < n_cat && live.ids[j] == catalog[i];
		FrSvec	   *v = from_live ? live.vectors[j] : NULL;

		if (from_live && (v == NULL || v == OTHER_SPACE))
		{
			j++;
			if (!same)
				continue;		/* a tombstone or foreign row of an item never trained */
			if (v == NULL)
			{
				cat_to_new[i++] = -1;
				continue;
			}
			from_live = false;	/* another vocabulary: the trained row stands */
			same = false;
		}
		if (!from_live || same)
			for (int64 q = raw->indptr[i]; q < raw->indptr[i + 1]; q++)
				if (!from_live || raw->indices[q] < set_offset)
					coo_add(&c, n, raw->indices[q], raw->values[q]);
		if (from_live)
		{
			coo_add_svec(&c, n, set_offset, v);
			ids[n] = live.ids[j++];
			if (same)
				cat_to_new[i++] = n;
		}
		else
		{
			ids[n] = catalog[i];
			cat_to_new[i++] = n;
		}
		n++;
	}
	fr_csr_from_coo(&merged, n, st->n_features, c.n, c.rows, c.cols, c.vals, NULL, NULL);
	normalized(&merged, st->layout[LAYOUT_NORMALIZE] != 0, &norm);
	st->item_factors = palloc_extended(mul_size(mul_size(Max(n, 1), st->k), sizeof(float)), MCXT_ALLOC_HUGE);
	st->item_bias = palloc_extended(mul_size(Max(n, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	fr_fm_represent(&norm, st->feature_factors, st->feature_bias, st->k, st->item_factors, st->item_bias);

	/* the model's items are the catalog already */
	fr_model_remap_items(model, ids, n, cat_to_new);
}

/*
 * The customers known by their features only join the model's users, so
 * that every serving path (recommend, predict, user_embedding, batch and
 * ANN) scores them by their vector.  Models trained before there were such
 * customers have no "new_user_ids".
 */
static void
add_new_users(FrModel *model, FmState *st)
{
	int64		n_ids,
				n_f;
	int32		k_f;
	int64	   *ids = fr_model_artifact(model, "new_user_ids", FR_I64, &n_ids, NULL, true);
	float	   *factors;
	float	   *merged;
	int32	   *origin;

	if (ids == NULL || n_ids == 0)
		return;
	factors = fr_model_artifact(model, "new_user_factors", FR_F32, &n_f, &k_f, false);
	fr_check_ids(model, "new_user_ids", ids, n_ids);
	if (n_ids > PG_INT32_MAX / 2 - model->n_users)
		fr_artifact_corrupt(model, "new_user_ids", "It has %lld users, too many.", (long long) n_ids);
	for (int64 j = 0; j < n_ids; j++)
		if (fr_model_user_index(model, ids[j]) >= 0)
			fr_artifact_corrupt(model, "new_user_ids", "User %lld has interactions already.",
								(long long) ids[j]);
	fr_check_shape(model, "new_user_factors", n_f, k_f, n_ids, st->k);
	fr_check_finite(model, "new_user_factors", factors, n_f * k_f);

	origin = palloc_extended(mul_size((Size) model->n_users + n_ids, sizeof(int32)), MCXT_ALLOC_HUGE);
	merged = palloc_extended(mul_size(mul_size((Size) model->n_users + n_ids, st->k), sizeof(float)),
							 MCXT_ALLOC_HUGE);
	fr_model_add_users(model, ids, (int32) n_ids, origin);
	for (int32 u = 0; u < model->n_users; u++)
		memcpy(merged + (size_t) u * st->k,
			   origin[u] >= 0 ? st->user_factors + (size_t) origin[u] * st->k
			   : factors + (size_t) (-1 - origin[u]) * st->k,
			   sizeof(float) * st->k);
	st->user_factors = merged;
	fr_model_keep(model, "user_factors", FR_F32, model->n_users, st->k, st->user_factors);
}

static void *
fm_load(FrModel *model)
{
	FmState    *st = palloc0(sizeof(FmState));
	int64		n_layout,
				n_ptr,
				n_idx,
				n_val,
				n_ff,
				n_fb,
				n_uf,
				n_if,
				n_ib;
	int32		k_ff,
				k_uf,
				k_if;
	int64	   *layout;
	FrCsr		raw = {0};

	layout = fr_model_artifact(model, "fm_layout", FR_I64, &n_layout, NULL, false);
	st->feature_factors = fr_model_artifact(model, "feature_factors", FR_F32, &n_ff, &k_ff, false);
	st->feature_bias = fr_model_artifact(model, "feature_bias", FR_F32, &n_fb, NULL, false);
	st->user_factors = fr_model_artifact(model, "user_factors", FR_F32, &n_uf, &k_uf, false);
	st->item_factors = fr_model_artifact(model, "item_factors", FR_F32, &n_if, &k_if, false);
	st->item_bias = fr_model_artifact(model, "item_bias", FR_F32, &n_ib, NULL, false);
	if (!fr_model_attaching(model))
	{
		fr_check_shape(model, "fm_layout", n_layout, 1, LAYOUT_N, 1);
		fr_check_setting(model, "fm_layout", "factors", layout[LAYOUT_FACTORS], 1, 1024, true);
		fr_check_setting(model, "fm_layout", "identities", layout[LAYOUT_IDENTITY], 0, model->n_items, true);
		fr_check_setting(model, "fm_layout", "named features", layout[LAYOUT_NAMED], 0, PG_INT32_MAX / 4, true);
		fr_check_setting(model, "fm_layout", "set dimension", layout[LAYOUT_SET_DIM], 0, PG_INT32_MAX / 4, true);
		fr_check_setting(model, "fm_layout", "set", layout[LAYOUT_SET_ID], PG_INT32_MIN, PG_INT32_MAX, true);
		fr_check_setting(model, "fm_layout", "normalize", layout[LAYOUT_NORMALIZE], 0, 1, true);
	}
	memcpy(st->layout, layout, sizeof(st->layout));
	st->k = (int32) layout[LAYOUT_FACTORS];
	st->n_named = (int32) layout[LAYOUT_NAMED];
	st->n_features = (int32) (layout[LAYOUT_IDENTITY] + layout[LAYOUT_NAMED] + layout[LAYOUT_SET_DIM]);
	load_names(model, st);
	if (fr_model_attaching(model))
	{
		/* the catalog, merged with the live rows, as the loading backend kept it */
		st->item_norms = fr_item_norms(model, st->item_factors, st->k);
		return st;
	}

	fr_check_shape(model, "feature_factors", n_ff, k_ff, st->n_features, st->k);
	fr_check_finite(model, "feature_factors", st->feature_factors, n_ff * k_ff);
	fr_check_shape(model, "feature_bias", n_fb, 1, st->n_features, 1);
	fr_check_finite(model, "feature_bias", st->feature_bias, n_fb);
	fr_check_shape(model, "user_factors", n_uf, k_uf, model->n_users, st->k);
	fr_check_finite(model, "user_factors", st->user_factors, n_uf * k_uf);
	add_new_users(model, st);

	fr_check_shape(model, "item_factors", n_if, k_if, model->n_items, st->k);
	fr_check_finite(model, "item_factors", st->item_factors, n_if * k_if);
	fr_check_shape(model, "item_bias", n_ib, 1, model->n_items, 1);
	fr_check_finite(model, "item_bias", st->item_bias, n_ib);
	raw.indptr = fr_model_artifact(model, "item_feature_indptr", FR_I64, &n_ptr, NULL, false);
	raw.indices = fr_model_artifact(model, "item_feature_indices", FR_I32, &n_idx, NULL, false);
	raw.values = fr_model_artifact(model, "item_feature_values", FR_F32, &n_val, NULL, false);
	fr_check_csr(model, "item_feature", raw.indptr, n_ptr, model->n_items, raw.indices, n_idx, st->n_features);
	fr_check_shape(model, "item_feature_values", n_val, 1, n_idx, 1);
	fr_check_finite(model, "item_feature_values", raw.values, n_val);
	raw.nrows = model->n_items;
	raw.ncols = st->n_features;
	raw.nnz = n_idx;

	/* a set dropped since training has no rows to add: serve what was trained */
	if (st->layout[LAYOUT_SET_DIM] > 0 && model->n_feature_sets > 0 && model->live_token >= 0)
	{
		apply_live_rows(model, st, &raw);
		fr_model_keep(model, "item_factors", FR_F32, model->n_items, st->k, st->item_factors);
		fr_model_keep(model, "item_bias", FR_F32, model->n_items, 1, st->item_bias);
	}
	st->item_norms = fr_item_norms(model, st->item_factors, st->k);
	return st;
}

/* ---- serving --------------------------------------------------------------------- */

static void
fm_score_vector(const FrModel *model, const float *x, float *scores)
{
	const FmState *st = model->state;

	memcpy(scores, st->item_bias, sizeof(float) * model->n_items);
	fr_sgemv(false, model->n_items, st->k, 1.0f, st->item_factors, st->k, x, 1.0f, scores);
}

static void
fm_score_user(const FrModel *model, int32 user, float *scores)
{
	const FmState *st = model->state;

	fm_score_vector(model, st->user_factors + (size_t) user * st->k, scores);
}

/*
 * An anonymous history has no user features: it stands for the mean of its
 * items' vectors, so items near the session's rank first.
 */
static void
fm_score_items(const FrModel *model, const int32 *items, const float *weights, int n, float *scores)
{
	const FmState *st = model->state;
	float	   *x = palloc0(sizeof(float) * st->k);
	double		total = 0.0;

	for (int h = 0; h < n; h++)
		total += weights[h];
	for (int h = 0; h < n && total > 0; h++)
		fr_saxpy(st->k, (float) (weights[h] / total), st->item_factors + (size_t) items[h] * st->k, x);
	fm_score_vector(model, x, scores);
	pfree(x);
}

/* cosine of the item vectors; an item with a zero vector is like nothing */
static void
fm_score_similar(const FrModel *model, int32 item, float *scores)
{
	const FmState *st = model->state;

	fr_item_cosines(model, st->item_factors, st->k, st->item_norms, item, scores);
}

static float
fm_predict(const FrModel *model, int32 user, int32 item)
{
	const FmState *st = model->state;

	return fr_sdot(st->k, st->user_factors + (size_t) user * st->k,
				   st->item_factors + (size_t) item * st->k) + st->item_bias[item];
}

static int32
fm_embedding(const FrModel *model, bool of_user, int32 index, float *out)
{
	const FmState *st = model->state;

	if (out)
		memcpy(out, (of_user ? st->user_factors : st->item_factors) + (size_t) index * st->k,
			   sizeof(float) * st->k);
	return st->k;
}

static void
fm_score_user_items(const FrModel *model, int32 user, const int32 *items, int n, float *scores)
{
	for (int i = 0; i < n; i++)
		scores[i] = fm_predict(model, user, items[i]);
}

/* item bias + user . item, for batch scoring (batch.h) */
static void
fm_factors(const FrModel *model, FrBatchFactors *out)
{
	const FmState *st = model->state;

	out->k = st->k;
	out->user_factors = st->user_factors;
	out->n_items = model->n_items;
	out->item_factors = st->item_factors;
	out->item_bias = st->item_bias;
}

const FrAlgorithm fr_featurefm_algorithm = {
	.name = "featurefm",
	.summary = "feature-aware factorisation (LightFM): users and items as sums of learned feature embeddings, "
	"BPR or WARP by SGD with Adagrad; new items scored from their features",
	.param_specs = fm_specs,
	.params_size = sizeof(FmParams),
	.param_defaults = &fm_defaults,
	.predicts_ratings = false,
	.allows_negative_weights = false,
	.read_catalog = fm_read_catalog,
	.estimate_memory = fm_estimate_memory,
	.train = fm_train,
	.load = fm_load,
	.score_user = fm_score_user,
	.score_items = fm_score_items,
	.score_similar = fm_score_similar,
	.predict = fm_predict,
	.embedding = fm_embedding,
	.score_user_items = fm_score_user_items,
	.factors = fm_factors,
};

/* ---- feature embeddings ------------------------------------------------------------ */

static FrModel *
open_featurefm(FunctionCallInfo fcinfo, int version_arg)
{
	char	   *name;
	FrModel    *model;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL"),
				 errhint("SELECT name FROM fashionrec.models WHERE algorithm = 'featurefm' lists the models with feature embeddings.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	model = fr_model_open(name, PG_ARGISNULL(version_arg) ? 0 : PG_GETARG_INT32(version_arg));
	if (model->algo != &fr_featurefm_algorithm)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is a \"%s\" model, which has no feature embeddings",
						name, model->algo->name),
				 errhint("Feature embeddings are learned by \"featurefm\" models.")));
	return model;
}

/* the named feature's column in the feature space, or -1 */
static int32
find_feature(const FmState *st, const char *feature)
{
	int32		lo = 0,
				hi = st->n_named;

	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int			c = strcmp(st->names[mid], feature);

		if (c == 0)
			return (int32) st->layout[LAYOUT_IDENTITY] + mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static Datum
float_array(const float *v, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(v[i]);
	return PointerGetDatum(construct_array(elems, n, FLOAT4OID, 4, true, TYPALIGN_INT));
}

/*
 * fashionrec.feature_embedding(name text, feature text, version int) returns
 * real[]: a named item feature's learned vector; NULL for an unknown feature
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_embedding);
Datum
fashionrec_feature_embedding(PG_FUNCTION_ARGS)
{
	FrModel    *model = open_featurefm(fcinfo, 2);
	const FmState *st = model->state;
	int32		f;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	f = find_feature(st, text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (f < 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(float_array(st->feature_factors + (size_t) f * st->k, st->k));
}

#define SIMILAR_FEATURES_COLS 3

/*
 * fashionrec.similar_features(name text, feature text, k int, version int)
 * returns table(feature text, similarity real, rank int): the named item
 * features whose embeddings are nearest (cosine), the feature itself left out
 */
PG_FUNCTION_INFO_V1(fashionrec_similar_features);
Datum
fashionrec_similar_features(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FrModel    *model = open_featurefm(fcinfo, 3);
	const FmState *st = model->state;
	int32		k,
				f,
				base = (int32) st->layout[LAYOUT_IDENTITY];
	const float *e;
	float	   *sim;
	uint8	   *skip;
	int32	   *top;
	float	   *top_scores;
	float		norm;
	int			n;
	char	   *feature;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature and k must not be NULL"),
				 errhint("Name a feature as its item_features source wrote it (e.g. 'colour=red') and give k >= 1.")));
	feature = text_to_cstring(PG_GETARG_TEXT_PP(1));
	k = PG_GETARG_INT32(2);
	if (k <= 0 || k > fr_max_k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d, got %d", fr_max_k, k),
				 errhint("fashionrec.max_k sets the limit.")));
	f = find_feature(st, feature);
	if (f < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no item feature \"%s\"", model->name, feature),
				 errhint("Named features are those of its \"item_features\" source.")));

	InitMaterializedSRF(fcinfo, 0);
	e = st->feature_factors + (size_t) f * st->k;
	norm = fr_snrm2(st->k, e);
	sim = palloc(sizeof(float) * Max(st->n_named, 1));
	skip = palloc0(Max(st->n_named, 1));
	top = palloc(sizeof(int32) * Min(k, Max(st->n_named, 1)));
	top_scores = palloc(sizeof(float) * Min(k, Max(st->n_named, 1)));
	for (int32 g = 0; g < st->n_named; g++)
	{
		const float *o = st->feature_factors + (size_t) (base + g) * st->k;
		float		d = norm * fr_snrm2(st->k, o);

		sim[g] = d > 0 ? fr_sdot(st->k, e, o) / d : NAN;
	}
	skip[f - base] = 1;
	n = fr_topk(sim, st->n_named, NULL, 0, skip, Min(k, st->n_named), top, top_scores);
	for (int r = 0; r < n; r++)
	{
		Datum		values[SIMILAR_FEATURES_COLS];
		bool		nulls[SIMILAR_FEATURES_COLS] = {0};

		values[0] = CStringGetTextDatum(st->names[top[r]]);
		values[1] = Float4GetDatum(top_scores[r]);
		values[2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
