/*
 * stats.h — serving statistics in shared memory (stats.c).
 *
 * When fashionrec is in shared_preload_libraries, every serving call is
 * counted per (database, model version, function): calls, rows returned,
 * errors, loads (private, into the shared store, attaches) and a latency
 * histogram.  Without preloading the
 * recording is a no-op and the functions serve exactly as before.
 */
#ifndef FR_STATS_H
#define FR_STATS_H

#include "postgres.h"

#include "fmgr.h"

#include "model.h"

/* the serving functions whose calls are counted, in the view's wording */
typedef enum FrStatsFunction
{
	FR_FN_RECOMMEND,
	FR_FN_SIMILAR_ITEMS,
	FR_FN_RECOMMEND_FOR_ITEMS,
	FR_FN_PREDICT,
	FR_FN_RECOMMEND_ALL,
	FR_FN_USER_EMBEDDING,
	FR_FN_ITEM_EMBEDDING,
	FR_FN_COUNT
} FrStatsFunction;

/*
 * Latency histogram: bucket 0 holds calls under 1 microsecond, bucket b
 * (1 .. FR_STATS_BUCKETS - 2) holds [2^((b-1)/8), 2^(b/8)) microseconds,
 * and the last bucket everything from 2^27 us (134 s) up.  Eight buckets per
 * octave bound a percentile's error by half a bucket, about 4.5%.
 */
#define FR_STATS_PER_OCTAVE 8
#define FR_STATS_OCTAVES 27
#define FR_STATS_BUCKETS (FR_STATS_PER_OCTAVE * FR_STATS_OCTAVES + 2)

/* _PG_init: settings, and the shared memory hooks when preloading */
extern void fr_stats_init(void);

/*
 * Runs a serving function's body, timing it and counting the call, its rows
 * and an error if it throws.  fr_model_open() tells which model the body
 * serves and whether it had to load it.
 */
extern Datum fr_stats_call(FrStatsFunction fn, PGFunction body, FunctionCallInfo fcinfo);
/* how fr_model_open() found the version */
typedef enum FrStatsOpen
{
	FR_OPEN_CACHED,				/* in this backend's cache */
	FR_OPEN_LOADED,				/* loaded into this backend's memory */
	FR_OPEN_LOADED_SHARED,		/* loaded into the shared model store */
	FR_OPEN_ATTACHED			/* mapped from the store, loaded by another backend */
} FrStatsOpen;

/* fr_model_open() brackets its work with these two */
extern void fr_stats_open_begin(void);
extern void fr_stats_note_model(const FrModel *model, FrStatsOpen how);

/*
 * Defines the SQL-callable function `sqlname` as its body wrapped in
 * fr_stats_call(); the body follows the macro like a function's braces.
 */
#define FR_SERVING_FUNCTION(sqlname, fn) \
	static Datum sqlname##_body(PG_FUNCTION_ARGS); \
	PG_FUNCTION_INFO_V1(sqlname); \
	Datum \
	sqlname(PG_FUNCTION_ARGS) \
	{ \
		return fr_stats_call(fn, sqlname##_body, fcinfo); \
	} \
	static Datum \
	sqlname##_body(PG_FUNCTION_ARGS)

#endif							/* FR_STATS_H */
