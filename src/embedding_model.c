/*
 * embedding_model.c — the "embedding" algorithm: externally computed item
 * vectors (CNN or CLIP image embeddings, text embeddings, colour
 * histograms) as a content model.
 *
 * An item-source algorithm (model.h, read_items): its source returns
 * (item_id, vector) with vector real[] or float8[] (or anything castable to
 * real[], such as pgvector's vector).  Every row is validated — one dimension
 * for all, no NULLs, no NaN or infinity, no duplicate ids — and, unless
 * "normalize" is false, scaled to unit length, so that serving is one
 * matrix-vector product (fr_sgemv) over the stored dense float32 matrix:
 *
 *   similar_items        cosine to the item's vector
 *   recommend_for_items  cosine to the normalised mean of the given items
 *   recommend            the same for the user's items from the optional
 *                        "interactions" source; unknown users get popularity
 *
 * Artifact: "embedding", n_items x dimension float32, rows in item-id order.
 * item_embedding() returns an item's row, user_embedding() a user's profile.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/regproc.h"

#include "arrays.h"
#include "fashionrec.h"
#include "linalg.h"
#include "model.h"
#include "source.h"

/* pgvector's limit for an indexed vector; more is surely a mistake */
#define EMBEDDING_MAX_DIMENSION 16000
/* rows per fetch: 256 rows of 16000 doubles are 32 MB of tuples at most */
#define EMBEDDING_FETCH_ROWS	256

typedef struct EmbeddingParams
{
	bool		normalize;
} EmbeddingParams;

static const FrParamSpec embedding_specs[] = {
	{"normalize", FR_PARAM_BOOL, offsetof(EmbeddingParams, normalize)},
	{NULL}
};

static const EmbeddingParams embedding_defaults = {
	.normalize = true,
};

/* what read_items() read; also the serving state */
typedef struct Embeddings
{
	int32		n;
	int32		dim;
	float	   *vectors;		/* n x dim, rows in ascending item-id order */
} Embeddings;

/* ---- reading the source ------------------------------------------------- */

static bool
is_integer_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

/*
 * Wrap the source so that PostgreSQL casts the columns: (int8, float8[]).
 * Numeric arrays cast to float8[] directly; other types (pgvector's vector,
 * halfvec) go through real[], which they cast to.
 */
static char *
typed_query(const char *query)
{
	TupleDesc	desc;
	Oid			idtype,
				vectype,
				elemtype;
	StringInfoData buf;

	desc = fr_source_describe(query);

	if (desc->natts < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("embedding source has %d column, expected (item_id, vector)", desc->natts),
				 errhint("Return the item id first and its vector (real[] or float8[]) second.")));
	idtype = TupleDescAttr(desc, 0)->atttypid;
	vectype = TupleDescAttr(desc, 1)->atttypid;
	if (!is_integer_type(idtype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("item ids must be integers, got %s", format_type_be(idtype)),
				 errhint("The first column is the item id; cast it or map text keys to bigint ids first.")));
	/* a domain over real[] is a real[] */
	elemtype = get_element_type(getBaseType(vectype));
	if (elemtype != FLOAT8OID && elemtype != FLOAT4OID && elemtype != NUMERICOID &&
		!is_integer_type(elemtype))
	{
		Oid			castfunc;

		/* a type with a real cast to real[] (pgvector's vector); not via text */
		if (OidIsValid(elemtype) ||
			find_coercion_pathway(FLOAT4ARRAYOID, vectype, COERCION_EXPLICIT,
								  &castfunc) != COERCION_PATH_FUNC)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("vectors must be real[] or float8[], got %s", format_type_be(vectype)),
					 errhint("The second column is the item's vector; cast it in the source query.")));
	}

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT s.c1::pg_catalog.int8, s.c2");
	if (elemtype == FLOAT8OID)
		;
	else if (OidIsValid(elemtype))
		appendStringInfoString(&buf, "::pg_catalog.float8[]");
	else
		appendStringInfoString(&buf, "::pg_catalog.float4[]::pg_catalog.float8[]");
	appendStringInfo(&buf, " FROM (%s\n) AS s(", query);
	for (int i = 0; i < desc->natts; i++)
		appendStringInfo(&buf, "%sc%d", i ? ", " : "", i + 1);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * One row's vector into out[dim], refusing what cannot be a vector; with out
 * NULL, only the dimension checks (for the first row, which sets it).
 */
static int
read_vector(Datum d, int64 id, int expect_dim, int64 first_id, float *out)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	float8	   *v;
	int			dim;

	if (ARR_NDIM(arr) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("embedding of item %lld is empty", (long long) id)));
	/* refused in the words of every array argument (arrays.h), named by its item */
	if (ARR_NDIM(arr) != 1 || ARR_HASNULL(arr))
		fr_check_array(arr, FLOAT8OID, psprintf("embedding of item %lld", (long long) id), false);
	dim = ARR_DIMS(arr)[0];
	if (dim > EMBEDDING_MAX_DIMENSION)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("embedding of item %lld has %d dimensions, more than the %d allowed",
						(long long) id, dim, EMBEDDING_MAX_DIMENSION)));
	if (expect_dim > 0 && dim != expect_dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("embedding of item %lld has %d dimensions, expected %d",
						(long long) id, dim, expect_dim),
				 errdetail("Item %lld, read first, has %d; every item needs the same dimension.",
						   (long long) first_id, expect_dim)));
	if (out == NULL)
		return dim;

	v = (float8 *) ARR_DATA_PTR(arr);
	for (int j = 0; j < dim; j++)
	{
		/* no NULLs (checked above): the values are stored densely, v[j] is element j */
		if (!isfinite(v[j]) || fabs(v[j]) > FLT_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("embedding of item %lld has %s at position %d", (long long) id,
							isnan(v[j]) ? "NaN" : isinf(v[j]) ? "an infinite value" :
							"a value out of range for real", j + 1),
					 errhint("Filter or repair the vectors in the source query.")));
		out[j] = (float) v[j];
	}
	if ((Pointer) arr != DatumGetPointer(d))
		pfree(arr);
	return dim;
}

static int
cmp_index_by_id(const void *a, const void *b, void *arg)
{
	const int64 *ids = arg;
	int64		x = ids[*(const int32 *) a];
	int64		y = ids[*(const int32 *) b];

	return x < y ? -1 : x > y;
}

static void *
embedding_read_items(const char *source, const void *params_in,
					 int64 **item_ids, int32 *n_items)
{
	const EmbeddingParams *params = params_in;
	MemoryContext caller = CurrentMemoryContext;
	char	   *query = fr_source_sql(source);
	Portal		portal;
	int64		n = 0,
				cap = 0;
	int			dim = 0;
	int64		first_id = 0;
	int64	   *ids = NULL;
	float	   *vecs = NULL;
	int32	   *order;
	Embeddings *e;

	SPI_connect();
	query = typed_query(query);
	portal = SPI_cursor_open_with_args(NULL, query, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, EMBEDDING_FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		idnull,
						vnull;
			Datum		id = SPI_getbinval(tup, desc, 1, &idnull);
			Datum		vec = SPI_getbinval(tup, desc, 2, &vnull);

			if (idnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("embedding source has a NULL item id"),
						 errhint("Filter it out in the source query (WHERE item_id IS NOT NULL).")));
			if (vnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("embedding of item %lld is NULL", (long long) DatumGetInt64(id)),
						 errhint("Filter items without a vector out in the source query.")));
			if (n == 0)
			{
				dim = read_vector(vec, DatumGetInt64(id), 0, 0, NULL);
				first_id = DatumGetInt64(id);
			}
			if (n == cap)
			{
				int64		newcap = cap ? cap * 2 : 1024;

				if (newcap > PG_INT32_MAX - 1)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("embedding source has more than %d items", PG_INT32_MAX - 1)));
				fr_check_memory(mul_size(newcap, mul_size(dim, sizeof(float)) + sizeof(int64)),
								"reading the embeddings");
				if (cap == 0)
				{
					ids = MemoryContextAllocHuge(caller, newcap * sizeof(int64));
					vecs = MemoryContextAllocHuge(caller, mul_size(newcap, mul_size(dim, sizeof(float))));
				}
				else
				{
					ids = repalloc_huge(ids, newcap * sizeof(int64));
					vecs = repalloc_huge(vecs, mul_size(newcap, mul_size(dim, sizeof(float))));
				}
				cap = newcap;
			}
			ids[n] = DatumGetInt64(id);
			read_vector(vec, ids[n], dim, first_id, vecs + n * dim);
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();

	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embedding source returned no rows"),
				 errhint("The source must return (item_id, vector) for at least one item.")));

	/* rows in ascending id order, as the model's item indices are */
	order = palloc_extended(mul_size(n, sizeof(int32)), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		order[i] = (int32) i;
	qsort_arg(order, n, sizeof(int32), cmp_index_by_id, ids);
	for (int64 i = 1; i < n; i++)
		if (ids[order[i]] == ids[order[i - 1]])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("embedding source has item %lld more than once", (long long) ids[order[i]]),
					 errhint("Give each item one vector, e.g. SELECT DISTINCT ON (item_id) ... ORDER BY item_id, computed_at DESC.")));

	/* rows into id order in place, following the permutation's cycles */
	{
		float	   *tmp = palloc(sizeof(float) * dim);
		bool	   *done = palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		size_t		row = sizeof(float) * dim;

		for (int64 start = 0; start < n; start++)
		{
			int64		j = start;

			if (done[start])
				continue;
			memcpy(tmp, vecs + start * dim, row);
			for (;;)
			{
				int64		k = order[j];

				done[j] = true;
				if (k == start)
				{
					memcpy(vecs + j * dim, tmp, row);
					break;
				}
				memcpy(vecs + j * dim, vecs + k * dim, row);
				j = k;
			}
		}
		pfree(tmp);
		pfree(done);
	}

	e = palloc0(sizeof(Embeddings));
	e->n = (int32) n;
	e->dim = dim;
	e->vectors = vecs;
	*item_ids = palloc_extended(mul_size(n, sizeof(int64)), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
	{
		float	   *dst = e->vectors + i * dim;

		(*item_ids)[i] = ids[order[i]];
		if (params->normalize)
		{
			float		norm = fr_snrm2(dim, dst);

			if (!(norm > 0) || !isfinite(norm))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("embedding of item %lld has length %g and cannot be normalised",
								(long long) (*item_ids)[i], norm),
						 errhint("Filter all-zero vectors out of the source, or train with '{\"normalize\": false}'.")));
			for (int j = 0; j < dim; j++)
				dst[j] /= norm;
		}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(ids);
	pfree(order);
	*n_items = (int32) n;
	return e;
}

/* ---- training and serving ----------------------------------------------- */

static void
embedding_train(FrTrainJob *job)
{
	const Embeddings *e = job->items;
	const EmbeddingParams *params = job->params;

	if (e == NULL || e->n != job->data->n_items)
		elog(ERROR, "embedding training without its items");
	fr_artifact_put(job->model_id, "embedding", FR_F32, e->n, e->dim, e->vectors);
	fr_info_add_int(job, "dimension", e->dim);
	fr_info_add_int(job, "normalized", params->normalize ? 1 : 0);
}

static void *
embedding_load(FrModel *model)
{
	Embeddings *e = palloc0(sizeof(Embeddings));
	int64		nrows;
	int32		ncols;

	e->vectors = fr_model_artifact(model, "embedding", FR_F32, &nrows, &ncols, false);
	if (ncols < 1 || ncols > EMBEDDING_MAX_DIMENSION)
		fr_artifact_corrupt(model, "embedding", "Its dimension is %d; it must be from 1 to %d.",
							ncols, EMBEDDING_MAX_DIMENSION);
	fr_check_shape(model, "embedding", nrows, ncols, model->n_items, ncols);
	/* one NaN vector in a profile makes every cosine NaN */
	fr_check_finite(model, "embedding", e->vectors, nrows * ncols);
	e->n = model->n_items;
	e->dim = ncols;
	return e;
}

/* The unit-length weighted mean of some items' vectors into profile[dim]. */
static void
profile_of(const Embeddings *e, const int32 *items, const float *weights, int n, float *profile)
{
	float		norm;

	memset(profile, 0, sizeof(float) * e->dim);
	for (int i = 0; i < n; i++)
		fr_saxpy(e->dim, weights ? weights[i] : 1.0f,
				 e->vectors + (int64) items[i] * e->dim, profile);
	norm = fr_snrm2(e->dim, profile);
	if (norm > 0)
		for (int j = 0; j < e->dim; j++)
			profile[j] /= norm;
}

static void
embedding_fold_in_vector(const FrModel *model, const int32 *items,
						 const float *weights, int n, float *profile)
{
	profile_of(model->state, items, weights, n, profile);
}

static void
embedding_score_items(const FrModel *model, const int32 *items,
					  const float *weights, int n, float *scores)
{
	const Embeddings *e = model->state;
	float	   *profile = palloc(sizeof(float) * e->dim);

	profile_of(e, items, weights, n, profile);
	fr_sgemv(false, e->n, e->dim, 1.0f, e->vectors, e->dim, profile, 0.0f, scores);
	pfree(profile);
}

static void
embedding_score_user(const FrModel *model, int32 user, float *scores)
{
	int64		lo = model->seen_indptr[user];
	int64		hi = model->seen_indptr[user + 1];

	embedding_score_items(model, model->seen_indices + lo, NULL, (int) (hi - lo), scores);
}

static void
embedding_score_similar(const FrModel *model, int32 item, float *scores)
{
	const Embeddings *e = model->state;

	fr_sgemv(false, e->n, e->dim, 1.0f, e->vectors, e->dim,
			 e->vectors + (int64) item * e->dim, 0.0f, scores);
}

static void
user_profile(const FrModel *model, int32 user, float *profile)
{
	int64		lo = model->seen_indptr[user];

	profile_of(model->state, model->seen_indices + lo, NULL,
			   (int) (model->seen_indptr[user + 1] - lo), profile);
}

/* candidates only: one dot product per candidate instead of the catalog */
static void
embedding_score_user_items(const FrModel *model, int32 user,
						   const int32 *items, int n, float *scores)
{
	const Embeddings *e = model->state;
	float	   *profile = palloc(sizeof(float) * e->dim);

	user_profile(model, user, profile);
	for (int i = 0; i < n; i++)
		scores[i] = fr_sdot(e->dim, profile, e->vectors + (int64) items[i] * e->dim);
	pfree(profile);
}

static float
embedding_predict(const FrModel *model, int32 user, int32 item)
{
	float		score;

	embedding_score_user_items(model, user, &item, 1, &score);
	return score;
}

/* an item's stored vector; a user's is the profile recommend() scores with */
static int32
embedding_vector(const FrModel *model, bool of_user, int32 index, float *out)
{
	const Embeddings *e = model->state;

	if (out == NULL)
		return e->dim;
	if (of_user)
		user_profile(model, index, out);
	else
		memcpy(out, e->vectors + (int64) index * e->dim, sizeof(float) * e->dim);
	return e->dim;
}

const FrAlgorithm fr_embedding_algorithm = {
	.name = "embedding",
	.summary = "externally computed item vectors (image/text embeddings, colour histograms): cosine similarity; "
	"source (item_id, vector), user profiles from the \"interactions\" parameter",
	.param_specs = embedding_specs,
	.params_size = sizeof(EmbeddingParams),
	.param_defaults = &embedding_defaults,
	.read_items = embedding_read_items,
	.train = embedding_train,
	.load = embedding_load,
	.score_user = embedding_score_user,
	.score_items = embedding_score_items,
	.score_similar = embedding_score_similar,
	.predict = embedding_predict,
	.embedding = embedding_vector,
	.score_user_items = embedding_score_user_items,
	.fold_in_vector = embedding_fold_in_vector,
};
