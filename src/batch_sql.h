/*
 * batch_sql.h — batch scoring in the server (batch_sql.c): blocks of users
 * to top-k lists for recommend_all() and recommend_all_into(), and the
 * shares of users by hash.
 */
#ifndef FR_BATCH_SQL_H
#define FR_BATCH_SQL_H

#include "fmgr.h"

#include "batch.h"
#include "model.h"
#include "serving.h"

/* What scoring a block of users needs, prepared once per call. */
typedef struct FrBatchPlan
{
	FrModel    *model;
	int			k;
	bool		exclude_seen;
	FrBatchFactors f;			/* factor models: the kernel's view */
	const char *context;		/* a context the model knows, or NULL */
	const float *context_scores;	/* its ranking, when it is every user's */
	/* other algorithms, and a context: the filters, and scratch for one user */
	uint8	   *skip;
	int32	   *subset;
	int			n_subset;
	float	   *scores;
	float	   *candidate_scores;	/* candidates_exact algorithms: the subset's scores */
	int32	   *marked;
	/* an unknown user's list: the context's or the popularity ranking after the filters */
	int32	   *popular_items;
	float	   *popular_scores;
	int			n_popular;
} FrBatchPlan;

extern void fr_batch_plan(FrBatchPlan *plan, FrModel *model, const FrServingArgs *args, int k);

/*
 * The top k of n users (model user indices, -1 for an unknown user): k
 * slots per user in items (model item indices) and scores, counts[b] filled.
 */
extern void fr_batch_score(FrBatchPlan *plan, const int32 *users, int n,
						   int32 *items, float *scores, int32 *counts);

/* The share of a user among shards: abs(hashint8(user_id) % shards). */
extern int32 fr_user_shard(int64 user_id, int32 shards);

/* shard and shards arguments: 0 <= shard < shards <= 65536 (22023), not NULL (22004) */
extern void fr_arg_share(FunctionCallInfo fcinfo, int shard_arg, int shards_arg,
						 int32 *shard, int32 *shards);

#endif							/* FR_BATCH_SQL_H */
