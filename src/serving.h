/*
 * serving.h — the serving API's shape, and what every serving SRF does the
 * same way: argument checks, candidate/exclusion filters, and emitting the
 * top k (recommend.c).
 */
#ifndef FR_SERVING_H
#define FR_SERVING_H

#include "fmgr.h"
#include "utils/array.h"

#include "model.h"

/*
 * The serving API (docs/serving.md, "The serving API").  Every serving
 * function starts (name, subject, k); then come, of the options
 *     exclude_seen, candidates, exclude, context, version
 * those that mean something for it, always in that order and under those
 * names; an option of its own (recommend_for_items' weights) comes last.
 * Each enum below is one function's SQL signature read left to right, so a
 * C entry point names every argument it reads, and the shape is frozen in
 * one screen (sql/serving.sql checks the catalog against the same order).
 */
#define FR_ARG_NAME		0
#define FR_ARG_SUBJECT	1		/* user_id, item_id, item_ids, ... */
#define FR_ARG_K		2

/*
 * recommend(name, user_id, k, exclude_seen, candidates, exclude, context,
 *           version, probes, exact)
 */
enum
{
	FR_RECOMMEND_EXCLUDE_SEEN = FR_ARG_K + 1,
	FR_RECOMMEND_CANDIDATES,
	FR_RECOMMEND_EXCLUDE,
	FR_RECOMMEND_CONTEXT,
	FR_RECOMMEND_VERSION,
	FR_RECOMMEND_PROBES,
	FR_RECOMMEND_EXACT,
	FR_RECOMMEND_NARGS
};

/* similar_items(name, item_id, k, candidates, exclude, version, probes, exact) */
enum
{
	FR_SIMILAR_CANDIDATES = FR_ARG_K + 1,
	FR_SIMILAR_EXCLUDE,
	FR_SIMILAR_VERSION,
	FR_SIMILAR_PROBES,
	FR_SIMILAR_EXACT,
	FR_SIMILAR_NARGS
};

/*
 * recommend_for_items(name, item_ids, k, exclude_seen, candidates, exclude,
 *                     context, version, weights, probes, exact)
 */
enum
{
	FR_FOR_ITEMS_EXCLUDE_SEEN = FR_ARG_K + 1,
	FR_FOR_ITEMS_CANDIDATES,
	FR_FOR_ITEMS_EXCLUDE,
	FR_FOR_ITEMS_CONTEXT,
	FR_FOR_ITEMS_VERSION,
	FR_FOR_ITEMS_WEIGHTS,
	FR_FOR_ITEMS_PROBES,
	FR_FOR_ITEMS_EXACT,
	FR_FOR_ITEMS_NARGS
};

/* next_items(name, recent_item_ids, k, exclude_seen, candidates, exclude, version) */
enum
{
	FR_NEXT_EXCLUDE_SEEN = FR_ARG_K + 1,
	FR_NEXT_CANDIDATES,
	FR_NEXT_EXCLUDE,
	FR_NEXT_VERSION,
	FR_NEXT_NARGS
};

/*
 * recommend_all(name, users, k, exclude_seen, candidates, exclude, version,
 *               shard, shards, context): context came after 0.2's shape was
 * frozen, so it is appended rather than put before version, where it would
 * change what 0.2's positional calls mean.
 */
enum
{
	FR_ALL_EXCLUDE_SEEN = FR_ARG_K + 1,
	FR_ALL_CANDIDATES,
	FR_ALL_EXCLUDE,
	FR_ALL_VERSION,
	FR_ALL_SHARD,
	FR_ALL_SHARDS,
	FR_ALL_CONTEXT,
	FR_ALL_NARGS
};

/*
 * recommend_all_into(name, target, k, exclude_seen, candidates, exclude,
 *                    version, shard, shards, workers, context)
 */
enum
{
	FR_INTO_EXCLUDE_SEEN = FR_ARG_K + 1,
	FR_INTO_CANDIDATES,
	FR_INTO_EXCLUDE,
	FR_INTO_VERSION,
	FR_INTO_SHARD,
	FR_INTO_SHARDS,
	FR_INTO_WORKERS,
	FR_INTO_CONTEXT,
	FR_INTO_NARGS
};

/* explain(name, user_id, k, exclude_seen, candidates, exclude, context, version) */
enum
{
	FR_EXPLAIN_EXCLUDE_SEEN = FR_ARG_K + 1,
	FR_EXPLAIN_CANDIDATES,
	FR_EXPLAIN_EXCLUDE,
	FR_EXPLAIN_CONTEXT,
	FR_EXPLAIN_VERSION,
	FR_EXPLAIN_NARGS
};

/* predict(name, user_id, item_id, version) */
enum
{
	FR_PREDICT_ITEM_ID = FR_ARG_SUBJECT + 1,
	FR_PREDICT_VERSION,
	FR_PREDICT_NARGS
};

/* user_embedding(name, user_id, version), item_embedding(name, item_id, version) */
enum
{
	FR_EMBEDDING_VERSION = FR_ARG_SUBJECT + 1,
	FR_EMBEDDING_NARGS
};

#define FR_ABSENT		(-1)	/* an option the function does not take */

/*
 * One function's argument positions (FR_ABSENT for an option it does not
 * take).  recommend.c holds the table: one shape per function for the
 * signatures above, and one for each earlier signature, which a database
 * keeps serving with this library until ALTER EXTENSION fashionrec UPDATE
 * (0.1's SQL names the C symbols without suffix, 0.2's those with _0_2, as
 * pg_stat_statements keeps a symbol per API version).
 */
typedef struct FrServingShape
{
	int			nargs;
	int			subject;
	int			k;
	int			exclude_seen;
	int			candidates;
	int			exclude;
	int			context;
	int			version;
	int			weights;		/* recommend_for_items only */

	/*
	 * The approximate top-k options of 0.3 (recommend, similar_items,
	 * recommend_for_items); 0 when not taken — position 0 is always the
	 * name — so that the shapes written before them need not list them.
	 */
	int			probes;
	int			exact;
} FrServingShape;

extern const FrServingShape fr_recommend_shape;
extern const FrServingShape fr_recommend_shape_0_2;
extern const FrServingShape fr_recommend_shape_0_1;
extern const FrServingShape fr_similar_items_shape;
extern const FrServingShape fr_similar_items_shape_0_2;
extern const FrServingShape fr_similar_items_shape_0_1;
extern const FrServingShape fr_for_items_shape;
extern const FrServingShape fr_for_items_shape_0_2;
extern const FrServingShape fr_for_items_shape_0_1;
extern const FrServingShape fr_next_items_shape;
extern const FrServingShape fr_next_items_shape_0_1;
extern const FrServingShape fr_recommend_all_shape;
extern const FrServingShape fr_recommend_all_shape_0_2;
extern const FrServingShape fr_recommend_all_shape_0_1;
extern const FrServingShape fr_recommend_all_into_shape;
extern const FrServingShape fr_explain_shape;
extern const FrServingShape fr_explain_shape_0_2;
extern const FrServingShape fr_explain_shape_0_1;

/* The common arguments, read and checked. */
typedef struct FrServingArgs
{
	char	   *name;
	int			k;
	bool		exclude_seen;	/* NULL or not taken: true */
	int64	   *candidates;		/* NULL: every item */
	int			n_candidates;
	int64	   *exclude;		/* NULL: none */
	int			n_exclude;
	char	   *context;		/* NULL: none */
	int32		version;		/* 0: the active version */
	int			probes;			/* lists an ANN index probes (fashionrec.ann_probes if not given; 0: the index's default) */
	bool		exact;			/* bypass the version's ANN index */
} FrServingArgs;

/*
 * Read name, k and the options of shape: NULL name or k, k out of range, a
 * version not positive, a malformed array (arrays.h) are errors, raised
 * before any model is opened.
 */
extern void fr_serving_args(FunctionCallInfo fcinfo, const FrServingShape *shape,
							FrServingArgs *args);

/* The model name argument; NULL is an error. */
extern char *fr_arg_name(FunctionCallInfo fcinfo, int argno);
/* k: 1 .. fashionrec.max_k (22023 below, 54000 above, 22004 for NULL). */
extern int	fr_arg_k(FunctionCallInfo fcinfo, int argno);
/*
 * k cut to the model's number of items (at least 1), so that a k anywhere up
 * to fashionrec.max_k allocates no more than the catalogue: every serving
 * function applies it before it allocates its top-k buffers.
 */
extern int	fr_clamp_k(const FrModel *model, int k);
/* An optional version: 0 for NULL or absent, else positive. */
extern int32 fr_arg_version(FunctionCallInfo fcinfo, int argno);

/*
 * Mark the excluded items in skip[], and return the distinct known items of
 * the candidates (NULL: all items; non-NULL with *n_subset = 0 when none is
 * known, so nothing is eligible).
 */
extern int32 *fr_apply_filters(const FrModel *model, const FrServingArgs *args, uint8 *skip,
							   int *n_subset);

/*
 * The scores of args' context into scores[]: false without a context, or for
 * one the model does not know, where the caller scores as without one.  An
 * algorithm that weighs a context with the user (score_in_context) gets
 * what is known of the user: a model user index, else (user -1) the history
 * items[n], and the candidates subset[n_subset] (NULL: none) to score
 * exactly; the others rank by the context alone.  An algorithm that has no
 * contexts refuses one (0A000).
 */
extern bool fr_context_scores(const FrModel *model, const FrServingArgs *args, int32 user,
							  const int32 *items, const float *weights, int n,
							  const int32 *subset, int n_subset, float *scores);

/* The top k of scores as (item_id, score, rank) rows of a materialized SRF. */
extern void fr_emit_topk(FunctionCallInfo fcinfo, const FrModel *model, const float *scores,
						 const int32 *subset, int n_subset, const uint8 *skip, int k);

#endif							/* FR_SERVING_H */
