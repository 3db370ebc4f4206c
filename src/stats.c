/*
 * stats.c — serving statistics in shared memory, the pg_stat_statements way.
 *
 * Preloaded (shared_preload_libraries = 'fashionrec'), the module reserves a
 * fixed hash table in shared memory keyed by (database, model row id, serving
 * function).  Each entry counts calls, rows returned, errors and cache loads
 * and keeps a latency histogram with fixed log-spaced buckets (stats.h), from
 * which the view computes percentiles.  Recording a call costs two clock reads,
 * a shared LWLock, a hash probe and a spinlock: no SPI, no palloc, so the
 * serving path stays as fast as before (test/bench/stats_overhead.sh).
 *
 * Not preloaded, there is no shared memory to write to: recording is a no-op
 * and fashionrec.serving_stats says that statistics are off.  Counters live
 * until the server stops or reset_serving_stats() removes them;
 * snapshot_stats() (src/sql/70_monitoring.sql) keeps their history in a table.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "arrays.h"
#include "fashionrec.h"
#include "stats.h"

static const char *const function_names[FR_FN_COUNT] = {
	"recommend", "similar_items", "recommend_for_items", "predict",
	"recommend_all", "user_embedding", "item_embedding"
};

typedef struct FrStatsKey
{
	Oid			dbid;
	int32		fn;				/* FrStatsFunction */
	int64		model_id;		/* 0: the call failed before a model was found */
} FrStatsKey;

typedef struct FrStatsEntry
{
	FrStatsKey	key;			/* hash key: must be first */
	slock_t		mutex;			/* protects everything below */
	int32		version;
	char		name[NAMEDATALEN];
	TimestampTz since;
	uint64		last_used_us;	/* monotonic clock, for eviction */
	int64		calls;
	int64		rows;
	int64		errors;
	int64		cache_loads;	/* into a backend's private memory */
	int64		shared_loads;	/* into the shared model store */
	int64		attaches;		/* mapped from the store */
	double		total_us;
	double		max_us;
	double		load_us;
	int64		hist[FR_STATS_BUCKETS];
} FrStatsEntry;

typedef struct FrStatsShared
{
	LWLock	   *lock;			/* exclusive to add or remove entries */
	TimestampTz reset_at;
	int64		evicted;
} FrStatsShared;

/* the call being served, for fr_stats_note_model() */
typedef struct FrStatsCall
{
	instr_time	start;
	int64		model_id;
	int32		version;
	char		name[NAMEDATALEN];	/* copied: opening a component may evict the model */
	int			open_depth;		/* fr_model_open() calls in progress */
	bool		attributed;
	int			loads;
	int			shared_loads;
	int			attaches;
	double		load_ms;
} FrStatsCall;

static bool fr_track_serving = true;
static int	fr_stats_max = 1000;

static FrStatsShared *shared = NULL;
static HTAB *stats_hash = NULL;
static FrStatsCall *current_call = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
stats_memsize(void)
{
	return add_size(MAXALIGN(sizeof(FrStatsShared)),
					hash_estimate_size(fr_stats_max, sizeof(FrStatsEntry)));
}

static void
stats_shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(stats_memsize());
	RequestNamedLWLockTranche("fashionrec", 1);
}

static void
stats_shmem_startup(void)
{
	HASHCTL		info;
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("fashionrec serving stats", sizeof(FrStatsShared), &found);
	if (!found)
	{
		shared->lock = &(GetNamedLWLockTranche("fashionrec"))->lock;
		shared->reset_at = GetCurrentTimestamp();
		shared->evicted = 0;
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(FrStatsKey);
	info.entrysize = sizeof(FrStatsEntry);
	stats_hash = ShmemInitHash("fashionrec serving stats hash", fr_stats_max, fr_stats_max,
							   &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

void
fr_stats_init(void)
{
	DefineCustomBoolVariable("fashionrec.track_serving",
							 "Counts serving calls in fashionrec.serving_stats.",
							 "Takes effect only when fashionrec is in shared_preload_libraries.",
							 &fr_track_serving,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	/* a postmaster setting can only be created while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("fashionrec.stats_max_entries",
							"Model versions times serving functions that fashionrec.serving_stats can hold.",
							"When full, the least recently called entry is dropped.",
							&fr_stats_max,
							1000, 10, 100000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
#else
	stats_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
}

/* ---- histogram ---------------------------------------------------------- */

static inline int
bucket_of(double us)
{
	int			b;

	if (!(us >= 1.0))			/* also NaN */
		return 0;
	b = 1 + (int) floor(FR_STATS_PER_OCTAVE * log2(us));
	return Min(b, FR_STATS_BUCKETS - 1);
}

/* bounds of bucket b in microseconds; the last bucket's upper bound is open */
static void
bucket_bounds(int b, double *lo, double *hi)
{
	if (b == 0)
	{
		*lo = 0.0;
		*hi = 1.0;
		return;
	}
	*lo = exp2((double) (b - 1) / FR_STATS_PER_OCTAVE);
	*hi = b == FR_STATS_BUCKETS - 1 ? HUGE_VAL : exp2((double) b / FR_STATS_PER_OCTAVE);
}

/*
 * The q-quantile in microseconds of a histogram whose calls are spread
 * log-uniformly within each bucket (linearly in the first); max_us, when
 * known (> 0), bounds the result and closes the last bucket.  NaN without
 * calls.
 */
static double
histogram_quantile(const int64 *hist, double q, double max_us)
{
	int64		n = 0;
	double		rank,
				seen = 0;

	for (int b = 0; b < FR_STATS_BUCKETS; b++)
		n += hist[b];
	if (n <= 0)
		return NAN;
	rank = q * (double) n;
	for (int b = 0; b < FR_STATS_BUCKETS; b++)
	{
		double		lo,
					hi,
					frac,
					us;

		if (hist[b] <= 0)
			continue;
		if (seen + hist[b] < rank && b < FR_STATS_BUCKETS - 1)
		{
			seen += hist[b];
			continue;
		}
		bucket_bounds(b, &lo, &hi);
		if (isinf(hi))
			hi = max_us > lo ? max_us : lo * 2;
		frac = Max(0.0, Min(1.0, (rank - seen) / hist[b]));
		us = b == 0 ? lo + frac * (hi - lo) : lo * pow(hi / lo, frac);
		if (max_us > 0 && us > max_us)
			us = max_us;
		return us;
	}
	return max_us > 0 ? max_us : NAN;	/* rounding: q = 1 past the last call */
}

/* ---- recording ---------------------------------------------------------- */

/* With the lock held exclusively and the table full: drop the least recently used entry. */
static void
evict_one(void)
{
	HASH_SEQ_STATUS seq;
	FrStatsEntry *e,
			   *victim = NULL;

	hash_seq_init(&seq, stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (victim == NULL || e->last_used_us < victim->last_used_us)
			victim = e;
	if (victim)
	{
		hash_search(stats_hash, &victim->key, HASH_REMOVE, NULL);
		shared->evicted++;
	}
}

/*
 * Adds one call to its entry.  Runs on the error path too, so it must not
 * throw: no allocation outside shared memory, HASH_ENTER_NULL when full.
 */
static void
record_call(FrStatsFunction fn, const FrStatsCall *call, bool failed, int64 rows)
{
	FrStatsKey	key;
	FrStatsEntry *e;
	instr_time	now;
	double		us;
	uint64		now_us;
	int			b;

	INSTR_TIME_SET_CURRENT(now);
	now_us = INSTR_TIME_GET_MICROSEC(now);
	INSTR_TIME_SUBTRACT(now, call->start);
	us = INSTR_TIME_GET_DOUBLE(now) * 1e6;
	b = bucket_of(us);

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.fn = fn;
	key.model_id = call->model_id;

	LWLockAcquire(shared->lock, LW_SHARED);
	e = hash_search(stats_hash, &key, HASH_FIND, NULL);
	if (e == NULL)
	{
		bool		found;

		LWLockRelease(shared->lock);
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		if (hash_get_num_entries(stats_hash) >= fr_stats_max)
			evict_one();
		e = hash_search(stats_hash, &key, HASH_ENTER_NULL, &found);
		if (e == NULL)
		{
			LWLockRelease(shared->lock);
			return;
		}
		if (!found)
		{
			SpinLockInit(&e->mutex);
			e->version = call->version;
			strlcpy(e->name, call->name, NAMEDATALEN);
			e->since = GetCurrentTimestamp();
			e->last_used_us = now_us;
			e->calls = e->rows = e->errors = e->cache_loads = 0;
			e->shared_loads = e->attaches = 0;
			e->total_us = e->max_us = e->load_us = 0;
			memset(e->hist, 0, sizeof(e->hist));
		}
		/* downgrading is not possible; counting under the exclusive lock is fine */
	}

	SpinLockAcquire(&e->mutex);
	e->calls++;
	e->rows += rows;
	if (failed)
		e->errors++;
	e->cache_loads += call->loads;
	e->shared_loads += call->shared_loads;
	e->attaches += call->attaches;
	e->load_us += call->load_ms * 1000.0;
	e->total_us += us;
	if (us > e->max_us)
		e->max_us = us;
	e->hist[b]++;
	e->last_used_us = now_us;
	SpinLockRelease(&e->mutex);

	LWLockRelease(shared->lock);
}

/*
 * The model a serving call serves is the first one whose fr_model_open() is
 * not nested in another's: a hybrid opens its components while it loads
 * (nested) and while it scores (after its own open).  Their loads are part
 * of the call's cost all the same.
 */
void
fr_stats_open_begin(void)
{
	if (current_call != NULL)
		current_call->open_depth++;
}

void
fr_stats_note_model(const FrModel *model, FrStatsOpen how)
{
	if (current_call == NULL)
		return;
	current_call->open_depth--;
	if (current_call->open_depth <= 0 && !current_call->attributed)
	{
		current_call->model_id = model->model_id;
		current_call->version = model->version;
		strlcpy(current_call->name, model->name, NAMEDATALEN);
		current_call->attributed = true;
	}
	if (how == FR_OPEN_CACHED)
		return;
	if (how == FR_OPEN_LOADED)
		current_call->loads++;
	else if (how == FR_OPEN_LOADED_SHARED)
		current_call->shared_loads++;
	else
		current_call->attaches++;
	current_call->load_ms += model->load_ms;
}

Datum
fr_stats_call(FrStatsFunction fn, PGFunction body, FunctionCallInfo fcinfo)
{
	FrStatsCall call;
	FrStatsCall *volatile outer;
	Datum		result;
	ReturnSetInfo *rsinfo;
	int64		rows;

	if (shared == NULL || !fr_track_serving)
		return body(fcinfo);

	memset(&call, 0, sizeof(call));
	INSTR_TIME_SET_CURRENT(call.start);
	outer = current_call;
	current_call = &call;
	PG_TRY();
	{
		result = body(fcinfo);
	}
	PG_CATCH();
	{
		current_call = outer;
		record_call(fn, &call, true, 0);
		PG_RE_THROW();
	}
	PG_END_TRY();
	current_call = outer;

	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	if (rsinfo != NULL && IsA(rsinfo, ReturnSetInfo))
		rows = rsinfo->setResult ? tuplestore_tuple_count(rsinfo->setResult) : 0;
	else
		rows = fcinfo->isnull ? 0 : 1;
	record_call(fn, &call, false, rows);
	return result;
}

/* ---- SQL interface ------------------------------------------------------ */

static Datum
histogram_datum(const int64 *hist)
{
	Datum		elems[FR_STATS_BUCKETS];

	for (int b = 0; b < FR_STATS_BUCKETS; b++)
		elems[b] = Int64GetDatum(hist[b]);
	return PointerGetDatum(construct_array(elems, FR_STATS_BUCKETS, INT8OID, 8,
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

#define STATS_COLS 19

/*
 * fashionrec._serving_stats() returns table(model_id bigint, name text,
 *     version int, function text, calls bigint, rows bigint, errors bigint,
 *     cache_loads bigint, shared_loads bigint, attaches bigint, total_ms float8, mean_ms float8, p50_ms float8,
 *     p95_ms float8, p99_ms float8, max_ms float8, load_ms float8,
 *     stats_since timestamptz, histogram bigint[], note text) — the current
 * database's entries; one row with only a note when statistics are off.
 */
PG_FUNCTION_INFO_V1(fashionrec_serving_stats);
Datum
fashionrec_serving_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	FrStatsEntry *e;
	FrStatsEntry *copy;

	InitMaterializedSRF(fcinfo, 0);
	if (shared == NULL)
	{
		Datum		values[STATS_COLS + 1] = {0};
		bool		nulls[STATS_COLS + 1];

		memset(nulls, true, sizeof(nulls));
		values[STATS_COLS] = CStringGetTextDatum("serving statistics are off: add fashionrec to "
												 "shared_preload_libraries and restart the server");
		nulls[STATS_COLS] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		return (Datum) 0;
	}

	/*
	 * Tuples are built under the shared lock, as pg_stat_statements does:
	 * entries cannot be removed meanwhile, and each is copied under its
	 * spinlock so that its counters are read together.
	 */
	copy = palloc(sizeof(FrStatsEntry));
	LWLockAcquire(shared->lock, LW_SHARED);
	hash_seq_init(&seq, stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[STATS_COLS + 1];
		bool		nulls[STATS_COLS + 1] = {0};
		double		p[3] = {0.5, 0.95, 0.99};

		if (e->key.dbid != MyDatabaseId)
			continue;
		SpinLockAcquire(&e->mutex);
		memcpy(copy, e, sizeof(FrStatsEntry));
		SpinLockRelease(&e->mutex);

		values[0] = Int64GetDatum(copy->key.model_id);
		if (copy->key.model_id == 0)
			nulls[1] = nulls[2] = true;
		else
		{
			values[1] = CStringGetTextDatum(copy->name);
			values[2] = Int32GetDatum(copy->version);
		}
		values[3] = CStringGetTextDatum(function_names[copy->key.fn]);
		values[4] = Int64GetDatum(copy->calls);
		values[5] = Int64GetDatum(copy->rows);
		values[6] = Int64GetDatum(copy->errors);
		values[7] = Int64GetDatum(copy->cache_loads);
		values[8] = Int64GetDatum(copy->shared_loads);
		values[9] = Int64GetDatum(copy->attaches);
		values[10] = Float8GetDatum(copy->total_us / 1000.0);
		values[11] = Float8GetDatum(copy->calls > 0 ? copy->total_us / 1000.0 / copy->calls : 0.0);
		for (int j = 0; j < 3; j++)
		{
			double		us = histogram_quantile(copy->hist, p[j], copy->max_us);

			values[12 + j] = Float8GetDatum(us / 1000.0);
			nulls[12 + j] = isnan(us);
		}
		values[15] = Float8GetDatum(copy->max_us / 1000.0);
		values[16] = Float8GetDatum(copy->load_us / 1000.0);
		values[17] = TimestampTzGetDatum(copy->since);
		values[18] = histogram_datum(copy->hist);
		nulls[STATS_COLS] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(shared->lock);
	return (Datum) 0;
}

/*
 * fashionrec.serving_stats_info(OUT enabled boolean, OUT tracking boolean,
 *     OUT max_entries integer, OUT entries integer, OUT evicted bigint,
 *     OUT reset_at timestamptz): the state of the statistics themselves.
 */
PG_FUNCTION_INFO_V1(fashionrec_serving_stats_info);
Datum
fashionrec_serving_stats_info(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = BoolGetDatum(shared != NULL);
	values[1] = BoolGetDatum(shared != NULL && fr_track_serving);
	values[2] = Int32GetDatum(fr_stats_max);
	if (shared == NULL)
		nulls[3] = nulls[4] = nulls[5] = true;
	else
	{
		LWLockAcquire(shared->lock, LW_SHARED);
		values[3] = Int32GetDatum((int32) hash_get_num_entries(stats_hash));
		values[4] = Int64GetDatum(shared->evicted);
		values[5] = TimestampTzGetDatum(shared->reset_at);
		LWLockRelease(shared->lock);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * fashionrec.reset_serving_stats(name text DEFAULT NULL) returns bigint: drops
 * the current database's entries (of one model name when given); returns how
 * many.  Calls in flight are counted afresh when they finish.
 */
PG_FUNCTION_INFO_V1(fashionrec_reset_serving_stats);
Datum
fashionrec_reset_serving_stats(PG_FUNCTION_ARGS)
{
	char	   *name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	HASH_SEQ_STATUS seq;
	FrStatsEntry *e;
	int64		removed = 0;

	if (shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("serving statistics are off"),
				 errhint("Add fashionrec to shared_preload_libraries and restart the server.")));

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		/* removing the element just returned is allowed during a scan */
		if (e->key.dbid != MyDatabaseId)
			continue;
		if (name != NULL && (e->key.model_id == 0 || strcmp(e->name, name) != 0))
			continue;
		hash_search(stats_hash, &e->key, HASH_REMOVE, NULL);
		removed++;
	}
	shared->reset_at = GetCurrentTimestamp();
	LWLockRelease(shared->lock);
	PG_RETURN_INT64(removed);
}

/* A one-dimensional bigint[] histogram of FR_STATS_BUCKETS counts, checked. */
static void
histogram_arg(ArrayType *arr, int64 *hist)
{
	int			n;
	const int64 *counts = fr_array_values(arr, INT8OID, "histogram", &n);

	if (n != FR_STATS_BUCKETS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("histogram must have %d buckets, got %d", FR_STATS_BUCKETS, n),
				 errhint("Pass the histogram column of fashionrec._serving_stats() or a difference of two.")));
	for (int b = 0; b < n; b++)
	{
		hist[b] = counts[b];
		if (hist[b] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("histogram counts must not be negative, got %lld in bucket %d",
							(long long) hist[b], b + 1),
					 errhint("Pass the histogram column of fashionrec._serving_stats() or a difference of two.")));
	}
}

/*
 * fashionrec.latency_quantile(histogram bigint[], q float8) returns float8:
 * the q-quantile in milliseconds; NULL for an empty histogram.
 */
PG_FUNCTION_INFO_V1(fashionrec_latency_quantile);
Datum
fashionrec_latency_quantile(PG_FUNCTION_ARGS)
{
	int64		hist[FR_STATS_BUCKETS];
	double		q = PG_GETARG_FLOAT8(1);
	double		us;

	if (!(q >= 0.0 && q <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("q must be between 0 and 1, got %g", q)));
	histogram_arg(PG_GETARG_ARRAYTYPE_P(0), hist);
	us = histogram_quantile(hist, q, 0.0);
	if (isnan(us))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(us / 1000.0);
}

/*
 * fashionrec.latency_buckets() returns table(bucket int, lower_ms float8,
 *     upper_ms float8): the histogram's buckets, 1-based like the array.
 */
PG_FUNCTION_INFO_V1(fashionrec_latency_buckets);
Datum
fashionrec_latency_buckets(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int b = 0; b < FR_STATS_BUCKETS; b++)
	{
		Datum		values[3];
		bool		nulls[3] = {0};
		double		lo,
					hi;

		bucket_bounds(b, &lo, &hi);
		values[0] = Int32GetDatum(b + 1);
		values[1] = Float8GetDatum(lo / 1000.0);
		values[2] = Float8GetDatum(hi / 1000.0);
		nulls[2] = isinf(hi);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
