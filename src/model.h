/*
 * model.h — what every recommendation algorithm plugs into.
 *
 * An algorithm is a table of callbacks (FrAlgorithm).  train() turns the
 * interaction matrix into named binary artifacts stored in the registry;
 * load() turns those artifacts back into in-memory state for serving; the
 * score_* callbacks fill a dense score vector over all items, which the
 * serving path (recommend.c) filters and ranks.  Everything generic —
 * reading the source, id maps, "seen" items, popularity fallback, caching,
 * versions — lives outside the algorithm files.
 *
 * Indices: users and items are dense int32 indices into the sorted bigint id
 * arrays of the model (index i <-> id ids[i]).
 */
#ifndef FR_MODEL_H
#define FR_MODEL_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "batch.h"
#include "csr.h"

/* ---- parameters ------------------------------------------------------- */

typedef enum FrParamType
{
	FR_PARAM_INT,				/* int32 field */
	FR_PARAM_REAL,				/* double field */
	FR_PARAM_BOOL,				/* bool field */
	FR_PARAM_CHOICE,			/* int32 field: index into choices[] */
	FR_PARAM_TEXT				/* char * field, palloc'd */
} FrParamType;

typedef struct FrParamSpec
{
	const char *key;
	FrParamType type;
	size_t		offset;			/* offsetof() in the algorithm's params struct */
	double		min;			/* inclusive bounds for INT and REAL */
	double		max;
	const char *const *choices; /* NULL-terminated, for CHOICE */
} FrParamSpec;

/* ---- training --------------------------------------------------------- */

typedef struct FrTrainData
{
	int32		n_users;
	int32		n_items;
	int64	   *user_ids;		/* ascending; index = dense user index */
	int64	   *item_ids;		/* ascending; index = dense item index */
	FrCsr		ui;				/* users x items, duplicate rows summed */
	FrCsr		iu;				/* items x users */
	double	   *times;			/* latest epoch seconds per ui entry, or NULL */
	double		max_time;		/* latest time in the data (0 without times) */
	float		min_weight;		/* observed range of the summed weights */
	float		max_weight;
	int64		rows_read;
} FrTrainData;

typedef struct FrAlgorithm FrAlgorithm;

typedef struct FrTrainJob
{
	int64		model_id;
	const FrAlgorithm *algo;
	const FrTrainData *data;
	const void *params;			/* the algorithm's parsed params struct */
	const char *source_query;	/* the normalised source (source.c), for a second pass */
	void	   *items;			/* what read_items() or read_catalog() returned */
	bool		has_context;	/* source_query has a "context" column */
	const char *context_column; /* its name in the source, for messages and other sources */
	JsonbParseState *info;		/* algorithm facts for the registry (e.g. final loss) */
} FrTrainJob;

/* ---- serving ---------------------------------------------------------- */

typedef struct FrModel
{
	int64		model_id;
	int32		version;
	char		name[NAMEDATALEN];
	const FrAlgorithm *algo;
	MemoryContext cxt;			/* everything below lives here */
	int32		n_users;
	int32		n_items;
	int64	   *user_ids;
	int64	   *item_ids;
	int64	   *seen_indptr;	/* training items of each user: CSR without values */
	int32	   *seen_indices;
	float	   *item_popularity;	/* summed training weight per item: the cold-start fallback */
	void	   *state;			/* what algo->load returned */
	double		load_ms;

	/*
	 * Feature sets (feature store) the model reads live, from its info's
	 * "feature_sets", and the sum of their generations when it was loaded:
	 * a cached model whose sets have moved on is loaded again, so items
	 * added or changed since training are served without retraining.
	 */
	int32		n_feature_sets;
	int32	   *feature_sets;
	int64		live_token;

	/*
	 * The shared model store (store.c): the version this model maps, NULL
	 * for a private copy; and while it loads, how its arrays are treated
	 * (recorded for the store, or taken from the mapping: model.c).
	 */
	struct FrStoreRef *store;
	struct FrModelShare *share;
	int64		hits;			/* calls served from this backend's cache */
	TimestampTz loaded_at;

	/*
	 * The approximate top-k index (ann.c), NULL when the version has none.
	 * ann_build counts the builds of it (info's "ann"."build"): build_ann()
	 * adds an index to a version that may already be cached and shared, so
	 * the build is part of the cache and store keys.
	 */
	int32		ann_build;
	struct FrAnn *ann;
} FrModel;

struct FrAlgorithm
{
	const char *name;
	const char *summary;
	const FrParamSpec *param_specs; /* terminated by an entry with key NULL */
	size_t		params_size;
	const void *param_defaults; /* a params struct holding the defaults */
	bool		predicts_ratings;	/* evaluate() reports RMSE/MAE */
	bool		allows_negative_weights;
	bool		uses_context;	/* accepts the context_column source parameter */

	/*
	 * Item-source algorithms (content models) read a source of item features
	 * rather than interactions: read_items() returns the sorted item ids —
	 * the model's items, the catalog — and keeps what it read in the state it
	 * returns, which train() finds in job->items.  Interactions, for user
	 * profiles and "seen" items, come from the optional "interactions"
	 * parameter, restricted to those items.  NULL for interaction algorithms.
	 */
	void	   *(*read_items) (const char *source, const void *params,
							   int64 **item_ids, int32 *n_items);
	/*
	 * Interaction algorithms whose items are a catalog described apart from
	 * the interactions (featurefm's item features): read_catalog() returns
	 * the catalog's sorted item ids, read as the caller, and keeps what it
	 * read in the state it returns (job->items).  The model's items are then
	 * exactly the catalog, items without interactions included; interactions
	 * with other items are dropped.  With *n_items = 0 the items are those
	 * interacted with, as without the callback.  NULL for the others.
	 */
	void	   *(*read_catalog) (const void *params, int64 **item_ids, int32 *n_items);
	/* bytes the training will allocate beyond the loaded data */
	size_t		(*estimate_memory) (const FrTrainData *data, const void *params);
	/* fit and store artifacts with fr_artifact_put() */
	void		(*train) (FrTrainJob *job);
	/* read artifacts with fr_artifact_get() in CurrentMemoryContext */
	void	   *(*load) (FrModel *model);
	/* scores[n_items] for a known user */
	void		(*score_user) (const FrModel *model, int32 user, float *scores);
	/* scores[n_items] for an ad-hoc history (fold-in); NULL if unsupported */
	void		(*score_items) (const FrModel *model, const int32 *items,
								const float *weights, int n, float *scores);
	/* scores[n_items] of similarity to one item; NULL if unsupported */
	void		(*score_similar) (const FrModel *model, int32 item, float *scores);
	/*
	 * scores[n_items] for a context value (e.g. a season) instead of the
	 * user's; false when the model has no such context.  NULL if unsupported.
	 */
	bool		(*score_context) (const FrModel *model, const char *context, float *scores);
	/*
	 * scores[n_items] for a user in a context, the context weighed together
	 * with what is known of the user: a known user's index (user >= 0), else
	 * a folded-in history (items, weights, n; n = 0 for none).  The call's
	 * candidates (exact[n_exact], or NULL) must get exact scores where an
	 * algorithm scores some items only approximately.  False for a context
	 * the model does not know.  NULL: score_context replaces the user's
	 * scores.
	 */
	bool		(*score_in_context) (const FrModel *model, int32 user, const int32 *items,
									 const float *weights, int n, const char *context,
									 const int32 *exact, int n_exact, float *scores);
	/* one predicted score or rating; NULL means score_user's value */
	float		(*predict) (const FrModel *model, int32 user, int32 item);

	/*
	 * The user's or item's dense vector (factor models, embeddings): with out
	 * NULL returns the dimension only; 0 when there is none.  NULL if the
	 * algorithm has no embeddings.
	 */
	int32		(*embedding) (const FrModel *model, bool of_user, int32 index, float *out);
	/*
	 * scores[i] for the n given items only, of a known user: candidate lists
	 * without scoring the catalog.  NULL: score_user is used.
	 */
	void		(*score_user_items) (const FrModel *model, int32 user,
									 const int32 *items, int n, float *scores);
	/*
	 * score_user ranks some items only approximately (a learned fusion's
	 * pool) and score_user_items scores its items exactly: candidates go
	 * through score_user_items however many they are.
	 */
	bool		candidates_exact;
	/*
	 * A factor model's arrays as batch scoring reads them (batch.h): the
	 * factors, k, and the biases and constant its score_user adds; the item
	 * rows and seen lists are the caller's.  NULL for other algorithms,
	 * which batch scoring serves with score_user once per user.
	 */
	void		(*factors) (const FrModel *model, FrBatchFactors *out);

	/*
	 * Approximate top-k (ann.c) serves an algorithm whose scores are inner
	 * products with the items' embedding() vectors: score_user's with the
	 * user's vector, score_items' with the vector this writes (embedding
	 * dimension) for the same history, score_similar's with the item's own —
	 * or, with similar_cosine, their cosine.  NULL: no index for it.
	 */
	void		(*fold_in_vector) (const FrModel *model, const int32 *items,
								   const float *weights, int n, float *out);
	bool		similar_cosine;
};

/* model.c: the oid of fashionrec.model (store keys) */
extern Oid fr_model_catalog_relid(void);

/* features_model.c: a feature set's id, generation, vocabulary version, dimension */
extern void fr_feature_set_base(const char *name, int64 *base);

/* algorithms.c */
extern const FrAlgorithm *fr_algorithm_lookup(const char *name, bool missing_ok);
extern const char *fr_algorithm_names(void);

/* params.c: fills out (params_size bytes, defaults first), errors name the key */
extern void fr_params_parse(Jsonb *params, const char *algorithm,
							const FrParamSpec *specs, void *out,
							const FrParamSpec *extra_specs, void *extra_out);
extern void fr_info_add_real(FrTrainJob *job, const char *key, double value);
extern void fr_info_add_int(FrTrainJob *job, const char *key, int64 value);
extern void fr_info_add_int_array(FrTrainJob *job, const char *key, const int32 *values, int n);

/* artifact.c: named binary arrays of a model version */
typedef enum FrDtype
{
	FR_F32 = 'f',
	FR_F64 = 'd',
	FR_I32 = 'i',
	FR_I64 = 'l',
	FR_BYTES = 'b'
} FrDtype;

extern size_t fr_dtype_size(FrDtype dtype);
extern void fr_artifact_put(int64 model_id, const char *name, FrDtype dtype,
							int64 nrows, int32 ncols, const void *data);
/* palloc'd in CurrentMemoryContext; nrows and ncols may be NULL; errors if absent unless missing_ok */
extern void *fr_artifact_get(int64 model_id, const char *name, FrDtype dtype,
							 int64 *nrows, int32 *ncols, bool missing_ok);

/* model.c: cached models */
extern FrModel *fr_model_open(const char *name, int32 version);

/*
 * From this many items a catalogue's per-call scratch is given back to the
 * system at the end of the transaction that served it (model.c, scratch.c),
 * so that an idle connection does not keep megabytes of it.
 */
#define FR_TRIM_ITEMS 250000
/*
 * A model row's training profile without its algorithm's state: the id maps,
 * popularity and, with_seen, the "seen" lists, checked as a load checks them
 * (drift.c reads these).  In CurrentMemoryContext.
 */
extern FrModel *fr_model_open_profile(int64 model_id, bool with_seen);

/*
 * A version by row id, whatever its status, loaded privately (no cache, no
 * shared store) and without its ANN index: what build_ann() reads the item
 * vectors from.  Free it with MemoryContextDelete(model->cxt).
 */
extern FrModel *fr_model_open_private(int64 model_id);

/*
 * model.c: what a loader derives at load, built once per server.  With the
 * shared store, a version is loaded by one backend, which records every
 * array the loader keeps (the artifacts it reads, and what it derives and
 * passes to fr_model_keep()); every other backend runs the loader again in
 * attach mode, where artifacts come from the mapping and derived arrays
 * from fr_model_derived(), and skips the work that built them.  A loader
 * must never write into an array it read: attached, it is shared and
 * read-only.
 */
/* true while the loader runs against a shared copy: build nothing, take what was kept */
extern bool fr_model_attaching(const FrModel *model);
/* Attaching: the kept array of that name (its shape in nrows/ncols when given); otherwise NULL. */
extern void *fr_model_derived(const FrModel *model, const char *name, int64 *nrows, int32 *ncols);
/*
 * An array the loader built and serves from: the shared copy holds it under
 * name (replacing an artifact of the same name, which it then stands for).
 * A no-op for a private load.
 */
extern void fr_model_keep(FrModel *model, const char *name, FrDtype dtype,
						  int64 nrows, int32 ncols, const void *data);
/* Euclidean norms of the n_items rows of factors (k columns), for cosine similarity: kept */
extern float *fr_item_norms(FrModel *model, const float *factors, int32 k);
/* scores[n_items]: cosine of each item's factors with item's; NaN for a zero vector */
extern void fr_item_cosines(const FrModel *model, const float *factors, int32 k, const float *norms,
							int32 item, float *scores);
/* artifact.c: a read of the loading model's artifact, served from or recorded for the store */
extern bool fr_model_share_read(int64 model_id, const char *name, FrDtype dtype,
								int64 *nrows, int32 *ncols, void **data);
extern void fr_model_share_note(int64 model_id, const char *name, FrDtype dtype,
								int64 nrows, int32 ncols, const void *data);
/*
 * The user's history stored by refresh_user() for this version: its item ids
 * and weights as stored, read under the statement's snapshot; false when
 * there is none.  In CurrentMemoryContext.
 */
extern bool fr_model_refreshed(const FrModel *model, int64 user_id, ArrayType **item_ids,
							   ArrayType **weights);
extern int32 fr_model_user_index(const FrModel *model, int64 user_id);
extern int32 fr_model_item_index(const FrModel *model, int64 item_id);
extern void fr_model_remap_items(FrModel *model, int64 *item_ids, int32 n_items,
								 const int32 *old_to_new);
extern void fr_model_add_users(FrModel *model, const int64 *user_ids, int32 n_users,
							   int32 *origin);

/*
 * model.c: reading a model's artifacts while it loads, and the checks every
 * loader runs on them before serving indexes with them (artifact_check.c).
 * A failed check is ERRCODE_DATA_CORRUPTED naming the model, its version and
 * the artifact: a damaged or tampered model is refused, never served.
 */
/* fr_artifact_get() for this model; ncols NULL: the artifact must be a vector */
extern void *fr_model_artifact(const FrModel *model, const char *artifact, FrDtype dtype,
							   int64 *nrows, int32 *ncols, bool missing_ok);
extern void fr_artifact_corrupt(const FrModel *model, const char *artifact,
								const char *detail_fmt,...) pg_attribute_printf(3, 4) pg_attribute_noreturn();
/* nrows x ncols as expected; want_cols < 0: any number of columns */
extern void fr_check_shape(const FrModel *model, const char *artifact, int64 nrows, int32 ncols,
						   int64 want_rows, int32 want_cols);
/* CSR offsets of n_rows rows (indptr_len entries) into nnz entries */
extern void fr_check_offsets(const FrModel *model, const char *artifact, const int64 *indptr,
							 int64 indptr_len, int64 n_rows, int64 nnz);
/* "<prefix>_indptr" (indptr_len entries) and "<prefix>_indices" of an n_rows x n_cols CSR matrix */
extern void fr_check_csr(const FrModel *model, const char *prefix, const int64 *indptr, int64 indptr_len,
						 int64 n_rows, const int32 *indices, int64 nnz, int32 n_cols);
/* indices[n] in lo .. bound - 1 (lo -1 where -1 means "absent"), strictly ascending if asked */
extern void fr_check_index_array(const FrModel *model, const char *artifact, const int32 *indices,
								 int64 n, int32 lo, int32 bound, bool ascending);
extern void fr_check_ids(const FrModel *model, const char *artifact, const int64 *ids, int64 n);
extern void fr_check_finite(const FrModel *model, const char *artifact, const float *values, int64 n);
extern void fr_check_finite_f64(const FrModel *model, const char *artifact, const double *values, int64 n);
/* one stored setting (a double) in lo .. hi, a whole number if integral */
extern void fr_check_setting(const FrModel *model, const char *artifact, const char *setting,
							 double value, double lo, double hi, bool integral);

/* budget checks against fashionrec.max_memory */
extern void fr_check_memory(size_t bytes, const char *what);

/*
 * artifact.c: refuse (0A000) a version whose artifacts this library cannot
 * read as written — another artifact format or byte order — before loading it.
 */
extern void fr_check_artifact_format(int64 model_id, const char *name, int32 version);

#endif							/* FR_MODEL_H */
