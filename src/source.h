/*
 * source.h — reading training interactions from any table, view or query.
 */
#ifndef FR_SOURCE_H
#define FR_SOURCE_H

#include "model.h"

/* The params every training accepts besides the algorithm's own. */
typedef struct FrSourceParams
{
	char	   *user_column;	/* NULL: first column */
	char	   *item_column;	/* NULL: second column */
	char	   *weight_column;	/* NULL: third column if numeric, else 1 */
	char	   *time_column;	/* NULL: fourth column if a time, else none */
	char	   *context_column; /* NULL: none; else returned as text column "context" */
	char	   *interactions;	/* for item-source algorithms: an interaction source */
	int32		min_user_interactions;
	int32		min_item_interactions;
} FrSourceParams;

extern const FrParamSpec fr_source_param_specs[];
extern const FrSourceParams fr_source_param_defaults;

/* What reading the source saw, for validate() and for train()'s refusals. */
typedef struct FrSourceStats
{
	int64		rows;
	int64		null_ids;
	int64		null_weights;
	int64		nonfinite_weights;
	int64		negative_weights;
	int64		null_times;
	int64		future_times;
	int64		duplicate_pairs;
	int64		dropped_users;	/* below min_user_interactions */
	int64		dropped_items;
	int64		outside_items;	/* rows whose item is not in the given item universe */
	bool		has_weight;
	bool		has_time;
} FrSourceStats;

/*
 * Read the source into *data (allocated in CurrentMemoryContext).  Rows with
 * NULL ids or unusable weights are skipped and counted in *stats.  With an
 * item universe (sorted ids), the items are exactly those and interactions
 * with other items are dropped; without, the items are those interacted with.
 */
extern void fr_source_read(const char *source, const FrSourceParams *params,
						   FrTrainData *data, FrSourceStats *stats,
						   const int64 *item_universe, int32 n_universe);

/* A 64-bit fingerprint of the interaction matrix, independent of row order. */
extern uint64 fr_data_checksum(const FrTrainData *data);

/* A table/view name or a query, as a query text. */
extern char *fr_source_sql(const char *source);

/* Result columns of a query after checking it is one read-only SELECT (inside SPI). */
extern TupleDesc fr_source_describe(const char *query);

/* The normalised query fr_source_read() reads (user_id, item_id, weight, event_epoch[, context]). */
extern char *fr_source_typed_query(const char *source, const FrSourceParams *params);

#endif							/* FR_SOURCE_H */
